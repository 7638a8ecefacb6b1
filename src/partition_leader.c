/*
 * partition_leader.c - owns a leader's side of its partitions (Kafka's
 * Partition as leader): each follower's fetch state, the high watermark
 * (the smallest log end offset in the ISR), and ISR changes -- a follower
 * that caught up joins, one silent or behind for replica.lag.time.max.ms
 * leaves -- proposed to the controller with AlterPartition (KIP-497; the
 * partition's ISR changes only when the controller's answer comes back).
 *
 * Threads: the event loop, except the AlterPartition answer, which arrives
 * on the controller channel's thread and is posted back.
 *
 * Partial: brokers at an IBP below 2.7 write the ISR to ZooKeeper
 * themselves and notify through /isr_change_notification; samsa always
 * uses AlterPartition (Kafka 2.8's AlterIsr v0 at IBP < 3.2).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "leader_epoch.h"
#include "logging.h"
#include "loop.h"
#include "metadata_cache.h"
#include "node_channel.h"
#include "proto_messages.h"
#include "purgatory.h"
#include "replica_manager.h"
#include "topic_config.h"
#include "util.h"

#define API_ALTER_PARTITION 56

static node_channel_t *to_controller;   /* created on first use (loop thread) */
static bool channel_closed;              /* after pl_shutdown(): none is created */

bool pl_is_replica(const partition_t *p, int32_t id)
{
    return mc_ids_have(p->replicas, p->n_replicas, id);
}

static bool in_isr(const partition_t *p, int32_t id)
{
    return mc_ids_have(p->isr, p->n_isr, id);
}

static replica_state_t *remote_of(partition_t *p, int32_t id)
{
    for (int i = 0; i < p->n_remote; i++)
        if (p->remote[i].id == id)
            return &p->remote[i];
    return NULL;
}

int32_t pl_min_isr(broker_t *b, const partition_t *p)
{
    const mc_topic_t *t = mc_find_topic(p->topic);
    return t ? (int32_t)topic_config_int(b, t, "min.insync.replicas") : b->cfg->min_insync_replicas;
}

void pl_drop_leader_state(partition_t *p)
{
    free(p->remote);
    p->remote = NULL;
    p->n_remote = 0;
    p->isr_in_flight = false;
}

/* A leader that stays leader (a new epoch, a reassignment's new replica
 * set) keeps what it knows of the followers still assigned, as Kafka's
 * makeLeader does; a new leader starts from nothing. */
void pl_become_leader(broker_t *b, partition_t *p)
{
    replica_state_t *old = p->remote;
    int n_old = p->n_remote;
    p->remote = NULL;
    pl_drop_leader_state(p);
    int64_t now = now_ms();
    p->remote = xcalloc((size_t)p->n_replicas + 1, sizeof(*p->remote));
    for (int i = 0; i < p->n_replicas; i++) {
        if (p->replicas[i] == b->cfg->broker_id)
            continue;
        replica_state_t *r = &p->remote[p->n_remote++];
        r->id = p->replicas[i];
        r->log_end_offset = -1;
        r->last_fetch_leader_leo = -1;
        r->log_start_offset = -1;
        for (int k = 0; k < n_old; k++)
            if (old[k].id == r->id)
                *r = old[k];
        /* ISR members get a full lag period to show up (Kafka resets
         * their caught-up time when it becomes leader). */
        r->last_caught_up_ms = in_isr(p, r->id) ? now : r->last_caught_up_ms;
    }
    free(old);
    partition_log_t *pl = p->log;
    p->leader_epoch_start = pl->log_end_offset;
    if (lec_assign(&pl->epochs, p->leader_epoch, pl->log_end_offset))
        plog_persist_epochs(pl);
    pl_update_high_watermark(b, p);
}

bool pl_update_high_watermark(broker_t *b, partition_t *p)
{
    if (!p->log || p->leader != b->cfg->broker_id)
        return false;
    int64_t hw = p->log->log_end_offset;
    for (int i = 0; i < p->n_isr; i++) {
        if (p->isr[i] == b->cfg->broker_id)
            continue;
        const replica_state_t *r = remote_of(p, p->isr[i]);
        if (!r || r->log_end_offset < 0)
            return false;           /* not heard from yet: the HW waits */
        hw = MIN(hw, r->log_end_offset);
    }
    if (hw <= p->high_watermark)
        return false;
    p->high_watermark = hw;
    return true;
}

/* ---- AlterPartition ---- */

typedef struct isr_answer {
    broker_t *b;
    char topic[256];
    int32_t partition;
    int32_t sent_leader_epoch;
    int16_t error;
    int32_t leader_epoch;
    int32_t partition_epoch;
    int32_t *isr;
    int n_isr;
} isr_answer_t;

