/*
 * txn_internal.h - what the transaction coordinator's files share: the
 * transaction metadata (Kafka's TransactionMetadata), the coordinator
 * state `tc`, and the calls between txn_coordinator.c (state machine and
 * requests), txn_state_log.c (__transaction_state records, loading,
 * timeouts and expiry) and txn_markers.c (WriteTxnMarkers to partition
 * leaders).  Event-loop thread only, like everything they hold.
 */
#ifndef SAMSA_TXN_INTERNAL_H
#define SAMSA_TXN_INTERNAL_H

#include <event2/event.h>
#include <uthash.h>

#include "coord_log.h"
#include "txn_coordinator.h"

#define TXN_COMP "transaction-coordinator"
#define TXN_WRITE_TIMEOUT_MS 30000      /* Kafka: request.timeout.ms */

/* Kafka's TransactionState ids, as written in __transaction_state. */
enum txn_state {
    TXN_EMPTY = 0,
    TXN_ONGOING = 1,
    TXN_PREPARE_COMMIT = 2,
    TXN_PREPARE_ABORT = 3,
    TXN_COMPLETE_COMMIT = 4,
    TXN_COMPLETE_ABORT = 5,
    TXN_DEAD = 6,
    TXN_PREPARE_EPOCH_FENCE = 7,
};
extern const char *const txn_state_names[];

typedef struct txn_tp {
    char *topic;
    int32_t partition;
} txn_tp_t;

/* One version of a transaction's state (Kafka's TxnTransitMetadata). */
typedef struct txn_transit {
    enum txn_state state;
    int64_t pid;
    int16_t epoch;
    int16_t last_epoch;
    int32_t timeout_ms;
    txn_tp_t *parts;            /* owned */
    int n_parts;
    int64_t start_ts;           /* -1 when none is running */
    int64_t update_ts;
} txn_transit_t;

typedef struct txn_meta {
    char *id;
    int32_t partition;          /* of __transaction_state */
    txn_transit_t cur;          /* in effect */
    int64_t prev_pid;           /* before a rotation, -1 if none */
    bool pending;               /* a transition is being written, or markers sent */
    bool failed_fence;          /* an epoch fence could not be written */
    UT_hash_handle hh;
} txn_meta_t;

typedef struct txn_coordinator_state {
    broker_t *b;
    txn_meta_t *txns;
    int32_t n_partitions;
    int32_t *epoch;             /* coordinator epoch per partition; -1: not led */
    bool *loaded;
    struct event *abort_timer;
    struct event *expiry_timer;
} txn_coordinator_state_t;
extern txn_coordinator_state_t tc;

/* txn_coordinator.c */
txn_meta_t *txn_find(const char *id, int32_t len);
txn_meta_t *txn_add(const char *id, int32_t partition, const txn_transit_t *cur);
void txn_remove(txn_meta_t *t);
void txn_transit_free(txn_transit_t *x);
void txn_transit_copy(txn_transit_t *dst, const txn_transit_t *src);
/* Markers of a Prepare state are on every partition: the transaction
 * completes (txn_markers.c calls it). */
void txn_markers_done(const char *id, int32_t coordinator_epoch);
/* The coordinator aborts t, which ran past its timeout (txn_state_log.c). */
void txn_abort_timed_out(txn_meta_t *t);
/* Writes t's tombstone (Dead); t goes once it is replicated. */
void txn_expire(txn_meta_t *t);
/* Starts the markers of a transaction in a Prepare state. */
void txn_send_markers(txn_meta_t *t);

/* txn_state_log.c */
int32_t txn_partition_for(const char *id, int32_t len);
/* NONE if this broker coordinates the id now (else NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE). */
int16_t txn_coordinator_error(const char *id, int32_t len);
/* Encodes t's key and the transit as __transaction_state records. */
void txn_encode_key(kwriter_t *w, const char *id);
void txn_encode_value(kwriter_t *w, const txn_transit_t *x);
void txn_start_timers(broker_t *b);
void txn_stop_timers(void);

/* txn_markers.c */
void txn_markers_send(const txn_meta_t *t, int32_t coordinator_epoch, bool commit);
/* Forgets the markers of the transactions of a __transaction_state
 * partition (it moved away, or the broker stops). */
void txn_markers_drop_partition(int32_t partition);
void txn_markers_shutdown(void);

#endif
