/*
 * api_log_dirs.c - owns the log-dir APIs as Kafka's ReplicaManager answers
 * them: DescribeLogDirs (35): per configured log dir its absolute path,
 * total and usable bytes, and the partitions asked for (all of them for a
 * null topic list) with their sizes, future logs of moves included; and
 * AlterReplicaLogDirs (34), which starts the moves (log_mover.h) or
 * remembers the dir of a replica not created yet.  Event-loop thread;
 * statvfs() reads file-system counters, never the disk.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <uthash.h>

#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "log_mover.h"
#include "log_partition.h"
#include "logging.h"
#include "metadata_cache.h"
#include "proto_messages.h"
#include "replica_manager.h"
#include "util.h"

typedef struct describe_log_dirs_response_describe_log_dirs_result dir_result_t;
typedef struct describe_log_dirs_response_describe_log_dirs_topic dir_topic_t;
typedef struct describe_log_dirs_response_describe_log_dirs_partition dir_partition_t;

/* The partitions a request names, by topic, so each log is checked in
 * O(log n) however long the request's list is. */
typedef struct wanted_topic {
    const char *name;
    int32_t *partitions;        /* sorted */
    int n;
    UT_hash_handle hh;
} wanted_topic_t;

typedef struct collect {
    request_t *req;
    bool all;                   /* a null topic list: every partition */
    wanted_topic_t *wanted;
    const char *root;           /* the log dir being described */
    dir_result_t *out;
    int cap_topics;
} collect_t;

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Indexes the request's topics (arena memory, bounded by the request). */
static void index_request(collect_t *c, const struct describe_log_dirs_request *rq)
{
    c->all = rq->topics_count < 0;
    for (int i = 0; i < rq->topics_count; i++) {
        const struct describe_log_dirs_request_describable_log_dir_topic *t = &rq->topics[i];
        const char *name = kstr_dup_or_empty(&c->req->arena, t->topic);
        wanted_topic_t *w;
        HASH_FIND_STR(c->wanted, name, w);
        int n = t->partitions_count > 0 ? t->partitions_count : 0;
        int have = w ? w->n : 0;
        int32_t *v = arena_array(&c->req->arena, (size_t)(have + n) + 1, sizeof(int32_t));
        if (have)
            memcpy(v, w->partitions, sizeof(int32_t) * (size_t)have);
        if (n)
            memcpy(v + have, t->partitions, sizeof(int32_t) * (size_t)n);
        qsort(v, (size_t)(have + n), sizeof(int32_t), cmp_i32);
        if (!w) {
            w = arena_alloc(&c->req->arena, sizeof(*w));
            w->name = name;
            HASH_ADD_KEYPTR(hh, c->wanted, w->name, strlen(w->name), w);
        }
        w->partitions = v;
        w->n = have + n;
    }
}

static bool wanted(const collect_t *c, const char *topic, int32_t p)
{
    if (c->all)
        return true;
    wanted_topic_t *w;
    HASH_FIND_STR(c->wanted, topic, w);
    return w && bsearch(&p, w->partitions, (size_t)w->n, sizeof(int32_t), cmp_i32);
}

static bool in_dir(const char *root, const char *dir)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    return !strncmp(dir, root, n) && dir[n] == '/' && !strchr(dir + n + 1, '/');
}

static dir_topic_t *topic_of(collect_t *c, const char *name)
{
    dir_result_t *r = c->out;
    for (int i = 0; i < r->topics_count; i++)
        if (kstr_eq_cstr(r->topics[i].name, name))
            return &r->topics[i];
    if (r->topics_count == c->cap_topics) {
        int cap = c->cap_topics ? c->cap_topics * 2 : 16;
        dir_topic_t *t = describe_log_dirs_response_describe_log_dirs_topic_array(&c->req->arena,
                                                                                 cap);
        if (r->topics_count)
            memcpy(t, r->topics, sizeof(*t) * (size_t)r->topics_count);
        r->topics = t;
        c->cap_topics = cap;
    }
    dir_topic_t *t = &r->topics[r->topics_count++];
    t->name = kstr_from_cstr(arena_strdup(&c->req->arena, name));
    t->partitions_count = 0;
    t->partitions = NULL;
    return t;
}

static void add_partition(dir_topic_t *t, collect_t *c, int32_t partition, int64_t size,
                          int64_t lag, bool future)
{
    /* Partitions of a topic are few; grow by copying. */
    dir_partition_t *ps = describe_log_dirs_response_describe_log_dirs_partition_array(
        &c->req->arena, t->partitions_count + 1);
    if (t->partitions_count)
        memcpy(ps, t->partitions, sizeof(*ps) * (size_t)t->partitions_count);
    dir_partition_t *p = &ps[t->partitions_count];
    p->partition_index = partition;
    p->partition_size = size;
    p->offset_lag = lag;
    p->is_future_key = future;
    t->partitions = ps;
    t->partitions_count++;
}

/* Kafka's getLogEndOffsetLag: a log's distance to the high watermark (0
 * unless it lags); -1 for a log whose partition is not hosted (before its
 * LeaderAndIsr).  A future log's is the current log's end minus its own. */
