/*
 * replica_fetcher.c - owns the follower fetcher threads (see
 * replica_fetcher.h): which partitions each follows, the Fetch and
 * ListOffsets requests to the leader, and the hand-off of every response
 * to the event loop.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <uthash.h>

#include "fetch_session_client.h"
#include "inter_broker_auth.h"
#include "kafka_errors.h"
#include "kclient.h"
#include "leader_epoch.h"
#include "logging.h"
#include "loop.h"
#include "offsets_topic.h"
#include "proto_messages.h"
#include "replica_fetcher.h"
#include "replica_manager.h"
#include "replication_quota.h"
#include "util.h"

#define FETCH_VERSION 12            /* topic names, last fetched epoch (Kafka 2.7+) */
#define LIST_OFFSETS_VERSION 4

/* A followed partition (fetcher thread's copy, or an inbox entry). */
typedef struct fpart {
    char key[300];
    char topic[256];
    int32_t partition;
    int32_t leader_epoch;
    int64_t fetch_offset;
    int32_t last_epoch;
    int64_t log_start_offset;       /* this replica's, for the leader (-1: not known yet) */
    int64_t retry_at_ms;            /* monotonic; 0 = now */
    bool throttled;                 /* as the loop last said (fetched_t) */
    bool in_sync;
    bool remove;                    /* inbox: stop following */
    struct fpart *next;             /* inbox list */
    UT_hash_handle hh;
} fpart_t;

typedef struct fetcher {
    char key[32];                   /* "<leader>/<index>" */
    int32_t leader_id;
    int index;
    pthread_t thread;
    /* Under fs.lock: */
    fpart_t *inbox;
    char host[256];
    int32_t port;
    bool stop;
    int live_fd;
    int n_parts;                    /* followed partitions, as the loop sees them */
    /* Fetcher thread only: */
    fpart_t *parts;
    kclient_t conn;
    char conn_host[256];
    int32_t conn_port;
    fetch_session_client_t session;  /* KIP-227, with this fetcher's leader */
    struct fetcher *retired_next;   /* loop thread: stopped, not joined yet */
    UT_hash_handle hh;
} fetcher_t;

/* A response being applied on the loop. */
typedef struct apply_job {
    broker_t *b;
    fetched_t *items;
    int n;
    bool done;
    bool abandoned;
    arena_t arena;                  /* the response's memory */
} apply_job_t;

static struct {
    pthread_mutex_t lock;           /* inboxes, stop flags, apply hand-offs */
    pthread_cond_t cond;
    broker_t *b;
    fetcher_t *fetchers;            /* loop thread (hash); members under lock */
    fetcher_t *retired;             /* loop thread: idle fetchers told to stop */
    struct owner {
        char key[300];
        char topic[256];
        int32_t partition;
        fetcher_t *f;
        UT_hash_handle hh;
    } *owners;                      /* loop thread: partition -> its fetcher */
    bool stopped;                   /* loop thread */
    int n_fetchers;                 /* loop thread: per leader; 0 until set */
} fs = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int64_t mono_now(void)
{
    return mono_ms();
}

/* ---- the hand-off to the loop ---- */

/*
 * @locality the event-loop thread
 * @locks fs.lock (the job's flags)
 */
static void apply_on_loop(void *arg)
{
    apply_job_t *j = arg;
    pthread_mutex_lock(&fs.lock);
    bool abandoned = j->abandoned;
    pthread_mutex_unlock(&fs.lock);
    if (!abandoned && !fs.stopped)
        rf_apply(j->b, j->items, j->n);
    pthread_mutex_lock(&fs.lock);
    j->done = true;
    abandoned = j->abandoned;
    pthread_cond_broadcast(&fs.cond);
    pthread_mutex_unlock(&fs.lock);
    if (abandoned) {
        arena_free(&j->arena);
        free(j->items);
        free(j);
    }
}

/* Posts the job and waits until it is applied; false if the fetcher is
 * stopping (the job is then the loop's to free).
 * @locality a fetcher thread
 * @locks fs.lock */
static bool apply_and_wait(fetcher_t *f, apply_job_t *j)
{
    loop_post(j->b->loop, apply_on_loop, j);
    pthread_mutex_lock(&fs.lock);
    while (!j->done && !f->stop)
        pthread_cond_wait(&fs.cond, &fs.lock);
    bool done = j->done;
    if (!done)
        j->abandoned = true;
    pthread_mutex_unlock(&fs.lock);
    return done;
}

