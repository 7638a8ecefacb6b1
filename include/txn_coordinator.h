/*
 * txn_coordinator.h - Kafka's transaction coordinator (KIP-98): the state
 * of every transactional id whose __transaction_state partition this
 * broker leads, InitProducerId with a transactional id (epoch bumps,
 * fencing, producer-id rotation), AddPartitionsToTxn / AddOffsetsToTxn,
 * EndTxn with its commit or abort markers written to every partition of
 * the transaction (WriteTxnMarkers, sent to each partition's leader even
 * when that is this broker), aborts of timed-out transactions, expiry of
 * idle transactional ids, and DescribeTransactions / ListTransactions.
 * Event-loop thread only.
 *
 * Requests that must wait for __transaction_state to be replicated are
 * parked; each entry point returns the handler result and answers through
 * the callback it is given (before returning, or later).
 */
#ifndef SAMSA_TXN_COORDINATOR_H
#define SAMSA_TXN_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "proto_messages.h"

#define TXN_TOPIC "__transaction_state"

void tc_init(broker_t *b);
void tc_shutdown(void);
/* This broker leads (or stopped leading) a __transaction_state partition;
 * the coordinator epoch is the partition's leader epoch. */
void tc_partition_led(int32_t partition, int32_t coordinator_epoch);
void tc_partition_unled(int32_t partition);

/* FindCoordinator with key type 1: creates __transaction_state when it is
 * missing.  A Kafka error code; NONE with *node set. */
struct mutation_quota;
int16_t tc_find_coordinator(kstr_t txn_id, int32_t *node, struct mutation_quota *quota);
/* The broker coordinating txn_id as the metadata cache has it (nothing is
 * created): NONE with *node set, else COORDINATOR_NOT_AVAILABLE. */
int16_t tc_coordinator_of(kstr_t txn_id, int32_t *node);

typedef void (*tc_pid_done_fn)(request_t *req, int16_t err, int64_t pid, int16_t epoch);
/* ctx: what the caller handed in (its response under construction). */
typedef void (*tc_done_fn)(request_t *req, int16_t err, void *ctx);

/* InitProducerId with a transactional id; expected_pid/epoch -1 when the
 * request names none (KIP-360). */
enum handler_result tc_init_producer_id(request_t *req, kstr_t txn_id, int32_t timeout_ms,
                                        int64_t expected_pid, int16_t expected_epoch,
                                        tc_pid_done_fn done);

/* One partition a transaction adds. */
typedef struct tc_partition {
    const char *topic;
    int32_t partition;
} tc_partition_t;
/* AddPartitionsToTxn (v0-3) and AddOffsetsToTxn: one error for all. */
enum handler_result tc_add_partitions(request_t *req, kstr_t txn_id, int64_t pid, int16_t epoch,
                                      const tc_partition_t *parts, int n, tc_done_fn done,
                                      void *ctx);
/* AddPartitionsToTxn v4 verify_only (KIP-890): NONE if the partition is
 * in pid's ongoing transaction, else Kafka's error (TRANSACTION_ABORTABLE
 * when it is not, the producer's mismatch, CONCURRENT_TRANSACTIONS...). */
int16_t tc_verify_partition(kstr_t txn_id, int64_t pid, int16_t epoch, const char *topic,
                            int32_t partition);
/* EndTxn. */
enum handler_result tc_end_txn(request_t *req, kstr_t txn_id, int64_t pid, int16_t epoch,
                               bool commit, tc_done_fn done, void *ctx);

/* DescribeTransactions for one id (strings in arena a). */
void tc_describe(kstr_t txn_id, arena_t *a,
                 struct describe_transactions_response_transaction_state *out);
/* ListTransactions: the transactions this broker coordinates that pass the
 * request's filters. */
void tc_list(const struct list_transactions_request *rq, arena_t *a,
             struct list_transactions_response *out);

#endif
