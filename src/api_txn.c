/*
 * api_txn.c - owns the transactional client APIs' wire side:
 * AddPartitionsToTxn (v0-3), AddOffsetsToTxn, EndTxn, DescribeTransactions
 * and ListTransactions (TxnOffsetCommit: api_txn_offsets.c).  Requests are
 * decoded here, decided by the transaction coordinator (txn_coordinator.h),
 * and their answers encoded here, with Kafka's per-version error
 * translations.  Event-loop thread only.
 */
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "group_coordinator.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "offsets_topic.h"
#include "proto_messages.h"
#include "topic_admin.h"
#include "txn_coordinator.h"
#include "util.h"

/* Clients before these versions do not know PRODUCER_FENCED (KIP-588). */
/* Kafka: every transactional request needs WRITE on its transactional id. */
static bool txn_allowed(request_t *req, kstr_t transactional_id)
{
    return authorize(req, ACL_OP_WRITE, ACL_RES_TRANSACTIONAL_ID,
                     kstr_dup_or_empty(&req->arena, transactional_id));
}

static int16_t fenced_for(int16_t err, int16_t v, int16_t first_knowing)
{
    return err == KERR_PRODUCER_FENCED && v < first_knowing ? KERR_INVALID_PRODUCER_EPOCH : err;
}

/* ---- AddPartitionsToTxn ---- */

typedef struct add_ctx {
    struct add_partitions_to_txn_response resp;
} add_ctx_t;

static void add_answer(request_t *req, int16_t err, void *ctx)
{
    int16_t v = req->hdr.request_api_version;
    add_ctx_t *c = ctx;
    err = fenced_for(err, v, 2);
    for (int t = 0; t < c->resp.results_by_topic_v3_and_below_count; t++) {
        struct add_partitions_to_txn_response_add_partitions_to_txn_topic_result *tr =
            &c->resp.results_by_topic_v3_and_below[t];
        for (int p = 0; p < tr->results_by_partition_count; p++)
            tr->results_by_partition[p].partition_error_code = err;
    }
    if (err)
        log_info("transaction-coordinator", "AddPartitionsToTxn from %s: %s",
                 conn_peer(req->conn), kafka_error_name(err));
    add_partitions_to_txn_response_encode(&req->resp, v, &c->resp);
}

/* The response lists every requested partition; *n_known counts those of
 * existing topics the client may write (Kafka: WRITE on the topic, never
 * granted for internal topics; checked only once the transactional id
 * is), which go to the coordinator. */
static add_ctx_t *add_response(request_t *req, const struct add_partitions_to_txn_request *rq,
                               bool check_topics, tc_partition_t **known, int *n_known,
                               bool *unknown)
{
    add_ctx_t *c = arena_alloc(&req->arena, sizeof(*c));
    memset(c, 0, sizeof(*c));
    add_partitions_to_txn_response_defaults(&c->resp);
    int nt = MAX(rq->v3_and_below_topics_count, 0), total = 0;
    for (int t = 0; t < nt; t++)
        total += MAX(rq->v3_and_below_topics[t].partitions_count, 0);
    *known = arena_array(&req->arena, (size_t)total + 1, sizeof(tc_partition_t));
    *n_known = 0;
    *unknown = false;
    c->resp.results_by_topic_v3_and_below_count = nt;
    c->resp.results_by_topic_v3_and_below =
        add_partitions_to_txn_response_add_partitions_to_txn_topic_result_array(&req->arena, nt);
    for (int t = 0; t < nt; t++) {
        const struct add_partitions_to_txn_request_add_partitions_to_txn_topic *it =
            &rq->v3_and_below_topics[t];
        struct add_partitions_to_txn_response_add_partitions_to_txn_topic_result *tr =
            &c->resp.results_by_topic_v3_and_below[t];
        int np = MAX(it->partitions_count, 0);
        tr->name = it->name;
        tr->results_by_partition_count = np;
        tr->results_by_partition =
            add_partitions_to_txn_response_add_partitions_to_txn_partition_result_array(
                &req->arena, np);
        const char *topic = kstr_dup_or_empty(&req->arena, it->name);
        const mc_topic_t *mt = mc_find_topic(topic);
        bool denied = check_topics && (topic_is_internal(topic) ||
                                       !authorize(req, ACL_OP_WRITE, ACL_RES_TOPIC, topic));
        for (int p = 0; p < np; p++) {
            tr->results_by_partition[p].partition_index = it->partitions[p];
            if (denied) {
                tr->results_by_partition[p].partition_error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
                *unknown = true;
            } else if (!mt || it->partitions[p] < 0 || it->partitions[p] >= mt->n_partitions) {
                tr->results_by_partition[p].partition_error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                *unknown = true;
            } else {
                (*known)[(*n_known)++] = (tc_partition_t){ topic, it->partitions[p] };
            }
        }
    }
    return c;
}

