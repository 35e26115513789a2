/*
 * fuzz_offline.c - libFuzzer target for a whole capture file through the
 * offline pipeline: libpcap's savefile reader, the decoder, the analysis and
 * both output sinks.
 *
 * Input: the bytes of a .pcap or .pcapng file. They reach libpcap through
 * fmemopen and sp_source_open_fp (capture/ is the only place that may call
 * libpcap). The Debian libpcap is not instrumented, so coverage feedback comes
 * from our own code only (FACTS.md 4.7); fuzz_decode aims at the decoder more
 * directly.
 *
 * What sp_run_offline does on the engine thread is done here inline, without
 * the capture thread and the queue: sp_source_next -> sp_engine_handle_event,
 * then sp_analysis_finish and a summary. Two analyses read the same events:
 *   - "offline": the settings of synprobe -r (attempts emitted), formatted
 *     as JSON and as the verbose text table with --explain;
 *   - "live-like": TTL-limited SYNs are trace probes, only SYNs with an even
 *     ISN and echoes with an even id count as ours, a target has a name with
 *     bytes that need escaping, drops and no-route targets are reported, and
 *     the queries live.c makes are asked after every packet.
 * The bytes are also read as a file by name (a memfd), which takes a
 * classic pcap file to synprobe's own reader (capture/source_file.c): its
 * records, decoded, and how it ends must be libpcap's, or the harness
 * aborts.
 * A third, "offline, kept", is fed only what the capture thread of
 * synprobe -r hands over (sp_offline_keep, the other frames' times as
 * ticks): its output must be byte for byte the offline one's, or the
 * harness aborts. The rest goes to /dev/null: the point is that
 * formatting runs.
 *
 * Built as fuzz_offline (-fsanitize=fuzzer) and as fuzz_offline_replay
 * (tests/fuzz/replay.c) for CTest.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyzers/analysis.h"
#include "capture/source.h"
#include "engine/err.h"
#include "engine/event.h"
#include "engine/output.h"
#include "engine/records.h"
#include "engine/run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_RECORDS = 200000 }; /* a bound on work per input */
static const int64_t wait_offline_ns = 3000000000; /* the default --wait */
static const int64_t wait_live_ns = 1000000000;

/* A name a user could give, with bytes both sinks must escape. */
static const char odd_name[] = "h\"o\\st\x01\x7f\xc3\xa9";

/* Sends every record to two sinks. */
struct tee {
    struct sp_sink to[2];
};

static void tee_attempt(void *st, const struct sp_attempt_rec *a)
{
    struct tee *t = st;

    for (int i = 0; i < 2; i++)
        t->to[i].attempt(t->to[i].state, a);
}

static void tee_target(void *st, const struct sp_target_rec *r)
{
    struct tee *t = st;

    for (int i = 0; i < 2; i++)
        t->to[i].target(t->to[i].state, r);
}

static void tee_summary(void *st, const struct sp_summary *s)
{
    struct tee *t = st;

    for (int i = 0; i < 2; i++)
        t->to[i].summary(t->to[i].state, s);
}

/* One analysis with its two outputs. */
struct run {
    struct sp_output *out[2];
    struct tee tee;
    struct sp_sink sink;
    struct sp_analysis *an;
    struct sp_summary counts;
};

static bool own_syn(void *ctx, const struct sp_packet *p)
{
    (void)ctx;
    return (p->seq & 1) == 0;
}

static bool own_echo(void *ctx, const struct sp_packet *p)
{
    (void)ctx;
    return (p->icmp_id & 1) == 0;
}

