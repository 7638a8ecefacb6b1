/*
 * log_mover.c - owns the moves of partition logs between log dirs (see
 * log_mover.h): the future logs, the copy into them, and the swap.
 * Event-loop thread, except the jobs marked for the disk thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "bio.h"
#include "kafka_errors.h"
#include "leader_epoch.h"
#include "log_manager.h"
#include "log_mover.h"
#include "logging.h"
#include "replica_manager.h"
#include "replication_quota.h"
#include "util.h"

/* One move; owned by the loop.  A disk step under way keeps it alive
 * (cancelled moves are freed when their step comes back). */
typedef struct log_move {
    char key[300];                  /* "<topic>-<partition>" */
    char *topic;
    int32_t partition;
    int dest_dir;
    partition_log_t *future;        /* NULL until created; the disk thread's
                                     * while busy, else the loop's */
    char *future_dir;               /* what DescribeLogDirs shows of it: */
    int64_t future_size;            /* copies the loop keeps */
    int64_t future_end;
    uint64_t source_id;             /* the current log copied (pl->id) */
    uint64_t source_truncations;    /* its truncation count when copying began */
    bool copied_while_cleaned;      /* a cleaning round ran when the copy began */
    bool busy;                      /* a disk step is under way */
    bool cancelled;
    struct event *timer;            /* the next step */
    UT_hash_handle hh;
} log_move_t;

static struct {
    broker_t *b;
    log_move_t *moves;
    bool stopped;
} lmv;

/* Between steps that found nothing to copy, or the log being cleaned. */
#define IDLE_RETRY_MS 100

static void step(evutil_socket_t fd, short what, void *arg);

void lmove_init(broker_t *b)
{
    lmv.b = b;
    lmv.stopped = false;
}

