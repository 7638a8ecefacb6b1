/* test_replica_log.c - the leader-epoch cache (Kafka's LeaderEpochFileCache
 * answers), a follower's append of a leader's batches, and truncation of a
 * diverged log with its epochs and producer state, and the assignment
 * znode of a partition under reassignment. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch_session_client.h"
#include "kafka_errors.h"
#include "leader_epoch.h"
#include "log_txn.h"
#include "log_partition.h"
#include "producer_snapshot.h"
#include "producer_state.h"
#include "proto_codec.h"
#include "record_batch.h"
#include "replica_assignment.h"
#include "test_helpers.h"
#include "txn_internal.h"
#include "util.h"
#include "zk_layout.h"

static char tmpdir[256];

static int make_tmpdir(void)
{
    return test_mkdtemp(tmpdir, sizeof(tmpdir), "samsa-replica");
}

static int remove_tmpdir(void)
{
    return rm_rf(tmpdir);
}

static void test_epoch_cache_end_offsets(void)
{
    epoch_cache_t c = { 0 };
    CU_ASSERT_TRUE(lec_assign(&c, 1, 0));
    CU_ASSERT_TRUE(lec_assign(&c, 3, 10));
    CU_ASSERT_FALSE(lec_assign(&c, 2, 12));     /* older epoch: ignored */
    CU_ASSERT_FALSE(lec_assign(&c, 3, 15));     /* same epoch: ignored */
    CU_ASSERT_TRUE(lec_assign(&c, 5, 20));
    CU_ASSERT_EQUAL(lec_latest_epoch(&c), 5);
    int32_t e;
    /* The latest epoch ends at the log end. */
    CU_ASSERT_EQUAL(lec_end_offset_for(&c, 5, 30, &e), 30);
    CU_ASSERT_EQUAL(e, 5);
    /* An epoch in the middle ends where the next begins. */
    CU_ASSERT_EQUAL(lec_end_offset_for(&c, 3, 30, &e), 20);
    CU_ASSERT_EQUAL(e, 3);
    /* An epoch never seen answers with the largest one below it. */
    CU_ASSERT_EQUAL(lec_end_offset_for(&c, 4, 30, &e), 20);
    CU_ASSERT_EQUAL(e, 3);
    CU_ASSERT_EQUAL(lec_end_offset_for(&c, 2, 30, &e), 10);
    CU_ASSERT_EQUAL(e, 1);
    /* Below the first: the requested epoch, ending at the first start. */
    CU_ASSERT_EQUAL(lec_end_offset_for(&c, 0, 30, &e), 0);
    CU_ASSERT_EQUAL(e, 0);
    /* Newer than any: undefined. */
    CU_ASSERT_EQUAL(lec_end_offset_for(&c, 9, 30, &e), UNDEFINED_EPOCH_OFFSET);
    CU_ASSERT_EQUAL(e, UNDEFINED_EPOCH);
    /* Truncation from the end and the start. */
    CU_ASSERT_TRUE(lec_truncate_from_end(&c, 20));
    CU_ASSERT_EQUAL(lec_latest_epoch(&c), 3);
    CU_ASSERT_TRUE(lec_truncate_from_start(&c, 12));
    CU_ASSERT_EQUAL(c.n, 1);
    CU_ASSERT_EQUAL(c.v[0].epoch, 3);
    CU_ASSERT_EQUAL(c.v[0].start_offset, 12);
    lec_free(&c);
}

/* A resumed copy (a log-dir move's future log) against its source. */
static void test_epoch_agreement(void)
{
    epoch_cache_t copy = { 0 }, source = { 0 }, none = { 0 };
    lec_assign(&source, 1, 0);
    lec_assign(&source, 3, 10);
    lec_assign(&source, 5, 20);
    lec_assign(&copy, 1, 0);
    lec_assign(&copy, 3, 10);
    CU_ASSERT_EQUAL(lec_agreed_end(&copy, 15, &source, 30), 15);   /* a prefix */
    CU_ASSERT_EQUAL(lec_agreed_end(&copy, 25, &source, 30), 20);   /* epoch 3 ran past the source's */
    CU_ASSERT_EQUAL(lec_agreed_end(&copy, 15, &source, 12), 12);   /* the source was cut shorter */
    lec_assign(&copy, 4, 18);
    CU_ASSERT_EQUAL(lec_agreed_end(&copy, 25, &source, 30), 18);   /* an epoch the source lacks */
    CU_ASSERT_EQUAL(lec_agreed_end(&none, 25, &source, 30), 25);   /* no epochs: the shorter end */
    CU_ASSERT_EQUAL(lec_agreed_end(&none, 25, &none, 7), 7);
    lec_free(&copy);
    lec_free(&source);
}

static void test_epoch_checkpoint_file(void)
{
    epoch_entry_t v[] = { { 0, 0 }, { 2, 100 }, { 7, 12345678901LL } };
    CU_ASSERT_EQUAL(lec_write(tmpdir, v, 3), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, LEADER_EPOCH_FILE);
    char *text = read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text, "0\n3\n0 0\n2 100\n7 12345678901\n");     /* Kafka's format */
    free(text);
    epoch_cache_t c = { 0 };
    CU_ASSERT_EQUAL(lec_read(tmpdir, &c), 1);
    CU_ASSERT_EQUAL(c.n, 3);
    CU_ASSERT_EQUAL(c.v[2].start_offset, 12345678901LL);
    lec_free(&c);
}

/* Appends n batches of 4 records in epoch `epoch`; returns the bytes. */
static void leader_append(partition_log_t *pl, int n, int32_t epoch)
{
    for (int i = 0; i < n; i++) {
        kwriter_t w;
        kw_init(&w);
        int32_t size = build_batch(&w, 4, 1700000000000LL + i);
        CU_ASSERT_TRUE(plog_append(pl, w.buf, size, 4, 1700000000000LL + i + 3, 3, epoch, false, 0) >= 0);
        kw_free(&w);
    }
}

