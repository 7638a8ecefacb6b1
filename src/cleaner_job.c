/*
 * cleaner_job.c - owns one compaction round on the cleaner thread: the key
 * map of the dirty section, the rewrite of each sealed segment below the
 * map's end into "<base>.log.cleaned" (with its indexes), and the swap by
 * renames.  Kafka's rules (LogCleaner.scala, MemoryRecords.filterTo):
 *   - a record past the map's last offset is kept; a record without a key
 *     is dropped; a keyed record is kept if it is the latest for its key,
 *     and a tombstone only until its batch's delete horizon;
 *   - a batch that loses records is rebuilt with the same base offset and
 *     last offset delta, its base timestamp the first kept record's (or the
 *     delete horizon, stamped the first time a kept batch holds a
 *     tombstone: now + delete.retention.ms, attribute bit 6);
 *   - an emptied batch is dropped, except the last one of the round and
 *     each producer's last batch, kept as a header (sequences survive);
 *   - a batch of an aborted transaction is emptied; a commit or abort
 *     marker stays while a batch of its transaction does, then gets a
 *     delete horizon and goes once it has passed (cleaner_txn.c);
 *   - a legacy message of an older Kafka is kept, dropped, or (a
 *     compressed wrapper) written again with the records it keeps
 *     (filter_legacy); a legacy tombstone, which has no delete horizon,
 *     goes once its segment was last modified delete.retention.ms before
 *     the last clean segment (Kafka's legacyDeleteHorizonMs);
 *   - a cleaned file keeps the last replaced segment's modification time.
 * Cleaner thread only; see cleaner_job.h for what the job owns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleaner_job.h"
#include "cleaner_txn.h"
#include "crc32c.h"
#include "legacy_records.h"
#include "log_segment.h"
#include "logging.h"
#include "offset_map.h"
#include "producer_state.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "record_compress.h"
#include "util.h"

#define ATTR_DELETE_HORIZON 0x40    /* KIP-534: the base timestamp is the delete horizon */
#define ATTR_EMPTY_KEEP (BATCH_ATTR_LOG_APPEND_TIME | BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL)

/* End (exclusive) of segment i's offsets as the job sees them. */
static int64_t seg_end(const cleaner_job_t *job, int i)
{
    return i + 1 < job->nsegs ? job->segs[i + 1].base_offset : job->first_uncleanable;
}

/* ---- the key map ---------------------------------------------------- */

typedef struct map_build {
    cleaner_job_t *job;
    offset_map_t *map;
    cleaner_txns_t txns;
    bool full;
} map_build_t;

static void map_record(const batch_record_t *r, void *arg)
{
    map_build_t *mb = arg;
    if (mb->full || !r->key || r->offset < mb->job->first_dirty)
        return;
    if (offset_map_full(mb->map)) {
        mb->full = true;
        return;
    }
    offset_map_put(mb->map, r->key, (size_t)r->key_len, r->offset);
}

static int map_batch(uint8_t *b, const batch_header_t *h, void *arg)
{
    map_build_t *mb = arg;
    iot_maybe_throttle(&mb->job->throttle, h->size);
    if (h->attributes & BATCH_ATTR_CONTROL) {
        aborted_txn_t unused;
        bool has_index;
        (void)ctxn_on_control(&mb->txns, b, h, &unused, &has_index);
    } else if (!ctxn_on_batch(&mb->txns, h) && batch_foreach_record(b, h, map_record, mb) < 0) {
        return -1;      /* an aborted transaction's records never enter the map */
    }
    if (mb->full)
        return -2;
    if (batch_last_offset(h) >= mb->job->first_dirty)
        mb->map->latest_offset = batch_last_offset(h);
    return 0;
}

/* Kafka's buildOffsetMap: keys of [first_dirty, first_uncleanable) until
 * the map is full; the map's latest offset says how far it got. */
static int build_map(cleaner_job_t *job, offset_map_t *map)
{
    map_build_t mb = { job, map, { 0 }, false };
    ctxn_init(&mb.txns, job->aborted, job->n_aborted);
    ctxn_add_range(&mb.txns, job->first_dirty, job->first_uncleanable);
    int rc = 0;
    for (int i = 0; i < job->nsegs && !mb.full && rc == 0; i++) {
        if (seg_end(job, i) <= job->first_dirty)
            continue;
        if (batch_file_foreach(job->segs[i].fd, job->segs[i].size, map_batch, &mb) == -1) {
            log_error("log-cleaner", "Cannot read segment %020" PRId64 " of %s-%d while building "
                      "the offset map", job->segs[i].base_offset, job->topic, job->partition);
            rc = -1;
        }
    }
    ctxn_free(&mb.txns);
    return rc;
}

