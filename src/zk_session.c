/*
 * zk_session.c - owns the ZooKeeper handle: connecting (with Kafka's
 * chroot creation), waiting for the session, re-opening after expiry, and
 * forwarding watch events into the event loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logging.h"
#include "util.h"
#include "zk_session.h"

struct zk_session {
    zhandle_t *zh;
    char *connect;
    int session_timeout_ms;
    int connect_timeout_ms;
    loop_t *loop;
    zk_event_fn on_event;
    void *ctx;
    pthread_mutex_t lock;       /* guards state (written by the ZK thread) */
    pthread_cond_t cond;
    int state;
};

/* A watch event on its way to the loop; it does not point at the session,
 * which may be closed before the loop runs it. */
typedef struct posted_event {
    zk_event_fn on_event;
    void *ctx;
    zk_event_t ev;
} posted_event_t;

/* Event-loop thread. */
static void deliver_event(void *arg)
{
    posted_event_t *pe = arg;
    pe->on_event(pe->ctx, &pe->ev);
    free(pe);
}

/* ZooKeeper completion thread: record state, forward to the loop. */
static void zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    zk_session_t *zs = ctx;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&zs->lock);
        zs->state = state;
        pthread_cond_broadcast(&zs->cond);
        pthread_mutex_unlock(&zs->lock);
    }
    if (!zs->loop)
        return;
    posted_event_t *pe = xcalloc(1, sizeof(*pe));
    pe->on_event = zs->on_event;
    pe->ctx = zs->ctx;
    pe->ev.type = type;
    pe->ev.state = state;
    snprintf(pe->ev.path, sizeof(pe->ev.path), "%s", path ? path : "");
    loop_post(zs->loop, deliver_event, pe);
}

static int wait_connected(zk_session_t *zs)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += zs->connect_timeout_ms / 1000;
    deadline.tv_nsec += (long)(zs->connect_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&zs->lock);
    while (zs->state != ZOO_CONNECTED_STATE && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&zs->cond, &zs->lock, &deadline);
    int ok = zs->state == ZOO_CONNECTED_STATE;
    pthread_mutex_unlock(&zs->lock);
    return ok ? 0 : -1;
}

static int zk_connect(zk_session_t *zs)
{
    zs->state = 0;
    zs->zh = zookeeper_init(zs->connect, zk_watcher, zs->session_timeout_ms, NULL, zs, 0);
    if (!zs->zh) {
        log_error("zookeeper", "Cannot create ZooKeeper client for %s: %s", zs->connect,
                  strerror(errno));
        return -1;
    }
    if (wait_connected(zs) < 0) {
        log_error("zookeeper", "Timed out waiting for connection to ZooKeeper at %s after %d ms",
                  zs->connect, zs->connect_timeout_ms);
        zookeeper_close(zs->zh);
        zs->zh = NULL;
        return -1;
    }
    log_info("zookeeper", "Connected to ZooKeeper at %s (session 0x%llx)", zs->connect,
             (unsigned long long)zoo_client_id(zs->zh)->client_id);
    return 0;
}

/* Kafka creates a missing chroot with a short-lived chroot-less client. */
static int ensure_chroot(const char *connect, int session_ms, int connect_ms)
{
    const char *slash = strchr(connect, '/');
    if (!slash || !slash[1])
        return 0;
    zk_session_t tmp = { 0 };
    tmp.connect = strndup(connect, (size_t)(slash - connect));
    tmp.session_timeout_ms = session_ms;
    tmp.connect_timeout_ms = connect_ms;
    pthread_mutex_init(&tmp.lock, NULL);
    pthread_cond_init(&tmp.cond, NULL);
    int rc = zk_connect(&tmp);
    if (rc == 0) {
        rc = zk_create_persistent_path(&tmp, slash);
        zookeeper_close(tmp.zh);
    }
    free(tmp.connect);
    pthread_mutex_destroy(&tmp.lock);
    pthread_cond_destroy(&tmp.cond);
    return rc;
}

zk_session_t *zk_open(const char *connect, int session_timeout_ms, int connect_timeout_ms,
                      loop_t *loop, zk_event_fn on_event, void *ctx)
{
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    if (ensure_chroot(connect, session_timeout_ms, connect_timeout_ms) < 0)
        return NULL;
    zk_session_t *zs = xcalloc(1, sizeof(*zs));
    zs->connect = xstrdup(connect);
    zs->session_timeout_ms = session_timeout_ms;
    zs->connect_timeout_ms = connect_timeout_ms;
    zs->loop = loop;
    zs->on_event = on_event;
    zs->ctx = ctx;
    pthread_mutex_init(&zs->lock, NULL);
    pthread_cond_init(&zs->cond, NULL);
    if (zk_connect(zs) < 0) {
        zk_close(zs);
        return NULL;
    }
    return zs;
}

int zk_reopen(zk_session_t *zs)
{
    if (zs->zh)
        zookeeper_close(zs->zh);
    zs->zh = NULL;
    return zk_connect(zs);
}

void zk_close(zk_session_t *zs)
{
    if (!zs)
        return;
    if (zs->zh)
        zookeeper_close(zs->zh);
    free(zs->connect);
    pthread_mutex_destroy(&zs->lock);
    pthread_cond_destroy(&zs->cond);
    free(zs);
}

zhandle_t *zk_handle(zk_session_t *zs)
{
    return zs->zh;
}

int64_t zk_session_id(zk_session_t *zs)
{
    return zoo_client_id(zs->zh)->client_id;
}

int zk_create_persistent_path(zk_session_t *zs, const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        int rc = zoo_create(zs->zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            log_error("zookeeper", "Cannot create %s: %s", buf, zerror(rc));
            return -1;
        }
        *p = saved;
        if (!saved)
            break;
    }
    return 0;
}

char *zk_get_string(zk_session_t *zs, const char *path, bool watch, struct Stat *st, int *rc)
{
    int cap = 4096;
    for (;;) {
        char *buf = xmalloc((size_t)cap + 1);
        int len = cap;
        struct Stat s;
        int r = zoo_get(zs->zh, path, watch, buf, &len, &s);
        if (rc)
            *rc = r;
        if (r != ZOK) {
            free(buf);
            return NULL;
        }
        if (s.dataLength > cap) {
            cap = s.dataLength;
            free(buf);
            continue;
        }
        buf[len < 0 ? 0 : len] = '\0';
        if (st)
            *st = s;
        return buf;
    }
}

int zk_children(zk_session_t *zs, const char *path, bool watch, struct String_vector *out)
{
    memset(out, 0, sizeof(*out));
    return zoo_get_children(zs->zh, path, watch, out);
}

int zk_exists_watch(zk_session_t *zs, const char *path, struct Stat *st)
{
    return zoo_exists(zs->zh, path, 1, st);
}

int zk_delete_recursive(zk_session_t *zs, const char *path)
{
    struct String_vector kids;
    int rc = zk_children(zs, path, false, &kids);
    if (rc == ZNONODE)
        return ZOK;
    if (rc != ZOK)
        return rc;
    for (int i = 0; i < kids.count; i++) {
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", path, kids.data[i]);
        rc = zk_delete_recursive(zs, sub);
        if (rc != ZOK)
            break;
    }
    deallocate_String_vector(&kids);
    if (rc != ZOK)
        return rc;
    rc = zoo_delete(zs->zh, path, -1);
    return rc == ZNONODE ? ZOK : rc;
}
