/*
 * fetch_session.c - owns the fetch session cache (see fetch_session.h):
 * each session's partitions in fetch order with what the client last asked
 * (fetch offset, byte limit, epochs) and what it was last told (high
 * watermark, log start offset), as Kafka's CachedPartition keeps them.
 *
 * Threads: the event-loop thread only.
 * Bound: a session holds only partitions its client named, and all
 * sessions together at most FS_MAX_CACHED partitions; a session that
 * would pass it is dropped (its client starts again with a full fetch).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "fetch_session.h"
#include "kafka_errors.h"
#include "logging.h"
#include "util.h"
#include "zk_layout.h"

#define FS_EVICTION_MS 120000           /* Kafka's fetch session eviction time */
#define FS_MAX_CACHED 1000000           /* partitions over all sessions */
#define INITIAL_EPOCH 0
#define FINAL_EPOCH (-1)

typedef struct cached_part {
    char *key;                          /* "<topic or topic id>:<partition>" */
    kuuid_t topic_id;
    char *topic;                        /* by name (before v13) */
    struct fetch_request_fetch_partition req;
    int64_t high_watermark;             /* last told; -1: tell */
    int64_t log_start_offset;
    bool told;                          /* in the response being sent */
    UT_hash_handle hh;
} cached_part_t;

typedef struct session {
    int32_t id;
    int32_t epoch;                      /* the next request's */
    bool privileged;
    bool topic_ids;
    int64_t created_ms, last_used_ms;
    cached_part_t *by_key;
    cached_part_t **order;              /* fetch order */
    int n, cap;
    UT_hash_handle hh;
} session_t;

static session_t *sessions;             /* event-loop thread */
static int64_t cached_total;

#define KEY_MAX 300                     /* a topic name is at most 249 bytes */

/* A partition's key into buf (no allocation: lookups are per partition
 * on every fetch). */
static const char *part_key(char buf[KEY_MAX], bool ids, kstr_t topic, kuuid_t id, int32_t p)
{
    char b64[23];
    if (ids) {
        zkl_uuid_to_base64(&id, b64);
        snprintf(buf, KEY_MAX, "%s:%d", b64, p);
    } else {
        snprintf(buf, KEY_MAX, "%.*s:%d", MIN(MAX(topic.len, 0), 255), topic.ptr ? topic.ptr : "", p);
    }
    return buf;
}

static cached_part_t *find_part(session_t *s, kstr_t topic, kuuid_t id, int32_t p)
{
    char buf[KEY_MAX];
    cached_part_t *cp;
    HASH_FIND_STR(s->by_key, part_key(buf, s->topic_ids, topic, id, p), cp);
    return cp;
}

static void part_free(cached_part_t *cp)
{
    free(cp->key);
    free(cp->topic);
    free(cp);
}

static void session_free(session_t *s)
{
    HASH_DEL(sessions, s);
    cached_part_t *cp, *tmp;
    HASH_ITER(hh, s->by_key, cp, tmp) {
        HASH_DEL(s->by_key, cp);
        part_free(cp);
    }
    cached_total -= s->n;
    free(s->order);
    free(s);
}

static session_t *find_session(int32_t id)
{
    session_t *s;
    HASH_FIND_INT(sessions, &id, s);
    return s;
}

static void order_remove(session_t *s, cached_part_t *cp)
{
    for (int i = 0; i < s->n; i++)
        if (s->order[i] == cp) {
            memmove(&s->order[i], &s->order[i + 1], sizeof(*s->order) * (size_t)(s->n - i - 1));
            s->n--;
            cached_total--;
            return;
        }
}

static void order_push(session_t *s, cached_part_t *cp)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->order = xrealloc(s->order, sizeof(*s->order) * (size_t)s->cap);
    }
    s->order[s->n++] = cp;
    cached_total++;
}

/* Told partitions go to the back, so none is starved: one stable pass
 * (a follower's session can hold thousands of partitions). */
static void told_to_back(session_t *s)
{
    cached_part_t **v = xcalloc((size_t)s->n + 1, sizeof(*v));
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s->n; i++)
            if (s->order[i]->told == (pass == 1))
                v[k++] = s->order[i];
    for (int i = 0; i < s->n; i++)
        v[i]->told = false;
    memcpy(s->order, v, sizeof(*v) * (size_t)s->n);
    free(v);
}

/* Adds or updates one partition the client named. */
static void session_put(session_t *s, kstr_t topic, kuuid_t id,
                        const struct fetch_request_fetch_partition *in)
{
    cached_part_t *cp = find_part(s, topic, id, in->partition);
    if (cp) {
        cp->req = *in;
        return;
    }
    char buf[KEY_MAX];
    cp = xcalloc(1, sizeof(*cp));
    cp->key = xstrdup(part_key(buf, s->topic_ids, topic, id, in->partition));
    cp->topic_id = id;
    if (!s->topic_ids) {
        cp->topic = xmalloc((size_t)MAX(topic.len, 0) + 1);
        memcpy(cp->topic, topic.ptr ? topic.ptr : "", (size_t)MAX(topic.len, 0));
        cp->topic[MAX(topic.len, 0)] = '\0';
    }
    cp->req = *in;
    cp->high_watermark = -1;
    cp->log_start_offset = -1;
    HASH_ADD_KEYPTR(hh, s->by_key, cp->key, strlen(cp->key), cp);
    order_push(s, cp);
}

