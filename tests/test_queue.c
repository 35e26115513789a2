/*
 * test_queue.c - the event queue between the capture and engine threads:
 * order, the live drop rule, the in-place (reserve/peek) calls and their
 * wrap-around, and a real producer thread that must lose nothing when it
 * waits for room. Also the writer thread that formats attempt records
 * (engine/writer.h): order, draining, and a failed output seen.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <string.h>

#include "engine/event.h"
#include "engine/queue.h"
#include "engine/writer.h"
#include "tests/helpers.h"

static struct sp_event ev_n(int64_t n)
{
    struct sp_event e;

    memset(&e, 0, sizeof(e));
    e.type = SP_EV_PACKET;
    e.pkt.ts_ns = n;
    return e;
}

/* Live: a full queue refuses the event and counts it; order is FIFO. */
static void test_push_pop_drops(void)
{
    struct sp_queue *q = sp_queue_create(8);
    struct sp_event out[16];
    size_t n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL(sp_queue_pop(q, out, 16, 0), 0); /* empty, no wait */
    for (int i = 0; i < 8; i++) {
        struct sp_event e = ev_n(i);
        CU_ASSERT_TRUE(sp_queue_push(q, &e));
    }
    {
        struct sp_event e = ev_n(99);
        CU_ASSERT_FALSE(sp_queue_push(q, &e));
        CU_ASSERT_FALSE(sp_queue_push(q, &e));
    }
    CU_ASSERT_EQUAL(sp_queue_drops(q), 2);
    n = sp_queue_pop(q, out, 3, 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(out[i].pkt.ts_ns, (int64_t)i);
    /* room again: the ring wraps */
    for (int i = 8; i < 11; i++) {
        struct sp_event e = ev_n(i);
        CU_ASSERT_TRUE(sp_queue_push(q, &e));
    }
    n = sp_queue_pop(q, out, 16, 0);
    CU_ASSERT_EQUAL_FATAL(n, 8);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(out[i].pkt.ts_ns, (int64_t)(i + 3));
    CU_ASSERT_EQUAL(sp_queue_drops(q), 2);
    sp_queue_destroy(q);
}

/* The end event is delivered like any other, after what came before. */
static void test_end_event(void)
{
    struct sp_queue *q = sp_queue_create(4);
    struct sp_event e = ev_n(1), end, out[4];

    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    memset(&end, 0, sizeof(end));
    end.type = SP_EV_END;
    end.status = -3;
    CU_ASSERT_TRUE(sp_queue_push(q, &e));
    CU_ASSERT_TRUE(sp_queue_push(q, &end));
    CU_ASSERT_EQUAL_FATAL(sp_queue_pop(q, out, 4, 0), 2);
    CU_ASSERT_EQUAL(out[0].type, SP_EV_PACKET);
    CU_ASSERT_EQUAL(out[1].type, SP_EV_END);
    CU_ASSERT_EQUAL(out[1].status, -3);
    sp_queue_destroy(q);
}

/* In place: reserve hands out contiguous slots up to the ring's end, commit
 * publishes only what was filled, peek/release read them in order. */
static void test_reserve_peek_wrap(void)
{
    struct sp_queue *q = sp_queue_create(10);
    struct sp_event *slots;
    const struct sp_event *in;
    size_t n, total = 0;
    int64_t next = 0, want = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    /* 7 in, 7 out: the next reserve starts at slot 7 */
    n = sp_queue_reserve(q, &slots, 7);
    CU_ASSERT_EQUAL_FATAL(n, 7);
    for (size_t i = 0; i < n; i++)
        slots[i] = ev_n(next++);
    sp_queue_commit(q, n);
    n = sp_queue_peek(q, &in, 16, 0);
    CU_ASSERT_EQUAL_FATAL(n, 7);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(in[i].pkt.ts_ns, want++);
    sp_queue_release(q, n);
    /* only 3 contiguous slots remain before the end of the ring */
    n = sp_queue_reserve(q, &slots, 8);
    CU_ASSERT_TRUE_FATAL(n >= 1 && n <= 3);
    for (size_t i = 0; i < n; i++)
        slots[i] = ev_n(next++);
    sp_queue_commit(q, n);
    total = n;
    /* the rest from the start of the ring; commit fewer than reserved */
    n = sp_queue_reserve(q, &slots, 8);
    CU_ASSERT_TRUE_FATAL(n >= 1);
    slots[0] = ev_n(next++);
    sp_queue_commit(q, 1);
    total += 1;
    /* everything comes out, in order, whatever the contiguous pieces */
    while (total > 0) {
        n = sp_queue_peek(q, &in, 16, 0);
        CU_ASSERT_FATAL(n >= 1 && n <= total);
        for (size_t i = 0; i < n; i++)
            CU_ASSERT_EQUAL(in[i].pkt.ts_ns, want++);
        sp_queue_release(q, n);
        total -= n;
    }
    CU_ASSERT_EQUAL(want, next);
    CU_ASSERT_EQUAL(sp_queue_peek(q, &in, 16, 0), 0);
    CU_ASSERT_EQUAL(sp_queue_drops(q), 0);
    sp_queue_destroy(q);
}

/* A producer thread far ahead of a small ring: it waits for room (offline
 * rule), so every event arrives once and in order. */
enum { THREAD_EVENTS = 200000, RING = 64 };

static void *producer(void *arg)
{
    struct sp_queue *q = arg;
    struct sp_event batch[37];
    int64_t n = 0;

    while (n < THREAD_EVENTS) {
        size_t k = 0;
        if (n % 3 == 0) { /* mix the three producer calls */
            struct sp_event e = ev_n(n++);
            sp_queue_push_wait(q, &e);
            continue;
        }
        if (n % 3 == 1) {
            while (k < 37 && n < THREAD_EVENTS)
                batch[k++] = ev_n(n++);
            sp_queue_push_wait_n(q, batch, k);
            continue;
        }
        {
            struct sp_event *slots;
            size_t m = sp_queue_reserve(q, &slots, 16);
            while (k < m && n < THREAD_EVENTS)
                slots[k++] = ev_n(n++);
            sp_queue_commit(q, k);
        }
    }
    return NULL;
}

static void test_threads_lose_nothing(void)
{
    struct sp_queue *q = sp_queue_create(RING);
    pthread_t t;
    int64_t want = 0;
    bool ordered = true;

    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, producer, q), 0);
    while (want < THREAD_EVENTS) {
        if (want % 2 == 0) {
            struct sp_event out[20];
            size_t n = sp_queue_pop(q, out, 20, -1);
            for (size_t i = 0; i < n; i++)
                ordered &= out[i].pkt.ts_ns == want++;
        } else {
            const struct sp_event *in;
            size_t n = sp_queue_peek(q, &in, 20, -1);
            for (size_t i = 0; i < n; i++)
                ordered &= in[i].pkt.ts_ns == want++;
            sp_queue_release(q, n);
        }
    }
    pthread_join(t, NULL);
    CU_ASSERT_TRUE(ordered);
    CU_ASSERT_EQUAL(want, THREAD_EVENTS);
    CU_ASSERT_EQUAL(sp_queue_drops(q), 0);
    sp_queue_destroy(q);
}

