/*
 * scan.c - the stateless scan engine (see scan.h).
 *
 * Threads: the sender thread owns the libnet contexts (craft/) and only
 * reads the pair states; the engine thread (the caller) owns the capture
 * queue, decides pairs and writes their states; the capture thread feeds
 * the queue. Shared arrays are atomics with relaxed order: a state or send
 * time read a little late only delays a retry or rounds an RTT.
 */
#include "engine/scan.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyzers/analysis.h"
#include "capture/capture.h"
#include "capture/decode.h"
#include "craft/cookie.h"
#include "craft/probe.h"
#include "engine/cli.h"
#include "engine/err.h"
#include "engine/event.h"
#include "engine/queue.h"
#include "engine/run.h"
#include "engine/targets.h"

enum {
    SCAN_MIN_PAIRS = 256, /* fewer pairs: a triage with echo and retries */
    TTL = 64,
    FLUSH_MS = 100, /* records reach the output at least this often */
    /* a silent pair is reported this long after its --wait has passed, so
     * that a reply that came in time has left the capture (whose kernel
     * buffer hands replies over at least every 100 ms) and drops the
     * capture counted meanwhile are known */
    SETTLE_MS = 250,
};

static const int64_t MS = 1000000;

/* ---- the permutation --------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

void sp_perm_init(struct sp_perm *p, uint64_t n, uint64_t k0, uint64_t k1)
{
    unsigned bits = 1;

    while (bits < 63 && (1ULL << bits) < n)
        bits++;
    p->n = n;
    p->half_bits = (bits + 1) / 2;
    p->half_mask = (1ULL << p->half_bits) - 1;
    p->k0 = k0;
    p->k1 = k1;
}

static uint64_t feistel(const struct sp_perm *p, uint64_t x)
{
    uint64_t l = x >> p->half_bits, r = x & p->half_mask;

    for (int round = 0; round < 4; round++) {
        uint64_t f = mix(r ^ (round & 1 ? p->k1 : p->k0) ^ (uint64_t)round);
        uint64_t nl = r;
        r = (l ^ f) & p->half_mask;
        l = nl;
    }
    return l << p->half_bits | r;
}

uint64_t sp_perm_at(const struct sp_perm *p, uint64_t i)
{
    /* a bijection on [0, 4^half_bits); walking the cycle until the value
     * falls in [0, n) keeps it a bijection on [0, n) */
    do
        i = feistel(p, i);
    while (i >= p->n);
    return i;
}

bool sp_scan_wanted(const struct sp_config *cfg, size_t pairs)
{
    return !cfg->trace && pairs >= SCAN_MIN_PAIRS;
}

/* ---- state shared by the two threads --------------------------------------
 */

enum { ST_SILENT = 0, ST_DECIDED = 1 };

struct scan {
    const struct sp_scan_io *io;
    size_t naddr, nports;
    uint64_t npairs;
    uint16_t *ports;
    uint32_t *port_idx; /* port -> index + 1, 0 if not probed */
    uint32_t *amap;     /* open addressing: address -> target index + 1 */
    size_t amask;
    _Atomic uint8_t *state;
    _Atomic uint32_t *sent_ms; /* send time of the last try, ms from t0 */
    struct sp_perm perm;
    int64_t t0;
    atomic_bool stop, sender_done;
    atomic_int pass;           /* the sender's pass */
    atomic_uint_fast64_t next; /* its next index in the order, this pass */
    atomic_uint_fast64_t sent, send_failed;
    uint64_t answered; /* pairs decided by a reply (engine thread) */
    int send_rc;
    struct sp_err send_err;
};

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000LL),
                          (long)(ns % 1000000000LL)};
    if (ns > 0)
        nanosleep(&ts, NULL);
}

static bool mine(const struct scan *s, size_t a, uint16_t port)
{
    const struct sp_config *cfg = s->io->cfg;

    if (s->io->noroute[a])
        return false;
    return cfg->shards <= 1 || sp_target_shard(&s->io->tl->v[a].addr, port,
                                               cfg->shards) == cfg->shard;
}

static void spec_for(const struct scan *s, size_t a, uint16_t port,
                     unsigned try, struct sp_probe_spec *sp)
{
    uint64_t c;

    memset(sp, 0, sizeof(*sp));
    sp->kind = SP_PROBE_SYN;
    sp->src = s->io->src[a];
    sp->dst = s->io->tl->v[a].addr;
    sp->ttl = TTL;
    sp->dport = port;
    c = sp_cookie(s->io->key, &sp->src, &sp->dst, port, SP_PROTO_TCP, try);
    sp->seq = (uint32_t)c;
    sp->sport = (uint16_t)(32768 + ((c >> 32) & 0x7fff));
    sp->ip_id = (uint16_t)(c >> 48);
}

