/* test_batch.c - CRC-32C vectors and the leader's batch validation. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "kafka_errors.h"
#include "legacy_records.h"
#include "record_batch.h"
#include "record_compress.h"
#include "record_stream.h"
#include "test_helpers.h"

static void test_crc32c_vectors(void)
{
    CU_ASSERT_EQUAL(crc32c(0, "123456789", 9), 0xe3069283u);
    uint8_t zeros[32] = { 0 };
    CU_ASSERT_EQUAL(crc32c(0, zeros, 32), 0x8a9136aau);   /* RFC 3720 B.4 */
    uint8_t ones[32];
    memset(ones, 0xff, sizeof(ones));
    CU_ASSERT_EQUAL(crc32c(0, ones, 32), 0x62a8ab43u);
    /* Incremental equals one-shot. */
    CU_ASSERT_EQUAL(crc32c(crc32c(0, "12345", 5), "6789", 4), 0xe3069283u);
}

static void test_valid_batch(void)
{
    kwriter_t w;
    kw_init(&w);
    int32_t size = build_batch(&w, 5, 1700000000000LL);
    produce_validation_t v;
    batch_validate_produce(w.buf, size, 7, 1048588, false, &v);
    CU_ASSERT_EQUAL(v.error, 0);
    CU_ASSERT_EQUAL(v.n_batches, 1);
    CU_ASSERT_EQUAL(v.n_records, 5);
    CU_ASSERT_EQUAL(v.max_timestamp, 1700000000004LL);
    batch_assign_offsets(w.buf, size, 1000, 7, false, 0);
    batch_header_t h;
    CU_ASSERT_EQUAL(batch_parse_header(w.buf, (size_t)size, &h), 0);
    CU_ASSERT_EQUAL(h.base_offset, 1000);
    CU_ASSERT_EQUAL(batch_last_offset(&h), 1004);
    CU_ASSERT_EQUAL(h.partition_leader_epoch, 7);
    CU_ASSERT_TRUE(batch_crc_ok(w.buf, &h));  /* epoch and offset are outside the CRC */
    /* LogAppendTime rewrites maxTimestamp and the CRC. */
    batch_assign_offsets(w.buf, size, 1000, 7, true, 1800000000000LL);
    CU_ASSERT_EQUAL(batch_parse_header(w.buf, (size_t)size, &h), 0);
    CU_ASSERT_EQUAL(h.max_timestamp, 1800000000000LL);
    CU_ASSERT_TRUE(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
    CU_ASSERT_TRUE(batch_crc_ok(w.buf, &h));
    kw_free(&w);
}

static void test_invalid_batches(void)
{
    kwriter_t w;
    kw_init(&w);
    int32_t size = build_batch(&w, 3, 1);
    produce_validation_t v;
    /* CRC mismatch */
    w.buf[size - 1] ^= 0x01;
    batch_validate_produce(w.buf, size, 7, 1048588, false, &v);
    CU_ASSERT_EQUAL(v.error, KERR_CORRUPT_MESSAGE);
    w.buf[size - 1] ^= 0x01;
    /* Too large for max.message.bytes */
    batch_validate_produce(w.buf, size, 7, size - 1, false, &v);
    CU_ASSERT_EQUAL(v.error, KERR_MESSAGE_TOO_LARGE);
    /* Truncated */
    batch_validate_produce(w.buf, size - 10, 7, 1048588, false, &v);
    CU_ASSERT_EQUAL(v.error, KERR_CORRUPT_MESSAGE);
    /* Base offset set by a client */
    w.buf[7] = 5;
    batch_validate_produce(w.buf, size, 7, 1048588, false, &v);
    CU_ASSERT_EQUAL(v.error, KERR_INVALID_RECORD);
    w.buf[7] = 0;
    /* Legacy magic on Produce v3+ */
    w.buf[16] = 1;
    batch_validate_produce(w.buf, size, 7, 1048588, false, &v);
    CU_ASSERT_EQUAL(v.error, KERR_INVALID_RECORD);
    w.buf[16] = 2;
    /* Two batches in a v3+ request */
    build_batch(&w, 2, 1);
    batch_validate_produce(w.buf, (int32_t)w.len, 7, 1048588, false, &v);
    CU_ASSERT_EQUAL(v.error, KERR_INVALID_RECORD);
    batch_validate_produce(w.buf, (int32_t)w.len, 2, 1048588, false, &v);
    CU_ASSERT_EQUAL(v.error, 0);
    CU_ASSERT_EQUAL(v.n_records, 5);
    kw_free(&w);
}

/* Every codec's output reads back through the decompressing stream the
 * produce path uses (so Kafka's framings: gzip, xerial snappy with several
 * blocks, lz4 frame, zstd). */
static void test_compress_round_trip(void)
{
    size_t len = 100000;
    uint8_t *in = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    for (size_t i = 0; i < len; i++)
        in[i] = (uint8_t)((i * 7) % 251 < 30 ? i : 'a' + i % 5);
    for (int codec = CODEC_GZIP; codec <= CODEC_ZSTD; codec++) {
        uint8_t *z = NULL;
        size_t zlen = 0;
        CU_ASSERT_EQUAL_FATAL(records_compress(codec, in, len, &z, &zlen), 0);
        CU_ASSERT_TRUE(zlen > 0 && zlen < len);
        record_stream_t *rs = rstream_open(codec, z, zlen);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
        size_t same = 0;
        int c;
        while ((c = rstream_byte(rs)) >= 0 && same < len && c == in[same])
            same++;
        CU_ASSERT_EQUAL(same, len);
        CU_ASSERT_PTR_NULL(rstream_error(rs));
        CU_ASSERT_TRUE(rstream_at_end(rs));
        rstream_close(rs);
        free(z);
    }
    CU_ASSERT_EQUAL(records_compress(9, in, len, NULL, NULL), -1);
    free(in);
}

/* One legacy message (offset, size, crc, magic, attributes, [ts], key,
 * value) appended to buf at *len; a length of -1 is null. */
static void legacy_message_raw(uint8_t *buf, size_t *len, int64_t offset, int8_t magic,
                               int8_t attributes, int64_t ts, const char *key, int32_t key_len,
                               const uint8_t *value, int32_t value_len)
{
    uint8_t m[1024];
    size_t n = 4;
    m[n++] = (uint8_t)magic;
    m[n++] = (uint8_t)attributes;
    if (magic == 1)
        for (int i = 7; i >= 0; i--)
            m[n++] = (uint8_t)(ts >> (8 * i));
    const uint8_t *fields[2] = { (const uint8_t *)key, value };
    int32_t lens[2] = { key_len, value_len };
    for (int f = 0; f < 2; f++) {
        for (int i = 3; i >= 0; i--)
            m[n++] = (uint8_t)((uint32_t)lens[f] >> (8 * i));
        if (lens[f] > 0) {
            memcpy(m + n, fields[f], (size_t)lens[f]);
            n += (size_t)lens[f];
        }
    }
    uint32_t crc = (uint32_t)crc32(0, m + 4, (uInt)(n - 4));
    for (int i = 0; i < 4; i++)
        m[i] = (uint8_t)(crc >> (24 - 8 * i));
    for (int i = 7; i >= 0; i--)
        buf[(*len)++] = (uint8_t)(offset >> (8 * i));
    for (int i = 3; i >= 0; i--)
        buf[(*len)++] = (uint8_t)((uint32_t)n >> (8 * i));
    memcpy(buf + *len, m, n);
    *len += n;
}

static void legacy_message(uint8_t *buf, size_t *len, int64_t offset, int8_t magic,
                           int64_t ts, const char *key, const char *value)
{
    legacy_message_raw(buf, len, offset, magic, 0, ts, key, key ? (int32_t)strlen(key) : -1,
                       (const uint8_t *)value, value ? (int32_t)strlen(value) : -1);
}

typedef struct seen {
    int n;
    char keys[4][16];
    int64_t ts[4];
} seen_t;

static void note_record(const batch_record_t *r, void *arg)
{
    seen_t *s = arg;
    if (s->n < 4) {
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%.*s", r->key_len > 0 ? r->key_len : 0,
                 (const char *)r->key);
        s->ts[s->n] = r->timestamp;
    }
    s->n++;
}

