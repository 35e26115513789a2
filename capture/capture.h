/*
 * capture.h - the capture thread.
 *
 * It owns a struct sp_source, reads and decodes frames and pushes them to
 * the engine's queue, and pushes one SP_EV_END event last. Offline it waits
 * for room in the queue (results never depend on speed) and decodes straight
 * into the queue's ring; live it never blocks: a full queue counts a drop.
 *
 * Cross-thread calls: sp_capture_stop() (any thread, or a signal handler
 * through sp_source_stop()).
 */
#ifndef SP_CAPTURE_CAPTURE_H
#define SP_CAPTURE_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/err.h"

struct sp_queue;
struct sp_source;
struct sp_capture;

struct sp_event;

/*
 * Offline, which decoded frames to hand over: a frame `keep` refuses is left
 * out of the queue, and only its time travels on, as the next event's
 * tick_ns (the latest such time since the last event handed over). Most
 * frames of a large capture are of no interest to the engine. `keep` may
 * also fill in the event what the engine would otherwise compute itself
 * (the analysis keys): it runs on the capture thread.
 */
typedef bool (*sp_capture_keep_fn)(struct sp_event *ev);

/* Starts the thread. The source and queue must outlive it. `keep`: NULL
 * hands over every frame (always so live). Returns 0 or SP_ENOMEM /
 * SP_EIO. */
int sp_capture_start(struct sp_capture **out, struct sp_source *src,
                     struct sp_queue *q, bool live, sp_capture_keep_fn keep,
                     struct sp_err *err);

/* Asks the thread to stop soon (it still pushes SP_EV_END). */
void sp_capture_stop(struct sp_capture *c);

/* Any thread: capture drops counted so far (kernel ring, read by the
 * capture thread about every 100 ms). */
uint64_t sp_capture_drops(struct sp_capture *c);

/*
 * Joins the thread and frees c. Returns the source's final status (0, or the
 * error that ended a file early, with err filled).
 */
int sp_capture_join(struct sp_capture *c, struct sp_err *err);

#endif
