/*
 * test_analysis.c - the correlation rules of DESIGN.md, fed synthetic
 * packets straight into the analysis (no pcap, no threads, no sleeps).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "analyzers/analysis.h"
#include "capture/decode.h"
#include "engine/event.h"
#include "engine/run.h"
#include "tests/helpers.h"

#define SEC 1000000000LL

/* ---- a sink that keeps what it is given ---------------------------------- */

struct seen {
    struct sp_attempt_rec att[64];
    size_t natt;
    struct sp_target_rec tgt[16];
    struct sp_hop hops[16][40];
    size_t ntgt;
};

static struct seen seen;

static void keep_attempt(void *st, const struct sp_attempt_rec *a)
{
    (void)st;
    if (seen.natt < 64)
        seen.att[seen.natt++] = *a;
}

static void keep_target(void *st, const struct sp_target_rec *t)
{
    (void)st;
    if (seen.ntgt >= 16)
        return;
    seen.tgt[seen.ntgt] = *t;
    if (t->hops != NULL && t->nhops <= 40) {
        memcpy(seen.hops[seen.ntgt], t->hops, t->nhops * sizeof(*t->hops));
        seen.tgt[seen.ntgt].hops = seen.hops[seen.ntgt];
    }
    seen.ntgt++;
}

static struct sp_analysis *new_analysis(void)
{
    static const struct sp_sink sink = {
        .attempt = keep_attempt,
        .target = keep_target,
    };
    struct sp_analysis_cfg cfg = {
        .wait_ns = 3 * SEC,
        .trace_ttl_max = 32,
        .emit_attempts = true,
    };
    memset(&seen, 0, sizeof(seen));
    return sp_analysis_create(&cfg, &sink);
}

/* ---- packet builders --------------------------------------------------------
 */

static struct sp_addr A(const char *s) {
    struct sp_addr a;
    CU_ASSERT_FATAL(sp_addr_parse(s, &a));
    return a;
}

static const char *CLIENT = "198.18.1.2",
                  *SERVER = "198.18.4.100";

static struct sp_packet tcp(int64_t ts, const char *src, const char *dst,
                            uint16_t sp, uint16_t dp, uint8_t flags,
                            uint32_t seq, uint32_t ack, uint8_t ttl)
{
    struct sp_packet p;
    memset(&p, 0, sizeof(p));
    p.ts_ns = ts;
    p.have = SP_HAVE_IP | SP_HAVE_TCP;
    p.src = A(src);
    p.dst = A(dst);
    p.ttl = ttl;
    p.proto = SP_PROTO_TCP;
    p.sport = sp;
    p.dport = dp;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    return p;
}

static struct sp_packet syn(int64_t ts, uint32_t isn, uint8_t ttl)
{
    return tcp(ts, CLIENT, SERVER, 40000, 443, SP_TCP_SYN, isn, 0, ttl);
}

static struct sp_packet icmp_err(int64_t ts, const char *from, uint8_t ttl,
                                 uint8_t type, uint8_t code,
                                 const struct sp_packet *quoted)
{
    struct sp_packet p;
    memset(&p, 0, sizeof(p));
    p.ts_ns = ts;
    p.have = SP_HAVE_IP | SP_HAVE_ICMP | SP_HAVE_INNER | SP_HAVE_INNER_L4;
    p.src = A(from);
    p.dst = quoted->src;
    p.ttl = ttl;
    p.proto = p.src.family == 4 ? SP_PROTO_ICMP : SP_PROTO_ICMP6;
    p.icmp_type = type;
    p.icmp_code = code;
    p.inner.src = quoted->src;
    p.inner.dst = quoted->dst;
    p.inner.ttl = 1;
    p.inner.proto = quoted->proto;
    p.inner.sport = quoted->sport;
    p.inner.dport = quoted->dport;
    p.inner.seq = quoted->seq;
    p.inner.icmp_type = quoted->icmp_type;
    p.inner.icmp_id = quoted->icmp_id;
    p.inner.icmp_seq = quoted->icmp_seq;
    p.inner.l4_len = 8;
    return p;
}

static struct sp_packet echo(int64_t ts, const char *src, const char *dst,
                             bool reply, uint16_t id, uint16_t seq, uint8_t ttl)
{
    struct sp_packet p;
    memset(&p, 0, sizeof(p));
    p.ts_ns = ts;
    p.have = SP_HAVE_IP | SP_HAVE_ICMP;
    p.src = A(src);
    p.dst = A(dst);
    p.ttl = ttl;
    p.proto = SP_PROTO_ICMP;
    p.icmp_type = reply ? 0 : 8;
    p.icmp_id = id;
    p.icmp_seq = seq;
    return p;
}

