/*
 * log_cleaner.c - owns compaction scheduling (Kafka's LogCleanerManager):
 * which log to clean next, the snapshot a cleaning round works on, the
 * cleaner thread that runs it (cleaner_job.c), and swapping the cleaned
 * segments into the live log when the round is done.
 *
 * A log is cleanable when its topic's cleanup.policy includes compact and
 * its dirty ratio (bytes of sealed segments past the last cleaned offset
 * over all sealed bytes) exceeds min.cleanable.dirty.ratio, or a dirty
 * segment is older than max.compaction.lag.ms.  Segments newer than
 * min.compaction.lag.ms, past the high watermark, or active are never
 * cleaned.  The dirtiest log goes first; one round runs at a time, and the
 * next starts as soon as one ends (a log with more keys than the map holds
 * takes several rounds).
 *
 * log.cleaner.backoff.ms, log.cleaner.dedupe.buffer.size,
 * log.cleaner.threads, log.cleaner.io.buffer.load.factor and
 * log.cleaner.io.max.bytes.per.second (the round's read and written bytes,
 * io_throttler.h) are read through the dynamic broker layers (broker_dynamic.h), so a change made
 * with AlterConfigs applies from the next round on, as Kafka's
 * LogCleaner.reconfigure does.
 *
 * Event-loop thread, except cleaner_job_run on the cleaner thread.
 * Partial: one cleaner thread whatever log.cleaner.threads says (the map
 * gets the per-thread share of log.cleaner.dedupe.buffer.size, as in
 * Kafka).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bio.h"
#include "broker_dynamic.h"
#include "cleaner_job.h"
#include "log_cleaner.h"
#include "log_txn.h"
#include "log_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "util.h"
#include "worker.h"

static struct {
    broker_t *b;
    worker_t *thread;
    struct event *timer;
    bool busy;                                  /* a round is on the cleaner thread */
    int64_t (*high_watermark_of)(const partition_log_t *pl);
    int64_t rounds;                             /* completed, for tests and logs */
    int64_t backoff_ms;                         /* the timer's period */
} cl;

/* A cleaner key's value in force: dynamic, else server.properties'. */
static int64_t setting_long(const char *key, int64_t file_value)
{
    const char *v = bdyn_cluster_get(cl.b, key);
    return v ? strtoll(v, NULL, 10) : file_value;
}

static double setting_double(const char *key, double file_value)
{
    const char *v = bdyn_cluster_get(cl.b, key);
    return v ? strtod(v, NULL) : file_value;
}

/* What one log offers the cleaner now. */
typedef struct cleanable {
    partition_log_t *pl;
    const topic_settings_t *ts;
    int64_t first_dirty;
    int64_t first_uncleanable;  /* a segment base */
    int n_cleanable_segs;       /* sealed segments below first_uncleanable */
    double ratio;
    bool must_clean;            /* max.compaction.lag.ms passed */
} cleanable_t;

/* The first segment index that may not be cleaned: the active segment,
 * the one holding the last stable offset (no open or unstable transaction
 * is cleaned, as Kafka's firstUncleanableDirtyOffset), or the first one
 * with records newer than min.compaction.lag.ms. */
static int first_uncleanable_segment(partition_log_t *pl, const topic_settings_t *ts,
                                     int64_t now)
{
    int64_t hw = plog_last_stable_offset(pl, cl.high_watermark_of ? cl.high_watermark_of(pl)
                                                                 : pl->log_end_offset);
    int limit = pl->nsegs - 1;
    for (int i = 0; i < limit; i++) {
        const log_segment_t *s = pl->segs[i];
        int64_t end = pl->segs[i + 1]->base_offset;
        if (end > hw)
            return i;
        if (ts->min_compaction_lag_ms > 0 && s->max_timestamp > now - ts->min_compaction_lag_ms)
            return i;
    }
    return limit;
}

