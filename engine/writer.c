/*
 * writer.c - attempt records formatted on a thread of their own (writer.h).
 */
#include "engine/writer.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Records per batch: one hand-over per BATCH records (~140 KB each), and
 * NBUF batches: the writer shares a CPU with the capture thread, which may
 * hold it for a scheduler time slice (a few ms, several thousand records);
 * with two batches the engine then waited for the writer. */
enum { BATCH = 1024, NBUF = 8 };

struct sp_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sp_sink inner;
    bool (*is_failed)(void *state);
    struct sp_attempt_rec *buf[NBUF];
    size_t n[NBUF];
    bool handed[NBUF]; /* given to the writer thread, not yet written */
    int fill;          /* the batch the engine fills */
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
        k = (k + 1) % NBUF;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Frees the batches and w. */
static void free_bufs(struct sp_writer *w)
{
    for (int i = 0; i < NBUF; i++)
        free(w->buf[i]);
    free(w);
}

struct sp_writer *sp_writer_start(const struct sp_sink *inner,
                                  bool (*is_failed)(void *state))
{
    struct sp_writer *w = calloc(1, sizeof(*w));
    sigset_t all, old;
    int rc;

    if (w == NULL)
        return NULL;
    for (int i = 0; i < NBUF; i++) {
        w->buf[i] = malloc(BATCH * sizeof(*w->buf[i]));
        if (w->buf[i] == NULL) {
            free_bufs(w);
            return NULL;
        }
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
        free_bufs(w);
        return NULL;
    }
    return w;
}

/* Engine thread: gives the batch being filled to the writer, and waits
 * until the next one is written, to fill it next. */
static void hand_over(struct sp_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->handed[w->fill] = true;
    pthread_cond_broadcast(&w->cv);
    w->fill = (w->fill + 1) % NBUF;
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
    for (int i = 0; i < NBUF; i++)
        while (w->handed[i])
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
    free_bufs(w);
}
