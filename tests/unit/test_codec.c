/* test_codec.c - wire primitives and generated message codecs against
 * hand-built bytes. */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_messages.h"
#include "proto_samples.h"
#include "test_helpers.h"

static void test_varints(void)
{
    int32_t vals[] = { 0, 1, -1, 63, -64, 64, 300, INT32_MAX, INT32_MIN };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        kwriter_t w;
        kw_init(&w);
        kw_varint(&w, vals[i]);
        kreader_t r;
        kr_init(&r, w.buf, w.len, NULL);
        CU_ASSERT_EQUAL(kr_varint(&r), vals[i]);
        CU_ASSERT_EQUAL(r.err, 0);
        CU_ASSERT_PTR_EQUAL(r.p, r.end);
        kw_free(&w);
    }
    /* 300 zig-zag encodes as 600 = 0xd8 0x04. */
    kwriter_t w;
    kw_init(&w);
    kw_varint(&w, 300);
    CU_ASSERT_EQUAL(w.len, 2);
    CU_ASSERT_EQUAL(w.buf[0], 0xd8);
    CU_ASSERT_EQUAL(w.buf[1], 0x04);
    kw_free(&w);
    /* Unterminated varint fails the reader. */
    uint8_t bad[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    kreader_t r;
    kr_init(&r, bad, sizeof(bad), NULL);
    (void)kr_uvarint(&r);
    CU_ASSERT_NOT_EQUAL(r.err, 0);
}

/* RequestHeader v2: client id stays an int16 string, then tagged fields. */
static void test_request_header_v2(void)
{
    uint8_t bytes[] = { 0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07,
                        0x00, 0x03, 'a', 'b', 'c', 0x00 };
    arena_t a;
    arena_init(&a);
    kreader_t r;
    kr_init(&r, bytes, sizeof(bytes), &a);
    struct request_header h;
    CU_ASSERT_EQUAL(request_header_decode(&r, 2, &h), 0);
    CU_ASSERT_EQUAL(h.request_api_key, 18);
    CU_ASSERT_EQUAL(h.request_api_version, 3);
    CU_ASSERT_EQUAL(h.correlation_id, 7);
    CU_ASSERT_TRUE(kstr_eq_cstr(h.client_id, "abc"));
    CU_ASSERT_PTR_EQUAL(r.p, r.end);
    arena_free(&a);
}

/* ApiVersionsResponse v0: error, [key min max]. */
static void test_api_versions_v0_bytes(void)
{
    arena_t a;
    arena_init(&a);
    struct api_versions_response m;
    api_versions_response_defaults(&m);
    m.error_code = 35;
    m.api_keys_count = 1;
    m.api_keys = api_versions_response_api_version_array(&a, 1);
    m.api_keys[0].api_key = 18;
    m.api_keys[0].min_version = 0;
    m.api_keys[0].max_version = 3;
    kwriter_t w;
    kw_init(&w);
    api_versions_response_encode(&w, 0, &m);
    uint8_t want[] = { 0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03 };
    CU_ASSERT_EQUAL(w.len, sizeof(want));
    CU_ASSERT_EQUAL(memcmp(w.buf, want, sizeof(want)), 0);
    /* v3 is flexible: compact array, tagged fields, throttle time. */
    kw_reset(&w);
    api_versions_response_encode(&w, 3, &m);
    uint8_t want3[] = { 0x00, 0x23, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,
                        0x00, 0x00, 0x00, 0x00, 0x00 };
    CU_ASSERT_EQUAL(w.len, sizeof(want3));
    CU_ASSERT_EQUAL(memcmp(w.buf, want3, sizeof(want3)), 0);
    kw_free(&w);
    arena_free(&a);
}

