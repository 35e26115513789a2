/*
 * queue.c - bounded SPSC event queue with a mutex and condition variables
 * (see queue.h).
 */
#include "engine/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/event.h"

enum { LIVE_WAKE_BATCH = 64 };

struct sp_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    struct sp_event *ring;
    size_t cap, head, count;
    uint64_t drops;
    bool producer_waits; /* in sp_queue_push_wait*, for half the ring free */
};

struct sp_queue *sp_queue_create(size_t cap)
{
    struct sp_queue *q = calloc(1, sizeof(*q));
    pthread_condattr_t ca;

    if (q == NULL || cap == 0)
        goto fail;
    q->ring = calloc(cap, sizeof(*q->ring));
    if (q->ring == NULL)
        goto fail;
    q->cap = cap;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    return q;
fail:
    free(q);
    return NULL;
}

void sp_queue_destroy(struct sp_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->ring);
    free(q);
}

static void put(struct sp_queue *q, const struct sp_event *ev)
{
    q->ring[(q->head + q->count) % q->cap] = *ev;
    q->count++;
    pthread_cond_signal(&q->not_empty);
}

bool sp_queue_push(struct sp_queue *q, const struct sp_event *ev)
{
    bool ok;

    pthread_mutex_lock(&q->mu);
    ok = q->count < q->cap;
    if (ok) {
        /* no wake-up per event: under load that was a context switch per
         * packet. The consumer is woken once a batch has gathered, and its
         * own short timed waits bound the latency of the rest. */
        q->ring[(q->head + q->count) % q->cap] = *ev;
        /* ... but the end of the capture wakes it at once: the engine
         * waits for it, up to a second */
        if (++q->count == LIVE_WAKE_BATCH || ev->type == SP_EV_END)
            pthread_cond_signal(&q->not_empty);
    } else {
        q->drops++;
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

/*
 * Waits for room. A producer that found the ring full sleeps until half of
 * it is free, not until one slot is: woken per popped batch, the two
 * threads switched on every batch and the wake-ups cost more than the copy.
 */
static void wait_room(struct sp_queue *q)
{
    if (q->count < q->cap)
        return;
    q->producer_waits = true;
    while (q->count > q->cap / 2)
        pthread_cond_wait(&q->not_full, &q->mu);
    q->producer_waits = false;
}

void sp_queue_push_wait(struct sp_queue *q, const struct sp_event *ev)
{
    pthread_mutex_lock(&q->mu);
    wait_room(q);
    put(q, ev);
    pthread_mutex_unlock(&q->mu);
}

void sp_queue_push_wait_n(struct sp_queue *q, const struct sp_event *evs,
                          size_t n)
{
    size_t i = 0;

    pthread_mutex_lock(&q->mu);
    while (i < n) {
        wait_room(q);
        while (i < n && q->count < q->cap) {
            q->ring[(q->head + q->count) % q->cap] = evs[i++];
            q->count++;
        }
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mu);
}

/* Consumer, with the lock held: waits at most timeout_ms (-1: forever) for
 * an event. False on timeout. */
static bool wait_events(struct sp_queue *q, int timeout_ms)
{
    struct timespec until;

    if (q->count > 0)
        return true;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    while (q->count == 0) {
        int rc;
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->not_empty, &q->mu);
            continue;
        }
        rc = pthread_cond_timedwait(&q->not_empty, &q->mu, &until);
        if (rc == ETIMEDOUT && q->count == 0)
            return false;
    }
    return true;
}

/* Consumer, with the lock held: wakes a producer waiting for room once
 * half the ring is free. */
static void wake_producer(struct sp_queue *q)
{
    if (q->producer_waits && q->count <= q->cap / 2)
        pthread_cond_signal(&q->not_full);
}

size_t sp_queue_pop(struct sp_queue *q, struct sp_event *out, size_t max,
                    int timeout_ms)
{
    size_t n = 0;

    pthread_mutex_lock(&q->mu);
    if (!wait_events(q, timeout_ms)) {
        pthread_mutex_unlock(&q->mu);
        return 0;
    }
    while (n < max && q->count > 0) {
        out[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    wake_producer(q);
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t sp_queue_reserve(struct sp_queue *q, struct sp_event **slots, size_t max)
{
    size_t tail, n;

    pthread_mutex_lock(&q->mu);
    wait_room(q);
    tail = (q->head + q->count) % q->cap;
    n = q->cap - q->count;
    if (n > q->cap - tail)
        n = q->cap - tail; /* contiguous up to the end of the ring */
    pthread_mutex_unlock(&q->mu);
    *slots = &q->ring[tail];
    return n < max ? n : max;
}

void sp_queue_commit(struct sp_queue *q, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&q->mu);
    q->count += n;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

size_t sp_queue_peek(struct sp_queue *q, const struct sp_event **evs,
                     size_t max, int timeout_ms)
{
    size_t n;

    pthread_mutex_lock(&q->mu);
    if (!wait_events(q, timeout_ms)) {
        pthread_mutex_unlock(&q->mu);
        return 0;
    }
    n = q->count;
    if (n > q->cap - q->head)
        n = q->cap - q->head;
    pthread_mutex_unlock(&q->mu);
    *evs = &q->ring[q->head];
    return n < max ? n : max;
}

void sp_queue_release(struct sp_queue *q, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&q->mu);
    q->head = (q->head + n) % q->cap;
    q->count -= n;
    wake_producer(q);
    pthread_mutex_unlock(&q->mu);
}

uint64_t sp_queue_drops(struct sp_queue *q)
{
    uint64_t d;

    pthread_mutex_lock(&q->mu);
    d = q->drops;
    pthread_mutex_unlock(&q->mu);
    return d;
}