static void schedule(log_move_t *m, int64_t delay_ms)
{
    struct timeval tv = { (time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000 };
    event_add(m->timer, &tv);
}

static void move_free(log_move_t *m)
{
    if (m->timer)
        event_free(m->timer);
    free(m->future_dir);
    free(m->topic);
    free(m);
}

/* Takes the move out; its future log is deleted (or just closed at
 * shutdown, leaving the dir for the next start-up to remove). */
static void cancel(log_move_t *m, const char *why)
{
    if (!m->cancelled) {
        HASH_DEL(lmv.moves, m);
        m->cancelled = true;
        partition_log_t *pl = logmgr_get(m->topic, m->partition);
        if (pl && pl->id == m->source_id)
            pl->cleaning_paused = false;
        if (why)
            log_info("log", "Move of %s to %s cancelled: %s", m->key,
                     logmgr_dir_path(m->dest_dir), why);
    }
    if (m->busy)
        return;                         /* freed when its step returns */
    if (m->future) {
        if (lmv.stopped)
            plog_close(m->future);
        else
            plog_delete(m->future);
        m->future = NULL;
    }
    move_free(m);
}

/* ---- 1. the future log ---- */

typedef struct create_job {
    log_move_t *m;
    char *dir;
    log_settings_t settings;
    int64_t start;
    partition_log_t *pl;
    /* A future log a stop left: reopened (recovered whole, the stop may
     * have been a crash) and cut back to where it agrees with the current
     * log, whose epochs and end were copied when the job was made. */
    bool resume;
    epoch_cache_t source_epochs;
    int64_t source_end;
} create_job_t;

/* @locality the disk thread
 * @locks none (the new or reopened log is the job's own) */
static void create_run(void *arg)
{
    create_job_t *j = arg;
    j->pl = plog_open_dir(j->dir, j->m->topic, j->m->partition, &j->settings, 0, j->start,
                          !j->resume);
    if (!j->pl || !j->resume)
        return;
    int64_t agreed = lec_agreed_end(&j->pl->epochs, j->pl->log_end_offset, &j->source_epochs,
                                    j->source_end);
    if (agreed < j->pl->log_end_offset && plog_truncate_to(j->pl, agreed) < 0) {
        plog_close(j->pl);
        j->pl = NULL;
        return;
    }
    log_info("log", "Resuming the copy of %s-%d into %s at offset %" PRId64, j->m->topic,
             j->m->partition, j->dir, j->pl->log_end_offset);
}

/* The loop's view of the future log, for DescribeLogDirs. */
static void note_future(log_move_t *m)
{
    m->future_size = plog_size_bytes(m->future);
    m->future_end = m->future->log_end_offset;
}

static void created(void *arg)
{
    create_job_t *j = arg;
    log_move_t *m = j->m;
    m->busy = false;
    m->future = j->pl;
    if (j->pl) {
        m->future_dir = xstrdup(j->pl->dir);
        note_future(m);
    }
    if (!j->pl && !m->cancelled)
        cancel(m, "its future log could not be created");
    else if (m->cancelled)
        cancel(m, NULL);
    else
        schedule(m, 0);
    lec_free(&j->source_epochs);
    free(j->dir);
    free(j);
}

/* "<dest>/<topic>-<partition>.<32 hex>-future", Kafka's logFutureDirName. */
static char *future_dir_name(const char *root, const char *key)
{
    unsigned char id[16];
    if (RAND_bytes(id, sizeof(id)) != 1)
        memset(id, 0, sizeof(id));
    size_t n = strlen(root) + strlen(key) + 48;
    char *p = xmalloc(n);
    int k = snprintf(p, n, "%s/%s.", root, key);
    for (int i = 0; i < 16; i++)
        k += snprintf(p + k, n - (size_t)k, "%02x", id[i]);
    snprintf(p + k, n - (size_t)k, "-future");
    return p;
}

static int16_t start_move(const char *topic, int32_t partition, int dest_dir,
                          const char *resumed_dir);

int16_t lmove_start(const char *topic, int32_t partition, int dest_dir)
{
    return start_move(topic, partition, dest_dir, NULL);
}

/* A move, with a new future log or (resumed_dir) the one a stop left. */
static int16_t start_move(const char *topic, int32_t partition, int dest_dir,
                          const char *resumed_dir)
{
    partition_log_t *pl = logmgr_get(topic, partition);
    if (!pl)
        return KERR_REPLICA_NOT_AVAILABLE;
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    log_move_t *m;
    HASH_FIND_STR(lmv.moves, key, m);
    if (m && m->dest_dir == dest_dir)
        return KERR_NONE;               /* under way already */
    if (m)
        cancel(m, "another log dir was asked for");
    if (logmgr_dir_of(topic, partition) == dest_dir) {
        log_info("log", "Current log directory %s is same as requested log dir %s. Skipping "
                 "future replica creation.", logmgr_dir_path(dest_dir), logmgr_dir_path(dest_dir));
        if (resumed_dir)
            bio_remove_dir(resumed_dir);
        return KERR_NONE;
    }
    m = xcalloc(1, sizeof(*m));
    snprintf(m->key, sizeof(m->key), "%s", key);
    m->topic = xstrdup(topic);
    m->partition = partition;
    m->dest_dir = dest_dir;
    m->source_id = pl->id;
    m->source_truncations = pl->truncations;
    m->timer = evtimer_new(lmv.b->base, step, m);
    HASH_ADD_STR(lmv.moves, key, m);
    /* Kafka's abortAndPauseCleaning; a round under way here finishes
     * first (the swap waits for it), so what is copied may predate it. */
    pl->cleaning_paused = true;
    m->copied_while_cleaned = pl->cleaning;
    create_job_t *j = xcalloc(1, sizeof(*j));
    j->m = m;
    j->dir = resumed_dir ? xstrdup(resumed_dir) : future_dir_name(logmgr_dir_path(dest_dir), key);
    j->settings = pl->settings;
    j->start = pl->log_start_offset;
    if (resumed_dir) {
        j->resume = true;
        for (int i = 0; i < pl->epochs.n; i++)
            lec_assign(&j->source_epochs, pl->epochs.v[i].epoch, pl->epochs.v[i].start_offset);
        j->source_end = pl->log_end_offset;
    }
    m->busy = true;
    log_info("log", "Moving %s from %s to %s (future log %s)", key, pl->dir,
             logmgr_dir_path(dest_dir), j->dir);
    bio_submit(create_run, created, j);
    return KERR_NONE;
}

/* ---- 2. the copy ---- */

/* A step of the copy, all on the disk thread: the read, and the append
 * to the future log (the follower's append path: leader epochs, producer
 * state, rolls), so the loop only finds the region and takes the result. */
typedef struct copy_job {
    log_move_t *m;
    partition_log_t *future;
    int fd;
    int64_t file_off;
    int32_t len;
    bool read_ok;
    int16_t append_error;
    int64_t future_size, future_end;
} copy_job_t;

/* @locality the disk thread
 * @locks none: a dup()ed descriptor, and the future log, which the loop
 * leaves alone while the move is busy */
static void copy_run(void *arg)
{
    copy_job_t *j = arg;
    uint8_t *buf = malloc((size_t)j->len);
    ssize_t got = buf ? pread(j->fd, buf, (size_t)j->len, j->file_off) : -1;
    close(j->fd);
    j->read_ok = got == j->len;
    if (j->read_ok)
        j->append_error = plog_append_replica(j->future, buf, j->len, now_ms());
    free(buf);
    j->future_size = plog_size_bytes(j->future);
    j->future_end = j->future->log_end_offset;
}

/* Bytes read and appended per step: the disk thread's other jobs wait
 * behind one step at most this long. */
#define COPY_STEP_MAX_BYTES (1 << 20)

static void copied(void *arg)
{
    copy_job_t *j = arg;
    log_move_t *m = j->m;
    m->busy = false;
    m->future_size = j->future_size;
    m->future_end = j->future_end;
    if (j->read_ok)
        rq_record(RQ_ALTER_LOG_DIRS, j->len);
    /* Bytes read before a truncation of the current log are stale: the
     * next step sees the truncation and starts the copy over. */
    if (m->cancelled || lmv.stopped)
        cancel(m, NULL);
    else if (!j->read_ok)
        cancel(m, "its current log could not be read");
    else if (j->append_error)
        cancel(m, kafka_error_name(j->append_error));
    else
        schedule(m, 0);
    free(j);
}

/* The future log keeps the current log's start (Kafka's future replica
 * takes the log start offset its "leader", the current log, reports). */
static void follow_log_start(log_move_t *m, partition_log_t *pl)
{
    partition_log_t *f = m->future;
    if (pl->truncations != m->source_truncations || f->log_end_offset < pl->log_start_offset) {
        if (plog_truncate_fully(f, pl->log_start_offset) < 0)
            return;
        m->source_truncations = pl->truncations;
    } else if (pl->log_start_offset > f->log_start_offset) {
        f->log_start_offset = pl->log_start_offset;
    }
}

/* ---- 3. the swap ---- */

static void swap(log_move_t *m, partition_log_t *pl)
{
    partition_log_t *f = m->future;
    char *dir = xstrdup(pl->dir);
    size_t n = strlen(logmgr_dir_path(m->dest_dir)) + strlen(m->key) + 2;
    char *final = xmalloc(n);
    snprintf(final, n, "%s/%s", logmgr_dir_path(m->dest_dir), m->key);
    if (plog_rename_dir(f, final) < 0) {
        free(final);
        free(dir);
        cancel(m, "its future log could not be renamed");
        return;
    }
    f->settings = pl->settings;
    f->log_start_offset = pl->log_start_offset;
    /* Kafka's alterCheckpointDir; if a round was cleaning the log when the
     * copy began, the copy may hold uncleaned data below that point, and
     * the whole log counts as dirty instead. */
    if (!m->copied_while_cleaned && pl->cleaned_upto >= f->log_start_offset &&
        pl->cleaned_upto <= f->log_end_offset)
        f->cleaned_upto = pl->cleaned_upto;
    f->checkpointed_hw = pl->checkpointed_hw;
    f->uncleanable = pl->uncleanable;
    if (f->epochs.n > 0)
        plog_persist_epochs(f);                 /* into the renamed dir */
    partition_log_t *old = logmgr_replace(f, m->dest_dir);
    partition_t *p = rm_partition(m->topic, m->partition);
    if (p && p->log == old)
        p->log = f;
    m->future = NULL;
    HASH_DEL(lmv.moves, m);
    plog_delete(old);
    log_info("log", "The current replica is successfully replaced with the future replica for "
             "%s (from %s to %s)", m->key, dir, final);
    free(final);
    free(dir);
    move_free(m);
}

/* One step of a move: the next read, or the swap once caught up. */
static void step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    log_move_t *m = arg;
    if (m->busy || m->cancelled || lmv.stopped)
        return;
    partition_log_t *pl = logmgr_get(m->topic, m->partition);
    if (!pl || pl->id != m->source_id) {
        cancel(m, "its log was deleted");
        return;
    }
    follow_log_start(m, pl);
    note_future(m);
    partition_log_t *f = m->future;
    if (f->log_end_offset >= pl->log_end_offset) {
        if (pl->cleaning)
            schedule(m, IDLE_RETRY_MS);         /* a cleaning round is finishing */
        else
            swap(m, pl);
        return;
    }
    if (rq_exceeded(RQ_ALTER_LOG_DIRS)) {
        /* Kafka's ReplicaAlterLogDirsThread: no fetch while throttled. */
        schedule(m, lmv.b->cfg->replica_fetch_backoff_ms);
        return;
    }
    log_read_t rd;
    int16_t err = plog_read(pl, f->log_end_offset, pl->log_end_offset,
                            MIN(lmv.b->cfg->replica_fetch_max_bytes, COPY_STEP_MAX_BYTES), true, &rd);
    if (err || rd.len <= 0) {
        if (err)
            log_warn("log", "Move of %s: reading offset %" PRId64 " failed: %s", m->key,
                     f->log_end_offset, kafka_error_name(err));
        schedule(m, IDLE_RETRY_MS);
        return;
    }
    copy_job_t *j = xcalloc(1, sizeof(*j));
    j->m = m;
    j->future = f;
    j->fd = dup(rd.fd);
    j->file_off = rd.file_off;
    j->len = rd.len;
    if (j->fd < 0) {
        log_error("log", "Move of %s: dup failed: %s", m->key, strerror(errno));
        free(j);
        schedule(m, IDLE_RETRY_MS);
        return;
    }
    m->busy = true;
    bio_submit(copy_run, copied, j);
}