/* @locality the event-loop thread
 * @locks none */
static void isr_answered(void *arg)
{
    isr_answer_t *a = arg;
    partition_t *p = rm_partition(a->topic, a->partition);
    if (p && p->leader == a->b->cfg->broker_id && p->leader_epoch == a->sent_leader_epoch) {
        p->isr_in_flight = false;
        if (a->error) {
            log_warn("cluster", "AlterPartition for %s-%d failed: %s", a->topic, a->partition,
                     kafka_error_name(a->error));
        } else if (a->leader_epoch == p->leader_epoch && a->partition_epoch >= p->partition_epoch) {
            log_info("cluster", "ISR of %s-%d is now %d replica(s) (partition epoch %d)", a->topic,
                     a->partition, a->n_isr, a->partition_epoch);
            free(p->isr);
            p->isr = a->isr;
            p->n_isr = a->n_isr;
            a->isr = NULL;
            p->partition_epoch = a->partition_epoch;
            mc_update_partition(p->topic, (kuuid_t){ { 0 } }, p->id, p->leader, p->leader_epoch, p->partition_epoch,
                                p->replicas, p->n_replicas, p->isr, p->n_isr, NULL, 0);
            pl_update_high_watermark(a->b, p);
            purgatory_check(p);
        }
    }
    free(a->isr);
    free(a);
}

/* @locality the controller channel's thread
 * @locks none (decodes into its own arena, posts a copy) */
static void isr_reply(void *arg, kreader_t *r, int16_t v)
{
    isr_answer_t *a = arg;
    struct alter_partition_response resp;
    if (!r || alter_partition_response_decode(r, v, &resp) < 0) {
        a->error = KERR_REQUEST_TIMED_OUT;
    } else if (resp.error_code) {
        a->error = resp.error_code;
    } else if (resp.topics_count == 1 && resp.topics[0].partitions_count == 1) {
        const struct alter_partition_response_partition_data *pd = &resp.topics[0].partitions[0];
        a->error = pd->error_code;
        a->leader_epoch = pd->leader_epoch;
        a->partition_epoch = pd->partition_epoch;
        a->n_isr = MAX(pd->isr_count, 0);
        a->isr = mc_ids_copy(pd->isr, a->n_isr);
    } else {
        a->error = KERR_UNKNOWN_SERVER_ERROR;
    }
    loop_post(a->b->loop, isr_answered, a);
}

node_channel_t *pl_controller_channel(broker_t *b)
{
    const mc_broker_t *ctl = b->controller_id >= 0 ? mc_find_broker(b->controller_id) : NULL;
    if (!ctl || channel_closed)
        return NULL;
    if (!to_controller) {
        char cid[32];
        snprintf(cid, sizeof(cid), "broker-%d", b->cfg->broker_id);
        to_controller = chan_new("broker to controller", cid, b->cfg->controller_socket_timeout_ms, 1);
    }
    chan_set_node(to_controller, ctl->id, ctl->host, ctl->port);
    return to_controller;
}

static int16_t alter_partition_version(int32_t ibp)
{
    return ibp >= 305 ? 3 : ibp >= 302 ? 2 : 0;
}

/* Proposes a new ISR for p to the controller (one request in flight per
 * partition, as Kafka's AlterPartitionManager). */
static void propose_isr(broker_t *b, partition_t *p, const int32_t *isr, int n)
{
    const mc_broker_t *ctl = b->controller_id >= 0 ? mc_find_broker(b->controller_id) : NULL;
    const mc_topic_t *t = mc_find_topic(p->topic);
    node_channel_t *ch = ctl ? pl_controller_channel(b) : NULL;
    if (!ch || b->broker_epoch < 0 || !t || p->isr_in_flight)
        return;
    int16_t v = alter_partition_version(b->cfg->ibp);
    arena_t a;
    arena_init(&a);
    struct alter_partition_request rq;
    alter_partition_request_defaults(&rq);
    rq.broker_id = b->cfg->broker_id;
    rq.broker_epoch = b->broker_epoch;
    rq.topics = alter_partition_request_topic_data_array(&a, 1);
    rq.topics_count = 1;
    rq.topics[0].topic_name = kstr_from_cstr(p->topic);
    rq.topics[0].topic_id = t->id;
    rq.topics[0].partitions = alter_partition_request_partition_data_array(&a, 1);
    rq.topics[0].partitions_count = 1;
    struct alter_partition_request_partition_data *pd = &rq.topics[0].partitions[0];
    pd->partition_index = p->id;
    pd->leader_epoch = p->leader_epoch;
    pd->partition_epoch = p->partition_epoch;
    pd->new_isr = (int32_t *)isr;
    pd->new_isr_count = n;
    pd->new_isr_with_epochs = alter_partition_request_broker_state_array(&a, n);
    pd->new_isr_with_epochs_count = n;
    /* A ZooKeeper-mode leader knows no other broker's epoch: -1 for
     * each, as Kafka's Partition.addBrokerEpochToIsr outside KRaft. */
    for (int i = 0; i < n; i++) {
        pd->new_isr_with_epochs[i].broker_id = isr[i];
        pd->new_isr_with_epochs[i].broker_epoch = -1;
    }
    kwriter_t w;
    kw_init(&w);
    alter_partition_request_encode(&w, v, &rq);
    arena_free(&a);
    isr_answer_t *ans = xcalloc(1, sizeof(*ans));
    ans->b = b;
    snprintf(ans->topic, sizeof(ans->topic), "%s", p->topic);
    ans->partition = p->id;
    ans->sent_leader_epoch = p->leader_epoch;
    p->isr_in_flight = true;
    chan_send(ch, API_ALTER_PARTITION, v, &w, isr_reply, ans);
}

