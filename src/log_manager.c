/*
 * log_manager.c - owns the log directories: locking, meta.properties,
 * .kafka_cleanshutdown, the recovery-point / replication / log-start offset
 * checkpoints, and the table of open partition logs.
 * Event-loop thread only (see log_manager.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#include "bio.h"
#include "log_manager.h"
#include "logging.h"
#include "util.h"

typedef struct log_entry {
    char key[300];              /* "<topic>-<partition>" */
    int dir_index;
    partition_log_t *log;
    UT_hash_handle hh;
} log_entry_t;

/* A log dir AlterReplicaLogDirs chose for a partition not hosted yet
 * (Kafka's preferredLogDirs): its log is created there. */
typedef struct preferred_dir {
    char key[300];
    int dir_index;
    UT_hash_handle hh;
} preferred_dir_t;

typedef struct interrupted_move {
    char topic[256];
    int32_t partition;
    int dir_index;
    char *path;
    struct interrupted_move *next;
} interrupted_move_t;

/* State of the log manager; owned by the event-loop thread. */
static struct {
    const broker_config_t *cfg;
    log_entry_t *logs;
    preferred_dir_t *preferred;
    interrupted_move_t *interrupted;    /* future logs found at start-up */
    int lock_fds[CONFIG_MAX_LOG_DIRS];
    int n_per_dir[CONFIG_MAX_LOG_DIRS];
    log_settings_t settings;
} lm;

static char *dir_file(int dir, const char *name)
{
    size_t n = strlen(lm.cfg->log_dirs[dir]) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", lm.cfg->log_dirs[dir], name);
    return p;
}

/* Java's File equality of two log dir names: absolute (against the cwd),
 * trailing slashes dropped. */
static bool same_path(const char *a, const char *b)
{
    char x[PATH_MAX], y[PATH_MAX];
    return absolute_path(a, x, sizeof(x)) == 0 && absolute_path(b, y, sizeof(y)) == 0 &&
           !strcmp(x, y);
}

int checkpoint_read(const char *path, checkpoint_entry_t **out)
{
    *out = NULL;
    char *text = read_file(path, NULL);
    if (!text)
        return errno == ENOENT ? 0 : -1;
    int count, n = 0, pos = 0, used;
    if (!*text) {
        free(text);
        return 0;
    }
    if (checkpoint_header(text, &count, &pos) < 0) {
        free(text);
        return -1;
    }
    checkpoint_entry_t *e = xcalloc((size_t)count + 1, sizeof(*e));
    while (n < count) {
        long long off;
        if (sscanf(text + pos, "%255s %d %lld%n", e[n].topic, &e[n].partition, &off, &used) != 3)
            break;
        e[n].offset = off;
        pos += used;
        n++;
    }
    free(text);
    if (n != count) {
        free(e);
        return -1;
    }
    *out = e;
    return n;
}

int checkpoint_write(const char *path, const checkpoint_entry_t *e, int n)
{
    size_t cap = 64 + (size_t)n * 300, len = 0;
    char *buf = xmalloc(cap);
    len += (size_t)snprintf(buf, cap, "0\n%d\n", n);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s %d %" PRId64 "\n", e[i].topic,
                                e[i].partition, e[i].offset);
    int rc = write_file_atomic(path, buf, len);
    free(buf);
    return rc;
}

static int64_t checkpoint_lookup(const checkpoint_entry_t *e, int n, const char *topic,
                                 int32_t partition, int64_t dflt)
{
    for (int i = 0; i < n; i++)
        if (e[i].partition == partition && !strcmp(e[i].topic, topic))
            return e[i].offset;
    return dflt;
}

int logmgr_parse_dir_name(const char *name, char *topic, size_t topic_size, int32_t *partition)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1])
        return -1;
    char *end;
    long p = strtol(dash + 1, &end, 10);
    if (*end || p < 0 || p > INT32_MAX || (size_t)(dash - name) >= topic_size)
        return -1;
    memcpy(topic, name, (size_t)(dash - name));
    topic[dash - name] = '\0';
    *partition = (int32_t)p;
    return 0;
}

