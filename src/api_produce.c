/*
 * api_produce.c - owns Produce: per-partition validation of record batches,
 * appends to the leader's log (found through the replica manager) with
 * offsets assigned in place, and the response (none for acks=0).
 * Event-loop thread only.
 *
 * acks=-1 (Kafka's DelayedProduce): the partition must have at least
 * min.insync.replicas in its ISR before the append (NOT_ENOUGH_REPLICAS),
 * and the answer waits in the purgatory until the high watermark passes
 * the appended batch -- every ISR member has it -- or timeout_ms passes
 * (REQUEST_TIMED_OUT); an ISR that shrank below min.insync.replicas
 * meanwhile gives NOT_ENOUGH_REPLICAS_AFTER_APPEND, a lost leadership
 * NOT_LEADER_OR_FOLLOWER.
 *
 * Transactional batches (KIP-890 part 1, Kafka's handleProduceAppend): a
 * producer whose transaction is not yet open on a partition gets a
 * verification guard there, and the request waits while the transaction's
 * coordinator is asked (txn_verify.c) whether the partition was added;
 * then every partition is appended as above, those that failed answered
 * with the coordinator's verdict, and a batch whose guard is gone (its
 * transaction ended meanwhile) is refused with INVALID_TXN_STATE.
 */
#include <inttypes.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "client_quotas.h"
#include "kafka_errors.h"
#include "legacy_records.h"
#include "log_manager.h"
#include "replica_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "topic_admin.h"
#include "net.h"
#include "proto_messages.h"
#include "purgatory.h"
#include "producer_state.h"
#include "record_batch.h"
#include "txn_verify.h"
#include "util.h"

/* A partition of an acks=-1 produce waiting for its ISR. */
typedef struct ack_wait {
    partition_t *p;
    int64_t required;           /* the high watermark that covers the batch */
    struct produce_response_partition_produce_response *out;
    bool done;
} ack_wait_t;

/* A partition whose transaction is being verified with its coordinator. */
typedef struct verifying {
    const char *topic;
    int32_t partition;
    struct produce_response_partition_produce_response *out;
    int k;                      /* the partition's place in the request */
} verifying_t;

/* What verification decided for one partition of a transactional request. */
typedef struct txn_slot {
    uint64_t guard;             /* 0: none taken */
    bool refused;               /* answered before the append */
} txn_slot_t;

typedef struct parked_produce {
    delayed_op_t op;            /* first: the purgatory hands back &op */
    request_t *req;
    broker_t *broker;
    struct produce_request rq;
    struct produce_response resp;
    ack_wait_t *waits;
    int n_waits;
    /* Only for requests naming a transactional id: */
    txn_slot_t *slots;          /* per partition, in request order */
    verifying_t *verifying;
    int n_verifying;
    int64_t verify_pid;         /* the producer being verified */
    uint64_t verify_ticket;     /* 0: no verification in flight */
} parked_produce_t;

static void answer_early(struct produce_response_partition_produce_response *out, int32_t index,
                         int16_t err)
{
    out->index = index;
    out->error_code = err;
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    out->log_start_offset = -1;
}

/* Kafka's UnifiedLog.analyzeAndValidateProducerState order: a duplicate is
 * answered as one, then an unverified transactional batch is refused, then
 * epoch and sequence errors. */
static bool txn_batch_refused(broker_t *b, request_t *req, partition_log_t *pl, const char *topic,
                              int32_t index, const produce_validation_t *val, uint64_t guard,
                              struct produce_response_partition_produce_response *out)
{
    if (!val->transactional || !b->cfg->txn_partition_verification_enable ||
        pstate_txn_append_allowed(pl->pstate, val->producer_id, guard))
        return false;
    out->error_code = KERR_INVALID_TXN_STATE;
    out->error_message = kstr_from_cstr("Partition was not added to the transaction");
    log_info("produce", "Rejected transactional produce to %s-%d from %s: producer %lld's "
                        "transaction was not verified with its coordinator (INVALID_TXN_STATE)",
             topic, index, conn_peer(req->conn), (long long)val->producer_id);
    return true;
}

