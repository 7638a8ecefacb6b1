/*
 * zk_worker.c - owns the ZooKeeper thread: a worker (worker.h) that the
 * ZooKeeper session's users submit to.  The worker pointer is written by
 * the main thread before and after the loop runs; submit() is safe from
 * any thread until zkw_free(), which runs after the session is closed (the
 * ZooKeeper client's completion thread submits watch syncs until then and
 * is refused once zkw_stop() has run).
 */
#include <stddef.h>

#include "worker.h"
#include "zk_worker.h"

static worker_t *zk_thread;

void zkw_start(loop_t *loop)
{
    zk_thread = worker_start("samsa-zk", loop);
}

int zkw_submit(zkw_fn run, loop_fn done, void *ctx)
{
    return worker_submit(zk_thread, run, done, ctx);
}

void zkw_stop(void)
{
    worker_stop(zk_thread);
}

void zkw_free(void)
{
    worker_free(zk_thread);
    zk_thread = NULL;
}

bool zkw_on_thread(void)
{
    return worker_on_thread(zk_thread);
}