/* Kafka-style meta.properties: check broker.id / cluster.id, write if absent. */
static int check_meta_properties(int dir, const char *cluster_id)
{
    char *path = dir_file(dir, "meta.properties");
    char *text = read_file(path, NULL);
    int rc = 0;
    if (text) {
        broker_config_t meta;
        config_defaults(&meta);
        config_parse_text(&meta, text, path);
        const char *bid = config_get(&meta, "broker.id");
        const char *cid = config_get(&meta, "cluster.id");
        if (bid && atoi(bid) != lm.cfg->broker_id) {
            log_error("log", "Log dir %s belongs to broker.id %s, but this broker is %d "
                             "(InconsistentBrokerIdException)", lm.cfg->log_dirs[dir], bid,
                      lm.cfg->broker_id);
            rc = -1;
        } else if (cid && cluster_id && strcmp(cid, cluster_id) != 0) {
            log_error("log", "The cluster id %s in %s doesn't match the cluster id %s stored in "
                             "ZooKeeper (InconsistentClusterIdException)", cid, path, cluster_id);
            rc = -1;
        }
        free(text);
        config_free(&meta);
        if (rc < 0 || (cid && bid)) {
            free(path);
            return rc;
        }
    }
    char buf[512], date[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm);
    int n = snprintf(buf, sizeof(buf), "#\n#%s\ncluster.id=%s\nversion=0\nbroker.id=%d\n", date,
                     cluster_id ? cluster_id : "", lm.cfg->broker_id);
    if (write_file_atomic(path, buf, (size_t)n) < 0) {
        log_error("log", "Cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    free(path);
    return rc;
}

static void register_log(int dir, partition_log_t *pl)
{
    log_entry_t *e = xcalloc(1, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s-%d", pl->topic, pl->partition);
    e->dir_index = dir;
    e->log = pl;
    HASH_ADD_STR(lm.logs, key, e);
    lm.n_per_dir[dir]++;
}

/* A future log found at start-up: a move between log dirs that a stop
 * interrupted ("<topic>-<partition>.<id>-future"); log_mover.c starts it
 * over once every dir is loaded (logmgr_take_interrupted_moves). */
static void note_interrupted_move(int dir, const char *name, const char *full)
{
    char topic[256];
    int32_t partition;
    const char *dot = strrchr(name, '.');
    char base[300];
    if (!dot || (size_t)(dot - name) >= sizeof(base)) {
        log_warn("log", "Ignoring %s: not a future log's name", full);
        return;
    }
    memcpy(base, name, (size_t)(dot - name));
    base[dot - name] = '\0';
    if (logmgr_parse_dir_name(base, topic, sizeof(topic), &partition) < 0) {
        log_warn("log", "Ignoring %s: not a future log's name", full);
        return;
    }
    interrupted_move_t *m = xcalloc(1, sizeof(*m));
    snprintf(m->topic, sizeof(m->topic), "%s", topic);
    m->partition = partition;
    m->dir_index = dir;
    m->path = xstrdup(full);
    m->next = lm.interrupted;
    lm.interrupted = m;
}

static int load_dir(int dir)
{
    const char *root = lm.cfg->log_dirs[dir];
    char *marker = dir_file(dir, ".kafka_cleanshutdown");
    bool clean = access(marker, F_OK) == 0;
    /* Deleted before loading so a crash during loading counts as unclean. */
    if (clean && unlink(marker) < 0)
        log_warn("log", "Cannot remove %s: %s", marker, strerror(errno));
    free(marker);
    checkpoint_entry_t *rp = NULL, *ls = NULL, *cc = NULL, *hw = NULL;
    char *hwp = dir_file(dir, "replication-offset-checkpoint");
    int nhw = checkpoint_read(hwp, &hw);
    if (nhw < 0) {
        log_warn("log", "Ignoring unreadable checkpoint %s", hwp);
        nhw = 0;
    }
    free(hwp);
    char *rpp = dir_file(dir, "recovery-point-offset-checkpoint");
    char *lsp = dir_file(dir, "log-start-offset-checkpoint");
    char *ccp = dir_file(dir, "cleaner-offset-checkpoint");
    int nrp = checkpoint_read(rpp, &rp);
    int nls = checkpoint_read(lsp, &ls);
    int ncc = checkpoint_read(ccp, &cc);
    if (ncc < 0)
        ncc = 0;    /* missing or unreadable: everything is dirty */
    free(ccp);
    if (nrp < 0) {
        log_warn("log", "Ignoring unreadable checkpoint %s", rpp);
        nrp = 0;
    }
    if (nls < 0) {
        log_warn("log", "Ignoring unreadable checkpoint %s", lsp);
        nls = 0;
    }
    free(rpp);
    free(lsp);
    DIR *d = opendir(root);
    if (!d) {
        free(rp);
        free(ls);
        free(cc);
        free(hw);
        return -1;
    }
    struct dirent *e;
    int loaded = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char topic[256];
        int32_t part;
        char full[4096];
        snprintf(full, sizeof(full), "%s/%s", root, e->d_name);
        if (strstr(e->d_name, "-delete") && strchr(e->d_name, '.')) {
            if (rm_rf(full) < 0)
                log_warn("log", "Cannot remove deleted log %s", full);
            continue;
        }
        if (strstr(e->d_name, "-future") && strchr(e->d_name, '.')) {
            note_interrupted_move(dir, e->d_name, full);
            continue;
        }
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
            continue;
        if (logmgr_parse_dir_name(e->d_name, topic, sizeof(topic), &part) < 0)
            continue;
        int64_t rpo = checkpoint_lookup(rp, nrp, topic, part, 0);
        int64_t lso = checkpoint_lookup(ls, nls, topic, part, 0);
        partition_log_t *pl = plog_open(root, topic, part, &lm.settings, rpo, lso, clean);
        if (!pl) {
            closedir(d);
            free(rp);
            free(ls);
            free(cc);
            free(hw);
            return -1;
        }
        /* Without a checkpoint (a log written before samsa kept one, or
         * a fresh log) the log end is taken, as replication factor 1 had it. */
        pl->checkpointed_hw = checkpoint_lookup(hw, nhw, topic, part, pl->log_end_offset);
        /* Kafka ignores a first dirty offset outside the log. */
        int64_t first_dirty = checkpoint_lookup(cc, ncc, topic, part, 0);
        if (first_dirty >= pl->log_start_offset && first_dirty <= pl->log_end_offset)
            pl->cleaned_upto = first_dirty;
        register_log(dir, pl);
        loaded++;
    }
    closedir(d);
    free(rp);
    free(ls);
    free(cc);
    free(hw);
    log_info("log", "Loaded %d logs in dir %s (%s shutdown)", loaded, root,
             clean ? "clean" : "unclean");
    return 0;
}

int logmgr_start(const broker_config_t *cfg, const char *cluster_id)
{
    memset(&lm, 0, sizeof(lm));
    lm.cfg = cfg;
    lm.settings = (log_settings_t){
        .segment_bytes = cfg->log_segment_bytes,
        .roll_ms = cfg->log_roll_ms,
        .roll_jitter_ms = cfg->log_roll_jitter_ms,
        .index_interval_bytes = cfg->log_index_interval_bytes,
        .index_size_max_bytes = cfg->log_index_size_max_bytes,
        .flush_interval_messages = cfg->log_flush_interval_messages,
        .max_message_bytes = cfg->message_max_bytes,
    };
    for (int i = 0; i < CONFIG_MAX_LOG_DIRS; i++)
        lm.lock_fds[i] = -1;
    for (int i = 0; i < cfg->n_log_dirs; i++) {
        if (mkdir_p(cfg->log_dirs[i], 0755) < 0) {
            log_error("log", "Cannot create log dir %s: %s", cfg->log_dirs[i], strerror(errno));
            return -1;
        }
        char *lock = dir_file(i, ".lock");
        lm.lock_fds[i] = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lm.lock_fds[i] < 0 || flock(lm.lock_fds[i], LOCK_EX | LOCK_NB) < 0) {
            log_error("log", "Failed to acquire lock on file .lock in %s. A Kafka instance in "
                             "another process or thread is using this directory.", cfg->log_dirs[i]);
            free(lock);
            return -1;
        }
        free(lock);
        if (check_meta_properties(i, cluster_id) < 0 || load_dir(i) < 0)
            return -1;
    }
    return 0;
}

log_settings_t logmgr_default_settings(void)
{
    return lm.settings;
}

partition_log_t *logmgr_get(const char *topic, int32_t partition)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    log_entry_t *e;
    HASH_FIND_STR(lm.logs, key, e);
    return e ? e->log : NULL;
}

