/*
 * log_segment.c - owns one segment's files: appends to <base>.log, the
 * memory-mapped sparse offset and time indexes (big-endian, Kafka's layout),
 * lookups by offset and timestamp, recovery of a torn tail, and sealing at
 * roll.  Event-loop thread only, except segments the cleaner thread builds
 * (".cleaned" files no other thread sees until they are swapped in).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log_segment.h"
#include "logging.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "util.h"

#define OFFSET_ENTRY 8
#define TIME_ENTRY 12

static char *seg_path(const log_segment_t *s, const char *ext)
{
    size_t n = strlen(s->path_base) + strlen(ext) + strlen(s->suffix) + 1;
    char *p = xmalloc(n);
    snprintf(p, n, "%s%s%s", s->path_base, ext, s->suffix);
    return p;
}

/* Maps an index file at max_bytes (active) or at its current size.  The
 * descriptor is closed once the file is mapped: a broker hosting thousands
 * of partitions keeps one descriptor per segment (its .log), as Kafka does,
 * not three. */
static int index_map(const char *path, int entry, int32_t max_bytes, bool active,
                     uint8_t **map_out, int32_t *entries_out, int32_t *max_out)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -1;
    }
    int64_t cur = st.st_size - st.st_size % entry;
    int64_t want = active ? (max_bytes / entry) * entry : cur;
    if (want < cur)
        want = cur;
    if (want != st.st_size && ftruncate(fd, want) < 0) {
        close(fd);
        return -1;
    }
    uint8_t *map = NULL;
    if (want > 0) {
        map = mmap(NULL, (size_t)want, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return -1;
        }
    }
    close(fd);
    *map_out = map;
    *entries_out = (int32_t)(cur / entry);
    *max_out = (int32_t)(want / entry);
    return 0;
}

/* Unmaps an index; a preallocated (active) one is trimmed to its entries. */
static void index_unmap(const log_segment_t *s, const char *ext, uint8_t *map,
                        int32_t max_entries, int entry, int32_t entries)
{
    if (!map)
        return;
    munmap(map, (size_t)max_entries * (size_t)entry);
    if (max_entries == entries)
        return;
    char *path = seg_path(s, ext);
    if (truncate(path, (off_t)entries * entry) < 0 && errno != ENOENT)
        log_warn("log", "Failed to trim index file %s: %s", path, strerror(errno));
    free(path);
}

static void time_index_maybe_append(log_segment_t *s, int64_t ts, int64_t offset);

static void segment_unmap_indexes(log_segment_t *s)
{
    index_unmap(s, ".index", s->idx_map, s->idx_max_entries, OFFSET_ENTRY, s->idx_entries);
    index_unmap(s, ".timeindex", s->tidx_map, s->tidx_max_entries, TIME_ENTRY, s->tidx_entries);
    s->idx_map = s->tidx_map = NULL;
}

/* Number of leading entries that are strictly increasing; a crash can
 * leave a preallocated tail of zero entries that Kafka would also ignore
 * once the segment is recovered. */
static int32_t offset_index_valid_entries(const uint8_t *map, int32_t n)
{
    int32_t prev = -1;
    for (int32_t i = 0; i < n; i++) {
        int32_t rel = be32_get(map + (size_t)i * OFFSET_ENTRY);
        if (rel <= prev && i > 0)
            return i;
        if (i > 0 && rel == 0)
            return i;
        prev = rel;
    }
    return n;
}

void segment_set_dir(log_segment_t *s, const char *dir)
{
    size_t n = strlen(dir) + 32;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%020" PRId64, dir, s->base_offset);
    free(s->path_base);
    s->path_base = p;
}

log_segment_t *segment_open(const char *dir, int64_t base_offset, bool create, bool active,
                            int32_t index_interval, int32_t index_max_bytes)
{
    return segment_open_named(dir, base_offset, "", create, active, index_interval, index_max_bytes);
}

