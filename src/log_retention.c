/*
 * log_retention.c - owns deleting old segments (Kafka's
 * UnifiedLog.deleteOldSegments) and the log start offset's increments.
 *
 * Every log.retention.check.interval.ms, a log whose topic's
 * cleanup.policy includes delete loses its oldest segments while
 *   - the largest timestamp in the segment is more than retention.ms old
 *     (the file's modification time when it holds no timestamp), or
 *   - the log exceeds retention.bytes by at least the segment's size;
 * and every log loses the segments that lie wholly below its log start
 * offset (moved by DeleteRecords, or by a follower's leader).  A segment
 * goes only when the next one starts at or below the high watermark, so
 * the log start never passes it; when every segment goes, a new empty one
 * is rolled first.  A log the cleaner is working on waits for the next
 * check (Kafka pauses its cleaning instead).
 *
 * Segments leave the log on the event loop; responses being sent hold
 * dup()ed descriptors of their files.  On the disk thread the files are
 * renamed to <name>.deleted and closed; file.delete.delay.ms later they
 * are removed there too.
 *
 * Event-loop thread, except the functions marked for the disk thread.
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
#include "log_manager.h"
#include "log_retention.h"
#include "logging.h"
#include "metadata_cache.h"
#include "replica_manager.h"
#include "topic_config.h"
#include "util.h"

/* Segments on their way out. */
typedef struct deletion {
    log_segment_t **segs;       /* closed on the disk thread */
    int n;
    char **paths;               /* their renamed files (NULL-terminated each) */
    int n_paths;
    int64_t delay_ms;
    char *dir;                  /* or a whole log's "-delete" directory */
    struct event *timer;        /* file.delete.delay.ms */
    struct deletion *prev, *next;   /* waiting for the timer */
} deletion_t;

static struct {
    broker_t *b;
    struct event *timer;
    deletion_t *waiting;
    int64_t segments_deleted;
} rt;

/* ---- the log start offset ---- */

bool retention_increment_log_start(partition_log_t *pl, int64_t offset, const char *reason)
{
    if (offset <= pl->log_start_offset)
        return false;
    pl->log_start_offset = offset;
    if (pl->recovery_point < offset)
        pl->recovery_point = offset;
    log_info("log", "[UnifiedLog partition=%s-%d, dir=%s] Incremented log start offset to %"
             PRId64 " due to %s", pl->topic, pl->partition, pl->dir, offset, reason);
    if (lec_truncate_from_start(&pl->epochs, offset))
        plog_persist_epochs(pl);
    return true;
}

/* ---- deleting files (disk thread, then the loop) ---- */

static void deletion_free(deletion_t *d)
{
    for (int i = 0; i < d->n_paths; i++)
        free(d->paths[i]);
    free(d->paths);
    free(d->dir);
    free(d->segs);
    if (d->timer)
        event_free(d->timer);
    free(d);
}

/*
 * @locality the disk thread
 * @locks none (the segments are no longer reachable from their log)
 */
static void rename_run(void *ctx)
{
    deletion_t *d = ctx;
    for (int i = 0; i < d->n; i++) {
        char **renamed = segment_rename_deleted(d->segs[i]);
        for (char **p = renamed; *p; p++) {
            d->paths = xrealloc(d->paths, sizeof(*d->paths) * (size_t)(d->n_paths + 1));
            d->paths[d->n_paths++] = *p;
        }
        free(renamed);
    }
    d->n = 0;
}

/*
 * @locality the disk thread
 * @locks none
 */
static void unlink_run(void *ctx)
{
    deletion_t *d = ctx;
    for (int i = 0; i < d->n_paths; i++)
        if (unlink(d->paths[i]) < 0 && errno != ENOENT)
            log_warn("log", "Cannot delete %s: %s", d->paths[i], strerror(errno));
}

static void unlinked(void *ctx)
{
    deletion_free(ctx);
}

static void delay_passed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deletion_t *d = arg;
    if (d->prev)
        d->prev->next = d->next;
    else
        rt.waiting = d->next;
    if (d->next)
        d->next->prev = d->prev;
    if (d->dir) {
        bio_remove_dir(d->dir);
        deletion_free(d);
        return;
    }
    bio_submit(unlink_run, unlinked, d);
}

/* The files are renamed: removal waits file.delete.delay.ms. */
static void renamed(void *ctx)
{
    deletion_t *d = ctx;
    if (!rt.b || rt.b->shutting_down || (d->n_paths == 0 && !d->dir)) {
        deletion_free(d);   /* .deleted files and -delete dirs go at the next start */
        return;
    }
    d->timer = event_new(rt.b->base, -1, 0, delay_passed, d);
    if (!d->timer) {
        delay_passed(-1, 0, d);
        return;
    }
    d->next = rt.waiting;
    if (rt.waiting)
        rt.waiting->prev = d;
    rt.waiting = d;
    struct timeval tv = { (time_t)(d->delay_ms / 1000), (suseconds_t)(d->delay_ms % 1000) * 1000 };
    event_add(d->timer, &tv);
}

void retention_remove_dir_later(const char *dir)
{
    if (!rt.b || rt.b->shutting_down) {
        bio_remove_dir(dir);
        return;
    }
    deletion_t *d = xcalloc(1, sizeof(*d));
    d->dir = xstrdup(dir);
    d->delay_ms = topic_config_int(rt.b, NULL, "file.delete.delay.ms");
    renamed(d);
}

/* ---- choosing segments ---- */

enum reason { BY_TIME, BY_SIZE, BY_START };

typedef struct survey {
    partition_log_t *pl;
    const topic_settings_t *ts;
    int64_t hw;
    int64_t now;
    int64_t excess;             /* BY_SIZE: bytes over retention.bytes left */
} survey_t;

