/* test_groups.c - __consumer_offsets partitioning and record bytes against
 * the reference vectors. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "offsets_topic.h"
#include "test_helpers.h"

static void test_java_hash(void)
{
    CU_ASSERT_EQUAL(java_string_hash("hello", 5), 99162322);
    CU_ASSERT_EQUAL(java_string_hash("polygenelubricants", 18), INT32_MIN);
    CU_ASSERT_EQUAL(java_string_hash("my-group", 8), -1906497762);
    /* Non-ASCII: "é" is one UTF-16 unit (0xe9); U+1F600 is a surrogate pair. */
    CU_ASSERT_EQUAL(java_string_hash("\xc3\xa9", 2), 0xe9);
    CU_ASSERT_EQUAL(java_string_hash("\xf0\x9f\x98\x80", 4), 0xd83d * 31 + 0xde00);
    CU_ASSERT_EQUAL(offsets_partition_for("hello", 5, 50), 22);
    CU_ASSERT_EQUAL(offsets_partition_for("a", 1, 50), 47);
    CU_ASSERT_EQUAL(offsets_partition_for("", 0, 50), 0);
    CU_ASSERT_EQUAL(offsets_partition_for("polygenelubricants", 18, 50), 0);
    CU_ASSERT_EQUAL(offsets_partition_for("test-group", 10, 50), 12);
    CU_ASSERT_EQUAL(offsets_partition_for("my-group", 8, 50), 12);
}

static void test_record_bytes(void)
{
    kwriter_t w;
    kw_init(&w);
    offsets_encode_commit_key(&w, "g", "t", 0);
    uint8_t key[] = { 0x00, 0x01, 0x00, 0x01, 0x67, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00, 0x00 };
    CU_ASSERT_EQUAL(w.len, sizeof(key));
    CU_ASSERT_EQUAL(memcmp(w.buf, key, sizeof(key)), 0);
    kw_reset(&w);
    offsets_encode_commit_value(&w, 42, 5, KSTR_LIT(""), 1700000000000LL);
    uint8_t val[] = { 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00,
                      0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00 };
    CU_ASSERT_EQUAL(w.len, sizeof(val));
    CU_ASSERT_EQUAL(memcmp(w.buf, val, sizeof(val)), 0);
    kw_reset(&w);
    offsets_encode_group_key(&w, "g");
    uint8_t gk[] = { 0x00, 0x02, 0x00, 0x01, 0x67 };
    CU_ASSERT_EQUAL(w.len, sizeof(gk));
    CU_ASSERT_EQUAL(memcmp(w.buf, gk, sizeof(gk)), 0);
    kw_free(&w);
}

static void collect(const batch_record_t *r, void *arg)
{
    arena_t *a = arg;
    offsets_record_t rec;
    CU_ASSERT_EQUAL(offsets_record_decode(r, a, &rec), 0);
    if (rec.kind == OREC_OFFSET && !rec.tombstone) {
        CU_ASSERT_TRUE(kstr_eq_cstr(rec.okey.group, "grp"));
        CU_ASSERT_EQUAL(rec.oval.offset, 42);
        CU_ASSERT_TRUE(kstr_eq_cstr(rec.oval.metadata, "meta"));
    } else {
        CU_ASSERT_EQUAL(rec.kind, OREC_GROUP);
        CU_ASSERT_TRUE(rec.tombstone);
    }
}

/* A batch the coordinator builds reads back through the record iterator. */
static void test_batch_round_trip(void)
{
    kwriter_t k1, v1, k2, b;
    kw_init(&k1);
    kw_init(&v1);
    kw_init(&k2);
    kw_init(&b);
    offsets_encode_commit_key(&k1, "grp", "topic", 3);
    offsets_encode_commit_value(&v1, 42, -1, KSTR_LIT("meta"), 1);
    offsets_encode_group_key(&k2, "grp");
    batch_kv_t recs[2] = { { k1.buf, (int32_t)k1.len, v1.buf, (int32_t)v1.len },
                           { k2.buf, (int32_t)k2.len, NULL, -1 } };
    batch_build(&b, recs, 2, 1700000000000LL);
    batch_header_t h;
    CU_ASSERT_EQUAL_FATAL(batch_parse_header(b.buf, b.len, &h), 0);
    CU_ASSERT_TRUE(batch_crc_ok(b.buf, &h));
    CU_ASSERT_EQUAL(h.record_count, 2);
    produce_validation_t val;
    batch_validate_produce(b.buf, (int32_t)b.len, 9, 1 << 20, false, &val);
    CU_ASSERT_EQUAL(val.error, 0);
    arena_t a;
    arena_init(&a);
    CU_ASSERT_EQUAL(batch_foreach_record(b.buf, &h, collect, &a), 0);
    arena_free(&a);
    kw_free(&k1);
    kw_free(&v1);
    kw_free(&k2);
    kw_free(&b);
}

void register_group_tests(void)
{
    CU_pSuite s = CU_add_suite("groups", NULL, NULL);
    CU_add_test(s, "Java String.hashCode partitioning", test_java_hash);
    CU_add_test(s, "__consumer_offsets record bytes", test_record_bytes);
    CU_add_test(s, "coordinator batch round trip", test_batch_round_trip);
}