/* ---- the sender thread ----------------------------------------------------
 */

static void *sender_main(void *arg)
{
    struct scan *s = arg;
    const struct sp_config *cfg = s->io->cfg;
    double rate = cfg->rate;
    unsigned batch = rate >= 25600 ? SP_CRAFT_BATCH
                     : rate >= 100 ? (unsigned)(rate / 100)
                                   : 1;
    double tokens = batch;
    int64_t last = sp_now_ns();
    unsigned queued = 0;
    uint32_t batch_ms = 0;

    for (int pass = 0; pass <= cfg->retries && !atomic_load(&s->stop); pass++) {
        bool any = false;
        atomic_store(&s->next, 0);
        atomic_store(&s->pass, pass);
        if (pass > 0) {
            /* give the last pass's answers time to come back first */
            int64_t until = sp_now_ns() + 1000 * MS;
            while (sp_now_ns() < until && !atomic_load(&s->stop))
                sleep_ns(10 * MS);
        }
        for (uint64_t i = 0; i < s->npairs && !atomic_load(&s->stop); i++) {
            uint64_t p = sp_perm_at(&s->perm, i);
            size_t a = (size_t)(p / s->nports);
            uint16_t port = s->ports[p % s->nports];
            struct sp_probe_spec sp;
            if (!mine(s, a, port) ||
                atomic_load_explicit(&s->state[p], memory_order_relaxed) !=
                    ST_SILENT)
                continue;
            any = true;
            spec_for(s, a, port, (unsigned)pass, &sp);
            if (queued == 0) /* one clock read per batch is close enough */
                batch_ms = (uint32_t)((sp_now_ns() - s->t0) / MS);
            atomic_store_explicit(&s->sent_ms[p], batch_ms,
                                  memory_order_relaxed);
            atomic_store_explicit(&s->next, i + 1, memory_order_release);
            if (s->io->link_ok != NULL && s->io->link_ok[a])
                s->send_rc =
                    sp_craft_queue_link(s->io->craft, &sp, &s->send_err);
            else
                s->send_rc = sp_craft_queue(s->io->craft, &sp, &s->send_err);
            if (s->send_rc != 0)
                goto out;
            if (++queued < batch)
                continue;
            /* the token bucket is held per batch, not per packet */
            for (;;) {
                int64_t now = sp_now_ns();
                tokens += (double)(now - last) / 1e9 * rate;
                last = now;
                if (tokens > 2.0 * batch + rate / 100)
                    tokens = 2.0 * batch + rate / 100;
                if (tokens >= queued)
                    break;
                sleep_ns((int64_t)((queued - tokens) / rate * 1e9));
            }
            tokens -= queued;
            {
                unsigned failed = 0;
                s->send_rc =
                    sp_craft_flush(s->io->craft, &failed, &s->send_err);
                atomic_fetch_add(&s->sent, queued - failed);
                atomic_fetch_add(&s->send_failed, failed);
            }
            queued = 0;
            if (s->send_rc != 0)
                goto out;
        }
        if (queued > 0) {
            unsigned failed = 0;
            s->send_rc = sp_craft_flush(s->io->craft, &failed, &s->send_err);
            atomic_fetch_add(&s->sent, queued - failed);
            atomic_fetch_add(&s->send_failed, failed);
            queued = 0;
            if (s->send_rc != 0)
                goto out;
        }
        if (!any)
            break;
    }
out:
    if (s->io->link_ok != NULL)
        sp_craft_link_close(s->io->craft); /* in the cool-down */
    atomic_store(&s->sender_done, true);
    return NULL;
}

/* ---- the engine side --------------------------------------------------------
 */

static bool build_maps(struct scan *s)
{
    const struct sp_target_list *tl = s->io->tl;
    size_t cap = 16;

    while (cap < tl->n * 2)
        cap *= 2;
    s->amask = cap - 1;
    s->amap = calloc(cap, sizeof(*s->amap));
    s->port_idx = calloc(65536, sizeof(*s->port_idx));
    s->ports = calloc(s->nports, sizeof(*s->ports));
    if (s->amap == NULL || s->port_idx == NULL || s->ports == NULL)
        return false;
    for (size_t i = 0; i < s->nports; i++) {
        s->ports[i] = sp_cli_port_at(s->io->cfg, i);
        if (s->port_idx[s->ports[i]] == 0)
            s->port_idx[s->ports[i]] = (uint32_t)i + 1;
    }
    for (size_t i = 0; i < tl->n; i++) {
        size_t j = sp_addr_hash(&tl->v[i].addr, 0) & s->amask;
        while (s->amap[j] != 0 &&
               !sp_addr_eq(&tl->v[s->amap[j] - 1].addr, &tl->v[i].addr))
            j = (j + 1) & s->amask;
        if (s->amap[j] == 0)
            s->amap[j] = (uint32_t)i + 1;
    }
    return true;
}

