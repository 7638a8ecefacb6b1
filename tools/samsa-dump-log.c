/*
 * samsa-dump-log - kafka-dump-log.sh (Kafka 3.9's DumpLogSegments) for
 * samsa: prints log segments (.log: batches, and with --deep-iteration or
 * --print-data-log their records), offset and time indexes, producer
 * snapshots and transaction indexes in Kafka's format, offline, from
 * samsa's or Kafka's files alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crc32c.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-dump-log"

enum { OPT_FILES = 1000, OPT_PRINT_DATA, OPT_DEEP, OPT_SKIP_META, OPT_MAX_BYTES, OPT_VERIFY,
       OPT_SANITY, OPT_MAX_MESSAGE, OPT_HELP };

typedef struct opts {
    bool print_data;
    bool deep;
    bool skip_metadata;
    int64_t max_bytes;
} opts_t;

/* The whole file (NULL with errno on failure). */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) < 0) {
        fclose(f);
        return NULL;
    }
    uint8_t *buf = xmalloc((size_t)st.st_size + 1);
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    *len = n;
    return buf;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int64_t file_base_offset(const char *path)
{
    return strtoll(base_name(path), NULL, 10);
}

/* ---- records ---- */

static int64_t varlong(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* The header keys of a record, from its raw bytes, as "[a,b]". */
static void print_header_keys(const batch_record_t *r)
{
    const uint8_t *p = r->raw, *end = r->raw + r->raw_len;
    varlong(&p, end);                           /* length */
    p++;                                        /* attributes */
    varlong(&p, end);                           /* timestamp delta */
    varlong(&p, end);                           /* offset delta */
    int64_t n = varlong(&p, end);
    p += n > 0 ? n : 0;
    n = varlong(&p, end);
    p += n > 0 ? n : 0;
    int64_t headers = p < end ? varlong(&p, end) : 0;
    printf(" headerKeys: [");
    for (int64_t i = 0; i < headers && p < end; i++) {
        int64_t klen = varlong(&p, end);
        if (klen < 0 || p + klen > end)
            break;
        printf("%s%.*s", i ? "," : "", (int)klen, p);
        p += klen;
        int64_t vlen = varlong(&p, end);
        p += vlen > 0 ? vlen : 0;
    }
    printf("]");
}

typedef struct record_ctx {
    const opts_t *o;
    const uint8_t *batch;
    const batch_header_t *h;
} record_ctx_t;

/* Kafka's TimestampType names: magic 0 has none. */
static const char *timestamp_type(const batch_header_t *h)
{
    if (h->magic == 0)
        return "NoTimestampType";
    return h->attributes & 0x08 ? "LogAppendTime" : "CreateTime";
}

static void print_record(const batch_record_t *r, void *arg)
{
    const record_ctx_t *c = arg;
    const batch_header_t *h = c->h;
    bool control = h->attributes & 0x20;
    const char *prefix = "| ";
    if (!c->o->skip_metadata) {
        printf("| offset: %" PRId64 " %s: %" PRId64 " keySize: %d valueSize: %d", r->offset,
               timestamp_type(h), r->timestamp, r->key_len, r->value_len);
        prefix = " ";
    }
    if (!c->o->skip_metadata && h->magic < 2) {
        /* Kafka's own format, its stray brace included. */
        printf(" isValid: true crc: %u}", r->legacy_crc);
    } else if (!c->o->skip_metadata) {
        int64_t seq = h->base_sequence < 0 ? -1
                      : ((int64_t)h->base_sequence + (r->offset - h->base_offset)) % 2147483648LL;
        printf(" sequence: %" PRId64, seq);
        print_header_keys(r);
        bool commit;
        int32_t coordinator_epoch;
        if (control && batch_txn_marker(c->batch, h, &commit, &coordinator_epoch) == 1)
            printf(" endTxnMarker: %s coordinatorEpoch: %d", commit ? "COMMIT" : "ABORT",
                   coordinator_epoch);
    }
    if (c->o->print_data && !control) {
        if (r->key_len >= 0) {
            printf("%skey: %.*s", prefix, r->key_len, (const char *)r->key);
            prefix = " ";
        }
        if (r->value_len >= 0)
            printf(" payload: %.*s", r->value_len, (const char *)r->value);
    }
    printf("\n");
}

static const char *codec_name(int16_t attributes)
{
    static const char *const names[] = { "none", "gzip", "snappy", "lz4", "zstd" };
    int c = attributes & 0x7;
    return c < 5 ? names[c] : "unknown";
}

/* What Kafka prints of every batch, legacy or not. */
static void print_batch_tail(const uint8_t *p, const batch_header_t *h, int64_t position)
{
    printf(" position: %" PRId64 " %s: %" PRId64 " size: %d magic: %d compresscodec: %s crc: %u "
           "isvalid: %s\n", position, timestamp_type(h), h->max_timestamp, h->size, h->magic,
           codec_name(h->attributes), h->crc, batch_crc_ok(p, h) ? "true" : "false");
}

static void print_batch(const uint8_t *p, const batch_header_t *h, int64_t position)
{
    if (h->magic < 2) {
        printf("offset: %" PRId64, batch_last_offset(h));
        print_batch_tail(p, h, position);
        return;
    }
    printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %d baseSequence: %d "
           "lastSequence: %d producerId: %" PRId64 " producerEpoch: %d partitionLeaderEpoch: %d "
           "isTransactional: %s isControl: %s deleteHorizonMs: ",
           h->base_offset, batch_last_offset(h), h->record_count, h->base_sequence,
           h->base_sequence < 0 ? -1
               : (int32_t)(((int64_t)h->base_sequence + h->last_offset_delta) % 2147483648LL),
           h->producer_id, h->producer_epoch, h->partition_leader_epoch,
           h->attributes & 0x10 ? "true" : "false", h->attributes & 0x20 ? "true" : "false");
    if (h->attributes & 0x40)
        printf("OptionalLong[%" PRId64 "]", h->base_timestamp);
    else
        printf("OptionalLong.empty");
    print_batch_tail(p, h, position);
}