static void session_forget(session_t *s, kstr_t topic, kuuid_t id, int32_t p)
{
    cached_part_t *cp = find_part(s, topic, id, p);
    if (cp) {
        HASH_DEL(s->by_key, cp);
        order_remove(s, cp);
        part_free(cp);
    }
}

/* The session's partitions as request topics: runs of one topic, in the
 * request's arena. */
static void session_to_request(arena_t *a, const session_t *s, struct fetch_request *rq)
{
    struct fetch_request_fetch_topic *t = fetch_request_fetch_topic_array(a, s->n);
    struct fetch_request_fetch_partition *parts = fetch_request_fetch_partition_array(a, s->n);
    int nt = 0;
    for (int i = 0; i < s->n; i++) {
        const cached_part_t *cp = s->order[i];
        bool same = nt > 0 && (s->topic_ids
            ? !memcmp(&t[nt - 1].topic_id, &cp->topic_id, sizeof(kuuid_t))
            : t[nt - 1].topic.len == (int)strlen(cp->topic) &&
              !memcmp(t[nt - 1].topic.ptr, cp->topic, strlen(cp->topic)));
        if (!same) {
            /* The request outlives the session if it waits: names are copied. */
            char *name = s->topic_ids ? NULL : arena_alloc(a, strlen(cp->topic) + 1);
            if (name)
                strcpy(name, cp->topic);
            t[nt].topic = name ? kstr_from_cstr(name) : KSTR_NULL;
            t[nt].topic_id = cp->topic_id;
            t[nt].partitions = &parts[i];       /* runs are contiguous */
            t[nt].partitions_count = 0;
            nt++;
        }
        t[nt - 1].partitions[t[nt - 1].partitions_count++] = cp->req;
    }
    rq->topics = t;
    rq->topics_count = nt;
}

void fs_begin(arena_t *a, int16_t version, struct fetch_request *rq, int32_t replica_id,
              int32_t slots, fs_context_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->privileged = replica_id >= 0;
    ctx->topic_ids = version >= 13;
    if (version < 7 || slots <= 0)
        return;                                 /* sessionless */
    int32_t id = rq->session_id, epoch = rq->session_epoch;
    if (epoch == FINAL_EPOCH || epoch == INITIAL_EPOCH) {
        session_t *old = id ? find_session(id) : NULL;
        if (old)
            session_free(old);                  /* closed, or replaced by a new one */
        ctx->create = epoch == INITIAL_EPOCH;
        return;
    }
    session_t *s = find_session(id);
    if (!s) {
        ctx->error = KERR_FETCH_SESSION_ID_NOT_FOUND;
        return;
    }
    if (s->epoch != epoch) {
        ctx->error = KERR_INVALID_FETCH_SESSION_EPOCH;
        return;
    }
    if (s->topic_ids != ctx->topic_ids) {
        ctx->error = KERR_FETCH_SESSION_TOPIC_ID_ERROR;
        return;
    }
    for (int i = 0; i < MAX(rq->topics_count, 0); i++)
        for (int k = 0; k < MAX(rq->topics[i].partitions_count, 0); k++)
            session_put(s, rq->topics[i].topic, rq->topics[i].topic_id, &rq->topics[i].partitions[k]);
    for (int i = 0; i < MAX(rq->forgotten_topics_data_count, 0); i++) {
        const struct fetch_request_forgotten_topic *f = &rq->forgotten_topics_data[i];
        for (int k = 0; k < MAX(f->partitions_count, 0); k++)
            session_forget(s, f->topic, f->topic_id, f->partitions[k]);
    }
    if (cached_total > FS_MAX_CACHED) {
        log_warn("fetch", "Fetch session %d dropped: the cache holds %lld partitions", s->id,
                 (long long)cached_total);
        session_free(s);
        ctx->error = KERR_FETCH_SESSION_ID_NOT_FOUND;
        return;
    }
    ctx->session_id = id;
    ctx->epoch = epoch;
    ctx->incremental = true;
    s->epoch = epoch == INT32_MAX ? 1 : epoch + 1;
    s->last_used_ms = now_ms();
    session_to_request(a, s, rq);
}

/* Kafka's CachedPartition.maybeUpdateResponseData. */
static bool has_news(cached_part_t *cp, const struct fetch_response_partition_data *pd)
{
    bool must = pd->records.len > 0 || pd->preferred_read_replica != -1 ||
                pd->has_diverging_epoch || pd->error_code != 0;
    if (cp->high_watermark != pd->high_watermark) {
        must = true;
        cp->high_watermark = pd->high_watermark;
    }
    if (cp->log_start_offset != pd->log_start_offset) {
        must = true;
        cp->log_start_offset = pd->log_start_offset;
    }
    if (pd->error_code)
        cp->high_watermark = -1;        /* told again once the error goes */
    return must;
}