/* ---- fetcher thread ---- */

static void disconnect(fetcher_t *f);

/* Takes the inbox into the thread's partitions.
 * @locality a fetcher thread
 * @locks fs.lock */
static void drain_inbox(fetcher_t *f)
{
    pthread_mutex_lock(&fs.lock);
    fpart_t *in = f->inbox;
    f->inbox = NULL;
    bool moved = strcmp(f->conn_host, f->host) != 0 || f->conn_port != f->port;
    snprintf(f->conn_host, sizeof(f->conn_host), "%s", f->host);
    f->conn_port = f->port;
    pthread_mutex_unlock(&fs.lock);
    if (moved) {
        /* The leader moved to another address: a new connection and a
         * new session there. */
        if (f->conn.fd >= 0)
            disconnect(f);
        fsc_reset(&f->session);
    }
    /* The inbox is newest first: apply oldest first. */
    fpart_t *rev = NULL;
    while (in) {
        fpart_t *n = in->next;
        in->next = rev;
        rev = in;
        in = n;
    }
    while (rev) {
        fpart_t *e = rev;
        rev = rev->next;
        fpart_t *cur;
        HASH_FIND_STR(f->parts, e->key, cur);
        if (cur) {
            HASH_DEL(f->parts, cur);
            free(cur);
        }
        if (e->remove)
            free(e);
        else
            HASH_ADD_STR(f->parts, key, e);
    }
}

static void sleep_or_stop(fetcher_t *f, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&fs.lock);
    if (!f->stop && !f->inbox)
        pthread_cond_timedwait(&fs.cond, &fs.lock, &ts);
    pthread_mutex_unlock(&fs.lock);
}

static bool stopping(fetcher_t *f)
{
    pthread_mutex_lock(&fs.lock);
    bool s = f->stop;
    pthread_mutex_unlock(&fs.lock);
    return s;
}

/* @locality a fetcher thread
 * @locks fs.lock (live_fd) */
static void disconnect(fetcher_t *f)
{
    pthread_mutex_lock(&fs.lock);
    f->live_fd = -1;
    kclient_close(&f->conn);
    pthread_mutex_unlock(&fs.lock);
}

static int connect_leader(fetcher_t *f)
{
    if (f->conn.fd >= 0)
        return 0;
    char cid[32];
    snprintf(cid, sizeof(cid), "broker-%d-fetcher-%d", fs.b->cfg->broker_id, f->index);
    if (ib_connect(&f->conn, cid, f->conn_host, f->conn_port,
                   fs.b->cfg->replica_socket_timeout_ms) < 0)
        return -1;
    pthread_mutex_lock(&fs.lock);
    f->live_fd = f->conn.fd;
    pthread_mutex_unlock(&fs.lock);
    return 0;
}

/* The leader's earliest (-2) or latest (-1) offset of a partition, or -1. */
static int64_t leader_offset(fetcher_t *f, const fpart_t *fp, int64_t which)
{
    arena_t a;
    arena_init(&a);
    struct list_offsets_request rq;
    list_offsets_request_defaults(&rq);
    rq.replica_id = fs.b->cfg->broker_id;
    rq.topics = list_offsets_request_list_offsets_topic_array(&a, 1);
    rq.topics_count = 1;
    rq.topics[0].name = kstr_from_cstr(fp->topic);
    rq.topics[0].partitions = list_offsets_request_list_offsets_partition_array(&a, 1);
    rq.topics[0].partitions_count = 1;
    rq.topics[0].partitions[0].partition_index = fp->partition;
    rq.topics[0].partitions[0].current_leader_epoch = fp->leader_epoch;
    rq.topics[0].partitions[0].timestamp = which;
    struct list_offsets_response resp;
    int64_t off = -1;
    if (kclient_rpc(&f->conn, &a, "ListOffsets", LIST_OFFSETS_VERSION, &rq, &resp) >= 0 &&
        resp.topics_count == 1 && resp.topics[0].partitions_count == 1 &&
        resp.topics[0].partitions[0].error_code == 0)
        off = resp.topics[0].partitions[0].offset;
    arena_free(&a);
    return off;
}

/* Builds this round's Fetch over the partitions ready to fetch: all of
 * them for a full fetch, only those the session does not have at their
 * current position for an incremental one (Kafka's
 * FetchSessionHandler.Builder); partitions backing off leave the
 * session meanwhile.  Returns how many partitions are fetched this round
 * (named in the request or not). */