/* Where a new log goes: the dir AlterReplicaLogDirs preferred for it
 * (used once), else the dir with the fewest logs (Kafka's nextLogDirs). */
static int dir_for_new_log(const char *topic, int32_t partition)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    preferred_dir_t *p;
    HASH_FIND_STR(lm.preferred, key, p);
    if (p) {
        int dir = p->dir_index;
        HASH_DEL(lm.preferred, p);
        free(p);
        return dir;
    }
    int best = 0;
    for (int i = 1; i < lm.cfg->n_log_dirs; i++)
        if (lm.n_per_dir[i] < lm.n_per_dir[best])
            best = i;
    return best;
}

void logmgr_take_interrupted_moves(void (*fn)(const char *topic, int32_t partition,
                                               int dir_index, const char *path, void *arg),
                                    void *arg)
{
    while (lm.interrupted) {
        interrupted_move_t *m = lm.interrupted;
        lm.interrupted = m->next;
        fn(m->topic, m->partition, m->dir_index, m->path, arg);
        free(m->path);
        free(m);
    }
}

void logmgr_prefer_dir(const char *topic, int32_t partition, int dir_index)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    log_entry_t *e;
    HASH_FIND_STR(lm.logs, key, e);
    if (e && e->dir_index == dir_index)
        return;
    preferred_dir_t *p;
    HASH_FIND_STR(lm.preferred, key, p);
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        snprintf(p->key, sizeof(p->key), "%s", key);
        HASH_ADD_STR(lm.preferred, key, p);
    }
    p->dir_index = dir_index;
}

