/*
 * coord_log.c - owns the coordinators' side of their internal topics:
 * creating the topic on first use, which broker leads a partition, appends
 * of coordinator records (plain, or a producer's transactional batch),
 * acks=all waits on the purgatory, and loading a partition back
 * (Kafka's GroupMetadataManager.loadGroupsAndOffsets and
 * TransactionStateManager.loadTransactionMetadata).  Event-loop thread,
 * except load_run on the disk thread.
 *
 * Loading: the disk thread reads the partition (through dup()ed
 * descriptors, up to each segment's size when the load started) into the
 * latest record of each key.  Records of a transactional batch wait in
 * their producer's pending set; its commit marker moves them into the
 * latest records (unless a later record of the same key is there), its
 * abort marker drops them.  The event loop then hands the records to the
 * coordinator in slices of about 2 ms.  Memory is bounded by the distinct
 * keys, not by the log's size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "client_quotas.h"
#include "coord_log.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "log_txn.h"
#include "metadata_cache.h"
#include "topic_admin.h"
#include "logging.h"
#include "purgatory.h"
#include "replica_manager.h"
#include "util.h"

/* ---- appending ---- */

int16_t clog_append(broker_t *b, const char *topic, int32_t partition, const batch_kv_t *recs,
                    int n, const batch_producer_t *prod, int64_t *base, int64_t *end)
{
    partition_t *p = rm_partition(topic, partition);
    if (!p || !p->log || p->leader != b->cfg->broker_id)
        return KERR_NOT_COORDINATOR;
    int64_t first = plog_append_records(p->log, recs, n, prod, p->leader_epoch);
    if (first < 0) {
        log_error("coordinator", "Cannot append to %s-%d (I/O error)", topic, partition);
        return KERR_KAFKA_STORAGE_ERROR;
    }
    if (base)
        *base = first;
    if (end)
        *end = first + n;
    rm_appended(b, p);
    return KERR_NONE;
}

/* ---- the topic itself ---- */

int16_t clog_create_topic(broker_t *b, const topic_spec_t *spec, const char *what,
                          const char *rf_key, mutation_quota_t *quota)
{
    int nb;
    mc_brokers(&nb);
    if (nb < spec->replication_factor) {
        log_error("coordinator", "Number of alive brokers '%d' does not meet the required "
                  "replication factor '%d' for the %s topic (configured via '%s'). This error "
                  "can be ignored if the cluster is starting up and not all brokers are up yet.",
                  nb, spec->replication_factor, what, rf_key);
        return KERR_COORDINATOR_NOT_AVAILABLE;
    }
    /* Created in the background; until then the client hears
     * COORDINATOR_NOT_AVAILABLE and asks again, as with Kafka. */
    topic_result_t r;
    if (!topic_admin_creating(spec->name) &&
        topic_admin_create(b, spec, 1, false, quota, &r, NULL, NULL) == 0 &&
        r.error != KERR_TOPIC_ALREADY_EXISTS)
        log_error("coordinator", "Cannot create %s: %s (%s)", spec->name, r.message,
                  kafka_error_name(r.error));
    return KERR_COORDINATOR_NOT_AVAILABLE;
}

int16_t clog_leader_of(const char *topic, int32_t partition, int32_t *node)
{
    const mc_topic_t *t = mc_find_topic(topic);
    int32_t leader = t && partition < t->n_partitions ? t->parts[partition].leader : -1;
    if (leader < 0 || !mc_find_broker(leader))
        return KERR_COORDINATOR_NOT_AVAILABLE;
    *node = leader;
    return KERR_NONE;
}

/* ---- acks=all waits ---- */

struct clog_wait {
    delayed_op_t op;            /* first: the purgatory hands back &op */
    broker_t *b;
    partition_t *p;
    int32_t leader_epoch;
    int64_t end;
    int16_t error;
    void (*done)(void *arg, int16_t err);
    void *arg;
};