static int build_fetch(fetcher_t *f, arena_t *a, struct fetch_request *rq)
{
    const broker_config_t *cfg = fs.b->cfg;
    fetch_request_defaults(rq);
    rq->replica_id = cfg->broker_id;
    rq->max_wait_ms = cfg->replica_fetch_wait_max_ms;
    rq->min_bytes = cfg->replica_fetch_min_bytes;
    rq->max_bytes = cfg->replica_fetch_response_max_bytes;
    int n = (int)HASH_COUNT(f->parts);
    fpart_t **v = arena_array(a, (size_t)n + 1, sizeof(*v));
    int ready = 0, k = 0;
    int64_t now = mono_now();
    /* Kafka's shouldFollowerThrottle, asked once per round. */
    bool over_quota = rq_exceeded(RQ_FOLLOWER);
    fpart_t *fp, *tmp;
    HASH_ITER(hh, f->parts, fp, tmp)
        if (fp->retry_at_ms <= now && !(over_quota && fp->throttled && !fp->in_sync))
            v[ready++] = fp;
    if (ready == 0)
        return 0;                   /* nothing sent: the session stays as it is */
    fsc_begin(&f->session);
    for (int i = 0; i < ready; i++) {
        fsc_position_t pos = {
            .current_leader_epoch = v[i]->leader_epoch,
            .fetch_offset = v[i]->fetch_offset,
            .last_fetched_epoch = v[i]->last_epoch,
            .log_start_offset = v[i]->log_start_offset,
            .max_bytes = cfg->replica_fetch_max_bytes,
        };
        if (fsc_want(&f->session, v[i]->topic, v[i]->partition, &pos))
            v[k++] = v[i];
    }
    fsc_finish_request(&f->session, a, rq);
    /* One topic entry per partition keeps the code simple; Kafka's
     * brokers accept a topic named more than once. */
    rq->topics = fetch_request_fetch_topic_array(a, k);
    rq->topics_count = k;
    for (int i = 0; i < k; i++) {
        struct fetch_request_fetch_topic *ft = &rq->topics[i];
        ft->topic = kstr_from_cstr(v[i]->topic);
        ft->partitions = fetch_request_fetch_partition_array(a, 1);
        ft->partitions_count = 1;
        struct fetch_request_fetch_partition *pp = &ft->partitions[0];
        pp->partition = v[i]->partition;
        pp->current_leader_epoch = v[i]->leader_epoch;
        pp->fetch_offset = v[i]->fetch_offset;
        pp->last_fetched_epoch = v[i]->last_epoch;
        pp->log_start_offset = v[i]->log_start_offset;
        pp->partition_max_bytes = cfg->replica_fetch_max_bytes;
    }
    return ready;
}

/* Turns the response into hand-off items (records stay in the arena). */
static int collect(fetcher_t *f, apply_job_t *j, int n, const struct fetch_response *resp)
{
    j->items = xcalloc((size_t)n + 1, sizeof(fetched_t));
    int k = 0;
    for (int t = 0; t < resp->responses_count; t++) {
        const struct fetch_response_fetchable_topic_response *tr = &resp->responses[t];
        for (int p = 0; p < tr->partitions_count && k < n; p++) {
            const struct fetch_response_partition_data *pd = &tr->partitions[p];
            /* The fetcher's own table, not a scan of the request (a
             * response can name thousands of partitions). */
            char key[300];
            snprintf(key, sizeof(key), "%.*s-%d", MAX(tr->topic.len, 0),
                     tr->topic.ptr ? tr->topic.ptr : "", pd->partition_index);
            fpart_t *fp;
            HASH_FIND_STR(f->parts, key, fp);
            if (!fp)
                continue;
            fetched_t *it = &j->items[k++];
            snprintf(it->topic, sizeof(it->topic), "%s", fp->topic);
            it->partition = fp->partition;
            it->leader_id = f->leader_id;
            it->leader_epoch = fp->leader_epoch;
            it->error = pd->error_code;
            it->high_watermark = pd->high_watermark;
            it->log_start_offset = pd->log_start_offset;
            it->truncate_to = -1;
            if (pd->records.len > 0 && pd->records.ptr) {
                it->records = pd->records.ptr;
                it->len = pd->records.len;
            }
            if (pd->has_diverging_epoch &&
                (pd->diverging_epoch.epoch >= 0 || pd->diverging_epoch.end_offset >= 0)) {
                it->diverging = true;
                it->diverging_epoch = pd->diverging_epoch.epoch;
                it->diverging_end_offset = pd->diverging_epoch.end_offset;
            }
            if (it->error == KERR_OFFSET_OUT_OF_RANGE) {
                /* Kafka's handleOutOfRangeError: past the leader's end,
                 * truncate to it; below its start, start over there. */
                int64_t end = leader_offset(f, fp, -1);
                int64_t start = leader_offset(f, fp, -2);
                if (end >= 0 && fp->fetch_offset > end)
                    it->truncate_to = end;
                else if (start >= 0 && fp->fetch_offset < start)
                    it->truncate_to = start;
            }
        }
    }
    j->n = k;
    return k;
}