/* ---- rewriting one segment ------------------------------------------ */

typedef struct seg_clean {
    cleaner_job_t *job;
    const offset_map_t *map;
    cleaner_txns_t *txns;
    log_segment_t *out;
    txn_index_t out_aborted;    /* the cleaned segment's .txnindex */
    char *out_aborted_path;
    kwriter_t w;                /* the batch written out */
    kwriter_t recs;             /* its records, before compression */
    bool modified;              /* the output differs from the input */
    /* The batch being filtered. */
    const batch_header_t *h;
    int64_t horizon;            /* its delete horizon, -1 if none */
    int64_t new_base_ts;
    int32_t kept;
    int64_t first_ts, max_ts;
    bool tombstone_kept;
    bool keep_all;              /* a control batch: its record stays */
    bool retain_legacy_deletes; /* the segment is newer than the legacy delete horizon */
} seg_clean_t;

static bool retain(const seg_clean_t *sc, const batch_record_t *r)
{
    if (sc->keep_all || r->offset > sc->map->latest_offset)
        return true;
    if (!r->key)
        return false;
    if (r->offset < offset_map_get(sc->map, r->key, (size_t)r->key_len))
        return false;
    if (r->value)
        return true;
    if (sc->h->magic < 2)
        return sc->retain_legacy_deletes;
    return sc->horizon < 0 || sc->job->now_ms < sc->horizon;
}

static void survey_record(const batch_record_t *r, void *arg)
{
    seg_clean_t *sc = arg;
    if (!retain(sc, r))
        return;
    int64_t ts = r->timestamp;
    if (sc->kept++ == 0)
        sc->first_ts = ts;
    if (ts > sc->max_ts)
        sc->max_ts = ts;
    if (!r->value)
        sc->tombstone_kept = true;
}

/* Re-encodes a kept record with its timestamp delta from the new base. */
static void rebuild_record(const batch_record_t *r, void *arg)
{
    seg_clean_t *sc = arg;
    if (!retain(sc, r))
        return;
    kreader_t rd;
    kr_init(&rd, (uint8_t *)r->raw, (size_t)r->raw_len, NULL);
    (void)kr_varint(&rd);                       /* length */
    int8_t attributes = kr_int8(&rd);
    (void)kr_varlong(&rd);                      /* old timestamp delta */
    const uint8_t *rest = rd.p;
    size_t rest_len = (size_t)(rd.end - rd.p);
    kwriter_t body;
    kw_init(&body);
    kw_int8(&body, attributes);
    kw_varlong(&body, r->timestamp - sc->new_base_ts);
    kw_raw(&body, rest, rest_len);
    kw_varint(&sc->recs, (int32_t)body.len);
    kw_raw(&sc->recs, body.buf, body.len);
    kw_free(&body);
}

static void finish_header(kwriter_t *w, int16_t attributes, int64_t base_ts, int64_t max_ts,
                          int32_t count)
{
    be32_put(w->buf + 8, (int32_t)(w->len - BATCH_LOG_OVERHEAD));
    be16_put(w->buf + 21, attributes);
    be64_put(w->buf + 27, base_ts);
    be64_put(w->buf + 35, max_ts);
    be32_put(w->buf + 57, count);
    be32_put(w->buf + 17, (int32_t)crc32c(0, w->buf + 21, w->len - 21));
}

static bool is_producer_last_batch(const cleaner_job_t *job, int64_t base)
{
    int lo = 0, hi = job->n_producer_batches - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (job->producer_batches[mid] == base)
            return true;
        if (job->producer_batches[mid] < base)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return false;
}

static int emit(seg_clean_t *sc, const uint8_t *buf, size_t len, int64_t max_ts, int32_t kept)
{
    const batch_header_t *h = sc->h;
    if (segment_append(sc->out, buf, (int32_t)len, h->base_offset, batch_last_offset(h), max_ts,
                       batch_last_offset(h)) < 0)
        return -1;
    sc->job->bytes_written += (int64_t)len;
    sc->job->records_kept += kept;
    iot_maybe_throttle(&sc->job->throttle, (double)len);
    return 0;
}