static void test_legacy_upconversion(void)
{
    uint8_t set[1024];
    size_t len = 0;
    legacy_message(set, &len, 0, 1, 1700000000000LL, "a", "v1");
    legacy_message(set, &len, 1, 1, 1700000000005LL, NULL, "v2");
    legacy_message(set, &len, 2, 1, 1700000000002LL, "c", "v3");
    CU_ASSERT_TRUE(legacy_is_message_set(set, (int32_t)len));
    kwriter_t w;
    kw_init(&w);
    const char *why;
    CU_ASSERT_EQUAL_FATAL(legacy_upconvert(set, (int32_t)len, 1 << 20, &w, &why), 0);
    batch_header_t h;
    CU_ASSERT_EQUAL_FATAL(batch_parse_header(w.buf, w.len, &h), 0);
    CU_ASSERT_TRUE(batch_crc_ok(w.buf, &h));
    CU_ASSERT_EQUAL(h.record_count, 3);
    CU_ASSERT_EQUAL(h.max_timestamp, 1700000000005LL);
    CU_ASSERT_EQUAL(h.producer_id, -1);
    CU_ASSERT_FALSE(legacy_is_message_set(w.buf, (int32_t)w.len));
    seen_t s = { 0 };
    CU_ASSERT_EQUAL(batch_foreach_record(w.buf, &h, note_record, &s), 0);
    CU_ASSERT_EQUAL(s.n, 3);
    CU_ASSERT_STRING_EQUAL(s.keys[0], "a");
    CU_ASSERT_STRING_EQUAL(s.keys[2], "c");
    CU_ASSERT_EQUAL(s.ts[2], 1700000000002LL);
    kw_free(&w);
    /* magic 0: no timestamps */
    len = 0;
    legacy_message(set, &len, 0, 0, 0, "k", "v");
    kw_init(&w);
    CU_ASSERT_EQUAL_FATAL(legacy_upconvert(set, (int32_t)len, 1 << 20, &w, &why), 0);
    CU_ASSERT_EQUAL(batch_parse_header(w.buf, w.len, &h), 0);
    CU_ASSERT_EQUAL(h.max_timestamp, -1);
    kw_free(&w);
    /* a flipped byte fails the CRC; a cut one is truncated; the limit holds */
    set[len - 1] ^= 1;
    kw_init(&w);
    CU_ASSERT_EQUAL(legacy_upconvert(set, (int32_t)len, 1 << 20, &w, &why),
                    KERR_CORRUPT_MESSAGE);
    set[len - 1] ^= 1;
    CU_ASSERT_EQUAL(legacy_upconvert(set, (int32_t)len - 1, 1 << 20, &w, &why),
                    KERR_CORRUPT_MESSAGE);
    CU_ASSERT_EQUAL(legacy_upconvert(set, (int32_t)len, 8, &w, &why), KERR_MESSAGE_TOO_LARGE);
    kw_free(&w);
}

