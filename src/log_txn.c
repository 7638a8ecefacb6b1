/*
 * log_txn.c - owns what a partition log knows of transactions: the
 * producer state fed from every appended or replayed batch (Kafka's
 * ProducerAppendInfo.append), aborted transactions written to the
 * segment's .txnindex, the last stable offset and the aborted-transaction
 * list of a read_committed fetch (LocalLog.addAbortedTransactions).
 * Event-loop thread, or the thread opening the log.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "log_txn.h"
#include "logging.h"
#include "record_batch.h"
#include "kafka_errors.h"
#include "proto_codec.h"
#include "util.h"

static int note_marker(partition_log_t *pl, log_segment_t *seg, const batch_header_t *h,
                       const uint8_t *batch, int64_t pos, bool index_aborted)
{
    uint8_t *owned = NULL;
    if (!batch && !(batch = owned = segment_read_batch(seg, pos, h)))
        return -1;
    bool commit = false;
    int32_t coordinator_epoch = -1;
    int rc = batch_txn_marker(batch, h, &commit, &coordinator_epoch);
    free(owned);
    if (rc < 0) {
        log_warn("log", "Malformed transaction marker at offset %" PRId64 " of %s-%d",
                 h->base_offset, pl->topic, pl->partition);
        return -1;
    }
    if (rc == 0)
        return 0;
    completed_txn_t done;
    if (pstate_end_txn(pl->pstate, h->producer_id, h->producer_epoch, coordinator_epoch, commit,
                       h->base_offset, h->max_timestamp, &done) == 1 &&
        done.aborted && index_aborted)
        return segment_add_aborted(seg, &(aborted_txn_t){ done.pid, done.first_offset,
                                                          done.last_offset,
                                                          done.last_stable_offset });
    return 0;
}

/*
 * @locality the event-loop thread, or the thread opening the log
 * @locks none
 */
int plog_note_batch(partition_log_t *pl, log_segment_t *seg, const batch_header_t *h,
                    const uint8_t *batch, int64_t pos, bool index_aborted)
{
    if (h->producer_id < 0)
        return 0;
    if (h->attributes & BATCH_ATTR_CONTROL)
        return note_marker(pl, seg, h, batch, pos, index_aborted);
    int32_t last_seq = (int32_t)(((int64_t)h->base_sequence + h->last_offset_delta) %
                                 ((int64_t)INT32_MAX + 1));
    pstate_update(pl->pstate, &(pstate_batch_t){ h->producer_id, h->producer_epoch,
                                                 h->base_sequence, last_seq, h->base_offset,
                                                 batch_last_offset(h), h->max_timestamp,
                                                 (h->attributes & BATCH_ATTR_TRANSACTIONAL) != 0 });
    return 0;
}

int64_t plog_last_stable_offset(partition_log_t *pl, int64_t hw)
{
    int64_t first = pstate_first_unstable_offset(pl->pstate, hw);
    return first >= 0 && first < hw ? first : hw;
}

void plog_aborted_txns(partition_log_t *pl, int64_t from, int64_t pos, int32_t len,
                       void (*fn)(const aborted_txn_t *t, void *arg), void *arg)
{
    int i = plog_segment_for_offset(pl, from);
    if (i < 0)
        return;
    int64_t upper = segment_upper_bound_offset(pl->segs[i], pos + len);
    if (upper < 0)
        upper = i + 1 < pl->nsegs ? pl->segs[i + 1]->base_offset : pl->log_end_offset;
    for (; i < pl->nsegs; i++)
        if (txn_index_collect(&pl->segs[i]->aborted, from, upper, fn, arg))
            return;
}

/* Appends a batch built here (base offset 0) and notes it.  The first
 * offset, or -1 on I/O failure. */
static int64_t append_built(partition_log_t *pl, kwriter_t *w, int32_t n_records,
                            int32_t leader_epoch, int64_t now)
{
    int64_t base = plog_append(pl, w->buf, (int32_t)w->len, n_records, now, n_records - 1,
                               leader_epoch, false, now);
    if (base < 0)
        return -1;
    batch_header_t h;
    if (batch_parse_header(w->buf, w->len, &h) == 0 &&
        plog_note_batch(pl, plog_active_segment(pl), &h, w->buf, 0, true) < 0)
        log_warn("log", "The transaction marker at offset %" PRId64 " of %s-%d is not indexed",
                 base, pl->topic, pl->partition);
    return base;
}

/*
 * @locality the event-loop thread
 * @locks none
 */
int16_t plog_append_marker(partition_log_t *pl, int64_t pid, int16_t epoch,
                           int32_t coordinator_epoch, bool commit, int32_t leader_epoch,
                           int64_t *offset)
{
    int16_t cur_epoch;
    int32_t cur_coord;
    int64_t txn_first;
    if (pstate_producer_epochs(pl->pstate, pid, &cur_epoch, &cur_coord, &txn_first)) {
        /* Kafka's ProducerAppendInfo.appendEndTxnMarker. */
        if (epoch < cur_epoch)
            return KERR_INVALID_PRODUCER_EPOCH;
        if (cur_coord > coordinator_epoch)
            return KERR_TRANSACTION_COORDINATOR_FENCED;
    }
    kwriter_t w;
    kw_init(&w);
    int64_t now = now_ms();
    batch_build_marker(&w, pid, epoch, commit, coordinator_epoch, now);
    int64_t base = append_built(pl, &w, 1, leader_epoch, now);
    kw_free(&w);
    if (base < 0)
        return KERR_KAFKA_STORAGE_ERROR;
    *offset = base;
    return KERR_NONE;
}

/*
 * @locality the event-loop thread
 * @locks none
 */
int64_t plog_append_records(partition_log_t *pl, const batch_kv_t *recs, int n,
                            const batch_producer_t *prod, int32_t leader_epoch)
{
    kwriter_t w;
    kw_init(&w);
    int64_t now = now_ms();
    batch_build_as(&w, recs, n, now, prod ? prod : &(batch_producer_t){ -1, -1, -1, 0 });
    int64_t base = append_built(pl, &w, n, leader_epoch, now);
    kw_free(&w);
    return base;
}
