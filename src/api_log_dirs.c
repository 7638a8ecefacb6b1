/*
 * api_log_dirs.c - owns DescribeLogDirs (35) as Kafka's
 * ReplicaManager.describeLogDirs answers it: per configured log dir its
 * absolute path, total and usable bytes, and the partitions asked for
 * (all of them for a null topic list) with their sizes.  Event-loop
 * thread; statvfs() reads file-system counters, never the disk.
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
#include "log_partition.h"
#include "proto_messages.h"

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

static void add_partition(dir_topic_t *t, collect_t *c, const partition_log_t *pl)
{
    /* Partitions of a topic are few; grow by copying. */
    dir_partition_t *ps = describe_log_dirs_response_describe_log_dirs_partition_array(
        &c->req->arena, t->partitions_count + 1);
    if (t->partitions_count)
        memcpy(ps, t->partitions, sizeof(*ps) * (size_t)t->partitions_count);
    dir_partition_t *p = &ps[t->partitions_count];
    p->partition_index = pl->partition;
    p->partition_size = plog_size_bytes(pl);
    p->offset_lag = 0;              /* Kafka: max(high watermark - log end, 0) */
    p->is_future_key = false;
    t->partitions = ps;
    t->partitions_count++;
}

static void collect_log(partition_log_t *pl, void *arg)
{
    collect_t *c = arg;
    if (!in_dir(c->root, pl->dir) || !wanted(c, pl->topic, pl->partition))
        return;
    add_partition(topic_of(c, pl->topic), c, pl);
}

/* Java's File.toAbsolutePath: relative paths resolved against the cwd. */
static const char *absolute(request_t *req, const char *dir)
{
    char cwd[PATH_MAX];
    if (dir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return dir;
    size_t n = strlen(cwd) + strlen(dir) + 2;
    char *out = arena_alloc(&req->arena, n);
    snprintf(out, n, "%s/%s", cwd, dir);
    return out;
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
