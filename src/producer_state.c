/*
 * producer_state.c - owns idempotent-producer bookkeeping per partition:
 * epoch fencing, in-order sequences and the last five batches for
 * duplicate detection (ProducerStateEntry.NUM_BATCHES_TO_RETAIN); open
 * and not-yet-stable transactions (ProducerAppendInfo, the manager's
 * ongoingTxns and unreplicatedTxns) for the last stable offset; the
 * KIP-890 verification guards of producers whose transaction is being
 * verified with its coordinator (the manager's verificationStates).
 * Event-loop thread only, or the thread that opens the log.
 */
#include <stdlib.h>
#include <uthash.h>

#include "crc32c.h"
#include "kafka_errors.h"
#include "producer_state.h"
#include "proto_codec.h"
#include "util.h"

#define BATCHES_TO_RETAIN 5

typedef struct batch_meta {
    int32_t first_seq;
    int32_t last_seq;
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp;
} batch_meta_t;

typedef struct producer_entry {
    int64_t pid;
    int16_t epoch;
    batch_meta_t batches[BATCHES_TO_RETAIN];   /* ring, newest at head-1 */
    int n_batches;
    int head;
    int64_t txn_first;          /* first offset of the open transaction, -1 */
    int32_t coordinator_epoch;  /* of the last marker, -1 */
    int64_t last_ts;            /* of its last batch or marker, -1 */
    UT_hash_handle hh;
} producer_entry_t;

/* A completed transaction whose marker the high watermark has not passed. */
typedef struct txn_span {
    int64_t pid;
    int64_t first_offset;
    int64_t last_offset;
} txn_span_t;

/* A producer whose coordinator is being asked whether this partition is in
 * its transaction (Kafka's VerificationStateEntry).  Requests verifying at
 * once share it; the first batch or marker appended for the producer, or
 * the last of them giving up, removes it. */
typedef struct verify_guard {
    int64_t pid;
    uint64_t guard;
    int users;
    UT_hash_handle hh;
} verify_guard_t;

struct producer_state {
    producer_entry_t *producers;
    verify_guard_t *guards;
    int n_open;                 /* producers with an open transaction */
    int64_t oldest_open;        /* their smallest txn_first; -1 if stale */
    txn_span_t *unstable;       /* completed, marker >= the high watermark */
    int n_unstable;
    int cap_unstable;
};

producer_state_t *pstate_new(void)
{
    producer_state_t *ps = xcalloc(1, sizeof(producer_state_t));
    ps->oldest_open = -1;
    return ps;
}

static void drop_guard(producer_state_t *ps, int64_t pid)
{
    verify_guard_t *g;
    HASH_FIND(hh, ps->guards, &pid, sizeof(pid), g);
    if (g) {
        HASH_DEL(ps->guards, g);
        free(g);
    }
}

static void forget_producers(producer_state_t *ps)
{
    verify_guard_t *g, *gtmp;
    HASH_ITER(hh, ps->guards, g, gtmp) {
        HASH_DEL(ps->guards, g);
        free(g);
    }
    producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp) {
        HASH_DEL(ps->producers, e);
        free(e);
    }
    ps->n_open = 0;
    ps->oldest_open = -1;
    ps->n_unstable = 0;
}

void pstate_free(producer_state_t *ps)
{
    if (!ps)
        return;
    forget_producers(ps);
    free(ps->unstable);
    free(ps);
}

int pstate_count(const producer_state_t *ps)
{
    return (int)HASH_COUNT(ps->producers);
}

static const batch_meta_t *last_batch(const producer_entry_t *e)
{
    if (e->n_batches == 0)
        return NULL;
    return &e->batches[(e->head + BATCHES_TO_RETAIN - 1) % BATCHES_TO_RETAIN];
}

static enum pstate_verdict check_sequence(const producer_entry_t *e, int16_t epoch,
                                          int32_t first_seq, int32_t last_seq,
                                          int64_t *dup_offset, int16_t *error);

