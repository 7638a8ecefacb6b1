/*
 * record_batch.c - owns the magic-2 record batch layout: header parsing, the
 * leader's validation of produced batches and in-place offset assignment.
 *
 * Records are validated as Kafka's LogValidator does, compressed ones
 * through a decompressing stream (record_stream.h) record by record.
 *
 * Legacy magic 0/1 message sets (Produce v0-v2) are up-converted to a v2
 * batch before they get here (legacy_records.c); this file refuses them in
 * Produce v3 and later, as Kafka does.  Legacy messages already in a log
 * (written by older Kafka) are entries the log layer reads through
 * log_entry_header(); CRC checks and record walks of such an entry go to
 * legacy_records.c.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "kafka_errors.h"
#include "legacy_records.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "record_stream.h"

int batch_parse_header(const uint8_t *p, size_t avail, batch_header_t *h)
{
    if (avail < BATCH_HEADER_SIZE)
        return -1;
    h->base_offset = be64_get(p);
    int32_t batch_len = be32_get(p + 8);
    h->partition_leader_epoch = be32_get(p + 12);
    h->magic = (int8_t)p[16];
    if (h->magic != 2 || batch_len < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD ||
        batch_len > INT32_MAX - BATCH_LOG_OVERHEAD)
        return -1;
    h->size = batch_len + BATCH_LOG_OVERHEAD;
    h->crc = (uint32_t)be32_get(p + 17);
    h->attributes = be16_get(p + 21);
    h->last_offset_delta = be32_get(p + 23);
    h->base_timestamp = be64_get(p + 27);
    h->max_timestamp = be64_get(p + 35);
    h->producer_id = be64_get(p + 43);
    h->producer_epoch = be16_get(p + 51);
    h->base_sequence = be32_get(p + 53);
    h->record_count = be32_get(p + 57);
    return 0;
}

int log_entry_header(const uint8_t *p, size_t avail, batch_header_t *h)
{
    if (avail > 16 && p[16] < 2)
        return legacy_entry_header(p, avail, h);
    return batch_parse_header(p, avail, h);
}

bool batch_crc_ok(const uint8_t *p, const batch_header_t *h)
{
    if (h->magic < 2)
        return legacy_entry_crc_ok(p, h);
    return crc32c(0, p + 21, (size_t)h->size - 21) == h->crc;
}

/* Reads one record's body (after its length) as Kafka's DefaultRecord
 * does; false if it is malformed.  *has_key tells whether the key is
 * non-null; *offset_delta is the record's. */
static bool read_record_body(record_stream_t *rs, int32_t *offset_delta, bool *has_key)
{
    bool ok = true;
    if (rstream_byte(rs) < 0)                   /* attributes */
        return false;
    (void)rstream_varlong(rs, &ok);             /* timestamp delta */
    *offset_delta = rstream_varint(rs, &ok);
    int32_t klen = rstream_varint(rs, &ok);
    if (!ok || klen < -1 || (klen > 0 && rstream_skip(rs, (size_t)klen) < 0))
        return false;
    *has_key = klen >= 0;
    int32_t vlen = rstream_varint(rs, &ok);
    if (!ok || vlen < -1 || (vlen > 0 && rstream_skip(rs, (size_t)vlen) < 0))
        return false;
    int32_t nh = rstream_varint(rs, &ok);
    if (!ok || nh < 0)
        return false;
    for (int32_t i = 0; i < nh; i++) {
        int32_t hk = rstream_varint(rs, &ok);
        if (!ok || hk < 0 || rstream_skip(rs, (size_t)hk) < 0)
            return false;
        int32_t hv = rstream_varint(rs, &ok);
        if (!ok || hv < -1 || (hv > 0 && rstream_skip(rs, (size_t)hv) < 0))
            return false;
    }
    return true;
}

/* Every record of a batch: exactly record_count of them filling the batch,
 * each exactly its declared size; inner offsets dense for compressed
 * batches; keys present on compacted topics.  0 or a Kafka error code. */