/* The pair a reply names (target, port), or -1. */
static int64_t pair_of(const struct scan *s, const struct sp_addr *target,
                       uint16_t port)
{
    size_t j = sp_addr_hash(target, 0) & s->amask;
    uint32_t pi = s->port_idx[port];

    if (pi == 0)
        return -1;
    while (s->amap[j] != 0) {
        uint32_t a = s->amap[j] - 1;
        if (sp_addr_eq(&s->io->tl->v[a].addr, target))
            return (int64_t)a * (int64_t)s->nports + (pi - 1);
        j = (j + 1) & s->amask;
    }
    return -1;
}

/* True if (sport, seq) are those of one of our tries at pair p. */
static bool cookie_ok(const struct scan *s, int64_t p, uint16_t sport,
                      uint32_t seq_lo, uint32_t seq_hi)
{
    size_t a = (size_t)(p / (int64_t)s->nports);
    uint16_t port = s->ports[p % (int64_t)s->nports];

    for (int t = 0; t <= s->io->cfg->retries; t++) {
        struct sp_probe_spec sp;
        spec_for(s, a, port, (unsigned)t, &sp);
        if (sp.sport == sport && (sp.seq == seq_lo || sp.seq == seq_hi))
            return true;
    }
    return false;
}

static void fill_result(const struct scan *s, int64_t p, struct sp_result *r)
{
    size_t a = (size_t)(p / (int64_t)s->nports);

    memset(r, 0, sizeof(*r));
    r->target = s->io->tl->v[a].addr;
    r->name = s->io->tl->v[a].name;
    r->port = s->ports[p % (int64_t)s->nports];
    r->hop = r->reply_ttl = r->icmp_type = r->icmp_code = -1;
    r->rtt_ns = -1;
}

static void emit(const struct scan *s, const struct sp_result *r,
                 struct sp_summary *sum)
{
    struct sp_target_rec rec;

    memset(&rec, 0, sizeof(rec));
    rec.r = *r;
    rec.verdicts[r->verdict] = 1;
    rec.echo_state = -1;
    rec.echo_hop = -1;
    sum->verdicts[r->verdict]++;
    s->io->sink->target(s->io->sink->state, &rec);
}

/* Decides a pair from a validated answer, once. */
static void decide(struct scan *s, int64_t p, const struct sp_packet *pk,
                   enum sp_reason reason, struct sp_summary *sum)
{
    struct sp_result r;
    uint32_t sent;

    if (atomic_exchange_explicit(&s->state[p], ST_DECIDED,
                                 memory_order_relaxed) != ST_SILENT)
        return; /* a duplicate: the first valid answer decided */
    s->answered++;
    fill_result(s, p, &r);
    r.reason = reason;
    r.verdict = sp_reason_verdict(reason);
    r.responder = pk->src;
    r.reply_ttl = pk->ttl;
    r.hop = sp_ttl_distance(pk->ttl);
    sent = atomic_load_explicit(&s->sent_ms[p], memory_order_relaxed);
    r.rtt_ns = pk->ts_ns - (s->t0 + (int64_t)sent * MS);
    if (r.rtt_ns < 0)
        r.rtt_ns = 0;
    if (reason != SP_REASON_SYN_ACK && reason != SP_REASON_RST) {
        r.icmp_type = pk->icmp_type;
        r.icmp_code = pk->icmp_code;
    }
    emit(s, &r, sum);
}

/* Reports a pair that stayed silent, once: filtered, or unknown where the
 * capture dropped packets while it waited (drop_ms: when drops were first
 * seen, or -1) or the run was interrupted. */
static void settle(struct scan *s, uint64_t p, int64_t drop_ms,
                   struct sp_summary *sum)
{
    struct sp_result r;
    uint32_t sent;

    if (atomic_exchange_explicit(&s->state[p], ST_DECIDED,
                                 memory_order_relaxed) != ST_SILENT)
        return;
    fill_result(s, (int64_t)p, &r);
    sent = atomic_load_explicit(&s->sent_ms[p], memory_order_relaxed);
    if (sp_signal_seen != 0)
        r.reason = SP_REASON_INTERRUPTED;
    else if (drop_ms >= 0 &&
             (int64_t)sent + (int64_t)(s->io->cfg->wait_s * 1000) >= drop_ms)
        r.reason = SP_REASON_CAPTURE_DROPS;
    else
        r.reason = SP_REASON_NO_RESPONSE;
    r.verdict = sp_reason_verdict(r.reason);
    emit(s, &r, sum);
}

