/*
 * offline.c - synprobe -r FILE: the pipeline over a capture file.
 *
 * The capture thread reads and decodes the file and waits for room in the
 * queue, so results never depend on speed; the engine thread (this one)
 * feeds the analysis, whose clock is the packet timestamps. The end of the
 * capture is its last packet.
 */
#define _GNU_SOURCE /* sched_getcpu, cpu_set_t */
#include "engine/run.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyzers/analysis.h"
#include "capture/capture.h"
#include "capture/source.h"
#include "engine/cli.h"
#include "engine/err.h"
#include "engine/event.h"
#include "engine/output.h"
#include "engine/queue.h"
#include "engine/writer.h"

volatile sig_atomic_t sp_signal_seen;

static void on_signal(int sig)
{
    sp_signal_seen = sig;
}

void sp_run_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

bool sp_engine_handle_event(struct sp_analysis *a, const struct sp_event *ev,
                            struct sp_summary *counts)
{
    /* the frames left out before it only moved the clock */
    if (ev->tick_ns > 0)
        sp_analysis_tick(a, ev->tick_ns);
    if (ev->type == SP_EV_END)
        return false;
    switch (ev->result) {
    case SP_DECODE_TRUNCATED:
        counts->truncated++;
        break;
    case SP_DECODE_INVALID:
        counts->invalid++;
        break;
    default:
        break;
    }
    if (ev->result != SP_DECODE_INVALID && ev->result != SP_DECODE_OTHER) {
        if (ev->keyed)
            sp_analysis_packet_keyed(a, &ev->pkt, ev->selected, &ev->keys);
        else
            sp_analysis_packet(a, &ev->pkt, ev->selected);
    } else
        sp_analysis_tick(a, ev->pkt.ts_ns);
    return true;
}

int sp_run_exit_status(const struct sp_summary *s, bool offline)
{
    unsigned not_open = 0, total = 0;

    for (int i = 0; i < SP_VERDICT_COUNT; i++) {
        total += s->verdicts[i];
        if (i != SP_VERDICT_OPEN)
            not_open += s->verdicts[i];
    }
    if (s->incomplete && offline)
        return SP_EXIT_INPUT;
    if (total == 0)
        return offline ? SP_EXIT_OK : SP_EXIT_NOT_OPEN;
    return not_open == 0 ? SP_EXIT_OK : SP_EXIT_NOT_OPEN;
}

/*
 * A capture larger than the cache: the table entries that the packets a few
 * places ahead will look up are fetched while this one is handled, in two
 * steps (analysis.h): further steps (what the entries point to) cost more
 * than they saved, measured. PF_BATCH: events handled per look at the queue.
 */
enum { PF_AHEAD = 16, PF_BATCH = 256 };

/* The keys of event i, if it has any and is in the batch. */
static const struct sp_analysis_hint *keys_at(const struct sp_event *evs,
                                              size_t n, size_t i)
{
    return i < n && evs[i].keyed ? &evs[i].keys : NULL;
}

bool sp_offline_keep(struct sp_event *ev)
{
    if (ev->result == SP_DECODE_INVALID || ev->result == SP_DECODE_OTHER ||
        !sp_analysis_keys(&ev->pkt, &ev->keys))
        return false;
    ev->keyed = true;
    return true;
}

/* Wraps the user's sink to narrow the report to the -p ports. Attempts go
 * to the writer thread when there is one. */
struct narrow {
    const struct sp_config *cfg;
    struct sp_sink inner;
    struct sp_summary *sum;
    struct sp_writer *wr; /* NULL: attempts written on this thread */
};

static void narrow_attempt(void *st, const struct sp_attempt_rec *a)
{
    struct narrow *n = st;

    if (!sp_cli_port_selected(n->cfg, a->r.port))
        return;
    if (n->wr != NULL)
        sp_writer_attempt(n->wr, a);
    else
        n->inner.attempt(n->inner.state, a);
}

static void narrow_target(void *st, const struct sp_target_rec *t)
{
    struct narrow *n = st;

    /* targets come after the last attempt: those must be out first */
    if (n->wr != NULL) {
        sp_writer_stop(n->wr);
        n->wr = NULL;
    }
    if (!sp_cli_port_selected(n->cfg, t->r.port))
        return;
    n->sum->verdicts[t->r.verdict]++;
    n->inner.target(n->inner.state, t);
}

