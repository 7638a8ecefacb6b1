/*
 * legacy_records.c - owns up-converting legacy message sets (magic 0 and
 * 1, what Produce v0-v2 clients send) into one record batch v2, as Kafka's
 * LogValidator does before appending to a log of the current format: every
 * message (the inner ones of a compressed wrapper) keeps its key, value
 * and timestamp (magic 0 has none: -1), offsets become deltas, and the
 * batch is compressed with the wrapper's codec.  CRCs and inner offsets
 * are checked as Kafka checks them.  Also what the log layer needs of the
 * legacy messages an older Kafka left in a log: their headers and CRCs,
 * their records, and the cleaner's rewrite of a wrapper; and the
 * down-conversion for Fetch v0-v3.  Pure; any thread.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "crc32c.h"
#include "kafka_errors.h"
#include "legacy_records.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "record_compress.h"
#include "record_stream.h"
#include "util.h"

typedef struct legacy_record {
    const uint8_t *key, *value;
    int32_t key_len, value_len;
    int64_t timestamp;
    int64_t offset;             /* absolute, once its wrapper is parsed */
    uint32_t crc;
} legacy_record_t;

typedef struct conversion {
    legacy_record_t *recs;
    int n, cap;
    uint8_t **inner;            /* decompressed wrapper payloads the records point into */
    int n_inner;
    int codec;                  /* the first wrapper's, 0 if none */
    size_t bytes;               /* key and value bytes so far */
    size_t limit;
    bool from_log;              /* a log's entry: a LogAppendTime wrapper's time is its records' */
    const char *reason;
} conversion_t;

static int16_t refuse(conversion_t *c, int16_t err, const char *why)
{
    c->reason = why;
    return err;
}

static void conversion_free(conversion_t *c)
{
    for (int i = 0; i < c->n_inner; i++)
        free(c->inner[i]);
    free(c->inner);
    free(c->recs);
}

/* A parsed legacy record as the log layer's record: an empty key or value
 * is present (non-NULL), a length of -1 is null. */
static batch_record_t as_batch_record(const legacy_record_t *lr)
{
    static const uint8_t empty[1];
    return (batch_record_t){
        .offset = lr->offset,
        .timestamp = lr->timestamp,
        .key = lr->key_len < 0 ? NULL : lr->key ? lr->key : empty,
        .key_len = lr->key_len,
        .value = lr->value_len < 0 ? NULL : lr->value ? lr->value : empty,
        .value_len = lr->value_len,
        .legacy_crc = lr->crc,
    };
}

static int16_t add_record(conversion_t *c, const legacy_record_t *r)
{
    c->bytes += (size_t)(r->key_len > 0 ? r->key_len : 0) +
                (size_t)(r->value_len > 0 ? r->value_len : 0) + 32;
    if (c->bytes > c->limit)
        return refuse(c, KERR_MESSAGE_TOO_LARGE, "up-converted messages exceed max.message.bytes");
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        legacy_record_t *v = realloc(c->recs, sizeof(*v) * (size_t)cap);
        if (!v)
            return refuse(c, KERR_UNKNOWN_SERVER_ERROR, "out of memory up-converting messages");
        c->recs = v;
        c->cap = cap;
    }
    c->recs[c->n++] = *r;
    return KERR_NONE;
}

/* Reads a bytes field (int32 length, -1 null) at *p; false if short. */
static bool bytes_field(const uint8_t **p, const uint8_t *end, const uint8_t **data, int32_t *len)
{
    if (end - *p < 4)
        return false;
    *len = be32_get(*p);
    *p += 4;
    if (*len < -1 || (*len > 0 && end - *p < *len))
        return false;
    *data = *len > 0 ? *p : NULL;
    *p += *len > 0 ? *len : 0;
    return true;
}

static int16_t parse_set(conversion_t *c, const uint8_t *p, size_t len, bool inner);