/* Reads [from, log end) of pl into a buffer (as a fetch would). */
static uint8_t *read_range(partition_log_t *pl, int64_t from, int32_t *len)
{
    log_read_t rd;
    CU_ASSERT_EQUAL_FATAL(plog_read(pl, from, pl->log_end_offset, 1 << 20, true, &rd), 0);
    uint8_t *buf = xmalloc((size_t)rd.len + 1);
    CU_ASSERT_EQUAL(pread(rd.fd, buf, (size_t)rd.len, rd.file_off), rd.len);
    *len = rd.len;
    return buf;
}

/* What a fetcher does: the leader's log from the follower's end on. */
static void copy_from(partition_log_t *leader, partition_log_t *follower)
{
    while (follower->log_end_offset < leader->log_end_offset) {
        int32_t len;
        uint8_t *buf = read_range(leader, follower->log_end_offset, &len);
        CU_ASSERT_EQUAL_FATAL(plog_append_replica(follower, buf, len, 0), KERR_NONE);
        free(buf);
    }
}

/* Every segment file of a log, concatenated. */
static char *log_bytes(partition_log_t *pl, size_t *n)
{
    kwriter_t w;
    kw_init(&w);
    for (int i = 0; i < pl->nsegs; i++) {
        char path[600];
        snprintf(path, sizeof(path), "%s.log", pl->segs[i]->path_base);
        size_t len;
        char *d = read_file(path, &len);
        kw_raw(&w, d, len);
        free(d);
    }
    *n = w.len;
    return (char *)w.buf;
}

