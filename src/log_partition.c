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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bio.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "index_check.h"
#include "log_partition.h"
#include "log_retention.h"
#include "log_txn.h"
#include "logging.h"
#include "producer_snapshot.h"
#include "record_batch.h"
#include "util.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && !strcmp(name + n - k, suffix);
}

/* Base offset of "<20 digits>.log" (after any .swap is taken off); -1 if
 * name is not a segment's log file. */
static int64_t log_file_base(const char *name)
{
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
        return -1;
    char *end;
    long long b = strtoll(name, &end, 10);
    return end == name + 20 && b >= 0 ? b : -1;
}

/* Kafka's start-up clean-up: ".deleted" files (segments retention removed
 * before the delayed delete ran) go; for an interrupted compaction, ".cleaned" files
 * never reached the swap and are dropped; "<base>.log.swap" is a finished
 * cleaned segment and replaces <base>.log; index ".swap" files are dropped
 * (the swapped segment's indexes are rebuilt).  Returns 1 if name was a
 * swapped log (its base in *swapped), 0 if nothing of interest, -1 on a
 * failed rename. */
static int finish_interrupted_clean(const char *dir, const char *name, int64_t *swapped)
{
    char p[4096], q[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    if (has_suffix(name, ".deleted") || has_suffix(name, ".cleaned") || (has_suffix(name, ".swap") && !has_suffix(name, ".log.swap"))) {
        if (unlink(p) < 0)
            log_warn("log", "Cannot remove %s: %s", p, strerror(errno));
        return 0;
    }
    if (!has_suffix(name, ".log.swap"))
        return 0;
    char plain[32];
    snprintf(plain, sizeof(plain), "%.24s", name);
    int64_t base = strlen(name) == 29 ? log_file_base(plain) : -1;
    if (base < 0)
        return 0;
    snprintf(q, sizeof(q), "%s/%s", dir, plain);
    if (rename(p, q) < 0) {
        log_error("log", "Cannot move %s into place: %s", p, strerror(errno));
        return -1;
    }
    static const char *idx[] = { ".index", ".timeindex" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(q, sizeof(q), "%s/%.20s%s", dir, name, idx[i]);
        if (unlink(q) < 0 && errno != ENOENT)
            log_warn("log", "Cannot remove %s: %s", q, strerror(errno));
    }
    log_info("log", "Completed an interrupted compaction swap of %s", p);
    *swapped = base;
    return 1;
}

/* Base offsets of the <20 digits>.log files in dir, sorted; *swapped gets
 * those just moved in from a .swap (they need their indexes rebuilt). */
static int list_segment_bases(const char *dir, int64_t **out, int64_t **swapped, int *nswapped)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0, rc = 0;
    int64_t *bases = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && rc == 0) {
        int64_t base = -1;
        int r = finish_interrupted_clean(dir, e->d_name, &base);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r > 0) {
            *swapped = xrealloc(*swapped, sizeof(**swapped) * (size_t)(*nswapped + 1));
            (*swapped)[(*nswapped)++] = base;
            continue;   /* its .log is listed below (or already was) */
        }
        base = log_file_base(e->d_name);
        if (base < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            bases = xrealloc(bases, sizeof(*bases) * (size_t)cap);
        }
        bases[n++] = base;
    }
    closedir(d);
    if (rc < 0) {
        free(bases);
        return -1;
    }
    /* A swapped-in log whose plain name readdir had already passed. */
    for (int i = 0; i < *nswapped; i++) {
        bool seen = false;
        for (int j = 0; j < n && !seen; j++)
            seen = bases[j] == (*swapped)[i];
        if (!seen) {
            bases = xrealloc(bases, sizeof(*bases) * (size_t)(n + 1));
            bases[n++] = (*swapped)[i];
        }
    }
    if (n)
        qsort(bases, (size_t)n, sizeof(*bases), cmp_i64);
    int kept = 0;   /* a name renamed during readdir may be listed twice */
    for (int i = 0; i < n; i++)
        if (kept == 0 || bases[kept - 1] != bases[i])
            bases[kept++] = bases[i];
    *out = bases;
    return kept;
}

/* Kafka's randomSegmentJitter: each new active segment rolls up to
 * min(segment.jitter.ms, segment.ms) early, so logs created together do
 * not all roll together. */
