/*
 * tool_zk.c - opens the tools' ZooKeeper sessions (tool_zk.h).
 */
#include <stdio.h>

#include "logging.h"
#include "tool_zk.h"

#define ZK_TIMEOUT_MS 30000

static void ignore_event(void *ctx, const zk_event_t *ev)
{
    (void)ctx;
    (void)ev;
}

zk_session_t *tool_zk_open(const char *connect)
{
    log_set_level(LOG_WARN);    /* the session's own INFO lines are not the tool's output */
    zk_session_t *zs = zk_open(connect, ZK_TIMEOUT_MS, ZK_TIMEOUT_MS, ignore_event, NULL);
    if (!zs)
        fprintf(stderr, "Cannot connect to ZooKeeper at %s\n", connect);
    return zs;
}