static void test_follower_append_and_truncate(void)
{
    log_settings_t s = test_small_log_settings();
    partition_log_t *leader = plog_open(tmpdir, "lead", 0, &s, 0, 0, true);
    partition_log_t *follower = plog_open(tmpdir, "follow", 0, &s, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(leader);
    CU_ASSERT_PTR_NOT_NULL_FATAL(follower);
    leader_append(leader, 60, 0);
    leader_append(leader, 60, 2);
    copy_from(leader, follower);
    CU_ASSERT_EQUAL(follower->log_end_offset, 480);
    CU_ASSERT_EQUAL(lec_latest_epoch(&follower->epochs), 2);
    int32_t e;
    CU_ASSERT_EQUAL(lec_end_offset_for(&follower->epochs, 0, follower->log_end_offset, &e), 240);
    /* Data below the end of a non-empty log is refused. */
    int32_t len;
    uint8_t *buf = read_range(leader, 100, &len);
    CU_ASSERT_EQUAL(plog_append_replica(follower, buf, len, 0), KERR_UNKNOWN_SERVER_ERROR);
    free(buf);
    /* Diverged: truncate into the second epoch, across segments. */
    CU_ASSERT_TRUE(follower->nsegs > 2);
    int nsegs = follower->nsegs;
    CU_ASSERT_EQUAL(plog_truncate_to(follower, 250), 0);
    CU_ASSERT_EQUAL(follower->log_end_offset, 248);    /* the batch holding 250 goes */
    CU_ASSERT_TRUE(follower->nsegs < nsegs);
    CU_ASSERT_EQUAL(lec_latest_epoch(&follower->epochs), 2);
    CU_ASSERT_EQUAL(plog_truncate_to(follower, 240), 0);
    CU_ASSERT_EQUAL(follower->log_end_offset, 240);
    CU_ASSERT_EQUAL(lec_latest_epoch(&follower->epochs), 0);
    /* A damaged batch is refused whole. */
    buf = read_range(leader, 240, &len);
    buf[BATCH_HEADER_SIZE + 2] ^= 0xff;
    CU_ASSERT_EQUAL(plog_append_replica(follower, buf, len, 0), KERR_CORRUPT_MESSAGE);
    CU_ASSERT_EQUAL(follower->log_end_offset, 240);
    free(buf);
    /* It follows again from there and ends byte-identical. */
    copy_from(leader, follower);
    CU_ASSERT_EQUAL(follower->log_end_offset, 480);
    size_t la, lb;
    char *a = log_bytes(leader, &la), *bb = log_bytes(follower, &lb);
    CU_ASSERT_EQUAL(la, lb);
    CU_ASSERT_EQUAL(memcmp(a, bb, MIN(la, lb)), 0);
    free(a);
    free(bb);
    /* Reopened, the log and its epochs are as they were. */
    plog_close(follower);
    follower = plog_open(tmpdir, "follow", 0, &s, 0, 0, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(follower);
    CU_ASSERT_EQUAL(follower->log_end_offset, 480);
    CU_ASSERT_EQUAL(lec_latest_epoch(&follower->epochs), 2);
    CU_ASSERT_EQUAL(lec_end_offset_for(&follower->epochs, 0, 480, &e), 240);
    plog_close(follower);
    plog_close(leader);
}

/* Kafka's appendAsFollower: a compacted leader's offset gaps are kept, a
 * segment rolled after a gap is named after the batch; an empty log handed
 * a batch straddling its start restarts at the batch's base; and
 * truncateFullyAndStartAt empties the log, its epochs and producers. */
static void test_follower_gaps_and_log_start(void)
{
    log_settings_t s = test_small_log_settings();
    partition_log_t *leader = plog_open(tmpdir, "gap-lead", 0, &s, 0, 0, true);
    partition_log_t *follower = plog_open(tmpdir, "gap-follow", 0, &s, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(leader);
    CU_ASSERT_PTR_NOT_NULL_FATAL(follower);
    leader_append(leader, 60, 3);       /* batches of 4; segments [0-155] [156-239] */
    int32_t len;
    uint8_t *buf = read_range(leader, 0, &len);
    CU_ASSERT_EQUAL(plog_append_replica(follower, buf, len, 0), KERR_NONE);
    CU_ASSERT_EQUAL(follower->log_end_offset, 156);
    free(buf);
    /* After a gap the full segment rolls: the new one is named 200, the
     * gap's far side, not 156. */
    buf = read_range(leader, 200, &len);
    CU_ASSERT_EQUAL(plog_append_replica(follower, buf, len, 0), KERR_NONE);
    free(buf);
    CU_ASSERT_EQUAL(follower->log_end_offset, 240);
    CU_ASSERT_EQUAL_FATAL(follower->nsegs, 2);
    CU_ASSERT_EQUAL(follower->segs[1]->base_offset, 200);
    CU_ASSERT_EQUAL(lec_latest_epoch(&follower->epochs), 3);
    /* Kafka's truncateTo: at the log end only an epoch entry with no data
     * of its own goes; above the first segment's base the log start comes
     * down to the target and no segment is dropped whole. */
    CU_ASSERT_TRUE(lec_assign(&follower->epochs, 9, follower->log_end_offset));
    CU_ASSERT_EQUAL(plog_truncate_to(follower, follower->log_end_offset), 0);
    CU_ASSERT_EQUAL(lec_latest_epoch(&follower->epochs), 3);
    follower->log_start_offset = 220;
    CU_ASSERT_EQUAL(plog_truncate_to(follower, 212), 0);
    CU_ASSERT_EQUAL(follower->log_start_offset, 212);
    CU_ASSERT_EQUAL(follower->log_end_offset, 212);
    CU_ASSERT_EQUAL(follower->segs[0]->base_offset, 0);
    /* Start over past the end, as below a leader's log start. */
    CU_ASSERT_EQUAL(plog_truncate_fully(follower, 102), 0);
    CU_ASSERT_EQUAL(follower->nsegs, 1);
    CU_ASSERT_EQUAL(follower->log_start_offset, 102);
    CU_ASSERT_EQUAL(follower->log_end_offset, 102);
    CU_ASSERT_EQUAL(follower->epochs.n, 0);
    /* The batch [100-103] holds 102: taken whole, the log starts at 100. */
    buf = read_range(leader, 102, &len);
    CU_ASSERT_EQUAL(plog_append_replica(follower, buf, len, 0), KERR_NONE);
    free(buf);
    CU_ASSERT_EQUAL(follower->segs[0]->base_offset, 100);
    CU_ASSERT_EQUAL(follower->log_start_offset, 100);
    CU_ASSERT_TRUE(follower->log_end_offset > 103);
    CU_ASSERT_EQUAL(lec_latest_epoch(&follower->epochs), 3);
    plog_close(follower);
    plog_close(leader);
}

/* The assignment znode as Kafka writes it during a reassignment
 * (adding_replicas/removing_replicas only for partitions under way),
 * read back; a topic without an id writes no topic_id. */
static void test_assignment_znode_reassignment_lists(void)
{
    mc_topic_t *t = mc_topic_new("orders", 2);
    int32_t full[] = { 4, 5, 1, 2 }, add[] = { 4, 5 }, rem[] = { 1, 2 }, plain[] = { 2, 3 };
    t->parts[0].replicas = mc_ids_copy(full, 4);
    t->parts[0].n_replicas = 4;
    t->parts[0].adding = mc_ids_copy(add, 2);
    t->parts[0].n_adding = 2;
    t->parts[0].removing = mc_ids_copy(rem, 2);
    t->parts[0].n_removing = 2;
    t->parts[1].replicas = mc_ids_copy(plain, 2);
    t->parts[1].n_replicas = 2;
    char *json = zkl_topic_assignment(t);
    CU_ASSERT_STRING_EQUAL(json, "{\"version\":3,\"partitions\":{\"0\":[4,5,1,2],\"1\":[2,3]},"
                           "\"adding_replicas\":{\"0\":[4,5]},\"removing_replicas\":{\"0\":[1,2]}}");
    mc_topic_t *back = zkl_parse_topic("orders", json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_TRUE(mc_topic_same(t, back));
    CU_ASSERT_EQUAL(back->parts[0].n_adding, 2);
    CU_ASSERT_EQUAL(back->parts[0].removing[1], 2);
    CU_ASSERT_EQUAL(back->parts[1].n_adding, 0);
    CU_ASSERT_EQUAL(back->parts[1].n_removing, 0);
    free(json);
    mc_topic_free(back);
    mc_topic_free(t);
}

/* A topic as a controller's topic_admin or a state-less read of
 * ZooKeeper gives it: its assignment, no partition states. */
static mc_topic_t *assignment_only(const char *name, int n, kuuid_t id)
{
    mc_topic_t *t = mc_topic_new(name, n);
    t->id = id;
    int32_t replicas[] = { 1, 2 };
    for (int p = 0; p < n; p++) {
        t->parts[p].replicas = mc_ids_copy(replicas, 2);
        t->parts[p].n_replicas = 2;
        mc_partition_state_unknown(&t->parts[p]);
    }
    return t;
}

/* Topics come from UpdateMetadata: a state of a topic or partition the
 * cache lacks adds it (with the request's replicas, its config still to
 * be read); the controller's own state-less read of the topic keeps the
 * states told (replicas become the assignment's); a state of another topic
 * id replaces the topic; LeaderDuringDelete removes partitions, the topic
 * with its last, and adds nothing; LeaderAndIsr's topics are added unseen. */
static void test_cache_takes_update_metadata_states(void)
{
    kuuid_t id = { { 7 } }, other = { { 8 } };
    int32_t isr[] = { 2, 1 }, um_replicas[] = { 2, 1, 3 };
    CU_ASSERT_TRUE(mc_update_partition("early", id, 1, 2, 5, 9, um_replicas, 3, isr, 2, NULL, 0));
    mc_topic_t *t = mc_find_topic("early");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->n_partitions, 2);
    CU_ASSERT_FALSE(t->cfg_loaded);
    CU_ASSERT_FALSE(mc_partition_announced(&t->parts[0]));
    CU_ASSERT_TRUE(mc_topic_visible(t));
    CU_ASSERT_EQUAL(t->parts[1].n_replicas, 3);     /* the request's */
    CU_ASSERT_PTR_EQUAL(mc_find_topic_by_id(id), t);

    /* The controller's read of ZooKeeper keeps what it told. */
    mc_put_topic(assignment_only("early", 2, id));
    t = mc_find_topic("early");
    CU_ASSERT_EQUAL(t->parts[0].leader, -1);
    CU_ASSERT_EQUAL(t->parts[1].leader, 2);
    CU_ASSERT_EQUAL(t->parts[1].leader_epoch, 5);
    CU_ASSERT_EQUAL(t->parts[1].zk_version, 9);
    CU_ASSERT_EQUAL(t->parts[1].n_isr, 2);
    CU_ASSERT_EQUAL(t->parts[1].n_replicas, 2);     /* the assignment's */

    /* A partition added. */
    CU_ASSERT_TRUE(mc_update_partition("early", id, 2, 1, 0, 0, um_replicas, 3, isr, 2, NULL, 0));
    t = mc_find_topic("early");
    CU_ASSERT_EQUAL(t->n_partitions, 3);
    CU_ASSERT_EQUAL(t->parts[2].leader, 1);
    CU_ASSERT_EQUAL(t->parts[1].leader, 2);

    /* The topic recreated under another id replaces it. */
    CU_ASSERT_TRUE(mc_update_partition("early", other, 0, 3, 0, 0, um_replicas, 3, isr, 2, NULL, 0));
    t = mc_find_topic("early");
    CU_ASSERT_EQUAL(t->n_partitions, 1);
    CU_ASSERT_EQUAL(t->parts[0].leader, 3);
    CU_ASSERT_PTR_NULL(mc_find_topic_by_id(id));
    CU_ASSERT_PTR_EQUAL(mc_find_topic_by_id(other), t);
    CU_ASSERT_FALSE(mc_update_partition("early", other, -1, 3, 0, 0, um_replicas, 3, isr, 2, NULL, 0));

    /* LeaderDuringDelete: partitions go, then the topic; of an unknown
     * topic, nothing is added. */
    CU_ASSERT_TRUE(mc_update_partition("early", other, 1, 3, 0, 0, um_replicas, 3, isr, 2, NULL, 0));
    mc_update_partition("early", other, 0, MC_LEADER_DURING_DELETE, 0, 0, um_replicas, 3, isr, 2,
                        NULL, 0);
    t = mc_find_topic("early");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_TRUE(t->deleting);
    CU_ASSERT_FALSE(mc_topic_visible(t));
    mc_update_partition("early", other, 1, MC_LEADER_DURING_DELETE, 0, 0, um_replicas, 3, isr, 2,
                        NULL, 0);
    CU_ASSERT_PTR_NULL(mc_find_topic("early"));
    CU_ASSERT_PTR_NULL(mc_find_topic_by_id(other));
    mc_update_partition("gone", id, 0, MC_LEADER_DURING_DELETE, 0, 0, um_replicas, 3, isr, 2, NULL, 0);
    CU_ASSERT_PTR_NULL(mc_find_topic("gone"));

    /* LeaderAndIsr before UpdateMetadata: in the cache, not shown. */
    t = mc_ensure_topic("lisr", (kuuid_t){ { 0 } }, 2);
    CU_ASSERT_EQUAL(t->n_partitions, 2);
    CU_ASSERT_FALSE(mc_topic_visible(t));
    CU_ASSERT_PTR_EQUAL(mc_ensure_topic("lisr", id, 4), t);     /* id learnt, grown */
    CU_ASSERT_EQUAL(t->n_partitions, 4);
    CU_ASSERT_PTR_EQUAL(mc_find_topic_by_id(id), t);
    mc_clear();
}

/* Live brokers: the registrations stand in until a controller names the
 * live set; after that only UpdateMetadata changes it.  A partition known
 * only from its assignment is not announced; one with a controller's
 * state is. */
static void test_cache_live_brokers_and_announced_partitions(void)
{
    mc_broker_t zk[2] = { { .id = 1, .epoch = 10 }, { .id = 2, .epoch = 20 } };
    mc_seed_brokers(zk, 2);
    int n;
    mc_brokers(&n);
    CU_ASSERT_EQUAL(n, 2);
    mc_broker_t told[1] = { { .id = 2 } };
    mc_set_brokers(told, 1);
    mc_seed_brokers(zk, 2);             /* ZooKeeper no longer decides */
    mc_brokers(&n);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_PTR_NULL(mc_find_broker(1));
    CU_ASSERT_PTR_NOT_NULL(mc_find_broker(2));

    kuuid_t id = { { 9 } };
    int32_t replicas[] = { 2 };
    mc_put_topic(assignment_only("quiet", 2, id));
    mc_topic_t *t = mc_find_topic("quiet");
    CU_ASSERT_FALSE(mc_partition_announced(&t->parts[0]));
    CU_ASSERT_TRUE(mc_update_partition("quiet", id, 1, 2, 0, 0, replicas, 1, replicas, 1, NULL, 0));
    CU_ASSERT_FALSE(mc_partition_announced(&t->parts[0]));
    CU_ASSERT_TRUE(mc_partition_announced(&t->parts[1]));

    /* Offline replicas are the controller's word; a leader's own ISR
     * update (no list) and a reload of the assignment keep them. */
    int32_t three[] = { 2, 3 }, gone[] = { 3 };
    CU_ASSERT_TRUE(mc_update_partition("quiet", id, 1, 2, 1, 1, three, 2, replicas, 1, gone, 1));
    CU_ASSERT_TRUE(mc_update_partition("quiet", id, 1, 2, 1, 2, three, 2, replicas, 1, NULL, 0));
    mc_put_topic(assignment_only("quiet", 2, id));
    t = mc_find_topic("quiet");
    CU_ASSERT_EQUAL_FATAL(t->parts[1].n_offline, 1);
    CU_ASSERT_EQUAL(t->parts[1].offline[0], 3);
    CU_ASSERT_EQUAL(t->parts[1].zk_version, 2);

    /* A cleared cache takes the registrations again. */
    mc_clear();
    mc_seed_brokers(zk, 2);
    mc_brokers(&n);
    CU_ASSERT_EQUAL(n, 2);
    mc_clear();
}

/* Kafka's producer snapshot, version 1, byte for byte: one producer 1000,
 * epoch 0, last batch sequences 0..4 at offsets 5..9, max timestamp
 * 1700000000000, no transaction; read back, the retry of that batch is a
 * duplicate at its offset and the next sequence is 5. */
static void test_producer_snapshot_bytes(void)
{
    static const uint8_t want[] = {
        0x00, 0x01, 0x86, 0x69, 0xb7, 0xe6, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x04,
        0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    };
    producer_state_t *ps = pstate_new();
    pstate_update(ps, &(pstate_batch_t){ 1000, 0, 0, 4, 5, 9, 1700000000000LL, false });
    size_t len;
    uint8_t *buf = pstate_snapshot_encode(ps, &len);
    CU_ASSERT_EQUAL_FATAL(len, sizeof(want));
    CU_ASSERT_EQUAL(memcmp(buf, want, len), 0);
    producer_state_t *back = pstate_new();
    CU_ASSERT_EQUAL(pstate_snapshot_decode(back, buf, len), 0);
    int64_t dup = -1;
    int16_t err = 0;
    CU_ASSERT_EQUAL(pstate_check(back, 1000, 0, 0, 4, false, &dup, &err), PSTATE_DUPLICATE);
    CU_ASSERT_EQUAL(dup, 5);
    CU_ASSERT_EQUAL(pstate_check(back, 1000, 0, 5, 7, false, &dup, &err), PSTATE_APPEND);
    CU_ASSERT_EQUAL(pstate_check(back, 1000, 0, 6, 7, false, &dup, &err), PSTATE_ERROR);
    buf[len - 1] ^= 1;          /* a flipped bit fails the checksum */
    CU_ASSERT_EQUAL(pstate_snapshot_decode(back, buf, len), -1);
    CU_ASSERT_EQUAL(pstate_snapshot_decode(back, buf, 9), -1);
    CU_ASSERT_EQUAL(pstate_count(back), 1);
    free(buf);
    pstate_free(back);
    pstate_free(ps);
}

/* Transactions in the producer state: a transactional batch opens one,
 * the last stable offset waits for it and then for its marker to pass the
 * high watermark; a plain batch of a producer in a transaction is refused;
 * an open transaction survives a snapshot; a truncation that cuts a marker
 * opens its transaction again. */
static void test_producer_transactions(void)
{
    producer_state_t *ps = pstate_new();
    pstate_update(ps, &(pstate_batch_t){ 1, 0, 0, 2, 10, 12, 1, true });
    pstate_update(ps, &(pstate_batch_t){ 2, 0, 0, 0, 13, 13, 1, true });
    pstate_update(ps, &(pstate_batch_t){ 1, 0, 3, 4, 14, 15, 1, true });
    CU_ASSERT_EQUAL(pstate_open_txns(ps), 2);
    CU_ASSERT_EQUAL(pstate_first_unstable_offset(ps, 16), 10);
    int64_t dup;
    int16_t err = 0;
    CU_ASSERT_EQUAL(pstate_check(ps, 1, 0, 5, 5, false, &dup, &err), PSTATE_ERROR);
    CU_ASSERT_EQUAL(err, KERR_INVALID_TXN_STATE);
    CU_ASSERT_EQUAL(pstate_check(ps, 1, 0, 5, 5, true, &dup, &err), PSTATE_APPEND);
    completed_txn_t done;
    /* Producer 1 aborts at 16: producer 2's transaction is the next
     * unstable offset, which goes into the aborted entry. */
    CU_ASSERT_EQUAL(pstate_end_txn(ps, 1, 0, 3, false, 16, 1, &done), 1);
    CU_ASSERT_EQUAL(done.first_offset, 10);
    CU_ASSERT_EQUAL(done.last_offset, 16);
    CU_ASSERT_EQUAL(done.last_stable_offset, 13);
    CU_ASSERT_TRUE(done.aborted);
    /* The marker is not replicated yet (hw 16): still unstable from 10. */
    CU_ASSERT_EQUAL(pstate_first_unstable_offset(ps, 16), 10);
    CU_ASSERT_EQUAL(pstate_first_unstable_offset(ps, 17), 13);
    /* Snapshot keeps producer 2's open transaction. */
    size_t len;
    uint8_t *buf = pstate_snapshot_encode(ps, &len);
    producer_state_t *back = pstate_new();
    CU_ASSERT_EQUAL(pstate_snapshot_decode(back, buf, len), 0);
    CU_ASSERT_EQUAL(pstate_open_txns(back), 1);
    CU_ASSERT_EQUAL(pstate_first_unstable_offset(back, 17), 13);
    free(buf);
    pstate_free(back);
    CU_ASSERT_EQUAL(pstate_end_txn(ps, 2, 0, 3, true, 17, 1, &done), 1);
    CU_ASSERT_EQUAL(done.last_stable_offset, 18);
    CU_ASSERT_EQUAL(pstate_first_unstable_offset(ps, 17), 13);
    /* Cutting producer 2's marker opens its transaction again. */
    pstate_truncate(ps, 17);
    CU_ASSERT_EQUAL(pstate_open_txns(ps), 1);
    CU_ASSERT_EQUAL(pstate_first_unstable_offset(ps, 17), 13);
    /* A marker without an open transaction completes nothing. */
    CU_ASSERT_EQUAL(pstate_end_txn(ps, 1, 1, 3, true, 18, 1, &done), 0);
    pstate_free(ps);
}

/* KIP-890 guards: a transaction may open only with the current guard;
 * concurrent verifications share it; the producer's next batch or marker
 * removes it (so a confirmation arriving after the transaction ended lets
 * nothing in), and every start's end leaves nothing behind. */
static void test_verification_guards(void)
{
    producer_state_t *ps = pstate_new();
    CU_ASSERT_FALSE(pstate_txn_append_allowed(ps, 7, 0));
    uint64_t g = pstate_verification_start(ps, 7);
    CU_ASSERT_NOT_EQUAL(g, 0);
    CU_ASSERT_EQUAL(pstate_verification_start(ps, 7), g);      /* a second request */
    CU_ASSERT_TRUE(pstate_txn_append_allowed(ps, 7, g));
    CU_ASSERT_FALSE(pstate_txn_append_allowed(ps, 7, g + 1));
    CU_ASSERT_FALSE(pstate_txn_append_allowed(ps, 8, g));
    /* The first batch opens the transaction and consumes the guard. */
    pstate_update(ps, &(pstate_batch_t){ 7, 0, 0, 2, 0, 2, 1, true });
    CU_ASSERT_EQUAL(pstate_verifications(ps), 0);
    CU_ASSERT_TRUE(pstate_txn_append_allowed(ps, 7, 0));        /* open: no guard needed */
    CU_ASSERT_EQUAL(pstate_verification_start(ps, 7), 0);
    pstate_verification_end(ps, 7, g);                          /* both requests finish */
    pstate_verification_end(ps, 7, g);
    CU_ASSERT_EQUAL(pstate_verifications(ps), 0);
    /* A verification that started before the abort marker is stale after. */
    completed_txn_t done;
    CU_ASSERT_EQUAL(pstate_end_txn(ps, 7, 0, 1, false, 3, 1, &done), 1);
    uint64_t g2 = pstate_verification_start(ps, 7);
    CU_ASSERT_TRUE(g2 != 0 && g2 != g);
    CU_ASSERT_EQUAL(pstate_end_txn(ps, 7, 0, 1, false, 4, 1, &done), 0);
    CU_ASSERT_FALSE(pstate_txn_append_allowed(ps, 7, g2));
    pstate_verification_end(ps, 7, g2);
    /* A failed verification gives its guard back. */
    uint64_t g3 = pstate_verification_start(ps, 9);
    pstate_verification_end(ps, 9, g3);
    CU_ASSERT_EQUAL(pstate_verifications(ps), 0);
    CU_ASSERT_FALSE(pstate_txn_append_allowed(ps, 9, g3));
    pstate_verification_start(ps, 10);      /* freed with the state */
    pstate_free(ps);
}

/* The cleaner keeps the markers of producers whose last entry is a marker
 * of a newer epoch (a fencing abort): only those producers are listed. */
static void test_marker_only_producers(void)
{
    producer_state_t *ps = pstate_new();
    pstate_update(ps, &(pstate_batch_t){ 9, 0, 0, 0, 0, 0, 1, true });
    pstate_update(ps, &(pstate_batch_t){ 7, 0, 0, 0, 1, 1, 1, true });
    pstate_update(ps, &(pstate_batch_t){ 8, 0, 0, 0, 2, 2, 1, false });
    completed_txn_t done;
    CU_ASSERT_EQUAL(pstate_end_txn(ps, 9, 3, 1, false, 3, 1, &done), 1);   /* fenced: epoch 3 */
    CU_ASSERT_EQUAL(pstate_end_txn(ps, 7, 0, 1, true, 4, 1, &done), 1);    /* same epoch */
    pstate_pid_epoch_t *m = NULL;
    int n = pstate_marker_only_producers(ps, &m);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(m[0].pid, 9);
    CU_ASSERT_EQUAL(m[0].epoch, 3);
    CU_ASSERT_PTR_NOT_NULL(pstate_pid_epoch_find(m, n, 9));
    CU_ASSERT_PTR_NULL(pstate_pid_epoch_find(m, n, 7));
    free(m);
    pstate_free(ps);
}

/* Snapshot files: the newest at or below the log end is loaded, one past
 * it (a truncated log) is deleted, a corrupt one is skipped for an older
 * one, and a truncation removes those above its offset. */
static void test_producer_snapshot_files(void)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/snaps", tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir_p(dir, 0755), 0);
    producer_state_t *ps = pstate_new();
    for (int64_t off = 3; off <= 12; off += 3) {
        pstate_update(ps, &(pstate_batch_t){ 7, 0, (int32_t)off - 3, (int32_t)off - 1, off - 3,
                                             off - 1, 1000 + off, false });
        CU_ASSERT_EQUAL(psnap_write(dir, off, ps), 0);
    }
    char path[400];
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 9);
    CU_ASSERT_EQUAL(write_file_atomic(path, "garbage", 7), 0);
    producer_state_t *back = pstate_new();
    CU_ASSERT_EQUAL(psnap_load_latest(dir, 10, back), 6);
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 12);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);     /* past the log end */
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 9);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);     /* invalid */
    int64_t dup = -1;
    int16_t err = 0;
    CU_ASSERT_EQUAL(pstate_check(back, 7, 0, 3, 5, false, &dup, &err), PSTATE_DUPLICATE);
    CU_ASSERT_EQUAL(dup, 3);
    psnap_delete_above(dir, 3);
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 6);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 3);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    pstate_free(back);
    pstate_free(ps);
}