int logmgr_dir_index(const char *path)
{
    for (int i = 0; lm.cfg && i < lm.cfg->n_log_dirs; i++)
        if (same_path(lm.cfg->log_dirs[i], path))
            return i;
    return -1;
}

const char *logmgr_dir_path(int dir_index)
{
    return lm.cfg->log_dirs[dir_index];
}

int logmgr_dir_of(const char *topic, int32_t partition)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    log_entry_t *e;
    HASH_FIND_STR(lm.logs, key, e);
    return e ? e->dir_index : -1;
}

partition_log_t *logmgr_replace(partition_log_t *pl, int dir_index)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", pl->topic, pl->partition);
    log_entry_t *e;
    HASH_FIND_STR(lm.logs, key, e);
    if (!e)
        return NULL;
    partition_log_t *old = e->log;
    lm.n_per_dir[e->dir_index]--;
    e->log = pl;
    e->dir_index = dir_index;
    lm.n_per_dir[dir_index]++;
    return old;
}

partition_log_t *logmgr_get_or_create(const char *topic, int32_t partition)
{
    partition_log_t *pl = logmgr_get(topic, partition);
    if (pl)
        return pl;
    int best = dir_for_new_log(topic, partition);
    pl = plog_open(lm.cfg->log_dirs[best], topic, partition, &lm.settings, 0, 0, true);
    if (!pl)
        return NULL;
    register_log(best, pl);
    log_info("log", "Created log for partition %s-%d in %s", topic, partition,
             lm.cfg->log_dirs[best]);
    return pl;
}

