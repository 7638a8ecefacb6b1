/*
 * txn_verify.c - owns the leader's transaction verification requests
 * (KIP-890 part 1, Kafka's AddPartitionsToTxnManager): one AddPartitionsToTxn
 * v4 verify_only request per produce request that needs it, sent over one
 * node channel per coordinator broker, and the translation of the
 * coordinator's answers into the codes a producer handles.
 *
 * Pending verifications and channels are event-loop state; a channel's
 * reply is decoded on its thread into a verify_reply_t and handed back with
 * loop_post().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "logging.h"
#include "loop.h"
#include "metadata_cache.h"
#include "node_channel.h"
#include "proto_messages.h"
#include "txn_coordinator.h"
#include "txn_verify.h"
#include "util.h"
#include "uthash.h"

#define API_ADD_PARTITIONS_TO_TXN 24
#define VERIFY_VERSION 4            /* the first with verify_only */
#define VERIFY_REQUEST_TIMEOUT_MS 30000
#define VERIFY_COMP "TransactionVerification"

typedef struct verify_pending {
    uint64_t ticket;
    txn_verify_done_fn done;
    void *arg;
    UT_hash_handle hh;
} verify_pending_t;

/* A request in flight and, once answered, the coordinator's codes. */
typedef struct verify_reply {
    broker_t *b;
    uint64_t ticket;
    bool generic_error;
    chan_parts_t parts;
} verify_reply_t;

/* Event-loop state. */
static verify_pending_t *pending;
static chan_pool_t *channels;
static uint64_t next_ticket = 1;

static void reply_free(verify_reply_t *r)
{
    chan_parts_free(&r->parts);
    free(r);
}

/* Kafka's AddPartitionsToTxnManager: what the coordinator said, as the
 * appending request's handler gets it. */
static int16_t verdict(int16_t err, bool generic_error)
{
    switch (err) {
    case KERR_PRODUCER_FENCED:
        return KERR_INVALID_PRODUCER_EPOCH;     /* what producers expect here */
    case KERR_TRANSACTION_ABORTABLE:
        /* Clients before KIP-890 (defaultError) abort on INVALID_TXN_STATE. */
        return generic_error ? err : KERR_INVALID_TXN_STATE;
    case KERR_CLUSTER_AUTHORIZATION_FAILED:
        return KERR_INVALID_TXN_STATE;          /* not exposed to clients */
    default:
        return err;
    }
}

/* @locality the event-loop thread
 * @locks none */
static void apply_reply(void *arg)
{
    verify_reply_t *r = arg;
    verify_pending_t *p;
    HASH_FIND(hh, pending, &r->ticket, sizeof(r->ticket), p);
    if (!p || r->b->shutting_down) {
        reply_free(r);
        return;
    }
    HASH_DEL(pending, p);
    for (int i = 0; i < r->parts.n; i++)
        r->parts.errors[i] = verdict(r->parts.errors[i], r->generic_error);
    p->done(p->arg, r->parts.errors);
    free(p);
    reply_free(r);
}

/* @locality a node channel's thread
 * @locks none (the reply is handed to the loop) */
static void on_reply(void *arg, kreader_t *resp, int16_t version)
{
    verify_reply_t *r = arg;
    struct add_partitions_to_txn_response ar;
    if (version < 0) {
        /* Kafka's "verification is not supported": append unverified. */
        chan_parts_set_all(&r->parts, KERR_NONE);
    } else if (!resp || add_partitions_to_txn_response_decode(resp, version, &ar) < 0) {
        chan_parts_set_all(&r->parts, KERR_NETWORK_EXCEPTION);
    } else if (ar.error_code != KERR_NONE) {
        chan_parts_set_all(&r->parts, ar.error_code);
    } else {
        chan_parts_set_all(&r->parts, KERR_NONE);   /* partitions not named passed */
        for (int t = 0; t < ar.results_by_transaction_count; t++) {
            const struct add_partitions_to_txn_response_add_partitions_to_txn_result *tr =
                &ar.results_by_transaction[t];
            for (int k = 0; k < tr->topic_results_count; k++)
                for (int p = 0; p < tr->topic_results[k].results_by_partition_count; p++) {
                    const struct add_partitions_to_txn_response_add_partitions_to_txn_partition_result
                        *pr = &tr->topic_results[k].results_by_partition[p];
                    chan_parts_set(&r->parts, tr->topic_results[k].name, pr->partition_index,
                                   pr->partition_error_code);
                }
        }
    }
    loop_post(r->b->loop, apply_reply, r);
}

