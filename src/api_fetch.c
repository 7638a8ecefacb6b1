/*
 * api_fetch.c - owns Fetch: reading partition data as file regions that go
 * out with sendfile (records are never copied or re-encoded), response and
 * partition byte limits (KIP-74), leader-epoch checks, and the
 * fetch.min.bytes / max.wait.ms long-poll as a delayed operation in the
 * purgatory (Kafka's DelayedFetch): a parked fetch remembers where each of
 * its partitions starts, an append only adds up the bytes now readable,
 * and the response is built once, when it completes.
 * Event-loop thread only.
 *
 * A fetch from a follower (replica_id >= 0) reads up to the log end
 * instead of the high watermark, tells a follower whose last fetched epoch
 * ended earlier here where its log diverges (KIP-595's diverging epoch,
 * which Kafka's ZooKeeper-mode followers use from IBP 2.7), and updates
 * the leader's view of that follower (partition_leader.c).
 *
 * Fetch sessions (KIP-227, fetch_session.c): a request's session turns it
 * into the full partition list first, and an incremental response keeps
 * only the partitions with news when it is sent.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "client_quotas.h"
#include "fetch_downconvert.h"
#include "fetch_session.h"
#include "kafka_errors.h"
#include "leader_epoch.h"
#include "log_txn.h"
#include "logging.h"
#include "metadata_cache.h"
#include "proto_messages.h"
#include "purgatory.h"
#include "replica_manager.h"
#include "replication_quota.h"
#include "util.h"

/* Where a parked fetch reads one of its partitions from.  The partition
 * pointer stays valid while the fetch is parked: a partition going away
 * completes every operation watching it first (purgatory.h). */
typedef struct fetch_point {
    partition_t *p;
    int32_t max_bytes;
    int64_t seg_base;           /* segment and position of the fetch offset */
    int64_t pos;
} fetch_point_t;

typedef struct parked_fetch {
    delayed_op_t op;            /* first: the purgatory hands back &op */
    request_t *req;
    broker_t *broker;
    int32_t replica_id;         /* -1: a consumer */
    struct fetch_request rq;
    fs_context_t session;
    fetch_point_t *points;
    int n_points;
    struct fetch_response resp;     /* being down-converted (v0-v3) */
    fetch_conversion_t *conversion;
} parked_fetch_t;

/* Kafka's Partition.fetchRecords check for a follower: if the epoch it
 * last fetched ends here before its fetch offset (or is unknown here), the
 * response names where it diverges and carries no records. */
static bool diverged(partition_t *p, const struct fetch_request_fetch_partition *in,
                     struct fetch_response_partition_data *out)
{
    if (in->last_fetched_epoch < 0)
        return false;
    int32_t epoch;
    int64_t end = lec_end_offset_for(&p->log->epochs, in->last_fetched_epoch,
                                     p->log->log_end_offset, &epoch);
    if (end >= in->fetch_offset && epoch >= in->last_fetched_epoch)
        return false;
    out->has_diverging_epoch = true;
    out->diverging_epoch.epoch = epoch;
    out->diverging_epoch.end_offset = end;
    return true;
}

/* Gathers a read_committed fetch's aborted transactions into the arena. */
typedef struct aborted_list {
    arena_t *arena;
    struct fetch_response_aborted_transaction *v;
    int32_t n;
    int32_t cap;
} aborted_list_t;

static void add_aborted(const aborted_txn_t *t, void *arg)
{
    aborted_list_t *l = arg;
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 4;
        struct fetch_response_aborted_transaction *v =
            fetch_response_aborted_transaction_array(l->arena, cap);
        if (l->n)
            memcpy(v, l->v, sizeof(*v) * (size_t)l->n);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct fetch_response_aborted_transaction){ t->producer_id, t->first_offset };
}

/* read_committed: the transactions aborted within what was read (an empty
 * list when nothing was), so the client can drop their records. */