static bool wait_try_complete(delayed_op_t *op)
{
    clog_wait_t *w = (clog_wait_t *)op;
    partition_t *p = w->p;
    if (p->leader != w->b->cfg->broker_id || p->leader_epoch != w->leader_epoch) {
        w->error = KERR_NOT_COORDINATOR;
        return true;
    }
    if (p->high_watermark < w->end)
        return false;
    if (p->n_isr < pl_min_isr(w->b, p))
        w->error = KERR_NOT_ENOUGH_REPLICAS;
    return true;
}

static void wait_on_complete(delayed_op_t *op, bool expired)
{
    clog_wait_t *w = (clog_wait_t *)op;
    w->done(w->arg, expired ? KERR_REQUEST_TIMED_OUT : w->error);
    free(w);
}

clog_wait_t *clog_wait_replicated(broker_t *b, const char *topic, int32_t partition, int64_t end,
                                  int32_t timeout_ms, void (*done)(void *arg, int16_t err),
                                  void *arg)
{
    partition_t *p = rm_partition(topic, partition);
    if (!p || p->leader != b->cfg->broker_id) {
        done(arg, KERR_NOT_COORDINATOR);
        return NULL;
    }
    clog_wait_t *w = xcalloc(1, sizeof(*w));
    w->op.try_complete = wait_try_complete;
    w->op.on_complete = wait_on_complete;
    w->b = b;
    w->p = p;
    w->leader_epoch = p->leader_epoch;
    w->end = end;
    w->done = done;
    w->arg = arg;
    if (purgatory_try_or_watch(b->base, &w->op, &p, 1, MAX(timeout_ms, 1)))
        return NULL;        /* completed and freed */
    return w;
}

void clog_wait_cancel(clog_wait_t *w)
{
    if (!w)
        return;
    purgatory_cancel(&w->op);
    free(w);
}

/* ---- loading ---- */

typedef struct latest {
    uint8_t *key;
    int32_t key_len;
    uint8_t *value;             /* NULL: tombstone */
    int32_t value_len;
    int64_t offset;
    int64_t timestamp;
    int64_t pending_pid;        /* -1 once in effect */
    struct latest *link;        /* the list of open transactions' records */
    UT_hash_handle hh;
} latest_t;

/* Records of one producer's transaction not yet ended. */
typedef struct pending_txn {
    int64_t pid;
    latest_t *recs;
    UT_hash_handle hh;
} pending_txn_t;

typedef struct coord_load {
    char topic[256];
    int32_t partition;
    log_segment_t *views;       /* size and a dup()ed descriptor per segment */
    int n_views;
    latest_t *latest;           /* insertion order = first appearance */
    pending_txn_t *pending;
    latest_t *open;             /* records of transactions open at the end */
    latest_t *next;             /* apply position: latest, then open */
    int bad, rc;
    int64_t batch_pid;          /* the producer of the batch being read, -1 if none */
    clog_record_fn fn;
    void (*done)(void *arg, int rc);
    void (*dropped)(void *arg);
    void *arg;
    struct event *slice;
    bool reading;               /* on the disk thread; load_read() will run */
    bool cancelled;             /* broker shutting down */
    struct coord_load *prev_load, *next_load;
} coord_load_t;

/* Loads in progress; event-loop thread. */
static coord_load_t *loads;

static void free_record(latest_t *e)
{
    free(e->key);
    free(e->value);
    free(e);
}

static void free_records(latest_t **map)
{
    latest_t *e, *tmp;
    HASH_ITER(hh, *map, e, tmp) {
        HASH_DEL(*map, e);
        free_record(e);
    }
}

