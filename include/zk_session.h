/*
 * zk_session.h - the broker's ZooKeeper session (multi-threaded C client).
 * All calls are made from the event-loop thread; the client's watcher runs
 * on its completion thread and only forwards events with loop_post().
 */
#ifndef SAMSA_ZK_SESSION_H
#define SAMSA_ZK_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

#include "loop.h"

typedef struct zk_session zk_session_t;

/* A watch event as delivered on the event-loop thread. */
typedef struct zk_event {
    int type;                   /* ZOO_*_EVENT */
    int state;                  /* ZOO_*_STATE */
    char path[1024];
} zk_event_t;

typedef void (*zk_event_fn)(void *ctx, const zk_event_t *ev);

/* Connects (creating the chroot first if it is missing) and waits up to
 * connect_timeout_ms.  NULL with a log line on failure. */
zk_session_t *zk_open(const char *connect, int session_timeout_ms, int connect_timeout_ms,
                      loop_t *loop, zk_event_fn on_event, void *ctx);
/* Replaces an expired session with a new one; 0 or -1. */
int zk_reopen(zk_session_t *zs);
void zk_close(zk_session_t *zs);
zhandle_t *zk_handle(zk_session_t *zs);
int64_t zk_session_id(zk_session_t *zs);

/* Synchronous helpers (event-loop thread). */
int zk_create_persistent_path(zk_session_t *zs, const char *path);
/* Reads a znode as a NUL-terminated string (caller frees); NULL if absent
 * or on error (*rc gets the ZooKeeper code). */
char *zk_get_string(zk_session_t *zs, const char *path, bool watch, struct Stat *st, int *rc);
/* Children of a node; caller calls deallocate_String_vector. */
int zk_children(zk_session_t *zs, const char *path, bool watch, struct String_vector *out);
int zk_exists_watch(zk_session_t *zs, const char *path, struct Stat *st);
int zk_delete_recursive(zk_session_t *zs, const char *path);

#endif
