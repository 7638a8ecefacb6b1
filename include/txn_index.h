/*
 * txn_index.h - a segment's aborted transactions: Kafka's TransactionIndex,
 * the "<base>.txnindex" file beside the segment (34-byte entries: version
 * 0, producer id, first offset, last offset, last stable offset), kept in
 * memory too so read_committed fetches never read it from disk.
 * Owned by its segment: the event-loop thread, or the thread opening it.
 */
#ifndef SAMSA_TXN_INDEX_H
#define SAMSA_TXN_INDEX_H

#include <stdbool.h>
#include <stdint.h>

typedef struct aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
    int64_t last_offset;        /* the abort marker's */
    int64_t last_stable_offset; /* the LSO once the marker was written */
} aborted_txn_t;

typedef struct txn_index {
    aborted_txn_t *v;
    int n;
    int cap;
} txn_index_t;

#define TXN_INDEX_ENTRY 34

/* Reads path into ti (a missing file is an empty index).  A torn last
 * entry is ignored.  0, or -1 (ti empty) if the file cannot be read. */
int txn_index_load(const char *path, txn_index_t *ti);
/* Appends e to the file and to ti.  0 or -1. */
int txn_index_append(const char *path, txn_index_t *ti, const aborted_txn_t *e);
/* Drops entries whose marker is at or past offset, in the file too. */
int txn_index_truncate(const char *path, txn_index_t *ti, int64_t offset);
void txn_index_free(txn_index_t *ti);
/* Kafka's collectAbortedTxns: calls fn for entries with last_offset >=
 * from and first_offset < upper.  True once an entry's last stable offset
 * reaches upper (no later segment can hold more). */
bool txn_index_collect(const txn_index_t *ti, int64_t from, int64_t upper,
                       void (*fn)(const aborted_txn_t *t, void *arg), void *arg);

#endif
