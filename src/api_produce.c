/*
 * api_produce.c - owns Produce: per-partition validation of record batches,
 * appends to the leader's log (found through the replica manager) with
 * offsets assigned in place, and the response (none for acks=0).
 * Event-loop thread only.
 *
 * acks=-1 (Kafka's DelayedProduce): the partition must have at least
 * min.insync.replicas in its ISR before the append (NOT_ENOUGH_REPLICAS),
 * and the answer waits in the purgatory until the high watermark passes
 * the appended batch -- every ISR member has it -- or timeout_ms passes
 * (REQUEST_TIMED_OUT); an ISR that shrank below min.insync.replicas
 * meanwhile gives NOT_ENOUGH_REPLICAS_AFTER_APPEND, a lost leadership
 * NOT_LEADER_OR_FOLLOWER.
 */
#include <string.h>

#include "api.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "replica_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "topic_admin.h"
#include "net.h"
#include "proto_messages.h"
#include "purgatory.h"
#include "record_batch.h"
#include "util.h"

/* A partition of an acks=-1 produce waiting for its ISR. */
typedef struct ack_wait {
    partition_t *p;
    int64_t required;           /* the high watermark that covers the batch */
    int32_t leader_epoch;
    struct produce_response_partition_produce_response *out;
    bool done;
} ack_wait_t;

typedef struct parked_produce {
    delayed_op_t op;            /* first: the purgatory hands back &op */
    request_t *req;
    broker_t *broker;
    struct produce_response resp;
    ack_wait_t *waits;
    int n_waits;
} parked_produce_t;

static void produce_partition(broker_t *b, request_t *req, mc_topic_t *t, const char *topic,
                              int16_t acks, struct produce_request_partition_produce_data *in,
                              struct produce_response_partition_produce_response *out,
                              parked_produce_t *pp)
{
    int16_t v = req->hdr.request_api_version;
    out->index = in->index;
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    out->log_start_offset = -1;
    if (!t || in->index < 0 || in->index >= t->n_partitions) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (topic_is_internal(topic) && !kstr_eq_cstr(req->hdr.client_id, ADMIN_CLIENT_ID)) {
        /* As Kafka's ReplicaManager: only the broker itself writes there. */
        out->error_code = KERR_INVALID_TOPIC_EXCEPTION;
        out->error_message = kstr_from_cstr("Cannot append to internal topic");
        log_info("produce", "Rejected produce to internal topic %s-%d from %s "
                            "(INVALID_TOPIC_EXCEPTION)", topic, in->index, conn_peer(req->conn));
        return;
    }
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, in->index, -1, &err);
    if (!p) {
        out->error_code = err;
        return;
    }
    partition_log_t *pl = p->log;
    int32_t min_isr = pl_min_isr(b, p);
    if (acks == -1 && p->n_isr < min_isr) {
        out->error_code = KERR_NOT_ENOUGH_REPLICAS;
        log_info("produce", "Rejected acks=all produce to %s-%d from %s: the ISR has %d of the %d "
                 "replicas min.insync.replicas requires (NOT_ENOUGH_REPLICAS)", topic, in->index,
                 conn_peer(req->conn), p->n_isr, min_isr);
        return;
    }
    if (in->records.len <= 0) {
        out->error_code = KERR_CORRUPT_MESSAGE;
        return;
    }
    produce_validation_t val;
    batch_validate_produce(in->records.ptr, in->records.len, v, t->settings.max_message_bytes,
                           t->settings.compacted, &val);
    if (val.error) {
        out->error_code = val.error;
        out->error_message = kstr_from_cstr(val.reason);
        log_info("produce", "Rejected produce to %s-%d from %s: %s (%s)", topic, in->index,
                 conn_peer(req->conn), val.reason, kafka_error_name(val.error));
        return;
    }
    bool append_time = t->settings.log_append_time;
    int64_t now = now_ms();
    bool idempotent = val.producer_id >= 0 && val.n_batches == 1;
    /* Sequences wrap to 0 after INT32_MAX. */
    int32_t last_seq = (int32_t)(((int64_t)val.base_sequence + val.last_offset_delta) %
                                 ((int64_t)INT32_MAX + 1));
    if (idempotent) {
        int64_t dup_offset = -1;
        int16_t perr = 0;
        switch (pstate_check(pl->pstate, val.producer_id, val.producer_epoch, val.base_sequence,
                             last_seq, val.transactional, &dup_offset, &perr)) {
        case PSTATE_DUPLICATE:
            out->base_offset = dup_offset;
            out->log_start_offset = pl->log_start_offset;
            return;
        case PSTATE_ERROR:
            out->error_code = perr;
            log_info("produce", "Rejected produce to %s-%d from %s: producer %lld epoch %d "
                                "sequence %d (%s)", topic, in->index, conn_peer(req->conn),
                     (long long)val.producer_id, val.producer_epoch, val.base_sequence,
                     kafka_error_name(perr));
            return;
        case PSTATE_APPEND:
            break;
        }
    }
    int64_t base = plog_append(pl, in->records.ptr, in->records.len, val.n_records,
                               val.max_timestamp, val.offset_of_max_timestamp_delta,
                               p->leader_epoch, append_time, now);
    if (base < 0) {
        out->error_code = KERR_UNKNOWN_SERVER_ERROR;
        out->error_message = kstr_from_cstr("Log append failed (I/O error)");
        return;
    }
    if (idempotent)
        pstate_update(pl->pstate, &(pstate_batch_t){ val.producer_id, val.producer_epoch,
                                                     val.base_sequence, last_seq, base,
                                                     base + val.n_records - 1,
                                                     append_time ? now : val.max_timestamp,
                                                     val.transactional });
    out->base_offset = base;
    out->log_append_time_ms = append_time ? now : -1;
    out->log_start_offset = pl->log_start_offset;
    rm_appended(b, p);
    if (acks == -1)
        pp->waits[pp->n_waits++] = (ack_wait_t){ p, base + val.n_records, p->leader_epoch, out, false };
}

