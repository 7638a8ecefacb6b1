/*
 * controller_state.h - the active controller's duties (Kafka's
 * KafkaController with its partition and replica state machines, in the
 * ZooKeeper-mode shape): it keeps its own copy of every topic's assignment
 * and partition state, elects leaders when brokers come and go, writes
 * partition states to ZooKeeper fenced by the controller epoch's znode
 * version, answers leaders' AlterPartition requests, and tells brokers
 * through LeaderAndIsr and UpdateMetadata at the versions
 * inter.broker.protocol.version selects -- to itself too, over the
 * network, as Kafka does.
 *
 * Threads: everything here runs on the ZooKeeper thread (zk_worker.h),
 * which owns the context; the requests go out on one node_channel thread
 * per live broker.
 *
 * Not done: /isr_change_notification is not watched (brokers at IBP 2.7+
 * use AlterPartition, and 2.8 is the lowest IBP samsa speaks).  Topic
 * deletion: topic_deletion.h.
 */
#ifndef SAMSA_CONTROLLER_STATE_H
#define SAMSA_CONTROLLER_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "controller_requests.h"
#include "metadata_cache.h"

/* This broker became controller: the context is built from the live
 * brokers and every topic (copied), offline partitions get leaders, and
 * every live broker is sent UpdateMetadata and LeaderAndIsr for all its
 * partitions. */
void cs_activate(broker_t *b, const mc_broker_t *brokers, int n, mc_topic_t *const *topics,
                 int nt);
/* Lost the controllership (or shutting down): channels close, context goes. */
void cs_deactivate(void);
bool cs_is_active(void);
/* The live broker set changed (new, gone, or restarted with a new epoch). */
void cs_on_brokers(const mc_broker_t *brokers, int n);
/* Dynamic configuration changed (u's broker layers and topic overrides):
 * the context keeps topics' overrides, and turning unclean leader
 * election on, for a topic or by default, elects leaders for offline
 * partitions at once, as Kafka's controller does. */
void cs_on_configs(const metadata_update_t *u);
/* Topics new or changed in ZooKeeper (copies are taken). */
void cs_on_topics(mc_topic_t *const *topics, int nt);
void cs_on_topics_removed(char *const *names, int n);
/* An AlterPartition request (decoded into arena-backed memory), answered
 * into resp, allocated from a. */
void cs_alter_partition(arena_t *a, int16_t version, const struct alter_partition_request *rq,
                        struct alter_partition_response *resp);
/* A broker asks to shut down: it leaves every ISR and its partitions get
 * other leaders where one is in sync; *remaining gets those it still
 * leads (it asks again).  A Kafka error code. */
int16_t cs_controlled_shutdown(int32_t broker_id, int64_t broker_epoch, prefs_t *remaining);
/* A request from broker_id carrying broker_epoch comes from its live
 * registration (-1: not checked). */
bool cs_broker_epoch_ok(int32_t broker_id, int64_t broker_epoch);
/* ElectLeaders: preferred (v0, type 0) or unclean (type 1) elections for
 * the named partitions (all of them if null), answered as Kafka's ZooKeeper
 * controller answers (ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
 * ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION). */
void cs_elect_leaders(arena_t *a, int16_t v, const struct elect_leaders_request *rq,
                      struct elect_leaders_response *resp);
/* auto.leader.rebalance.enable: leadership goes back to preferred
 * replicas for brokers above leader.imbalance.per.broker.percentage. */
void cs_auto_rebalance(int percentage);
/* /admin/preferred_replica_election appeared: its partitions get their
 * preferred leaders, the znode goes (an exists watch is left on it). */
void cs_zk_preferred_elections(void);
/* Partition reassignment (controller_reassign.c).  AlterPartitionReassignments
 * (null replicas cancel) and ListPartitionReassignments, answered as Kafka's
 * ZooKeeper-mode controller answers them. */
void cs_alter_reassignments(arena_t *a, const struct alter_partition_reassignments_request *rq,
                            struct alter_partition_reassignments_response *resp);
void cs_list_reassignments(arena_t *a, const struct list_partition_reassignments_request *rq,
                           struct list_partition_reassignments_response *resp);
/* /admin/reassign_partitions appeared or changed: its entries start (an
 * exists watch is left on it). */
void cs_zk_reassignments(void);
/* After a failover: the znode's entries and the reassignments the
 * assignment znodes record go on. */
void cs_resume_reassignments(void);

#endif