/* The request: one transaction, its partitions grouped by topic. */
static void encode_request(kwriter_t *w, kstr_t txn_id, int64_t pid, int16_t epoch,
                           const char *const *topics, const int32_t *partitions, int n)
{
    arena_t a;
    arena_init(&a);
    struct add_partitions_to_txn_request rq;
    add_partitions_to_txn_request_defaults(&rq);
    rq.transactions_count = 1;
    rq.transactions = add_partitions_to_txn_request_add_partitions_to_txn_transaction_array(&a, 1);
    struct add_partitions_to_txn_request_add_partitions_to_txn_transaction *tx = &rq.transactions[0];
    tx->transactional_id = txn_id;
    tx->producer_id = pid;
    tx->producer_epoch = epoch;
    tx->verify_only = true;
    tx->topics_count = 0;
    tx->topics = add_partitions_to_txn_request_add_partitions_to_txn_topic_array(&a, n);
    for (int i = 0; i < n; i++) {
        int t;
        for (t = 0; t < tx->topics_count; t++)
            if (kstr_eq_cstr(tx->topics[t].name, topics[i]))
                break;
        if (t == tx->topics_count) {
            tx->topics_count++;
            tx->topics[t].name = kstr_from_cstr(topics[i]);
            tx->topics[t].partitions_count = 0;
            tx->topics[t].partitions = arena_array(&a, (size_t)n, sizeof(int32_t));
        }
        tx->topics[t].partitions[tx->topics[t].partitions_count++] = partitions[i];
    }
    add_partitions_to_txn_request_encode(w, VERIFY_VERSION, &rq);
    arena_free(&a);
}

int16_t txn_verify_start(broker_t *b, kstr_t txn_id, int64_t pid, int16_t epoch,
                         const char *const *topics, const int32_t *partitions, int n,
                         bool generic_error, txn_verify_done_fn done, void *arg,
                         uint64_t *ticket)
{
    int32_t node = -1;
    int16_t err = tc_coordinator_of(txn_id, &node);
    const mc_broker_t *mb = err ? NULL : mc_find_broker(node);
    if (!mb) {
        log_info(VERIFY_COMP, "No coordinator for transactional id %.*s to verify producer %lld "
                 "with (COORDINATOR_NOT_AVAILABLE, retriable)",
                 txn_id.len > 0 ? (int)MIN(txn_id.len, 200) : 0, txn_id.ptr ? txn_id.ptr : "",
                 (long long)pid);
        return KERR_COORDINATOR_NOT_AVAILABLE;
    }
    verify_reply_t *r = xcalloc(1, sizeof(*r));
    r->b = b;
    r->ticket = next_ticket++;
    r->generic_error = generic_error;
    chan_parts_init(&r->parts, n);
    for (int i = 0; i < n; i++)
        chan_parts_add(&r->parts, topics[i], partitions[i]);
    verify_pending_t *p = xcalloc(1, sizeof(*p));
    p->ticket = r->ticket;
    p->done = done;
    p->arg = arg;
    HASH_ADD(hh, pending, ticket, sizeof(p->ticket), p);
    *ticket = r->ticket;
    kwriter_t w;
    kw_init(&w);
    encode_request(&w, txn_id, pid, epoch, topics, partitions, n);
    if (!channels) {
        char cid[64];
        snprintf(cid, sizeof(cid), "broker-%d-txn-verifier", b->cfg->broker_id);
        channels = chan_pool_new("transaction verification", cid, VERIFY_REQUEST_TIMEOUT_MS, 1);
    }
    chan_send_exact(chan_pool_get(channels, mb->id, mb->host, mb->port),
                    API_ADD_PARTITIONS_TO_TXN, VERIFY_VERSION, &w, on_reply, r);
    return KERR_NONE;
}

void txn_verify_cancel(uint64_t ticket)
{
    verify_pending_t *p;
    HASH_FIND(hh, pending, &ticket, sizeof(ticket), p);
    if (p) {
        HASH_DEL(pending, p);
        free(p);
    }
}

void txn_verify_shutdown(void)
{
    chan_pool_free(channels);   /* queued requests' replies find no pending entry */
    channels = NULL;
    verify_pending_t *p, *ptmp;
    HASH_ITER(hh, pending, p, ptmp) {
        HASH_DEL(pending, p);
        free(p);
    }
}
