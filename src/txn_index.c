/*
 * txn_index.c - owns the .txnindex file format and its in-memory copy
 * (Kafka's TransactionIndex and AbortedTxn).  Event-loop thread, or the
 * thread opening the segment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logging.h"
#include "proto_codec.h"
#include "txn_index.h"
#include "util.h"

#define TXN_INDEX_VERSION 0

static void encode(uint8_t *p, const aborted_txn_t *e)
{
    be16_put(p, TXN_INDEX_VERSION);
    be64_put(p + 2, e->producer_id);
    be64_put(p + 10, e->first_offset);
    be64_put(p + 18, e->last_offset);
    be64_put(p + 26, e->last_stable_offset);
}

static void push(txn_index_t *ti, const aborted_txn_t *e)
{
    if (ti->n == ti->cap) {
        ti->cap = ti->cap ? ti->cap * 2 : 4;
        ti->v = xrealloc(ti->v, sizeof(*ti->v) * (size_t)ti->cap);
    }
    ti->v[ti->n++] = *e;
}

int txn_index_load(const char *path, txn_index_t *ti)
{
    ti->n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat st;
    int rc = fstat(fd, &st);
    size_t len = rc == 0 ? (size_t)st.st_size : 0;
    uint8_t *buf = rc == 0 && len ? malloc(len) : NULL;
    if (rc == 0 && len && (!buf || pread(fd, buf, len, 0) != (ssize_t)len))
        rc = -1;
    close(fd);
    for (size_t at = 0; rc == 0 && at + TXN_INDEX_ENTRY <= len; at += TXN_INDEX_ENTRY) {
        const uint8_t *p = buf + at;
        if (be16_get(p) != TXN_INDEX_VERSION) {
            log_warn("log", "Ignoring %s from entry %zu: unknown version %d", path,
                     at / TXN_INDEX_ENTRY, be16_get(p));
            break;
        }
        push(ti, &(aborted_txn_t){ be64_get(p + 2), be64_get(p + 10), be64_get(p + 18),
                                   be64_get(p + 26) });
    }
    free(buf);
    if (rc < 0)
        ti->n = 0;
    return rc;
}

int txn_index_append(const char *path, txn_index_t *ti, const aborted_txn_t *e)
{
    uint8_t rec[TXN_INDEX_ENTRY];
    encode(rec, e);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    /* After the entries known (a torn one from a crash is overwritten). */
    int rc = fd < 0 || lseek(fd, (off_t)ti->n * TXN_INDEX_ENTRY, SEEK_SET) < 0
             ? -1 : write_full(fd, rec, sizeof(rec));
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        log_error("log", "Cannot append to %s: %s", path, strerror(errno));
        return -1;
    }
    push(ti, e);
    return 0;
}

int txn_index_truncate(const char *path, txn_index_t *ti, int64_t offset)
{
    int k = 0;
    while (k < ti->n && ti->v[k].last_offset < offset)
        k++;
    if (k == ti->n)
        return 0;
    ti->n = k;
    if (truncate(path, (off_t)k * TXN_INDEX_ENTRY) < 0 && errno != ENOENT) {
        log_error("log", "Cannot truncate %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void txn_index_free(txn_index_t *ti)
{
    free(ti->v);
    *ti = (txn_index_t){ NULL, 0, 0 };
}

bool txn_index_collect(const txn_index_t *ti, int64_t from, int64_t upper,
                       void (*fn)(const aborted_txn_t *t, void *arg), void *arg)
{
    for (int i = 0; i < ti->n; i++) {
        const aborted_txn_t *t = &ti->v[i];
        if (t->last_offset >= from && t->first_offset < upper)
            fn(t, arg);
        if (t->last_stable_offset >= upper)
            return true;
    }
    return false;
}
