/*
 * api_produce.c - owns Produce: per-partition validation of record batches,
 * appends to the leader's log (found through the replica manager) with
 * offsets assigned in place, and the response (none for acks=0).
 * Event-loop thread only.
 *
 * acks=-1 is accepted and answered like acks=1: with replication factor 1
 * the leader is the whole ISR (replication is a later issue).
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
#include "record_batch.h"
#include "util.h"

static void produce_partition(broker_t *b, request_t *req, mc_topic_t *t, const char *topic,
                              struct produce_request_partition_produce_data *in,
                              struct produce_response_partition_produce_response *out)
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
                             last_seq, &dup_offset, &perr)) {
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
        pstate_update(pl->pstate, val.producer_id, val.producer_epoch, val.base_sequence,
                      last_seq, base);
    out->base_offset = base;
    out->log_append_time_ms = append_time ? now : -1;
    out->log_start_offset = pl->log_start_offset;
    rm_appended(p);
}

enum handler_result api_produce(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct produce_request rq;
    if (produce_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct produce_response resp;
    produce_response_defaults(&resp);
    int16_t acks_error = 0;
    if (rq.acks != 0 && rq.acks != 1 && rq.acks != -1) {
        acks_error = KERR_INVALID_REQUIRED_ACKS;
        log_info("produce", "Rejected produce from %s: acks=%d (INVALID_REQUIRED_ACKS)",
                 conn_peer(req->conn), rq.acks);
    }
    int nt = rq.topic_data_count > 0 ? rq.topic_data_count : 0;
    resp.responses_count = nt;
    resp.responses = produce_response_topic_produce_response_array(&req->arena, nt);
    for (int i = 0; i < nt; i++) {
        struct produce_request_topic_produce_data *td = &rq.topic_data[i];
        struct produce_response_topic_produce_response *tr = &resp.responses[i];
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
            produce_partition(b, req, t, topic, &td->partition_data[p], pr);
        }
    }
    if (rq.acks == 0) {
        req->no_response = true;
        return REQ_DONE;
    }
    produce_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