typedef struct open_job {
    char *root;
    char *topic;
    int32_t partition;
    int dir;
    log_settings_t settings;
    partition_log_t *pl;
    void (*done)(partition_log_t *pl, void *arg);
    void *arg;
} open_job_t;

/* Disk thread: only the job's own log is touched.
 * @locality the disk thread
 * @locks none (the new log is not registered yet)
 */
static void open_run(void *arg)
{
    open_job_t *j = arg;
    j->pl = plog_open(j->root, j->topic, j->partition, &j->settings, 0, 0, true);
}

/* Event-loop thread: the log joins the manager (unless one appeared
 * @locality the event-loop thread
 * @locks none
 * meanwhile, or the manager has shut down). */
static void open_done(void *arg)
{
    open_job_t *j = arg;
    lm.n_per_dir[j->dir]--;
    partition_log_t *pl = j->pl;
    if (pl && (!lm.cfg || logmgr_get(j->topic, j->partition))) {
        plog_close(pl);
        pl = lm.cfg ? logmgr_get(j->topic, j->partition) : NULL;
    } else if (pl) {
        register_log(j->dir, pl);
        log_info("log", "Created log for partition %s-%d in %s", j->topic, j->partition, j->root);
    } else {
        log_error("log", "Cannot create log for %s-%d in %s", j->topic, j->partition, j->root);
    }
    j->done(pl, j->arg);
    free(j->root);
    free(j->topic);
    free(j);
}

void logmgr_open_async(const char *topic, int32_t partition, const log_settings_t *settings,
                       void (*done)(partition_log_t *pl, void *arg), void *arg)
{
    partition_log_t *pl = logmgr_get(topic, partition);
    if (pl || !bio_running()) {
        if (!pl && (pl = logmgr_get_or_create(topic, partition)))
            pl->settings = *settings;
        done(pl, arg);
        return;
    }
    open_job_t *j = xcalloc(1, sizeof(*j));
    int best = dir_for_new_log(topic, partition);
    lm.n_per_dir[best]++;       /* counted while being created */
    j->root = xstrdup(lm.cfg->log_dirs[best]);
    j->topic = xstrdup(topic);
    j->partition = partition;
    j->dir = best;
    j->settings = *settings;
    j->done = done;
    j->arg = arg;
    bio_submit(open_run, open_done, j);
}

void logmgr_delete(const char *topic, int32_t partition)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    log_entry_t *e;
    HASH_FIND_STR(lm.logs, key, e);
    if (!e)
        return;
    HASH_DEL(lm.logs, e);
    lm.n_per_dir[e->dir_index]--;
    plog_delete(e->log);
    free(e);
    log_info("log", "Deleted log for partition %s", key);
}

void logmgr_foreach(void (*fn)(partition_log_t *pl, void *arg), void *arg)
{
    log_entry_t *e, *tmp;
    HASH_ITER(hh, lm.logs, e, tmp)
        fn(e->log, arg);
}

enum ckpt_kind { CKPT_RECOVERY, CKPT_HW, CKPT_START, CKPT_CLEANER };

static int64_t (*high_watermark_of)(const partition_log_t *pl);

void logmgr_set_high_watermark_source(int64_t (*hw_of)(const partition_log_t *pl))
{
    high_watermark_of = hw_of;
}