/* Produce v0-v2 carry magic 0/1 message sets: they become one v2 batch
 * (in the request's arena) before validation, as Kafka's LogValidator
 * converts them.  False with the error in out if they cannot. */
static bool upconvert(request_t *req, const char *topic,
                      struct produce_request_partition_produce_data *in,
                      struct produce_response_partition_produce_response *out,
                      int32_t max_message_bytes)
{
    kwriter_t w;
    kw_init(&w);
    const char *why = NULL;
    size_t limit = (size_t)max_message_bytes + (size_t)in->records.len;
    int16_t err = legacy_upconvert(in->records.ptr, in->records.len, limit, &w, &why);
    uint8_t *copy = err ? NULL : arena_try_alloc(&req->arena, w.len);
    if (!err && !copy) {
        err = KERR_UNKNOWN_SERVER_ERROR;
        why = "out of memory up-converting messages";
    }
    if (err) {
        kw_free(&w);
        out->error_code = err;
        out->error_message = kstr_from_cstr(why);
        log_info("produce", "Rejected legacy messages for %s-%d from %s: %s (%s)", topic,
                 in->index, conn_peer(req->conn), why, kafka_error_name(err));
        return false;
    }
    memcpy(copy, w.buf, w.len);
    in->records.ptr = copy;
    in->records.len = (int32_t)w.len;
    kw_free(&w);
    return true;
}