/* A leader's transactional appends: a coordinator's transactional batch
 * opens the producer's transaction, markers are checked against the
 * producer and coordinator epochs as Kafka's appendEndTxnMarker does, read
 * back as markers, and an abort enters the segment's .txnindex. */
static void test_leader_markers(void)
{
    log_settings_t s = test_small_log_settings();
    partition_log_t *pl = plog_open(tmpdir, "markers", 0, &s, 0, 0, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
    uint8_t k[] = "key", v[] = "value";
    batch_kv_t rec = { k, 3, v, 5 };
    batch_producer_t prod = { 7, 1, -1, BATCH_ATTR_TRANSACTIONAL };
    CU_ASSERT_EQUAL(plog_append_records(pl, &rec, 1, &prod, 0), 0);
    CU_ASSERT_EQUAL(plog_append_records(pl, &rec, 1, NULL, 0), 1);
    CU_ASSERT_EQUAL(pstate_open_txns(pl->pstate), 1);
    CU_ASSERT_EQUAL(plog_last_stable_offset(pl, 2), 0);
    int64_t at = -1;
    /* An older producer epoch is refused. */
    CU_ASSERT_EQUAL(plog_append_marker(pl, 7, 0, 5, true, 0, &at), KERR_INVALID_PRODUCER_EPOCH);
    CU_ASSERT_EQUAL(plog_append_marker(pl, 7, 1, 5, true, 0, &at), KERR_NONE);
    CU_ASSERT_EQUAL(at, 2);
    CU_ASSERT_EQUAL(pstate_open_txns(pl->pstate), 0);
    CU_ASSERT_EQUAL(plog_last_stable_offset(pl, 3), 3);
    /* A coordinator with an older epoch is fenced. */
    CU_ASSERT_EQUAL(plog_append_marker(pl, 7, 1, 4, false, 0, &at),
                    KERR_TRANSACTION_COORDINATOR_FENCED);
    /* The marker reads back as a commit with its coordinator epoch. */
    uint8_t buf[256];
    log_segment_t *seg = plog_active_segment(pl);
    batch_header_t h;
    CU_ASSERT_EQUAL_FATAL(pread(seg->log_fd, buf, sizeof(buf), 0), (ssize_t)seg->size);
    int32_t pos = 0;
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(batch_parse_header(buf + pos, (size_t)(seg->size - pos), &h), 0);
        if (i < 2)
            pos += h.size;
    }
    CU_ASSERT_EQUAL(h.base_offset, 2);
    CU_ASSERT_TRUE(batch_crc_ok(buf + pos, &h));
    CU_ASSERT_EQUAL(h.attributes & (BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL),
                    BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL);
    bool commit = false;
    int32_t coordinator_epoch = -1;
    CU_ASSERT_EQUAL(batch_txn_marker(buf + pos, &h, &commit, &coordinator_epoch), 1);
    CU_ASSERT_TRUE(commit);
    CU_ASSERT_EQUAL(coordinator_epoch, 5);
    /* An aborted transaction is indexed with its first offset. */
    prod.producer_epoch = 2;
    CU_ASSERT_EQUAL(plog_append_records(pl, &rec, 1, &prod, 0), 3);
    CU_ASSERT_EQUAL(plog_append_marker(pl, 7, 2, 5, false, 0, &at), KERR_NONE);
    CU_ASSERT_EQUAL(at, 4);
    CU_ASSERT_EQUAL_FATAL(plog_active_segment(pl)->aborted.n, 1);
    CU_ASSERT_EQUAL(plog_active_segment(pl)->aborted.v[0].first_offset, 3);
    CU_ASSERT_EQUAL(plog_active_segment(pl)->aborted.v[0].last_offset, 4);
    plog_close(pl);
}