log_segment_t *segment_open_named(const char *dir, int64_t base_offset, const char *suffix,
                                  bool create, bool active, int32_t index_interval,
                                  int32_t index_max_bytes)
{
    log_segment_t *s = xcalloc(1, sizeof(*s));
    snprintf(s->suffix, sizeof(s->suffix), "%s", suffix);
    s->base_offset = base_offset;
    s->next_offset = base_offset;
    s->index_interval = index_interval;
    s->created_ms = now_ms();
    s->first_batch_timestamp = -1;
    s->max_timestamp = -1;
    s->offset_of_max_timestamp = -1;
    s->log_fd = -1;
    s->active = active;
    size_t n = strlen(dir) + 32;
    s->path_base = xmalloc(n);
    snprintf(s->path_base, n, "%s/%020" PRId64, dir, base_offset);

    char *lp = seg_path(s, ".log");
    s->log_fd = open(lp, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (s->log_fd < 0) {
        log_error("log", "Cannot open segment %s: %s", lp, strerror(errno));
        free(lp);
        segment_close(s);
        return NULL;
    }
    free(lp);
    struct stat st;
    if (fstat(s->log_fd, &st) < 0) {
        segment_close(s);
        return NULL;
    }
    s->size = st.st_size;
    char *ip = seg_path(s, ".index");
    char *tp = seg_path(s, ".timeindex");
    int rc = index_map(ip, OFFSET_ENTRY, index_max_bytes, active, &s->idx_map, &s->idx_entries,
                       &s->idx_max_entries);
    if (rc == 0)
        rc = index_map(tp, TIME_ENTRY, index_max_bytes, active, &s->tidx_map, &s->tidx_entries,
                       &s->tidx_max_entries);
    if (rc < 0)
        log_error("log", "Cannot open index for %s: %s", s->path_base, strerror(errno));
    free(ip);
    free(tp);
    if (rc < 0) {
        segment_close(s);
        return NULL;
    }
    if (s->idx_map)
        s->idx_entries = offset_index_valid_entries(s->idx_map, s->idx_entries);
    char *xp = seg_path(s, ".txnindex");
    if (txn_index_load(xp, &s->aborted) < 0)
        log_warn("log", "Cannot read %s: %s; its aborted transactions are not known", xp,
                 strerror(errno));
    free(xp);
    if (s->tidx_entries > 0 && !active) {
        const uint8_t *e = s->tidx_map + (size_t)(s->tidx_entries - 1) * TIME_ENTRY;
        s->max_timestamp = be64_get(e);
        s->offset_of_max_timestamp = s->base_offset + be32_get(e + 8);
    }
    return s;
}

void segment_close(log_segment_t *s)
{
    if (!s)
        return;
    /* The newest timestamp gets its time-index entry on close, as Kafka's
     * LogSegment.close() writes it: Kafka, opening the log next, takes the
     * active segment's largest timestamp from that last entry. */
    if (s->active && s->tidx_map && s->max_timestamp >= 0)
        time_index_maybe_append(s, s->max_timestamp, s->offset_of_max_timestamp);
    segment_unmap_indexes(s);
    if (s->log_fd >= 0)
        close(s->log_fd);
    txn_index_free(&s->aborted);
    free(s->path_base);
    free(s);
}

void segment_delete(log_segment_t *s)
{
    static const char *exts[] = { ".log", ".index", ".timeindex", ".txnindex" };
    char *paths[4];
    for (int i = 0; i < 4; i++)
        paths[i] = seg_path(s, exts[i]);
    segment_close(s);
    for (int i = 0; i < 4; i++) {
        if (unlink(paths[i]) < 0 && errno != ENOENT)
            log_warn("log", "Failed to delete %s: %s", paths[i], strerror(errno));
        free(paths[i]);
    }
}

char **segment_rename_deleted(log_segment_t *s)
{
    static const char *exts[] = { ".log", ".index", ".timeindex", ".txnindex" };
    char **renamed = xcalloc(5, sizeof(*renamed));
    int k = 0;
    for (int i = 0; i < 4; i++) {
        char *from = seg_path(s, exts[i]);
        size_t n = strlen(from) + sizeof(".deleted");
        char *to = xmalloc(n);
        snprintf(to, n, "%s.deleted", from);
        if (rename(from, to) == 0) {
            renamed[k++] = to;
        } else {
            if (errno != ENOENT)
                log_warn("log", "Cannot rename %s for deletion: %s", from, strerror(errno));
            free(to);
        }
        free(from);
    }
    segment_close(s);
    return renamed;
}

bool segment_index_full(const log_segment_t *s)
{
    /* The time index reports full one entry early: the last slot is kept
     * for the entry appended when the segment is sealed. */
    return s->idx_entries >= s->idx_max_entries || s->tidx_entries >= s->tidx_max_entries - 1;
}

static void offset_index_append(log_segment_t *s, int64_t offset, int64_t position)
{
    if (s->idx_entries >= s->idx_max_entries)
        return;
    uint8_t *e = s->idx_map + (size_t)s->idx_entries * OFFSET_ENTRY;
    be32_put(e, (int32_t)(offset - s->base_offset));
    be32_put(e + 4, (int32_t)position);
    s->idx_entries++;
}

static void time_index_maybe_append(log_segment_t *s, int64_t ts, int64_t offset)
{
    if (ts < 0 || s->tidx_entries >= s->tidx_max_entries)
        return;
    if (s->tidx_entries > 0) {
        const uint8_t *last = s->tidx_map + (size_t)(s->tidx_entries - 1) * TIME_ENTRY;
        if (ts <= be64_get(last))
            return;
    }
    uint8_t *e = s->tidx_map + (size_t)s->tidx_entries * TIME_ENTRY;
    be64_put(e, ts);
    be32_put(e + 8, (int32_t)(offset - s->base_offset));
    s->tidx_entries++;
}

/* Index bookkeeping shared by append and recovery. */
static void segment_note_batch(log_segment_t *s, int64_t position, int32_t len,
                               int64_t last_offset, int64_t max_ts, int64_t offset_of_max_ts,
                               int64_t first_ts)
{
    if (max_ts > s->max_timestamp) {
        s->max_timestamp = max_ts;
        s->offset_of_max_timestamp = offset_of_max_ts;
    }
    if (s->first_batch_timestamp < 0)
        s->first_batch_timestamp = first_ts;
    if (s->bytes_since_index > s->index_interval) {
        offset_index_append(s, last_offset, position);
        time_index_maybe_append(s, s->max_timestamp, s->offset_of_max_timestamp);
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += len;
    s->next_offset = last_offset + 1;
}

int segment_append(log_segment_t *s, const uint8_t *buf, int32_t len,
                   int64_t first_offset, int64_t last_offset,
                   int64_t max_timestamp, int64_t offset_of_max_timestamp)
{
    (void)first_offset;
    int64_t position = s->size;
    size_t done = 0;
    while (done < (size_t)len) {
        ssize_t w = pwrite(s->log_fd, buf + done, (size_t)len - done, (off_t)(position + (int64_t)done));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            log_error("log", "Write to %s.log failed: %s", s->path_base, strerror(errno));
            /* Cut back whatever part of the batch reached the file. */
            if (ftruncate(s->log_fd, position) < 0)
                log_error("log", "Truncate of %s.log failed: %s", s->path_base, strerror(errno));
            return -1;
        }
        done += (size_t)w;
    }
    s->size += len;
    segment_note_batch(s, position, len, last_offset, max_timestamp, offset_of_max_timestamp,
                       max_timestamp);
    return 0;
}

/* The header of the entry at pos: a batch, or a legacy message (which
 * can be shorter than a batch header). */
static int read_header_fd(int fd, int64_t file_size, int64_t pos, batch_header_t *h)
{
    uint8_t hdr[BATCH_HEADER_SIZE];
    if (pos + LOG_ENTRY_MIN_SIZE > file_size)
        return -1;
    size_t want = (size_t)MIN((int64_t)sizeof(hdr), file_size - pos);
    ssize_t r = pread(fd, hdr, want, (off_t)pos);
    if (r != (ssize_t)want)
        return -1;
    if (log_entry_header(hdr, want, h) < 0 || pos + h->size > file_size)
        return -1;
    return 0;
}

static int read_header_at(const log_segment_t *s, int64_t pos, batch_header_t *h)
{
    return read_header_fd(s->log_fd, s->size, pos, h);
}

/* Largest index entry whose offset is <= target: its position (0 if none). */
static int64_t index_floor_position(const log_segment_t *s, int64_t target)
{
    int32_t lo = 0, hi = s->idx_entries - 1, best = -1;
    int64_t rel = target - s->base_offset;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int32_t r = be32_get(s->idx_map + (size_t)mid * OFFSET_ENTRY);
        if (r <= rel) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best < 0 ? 0 : be32_get(s->idx_map + (size_t)best * OFFSET_ENTRY + 4);
}

int64_t segment_boundary_floor(const log_segment_t *s, int64_t limit)
{
    int32_t lo = 0, hi = s->idx_entries - 1;
    int64_t best = 0;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int64_t p = be32_get(s->idx_map + (size_t)mid * OFFSET_ENTRY + 4);
        if (p <= limit) {
            best = p;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

int64_t segment_find_offset(const log_segment_t *s, int64_t offset, int64_t *batch_base)
{
    int64_t pos = index_floor_position(s, offset);
    batch_header_t h;
    while (pos < s->size && read_header_at(s, pos, &h) == 0) {
        if (batch_last_offset(&h) >= offset) {
            *batch_base = h.base_offset;
            return pos;
        }
        pos += h.size;
    }
    *batch_base = -1;
    return s->size;
}

/* What a search by time looks for among one batch's records. */
typedef struct time_search {
    int64_t target;
    int64_t min_offset;
    bool exact;                 /* timestamp == target, else >= target */
    bool found;
    timestamp_offset_t *out;
} time_search_t;

static void match_record_time(const batch_record_t *r, void *arg)
{
    time_search_t *q = arg;
    if (q->found)
        return;
    bool hit = q->exact ? r->timestamp == q->target
                        : r->timestamp >= q->target && r->offset >= q->min_offset;
    if (hit) {
        q->found = true;
        q->out->timestamp = r->timestamp;
        q->out->offset = r->offset;
    }
}

/* Reads the batch at pos and looks for q's record in it: 1, 0 or -1. */
static int search_batch(const log_segment_t *s, int64_t pos, const batch_header_t *h,
                        time_search_t *q)
{
    uint8_t *buf = segment_read_batch(s, pos, h);
    if (!buf)
        return -1;
    int rc = -1;
    if (batch_foreach_record(buf, h, match_record_time, q) < 0)
        log_error("log", "Malformed batch at offset %" PRId64 " of %s.log", h->base_offset,
                  s->path_base);
    else
        rc = q->found ? 1 : 0;
    free(buf);
    if (rc == 1)
        q->out->leader_epoch = h->partition_leader_epoch >= 0 ? h->partition_leader_epoch : -1;
    return rc;
}

/* Walks batches from the one holding start_offset; the first batch whose
 * max timestamp passes batch_ok is searched record by record. */
static int search_from(const log_segment_t *s, int64_t start_offset, time_search_t *q)
{
    int64_t base;
    int64_t pos = segment_find_offset(s, start_offset, &base);
    batch_header_t h;
    while (pos < s->size && read_header_at(s, pos, &h) == 0) {
        bool candidate = q->exact ? h.max_timestamp == q->target : h.max_timestamp >= q->target;
        if (candidate) {
            int rc = search_batch(s, pos, &h, q);
            if (rc != 0 || q->exact)
                return rc;
        }
        pos += h.size;
    }
    return 0;
}

int segment_find_timestamp(const log_segment_t *s, int64_t ts, int64_t min_offset,
                           timestamp_offset_t *out)
{
    /* The largest time-index entry with timestamp <= ts gives a start
     * offset (its batch's last offset, so the walk starts at or before). */
    int64_t start_offset = s->base_offset;
    int32_t lo = 0, hi = s->tidx_entries - 1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        const uint8_t *e = s->tidx_map + (size_t)mid * TIME_ENTRY;
        if (be64_get(e) <= ts) {
            start_offset = s->base_offset + be32_get(e + 8);
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    time_search_t q = { ts, min_offset, false, false, out };
    return search_from(s, MAX(start_offset, min_offset), &q);
}

int segment_find_max_timestamp(const log_segment_t *s, timestamp_offset_t *out)
{
    if (s->max_timestamp < 0)
        return 0;
    time_search_t q = { s->max_timestamp, 0, true, false, out };
    return search_from(s, s->offset_of_max_timestamp, &q);
}

int64_t segment_recover(log_segment_t *s)
{
    s->idx_entries = 0;
    s->tidx_entries = 0;
    s->bytes_since_index = 0;
    s->max_timestamp = -1;
    s->offset_of_max_timestamp = -1;
    s->first_batch_timestamp = -1;
    s->next_offset = s->base_offset;
    /* The aborted transactions are found again as the log opens (the
     * producer state replays this segment), as Kafka's recover() does. */
    char *xp = seg_path(s, ".txnindex");
    int xrc = txn_index_truncate(xp, &s->aborted, INT64_MIN);
    free(xp);
    if (xrc < 0)
        return -1;
    s->txn_index_rebuilt = true;
    if (s->idx_map)
        memset(s->idx_map, 0, (size_t)s->idx_max_entries * OFFSET_ENTRY);
    if (s->tidx_map)
        memset(s->tidx_map, 0, (size_t)s->tidx_max_entries * TIME_ENTRY);
    int64_t pos = 0;
    uint8_t *buf = NULL;
    size_t cap = 0;
    while (pos < s->size) {
        batch_header_t h;
        if (read_header_at(s, pos, &h) < 0 || h.base_offset < s->next_offset ||
            batch_last_offset(&h) - s->base_offset > INT32_MAX)
            break;
        if ((size_t)h.size > cap) {
            cap = (size_t)h.size;
            buf = xrealloc(buf, cap);
        }
        if (pread(s->log_fd, buf, (size_t)h.size, (off_t)pos) != (ssize_t)h.size || !batch_crc_ok(buf, &h))
            break;
        segment_note_batch(s, pos, h.size, batch_last_offset(&h), h.max_timestamp,
                           batch_last_offset(&h), h.max_timestamp);
        pos += h.size;
    }
    free(buf);
    int64_t truncated = s->size - pos;
    if (truncated > 0) {
        log_warn("log", "Found invalid bytes at the end of %s.log: truncating %" PRId64
                        " bytes at position %" PRId64, s->path_base, truncated, pos);
        if (ftruncate(s->log_fd, pos) < 0) {
            log_error("log", "Truncate of %s.log failed: %s", s->path_base, strerror(errno));
            return -1;
        }
        s->size = pos;
    }
    return truncated;
}

int segment_flush(log_segment_t *s)
{
    if (fdatasync(s->log_fd) < 0) {
        log_error("log", "fsync of %s.log failed: %s", s->path_base, strerror(errno));
        return -1;
    }
    return 0;
}

int segment_seal(log_segment_t *s)
{
    if (!s->active)
        return 0;
    /* The slot kept free by segment_index_full() takes this entry. */
    if (s->max_timestamp >= 0 && s->tidx_entries < s->tidx_max_entries) {
        time_index_maybe_append(s, s->max_timestamp, s->offset_of_max_timestamp);
    }
    int rc = 0;
    segment_unmap_indexes(s);
    /* Re-map read-only sized for lookups. */
    char *ip = seg_path(s, ".index");
    char *tp = seg_path(s, ".timeindex");
    int32_t dummy;
    if (index_map(ip, OFFSET_ENTRY, 0, false, &s->idx_map, &s->idx_entries, &dummy) < 0 ||
        index_map(tp, TIME_ENTRY, 0, false, &s->tidx_map, &s->tidx_entries, &dummy) < 0) {
        log_error("log", "Cannot reopen index of %s: %s", s->path_base, strerror(errno));
        rc = -1;
    }
    s->idx_max_entries = s->idx_entries;
    s->tidx_max_entries = s->tidx_entries;
    free(ip);
    free(tp);
    s->active = false;
    return rc;
}

int segment_load_tail(log_segment_t *s)
{
    int64_t pos = 0;
    if (s->idx_entries > 0)
        pos = be32_get(s->idx_map + (size_t)(s->idx_entries - 1) * OFFSET_ENTRY + 4);
    if (s->tidx_entries > 0) {
        const uint8_t *e = s->tidx_map + (size_t)(s->tidx_entries - 1) * TIME_ENTRY;
        s->max_timestamp = be64_get(e);
        s->offset_of_max_timestamp = s->base_offset + be32_get(e + 8);
    }
    batch_header_t h;
    while (pos < s->size) {
        if (read_header_at(s, pos, &h) < 0)
            return -1;
        if (s->first_batch_timestamp < 0)
            s->first_batch_timestamp = h.max_timestamp;
        s->next_offset = batch_last_offset(&h) + 1;
        pos += h.size;
    }
    if (s->first_batch_timestamp < 0 && s->size > 0 && read_header_at(s, 0, &h) == 0)
        s->first_batch_timestamp = h.max_timestamp;
    return 0;
}

int batch_file_foreach(int fd, int64_t size,
                       int (*fn)(uint8_t *batch, const batch_header_t *h, void *arg), void *arg)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    int64_t pos = 0;
    int rc = 0;
    while (pos + LOG_ENTRY_MIN_SIZE <= size) {
        batch_header_t h;
        if (read_header_fd(fd, size, pos, &h) < 0) {
            rc = -1;
            break;
        }
        if ((size_t)h.size > cap) {
            uint8_t *nb = realloc(buf, (size_t)h.size);
            if (!nb) {
                rc = -1;
                break;
            }
            buf = nb;
            cap = (size_t)h.size;
        }
        if (pread(fd, buf, (size_t)h.size, (off_t)pos) != (ssize_t)h.size) {
            rc = -1;
            break;
        }
        if ((rc = fn(buf, &h, arg)) < 0)
            break;
        pos += h.size;
    }
    free(buf);
    return rc;
}

int segment_for_each_batch(log_segment_t *s,
                           int (*fn)(uint8_t *batch, const batch_header_t *h, void *arg), void *arg)
{
    return batch_file_foreach(s->log_fd, s->size, fn, arg);
}

int64_t segment_upper_bound_offset(const log_segment_t *s, int64_t position)
{
    int32_t lo = 0, hi = s->idx_entries - 1, found = -1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        const uint8_t *e = s->idx_map + (size_t)mid * OFFSET_ENTRY;
        if (be32_get(e + 4) >= position) {
            found = mid;
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    return found < 0 ? -1 : s->base_offset + be32_get(s->idx_map + (size_t)found * OFFSET_ENTRY);
}

int segment_add_aborted(log_segment_t *s, const aborted_txn_t *t)
{
    char *p = seg_path(s, ".txnindex");
    int rc = txn_index_append(p, &s->aborted, t);
    free(p);
    return rc;
}

uint8_t *segment_read_batch(const log_segment_t *s, int64_t pos, const batch_header_t *h)
{
    uint8_t *buf = malloc((size_t)h->size);
    if (!buf) {
        log_error("log", "Out of memory reading a batch of %s.log", s->path_base);
        return NULL;
    }
    if (pread(s->log_fd, buf, (size_t)h->size, (off_t)pos) != (ssize_t)h->size) {
        log_error("log", "Read of %s.log at %" PRId64 " failed: %s", s->path_base, pos,
                  strerror(errno));
        free(buf);
        return NULL;
    }
    return buf;
}

int segment_for_each_header(const log_segment_t *s,
                            int (*fn)(const batch_header_t *h, int64_t pos, void *arg), void *arg)
{
    int64_t pos = 0;
    batch_header_t h;
    while (pos < s->size) {
        if (read_header_at(s, pos, &h) < 0)
            return -1;
        int rc = fn(&h, pos, arg);
        if (rc < 0)
            return rc;
        pos += h.size;
    }
    return 0;
}

int segment_sync(log_segment_t *s)
{
    if (segment_flush(s) < 0)
        return -1;
    if ((s->idx_map && msync(s->idx_map, (size_t)s->idx_max_entries * OFFSET_ENTRY, MS_SYNC) < 0) ||
        (s->tidx_map &&
         msync(s->tidx_map, (size_t)s->tidx_max_entries * TIME_ENTRY, MS_SYNC) < 0)) {
        log_error("log", "fsync of the indexes of %s failed: %s", s->path_base, strerror(errno));
        return -1;
    }
    return 0;
}

int64_t segment_truncate_to(log_segment_t *s, int64_t offset)
{
    int64_t batch_base;
    int64_t pos = segment_find_offset(s, offset, &batch_base);
    if (pos >= s->size)
        return s->next_offset;
    if (ftruncate(s->log_fd, pos) < 0) {
        log_error("log", "Truncate of %s.log failed: %s", s->path_base, strerror(errno));
        return -1;
    }
    s->size = pos;
    while (s->idx_entries > 0 &&
           be32_get(s->idx_map + (size_t)(s->idx_entries - 1) * OFFSET_ENTRY + 4) >= pos) {
        s->idx_entries--;
        memset(s->idx_map + (size_t)s->idx_entries * OFFSET_ENTRY, 0, OFFSET_ENTRY);
    }
    while (s->tidx_entries > 0 &&
           s->base_offset + be32_get(s->tidx_map + (size_t)(s->tidx_entries - 1) * TIME_ENTRY + 8) >=
               batch_base) {
        s->tidx_entries--;
        memset(s->tidx_map + (size_t)s->tidx_entries * TIME_ENTRY, 0, TIME_ENTRY);
    }
    s->next_offset = s->size > 0 ? batch_base : s->base_offset;
    char *xp = seg_path(s, ".txnindex");
    int xrc = txn_index_truncate(xp, &s->aborted, s->next_offset);
    free(xp);
    if (xrc < 0)
        return -1;
    s->max_timestamp = -1;
    s->offset_of_max_timestamp = -1;
    s->first_batch_timestamp = -1;
    s->bytes_since_index = 0;
    /* Max timestamp and first batch time from what is left. */
    if (segment_load_tail(s) < 0)
        return -1;
    return s->next_offset;
}