/* Record batches down to magic 1 and 0 (Fetch v0-v3): one message per
 * record from the fetch offset on, exactly as a legacy producer writes
 * them; a control batch and a partial trailing batch are dropped. */
static void test_legacy_downconversion(void)
{
    const int64_t now = 1700000000000LL;
    batch_kv_t recs[3] = { { (const uint8_t *)"a", 1, (const uint8_t *)"v1", 2 },
                           { (const uint8_t *)"b", 1, (const uint8_t *)"v2", 2 },
                           { NULL, -1, (const uint8_t *)"v3", 2 } };
    kwriter_t log;
    kw_init(&log);
    batch_build(&log, recs, 3, now);
    batch_assign_offsets(log.buf, (int32_t)log.len, 10, 0, false, now);
    size_t first_len = log.len;
    batch_build_marker(&log, 7, 0, true, 0, now);
    batch_assign_offsets(log.buf + first_len, (int32_t)(log.len - first_len), 13, 0, false, now);
    size_t whole = log.len;
    batch_build(&log, recs, 1, now);       /* cut short below */
    for (int8_t magic = 0; magic <= 1; magic++) {
        uint8_t want[512];
        size_t want_len = 0;
        legacy_message(want, &want_len, 11, magic, now, "b", "v2");
        legacy_message(want, &want_len, 12, magic, now, NULL, "v3");
        kwriter_t out;
        kw_init(&out);
        CU_ASSERT_EQUAL(legacy_downconvert(log.buf, whole + 20, magic, 11, &out), 0);
        CU_ASSERT_EQUAL(out.len, want_len);
        CU_ASSERT_EQUAL(memcmp(out.buf, want, want_len), 0);
        kw_free(&out);
    }
    /* Corrupt records are refused, not read past. */
    kwriter_t out;
    kw_init(&out);
    log.buf[first_len - 5] = 0x7f;
    CU_ASSERT_EQUAL(legacy_downconvert(log.buf, first_len, 1, 0, &out), KERR_CORRUPT_MESSAGE);
    kw_free(&out);
    kw_free(&log);
}

typedef struct placed {
    int n;
    int64_t offsets[4], ts[4];
} placed_t;

static void note_offset(const batch_record_t *r, void *arg)
{
    placed_t *p = arg;
    if (p->n < 4) {
        p->offsets[p->n] = r->offset;
        p->ts[p->n] = r->timestamp;
    }
    p->n++;
}

static bool keep_not_b(const batch_record_t *r, void *arg)
{
    (void)arg;
    return !(r->key_len == 1 && r->key[0] == 'b');
}

/* Entries an older Kafka wrote, as the log layer reads them: a magic 1
 * gzip wrapper whose inner offsets have gaps (a cleaned wrapper) gives
 * absolute offsets ending at the wrapper's, with the wrapper's
 * LogAppendTime; the smallest magic 0 message parses; a flipped byte
 * fails the CRC; a partial header is refused. */