static int64_t random_roll_jitter(const log_settings_t *st)
{
    int64_t bound = MIN(st->roll_jitter_ms, st->roll_ms);
    return bound > 0 ? (int64_t)((uint64_t)random() % (uint64_t)bound) : 0;
}

log_segment_t *plog_new_segment(partition_log_t *pl, int64_t base, bool create, bool active)
{
    if (active)
        pl->roll_jitter = random_roll_jitter(&pl->settings);
    return segment_open(pl->dir, base, create, active, pl->settings.index_interval_bytes,
                        pl->settings.index_size_max_bytes);
}

static void plog_push_segment(partition_log_t *pl, log_segment_t *s)
{
    pl->segs = xrealloc(pl->segs, sizeof(*pl->segs) * (size_t)(pl->nsegs + 1));
    pl->segs[pl->nsegs++] = s;
}

log_segment_t *plog_active_segment(partition_log_t *pl)
{
    return pl->segs[pl->nsegs - 1];
}

/* Loads existing segments; recovers those at/after the recovery point after
 * an unclean shutdown, and drops every segment after a truncated one. */
static bool contains(const int64_t *a, int n, int64_t v)
{
    for (int i = 0; i < n; i++)
        if (a[i] == v)
            return true;
    return false;
}

/* Kafka's sanityCheck: a segment whose offset or time index is missing
 * (logs from before Kafka 0.10 have no time index, and lookups by time
 * would pass the segment over) or corrupt is recovered, which rebuilds
 * both (index_check.h). */
static bool index_needs_rebuild(const partition_log_t *pl, int64_t base)
{
    char why[640];
    switch (index_files_check(pl->dir, base, why, sizeof(why))) {
    case INDEX_MISSING:
        log_warn("log", "Could not find %s file corresponding to log file %s/%020" PRId64 ".log, "
                 "recovering segment and rebuilding index files...", why, pl->dir, base);
        return true;
    case INDEX_CORRUPT:
        log_warn("log", "Found a corrupted index file corresponding to log file %s/%020" PRId64
                 ".log due to %s}, recovering segment and rebuilding index files...", pl->dir,
                 base, why);
        return true;
    case INDEX_SANE:
        break;
    }
    return false;
}

static int plog_load(partition_log_t *pl, bool clean)
{
    int64_t *bases = NULL, *swapped = NULL;
    int nswapped = 0;
    int n = list_segment_bases(pl->dir, &bases, &swapped, &nswapped);
    if (n < 0)
        return -1;
    bool truncated = false;
    int64_t covered = -1;   /* a swapped-in segment's end: later bases below it are merged away */
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        bool last = i == n - 1;
        bool was_swapped = contains(swapped, nswapped, bases[i]);
        bool need_recovery = was_swapped || (!clean && (last || bases[i + 1] > pl->recovery_point)) ||
                             index_needs_rebuild(pl, bases[i]);
        /* Recovery rebuilds the indexes, so they are mapped at full size
         * and trimmed when sealed below. */
        log_segment_t *s = plog_new_segment(pl, bases[i], false, last || need_recovery);
        if (!s) {
            rc = -1;
            break;
        }
        if (truncated || bases[i] < covered) {
            log_warn("log", "Deleting segment %s (%s)", s->path_base,
                     truncated ? "after a truncated one" : "merged into a compacted one");
            segment_delete(s);
            continue;
        }
        if (!need_recovery && last && segment_load_tail(s) < 0)
            need_recovery = true;
        if (need_recovery) {
            int64_t cut = segment_recover(s);
            if (cut < 0) {
                segment_close(s);
                rc = -1;
                break;
            }
            truncated = cut > 0;
            if (was_swapped)
                covered = s->next_offset;
        } else if (!last) {
            s->next_offset = bases[i + 1];
        }
        plog_push_segment(pl, s);
    }
    free(bases);
    free(swapped);
    if (rc < 0)
        return -1;
    /* Sealed, recovered segments get their indexes trimmed again. */
    for (int i = 0; i + 1 < pl->nsegs; i++)
        if (pl->segs[i]->active)
            segment_seal(pl->segs[i]);
    return 0;
}