/*
 * The engine thread bounds the run. Left to the scheduler on two CPUs, the
 * capture and writer threads often ran on the engine's CPU while the
 * other one sat idle. So they are made while this thread is kept off the
 * CPU it runs on (and inherit that), and this thread is let loose again
 * after: the engine may still move, the others never come to its CPU.
 * Measured on the benchmark file (two CPUs, interleaved runs): wall median
 * 0.61 s without, 0.59 s with; with the engine also pinned, 0.57 s, which
 * was not kept, as a busy CPU could then hold it.
 */
struct cpu_split {
    bool on;
    cpu_set_t all;
};

/* Before the threads are made: this thread leaves the CPU it is on. */
static void split_begin(struct cpu_split *cs)
{
    cpu_set_t rest;
    int me = sched_getcpu();

    cs->on = false;
    if (me < 0 || sched_getaffinity(0, sizeof(cs->all), &cs->all) != 0 ||
        CPU_COUNT(&cs->all) < 2 || !CPU_ISSET(me, &cs->all))
        return;
    rest = cs->all;
    CPU_CLR(me, &rest);
    cs->on = sched_setaffinity(0, sizeof(rest), &rest) == 0;
}

/* After: this thread may run anywhere again. */
static void split_end(struct cpu_split *cs)
{
    if (cs->on)
        (void)sched_setaffinity(0, sizeof(cs->all), &cs->all);
    cs->on = false;
}

static bool output_failed(void *out)
{
    return sp_output_failed(out);
}

