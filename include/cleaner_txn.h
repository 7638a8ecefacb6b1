/*
 * cleaner_txn.h - what the cleaner knows of transactions while it reads a
 * log in offset order (Kafka's CleanedTransactionMetadata): which batches
 * belong to aborted transactions (their records are removed and never enter
 * the key map), and when a commit or abort marker may go (once no batch of
 * its transaction remains; it is then kept until its delete horizon).  A
 * retained abort marker whose transaction still has batches goes to the
 * cleaned segment's .txnindex.
 * Cleaner thread only; the aborted transactions are copied into the job on
 * the loop.
 */
#ifndef SAMSA_CLEANER_TXN_H
#define SAMSA_CLEANER_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "record_batch.h"
#include "txn_index.h"

typedef struct cleaner_txns {
    const aborted_txn_t *all;   /* the log's aborted transactions, by first offset */
    int n_all;
    aborted_txn_t *queue;       /* added, not yet reached; by first offset */
    int n_queue;
    int cap_queue;
    struct txn_pid *aborted;    /* producers inside an aborted transaction */
    struct txn_pid *committed;  /* producers inside another transaction */
} cleaner_txns_t;

void ctxn_init(cleaner_txns_t *t, const aborted_txn_t *all, int n_all);
/* The aborted transactions overlapping [from, upper) come into view (Kafka
 * adds each segment's range as it reaches it). */
void ctxn_add_range(cleaner_txns_t *t, int64_t from, int64_t upper);
/* A data batch: true if it belongs to an aborted transaction. */
bool ctxn_on_batch(cleaner_txns_t *t, const batch_header_t *h);
/* A control batch (whole, at p): true if it may be discarded.  A retained
 * abort marker of a transaction whose batches were seen fills *index_it
 * with the entry for the cleaned .txnindex and sets *has_index. */
bool ctxn_on_control(cleaner_txns_t *t, const uint8_t *p, const batch_header_t *h,
                     aborted_txn_t *index_it, bool *has_index);
void ctxn_free(cleaner_txns_t *t);

#endif