/* Kafka's producer.id.expiration.ms default: a producer silent for longer
 * is forgotten, so older segments need not be read to rebuild state. */
#define PRODUCER_EXPIRATION_MS (24LL * 3600 * 1000)

typedef struct rebuild {
    partition_log_t *pl;
    log_segment_t *seg;         /* being replayed */
    int64_t horizon;            /* batches older than this: expired producers */
    int64_t from;               /* the snapshot's offset: batches before it are in it */
} rebuild_t;

static int note_producer(const batch_header_t *h, int64_t pos, void *arg)
{
    rebuild_t *r = arg;
    /* Transactional batches and markers are replayed whatever their age:
     * an open transaction is never expired (Kafka's isProducerExpired). */
    bool txn = (h->attributes & (BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL)) != 0;
    if ((txn || h->max_timestamp >= r->horizon) && h->base_offset >= r->from &&
        plog_note_batch(r->pl, r->seg, h, NULL, pos, r->seg->txn_index_rebuilt) < 0)
        log_warn("log", "Producer state of %s-%d may lack the batch at offset %" PRId64,
                 r->pl->topic, r->pl->partition, h->base_offset);
    return 0;
}

/* The base of the first recovered segment (its .txnindex is rebuilt by
 * the replay), or the log end. */
static int64_t replay_limit(const partition_log_t *pl)
{
    for (int i = 0; i < pl->nsegs; i++)
        if (pl->segs[i]->txn_index_rebuilt)
            return pl->segs[i]->base_offset;
    return pl->log_end_offset;
}

/* Idempotent producers' sequences and open transactions: the newest
 * <offset>.snapshot at or below the log end (or the first recovered
 * segment), then the batches after it, as Kafka's loadProducerState;
 * without a snapshot, the headers of the segments that can hold live
 * producers (a producer whose last batch is older than
 * producer.id.expiration.ms is expired on load there, so it is not
 * retained here either).  A producer retrying a batch written before a
 * crash or restart gets its original offset back instead of a duplicate;
 * recovered segments get their aborted transactions indexed again. */
static void rebuild_producer_state(partition_log_t *pl)
{
    rebuild_t r = { pl, NULL, now_ms() - PRODUCER_EXPIRATION_MS, 0 };
    int64_t snap = psnap_load_latest(pl->dir, replay_limit(pl), pl->pstate);
    if (snap >= 0)
        r.from = snap;
    for (int i = 0; i < pl->nsegs; i++) {
        log_segment_t *s = pl->segs[i];
        bool old = s->max_timestamp >= 0 && s->max_timestamp < r.horizon;
        if ((old && !s->txn_index_rebuilt) || s->next_offset <= r.from)
            continue;
        r.seg = s;
        if (segment_for_each_header(s, note_producer, &r) < 0)
            log_warn("log", "Cannot read the batch headers of %s.log to rebuild producer state",
                     s->path_base);
        s->txn_index_rebuilt = false;
    }
}

int plog_write_producer_snapshot(partition_log_t *pl)
{
    if (pstate_count(pl->pstate) == 0)
        return 0;
    return psnap_write(pl->dir, pl->log_end_offset, pl->pstate);
}

static int note_epoch(const batch_header_t *h, int64_t pos, void *arg)
{
    (void)pos;
    lec_assign(arg, h->partition_leader_epoch, h->base_offset);
    return 0;
}

/* The leader-epoch cache from leader-epoch-checkpoint; a log without one
 * (written before samsa kept it) has it rebuilt from its batch headers
 * once.  Runs where the log is opened (never the event loop). */
static void load_epochs(partition_log_t *pl)
{
    int rc = lec_read(pl->dir, &pl->epochs);
    if (rc < 0)
        log_warn("log", "Ignoring malformed %s/%s; rebuilding it from the log", pl->dir,
                 LEADER_EPOCH_FILE);
    if (rc <= 0) {
        for (int i = 0; i < pl->nsegs; i++)
            if (segment_for_each_header(pl->segs[i], note_epoch, &pl->epochs) < 0)
                log_warn("log", "Cannot read the batch headers of %s.log for leader epochs",
                         pl->segs[i]->path_base);
    }
    bool changed = lec_truncate_from_end(&pl->epochs, pl->log_end_offset);
    changed |= lec_truncate_from_start(&pl->epochs, pl->log_start_offset);
    if ((rc <= 0 && pl->epochs.n > 0) || changed)
        if (lec_write(pl->dir, pl->epochs.v, pl->epochs.n) < 0)
            log_warn("log", "Cannot write %s/%s", pl->dir, LEADER_EPOCH_FILE);
}

