/*
 * api_txn_offsets.c - owns TxnOffsetCommit's wire side (Kafka's
 * GroupCoordinator.handleTxnCommitOffsets): the group coordinator's checks,
 * then -- when the producer's transaction is not yet open on the group's
 * __consumer_offsets partition -- KIP-890 verification with the
 * transaction's coordinator (txn_verify.h), then the pending offsets are
 * written (group_txn_offsets.c) and answered once replicated.
 * Event-loop thread only.
 */
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "group_coordinator.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "offsets_topic.h"
#include "producer_state.h"
#include "proto_messages.h"
#include "replica_manager.h"
#include "txn_verify.h"
#include "util.h"

/* A TxnOffsetCommit, possibly waiting for its verification. */
typedef struct txn_commit {
    broker_t *b;
    request_t *req;
    struct txn_offset_commit_request rq;
    commit_entry_t *entries;
    int n;
    int32_t partition;          /* of __consumer_offsets */
    uint64_t guard;             /* 0: no verification */
    uint64_t ticket;            /* 0: none in flight */
} txn_commit_t;

static void txn_commit_fail(void *resp, int16_t err)
{
    struct txn_offset_commit_response *tr = resp;
    for (int t = 0; t < tr->topics_count; t++)
        for (int p = 0; p < tr->topics[t].partitions_count; p++)
            if (!tr->topics[t].partitions[p].error_code)
                tr->topics[t].partitions[p].error_code = err;
}

static void txn_commit_encode(request_t *req, const void *resp)
{
    txn_offset_commit_response_encode(&req->resp, req->hdr.request_api_version, resp);
}

/* Kafka's GroupMetadataManager.maybeConvertOffsetCommitError, for the
 * verification's verdicts. */
static int16_t commit_facing(int16_t err)
{
    switch (err) {
    case KERR_NETWORK_EXCEPTION:
        return KERR_COORDINATOR_LOAD_IN_PROGRESS;
    case KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KERR_NOT_ENOUGH_REPLICAS:
    case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return KERR_COORDINATOR_NOT_AVAILABLE;
    case KERR_NOT_LEADER_OR_FOLLOWER:
        return KERR_NOT_COORDINATOR;
    default:
        return err;
    }
}

static partition_log_t *offsets_log(int32_t partition)
{
    partition_t *p = partition >= 0 ? rm_partition(OFFSETS_TOPIC, partition) : NULL;
    return p ? p->log : NULL;
}

static void end_verification(txn_commit_t *c)
{
    partition_log_t *pl = c->guard ? offsets_log(c->partition) : NULL;
    if (pl)
        pstate_verification_end(pl->pstate, c->rq.producer_id, c->guard);
    c->guard = 0;
}

static struct txn_offset_commit_response *build_response(txn_commit_t *c, int16_t err)
{
    request_t *req = c->req;
    struct txn_offset_commit_response *resp = arena_alloc(&req->arena, sizeof(*resp));
    txn_offset_commit_response_defaults(resp);
    int nt = MAX(c->rq.topics_count, 0);
    resp->topics_count = nt;
    resp->topics = txn_offset_commit_response_txn_offset_commit_response_topic_array(&req->arena, nt);
    int k = 0;
    for (int t = 0; t < nt; t++) {
        int np = MAX(c->rq.topics[t].partitions_count, 0);
        resp->topics[t].name = c->rq.topics[t].name;
        resp->topics[t].partitions_count = np;
        resp->topics[t].partitions =
            txn_offset_commit_response_txn_offset_commit_response_partition_array(&req->arena, np);
        for (int p = 0; p < np; p++, k++) {
            resp->topics[t].partitions[p].partition_index = c->entries[k].partition;
            resp->topics[t].partitions[p].error_code = err ? err : c->entries[k].error;
        }
    }
    return resp;
}

/* Writes the pending offsets (verdict NONE) or answers every partition
 * with the error. */
