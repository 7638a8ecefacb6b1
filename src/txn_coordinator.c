/*
 * txn_coordinator.c - owns the transaction state machine (Kafka's
 * TransactionCoordinator and TransactionMetadata): the metadata of each
 * transactional id, InitProducerId, AddPartitionsToTxn / AddOffsetsToTxn
 * and EndTxn, and every transition written to __transaction_state before
 * it takes effect.  Records are in txn_state_log.c, markers in
 * txn_markers.c.  Event-loop thread only.
 *
 * A transition is computed from the state in effect, marked pending (later
 * requests get CONCURRENT_TRANSACTIONS), appended, and applied once the
 * ISR has it; a failed write leaves the state as it was.  A transition
 * that finds the coordinator moved (the partition was unloaded, or loaded
 * again at another epoch) answers NOT_COORDINATOR and changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "producer_ids.h"
#include "txn_internal.h"
#include "util.h"

#define EPOCH_EXHAUSTED(e) ((e) >= INT16_MAX - 1)

const char *const txn_state_names[] = { "Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
                                        "CompleteCommit", "CompleteAbort", "Dead",
                                        "PrepareEpochFence" };

txn_coordinator_state_t tc;

/* ---- metadata ---- */

txn_meta_t *txn_find(const char *id, int32_t len)
{
    txn_meta_t *t;
    HASH_FIND(hh, tc.txns, id, (size_t)len, t);
    return t;
}

void txn_transit_free(txn_transit_t *x)
{
    for (int i = 0; i < x->n_parts; i++)
        free(x->parts[i].topic);
    free(x->parts);
    x->parts = NULL;
    x->n_parts = 0;
}

void txn_transit_copy(txn_transit_t *dst, const txn_transit_t *src)
{
    *dst = *src;
    dst->parts = xcalloc((size_t)src->n_parts + 1, sizeof(txn_tp_t));
    for (int i = 0; i < src->n_parts; i++)
        dst->parts[i] = (txn_tp_t){ xstrdup(src->parts[i].topic), src->parts[i].partition };
}

txn_meta_t *txn_add(const char *id, int32_t partition, const txn_transit_t *cur)
{
    txn_meta_t *t = xcalloc(1, sizeof(*t));
    t->id = xstrdup(id);
    t->partition = partition;
    txn_transit_copy(&t->cur, cur);
    t->prev_pid = -1;
    HASH_ADD_KEYPTR(hh, tc.txns, t->id, strlen(t->id), t);
    return t;
}

void txn_remove(txn_meta_t *t)
{
    HASH_DEL(tc.txns, t);
    txn_transit_free(&t->cur);
    free(t->id);
    free(t);
}

static bool has_part(const txn_transit_t *x, const char *topic, int32_t partition)
{
    for (int i = 0; i < x->n_parts; i++)
        if (x->parts[i].partition == partition && !strcmp(x->parts[i].topic, topic))
            return true;
    return false;
}

/* ---- a waiting client ---- */

typedef struct txn_op {
    request_t *req;             /* NULL once its connection went */
    tc_pid_done_fn pid_done;
    tc_done_fn done;
    void *ctx;
} txn_op_t;

static void op_cancel(request_t *req)
{
    txn_op_t *op = req->parked;
    if (op)
        op->req = NULL;
    req->parked = NULL;
}

/* The op is parked on its request at once; a handler that answers before
 * returning has completed its own request, which returns REQ_PARKED. */
static txn_op_t *op_new(request_t *req, tc_pid_done_fn pid_done, tc_done_fn done, void *ctx)
{
    txn_op_t *op = xcalloc(1, sizeof(*op));
    op->req = req;
    op->pid_done = pid_done;
    op->done = done;
    op->ctx = ctx;
    req->parked = op;
    req->cancel = op_cancel;
    return op;
}

static void op_answer(txn_op_t *op, int16_t err, int64_t pid, int16_t epoch)
{
    if (!op)
        return;
    if (op->req) {
        if (op->pid_done)
            op->pid_done(op->req, err, pid, epoch);
        else
            op->done(op->req, err, op->ctx);
        op->req->parked = NULL;
        request_complete(op->req);
    }
    free(op);
}

/* ---- writing a transition ---- */