/* ---- follower fetches and lag ---- */

void pl_follower_fetched(broker_t *b, partition_t *p, int32_t replica_id, int64_t fetch_offset,
                         int64_t log_start_offset)
{
    replica_state_t *r = remote_of(p, replica_id);
    if (!r || !p->log)
        return;
    int64_t now = now_ms(), leo = p->log->log_end_offset;
    /* Kafka's Replica.updateFetchState. */
    if (fetch_offset >= leo)
        r->last_caught_up_ms = MAX(r->last_caught_up_ms, now);
    else if (r->last_fetch_leader_leo >= 0 && fetch_offset >= r->last_fetch_leader_leo)
        r->last_caught_up_ms = MAX(r->last_caught_up_ms, r->last_fetch_ms);
    r->log_end_offset = fetch_offset;
    r->last_fetch_leader_leo = leo;
    r->last_fetch_ms = now;
    bool start_moved = log_start_offset > r->log_start_offset;
    if (start_moved)
        r->log_start_offset = log_start_offset;
    /* Kafka's maybeExpandIsr: caught up to the HW and into this epoch. */
    if (!in_isr(p, replica_id) && fetch_offset >= p->high_watermark &&
        fetch_offset >= p->leader_epoch_start && !p->isr_in_flight) {
        int32_t *isr = xcalloc((size_t)p->n_isr + 2, sizeof(int32_t));
        memcpy(isr, p->isr, sizeof(int32_t) * (size_t)p->n_isr);
        isr[p->n_isr] = replica_id;
        log_info("cluster", "Expanding ISR of %s with broker %d (log end %" PRId64 ")", p->key,
                 replica_id, fetch_offset);
        propose_isr(b, p, isr, p->n_isr + 1);
        free(isr);
    }
    /* The high watermark moved (produce with acks=all) or a follower's
     * log start did (DeleteRecords waits for every replica's). */
    if (pl_update_high_watermark(b, p) | start_moved)
        purgatory_check(p);
}

int64_t pl_low_watermark(const partition_t *p)
{
    int64_t low = p->log ? p->log->log_start_offset : -1;
    for (int i = 0; i < p->n_remote; i++) {
        const replica_state_t *r = &p->remote[i];
        if (mc_find_broker(r->id) && r->log_start_offset < low)
            low = r->log_start_offset;
    }
    return low;
}

static void check_one(partition_t *p, void *arg)
{
    broker_t *b = arg;
    if (!p->log || p->leader != b->cfg->broker_id || p->isr_in_flight || p->n_isr <= 1)
        return;
    int64_t now = now_ms();
    int32_t *keep = xcalloc((size_t)p->n_isr + 1, sizeof(int32_t));
    int n = 0;
    for (int i = 0; i < p->n_isr; i++) {
        const replica_state_t *r = remote_of(p, p->isr[i]);
        bool lagging = p->isr[i] != b->cfg->broker_id && r &&
                       now - r->last_caught_up_ms > b->cfg->replica_lag_time_max_ms;
        if (lagging)
            log_info("cluster", "Shrinking ISR of %s: broker %d is out of sync (caught up %" PRId64
                     " ms ago, log end %" PRId64 ", leader's %" PRId64 ")", p->key, p->isr[i],
                     now - r->last_caught_up_ms, r->log_end_offset, p->log->log_end_offset);
        else
            keep[n++] = p->isr[i];
    }
    if (n < p->n_isr)
        propose_isr(b, p, keep, n);
    free(keep);
}

void pl_check_isr(broker_t *b)
{
    rm_foreach(check_one, b);
}

void pl_shutdown(void)
{
    channel_closed = true;
    chan_free(to_controller);
    to_controller = NULL;
}