/* Stores r as the latest record of its key in *map. */
static void put_record(latest_t **map, const batch_record_t *r)
{
    latest_t *e;
    HASH_FIND(hh, *map, r->key, (size_t)r->key_len, e);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        e->key = xmalloc((size_t)r->key_len);
        memcpy(e->key, r->key, (size_t)r->key_len);
        e->key_len = r->key_len;
        HASH_ADD_KEYPTR(hh, *map, e->key, (size_t)e->key_len, e);
    }
    free(e->value);
    e->value = NULL;
    e->value_len = r->value_len;
    if (r->value_len >= 0) {
        e->value = xmalloc((size_t)r->value_len + 1);
        if (r->value_len)
            memcpy(e->value, r->value, (size_t)r->value_len);
    }
    e->offset = r->offset;
    e->timestamp = r->timestamp;
    e->pending_pid = -1;
}

static void keep_latest(const batch_record_t *r, void *arg)
{
    coord_load_t *l = arg;
    if (r->key_len <= 0) {
        l->bad++;
        return;
    }
    if (l->batch_pid < 0) {
        put_record(&l->latest, r);
        return;
    }
    pending_txn_t *t;
    HASH_FIND(hh, l->pending, &l->batch_pid, sizeof(l->batch_pid), t);
    if (!t) {
        t = xcalloc(1, sizeof(*t));
        t->pid = l->batch_pid;
        HASH_ADD(hh, l->pending, pid, sizeof(t->pid), t);
    }
    put_record(&t->recs, r);
}

/* A marker ended pid's transaction: committed records take effect unless a
 * later record of their key already did (Kafka's olderThan check). */
static void end_pending(coord_load_t *l, int64_t pid, bool commit)
{
    pending_txn_t *t;
    HASH_FIND(hh, l->pending, &pid, sizeof(pid), t);
    if (!t)
        return;
    HASH_DEL(l->pending, t);
    latest_t *e, *tmp;
    HASH_ITER(hh, t->recs, e, tmp) {
        HASH_DEL(t->recs, e);
        latest_t *cur;
        HASH_FIND(hh, l->latest, e->key, (size_t)e->key_len, cur);
        if (commit && (!cur || cur->offset < e->offset)) {
            if (cur) {
                HASH_DEL(l->latest, cur);
                free_record(cur);
            }
            HASH_ADD_KEYPTR(hh, l->latest, e->key, (size_t)e->key_len, e);
        } else {
            free_record(e);
        }
    }
    free(t);
}

static int read_batch(uint8_t *b, const batch_header_t *h, void *arg)
{
    coord_load_t *l = arg;
    if (h->attributes & BATCH_ATTR_CONTROL) {
        bool commit;
        int32_t coordinator_epoch;
        int rc = batch_txn_marker(b, h, &commit, &coordinator_epoch);
        if (rc < 0)
            l->bad++;
        else if (rc == 1)
            end_pending(l, h->producer_id, commit);
        return 0;
    }
    l->batch_pid = (h->attributes & BATCH_ATTR_TRANSACTIONAL) ? h->producer_id : -1;
    if (batch_foreach_record(b, h, keep_latest, l) < 0)
        l->bad++;
    return 0;
}

/* Still-open transactions' records follow the records in effect. */
static void append_open_txns(coord_load_t *l)
{
    pending_txn_t *t, *ttmp;
    HASH_ITER(hh, l->pending, t, ttmp) {
        latest_t *e, *tmp;
        HASH_ITER(hh, t->recs, e, tmp) {
            HASH_DEL(t->recs, e);
            e->pending_pid = t->pid;
            e->link = l->open;
            l->open = e;
        }
        HASH_DEL(l->pending, t);
        free(t);
    }
}

/* @locality the disk thread
 * @locks none (the load owns its dup()ed descriptors and maps) */
static void load_run(void *arg)
{
    coord_load_t *l = arg;
    for (int i = 0; i < l->n_views && l->rc == 0; i++)
        l->rc = segment_for_each_batch(&l->views[i], read_batch, l);
    for (int i = 0; i < l->n_views; i++)
        close(l->views[i].log_fd);
    append_open_txns(l);
}

