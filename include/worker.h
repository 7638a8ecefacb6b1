/*
 * worker.h - a thread that runs jobs for the event loop, one at a time in
 * submission order: run(ctx) on the worker thread, then done(ctx) (if not
 * NULL) on the event loop through loop_post().  The ZooKeeper thread
 * (zk_worker.h) and the disk thread (bio.h) are workers.
 */
#ifndef SAMSA_WORKER_H
#define SAMSA_WORKER_H

#include <stdbool.h>

#include "loop.h"

typedef struct worker worker_t;
typedef void (*worker_fn)(void *ctx);

/* Main thread.  name appears in the thread's name (top -H, gdb). */
worker_t *worker_start(const char *name, loop_t *loop);
/* Any thread.  Returns -1, running nothing, once the worker is stopping. */
int worker_submit(worker_t *w, worker_fn run, loop_fn done, void *ctx);
/* Main thread: runs every job already queued and joins the thread;
 * submissions fail from then on.  worker_free() once nothing can submit. */
void worker_stop(worker_t *w);
void worker_free(worker_t *w);
/* True on w's thread. */
bool worker_on_thread(const worker_t *w);
/* Jobs queued or running (for tests and shutdown logs). */
int worker_backlog(worker_t *w);

#endif