/* Kafka's isBatchLastRecordOfProducer, case 3: a marker of a producer
 * whose last entry is a marker, at that producer's epoch. */
static bool is_producer_last_marker(const cleaner_job_t *job, const batch_header_t *h)
{
    const pstate_pid_epoch_t *m =
        pstate_pid_epoch_find(job->producer_markers, job->n_producer_markers, h->producer_id);
    return m && m->epoch == h->producer_epoch;
}

/* An emptied batch: dropped, or kept as a header when it is its producer's
 * last batch (sequences survive) or last marker (its epoch survives), or
 * the round's last one. */
static int emit_emptied(seg_clean_t *sc, const uint8_t *b, const batch_header_t *h)
{
    cleaner_job_t *job = sc->job;
    sc->modified = true;
    bool control = (h->attributes & BATCH_ATTR_CONTROL) != 0;
    bool keep_empty = (h->producer_id >= 0 && !control &&
                       is_producer_last_batch(job, h->base_offset)) ||
                      (h->producer_id >= 0 && control && is_producer_last_marker(job, h)) ||
                      batch_last_offset(h) + 1 == job->first_uncleanable;
    if (!keep_empty)
        return 0;
    kw_reset(&sc->w);
    kw_raw(&sc->w, b, BATCH_HEADER_SIZE);
    finish_header(&sc->w, (int16_t)(h->attributes & ATTR_EMPTY_KEEP), h->max_timestamp,
                  h->max_timestamp, 0);
    return emit(sc, sc->w.buf, sc->w.len, h->max_timestamp, 0);
}

/* Writes the batch again with only its retained records, base timestamp
 * the delete horizon (horizon >= 0) or the first kept record's. */
static int rewrite(seg_clean_t *sc, const uint8_t *b, const batch_header_t *h, int64_t horizon)
{
    cleaner_job_t *job = sc->job;
    sc->modified = true;
    sc->new_base_ts = horizon >= 0 ? horizon : sc->first_ts;
    kw_reset(&sc->recs);
    if (batch_foreach_record(b, h, rebuild_record, sc) < 0)
        return -1;
    kw_reset(&sc->w);
    kw_raw(&sc->w, b, BATCH_HEADER_SIZE);
    int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
    if (codec) {
        /* Re-compressed with the batch's codec, as Kafka's cleaner does. */
        uint8_t *z;
        size_t zlen;
        if (records_compress(codec, sc->recs.buf, sc->recs.len, &z, &zlen) < 0) {
            log_error("log-cleaner", "Cannot re-compress the batch at offset %" PRId64 " of %s-%d",
                      h->base_offset, job->topic, job->partition);
            return -1;
        }
        kw_raw(&sc->w, z, zlen);
        free(z);
    } else {
        kw_raw(&sc->w, sc->recs.buf, sc->recs.len);
    }
    int16_t attributes = (int16_t)(h->attributes | (horizon >= 0 ? ATTR_DELETE_HORIZON : 0));
    finish_header(&sc->w, attributes, sc->new_base_ts, sc->max_ts, sc->kept);
    return emit(sc, sc->w.buf, sc->w.len, sc->max_ts, sc->kept);
}

/* A transaction marker (Kafka's checkBatchRetention for control batches):
 * kept while a batch of its transaction is; after that it gets a delete
 * horizon, and goes once the horizon has passed.  A kept abort marker
 * whose transaction still has batches is indexed in the cleaned segment. */
static int filter_marker(seg_clean_t *sc, const uint8_t *b, const batch_header_t *h)
{
    cleaner_job_t *job = sc->job;
    aborted_txn_t entry;
    bool index_it;
    bool can_discard = ctxn_on_control(sc->txns, b, h, &entry, &index_it);
    bool has_horizon = (h->attributes & ATTR_DELETE_HORIZON) != 0;
    if (can_discard && has_horizon && h->base_timestamp <= job->now_ms)
        return emit_emptied(sc, b, h);
    if (index_it && txn_index_append(sc->out_aborted_path, &sc->out_aborted, &entry) < 0)
        return -1;
    if (!can_discard || has_horizon)
        return emit(sc, b, (size_t)h->size, h->max_timestamp, h->record_count);
    sc->keep_all = true;
    sc->kept = h->record_count;
    sc->first_ts = h->base_timestamp;
    sc->max_ts = h->max_timestamp;
    int rc = rewrite(sc, b, h, job->now_ms + job->delete_retention_ms);
    sc->keep_all = false;
    return rc;
}

