/*
 * queue.h - the bounded single-producer / single-consumer event queue.
 *
 * The one place where the capture thread and the engine thread meet. Events
 * are copied in and out by value. Live, the producer never blocks: a full
 * queue drops the event and counts it (sp_queue_push returns false), which
 * the engine treats as a capture drop. Offline, the producer waits for room
 * (sp_queue_push_wait) so results never depend on speed. A mutex and a
 * condition variable are enough until a benchmark says otherwise; events are
 * moved in batches to keep lock traffic low.
 */
#ifndef SP_ENGINE_QUEUE_H
#define SP_ENGINE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_event;
struct sp_queue;

/* Creates a queue of `cap` events. Returns NULL when out of memory. */
struct sp_queue *sp_queue_create(size_t cap);
void sp_queue_destroy(struct sp_queue *q);

/* Producer thread: copies ev in if there is room; false (and counts a drop)
 * if the queue is full. The consumer is woken only once 64 events wait, so
 * consumers of live queues pop with a short timeout (a few ms). */
bool sp_queue_push(struct sp_queue *q, const struct sp_event *ev);

/* Producer thread: waits for room, then copies ev in. */
void sp_queue_push_wait(struct sp_queue *q, const struct sp_event *ev);

/* Producer thread: copies n events in, waiting for room as needed (one lock
 * per batch rather than per event). */
void sp_queue_push_wait_n(struct sp_queue *q, const struct sp_event *evs,
                          size_t n);

/*
 * Consumer thread: copies up to max events out, waiting at most timeout_ms
 * (-1: forever) for the first. Returns the number copied (0 on timeout).
 */
size_t sp_queue_pop(struct sp_queue *q, struct sp_event *out, size_t max,
                    int timeout_ms);

/* Events dropped by sp_queue_push because the queue was full. */
uint64_t sp_queue_drops(struct sp_queue *q);

#endif