static void test_legacy_log_entries(void)
{
    uint8_t inner[512], entry[1024];
    size_t inner_len = 0, len = 0;
    legacy_message(inner, &inner_len, 0, 1, 5, "a", "1");
    legacy_message(inner, &inner_len, 2, 1, 6, "b", "2");
    legacy_message(inner, &inner_len, 5, 1, 7, "c", "3");
    uint8_t *z;
    size_t zlen;
    CU_ASSERT_EQUAL_FATAL(records_compress(CODEC_GZIP, inner, inner_len, &z, &zlen), 0);
    legacy_message_raw(entry, &len, 105, 1, CODEC_GZIP | BATCH_ATTR_LOG_APPEND_TIME, 99, NULL, -1,
                       z, (int32_t)zlen);
    free(z);
    batch_header_t h;
    CU_ASSERT_EQUAL_FATAL(log_entry_header(entry, len, &h), 0);
    CU_ASSERT_EQUAL(h.magic, 1);
    CU_ASSERT_EQUAL(h.size, (int32_t)len);
    CU_ASSERT_EQUAL(batch_last_offset(&h), 105);
    CU_ASSERT_EQUAL(h.max_timestamp, 99);
    CU_ASSERT_EQUAL(h.producer_id, -1);
    CU_ASSERT_EQUAL(h.partition_leader_epoch, -1);
    CU_ASSERT_EQUAL(h.attributes, CODEC_GZIP | BATCH_ATTR_LOG_APPEND_TIME);
    CU_ASSERT_TRUE(batch_crc_ok(entry, &h));
    placed_t p = { 0 };
    CU_ASSERT_EQUAL(batch_foreach_record(entry, &h, note_offset, &p), 0);
    CU_ASSERT_EQUAL_FATAL(p.n, 3);
    CU_ASSERT_EQUAL(p.offsets[0], 100);
    CU_ASSERT_EQUAL(p.offsets[1], 102);
    CU_ASSERT_EQUAL(p.offsets[2], 105);
    CU_ASSERT_EQUAL(p.ts[0], 99);
    /* The cleaner keeps a and c: a new wrapper at c's offset. */
    kwriter_t w;
    kw_init(&w);
    int32_t kept, total;
    CU_ASSERT_EQUAL(legacy_rewrite_retained(entry, &h, keep_not_b, NULL, &w, &kept, &total), 0);
    CU_ASSERT_EQUAL(kept, 2);
    CU_ASSERT_EQUAL(total, 3);
    batch_header_t rh;
    CU_ASSERT_EQUAL_FATAL(log_entry_header(w.buf, w.len, &rh), 0);
    CU_ASSERT_EQUAL(rh.size, (int32_t)w.len);
    CU_ASSERT_EQUAL(batch_last_offset(&rh), 105);
    CU_ASSERT_EQUAL(rh.attributes, CODEC_GZIP | BATCH_ATTR_LOG_APPEND_TIME);
    CU_ASSERT_EQUAL(rh.max_timestamp, 99);
    CU_ASSERT_TRUE(batch_crc_ok(w.buf, &rh));
    placed_t q = { 0 };
    CU_ASSERT_EQUAL(batch_foreach_record(w.buf, &rh, note_offset, &q), 0);
    CU_ASSERT_EQUAL_FATAL(q.n, 2);
    CU_ASSERT_EQUAL(q.offsets[0], 100);
    CU_ASSERT_EQUAL(q.offsets[1], 105);
    kw_free(&w);
    entry[len - 1] ^= 1;
    CU_ASSERT_FALSE(batch_crc_ok(entry, &h));
    len = 0;
    legacy_message(entry, &len, 7, 0, 0, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(len, LOG_ENTRY_MIN_SIZE);
    CU_ASSERT_EQUAL_FATAL(log_entry_header(entry, len, &h), 0);
    CU_ASSERT_EQUAL(h.base_offset, 7);
    CU_ASSERT_EQUAL(h.max_timestamp, -1);
    CU_ASSERT_TRUE(batch_crc_ok(entry, &h));
    CU_ASSERT_EQUAL(log_entry_header(entry, 17, &h), -1);
    CU_ASSERT_EQUAL(batch_parse_header(entry, len, &h), -1);   /* never a produced batch */
}

void register_batch_tests(void)
{
    CU_pSuite s = CU_add_suite("record batch", NULL, NULL);
    CU_add_test(s, "CRC-32C vectors", test_crc32c_vectors);
    CU_add_test(s, "valid batch and offset assignment", test_valid_batch);
    CU_add_test(s, "invalid batches", test_invalid_batches);
    CU_add_test(s, "compression round trips", test_compress_round_trip);
    CU_add_test(s, "legacy message sets up-converted", test_legacy_upconversion);
    CU_add_test(s, "record batches down-converted", test_legacy_downconversion);
    CU_add_test(s, "legacy messages read from a log", test_legacy_log_entries);
}
