/*
 * api_delete_records.c - owns DeleteRecords (Kafka's
 * ReplicaManager.deleteRecords and DelayedDeleteRecords): the leader moves
 * each partition's log start offset up to the requested offset (-1: the
 * high watermark) and answers once every live replica's log start offset
 * (the low watermark) has reached it, or with REQUEST_TIMED_OUT after
 * timeout_ms.  The segments below go at the next retention check.
 * Event-loop thread only.
 */
#include <inttypes.h>

#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "log_retention.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "proto_messages.h"
#include "purgatory.h"
#include "replica_manager.h"
#include "topic_admin.h"
#include "util.h"

#define HIGH_WATERMARK (-1)

typedef struct delete_wait {
    partition_t *p;
    int32_t leader_epoch;
    int64_t required;
    struct delete_records_response_delete_records_partition_result *out;
    bool done;
} delete_wait_t;

typedef struct parked_delete {
    delayed_op_t op;            /* first: the purgatory hands back &op */
    request_t *req;
    broker_t *broker;
    struct delete_records_response resp;
    delete_wait_t *waits;
    int n_waits;
} parked_delete_t;

/* Kafka's deleteRecordsOnLeader for one partition: an error code, or 0
 * with the offset the low watermark must reach in *required. */
static int16_t delete_on_leader(broker_t *b, const char *topic, int32_t id, int64_t offset,
                                partition_t **pp, int64_t *required)
{
    int16_t err = KERR_NONE;
    const mc_topic_t *t = mc_find_topic(topic);
    if (!t)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (topic_is_internal(topic)) {
        log_info("admin", "DeleteRecords refused for internal topic %s", topic);
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    partition_t *p = rm_leader_for(b, topic, id, -1, &err);
    if (!p)
        return err;
    if (!t->settings.deletes) {
        log_info("admin", "Records of partition %s can not be deleted due to the configured "
                 "policy", p->key);
        return KERR_POLICY_VIOLATION;
    }
    int64_t to = offset == HIGH_WATERMARK ? p->high_watermark : offset;
    if (to < 0 || to > p->high_watermark) {
        log_info("admin", "Cannot increment the log start offset to %" PRId64 " of partition %s "
                 "since it is larger than the high watermark %" PRId64, to, p->key,
                 p->high_watermark);
        return KERR_OFFSET_OUT_OF_RANGE;
    }
    retention_increment_log_start(p->log, to, "ClientRecordDeletion");
    *pp = p;
    *required = to;
    return KERR_NONE;
}

/* Kafka's DelayedDeleteRecords.tryComplete. */
static bool delete_try_complete(delayed_op_t *op)
{
    parked_delete_t *pd = (parked_delete_t *)op;
    bool all = true;
    for (int i = 0; i < pd->n_waits; i++) {
        delete_wait_t *w = &pd->waits[i];
        if (w->done)
            continue;
        partition_t *p = w->p;
        if (p->leader != pd->broker->cfg->broker_id || p->leader_epoch != w->leader_epoch ||
            !p->log) {
            w->out->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
            w->out->low_watermark = -1;
            w->done = true;
            continue;
        }
        int64_t low = pl_low_watermark(p);
        w->out->low_watermark = low;
        if (low >= w->required)
            w->done = true;
        else
            all = false;
    }
    return all;
}

static void delete_on_complete(delayed_op_t *op, bool expired)
{
    parked_delete_t *pd = (parked_delete_t *)op;
    request_t *req = pd->req;
    for (int i = 0; expired && i < pd->n_waits; i++)
        if (!pd->waits[i].done)
            pd->waits[i].out->error_code = KERR_REQUEST_TIMED_OUT;
    kw_reset(&req->resp);
    delete_records_response_encode(&req->resp, req->hdr.request_api_version, &pd->resp);
    req->parked = NULL;
    request_complete(req);
}

static void delete_cancel(request_t *req)
{
    parked_delete_t *pd = req->parked;
    if (pd)
        purgatory_cancel(&pd->op);
    req->parked = NULL;
}

enum handler_result api_delete_records(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct delete_records_request rq;
    if (delete_records_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    parked_delete_t *pd = arena_alloc(&req->arena, sizeof(*pd));
    *pd = (parked_delete_t){ .req = req, .broker = b };
    delete_records_response_defaults(&pd->resp);
    int n_topics = MAX(rq.topics_count, 0), n_parts = 0;
    for (int i = 0; i < n_topics; i++)
        n_parts += MAX(rq.topics[i].partitions_count, 0);
    pd->resp.topics_count = n_topics;
    pd->resp.topics = delete_records_response_delete_records_topic_result_array(&req->arena, n_topics);
    pd->waits = arena_array(&req->arena, (size_t)n_parts + 1, sizeof(*pd->waits));
    for (int i = 0; i < n_topics; i++) {
        const struct delete_records_request_delete_records_topic *in = &rq.topics[i];
        struct delete_records_response_delete_records_topic_result *tr = &pd->resp.topics[i];
        const char *topic = kstr_dup_or_empty(&req->arena, in->name);
        int n = MAX(in->partitions_count, 0);
        tr->name = in->name;
        tr->partitions_count = n;
        tr->partitions = delete_records_response_delete_records_partition_result_array(&req->arena, n);
        for (int k = 0; k < n; k++) {
            struct delete_records_response_delete_records_partition_result *out = &tr->partitions[k];
            out->partition_index = in->partitions[k].partition_index;
            out->low_watermark = -1;
            partition_t *p = NULL;
            int64_t required = -1;
            out->error_code = !authorize(req, ACL_OP_DELETE, ACL_RES_TOPIC, topic)
                                  ? KERR_TOPIC_AUTHORIZATION_FAILED
                                  : delete_on_leader(b, topic, out->partition_index,
                                                     in->partitions[k].offset, &p, &required);
            if (out->error_code)
                continue;
            out->low_watermark = pl_low_watermark(p);
            pd->waits[pd->n_waits++] = (delete_wait_t){ .p = p, .leader_epoch = p->leader_epoch,
                                                        .required = required, .out = out };
        }
    }
    pd->op.try_complete = delete_try_complete;
    pd->op.on_complete = delete_on_complete;
    if (pd->n_waits == 0 || delete_try_complete(&pd->op)) {
        delete_records_response_encode(&req->resp, v, &pd->resp);
        return REQ_DONE;
    }
    partition_t **watch = arena_array(&req->arena, (size_t)pd->n_waits + 1, sizeof(*watch));
    for (int i = 0; i < pd->n_waits; i++)
        watch[i] = pd->waits[i].p;
    req->parked = pd;
    req->cancel = delete_cancel;
    purgatory_try_or_watch(b->base, &pd->op, watch, pd->n_waits, MAX(rq.timeout_ms, 1));
    return REQ_PARKED;
}
