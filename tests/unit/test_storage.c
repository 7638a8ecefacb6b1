/* test_storage.c - segments, indexes, recovery, checkpoints and config. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker_config.h"
#include "index_check.h"
#include "listeners.h"
#include "log_manager.h"
#include "log_partition.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "test_helpers.h"
#include "util.h"

static char tmpdir[256];

static int make_tmpdir(void)
{
    return test_mkdtemp(tmpdir, sizeof(tmpdir), "samsa-unit");
}

static int remove_tmpdir(void)
{
    return rm_rf(tmpdir);
}


static void append_batches(partition_log_t *pl, int batches, int per_batch)
{
    for (int i = 0; i < batches; i++) {
        kwriter_t w;
        kw_init(&w);
        int32_t size = build_batch(&w, per_batch, 1700000000000LL + i * 10);
        int64_t base = plog_append(pl, w.buf, size, per_batch, 1700000000000LL + i * 10 + per_batch - 1,
                                   per_batch - 1, 0, false, 0);
        CU_ASSERT_EQUAL(base, (int64_t)i * per_batch);
        kw_free(&w);
    }
}

static void test_append_roll_read(void)
{
    log_settings_t s = test_small_log_settings();
    partition_log_t *pl = plog_open(tmpdir, "roll", 0, &s, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    append_batches(pl, 100, 4);
    CU_ASSERT_EQUAL(pl->log_end_offset, 400);
    CU_ASSERT_TRUE(pl->nsegs > 1);               /* 4 KiB segments rolled */
    CU_ASSERT_TRUE(pl->segs[0]->idx_entries > 0); /* sparse index written */
    /* Segment files carry Kafka's 20-digit names. */
    char path[512];
    snprintf(path, sizeof(path), "%s/roll-0/%020lld.log", tmpdir, (long long)pl->segs[1]->base_offset);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    /* Every offset is found in the batch that holds it. */
    for (int64_t off = 0; off < 400; off += 7) {
        log_read_t rd;
        CU_ASSERT_EQUAL(plog_read(pl, off, pl->log_end_offset, 100000, true, &rd), 0);
        CU_ASSERT_TRUE(rd.len > 0);
        uint8_t hdr[BATCH_HEADER_SIZE];
        CU_ASSERT_EQUAL(pread(rd.fd, hdr, sizeof(hdr), rd.file_off), (ssize_t)sizeof(hdr));
        batch_header_t h;
        CU_ASSERT_EQUAL(batch_parse_header(hdr, sizeof(hdr), &h), 0);
        CU_ASSERT_TRUE(h.base_offset <= off && batch_last_offset(&h) >= off);
    }
    log_read_t rd;
    CU_ASSERT_EQUAL(plog_read(pl, 401, 400, 1000, true, &rd), 1);  /* OFFSET_OUT_OF_RANGE */
    CU_ASSERT_EQUAL(plog_read(pl, 400, 400, 1000, true, &rd), 0);
    CU_ASSERT_EQUAL(rd.len, 0);
    /* Timestamp lookup: batch i has timestamps base+10i .. base+10i+3. */
    timestamp_offset_t at;
    CU_ASSERT_EQUAL(plog_offset_for_timestamp(pl, 1700000000000LL + 505, &at), 1);
    CU_ASSERT_EQUAL(at.offset, 204);
    CU_ASSERT_EQUAL(at.timestamp, 1700000000000LL + 510);
    CU_ASSERT_EQUAL(at.leader_epoch, 0);
    /* Inside a batch: the record, not the batch's base offset. */
    CU_ASSERT_EQUAL(plog_offset_for_timestamp(pl, 1700000000000LL + 512, &at), 1);
    CU_ASSERT_EQUAL(at.offset, 206);
    CU_ASSERT_EQUAL(at.timestamp, 1700000000000LL + 512);
    CU_ASSERT_EQUAL(plog_offset_for_timestamp(pl, 1800000000000LL, &at), 0);
    CU_ASSERT_EQUAL(plog_max_timestamp(pl, &at), 1);
    CU_ASSERT_EQUAL(at.offset, 399);
    CU_ASSERT_EQUAL(at.timestamp, 1700000000000LL + 993);
    plog_close(pl);
    /* Reopen after a clean close: same end offset. */
    pl = plog_open(tmpdir, "roll", 0, &s, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_EQUAL(pl->log_end_offset, 400);
    plog_close(pl);
}