static void collect_log(partition_log_t *pl, void *arg)
{
    collect_t *c = arg;
    if (!in_dir(c->root, pl->dir) || !wanted(c, pl->topic, pl->partition))
        return;
    const partition_t *hosted = rm_partition(pl->topic, pl->partition);
    int64_t lag = hosted ? MAX(hosted->high_watermark - pl->log_end_offset, 0) : -1;
    add_partition(topic_of(c, pl->topic), c, pl->partition, plog_size_bytes(pl), lag, false);
}

static void collect_future(const lmove_future_t *f, void *arg)
{
    collect_t *c = arg;
    if (!in_dir(c->root, f->dir) || !wanted(c, f->topic, f->partition))
        return;
    add_partition(topic_of(c, f->topic), c, f->partition, f->size, f->lag, true);
}

/* Java's File.getAbsolutePath of a configured log dir. */
static const char *absolute(request_t *req, const char *dir)
{
    char abs[PATH_MAX];
    return absolute_path(dir, abs, sizeof(abs)) == 0 ? arena_strdup(&req->arena, abs) : dir;
}

static void describe_dir(broker_t *b, request_t *req, collect_t *c, int i, dir_result_t *out)
{
    const char *root = b->cfg->log_dirs[i];
    out->log_dir = kstr_from_cstr(absolute(req, root));
    out->topics_count = 0;
    struct statvfs st;
    if (statvfs(root, &st) < 0) {
        out->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    /* Java's getTotalSpace/getUsableSpace (negative: Long.MAX_VALUE). */
    out->total_bytes = (int64_t)((uint64_t)st.f_blocks * st.f_frsize);
    out->usable_bytes = (int64_t)((uint64_t)st.f_bavail * st.f_frsize);
    if (out->total_bytes < 0)
        out->total_bytes = INT64_MAX;
    if (out->usable_bytes < 0)
        out->usable_bytes = INT64_MAX;
    c->root = root;
    c->out = out;
    c->cap_topics = 0;
    logmgr_foreach(collect_log, c);
    lmove_foreach_future(collect_future, c);
}

enum handler_result api_describe_log_dirs(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct describe_log_dirs_request rq;
    if (describe_log_dirs_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_log_dirs_response resp;
    describe_log_dirs_response_defaults(&resp);
    if (!authorize(req, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, ACL_CLUSTER_NAME)) {
        /* Kafka: the error (v3+) and no directories. */
        resp.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
        resp.results_count = 0;
        describe_log_dirs_response_encode(&req->resp, v, &resp);
        return REQ_DONE;
    }
    resp.results_count = b->cfg->n_log_dirs;
    resp.results = describe_log_dirs_response_describe_log_dirs_result_array(&req->arena,
                                                                             resp.results_count);
    collect_t c = { .req = req };
    index_request(&c, &rq);
    for (int i = 0; i < resp.results_count; i++)
        describe_dir(b, req, &c, i, &resp.results[i]);
    HASH_CLEAR(hh, c.wanted);
    describe_log_dirs_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- AlterReplicaLogDirs ---- */

typedef struct alter_replica_log_dirs_response_alter_replica_log_dir_topic_result alter_topic_t;
typedef struct alter_replica_log_dirs_response_alter_replica_log_dir_partition_result
    alter_partition_t;

/* One partition of the request; the last dir named for it wins, as in
 * Kafka's partitionDirs map. */
typedef struct alter_entry {
    char key[300];
    const char *topic;
    int32_t partition;
    const char *path;
    int topic_index;            /* its topic's result */
    UT_hash_handle hh;
} alter_entry_t;

typedef struct alter_topic_index {
    const char *name;
    int index;
    int n;
    UT_hash_handle hh;
} alter_topic_index_t;

/* Kafka's ReplicaManager.alterReplicaLogDirs for one partition. */
static int16_t alter_one(const char *topic, int32_t partition, const char *path)
{
    char digits[16];
    int n = snprintf(digits, sizeof(digits), "%d", partition);
    if (strlen(topic) + 1 + (size_t)n + 1 + 32 + strlen("-future") > 255)
        return KERR_INVALID_TOPIC_EXCEPTION;    /* "The topic name is too long." */
    int dir = logmgr_dir_index(path);
    if (dir < 0) {
        log_warn("log", "Unable to alter log dirs for %s-%d: Log dir %s is not found in the "
                 "config.", topic, partition, path);
        return KERR_LOG_DIR_NOT_FOUND;
    }
    partition_t *p = rm_partition(topic, partition);
    if (!p || !p->log) {
        /* Created there when a LeaderAndIsr asks for it. */
        logmgr_prefer_dir(topic, partition, dir);
        const mc_topic_t *t = mc_find_topic(topic);
        bool known = t && partition >= 0 && partition < t->n_partitions &&
                     mc_partition_announced(&t->parts[partition]);
        return known || p ? KERR_REPLICA_NOT_AVAILABLE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return lmove_start(topic, partition, dir);
}

static alter_partition_t *add_result(request_t *req, alter_topic_t *t, int cap)
{
    if (!t->partitions)
        t->partitions = alter_replica_log_dirs_response_alter_replica_log_dir_partition_result_array(
            &req->arena, cap);
    return &t->partitions[t->partitions_count++];
}

/* Every (dir, topic) of the request with the same error (Kafka's
 * getErrorResponse). */
static void refuse_all(request_t *req, const struct alter_replica_log_dirs_request *rq,
                       struct alter_replica_log_dirs_response *resp, int16_t error)
{
    int n = 0;
    for (int d = 0; d < rq->dirs_count; d++)
        n += MAX(rq->dirs[d].topics_count, 0);
    resp->results = alter_replica_log_dirs_response_alter_replica_log_dir_topic_result_array(
        &req->arena, n);
    resp->results_count = 0;
    for (int d = 0; d < rq->dirs_count; d++) {
        for (int i = 0; i < rq->dirs[d].topics_count; i++) {
            const struct alter_replica_log_dirs_request_alter_replica_log_dir_topic *t =
                &rq->dirs[d].topics[i];
            alter_topic_t *out = &resp->results[resp->results_count++];
            out->topic_name = t->name;
            out->partitions_count = 0;
            out->partitions = NULL;
            for (int k = 0; k < t->partitions_count; k++) {
                alter_partition_t *r = add_result(req, out, t->partitions_count);
                r->partition_index = t->partitions[k];
                r->error_code = error;
            }
        }
    }
}

enum handler_result api_alter_replica_log_dirs(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct alter_replica_log_dirs_request rq;
    if (alter_replica_log_dirs_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct alter_replica_log_dirs_response resp;
    alter_replica_log_dirs_response_defaults(&resp);
    if (!authorize(req, ACL_OP_ALTER, ACL_RES_CLUSTER, ACL_CLUSTER_NAME)) {
        refuse_all(req, &rq, &resp, KERR_CLUSTER_AUTHORIZATION_FAILED);
        alter_replica_log_dirs_response_encode(&req->resp, v, &resp);
        return REQ_DONE;
    }
    /* The partitions, deduplicated, and their topics in request order. */
    alter_entry_t *entries = NULL, *order = NULL;
    alter_topic_index_t *topics = NULL;
    int n_entries = 0, n_topics = 0, total = 0;
    for (int d = 0; d < rq.dirs_count; d++)
        for (int i = 0; i < rq.dirs[d].topics_count; i++)
            total += MAX(rq.dirs[d].topics[i].partitions_count, 0);
    order = arena_array(&req->arena, (size_t)total + 1, sizeof(*order));
    alter_topic_index_t *tix = arena_array(&req->arena, (size_t)total + 1, sizeof(*tix));
    for (int d = 0; d < rq.dirs_count; d++) {
        const char *path = kstr_dup_or_empty(&req->arena, rq.dirs[d].path);
        for (int i = 0; i < rq.dirs[d].topics_count; i++) {
            const struct alter_replica_log_dirs_request_alter_replica_log_dir_topic *t =
                &rq.dirs[d].topics[i];
            const char *name = kstr_dup_or_empty(&req->arena, t->name);
            for (int k = 0; k < t->partitions_count; k++) {
                alter_entry_t *e;
                char key[300];
                snprintf(key, sizeof(key), "%s\n%d", name, t->partitions[k]);
                HASH_FIND_STR(entries, key, e);
                if (e) {
                    e->path = path;
                    continue;
                }
                alter_topic_index_t *ti;
                HASH_FIND_STR(topics, name, ti);
                if (!ti) {
                    ti = &tix[n_topics];
                    *ti = (alter_topic_index_t){ .name = name, .index = n_topics++ };
                    HASH_ADD_KEYPTR(hh, topics, ti->name, strlen(ti->name), ti);
                }
                ti->n++;
                e = &order[n_entries++];
                snprintf(e->key, sizeof(e->key), "%s", key);
                e->topic = name;
                e->partition = t->partitions[k];
                e->path = path;
                e->topic_index = ti->index;
                HASH_ADD_STR(entries, key, e);
            }
        }
    }
    resp.results_count = n_topics;
    resp.results = alter_replica_log_dirs_response_alter_replica_log_dir_topic_result_array(
        &req->arena, n_topics);
    for (int i = 0; i < n_topics; i++) {
        resp.results[i].topic_name = kstr_from_cstr(tix[i].name);
        resp.results[i].partitions_count = 0;
        resp.results[i].partitions = NULL;
    }
    for (int i = 0; i < n_entries; i++) {
        alter_entry_t *e = &order[i];
        alter_topic_t *out = &resp.results[e->topic_index];
        alter_partition_t *r = add_result(req, out, tix[e->topic_index].n);
        r->partition_index = e->partition;
        r->error_code = alter_one(e->topic, e->partition, e->path);
    }
    HASH_CLEAR(hh, entries);
    HASH_CLEAR(hh, topics);
    alter_replica_log_dirs_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
