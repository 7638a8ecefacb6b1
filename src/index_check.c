/*
 * index_check.c - owns the load-time sanity checks of a segment's offset
 * and time index files, as Kafka's OffsetIndex and TimeIndex make them
 * (see index_check.h).  An index is taken as its file holds it: every
 * whole entry counts, as Kafka's AbstractIndex counts a pre-existing file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_check.h"
#include "proto_codec.h"

#define OFFSET_ENTRY 8
#define TIME_ENTRY 12

typedef struct index_file {
    int64_t length;
    uint8_t first[TIME_ENTRY];
    uint8_t last[TIME_ENTRY];
} index_file_t;

/* 0 read, -1 missing, -2 unreadable. */
static int read_ends(const char *path, int entry, index_file_t *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -1 : -2;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -2 : 0;
    f->length = rc == 0 ? st.st_size : 0;
    if (rc == 0 && f->length >= entry &&
        (pread(fd, f->first, (size_t)entry, 0) != entry ||
         pread(fd, f->last, (size_t)entry, f->length - f->length % entry - entry) != entry))
        rc = -2;
    close(fd);
    return rc;
}

static enum index_state corrupt(char *why, size_t n, const char *fmt, const char *path,
                                int64_t a, int64_t b)
{
    snprintf(why, n, fmt, path, a, b);
    return INDEX_CORRUPT;
}

/* OffsetIndex.sanityCheck */
static enum index_state offset_index_check(const char *path, int64_t base, char *why, size_t n)
{
    index_file_t f;
    int rc = read_ends(path, OFFSET_ENTRY, &f);
    if (rc < 0)
        return rc == -1 ? INDEX_MISSING : INDEX_SANE;   /* unreadable: opening it says so */
    int64_t last = base + (int32_t)be32_get(f.last);
    if (f.length >= OFFSET_ENTRY && last < base)
        return corrupt(why, n, "Corrupt index found, index file (%s) has non-zero size but the "
                               "last offset is %" PRId64 " which is less than the base offset %"
                               PRId64, path, last, base);
    if (f.length % OFFSET_ENTRY)
        return corrupt(why, n, "Index file %s is corrupt, found %" PRId64 " bytes which is "
                               "neither positive nor a multiple of %" PRId64, path, f.length,
                       OFFSET_ENTRY);
    return INDEX_SANE;
}

/* TimeIndex.sanityCheck */
static enum index_state time_index_check(const char *path, int64_t base, char *why, size_t n)
{
    index_file_t f;
    int rc = read_ends(path, TIME_ENTRY, &f);
    if (rc < 0)
        return rc == -1 ? INDEX_MISSING : INDEX_SANE;
    bool entries = f.length >= TIME_ENTRY;
    int64_t first_ts = (int64_t)be64_get(f.first), last_ts = (int64_t)be64_get(f.last);
    int64_t last = base + (int32_t)be32_get(f.last + 8);
    if (entries && last_ts < first_ts)
        return corrupt(why, n, "Corrupt time index found, time index file (%s) has non-zero size "
                               "but the last timestamp is %" PRId64 " which is less than the "
                               "first timestamp %" PRId64, path, last_ts, first_ts);
    if (entries && last < base)
        return corrupt(why, n, "Corrupt time index found, time index file (%s) has non-zero size "
                               "but the last offset is %" PRId64 " which is less than the base "
                               "offset %" PRId64, path, last, base);
    if (f.length % TIME_ENTRY)
        return corrupt(why, n, "Time index file %s is corrupt, found %" PRId64 " bytes which is "
                               "neither positive nor a multiple of %" PRId64, path, f.length,
                       TIME_ENTRY);
    return INDEX_SANE;
}

enum index_state index_files_check(const char *dir, int64_t base, char *why, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%020" PRId64 ".index", dir, base);
    enum index_state st = offset_index_check(path, base, why, n);
    if (st == INDEX_MISSING)
        snprintf(why, n, "offset index");
    if (st != INDEX_SANE)
        return st;
    snprintf(path, sizeof(path), "%s/%020" PRId64 ".timeindex", dir, base);
    st = time_index_check(path, base, why, n);
    if (st == INDEX_MISSING)
        snprintf(why, n, "time index");
    return st;
}
