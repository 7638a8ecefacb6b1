/* test_cleaner.c - the offset map and compaction rounds: latest record per
 * key at its offset, several rounds when the map is small, delete
 * horizons, emptied batches, and start-up after an interrupted swap. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleaner_job.h"
#include "io_throttler.h"
#include "log_cleaner.h"
#include "log_partition.h"
#include "offset_map.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "test_helpers.h"
#include "util.h"

#define NKEYS 400

static char tmpdir[256];

static int make_tmpdir(void)
{
    return test_mkdtemp(tmpdir, sizeof(tmpdir), "samsa-cleaner");
}

static int remove_tmpdir(void)
{
    return rm_rf(tmpdir);
}


/* Appends one record; value NULL is a tombstone, key NULL keyless. */
static int64_t put(partition_log_t *pl, const char *key, const char *value, int64_t ts)
{
    batch_kv_t kv = { (const uint8_t *)key, key ? (int32_t)strlen(key) : -1,
                      (const uint8_t *)value, value ? (int32_t)strlen(value) : -1 };
    kwriter_t w;
    kw_init(&w);
    batch_build(&w, &kv, 1, ts);
    int64_t off = plog_append(pl, w.buf, (int32_t)w.len, 1, ts, 0, 0, false, 0);
    kw_free(&w);
    return off;
}

/* What the log holds, per key index ("k<n>"). */
typedef struct seen {
    int count[NKEYS];
    int64_t last_offset[NKEYS];
    char last_value[NKEYS][32];
    int tombstones, keyless, empty_batches, horizon_batches;
    int64_t prev;
    int ordered;
} seen_t;

static void see(const batch_record_t *r, void *arg)
{
    seen_t *s = arg;
    if (r->offset <= s->prev)
        s->ordered = 0;
    s->prev = r->offset;
    if (!r->key) {
        s->keyless++;
        return;
    }
    char name[16];
    snprintf(name, sizeof(name), "%.*s", r->key_len, r->key);
    if (name[0] != 'k')
        return;     /* "filler" */
    int k = atoi(name + 1);
    s->count[k]++;
    s->last_offset[k] = r->offset;
    if (r->value)
        snprintf(s->last_value[k], sizeof(s->last_value[k]), "%.*s", r->value_len, r->value);
    else
        s->tombstones++;
}

static int see_batch(uint8_t *b, const batch_header_t *h, void *arg)
{
    seen_t *s = arg;
    if (!batch_crc_ok(b, h))
        return -1;
    if (h->record_count == 0)
        s->empty_batches++;
    if (h->attributes & 0x40)
        s->horizon_batches++;
    return batch_foreach_record(b, h, see, s);
}

/* Scans segments [0, upto) (all with upto < 0). */
static int scan(partition_log_t *pl, int upto, seen_t *s)
{
    memset(s, 0, sizeof(*s));
    s->prev = -1;
    s->ordered = 1;
    int n = upto < 0 ? pl->nsegs : upto;
    for (int i = 0; i < n; i++)
        if (segment_for_each_batch(pl->segs[i], see_batch, s) < 0)
            return -1;
    return 0;
}

/* One round over every sealed segment, as the cleaner thread runs it. */
static int round_over(partition_log_t *pl, int64_t first_dirty, int64_t buffer, int64_t retention,
                      int64_t *end)
{
    cleaner_job_t *job = cleaner_snapshot(pl, first_dirty, pl->nsegs - 1, buffer, 0.9, retention);
    if (!job)
        return -1;
    cleaner_job_run(job);
    int rc = cleaner_finish(pl, job);
    *end = job->end_offset;
    cleaner_job_free(job);
    return rc;
}

