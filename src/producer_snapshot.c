/*
 * producer_snapshot.c - owns the <offset>.snapshot files of a partition
 * directory: finding the newest, loading it, writing one, and deleting
 * those a truncation made stale (see producer_snapshot.h).  Never runs on
 * the event loop.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "logging.h"
#include "producer_snapshot.h"
#include "util.h"

#define SUFFIX ".snapshot"

/* The offset a "<20 digits>.snapshot" name carries, or -1. */
static int64_t snapshot_offset(const char *name)
{
    size_t n = strlen(name);
    if (n != 20 + strlen(SUFFIX) || strcmp(name + 20, SUFFIX))
        return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

static char *snapshot_path(const char *dir, int64_t offset)
{
    size_t n = strlen(dir) + 40;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%020" PRId64 SUFFIX, dir, offset);
    return p;
}

static void remove_snapshot(const char *dir, int64_t offset, const char *why)
{
    char *p = snapshot_path(dir, offset);
    if (unlink(p) < 0 && errno != ENOENT)
        log_warn("log", "Cannot delete %s: %s", p, strerror(errno));
    else
        log_info("log", "Deleted producer snapshot %s (%s)", p, why);
    free(p);
}

/* Offsets of the directory's snapshots, ascending; the count, or -1. */
static int list_snapshots(const char *dir, int64_t **out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t off = snapshot_offset(de->d_name);
        if (off < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = xrealloc(*out, sizeof(**out) * (size_t)cap);
        }
        (*out)[n++] = off;
    }
    closedir(d);
    for (int i = 1; i < n; i++)         /* few files: insertion sort */
        for (int j = i; j > 0 && (*out)[j - 1] > (*out)[j]; j--) {
            int64_t t = (*out)[j];
            (*out)[j] = (*out)[j - 1];
            (*out)[j - 1] = t;
        }
    return n;
}

static int load_one(const char *dir, int64_t offset, producer_state_t *ps)
{
    char *p = snapshot_path(dir, offset);
    size_t len = 0;
    char *buf = read_file(p, &len);
    int rc = buf ? pstate_snapshot_decode(ps, (const uint8_t *)buf, len) : -1;
    if (rc < 0)
        log_warn("log", "Ignoring the invalid producer snapshot %s", p);
    free(buf);
    free(p);
    return rc;
}

int64_t psnap_load_latest(const char *dir, int64_t max_offset, producer_state_t *ps)
{
    int64_t *offs;
    int n = list_snapshots(dir, &offs);
    int64_t found = -1;
    for (int i = n - 1; i >= 0; i--) {
        if (offs[i] > max_offset) {
            remove_snapshot(dir, offs[i], "past the log end");
        } else if (found < 0) {
            if (load_one(dir, offs[i], ps) == 0)
                found = offs[i];
            else
                remove_snapshot(dir, offs[i], "invalid");
        }
    }
    free(offs);
    return found;
}

static int write_encoded(const char *dir, int64_t offset, const uint8_t *buf, size_t len)
{
    char *p = snapshot_path(dir, offset);
    int rc = write_file_atomic(p, buf, len);
    if (rc < 0)
        log_warn("log", "Cannot write the producer snapshot %s: %s", p, strerror(errno));
    free(p);
    return rc;
}

int psnap_write(const char *dir, int64_t offset, const producer_state_t *ps)
{
    size_t len;
    uint8_t *buf = pstate_snapshot_encode(ps, &len);
    int rc = write_encoded(dir, offset, buf, len);
    free(buf);
    return rc;
}

/* A disk-thread job: write buf as <offset>.snapshot and keep the newest
 * PSNAP_KEEP, or (buf NULL) delete the snapshots above offset. */
typedef struct snapshot_job {
    char *dir;
    int64_t offset;
    uint8_t *buf;
    size_t len;
} snapshot_job_t;

/*
 * @locality the disk thread
 * @locks none (the job owns its copies)
 */
static void snapshot_job_run(void *arg)
{
    snapshot_job_t *j = arg;
    if (!j->buf) {
        psnap_delete_above(j->dir, j->offset);
        return;
    }
    if (write_encoded(j->dir, j->offset, j->buf, j->len) < 0)
        return;
    int64_t *offs;
    int n = list_snapshots(j->dir, &offs);
    for (int i = 0; i < n - PSNAP_KEEP; i++)
        remove_snapshot(j->dir, offs[i], "superseded");
    free(offs);
}

static void snapshot_job_done(void *arg)
{
    snapshot_job_t *j = arg;
    free(j->dir);
    free(j->buf);
    free(j);
}

/*
 * @locality the event-loop thread
 * @locks none
 */
static void submit(const char *dir, int64_t offset, const producer_state_t *ps)
{
    snapshot_job_t *j = xcalloc(1, sizeof(*j));
    j->dir = xstrdup(dir);
    j->offset = offset;
    if (ps)
        j->buf = pstate_snapshot_encode(ps, &j->len);
    bio_submit(snapshot_job_run, snapshot_job_done, j);
}

void psnap_write_in_background(const char *dir, int64_t offset, const producer_state_t *ps)
{
    submit(dir, offset, ps);
}

/*
 * @locality the event-loop thread
 * @locks none
 */
void psnap_delete_above_in_background(const char *dir, int64_t offset)
{
    submit(dir, offset, NULL);
}

void psnap_delete_above(const char *dir, int64_t offset)
{
    int64_t *offs;
    int n = list_snapshots(dir, &offs);
    for (int i = 0; i < n; i++)
        if (offs[i] > offset)
            remove_snapshot(dir, offs[i], "the log was truncated");
    free(offs);
}