static void produce_partition(broker_t *b, request_t *req, mc_topic_t *t, const char *topic,
                              int16_t acks, struct produce_request_partition_produce_data *in,
                              struct produce_response_partition_produce_response *out,
                              parked_produce_t *pp, uint64_t guard)
{
    int16_t v = req->hdr.request_api_version;
    answer_early(out, in->index, KERR_NONE);
    if (!authorize(req, ACL_OP_WRITE, ACL_RES_TOPIC, topic)) {
        out->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    if (!t || in->index < 0 || in->index >= t->n_partitions) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (topic_is_internal(topic) && !kstr_eq_cstr(req->hdr.client_id, ADMIN_CLIENT_ID)) {
        /* As Kafka's ReplicaManager: only the broker itself writes there. */
        out->error_code = KERR_INVALID_TOPIC_EXCEPTION;
        out->error_message = kstr_from_cstr("Cannot append to internal topic");
        log_info("produce", "Rejected produce to internal topic %s-%d from %s "
                            "(INVALID_TOPIC_EXCEPTION)", topic, in->index, conn_peer(req->conn));
        return;
    }
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, in->index, -1, &err);
    if (!p) {
        out->error_code = err;
        return;
    }
    partition_log_t *pl = p->log;
    int32_t min_isr = pl_min_isr(b, p);
    if (acks == -1 && p->n_isr < min_isr) {
        out->error_code = KERR_NOT_ENOUGH_REPLICAS;
        log_info("produce", "Rejected acks=all produce to %s-%d from %s: the ISR has %d of the %d "
                 "replicas min.insync.replicas requires (NOT_ENOUGH_REPLICAS)", topic, in->index,
                 conn_peer(req->conn), p->n_isr, min_isr);
        return;
    }
    if (in->records.len <= 0) {
        out->error_code = KERR_CORRUPT_MESSAGE;
        return;
    }
    if (v <= 2 && legacy_is_message_set(in->records.ptr, in->records.len) &&
        !upconvert(req, topic, in, out, t->settings.max_message_bytes))
        return;
    produce_validation_t val;
    batch_validate_produce(in->records.ptr, in->records.len, v, t->settings.max_message_bytes,
                           t->settings.compacted, &val);
    if (val.error) {
        out->error_code = val.error;
        out->error_message = kstr_from_cstr(val.reason);
        log_info("produce", "Rejected produce to %s-%d from %s: %s (%s)", topic, in->index,
                 conn_peer(req->conn), val.reason, kafka_error_name(val.error));
        return;
    }
    if (in->records.len > pl->settings.segment_bytes) {
        /* Kafka's UnifiedLog.append: no batch may outgrow a segment. */
        out->error_code = KERR_RECORD_LIST_TOO_LARGE;
        out->error_message = kstr_from_cstr(arena_printf(
            &req->arena, "Message batch size is %d bytes in append to partition %s-%d, which "
                         "exceeds the maximum configured segment size of %" PRId64 ".",
            in->records.len, topic, in->index, pl->settings.segment_bytes));
        log_info("produce", "Rejected produce to %s-%d from %s: %d bytes exceed segment.bytes %"
                            PRId64 " (RECORD_LIST_TOO_LARGE)", topic, in->index, conn_peer(req->conn),
                 in->records.len, pl->settings.segment_bytes);
        return;
    }
    bool append_time = t->settings.log_append_time;
    int64_t now = now_ms();
    bool idempotent = val.producer_id >= 0 && val.n_batches == 1;
    /* Sequences wrap to 0 after INT32_MAX. */
    int32_t last_seq = (int32_t)(((int64_t)val.base_sequence + val.last_offset_delta) %
                                 ((int64_t)INT32_MAX + 1));
    if (!idempotent && txn_batch_refused(b, req, pl, topic, in->index, &val, guard, out))
        return;
    if (idempotent) {
        int64_t dup_offset = -1;
        int16_t perr = 0;
        enum pstate_verdict verdict =
            pstate_check(pl->pstate, val.producer_id, val.producer_epoch, val.base_sequence,
                         last_seq, val.transactional, &dup_offset, &perr);
        if (verdict != PSTATE_DUPLICATE &&
            txn_batch_refused(b, req, pl, topic, in->index, &val, guard, out))
            return;
        switch (verdict) {
        case PSTATE_DUPLICATE:
            out->base_offset = dup_offset;
            out->log_start_offset = pl->log_start_offset;
            /* As Kafka: a retried batch is acknowledged under acks=all only
             * once the original is replicated like any other append. */
            if (acks == -1)
                pp->waits[pp->n_waits++] = (ack_wait_t){ p, dup_offset + val.n_records, out,
                                                         false };
            return;
        case PSTATE_ERROR:
            out->error_code = perr;
            log_info("produce", "Rejected produce to %s-%d from %s: producer %lld epoch %d "
                                "sequence %d (%s)", topic, in->index, conn_peer(req->conn),
                     (long long)val.producer_id, val.producer_epoch, val.base_sequence,
                     kafka_error_name(perr));
            return;
        case PSTATE_APPEND:
            break;
        }
    }
    int64_t base = plog_append(pl, in->records.ptr, in->records.len, val.n_records,
                               val.max_timestamp, val.offset_of_max_timestamp_delta,
                               p->leader_epoch, append_time, now);
    if (base < 0) {
        out->error_code = KERR_UNKNOWN_SERVER_ERROR;
        out->error_message = kstr_from_cstr("Log append failed (I/O error)");
        return;
    }
    if (idempotent)
        pstate_update(pl->pstate, &(pstate_batch_t){ val.producer_id, val.producer_epoch,
                                                     val.base_sequence, last_seq, base,
                                                     base + val.n_records - 1,
                                                     append_time ? now : val.max_timestamp,
                                                     val.transactional });
    out->base_offset = base;
    out->log_append_time_ms = append_time ? now : -1;
    out->log_start_offset = pl->log_start_offset;
    rm_appended(b, p);
    if (acks == -1)
        pp->waits[pp->n_waits++] = (ack_wait_t){ p, base + val.n_records, out, false };
}

/* Kafka's DelayedProduce.tryComplete: every waiting partition is resolved. */
static bool produce_try_complete(delayed_op_t *op)
{
    parked_produce_t *pp = (parked_produce_t *)op;
    bool all = true;
    for (int i = 0; i < pp->n_waits; i++) {
        ack_wait_t *w = &pp->waits[i];
        if (w->done)
            continue;
        partition_t *p = w->p;
        /* Kafka's DelayedProduce: only leadership matters.  A new leader
         * epoch with this broker still leading (the controller shrank the
         * ISR) keeps the wait; a move away completes it here, as
         * take_role() checks the purgatory on every change. */
        if (p->leader != pp->broker->cfg->broker_id) {
            w->out->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
            w->done = true;
        } else if (p->high_watermark >= w->required) {
            if (p->n_isr < pl_min_isr(pp->broker, p))
                w->out->error_code = KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
            w->done = true;
        } else {
            all = false;
        }
    }
    return all;
}