static bool survey(partition_log_t *pl, int64_t now, cleanable_t *c)
{
    const mc_topic_t *t = mc_find_topic(pl->topic);
    if (!t || !t->settings.compacted || pl->cleaning || pl->uncleanable || pl->cleaning_paused ||
        t->deleting)
        return false;
    c->pl = pl;
    c->ts = &t->settings;
    c->first_dirty = MAX(pl->cleaned_upto, pl->log_start_offset);
    int u = first_uncleanable_segment(pl, c->ts, now);
    c->first_uncleanable = pl->segs[u]->base_offset;
    c->n_cleanable_segs = u;
    if (c->first_dirty >= c->first_uncleanable)
        return false;
    /* Kafka's cleanable ratio: bytes of segments overlapping the dirty
     * range over those plus the segments below it. */
    int64_t clean_bytes = 0, dirty_bytes = 0;
    c->must_clean = false;
    for (int i = 0; i < u; i++) {
        const log_segment_t *s = pl->segs[i];
        int64_t end = pl->segs[i + 1]->base_offset;
        if (s->base_offset < c->first_dirty)
            clean_bytes += s->size;
        if (end > c->first_dirty) {
            dirty_bytes += s->size;
            if (c->ts->max_compaction_lag_ms > 0 && s->max_timestamp >= 0 &&
                s->max_timestamp < now - c->ts->max_compaction_lag_ms)
                c->must_clean = true;
        }
    }
    c->ratio = clean_bytes + dirty_bytes > 0 ? (double)dirty_bytes / (double)(clean_bytes + dirty_bytes) : 0;
    return (c->must_clean && dirty_bytes > 0) || c->ratio > c->ts->min_cleanable_ratio;
}

typedef struct pick {
    int64_t now;
    cleanable_t best;
    bool found;
} pick_t;

static void consider(partition_log_t *pl, void *arg)
{
    pick_t *p = arg;
    cleanable_t c;
    if (survey(pl, p->now, &c) && (!p->found || c.ratio > p->best.ratio)) {
        p->best = c;
        p->found = true;
    }
}

static int by_first_offset(const void *a, const void *b)
{
    const aborted_txn_t *x = a, *y = b;
    return x->first_offset < y->first_offset ? -1 : x->first_offset > y->first_offset;
}

/* The aborted transactions a round may meet: those beginning below its
 * end, from every segment's .txnindex (a marker may sit past the end). */
static void collect_aborted(const partition_log_t *pl, cleaner_job_t *job)
{
    int n = 0;
    for (int i = 0; i < pl->nsegs; i++)
        n += pl->segs[i]->aborted.n;
    job->aborted = xcalloc((size_t)n + 1, sizeof(aborted_txn_t));
    for (int i = 0; i < pl->nsegs; i++)
        for (int k = 0; k < pl->segs[i]->aborted.n; k++)
            if (pl->segs[i]->aborted.v[k].first_offset < job->first_uncleanable)
                job->aborted[job->n_aborted++] = pl->segs[i]->aborted.v[k];
    qsort(job->aborted, (size_t)job->n_aborted, sizeof(aborted_txn_t), by_first_offset);
}

cleaner_job_t *cleaner_snapshot(partition_log_t *pl, int64_t first_dirty, int n_segs,
                                int64_t buffer_bytes, double load_factor,
                                int64_t delete_retention_ms)
{
    cleaner_job_t *job = xcalloc(1, sizeof(*job));
    job->log_id = pl->id;
    job->topic = xstrdup(pl->topic);
    job->partition = pl->partition;
    job->dir = xstrdup(pl->dir);
    job->segs = xcalloc((size_t)n_segs + 1, sizeof(*job->segs));
    for (int i = 0; i < n_segs; i++) {
        cleaner_segment_t *s = &job->segs[job->nsegs];
        s->base_offset = pl->segs[i]->base_offset;
        s->size = pl->segs[i]->size;
        s->index_bytes = MAX((int64_t)pl->segs[i]->idx_entries * 8, (int64_t)pl->segs[i]->tidx_entries * 12);
        s->fd = dup(pl->segs[i]->log_fd);
        if (s->fd < 0) {
            log_error("log-cleaner", "Cannot dup a descriptor of %s-%d: %s", pl->topic,
                      pl->partition, strerror(errno));
            cleaner_job_free(job);
            return NULL;
        }
        job->nsegs++;
    }
    job->first_dirty = first_dirty;
    job->first_uncleanable = pl->segs[n_segs]->base_offset;
    job->buffer_bytes = buffer_bytes;
    job->load_factor = load_factor;
    job->index_interval = pl->settings.index_interval_bytes;
    job->index_max_bytes = pl->settings.index_size_max_bytes;
    job->segment_bytes = pl->settings.segment_bytes;
    job->delete_retention_ms = delete_retention_ms;
    job->now_ms = now_ms();
    job->n_producer_batches = pstate_last_batch_offsets(pl->pstate, &job->producer_batches);
    job->n_producer_markers = pstate_marker_only_producers(pl->pstate, &job->producer_markers);
    collect_aborted(pl, job);
    return job;
}