/* After the loop applied a round: new positions, and back-off for errors. */
static void update_positions(fetcher_t *f, const apply_job_t *j)
{
    int64_t now = mono_now();
    for (int i = 0; i < j->n; i++) {
        const fetched_t *it = &j->items[i];
        char key[300];
        snprintf(key, sizeof(key), "%s-%d", it->topic, it->partition);
        fpart_t *fp;
        HASH_FIND_STR(f->parts, key, fp);
        if (!fp)
            continue;
        if (it->applied) {
            fp->fetch_offset = it->next_offset;
            fp->last_epoch = it->last_epoch;
            fp->log_start_offset = it->own_log_start;
            fp->throttled = it->throttled;
            fp->in_sync = it->in_sync;
            if (it->throttled)
                rq_record(RQ_FOLLOWER, it->len);
        }
        bool retriable_wait = it->error == KERR_NOT_LEADER_OR_FOLLOWER ||
                              it->error == KERR_UNKNOWN_LEADER_EPOCH ||
                              it->error == KERR_FENCED_LEADER_EPOCH ||
                              it->error == KERR_UNKNOWN_TOPIC_OR_PARTITION ||
                              (it->error && it->error != KERR_OFFSET_OUT_OF_RANGE) ||
                              !it->applied;
        if (retriable_wait) {
            if (it->error)
                log_info("replica", "Fetch of %s-%d from broker %d failed: %s; retrying in %d ms",
                         it->topic, it->partition, f->leader_id, kafka_error_name(it->error),
                         fs.b->cfg->replica_fetch_backoff_ms);
            fp->retry_at_ms = now + fs.b->cfg->replica_fetch_backoff_ms;
        }
    }
}

/* One Fetch round trip; false if the fetcher should back off. */
static bool fetch_round(fetcher_t *f)
{
    apply_job_t *j = xcalloc(1, sizeof(*j));
    j->b = fs.b;
    arena_init(&j->arena);
    struct fetch_request rq;
    int n = build_fetch(f, &j->arena, &rq);
    bool ok = true;
    if (n == 0) {
        arena_free(&j->arena);
        free(j);
        sleep_or_stop(f, 100);
        return true;
    }
    struct fetch_response resp;
    if (kclient_rpc(&f->conn, &j->arena, "Fetch", FETCH_VERSION, &rq, &resp) < 0) {
        if (!stopping(f))
            log_warn("replica", "Fetch from broker %d at %s:%d failed; reconnecting", f->leader_id,
                     f->conn_host, f->conn_port);
        disconnect(f);
        fsc_handle_error(&f->session);
        ok = false;
    } else if (resp.error_code) {
        fsc_handle_response(&f->session, resp.error_code, resp.session_id);
        /* A lost or stale session (the leader restarted or evicted it) is
         * routine: the next fetch, a full one, opens a new session. */
        bool session_error = resp.error_code == KERR_FETCH_SESSION_ID_NOT_FOUND ||
                             resp.error_code == KERR_INVALID_FETCH_SESSION_EPOCH;
        if (session_error)
            log_info("replica", "Fetch session %d with broker %d ended (%s); starting a new one",
                     rq.session_id, f->leader_id, kafka_error_name(resp.error_code));
        else
            log_warn("replica", "Fetch from broker %d failed: %s", f->leader_id,
                     kafka_error_name(resp.error_code));
        ok = session_error;
    } else {
        fsc_handle_response(&f->session, 0, resp.session_id);
        collect(f, j, (int)HASH_COUNT(f->parts), &resp);
        if (!apply_and_wait(f, j))
            return false;           /* stopping: the loop frees j */
        update_positions(f, j);
    }
    arena_free(&j->arena);
    free(j->items);
    free(j);
    return ok;
}