static bool run_open(struct run *r, FILE *devnull, bool live)
{
    struct sp_output_opts json = {
        .out = devnull, .json = true, .offline = !live};
    struct sp_output_opts text = {
        .out = devnull, .verbose = !live, .explain = !live, .offline = !live};
    struct sp_analysis_cfg cfg = {
        .wait_ns = live ? wait_live_ns : wait_offline_ns,
        .trace_ttl_max = 32,
        .emit_attempts = true,
        .ttl_limited_trace = live,
        .own_syn = live ? own_syn : NULL,
        .own_echo = live ? own_echo : NULL,
    };

    memset(r, 0, sizeof(*r));
    r->out[0] = sp_output_create(&json);
    r->out[1] = sp_output_create(&text);
    if (r->out[0] == NULL || r->out[1] == NULL)
        return false;
    sp_output_sink(r->out[0], &r->tee.to[0]);
    sp_output_sink(r->out[1], &r->tee.to[1]);
    r->sink.state = &r->tee;
    r->sink.attempt = tee_attempt;
    r->sink.target = tee_target;
    r->sink.summary = tee_summary;
    r->an = sp_analysis_create(&cfg, &r->sink);
    return r->an != NULL;
}

static void run_close(struct run *r)
{
    sp_analysis_destroy(r->an);
    sp_output_destroy(r->out[0]);
    sp_output_destroy(r->out[1]);
}

/* What live.c asks the analysis between packets. */
static void live_queries(struct run *r, const struct sp_event *ev, uint64_t n)
{
    const struct sp_packet *p = &ev->pkt;
    volatile int v = 0;

    if (!(p->have & SP_HAVE_IP))
        return;
    if (n == 1)
        sp_analysis_name(r->an, &p->dst, p->dport, odd_name);
    if (n == 3)
        sp_analysis_no_route(r->an, &p->src, p->sport, NULL);
    if (n % 64 == 0)
        sp_analysis_drops(r->an, p->ts_ns);
    v += sp_analysis_answered(r->an, &p->dst, p->dport);
    v += sp_analysis_host_distance(r->an, &p->src);
    v += (int)sp_analysis_hop(r->an, &p->dst, p->dport, p->ttl, true);
    v += (int)sp_analysis_hop(r->an, &p->dst, p->dport, p->ttl, false);
    v += sp_analysis_hop_icmp_errors(r->an, &p->dst, p->dport, p->ttl);
    v += sp_analysis_echo_alive(r->an, &p->src);
    if (n % 16 == 5)
        sp_analysis_hop_note(r->an, &p->dst, p->dport, p->ttl,
                             (enum sp_hop_note)(n % 4));
    (void)v;
}

static void run_finish(struct run *r, int64_t end_ns, bool incomplete,
                       const struct sp_capture_stats *st)
{
    struct sp_summary sum;

    sp_analysis_finish(r->an, end_ns, SP_REASON_CAPTURE_ENDED);
    memset(&sum, 0, sizeof(sum));
    sp_analysis_counts(r->an, &sum);
    sum.packets = st->packets;
    sum.truncated = st->truncated;
    sum.invalid = st->invalid;
    sum.incomplete = incomplete;
    r->sink.summary(r->sink.state, &sum);
    (void)sp_run_exit_status(&sum, true);
}

/* Reads the bytes through libpcap (a stream) and as a file by its name,
 * and aborts unless both give the same frames and end the same way. */
