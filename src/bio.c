/*
 * bio.c - owns the disk thread (see bio.h) and the jobs it runs.  Before
 * the thread starts (start-up recovery) and after it stops (shutdown), the
 * same work is done inline on the calling thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "logging.h"
#include "util.h"
#include "worker.h"

static worker_t *disk_thread;

void bio_start(loop_t *loop)
{
    disk_thread = worker_start("samsa-disk", loop);
}

void bio_stop(void)
{
    worker_stop(disk_thread);
    worker_free(disk_thread);
    disk_thread = NULL;
}

int bio_running(void)
{
    return disk_thread != NULL;
}

int bio_backlog(void)
{
    return disk_thread ? worker_backlog(disk_thread) : 0;
}

/* Runs a job on the disk thread, or inline when there is none.
 * @locality the event-loop thread
 * @locks none (the worker's queue lock is taken inside)
 */
void bio_submit(void (*run)(void *ctx), void (*done)(void *ctx), void *ctx)
{
    if (worker_submit(disk_thread, run, done, ctx) == 0)
        return;
    run(ctx);
    if (done)
        done(ctx);
}

typedef struct fsync_job {
    int fd;
    char *what;
    int ok;
    void (*done)(void *arg, int ok);
    void *arg;
} fsync_job_t;

/*
 * @locality the disk thread
 * @locks none (the job owns its dup()ed descriptor)
 */
static void fsync_run(void *ctx)
{
    fsync_job_t *j = ctx;
    j->ok = fdatasync(j->fd) == 0;
    if (!j->ok)
        log_error("log", "fsync of %s failed: %s", j->what, strerror(errno));
    close(j->fd);
}

/*
 * @locality the event-loop thread
 * @locks none
 */
static void fsync_done(void *ctx)
{
    fsync_job_t *j = ctx;
    if (j->done)
        j->done(j->arg, j->ok);
    free(j->what);
    free(j);
}

void bio_fsync(int fd, const char *what, void (*done)(void *arg, int ok), void *arg)
{
    fsync_job_t *j = xcalloc(1, sizeof(*j));
    j->fd = fd;
    j->what = xstrdup(what);
    j->done = done;
    j->arg = arg;
    bio_submit(fsync_run, fsync_done, j);
}

typedef struct ckpt_job {
    char *path;
    checkpoint_entry_t *entries;
    int n;
} ckpt_job_t;

/*
 * @locality the disk thread
 * @locks none (the job owns its entries)
 */
static void ckpt_run(void *ctx)
{
    ckpt_job_t *j = ctx;
    if (checkpoint_write(j->path, j->entries, j->n) < 0)
        log_error("log", "Cannot write checkpoint %s: %s", j->path, strerror(errno));
    free(j->path);
    free(j->entries);
    free(j);
}

void bio_write_checkpoint(const char *path, checkpoint_entry_t *entries, int n)
{
    ckpt_job_t *j = xcalloc(1, sizeof(*j));
    j->path = xstrdup(path);
    j->entries = entries;
    j->n = n;
    bio_submit(ckpt_run, NULL, j);
}

/*
 * @locality the disk thread
 * @locks none
 */
static void remove_run(void *ctx)
{
    char *path = ctx;
    if (rm_rf(path) < 0)
        log_warn("log", "Failed to remove %s: %s", path, strerror(errno));
    free(path);
}

void bio_remove_dir(const char *path)
{
    bio_submit(remove_run, NULL, xstrdup(path));
}