/* The answer, with its quota throttle (KIP-55/219): the request's bytes
 * count against the client's producer_byte_rate and its time against
 * request_percentage; over either, the answer says how long to back off
 * and the connection is not read meanwhile. */
static void produce_answer(request_t *req, parked_produce_t *pp)
{
    pp->resp.throttle_time_ms = quota_produce(req, false);
    kw_reset(&req->resp);
    produce_response_encode(&req->resp, req->hdr.request_api_version, &pp->resp);
}

static void produce_on_complete(delayed_op_t *op, bool expired)
{
    parked_produce_t *pp = (parked_produce_t *)op;
    request_t *req = pp->req;
    for (int i = 0; expired && i < pp->n_waits; i++)
        if (!pp->waits[i].done) {
            pp->waits[i].out->error_code = KERR_REQUEST_TIMED_OUT;
            pp->waits[i].out->base_offset = -1;
        }
    produce_answer(req, pp);
    req->parked = NULL;
    request_complete(req);
}

/* Ends the guards this request took (appended batches consumed theirs). */
static void end_verifications(parked_produce_t *pp)
{
    for (int i = 0; i < pp->n_verifying; i++) {
        verifying_t *v = &pp->verifying[i];
        partition_t *p = rm_partition(v->topic, v->partition);
        if (p && p->log)
            pstate_verification_end(p->log->pstate, pp->verify_pid, pp->slots[v->k].guard);
    }
    pp->n_verifying = 0;
}

static void produce_cancel(request_t *req)
{
    parked_produce_t *pp = req->parked;
    if (pp && pp->verify_ticket) {
        txn_verify_cancel(pp->verify_ticket);
        pp->verify_ticket = 0;
        end_verifications(pp);
    } else if (pp) {
        purgatory_cancel(&pp->op);
    }
    req->parked = NULL;
}

/* Appends every partition not already answered, then answers, or parks the
 * request until its acks=-1 partitions are replicated. */
static enum handler_result produce_append_all(broker_t *b, request_t *req, parked_produce_t *pp)
{
    struct produce_request *rq = &pp->rq;
    int k = 0;
    for (int i = 0; i < pp->resp.responses_count; i++) {
        struct produce_request_topic_produce_data *td = &rq->topic_data[i];
        struct produce_response_topic_produce_response *tr = &pp->resp.responses[i];
        const char *topic = kstr_dup_or_empty(&req->arena, td->name);
        mc_topic_t *t = mc_find_topic(topic);
        for (int p = 0; p < tr->partition_responses_count; p++, k++) {
            const txn_slot_t *slot = pp->slots ? &pp->slots[k] : NULL;
            if (!slot || !slot->refused)
                produce_partition(b, req, t, topic, rq->acks, &td->partition_data[p],
                                  &tr->partition_responses[p], pp, slot ? slot->guard : 0);
        }
    }
    if (rq->acks == 0) {
        (void)quota_produce(req, true);
        req->no_response = true;
        return REQ_DONE;
    }
    if (pp->n_waits == 0 || produce_try_complete(&pp->op)) {
        produce_answer(req, pp);
        return REQ_DONE;
    }
    partition_t **watch = arena_array(&req->arena, (size_t)pp->n_waits + 1, sizeof(*watch));
    for (int i = 0; i < pp->n_waits; i++)
        watch[i] = pp->waits[i].p;
    req->parked = pp;
    req->cancel = produce_cancel;
    purgatory_try_or_watch(b->base, &pp->op, watch, pp->n_waits, MAX(rq->timeout_ms, 1));
    return REQ_PARKED;
}

/* Kafka's handleProduceAppend: verification errors that older clients
 * may not retry correctly become NOT_ENOUGH_REPLICAS (retried, no metadata
 * refresh). */