/* Produce v3 request from hand-built bytes; records point into the frame. */
static void test_produce_v3_decode(void)
{
    kwriter_t w;
    kw_init(&w);
    kw_int16(&w, -1);                 /* transactional id: null */
    kw_int16(&w, 1);                  /* acks */
    kw_int32(&w, 30000);              /* timeout */
    kw_int32(&w, 1);                  /* topics */
    kw_int16(&w, 3);
    kw_raw(&w, "foo", 3);
    kw_int32(&w, 1);                  /* partitions */
    kw_int32(&w, 2);
    kw_int32(&w, 4);
    kw_raw(&w, "ABCD", 4);
    arena_t a;
    arena_init(&a);
    kreader_t r;
    kr_init(&r, w.buf, w.len, &a);
    struct produce_request m;
    CU_ASSERT_EQUAL(produce_request_decode(&r, 3, &m), 0);
    CU_ASSERT_EQUAL(m.transactional_id.len, -1);
    CU_ASSERT_EQUAL(m.acks, 1);
    CU_ASSERT_EQUAL(m.topic_data_count, 1);
    CU_ASSERT_TRUE(kstr_eq_cstr(m.topic_data[0].name, "foo"));
    CU_ASSERT_EQUAL(m.topic_data[0].partition_data[0].index, 2);
    CU_ASSERT_EQUAL(m.topic_data[0].partition_data[0].records.len, 4);
    CU_ASSERT_PTR_EQUAL(m.topic_data[0].partition_data[0].records.ptr, w.buf + w.len - 4);
    /* Truncated by one byte: the decoder must fail, not read past the end. */
    kr_init(&r, w.buf, w.len - 1, &a);
    CU_ASSERT_EQUAL(produce_request_decode(&r, 3, &m), -1);
    /* A hostile array count cannot allocate beyond the frame. */
    kw_put_int32_at(&w, 8, 0x7fffffff);
    kr_init(&r, w.buf, w.len, &a);
    CU_ASSERT_EQUAL(produce_request_decode(&r, 3, &m), -1);
    arena_free(&a);
    kw_free(&w);
}

/* Flexible round trip with tagged fields (FetchResponse v12 CurrentLeader)
 * and a spliced file region. */
static void test_fetch_response_v12_roundtrip(void)
{
    arena_t a;
    arena_init(&a);
    struct fetch_response m;
    fetch_response_defaults(&m);
    m.responses_count = 1;
    m.responses = fetch_response_fetchable_topic_response_array(&a, 1);
    m.responses[0].topic = kstr_from_cstr("t");
    m.responses[0].partitions_count = 1;
    m.responses[0].partitions = fetch_response_partition_data_array(&a, 1);
    struct fetch_response_partition_data *p = &m.responses[0].partitions[0];
    p->high_watermark = 42;
    p->has_current_leader = true;
    p->current_leader.leader_id = 3;
    p->current_leader.leader_epoch = 9;
    p->aborted_transactions_count = -1;
    uint8_t recs[5] = { 1, 2, 3, 4, 5 };
    p->records = (krecords_t){ recs, 5, -1, 0 };
    kwriter_t w;
    kw_init(&w);
    fetch_response_encode(&w, 12, &m);
    kreader_t r;
    kr_init(&r, w.buf, w.len, &a);
    struct fetch_response d;
    CU_ASSERT_EQUAL(fetch_response_decode(&r, 12, &d), 0);
    CU_ASSERT_PTR_EQUAL(r.p, r.end);
    struct fetch_response_partition_data *dp = &d.responses[0].partitions[0];
    CU_ASSERT_EQUAL(dp->high_watermark, 42);
    CU_ASSERT_TRUE(dp->has_current_leader);
    CU_ASSERT_EQUAL(dp->current_leader.leader_id, 3);
    CU_ASSERT_EQUAL(dp->current_leader.leader_epoch, 9);
    CU_ASSERT_FALSE(dp->has_diverging_epoch);
    CU_ASSERT_EQUAL(dp->aborted_transactions_count, -1);
    CU_ASSERT_EQUAL(dp->records.len, 5);
    CU_ASSERT_EQUAL(memcmp(dp->records.ptr, recs, 5), 0);
    /* A file-backed records field becomes a splice, not a copy, on a
     * descriptor of the writer's own (the segment may close first). */
    kw_reset(&w);
    int fd = open("/dev/null", O_RDONLY);
    CU_ASSERT_TRUE(fd >= 0);
    p->records = (krecords_t){ NULL, 1000, fd, 4096 };
    fetch_response_encode(&w, 12, &m);
    CU_ASSERT_EQUAL(w.nsplices, 1);
    CU_ASSERT_EQUAL(w.err, 0);
    int owned = w.nsplices == 1 ? w.splices[0].fd : -1;
    struct stat a_st, b_st;
    CU_ASSERT_TRUE(owned >= 0 && owned != fd);
    close(fd);      /* the segment goes away; the splice still names the file */
    CU_ASSERT_EQUAL(fstat(owned, &b_st), 0);
    CU_ASSERT_EQUAL(stat("/dev/null", &a_st), 0);
    CU_ASSERT_EQUAL(a_st.st_rdev, b_st.st_rdev);
    CU_ASSERT_EQUAL(w.nsplices == 1 ? w.splices[0].off : -1, 4096);
    CU_ASSERT_EQUAL(kw_total(&w), (int64_t)w.len + 1000);
    kw_free(&w);
    CU_ASSERT_EQUAL(fcntl(owned, F_GETFD), -1);    /* closed with the writer */
    arena_free(&a);
}

