/*
 * zk_worker.c - owns the ZooKeeper thread and its job queue (lock:
 * zkw.lock guards the queue and the stopping flag; everything a job touches
 * belongs to the job or to this thread).
 */
#include <pthread.h>
#include <stdlib.h>

#include "logging.h"
#include "util.h"
#include "zk_worker.h"

typedef struct zk_job {
    zkw_fn run;
    loop_fn done;
    void *ctx;
    struct zk_job *next;
} zk_job_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    zk_job_t *head, *tail;
    bool stopping;
    bool started;
    pthread_t thread;
    loop_t *loop;
} zkw = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static _Thread_local bool on_zk_thread;

bool zkw_on_thread(void)
{
    return on_zk_thread;
}

/* ZooKeeper thread: runs jobs until stopped and the queue is empty. */
static void *zkw_main(void *arg)
{
    (void)arg;
    on_zk_thread = true;
    for (;;) {
        pthread_mutex_lock(&zkw.lock);
        while (!zkw.head && !zkw.stopping)
            pthread_cond_wait(&zkw.cond, &zkw.lock);
        zk_job_t *job = zkw.head;
        if (job) {
            zkw.head = job->next;
            if (!zkw.head)
                zkw.tail = NULL;
        }
        pthread_mutex_unlock(&zkw.lock);
        if (!job)
            break;
        job->run(job->ctx);
        if (job->done)
            loop_post(zkw.loop, job->done, job->ctx);
        free(job);
    }
    return NULL;
}

void zkw_start(loop_t *loop)
{
    zkw.loop = loop;
    zkw.stopping = false;
    if (pthread_create(&zkw.thread, NULL, zkw_main, NULL) != 0)
        die("cannot start the ZooKeeper thread");
    zkw.started = true;
}

int zkw_submit(zkw_fn run, loop_fn done, void *ctx)
{
    zk_job_t *job = xmalloc(sizeof(*job));
    *job = (zk_job_t){ run, done, ctx, NULL };
    pthread_mutex_lock(&zkw.lock);
    if (zkw.stopping || !zkw.started) {
        pthread_mutex_unlock(&zkw.lock);
        free(job);
        return -1;
    }
    if (zkw.tail)
        zkw.tail->next = job;
    else
        zkw.head = job;
    zkw.tail = job;
    pthread_cond_signal(&zkw.cond);
    pthread_mutex_unlock(&zkw.lock);
    return 0;
}

void zkw_stop(void)
{
    if (!zkw.started)
        return;
    pthread_mutex_lock(&zkw.lock);
    zkw.stopping = true;
    pthread_cond_signal(&zkw.cond);
    pthread_mutex_unlock(&zkw.lock);
    pthread_join(zkw.thread, NULL);
    zkw.started = false;
}