/* A compressed wrapper's payload: decompressed (bounded) and parsed. */
static int16_t unwrap(conversion_t *c, int codec, const uint8_t *data, int32_t len)
{
    record_stream_t *s = rstream_open(codec, data, (size_t)(len > 0 ? len : 0));
    if (!s)
        return refuse(c, KERR_CORRUPT_MESSAGE, "unknown compression codec in a message");
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    int b;
    while (buf && (b = rstream_byte(s)) >= 0) {
        if (n == cap) {
            if (cap * 2 > c->limit + 4096) {
                free(buf);
                rstream_close(s);
                return refuse(c, KERR_MESSAGE_TOO_LARGE,
                              "up-converted messages exceed max.message.bytes");
            }
            uint8_t *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        buf[n++] = (uint8_t)b;
    }
    bool failed = rstream_error(s) != NULL;
    rstream_close(s);
    if (!buf)
        return refuse(c, KERR_UNKNOWN_SERVER_ERROR, "out of memory up-converting messages");
    if (failed) {
        free(buf);
        return refuse(c, KERR_CORRUPT_MESSAGE, "corrupt compressed message");
    }
    uint8_t **v = realloc(c->inner, sizeof(*v) * (size_t)(c->n_inner + 1));
    if (!v) {
        free(buf);
        return refuse(c, KERR_UNKNOWN_SERVER_ERROR, "out of memory up-converting messages");
    }
    c->inner = v;
    c->inner[c->n_inner++] = buf;
    if (!c->codec)
        c->codec = codec;
    return parse_set(c, buf, n, true);
}

/* The records a wrapper at wrapper_offset unpacked (from first on) get
 * absolute offsets: magic 0 inner offsets are absolute already; magic 1
 * ones are relative, the wrapper's offset being the last inner one's
 * (Kafka's AbstractLegacyRecordBatch).  A magic 1 LogAppendTime wrapper's
 * timestamp is its records'. */
static void place_inner(conversion_t *c, int first, int8_t magic, int8_t attributes,
                        int64_t wrapper_offset, int64_t wrapper_ts)
{
    if (magic != 1 || c->n <= first)
        return;
    int64_t last_relative = c->recs[c->n - 1].offset;
    for (int i = first; i < c->n; i++) {
        /* Java's long arithmetic wraps on a corrupt offset; so does this. */
        c->recs[i].offset = (int64_t)((uint64_t)wrapper_offset - (uint64_t)last_relative +
                                      (uint64_t)c->recs[i].offset);
        if (c->from_log && (attributes & BATCH_ATTR_LOG_APPEND_TIME))
            c->recs[i].timestamp = wrapper_ts;
    }
}

/* One message: offset, size, crc, magic, attributes, [timestamp], key,
 * value (Kafka's LegacyRecord). */
static int16_t parse_message(conversion_t *c, const uint8_t *m, int32_t size, int64_t offset,
                             int64_t expected_offset, bool inner)
{
    const uint8_t *end = m + size;
    if (size < 14)
        return refuse(c, KERR_CORRUPT_MESSAGE, "message shorter than its header");
    if ((uint32_t)crc32(0, m + 4, (uInt)(size - 4)) != (uint32_t)be32_get(m))
        return refuse(c, KERR_CORRUPT_MESSAGE, "message CRC mismatch");
    int8_t magic = (int8_t)m[4];
    int8_t attributes = (int8_t)m[5];
    if (magic > 1)
        return refuse(c, KERR_CORRUPT_MESSAGE, "message magic is not 0 or 1");
    const uint8_t *p = m + 6;
    legacy_record_t r = { .timestamp = -1, .crc = (uint32_t)be32_get(m) };
    if (magic == 1) {
        if (end - p < 8)
            return refuse(c, KERR_CORRUPT_MESSAGE, "message shorter than its header");
        r.timestamp = be64_get(p);
        p += 8;
    }
    if (!bytes_field(&p, end, &r.key, &r.key_len) ||
        !bytes_field(&p, end, &r.value, &r.value_len) || p != end)
        return refuse(c, KERR_CORRUPT_MESSAGE, "malformed message key or value");
    int codec = attributes & 0x07;
    if (inner && codec)
        return refuse(c, KERR_INVALID_RECORD, "Compressed outer record should not have an inner "
                                              "record with a compression attribute set");
    if (inner && magic > 0 && !c->from_log && offset != expected_offset)
        return refuse(c, KERR_INVALID_RECORD, "inner record offsets are not consecutive from 0");
    if (codec) {
        int first = c->n;
        int16_t err = unwrap(c, codec, r.value, r.value_len);
        if (!err)
            place_inner(c, first, magic, attributes, offset, r.timestamp);
        return err;
    }
    r.offset = offset;
    return add_record(c, &r);
}

static int16_t parse_set(conversion_t *c, const uint8_t *p, size_t len, bool inner)
{
    size_t at = 0;
    int64_t expected = 0;
    while (at + 12 <= len) {
        int64_t offset = be64_get(p + at);
        int32_t size = be32_get(p + at + 8);
        if (size < 0 || (size_t)size > len - at - 12)
            return refuse(c, KERR_CORRUPT_MESSAGE, "truncated message");
        int16_t err = parse_message(c, p + at + 12, size, offset, expected++, inner);
        if (err)
            return err;
        at += 12 + (size_t)size;
    }
    if (at != len && !inner)
        return refuse(c, KERR_CORRUPT_MESSAGE, "truncated message");
    return c->n > 0 || inner ? KERR_NONE
                             : refuse(c, KERR_CORRUPT_MESSAGE, "empty message set");
}

static void records_section(kwriter_t *w, const conversion_t *c, int64_t base_ts)
{
    kwriter_t rec;
    kw_init(&rec);
    for (int i = 0; i < c->n; i++) {
        const legacy_record_t *r = &c->recs[i];
        kw_reset(&rec);
        kw_int8(&rec, 0);
        kw_varlong(&rec, r->timestamp - base_ts);
        kw_varint(&rec, i);
        kw_varint(&rec, r->key_len);
        if (r->key_len > 0)
            kw_raw(&rec, r->key, (size_t)r->key_len);
        kw_varint(&rec, r->value_len);
        if (r->value_len > 0)
            kw_raw(&rec, r->value, (size_t)r->value_len);
        kw_varint(&rec, 0);     /* headers */
        kw_varint(w, (int32_t)rec.len);
        kw_raw(w, rec.buf, rec.len);
    }
    kw_free(&rec);
}

static int16_t build_batch(conversion_t *c, kwriter_t *w)
{
    int64_t base_ts = c->recs[0].timestamp, max_ts = -1;
    for (int i = 0; i < c->n; i++)
        if (c->recs[i].timestamp > max_ts)
            max_ts = c->recs[i].timestamp;
    kw_int64(w, 0);             /* base offset: assigned on append */
    kw_int32(w, 0);             /* batch length, patched */
    kw_int32(w, -1);            /* partition leader epoch: set on append */
    kw_int8(w, 2);
    kw_int32(w, 0);             /* crc, patched */
    size_t crc_from = w->len;
    kw_int16(w, (int16_t)c->codec);
    kw_int32(w, c->n - 1);
    kw_int64(w, base_ts);
    kw_int64(w, max_ts);
    kw_int64(w, -1);            /* producer id */
    kw_int16(w, -1);
    kw_int32(w, -1);
    kw_int32(w, c->n);
    kwriter_t plain;
    kw_init(&plain);
    records_section(c->codec ? &plain : w, c, base_ts);
    if (c->codec) {
        uint8_t *z;
        size_t zlen;
        if (records_compress(c->codec, plain.buf, plain.len, &z, &zlen) < 0) {
            kw_free(&plain);
            return refuse(c, KERR_UNKNOWN_SERVER_ERROR, "cannot compress up-converted messages");
        }
        kw_raw(w, z, zlen);
        free(z);
    }
    kw_free(&plain);
    kw_put_int32_at(w, 8, (int32_t)(w->len - BATCH_LOG_OVERHEAD));
    kw_put_int32_at(w, 17, (int32_t)crc32c(0, w->buf + crc_from, w->len - crc_from));
    return KERR_NONE;
}

bool legacy_is_message_set(const uint8_t *p, int32_t len)
{
    return len >= 17 && p[16] < 2;
}

int16_t legacy_upconvert(const uint8_t *in, int32_t len, size_t limit, kwriter_t *out,
                         const char **reason)
{
    conversion_t c = { .limit = limit };
    int16_t err = parse_set(&c, in, (size_t)(len > 0 ? len : 0), false);
    if (!err)
        err = build_batch(&c, out);
    conversion_free(&c);
    *reason = c.reason;
    return err;
}

/* ---- legacy entries of a log's segments ---- */

#define LEGACY_V0_MIN 14            /* crc, magic, attributes, key and value lengths */
#define LEGACY_V1_MIN 22            /* and a timestamp */

int legacy_entry_header(const uint8_t *p, size_t avail, batch_header_t *h)
{
    if (avail < BATCH_LOG_OVERHEAD + 6)
        return -1;
    int8_t magic = (int8_t)p[16];
    int32_t size = be32_get(p + 8);
    int32_t min = magic == 1 ? LEGACY_V1_MIN : LEGACY_V0_MIN;
    if (magic < 0 || magic > 1 || size < min || size > INT32_MAX - BATCH_LOG_OVERHEAD ||
        (magic == 1 && avail < BATCH_LOG_OVERHEAD + LEGACY_V1_MIN - 8))
        return -1;
    memset(h, 0, sizeof(*h));
    h->base_offset = be64_get(p);
    h->size = size + BATCH_LOG_OVERHEAD;
    h->partition_leader_epoch = -1;
    h->magic = magic;
    h->crc = (uint32_t)be32_get(p + 12);
    int8_t attributes = (int8_t)p[17];
    h->attributes = (int16_t)(attributes & (BATCH_ATTR_COMPRESSION_MASK |
                                            (magic == 1 ? BATCH_ATTR_LOG_APPEND_TIME : 0)));
    h->base_timestamp = h->max_timestamp = magic == 1 ? be64_get(p + 18) : -1;
    h->producer_id = -1;
    h->producer_epoch = -1;
    h->base_sequence = -1;
    h->record_count = 1;
    return 0;
}

bool legacy_entry_crc_ok(const uint8_t *p, const batch_header_t *h)
{
    return (uint32_t)crc32(0, p + 16, (uInt)(h->size - 16)) == h->crc;
}

int legacy_foreach_record(const uint8_t *p, const batch_header_t *h,
                          void (*fn)(const batch_record_t *r, void *arg), void *arg)
{
    conversion_t c = { .limit = (size_t)INT32_MAX, .from_log = true };
    int rc = parse_set(&c, p, (size_t)h->size, false) ? -1 : 0;
    for (int i = 0; rc == 0 && i < c.n; i++) {
        batch_record_t br = as_batch_record(&c.recs[i]);
        fn(&br, arg);
    }
    conversion_free(&c);
    return rc;
}

/* ---- down-conversion (Fetch v0-v3) ---- */

typedef struct downconversion {
    kwriter_t *w;
    int8_t magic;
    int64_t first_offset;       /* uncompressed batches: records before it are dropped */
    bool log_append_time;
    int64_t wrapper_base;       /* compressed: the batch's first offset (-1: absolute) */
    bool skip_early;
    int64_t max_timestamp;
} downconversion_t;

/* One legacy message: offset, size, CRC-32 over the rest. */
static void write_message(kwriter_t *w, int8_t magic, int64_t offset, int8_t attributes,
                          int64_t timestamp, const uint8_t *key, int32_t key_len,
                          const uint8_t *value, int32_t value_len)
{
    kw_int64(w, offset);
    size_t size_at = w->len;
    kw_int32(w, 0);
    size_t crc_at = w->len;
    kw_int32(w, 0);
    kw_int8(w, magic);
    kw_int8(w, attributes);
    if (magic == 1)
        kw_int64(w, timestamp);
    kw_int32(w, key_len);
    if (key_len > 0)
        kw_raw(w, key, (size_t)key_len);
    kw_int32(w, value_len);
    if (value_len > 0)
        kw_raw(w, value, (size_t)value_len);
    if (w->err)
        return;
    kw_put_int32_at(w, size_at, (int32_t)(w->len - crc_at));
    kw_put_int32_at(w, crc_at, (int32_t)crc32(0, w->buf + crc_at + 4, (uInt)(w->len - crc_at - 4)));
}

static int8_t timestamp_attribute(const downconversion_t *d)
{
    return d->magic == 1 && d->log_append_time ? 0x08 : 0;
}

static void downconvert_record(const batch_record_t *r, void *arg)
{
    downconversion_t *d = arg;
    if (d->skip_early && r->offset < d->first_offset)
        return;
    int64_t offset = d->wrapper_base >= 0 ? r->offset - d->wrapper_base : r->offset;
    write_message(d->w, d->magic, offset, timestamp_attribute(d), r->timestamp, r->key,
                  r->key_len, r->value, r->value_len);
    d->max_timestamp = MAX(d->max_timestamp, r->timestamp);
}

/* A compressed batch: its records, compressed with its codec, as the value
 * of one wrapper message at the batch's last offset. */
static int16_t downconvert_compressed(downconversion_t *d, const uint8_t *b,
                                      const batch_header_t *h, int codec)
{
    kwriter_t inner;
    kw_init(&inner);
    downconversion_t id = *d;
    id.w = &inner;
    id.skip_early = false;
    id.wrapper_base = d->magic == 1 ? h->base_offset : -1;
    id.max_timestamp = -1;
    int16_t err = KERR_NONE;
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    if (batch_foreach_record(b, h, downconvert_record, &id) < 0 || inner.err)
        err = KERR_CORRUPT_MESSAGE;
    else if (inner.len > 0 && records_compress(codec, inner.buf, inner.len, &packed, &packed_len) < 0)
        err = KERR_CORRUPT_MESSAGE;
    if (!err && inner.len > 0) {
        int64_t ts = d->log_append_time ? h->max_timestamp : id.max_timestamp;
        write_message(d->w, d->magic, batch_last_offset(h),
                      (int8_t)(codec | timestamp_attribute(d)), ts, NULL, -1, packed,
                      (int32_t)packed_len);
    }
    free(packed);
    kw_free(&inner);
    return err;
}

int16_t legacy_downconvert(const uint8_t *in, size_t len, int8_t magic, int64_t first_offset,
                           kwriter_t *out)
{
    size_t at = 0;
    batch_header_t h;
    while (at < len && log_entry_header(in + at, len - at, &h) == 0 &&
           (size_t)h.size <= len - at) {
        const uint8_t *b = in + at;
        at += (size_t)h.size;
        if (h.attributes & BATCH_ATTR_CONTROL)
            continue;
        if (h.magic <= magic) {
            kw_raw(out, b, (size_t)h.size);    /* an older Kafka's message, already old enough */
            continue;
        }
        int codec = h.attributes & BATCH_ATTR_COMPRESSION_MASK;
        if (codec == CODEC_ZSTD)
            return KERR_UNSUPPORTED_COMPRESSION_TYPE;
        downconversion_t d = { out, magic, first_offset, (h.attributes & BATCH_ATTR_LOG_APPEND_TIME) != 0,
                               -1, true, -1 };
        int16_t err = codec == CODEC_NONE
                      ? (batch_foreach_record(b, &h, downconvert_record, &d) < 0 ? KERR_CORRUPT_MESSAGE
                                                                                 : KERR_NONE)
                      : downconvert_compressed(&d, b, &h, codec);
        if (err)
            return err;
        if (out->err)
            return KERR_UNKNOWN_SERVER_ERROR;
    }
    return KERR_NONE;
}

/* ---- a compacted legacy wrapper ---- */

int16_t legacy_rewrite_retained(const uint8_t *entry, const batch_header_t *h,
                                bool (*keep)(const batch_record_t *r, void *arg), void *arg,
                                kwriter_t *out, int32_t *kept, int32_t *total)
{
    conversion_t c = { .limit = (size_t)INT32_MAX, .from_log = true };
    int16_t err = parse_set(&c, entry, (size_t)h->size, false);
    *kept = 0;
    *total = c.n;
    bool log_append_time = h->magic == 1 && (h->attributes & BATCH_ATTR_LOG_APPEND_TIME);
    int8_t ts_attribute = log_append_time ? BATCH_ATTR_LOG_APPEND_TIME : 0;
    int64_t first = -1, last = -1, max_ts = -1;
    kwriter_t inner;
    kw_init(&inner);
    for (int i = 0; !err && i < c.n; i++) {
        const legacy_record_t *lr = &c.recs[i];
        batch_record_t br = as_batch_record(lr);
        if (!keep(&br, arg))
            continue;
        if (first < 0)
            first = lr->offset;
        last = lr->offset;
        max_ts = MAX(max_ts, lr->timestamp);
        /* Kafka's builder: magic 1 inner offsets from the first kept one,
         * magic 0 ones absolute. */
        int64_t offset = h->magic == 1 ? (int64_t)((uint64_t)lr->offset - (uint64_t)first)
                                       : lr->offset;
        write_message(&inner, h->magic, offset, ts_attribute, lr->timestamp, lr->key, lr->key_len,
                      lr->value, lr->value_len);
        (*kept)++;
    }
    int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
    if (!err && *kept > 0 && *kept < c.n && codec) {
        uint8_t *packed;
        size_t packed_len;
        if (inner.err || records_compress(codec, inner.buf, inner.len, &packed, &packed_len) < 0) {
            err = KERR_UNKNOWN_SERVER_ERROR;
        } else {
            write_message(out, h->magic, last, (int8_t)(codec | ts_attribute),
                          log_append_time ? h->max_timestamp : max_ts, NULL, -1, packed,
                          (int32_t)packed_len);
            free(packed);
            if (out->err)
                err = KERR_UNKNOWN_SERVER_ERROR;
        }
    }
    kw_free(&inner);
    conversion_free(&c);
    return err;
}