/* Kafka's KafkaApis: with an unknown partition in the request, the others
 * are not attempted. */
static void not_attempted(struct add_partitions_to_txn_response_add_partitions_to_txn_topic_result *tr,
                          int nt)
{
    for (int t = 0; t < nt; t++)
        for (int p = 0; p < tr[t].results_by_partition_count; p++)
            if (!tr[t].results_by_partition[p].partition_error_code)
                tr[t].results_by_partition[p].partition_error_code = KERR_OPERATION_NOT_ATTEMPTED;
}

/* v4+: a partition leader asks whether partitions are in a transaction
 * before it accepts the transaction's first append there (KIP-890 part 1,
 * verify_only).  Adding partitions this way (KIP-890 part 2) is not
 * supported: such entries get UNSUPPORTED_VERSION. */
static enum handler_result verify_partitions(request_t *req,
                                             const struct add_partitions_to_txn_request *rq)
{
    int16_t v = req->hdr.request_api_version;
    struct add_partitions_to_txn_response resp;
    add_partitions_to_txn_response_defaults(&resp);
    int nx = MAX(rq->transactions_count, 0);
    resp.results_by_transaction_count = nx;
    resp.results_by_transaction =
        add_partitions_to_txn_response_add_partitions_to_txn_result_array(&req->arena, nx);
    for (int x = 0; x < nx; x++) {
        const struct add_partitions_to_txn_request_add_partitions_to_txn_transaction *in =
            &rq->transactions[x];
        struct add_partitions_to_txn_response_add_partitions_to_txn_result *out =
            &resp.results_by_transaction[x];
        int nt = MAX(in->topics_count, 0);
        bool unknown = false;
        out->transactional_id = in->transactional_id;
        out->topic_results_count = nt;
        out->topic_results =
            add_partitions_to_txn_response_add_partitions_to_txn_topic_result_array(&req->arena, nt);
        for (int t = 0; t < nt; t++) {
            int np = MAX(in->topics[t].partitions_count, 0);
            const char *topic = kstr_dup_or_empty(&req->arena, in->topics[t].name);
            out->topic_results[t].name = in->topics[t].name;
            out->topic_results[t].results_by_partition_count = np;
            out->topic_results[t].results_by_partition =
                add_partitions_to_txn_response_add_partitions_to_txn_partition_result_array(
                    &req->arena, np);
            const mc_topic_t *mt = mc_find_topic(topic);
            for (int p = 0; p < np; p++) {
                struct add_partitions_to_txn_response_add_partitions_to_txn_partition_result *r =
                    &out->topic_results[t].results_by_partition[p];
                r->partition_index = in->topics[t].partitions[p];
                if (!mt || r->partition_index < 0 || r->partition_index >= mt->n_partitions) {
                    r->partition_error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                    unknown = true;
                } else {
                    r->partition_error_code =
                        in->verify_only ? tc_verify_partition(in->transactional_id,
                                                              in->producer_id, in->producer_epoch,
                                                              topic, r->partition_index)
                                        : KERR_UNSUPPORTED_VERSION;
                }
            }
        }
        if (unknown)
            not_attempted(out->topic_results, nt);
    }
    add_partitions_to_txn_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_add_partitions_to_txn(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct add_partitions_to_txn_request rq;
    if (add_partitions_to_txn_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    if (v >= 4 && !authorize(req, ACL_OP_CLUSTER_ACTION, ACL_RES_CLUSTER, ACL_CLUSTER_NAME)) {
        struct add_partitions_to_txn_response resp;
        add_partitions_to_txn_response_defaults(&resp);
        resp.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
        resp.results_by_transaction_count = 0;
        add_partitions_to_txn_response_encode(&req->resp, v, &resp);
        return REQ_DONE;
    }
    if (v >= 4)
        return verify_partitions(req, &rq);
    tc_partition_t *known;
    int n_known;
    bool unknown;
    bool txn_ok = txn_allowed(req, rq.v3_and_below_transactional_id);
    add_ctx_t *c = add_response(req, &rq, txn_ok, &known, &n_known, &unknown);
    if (!txn_ok) {
        add_answer(req, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, c);
        return REQ_DONE;
    }
    if (unknown) {
        not_attempted(c->resp.results_by_topic_v3_and_below,
                      c->resp.results_by_topic_v3_and_below_count);
        add_partitions_to_txn_response_encode(&req->resp, v, &c->resp);
        return REQ_DONE;
    }
    return tc_add_partitions(req, rq.v3_and_below_transactional_id, rq.v3_and_below_producer_id,
                             rq.v3_and_below_producer_epoch, known, n_known, add_answer, c);
}

/* ---- AddOffsetsToTxn / EndTxn ---- */

static void add_offsets_answer(request_t *req, int16_t err, void *ctx)
{
    (void)ctx;
    int16_t v = req->hdr.request_api_version;
    struct add_offsets_to_txn_response resp;
    add_offsets_to_txn_response_defaults(&resp);
    resp.error_code = fenced_for(err, v, 2);
    add_offsets_to_txn_response_encode(&req->resp, v, &resp);
}

enum handler_result api_add_offsets_to_txn(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct add_offsets_to_txn_request rq;
    if (add_offsets_to_txn_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    if (!txn_allowed(req, rq.transactional_id)) {
        add_offsets_answer(req, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, NULL);
        return REQ_DONE;
    }
    if (!authorize(req, ACL_OP_READ, ACL_RES_GROUP, kstr_dup_or_empty(&req->arena, rq.group_id))) {
        add_offsets_answer(req, KERR_GROUP_AUTHORIZATION_FAILED, NULL);
        return REQ_DONE;
    }
    /* The group's __consumer_offsets partition joins the transaction. */
    int32_t p = gc_partition_of(rq.group_id);
    if (p < 0) {
        add_offsets_answer(req, KERR_INVALID_GROUP_ID, NULL);
        return REQ_DONE;
    }
    tc_partition_t part = { OFFSETS_TOPIC, p };
    return tc_add_partitions(req, rq.transactional_id, rq.producer_id, rq.producer_epoch, &part, 1,
                             add_offsets_answer, NULL);
}

static void end_txn_answer(request_t *req, int16_t err, void *ctx)
{
    (void)ctx;
    int16_t v = req->hdr.request_api_version;
    struct end_txn_response resp;
    end_txn_response_defaults(&resp);
    resp.error_code = fenced_for(err, v, 2);
    if (err)
        log_info("transaction-coordinator", "EndTxn from %s: %s", conn_peer(req->conn),
                 kafka_error_name(err));
    end_txn_response_encode(&req->resp, v, &resp);
}

enum handler_result api_end_txn(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct end_txn_request rq;
    if (end_txn_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    if (!txn_allowed(req, rq.transactional_id)) {
        end_txn_answer(req, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, NULL);
        return REQ_DONE;
    }
    return tc_end_txn(req, rq.transactional_id, rq.producer_id, rq.producer_epoch, rq.committed,
                      end_txn_answer, NULL);
}

/* ---- DescribeTransactions / ListTransactions ---- */

enum handler_result api_describe_transactions(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct describe_transactions_request rq;
    if (describe_transactions_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_transactions_response resp;
    describe_transactions_response_defaults(&resp);
    int n = MAX(rq.transactional_ids_count, 0);
    resp.transaction_states_count = n;
    resp.transaction_states = describe_transactions_response_transaction_state_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        struct describe_transactions_response_transaction_state *st = &resp.transaction_states[i];
        if (authorize(req, ACL_OP_DESCRIBE, ACL_RES_TRANSACTIONAL_ID,
                      kstr_dup_or_empty(&req->arena, rq.transactional_ids[i]))) {
            tc_describe(rq.transactional_ids[i], &req->arena, st);
            continue;
        }
        describe_transactions_response_transaction_state_defaults(st);
        st->transactional_id = rq.transactional_ids[i];
        st->error_code = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        st->transaction_state = KSTR_LIT("");
        st->topics_count = 0;
    }
    describe_transactions_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_list_transactions(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct list_transactions_request rq;
    if (list_transactions_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    if (v < 1)
        rq.duration_filter = -1;
    struct list_transactions_response resp;
    list_transactions_response_defaults(&resp);
    tc_list(&rq, &req->arena, &resp);
    /* Kafka lists the transactional ids the client may describe. */
    int k = 0;
    for (int i = 0; i < resp.transaction_states_count; i++)
        if (authorize_quiet(req, ACL_OP_DESCRIBE, ACL_RES_TRANSACTIONAL_ID,
                            kstr_dup_or_empty(&req->arena,
                                              resp.transaction_states[i].transactional_id)))
            resp.transaction_states[k++] = resp.transaction_states[i];
    resp.transaction_states_count = k;
    list_transactions_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
