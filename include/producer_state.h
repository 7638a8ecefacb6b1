/*
 * producer_state.h - per-partition idempotent-producer state (Kafka's
 * ProducerStateManager): the epoch, last sequence and last 5 batches of
 * every producer id, for duplicate detection and sequence checks; and the
 * transactions in the log: each producer's open one (from its first
 * transactional batch to its commit or abort marker) and those completed
 * whose marker the high watermark has not passed, which together give the
 * last stable offset.
 * Owned by a partition_log; event-loop thread (or the thread opening it).
 *
 * Persisted as Kafka's <offset>.snapshot files (version 1: the last batch
 * of every producer; log_partition.c writes them at roll and clean shutdown
 * and reads the newest at open, then the batches after it).
 */
#ifndef SAMSA_PRODUCER_STATE_H
#define SAMSA_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct producer_state producer_state_t;

/* One appended batch of an idempotent producer. */
typedef struct pstate_batch {
    int64_t pid;
    int16_t epoch;
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp;
    bool transactional;
} pstate_batch_t;

/* A transaction a marker completed (Kafka's CompletedTxn); an aborted one
 * goes to the segment's .txnindex with last_stable_offset. */
typedef struct completed_txn {
    int64_t pid;
    int64_t first_offset;
    int64_t last_offset;        /* the marker's offset */
    int64_t last_stable_offset; /* the first offset still unstable after it */
    bool aborted;
} completed_txn_t;

producer_state_t *pstate_new(void);
void pstate_free(producer_state_t *ps);
/* Producer ids with retained state. */
int pstate_count(const producer_state_t *ps);

enum pstate_verdict { PSTATE_APPEND, PSTATE_DUPLICATE, PSTATE_ERROR };

/* Checks an idempotent batch.  PSTATE_DUPLICATE fills *dup_offset with the
 * original base offset; PSTATE_ERROR fills *error with the Kafka code. */
enum pstate_verdict pstate_check(producer_state_t *ps, int64_t pid, int16_t epoch,
                                 int32_t first_seq, int32_t last_seq, bool transactional,
                                 int64_t *dup_offset, int16_t *error);
/* Base offsets of every producer's last batch, sorted (the cleaner keeps
 * those batches, emptied if need be, so sequences survive compaction).
 * Returns the count; *out is NULL when there are none. */
int pstate_last_batch_offsets(const producer_state_t *ps, int64_t **out);
/* Producers whose state holds no batch -- their last entry is a marker of
 * a newer epoch (Kafka's LastRecord without a data offset) -- with that
 * epoch, sorted by pid; the cleaner keeps such a producer's markers of
 * that epoch, which carry its fencing state.  *out NULL when none. */
typedef struct pstate_pid_epoch {
    int64_t pid;
    int16_t epoch;
} pstate_pid_epoch_t;
int pstate_marker_only_producers(const producer_state_t *ps, pstate_pid_epoch_t **out);
/* pid's entry in such a sorted array, or NULL. */
const pstate_pid_epoch_t *pstate_pid_epoch_find(const pstate_pid_epoch_t *arr, int n, int64_t pid);
/* Records an appended batch; a transactional one opens its producer's
 * transaction if none is open. */
void pstate_update(producer_state_t *ps, const pstate_batch_t *b);
/* A commit (commit true) or abort marker at marker_offset ends pid's open
 * transaction.  1 with *done filled if one was open, 0 if not (an empty
 * transaction).  The producer takes the marker's epochs either way. */
int pstate_end_txn(producer_state_t *ps, int64_t pid, int16_t epoch, int32_t coordinator_epoch,
                   bool commit, int64_t marker_offset, int64_t timestamp, completed_txn_t *done);
/* A producer's epoch, coordinator epoch and open transaction's first
 * offset (-1: none); 0 if the producer is unknown. */
int pstate_producer_epochs(const producer_state_t *ps, int64_t pid, int16_t *epoch,
                           int32_t *coordinator_epoch, int64_t *txn_first);
/* What DescribeProducers shows of each producer (Kafka's ProducerState). */
typedef struct pstate_view {
    int64_t pid;
    int16_t epoch;
    int32_t last_sequence;      /* -1 if none */
    int64_t last_timestamp;     /* -1 if none */
    int32_t coordinator_epoch;
    int64_t txn_first;          /* the open transaction's first offset, -1 */
} pstate_view_t;
typedef void (*pstate_visit_fn)(void *arg, const pstate_view_t *v);
void pstate_foreach(const producer_state_t *ps, pstate_visit_fn fn, void *arg);
/* The first offset of the oldest transaction not yet stable below the high
 * watermark hw (open, or completed with its marker at or past hw); -1 if
 * none.  Completed ones the watermark has passed are forgotten. */
int64_t pstate_first_unstable_offset(producer_state_t *ps, int64_t hw);
/* Open transactions (for a describe and the tests). */
int pstate_open_txns(const producer_state_t *ps);
/* KIP-890 part 1.  A transactional producer's batch may open a transaction
 * here only once its coordinator confirmed the partition is in it.
 * pstate_verification_start: the guard for pid (shared by the requests
 * verifying at once), or 0 when pid's transaction is already open and no
 * verification is needed.  Every start is matched by an end (after the
 * append, or on failure); the producer's next batch or marker removes the
 * guard, so a confirmation that arrives after the transaction ended no
 * longer lets a batch in. */
uint64_t pstate_verification_start(producer_state_t *ps, int64_t pid);
void pstate_verification_end(producer_state_t *ps, int64_t pid, uint64_t guard);
/* May pid's transactional batch be appended: its transaction is open, or
 * guard is its current one (Kafka's batchMissingRequiredVerification). */
bool pstate_txn_append_allowed(const producer_state_t *ps, int64_t pid, uint64_t guard);
/* Guards outstanding (tests). */
int pstate_verifications(const producer_state_t *ps);
/* Kafka's producer snapshot (version 1, CRC-32C): a malloc()ed buffer of
 * *len bytes holding every producer's epoch and last batch. */
uint8_t *pstate_snapshot_encode(const producer_state_t *ps, size_t *len);
/* Replaces ps's producers with a snapshot's; -1 (ps unchanged) if the
 * version, size or checksum is wrong. */
int pstate_snapshot_decode(producer_state_t *ps, const uint8_t *buf, size_t len);
/* The log was truncated to `offset`: batches from there on are forgotten,
 * transactions begun there are gone and those whose marker was cut are
 * open again. */
void pstate_truncate(producer_state_t *ps, int64_t offset);

#endif
