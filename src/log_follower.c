/*
 * log_follower.c - owns the follower's side of a partition log: appending
 * a leader's batches exactly as fetched, truncating a log that diverged
 * from its leader's (with its leader epochs and producer state), and
 * writing the leader-epoch checkpoint on the disk thread.
 * Event-loop thread, except where marked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "kafka_errors.h"
#include "leader_epoch.h"
#include "log_partition.h"
#include "log_txn.h"
#include "logging.h"
#include "producer_snapshot.h"
#include "record_batch.h"
#include "util.h"

int16_t plog_append_replica(partition_log_t *pl, uint8_t *buf, int32_t len, int64_t now)
{
    int32_t pos = 0;
    bool epochs_changed = false;
    while (pos < len) {
        batch_header_t h;
        /* A leader's log may hold legacy messages an older Kafka wrote:
         * they are copied as they are, as Kafka's followers do. */
        if (log_entry_header(buf + pos, (size_t)(len - pos), &h) < 0 || h.size > len - pos)
            break;      /* a partial batch at the end of a fetch is normal */
        if (!batch_crc_ok(buf + pos, &h)) {
            log_warn("log", "Corrupt batch at offset %" PRId64 " fetched for %s-%d", h.base_offset,
                     pl->topic, pl->partition);
            return KERR_CORRUPT_MESSAGE;
        }
        int64_t last = batch_last_offset(&h);
        if (h.base_offset < pl->log_end_offset) {
            /* Kafka's UnexpectedAppendOffsetException case: a leader's log
             * start inside a batch (DeleteRecords) hands an empty log the
             * whole batch; the log restarts at the batch's base. */
            if (pl->log_end_offset != pl->log_start_offset || last < pl->log_end_offset) {
                log_error("log", "Fetched batch for %s-%d starts at %" PRId64 ", below the log "
                          "end %" PRId64, pl->topic, pl->partition, h.base_offset, pl->log_end_offset);
                return KERR_UNKNOWN_SERVER_ERROR;
            }
            log_info("log", "First offset %" PRId64 " fetched for %s-%d is below its log start "
                     "offset %" PRId64 "; the log starts at %" PRId64 " instead", h.base_offset,
                     pl->topic, pl->partition, pl->log_start_offset, h.base_offset);
            if (plog_truncate_fully(pl, h.base_offset) < 0)
                return KERR_KAFKA_STORAGE_ERROR;
        }
        /* A compacted leader's log has offset gaps: the follower keeps
         * them (appendAsFollower takes the offsets it is given), and a
         * segment rolled for the batch is named after its base offset. */
        if (plog_should_roll(pl, h.size, last, h.max_timestamp, now) &&
            plog_roll_at(pl, h.base_offset) < 0)
            return KERR_KAFKA_STORAGE_ERROR;
        epochs_changed |= lec_assign(&pl->epochs, h.partition_leader_epoch, h.base_offset);
        if (segment_append(plog_active_segment(pl), buf + pos, h.size, h.base_offset, last,
                           h.max_timestamp, last) < 0)
            return KERR_KAFKA_STORAGE_ERROR;
        pl->log_end_offset = last + 1;
        pl->unflushed += h.record_count > 0 ? h.record_count : 1;
        if (plog_note_batch(pl, plog_active_segment(pl), &h, buf + pos, 0, true) < 0)
            log_warn("log", "The transaction marker at offset %" PRId64 " of %s-%d is not "
                     "indexed; read_committed fetches may miss its abort", h.base_offset,
                     pl->topic, pl->partition);
        pos += h.size;
    }
    if (epochs_changed)
        plog_persist_epochs(pl);
    if (pl->unflushed >= pl->settings.flush_interval_messages && plog_flush(pl) < 0)
        return KERR_KAFKA_STORAGE_ERROR;
    return KERR_NONE;
}

/* Reopens a sealed segment for appends (its indexes mapped at full size). */
static log_segment_t *reopen_active(partition_log_t *pl, log_segment_t *s)
{
    int64_t base = s->base_offset;
    segment_close(s);
    log_segment_t *r = segment_open(pl->dir, base, false, true, pl->settings.index_interval_bytes,
                                    pl->settings.index_size_max_bytes);
    if (r && segment_load_tail(r) < 0) {
        segment_close(r);
        r = NULL;
    }
    return r;
}

