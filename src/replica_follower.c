/*
 * replica_follower.c - owns what a follower does with what its fetcher
 * brought (rf_apply, the one path fetched data takes into a log): Kafka's
 * truncation on a diverging epoch (AbstractFetcherThread.
 * getOffsetTruncationState), truncation after an out-of-range fetch, the
 * append of the leader's batches as they are, and the follower's high
 * watermark (the leader's, capped at its own log end).
 * Event-loop thread only.
 */
#include <inttypes.h>

#include "kafka_errors.h"
#include "leader_epoch.h"
#include "log_retention.h"
#include "logging.h"
#include "replica_fetcher.h"
#include "replica_manager.h"
#include "replication_quota.h"
#include "util.h"

/* Where to truncate for the leader's (epoch, end offset) of divergence. */
static int64_t truncation_offset(partition_t *p, int32_t leader_epoch, int64_t leader_end)
{
    partition_log_t *pl = p->log;
    int64_t leo = pl->log_end_offset;
    if (leader_end < 0) {
        log_warn("replica", "Leader replied with an unknown offset for %s; truncating to the high "
                 "watermark %" PRId64, p->key, p->high_watermark);
        return MIN(p->high_watermark, leo);
    }
    if (leader_epoch < 0)
        return MIN(leader_end, leo);
    int32_t local_epoch;
    int64_t local_end = lec_end_offset_for(&pl->epochs, leader_epoch, leo, &local_epoch);
    if (local_epoch == UNDEFINED_EPOCH)
        return MIN(leader_end, leo);
    if (local_epoch != leader_epoch)
        return MIN(local_end, leo);     /* the next fetch narrows it down */
    return MIN(MIN(local_end, leader_end), leo);
}

static void truncate_to(partition_t *p, int64_t offset)
{
    if (plog_truncate_to(p->log, offset) < 0) {
        log_error("replica", "Cannot truncate %s to %" PRId64, p->key, offset);
        return;
    }
    if (p->high_watermark > p->log->log_end_offset)
        p->high_watermark = p->log->log_end_offset;
}

/* Kafka's handleOutOfRangeError below the leader's log start: the log
 * starts over empty there (truncateFullyAndStartAt), its high watermark
 * with it. */
static void start_over_at(partition_t *p, int64_t offset)
{
    if (plog_truncate_fully(p->log, offset) < 0) {
        log_error("replica", "Cannot restart the log of %s at %" PRId64, p->key, offset);
        return;
    }
    p->high_watermark = offset;
}

static void apply_one(broker_t *b, fetched_t *it)
{
    it->applied = false;
    partition_t *p = rm_partition(it->topic, it->partition);
    if (!p || !p->log || p->leader != it->leader_id || p->leader_epoch != it->leader_epoch ||
        p->leader == b->cfg->broker_id)
        return;     /* leadership moved on since the fetch was sent */
    partition_log_t *pl = p->log;
    if (it->truncate_to >= 0) {
        log_info("replica", "Fetch offset %" PRId64 " of %s is out of range at leader %d; "
                 "truncating to %" PRId64, pl->log_end_offset, p->key, it->leader_id, it->truncate_to);
        if (it->truncate_to > pl->log_end_offset)
            start_over_at(p, it->truncate_to);
        else
            truncate_to(p, it->truncate_to);
    } else if (it->diverging) {
        int64_t to = truncation_offset(p, it->diverging_epoch, it->diverging_end_offset);
        log_info("replica", "Log of %s diverges from leader %d (epoch %d ends at %" PRId64 "); "
                 "truncating to %" PRId64, p->key, it->leader_id, it->diverging_epoch,
                 it->diverging_end_offset, to);
        truncate_to(p, to);
    } else if (it->error == KERR_NONE && it->len > 0) {
        int16_t err = plog_append_replica(pl, it->records, it->len, now_ms());
        if (err) {
            log_warn("replica", "Cannot append data fetched for %s: %s", p->key,
                     kafka_error_name(err));
            it->error = err;
        }
    }
    if (it->error == KERR_NONE && !it->diverging && it->high_watermark >= 0) {
        int64_t hw = MIN(it->high_watermark, pl->log_end_offset);
        if (hw > p->high_watermark)
            p->high_watermark = hw;
    }
    /* Kafka's follower: the leader's log start offset, once the
     * follower's high watermark has reached it. */
    if (it->error == KERR_NONE && !it->diverging && it->log_start_offset >= 0 &&
        it->log_start_offset <= p->high_watermark)
        retention_increment_log_start(pl, it->log_start_offset, "LeaderOffsetIncremented");
    it->next_offset = pl->log_end_offset;
    it->own_log_start = pl->log_start_offset;
    it->last_epoch = lec_latest_epoch(&pl->epochs);
    const mc_topic_t *t = mc_find_topic(it->topic);
    it->throttled = t && rq_throttled(mc_topic_config(t, "follower.replication.throttled.replicas"),
                                      it->partition, b->cfg->broker_id);
    it->in_sync = it->high_watermark >= 0 && pl->log_end_offset >= it->high_watermark;
    it->applied = true;
}

void rf_apply(broker_t *b, fetched_t *items, int n)
{
    for (int i = 0; i < n; i++)
        apply_one(b, &items[i]);
}