static void test_offset_map(void)
{
    offset_map_t m;
    CU_ASSERT_EQUAL(offset_map_init(&m, 24 * 10, 0.9, 1000), 0);
    CU_ASSERT_EQUAL(m.n_slots, 10);
    CU_ASSERT_EQUAL(m.max_size, 9);
    char key[8];
    for (int i = 0; i < 9; i++) {
        CU_ASSERT_FALSE(offset_map_full(&m));
        int n = snprintf(key, sizeof(key), "k%d", i);
        offset_map_put(&m, (const uint8_t *)key, (size_t)n, 100 + i);
        offset_map_put(&m, (const uint8_t *)key, (size_t)n, 200 + i);   /* latest wins */
    }
    CU_ASSERT_TRUE(offset_map_full(&m));
    CU_ASSERT_EQUAL(m.size, 9);
    CU_ASSERT_EQUAL(offset_map_get(&m, (const uint8_t *)"k3", 2), 203);
    CU_ASSERT_EQUAL(offset_map_get(&m, (const uint8_t *)"k9", 2), -1);
    CU_ASSERT_EQUAL(offset_map_get(&m, (const uint8_t *)"", 0), -1);
    offset_map_free(&m);
    /* Sized by what the dirty range can hold, not the whole buffer. */
    CU_ASSERT_EQUAL(offset_map_init(&m, 1 << 30, 0.9, 90), 0);
    CU_ASSERT_TRUE(m.n_slots <= 102);
    offset_map_free(&m);
    CU_ASSERT_EQUAL(offset_map_init(&m, 24, 0.9, 90), -1);    /* cannot hold one key */
}

/* Five keys, 200 records: each key's latest record survives at its offset
 * and the log reopens to the same content. */
