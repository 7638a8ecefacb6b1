/*
 * api_offsets.c - owns ListOffsets: latest (-1), earliest (-2), max
 * timestamp (-3, v7) and by-timestamp lookups through the time index, plus
 * the v0 "old style offsets" form; latest is the high watermark, and the
 * client's current leader epoch is checked (replica_manager.h).
 * Event-loop thread only.
 */
#include "api.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "replica_manager.h"
#include "metadata_cache.h"
#include "proto_messages.h"

enum { LATEST = -1, EARLIEST = -2, MAX_TIMESTAMP = -3 };

static void list_partition(broker_t *b, request_t *req, const char *topic, int32_t replica_id,
                           const struct list_offsets_request_list_offsets_partition *in,
                           struct list_offsets_response_list_offsets_partition_response *out)
{
    int16_t v = req->hdr.request_api_version;
    out->partition_index = in->partition_index;
    out->timestamp = -1;
    out->offset = -1;
    out->leader_epoch = -1;
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, in->partition_index, in->current_leader_epoch, &err);
    if (!p) {
        out->error_code = err;
        return;
    }
    partition_log_t *pl = p->log;
    int64_t off = -1, ts = -1;
    if (in->timestamp == LATEST) {
        /* A follower (replica_id >= 0) is told the log end, as Kafka's
         * fetchOffsetForTimestamp without an isolation level. */
        off = replica_id >= 0 ? pl->log_end_offset : p->high_watermark;
    } else if (in->timestamp == EARLIEST) {
        off = pl->log_start_offset;
    } else if (in->timestamp == MAX_TIMESTAMP) {
        ts = plog_max_timestamp(pl, &off);
    } else {
        off = plog_offset_for_timestamp(pl, in->timestamp, &ts);
    }
    if (v == 0) {
        out->old_style_offsets_count = 1;
        out->old_style_offsets = arena_array(&req->arena, 1, sizeof(int64_t));
        out->old_style_offsets[0] = off >= 0 ? off : p->high_watermark;
        return;
    }
    out->offset = off;
    out->timestamp = ts;
    if (off >= 0 && (in->timestamp == LATEST || in->timestamp == EARLIEST))
        out->timestamp = -1;
    out->leader_epoch = off >= 0 ? p->leader_epoch : -1;
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
            list_partition(b, req, topic, rq.replica_id, &it->partitions[p], &ot->partitions[p]);
    }
    list_offsets_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