/* Metadata v0 vs v1: v1 can carry a null topic list. */
static void test_metadata_versions(void)
{
    arena_t a;
    arena_init(&a);
    uint8_t v1null[] = { 0xff, 0xff, 0xff, 0xff };
    kreader_t r;
    kr_init(&r, v1null, sizeof(v1null), &a);
    struct metadata_request m;
    CU_ASSERT_EQUAL(metadata_request_decode(&r, 1, &m), 0);
    CU_ASSERT_EQUAL(m.topics_count, -1);
    kr_init(&r, v1null, sizeof(v1null), &a);
    CU_ASSERT_EQUAL(metadata_request_decode(&r, 0, &m), -1); /* not nullable in v0 */
    arena_free(&a);
}

/* Every generated message at every version: a sample with every field set
 * encodes, decodes back consuming exactly its bytes, and re-encodes to the
 * same bytes. */
static void test_all_messages_round_trip(void)
{
    int checked = 0;
    for (int i = 0; i < proto_message_table_count; i++) {
        const proto_message_info_t *mi = &proto_message_table[i];
        for (int16_t v = mi->min_version; v <= mi->max_version; v++) {
            arena_t a;
            arena_init(&a);
            void *m = arena_alloc(&a, mi->size);
            void *d = arena_alloc(&a, mi->size);
            proto_sample_table[i](&a, m);
            kwriter_t w1, w2;
            kw_init(&w1);
            kw_init(&w2);
            mi->encode(&w1, v, m);
            kreader_t r;
            kr_init(&r, w1.buf, w1.len, &a);
            int rc = mi->decode(&r, v, d);
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_PTR_EQUAL(r.p, r.end);
            mi->encode(&w2, v, d);
            CU_ASSERT_EQUAL(w1.len, w2.len);
            if (w1.len == w2.len && w1.len > 0)
                CU_ASSERT_EQUAL(memcmp(w1.buf, w2.buf, w1.len), 0);
            if (rc != 0 || w1.len != w2.len)
                fprintf(stderr, "round trip failed: %s v%d\n", mi->name, v);
            /* Any truncation must be detected, never read out of bounds. */
            for (size_t cut = 0; cut < w1.len; cut += 1 + w1.len / 16) {
                kr_init(&r, w1.buf, cut, &a);
                (void)mi->decode(&r, v, d);
                CU_ASSERT_TRUE(r.err != 0 || r.p <= r.end);
            }
            kw_free(&w1);
            kw_free(&w2);
            arena_free(&a);
            checked++;
        }
    }
    CU_ASSERT_TRUE(checked > 100);
}