static enum handler_result txn_commit_finish(txn_commit_t *c, int16_t verdict)
{
    request_t *req = c->req;
    int16_t v = req->hdr.request_api_version;
    struct txn_offset_commit_request *rq = &c->rq;
    int16_t err = verdict;
    partition_log_t *pl = c->guard ? offsets_log(c->partition) : NULL;
    /* A guard gone meanwhile: the transaction ended before this write. */
    if (!err && c->guard && (!pl || !pstate_txn_append_allowed(pl->pstate, rq->producer_id,
                                                              c->guard)))
        err = KERR_INVALID_TXN_STATE;
    if (!err)
        err = gc_txn_commit(rq->group_id, rq->producer_id, rq->producer_epoch,
                            v >= 3 ? rq->generation_id : -1,
                            v >= 3 ? rq->member_id : KSTR_LIT(""),
                            v >= 3 ? rq->group_instance_id : KSTR_NULL, c->entries, c->n);
    end_verification(c);
    if (err)
        log_info("group-coordinator", "TxnOffsetCommit for group %.*s from %s failed: %s",
                 MAX(rq->group_id.len, 0), rq->group_id.ptr ? rq->group_id.ptr : "",
                 conn_peer(req->conn), kafka_error_name(err));
    struct txn_offset_commit_response *resp = build_response(c, err);
    if (err) {      /* nothing was written */
        txn_commit_encode(req, resp);
        return REQ_DONE;
    }
    commit_reply_t *r = arena_alloc(&req->arena, sizeof(*r));
    *r = (commit_reply_t){ .fail = txn_commit_fail, .encode = txn_commit_encode, .resp = resp };
    return api_commit_reply(c->b, req, rq->group_id, r);
}

/* @locality the event-loop thread (txn_verify.c's answer)
 * @locks none */
static void txn_commit_verified(void *arg, const int16_t *verdicts)
{
    txn_commit_t *c = arg;
    c->ticket = 0;
    c->req->parked = NULL;
    if (txn_commit_finish(c, commit_facing(verdicts[0])) == REQ_DONE)
        request_complete(c->req);
}

static void txn_commit_cancel(request_t *req)
{
    txn_commit_t *c = req->parked;
    if (c && c->ticket) {
        txn_verify_cancel(c->ticket);
        c->ticket = 0;
        end_verification(c);
    }
    req->parked = NULL;
}

/* Asks the transaction's coordinator when the producer's transaction is
 * not open on the group's offsets partition: REQ_PARKED while it answers. */
static enum handler_result maybe_verify(txn_commit_t *c)
{
    broker_t *b = c->b;
    struct txn_offset_commit_request *rq = &c->rq;
    if (!b->cfg->txn_partition_verification_enable || rq->transactional_id.len <= 0)
        return txn_commit_finish(c, KERR_NONE);
    partition_log_t *pl = offsets_log(c->partition);
    c->guard = pl ? pstate_verification_start(pl->pstate, rq->producer_id) : 0;
    if (!c->guard)
        return txn_commit_finish(c, KERR_NONE);
    const char *topic = OFFSETS_TOPIC;
    int16_t err = txn_verify_start(b, rq->transactional_id, rq->producer_id, rq->producer_epoch,
                                   &topic, &c->partition, 1, c->req->hdr.request_api_version >= 4,
                                   txn_commit_verified, c, &c->ticket);
    if (err)
        return txn_commit_finish(c, commit_facing(err));
    c->req->parked = c;
    c->req->cancel = txn_commit_cancel;
    return REQ_PARKED;
}

enum handler_result api_txn_offset_commit(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    txn_commit_t *c = arena_alloc(&req->arena, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->b = b;
    c->req = req;
    struct txn_offset_commit_request *rq = &c->rq;
    if (txn_offset_commit_request_decode(&req->body, v, rq) < 0)
        return REQ_CLOSE;
    int nt = MAX(rq->topics_count, 0), total = 0;
    for (int t = 0; t < nt; t++)
        total += MAX(rq->topics[t].partitions_count, 0);
    c->entries = arena_array(&req->arena, (size_t)total + 1, sizeof(*c->entries));
    c->n = total;
    int k = 0;
    for (int t = 0; t < nt; t++) {
        const char *topic = kstr_dup_or_empty(&req->arena, rq->topics[t].name);
        for (int p = 0; p < MAX(rq->topics[t].partitions_count, 0); p++, k++) {
            const struct txn_offset_commit_request_txn_offset_commit_request_partition *ip =
                &rq->topics[t].partitions[p];
            c->entries[k] = (commit_entry_t){ topic, ip->partition_index, ip->committed_offset,
                                              v >= 2 ? ip->committed_leader_epoch : -1,
                                              ip->committed_metadata, KERR_NONE };
        }
    }
    c->partition = gc_partition_of(rq->group_id);
    if (!authorize(req, ACL_OP_WRITE, ACL_RES_TRANSACTIONAL_ID,
                   kstr_dup_or_empty(&req->arena, rq->transactional_id)))
        return txn_commit_finish(c, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!authorize(req, ACL_OP_READ, ACL_RES_GROUP, kstr_dup_or_empty(&req->arena, rq->group_id)))
        return txn_commit_finish(c, KERR_GROUP_AUTHORIZATION_FAILED);
    /* Kafka's validateGroupStatus comes before the verification. */
    int16_t err = gc_coordinator_error(rq->group_id);
    if (err)
        return txn_commit_finish(c, err);
    return maybe_verify(c);
}
