/*
 * api_offsets.c - owns ListOffsets: latest (-1), earliest (-2), max
 * timestamp (-3, v7) and by-timestamp lookups through the time index, plus
 * the v0 "old style offsets" form.  Event-loop thread only.
 */
#include "api.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "metadata_cache.h"
#include "proto_messages.h"

enum { LATEST = -1, EARLIEST = -2, MAX_TIMESTAMP = -3 };

static void list_partition(broker_t *b, request_t *req, const char *topic, mc_topic_t *t,
                           const struct list_offsets_request_list_offsets_partition *in,
                           struct list_offsets_response_list_offsets_partition_response *out)
{
    int16_t v = req->hdr.request_api_version;
    out->partition_index = in->partition_index;
    out->timestamp = -1;
    out->offset = -1;
    out->leader_epoch = -1;
    if (!t || in->partition_index < 0 || in->partition_index >= t->n_partitions) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    partition_log_t *pl = logmgr_get(topic, in->partition_index);
    if (!pl || t->parts[in->partition_index].leader != b->cfg->broker_id) {
        out->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    int64_t off = -1, ts = -1;
    if (in->timestamp == LATEST) {
        off = pl->log_end_offset;
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
        out->old_style_offsets[0] = off >= 0 ? off : pl->log_end_offset;
        return;
    }
    out->offset = off;
    out->timestamp = ts;
    if (off >= 0 && (in->timestamp == LATEST || in->timestamp == EARLIEST))
        out->timestamp = -1;
    out->leader_epoch = off >= 0 ? t->parts[in->partition_index].leader_epoch : -1;
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
        mc_topic_t *t = mc_find_topic(topic);
        ot->name = it->name;
        int np = it->partitions_count > 0 ? it->partitions_count : 0;
        ot->partitions_count = np;
        ot->partitions =
            list_offsets_response_list_offsets_partition_response_array(&req->arena, np);
        for (int p = 0; p < np; p++)
            list_partition(b, req, topic, t, &it->partitions[p], &ot->partitions[p]);
    }
    list_offsets_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