/* __transaction_state values in Kafka's version-0 bytes. */
static void test_transaction_log_value(void)
{
    txn_tp_t parts[] = { { "t", 1 }, { "t", 0 } };
    txn_transit_t x = { TXN_ONGOING, 1000, 3, -1, 60000, parts, 2, 1700000000000LL,
                        1700000000001LL };
    kwriter_t w;
    kw_init(&w);
    txn_encode_value(&w, &x);
    uint8_t want[] = { 0x00, 0x00,                                      /* version 0 */
                       0, 0, 0, 0, 0, 0, 0x03, 0xe8,                    /* producer id */
                       0x00, 0x03,                                      /* epoch */
                       0x00, 0x00, 0xea, 0x60,                          /* timeout */
                       0x01,                                            /* Ongoing */
                       0x00, 0x00, 0x00, 0x01,                          /* one topic */
                       0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x02,         /* "t", 2 ids */
                       0, 0, 0, 1, 0, 0, 0, 0,                          /* 1, 0 */
                       0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x01,        /* last update */
                       0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00 };      /* start */
    CU_ASSERT_EQUAL(w.len, sizeof(want));
    CU_ASSERT_EQUAL(memcmp(w.buf, want, sizeof(want)), 0);
    /* Empty: null partitions. */
    kw_reset(&w);
    x.state = TXN_EMPTY;
    txn_encode_value(&w, &x);
    CU_ASSERT_EQUAL(w.len, 2 + 8 + 2 + 4 + 1 + 4 + 8 + 8);
    CU_ASSERT_EQUAL(memcmp(w.buf + 17, "\xff\xff\xff\xff", 4), 0);
    kw_free(&w);
}