/* Kafka's DelayedProduce.tryComplete: every waiting partition is resolved. */
static bool produce_try_complete(delayed_op_t *op)
{
    parked_produce_t *pp = (parked_produce_t *)op;
    bool all = true;
    for (int i = 0; i < pp->n_waits; i++) {
        ack_wait_t *w = &pp->waits[i];
        if (w->done)
            continue;
        partition_t *p = w->p;
        if (p->leader != pp->broker->cfg->broker_id || p->leader_epoch != w->leader_epoch) {
            w->out->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
            w->done = true;
        } else if (p->high_watermark >= w->required) {
            if (p->n_isr < pl_min_isr(pp->broker, p))
                w->out->error_code = KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
            w->done = true;
        } else {
            all = false;
        }
    }
    return all;
}

static void produce_on_complete(delayed_op_t *op, bool expired)
{
    parked_produce_t *pp = (parked_produce_t *)op;
    request_t *req = pp->req;
    for (int i = 0; expired && i < pp->n_waits; i++)
        if (!pp->waits[i].done) {
            pp->waits[i].out->error_code = KERR_REQUEST_TIMED_OUT;
            pp->waits[i].out->base_offset = -1;
        }
    kw_reset(&req->resp);
    produce_response_encode(&req->resp, req->hdr.request_api_version, &pp->resp);
    req->parked = NULL;
    request_complete(req);
}

static void produce_cancel(request_t *req)
{
    parked_produce_t *pp = req->parked;
    if (pp)
        purgatory_cancel(&pp->op);
    req->parked = NULL;
}

enum handler_result api_produce(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct produce_request rq;
    if (produce_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    parked_produce_t *pp = arena_alloc(&req->arena, sizeof(*pp));
    memset(pp, 0, sizeof(*pp));
    struct produce_response *resp = &pp->resp;
    produce_response_defaults(resp);
    int16_t acks_error = 0;
    if (rq.acks != 0 && rq.acks != 1 && rq.acks != -1) {
        acks_error = KERR_INVALID_REQUIRED_ACKS;
        log_info("produce", "Rejected produce from %s: acks=%d (INVALID_REQUIRED_ACKS)",
                 conn_peer(req->conn), rq.acks);
    }
    int nt = rq.topic_data_count > 0 ? rq.topic_data_count : 0;
    resp->responses_count = nt;
    resp->responses = produce_response_topic_produce_response_array(&req->arena, nt);
    if (rq.acks == -1) {
        int64_t total = 0;
        for (int i = 0; i < nt; i++)
            total += MAX(rq.topic_data[i].partition_data_count, 0);
        pp->waits = arena_array(&req->arena, (size_t)total + 1, sizeof(ack_wait_t));
    }
    for (int i = 0; i < nt; i++) {
        struct produce_request_topic_produce_data *td = &rq.topic_data[i];
        struct produce_response_topic_produce_response *tr = &resp->responses[i];
        const char *topic = kstr_dup_or_empty(&req->arena, td->name);
        mc_topic_t *t = mc_find_topic(topic);
        tr->name = td->name;
        int np = td->partition_data_count > 0 ? td->partition_data_count : 0;
        tr->partition_responses_count = np;
        tr->partition_responses =
            produce_response_partition_produce_response_array(&req->arena, np);
        for (int p = 0; p < np; p++) {
            struct produce_response_partition_produce_response *pr = &tr->partition_responses[p];
            if (acks_error) {
                pr->index = td->partition_data[p].index;
                pr->error_code = acks_error;
                pr->base_offset = -1;
                continue;
            }
            produce_partition(b, req, t, topic, rq.acks, &td->partition_data[p], pr, pp);
        }
    }
    if (rq.acks == 0) {
        req->no_response = true;
        return REQ_DONE;
    }
    pp->req = req;
    pp->broker = b;
    pp->op.try_complete = produce_try_complete;
    pp->op.on_complete = produce_on_complete;
    if (pp->n_waits == 0 || produce_try_complete(&pp->op)) {
        produce_response_encode(&req->resp, v, &pp->resp);
        return REQ_DONE;
    }
    partition_t **watch = arena_array(&req->arena, (size_t)pp->n_waits + 1, sizeof(*watch));
    for (int i = 0; i < pp->n_waits; i++)
        watch[i] = pp->waits[i].p;
    req->parked = pp;
    req->cancel = produce_cancel;
    purgatory_try_or_watch(b->base, &pp->op, watch, pp->n_waits, MAX(rq.timeout_ms, 1));
    return REQ_PARKED;
}