static void feed(struct sp_analysis *a, struct sp_packet p)
{
    sp_analysis_packet(a, &p, true);
}

static const struct sp_target_rec *only_target(void)
{
    CU_ASSERT_EQUAL_FATAL(seen.ntgt, 1);
    return &seen.tgt[0];
}

/* ---- tests ----------------------------------------------------------------
 */

static void test_synack_is_open(void)
{
    struct sp_analysis *a = new_analysis();
    const struct sp_target_rec *t;

    feed(a, syn(10 * SEC, 1000, 64));
    feed(a, tcp(10 * SEC + 2000000, SERVER, CLIENT, 443, 40000,
                SP_TCP_SYN | SP_TCP_ACK, 777, 1001, 61));
    sp_analysis_finish(a, 20 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL(t->r.verdict, SP_VERDICT_OPEN);
    CU_ASSERT_EQUAL(t->r.reason, SP_REASON_SYN_ACK);
    CU_ASSERT_EQUAL(t->r.hop, 4);
    CU_ASSERT_EQUAL(t->r.reply_ttl, 61);
    CU_ASSERT_EQUAL(t->r.rtt_ns, 2000000);
    CU_ASSERT_TRUE(sp_addr_eq(&t->r.responder, &t->r.target));
    CU_ASSERT_EQUAL(seen.natt, 1);
    CU_ASSERT_EQUAL(seen.att[0].syn_count, 1);
    CU_ASSERT_EQUAL(seen.att[0].client_port, 40000);
    sp_analysis_destroy(a);
}

static void test_wrong_ack_is_unrelated(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_summary s;

    feed(a, syn(10 * SEC, 1000, 64));
    feed(a, tcp(10 * SEC + 1, SERVER, CLIENT, 443, 40000,
                SP_TCP_SYN | SP_TCP_ACK, 777, 1002, 61));
    feed(a, tcp(10 * SEC + 2, SERVER, CLIENT, 443, 40000,
                SP_TCP_RST | SP_TCP_ACK, 0, 1005, 61));
    /* right ports, wrong client address */
    feed(a, tcp(10 * SEC + 3, SERVER, "198.18.1.3", 443, 40000,
                SP_TCP_RST | SP_TCP_ACK, 0, 1001, 61));
    sp_analysis_finish(a, 20 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL(only_target()->r.verdict, SP_VERDICT_FILTERED);
    CU_ASSERT_EQUAL(only_target()->r.reason, SP_REASON_NO_RESPONSE);
    sp_analysis_counts(a, &s);
    CU_ASSERT_EQUAL(s.unrelated, 3);
    sp_analysis_destroy(a);
}

static void test_rst_ack_seq_or_seq_plus_one(void)
{
    for (uint32_t d = 0; d < 2; d++) {
        struct sp_analysis *a = new_analysis();
        feed(a, syn(SEC, 5000, 64));
        feed(a, tcp(SEC + 10, SERVER, CLIENT, 443, 40000,
                    SP_TCP_RST | SP_TCP_ACK, 0, 5000 + d, 61));
        sp_analysis_finish(a, 2 * SEC, SP_REASON_CAPTURE_ENDED);
        CU_ASSERT_EQUAL(only_target()->r.verdict, SP_VERDICT_CLOSED);
        CU_ASSERT_EQUAL(only_target()->r.reason, SP_REASON_RST);
        sp_analysis_destroy(a);
    }
}

static void test_retransmissions_are_one_attempt(void)
{
    struct sp_analysis *a = new_analysis();

    feed(a, syn(SEC, 42, 64));
    feed(a, syn(2 * SEC, 42, 64));
    feed(a, syn(4 * SEC, 42, 64));
    feed(a, tcp(4 * SEC + 500, SERVER, CLIENT, 443, 40000,
                SP_TCP_SYN | SP_TCP_ACK, 9, 43, 61));
    sp_analysis_finish(a, 5 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL(seen.natt, 1);
    CU_ASSERT_EQUAL(seen.att[0].syn_count, 3);
    CU_ASSERT_EQUAL(seen.att[0].first_seen_ns, SEC);
    CU_ASSERT_EQUAL(seen.att[0].r.rtt_ns, 500); /* from the last SYN */
    CU_ASSERT_EQUAL(only_target()->r.verdict, SP_VERDICT_OPEN);
    sp_analysis_destroy(a);
}

static void test_silence_needs_the_wait(void)
{
    struct sp_analysis *a = new_analysis();

    feed(a, syn(SEC, 1, 64));
    sp_analysis_finish(a, 3 * SEC, SP_REASON_CAPTURE_ENDED); /* 2 s < 3 s */
    CU_ASSERT_EQUAL(only_target()->r.verdict, SP_VERDICT_UNKNOWN);
    CU_ASSERT_EQUAL(only_target()->r.reason, SP_REASON_CAPTURE_ENDED);
    sp_analysis_destroy(a);

    a = new_analysis();
    feed(a, syn(SEC, 1, 64));
    sp_analysis_finish(a, 4 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL(only_target()->r.verdict, SP_VERDICT_FILTERED);
    CU_ASSERT_EQUAL(only_target()->r.hop, -1); /* no trace: hop null */
    sp_analysis_destroy(a);
}

static void test_answer_outranks_silence(void)
{
    struct sp_analysis *a = new_analysis();
    const struct sp_target_rec *t;

    feed(a, syn(SEC, 100, 64));
    feed(a, tcp(SEC + 5, SERVER, CLIENT, 443, 40000, SP_TCP_RST | SP_TCP_ACK, 0,
                101, 61));
    feed(a, syn(10 * SEC, 200, 64)); /* a new ISN: a new attempt, silent */
    sp_analysis_finish(a, 20 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL(seen.natt, 2);
    CU_ASSERT_EQUAL(t->r.verdict, SP_VERDICT_CLOSED);
    CU_ASSERT_EQUAL(t->verdicts[SP_VERDICT_CLOSED], 1);
    CU_ASSERT_EQUAL(t->verdicts[SP_VERDICT_FILTERED], 1);
    sp_analysis_destroy(a);
}

static void test_latest_active_answer_decides(void)
{
    struct sp_analysis *a = new_analysis();

    feed(a, syn(SEC, 100, 64));
    feed(a, tcp(SEC + 5, SERVER, CLIENT, 443, 40000, SP_TCP_RST | SP_TCP_ACK, 0,
                101, 61));
    feed(a, syn(10 * SEC, 300, 64));
    feed(a, tcp(10 * SEC + 5, SERVER, CLIENT, 443, 40000,
                SP_TCP_SYN | SP_TCP_ACK, 0, 301, 61));
    sp_analysis_finish(a, 20 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL(only_target()->r.verdict, SP_VERDICT_OPEN);
    sp_analysis_destroy(a);
}

/* Two attempts that began at the same instant: the one whose answer came
 * later in the capture decides (answered attempts are finalised in the
 * order of their answers), in either order. */
static void test_same_instant_later_answer_decides(void)
{
    for (int synack_last = 0; synack_last < 2; synack_last++) {
        struct sp_analysis *a = new_analysis();
        struct sp_packet rst = tcp(SEC + 5, SERVER, CLIENT, 443, 40000,
                                   SP_TCP_RST | SP_TCP_ACK, 0, 101, 61);
        struct sp_packet sa = tcp(SEC + 5, SERVER, CLIENT, 443, 40001,
                                  SP_TCP_SYN | SP_TCP_ACK, 0, 201, 61);
        feed(a, syn(SEC, 100, 64));
        feed(a, tcp(SEC, CLIENT, SERVER, 40001, 443, SP_TCP_SYN, 200, 0, 64));
        feed(a, synack_last ? rst : sa);
        feed(a, synack_last ? sa : rst);
        sp_analysis_finish(a, 20 * SEC, SP_REASON_CAPTURE_ENDED);
        CU_ASSERT_EQUAL(only_target()->r.verdict,
                        synack_last ? SP_VERDICT_OPEN : SP_VERDICT_CLOSED);
        CU_ASSERT_EQUAL(only_target()->verdicts[SP_VERDICT_OPEN], 1);
        CU_ASSERT_EQUAL(only_target()->verdicts[SP_VERDICT_CLOSED], 1);
        sp_analysis_destroy(a);
    }
}

static void test_icmp_port_unreachable_quoting_syn(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_packet s = syn(SEC, 77, 64);
    struct sp_packet bad = s;
    const struct sp_target_rec *t;
    struct sp_summary sum;

    feed(a, s);
    bad.seq = 78; /* quotes another sequence number: forged */
    feed(a, icmp_err(SEC + 1, "198.18.2.2", 63, 3, 13, &bad));
    feed(a, icmp_err(SEC + 2, SERVER, 61, 3, 3, &s));
    sp_analysis_finish(a, 9 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL(t->r.verdict, SP_VERDICT_REJECTED);
    CU_ASSERT_EQUAL(t->r.reason, SP_REASON_ICMP_PORT_UNREACHABLE);
    CU_ASSERT_EQUAL(t->r.icmp_type, 3);
    CU_ASSERT_EQUAL(t->r.icmp_code, 3);
    CU_ASSERT_EQUAL(t->r.hop, 4);
    sp_analysis_counts(a, &sum);
    CU_ASSERT_EQUAL(sum.unrelated, 1);
    sp_analysis_destroy(a);
}

static void test_router_admin_prohibited_v6(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_packet s = tcp(SEC, "fd53:7970:1::2", "fd53:7970:4::100", 40000,
                             8443, SP_TCP_SYN, 9, 0, 64);
    const struct sp_target_rec *t;

    feed(a, s);
    feed(a, icmp_err(SEC + 100, "fd53:7970:2::2", 63, 1, 1, &s));
    sp_analysis_finish(a, 9 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL(t->r.reason, SP_REASON_ICMP_ADMIN_PROHIBITED);
    CU_ASSERT_EQUAL(t->r.hop, 2);
    CU_ASSERT_STRING_EQUAL(sp_reason_errno(t->r.reason, 6), "EACCES");
    sp_analysis_destroy(a);
}

static void test_forged_rst_then_host_synack(void)
{
    struct sp_analysis *a = new_analysis();
    const struct sp_target_rec *t;

    feed(a, syn(SEC, 500, 64));
    feed(a, tcp(SEC + 10, SERVER, CLIENT, 443, 40000, SP_TCP_RST | SP_TCP_ACK,
                0, 501, 46));
    feed(a, tcp(SEC + 20, SERVER, CLIENT, 443, 40000, SP_TCP_SYN | SP_TCP_ACK,
                0, 501, 49));
    sp_analysis_finish(a, 9 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL(t->r.verdict, SP_VERDICT_REJECTED);
    CU_ASSERT_EQUAL(t->r.reason, SP_REASON_MIDDLEBOX_RST);
    CU_ASSERT_EQUAL(t->r.reply_ttl, 46);
    CU_ASSERT_EQUAL(t->r.hop, 19);
    CU_ASSERT_TRUE(t->middlebox_host_answer);
    sp_analysis_destroy(a);
}

static void test_forged_rst_by_distance_of_other_port(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_packet s80 =
        tcp(SEC, CLIENT, SERVER, 40001, 80, SP_TCP_SYN, 10, 0, 64);

    /* the host answers port 80 from distance 4 ... */
    feed(a, s80);
    feed(a, tcp(SEC + 5, SERVER, CLIENT, 80, 40001, SP_TCP_SYN | SP_TCP_ACK, 0,
                11, 61));
    /* ... while a RST for 443 claims its address from distance 2 */
    feed(a, syn(2 * SEC, 20, 64));
    feed(a, tcp(2 * SEC + 5, SERVER, CLIENT, 443, 40000,
                SP_TCP_RST | SP_TCP_ACK, 0, 21, 63));
    sp_analysis_finish(a, 9 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL_FATAL(seen.ntgt, 2);
    CU_ASSERT_EQUAL(seen.tgt[0].r.reason, SP_REASON_SYN_ACK);
    CU_ASSERT_EQUAL(seen.tgt[1].r.reason, SP_REASON_MIDDLEBOX_RST);
    CU_ASSERT_EQUAL(seen.tgt[1].r.hop, 2);
    sp_analysis_destroy(a);
}

static void test_trace_locates_drop(void)
{
    struct sp_analysis *a = new_analysis();
    const struct sp_target_rec *t;
    static const char *const routers[] = {"198.18.1.1", "198.18.2.2"};

    /* TTL 1..4 SYNs (a TCP traceroute), hops 1-2 answer, then silence */
    for (int ttl = 1; ttl <= 4; ttl++) {
        struct sp_packet s = syn(SEC, (uint32_t)(1000 + ttl), (uint8_t)ttl);
        s.sport = (uint16_t)(50000 + ttl);
        feed(a, s);
        if (ttl <= 2)
            feed(a, icmp_err(SEC + ttl, routers[ttl - 1], (uint8_t)(65 - ttl),
                             11, 0, &s));
    }
    feed(a, syn(2 * SEC, 9, 64)); /* the full-TTL SYN, silent */
    feed(a, echo(2 * SEC, CLIENT, SERVER, false, 7, 1, 64));
    feed(a, echo(2 * SEC + 3, SERVER, CLIENT, true, 7, 1, 61));
    sp_analysis_finish(a, 10 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL(t->r.verdict, SP_VERDICT_FILTERED);
    CU_ASSERT_EQUAL(t->r.hop, 2);
    CU_ASSERT_TRUE(t->have_trace);
    CU_ASSERT_EQUAL(t->echo_state, 1);
    CU_ASSERT_EQUAL(t->echo_hop, 4);
    /* trace probes are not attempts: only the full-TTL SYN counts */
    CU_ASSERT_EQUAL(t->verdicts[SP_VERDICT_FILTERED], 1);
    CU_ASSERT_EQUAL(seen.natt, 1);
    CU_ASSERT_EQUAL_FATAL(t->nhops, 4);
    CU_ASSERT_EQUAL(t->hops[0].syn, SP_HOP_TIME_EXCEEDED);
    CU_ASSERT_EQUAL(t->hops[1].syn, SP_HOP_TIME_EXCEEDED);
    CU_ASSERT_EQUAL(t->hops[2].syn, SP_HOP_NONE);
    CU_ASSERT_TRUE(sp_addr_eq(&t->hops[1].addr, &seen.tgt[0].hops[1].addr));
    sp_analysis_destroy(a);
}

static void test_quiet_hop(void)
{
    struct sp_analysis *a = new_analysis();
    const struct sp_target_rec *t;

    for (int ttl = 1; ttl <= 3; ttl++) {
        struct sp_packet s = syn(SEC, (uint32_t)(1000 + ttl), (uint8_t)ttl);
        s.sport = (uint16_t)(50000 + ttl);
        feed(a, s);
        if (ttl != 2)
            feed(a, icmp_err(SEC + ttl, ttl == 1 ? "198.18.1.1" : "198.18.3.3",
                             (uint8_t)(65 - ttl), 11, 0, &s));
    }
    sp_analysis_finish(a, 10 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL_FATAL(t->nhops, 3);
    CU_ASSERT_EQUAL(t->hops[1].note, SP_NOTE_QUIET);
    CU_ASSERT_EQUAL(t->hops[0].note, SP_NOTE_NONE);
    sp_analysis_destroy(a);
}

static void test_late_host_unreachable(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_packet s = syn(SEC, 1, 64);
    const struct sp_target_rec *t;

    feed(a, s);
    /* neighbour resolution fails: the router answers about 3 s later */
    feed(a, icmp_err(SEC + 2900000000LL, "198.18.3.3", 62, 3, 1, &s));
    sp_analysis_finish(a, 10 * SEC, SP_REASON_CAPTURE_ENDED);
    t = only_target();
    CU_ASSERT_EQUAL(t->r.verdict, SP_VERDICT_UNREACHABLE);
    CU_ASSERT_EQUAL(t->r.reason, SP_REASON_ICMP_HOST_UNREACHABLE);
    CU_ASSERT_EQUAL(t->r.hop, 3);
    sp_analysis_destroy(a);
}

static void test_attempts_finalised_as_time_passes(void)
{
    struct sp_analysis *a = new_analysis();

    for (int i = 0; i < 10; i++) {
        struct sp_packet s = syn(i * 10 * SEC, (uint32_t)i, 64);
        s.sport = (uint16_t)(1000 + i);
        feed(a, s);
    }
    /* the wait of all but the last has passed: they are out already */
    CU_ASSERT_EQUAL(seen.natt, 9);
    sp_analysis_finish(a, 91 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL(seen.natt, 10);
    CU_ASSERT_EQUAL(seen.att[9].r.reason, SP_REASON_CAPTURE_ENDED);
    sp_analysis_destroy(a);
}

static void test_unselected_syn_is_ignored(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_packet s = syn(SEC, 5, 64);

    sp_analysis_packet(a, &s, false);
    sp_analysis_finish(a, 9 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL(seen.ntgt, 0);
    CU_ASSERT_EQUAL(seen.natt, 0);
    sp_analysis_destroy(a);
}

static void test_engine_handler_without_threads(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_event ev;
    struct sp_summary counts;

    memset(&counts, 0, sizeof(counts));
    memset(&ev, 0, sizeof(ev));
    ev.type = SP_EV_PACKET;
    ev.result = SP_DECODE_OK;
    ev.selected = true;
    ev.pkt = syn(SEC, 3, 64);
    CU_ASSERT_TRUE(sp_engine_handle_event(a, &ev, &counts));
    ev.result = SP_DECODE_TRUNCATED;
    ev.pkt = tcp(SEC + 1, SERVER, CLIENT, 443, 40000, SP_TCP_SYN | SP_TCP_ACK,
                 0, 4, 61);
    CU_ASSERT_TRUE(sp_engine_handle_event(a, &ev, &counts));
    CU_ASSERT_EQUAL(counts.truncated, 1);
    ev.type = SP_EV_END;
    CU_ASSERT_FALSE(sp_engine_handle_event(a, &ev, &counts));
    sp_analysis_finish(a, 2 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL(only_target()->r.verdict, SP_VERDICT_OPEN);
    sp_analysis_destroy(a);
}

static void test_answer_just_before_its_syn(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_summary sum;

    /* reordered at the capture point by a fraction of a millisecond */
    feed(a, tcp(SEC, SERVER, CLIENT, 443, 40000, SP_TCP_SYN | SP_TCP_ACK, 0,
                1001, 61));
    feed(a, syn(SEC + 260000, 1000, 64));
    /* a second 4-tuple whose "answer" came a whole second early */
    feed(a, tcp(2 * SEC, SERVER, CLIENT, 443, 40001, SP_TCP_SYN | SP_TCP_ACK, 0,
                2001, 61));
    {
        struct sp_packet s = syn(3 * SEC, 2000, 64);
        s.sport = 40001;
        feed(a, s);
    }
    sp_analysis_finish(a, 9 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL_FATAL(seen.natt, 2);
    CU_ASSERT_EQUAL(seen.att[0].r.verdict, SP_VERDICT_OPEN);
    CU_ASSERT_EQUAL(seen.att[1].r.verdict, SP_VERDICT_FILTERED);
    sp_analysis_counts(a, &sum);
    CU_ASSERT_EQUAL(sum.unrelated, 1);
    sp_analysis_destroy(a);
}

static void test_host_unreachable_covers_rate_limited_ports(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_packet s80 =
        tcp(SEC, CLIENT, "198.18.4.200", 40001, 80, SP_TCP_SYN, 10, 0, 64);
    struct sp_packet s81 =
        tcp(SEC, CLIENT, "198.18.4.200", 40002, 81, SP_TCP_SYN, 20, 0, 64);

    feed(a, s80);
    feed(a, s81);
    /* the router's burst covered only port 80's SYN */
    feed(a, icmp_err(3900000000LL, "198.18.3.3", 62, 3, 1, &s80));
    sp_analysis_finish(a, 20 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL_FATAL(seen.ntgt, 2);
    CU_ASSERT_EQUAL(seen.tgt[1].r.verdict, SP_VERDICT_UNREACHABLE);
    CU_ASSERT_EQUAL(seen.tgt[1].r.reason, SP_REASON_ICMP_HOST_UNREACHABLE);
    CU_ASSERT_EQUAL(seen.tgt[1].r.hop, 3);
    /* the attempt itself stays what it was: silence */
    CU_ASSERT_EQUAL(seen.tgt[1].verdicts[SP_VERDICT_FILTERED], 1);
    sp_analysis_destroy(a);
}

static void test_linux_backoff_is_one_attempt(void)
{
    struct sp_analysis *a = new_analysis();
    static const int at[] = {0, 1, 3, 7, 15};

    /* Linux retransmits at 1, 3, 7, 15 s: gaps grow past the wait */
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
        feed(a, syn(SEC + at[i] * SEC, 42, 64));
    feed(a, tcp(16 * SEC + 1000000, SERVER, CLIENT, 443, 40000,
                SP_TCP_SYN | SP_TCP_ACK, 9, 43, 61));
    sp_analysis_finish(a, 30 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL_FATAL(seen.natt, 1);
    CU_ASSERT_EQUAL(seen.att[0].syn_count, 5);
    CU_ASSERT_EQUAL(seen.att[0].r.verdict, SP_VERDICT_OPEN);
    CU_ASSERT_EQUAL(only_target()->verdicts[SP_VERDICT_FILTERED], 0);
    sp_analysis_destroy(a);
}

static void test_forged_rst_among_host_rsts(void)
{
    struct sp_analysis *a = new_analysis();
    struct sp_summary sum;

    /* the host refuses three ports from distance 4 ... */
    for (uint16_t port = 81; port <= 83; port++) {
        struct sp_packet s = tcp(SEC, CLIENT, SERVER, (uint16_t)(41000 + port),
                                 port, SP_TCP_SYN, port * 10u, 0, 64);
        feed(a, s);
        feed(a, tcp(SEC + 5, SERVER, CLIENT, port, (uint16_t)(41000 + port),
                    SP_TCP_RST | SP_TCP_ACK, 0, port * 10u + 1, 61));
    }
    /* ... and a RST in its name comes from distance 2 */
    feed(a, syn(2 * SEC, 7, 64));
    feed(a, tcp(2 * SEC + 5, SERVER, CLIENT, 443, 40000,
                SP_TCP_RST | SP_TCP_ACK, 0, 8, 63));
    sp_analysis_finish(a, 9 * SEC, SP_REASON_CAPTURE_ENDED);
    CU_ASSERT_EQUAL_FATAL(seen.ntgt, 4);
    CU_ASSERT_EQUAL(seen.tgt[0].r.reason, SP_REASON_RST);
    CU_ASSERT_EQUAL(seen.tgt[3].r.reason, SP_REASON_MIDDLEBOX_RST);
    sp_analysis_counts(a, &sum);
    CU_ASSERT_EQUAL(sum.verdicts[SP_VERDICT_CLOSED], 3);
    CU_ASSERT_EQUAL(sum.verdicts[SP_VERDICT_REJECTED], 1);
    sp_analysis_destroy(a);
}

static void test_ttl_distance(void)
{
    CU_ASSERT_EQUAL(sp_ttl_distance(64), 1);
    CU_ASSERT_EQUAL(sp_ttl_distance(61), 4);
    CU_ASSERT_EQUAL(sp_ttl_distance(128), 1);
    CU_ASSERT_EQUAL(sp_ttl_distance(120), 9);
    CU_ASSERT_EQUAL(sp_ttl_distance(250), 6);
    CU_ASSERT_EQUAL(sp_ttl_distance(1), 64);
}

int main(void)
{
    static const struct sp_test_case cases[] = {
        {"synack_is_open", test_synack_is_open},
        {"wrong_ack_is_unrelated", test_wrong_ack_is_unrelated},
        {"rst_ack_seq_or_seq_plus_one", test_rst_ack_seq_or_seq_plus_one},
        {"retransmissions_are_one_attempt",
         test_retransmissions_are_one_attempt},
        {"silence_needs_the_wait", test_silence_needs_the_wait},
        {"answer_outranks_silence", test_answer_outranks_silence},
        {"latest_active_answer_decides", test_latest_active_answer_decides},
        {"same instant: the later answer decides",
         test_same_instant_later_answer_decides},
        {"icmp_port_unreachable_quoting_syn",
         test_icmp_port_unreachable_quoting_syn},
        {"router_admin_prohibited_v6", test_router_admin_prohibited_v6},
        {"forged_rst_then_host_synack", test_forged_rst_then_host_synack},
        {"forged_rst_by_distance_of_other_port",
         test_forged_rst_by_distance_of_other_port},
        {"trace_locates_drop", test_trace_locates_drop},
        {"quiet_hop", test_quiet_hop},
        {"late_host_unreachable", test_late_host_unreachable},
        {"attempts_finalised_as_time_passes",
         test_attempts_finalised_as_time_passes},
        {"unselected_syn_is_ignored", test_unselected_syn_is_ignored},
        {"engine_handler_without_threads", test_engine_handler_without_threads},
        {"answer_just_before_its_syn", test_answer_just_before_its_syn},
        {"host_unreachable_covers_rate_limited_ports",
         test_host_unreachable_covers_rate_limited_ports},
        {"linux_backoff_is_one_attempt", test_linux_backoff_is_one_attempt},
        {"forged_rst_among_host_rsts", test_forged_rst_among_host_rsts},
        {"ttl_distance", test_ttl_distance},
    };
    return sp_test_run("analysis", cases, sizeof(cases) / sizeof(cases[0]));
}