/* Kafka's assignReplicasToBrokers: partitions 2-4 added to a topic whose
 * partition 0 starts at broker 1 of [0, 1, 2] (what Kafka 3.9 wrote in
 * test_create_partitions.py), and a random start keeps replicas distinct. */
static void test_replica_placement(void)
{
    const int32_t ids[] = { 0, 1, 2 };
    int32_t out[9];
    assign_replicas(ids, NULL, 3, 2, 3, 3, 1, out);
    const int32_t want[] = { 0, 2, 1, 1, 2, 0, 2, 0, 1 };
    CU_ASSERT(memcmp(out, want, sizeof(want)) == 0);
    const int32_t five[] = { 1, 3, 5, 7, 9 };
    int32_t many[40 * 3];
    assign_replicas(five, NULL, 5, 0, 40, 3, -1, many);
    for (int p = 0; p < 40; p++) {
        const int32_t *r = &many[p * 3];
        CU_ASSERT(r[0] != r[1] && r[0] != r[2] && r[1] != r[2]);
        /* Leaders go round the brokers in order. */
        if (p > 0)
            CU_ASSERT(r[0] == five[(p + (many[0] - 1) / 2) % 5]);
    }
}

/* Kafka's AdminRackAwareTest: the exact rack-aware assignment from start
 * index 0, and every partition's replicas on distinct racks. */
