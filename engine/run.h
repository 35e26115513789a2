/*
 * run.h - the two ways synprobe runs: reading a capture, probing live.
 *
 * Both build the same pipeline (source -> capture thread -> queue -> engine
 * thread -> analysis -> sink) and return an exit status of cli.h.
 */
#ifndef SP_ENGINE_RUN_H
#define SP_ENGINE_RUN_H

#include <signal.h>
#include <stdint.h>

#include "engine/records.h"

struct sp_config;
struct sp_queue;
struct sp_analysis;
struct sp_event;

/* Set by the signal handler: 0, SIGINT or SIGTERM. */
extern volatile sig_atomic_t sp_signal_seen;

/*
 * The live engine's clock in ns: monotonic (a wall-clock step neither stalls
 * nor shortens a wait), expressed in the real time of the first call, since
 * pcap stamps packets with the real-time clock. Any thread.
 */
int64_t sp_now_ns(void);

/* Installs SIGINT/SIGTERM handlers (no SA_RESTART) and ignores SIGPIPE. */
void sp_run_signals(void);

/* Offline analysis of cfg->read_file. */
int sp_run_offline(const struct sp_config *cfg);

/* Live probing of cfg's targets and ports. */
int sp_run_live(const struct sp_config *cfg);

/*
 * The engine's event handler: feeds one event to the analysis. Plain
 * function, callable from tests without threads. Returns false at SP_EV_END.
 */
bool sp_engine_handle_event(struct sp_analysis *a, const struct sp_event *ev,
                            struct sp_summary *counts);

/*
 * synprobe -r's choice of the frames the capture thread hands over
 * (capture.h, sp_capture_keep_fn): those the analysis reads, with their
 * keys computed there. Exposed for the fuzz harness, which must feed an
 * analysis exactly as the run does.
 */
bool sp_offline_keep(struct sp_event *ev);

/* Exit status for a finished run from its summary. */
int sp_run_exit_status(const struct sp_summary *s, bool offline);

#endif
