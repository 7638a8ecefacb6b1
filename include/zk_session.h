/*
 * zk_session.h - the broker's ZooKeeper session (multi-threaded C client).
 * Once the broker listens, every call is made from the ZooKeeper thread
 * (zk_worker.h); before that the main thread connects.  The watcher
 * callback runs on the client's own completion thread.
 */
#ifndef SAMSA_ZK_SESSION_H
#define SAMSA_ZK_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>


typedef struct zk_session zk_session_t;

/* A watch event (type, state and path copied from the client). */
typedef struct zk_event {
    int type;                   /* ZOO_*_EVENT */
    int state;                  /* ZOO_*_STATE */
    char path[1024];
} zk_event_t;

/* Called on the ZooKeeper client's completion thread: copy and hand on. */
typedef void (*zk_event_fn)(void *ctx, const zk_event_t *ev);

/* Connects (creating the chroot first if it is missing) and waits up to
 * connect_timeout_ms.  NULL with a log line on failure. */
zk_session_t *zk_open(const char *connect, int session_timeout_ms, int connect_timeout_ms,
                      zk_event_fn on_event, void *ctx);
/* Replaces an expired session with a new one; 0 or -1. */
int zk_reopen(zk_session_t *zs);
void zk_close(zk_session_t *zs);
zhandle_t *zk_handle(zk_session_t *zs);
int64_t zk_session_id(zk_session_t *zs);
/* True once the server has expired this session (a new one is needed). */
bool zk_is_expired(zk_session_t *zs);

/* Synchronous helpers (ZooKeeper thread, or main thread before listening). */
int zk_create_persistent_path(zk_session_t *zs, const char *path);
/* Reads a znode as a NUL-terminated string (caller frees); NULL if absent
 * or on error (*rc gets the ZooKeeper code). */
char *zk_get_string(zk_session_t *zs, const char *path, bool watch, struct Stat *st, int *rc);
/* Children of a node; caller calls deallocate_String_vector. */
int zk_children(zk_session_t *zs, const char *path, bool watch, struct String_vector *out);
int zk_exists_watch(zk_session_t *zs, const char *path, struct Stat *st);
int zk_delete_recursive(zk_session_t *zs, const char *path);

/* Pipelined reads: every path requested at once (a window of them in
 * flight), one wait for all.  Each result's data is NUL-terminated and
 * freed with zk_reads_free(). */
typedef struct zk_read {
    const char *path;
    int rc;                     /* ZOK, ZNONODE, ... */
    char *data;
    struct Stat st;
} zk_read_t;
void zk_get_many(zk_session_t *zs, zk_read_t *reads, int n, bool watch);
void zk_reads_free(zk_read_t *reads, int n);

/* Pipelined multi-ops (a create alone is a multi of one). */
typedef struct zk_multi {
    zoo_op_t *ops;
    zoo_op_result_t *results;
    int n_ops;
    int rc;
} zk_multi_t;
void zk_multi_many(zk_session_t *zs, zk_multi_t *multis, int n);

#endif
