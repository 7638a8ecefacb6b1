/*
 * replica_manager.h - the partitions this broker hosts (Kafka's
 * ReplicaManager and Partition).  One partition_t per hosted partition
 * holds its log and the replica state replication fills in: leader, leader
 * epoch, partition epoch (the state znode's version), replicas, ISR, high
 * watermark, and the delayed operations watching it.  Produce, Fetch and
 * ListOffsets find their partition through rm_leader_for(), the one
 * lookup, which also checks the client's current leader epoch.
 * Event-loop thread only.
 *
 * Roles follow the controller's LeaderAndIsr only (never ZooKeeper reads):
 * a leader serves clients and its followers' fetches and moves the high
 * watermark to the smallest log end of its ISR (partition_leader.c); a
 * follower has a fetcher thread copy the leader's log (replica_fetcher.h).
 */
#ifndef SAMSA_REPLICA_MANAGER_H
#define SAMSA_REPLICA_MANAGER_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "broker.h"
#include "log_partition.h"
#include "metadata_cache.h"

struct op_watch;

/* What a leader knows of one of its followers (Kafka's Replica). */
typedef struct replica_state {
    int32_t id;
    int64_t log_end_offset;         /* its last fetch offset; -1 until it fetches */
    int64_t last_caught_up_ms;      /* wall clock */
    int64_t last_fetch_ms;
    int64_t last_fetch_leader_leo;  /* the leader's log end at that fetch */
    int64_t log_start_offset;       /* as its last fetch reported it; -1 until then */
} replica_state_t;

typedef struct partition {
    char key[300];              /* "<topic>-<partition>" */
    char *topic;
    int32_t id;
    partition_log_t *log;
    int32_t leader;
    int32_t leader_epoch;
    int32_t accepted_leader_epoch;  /* last one a LeaderAndIsr set, -1 if none */
    int32_t partition_epoch;
    int32_t *replicas;
    int n_replicas;
    int32_t *isr;
    int n_isr;
    int64_t high_watermark;
    /* Leader only (partition_leader.c): */
    replica_state_t *remote;        /* the other replicas */
    int n_remote;
    bool isr_in_flight;             /* an AlterPartition awaits its answer */
    int64_t leader_epoch_start;     /* log end when this epoch began */
    struct op_watch *watchers;  /* purgatory.h */
    UT_hash_handle hh;
} partition_t;

/* The hosted partition, or NULL. */
partition_t *rm_partition(const char *topic, int32_t id);
/* The partition a client request may use as leader, or NULL with *err:
 * UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, or, when the client
 * names an epoch (current_leader_epoch >= 0), FENCED_LEADER_EPOCH (older
 * than ours) or UNKNOWN_LEADER_EPOCH (newer), as Kafka answers. */
partition_t *rm_leader_for(broker_t *b, const char *topic, int32_t id,
                           int32_t current_leader_epoch, int16_t *err);
/* The offset read_committed clients may read below: the high watermark,
 * or the first offset of the oldest open transaction if that is lower. */
int64_t rm_last_stable_offset(const partition_t *p);
/* The controller's read of a topic, applied one partition at a time (the
 * caller slices the work) to a partition hosted here: its state and log
 * settings are updated, or, no longer assigned here, it is let go.  A
 * partition is hosted only when LeaderAndIsr asks (rm_host), as in Kafka.
 * rm_trim_topic() drops partitions past a topic's count. */
void rm_apply_partition(broker_t *b, const mc_topic_t *t, int32_t i,
                        const log_settings_t *settings);
void rm_trim_topic(const mc_topic_t *t);
/* A topic's log settings: its overrides over the broker's defaults. */
log_settings_t rm_log_settings(broker_t *b, const mc_topic_t *t);
/* A topic is gone: its partitions complete their waiters and their logs
 * are deleted. */
void rm_remove_topic(const char *topic);
/* The partition, hosted from now on if it was not: its log is opened (or
 * created on the disk thread); used when a controller's LeaderAndIsr names
 * a partition before ZooKeeper's copy of the topic has been applied. */
partition_t *rm_host(broker_t *b, const char *topic, int32_t id);
/* A controller's LeaderAndIsr for a hosted partition (api_inter_broker.c
 * has checked its epochs): leader, epochs, replicas and ISR as given. */
void rm_set_leadership(broker_t *b, partition_t *p, int32_t leader, int32_t leader_epoch,
                       int32_t partition_epoch, const int32_t *replicas, int n_replicas,
                       const int32_t *isr, int n_isr, const char *leader_host,
                       int32_t leader_port);
/* A controller's StopReplica: the partition stops being served here; with
 * delete its log is deleted too (hosted or not). */
void rm_stop_replica(const char *topic, int32_t id, bool delete_log);
/* After an append to p: the high watermark may move and operations
 * watching p are tried. */
void rm_appended(broker_t *b, partition_t *p);

/* partition_leader.c (event-loop thread): the leader's side. */
/* Becoming leader: follower states reset, the new epoch starts at the log end. */
void pl_become_leader(broker_t *b, partition_t *p);
void pl_drop_leader_state(partition_t *p);
/* A follower fetched at fetch_offset (Kafka's updateFollowerFetchState):
 * its log end, caught-up time, ISR expansion and the high watermark. */
void pl_follower_fetched(broker_t *b, partition_t *p, int32_t replica_id, int64_t fetch_offset,
                         int64_t log_start_offset);
/* Kafka's lowWatermarkIfLeader: the smallest log start offset among this
 * log and the followers on live brokers (DeleteRecords' answer). */
int64_t pl_low_watermark(const partition_t *p);
bool pl_is_replica(const partition_t *p, int32_t id);
/* The high watermark: the smallest log end in the ISR.  True if it moved. */
bool pl_update_high_watermark(broker_t *b, partition_t *p);
/* Every replica.lag.time.max.ms / 2: followers out of sync leave the ISR. */
void pl_check_isr(broker_t *b);
/* min.insync.replicas of p's topic. */
int32_t pl_min_isr(broker_t *b, const partition_t *p);
/* The channel to the current controller (created on first use, pointed at
 * whichever broker is controller now), or NULL if none is known. */
struct node_channel *pl_controller_channel(broker_t *b);
/* Stops the channel to the controller (main thread, after the loop). */
void pl_shutdown(void);
/* The high watermark of a log's partition (its log end if not hosted), for
 * replication-offset-checkpoint. */
int64_t rm_high_watermark_of(const partition_log_t *pl);
void rm_foreach(void (*fn)(partition_t *p, void *arg), void *arg);
void rm_shutdown(void);

#endif