enum pstate_verdict pstate_check(producer_state_t *ps, int64_t pid, int16_t epoch,
                                 int32_t first_seq, int32_t last_seq, bool transactional,
                                 int64_t *dup_offset, int16_t *error)
{
    producer_entry_t *e;
    HASH_FIND(hh, ps->producers, &pid, sizeof(pid), e);
    if (!e)
        return PSTATE_APPEND;   /* no retained state: any sequence is accepted */
    enum pstate_verdict v = check_sequence(e, epoch, first_seq, last_seq, dup_offset, error);
    if (v == PSTATE_APPEND && e->txn_first >= 0 && !transactional) {
        *error = KERR_INVALID_TXN_STATE;    /* "Expected transactional write" */
        return PSTATE_ERROR;
    }
    return v;
}

/* Kafka's duplicate search, checkProducerEpoch and checkSequence. */
static enum pstate_verdict check_sequence(const producer_entry_t *e, int16_t epoch,
                                          int32_t first_seq, int32_t last_seq,
                                          int64_t *dup_offset, int16_t *error)
{
    if (epoch < e->epoch) {
        *error = KERR_INVALID_PRODUCER_EPOCH;
        return PSTATE_ERROR;
    }
    if (epoch > e->epoch) {
        if (first_seq != 0) {
            *error = KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
            return PSTATE_ERROR;
        }
        return PSTATE_APPEND;
    }
    for (int i = 0; i < e->n_batches; i++) {
        const batch_meta_t *b = &e->batches[i];
        if (b->first_seq == first_seq && b->last_seq == last_seq) {
            *dup_offset = b->base_offset;
            return PSTATE_DUPLICATE;
        }
    }
    const batch_meta_t *last = last_batch(e);
    int32_t expected = last ? (last->last_seq == INT32_MAX ? 0 : last->last_seq + 1) : first_seq;
    if (first_seq != expected) {
        *error = KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        return PSTATE_ERROR;
    }
    return PSTATE_APPEND;
}

static producer_entry_t *entry_for(producer_state_t *ps, int64_t pid)
{
    producer_entry_t *e;
    HASH_FIND(hh, ps->producers, &pid, sizeof(pid), e);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        e->pid = pid;
        e->txn_first = -1;
        e->coordinator_epoch = -1;
        e->last_ts = -1;
        HASH_ADD(hh, ps->producers, pid, sizeof(e->pid), e);
    }
    return e;
}

static void open_txn(producer_state_t *ps, producer_entry_t *e, int64_t first_offset)
{
    e->txn_first = first_offset;
    ps->n_open++;
    if (ps->n_open == 1 || (ps->oldest_open >= 0 && first_offset < ps->oldest_open))
        ps->oldest_open = first_offset;
}

static void close_txn(producer_state_t *ps, producer_entry_t *e)
{
    if (e->txn_first < 0)
        return;
    if (e->txn_first == ps->oldest_open)
        ps->oldest_open = -1;       /* recomputed when asked for */
    e->txn_first = -1;
    ps->n_open--;
}

/* Drops the producer's entry along with its open transaction. */
static void drop_producer(producer_state_t *ps, producer_entry_t *e)
{
    close_txn(ps, e);
    HASH_DEL(ps->producers, e);
    free(e);
}

void pstate_update(producer_state_t *ps, const pstate_batch_t *b)
{
    producer_entry_t *e = entry_for(ps, b->pid);
    if (b->epoch != e->epoch) {
        e->n_batches = 0;
        e->head = 0;
    }
    e->epoch = b->epoch;
    e->batches[e->head] = (batch_meta_t){ b->first_seq, b->last_seq, b->base_offset,
                                          b->last_offset, b->max_timestamp };
    e->head = (e->head + 1) % BATCHES_TO_RETAIN;
    if (e->n_batches < BATCHES_TO_RETAIN)
        e->n_batches++;
    e->last_ts = b->max_timestamp;
    if (b->transactional && e->txn_first < 0)
        open_txn(ps, e, b->base_offset);
    drop_guard(ps, b->pid);
}