static int16_t producer_facing(int16_t err)
{
    switch (err) {
    case KERR_CONCURRENT_TRANSACTIONS:
    case KERR_NETWORK_EXCEPTION:
    case KERR_COORDINATOR_LOAD_IN_PROGRESS:
    case KERR_COORDINATOR_NOT_AVAILABLE:
    case KERR_NOT_COORDINATOR:
        return KERR_NOT_ENOUGH_REPLICAS;
    default:
        return err;
    }
}

/* The coordinator's verdicts are in: refused partitions are answered,
 * the rest appended. */
static void refuse_unverified(parked_produce_t *pp, const int16_t *verdicts)
{
    for (int i = 0; i < pp->n_verifying; i++) {
        verifying_t *v = &pp->verifying[i];
        int16_t err = producer_facing(verdicts[i]);
        if (!err)
            continue;
        answer_early(v->out, v->partition, err);
        pp->slots[v->k].refused = true;
        log_info("produce", "Rejected transactional produce to %s-%d from %s: its transaction "
                            "was not verified with the coordinator (%s)", v->topic, v->partition,
                 conn_peer(pp->req->conn), kafka_error_name(err));
    }
}

/* @locality the event-loop thread (txn_verify.c's answer)
 * @locks none */
static void produce_verified(void *arg, const int16_t *errors)
{
    parked_produce_t *pp = arg;
    request_t *req = pp->req;
    pp->verify_ticket = 0;
    req->parked = NULL;
    refuse_unverified(pp, errors);
    enum handler_result r = produce_append_all(pp->broker, req, pp);
    end_verifications(pp);
    if (r == REQ_DONE)
        request_complete(req);
}

/* Takes a verification guard on every partition where the request's
 * transactional producer (pp->verify_pid, the first batch's) has no open
 * transaction.  Returns how many need verifying (pp->verifying). */
static int collect_verifications(broker_t *b, request_t *req, parked_produce_t *pp,
                                 int16_t *epoch)
{
    struct produce_request *rq = &pp->rq;
    pp->verify_pid = -1;
    int k = 0;
    for (int i = 0; i < pp->resp.responses_count; i++) {
        struct produce_request_topic_produce_data *td = &rq->topic_data[i];
        struct produce_response_topic_produce_response *tr = &pp->resp.responses[i];
        const char *topic = kstr_dup_or_empty(&req->arena, td->name);
        for (int p = 0; p < tr->partition_responses_count; p++, k++) {
            struct produce_request_partition_produce_data *in = &td->partition_data[p];
            batch_header_t h;
            if (in->records.len <= 0 ||
                batch_parse_header(in->records.ptr, (size_t)in->records.len, &h) < 0 ||
                !(h.attributes & BATCH_ATTR_TRANSACTIONAL) || (h.attributes & BATCH_ATTR_CONTROL))
                continue;
            if (pp->verify_pid < 0) {
                pp->verify_pid = h.producer_id;
                *epoch = h.producer_epoch;
            }
            int16_t err;
            partition_t *part = h.producer_id == pp->verify_pid
                                    ? rm_leader_for(b, topic, in->index, -1, &err) : NULL;
            uint64_t guard = part && part->log
                                 ? pstate_verification_start(part->log->pstate, pp->verify_pid) : 0;
            if (!guard)
                continue;
            pp->slots[k].guard = guard;
            pp->verifying[pp->n_verifying++] =
                (verifying_t){ topic, in->index, &tr->partition_responses[p], k };
        }
    }
    return pp->n_verifying;
}

/* Starts KIP-890 verification if the request needs it: REQ_PARKED when the
 * coordinator was asked, else REQ_DONE (nothing to verify, or the
 * partitions were answered at once). */