/* ---- moves a stop interrupted ---- */

/* Future logs found at start-up, waiting for their partition's first
 * LeaderAndIsr (Kafka's future replicas resume in becomeLeaderOrFollower,
 * once the dynamic configs, the throttle among them, are in force). */
typedef struct pending_move {
    char key[300];
    int dest_dir;
    char *path;                     /* the future log's dir */
    UT_hash_handle hh;
} pending_move_t;

static pending_move_t *pending;

static void pending_free(pending_move_t *m)
{
    free(m->path);
    free(m);
}

/* The future log stays: its copy resumes where it agrees with the
 * current log (create_run), as Kafka's future replica does. */
static void note_pending(const char *topic, int32_t partition, int dir, const char *path,
                         void *arg)
{
    (void)arg;
    if (!logmgr_get(topic, partition)) {
        if (rm_rf(path) < 0)
            log_warn("log", "Cannot remove the unfinished future log %s", path);
        log_warn("log", "Removed the future log %s: partition %s-%d has no current log", path,
                 topic, partition);
        return;
    }
    pending_move_t *m = xcalloc(1, sizeof(*m));
    snprintf(m->key, sizeof(m->key), "%s-%d", topic, partition);
    m->dest_dir = dir;
    m->path = xstrdup(path);
    HASH_ADD_STR(pending, key, m);
}