static void dump_log(const char *path, const opts_t *o)
{
    printf("Log starting offset: %" PRId64 "\n", file_base_offset(path));
    size_t len;
    uint8_t *buf = slurp(path, &len);
    if (!buf) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return;
    }
    size_t limit = o->max_bytes >= 0 && (size_t)o->max_bytes < len ? (size_t)o->max_bytes : len;
    size_t at = 0;
    batch_header_t h;
    while (at < limit && log_entry_header(buf + at, limit - at, &h) == 0) {
        print_batch(buf + at, &h, (int64_t)at);
        if (o->deep) {
            record_ctx_t c = { o, buf + at, &h };
            if (batch_foreach_record(buf + at, &h, print_record, &c) < 0)
                fprintf(stderr, "Malformed records in the batch at position %zu\n", at);
        }
        at += (size_t)h.size;
    }
    if (at < len && o->max_bytes < 0)
        printf("Found %zu invalid bytes at the end of %s\n", len - at, base_name(path));
    free(buf);
}

/* ---- indexes, snapshots ---- */

static void dump_index(const char *path, bool time_index)
{
    size_t len;
    uint8_t *buf = slurp(path, &len);
    if (!buf) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return;
    }
    int64_t base = file_base_offset(path);
    size_t entry = time_index ? 12 : 8;
    if (!time_index && len / entry == 0)
        printf("%s is empty.\n", path);
    for (size_t i = 0; i < len / entry; i++) {
        const uint8_t *e = buf + i * entry;
        int64_t offset = base + be32_get(e + (time_index ? 8 : 0));
        if (offset == base && i > 0)
            break;      /* the zeroed tail of a preallocated index */
        if (time_index)
            printf("timestamp: %" PRId64 " offset: %" PRId64 "\n", be64_get(e), offset);
        else
            printf("offset: %" PRId64 " position: %u\n", offset, (uint32_t)be32_get(e + 4));
    }
    free(buf);
}