/* The segment's largest timestamp, or its file's modification time. */
static int64_t largest_timestamp(const log_segment_t *s)
{
    if (s->max_timestamp >= 0)
        return s->max_timestamp;
    int64_t mtime = fd_mtime_ms(s->log_fd);
    return mtime < 0 ? INT64_MAX : mtime;
}

static bool breaches(survey_t *sv, enum reason why, int i)
{
    const log_segment_t *s = sv->pl->segs[i];
    switch (why) {
    case BY_TIME:
        return sv->now - largest_timestamp(s) > sv->ts->retention_ms;
    case BY_SIZE:
        if (sv->excess - s->size < 0)
            return false;
        sv->excess -= s->size;
        return true;
    case BY_START:
        return i + 1 < sv->pl->nsegs && sv->pl->segs[i + 1]->base_offset <= sv->pl->log_start_offset;
    }
    return false;
}

/* How many of the oldest segments may go for this reason (Kafka's
 * deletableSegments). */
static int deletable(survey_t *sv, enum reason why)
{
    partition_log_t *pl = sv->pl;
    int n = 0;
    while (n < pl->nsegs) {
        const log_segment_t *s = pl->segs[n];
        bool last = n + 1 == pl->nsegs;
        int64_t upper = last ? pl->log_end_offset : pl->segs[n + 1]->base_offset;
        if (sv->hw < upper || (last && s->size == 0) || !breaches(sv, why, n))
            break;
        n++;
    }
    return n;
}

static void describe_reason(const survey_t *sv, enum reason why, char *buf, size_t n)
{
    switch (why) {
    case BY_TIME:
        snprintf(buf, n, "retention time %" PRId64 "ms breach based on the largest record "
                 "timestamp in the segment", sv->ts->retention_ms);
        break;
    case BY_SIZE:
        snprintf(buf, n, "retention size %" PRId64 " breach", sv->ts->retention_bytes);
        break;
    case BY_START:
        snprintf(buf, n, "log start offset %" PRId64 " breach", sv->pl->log_start_offset);
        break;
    }
}

/* Takes the n oldest segments out of the log and sends their files away. */
static void delete_oldest(survey_t *sv, int n, enum reason why)
{
    partition_log_t *pl = sv->pl;
    if (n == pl->nsegs && plog_roll(pl) < 0)
        n--;        /* a log keeps at least one segment */
    if (n <= 0)
        return;
    char why_text[160];
    describe_reason(sv, why, why_text, sizeof(why_text));
    deletion_t *d = xcalloc(1, sizeof(*d));
    d->segs = xmalloc(sizeof(*d->segs) * (size_t)n);
    d->n = n;
    d->delay_ms = sv->ts ? sv->ts->file_delete_delay_ms : 60000;
    for (int i = 0; i < n; i++) {
        const log_segment_t *s = pl->segs[i];
        log_info("log", "[UnifiedLog partition=%s-%d, dir=%s] Deleting segment LogSegment("
                 "baseOffset=%" PRId64 ", size=%" PRId64 ", largestRecordTimestamp=%" PRId64
                 ") due to %s", pl->topic, pl->partition, pl->dir, s->base_offset, s->size,
                 s->max_timestamp, why_text);
        d->segs[i] = pl->segs[i];
    }
    memmove(pl->segs, pl->segs + n, sizeof(*pl->segs) * (size_t)(pl->nsegs - n));
    pl->nsegs -= n;
    rt.segments_deleted += n;
    retention_increment_log_start(pl, pl->segs[0]->base_offset, "SegmentDeletion");
    bio_submit(rename_run, renamed, d);
}

static void check_log(partition_log_t *pl, void *arg)
{
    (void)arg;
    if (pl->cleaning || pl->nsegs == 0)
        return;
    const mc_topic_t *t = mc_find_topic(pl->topic);
    if (t && t->deleting)
        return;
    survey_t sv = { .pl = pl, .ts = t ? &t->settings : NULL, .hw = rm_high_watermark_of(pl),
                    .now = now_ms() };
    enum reason order[] = { BY_TIME, BY_SIZE, BY_START };
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        enum reason why = order[k];
        if (why != BY_START && (!sv.ts || !sv.ts->deletes))
            continue;
        if (why == BY_TIME && sv.ts->retention_ms < 0)
            continue;
        if (why == BY_SIZE) {
            if (sv.ts->retention_bytes < 0)
                continue;
            sv.excess = plog_size_bytes(pl) - sv.ts->retention_bytes;
            if (sv.excess < 0)
                continue;
        }
        int n = deletable(&sv, why);
        if (n > 0)
            delete_oldest(&sv, n, why);
    }
}

void retention_check_all(void)
{
    logmgr_foreach(check_log, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    retention_check_all();
}

int retention_start(broker_t *b)
{
    memset(&rt, 0, sizeof(rt));
    rt.b = b;
    int64_t every = MAX(b->cfg->log_retention_check_ms, 1);
    rt.timer = event_new(b->base, -1, EV_PERSIST, on_timer, NULL);
    if (!rt.timer)
        return -1;
    struct timeval tv = { (time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000 };
    return event_add(rt.timer, &tv);
}

void retention_stop(void)
{
    rt.b = NULL;    /* renames finishing from now on drop their jobs */
    if (rt.timer)
        event_free(rt.timer);
    rt.timer = NULL;
    while (rt.waiting) {
        deletion_t *d = rt.waiting;
        rt.waiting = d->next;
        deletion_free(d);
    }
}

int64_t retention_segments_deleted(void)
{
    return rt.segments_deleted;
}