static enum handler_result maybe_verify(broker_t *b, request_t *req, parked_produce_t *pp)
{
    if (!b->cfg->txn_partition_verification_enable || !pp->verifying)
        return REQ_DONE;
    int16_t epoch = 0;
    int n = collect_verifications(b, req, pp, &epoch);
    if (n == 0)
        return REQ_DONE;
    const char **topics = arena_array(&req->arena, (size_t)n, sizeof(char *));
    int32_t *parts = arena_array(&req->arena, (size_t)n, sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        topics[i] = pp->verifying[i].topic;
        parts[i] = pp->verifying[i].partition;
    }
    int16_t err = txn_verify_start(b, pp->rq.transactional_id, pp->verify_pid, epoch, topics,
                                   parts, n,
                                   req->hdr.request_api_version >= 11, produce_verified, pp,
                                   &pp->verify_ticket);
    if (err) {
        int16_t *errors = arena_array(&req->arena, (size_t)n, sizeof(int16_t));
        for (int i = 0; i < n; i++)
            errors[i] = err;
        refuse_unverified(pp, errors);
        end_verifications(pp);
        return REQ_DONE;
    }
    req->parked = pp;
    req->cancel = produce_cancel;
    return REQ_PARKED;
}

enum handler_result api_produce(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    parked_produce_t *pp = arena_alloc(&req->arena, sizeof(*pp));
    memset(pp, 0, sizeof(*pp));
    struct produce_request *rq = &pp->rq;
    if (produce_request_decode(&req->body, v, rq) < 0)
        return REQ_CLOSE;
    pp->req = req;
    pp->broker = b;
    pp->op.try_complete = produce_try_complete;
    pp->op.on_complete = produce_on_complete;
    struct produce_response *resp = &pp->resp;
    produce_response_defaults(resp);
    int16_t acks_error = 0;
    if (rq->acks != 0 && rq->acks != 1 && rq->acks != -1) {
        acks_error = KERR_INVALID_REQUIRED_ACKS;
        log_info("produce", "Rejected produce from %s: acks=%d (INVALID_REQUIRED_ACKS)",
                 conn_peer(req->conn), rq->acks);
    }
    int nt = rq->topic_data_count > 0 ? rq->topic_data_count : 0;
    resp->responses_count = nt;
    resp->responses = produce_response_topic_produce_response_array(&req->arena, nt);
    int64_t total = 0;
    for (int i = 0; i < nt; i++) {
        struct produce_request_topic_produce_data *td = &rq->topic_data[i];
        struct produce_response_topic_produce_response *tr = &resp->responses[i];
        tr->name = td->name;
        int np = td->partition_data_count > 0 ? td->partition_data_count : 0;
        tr->partition_responses_count = np;
        tr->partition_responses =
            produce_response_partition_produce_response_array(&req->arena, np);
        total += np;
    }
    /* Bounded by the request (each partition entry took 8 bytes of it or
     * more); a failed allocation closes this connection only. */
    size_t n = (size_t)total + 1;
    bool transactional = rq->transactional_id.len > 0;
    if (transactional) {
        pp->slots = arena_try_array(&req->arena, n, sizeof(txn_slot_t));
        pp->verifying = arena_try_array(&req->arena, n, sizeof(verifying_t));
    }
    pp->waits = rq->acks == -1 ? arena_try_array(&req->arena, n, sizeof(ack_wait_t)) : NULL;
    if ((transactional && (!pp->slots || !pp->verifying)) || (rq->acks == -1 && !pp->waits)) {
        log_error("produce", "Closing connection from %s: out of memory for a produce request "
                             "naming %lld partitions", conn_peer(req->conn), (long long)total);
        return REQ_CLOSE;
    }
    if (!acks_error && transactional &&
        !authorize(req, ACL_OP_WRITE, ACL_RES_TRANSACTIONAL_ID,
                   kstr_dup_or_empty(&req->arena, rq->transactional_id)))
        acks_error = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;   /* the whole request */
    if (acks_error) {
        for (int i = 0; i < nt; i++)
            for (int p = 0; p < resp->responses[i].partition_responses_count; p++)
                answer_early(&resp->responses[i].partition_responses[p],
                             rq->topic_data[i].partition_data[p].index, acks_error);
        produce_answer(req, pp);
        return REQ_DONE;
    }
    if (maybe_verify(b, req, pp) == REQ_PARKED)
        return REQ_PARKED;
    return produce_append_all(b, req, pp);
}