static void same_reading(const uint8_t *data, size_t size)
{
    struct sp_source *a = NULL, *b = NULL;
    struct sp_err ea = {0}, eb = {0};
    struct sp_event va, vb;
    char path[64];
    uint8_t *copy;
    FILE *f = NULL;
    int fd, ra = 0, rb = 0;
    uint64_t n = 0;

    fd = memfd_create("fuzz_offline", MFD_CLOEXEC);
    copy = malloc(size);
    if (fd < 0 || copy == NULL || write(fd, data, size) != (ssize_t)size)
        goto out;
    memcpy(copy, data, size);
    f = fmemopen(copy, size, "rb");
    if (f == NULL)
        goto out;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ra = sp_source_open_fp(&a, f, "fuzz", NULL, &ea);
    rb = sp_source_open_file(&b, path, NULL, &eb);
    if ((ra == 0) != (rb == 0))
        goto differ;
    while (ra == 0 && n++ < MAX_RECORDS) {
        memset(&va, 0, sizeof(va));
        memset(&vb, 0, sizeof(vb));
        ra = sp_source_next(a, &va, &ea);
        rb = sp_source_next(b, &vb, &eb);
        if (ra != rb)
            goto differ;
        if (ra != 1)
            break;
        if (va.result != vb.result || va.pkt.ts_ns != vb.pkt.ts_ns ||
            memcmp(&va.pkt, &vb.pkt, sizeof(va.pkt)) != 0)
            goto differ;
    }
    goto out;
differ:
    fprintf(stderr,
            "fuzz_offline: libpcap and synprobe's reader differ at record "
            "%llu (%d: %s / %d: %s)\n",
            (unsigned long long)n, ra, ea.msg, rb, eb.msg);
    abort();
out:
    sp_source_close(a); /* closes f (a failed open did already) */
    sp_source_close(b);
    if (fd >= 0)
        close(fd);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    struct sp_err err = {0};
    struct sp_source *src = NULL;
    struct sp_capture_stats st;
    struct sp_event ev;
    struct run off, live, kept;
    char *obuf[2] = {NULL, NULL};
    size_t olen[2] = {0, 0};
    FILE *ostream[2] = {NULL, NULL};
    int64_t last_ts = 0, tick = 0;
    uint64_t n = 0;
    uint8_t *copy;
    FILE *f;
    int rc = 0;

    if (devnull == NULL)
        devnull = fopen("/dev/null", "w");
    if (devnull == NULL || size == 0)
        return 0;
    same_reading(data, size);
    /* fmemopen wants a writable buffer, even to read */
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    f = fmemopen(copy, size, "rb");
    if (f == NULL) {
        free(copy);
        return 0;
    }
    memset(&off, 0, sizeof(off));
    memset(&live, 0, sizeof(live));
    memset(&kept, 0, sizeof(kept));
    for (int i = 0; i < 2; i++)
        ostream[i] = open_memstream(&obuf[i], &olen[i]);
    if (sp_source_open_fp(&src, f, "fuzz", NULL, &err) != 0) {
        free(copy);
        for (int i = 0; i < 2; i++)
            if (ostream[i] != NULL)
                fclose(ostream[i]);
        free(obuf[0]);
        free(obuf[1]);
        return 0;
    }
    if (ostream[0] != NULL && ostream[1] != NULL &&
        run_open(&off, ostream[0], false) && run_open(&live, devnull, true) &&
        run_open(&kept, ostream[1], false)) {
        while (n < MAX_RECORDS) {
            rc = sp_source_next(src, &ev, &err);
            if (rc != 1)
                break;
            n++;
            if (ev.pkt.ts_ns > last_ts)
                last_ts = ev.pkt.ts_ns;
            sp_engine_handle_event(off.an, &ev, &off.counts);
            sp_engine_handle_event(live.an, &ev, &live.counts);
            live_queries(&live, &ev, n);
            /* as the capture thread of synprobe -r hands them over */
            if (!sp_offline_keep(&ev)) {
                if (ev.pkt.ts_ns > tick)
                    tick = ev.pkt.ts_ns;
            } else {
                ev.tick_ns = tick;
                tick = 0;
                sp_engine_handle_event(kept.an, &ev, &kept.counts);
            }
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = SP_EV_END;
        ev.status = rc < 0 ? rc : 0;
        sp_engine_handle_event(off.an, &ev, &off.counts);
        ev.tick_ns = tick;
        sp_engine_handle_event(kept.an, &ev, &kept.counts);
        sp_source_stats(src, &st);
        run_finish(&off, last_ts, rc < 0, &st);
        run_finish(&live, last_ts, rc < 0, &st);
        run_finish(&kept, last_ts, rc < 0, &st);
        fflush(ostream[0]);
        fflush(ostream[1]);
        if (olen[0] != olen[1] || memcmp(obuf[0], obuf[1], olen[0]) != 0) {
            fprintf(stderr, "fuzz_offline: the kept frames and ticks gave "
                            "another result than every frame\n");
            abort();
        }
    }
    run_close(&off);
    run_close(&live);
    run_close(&kept);
    for (int i = 0; i < 2; i++)
        if (ostream[i] != NULL)
            fclose(ostream[i]);
    free(obuf[0]);
    free(obuf[1]);
    sp_source_close(src); /* closes f */
    free(copy);
    return 0;
}