/* An inner sink that keeps the client ports it is given, on the writer
 * thread, and reports a failure once it has FAIL_AFTER of them. */
enum { WR_N = 5000, FAIL_AFTER = 3000 };

struct wr_sink {
    unsigned ports[WR_N + 1];
    size_t n;
    bool fail;
};

static void wr_attempt(void *st, const struct sp_attempt_rec *a)
{
    struct wr_sink *k = st;

    if (k->n <= WR_N)
        k->ports[k->n++] = a->client_port;
}

static bool wr_failed(void *st)
{
    const struct wr_sink *k = st;

    return k->fail && k->n >= FAIL_AFTER;
}

static void test_writer_order_drain(void)
{
    static struct wr_sink k;
    struct sp_sink inner = {.state = &k, .attempt = wr_attempt};
    struct sp_attempt_rec rec;
    struct sp_writer *w;
    bool in_order = true;

    memset(&k, 0, sizeof(k));
    memset(&rec, 0, sizeof(rec));
    w = sp_writer_start(&inner, wr_failed);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    for (unsigned i = 0; i < 1500; i++) {
        rec.client_port = (uint16_t)i;
        sp_writer_attempt(w, &rec);
    }
    /* a batch and a half given: after the drain, all of it is written */
    sp_writer_drain(w);
    CU_ASSERT_EQUAL(k.n, 1500);
    for (unsigned i = 1500; i < WR_N; i++) {
        rec.client_port = (uint16_t)i;
        sp_writer_attempt(w, &rec);
    }
    CU_ASSERT_FALSE(sp_writer_failed(w));
    sp_writer_stop(w);
    CU_ASSERT_EQUAL(k.n, WR_N);
    for (size_t i = 0; i < k.n; i++)
        in_order = in_order && k.ports[i] == i;
    CU_ASSERT_TRUE(in_order);
}

static void test_writer_failure_seen(void)
{
    static struct wr_sink k;
    struct sp_sink inner = {.state = &k, .attempt = wr_attempt};
    struct sp_attempt_rec rec;
    struct sp_writer *w;

    memset(&k, 0, sizeof(k));
    memset(&rec, 0, sizeof(rec));
    k.fail = true;
    w = sp_writer_start(&inner, wr_failed);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    for (unsigned i = 0; i < WR_N; i++)
        sp_writer_attempt(w, &rec);
    sp_writer_drain(w);
    CU_ASSERT_TRUE(sp_writer_failed(w));
    sp_writer_stop(w);
}

int main(void)
{
    static const struct sp_test_case cases[] = {
        {"push, pop, drops when full", test_push_pop_drops},
        {"end event after the rest", test_end_event},
        {"reserve/peek in place, wrap-around", test_reserve_peek_wrap},
        {"producer thread waits, loses nothing", test_threads_lose_nothing},
        {"writer: order, drain, stop", test_writer_order_drain},
        {"writer: a failed output is seen", test_writer_failure_seen},
    };
    return sp_test_run("queue", cases, sizeof(cases) / sizeof(cases[0]));
}