static void test_rack_aware_placement(void)
{
    const int32_t ids[] = { 0, 1, 2, 3, 4, 5 };
    const char *racks[] = { "rack1", "rack3", "rack3", "rack2", "rack2", "rack1" };
    int32_t out[7 * 3];
    assign_replicas(ids, racks, 6, 0, 7, 3, 0, out);
    const int32_t want[] = { 0, 3, 1, 3, 1, 5, 1, 5, 4, 5, 4, 2, 4, 2, 0, 2, 0, 3, 0, 4, 2 };
    CU_ASSERT(memcmp(out, want, sizeof(want)) == 0);
    const char *uneven[] = { "rack1", "rack2", "rack2", "rack3", "rack3", "rack1" };
    int32_t many[13 * 3];
    assign_replicas(ids, uneven, 6, 0, 13, 3, -1, many);
    for (int p = 0; p < 13; p++) {
        const int32_t *r = &many[p * 3];
        CU_ASSERT(strcmp(uneven[r[0]], uneven[r[1]]) && strcmp(uneven[r[0]], uneven[r[2]]) &&
                  strcmp(uneven[r[1]], uneven[r[2]]));
    }
    const char *some[] = { "rack1", "", "rack2" };
    CU_ASSERT_EQUAL(racks_present(some, 3), -1);
    CU_ASSERT_EQUAL(racks_present(racks, 6), 1);
    CU_ASSERT_EQUAL(racks_present(NULL, 6), 0);
}

