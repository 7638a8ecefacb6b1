/*
 * log_partition.c - owns a partition directory: loading and recovering its
 * segments, appends with offset assignment, rolling (size, age, full index,
 * offset overflow), flushing by log.flush.interval.messages, and reads.
 * Event-loop thread only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bio.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "log_partition.h"
#include "logging.h"
#include "record_batch.h"
#include "util.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Base offsets of the <20 digits>.log files in dir, sorted. */
static int list_segment_bases(const char *dir, int64_t **out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    int64_t *bases = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 8 && !strcmp(e->d_name + len - 8, ".cleaned")) {
            /* A compaction interrupted before its rename: the original
             * segment is intact, drop the partial copy. */
            char p[4096];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            if (unlink(p) < 0)
                log_warn("log", "Cannot remove %s", p);
            continue;
        }
        if (len != 24 || strcmp(e->d_name + 20, ".log") != 0)
            continue;
        char *end;
        long long b = strtoll(e->d_name, &end, 10);
        if (end != e->d_name + 20)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            bases = xrealloc(bases, sizeof(*bases) * (size_t)cap);
        }
        bases[n++] = b;
    }
    closedir(d);
    if (n)
        qsort(bases, (size_t)n, sizeof(*bases), cmp_i64);
    *out = bases;
    return n;
}

static log_segment_t *plog_new_segment(partition_log_t *pl, int64_t base, bool create, bool active)
{
    return segment_open(pl->dir, base, create, active, pl->settings.index_interval_bytes,
                        pl->settings.index_size_max_bytes);
}

static void plog_push_segment(partition_log_t *pl, log_segment_t *s)
{
    pl->segs = xrealloc(pl->segs, sizeof(*pl->segs) * (size_t)(pl->nsegs + 1));
    pl->segs[pl->nsegs++] = s;
}

static log_segment_t *active_segment(partition_log_t *pl)
{
    return pl->segs[pl->nsegs - 1];
}

/* Loads existing segments; recovers those at/after the recovery point after
 * an unclean shutdown, and drops every segment after a truncated one. */
static int plog_load(partition_log_t *pl, bool clean)
{
    int64_t *bases = NULL;
    int n = list_segment_bases(pl->dir, &bases);
    if (n < 0)
        return -1;
    bool truncated = false;
    for (int i = 0; i < n; i++) {
        bool last = i == n - 1;
        log_segment_t *s = plog_new_segment(pl, bases[i], false, last);
        if (!s) {
            free(bases);
            return -1;
        }
        if (truncated) {
            log_warn("log", "Deleting segment %s after a truncated one", s->path_base);
            segment_delete(s);
            continue;
        }
        bool need_recovery = !clean && (last || bases[i + 1] > pl->recovery_point);
        if (!need_recovery && last && segment_load_tail(s) < 0)
            need_recovery = true;
        if (need_recovery) {
            int64_t cut = segment_recover(s);
            if (cut < 0) {
                segment_close(s);
                free(bases);
                return -1;
            }
            truncated = cut > 0;
        } else if (!last) {
            s->next_offset = bases[i + 1];
        }
        plog_push_segment(pl, s);
    }
    free(bases);
    /* Sealed, recovered segments get their indexes trimmed again. */
    for (int i = 0; i + 1 < pl->nsegs; i++)
        if (pl->segs[i]->active)
            segment_seal(pl->segs[i]);
    return 0;
}

partition_log_t *plog_open(const char *root, const char *topic, int32_t partition,
                           const log_settings_t *settings, int64_t recovery_point,
                           int64_t log_start_offset, bool clean)
{
    partition_log_t *pl = xcalloc(1, sizeof(*pl));
    size_t n = strlen(root) + strlen(topic) + 16;
    pl->dir = xmalloc(n);
    snprintf(pl->dir, n, "%s/%s-%d", root, topic, partition);
    pl->topic = xstrdup(topic);
    pl->partition = partition;
    pl->settings = *settings;
    pl->pstate = pstate_new();
    pl->last_flush_ms = mono_ms();
    pl->recovery_point = recovery_point;
    if (mkdir_p(pl->dir, 0755) < 0) {
        log_error("log", "Cannot create %s: %s", pl->dir, strerror(errno));
        plog_close(pl);
        return NULL;
    }
    if (plog_load(pl, clean) < 0) {
        log_error("log", "Cannot load log %s", pl->dir);
        plog_close(pl);
        return NULL;
    }
    if (pl->nsegs == 0) {
        int64_t base = log_start_offset > 0 ? log_start_offset : 0;
        log_segment_t *s = plog_new_segment(pl, base, true, true);
        if (!s) {
            plog_close(pl);
            return NULL;
        }
        plog_push_segment(pl, s);
    }
    pl->log_end_offset = active_segment(pl)->next_offset;
    pl->log_start_offset = MAX(log_start_offset, pl->segs[0]->base_offset);
    if (pl->log_start_offset > pl->log_end_offset)
        pl->log_start_offset = pl->log_end_offset;
    pl->recovery_point = clean ? pl->log_end_offset : MIN(recovery_point, pl->log_end_offset);
    return pl;
}

