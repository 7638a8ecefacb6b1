/*
 * api_offsets.c - owns ListOffsets: latest (-1), earliest (-2, -4), max
 * timestamp (-3, v7) and by-timestamp lookups (the first record at or
 * after the time, searched inside the batch the time index points to),
 * plus the v0 "old style offsets" form.  Clients see up to the high
 * watermark or, read_committed, the last stable offset; answers carry the
 * epoch Kafka gives (the found batch's, the current one for latest, the
 * earliest cached one for earliest); the client's current leader epoch is
 * checked (replica_manager.h).
 *
 * Partial: v0's timestamp lookups answer the last fetchable offset, not
 * Kafka's segment modification times (legacyFetchOffsetsBefore); no
 * modern client sends them.
 * Event-loop thread only.
 */
#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "replica_manager.h"
#include "metadata_cache.h"
#include "proto_messages.h"

enum { LATEST = -1, EARLIEST = -2, MAX_TIMESTAMP = -3, EARLIEST_LOCAL = -4, LATEST_TIERED = -5 };
enum { CONSUMER_REPLICA_ID = -1, READ_COMMITTED = 1 };

/* Whether this version may ask for this special timestamp (Kafka's
 * isListOffsetsTimestampUnsupported). */
static bool timestamp_supported(int64_t ts, int16_t v)
{
    return !((ts == MAX_TIMESTAMP && v < 7) || (ts == EARLIEST_LOCAL && v < 8) ||
             (ts == LATEST_TIERED && v < 9));
}

/* The log start offset's epoch: the earliest cached epoch if it starts at
 * or before the log start, else none (Kafka's fetchOffsetByTimestamp). */
static int32_t earliest_epoch(const partition_log_t *pl)
{
    const epoch_cache_t *c = &pl->epochs;
    return c->n > 0 && c->v[0].start_offset <= pl->log_start_offset ? c->v[0].epoch : -1;
}

/* A lookup by time (a target, or -3 for the largest): 1 found, 0 none,
 * -1 on a read error. */
static int lookup_time(partition_log_t *pl, int64_t ts, timestamp_offset_t *found)
{
    return ts == MAX_TIMESTAMP ? plog_max_timestamp(pl, found)
                               : plog_offset_for_timestamp(pl, ts, found);
}

/* Kafka's Partition.fetchOffsetForTimestamp: clients see offsets below the
 * high watermark (read_uncommitted) or the last stable offset
 * (read_committed); a replica (replica_id >= 0) sees the whole log. */
static void list_partition(broker_t *b, request_t *req, const char *topic,
                           const struct list_offsets_request *rq,
                           const struct list_offsets_request_list_offsets_partition *in,
                           struct list_offsets_response_list_offsets_partition_response *out)
{
    int16_t v = req->hdr.request_api_version;
    out->partition_index = in->partition_index;
    out->timestamp = -1;
    out->offset = -1;
    out->leader_epoch = -1;
    if (!authorize(req, ACL_OP_DESCRIBE, ACL_RES_TOPIC, topic)) {
        out->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    if (!timestamp_supported(in->timestamp, v)) {
        out->error_code = KERR_UNSUPPORTED_VERSION;
        return;
    }
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, in->partition_index, in->current_leader_epoch, &err);
    if (!p) {
        out->error_code = err;
        return;
    }
    partition_log_t *pl = p->log;
    bool client = rq->replica_id == CONSUMER_REPLICA_ID;
    int64_t last_fetchable = !client ? pl->log_end_offset
                             : rq->isolation_level == READ_COMMITTED ? rm_last_stable_offset(p)
                                                                     : p->high_watermark;
    /* After an election the new leader's high watermark may lag the start
     * of its epoch: clients are told to retry rather than given an offset. */
    int16_t lagging = client && p->leader_epoch_start > p->high_watermark
                      ? (v >= 5 ? KERR_OFFSET_NOT_AVAILABLE : KERR_LEADER_NOT_AVAILABLE) : KERR_NONE;
    if (v == 0) {
        int64_t off = in->timestamp == EARLIEST ? pl->log_start_offset : last_fetchable;
        out->old_style_offsets_count = 1;
        out->old_style_offsets = arena_array(&req->arena, 1, sizeof(int64_t));
        out->old_style_offsets[0] = off;
        return;
    }
    if (in->timestamp == LATEST) {
        out->error_code = lagging;
        if (!lagging) {
            out->offset = last_fetchable;
            out->leader_epoch = p->leader_epoch;
        }
        return;
    }
    if (in->timestamp == EARLIEST || in->timestamp == EARLIEST_LOCAL) {
        out->offset = pl->log_start_offset;
        out->leader_epoch = earliest_epoch(pl);
        return;
    }
    if (in->timestamp == LATEST_TIERED)
        return;         /* no tiered storage: offset -1, as Kafka */
    timestamp_offset_t found;
    int rc = lookup_time(pl, in->timestamp, &found);
    if (rc < 0) {
        out->error_code = KERR_KAFKA_STORAGE_ERROR;
        return;
    }
    if (rc == 0 || found.offset >= last_fetchable) {
        out->error_code = lagging;
        return;
    }
    out->offset = found.offset;
    out->timestamp = found.timestamp;
    out->leader_epoch = found.leader_epoch;
}

enum handler_result api_list_offsets(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct list_offsets_request rq;
    if (list_offsets_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct list_offsets_response resp;
    list_offsets_response_defaults(&resp);
    int nt = rq.topics_count > 0 ? rq.topics_count : 0;
    resp.topics_count = nt;
    resp.topics = list_offsets_response_list_offsets_topic_response_array(&req->arena, nt);
    for (int i = 0; i < nt; i++) {
        struct list_offsets_request_list_offsets_topic *it = &rq.topics[i];
        struct list_offsets_response_list_offsets_topic_response *ot = &resp.topics[i];
        const char *topic = kstr_dup_or_empty(&req->arena, it->name);
        ot->name = it->name;
        int np = it->partitions_count > 0 ? it->partitions_count : 0;
        ot->partitions_count = np;
        ot->partitions =
            list_offsets_response_list_offsets_partition_response_array(&req->arena, np);
        for (int p = 0; p < np; p++)
            list_partition(b, req, topic, &rq, &it->partitions[p], &ot->partitions[p]);
    }
    list_offsets_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