static bool retain_legacy(const batch_record_t *r, void *arg)
{
    return retain(arg, r);
}

/* A legacy (magic 0/1) message an older Kafka wrote: kept as it is when
 * every record stays, dropped when none does, and a compressed wrapper
 * that keeps some is written again with those (Kafka's
 * buildRetainedRecordsInto, same magic and codec).  Its tombstones go by
 * the segment's age (legacy_delete_horizon). */
static int filter_legacy(seg_clean_t *sc, const uint8_t *b, const batch_header_t *h)
{
    sc->horizon = -1;
    int32_t kept, total;
    kw_reset(&sc->w);
    if (legacy_rewrite_retained(b, h, retain_legacy, sc, &sc->w, &kept, &total) != 0) {
        log_error("log-cleaner", "Malformed message at offset %" PRId64 " of %s-%d", h->base_offset,
                  sc->job->topic, sc->job->partition);
        return -1;
    }
    sc->job->records_read += total - h->record_count;     /* a wrapper counted as one */
    if (kept == total || (kept > 0 && sc->w.len == 0))
        return emit(sc, b, (size_t)h->size, h->max_timestamp, kept);
    sc->modified = true;
    if (kept == 0)
        return 0;
    batch_header_t rewritten;
    if (log_entry_header(sc->w.buf, sc->w.len, &rewritten) < 0)
        return -1;
    sc->h = &rewritten;
    int rc = emit(sc, sc->w.buf, sc->w.len, rewritten.max_timestamp, kept);
    sc->h = h;
    return rc;
}

static int filter_batch(uint8_t *b, const batch_header_t *h, void *arg)
{
    seg_clean_t *sc = arg;
    cleaner_job_t *job = sc->job;
    job->bytes_read += h->size;
    job->records_read += h->record_count;
    iot_maybe_throttle(&job->throttle, h->size);
    sc->h = h;
    if (h->magic < 2)
        return filter_legacy(sc, b, h);
    if (h->attributes & BATCH_ATTR_CONTROL)
        return filter_marker(sc, b, h);
    /* An aborted transaction's records all go. */
    if (ctxn_on_batch(sc->txns, h))
        return emit_emptied(sc, b, h);
    sc->horizon = h->attributes & ATTR_DELETE_HORIZON ? h->base_timestamp : -1;
    sc->kept = 0;
    sc->first_ts = sc->max_ts = -1;
    sc->tombstone_kept = false;
    if (batch_foreach_record(b, h, survey_record, sc) < 0) {
        log_error("log-cleaner", "Malformed batch at offset %" PRId64 " of %s-%d", h->base_offset,
                  job->topic, job->partition);
        return -1;
    }
    bool need_horizon = sc->horizon < 0 && sc->tombstone_kept;
    if (sc->kept == 0)
        return emit_emptied(sc, b, h);
    if (sc->kept == h->record_count && !need_horizon)
        return emit(sc, b, (size_t)h->size, h->max_timestamp, sc->kept);
    return rewrite(sc, b, h, need_horizon ? job->now_ms + job->delete_retention_ms : sc->horizon);
}

static char *seg_file(const cleaner_job_t *job, int64_t base, const char *ext)
{
    size_t n = strlen(job->dir) + strlen(ext) + 32;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%020" PRId64 "%s", job->dir, base, ext);
    return p;
}

static void unlink_cleaned(const cleaner_job_t *job, int64_t base)
{
    static const char *exts[] = { ".log.cleaned", ".index.cleaned", ".timeindex.cleaned",
                                  ".txnindex.cleaned" };
    for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
        char *p = seg_file(job, base, exts[i]);
        if (unlink(p) < 0 && errno != ENOENT)
            log_warn("log-cleaner", "Cannot remove %s: %s", p, strerror(errno));
        free(p);
    }
}

