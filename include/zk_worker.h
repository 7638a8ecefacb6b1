/*
 * zk_worker.h - the ZooKeeper thread.  Once the broker listens, every
 * ZooKeeper call runs here, never on the event loop: work is submitted as a
 * job whose run() executes on this thread (it may block on ZooKeeper) and
 * whose done() is posted back to the event loop with loop_post().  Jobs run
 * one at a time in submission order, so code on this thread needs no locks
 * for state only it touches (controller.c's view of ZooKeeper).
 */
#ifndef SAMSA_ZK_WORKER_H
#define SAMSA_ZK_WORKER_H

#include <stdbool.h>

#include "loop.h"

typedef void (*zkw_fn)(void *ctx);

/* Main thread, before the loop runs. */
void zkw_start(loop_t *loop);
/* Any thread.  run(ctx) on the ZooKeeper thread, then done(ctx) (if not
 * NULL) on the event loop.  Returns -1, running nothing, once stopping. */
int zkw_submit(zkw_fn run, loop_fn done, void *ctx);
/* Main thread: runs every job already queued, then joins the thread;
 * zkw_free() after the session is closed. */
void zkw_stop(void);
void zkw_free(void);
/* True on the ZooKeeper thread (for assertions). */
bool zkw_on_thread(void);

#endif