typedef struct txn_write txn_write_t;
typedef void (*txn_then_fn)(txn_write_t *w, txn_meta_t *t, int16_t err);

struct txn_write {
    char *id;
    int32_t coordinator_epoch;
    txn_transit_t next;
    txn_then_fn then;
    txn_op_t *op;               /* the client waiting, or NULL */
    bool fence;                 /* an abort that bumped the epoch */
};

/* Kafka's appendTransactionToLog error mapping. */
static int16_t write_error(int16_t err)
{
    switch (err) {
    case KERR_NONE:
        return KERR_NONE;
    case KERR_NOT_ENOUGH_REPLICAS:
    case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case KERR_REQUEST_TIMED_OUT:
    case KERR_UNKNOWN_TOPIC_OR_PARTITION:
        return KERR_COORDINATOR_NOT_AVAILABLE;
    case KERR_NOT_COORDINATOR:
    case KERR_NOT_LEADER_OR_FOLLOWER:
    case KERR_KAFKA_STORAGE_ERROR:
        return KERR_NOT_COORDINATOR;
    default:
        return KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* @locality the event-loop thread
 * @locks none */
static void write_done(void *arg, int16_t err)
{
    txn_write_t *w = arg;
    txn_meta_t *t = tc.b ? txn_find(w->id, (int32_t)strlen(w->id)) : NULL;
    if (!t || tc.epoch[t->partition] != w->coordinator_epoch) {
        t = NULL;
        err = KERR_NOT_COORDINATOR;
    } else {
        t->pending = false;
        err = write_error(err);
        if (err == KERR_NONE) {
            txn_transit_free(&t->cur);
            t->cur = w->next;
            w->next.parts = NULL;
            w->next.n_parts = 0;
        } else {
            log_warn(TXN_COMP, "Writing %s of transactional id %s to %s-%d failed (%s)",
                     txn_state_names[w->next.state], w->id, TXN_TOPIC, t->partition,
                     kafka_error_name(err));
        }
    }
    w->then(w, t, err);
    txn_transit_free(&w->next);
    free(w->id);
    free(w);
}

/* Appends the transition (taken) and calls then(w, t, err) once the ISR
 * has it or the write failed. */
static void write_transit(txn_meta_t *t, txn_transit_t *next, txn_then_fn then, txn_op_t *op,
                          bool fence)
{
    txn_write_t *w = xcalloc(1, sizeof(*w));
    w->id = xstrdup(t->id);
    w->coordinator_epoch = tc.epoch[t->partition];
    w->next = *next;
    w->then = then;
    w->op = op;
    w->fence = fence;
    t->pending = true;
    kwriter_t k, v;
    kw_init(&k);
    kw_init(&v);
    txn_encode_key(&k, t->id);
    batch_kv_t rec = { k.buf, (int32_t)k.len, NULL, -1 };     /* Dead: a tombstone */
    if (next->state != TXN_DEAD) {
        txn_encode_value(&v, next);
        rec.value = v.buf;
        rec.value_len = (int32_t)v.len;
    }
    int64_t end = -1;
    int16_t err = clog_append(tc.b, TXN_TOPIC, t->partition, &rec, 1, NULL, NULL, &end);
    kw_free(&k);
    kw_free(&v);
    if (err)
        write_done(w, err);
    else
        (void)clog_wait_replicated(tc.b, TXN_TOPIC, t->partition, end, TXN_WRITE_TIMEOUT_MS,
                                   write_done, w);
}

/* A transition from the state in effect, with a new state and time. */
static txn_transit_t transit_from(const txn_meta_t *t, enum txn_state state, bool keep_parts)
{
    txn_transit_t x;
    if (keep_parts) {
        txn_transit_copy(&x, &t->cur);
    } else {
        x = t->cur;
        x.parts = NULL;
        x.n_parts = 0;
    }
    x.state = state;
    x.update_ts = now_ms();
    return x;
}

/* ---- EndTxn (and the coordinator's own aborts) ---- */

static void end_written(txn_write_t *w, txn_meta_t *t, int16_t err);

/* Kafka's endTransaction.  from_client: an EndTxn request (strict epoch);
 * else a fence (InitProducerId over an ongoing transaction, or a timeout)
 * with the bumped epoch.  Answers op unless a write was started. */
static void end_txn(txn_op_t *op, txn_meta_t *t, int64_t pid, int16_t epoch, bool commit,
                    bool from_client)
{
    int16_t err = KERR_NONE;
    bool fence = !from_client;
    if (t->cur.pid != pid)
        err = KERR_INVALID_PRODUCER_ID_MAPPING;
    else if ((from_client && epoch != t->cur.epoch) || epoch < t->cur.epoch)
        err = KERR_PRODUCER_FENCED;
    else if (t->pending)
        err = KERR_CONCURRENT_TRANSACTIONS;
    else {
        switch (t->cur.state) {
        case TXN_ONGOING: {
            txn_transit_t next = transit_from(t, commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT,
                                              true);
            if (fence) {
                next.epoch = epoch;
                next.last_epoch = -1;
            }
            write_transit(t, &next, end_written, op, fence);
            return;
        }
        case TXN_COMPLETE_COMMIT:
            err = commit ? KERR_NONE : KERR_INVALID_TXN_STATE;
            break;
        case TXN_COMPLETE_ABORT:
            err = commit ? KERR_INVALID_TXN_STATE : KERR_NONE;
            break;
        case TXN_PREPARE_COMMIT:
            err = commit ? KERR_CONCURRENT_TRANSACTIONS : KERR_INVALID_TXN_STATE;
            break;
        case TXN_PREPARE_ABORT:
            err = commit ? KERR_INVALID_TXN_STATE : KERR_CONCURRENT_TRANSACTIONS;
            break;
        default:
            err = KERR_INVALID_TXN_STATE;
            break;
        }
    }
    if (err == KERR_INVALID_TXN_STATE)
        log_info(TXN_COMP, "EndTxn(%s) for transactional id %s in state %s: INVALID_TXN_STATE",
                 commit ? "commit" : "abort", t->id, txn_state_names[t->cur.state]);
    op_answer(op, err, -1, -1);
}

static void end_written(txn_write_t *w, txn_meta_t *t, int16_t err)
{
    if (err) {
        if (t && w->fence)
            t->failed_fence = true;
        op_answer(w->op, err, -1, -1);
        return;
    }
    t->failed_fence = false;
    /* A fence (InitProducerId over an ongoing transaction) tells the
     * producer to retry; its next try bumps the epoch again. */
    op_answer(w->op, w->op && w->op->pid_done ? KERR_CONCURRENT_TRANSACTIONS : KERR_NONE, -1, -1);
    log_info(TXN_COMP, "Transactional id %s (producer %lld epoch %d) is %s; writing markers to %d "
             "partitions", t->id, (long long)t->cur.pid, t->cur.epoch,
             txn_state_names[t->cur.state], t->cur.n_parts);
    txn_send_markers(t);
}

void txn_send_markers(txn_meta_t *t)
{
    t->pending = true;          /* until Complete* is written */
    txn_markers_send(t, tc.epoch[t->partition], t->cur.state == TXN_PREPARE_COMMIT);
}

static void complete_written(txn_write_t *w, txn_meta_t *t, int16_t err);

static void retry_complete(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    txn_write_t *w = arg;
    txn_markers_done(w->id, w->coordinator_epoch);
    free(w->id);
    free(w);
}

void txn_markers_done(const char *id, int32_t coordinator_epoch)
{
    txn_meta_t *t = tc.b ? txn_find(id, (int32_t)strlen(id)) : NULL;
    if (!t || tc.epoch[t->partition] != coordinator_epoch ||
        (t->cur.state != TXN_PREPARE_COMMIT && t->cur.state != TXN_PREPARE_ABORT))
        return;
    txn_transit_t next = transit_from(t, t->cur.state == TXN_PREPARE_COMMIT ? TXN_COMPLETE_COMMIT
                                                                            : TXN_COMPLETE_ABORT,
                                      false);
    write_transit(t, &next, complete_written, NULL, false);
}

static void complete_written(txn_write_t *w, txn_meta_t *t, int16_t err)
{
    if (!t)
        return;             /* another coordinator completes it */
    if (err) {
        /* Kafka retries the append while it still coordinates. */
        t->pending = true;
        txn_write_t *r = xcalloc(1, sizeof(*r));
        r->id = xstrdup(w->id);
        r->coordinator_epoch = w->coordinator_epoch;
        struct timeval tv = { 1, 0 };
        if (event_base_once(tc.b->base, -1, EV_TIMEOUT, retry_complete, r, &tv) < 0) {
            free(r->id);
            free(r);
        }
        return;
    }
    log_info(TXN_COMP, "Completed transaction of transactional id %s (producer %lld epoch %d): %s",
             t->id, (long long)t->cur.pid, t->cur.epoch, txn_state_names[t->cur.state]);
}

static void expired_written(txn_write_t *w, txn_meta_t *t, int16_t err)
{
    (void)w;
    if (!t || err)
        return;
    log_info(TXN_COMP, "Removed expired transactional id %s", t->id);
    txn_remove(t);
}

void txn_expire(txn_meta_t *t)
{
    txn_transit_t next = transit_from(t, TXN_DEAD, false);
    write_transit(t, &next, expired_written, NULL, false);
}

void txn_abort_timed_out(txn_meta_t *t)
{
    if (t->cur.epoch == INT16_MAX)
        return;
    int16_t bumped = t->failed_fence ? t->cur.epoch : (int16_t)(t->cur.epoch + 1);
    log_info(TXN_COMP, "Aborting transaction of transactional id %s (producer %lld): it ran past "
             "its timeout of %d ms", t->id, (long long)t->cur.pid, t->cur.timeout_ms);
    end_txn(NULL, t, t->cur.pid, bumped, false, false);
}

enum handler_result tc_end_txn(request_t *req, kstr_t txn_id, int64_t pid, int16_t epoch,
                               bool commit, tc_done_fn done, void *ctx)
{
    txn_op_t *op = op_new(req, NULL, done, ctx);
    int16_t err = txn_id.len <= 0 ? KERR_INVALID_REQUEST
                                  : txn_coordinator_error(txn_id.ptr, txn_id.len);
    txn_meta_t *t = err ? NULL : txn_find(txn_id.ptr, txn_id.len);
    if (!err && !t)
        err = KERR_INVALID_PRODUCER_ID_MAPPING;
    if (err)
        op_answer(op, err, -1, -1);
    else
        end_txn(op, t, pid, epoch, commit, true);
    return REQ_PARKED;
}

/* ---- AddPartitionsToTxn / AddOffsetsToTxn ---- */

static void add_written(txn_write_t *w, txn_meta_t *t, int16_t err)
{
    (void)t;
    op_answer(w->op, err, -1, -1);
}

enum handler_result tc_add_partitions(request_t *req, kstr_t txn_id, int64_t pid, int16_t epoch,
                                      const tc_partition_t *parts, int n, tc_done_fn done,
                                      void *ctx)
{
    txn_op_t *op = op_new(req, NULL, done, ctx);
    int16_t err = txn_id.len <= 0 ? KERR_INVALID_REQUEST
                                  : txn_coordinator_error(txn_id.ptr, txn_id.len);
    txn_meta_t *t = err ? NULL : txn_find(txn_id.ptr, txn_id.len);
    if (!err && !t)
        err = KERR_INVALID_PRODUCER_ID_MAPPING;
    else if (!err && t->cur.pid != pid)
        err = KERR_INVALID_PRODUCER_ID_MAPPING;
    else if (!err && t->cur.epoch != epoch)
        err = KERR_PRODUCER_FENCED;
    else if (!err && (t->pending || t->cur.state == TXN_PREPARE_COMMIT ||
                      t->cur.state == TXN_PREPARE_ABORT))
        err = KERR_CONCURRENT_TRANSACTIONS;
    if (err) {
        op_answer(op, err, -1, -1);
        return REQ_PARKED;
    }
    bool all_in = t->cur.state == TXN_ONGOING;
    for (int i = 0; i < n && all_in; i++)
        all_in = has_part(&t->cur, parts[i].topic, parts[i].partition);
    if (all_in) {
        op_answer(op, KERR_NONE, -1, -1);
        return REQ_PARKED;
    }
    /* Kafka's prepareAddPartitions. */
    bool starts = t->cur.state == TXN_EMPTY || t->cur.state == TXN_COMPLETE_COMMIT ||
                  t->cur.state == TXN_COMPLETE_ABORT;
    txn_transit_t next = transit_from(t, TXN_ONGOING, !starts);
    if (starts)
        next.start_ts = next.update_ts;
    next.parts = xrealloc(next.parts, sizeof(txn_tp_t) * (size_t)(next.n_parts + n + 1));
    for (int i = 0; i < n; i++)
        if (!has_part(&next, parts[i].topic, parts[i].partition))
            next.parts[next.n_parts++] = (txn_tp_t){ xstrdup(parts[i].topic), parts[i].partition };
    write_transit(t, &next, add_written, op, false);
    return REQ_PARKED;
}

/* Kafka's handleVerifyPartitionsInTransaction. */
int16_t tc_verify_partition(kstr_t txn_id, int64_t pid, int16_t epoch, const char *topic,
                            int32_t partition)
{
    if (txn_id.len <= 0)
        return KERR_INVALID_REQUEST;
    int16_t err = txn_coordinator_error(txn_id.ptr, txn_id.len);
    if (err)
        return err;
    txn_meta_t *t = txn_find(txn_id.ptr, txn_id.len);
    if (!t || t->cur.pid != pid)
        return KERR_INVALID_PRODUCER_ID_MAPPING;
    if (t->cur.epoch != epoch)
        return KERR_PRODUCER_FENCED;
    if (t->pending || t->cur.state == TXN_PREPARE_COMMIT || t->cur.state == TXN_PREPARE_ABORT)
        return KERR_CONCURRENT_TRANSACTIONS;
    /* Not in the transaction: the leader refuses the append (and answers
     * clients that predate the code with INVALID_TXN_STATE). */
    return has_part(&t->cur, topic, partition) ? KERR_NONE : KERR_TRANSACTION_ABORTABLE;
}

/* ---- InitProducerId ---- */

typedef struct init_ctx {
    txn_op_t *op;
    char *id;
    int32_t timeout_ms;
    int64_t expected_pid;
    int16_t expected_epoch;
} init_ctx_t;

static void init_written(txn_write_t *w, txn_meta_t *t, int16_t err)
{
    if (!err)
        log_info(TXN_COMP, "Initialized transactional id %s with producer id %lld and producer "
                 "epoch %d on partition %s-%d", t->id, (long long)t->cur.pid, t->cur.epoch,
                 TXN_TOPIC, t->partition);
    op_answer(w->op, err, err ? -1 : w->next.pid, err ? -1 : w->next.epoch);
}

static void init_with_pid(init_ctx_t *c, int64_t new_pid);

static void rotate_ready(void *arg, int64_t pid)
{
    init_with_pid(arg, pid);
}

/* Kafka's prepareInitProducerIdTransit on the state in effect.  True if c
 * waits for a new producer id (rotate_ready takes it over). */
static bool init_existing(init_ctx_t *c, txn_meta_t *t, int64_t new_pid)
{
    bool expected = c->expected_pid >= 0;
    int16_t err = KERR_NONE;
    if (t->pending)
        err = KERR_CONCURRENT_TRANSACTIONS;
    else if (expected && !(t->cur.epoch == -1 || c->expected_pid == t->cur.pid ||
                           (c->expected_pid == t->prev_pid && EPOCH_EXHAUSTED(c->expected_epoch))))
        err = KERR_PRODUCER_FENCED;
    else if (t->cur.state == TXN_PREPARE_ABORT || t->cur.state == TXN_PREPARE_COMMIT)
        err = KERR_CONCURRENT_TRANSACTIONS;
    if (err) {
        op_answer(c->op, err, -1, -1);
        return false;
    }
    if (t->cur.state == TXN_ONGOING) {
        /* Fence the running producer: abort with a bumped epoch, and have
         * this one retry (Kafka's PrepareEpochFence). */
        int16_t bumped = t->failed_fence ? t->cur.epoch : (int16_t)(t->cur.epoch + 1);
        end_txn(c->op, t, t->cur.pid, bumped, false, false);
        return false;
    }
    txn_transit_t next = transit_from(t, TXN_EMPTY, false);
    next.timeout_ms = c->timeout_ms;
    next.start_ts = -1;
    if (EPOCH_EXHAUSTED(t->cur.epoch) && (!expected || c->expected_epoch == t->cur.epoch)) {
        if (new_pid < 0) {      /* a new producer id first */
            pid_allocate(tc.b, rotate_ready, c);
            return true;
        }
        t->prev_pid = t->cur.pid;
        next.pid = new_pid;
        next.epoch = 0;
        next.last_epoch = expected ? t->cur.epoch : -1;
    } else if (!expected) {
        next.epoch = (int16_t)(t->cur.epoch + 1);
        next.last_epoch = -1;
    } else if (t->cur.epoch == -1 || c->expected_epoch == t->cur.epoch) {
        next.epoch = (int16_t)(t->cur.epoch + 1);
        next.last_epoch = t->cur.epoch;
    } else if (c->expected_epoch == t->cur.last_epoch) {
        /* A retry of a bump that succeeded: the same epoch again. */
    } else {
        log_info(TXN_COMP, "InitProducerId for %s expected epoch %d; the current is %d "
                 "(PRODUCER_FENCED)", t->id, c->expected_epoch, t->cur.epoch);
        op_answer(c->op, KERR_PRODUCER_FENCED, -1, -1);
        return false;
    }
    write_transit(t, &next, init_written, c->op, false);
    return false;
}

static void init_ctx_free(init_ctx_t *c)
{
    free(c->id);
    free(c);
}

/* A producer id arrived (or was not needed, new_pid -1 then). */
static void init_with_pid(init_ctx_t *c, int64_t new_pid)
{
    int32_t len = (int32_t)strlen(c->id);
    int16_t err = tc.b ? txn_coordinator_error(c->id, len) : KERR_COORDINATOR_NOT_AVAILABLE;
    txn_meta_t *t = err ? NULL : txn_find(c->id, len);
    if (!err && !t && new_pid < 0)
        err = KERR_COORDINATOR_NOT_AVAILABLE;   /* no id block could be claimed */
    if (err) {
        op_answer(c->op, err, -1, -1);
    } else {
        if (!t) {   /* Kafka's putTransactionStateIfNotExists: epoch -1 until written */
            txn_transit_t cur = { TXN_EMPTY, new_pid, -1, -1, c->timeout_ms, NULL, 0, -1,
                                  now_ms() };
            t = txn_add(c->id, txn_partition_for(c->id, len), &cur);
            new_pid = -1;
        }
        if (init_existing(c, t, new_pid))
            return;             /* waiting for a new producer id; c lives on */
    }
    init_ctx_free(c);
}

static void new_pid_ready(void *arg, int64_t pid)
{
    init_ctx_t *c = arg;
    if (pid < 0) {
        op_answer(c->op, KERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
        init_ctx_free(c);
        return;
    }
    init_with_pid(c, pid);
}

enum handler_result tc_init_producer_id(request_t *req, kstr_t txn_id, int32_t timeout_ms,
                                        int64_t expected_pid, int16_t expected_epoch,
                                        tc_pid_done_fn done)
{
    txn_op_t *op = op_new(req, done, NULL, NULL);
    int16_t err = KERR_NONE;
    if (txn_id.len == 0 || (expected_pid < 0) != (expected_epoch < 0))
        err = KERR_INVALID_REQUEST;
    else if (timeout_ms <= 0 || timeout_ms > tc.b->cfg->txn_max_timeout_ms)
        err = KERR_INVALID_TRANSACTION_TIMEOUT;
    else
        err = txn_coordinator_error(txn_id.ptr, txn_id.len);
    if (err) {
        op_answer(op, err, -1, -1);
        return REQ_PARKED;
    }
    init_ctx_t *c = xcalloc(1, sizeof(*c));
    c->op = op;
    c->id = xstrndup(txn_id.ptr, (size_t)txn_id.len);
    c->timeout_ms = timeout_ms;
    c->expected_pid = expected_pid;
    c->expected_epoch = expected_epoch;
    if (txn_find(txn_id.ptr, txn_id.len))
        init_with_pid(c, -1);
    else
        pid_allocate(tc.b, new_pid_ready, c);
    return REQ_PARKED;
}