/* A follower's fetch session (Kafka's FetchSessionHandler): full until the
 * leader grants a session, then only added or moved partitions, the rest
 * forgotten; errors start over. */
static int want_all(fetch_session_client_t *s, arena_t *a, struct fetch_request *rq,
                    const int64_t *offsets, int n)
{
    int sent = 0;
    fsc_begin(s);
    for (int p = 0; p < n; p++) {
        fsc_position_t pos = { .current_leader_epoch = 3, .fetch_offset = offsets[p],
                               .last_fetched_epoch = 3, .log_start_offset = 0,
                               .max_bytes = 1 << 20 };
        sent += fsc_want(s, "t", p, &pos);
    }
    fsc_finish_request(s, a, rq);
    return sent;
}

static void test_follower_fetch_session(void)
{
    arena_t a;
    arena_init(&a);
    fetch_session_client_t s;
    fsc_init(&s);
    struct fetch_request rq;
    int64_t off[3] = { 10, 20, 30 };
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 3), 3);
    CU_ASSERT(rq.session_id == 0 && rq.session_epoch == 0);
    fsc_handle_response(&s, 0, 0);                  /* no session granted */
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 3), 3);
    CU_ASSERT(rq.session_id == 0 && rq.session_epoch == 0);
    fsc_handle_response(&s, 0, 77);
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 3), 0);
    CU_ASSERT(rq.session_id == 77 && rq.session_epoch == 1 && rq.forgotten_topics_data_count == 0);
    fsc_handle_response(&s, 0, 77);
    off[1] = 25;                                    /* partition 1 moved, 2 backs off */
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 2), 1);
    CU_ASSERT(rq.session_epoch == 2 && rq.forgotten_topics_data_count == 1 &&
              rq.forgotten_topics_data[0].partitions[0] == 2);
    fsc_handle_response(&s, 0, 77);
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 3), 1);  /* partition 2 added back */
    CU_ASSERT_EQUAL(rq.session_epoch, 3);
    fsc_handle_response(&s, KERR_INVALID_FETCH_SESSION_EPOCH, 0);
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 3), 3);  /* closes 77, opens a new one */
    CU_ASSERT(rq.session_id == 77 && rq.session_epoch == 0);
    fsc_handle_response(&s, KERR_FETCH_SESSION_ID_NOT_FOUND, 0);
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 3), 3);
    CU_ASSERT(rq.session_id == 0 && rq.session_epoch == 0);
    fsc_handle_response(&s, 0, 78);
    fsc_handle_error(&s);                           /* connection lost */
    CU_ASSERT_EQUAL(want_all(&s, &a, &rq, off, 3), 3);
    CU_ASSERT(rq.session_id == 78 && rq.session_epoch == 0);
    fsc_free(&s);
    arena_free(&a);
}

void register_replica_log_tests(void)
{
    CU_pSuite s = CU_add_suite("replica log", make_tmpdir, remove_tmpdir);
    CU_add_test(s, "leader-epoch cache answers", test_epoch_cache_end_offsets);
    CU_add_test(s, "leader-epoch-checkpoint file", test_epoch_checkpoint_file);
    CU_add_test(s, "a resumed copy's agreement with its source", test_epoch_agreement);
    CU_add_test(s, "follower append and truncation", test_follower_append_and_truncate);
    CU_add_test(s, "follower keeps gaps and restarts at a straddling batch",
                test_follower_gaps_and_log_start);
    CU_add_test(s, "assignment znode with reassignment lists",
                test_assignment_znode_reassignment_lists);
    CU_add_test(s, "metadata cache takes UpdateMetadata states",
                test_cache_takes_update_metadata_states);
    CU_add_test(s, "metadata cache: live brokers and announced partitions",
                test_cache_live_brokers_and_announced_partitions);
    CU_add_test(s, "producer snapshot bytes", test_producer_snapshot_bytes);
    CU_add_test(s, "producer snapshot files", test_producer_snapshot_files);
    CU_add_test(s, "producer transactions", test_producer_transactions);
    CU_add_test(s, "transaction verification guards", test_verification_guards);
    CU_add_test(s, "producers whose last entry is a marker", test_marker_only_producers);
    CU_add_test(s, "leader's transaction markers", test_leader_markers);
    CU_add_test(s, "__transaction_state value bytes", test_transaction_log_value);
    CU_add_test(s, "Kafka's replica placement", test_replica_placement);
    CU_add_test(s, "Kafka's rack-aware replica placement", test_rack_aware_placement);
    CU_add_test(s, "a follower's fetch session", test_follower_fetch_session);
}
