/*
 * queue.h - the bounded single-producer / single-consumer event queue.
 *
 * The one place where the capture thread and the engine thread meet. Live,
 * events are copied in and out by value, and the producer never blocks: a
 * full queue drops the event and counts it (sp_queue_push returns false),
 * which the engine treats as a capture drop. Offline, the producer waits for
 * room so results never depend on speed, and events are decoded into the
 * ring and handled there (sp_queue_reserve / sp_queue_peek), no copies. A
 * mutex and condition variables are enough: events move in batches, and a
 * producer that found the ring full sleeps until half of it is free.
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

/*
 * In place, without copies (offline: an event is 176 bytes, and copying each
 * into the ring and out again cost more than handling it):
 *
 * Producer thread: sp_queue_reserve waits for room and returns up to max
 * free slots (at least one), contiguous in the ring, for the caller to fill;
 * sp_queue_commit(n) then hands the first n of them over (n may be 0).
 *
 * Consumer thread: sp_queue_peek waits at most timeout_ms (-1: forever) for
 * events and returns up to max of them, contiguous, still in the ring (0 on
 * timeout); sp_queue_release(n) gives back the first n once handled.
 *
 * One producer and one consumer; the other calls may be mixed with these
 * only between a reserve and its commit, or a peek and its release.
 */
size_t sp_queue_reserve(struct sp_queue *q, struct sp_event **slots,
                        size_t max);
void sp_queue_commit(struct sp_queue *q, size_t n);
size_t sp_queue_peek(struct sp_queue *q, const struct sp_event **evs,
                     size_t max, int timeout_ms);
void sp_queue_release(struct sp_queue *q, size_t n);

/* Events dropped by sp_queue_push because the queue was full. */
uint64_t sp_queue_drops(struct sp_queue *q);

#endif