/* @locality a fetcher thread
 * @locks fs.lock (inbox, stop) */
static void *fetcher_main(void *arg)
{
    fetcher_t *f = arg;
    pthread_setname_np(pthread_self(), "samsa-fetcher");
    while (!stopping(f)) {
        drain_inbox(f);
        if (!f->parts) {
            sleep_or_stop(f, 1000);
            continue;
        }
        if (connect_leader(f) < 0 || !fetch_round(f))
            sleep_or_stop(f, fs.b->cfg->replica_fetch_backoff_ms);
    }
    disconnect(f);
    fsc_free(&f->session);
    fpart_t *fp, *tmp;
    HASH_ITER(hh, f->parts, fp, tmp) {
        HASH_DEL(f->parts, fp);
        free(fp);
    }
    return NULL;
}

/* ---- event-loop side ---- */

/* Kafka's AbstractFetcherManager.getFetcherId:
 * Utils.abs(31 * topic.hashCode + partition) % numFetchers. */
static int fetcher_index(broker_t *b, const char *topic, int32_t partition)
{
    if (fs.n_fetchers <= 0)
        fs.n_fetchers = b->cfg->num_replica_fetchers;
    uint32_t h = (uint32_t)java_string_hash(topic, (int32_t)strlen(topic));
    int32_t v = (int32_t)(31u * h + (uint32_t)partition);
    int64_t a = v == INT32_MIN ? 0 : v < 0 ? -(int64_t)v : v;
    return (int)(a % fs.n_fetchers);
}

static fetcher_t *fetcher_for(broker_t *b, int32_t leader_id, const char *topic, int32_t partition)
{
    int index = fetcher_index(b, topic, partition);
    char key[32];
    snprintf(key, sizeof(key), "%d/%d", leader_id, index);
    fetcher_t *f;
    HASH_FIND_STR(fs.fetchers, key, f);
    if (f)
        return f;
    f = xcalloc(1, sizeof(*f));
    snprintf(f->key, sizeof(f->key), "%s", key);
    f->leader_id = leader_id;
    f->index = index;
    f->conn.fd = -1;
    fsc_init(&f->session);
    f->live_fd = -1;
    HASH_ADD_STR(fs.fetchers, key, f);
    if (pthread_create(&f->thread, NULL, fetcher_main, f) != 0)
        die("cannot start a replica fetcher thread");
    log_info("replica", "Started replica fetcher %d for leader broker %d", index, leader_id);
    return f;
}

static void post_inbox(fetcher_t *f, fpart_t *e)
{
    pthread_mutex_lock(&fs.lock);
    e->next = f->inbox;
    f->inbox = e;
    f->n_parts += e->remove ? -1 : 1;
    pthread_cond_broadcast(&fs.cond);
    pthread_mutex_unlock(&fs.lock);
}

void fetcher_unfollow(const char *topic, int32_t partition)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    struct owner *o;
    HASH_FIND_STR(fs.owners, key, o);
    if (!o)
        return;
    fpart_t *e = xcalloc(1, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->remove = true;
    post_inbox(o->f, e);
    HASH_DEL(fs.owners, o);
    free(o);
}