static cleaner_job_t *snapshot(const cleanable_t *c)
{
    const broker_config_t *cfg = cl.b->cfg;
    int64_t buffer = setting_long("log.cleaner.dedupe.buffer.size",
                                  cfg->log_cleaner_dedupe_buffer_size);
    int64_t threads = MAX(setting_long("log.cleaner.threads", cfg->log_cleaner_threads), 1);
    double load = setting_double("log.cleaner.io.buffer.load.factor", cfg->log_cleaner_load_factor);
    cleaner_job_t *job = cleaner_snapshot(c->pl, c->first_dirty, c->n_cleanable_segs,
                                          buffer / threads, load, c->ts->delete_retention_ms);
    /* Kafka's default is Double.MAX_VALUE: no limit. */
    const char *rate = bdyn_get(cl.b, "log.cleaner.io.max.bytes.per.second", NULL);
    if (job)
        job->io_max_bytes_per_second = rate ? strtod(rate, NULL) : 0;
    return job;
}

/* Closing a replaced segment drops the last reference to files the
 * cleaner already unlinked or renamed over, and the kernel frees their
 * pages and blocks in close(): milliseconds for large segments, so it
 * happens on the disk thread.  The objects are no longer reachable from
 * the log; in-flight responses hold their own dup()ed descriptors. */
typedef struct closing {
    log_segment_t **segs;
    int n;
} closing_t;

/*
 * @locality the disk thread
 * @locks none (the segments are no longer reachable from the log)
 */
static void close_run(void *ctx)
{
    closing_t *c = ctx;
    for (int i = 0; i < c->n; i++)
        segment_close(c->segs[i]);
    free(c->segs);
    free(c);
}

static void close_in_background(log_segment_t **segs, int n)
{
    closing_t *c = xmalloc(sizeof(*c));
    c->segs = xmalloc(sizeof(*segs) * (size_t)n);
    memcpy(c->segs, segs, sizeof(*segs) * (size_t)n);
    c->n = n;
    bio_submit(close_run, NULL, c);
}

/* Puts the cleaned copy of the n segments from `base` in their place.
 * The old objects keep serving (they still read the old files, which
 * stay alive while open) if the new one cannot be opened. */
static void swap_segments(partition_log_t *pl, int64_t base, int n)
{
    int i = 0;
    while (i + n < pl->nsegs && pl->segs[i]->base_offset != base)
        i++;
    if (i + n >= pl->nsegs || pl->segs[i]->base_offset != base) {
        log_error("log-cleaner", "Segment %020" PRId64 " of %s-%d changed while it was cleaned",
                  base, pl->topic, pl->partition);
        pl->uncleanable = true;
        return;
    }
    log_segment_t *s = segment_open(pl->dir, base, false, false, pl->settings.index_interval_bytes,
                                    pl->settings.index_size_max_bytes);
    if (!s) {
        log_error("log-cleaner", "Cannot open the cleaned segment %020" PRId64 " of %s-%d; "
                  "the log is served from the old copy and not cleaned again until restart",
                  base, pl->topic, pl->partition);
        pl->uncleanable = true;
        return;
    }
    s->next_offset = pl->segs[i + n - 1]->next_offset;
    close_in_background(&pl->segs[i], n);
    pl->segs[i] = s;
    memmove(&pl->segs[i + 1], &pl->segs[i + n], sizeof(*pl->segs) * (size_t)(pl->nsegs - i - n));
    pl->nsegs -= n - 1;
}

/*
 * @locality the event-loop thread
 * @locks none
 */
