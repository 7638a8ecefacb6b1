/*
 * zk_session.c - owns the ZooKeeper handle: connecting (with Kafka's
 * chroot creation), waiting for the session, re-opening after expiry,
 * handing watch events to the session's owner, and pipelined batches of
 * asynchronous reads and multi-ops (many requests in flight, one wait).
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
    zk_event_fn on_event;
    void *ctx;
    pthread_mutex_t lock;       /* guards state (written by the ZK thread) */
    pthread_cond_t cond;
    int state;
};

/* ZooKeeper client's completion thread: record state, hand to the owner.
 * @locality the ZooKeeper client's completion thread
 * @locks zs->lock
 */
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
    if (!zs->on_event)
        return;
    zk_event_t ev = { .type = type, .state = state };
    snprintf(ev.path, sizeof(ev.path), "%s", path ? path : "");
    zs->on_event(zs->ctx, &ev);
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
    /* The C client otherwise resolves the connect string on every pass of
     * its I/O loop (a getaddrinfo per batch of replies); Java's client, like
     * this, resolves again only after a connection is lost. */
    if (zoo_set_servers_resolution_delay(zs->zh, -1) != ZOK)
        log_warn("zookeeper", "Cannot limit host name resolution for %s", zs->connect);
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
                      zk_event_fn on_event, void *ctx)
{
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    if (ensure_chroot(connect, session_timeout_ms, connect_timeout_ms) < 0)
        return NULL;
    zk_session_t *zs = xcalloc(1, sizeof(*zs));
    zs->connect = xstrdup(connect);
    zs->session_timeout_ms = session_timeout_ms;
    zs->connect_timeout_ms = connect_timeout_ms;
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

bool zk_is_expired(zk_session_t *zs)
{
    return !zs->zh || zoo_state(zs->zh) == ZOO_EXPIRED_SESSION_STATE;
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

/* ---- pipelined batches ---- */

/* A batch of asynchronous operations the calling thread waits for. */
typedef struct zk_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int pending;
    int wake_at;        /* the waiter sleeps until pending <= wake_at; -1 none */
} zk_wait_t;

typedef struct zk_read_op {
    zk_wait_t *w;
    zk_read_t *r;
} zk_read_op_t;

/* Most requests one batch keeps in flight at once. */
#define ZK_WINDOW 512

static void wait_init(zk_wait_t *w)
{
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->pending = 0;
    w->wake_at = -1;
}

static void wait_done_one(zk_wait_t *w)
{
    pthread_mutex_lock(&w->lock);
    w->pending--;
    /* One wake-up per refill of the window, not one per reply: with
     * 100,000 reads a wake-up each cost more than the reads. */
    if (w->pending <= w->wake_at)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Blocks until at most `level` operations are pending. */
static void wait_until(zk_wait_t *w, int level)
{
    pthread_mutex_lock(&w->lock);
    w->wake_at = level;
    while (w->pending > level)
        pthread_cond_wait(&w->cond, &w->lock);
    w->wake_at = -1;
    pthread_mutex_unlock(&w->lock);
}

/* Room in the window for one more operation, counted as pending. */
static void wait_add_one(zk_wait_t *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->pending >= ZK_WINDOW) {
        w->wake_at = ZK_WINDOW / 2;
        while (w->pending > ZK_WINDOW / 2)
            pthread_cond_wait(&w->cond, &w->lock);
        w->wake_at = -1;
    }
    w->pending++;
    pthread_mutex_unlock(&w->lock);
}

static void wait_destroy(zk_wait_t *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

/* ZooKeeper client's completion thread.
 * @locality the ZooKeeper client's completion thread
 * @locks the wait's lock
 */
static void read_completion(int rc, const char *value, int value_len, const struct Stat *stat,
                            const void *data)
{
    zk_read_op_t *op = (zk_read_op_t *)data;
    zk_read_t *r = op->r;
    r->rc = rc;
    if (rc == ZOK) {
        int n = value && value_len > 0 ? value_len : 0;
        r->data = malloc((size_t)n + 1);
        if (r->data) {
            if (n)
                memcpy(r->data, value, (size_t)n);
            r->data[n] = '\0';
        } else {
            r->rc = ZSYSTEMERROR;
        }
        if (stat)
            r->st = *stat;
    }
    wait_done_one(op->w);
}

/*
 * @locality the ZooKeeper thread
 * @locks the wait's lock
 */
void zk_get_many(zk_session_t *zs, zk_read_t *reads, int n, bool watch)
{
    zk_wait_t w;
    wait_init(&w);
    zk_read_op_t *ops = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*ops));
    for (int i = 0; i < n; i++) {
        reads[i].rc = ZSYSTEMERROR;
        reads[i].data = NULL;
        ops[i] = (zk_read_op_t){ &w, &reads[i] };
        wait_add_one(&w);
        int rc = zoo_aget(zs->zh, reads[i].path, watch, read_completion, &ops[i]);
        if (rc != ZOK) {
            reads[i].rc = rc;
            wait_done_one(&w);
        }
    }
    wait_until(&w, 0);
    wait_destroy(&w);
    free(ops);
}

void zk_reads_free(zk_read_t *reads, int n)
{
    for (int i = 0; i < n; i++) {
        free(reads[i].data);
        reads[i].data = NULL;
    }
}

typedef struct zk_multi_op {
    zk_wait_t *w;
    zk_multi_t *m;
} zk_multi_op_t;

/*
 * @locality the ZooKeeper client's completion thread
 * @locks the wait's lock
 */
static void multi_completion(int rc, const void *data)
{
    const zk_multi_op_t *op = data;
    op->m->rc = rc;
    wait_done_one(op->w);
}

/*
 * @locality the ZooKeeper thread
 * @locks the wait's lock
 */
void zk_multi_many(zk_session_t *zs, zk_multi_t *multis, int n)
{
    zk_wait_t w;
    wait_init(&w);
    zk_multi_op_t *ops = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*ops));
    for (int i = 0; i < n; i++) {
        ops[i] = (zk_multi_op_t){ &w, &multis[i] };
        multis[i].rc = ZSYSTEMERROR;
        wait_add_one(&w);
        int rc = zoo_amulti(zs->zh, multis[i].n_ops, multis[i].ops, multis[i].results,
                            multi_completion, &ops[i]);
        if (rc != ZOK) {
            multis[i].rc = rc;
            wait_done_one(&w);
        }
    }
    wait_until(&w, 0);
    wait_destroy(&w);
    free(ops);
}