void plog_close(partition_log_t *pl)
{
    if (!pl)
        return;
    for (int i = 0; i < pl->nsegs; i++)
        segment_close(pl->segs[i]);
    free(pl->segs);
    pstate_free(pl->pstate);
    free(pl->dir);
    free(pl->topic);
    free(pl);
}

/* As Kafka: the directory is renamed to <topic>-<partition>.<id>-delete at
 * once and removed by the disk thread (a crash in between leaves it for
 * the next start-up to remove). */
void plog_delete(partition_log_t *pl)
{
    unsigned char id[16];
    if (RAND_bytes(id, sizeof(id)) != 1)
        memset(id, 0, sizeof(id));
    size_t n = strlen(pl->dir) + 48;
    char *gone = xmalloc(n);
    int k = snprintf(gone, n, "%s.", pl->dir);
    for (int i = 0; i < 16; i++)
        k += snprintf(gone + k, n - (size_t)k, "%02x", id[i]);
    snprintf(gone + k, n - (size_t)k, "-delete");
    bool renamed = rename(pl->dir, gone) == 0;
    if (!renamed)
        log_warn("log", "Cannot rename %s for deletion: %s", pl->dir, strerror(errno));
    char *dir = renamed ? gone : xstrdup(pl->dir);
    if (!renamed)
        free(gone);
    plog_close(pl);
    bio_remove_dir(dir);
    free(dir);
}

static bool should_roll(partition_log_t *pl, int32_t len, int64_t last_offset, int64_t now)
{
    log_segment_t *s = active_segment(pl);
    if (s->size == 0)
        return false;
    return s->size + len > pl->settings.segment_bytes ||
           (s->first_batch_timestamp >= 0 && now - s->first_batch_timestamp > pl->settings.roll_ms) ||
           segment_index_full(s) || last_offset - s->base_offset > INT32_MAX;
}

/* Data reached the disk: the recovery point may move up to rf->base (the
 * next segment's base after a roll, the log end after a scheduled flush).
 * Event-loop thread; the log may be gone by now. */
typedef struct roll_flush {
    char *topic;
    int32_t partition;
    int64_t base;
} roll_flush_t;

static void flushed_upto(void *arg, int ok)
{
    roll_flush_t *rf = arg;
    partition_log_t *pl = ok ? logmgr_get(rf->topic, rf->partition) : NULL;
    if (pl && pl->recovery_point < rf->base)
        pl->recovery_point = rf->base;
    free(rf->topic);
    free(rf);
}

/* fsync of segment s on the disk thread; then the recovery point may move
 * to `upto`. */
static void flush_in_background(partition_log_t *pl, log_segment_t *s, int64_t upto)
{
    int fd = dup(s->log_fd);
    if (fd < 0) {
        log_error("log", "Cannot flush %s.log in the background: %s", s->path_base,
                  strerror(errno));
        return;
    }
    roll_flush_t *rf = xcalloc(1, sizeof(*rf));
    rf->topic = xstrdup(pl->topic);
    rf->partition = pl->partition;
    rf->base = upto;
    char what[600];
    snprintf(what, sizeof(what), "%s.log", s->path_base);
    bio_fsync(fd, what, flushed_upto, rf);
}

static int plog_roll(partition_log_t *pl)
{
    log_segment_t *old = active_segment(pl);
    int64_t base = pl->log_end_offset;
    log_segment_t *s = plog_new_segment(pl, base, true, true);
    if (!s)
        return -1;
    if (segment_seal(old) < 0)
        log_warn("log", "Sealing segment %s failed; its indexes stay as they are", old->path_base);
    /* As Kafka's roll: the old segment is flushed in the background and
     * the recovery point advances once it is on disk. */
    flush_in_background(pl, old, base);
    plog_push_segment(pl, s);
    log_info("log", "Rolled new log segment for %s-%d at offset %" PRId64, pl->topic,
             pl->partition, base);
    return 0;
}

int64_t plog_append(partition_log_t *pl, uint8_t *buf, int32_t len, int64_t n_records,
                    int64_t max_timestamp, int64_t offset_of_max_ts_delta,
                    int32_t leader_epoch, bool log_append_time, int64_t now)
{
    int64_t first = pl->log_end_offset;
    int64_t last = first + n_records - 1;
    if (should_roll(pl, len, last, now) && plog_roll(pl) < 0)
        return -1;
    batch_assign_offsets(buf, len, first, leader_epoch, log_append_time, now);
    if (log_append_time) {
        max_timestamp = now;
        offset_of_max_ts_delta = n_records - 1;
    }
    if (segment_append(active_segment(pl), buf, len, first, last, max_timestamp,
                       first + offset_of_max_ts_delta) < 0)
        return -1;
    pl->log_end_offset = last + 1;
    pl->unflushed += n_records;
    if (pl->unflushed >= pl->settings.flush_interval_messages && plog_flush(pl) < 0)
        return -1;
    return first;
}

