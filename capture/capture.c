/*
 * capture.c - the capture thread: source -> decode -> queue (capture.h).
 */
#include "capture/capture.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture/source.h"
#include "engine/event.h"
#include "engine/queue.h"

struct sp_capture {
    pthread_t thread;
    struct sp_source *src;
    struct sp_queue *q;
    bool live;
    sp_capture_keep_fn keep;
    int64_t tick_ns; /* the latest time left out since the last event */
    atomic_bool stop;
    _Atomic uint64_t drops;
    int status;
    struct sp_err err;
};

enum { BATCH = 128 };

/* Offline: frames are decoded into a scratch event that stays in this
 * core's cache, and those `keep` takes are copied into the queue's ring,
 * BATCH slots reserved at a time and handed over a batch at a time (a
 * slot's lines were last read by the engine's core: writing only the kept
 * frames there moves fewer of them between the cores). */
static void file_main(struct sp_capture *c)
{
    struct sp_event *slots = NULL, scratch;
    size_t n = 0, avail = 0;
    int rc;

    while (!atomic_load(&c->stop)) {
        if (n == avail) {
            sp_queue_commit(c->q, n);
            avail = sp_queue_reserve(c->q, &slots, BATCH);
            n = 0;
        }
        rc = sp_source_next(c->src, &scratch, &c->err);
        if (rc <= 0) {
            c->status = rc;
            break;
        }
        if (rc != 1)
            continue;
        if (c->keep != NULL && !c->keep(&scratch)) {
            if (scratch.pkt.ts_ns > c->tick_ns)
                c->tick_ns = scratch.pkt.ts_ns;
            continue;
        }
        scratch.tick_ns = c->tick_ns;
        c->tick_ns = 0;
        slots[n++] = scratch;
    }
    sp_queue_commit(c->q, n);
}

static void *capture_main(void *arg)
{
    struct sp_capture *c = arg;
    struct sp_event ev;
    struct sp_capture_stats st;
    unsigned since_stats = 0;
    int rc;

    while (c->live && !atomic_load(&c->stop)) {
        rc = sp_source_next(c->src, &ev, &c->err);
        if (rc == 2 || ++since_stats >= 256) {
            /* pcap_stats on the thread that owns the pcap_t */
            since_stats = 0;
            sp_source_stats(c->src, &st);
            atomic_store(&c->drops, st.drops);
        }
        if (rc == 2)
            continue;
        if (rc <= 0) {
            c->status = rc;
            break;
        }
        sp_queue_push(c->q, &ev); /* never blocks: a full queue drops */
    }
    if (!c->live)
        file_main(c);
    memset(&ev, 0, sizeof(ev));
    ev.type = SP_EV_END;
    ev.status = c->status;
    ev.tick_ns = c->tick_ns;
    /* live, never block (the engine may be gone from the queue already: it
     * stops reading on a timeout too); offline, the end must arrive */
    if (c->live)
        sp_queue_push(c->q, &ev);
    else
        sp_queue_push_wait(c->q, &ev);
    return NULL;
}

int sp_capture_start(struct sp_capture **out, struct sp_source *src,
                     struct sp_queue *q, bool live, sp_capture_keep_fn keep,
                     struct sp_err *err)
{
    struct sp_capture *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return sp_err_set(err, SP_ENOMEM, "out of memory");
    c->src = src;
    c->q = q;
    c->live = live;
    c->keep = live ? NULL : keep;
    {
        /* signals go to the engine thread only: its handler sets the flag
         * the engine reads */
        sigset_t all, old;
        int rc;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        rc = pthread_create(&c->thread, NULL, capture_main, c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            free(c);
            return sp_err_set(err, SP_EIO, "cannot start the capture thread");
        }
    }
    *out = c;
    return 0;
}

uint64_t sp_capture_drops(struct sp_capture *c)
{
    return atomic_load(&c->drops);
}

void sp_capture_stop(struct sp_capture *c)
{
    atomic_store(&c->stop, true);
    sp_source_stop(c->src);
}

int sp_capture_join(struct sp_capture *c, struct sp_err *err)
{
    int status;

    pthread_join(c->thread, NULL);
    status = c->status;
    if (status < 0 && err != NULL)
        *err = c->err;
    free(c);
    return status;
}