static int rename_seg_file(const cleaner_job_t *job, int64_t base, const char *from,
                           const char *to)
{
    char *a = seg_file(job, base, from), *b = seg_file(job, base, to);
    int rc = rename(a, b);
    if (rc < 0)
        log_error("log-cleaner", "Cannot rename %s to %s: %s", a, b, strerror(errno));
    free(a);
    free(b);
    return rc;
}

static void unlink_segment(const cleaner_job_t *job, int64_t base)
{
    static const char *exts[] = { ".log", ".index", ".timeindex", ".txnindex" };
    for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
        char *p = seg_file(job, base, exts[i]);
        if (unlink(p) < 0 && errno != ENOENT)
            log_warn("log-cleaner", "Cannot remove %s: %s", p, strerror(errno));
        free(p);
    }
}

/* Kafka's replaceSegments: once "<first>.log.swap" exists the cleaned
 * copy is committed (start-up finishes an interrupted swap, dropping the
 * segments it covers); then the group's other segments go and the cleaned
 * files take the first one's names. */
static int swap_in(const cleaner_job_t *job, const cleaner_segment_t *group, int n,
                   bool has_aborted)
{
    int64_t base = group[0].base_offset;
    if (rename_seg_file(job, base, ".log.cleaned", ".log.swap") < 0)
        return -1;
    for (int i = 1; i < n; i++)
        unlink_segment(job, group[i].base_offset);
    if (has_aborted) {
        if (rename_seg_file(job, base, ".txnindex.cleaned", ".txnindex") < 0)
            return -1;
    } else {
        char *p = seg_file(job, base, ".txnindex");
        if (unlink(p) < 0 && errno != ENOENT)
            log_warn("log-cleaner", "Cannot remove %s: %s", p, strerror(errno));
        free(p);
    }
    if (rename_seg_file(job, base, ".index.cleaned", ".index") < 0 ||
        rename_seg_file(job, base, ".timeindex.cleaned", ".timeindex") < 0 ||
        rename_seg_file(job, base, ".log.swap", ".log") < 0)
        return -1;
    return 0;
}

/* Cleans group[0..n) into one "<first base>.log.cleaned" and swaps it in. */
/* Kafka's legacyDeleteHorizonMs: a legacy tombstone (one with no delete
 * horizon of its own) may go from a segment last modified before this:
 * delete.retention.ms before the last clean segment's modification, 0
 * when no segment is clean yet. */
static int64_t legacy_delete_horizon(const cleaner_job_t *job)
{
    int last_clean = -1;
    for (int i = 0; i < job->nsegs && job->segs[i].base_offset < job->first_dirty; i++)
        last_clean = i;
    return last_clean < 0 ? 0 : fd_mtime_ms(job->segs[last_clean].fd) - job->delete_retention_ms;
}

/* The cleaned file keeps the modification time of the group's last
 * segment, as Kafka's does (time retention and the legacy delete
 * horizon read it). */
static void keep_mtime(const log_segment_t *out, const cleaner_segment_t *last)
{
    struct stat st;
    if (fstat(last->fd, &st) < 0)
        return;
    struct timespec times[2] = { { 0, UTIME_OMIT }, st.st_mtim };
    if (futimens(out->log_fd, times) < 0)
        log_warn("log-cleaner", "Cannot keep the modification time of a cleaned segment: %s",
                 strerror(errno));
}