/* Fills buf with one of several hostile patterns: huge int32 counts, huge
 * compact counts, dense small counts, pseudo-random bytes. */
static void hostile_fill(uint8_t *buf, size_t len, int pattern)
{
    uint32_t x = 2463534242u + (uint32_t)pattern;
    for (size_t i = 0; i < len; i++) {
        switch (pattern) {
        case 0: buf[i] = 0x7f; break;
        case 1: buf[i] = (uint8_t)((i % 4 == 2) ? 0x10 : 0x00); break;
        case 2: buf[i] = 0x01; break;
        case 3: buf[i] = (uint8_t)((i % 2) ? 0x02 : 0x00); break;
        case 4: case 5: case 6: case 7: {
            /* int32 0x0000ff00 at every alignment: a count just under len */
            static const uint8_t w[4] = { 0x00, 0x00, 0xff, 0x00 };
            buf[i] = w[(i + (size_t)pattern) % 4];
            break;
        }
        case 8: case 9: case 10: {
            /* uvarint 65536 (compact count 65535) at every alignment */
            static const uint8_t w[3] = { 0x80, 0x80, 0x04 };
            buf[i] = w[(i + (size_t)pattern) % 3];
            break;
        }
        default:
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (uint8_t)x;
            break;
        }
    }
}

/* Decoding any bytes allocates O(input): array counts the remaining bytes
 * cannot hold are refused before allocating (the generator knows every
 * struct's smallest encoding), so no frame can make the decoder allocate
 * count x sizeof(struct) for a count it invented. */
static void test_decode_memory_bounded(void)
{
    enum { LEN = 1 << 16, PATTERNS = 12 };
    /* 16: a compact string is one byte on the wire and a kstr_t in memory. */
    const size_t bound = 17 * (size_t)LEN + 65536;
    uint8_t *buf = malloc(LEN);
    size_t worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < proto_message_table_count; i++) {
        const proto_message_info_t *mi = &proto_message_table[i];
        for (int16_t v = mi->min_version; v <= mi->max_version; v++) {
            for (int pat = 0; pat < PATTERNS; pat++) {
                hostile_fill(buf, LEN, pat);
                arena_t a;
                arena_init(&a);
                void *m = malloc(mi->size);
                kreader_t r;
                kr_init(&r, buf, LEN, &a);
                (void)mi->decode(&r, v, m);
                CU_ASSERT_TRUE(r.p <= r.end);
                if (a.total > worst) {
                    worst = a.total;
                    worst_name = mi->name;
                }
                if (a.total > bound)
                    fprintf(stderr, "%s v%d pattern %d allocated %zu bytes from %d\n", mi->name,
                            v, pat, a.total, LEN);
                CU_ASSERT_TRUE(a.total <= bound);
                free(m);
                arena_free(&a);
            }
        }
    }
    fprintf(stderr, "  largest decode allocation: %zu bytes for a %d-byte frame (%s)\n", worst,
            LEN, worst_name);
    free(buf);
}

void register_codec_tests(void)
{
    CU_pSuite s = CU_add_suite("codec", NULL, NULL);
    CU_add_test(s, "varints", test_varints);
    CU_add_test(s, "request header v2", test_request_header_v2);
    CU_add_test(s, "ApiVersions v0/v3 bytes", test_api_versions_v0_bytes);
    CU_add_test(s, "Produce v3 decode", test_produce_v3_decode);
    CU_add_test(s, "Fetch v12 round trip", test_fetch_response_v12_roundtrip);
    CU_add_test(s, "Metadata nullable topics", test_metadata_versions);
    CU_add_test(s, "every message and version round-trips", test_all_messages_round_trip);
    CU_add_test(s, "decoding hostile bytes allocates O(frame)", test_decode_memory_bounded);
}
