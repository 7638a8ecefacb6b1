/*
 * txn_state_log.c - owns __transaction_state as Kafka keeps it
 * (TransactionLog and TransactionStateManager): the id-to-partition rule,
 * the key/value records, creating the topic, loading a partition when this
 * broker starts leading it (resuming the markers of transactions caught
 * in a Prepare state) and unloading it, the timers that abort timed-out
 * transactions and expire idle transactional ids, and the describe/list
 * views.  Event-loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_quotas.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "offsets_topic.h"
#include "replica_manager.h"
#include "topic_admin.h"
#include "txn_internal.h"
#include "txn_verify.h"
#include "util.h"

/* ---- placement and records ---- */

int32_t txn_partition_for(const char *id, int32_t len)
{
    return offsets_partition_for(id, len, tc.n_partitions);
}

int16_t txn_coordinator_error(const char *id, int32_t len)
{
    if (!tc.b || !mc_find_topic(TXN_TOPIC))
        return KERR_COORDINATOR_NOT_AVAILABLE;
    int32_t p = txn_partition_for(id, len);
    const partition_t *pp = rm_partition(TXN_TOPIC, p);
    if (!pp || !pp->log || pp->leader != tc.b->cfg->broker_id || tc.epoch[p] < 0)
        return KERR_NOT_COORDINATOR;
    return tc.loaded[p] ? KERR_NONE : KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

void txn_encode_key(kwriter_t *w, const char *id)
{
    struct transaction_log_key k = { kstr_from_cstr(id) };
    kw_int16(w, 0);
    transaction_log_key_encode(w, 0, &k);
}

/* Version 0, as Kafka 3.9 writes until transaction.version 1; an Empty
 * transaction has null partitions. */
void txn_encode_value(kwriter_t *w, const txn_transit_t *x)
{
    arena_t a;
    arena_init(&a);
    struct transaction_log_value v;
    transaction_log_value_defaults(&v);
    v.producer_id = x->pid;
    v.producer_epoch = x->epoch;
    v.transaction_timeout_ms = x->timeout_ms;
    v.transaction_status = (int8_t)x->state;
    v.transaction_last_update_timestamp_ms = x->update_ts;
    v.transaction_start_timestamp_ms = x->start_ts;
    v.transaction_partitions_count = -1;
    if (x->state != TXN_EMPTY) {
        /* Grouped by topic. */
        v.transaction_partitions = transaction_log_value_partitions_schema_array(&a, x->n_parts);
        v.transaction_partitions_count = 0;
        for (int i = 0; i < x->n_parts; i++) {
            int j;
            for (j = 0; j < v.transaction_partitions_count; j++)
                if (kstr_eq_cstr(v.transaction_partitions[j].topic, x->parts[i].topic))
                    break;
            struct transaction_log_value_partitions_schema *ps = &v.transaction_partitions[j];
            if (j == v.transaction_partitions_count) {
                v.transaction_partitions_count++;
                ps->topic = kstr_from_cstr(x->parts[i].topic);
                ps->partition_ids = arena_array(&a, (size_t)x->n_parts, sizeof(int32_t));
                ps->partition_ids_count = 0;
            }
            ps->partition_ids[ps->partition_ids_count++] = x->parts[i].partition;
        }
    }
    kw_int16(w, 0);
    transaction_log_value_encode(w, 0, &v);
    arena_free(&a);
}

/* Decodes a value into x (parts malloc()ed); -1 if malformed. */
static int decode_value(const uint8_t *buf, int32_t len, txn_transit_t *x)
{
    arena_t a;
    arena_init(&a);
    kreader_t r;
    kr_init(&r, (uint8_t *)buf, (size_t)len, &a);
    int16_t version = kr_int16(&r);
    struct transaction_log_value v;
    int rc = -1;
    if (version >= 0 && version <= 1 && transaction_log_value_decode(&r, version, &v) == 0 &&
        v.transaction_status >= TXN_EMPTY && v.transaction_status <= TXN_PREPARE_EPOCH_FENCE) {
        *x = (txn_transit_t){ (enum txn_state)v.transaction_status, v.producer_id,
                              v.producer_epoch, -1, v.transaction_timeout_ms, NULL, 0,
                              v.transaction_start_timestamp_ms,
                              v.transaction_last_update_timestamp_ms };
        int total = 0;
        for (int i = 0; i < v.transaction_partitions_count; i++)
            total += MAX(v.transaction_partitions[i].partition_ids_count, 0);
        x->parts = xcalloc((size_t)total + 1, sizeof(txn_tp_t));
        for (int i = 0; i < v.transaction_partitions_count; i++) {
            const struct transaction_log_value_partitions_schema *ps = &v.transaction_partitions[i];
            for (int k = 0; k < ps->partition_ids_count; k++)
                x->parts[x->n_parts++] = (txn_tp_t){ xstrndup(ps->topic.ptr, (size_t)MAX(ps->topic.len, 0)),
                                                     ps->partition_ids[k] };
        }
        rc = 0;
    }
    arena_free(&a);
    return rc;
}

/* ---- FindCoordinator ---- */

int16_t tc_find_coordinator(kstr_t txn_id, int32_t *node, mutation_quota_t *quota)
{
    if (!tc.b)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    const broker_config_t *cfg = tc.b->cfg;
    if (!mc_find_topic(TXN_TOPIC)) {
        char seg[32], isr[16];
        snprintf(seg, sizeof(seg), "%lld", (long long)cfg->txn_log_segment_bytes);
        snprintf(isr, sizeof(isr), "%d", cfg->txn_log_min_isr);
        const char *keys[] = { "cleanup.policy", "compression.type", "segment.bytes",
                               "min.insync.replicas", "unclean.leader.election.enable" };
        const char *vals[] = { "compact", "uncompressed", seg, isr, "false" };
        topic_spec_t spec = { .name = TXN_TOPIC, .num_partitions = tc.n_partitions,
                              .replication_factor = cfg->txn_log_rf, .config_keys = keys,
                              .config_values = vals, .n_configs = 5 };
        return clog_create_topic(tc.b, &spec, "transactions state",
                                 "transaction.state.log.replication.factor", quota);
    }
    if (txn_id.len <= 0)
        return KERR_INVALID_REQUEST;
    return tc_coordinator_of(txn_id, node);
}

int16_t tc_coordinator_of(kstr_t txn_id, int32_t *node)
{
    if (!tc.b || txn_id.len <= 0)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    return clog_leader_of(TXN_TOPIC, txn_partition_for(txn_id.ptr, txn_id.len), node);
}

/* ---- loading and unloading a partition ---- */

typedef struct txn_load {
    int32_t partition;
    int32_t epoch;
    int64_t started;
    int bad;
} txn_load_t;

static void load_record(const batch_record_t *r, int64_t pending_pid, void *arg)
{
    txn_load_t *l = arg;
    (void)pending_pid;      /* the coordinator never writes transactionally here */
    arena_t a;
    arena_init(&a);
    kreader_t kr;
    kr_init(&kr, (uint8_t *)r->key, (size_t)r->key_len, &a);
    struct transaction_log_key key;
    int16_t kv = kr_int16(&kr);
    if (kv != 0 || transaction_log_key_decode(&kr, 0, &key) < 0 || key.transactional_id.len <= 0) {
        l->bad++;
        arena_free(&a);
        return;
    }
    char *id = xstrndup(key.transactional_id.ptr, (size_t)key.transactional_id.len);
    arena_free(&a);
    txn_meta_t *t = txn_find(id, (int32_t)strlen(id));
    if (t)
        txn_remove(t);
    txn_transit_t x;
    if (r->value_len < 0) {
        /* tombstone: the id expired */
    } else if (decode_value(r->value, r->value_len, &x) < 0) {
        l->bad++;
    } else {
        txn_add(id, l->partition, &x);
        txn_transit_free(&x);
    }
    free(id);
}

static void load_done(void *arg, int rc)
{
    txn_load_t *l = arg;
    int32_t p = l->partition;
    if (rc < 0)
        log_warn(TXN_COMP, "Loading %s-%d stopped at an unreadable batch", TXN_TOPIC, p);
    if (l->bad)
        log_warn(TXN_COMP, "Skipped %d malformed records in %s-%d", l->bad, TXN_TOPIC, p);
    if (!tc.b || tc.epoch[p] != l->epoch) {
        free(l);            /* unloaded (or led again) meanwhile */
        return;
    }
    tc.loaded[p] = true;
    int n = 0, resumed = 0;
    txn_meta_t *t, *tmp;
    HASH_ITER(hh, tc.txns, t, tmp) {
        if (t->partition != p)
            continue;
        n++;
        if (t->cur.state == TXN_PREPARE_COMMIT || t->cur.state == TXN_PREPARE_ABORT) {
            txn_send_markers(t);
            resumed++;
        }
    }
    log_info(TXN_COMP, "Finished loading %d transaction metadata from %s-%d in %lld ms "
             "(coordinator epoch %d; markers resumed for %d)", n, TXN_TOPIC, p,
             (long long)(mono_ms() - l->started), l->epoch, resumed);
    free(l);
}

static void load_dropped(void *arg)
{
    free(arg);
}

static void forget_partition(int32_t p)
{
    txn_markers_drop_partition(p);
    txn_meta_t *t, *tmp;
    HASH_ITER(hh, tc.txns, t, tmp)
        if (t->partition == p)
            txn_remove(t);
    tc.loaded[p] = false;
}

void tc_partition_led(int32_t partition, int32_t coordinator_epoch)
{
    if (!tc.b || partition < 0 || partition >= tc.n_partitions)
        return;
    log_info(TXN_COMP, "Elected as the transaction coordinator for partition %d at epoch %d",
             partition, coordinator_epoch);
    forget_partition(partition);
    tc.epoch[partition] = coordinator_epoch;
    txn_load_t *l = xcalloc(1, sizeof(*l));
    l->partition = partition;
    l->epoch = coordinator_epoch;
    l->started = mono_ms();
    if (clog_load_async(tc.b, TXN_TOPIC, partition, load_record, load_done, load_dropped, l) < 0) {
        log_error(TXN_COMP, "Cannot load %s-%d: it is not hosted here", TXN_TOPIC, partition);
        free(l);
    }
}

void tc_partition_unled(int32_t partition)
{
    if (!tc.b || partition < 0 || partition >= tc.n_partitions || tc.epoch[partition] < 0)
        return;
    log_info(TXN_COMP, "Resigned as the transaction coordinator for partition %d", partition);
    forget_partition(partition);
    tc.epoch[partition] = -1;
}

/* ---- timeouts and expiry ---- */

/* Kafka's abortTimedOutTransactions. */
static void abort_timed_out(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    int64_t now = now_ms();
    txn_meta_t *t, *tmp;
    HASH_ITER(hh, tc.txns, t, tmp)
        if (tc.loaded[t->partition] && t->cur.state == TXN_ONGOING && !t->pending &&
            t->cur.start_ts + t->cur.timeout_ms < now)
            txn_abort_timed_out(t);
}

/* Kafka's removeExpiredTransactionalIds: ids idle past
 * transactional.id.expiration.ms get a tombstone, then go. */
static void expire_ids(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    int64_t now = now_ms();
    txn_meta_t *t, *tmp;
    HASH_ITER(hh, tc.txns, t, tmp) {
        enum txn_state s = t->cur.state;
        if (tc.loaded[t->partition] && !t->pending &&
            (s == TXN_EMPTY || s == TXN_COMPLETE_COMMIT || s == TXN_COMPLETE_ABORT) &&
            t->cur.update_ts + tc.b->cfg->txn_id_expiration_ms <= now)
            txn_expire(t);
    }
}

static struct event *every(broker_t *b, int64_t ms, event_callback_fn fn)
{
    struct event *ev = event_new(b->base, -1, EV_PERSIST, fn, NULL);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    event_add(ev, &tv);
    return ev;
}

void tc_init(broker_t *b)
{
    tc.b = b;
    tc.n_partitions = b->cfg->txn_log_partitions;
    tc.epoch = xcalloc((size_t)tc.n_partitions, sizeof(int32_t));
    for (int i = 0; i < tc.n_partitions; i++)
        tc.epoch[i] = -1;
    tc.loaded = xcalloc((size_t)tc.n_partitions, sizeof(bool));
    tc.abort_timer = every(b, b->cfg->txn_abort_check_ms, abort_timed_out);
    tc.expiry_timer = every(b, b->cfg->txn_id_expiry_check_ms, expire_ids);
}

void tc_shutdown(void)
{
    if (!tc.b)
        return;
    txn_markers_shutdown();
    txn_verify_shutdown();
    txn_meta_t *t, *tmp;
    HASH_ITER(hh, tc.txns, t, tmp)
        txn_remove(t);
    event_free(tc.abort_timer);
    event_free(tc.expiry_timer);
    free(tc.epoch);
    free(tc.loaded);
    memset(&tc, 0, sizeof(tc));
}

/* ---- DescribeTransactions / ListTransactions ---- */

void tc_describe(kstr_t txn_id, arena_t *a,
                 struct describe_transactions_response_transaction_state *out)
{
    memset(out, 0, sizeof(*out));
    out->transactional_id = txn_id;
    out->transaction_state = KSTR_LIT("");
    out->producer_id = -1;
    out->producer_epoch = -1;
    out->transaction_start_time_ms = -1;
    int16_t err = txn_id.len <= 0 ? KERR_INVALID_REQUEST
                                  : txn_coordinator_error(txn_id.ptr, txn_id.len);
    txn_meta_t *t = err ? NULL : txn_find(txn_id.ptr, txn_id.len);
    if (!err && (!t || t->cur.state == TXN_DEAD))
        err = KERR_TRANSACTIONAL_ID_NOT_FOUND;
    out->error_code = err;
    if (err)
        return;
    out->transaction_state = kstr_from_cstr(txn_state_names[t->cur.state]);
    out->transaction_timeout_ms = t->cur.timeout_ms;
    out->transaction_start_time_ms = t->cur.start_ts;
    out->producer_id = t->cur.pid;
    out->producer_epoch = t->cur.epoch;
    out->topics = describe_transactions_response_topic_data_array(a, t->cur.n_parts);
    for (int i = 0; i < t->cur.n_parts; i++) {
        const txn_tp_t *tp = &t->cur.parts[i];
        int j;
        for (j = 0; j < out->topics_count; j++)
            if (kstr_eq_cstr(out->topics[j].topic, tp->topic))
                break;
        if (j == out->topics_count) {
            out->topics_count++;
            out->topics[j].topic = kstr_from_cstr(tp->topic);
            out->topics[j].partitions = arena_array(a, (size_t)t->cur.n_parts, sizeof(int32_t));
        }
        out->topics[j].partitions[out->topics[j].partitions_count++] = tp->partition;
    }
}

static bool state_wanted(const struct list_transactions_request *rq, enum txn_state s)
{
    if (rq->state_filters_count <= 0)
        return true;
    for (int i = 0; i < rq->state_filters_count; i++)
        if (kstr_eq_cstr(rq->state_filters[i], txn_state_names[s]))
            return true;
    return false;
}

static bool pid_wanted(const struct list_transactions_request *rq, int64_t pid)
{
    if (rq->producer_id_filters_count <= 0)
        return true;
    for (int i = 0; i < rq->producer_id_filters_count; i++)
        if (rq->producer_id_filters[i] == pid)
            return true;
    return false;
}

void tc_list(const struct list_transactions_request *rq, arena_t *a,
             struct list_transactions_response *out)
{
    out->error_code = tc.b ? KERR_NONE : KERR_COORDINATOR_NOT_AVAILABLE;
    int nf = MAX(rq->state_filters_count, 0);
    out->unknown_state_filters = arena_array(a, (size_t)nf + 1, sizeof(kstr_t));
    for (int i = 0; i < nf; i++) {
        bool known = false;
        for (int s = TXN_EMPTY; s <= TXN_PREPARE_EPOCH_FENCE && !known; s++)
            known = kstr_eq_cstr(rq->state_filters[i], txn_state_names[s]);
        if (!known)
            out->unknown_state_filters[out->unknown_state_filters_count++] = rq->state_filters[i];
    }
    if (!tc.b)
        return;
    int n = (int)HASH_COUNT(tc.txns);
    out->transaction_states = list_transactions_response_transaction_state_array(a, n);
    int64_t now = now_ms();
    txn_meta_t *t, *tmp;
    HASH_ITER(hh, tc.txns, t, tmp) {
        if (!tc.loaded[t->partition] || !state_wanted(rq, t->cur.state) ||
            !pid_wanted(rq, t->cur.pid))
            continue;
        /* v1's duration filter: transactions running at least that long. */
        if (rq->duration_filter >= 0 &&
            (t->cur.start_ts < 0 || now - t->cur.start_ts < rq->duration_filter))
            continue;
        struct list_transactions_response_transaction_state *o =
            &out->transaction_states[out->transaction_states_count++];
        o->transactional_id = kstr_from_cstr(t->id);
        o->producer_id = t->cur.pid;
        o->transaction_state = kstr_from_cstr(txn_state_names[t->cur.state]);
    }
}
