/*
 * replica_manager.c - owns the hosted partitions (see replica_manager.h):
 * a hash of partition_t by "<topic>-<partition>", filled from metadata and
 * holding each partition's log (opened through log_manager.c) and replica
 * state.  Event-loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_coordinator.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "log_mover.h"
#include "logging.h"
#include "offsets_topic.h"
#include "purgatory.h"
#include "replica_fetcher.h"
#include "replica_manager.h"
#include "txn_coordinator.h"
#include "log_txn.h"
#include "topic_config.h"
#include "util.h"

static partition_t *partitions;     /* event-loop thread */

static void key_of(char *key, size_t n, const char *topic, int32_t id)
{
    snprintf(key, n, "%s-%d", topic, id);
}

partition_t *rm_partition(const char *topic, int32_t id)
{
    char key[300];
    key_of(key, sizeof(key), topic, id);
    partition_t *p;
    HASH_FIND_STR(partitions, key, p);
    return p;
}

int64_t rm_last_stable_offset(const partition_t *p)
{
    return p->log ? plog_last_stable_offset(p->log, p->high_watermark) : p->high_watermark;
}

partition_t *rm_leader_for(broker_t *b, const char *topic, int32_t id,
                           int32_t current_leader_epoch, int16_t *err)
{
    const mc_topic_t *t = mc_find_topic(topic);
    if (!t || id < 0 || id >= t->n_partitions) {
        *err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    partition_t *p = rm_partition(topic, id);
    if (!p || !p->log || p->leader != b->cfg->broker_id) {
        *err = KERR_NOT_LEADER_OR_FOLLOWER;
        return NULL;
    }
    if (current_leader_epoch >= 0 && current_leader_epoch < p->leader_epoch) {
        *err = KERR_FENCED_LEADER_EPOCH;
        return NULL;
    }
    if (current_leader_epoch > p->leader_epoch) {
        *err = KERR_UNKNOWN_LEADER_EPOCH;
        return NULL;
    }
    *err = KERR_NONE;
    return p;
}


/* Topic-level overrides (segment.bytes, segment.ms, ...) over the broker's
 * defaults, for this topic's logs. */
log_settings_t rm_log_settings(broker_t *b, const mc_topic_t *t)
{
    return (log_settings_t){
        .segment_bytes = topic_config_int(b, t, "segment.bytes"),
        .roll_ms = topic_config_int(b, t, "segment.ms"),
        .roll_jitter_ms = topic_config_int(b, t, "segment.jitter.ms"),
        .index_interval_bytes = (int32_t)topic_config_int(b, t, "index.interval.bytes"),
        .index_size_max_bytes = (int32_t)topic_config_int(b, t, "segment.index.bytes"),
        .flush_interval_messages = topic_config_int(b, t, "flush.messages"),
        .max_message_bytes = (int32_t)topic_config_int(b, t, "max.message.bytes"),
    };
}

static void free_partition(partition_t *p, bool delete_log)
{
    fetcher_unfollow(p->topic, p->id);
    pl_drop_leader_state(p);
    purgatory_partition_gone(p);
    HASH_DEL(partitions, p);
    if (delete_log && p->log)
        logmgr_delete(p->topic, p->id);
    free(p->topic);
    free(p->replicas);
    free(p->isr);
    free(p);
}

static partition_t *new_partition(const char *topic, int32_t id, partition_log_t *log)
{
    partition_t *p = xcalloc(1, sizeof(*p));
    key_of(p->key, sizeof(p->key), topic, id);
    p->topic = xstrdup(topic);
    p->id = id;
    p->log = log;
    p->accepted_leader_epoch = -1;
    p->high_watermark = log ? log->log_end_offset : 0;
    HASH_ADD_STR(partitions, key, p);
    return p;
}

/* ZooKeeper's copy of the assignment: the replicas only.  Leadership
 * comes from the controller's LeaderAndIsr alone (Kafka's brokers never
 * act on partition state read from ZooKeeper). */
static void update_state(partition_t *p, const mc_partition_t *mp)
{
    if (p->accepted_leader_epoch >= 0)
        return;
    free(p->replicas);
    p->replicas = mc_ids_copy(mp->replicas, mp->n_replicas);
    p->n_replicas = mp->n_replicas;
}

/* The role LeaderAndIsr gave p, taken up once its log is open: a leader
 * serves (and its followers' fetches), a follower fetches from its leader. */
static void take_role(broker_t *b, partition_t *p, bool was_leader, const char *host, int32_t port)
{
    int32_t me = b->cfg->broker_id;
    lmove_partition_has_role(p->topic, p->id);
    if (p->leader == me) {
        fetcher_unfollow(p->topic, p->id);
        pl_become_leader(b, p);
        if (!was_leader && !strcmp(p->topic, OFFSETS_TOPIC))
            gc_partition_led(p->id);
        if (!was_leader && !strcmp(p->topic, TXN_TOPIC))
            tc_partition_led(p->id, p->leader_epoch);
    } else {
        pl_drop_leader_state(p);
        if (was_leader && !strcmp(p->topic, OFFSETS_TOPIC))
            gc_partition_unled(p->id);
        if (was_leader && !strcmp(p->topic, TXN_TOPIC))
            tc_partition_unled(p->id);
        const mc_broker_t *lb = p->leader >= 0 ? mc_find_broker(p->leader) : NULL;
        if (!host && lb) {
            host = lb->host;
            port = lb->port;
        }
        if (p->leader >= 0 && host)
            fetcher_follow(b, p->topic, p->id, p->leader, host, port, p->leader_epoch,
                           p->log->log_end_offset, lec_latest_epoch(&p->log->epochs));
        else
            fetcher_unfollow(p->topic, p->id);
    }
    purgatory_check(p);     /* parked requests see the new role */
}

/* A partition's log is open: its high watermark starts at the one
 * checkpointed (as Kafka's), and the role it was given is taken up. */
static void became_ready(broker_t *b, partition_t *p)
{
    p->high_watermark = MIN(p->log->checkpointed_hw, p->log->log_end_offset);
    if (p->accepted_leader_epoch >= 0)
        take_role(b, p, false, NULL, 0);
    purgatory_check(p);
}

typedef struct opening {
    broker_t *b;
    char key[300];
    char *topic;
    int32_t partition;
} opening_t;

/* Event-loop thread: the disk thread created the log (or found it). */
static void log_opened(partition_log_t *pl, void *arg)
{
    opening_t *o = arg;
    partition_t *p;
    HASH_FIND_STR(partitions, o->key, p);
    if (p && pl && !p->log) {
        p->log = pl;
        /* The topic's config may have changed while it was created. */
        const mc_topic_t *t = mc_find_topic(p->topic);
        if (t)
            pl->settings = rm_log_settings(o->b, t);
        became_ready(o->b, p);
    } else if (!p && pl) {
        logmgr_delete(o->topic, o->partition);  /* deleted while being created */
    }
    free(o->topic);
    free(o);
}

partition_t *rm_host(broker_t *b, const char *topic, int32_t id)
{
    partition_t *p = rm_partition(topic, id);
    if (p)
        return p;
    p = new_partition(topic, id, logmgr_get(topic, id));
    p->leader = -1;
    const mc_topic_t *t = mc_find_topic(topic);
    log_settings_t settings = t ? rm_log_settings(b, t) : logmgr_default_settings();
    if (p->log) {
        /* Loaded at start-up with the broker's defaults: the topic's own
         * settings (its config was read before LeaderAndIsr got here). */
        p->log->settings = settings;
        became_ready(b, p);
        return p;
    }
    opening_t *o = xcalloc(1, sizeof(*o));
    o->b = b;
    snprintf(o->key, sizeof(o->key), "%s", p->key);
    o->topic = xstrdup(topic);
    o->partition = id;
    logmgr_open_async(topic, id, &settings, log_opened, o);
    return p;
}

void rm_apply_partition(broker_t *b, const mc_topic_t *t, int32_t i,
                        const log_settings_t *settings)
{
    const mc_partition_t *mp = &t->parts[i];
    partition_t *p = rm_partition(t->name, i);
    if (!p)
        return;                         /* hosted once LeaderAndIsr asks (rm_host) */
    if (!mc_ids_have(mp->replicas, mp->n_replicas, b->cfg->broker_id)) {
        free_partition(p, true);
        return;
    }
    update_state(p, mp);
    if (p->log)
        p->log->settings = *settings;   /* applies from the next segment on */
}

void rm_trim_topic(const mc_topic_t *t)
{
    /* A re-created topic may have fewer partitions than the old one. */
    partition_t *p, *tmp;
    HASH_ITER(hh, partitions, p, tmp)
        if (p->id >= t->n_partitions && !strcmp(p->topic, t->name))
            free_partition(p, true);
}

void rm_remove_topic(const char *topic)
{
    partition_t *p, *tmp;
    HASH_ITER(hh, partitions, p, tmp)
        if (!strcmp(p->topic, topic))
            free_partition(p, true);
}

void rm_set_leadership(broker_t *b, partition_t *p, int32_t leader, int32_t leader_epoch,
                       int32_t partition_epoch, const int32_t *replicas, int n_replicas,
                       const int32_t *isr, int n_isr, const char *leader_host,
                       int32_t leader_port)
{
    bool was_leader = p->leader == b->cfg->broker_id;
    p->leader = leader;
    p->leader_epoch = leader_epoch;
    p->accepted_leader_epoch = leader_epoch;
    p->partition_epoch = partition_epoch;
    free(p->replicas);
    free(p->isr);
    p->n_replicas = MAX(n_replicas, 0);    /* a null array counts -1 */
    p->replicas = mc_ids_copy(replicas, p->n_replicas);
    p->n_isr = MAX(n_isr, 0);
    p->isr = mc_ids_copy(isr, p->n_isr);
    if (p->log)
        take_role(b, p, was_leader, leader_host, leader_port);
}

void rm_stop_replica(const char *topic, int32_t id, bool delete_log)
{
    /* A coordinator's partition leaving: its groups or transactions go
     * (no-ops unless loaded here), as Kafka's onResignation. */
    if (!strcmp(topic, OFFSETS_TOPIC))
        gc_partition_unled(id);
    else if (!strcmp(topic, TXN_TOPIC))
        tc_partition_unled(id);
    partition_t *p = rm_partition(topic, id);
    if (p && delete_log) {
        free_partition(p, true);
        return;
    }
    if (p) {
        p->leader = -1;
        fetcher_unfollow(topic, id);
        pl_drop_leader_state(p);
        purgatory_check(p);
    } else if (delete_log && logmgr_get(topic, id)) {
        logmgr_delete(topic, id);
    }
}

void rm_appended(broker_t *b, partition_t *p)
{
    pl_update_high_watermark(b, p);
    purgatory_check(p);
}

int64_t rm_high_watermark_of(const partition_log_t *pl)
{
    partition_t *p = rm_partition(pl->topic, pl->partition);
    return p ? p->high_watermark : pl->log_end_offset;
}

void rm_foreach(void (*fn)(partition_t *p, void *arg), void *arg)
{
    partition_t *p, *tmp;
    HASH_ITER(hh, partitions, p, tmp)
        fn(p, arg);
}

void rm_shutdown(void)
{
    partition_t *p, *tmp;
    HASH_ITER(hh, partitions, p, tmp)
        free_partition(p, false);
}