static int16_t validate_records(const uint8_t *p, const batch_header_t *h, bool compacted,
                                const char **reason)
{
    int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
    record_stream_t *rs = rstream_open(codec, p + BATCH_HEADER_SIZE,
                                       (size_t)h->size - BATCH_HEADER_SIZE);
    if (!rs) {
        *reason = "out of memory validating a record batch";
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    int16_t err = KERR_NONE;
    for (int32_t i = 0; i < h->record_count && !err; i++) {
        bool ok = true, has_key = false;
        int32_t len = rstream_varint(rs, &ok), delta = -1;
        uint64_t start = rstream_consumed(rs);
        if (!ok || len < 0 || !read_record_body(rs, &delta, &has_key)) {
            /* Undecompressable data is corrupt; a stream that ends early
             * declared more records than it holds. */
            err = !codec || rstream_error(rs) ? KERR_CORRUPT_MESSAGE : KERR_INVALID_RECORD;
            *reason = rstream_error(rs) ? rstream_error(rs)
                                        : "record count or framing does not match the batch";
        } else if (rstream_consumed(rs) - start != (uint64_t)len) {
            err = KERR_INVALID_RECORD;
            *reason = "record size does not match its contents";
        } else if (codec && delta != i) {
            err = KERR_INVALID_RECORD;
            *reason = "inner record offsets are not dense";
        } else if (compacted && !has_key) {
            err = KERR_INVALID_RECORD;
            *reason = "Compacted topic cannot accept message without key";
        }
    }
    if (!err && !rstream_at_end(rs)) {
        err = codec && !rstream_error(rs) ? KERR_INVALID_RECORD : KERR_CORRUPT_MESSAGE;
        *reason = rstream_error(rs) ? rstream_error(rs)
                                    : "Incorrect declared batch size, records still remaining";
    }
    rstream_close(rs);
    return err;
}

static void fail(produce_validation_t *out, int16_t err, const char *reason)
{
    out->error = err;
    out->reason = reason;
}

void batch_validate_produce(uint8_t *buf, int32_t len, int16_t produce_version,
                            int32_t max_message_bytes, bool compacted, produce_validation_t *out)
{
    memset(out, 0, sizeof(*out));
    out->max_timestamp = -1;
    if (len <= 0)
        return fail(out, KERR_CORRUPT_MESSAGE, "empty record set");
    int32_t pos = 0;
    while (pos < len) {
        const uint8_t *p = buf + pos;
        size_t avail = (size_t)(len - pos);
        if (avail >= 17 && p[16] != 2)
            return fail(out, produce_version >= 3 ? KERR_INVALID_RECORD
                                                  : KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
                        "record batch magic is not 2 (legacy message format is not supported)");
        batch_header_t h;
        if (batch_parse_header(p, avail, &h) < 0 || (size_t)h.size > avail)
            return fail(out, KERR_CORRUPT_MESSAGE, "truncated or malformed record batch");
        if (h.size > max_message_bytes)
            return fail(out, KERR_MESSAGE_TOO_LARGE, "record batch larger than max.message.bytes");
        if (!batch_crc_ok(p, &h))
            return fail(out, KERR_CORRUPT_MESSAGE, "record batch CRC-32C mismatch");
        if (h.base_offset != 0)
            return fail(out, KERR_INVALID_RECORD, "record batch base offset is not 0");
        if (h.record_count <= 0 || h.last_offset_delta != h.record_count - 1)
            return fail(out, KERR_INVALID_RECORD, "record count does not match last offset delta");
        if (h.attributes & BATCH_ATTR_CONTROL)
            return fail(out, KERR_INVALID_RECORD, "clients may not produce control batches");
        int codec = h.attributes & BATCH_ATTR_COMPRESSION_MASK;
        if (codec > CODEC_ZSTD)
            return fail(out, KERR_CORRUPT_MESSAGE, "unknown compression codec");
        if (codec == CODEC_ZSTD && produce_version < 7)
            return fail(out, KERR_UNSUPPORTED_COMPRESSION_TYPE, "zstd needs Produce v7 or later");
        if (h.producer_id >= 0 && h.base_sequence < 0)
            return fail(out, KERR_INVALID_RECORD, "idempotent batch without a base sequence");
        if ((h.attributes & BATCH_ATTR_TRANSACTIONAL) && h.producer_id < 0)
            return fail(out, KERR_INVALID_RECORD, "transactional batch without a producer id");
        const char *why = NULL;
        int16_t rerr = validate_records(p, &h, compacted, &why);
        if (rerr)
            return fail(out, rerr, why);
        if (h.max_timestamp > out->max_timestamp) {
            out->max_timestamp = h.max_timestamp;
            out->offset_of_max_timestamp_delta = out->n_records + h.last_offset_delta;
        }
        if (out->n_batches == 0) {
            out->producer_id = h.producer_id;
            out->producer_epoch = h.producer_epoch;
            out->base_sequence = h.base_sequence;
            out->last_offset_delta = h.last_offset_delta;
            out->transactional = (h.attributes & BATCH_ATTR_TRANSACTIONAL) != 0;
        }
        out->n_records += h.record_count;
        out->n_batches++;
        pos += h.size;
    }
    if (produce_version >= 3 && out->n_batches != 1)
        return fail(out, KERR_INVALID_RECORD, "Produce v3+ must carry exactly one record batch per partition");
}

/* Parses one record (len bytes at body, after its length prefix at
 * start) into *br.  False if it is malformed. */
static bool parse_record(const batch_header_t *h, const uint8_t *start, const uint8_t *body,
                         int32_t len, batch_record_t *br)
{
    kreader_t rec;
    kr_init(&rec, (uint8_t *)body, (size_t)len, NULL);
    (void)kr_int8(&rec);                        /* attributes */
    int64_t ts_delta = kr_varlong(&rec);
    int32_t off_delta = kr_varint(&rec);
    /* Java's long arithmetic wraps; so does this (no signed overflow on
     * whatever deltas a client sent). */
    *br = (batch_record_t){ (int64_t)((uint64_t)h->base_offset + (uint64_t)(int64_t)off_delta),
                            (int64_t)((uint64_t)h->base_timestamp + (uint64_t)ts_delta),
                            NULL, -1, NULL, -1, start, (int32_t)(body + len - start), 0 };
    /* Records of a LogAppendTime batch carry the batch's time, as Kafka's
     * DefaultRecordBatch hands them out. */
    if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME)
        br->timestamp = h->max_timestamp;
    br->key_len = kr_varint(&rec);
    if (br->key_len >= 0) {
        br->key = rec.p;
        kr_skip(&rec, (size_t)br->key_len);
    }
    br->value_len = kr_varint(&rec);
    if (br->value_len >= 0) {
        br->value = rec.p;
        kr_skip(&rec, (size_t)br->value_len);
    }
    return !rec.err && br->key_len >= -1 && br->value_len >= -1;
}