/*
 * Streams the silent pairs of the last pass as their wait passes: walks the
 * probing order from *cursor up to where the sender is, and stops at the
 * first silent pair that has not waited --wait + SETTLE_MS yet (send times
 * grow along the order). Earlier passes are left alone: their silent pairs
 * get another try.
 */
static void settle_due(struct scan *s, uint64_t *cursor, int64_t now,
                       int64_t drop_ms, struct sp_summary *sum)
{
    int64_t due_ms =
        (now - s->t0) / MS - SETTLE_MS - (int64_t)(s->io->cfg->wait_s * 1000);
    uint64_t end;

    if (atomic_load(&s->pass) != s->io->cfg->retries || due_ms < 0)
        return;
    end = atomic_load(&s->sender_done)
              ? s->npairs
              : atomic_load_explicit(&s->next, memory_order_acquire);
    for (; *cursor < end; (*cursor)++) {
        uint64_t p = sp_perm_at(&s->perm, *cursor);
        size_t a = (size_t)(p / s->nports);
        if (!mine(s, a, s->ports[p % s->nports]) ||
            atomic_load_explicit(&s->state[p], memory_order_relaxed) !=
                ST_SILENT)
            continue;
        if ((int64_t)atomic_load_explicit(&s->sent_ms[p],
                                          memory_order_relaxed) > due_ms)
            break;
        settle(s, p, drop_ms, sum);
    }
}

static void on_packet(struct scan *s, const struct sp_packet *pk,
                      struct sp_summary *sum)
{
    int64_t p;
    enum sp_icmp_kind k;

    if (!(pk->have & SP_HAVE_IP) || pk->frag_later)
        return;
    if (pk->proto == SP_PROTO_TCP && (pk->have & SP_HAVE_TCP)) {
        bool synack = (pk->tcp_flags & (SP_TCP_SYN | SP_TCP_ACK)) ==
                      (SP_TCP_SYN | SP_TCP_ACK);
        bool rst = (pk->tcp_flags & (SP_TCP_RST | SP_TCP_ACK)) ==
                   (SP_TCP_RST | SP_TCP_ACK);
        if (!synack && !rst)
            return; /* our own SYNs in a -w capture, and the like */
        p = pair_of(s, &pk->src, pk->sport);
        if (p >= 0 && synack &&
            cookie_ok(s, p, pk->dport, pk->ack - 1, pk->ack - 1))
            decide(s, p, pk, SP_REASON_SYN_ACK, sum);
        else if (p >= 0 && rst &&
                 cookie_ok(s, p, pk->dport, pk->ack, pk->ack - 1))
            decide(s, p, pk, SP_REASON_RST, sum);
        else
            sum->unrelated++;
        return;
    }
    if ((pk->proto != SP_PROTO_ICMP && pk->proto != SP_PROTO_ICMP6) ||
        !(pk->have & SP_HAVE_ICMP))
        return;
    k = sp_icmp_kind(pk);
    if (k == SP_ICMP_ECHO_REQUEST)
        return;
    if (k != SP_ICMP_UNREACH || !(pk->have & SP_HAVE_INNER_L4) ||
        pk->inner.proto != SP_PROTO_TCP) {
        sum->unrelated++;
        return;
    }
    p = pair_of(s, &pk->inner.dst, pk->inner.dport);
    if (p >= 0 &&
        cookie_ok(s, p, pk->inner.sport, pk->inner.seq, pk->inner.seq))
        decide(s, p, pk, sp_reason_from_unreach(pk->src.family, pk->icmp_code),
               sum);
    else
        sum->unrelated++;
}

static void progress(const struct scan *s, int64_t now, uint64_t drops,
                     bool final)
{
    uint64_t sent = atomic_load(&s->sent);
    double el = (double)(now - s->t0) / 1e9;
    unsigned long long decided = s->answered;
    double left;

    left = s->io->cfg->rate > 0
               ? (double)(s->npairs > sent ? s->npairs - sent : 0) /
                     s->io->cfg->rate
               : 0;
    fprintf(stderr,
            "%ssynprobe: %.1f s, sent %llu (%.0f/s), replies %llu, drops "
            "%llu, ~%.0f s left%s",
            isatty(STDERR_FILENO) ? "\r" : "", el, (unsigned long long)sent,
            el > 0 ? (double)sent / el : 0.0, decided,
            (unsigned long long)drops, left,
            isatty(STDERR_FILENO) && !final ? "   " : "\n");
}