/* Kafka's tryEvict: a stale session first; else the least valuable one
 * (not privileged, fewest partitions) if the new one is worth more. */
static bool make_room(bool privileged, int size, int64_t now)
{
    session_t *s, *tmp, *lru = NULL, *cheap = NULL;
    HASH_ITER(hh, sessions, s, tmp) {
        if (!lru || s->last_used_ms < lru->last_used_ms)
            lru = s;
        bool evictable = !s->privileged && (privileged || now - s->created_ms > FS_EVICTION_MS);
        if (evictable && (!cheap || s->n < cheap->n))
            cheap = s;
    }
    if (lru && now - lru->last_used_ms > FS_EVICTION_MS) {
        session_free(lru);
        return true;
    }
    if (cheap && (privileged || size > cheap->n)) {
        session_free(cheap);
        return true;
    }
    return false;
}

static int32_t new_session_id(void)
{
    for (;;) {
        int32_t id = (int32_t)(random() & 0x7fffffff);
        if (id != 0 && !find_session(id))
            return id;
    }
}

static int32_t create_session(const fs_context_t *ctx, const struct fetch_request *rq,
                              const struct fetch_response *resp, int32_t slots)
{
    int size = 0;
    for (int i = 0; i < MAX(rq->topics_count, 0); i++)
        size += MAX(rq->topics[i].partitions_count, 0);
    int64_t now = now_ms();
    if (cached_total + size > FS_MAX_CACHED ||
        ((int)HASH_COUNT(sessions) >= slots && !make_room(ctx->privileged, size, now)))
        return 0;
    session_t *s = xcalloc(1, sizeof(*s));
    s->id = new_session_id();
    s->epoch = 1;
    s->privileged = ctx->privileged;
    s->topic_ids = ctx->topic_ids;
    s->created_ms = s->last_used_ms = now;
    HASH_ADD_INT(sessions, id, s);
    for (int i = 0; i < MAX(rq->topics_count, 0); i++)
        for (int k = 0; k < MAX(rq->topics[i].partitions_count, 0); k++)
            session_put(s, rq->topics[i].topic, rq->topics[i].topic_id, &rq->topics[i].partitions[k]);
    /* What the full response told each partition. */
    for (int i = 0; i < resp->responses_count; i++) {
        const struct fetch_response_fetchable_topic_response *tr = &resp->responses[i];
        for (int k = 0; k < tr->partitions_count; k++) {
            cached_part_t *cp = find_part(s, tr->topic, tr->topic_id, tr->partitions[k].partition_index);
            if (cp)
                has_news(cp, &tr->partitions[k]);
        }
    }
    return s->id;
}

void fs_finish(fs_context_t *ctx, const struct fetch_request *rq, struct fetch_response *resp,
               int32_t slots)
{
    session_t *s = ctx->incremental ? find_session(ctx->session_id) : NULL;
    if (ctx->incremental && !s)
        ctx->error = KERR_FETCH_SESSION_ID_NOT_FOUND;   /* evicted while the fetch waited */
    if (ctx->error) {
        resp->error_code = ctx->error;
        resp->session_id = 0;
        resp->responses_count = 0;
        return;
    }
    if (!ctx->incremental) {
        resp->session_id = ctx->create ? create_session(ctx, rq, resp, slots) : 0;
        return;
    }
    resp->session_id = s->id;
    int kept_topics = 0;
    for (int i = 0; i < resp->responses_count; i++) {
        struct fetch_response_fetchable_topic_response *tr = &resp->responses[i];
        int kept = 0;
        for (int k = 0; k < tr->partitions_count; k++) {
            cached_part_t *cp = find_part(s, tr->topic, tr->topic_id, tr->partitions[k].partition_index);
            if (!cp || !has_news(cp, &tr->partitions[k]))
                continue;
            cp->told = true;
            tr->partitions[kept++] = tr->partitions[k];
        }
        tr->partitions_count = kept;
        if (kept > 0)
            resp->responses[kept_topics++] = *tr;
    }
    resp->responses_count = kept_topics;
    told_to_back(s);
}

void fs_throttled(fs_context_t *ctx, struct fetch_response *resp)
{
    resp->responses_count = 0;
    resp->session_id = 0;
    if (!ctx->incremental)
        return;
    if (!find_session(ctx->session_id)) {
        resp->error_code = KERR_FETCH_SESSION_ID_NOT_FOUND;
        return;
    }
    resp->session_id = ctx->session_id;
}

int fs_count(void)
{
    return (int)HASH_COUNT(sessions);
}

void fs_shutdown(void)
{
    session_t *s, *tmp;
    HASH_ITER(hh, sessions, s, tmp)
        session_free(s);
}