partition_log_t *plog_open(const char *root, const char *topic, int32_t partition,
                           const log_settings_t *settings, int64_t recovery_point,
                           int64_t log_start_offset, bool clean)
{
    size_t n = strlen(root) + strlen(topic) + 16;
    char *dir = xmalloc(n);
    snprintf(dir, n, "%s/%s-%d", root, topic, partition);
    partition_log_t *pl = plog_open_dir(dir, topic, partition, settings, recovery_point,
                                        log_start_offset, clean);
    free(dir);
    return pl;
}

int plog_rename_dir(partition_log_t *pl, const char *dir)
{
    if (rename(pl->dir, dir) < 0) {
        log_error("log", "Cannot rename %s to %s: %s", pl->dir, dir, strerror(errno));
        return -1;
    }
    free(pl->dir);
    pl->dir = xstrdup(dir);
    for (int i = 0; i < pl->nsegs; i++)
        segment_set_dir(pl->segs[i], dir);
    return 0;
}

partition_log_t *plog_open_dir(const char *dir, const char *topic, int32_t partition,
                               const log_settings_t *settings, int64_t recovery_point,
                               int64_t log_start_offset, bool clean)
{
    static atomic_uint_fast64_t next_id = 1;   /* logs open on the loop and the disk thread */
    partition_log_t *pl = xcalloc(1, sizeof(*pl));
    pl->id = atomic_fetch_add(&next_id, 1);
    pl->dir = xstrdup(dir);
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
    pl->log_end_offset = plog_active_segment(pl)->next_offset;
    pl->checkpointed_hw = pl->log_end_offset;
    rebuild_producer_state(pl);
    pl->log_start_offset = MAX(log_start_offset, pl->segs[0]->base_offset);
    if (pl->log_start_offset > pl->log_end_offset)
        pl->log_start_offset = pl->log_end_offset;
    pl->recovery_point = clean ? pl->log_end_offset : MIN(recovery_point, pl->log_end_offset);
    load_epochs(pl);
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
    lec_free(&pl->epochs);
    free(pl->dir);
    free(pl->topic);
    free(pl);
}

/* As Kafka: the directory is renamed to <topic>-<partition>.<id>-delete at
 * once and removed by the disk thread file.delete.delay.ms later
 * (log_retention.h; a stop or crash in between leaves it for the next
 * start-up to remove). */
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
    if (renamed)
        retention_remove_dir_later(dir);
    else
        bio_remove_dir(dir);
    free(dir);
}

/* Kafka's timeWaitedForRoll: the incoming batch's largest timestamp
 * against the segment's first batch's (wall-clock time since the segment
 * was created when that has none). */
static int64_t time_waited_for_roll(const log_segment_t *s, int64_t batch_max_timestamp, int64_t now)
{
    return s->first_batch_timestamp >= 0 ? batch_max_timestamp - s->first_batch_timestamp
                                         : now - s->created_ms;
}

bool plog_should_roll(partition_log_t *pl, int32_t len, int64_t last_offset,
                      int64_t batch_max_timestamp, int64_t now)
{
    log_segment_t *s = plog_active_segment(pl);
    if (s->size == 0)
        return false;
    return s->size + len > pl->settings.segment_bytes ||
           time_waited_for_roll(s, batch_max_timestamp, now) > pl->settings.roll_ms - pl->roll_jitter ||
           segment_index_full(s) || last_offset - s->base_offset > INT32_MAX;
}

/* Data reached the disk: the recovery point may move up to rf->base (the
 * next segment's base after a roll, the log end after a scheduled flush).
 * Event-loop thread; the log may be gone by now. */
typedef struct roll_flush {
    char *topic;
    int32_t partition;
    uint64_t log_id;            /* a log moved or re-created meanwhile is another */
    int64_t base;
} roll_flush_t;

