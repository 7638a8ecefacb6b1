/*
 * log_cleaner.c - owns compaction: a map of each key's latest offset over
 * the whole log, then each sealed segment is rewritten keeping only
 * records that are the latest for their key (and records without a key).
 * Retained records are copied byte for byte into batches that keep their
 * base offset, last offset delta and timestamps, so offsets never change.
 * The new file is written and fsynced beside the old one and renamed over
 * it; a crash leaves either the old or the new segment, never a mix.
 * Event-loop thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "crc32c.h"
#include "log_cleaner.h"
#include "logging.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "util.h"

typedef struct key_entry {
    UT_hash_handle hh;
    int64_t offset;
    int32_t len;
    uint8_t key[];
} key_entry_t;

typedef struct key_map {
    key_entry_t *entries;
} key_map_t;

static void map_put(const batch_record_t *r, void *arg)
{
    key_map_t *m = arg;
    if (!r->key)
        return;
    key_entry_t *e;
    HASH_FIND(hh, m->entries, r->key, (size_t)r->key_len, e);
    if (!e) {
        e = xmalloc(sizeof(*e) + (size_t)r->key_len);
        e->len = r->key_len;
        memcpy(e->key, r->key, (size_t)r->key_len);
        HASH_ADD(hh, m->entries, key, (size_t)e->len, e);
    }
    e->offset = r->offset;
}

static void map_free(key_map_t *m)
{
    key_entry_t *e, *tmp;
    HASH_ITER(hh, m->entries, e, tmp) {
        HASH_DEL(m->entries, e);
        free(e);
    }
}

static int map_batch(uint8_t *b, const batch_header_t *h, void *arg)
{
    /* Compressed batches are not expanded: their keys stay "live". */
    batch_foreach_record(b, h, map_put, arg);
    return 0;
}

typedef struct rewrite {
    key_map_t *map;
    int out_fd;
    int64_t out_size;
    kwriter_t w;                /* the batch being rebuilt */
    int32_t kept;               /* records kept of the current batch */
} rewrite_t;

/* Keeps a record if it is the latest for its key. */
static bool keep(const key_map_t *m, const batch_record_t *r)
{
    if (!r->key)
        return true;
    key_entry_t *e;
    HASH_FIND(hh, m->entries, r->key, (size_t)r->key_len, e);
    return !e || e->offset == r->offset;
}

static void keep_record(const batch_record_t *r, void *arg)
{
    rewrite_t *rw = arg;
    if (keep(rw->map, r)) {
        kw_raw(&rw->w, r->raw, (size_t)r->raw_len);
        rw->kept++;
    }
}

/* Rewrites one batch keeping the retained records' raw bytes. */
static int rewrite_batch(uint8_t *b, const batch_header_t *h, void *arg)
{
    rewrite_t *rw = arg;
    if (h->attributes & BATCH_ATTR_COMPRESSION_MASK || h->attributes & BATCH_ATTR_CONTROL) {
        rw->out_size += h->size;
        return write_full(rw->out_fd, b, (size_t)h->size);
    }
    kw_reset(&rw->w);
    kw_raw(&rw->w, b, BATCH_HEADER_SIZE);
    rw->kept = 0;
    if (batch_foreach_record(b, h, keep_record, rw) < 0)
        return -1;
    if (rw->kept == 0)
        return 0;   /* the whole batch is superseded */
    /* Same base offset, last offset delta and timestamps; new count,
     * length and CRC. */
    kw_put_int32_at(&rw->w, 8, (int32_t)(rw->w.len - BATCH_LOG_OVERHEAD));
    kw_put_int32_at(&rw->w, 57, rw->kept);
    kw_put_int32_at(&rw->w, 17, (int32_t)crc32c(0, rw->w.buf + 21, rw->w.len - 21));
    rw->out_size += (int64_t)rw->w.len;
    return write_full(rw->out_fd, rw->w.buf, rw->w.len);
}

static int clean_segment(partition_log_t *pl, int idx, key_map_t *map, int64_t *saved)
{
    log_segment_t *s = pl->segs[idx];
    size_t n = strlen(s->path_base) + 16;
    char *tmp = xmalloc(n), *dst = xmalloc(n);
    snprintf(tmp, n, "%s.log.cleaned", s->path_base);
    snprintf(dst, n, "%s.log", s->path_base);
    rewrite_t rw = { .map = map, .out_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) };
    kw_init(&rw.w);
    int rc = rw.out_fd < 0 ? -1 : segment_for_each_batch(s, rewrite_batch, &rw);
    if (rw.out_fd >= 0 && (rc < 0 || fsync(rw.out_fd) < 0 || close(rw.out_fd) < 0))
        rc = -1;
    kw_free(&rw.w);
    if (rc == 0 && rw.out_size < s->size) {
        int64_t base = s->base_offset, next = pl->segs[idx + 1]->base_offset, old_size = s->size;
        char *dir = xstrdup(pl->dir);
        if (rename(tmp, dst) < 0) {
            rc = -1;
        } else {
            /* Reopen on the new file and rebuild its indexes. */
            segment_close(s);
            s = segment_open(dir, base, false, true, pl->settings.index_interval_bytes,
                             pl->settings.index_size_max_bytes);
            if (!s || segment_recover(s) < 0)
                die("log cleaner: cannot reopen compacted segment %s", dst);
            segment_seal(s);
            s->next_offset = next;
            *saved += old_size - s->size;
            pl->segs[idx] = s;
        }
        free(dir);
    }
    if (rc < 0)
        log_error("log-cleaner", "Compaction of %s failed: %s; segment left as it was", dst, strerror(errno));
    unlink(tmp);
    free(tmp);
    free(dst);
    return rc;
}

int64_t cleaner_clean(partition_log_t *pl)
{
    /* Sealed segments exist only when there is more than one. */
    if (pl->nsegs < 2 || pl->cleaned_upto >= pl->segs[pl->nsegs - 1]->base_offset)
        return 0;
    key_map_t map = { NULL };
    for (int i = 0; i < pl->nsegs; i++)
        if (segment_for_each_batch(pl->segs[i], map_batch, &map) < 0) {
            map_free(&map);
            return -1;
        }
    int64_t saved = 0;
    int rc = 0;
    for (int i = 0; i + 1 < pl->nsegs && rc == 0; i++)
        rc = clean_segment(pl, i, &map, &saved);
    map_free(&map);
    if (rc < 0)
        return -1;
    pl->cleaned_upto = pl->segs[pl->nsegs - 1]->base_offset;
    log_info("log-cleaner", "Compacted %s-%d: %" PRId64 " bytes reclaimed", pl->topic, pl->partition,
             saved);
    return saved;
}