static void report_aborted(arena_t *a, partition_log_t *pl, int64_t from, const log_read_t *rd,
                           struct fetch_response_partition_data *out)
{
    aborted_list_t l = { a, NULL, 0, 0 };
    if (rd && rd->len > 0)
        plog_aborted_txns(pl, from, rd->file_off, rd->len, add_aborted, &l);
    out->aborted_transactions_count = l.n;
    out->aborted_transactions = l.v;
}

static const char *topic_of(request_t *req, const struct fetch_request_fetch_topic *ft);

/* leader.replication.throttled.replicas names this partition on this
 * broker. */
static bool leader_throttled_partition(broker_t *b, const char *topic, int32_t partition)
{
    const mc_topic_t *t = mc_find_topic(topic);
    return t && rq_throttled(mc_topic_config(t, "leader.replication.throttled.replicas"), partition,
                             b->cfg->broker_id);
}

/* A follower out of the ISR fetching a throttled partition while the
 * leader replication rate is over its bound. */
static bool leader_throttles(broker_t *b, const char *topic, partition_t *p, int32_t replica_id)
{
    for (int i = 0; i < p->n_isr; i++)
        if (p->isr[i] == replica_id)
            return false;
    return leader_throttled_partition(b, topic, p->id) && rq_exceeded(RQ_LEADER);
}

/* Kafka's sizeOfThrottledPartitions, recorded against the leader rate. */
static void record_leader_throttled(parked_fetch_t *pf, const struct fetch_response *resp)
{
    int64_t bytes = 0;
    for (int i = 0; i < resp->responses_count && i < pf->rq.topics_count; i++) {
        const char *topic = topic_of(pf->req, &pf->rq.topics[i]);
        for (int k = 0; topic && k < resp->responses[i].partitions_count; k++) {
            const struct fetch_response_partition_data *pd = &resp->responses[i].partitions[k];
            if (pd->records.len > 0 &&
                leader_throttled_partition(pf->broker, topic, pd->partition_index))
                bytes += pd->records.len;
        }
    }
    rq_record(RQ_LEADER, bytes);
}