/* Kafka's zig-zag varint of v into p (at most 5 bytes); its length. */
static size_t zigzag_varint(uint8_t *p, int32_t v)
{
    uint32_t u = ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
    size_t n = 0;
    while (u >= 0x80) {
        p[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    p[n++] = (uint8_t)u;
    return n;
}

/* Compressed batches: each record is read from the decompressing stream
 * into a scratch buffer (its length prefix re-encoded in front, so raw is
 * a whole record as in an uncompressed batch). */
static int foreach_compressed_record(const uint8_t *p, const batch_header_t *h,
                                     void (*fn)(const batch_record_t *r, void *arg), void *arg)
{
    record_stream_t *rs = rstream_open(h->attributes & BATCH_ATTR_COMPRESSION_MASK,
                                       p + BATCH_HEADER_SIZE, (size_t)h->size - BATCH_HEADER_SIZE);
    if (!rs)
        return -1;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int32_t i = 0; i < h->record_count && rc == 0; i++) {
        bool ok = true;
        int32_t len = rstream_varint(rs, &ok);
        size_t need = (size_t)len + 5;
        if (!ok || len < 0) {
            rc = -1;
        } else if (need > cap) {
            uint8_t *nb = realloc(buf, need);
            if (!nb)
                rc = -1;
            else
                buf = nb, cap = need;
        }
        if (rc < 0)
            break;
        size_t hdr = zigzag_varint(buf, len);
        for (int32_t j = 0; j < len && rc == 0; j++) {
            int c = rstream_byte(rs);
            if (c < 0)
                rc = -1;
            else
                buf[hdr + (size_t)j] = (uint8_t)c;
        }
        batch_record_t br;
        if (rc == 0 && !parse_record(h, buf, buf + hdr, len, &br))
            rc = -1;
        if (rc == 0)
            fn(&br, arg);
    }
    free(buf);
    rstream_close(rs);
    return rc;
}

int batch_foreach_record(const uint8_t *p, const batch_header_t *h,
                         void (*fn)(const batch_record_t *r, void *arg), void *arg)
{
    if (h->magic < 2)
        return legacy_foreach_record(p, h, fn, arg);
    if (h->attributes & BATCH_ATTR_COMPRESSION_MASK)
        return foreach_compressed_record(p, h, fn, arg);
    kreader_t r;
    kr_init(&r, (uint8_t *)p + BATCH_HEADER_SIZE, (size_t)h->size - BATCH_HEADER_SIZE, NULL);
    for (int32_t i = 0; i < h->record_count; i++) {
        const uint8_t *start = r.p;
        int32_t len = kr_varint(&r);
        if (r.err || len < 0 || (size_t)len > (size_t)(r.end - r.p))
            return -1;
        batch_record_t br;
        const uint8_t *body = r.p;
        r.p += len;
        if (!parse_record(h, start, body, len, &br))
            return -1;
        fn(&br, arg);
    }
    return 0;
}

typedef struct marker_read {
    int seen;
    int16_t type;
    int32_t coordinator_epoch;
    bool ok;
} marker_read_t;

/* Control record key: version, type; value: version, coordinator epoch. */
static void read_marker(const batch_record_t *r, void *arg)
{
    marker_read_t *m = arg;
    if (m->seen++)
        return;
    m->ok = r->key_len >= 4 && r->value_len >= 6;
    if (m->ok) {
        m->type = be16_get(r->key + 2);
        m->coordinator_epoch = be32_get(r->value + 2);
    }
}

enum { CONTROL_ABORT = 0, CONTROL_COMMIT = 1 };

int batch_txn_marker(const uint8_t *p, const batch_header_t *h, bool *commit,
                     int32_t *coordinator_epoch)
{
    marker_read_t m = { 0, -1, -1, false };
    if (batch_foreach_record(p, h, read_marker, &m) < 0 || (m.seen && !m.ok))
        return -1;
    if (!m.seen || (m.type != CONTROL_ABORT && m.type != CONTROL_COMMIT))
        return 0;
    *commit = m.type == CONTROL_COMMIT;
    *coordinator_epoch = m.coordinator_epoch;
    return 1;
}

void batch_build(struct kwriter *w, const batch_kv_t *recs, int n, int64_t now)
{
    batch_build_as(w, recs, n, now, &(batch_producer_t){ -1, -1, -1, 0 });
}

void batch_build_as(struct kwriter *w, const batch_kv_t *recs, int n, int64_t now,
                    const batch_producer_t *prod)
{
    size_t start = w->len;
    kw_int64(w, 0);             /* base offset: assigned on append */
    kw_int32(w, 0);             /* batch length, patched */
    kw_int32(w, -1);            /* partition leader epoch */
    kw_int8(w, 2);
    kw_int32(w, 0);             /* crc, patched */
    size_t crc_from = w->len;
    kw_int16(w, prod->attributes);
    kw_int32(w, n - 1);
    kw_int64(w, now);
    kw_int64(w, now);
    kw_int64(w, prod->producer_id);
    kw_int16(w, prod->producer_epoch);
    kw_int32(w, prod->base_sequence);
    kw_int32(w, n);
    kwriter_t rec;
    kw_init(&rec);
    for (int i = 0; i < n; i++) {
        kw_reset(&rec);
        kw_int8(&rec, 0);
        kw_varlong(&rec, 0);
        kw_varint(&rec, i);
        kw_varint(&rec, recs[i].key_len);
        if (recs[i].key_len > 0)
            kw_raw(&rec, recs[i].key, (size_t)recs[i].key_len);
        kw_varint(&rec, recs[i].value_len);
        if (recs[i].value_len > 0)
            kw_raw(&rec, recs[i].value, (size_t)recs[i].value_len);
        kw_varint(&rec, 0);     /* headers */
        kw_varint(w, (int32_t)rec.len);
        kw_raw(w, rec.buf, rec.len);
    }
    kw_free(&rec);
    kw_put_int32_at(w, start + 8, (int32_t)(w->len - start - BATCH_LOG_OVERHEAD));
    kw_put_int32_at(w, start + 17, (int32_t)crc32c(0, w->buf + crc_from, w->len - crc_from));
}

void batch_assign_offsets(uint8_t *buf, int32_t len, int64_t first_offset,
                          int32_t leader_epoch, bool log_append_time, int64_t now)
{
    int32_t pos = 0;
    int64_t next = first_offset;
    while (pos < len) {
        uint8_t *p = buf + pos;
        batch_header_t h;
        if (batch_parse_header(p, (size_t)(len - pos), &h) < 0)
            return; /* validated by the caller; cannot happen */
        be64_put(p, next);
        be32_put(p + 12, leader_epoch);
        if (log_append_time) {
            be16_put(p + 21, (int16_t)(h.attributes | BATCH_ATTR_LOG_APPEND_TIME));
            be64_put(p + 35, now);
            be32_put(p + 17, (int32_t)crc32c(0, p + 21, (size_t)h.size - 21));
        }
        next += h.last_offset_delta + 1;
        pos += h.size;
    }
}

void batch_build_marker(struct kwriter *w, int64_t pid, int16_t epoch, bool commit,
                        int32_t coordinator_epoch, int64_t now)
{
    uint8_t key[4] = { 0, 0, 0, commit ? CONTROL_COMMIT : CONTROL_ABORT };
    uint8_t value[6] = { 0, 0, (uint8_t)((uint32_t)coordinator_epoch >> 24),
                         (uint8_t)((uint32_t)coordinator_epoch >> 16),
                         (uint8_t)((uint32_t)coordinator_epoch >> 8), (uint8_t)coordinator_epoch };
    batch_kv_t rec = { key, sizeof(key), value, sizeof(value) };
    batch_build_as(w, &rec, 1, now,
                   &(batch_producer_t){ pid, epoch, -1,
                                        BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL });
}