/* Kafka's producer snapshot v1: version, CRC-32C, then the entries. */
static void dump_snapshot(const char *path)
{
    size_t len;
    uint8_t *buf = slurp(path, &len);
    if (!buf) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return;
    }
    enum { ENTRY = 46 };
    if (len < 10 || be16_get(buf) != 1 ||
        crc32c(0, buf + 6, len - 6) != (uint32_t)be32_get(buf + 2)) {
        fprintf(stderr, "Snapshot is corrupt: %s\n", path);
        free(buf);
        return;
    }
    int32_t n = be32_get(buf + 6);
    for (int32_t i = 0; i < n && 10 + (size_t)(i + 1) * ENTRY <= len; i++) {
        const uint8_t *e = buf + 10 + (size_t)i * ENTRY;
        int64_t pid = be64_get(e), last_offset = be64_get(e + 14);
        int16_t epoch = be16_get(e + 8);
        int32_t last_seq = be32_get(e + 10), delta = be32_get(e + 22);
        int64_t ts = be64_get(e + 26), txn_first = be64_get(e + 38);
        int32_t coordinator_epoch = be32_get(e + 34);
        printf("producerId: %" PRId64 " producerEpoch: %d coordinatorEpoch: %d "
               "currentTxnFirstOffset: ", pid, epoch, coordinator_epoch);
        if (txn_first >= 0)
            printf("OptionalLong[%" PRId64 "]", txn_first);
        else
            printf("OptionalLong.empty");
        printf(" lastTimestamp: %" PRId64 " ", ts);
        if (last_offset >= 0) {
            int64_t first_seq = last_seq - delta < 0 ? last_seq - delta + 2147483648LL
                                                     : last_seq - delta;
            printf("firstSequence: %" PRId64 " lastSequence: %d lastOffset: %" PRId64
                   " offsetDelta: %d timestamp: %" PRId64, first_seq, last_seq, last_offset,
                   delta, ts);
        }
        printf("\n");
    }
    free(buf);
}

static void dump_txn_index(const char *path)
{
    size_t len;
    uint8_t *buf = slurp(path, &len);
    if (!buf) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return;
    }
    for (size_t at = 0; at + 34 <= len; at += 34) {
        const uint8_t *e = buf + at;
        printf("version: %d producerId: %" PRId64 " firstOffset: %" PRId64 " lastOffset: %" PRId64
               " lastStableOffset: %" PRId64 "\n", be16_get(e),
               be64_get(e + 2), be64_get(e + 10), be64_get(e + 18),
               be64_get(e + 26));
    }
    free(buf);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static void dump(const char *path, const opts_t *o)
{
    printf("Dumping %s\n", path);
    if (has_suffix(path, ".log"))
        dump_log(path, o);
    else if (has_suffix(path, ".index"))
        dump_index(path, false);
    else if (has_suffix(path, ".timeindex"))
        dump_index(path, true);
    else if (has_suffix(path, ".snapshot"))
        dump_snapshot(path);
    else if (has_suffix(path, ".txnindex"))
        dump_txn_index(path);
    else
        fprintf(stderr, "Ignoring unknown file %s\n", path);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "files", required_argument, NULL, OPT_FILES },
        { "print-data-log", no_argument, NULL, OPT_PRINT_DATA },
        { "deep-iteration", no_argument, NULL, OPT_DEEP },
        { "skip-record-metadata", no_argument, NULL, OPT_SKIP_META },
        { "max-bytes", required_argument, NULL, OPT_MAX_BYTES },
        { "verify-index-only", no_argument, NULL, OPT_VERIFY },
        { "index-sanity-check", no_argument, NULL, OPT_SANITY },
        { "max-message-size", required_argument, NULL, OPT_MAX_MESSAGE },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opts_t o = { .max_bytes = -1 };
    char *files = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_FILES: free(files); files = xstrdup(optarg); break;
        case OPT_PRINT_DATA: o.print_data = o.deep = true; break;
        case OPT_DEEP: o.deep = true; break;
        case OPT_SKIP_META: o.skip_metadata = true; break;
        case OPT_MAX_BYTES: o.max_bytes = strtoll(optarg, NULL, 10); break;
        case OPT_VERIFY: case OPT_SANITY:
            tool_die(PROG, "--verify-index-only and --index-sanity-check are not supported yet");
        case OPT_MAX_MESSAGE: break;    /* only the index checks use it */
        case OPT_HELP:
            printf("Usage: " PROG " --files FILE[,FILE...] [--print-data-log] "
                   "[--deep-iteration] [--skip-record-metadata] [--max-bytes N]\n");
            return 0;
        default: return 1;
        }
    }
    if (!files)
        tool_die(PROG, "Missing required argument \"[files]\"");
    for (char *save, *f = strtok_r(files, ",", &save); f; f = strtok_r(NULL, ",", &save))
        dump(f, &o);
    free(files);
    return 0;
}