static void fetch_partition(broker_t *b, request_t *req, const char *topic, int32_t replica_id,
                            bool read_committed, const struct fetch_request_fetch_partition *in,
                            struct fetch_response_partition_data *out, int32_t *budget,
                            bool *first)
{
    out->partition_index = in->partition;
    out->high_watermark = -1;
    out->last_stable_offset = -1;
    out->log_start_offset = -1;
    out->aborted_transactions_count = -1;
    out->preferred_read_replica = -1;
    out->records = (krecords_t){ NULL, 0, -1, 0 };
    bool follower = replica_id >= 0;
    /* Kafka: a follower needs CLUSTER_ACTION on the cluster, a consumer
     * READ on the topic; either way a refusal is the partition's error. */
    if (follower ? !authorize(req, ACL_OP_CLUSTER_ACTION, ACL_RES_CLUSTER, ACL_CLUSTER_NAME)
                 : !authorize(req, ACL_OP_READ, ACL_RES_TOPIC, topic)) {
        out->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, in->partition, in->current_leader_epoch, &err);
    if (!p) {
        out->error_code = err;
        return;
    }
    if (follower && !pl_is_replica(p, replica_id)) {
        out->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    int16_t refusal = follower ? 0 : fetch_conversion_refusal(b, topic,
                                                              req->hdr.request_api_version);
    if (refusal) {
        out->error_code = refusal;
        return;
    }
    int64_t hw = p->high_watermark;
    int64_t lso = rm_last_stable_offset(p);
    out->high_watermark = hw;
    out->last_stable_offset = lso;
    out->log_start_offset = p->log->log_start_offset;
    if (follower && diverged(p, in, out))
        return;
    read_committed = read_committed && !follower;
    if (follower && leader_throttles(b, topic, p, replica_id)) {
        /* Kafka's shouldLeaderThrottle: nothing read, the follower's
         * position still noted. */
        pl_follower_fetched(b, p, replica_id, in->fetch_offset, in->log_start_offset);
        return;
    }
    int32_t max = MIN(in->partition_max_bytes, *budget);
    int64_t upto = follower ? p->log->log_end_offset : read_committed ? lso : hw;
    log_read_t rd = { -1, 0, 0 };
    err = max <= 0 && !*first ? KERR_NONE
          : plog_read(p->log, in->fetch_offset, upto, max > 0 ? max : 1, *first, &rd);
    if (read_committed && err == KERR_NONE)
        report_aborted(&req->arena, p->log, in->fetch_offset, &rd, out);
    if (follower && err == KERR_NONE)
        pl_follower_fetched(b, p, replica_id, in->fetch_offset, in->log_start_offset);
    if (err || (max <= 0 && !*first)) {
        out->error_code = err;
        return;
    }
    if (rd.len > 0) {
        out->records = (krecords_t){ NULL, rd.len, rd.fd, rd.file_off };
        *budget -= rd.len;
        *first = false;
    }
}

/* Builds the response into req->resp; returns the record bytes it holds
 * and whether any partition had an error. */
/* The topic a fetch names: by name, or by id from v13 (NULL if unknown). */
static const char *topic_of(request_t *req, const struct fetch_request_fetch_topic *ft)
{
    if (req->hdr.request_api_version < 13)
        return kstr_dup_or_empty(&req->arena, ft->topic);
    const mc_topic_t *t = mc_find_topic_by_id(ft->topic_id);
    return t ? t->name : NULL;
}

static int32_t replica_of(int16_t v, const struct fetch_request *rq)
{
    return v >= 15 ? (rq->has_replica_state ? rq->replica_state.replica_id : -1) : rq->replica_id;
}

static int64_t fetch_build(broker_t *b, request_t *req, const struct fetch_request *rq,
                           struct fetch_response *out, bool *had_error)
{
    int16_t v = req->hdr.request_api_version;
    struct fetch_response resp;
    fetch_response_defaults(&resp);
    int32_t budget = rq->max_bytes;     /* the effective limit (api_fetch) */
    bool first = true;
    int64_t bytes = 0;
    *had_error = false;
    int nt = rq->topics_count > 0 ? rq->topics_count : 0;
    resp.responses_count = nt;
    resp.responses = fetch_response_fetchable_topic_response_array(&req->arena, nt);
    for (int i = 0; i < nt; i++) {
        const struct fetch_request_fetch_topic *ft = &rq->topics[i];
        struct fetch_response_fetchable_topic_response *tr = &resp.responses[i];
        const char *topic = topic_of(req, ft);
        tr->topic = ft->topic;
        tr->topic_id = ft->topic_id;
        int np = ft->partitions_count > 0 ? ft->partitions_count : 0;
        tr->partitions_count = np;
        tr->partitions = fetch_response_partition_data_array(&req->arena, np);
        for (int p = 0; p < np; p++) {
            if (!topic) {
                tr->partitions[p].partition_index = ft->partitions[p].partition;
                tr->partitions[p].error_code = KERR_UNKNOWN_TOPIC_ID;
                tr->partitions[p].high_watermark = -1;
                tr->partitions[p].last_stable_offset = -1;
                tr->partitions[p].log_start_offset = -1;
                tr->partitions[p].preferred_read_replica = -1;
                tr->partitions[p].records = (krecords_t){ NULL, 0, -1, 0 };
                *had_error = true;
                continue;
            }
            fetch_partition(b, req, topic, replica_of(v, rq), v >= 4 && rq->isolation_level == 1,
                            &ft->partitions[p], &tr->partitions[p], &budget, &first);
            bytes += tr->partitions[p].records.len;
            *had_error |= tr->partitions[p].error_code != 0 ||
                          tr->partitions[p].has_diverging_epoch;
        }
    }
    *out = resp;
    return bytes;
}

/* A consumer's answer counts against its consumer_byte_rate and its time
 * against request_percentage (Kafka sizes the answer before its session
 * drops partitions without news; samsa sizes it the same way).  Over
 * either quota the answer is empty and says how long to back off. */
static bool fetch_throttled(parked_fetch_t *pf, struct fetch_response *resp)
{
    request_t *req = pf->req;
    if (pf->replica_id >= 0 || pf->session.error || !cq_active())
        return false;
    kw_reset(&req->resp);
    fetch_response_encode(&req->resp, req->hdr.request_api_version, resp);
    int32_t ms = quota_fetch(req, kw_total(&req->resp));
    if (ms <= 0)
        return false;
    fetch_response_defaults(resp);
    resp->throttle_time_ms = ms;
    fs_throttled(&pf->session, resp);
    return true;
}

/* The response goes out: quotas and its session have their say first. */
static void fetch_send(parked_fetch_t *pf, struct fetch_response *resp)
{
    request_t *req = pf->req;
    if (pf->replica_id >= 0)
        record_leader_throttled(pf, resp);
    if (!fetch_throttled(pf, resp))
        fs_finish(&pf->session, &pf->rq, resp,
                  pf->broker->cfg->max_incremental_fetch_session_cache_slots);
    kw_reset(&req->resp);
    fetch_response_encode(&req->resp, req->hdr.request_api_version, resp);
}

/* Kafka's DelayedFetch.tryComplete: complete when a partition stopped being
 * ours or moved to another segment, or when the bytes readable past every
 * fetch position reach fetch.min.bytes. */
static bool fetch_try_complete(delayed_op_t *op)
{
    parked_fetch_t *pf = (parked_fetch_t *)op;
    int64_t accumulated = 0;
    for (int i = 0; i < pf->n_points; i++) {
        const fetch_point_t *fp = &pf->points[i];
        partition_t *p = fp->p;
        if (!p || !p->log || p->leader != pf->broker->cfg->broker_id)
            return true;
        int64_t base, end;
        int64_t upto = pf->replica_id >= 0 ? p->log->log_end_offset
                       : pf->rq.isolation_level == 1 ? rm_last_stable_offset(p)
                                                     : p->high_watermark;
        if (pf->replica_id >= 0 && leader_throttles(pf->broker, p->topic, p, pf->replica_id))
            continue;           /* Kafka's DelayedFetch: throttled bytes do not count */
        plog_position(p->log, upto, &base, &end);
        if (base != fp->seg_base)
            return true;
        if (end > fp->pos)
            accumulated += MIN(end - fp->pos, (int64_t)fp->max_bytes);
    }
    return accumulated >= pf->rq.min_bytes;
}

/* Fetch v0-v3: the records were down-converted; the answer goes out. */
static void fetch_converted(void *arg)
{
    parked_fetch_t *pf = arg;
    pf->conversion = NULL;
    fetch_send(pf, &pf->resp);
    pf->req->parked = NULL;
    request_complete(pf->req);
}

/* Sends resp, or for a legacy client first down-converts its records on
 * the disk thread; true if the answer is sent now. */
static bool fetch_answer(parked_fetch_t *pf, struct fetch_response *resp)
{
    request_t *req = pf->req;
    int8_t magic = fetch_magic_for_version(req->hdr.request_api_version);
    if (magic < 2 && pf->replica_id < 0) {
        pf->resp = *resp;
        pf->conversion = fetch_convert(&req->arena, &pf->resp, &pf->rq, magic, fetch_converted, pf);
        if (pf->conversion) {
            req->parked = pf;
            req->cancel = fetch_cancel;
            return false;
        }
    }
    fetch_send(pf, resp);
    return true;
}

static void fetch_on_complete(delayed_op_t *op, bool expired)
{
    (void)expired;
    parked_fetch_t *pf = (parked_fetch_t *)op;
    request_t *req = pf->req;
    bool err;
    struct fetch_response resp;
    fetch_build(pf->broker, req, &pf->rq, &resp, &err);
    if (!fetch_answer(pf, &resp))
        return;
    req->parked = NULL;
    request_complete(req);
}

void fetch_cancel(request_t *req)
{
    parked_fetch_t *pf = req->parked;
    if (pf && pf->conversion)
        fetch_conversion_cancel(pf->conversion);
    else if (pf)
        purgatory_cancel(&pf->op);
    req->parked = NULL;
}

/* Remembers where each requested partition is read from; *watch gets the
 * partitions to watch.  Returns their number. */
static int fetch_points(parked_fetch_t *pf, partition_t ***watch_out)
{
    request_t *req = pf->req;
    int n = 0;
    for (int i = 0; i < pf->rq.topics_count; i++)
        n += pf->rq.topics[i].partitions_count > 0 ? pf->rq.topics[i].partitions_count : 0;
    pf->points = arena_array(&req->arena, (size_t)n + 1, sizeof(fetch_point_t));
    partition_t **watch = arena_array(&req->arena, (size_t)n + 1, sizeof(*watch));
    *watch_out = watch;
    int k = 0;
    for (int i = 0; i < pf->rq.topics_count; i++) {
        const struct fetch_request_fetch_topic *ft = &pf->rq.topics[i];
        const char *topic = topic_of(req, ft);
        for (int j = 0; j < ft->partitions_count; j++) {
            const struct fetch_request_fetch_partition *in = &ft->partitions[j];
            partition_t *p = topic ? rm_partition(topic, in->partition) : NULL;
            fetch_point_t *fp = &pf->points[k];
            fp->p = p;
            fp->max_bytes = in->partition_max_bytes;
            if (p && p->log)
                plog_position(p->log, in->fetch_offset, &fp->seg_base, &fp->pos);
            watch[k++] = p;
        }
    }
    pf->n_points = k;
    return k;
}

enum handler_result api_fetch(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    parked_fetch_t *pf = arena_alloc(&req->arena, sizeof(*pf));
    memset(pf, 0, sizeof(*pf));
    if (fetch_request_decode(&req->body, v, &pf->rq) < 0)
        return REQ_CLOSE;
    pf->req = req;
    pf->broker = b;
    pf->replica_id = replica_of(v, &pf->rq);
    /* Kafka's limits: the request's (v3+), fetch.max.bytes, and for a
     * consumer what its quota lets through in one window (asking for more
     * would be throttled however the window started). */
    int32_t max = MIN(v >= 3 ? pf->rq.max_bytes : INT32_MAX, b->cfg->fetch_max_bytes);
    if (pf->replica_id < 0)
        max = MIN(max, quota_fetch_max_bytes(req));
    pf->rq.max_bytes = max;
    pf->rq.min_bytes = MIN(pf->rq.min_bytes, max);
    fs_begin(&req->arena, v, &pf->rq, pf->replica_id, b->cfg->max_incremental_fetch_session_cache_slots,
             &pf->session);
    bool err;
    struct fetch_response resp;
    int64_t bytes = pf->session.error ? 0 : fetch_build(b, req, &pf->rq, &resp, &err);
    if (pf->session.error || err || bytes >= pf->rq.min_bytes || pf->rq.max_wait_ms <= 0 ||
        b->shutting_down) {
        if (pf->session.error)
            fetch_response_defaults(&resp);
        return fetch_answer(pf, &resp) ? REQ_DONE : REQ_PARKED;
    }
    pf->op.try_complete = fetch_try_complete;
    pf->op.on_complete = fetch_on_complete;
    partition_t **watch;
    int n = fetch_points(pf, &watch);
    req->parked = pf;
    req->cancel = fetch_cancel;
    /* Completed at once or watching: either way the request is answered
     * through request_complete(). */
    purgatory_try_or_watch(b->base, &pf->op, watch, n, pf->rq.max_wait_ms);
    return REQ_PARKED;
}