int sp_run_offline(const struct sp_config *cfg)
{
    struct sp_err err = {0};
    struct sp_source *src = NULL;
    struct sp_queue *q = NULL;
    struct sp_capture *cap = NULL;
    struct sp_analysis *an = NULL;
    struct sp_output *out = NULL;
    struct sp_output_opts oo = {
        .out = stdout,
        .json = cfg->json,
        .verbose = cfg->verbose,
        .explain = cfg->explain,
        .offline = true,
        .flush_each = isatty(STDOUT_FILENO) != 0,
    };
    struct sp_analysis_cfg acfg = {
        .wait_ns = (int64_t)(cfg->wait_s * 1e9),
        .grace_ns = SP_GRACE_MS * 1000000LL,
        .conclusive_ns = SP_CONCLUSIVE_MS * 1000000LL,
        .trace_ttl_max = 32,
        .emit_attempts = cfg->json || cfg->verbose,
    };
    struct sp_sink user_sink, sink;
    struct sp_summary sum, counts;
    struct narrow nw = {.wr = NULL};
    struct cpu_split split = {.on = false};
    char filter[8192] = "";
    size_t flen = 0;
    const struct sp_event *evs;
    int64_t last_ts = 0;
    int rc, status = SP_EXIT_INPUT;
    bool running = true;

    memset(&sum, 0, sizeof(sum));
    memset(&counts, 0, sizeof(counts));
    for (int i = 0; i < cfg->nargs; i++) {
        int n = snprintf(filter + flen, sizeof(filter) - flen, "%s%s",
                         i ? " " : "", cfg->args[i]);
        if (n < 0 || (size_t)n >= sizeof(filter) - flen) {
            fprintf(stderr, "synprobe: filter expression too long\n");
            return SP_EXIT_USAGE;
        }
        flen += (size_t)n;
    }
    rc = sp_source_open_file(&src, cfg->read_file, filter, &err);
    if (rc != 0) {
        fprintf(stderr, "synprobe: %s\n", err.msg);
        return rc == SP_EINVAL ? SP_EXIT_USAGE : SP_EXIT_INPUT;
    }
    /* a large run writes tens of megabytes: in big blocks. JSON lines are
     * gathered by the output itself, in blocks larger than stdio would
     * copy, so stdio passes them straight on; the text table is written
     * through a large stdio buffer, with static storage so nothing needs
     * freeing (stdout is not yet used) */
    if (!oo.flush_each && cfg->json) {
        setvbuf(stdout, NULL, _IONBF, 0);
    } else if (!oo.flush_each) {
        static char obuf[1 << 20];
        setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    }
    out = sp_output_create(&oo);
    q = sp_queue_create(4096);
    if (out == NULL || q == NULL) {
        fprintf(stderr, "synprobe: out of memory\n");
        goto done;
    }
    sp_output_sink(out, &user_sink);
    nw.cfg = cfg;
    nw.inner = user_sink;
    nw.sum = &sum;
    sink.state = &nw;
    sink.attempt = narrow_attempt;
    sink.target = narrow_target;
    sink.summary = NULL;
    an = sp_analysis_create(&acfg, &sink);
    if (an == NULL) {
        fprintf(stderr, "synprobe: out of memory\n");
        goto done;
    }
    split_begin(&split);
    /* without attempts to write (the table of targets alone) the thread
     * would only wait */
    nw.wr =
        acfg.emit_attempts ? sp_writer_start(&user_sink, output_failed) : NULL;
    rc = sp_capture_start(&cap, src, q, false, sp_offline_keep, &err);
    split_end(&split);
    if (rc != 0) {
        fprintf(stderr, "synprobe: %s\n", err.msg);
        goto done;
    }
    while (running) {
        /* handled in place in the queue's ring, then given back */
        size_t n = sp_queue_peek(q, &evs, PF_BATCH, 200);
        if (sp_signal_seen != 0 && cap != NULL)
            sp_capture_stop(cap);
        for (size_t i = 0; i < n && running; i++) {
            const struct sp_analysis_hint *k[2] = {
                keys_at(evs, n, i + PF_AHEAD),
                keys_at(evs, n, i + PF_AHEAD / 2),
            };
            if (i == 0)
                for (size_t j = 0; j < PF_AHEAD && j < n; j++) {
                    const struct sp_analysis_hint *k0[2] = {keys_at(evs, n, j),
                                                            NULL};
                    sp_analysis_prefetch(an, k0);
                }
            sp_analysis_prefetch(an, k);
            if (evs[i].tick_ns > last_ts)
                last_ts = evs[i].tick_ns;
            if (evs[i].type == SP_EV_PACKET && evs[i].pkt.ts_ns > last_ts)
                last_ts = evs[i].pkt.ts_ns;
            running = sp_engine_handle_event(an, &evs[i], &counts);
        }
        sp_queue_release(q, n);
        if (nw.wr != NULL ? sp_writer_failed(nw.wr) : sp_output_failed(out))
            sp_capture_stop(cap);
    }
    rc = sp_capture_join(cap, &err);
    cap = NULL;
    if (rc < 0) {
        fprintf(stderr, "synprobe: %s: %s (results so far are printed)\n",
                cfg->read_file, err.msg);
        sum.incomplete = true;
    }
    if (sp_signal_seen != 0)
        sum.incomplete = true;
    sp_analysis_finish(an, last_ts,
                       sp_signal_seen != 0 ? SP_REASON_INTERRUPTED
                                           : SP_REASON_CAPTURE_ENDED);
    sp_writer_stop(nw.wr); /* if no target came to stop it */
    nw.wr = NULL;
    {
        struct sp_capture_stats st;
        sp_source_stats(src, &st);
        sp_analysis_counts(an, &counts);
        sum.packets = st.packets;
        sum.truncated = st.truncated;
        sum.invalid = st.invalid;
        sum.unrelated = counts.unrelated;
        sum.attempts = counts.attempts;
    }
    user_sink.summary(user_sink.state, &sum);
    status = sp_run_exit_status(&sum, true);
    if (sp_signal_seen == SIGINT)
        status = SP_EXIT_SIGINT;
    else if (sp_signal_seen == SIGTERM)
        status = SP_EXIT_SIGTERM;
done:
    if (cap != NULL) {
        sp_capture_stop(cap);
        sp_capture_join(cap, NULL);
    }
    sp_writer_stop(nw.wr);
    sp_analysis_destroy(an);
    sp_queue_destroy(q);
    sp_output_destroy(out);
    sp_source_close(src);
    return status;
}