/* Process-wide, so a guard is never reused (the ABA case Kafka's
 * VerificationGuard prevents); event-loop thread only. */
static uint64_t next_guard = 1;

uint64_t pstate_verification_start(producer_state_t *ps, int64_t pid)
{
    producer_entry_t *e;
    HASH_FIND(hh, ps->producers, &pid, sizeof(pid), e);
    if (e && e->txn_first >= 0)
        return 0;
    verify_guard_t *g;
    HASH_FIND(hh, ps->guards, &pid, sizeof(pid), g);
    if (!g) {
        g = xcalloc(1, sizeof(*g));
        g->pid = pid;
        g->guard = next_guard++;
        HASH_ADD(hh, ps->guards, pid, sizeof(g->pid), g);
    }
    g->users++;
    return g->guard;
}

void pstate_verification_end(producer_state_t *ps, int64_t pid, uint64_t guard)
{
    verify_guard_t *g;
    HASH_FIND(hh, ps->guards, &pid, sizeof(pid), g);
    if (g && g->guard == guard && --g->users <= 0)
        drop_guard(ps, pid);
}

bool pstate_txn_append_allowed(const producer_state_t *ps, int64_t pid, uint64_t guard)
{
    const producer_entry_t *e;
    HASH_FIND(hh, ps->producers, &pid, sizeof(pid), e);
    if (e && e->txn_first >= 0)
        return true;
    const verify_guard_t *g;
    HASH_FIND(hh, ps->guards, &pid, sizeof(pid), g);
    return guard != 0 && g && g->guard == guard;
}

int pstate_verifications(const producer_state_t *ps)
{
    return (int)HASH_COUNT(ps->guards);
}

static void note_unstable(producer_state_t *ps, int64_t pid, int64_t first, int64_t last)
{
    if (ps->n_unstable == ps->cap_unstable) {
        ps->cap_unstable = ps->cap_unstable ? ps->cap_unstable * 2 : 8;
        ps->unstable = xrealloc(ps->unstable, sizeof(*ps->unstable) * (size_t)ps->cap_unstable);
    }
    ps->unstable[ps->n_unstable++] = (txn_span_t){ pid, first, last };
}

static int64_t oldest_open(producer_state_t *ps)
{
    if (ps->n_open == 0)
        return -1;
    if (ps->oldest_open < 0) {
        const producer_entry_t *e, *tmp;
        HASH_ITER(hh, ps->producers, e, tmp)
            if (e->txn_first >= 0 && (ps->oldest_open < 0 || e->txn_first < ps->oldest_open))
                ps->oldest_open = e->txn_first;
    }
    return ps->oldest_open;
}

/* Kafka's lastStableOffset(completedTxn): the first open transaction of
 * another producer, else just past the marker. */
static int64_t stable_after(const producer_state_t *ps, int64_t pid, int64_t marker_offset)
{
    int64_t lso = -1;
    const producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp)
        if (e->pid != pid && e->txn_first >= 0 && (lso < 0 || e->txn_first < lso))
            lso = e->txn_first;
    return lso >= 0 ? lso : marker_offset + 1;
}

int pstate_end_txn(producer_state_t *ps, int64_t pid, int16_t epoch, int32_t coordinator_epoch,
                   bool commit, int64_t marker_offset, int64_t timestamp, completed_txn_t *done)
{
    producer_entry_t *e = entry_for(ps, pid);
    e->last_ts = timestamp;
    int had = 0;
    if (e->txn_first >= 0) {
        *done = (completed_txn_t){ pid, e->txn_first, marker_offset,
                                   stable_after(ps, pid, marker_offset), !commit };
        note_unstable(ps, pid, e->txn_first, marker_offset);
        close_txn(ps, e);
        had = 1;
    }
    /* ProducerStateEntry.update: a new epoch clears the retained batches. */
    if (epoch != e->epoch) {
        e->n_batches = 0;
        e->head = 0;
    }
    e->epoch = epoch;
    e->coordinator_epoch = coordinator_epoch;
    drop_guard(ps, pid);
    return had;
}