static void test_recover_torn_tail(void)
{
    log_settings_t s = test_small_log_settings();
    s.segment_bytes = 1 << 20;
    partition_log_t *pl = plog_open(tmpdir, "torn", 0, &s, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    append_batches(pl, 10, 3);
    int64_t good_size = pl->segs[0]->size;
    char path[512];
    snprintf(path, sizeof(path), "%s/torn-0/%020d.log", tmpdir, 0);
    plog_close(pl);
    /* Half a batch of garbage at the end, as a crash mid-write leaves. */
    int fd = open(path, O_WRONLY | O_APPEND);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    char junk[40];
    memset(junk, 0x5a, sizeof(junk));
    CU_ASSERT_EQUAL(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    pl = plog_open(tmpdir, "torn", 0, &s, 0, 0, false);   /* unclean */
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_EQUAL(pl->log_end_offset, 30);
    CU_ASSERT_EQUAL(pl->segs[0]->size, good_size);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, good_size);
    /* A flipped byte inside the last batch fails its CRC: cut there. */
    plog_close(pl);
    fd = open(path, O_RDWR);
    uint8_t b;
    CU_ASSERT_EQUAL(pread(fd, &b, 1, good_size - 2), 1);
    b ^= 0xff;
    CU_ASSERT_EQUAL(pwrite(fd, &b, 1, good_size - 2), 1);
    close(fd);
    pl = plog_open(tmpdir, "torn", 0, &s, 0, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    CU_ASSERT_EQUAL(pl->log_end_offset, 27);
    /* Appends continue at the recovered end. */
    kwriter_t w;
    kw_init(&w);
    int32_t size = build_batch(&w, 2, 5);
    CU_ASSERT_EQUAL(plog_append(pl, w.buf, size, 2, 6, 1, 0, false, 0), 27);
    kw_free(&w);
    plog_close(pl);
}

static void test_checkpoint_roundtrip(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint", tmpdir);
    checkpoint_entry_t in[2] = { { "orders", 0, 1234 }, { "__consumer_offsets", 12, 40421 } };
    CU_ASSERT_EQUAL(checkpoint_write(path, in, 2), 0);
    char *text = read_file(path, NULL);
    CU_ASSERT_STRING_EQUAL(text, "0\n2\norders 0 1234\n__consumer_offsets 12 40421\n");
    free(text);
    checkpoint_entry_t *out;
    CU_ASSERT_EQUAL(checkpoint_read(path, &out), 2);
    CU_ASSERT_STRING_EQUAL(out[1].topic, "__consumer_offsets");
    CU_ASSERT_EQUAL(out[1].offset, 40421);
    free(out);
    CU_ASSERT_EQUAL(write_file_atomic(path, "0\n3\norders 0 1\n", 15), 0);
    CU_ASSERT_EQUAL(checkpoint_read(path, &out), -1);   /* count mismatch */
}

static void test_dir_names(void)
{
    char topic[256];
    int32_t p;
    CU_ASSERT_EQUAL(logmgr_parse_dir_name("orders-3", topic, sizeof(topic), &p), 0);
    CU_ASSERT_STRING_EQUAL(topic, "orders");
    CU_ASSERT_EQUAL(p, 3);
    CU_ASSERT_EQUAL(logmgr_parse_dir_name("my-topic-12", topic, sizeof(topic), &p), 0);
    CU_ASSERT_STRING_EQUAL(topic, "my-topic");
    CU_ASSERT_EQUAL(p, 12);
    CU_ASSERT_EQUAL(logmgr_parse_dir_name("nodash", topic, sizeof(topic), &p), -1);
    CU_ASSERT_EQUAL(logmgr_parse_dir_name("x-abc", topic, sizeof(topic), &p), -1);
}

static void test_config_parse(void)
{
    broker_config_t c;
    config_defaults(&c);
    const char *text = "# comment\n! also\nbroker.id = 7\nlisteners=PLAINTEXT://127.0.0.1:9092,"
                       "\\\n   INTERNAL://[::1]:9093\nzookeeper.connect:zk:2181/chroot\n"
                       "log.roll.hours=2\nunknown.key=x\nnum.replica.fetchers=4\n"
                       "leader.imbalance.check.interval.seconds=7\ninter.broker.protocol.version=2.8-IV1\n"
                       "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SSL\n";
    config_parse_text(&c, text, "test");
    CU_ASSERT_EQUAL(config_finish(&c), 0);
    CU_ASSERT_EQUAL(c.broker_id, 7);
    CU_ASSERT_EQUAL(c.n_listeners, 2);
    CU_ASSERT_STRING_EQUAL(c.listeners[1].name, "INTERNAL");
    CU_ASSERT_STRING_EQUAL(c.listeners[1].host, "::1");
    CU_ASSERT_EQUAL(c.listeners[1].port, 9093);
    CU_ASSERT_EQUAL(c.listeners[1].security_protocol, SECURITY_SSL);
    CU_ASSERT_STRING_EQUAL(c.inter_broker_listener, "PLAINTEXT");
    CU_ASSERT_STRING_EQUAL(c.zk_connect, "zk:2181/chroot");
    CU_ASSERT_EQUAL(c.log_roll_ms, 2 * 3600 * 1000);
    CU_ASSERT_EQUAL(c.message_max_bytes, 1048588);       /* Kafka's default */
    CU_ASSERT_EQUAL(c.num_replica_fetchers, 4);
    CU_ASSERT_EQUAL(c.leader_imbalance_check_interval_s, 7);
    CU_ASSERT_EQUAL(c.ibp, 208);
    CU_ASSERT_EQUAL(c.offsets_commit_timeout_ms, 5000);     /* defaults */
    CU_ASSERT_EQUAL(c.replica_lag_time_max_ms, 30000);
    CU_ASSERT_TRUE(c.auto_leader_rebalance_enable);
    CU_ASSERT_STRING_EQUAL(c.log_dirs[0], "/tmp/kafka-logs");
    config_free(&c);

    /* Kafka's checks: a listener name the map lacks, both inter-broker
     * keys, an inter-broker listener that is not advertised. */
    const char *bad[] = {
        "broker.id=1\nzookeeper.connect=zk\nlisteners=PLAINTEXT://:1,INTERNAL://:2\n",
        "broker.id=1\nzookeeper.connect=zk\ninter.broker.listener.name=PLAINTEXT\n"
        "security.inter.broker.protocol=PLAINTEXT\n",
        "broker.id=1\nzookeeper.connect=zk\nlisteners=SSL://:1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config_defaults(&c);
        config_parse_text(&c, bad[i], "test");
        CU_ASSERT_EQUAL(config_finish(&c), -1);
        config_free(&c);
    }
}

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (n > 0)
        CU_ASSERT_EQUAL(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Kafka's index sanity checks, file by file. */
static void test_index_sanity_checks(void)
{
    char dir[256], why[640];
    CU_ASSERT_EQUAL_FATAL(test_mkdtemp(dir, sizeof(dir), "samsa-idx"), 0);
    const char *idx = "00000000000000000100.index", *tidx = "00000000000000000100.timeindex";
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_MISSING);
    CU_ASSERT_STRING_EQUAL(why, "offset index");
    /* Two offset entries (relative 3 at 40, 9 at 80), two time entries. */
    uint8_t o[16] = { 0, 0, 0, 3, 0, 0, 0, 40, 0, 0, 0, 9, 0, 0, 0, 80 };
    uint8_t t[24] = { 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9 };
    write_file(dir, idx, o, sizeof(o));
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_MISSING);
    CU_ASSERT_STRING_EQUAL(why, "time index");
    write_file(dir, tidx, t, sizeof(t));
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_SANE);
    write_file(dir, tidx, NULL, 0);                 /* empty: sane */
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_SANE);
    write_file(dir, idx, o, 13);                    /* not whole entries */
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "found 13 bytes which is neither positive nor a multiple of 8"));
    o[8] = 0xff;                                    /* last relative offset negative */
    write_file(dir, idx, o, sizeof(o));
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "which is less than the base offset 100"));
    o[8] = 0;
    write_file(dir, idx, o, sizeof(o));
    t[19] = 1;                                      /* last timestamp 1 < first 5 */
    write_file(dir, tidx, t, sizeof(t));
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_CORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "the last timestamp is 1 which is less than the first "
                                       "timestamp 5"));
    t[19] = 7;
    write_file(dir, tidx, t, 23);
    CU_ASSERT_EQUAL(index_files_check(dir, 100, why, sizeof(why)), INDEX_CORRUPT);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

void register_storage_tests(void)
{
    CU_pSuite s = CU_add_suite("storage", make_tmpdir, remove_tmpdir);
    CU_add_test(s, "append, roll, read, time index", test_append_roll_read);
    CU_add_test(s, "recovery of a torn tail", test_recover_torn_tail);
    CU_add_test(s, "offset checkpoint files", test_checkpoint_roundtrip);
    CU_add_test(s, "partition directory names", test_dir_names);
    CU_add_test(s, "index sanity checks", test_index_sanity_checks);
    CU_add_test(s, "server.properties parsing", test_config_parse);
}