void lmove_resume_interrupted(void)
{
    logmgr_take_interrupted_moves(note_pending, NULL);
}

void lmove_partition_has_role(const char *topic, int32_t partition)
{
    if (!pending)
        return;
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    pending_move_t *m;
    HASH_FIND_STR(pending, key, m);
    if (!m)
        return;
    HASH_DEL(pending, m);
    log_info("log", "Resuming the move of %s to %s that the last stop interrupted", key,
             logmgr_dir_path(m->dest_dir));
    if (start_move(topic, partition, m->dest_dir, m->path) != KERR_NONE)
        log_warn("log", "Cannot resume the move of %s", key);
    pending_free(m);
}

/* ---- the rest ---- */

void lmove_foreach_future(void (*fn)(const lmove_future_t *future, void *arg), void *arg)
{
    log_move_t *m, *tmp;
    HASH_ITER(hh, lmv.moves, m, tmp) {
        const partition_log_t *pl = logmgr_get(m->topic, m->partition);
        if (!m->future_dir || !pl)
            continue;
        lmove_future_t f = { m->topic, m->partition, m->future_dir, m->future_size,
                             pl->log_end_offset - m->future_end };
        fn(&f, arg);
    }
}

int lmove_count(void)
{
    return (int)HASH_COUNT(lmv.moves);
}

void lmove_shutdown(void)
{
    pending_move_t *pm, *ptmp;
    HASH_ITER(hh, pending, pm, ptmp) {
        HASH_DEL(pending, pm);
        pending_free(pm);
    }
    lmv.stopped = true;
    log_move_t *m, *tmp;
    HASH_ITER(hh, lmv.moves, m, tmp)
        cancel(m, NULL);
}