static int clean_group(cleaner_job_t *job, const offset_map_t *map, cleaner_txns_t *txns,
                       cleaner_segment_t *group, int n, int64_t legacy_horizon)
{
    int64_t base = group[0].base_offset;
    unlink_cleaned(job, base);
    seg_clean_t sc = { .job = job, .map = map, .txns = txns };
    sc.out_aborted_path = seg_file(job, base, ".txnindex.cleaned");
    sc.out = segment_open_named(job->dir, base, ".cleaned", true, true, job->index_interval,
                                job->index_max_bytes);
    if (!sc.out)
        return -1;
    sc.modified = n > 1;
    kw_init(&sc.w);
    kw_init(&sc.recs);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        /* Kafka collects each segment's aborted transactions as it goes. */
        int64_t seg_base = group[i].base_offset;
        ctxn_add_range(txns, seg_base, seg_end(job, (int)(&group[i] - job->segs)));
        sc.retain_legacy_deletes = fd_mtime_ms(group[i].fd) > legacy_horizon;
        rc = batch_file_foreach(group[i].fd, group[i].size, filter_batch, &sc);
    }
    kw_free(&sc.w);
    kw_free(&sc.recs);
    bool has_aborted = sc.out_aborted.n > 0;
    txn_index_free(&sc.out_aborted);
    free(sc.out_aborted_path);
    if (rc == 0 && sc.modified && (segment_seal(sc.out) < 0 || segment_sync(sc.out) < 0))
        rc = -1;
    if (rc == 0 && sc.modified)
        keep_mtime(sc.out, &group[n - 1]);
    segment_close(sc.out);
    if (rc < 0 || !sc.modified) {
        if (rc < 0)
            log_error("log-cleaner", "Cleaning segment %020" PRId64 " of %s-%d failed; it is left "
                      "as it was", base, job->topic, job->partition);
        unlink_cleaned(job, base);
        return rc;
    }
    if (swap_in(job, group, n, has_aborted) < 0)
        return -1;
    group[0].replaced = n;
    return 0;
}

/* Kafka's groupSegmentsBySize: how many segments from segs[i] (all below
 * `end`) clean into one. */
static int group_size(const cleaner_job_t *job, int i, int64_t end)
{
    int64_t log_bytes = job->segs[i].size, index_bytes = job->segs[i].index_bytes;
    int j = i + 1;
    while (j < job->nsegs && job->segs[j].base_offset < end &&
           log_bytes + job->segs[j].size <= job->segment_bytes &&
           index_bytes + job->segs[j].index_bytes <= job->index_max_bytes &&
           (job->segs[j].size == 0 || seg_end(job, j) - 1 - job->segs[i].base_offset <= INT32_MAX)) {
        log_bytes += job->segs[j].size;
        index_bytes += job->segs[j].index_bytes;
        j++;
    }
    return j - i;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        log_warn("log-cleaner", "Cannot fsync directory %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* The key map's memory, kept between rounds (cleaner thread only). */
static uint8_t *map_storage;
static size_t map_storage_bytes;

/*
 * @locality the main thread, after the cleaner thread stopped
 * @locks none
 */
void cleaner_job_release_memory(void)
{
    free(map_storage);
    map_storage = NULL;
    map_storage_bytes = 0;
}

/*
 * @locality the cleaner thread
 * @locks none (the job owns its descriptors and files)
 */
void cleaner_job_run(void *arg)
{
    cleaner_job_t *job = arg;
    offset_map_t map;
    int64_t needed = job->first_uncleanable - job->first_dirty;
    if (offset_map_init_reusing(&map, &map_storage, &map_storage_bytes, job->buffer_bytes,
                                job->load_factor, needed) < 0) {
        log_error("log-cleaner", "Cannot allocate the offset map (%" PRId64 " bytes) for %s-%d",
                  job->buffer_bytes, job->topic, job->partition);
        job->rc = -1;
        return;
    }
    iot_init(&job->throttle, job->io_max_bytes_per_second, mono_ns());
    job->rc = build_map(job, &map);
    job->map_keys = map.size;
    job->end_offset = MAX(job->first_dirty, map.latest_offset + 1);
    bool replaced_any = false;
    cleaner_txns_t txns;
    ctxn_init(&txns, job->aborted, job->n_aborted);
    int64_t legacy_horizon = legacy_delete_horizon(job);
    for (int i = 0; i < job->nsegs && job->rc == 0 && job->segs[i].base_offset < job->end_offset;) {
        int n = group_size(job, i, job->end_offset);
        job->rc = clean_group(job, &map, &txns, &job->segs[i], n, legacy_horizon);
        replaced_any |= job->segs[i].replaced > 0;
        i += n;
    }
    ctxn_free(&txns);
    if (replaced_any)
        sync_dir(job->dir);
}

void cleaner_job_free(cleaner_job_t *job)
{
    if (!job)
        return;
    for (int i = 0; i < job->nsegs; i++)
        if (job->segs[i].fd >= 0)
            close(job->segs[i].fd);
    free(job->segs);
    free(job->producer_batches);
    free(job->producer_markers);
    free(job->aborted);
    free(job->topic);
    free(job->dir);
    free(job);
}