static void test_latest_per_key(void)
{
    log_settings_t st = test_small_log_settings();
    partition_log_t *pl = plog_open(tmpdir, "compact", 0, &st, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    for (int i = 0; i < 200; i++) {
        char key[8], val[64];
        snprintf(key, sizeof(key), "k%d", i % 5);
        snprintf(val, sizeof(val), "value-%04d-padding-padding", i);
        CU_ASSERT_EQUAL(put(pl, key, val, 1700000000000LL + i), i);
    }
    CU_ASSERT_TRUE_FATAL(pl->nsegs > 2);
    int sealed = pl->nsegs - 1;
    seen_t s0, s1;
    CU_ASSERT_EQUAL(scan(pl, sealed, &s0), 0);
    int64_t before = plog_size_bytes(pl), end = 0, active_base = pl->segs[sealed]->base_offset;
    int nsegs = pl->nsegs;
    CU_ASSERT_EQUAL(round_over(pl, 0, 1 << 20, 86400000, &end), 0);
    /* Groups are sized by the segments as they were (each near
     * segment.bytes): none merged yet.  The next round merges the now
     * small segments into one, as Kafka's groupSegmentsBySize does. */
    CU_ASSERT_EQUAL(pl->nsegs, nsegs);
    CU_ASSERT_EQUAL(round_over(pl, 0, 1 << 20, 86400000, &end), 0);
    CU_ASSERT_EQUAL(pl->nsegs, 2);
    sealed = 1;
    CU_ASSERT_EQUAL(end, active_base);
    CU_ASSERT_EQUAL(pl->cleaned_upto, end);
    CU_ASSERT_TRUE(plog_size_bytes(pl) < before);
    CU_ASSERT_EQUAL(pl->log_end_offset, 200);
    CU_ASSERT_EQUAL(scan(pl, sealed, &s1), 0);
    CU_ASSERT_TRUE(s1.ordered);
    for (int k = 0; k < 5; k++) {
        CU_ASSERT_EQUAL(s1.count[k], 1);                            /* only the latest... */
        CU_ASSERT_EQUAL(s1.last_offset[k], s0.last_offset[k]);      /* ...at its offset */
        CU_ASSERT_STRING_EQUAL(s1.last_value[k], s0.last_value[k]);
    }
    /* Offsets still resolve; the log reopens (and recovers) to the same. */
    log_read_t rd;
    CU_ASSERT_EQUAL(plog_read(pl, 0, 200, 1 << 20, true, &rd), 0);
    CU_ASSERT_TRUE(rd.len > 0);
    plog_close(pl);
    pl = plog_open(tmpdir, "compact", 0, &st, 0, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_EQUAL(pl->log_end_offset, 200);
    seen_t s2;
    CU_ASSERT_EQUAL(scan(pl, sealed, &s2), 0);
    CU_ASSERT_EQUAL(memcmp(s2.count, s1.count, sizeof(s1.count)), 0);
    plog_close(pl);
}

/* 1,200 records over 400 keys with a map of 99 keys: several rounds, and
 * after them every key has exactly its latest record below the end. */
static void test_several_rounds(void)
{
    log_settings_t st = test_small_log_settings();
    partition_log_t *pl = plog_open(tmpdir, "rounds", 0, &st, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    int64_t latest[NKEYS];
    for (int i = 0; i < 3 * NKEYS; i++) {
        char key[8], val[32];
        int k = (i * 7) % NKEYS;
        snprintf(key, sizeof(key), "k%d", k);
        snprintf(val, sizeof(val), "v%d", i);
        latest[k] = put(pl, key, val, 1700000000000LL + i);
    }
    put(pl, "filler", "x", 1700000000000LL);
    int sealed = pl->nsegs - 1;
    int64_t uncleanable = pl->segs[sealed]->base_offset, first_dirty = 0;
    int rounds = 0;
    while (first_dirty < uncleanable && rounds < 100) {
        CU_ASSERT_EQUAL_FATAL(round_over(pl, first_dirty, 24 * 110, 86400000, &first_dirty), 0);
        rounds++;
    }
    CU_ASSERT_TRUE(rounds >= 10);   /* 99 keys a round over >1,000 dirty records */
    CU_ASSERT_EQUAL(first_dirty, uncleanable);
    seen_t s;
    CU_ASSERT_EQUAL(scan(pl, -1, &s), 0);
    CU_ASSERT_TRUE(s.ordered);
    for (int k = 0; k < NKEYS; k++) {
        if (latest[k] < uncleanable) {
            CU_ASSERT_EQUAL(s.count[k], 1);
            CU_ASSERT_EQUAL(s.last_offset[k], latest[k]);
        } else {
            CU_ASSERT_TRUE(s.count[k] >= 1);
            CU_ASSERT_EQUAL(s.last_offset[k], latest[k]);
        }
    }
    plog_close(pl);
}

/* A kept tombstone stamps its batch with a delete horizon; once the
 * horizon passes, the next round drops it.  Keyless records go, and the
 * round's last batch stays as an empty header. */
static void test_tombstones_and_empty_batches(void)
{
    log_settings_t st = test_small_log_settings();
    partition_log_t *pl = plog_open(tmpdir, "tomb", 0, &st, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    int64_t ts = 1700000000000LL;
    for (int i = 0; i < 60; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i % 3);
        put(pl, key, "some-value-with-padding-padding", ts + i);
    }
    put(pl, "k1", NULL, ts + 100);          /* tombstone for k1 */
    /* Keyless records until one lands in a new segment: the sealed
     * section then ends with keyless batches. */
    for (int n = pl->nsegs; pl->nsegs == n;)
        put(pl, NULL, "keyless-record-padding-padding-padding", ts + 200);
    int sealed = pl->nsegs - 1;
    int64_t end;
    CU_ASSERT_EQUAL(round_over(pl, 0, 1 << 20, 0, &end), 0);
    seen_t s;
    CU_ASSERT_EQUAL(scan(pl, sealed, &s), 0);
    CU_ASSERT_EQUAL(s.count[0], 1);
    CU_ASSERT_EQUAL(s.count[1], 1);
    CU_ASSERT_EQUAL(s.tombstones, 1);
    CU_ASSERT_EQUAL(s.horizon_batches, 1);
    CU_ASSERT_EQUAL(s.keyless, 0);
    CU_ASSERT_EQUAL(s.empty_batches, 1);    /* the round's last batch */
    /* delete.retention.ms=0: the horizon has passed by the next round. */
    usleep(2000);
    CU_ASSERT_EQUAL(round_over(pl, 0, 1 << 20, 0, &end), 0);
    CU_ASSERT_EQUAL(scan(pl, sealed, &s), 0);
    CU_ASSERT_EQUAL(s.count[1], 0);
    CU_ASSERT_EQUAL(s.tombstones, 0);
    CU_ASSERT_EQUAL(s.count[0], 1);
    CU_ASSERT_EQUAL(s.count[2], 1);
    plog_close(pl);
}

/* Start-up after a crash mid-swap: "<base>.log.swap" replaces the segment
 * and its indexes are rebuilt; ".cleaned" leftovers are removed. */
static void test_interrupted_swap(void)
{
    log_settings_t st = test_small_log_settings();
    partition_log_t *pl = plog_open(tmpdir, "swap", 0, &st, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    for (int i = 0; i < 100; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        put(pl, key, "value-value-value-value-value", 1700000000000LL + i);
    }
    CU_ASSERT_TRUE_FATAL(pl->nsegs > 2);
    char base[512], from[600], to[600];
    snprintf(base, sizeof(base), "%s", pl->segs[1]->path_base);
    int64_t end = pl->log_end_offset;
    plog_close(pl);
    snprintf(from, sizeof(from), "%s.log", base);
    snprintf(to, sizeof(to), "%s.log.swap", base);
    CU_ASSERT_EQUAL(rename(from, to), 0);
    snprintf(to, sizeof(to), "%s.index", base);
    CU_ASSERT_EQUAL(truncate(to, 0), 0);                 /* stale index */
    snprintf(to, sizeof(to), "%s.timeindex.cleaned", base);
    CU_ASSERT_EQUAL(write_file_atomic(to, "junk", 4), 0);
    pl = plog_open(tmpdir, "swap", 0, &st, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_EQUAL(pl->log_end_offset, end);
    CU_ASSERT_EQUAL(access(to, F_OK), -1);
    CU_ASSERT_TRUE(pl->segs[1]->idx_entries > 0);       /* rebuilt */
    seen_t s;
    CU_ASSERT_EQUAL(scan(pl, -1, &s), 0);
    for (int k = 0; k < 100; k++)
        CU_ASSERT_EQUAL(s.count[k], 1);
    plog_close(pl);
}

/* Kafka's Throttler: nothing happens inside a 300 ms period; at the first
 * check after it, a rate above the limit sleeps until observed/elapsed is
 * the limit; a period under the limit, or no limit, never sleeps. */
static void test_io_throttler(void)
{
    const int64_t ms = 1000000;
    io_throttler_t t;
    iot_init(&t, 1000.0, 0);                            /* 1000 bytes a second */
    CU_ASSERT_EQUAL(iot_observe(&t, 500, 100 * ms), 0);  /* inside the period */
    CU_ASSERT_EQUAL(iot_observe(&t, 500, 400 * ms), 600); /* 1000 bytes take 1 s */
    CU_ASSERT_EQUAL(t.period_start_ns, 1000 * ms);        /* after the sleep */
    CU_ASSERT_EQUAL(iot_observe(&t, 100, 1400 * ms), 0);  /* 250 bytes a second */
    CU_ASSERT_EQUAL(t.observed, 0);
    iot_init(&t, 0, 0);                                   /* no limit */
    CU_ASSERT_EQUAL(iot_observe(&t, 1e12, 1000 * ms), 0);
    iot_init(&t, 1.7976931348623157E308, 0);              /* Kafka's default */
    CU_ASSERT_EQUAL(iot_observe(&t, 1e12, 1000 * ms), 0);
}

void register_cleaner_tests(void)
{
    CU_pSuite s = CU_add_suite("cleaner", make_tmpdir, remove_tmpdir);
    CU_add_test(s, "offset map", test_offset_map);
    CU_add_test(s, "latest record per key", test_latest_per_key);
    CU_add_test(s, "several rounds with a small map", test_several_rounds);
    CU_add_test(s, "tombstones and emptied batches", test_tombstones_and_empty_batches);
    CU_add_test(s, "start-up after an interrupted swap", test_interrupted_swap);
    CU_add_test(s, "Kafka's I/O throttler", test_io_throttler);
}