int sp_scan_run(const struct sp_scan_io *io, struct sp_summary *sum,
                struct sp_err *err)
{
    struct scan *s = calloc(1, sizeof(*s));
    pthread_t sender;
    struct sp_event evs[256];
    int64_t done_at = 0, last_progress, last_flush, wait_ns;
    uint64_t first_drop_seen = 0, cursor = 0;
    int64_t drop_ms = -1;
    bool verbose_progress;
    int rc = 0;

    if (s == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    s->io = io;
    s->naddr = io->tl->n;
    s->nports = sp_cli_port_count(io->cfg);
    s->npairs = (uint64_t)s->naddr * s->nports;
    s->state = calloc(s->npairs, sizeof(*s->state));
    s->sent_ms = calloc(s->npairs, sizeof(*s->sent_ms));
    if (s->state == NULL || s->sent_ms == NULL || !build_maps(s)) {
        rc = sp_err_set(err, SP_ENOMEM, "out of memory for %llu pairs",
                        (unsigned long long)s->npairs);
        goto out;
    }
    {
        uint8_t k[16];
        uint64_t k0, k1;
        /* the order only needs to look random: derive it from the key */
        memset(k, 0, sizeof(k));
        k0 = sp_siphash(io->key, k, 8);
        k1 = sp_siphash(io->key, k, 16);
        sp_perm_init(&s->perm, s->npairs, k0, k1);
    }
    wait_ns = (int64_t)(io->cfg->wait_s * 1e9);
    s->t0 = sp_now_ns();
    last_progress = last_flush = s->t0;
    /* a progress line for runs expected to take more than a few seconds */
    verbose_progress =
        io->cfg->verbose ||
        (double)s->npairs * (io->cfg->retries + 1) / io->cfg->rate > 5.0;
    {
        sigset_t all, old;
        int prc;
        sigfillset(&all); /* signals stay with the engine thread */
        pthread_sigmask(SIG_BLOCK, &all, &old);
        prc = pthread_create(&sender, NULL, sender_main, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (prc != 0) {
            rc = sp_err_set(err, SP_EIO, "cannot start the sender thread");
            goto out;
        }
    }
    for (;;) {
        int64_t now;
        size_t n = sp_queue_pop(io->q, evs, 256, 5);
        for (size_t i = 0; i < n; i++) {
            if (evs[i].type != SP_EV_PACKET)
                continue;
            sum->packets++;
            if (evs[i].result == SP_DECODE_TRUNCATED)
                sum->truncated++;
            else if (evs[i].result == SP_DECODE_INVALID)
                sum->invalid++;
            if (evs[i].result != SP_DECODE_INVALID &&
                evs[i].result != SP_DECODE_OTHER)
                on_packet(s, &evs[i].pkt, sum);
        }
        now = sp_now_ns();
        {
            uint64_t d = sp_capture_drops(io->cap) + sp_queue_drops(io->q);
            if (d > first_drop_seen && drop_ms < 0)
                drop_ms = (now - s->t0) / MS; /* the first drops: from here
                                                 on silence proves nothing */
            first_drop_seen = d;
            sum->capture_drops = d;
        }
        settle_due(s, &cursor, now, drop_ms, sum);
        if (io->flush != NULL && now - last_flush >= FLUSH_MS * MS) {
            io->flush();
            last_flush = now;
        }
        if (verbose_progress && now - last_progress >= 1000 * MS) {
            progress(s, now, sum->capture_drops, false);
            last_progress = now;
        }
        if (sp_signal_seen != 0) {
            atomic_store(&s->stop, true);
            break;
        }
        if (atomic_load(&s->sender_done)) {
            if (done_at == 0)
                done_at = now; /* the cool-down starts */
            else if (now - done_at >= wait_ns)
                break;
        }
    }
    atomic_store(&s->stop, true);
    pthread_join(sender, NULL);
    if (verbose_progress)
        progress(s, sp_now_ns(), sum->capture_drops, true);
    if (s->send_rc != 0) {
        *err = s->send_err;
        rc = s->send_rc;
    }
    /* the silent pairs not streamed yet */
    for (uint64_t p = 0; p < s->npairs; p++) {
        size_t a = (size_t)(p / s->nports);
        if (mine(s, a, s->ports[p % s->nports]))
            settle(s, p, drop_ms, sum);
    }
    sum->attempts = atomic_load(&s->sent);
out:
    free(s->ports);
    free(s->port_idx);
    free(s->amap);
    free(s->state);
    free(s->sent_ms);
    free(s);
    return rc;
}
