/*
 * leader_epoch.c - owns the leader-epoch cache and its checkpoint file
 * (see leader_epoch.h), following Kafka's LeaderEpochFileCache.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leader_epoch.h"
#include "util.h"

void lec_free(epoch_cache_t *c)
{
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

static void push(epoch_cache_t *c, int32_t epoch, int64_t start)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->v = xrealloc(c->v, sizeof(*c->v) * (size_t)c->cap);
    }
    c->v[c->n++] = (epoch_entry_t){ epoch, start };
}

bool lec_assign(epoch_cache_t *c, int32_t epoch, int64_t start_offset)
{
    if (epoch < 0 || start_offset < 0)
        return false;
    if (c->n > 0 && epoch <= c->v[c->n - 1].epoch)
        return false;
    /* Entries that would not be monotonic any more go (Kafka's assign). */
    while (c->n > 0 && c->v[c->n - 1].start_offset >= start_offset)
        c->n--;
    push(c, epoch, start_offset);
    return true;
}

bool lec_truncate_from_end(epoch_cache_t *c, int64_t end_offset)
{
    int n = c->n;
    while (c->n > 0 && c->v[c->n - 1].start_offset >= end_offset)
        c->n--;
    return n != c->n;
}

bool lec_truncate_from_start(epoch_cache_t *c, int64_t start_offset)
{
    int keep = 0;   /* the last entry starting at or before start_offset */
    while (keep + 1 < c->n && c->v[keep + 1].start_offset <= start_offset)
        keep++;
    if (c->n == 0 || (keep == 0 && c->v[0].start_offset >= start_offset))
        return false;
    memmove(c->v, c->v + keep, sizeof(*c->v) * (size_t)(c->n - keep));
    c->n -= keep;
    if (c->v[0].start_offset < start_offset)
        c->v[0].start_offset = start_offset;
    return true;
}

int32_t lec_latest_epoch(const epoch_cache_t *c)
{
    return c->n > 0 ? c->v[c->n - 1].epoch : UNDEFINED_EPOCH;
}

int64_t lec_end_offset_for(const epoch_cache_t *c, int32_t requested, int64_t log_end_offset,
                           int32_t *epoch_out)
{
    *epoch_out = UNDEFINED_EPOCH;
    if (requested == UNDEFINED_EPOCH)
        return UNDEFINED_EPOCH_OFFSET;
    if (c->n > 0 && c->v[c->n - 1].epoch == requested) {
        *epoch_out = requested;
        return log_end_offset;
    }
    int higher = -1;
    for (int i = 0; i < c->n && higher < 0; i++)
        if (c->v[i].epoch > requested)
            higher = i;
    if (higher < 0)
        return UNDEFINED_EPOCH_OFFSET;
    /* The floor entry is the one before `higher`, if any. */
    *epoch_out = higher > 0 ? c->v[higher - 1].epoch : requested;
    return c->v[higher].start_offset;
}

int64_t lec_agreed_end(const epoch_cache_t *copy, int64_t copy_end, const epoch_cache_t *source,
                       int64_t source_end)
{
    int64_t agreed = MIN(copy_end, source_end);
    for (int i = 0; i < copy->n; i++) {
        const epoch_entry_t *e = &copy->v[i];
        int j = 0;
        while (j < source->n && source->v[j].epoch != e->epoch)
            j++;
        if (j == source->n || source->v[j].start_offset != e->start_offset)
            return MIN(agreed, e->start_offset);
        int64_t copy_epoch_end = i + 1 < copy->n ? copy->v[i + 1].start_offset : copy_end;
        int64_t source_epoch_end = j + 1 < source->n ? source->v[j + 1].start_offset : source_end;
        if (source_epoch_end < copy_epoch_end)
            return MIN(agreed, source_epoch_end);
    }
    return agreed;
}

static char *file_of(const char *dir)
{
    size_t n = strlen(dir) + sizeof(LEADER_EPOCH_FILE) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, LEADER_EPOCH_FILE);
    return p;
}

int lec_read(const char *dir, epoch_cache_t *c)
{
    char *path = file_of(dir);
    char *text = read_file(path, NULL);
    free(path);
    c->n = 0;
    if (!text)
        return errno == ENOENT ? 0 : -1;
    int count, used, pos = 0;
    if (!*text) {
        free(text);
        return 0;
    }
    if (checkpoint_header(text, &count, &pos) < 0) {
        free(text);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        int epoch;
        long long start;
        if (sscanf(text + pos, "%d %lld%n", &epoch, &start, &used) != 2) {
            free(text);
            c->n = 0;
            return -1;
        }
        pos += used;
        lec_assign(c, epoch, start);
    }
    free(text);
    return 1;
}

int lec_write(const char *dir, const epoch_entry_t *v, int n)
{
    size_t cap = 32 + (size_t)n * 40, len = 0;
    char *buf = xmalloc(cap);
    len += (size_t)snprintf(buf, cap, "0\n%d\n", n);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d %" PRId64 "\n", v[i].epoch,
                                v[i].start_offset);
    char *path = file_of(dir);
    int rc = write_file_atomic(path, buf, len);
    free(path);
    free(buf);
    return rc;
}