int plog_truncate_fully(partition_log_t *pl, int64_t offset)
{
    log_info("log", "Truncating %s-%d fully to start at offset %" PRId64 " (log was %" PRId64
             " to %" PRId64 ")", pl->topic, pl->partition, offset, pl->log_start_offset,
             pl->log_end_offset);
    for (int j = pl->nsegs - 1; j >= 0; j--)
        segment_delete(pl->segs[j]);
    pl->nsegs = 0;
    pl->truncations++;
    log_segment_t *s = plog_new_segment(pl, offset, true, true);
    if (!s) {
        log_error("log", "Truncation of %s-%d failed", pl->topic, pl->partition);
        return -1;              /* the log is unusable; its partition reports errors */
    }
    if (!pl->segs)
        pl->segs = xmalloc(sizeof(*pl->segs));
    pl->segs[0] = s;
    pl->nsegs = 1;
    pl->log_start_offset = pl->log_end_offset = offset;
    pl->recovery_point = offset;
    pl->cleaned_upto = offset;
    /* Kafka's truncateFullyAndStartAt: no producer, no snapshot and no
     * leader epoch is left. */
    pstate_truncate(pl->pstate, 0);
    psnap_delete_above_in_background(pl->dir, -1);
    if (lec_truncate_from_end(&pl->epochs, INT64_MIN))
        plog_persist_epochs(pl);
    return 0;
}

int plog_truncate_to(partition_log_t *pl, int64_t offset)
{
    if (offset >= pl->log_end_offset) {
        /* Kafka's truncateTo: an epoch entry at the end with no data of its
         * own (a leader that appended nothing) still goes. */
        if (lec_truncate_from_end(&pl->epochs, pl->log_end_offset))
            plog_persist_epochs(pl);
        return 0;
    }
    if (pl->nsegs == 0 || offset < pl->segs[0]->base_offset)
        return plog_truncate_fully(pl, offset);
    log_info("log", "Truncating %s-%d to offset %" PRId64 " (log end was %" PRId64 ")", pl->topic,
             pl->partition, offset, pl->log_end_offset);
    int keep = plog_segment_for_offset(pl, offset);
    pl->truncations++;
    for (int j = pl->nsegs - 1; j > keep; j--)
        segment_delete(pl->segs[j]);
    pl->nsegs = keep + 1;
    log_segment_t *s = pl->segs[keep];
    if (!s->active)
        s = pl->segs[keep] = reopen_active(pl, s);
    if (!s || segment_truncate_to(s, offset) < 0) {
        log_error("log", "Truncation of %s-%d failed", pl->topic, pl->partition);
        if (!s)
            pl->nsegs = keep;   /* the log is unusable; its partition reports errors */
        return -1;
    }
    pl->log_end_offset = s->next_offset;
    pl->log_start_offset = MIN(pl->log_start_offset, offset);
    pl->recovery_point = MIN(pl->recovery_point, pl->log_end_offset);
    pl->cleaned_upto = MIN(pl->cleaned_upto, pl->log_end_offset);
    pstate_truncate(pl->pstate, pl->log_end_offset);
    /* Snapshots past the truncation describe batches that are gone
     * (Kafka's truncateAndReload). */
    psnap_delete_above_in_background(pl->dir, pl->log_end_offset);
    if (lec_truncate_from_end(&pl->epochs, pl->log_end_offset))
        plog_persist_epochs(pl);
    return 0;
}

typedef struct epochs_job {
    char *dir;
    epoch_entry_t *v;
    int n;
} epochs_job_t;

/* @locality the disk thread
 * @locks none (the job owns its copy) */
static void epochs_write(void *ctx)
{
    epochs_job_t *j = ctx;
    if (lec_write(j->dir, j->v, j->n) < 0 && errno != ENOENT)
        log_warn("log", "Cannot write %s/%s: %s", j->dir, LEADER_EPOCH_FILE, strerror(errno));
}

static void epochs_written(void *ctx)
{
    epochs_job_t *j = ctx;
    free(j->dir);
    free(j->v);
    free(j);
}

void plog_persist_epochs(partition_log_t *pl)
{
    epochs_job_t *j = xcalloc(1, sizeof(*j));
    j->dir = xstrdup(pl->dir);
    j->n = pl->epochs.n;
    j->v = xmalloc(sizeof(*j->v) * (size_t)(j->n + 1));
    memcpy(j->v, pl->epochs.v, sizeof(*j->v) * (size_t)j->n);
    bio_submit(epochs_write, epochs_written, j);
}