void plog_flush_async(partition_log_t *pl)
{
    pl->unflushed = 0;
    pl->last_flush_ms = mono_ms();
    flush_in_background(pl, active_segment(pl), pl->log_end_offset);
}

int plog_flush(partition_log_t *pl)
{
    if (segment_flush(active_segment(pl)) < 0)
        return -1;
    pl->unflushed = 0;
    pl->last_flush_ms = mono_ms();
    pl->recovery_point = pl->log_end_offset;
    return 0;
}

/* Index of the segment that may hold offset (largest base <= offset). */
static int segment_for_offset(const partition_log_t *pl, int64_t offset)
{
    int lo = 0, hi = pl->nsegs - 1, best = 0;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (pl->segs[mid]->base_offset <= offset) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

int16_t plog_read(partition_log_t *pl, int64_t offset, int64_t upto, int32_t max_bytes,
                  bool min_one, log_read_t *out)
{
    out->fd = -1;
    out->file_off = 0;
    out->len = 0;
    if (offset < pl->log_start_offset || offset > pl->log_end_offset)
        return KERR_OFFSET_OUT_OF_RANGE;
    if (offset >= upto)
        return KERR_NONE;
    for (int i = segment_for_offset(pl, offset); i < pl->nsegs; i++) {
        log_segment_t *s = pl->segs[i];
        int64_t base;
        int64_t pos = segment_find_offset(s, offset, &base);
        if (pos >= s->size)
            continue;   /* offset lies past this segment's data: try the next */
        if (base >= upto)
            return KERR_NONE;
        /* End of readable data: the high watermark's position in this
         * segment (the segment end when the HW is beyond it). */
        int64_t end = s->size;
        if (upto < s->next_offset) {
            int64_t hw_base;
            end = segment_find_offset(s, upto, &hw_base);
        }
        int64_t len = end - pos;
        if (len > max_bytes) {
            /* Stop at a batch boundary when the index knows one, rather than
             * sending a partial batch the client must drop and fetch again. */
            int64_t cut = segment_boundary_floor(s, pos + max_bytes);
            if (cut > pos) {
                len = cut - pos;
            } else if (min_one) {
                /* Return at least the whole first batch. */
                batch_header_t h;
                uint8_t hdr[BATCH_HEADER_SIZE];
                if (pread(s->log_fd, hdr, sizeof(hdr), (off_t)pos) == (ssize_t)sizeof(hdr) &&
                    batch_parse_header(hdr, sizeof(hdr), &h) == 0)
                    len = MAX((int64_t)max_bytes, (int64_t)h.size);
                else
                    len = max_bytes;
                len = MIN(len, end - pos);
            } else {
                len = max_bytes;
            }
        }
        out->fd = s->log_fd;
        out->file_off = pos;
        out->len = (int32_t)len;
        return KERR_NONE;
    }
    return KERR_NONE;
}

void plog_position(partition_log_t *pl, int64_t offset, int64_t *seg_base, int64_t *pos)
{
    log_segment_t *s = active_segment(pl);
    if (offset >= pl->log_end_offset) {
        *seg_base = s->base_offset;
        *pos = s->size;
        return;
    }
    int i = segment_for_offset(pl, offset);
    s = pl->segs[i];
    int64_t base;
    *pos = segment_find_offset(s, offset, &base);
    *seg_base = s->base_offset;
    if (*pos >= s->size && i + 1 < pl->nsegs) {
        *seg_base = pl->segs[i + 1]->base_offset;
        *pos = 0;
    }
}

int64_t plog_offset_for_timestamp(partition_log_t *pl, int64_t ts, int64_t *found_ts)
{
    for (int i = 0; i < pl->nsegs; i++) {
        log_segment_t *s = pl->segs[i];
        if (s->size == 0)
            continue;
        if (s->max_timestamp >= 0 && s->max_timestamp < ts && i + 1 < pl->nsegs)
            continue;
        int64_t off = segment_find_timestamp(s, ts, found_ts);
        if (off >= 0)
            return MAX(off, pl->log_start_offset);
    }
    return -1;
}

int64_t plog_max_timestamp(partition_log_t *pl, int64_t *offset)
{
    int64_t best = -1;
    *offset = -1;
    for (int i = 0; i < pl->nsegs; i++) {
        if (pl->segs[i]->max_timestamp > best) {
            best = pl->segs[i]->max_timestamp;
            *offset = pl->segs[i]->offset_of_max_timestamp;
        }
    }
    return best;
}

int64_t plog_size_bytes(const partition_log_t *pl)
{
    int64_t n = 0;
    for (int i = 0; i < pl->nsegs; i++)
        n += pl->segs[i]->size;
    return n;
}