void fetcher_follow(broker_t *b, const char *topic, int32_t partition, int32_t leader_id,
                    const char *host, int32_t port, int32_t leader_epoch, int64_t fetch_offset,
                    int32_t last_epoch)
{
    fs.b = b;
    fetcher_unfollow(topic, partition);
    if (fs.stopped)
        return;     /* shutting down: a log opened late starts no fetcher */
    fetcher_t *f = fetcher_for(b, leader_id, topic, partition);
    pthread_mutex_lock(&fs.lock);
    snprintf(f->host, sizeof(f->host), "%s", host);
    f->port = port;
    pthread_mutex_unlock(&fs.lock);
    fpart_t *e = xcalloc(1, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s-%d", topic, partition);
    snprintf(e->topic, sizeof(e->topic), "%s", topic);
    e->partition = partition;
    e->leader_epoch = leader_epoch;
    e->fetch_offset = fetch_offset;
    e->log_start_offset = -1;
    e->last_epoch = last_epoch;
    post_inbox(f, e);
    struct owner *o = xcalloc(1, sizeof(*o));
    snprintf(o->key, sizeof(o->key), "%s", e->key);
    snprintf(o->topic, sizeof(o->topic), "%s", topic);
    o->partition = partition;
    o->f = f;
    HASH_ADD_STR(fs.owners, key, o);
}

void fetchers_resize(broker_t *b, int n)
{
    fs.b = b;
    if (n < 1 || fs.stopped)
        return;
    if (fs.n_fetchers <= 0)
        fs.n_fetchers = b->cfg->num_replica_fetchers;
    if (n == fs.n_fetchers)
        return;
    log_info("replica", "Resizing fetcher thread pool size from %d to %d", fs.n_fetchers, n);
    fs.n_fetchers = n;
    /* Partitions whose fetcher changes follow again from their log end
     * (Kafka's resizeThreadPool). */
    int moving = 0;
    struct owner *o, *tmp;
    struct owner **move = xcalloc((size_t)HASH_COUNT(fs.owners) + 1, sizeof(*move));
    HASH_ITER(hh, fs.owners, o, tmp)
        if (fetcher_index(b, o->topic, o->partition) != o->f->index)
            move[moving++] = o;
    for (int i = 0; i < moving; i++) {
        o = move[i];
        partition_t *p = rm_partition(o->topic, o->partition);
        if (!p || !p->log)
            continue;
        char host[256], topic[256];
        pthread_mutex_lock(&fs.lock);
        snprintf(host, sizeof(host), "%s", o->f->host);
        int32_t port = o->f->port;
        pthread_mutex_unlock(&fs.lock);
        snprintf(topic, sizeof(topic), "%s", o->topic);
        int32_t partition = o->partition, leader = o->f->leader_id;
        fetcher_follow(b, topic, partition, leader, host, port, p->leader_epoch,
                       p->log->log_end_offset, lec_latest_epoch(&p->log->epochs));
    }
    free(move);
    fetchers_shutdown_idle();
}

static void fetcher_free(fetcher_t *f)
{
    while (f->inbox) {
        fpart_t *e = f->inbox;
        f->inbox = e->next;
        free(e);
    }
    free(f);
}

/* Retired fetchers whose threads have ended are joined and freed (never
 * waiting for one still running). */
static void reap_retired(void)
{
    fetcher_t **link = &fs.retired;
    while (*link) {
        fetcher_t *f = *link;
        if (pthread_tryjoin_np(f->thread, NULL) == 0) {
            *link = f->retired_next;
            fetcher_free(f);
        } else {
            link = &f->retired_next;
        }
    }
}

void fetchers_shutdown_idle(void)
{
    reap_retired();
    fetcher_t *f, *tmp;
    pthread_mutex_lock(&fs.lock);
    HASH_ITER(hh, fs.fetchers, f, tmp) {
        if (f->n_parts > 0)
            continue;
        log_info("replica", "Shutting down idle replica fetcher %d for leader broker %d", f->index,
                 f->leader_id);
        f->stop = true;
        if (f->live_fd >= 0)
            shutdown(f->live_fd, SHUT_RDWR);
        HASH_DEL(fs.fetchers, f);
        f->retired_next = fs.retired;
        fs.retired = f;
    }
    pthread_cond_broadcast(&fs.cond);
    pthread_mutex_unlock(&fs.lock);
}

void fetchers_shutdown(void)
{
    fs.stopped = true;
    fetcher_t *f, *tmp;
    pthread_mutex_lock(&fs.lock);
    HASH_ITER(hh, fs.fetchers, f, tmp) {
        f->stop = true;
        if (f->live_fd >= 0)
            shutdown(f->live_fd, SHUT_RDWR);
    }
    pthread_cond_broadcast(&fs.cond);
    pthread_mutex_unlock(&fs.lock);
    HASH_ITER(hh, fs.fetchers, f, tmp) {
        pthread_join(f->thread, NULL);
        HASH_DEL(fs.fetchers, f);
        fetcher_free(f);
    }
    while (fs.retired) {
        f = fs.retired;
        fs.retired = f->retired_next;
        pthread_join(f->thread, NULL);
        fetcher_free(f);
    }
    struct owner *o, *ot;
    HASH_ITER(hh, fs.owners, o, ot) {
        HASH_DEL(fs.owners, o);
        free(o);
    }
}