static int write_dir_checkpoint(int dir, enum ckpt_kind kind, const char *name)
{
    int n = 0;
    checkpoint_entry_t *arr = xcalloc((size_t)HASH_COUNT(lm.logs) + 1, sizeof(*arr));
    log_entry_t *e, *tmp;
    HASH_ITER(hh, lm.logs, e, tmp) {
        if (e->dir_index != dir)
            continue;
        partition_log_t *pl = e->log;
        int64_t v = kind == CKPT_RECOVERY ? pl->recovery_point
                  : kind == CKPT_HW ? (high_watermark_of ? high_watermark_of(pl) : pl->log_end_offset)
                  : kind == CKPT_START ? pl->log_start_offset
                  : pl->cleaned_upto;
        if (kind == CKPT_START && v <= pl->segs[0]->base_offset)
            continue;
        if (kind == CKPT_CLEANER && v <= 0)
            continue;
        snprintf(arr[n].topic, sizeof(arr[n].topic), "%s", pl->topic);
        arr[n].partition = pl->partition;
        arr[n].offset = v;
        n++;
    }
    char *path = dir_file(dir, name);
    int rc = 0;
    if (bio_running()) {
        /* The entries are a snapshot; the disk thread writes and fsyncs. */
        bio_write_checkpoint(path, arr, n);
    } else {
        rc = checkpoint_write(path, arr, n);
        if (rc < 0)
            log_error("log", "Cannot write checkpoint %s: %s", path, strerror(errno));
        free(arr);
    }
    free(path);
    return rc;
}

int logmgr_checkpoint(void)
{
    int rc = 0;
    for (int i = 0; i < lm.cfg->n_log_dirs; i++) {
        rc |= write_dir_checkpoint(i, CKPT_RECOVERY, "recovery-point-offset-checkpoint");
        rc |= write_dir_checkpoint(i, CKPT_HW, "replication-offset-checkpoint");
        rc |= write_dir_checkpoint(i, CKPT_START, "log-start-offset-checkpoint");
        rc |= write_dir_checkpoint(i, CKPT_CLEANER, "cleaner-offset-checkpoint");
    }
    return rc;
}

typedef struct flush_age {
    int64_t interval_ms;
    int64_t now;
} flush_age_t;

static void flush_if_old(partition_log_t *pl, void *arg)
{
    const flush_age_t *fa = arg;
    if (pl->unflushed > 0 && fa->now - pl->last_flush_ms >= fa->interval_ms)
        plog_flush_async(pl);
}

void logmgr_flush_older_than(int64_t interval_ms)
{
    flush_age_t fa = { interval_ms, mono_ms() };
    logmgr_foreach(flush_if_old, &fa);
}

/* As Kafka's shutdown flush: only a log with records past its recovery
 * point is synced (10,000 idle partitions are not 10,000 fsyncs). */
static void flush_one(partition_log_t *pl, void *arg)
{
    int *rc = arg;
    if (pl->log_end_offset <= pl->recovery_point && pl->unflushed == 0)
        return;
    if (plog_flush(pl) < 0)
        *rc = -1;
}

static void snapshot_one(partition_log_t *pl, void *arg)
{
    int *rc = arg;
    if (plog_write_producer_snapshot(pl) < 0)
        *rc = -1;
}

void logmgr_shutdown(void)
{
    if (!lm.cfg)
        return;
    int rc = 0;
    logmgr_foreach(flush_one, &rc);
    logmgr_foreach(snapshot_one, &rc);
    if (logmgr_checkpoint() < 0)
        rc = -1;
    log_entry_t *e, *tmp;
    HASH_ITER(hh, lm.logs, e, tmp) {
        HASH_DEL(lm.logs, e);
        plog_close(e->log);
        free(e);
    }
    while (lm.interrupted) {
        interrupted_move_t *m = lm.interrupted;
        lm.interrupted = m->next;
        free(m->path);
        free(m);
    }
    preferred_dir_t *p, *ptmp;
    HASH_ITER(hh, lm.preferred, p, ptmp) {
        HASH_DEL(lm.preferred, p);
        free(p);
    }
    for (int i = 0; i < lm.cfg->n_log_dirs; i++) {
        if (rc == 0) {
            char *marker = dir_file(i, ".kafka_cleanshutdown");
            if (write_file_atomic(marker, "", 0) < 0)
                log_error("log", "Cannot write %s", marker);
            free(marker);
        }
        if (lm.lock_fds[i] >= 0)
            close(lm.lock_fds[i]);
    }
    lm.cfg = NULL;
}