int pstate_producer_epochs(const producer_state_t *ps, int64_t pid, int16_t *epoch,
                           int32_t *coordinator_epoch, int64_t *txn_first)
{
    producer_entry_t *e;
    HASH_FIND(hh, ps->producers, &pid, sizeof(pid), e);
    if (!e)
        return 0;
    *epoch = e->epoch;
    *coordinator_epoch = e->coordinator_epoch;
    *txn_first = e->txn_first;
    return 1;
}

void pstate_foreach(const producer_state_t *ps, pstate_visit_fn fn, void *arg)
{
    const producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp) {
        const batch_meta_t *last = last_batch(e);
        fn(arg, &(pstate_view_t){ e->pid, e->epoch, last ? last->last_seq : -1,
                                  e->last_ts >= 0 ? e->last_ts : last ? last->max_timestamp : -1,
                                  e->coordinator_epoch, e->txn_first });
    }
}

int64_t pstate_first_unstable_offset(producer_state_t *ps, int64_t hw)
{
    int64_t first = oldest_open(ps);
    int k = 0;
    for (int i = 0; i < ps->n_unstable; i++) {
        txn_span_t t = ps->unstable[i];
        if (t.last_offset < hw)
            continue;               /* its marker is replicated: stable */
        ps->unstable[k++] = t;
        if (first < 0 || t.first_offset < first)
            first = t.first_offset;
    }
    ps->n_unstable = k;
    return first;
}

int pstate_open_txns(const producer_state_t *ps)
{
    return ps->n_open;
}

/* ---- Kafka's <offset>.snapshot (ProducerStateManager.writeSnapshot) ---- */

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_HEADER 10          /* version, crc, entry count */
#define SNAPSHOT_ENTRY 46

uint8_t *pstate_snapshot_encode(const producer_state_t *ps, size_t *len)
{
    size_t n = HASH_COUNT(ps->producers);
    *len = SNAPSHOT_HEADER + n * SNAPSHOT_ENTRY;
    uint8_t *buf = xmalloc(*len), *p = buf + SNAPSHOT_HEADER;
    be16_put(buf, SNAPSHOT_VERSION);
    be32_put(buf + 6, (int32_t)n);
    const producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp) {
        const batch_meta_t *last = last_batch(e);
        be64_put(p, e->pid);
        be16_put(p + 8, e->epoch);
        be32_put(p + 10, last ? last->last_seq : -1);
        be64_put(p + 14, last ? last->last_offset : -1);
        be32_put(p + 22, last ? (int32_t)(last->last_offset - last->base_offset) : 0);
        be64_put(p + 26, last ? last->max_timestamp : -1);
        be32_put(p + 34, e->coordinator_epoch);
        be64_put(p + 38, e->txn_first);     /* the open transaction's first offset */
        p += SNAPSHOT_ENTRY;
    }
    be32_put(buf + 2, (int32_t)crc32c(0, buf + 6, *len - 6));
    return buf;
}

