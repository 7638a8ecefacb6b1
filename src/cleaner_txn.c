/*
 * cleaner_txn.c - owns the cleaner's view of transactions (Kafka's
 * CleanedTransactionMetadata, LogCleaner.scala): aborted transactions come
 * into view by first offset as the cleaner reaches them; a producer's
 * batches inside one are aborted until its abort marker; batches of other
 * transactions mark their producer as inside a committed-or-open one until
 * its commit marker.  Cleaner thread only.
 */
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "cleaner_txn.h"
#include "util.h"

typedef struct txn_pid {
    int64_t pid;
    aborted_txn_t txn;          /* aborted set only */
    bool observed;              /* a batch of it was read */
    UT_hash_handle hh;
} txn_pid_t;

void ctxn_init(cleaner_txns_t *t, const aborted_txn_t *all, int n_all)
{
    memset(t, 0, sizeof(*t));
    t->all = all;
    t->n_all = n_all;
}

static int by_first_offset(const void *a, const void *b)
{
    const aborted_txn_t *x = a, *y = b;
    return x->first_offset < y->first_offset ? -1 : x->first_offset > y->first_offset;
}

void ctxn_add_range(cleaner_txns_t *t, int64_t from, int64_t upper)
{
    bool added = false;
    for (int i = 0; i < t->n_all; i++) {
        const aborted_txn_t *a = &t->all[i];
        if (a->last_offset < from || a->first_offset >= upper)
            continue;
        if (t->n_queue == t->cap_queue) {
            t->cap_queue = t->cap_queue ? t->cap_queue * 2 : 16;
            t->queue = xrealloc(t->queue, sizeof(*t->queue) * (size_t)t->cap_queue);
        }
        t->queue[t->n_queue++] = *a;
        added = true;
    }
    if (added)
        qsort(t->queue, (size_t)t->n_queue, sizeof(*t->queue), by_first_offset);
}

static txn_pid_t *find(txn_pid_t *set, int64_t pid)
{
    txn_pid_t *e;
    HASH_FIND(hh, set, &pid, sizeof(pid), e);
    return e;
}

/* Kafka's consumeAbortedTxnsUpTo: transactions beginning at or before
 * offset are now inside their producer's range. */
static void reach(cleaner_txns_t *t, int64_t offset)
{
    int k = 0;
    while (k < t->n_queue && t->queue[k].first_offset <= offset) {
        const aborted_txn_t *a = &t->queue[k++];
        if (!find(t->aborted, a->producer_id)) {
            txn_pid_t *e = xcalloc(1, sizeof(*e));
            e->pid = a->producer_id;
            e->txn = *a;
            HASH_ADD(hh, t->aborted, pid, sizeof(e->pid), e);
        }
    }
    if (k) {
        memmove(t->queue, t->queue + k, sizeof(*t->queue) * (size_t)(t->n_queue - k));
        t->n_queue -= k;
    }
}

bool ctxn_on_batch(cleaner_txns_t *t, const batch_header_t *h)
{
    reach(t, batch_last_offset(h));
    if (!(h->attributes & BATCH_ATTR_TRANSACTIONAL) || h->producer_id < 0)
        return false;
    txn_pid_t *e = find(t->aborted, h->producer_id);
    if (e) {
        e->observed = true;
        return true;
    }
    if (!find(t->committed, h->producer_id)) {
        e = xcalloc(1, sizeof(*e));
        e->pid = h->producer_id;
        HASH_ADD(hh, t->committed, pid, sizeof(e->pid), e);
    }
    return false;
}

bool ctxn_on_control(cleaner_txns_t *t, const uint8_t *p, const batch_header_t *h,
                     aborted_txn_t *index_it, bool *has_index)
{
    *has_index = false;
    reach(t, batch_last_offset(h));
    bool commit = false;
    int32_t coordinator_epoch;
    int rc = batch_txn_marker(p, h, &commit, &coordinator_epoch);
    if (rc == 0)
        return true;        /* an empty control batch was cleaned already */
    if (rc < 0)
        return false;       /* unreadable: kept as it is */
    txn_pid_t *e = find(commit ? t->committed : t->aborted, h->producer_id);
    bool seen = e && (commit || e->observed);
    if (e) {
        if (!commit && seen) {
            *index_it = e->txn;
            *has_index = true;
        }
        if (commit)
            HASH_DEL(t->committed, e);
        else
            HASH_DEL(t->aborted, e);
        free(e);
    }
    /* Retained while any batch of its transaction is. */
    return !seen;
}

void ctxn_free(cleaner_txns_t *t)
{
    txn_pid_t *e, *tmp;
    HASH_ITER(hh, t->aborted, e, tmp) {
        HASH_DEL(t->aborted, e);
        free(e);
    }
    HASH_ITER(hh, t->committed, e, tmp) {
        HASH_DEL(t->committed, e);
        free(e);
    }
    free(t->queue);
    memset(t, 0, sizeof(*t));
}
