/*
 * worker.c - owns worker threads and their job queues (lock: worker.lock
 * guards the queue, the backlog count and the stopping flag; a job's ctx
 * belongs to the job).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"
#include "worker.h"

typedef struct job {
    worker_fn run;
    loop_fn done;
    void *ctx;
    struct job *next;
} job_t;

struct worker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job_t *head, *tail;
    int backlog;
    bool stopping;
    pthread_t thread;
    loop_t *loop;
    char name[16];
};

/*
 * @locality the worker's own thread
 * @locks w->lock
 */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->lock);
        job_t *job = w->head;
        if (job) {
            w->head = job->next;
            if (!w->head)
                w->tail = NULL;
        }
        pthread_mutex_unlock(&w->lock);
        if (!job)
            break;
        job->run(job->ctx);
        if (job->done)
            loop_post(w->loop, job->done, job->ctx);
        free(job);
        pthread_mutex_lock(&w->lock);
        w->backlog--;
        pthread_mutex_unlock(&w->lock);
    }
    return NULL;
}

worker_t *worker_start(const char *name, loop_t *loop)
{
    worker_t *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->loop = loop;
    snprintf(w->name, sizeof(w->name), "%s", name);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        die("cannot start the %s thread", name);
    pthread_setname_np(w->thread, w->name);
    return w;
}

/*
 * @locality any thread
 * @locks w->lock
 */
int worker_submit(worker_t *w, worker_fn run, loop_fn done, void *ctx)
{
    if (!w)
        return -1;
    job_t *job = xmalloc(sizeof(*job));
    *job = (job_t){ run, done, ctx, NULL };
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        free(job);
        return -1;
    }
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    w->backlog++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/*
 * @locality the main thread
 * @locks w->lock
 */
void worker_stop(worker_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
}

void worker_free(worker_t *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

bool worker_on_thread(const worker_t *w)
{
    return w && pthread_equal(pthread_self(), w->thread);
}

/*
 * @locality any thread
 * @locks w->lock
 */
int worker_backlog(worker_t *w)
{
    pthread_mutex_lock(&w->lock);
    int n = w->backlog;
    pthread_mutex_unlock(&w->lock);
    return n;
}
