/*
 * txn_verify.h - the partition leader's half of KIP-890 part 1 (Kafka's
 * AddPartitionsToTxnManager): before a transactional producer's first
 * batch of a transaction is appended to a partition, the transaction's
 * coordinator -- wherever it runs, this broker included -- is asked with
 * AddPartitionsToTxn v4 (verify_only) whether the partition was added to
 * that producer's ongoing transaction.  A hanging transaction (a late
 * batch after its abort) can then no longer start in the log.
 *
 * The answers come back as Kafka's AddPartitionsToTxnManager hands them
 * on: INVALID_TXN_STATE (TRANSACTION_ABORTABLE for clients that know
 * KIP-890) for a partition that is not in the transaction,
 * INVALID_PRODUCER_EPOCH for a fenced producer, NETWORK_EXCEPTION for an
 * unanswered request, else the coordinator's code; each caller translates
 * them as its Kafka counterpart does (Produce, TxnOffsetCommit).  A
 * coordinator that does not speak v4 (Kafka before 3.6) is not asked: the
 * partitions count as verified, as Kafka does.  Used by Produce and
 * TxnOffsetCommit (the group's __consumer_offsets partition).
 *
 * Event-loop thread (requests go out on one node channel per coordinator).
 */
#ifndef SAMSA_TXN_VERIFY_H
#define SAMSA_TXN_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "proto_codec.h"

/* errors[i]: the verdict for partition i (0: verified). */
typedef void (*txn_verify_done_fn)(void *arg, const int16_t *errors);

/* Asks txn_id's coordinator about n partitions of pid/epoch's ongoing
 * transaction.  Returns 0 with *ticket set and done() to come on the loop,
 * or COORDINATOR_NOT_AVAILABLE when no coordinator can be asked (done()
 * is not called).  generic_error: the client knows TRANSACTION_ABORTABLE
 * (Produce v11+, TxnOffsetCommit v4+). */
int16_t txn_verify_start(broker_t *b, kstr_t txn_id, int64_t pid, int16_t epoch,
                         const char *const *topics, const int32_t *partitions, int n,
                         bool generic_error, txn_verify_done_fn done, void *arg,
                         uint64_t *ticket);
/* done() will not be called for this ticket. */
void txn_verify_cancel(uint64_t ticket);
/* Stops the channels; pending verifications are dropped. */
void txn_verify_shutdown(void);

#endif
