/*
 * fetch_downconvert.c - owns down-converting a Fetch answer's records for
 * legacy clients (fetch_downconvert.h): which partitions need it, the job
 * that reads and converts them on the disk thread (each with its own
 * descriptor of the segment, so retention may delete it meanwhile), and
 * putting the converted bytes into the answer back on the loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bio.h"
#include "fetch_downconvert.h"
#include "kafka_errors.h"
#include "legacy_records.h"
#include "logging.h"
#include "metadata_cache.h"
#include "util.h"

typedef struct conversion_part {
    struct fetch_response_partition_data *out;  /* loop side only */
    int fd;                         /* a dup of the segment's */
    int64_t file_off;
    int32_t len;
    int64_t fetch_offset;
    kwriter_t converted;            /* disk thread, then the loop */
    int16_t error;
} conversion_part_t;

struct fetch_conversion {
    arena_t *arena;
    int8_t magic;
    bool cancelled;                 /* loop only */
    void (*done)(void *arg);
    void *arg;
    int n;
    conversion_part_t parts[];
};

static const char *topic_setting(const broker_t *b, const char *topic, const char *key,
                                 const char *broker_key)
{
    const mc_topic_t *t = mc_find_topic(topic);
    const char *v = t ? kv_get(&t->cfg, key) : NULL;
    return v ? v : config_get(b->cfg, broker_key);
}

int16_t fetch_conversion_refusal(const broker_t *b, const char *topic, int16_t version)
{
    const char *codec = topic_setting(b, topic, "compression.type", "compression.type");
    if (version < 10 && codec && !strcmp(codec, "zstd"))
        return KERR_UNSUPPORTED_COMPRESSION_TYPE;
    const char *enabled = topic_setting(b, topic, "message.downconversion.enable",
                                        "log.message.downconversion.enable");
    if (fetch_magic_for_version(version) < 2 && enabled && !strcasecmp(enabled, "false"))
        return KERR_UNSUPPORTED_VERSION;
    return KERR_NONE;
}

/* Disk thread: read each region whole, convert it. */
static void convert_run(void *arg)
{
    fetch_conversion_t *c = arg;
    for (int i = 0; i < c->n; i++) {
        conversion_part_t *p = &c->parts[i];
        if (p->fd < 0) {
            p->error = KERR_KAFKA_STORAGE_ERROR;
            continue;
        }
        uint8_t *buf = malloc((size_t)p->len);
        ssize_t got = buf ? pread(p->fd, buf, (size_t)p->len, p->file_off) : -1;
        if (got != p->len) {
            log_error("fetch", "Cannot read %d bytes to down-convert: %s", p->len,
                      buf ? strerror(errno) : "out of memory");
            p->error = buf ? KERR_KAFKA_STORAGE_ERROR : KERR_UNKNOWN_SERVER_ERROR;
        } else {
            p->error = legacy_downconvert(buf, (size_t)p->len, c->magic, p->fetch_offset,
                                          &p->converted);
        }
        free(buf);
        close(p->fd);
        p->fd = -1;
    }
}

static void conversion_free(fetch_conversion_t *c)
{
    for (int i = 0; i < c->n; i++) {
        if (c->parts[i].fd >= 0)
            close(c->parts[i].fd);
        kw_free(&c->parts[i].converted);
    }
    free(c);
}

/* Loop: the converted bytes into the answer. */
static void convert_done(void *arg)
{
    fetch_conversion_t *c = arg;
    if (c->cancelled) {
        conversion_free(c);
        return;
    }
    for (int i = 0; i < c->n; i++) {
        conversion_part_t *p = &c->parts[i];
        uint8_t *copy = p->error || p->converted.len == 0
                        ? NULL : arena_try_alloc(c->arena, p->converted.len);
        if (!p->error && p->converted.len > 0 && !copy)
            p->error = KERR_UNKNOWN_SERVER_ERROR;
        if (p->error) {
            p->out->error_code = p->error;
            p->out->records = (krecords_t){ NULL, 0, -1, 0 };
            continue;
        }
        if (copy)
            memcpy(copy, p->converted.buf, p->converted.len);
        p->out->records = (krecords_t){ copy, (int32_t)p->converted.len, -1, 0 };
    }
    void (*done)(void *) = c->done;
    void *done_arg = c->arg;
    conversion_free(c);
    done(done_arg);
}

fetch_conversion_t *fetch_convert(arena_t *a, struct fetch_response *resp,
                                  const struct fetch_request *rq, int8_t magic,
                                  void (*done)(void *arg), void *arg)
{
    int n = 0;
    for (int i = 0; i < resp->responses_count; i++)
        for (int k = 0; k < resp->responses[i].partitions_count; k++)
            n += resp->responses[i].partitions[k].records.fd >= 0;
    if (n == 0)
        return NULL;
    fetch_conversion_t *c = calloc(1, sizeof(*c) + sizeof(conversion_part_t) * (size_t)n);
    if (!c)
        return NULL;
    *c = (fetch_conversion_t){ a, magic, false, done, arg, 0 };
    for (int i = 0; i < resp->responses_count && i < rq->topics_count; i++) {
        struct fetch_response_fetchable_topic_response *tr = &resp->responses[i];
        for (int k = 0; k < tr->partitions_count && k < rq->topics[i].partitions_count; k++) {
            struct fetch_response_partition_data *pd = &tr->partitions[k];
            if (pd->records.fd < 0)
                continue;
            conversion_part_t *p = &c->parts[c->n++];
            p->out = pd;
            p->fd = dup(pd->records.fd);
            p->file_off = pd->records.file_off;
            p->len = pd->records.len;
            p->fetch_offset = rq->topics[i].partitions[k].fetch_offset;
            kw_init(&p->converted);
        }
    }
    /* The disk thread runs whenever clients are served, so done comes
     * later, from the loop, never from inside this call. */
    bio_submit(convert_run, convert_done, c);
    return c;
}

void fetch_conversion_cancel(fetch_conversion_t *c)
{
    c->cancelled = true;
}
