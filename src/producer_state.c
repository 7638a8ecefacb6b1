/*
 * producer_state.c - owns idempotent-producer bookkeeping per partition:
 * epoch fencing, in-order sequences and the last five batches for
 * duplicate detection (ProducerStateEntry.NUM_BATCHES_TO_RETAIN).
 * Event-loop thread only.
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
    UT_hash_handle hh;
} producer_entry_t;

struct producer_state {
    producer_entry_t *producers;
};

producer_state_t *pstate_new(void)
{
    return xcalloc(1, sizeof(producer_state_t));
}

void pstate_free(producer_state_t *ps)
{
    if (!ps)
        return;
    producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp) {
        HASH_DEL(ps->producers, e);
        free(e);
    }
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

enum pstate_verdict pstate_check(producer_state_t *ps, int64_t pid, int16_t epoch,
                                 int32_t first_seq, int32_t last_seq, int64_t *dup_offset,
                                 int16_t *error)
{
    producer_entry_t *e;
    HASH_FIND(hh, ps->producers, &pid, sizeof(pid), e);
    if (!e)
        return PSTATE_APPEND;   /* no retained state: any sequence is accepted */
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
        HASH_ADD(hh, ps->producers, pid, sizeof(e->pid), e);
    }
    return e;
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
        be32_put(p + 34, -1);           /* coordinator epoch: no transactions yet */
        be64_put(p + 38, -1);           /* the open transaction's first offset */
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
    producer_state_t fresh = { NULL };
    for (const uint8_t *p = buf + SNAPSHOT_HEADER; n > 0; n--, p += SNAPSHOT_ENTRY) {
        producer_entry_t *e = entry_for(&fresh, be64_get(p));
        e->epoch = be16_get(p + 8);
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
    producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp) {
        HASH_DEL(ps->producers, e);
        free(e);
    }
    ps->producers = fresh.producers;
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

/* Batches at or past `offset` are forgotten, newest first; a producer left
 * with none is forgotten too (Kafka reloads from a snapshot instead). */
void pstate_truncate(producer_state_t *ps, int64_t offset)
{
    producer_entry_t *e, *tmp;
    HASH_ITER(hh, ps->producers, e, tmp) {
        while (e->n_batches > 0 && last_batch(e)->base_offset >= offset) {
            e->head = (e->head + BATCHES_TO_RETAIN - 1) % BATCHES_TO_RETAIN;
            e->n_batches--;
        }
        if (e->n_batches == 0) {
            HASH_DEL(ps->producers, e);
            free(e);
        }
    }
}