int cleaner_finish(partition_log_t *pl, const cleaner_job_t *job)
{
    pl->cleaning = false;
    for (int i = 0; i < job->nsegs; i++)
        if (job->segs[i].replaced > 0)
            swap_segments(pl, job->segs[i].base_offset, job->segs[i].replaced);
    if (job->rc < 0) {
        log_error("log-cleaner", "Cleaning %s-%d failed; it is not cleaned again until restart",
                  job->topic, job->partition);
        pl->uncleanable = true;
        return -1;
    }
    pl->cleaned_upto = job->end_offset;
    log_info("log-cleaner", "Cleaned %s-%d up to offset %" PRId64 ": %" PRId64 " keys in "
             "the map, %" PRId64 " of %" PRId64 " records and %" PRId64 " of %" PRId64
             " bytes kept", job->topic, job->partition, job->end_offset, job->map_keys,
             job->records_kept, job->records_read, job->bytes_written, job->bytes_read);
    return 0;
}

static void start_round(void);

/* Event loop: the round is over; swap the cleaned segments in.
 * @locality the event-loop thread
 * @locks none
 */
static void round_done(void *arg)
{
    cleaner_job_t *job = arg;
    cl.busy = false;
    if (cl.b->shutting_down) {
        /* The cleaned files are in place on disk; the logs are closed. */
    } else {
        partition_log_t *pl = logmgr_get(job->topic, job->partition);
        if (!pl || pl->id != job->log_id)
            log_info("log-cleaner", "%s-%d was deleted while being cleaned", job->topic,
                     job->partition);
        else if (cleaner_finish(pl, job) == 0)
            cl.rounds++;
    }
    cleaner_job_free(job);
    start_round();
}

/*
 * @locality the event-loop thread
 * @locks none
 */
static void start_round(void)
{
    if (cl.busy || !cl.thread)
        return;
    pick_t p = { .now = now_ms() };
    logmgr_foreach(consider, &p);
    if (!p.found)
        return;
    cleaner_job_t *job = snapshot(&p.best);
    if (!job)
        return;
    if (worker_submit(cl.thread, cleaner_job_run, round_done, job) < 0) {
        cleaner_job_free(job);
        return;
    }
    cl.busy = true;
    p.best.pl->cleaning = true;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    start_round();
}

static int arm_timer(int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    cl.backoff_ms = ms;
    return event_add(cl.timer, &tv);     /* replaces any pending timeout */
}

int cleaner_start(broker_t *b, loop_t *loop)
{
    memset(&cl, 0, sizeof(cl));
    cl.b = b;
    if (!b->cfg->log_cleaner_enable) {
        log_info("log-cleaner", "log.cleaner.enable=false: compacted topics are not cleaned");
        return 0;
    }
    cl.thread = worker_start("samsa-cleaner", loop);
    cl.timer = event_new(b->base, -1, EV_PERSIST, on_timer, NULL);
    if (!cl.thread || !cl.timer)
        return -1;
    return arm_timer(b->cfg->log_cleaner_backoff_ms);
}

void cleaner_reconfigure(void)
{
    if (!cl.timer)
        return;
    int64_t ms = setting_long("log.cleaner.backoff.ms", cl.b->cfg->log_cleaner_backoff_ms);
    if (ms <= 0 || ms == cl.backoff_ms)
        return;
    log_info("log-cleaner", "Reconfiguring the log cleaner: log.cleaner.backoff.ms %" PRId64
             " -> %" PRId64, cl.backoff_ms, ms);
    if (arm_timer(ms) < 0)
        log_error("log-cleaner", "Cannot re-arm the cleaner's timer");
}

void cleaner_set_high_watermark_source(int64_t (*hw_of)(const partition_log_t *pl))
{
    cl.high_watermark_of = hw_of;
}

void cleaner_stop(void)
{
    if (cl.timer)
        event_free(cl.timer);
    cl.timer = NULL;
    if (cl.thread) {
        /* Lets a running round finish (its done callback is dropped with
         * the loop; the swapped files are already consistent on disk). */
        worker_stop(cl.thread);
        worker_free(cl.thread);
        cleaner_job_release_memory();
    }
    cl.thread = NULL;
}

int64_t cleaner_rounds(void)
{
    return cl.rounds;
}
