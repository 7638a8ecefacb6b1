/*
 * log_txn.h - a partition log's transactions: every batch appended or
 * replayed enters the producer state (markers are read from the batch);
 * an aborted transaction enters the .txnindex of the segment holding its
 * marker; read_committed reads stop at the last stable offset and learn
 * the aborted transactions their data overlaps (Kafka's
 * collectAbortedTransactions).
 * Event-loop thread, or the thread opening the log.
 */
#ifndef SAMSA_LOG_TXN_H
#define SAMSA_LOG_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "log_partition.h"
#include "record_batch.h"


/* The batch h of segment seg (at byte pos; batch is its bytes, or NULL to
 * read a control batch from the segment) enters the producer state.  An
 * aborted transaction it completes goes to seg's .txnindex when
 * index_aborted.  0, or -1 if a marker cannot be read or indexed. */
int plog_note_batch(partition_log_t *pl, log_segment_t *seg, const batch_header_t *h,
                    const uint8_t *batch, int64_t pos, bool index_aborted);
/* The last stable offset given the high watermark hw. */
int64_t plog_last_stable_offset(partition_log_t *pl, int64_t hw);
/* Calls fn for every aborted transaction a read of `len` bytes from byte
 * `pos` of the segment holding offset `from` must report: those ending at
 * or after `from` and beginning before the read's upper bound (the offset
 * index entry past its end, else the next segment's base or the log end). */
void plog_aborted_txns(partition_log_t *pl, int64_t from, int64_t pos, int32_t len,
                       void (*fn)(const aborted_txn_t *t, void *arg), void *arg);

/* A leader's commit or abort marker for pid (WriteTxnMarkers), checked as
 * Kafka's appendEndTxnMarker: an older producer epoch gets
 * INVALID_PRODUCER_EPOCH, an older coordinator epoch
 * TRANSACTION_COORDINATOR_FENCED.  *offset is the marker's.  Event-loop
 * thread. */
int16_t plog_append_marker(partition_log_t *pl, int64_t pid, int16_t epoch,
                           int32_t coordinator_epoch, bool commit, int32_t leader_epoch,
                           int64_t *offset);
/* A coordinator's batch of n records (prod NULL: no producer; else its
 * transactional batch), built, appended and noted.  First offset or -1. */
int64_t plog_append_records(partition_log_t *pl, const batch_kv_t *recs, int n,
                            const batch_producer_t *prod, int32_t leader_epoch);

#endif
