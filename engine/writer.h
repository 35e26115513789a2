/*
 * writer.h - attempt records formatted on a thread of their own.
 *
 * A large capture yields an attempt record every few packets, and turning
 * them into JSON or text was a sixth of the engine thread's work, which is
 * the one that bounds how fast synprobe -r runs. The engine fills one batch
 * of records while the writer thread formats those handed over before (a
 * ring of batches: one hand-over per batch, no lock per record). Records
 * reach the inner sink in the order they were given.
 *
 * Threads: sp_writer_attempt, sp_writer_drain, sp_writer_failed and
 * sp_writer_stop are called by the engine thread only; the inner sink's
 * attempt() runs on the writer thread, and nothing else of the inner sink
 * is called here. After sp_writer_drain returns, every record given so far
 * has been written, so the engine thread may use the same output again
 * (targets, summary).
 */
#ifndef SP_ENGINE_WRITER_H
#define SP_ENGINE_WRITER_H

#include <stdbool.h>

#include "engine/records.h"

struct sp_writer;

/* Starts the thread; `is_failed` (may be NULL) is asked after each batch
 * whether the output failed (a closed pipe). NULL if it cannot start. */
struct sp_writer *sp_writer_start(const struct sp_sink *inner,
                                  bool (*is_failed)(void *state));

/* An attempt sink (struct sp_sink.attempt) whose state is the writer. */
void sp_writer_attempt(void *writer, const struct sp_attempt_rec *a);

/* Waits until every record given so far has been written. */
void sp_writer_drain(struct sp_writer *w);

/* True once the inner output reported a failure. */
bool sp_writer_failed(struct sp_writer *w);

/* Drains, stops and frees the writer. NULL is fine. */
void sp_writer_stop(struct sp_writer *w);

#endif
