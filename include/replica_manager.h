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
 * With replication factor 1 the high watermark follows the log end offset
 * on every append; followers come with replication.
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
/* Metadata for a topic arrived, applied one partition at a time (the
 * caller slices the work): a partition with a replica here is created or
 * updated; otherwise it is let go.  A new partition whose log does not
 * exist yet has it created on the disk thread: requests get
 * NOT_LEADER_OR_FOLLOWER (retriable) until then, and opened(arg) runs once
 * it is ready; true if that is pending.  rm_trim_topic() drops partitions
 * past a topic's count. */
bool rm_apply_partition(broker_t *b, const mc_topic_t *t, int32_t i,
                        const log_settings_t *settings, void (*opened)(void *arg), void *arg);
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
                       const int32_t *isr, int n_isr);
/* A controller's StopReplica: the partition stops being served here; with
 * delete its log is deleted too (hosted or not). */
void rm_stop_replica(const char *topic, int32_t id, bool delete_log);
/* After an append to p: the high watermark moves (RF=1: to the log end)
 * and operations watching p are tried. */
void rm_appended(partition_t *p);
/* The high watermark of a log's partition (its log end if not hosted), for
 * replication-offset-checkpoint. */
int64_t rm_high_watermark_of(const partition_log_t *pl);
void rm_foreach(void (*fn)(partition_t *p, void *arg), void *arg);
void rm_shutdown(void);

#endif