static void flushed_upto(void *arg, int ok)
{
    roll_flush_t *rf = arg;
    partition_log_t *pl = ok ? logmgr_get(rf->topic, rf->partition) : NULL;
    if (pl && pl->id == rf->log_id && pl->recovery_point < rf->base)
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
    rf->log_id = pl->id;
    rf->base = upto;
    char what[600];
    snprintf(what, sizeof(what), "%s.log", s->path_base);
    bio_fsync(fd, what, flushed_upto, rf);
}

int plog_roll(partition_log_t *pl)
{
    return plog_roll_at(pl, pl->log_end_offset);
}

int plog_roll_at(partition_log_t *pl, int64_t offset)
{
    log_segment_t *old = plog_active_segment(pl);
    int64_t base = MAX(offset, pl->log_end_offset);
    log_segment_t *s = plog_new_segment(pl, base, true, true);
    if (!s)
        return -1;
    if (segment_seal(old) < 0)
        log_warn("log", "Sealing segment %s failed; its indexes stay as they are", old->path_base);
    /* As Kafka's roll: the old segment is flushed in the background and
     * the recovery point advances once it is on disk. */
    flush_in_background(pl, old, base);
    /* And, as Kafka's, a producer snapshot at the new segment's base. */
    if (pstate_count(pl->pstate) > 0)
        psnap_write_in_background(pl->dir, base, pl->pstate);
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
    if (plog_should_roll(pl, len, last, log_append_time ? now : max_timestamp, now) &&
        plog_roll(pl) < 0)
        return -1;
    batch_assign_offsets(buf, len, first, leader_epoch, log_append_time, now);
    if (lec_assign(&pl->epochs, leader_epoch, first))
        plog_persist_epochs(pl);
    if (log_append_time) {
        max_timestamp = now;
        offset_of_max_ts_delta = n_records - 1;
    }
    if (segment_append(plog_active_segment(pl), buf, len, first, last, max_timestamp,
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
    flush_in_background(pl, plog_active_segment(pl), pl->log_end_offset);
}

int plog_flush(partition_log_t *pl)
{
    if (segment_flush(plog_active_segment(pl)) < 0)
        return -1;
    pl->unflushed = 0;
    pl->last_flush_ms = mono_ms();
    pl->recovery_point = pl->log_end_offset;
    return 0;
}

/* Index of the segment that may hold offset (largest base <= offset). */
int plog_segment_for_offset(const partition_log_t *pl, int64_t offset)
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
    for (int i = plog_segment_for_offset(pl, offset); i < pl->nsegs; i++) {
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
                ssize_t got = pread(s->log_fd, hdr, sizeof(hdr), (off_t)pos);
                if (got > 0 && log_entry_header(hdr, (size_t)got, &h) == 0)
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
    log_segment_t *s = plog_active_segment(pl);
    if (offset >= pl->log_end_offset) {
        *seg_base = s->base_offset;
        *pos = s->size;
        return;
    }
    int i = plog_segment_for_offset(pl, offset);
    s = pl->segs[i];
    int64_t base;
    *pos = segment_find_offset(s, offset, &base);
    *seg_base = s->base_offset;
    if (*pos >= s->size && i + 1 < pl->nsegs) {
        *seg_base = pl->segs[i + 1]->base_offset;
        *pos = 0;
    }
}

int plog_offset_for_timestamp(partition_log_t *pl, int64_t ts, timestamp_offset_t *out)
{
    for (int i = 0; i < pl->nsegs; i++) {
        log_segment_t *s = pl->segs[i];
        if (s->size > 0 && s->max_timestamp >= ts)
            return segment_find_timestamp(s, ts, pl->log_start_offset, out);
    }
    return 0;
}

int plog_max_timestamp(partition_log_t *pl, timestamp_offset_t *out)
{
    log_segment_t *best = NULL;
    for (int i = 0; i < pl->nsegs; i++)
        if (pl->segs[i]->size > 0 && (!best || pl->segs[i]->max_timestamp > best->max_timestamp))
            best = pl->segs[i];
    return best ? segment_find_max_timestamp(best, out) : 0;
}

int64_t plog_size_bytes(const partition_log_t *pl)
{
    int64_t n = 0;
    for (int i = 0; i < pl->nsegs; i++)
        n += pl->segs[i]->size;
    return n;
}