int pstate_snapshot_decode(producer_state_t *ps, const uint8_t *buf, size_t len)
{
    if (len < SNAPSHOT_HEADER || be16_get(buf) != SNAPSHOT_VERSION ||
        (uint32_t)be32_get(buf + 2) != crc32c(0, buf + 6, len - 6))
        return -1;
    int32_t n = be32_get(buf + 6);
    if (n < 0 || (len - SNAPSHOT_HEADER) % SNAPSHOT_ENTRY ||
        (len - SNAPSHOT_HEADER) / SNAPSHOT_ENTRY != (size_t)n)
        return -1;
    producer_state_t fresh = { .oldest_open = -1 };
    for (const uint8_t *p = buf + SNAPSHOT_HEADER; n > 0; n--, p += SNAPSHOT_ENTRY) {
        producer_entry_t *e = entry_for(&fresh, be64_get(p));
        e->epoch = be16_get(p + 8);
        e->coordinator_epoch = be32_get(p + 34);
        if (be64_get(p + 38) >= 0)
            open_txn(&fresh, e, be64_get(p + 38));
        int64_t last_offset = be64_get(p + 14);
        if (last_offset < 0)
            continue;                   /* an epoch without batch metadata */
        int32_t last_seq = be32_get(p + 10), delta = be32_get(p + 22);
        int64_t wrap = (int64_t)INT32_MAX + 1;
        int32_t first_seq = (int32_t)((((int64_t)last_seq - delta) % wrap + wrap) % wrap);
        e->batches[0] = (batch_meta_t){ first_seq, last_seq, last_offset - delta, last_offset,
                                        be64_get(p + 26) };
        e->n_batches = 1;
        e->head = 1;
    }
    forget_producers(ps);
    ps->producers = fresh.producers;
    ps->n_open = fresh.n_open;
    ps->oldest_open = fresh.oldest_open;
    return 0;
}

static int cmp_offset(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int pstate_last_batch_offsets(const producer_state_t *ps, int64_t **out)
{
    *out = NULL;
    int n = (int)HASH_COUNT(ps->producers), k = 0;
    if (n == 0)
        return 0;
    *out = xmalloc(sizeof(**out) * (size_t)n);
    producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp) {
        const batch_meta_t *last = last_batch(e);
        if (last)
            (*out)[k++] = last->base_offset;
    }
    qsort(*out, (size_t)k, sizeof(**out), cmp_offset);
    return k;
}

static int cmp_pid(const void *a, const void *b)
{
    int64_t x = ((const pstate_pid_epoch_t *)a)->pid, y = ((const pstate_pid_epoch_t *)b)->pid;
    return x < y ? -1 : x > y;
}

int pstate_marker_only_producers(const producer_state_t *ps, pstate_pid_epoch_t **out)
{
    *out = NULL;
    int n = (int)HASH_COUNT(ps->producers), k = 0;
    if (n == 0)
        return 0;
    *out = xmalloc(sizeof(**out) * (size_t)n);
    const producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp)
        if (e->n_batches == 0)
            (*out)[k++] = (pstate_pid_epoch_t){ e->pid, e->epoch };
    qsort(*out, (size_t)k, sizeof(**out), cmp_pid);
    return k;
}

const pstate_pid_epoch_t *pstate_pid_epoch_find(const pstate_pid_epoch_t *arr, int n, int64_t pid)
{
    pstate_pid_epoch_t key = { pid, 0 };
    return n > 0 ? bsearch(&key, arr, (size_t)n, sizeof(key), cmp_pid) : NULL;
}

/* Batches at or past `offset` are forgotten, newest first, and so are
 * transactions begun there; one whose marker was cut is open again.  A
 * producer left with neither is forgotten (Kafka reloads from a snapshot
 * instead). */
void pstate_truncate(producer_state_t *ps, int64_t offset)
{
    producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp)
        if (e->txn_first >= offset)
            close_txn(ps, e);
    int k = 0;
    for (int i = 0; i < ps->n_unstable; i++) {
        txn_span_t t = ps->unstable[i];
        if (t.last_offset < offset) {
            ps->unstable[k++] = t;
        } else if (t.first_offset < offset) {
            e = entry_for(ps, t.pid);
            if (e->txn_first < 0)
                open_txn(ps, e, t.first_offset);
        }
    }
    ps->n_unstable = k;
    HASH_ITER(hh, ps->producers, e, tmp) {
        while (e->n_batches > 0 && last_batch(e)->base_offset >= offset) {
            e->head = (e->head + BATCHES_TO_RETAIN - 1) % BATCHES_TO_RETAIN;
            e->n_batches--;
        }
        if (e->n_batches == 0 && e->txn_first < 0)
            drop_producer(ps, e);
    }
}