static void load_free(coord_load_t *l)
{
    free_records(&l->latest);
    while (l->open) {
        latest_t *e = l->open;
        l->open = e->link;
        free_record(e);
    }
    pending_txn_t *t, *tmp;
    HASH_ITER(hh, l->pending, t, tmp) {
        HASH_DEL(l->pending, t);
        free_records(&t->recs);
        free(t);
    }
    if (l->slice)
        event_free(l->slice);
    if (l->prev_load)
        l->prev_load->next_load = l->next_load;
    else if (loads == l)
        loads = l->next_load;
    if (l->next_load)
        l->next_load->prev_load = l->prev_load;
    free(l->views);
    free(l);
}

/* @locality the event-loop thread
 * @locks none */
static void apply_slice(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    coord_load_t *l = arg;
    int64_t deadline = mono_ms() + 2;
    while (l->next && mono_ms() < deadline) {
        for (int k = 0; k < 64 && l->next; k++) {
            latest_t *e = l->next;
            l->next = e->pending_pid >= 0 ? e->link : e->hh.next ? e->hh.next : l->open;
            batch_record_t br = { e->offset, e->timestamp, e->key, e->key_len, e->value,
                                  e->value ? e->value_len : -1, NULL, 0, 0 };
            l->fn(&br, e->pending_pid, l->arg);
        }
    }
    if (l->next) {
        event_active(l->slice, 0, 0);
        return;
    }
    if (l->bad)
        log_warn("coordinator", "Skipped %d malformed records in %s-%d", l->bad, l->topic,
                 l->partition);
    l->done(l->arg, l->rc);
    load_free(l);
}

/* @locality the event-loop thread
 * @locks none */
static void load_read(void *arg)
{
    coord_load_t *l = arg;
    l->reading = false;
    if (l->cancelled) {
        if (l->dropped)
            l->dropped(l->arg);
        load_free(l);
        return;
    }
    l->next = l->latest ? l->latest : l->open;
    apply_slice(-1, 0, l);
}

int clog_load_async(broker_t *b, const char *topic, int32_t partition, clog_record_fn fn,
                    void (*done)(void *arg, int rc), void (*dropped)(void *arg), void *arg)
{
    partition_log_t *pl = logmgr_get(topic, partition);
    if (!pl)
        return -1;
    coord_load_t *l = xcalloc(1, sizeof(*l));
    snprintf(l->topic, sizeof(l->topic), "%s", topic);
    l->partition = partition;
    l->fn = fn;
    l->done = done;
    l->dropped = dropped;
    l->arg = arg;
    l->batch_pid = -1;
    l->views = xcalloc((size_t)pl->nsegs + 1, sizeof(log_segment_t));
    for (int i = 0; i < pl->nsegs; i++) {
        int fd = dup(pl->segs[i]->log_fd);
        if (fd < 0) {
            log_error("coordinator", "Cannot read %s-%d: %s", topic, partition, strerror(errno));
            for (int k = 0; k < l->n_views; k++)
                close(l->views[k].log_fd);
            free(l->views);
            free(l);
            return -1;
        }
        l->views[l->n_views].log_fd = fd;
        l->views[l->n_views].size = pl->segs[i]->size;
        l->views[l->n_views].base_offset = pl->segs[i]->base_offset;
        l->n_views++;
    }
    l->slice = event_new(b->base, -1, 0, apply_slice, l);
    l->next_load = loads;
    if (loads)
        loads->prev_load = l;
    loads = l;
    l->reading = true;
    bio_submit(load_run, load_read, l);
    return 0;
}

void clog_load_shutdown(void)
{
    for (coord_load_t *l = loads, *next; l; l = next) {
        next = l->next_load;
        if (l->reading) {
            l->cancelled = true;    /* freed when its read comes back */
        } else {
            if (l->dropped)
                l->dropped(l->arg);
            load_free(l);
        }
    }
}
