/*
 * writer.c - attempt records formatted on a thread of their own (writer.h).
 */
#include "engine/writer.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Records per batch: one hand-over per BATCH records (~140 KB each). */
enum { BATCH = 1024 };

struct sp_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sp_sink inner;
    bool (*is_failed)(void *state);
    struct sp_attempt_rec *buf[2];
    size_t n[2];
    bool handed[2]; /* given to the writer thread, not yet written */
    int fill;       /* the batch the engine fills */
    bool stop;
    atomic_bool failed;
};

static void *writer_main(void *arg)
{
    struct sp_writer *w = arg;
    int k = 0;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->handed[k] && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->handed[k])
            break; /* stopped, and nothing left */
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < w->n[k]; i++)
            w->inner.attempt(w->inner.state, &w->buf[k][i]);
        if (w->is_failed != NULL && w->is_failed(w->inner.state))
            atomic_store(&w->failed, true);
        pthread_mutex_lock(&w->mu);
        w->handed[k] = false;
        pthread_cond_broadcast(&w->cv);
        k = 1 - k;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct sp_writer *sp_writer_start(const struct sp_sink *inner,
                                  bool (*is_failed)(void *state))
{
    struct sp_writer *w = calloc(1, sizeof(*w));
    sigset_t all, old;
    int rc;

    if (w == NULL)
        return NULL;
    w->buf[0] = malloc(BATCH * sizeof(*w->buf[0]));
    w->buf[1] = malloc(BATCH * sizeof(*w->buf[1]));
    if (w->buf[0] == NULL || w->buf[1] == NULL) {
        free(w->buf[0]);
        free(w->buf[1]);
        free(w);
        return NULL;
    }
    w->inner = *inner;
    w->is_failed = is_failed;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    /* signals stay with the engine thread, whose handler sets the flag it
     * reads */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w->buf[0]);
        free(w->buf[1]);
        free(w);
        return NULL;
    }
    return w;
}

/* Engine thread: gives the batch being filled to the writer, and waits
 * until the other one is written, to fill it next. */
static void hand_over(struct sp_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->handed[w->fill] = true;
    pthread_cond_broadcast(&w->cv);
    w->fill = 1 - w->fill;
    while (w->handed[w->fill])
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    w->n[w->fill] = 0;
}

void sp_writer_attempt(void *writer, const struct sp_attempt_rec *a)
{
    struct sp_writer *w = writer;

    size_t n = w->n[w->fill];

    w->buf[w->fill][n] = *a;
    w->n[w->fill] = ++n;
    if (n == BATCH) {
        hand_over(w);
        return;
    }
    /* the slot's lines were last written on the writer's core: ask for
     * them a few records ahead */
    if (n + 4 < BATCH)
        for (size_t o = 0; o < sizeof(*a); o += 64)
            __builtin_prefetch((const char *)&w->buf[w->fill][n + 4] + o, 1);
}

void sp_writer_drain(struct sp_writer *w)
{
    if (w->n[w->fill] > 0)
        hand_over(w);
    pthread_mutex_lock(&w->mu);
    while (w->handed[0] || w->handed[1])
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

bool sp_writer_failed(struct sp_writer *w)
{
    return atomic_load(&w->failed);
}

void sp_writer_stop(struct sp_writer *w)
{
    if (w == NULL)
        return;
    sp_writer_drain(w);
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->buf[0]);
    free(w->buf[1]);
    free(w);
}
