/*
 * metadata_cache.h - what this broker knows of the cluster: live brokers,
 * topics, partition leaders/replicas/ISR and topic configs.  Event-loop
 * thread only.
 *
 * Partition states (leader, epochs, ISR, replicas) and the live brokers
 * (every listener's endpoint, rack) come from the controller's
 * UpdateMetadata (mc_update_partition, mc_set_brokers), as in Kafka; a
 * broker that is the controller also reads partition states from
 * ZooKeeper.  Until the first UpdateMetadata arrives the registrations
 * controller.c reads from /brokers/ids stand in for the live brokers
 * (mc_seed_brokers), so a broker that has just started lists itself;
 * after that only a controller changes them.  A broker that is not the
 * controller learns topics only from its controller: UpdateMetadata adds
 * them (and partitions), LeaderDuringDelete removes them, LeaderAndIsr
 * adds the ones it names (not shown to clients until UpdateMetadata), and
 * their configs are read from ZooKeeper when it first hears of them
 * (topic_config_load.h).  The controller's own broker also takes the
 * topics it reads from ZooKeeper.  Clients see a partition only once a
 * controller has told this broker its state (mc_partition_announced).
 */
#ifndef SAMSA_METADATA_CACHE_H
#define SAMSA_METADATA_CACHE_H

#include "broker_config.h"
#include "kv_list.h"
#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "proto_codec.h"

typedef struct mc_partition {
    int32_t id;
    int32_t leader;
    int32_t leader_epoch;
    int32_t zk_version;         /* partition epoch */
    int32_t *replicas;
    int n_replicas;
    int32_t *isr;
    int n_isr;
    /* An ongoing reassignment (the assignment znode's adding_replicas and
     * removing_replicas); both empty otherwise. */
    int32_t *adding;
    int n_adding;
    int32_t *removing;
    int n_removing;
    /* Replicas the controller reported offline (dead broker or failed
     * log dir; UpdateMetadata's offline_replicas). */
    int32_t *offline;
    int n_offline;
} mc_partition_t;

/* Settings the request path reads, parsed once when the topic enters the
 * cache (topic_settings_load) instead of on every request. */
typedef struct topic_settings {
    int32_t max_message_bytes;
    bool compacted;                 /* cleanup.policy includes compact */
    bool log_append_time;           /* message.timestamp.type */
    double min_cleanable_ratio;     /* the log cleaner's */
    int64_t min_compaction_lag_ms;
    int64_t max_compaction_lag_ms;
    int64_t delete_retention_ms;
    bool deletes;                   /* cleanup.policy includes delete */
    int64_t retention_ms;           /* -1: no time limit */
    int64_t retention_bytes;        /* -1: no size limit */
    int64_t file_delete_delay_ms;
} topic_settings_t;

typedef struct mc_topic {
    char name[256];
    topic_settings_t settings;
    kuuid_t id;
    int n_partitions;
    mc_partition_t *parts;
    kv_list_t cfg;              /* /config/topics/<t>: the topic's overrides */
    bool cfg_loaded;            /* cfg and settings are the znode's */
    bool cfg_loading;           /* a read of it is on its way (topic_config_load.h) */
    bool deleting;
    bool by_id;                 /* in the cache's topic-id index */
    UT_hash_handle hh;
    UT_hash_handle hh_id;
} mc_topic_t;

/* One advertised listener of a broker. */
typedef struct mc_endpoint {
    char listener[64];
    char host[256];
    int32_t port;
    int16_t security_protocol;
} mc_endpoint_t;

typedef struct mc_broker {
    int32_t id;
    char host[256];             /* endpoint on the inter-broker listener */
    int32_t port;
    mc_endpoint_t endpoints[CONFIG_MAX_LISTENERS];
    int n_endpoints;
    char rack[64];
    int64_t epoch;              /* czxid of /brokers/ids/<id> */
} mc_broker_t;

/* The leader a controller names for a partition of a topic it is
 * deleting (Kafka's LeaderAndIsr.LeaderDuringDelete). */
#define MC_LEADER_DURING_DELETE (-2)

mc_topic_t *mc_topic_new(const char *name, int n_partitions);
/* No leader, epochs -1: a state this broker has not been told yet (any
 * state the controller sends replaces it). */
void mc_partition_state_unknown(mc_partition_t *p);
/* A controller told this broker the partition's state (UpdateMetadata,
 * or this broker's own reads of ZooKeeper as the controller); a partition
 * known only from its assignment is not shown to clients yet. */
bool mc_partition_announced(const mc_partition_t *p);
/* What Kafka's cache holds of a topic: t is not NULL, not being deleted
 * (LeaderDuringDelete) and has an announced partition. */
bool mc_topic_visible(const mc_topic_t *t);
void mc_topic_free(mc_topic_t *t);
/* A broker's endpoint on the named listener, NULL if it has none. */
const mc_endpoint_t *mc_broker_endpoint(const mc_broker_t *b, const char *listener);
/* A deep copy (any thread: it touches only its argument). */
mc_topic_t *mc_topic_dup(const mc_topic_t *t);
/* Same partitions, replicas, leaders, epochs, ISR, id and configs. */
bool mc_topic_same(const mc_topic_t *a, const mc_topic_t *b);
void mc_topic_set_config(mc_topic_t *t, const char *key, const char *value);
const char *mc_topic_config(const mc_topic_t *t, const char *key);
/* The topic of that name and id (zero: any), added with unknown states
 * (not shown to clients) or grown to n_partitions: what a LeaderAndIsr
 * names before UpdateMetadata does. */
mc_topic_t *mc_ensure_topic(const char *name, kuuid_t id, int32_t n_partitions);
/* Replaces any topic of the same name; the cache takes ownership. */
void mc_put_topic(mc_topic_t *t);
void mc_remove_topic(const char *name);
mc_topic_t *mc_find_topic(const char *name);
/* By topic id (Fetch v13+, AlterPartition v2+), or NULL. */
mc_topic_t *mc_find_topic_by_id(kuuid_t id);
/* A malloc()ed copy of n broker ids (n < 0, a null array, copies none). */
int32_t *mc_ids_copy(const int32_t *v, int n);
/* Whether id is among the n broker ids of v (replicas, ISR, offline). */
bool mc_ids_have(const int32_t *v, int n, int32_t id);
/* A controller's word on one partition (UpdateMetadata).  A topic or
 * partition the cache does not know yet is added (a topic of another
 * topic id replaces the one of that name); topic_id is the request's
 * (zero before UpdateMetadata v7).  offline: the replicas it reports
 * offline (NULL leaves them as they were).  LeaderDuringDelete (-2)
 * removes the partition, and the topic with its last one.  False if id is
 * negative or nothing was added. */
bool mc_update_partition(const char *topic, kuuid_t topic_id, int32_t id, int32_t leader,
                         int32_t leader_epoch,
                         int32_t zk_version, const int32_t *replicas, int n_replicas,
                         const int32_t *isr, int n_isr, const int32_t *offline, int n_offline);
mc_topic_t *mc_topics(void);            /* iterate with hh.next */
int mc_topic_count(void);
/* The live brokers a controller announced (UpdateMetadata). */
void mc_set_brokers(const mc_broker_t *brokers, int n);
/* The registrations in ZooKeeper, taken only until a controller has
 * announced the live brokers (see the top of this file). */
void mc_seed_brokers(const mc_broker_t *brokers, int n);
/* Sets b->host and b->port to its endpoint on the inter-broker listener
 * (the first endpoint stands in if it lacks one: it cannot be reached). */
void mc_broker_pick_inter_broker(mc_broker_t *b, const char *inter_broker_listener);
const mc_broker_t *mc_brokers(int *n);
const mc_broker_t *mc_find_broker(int32_t id);
void mc_clear(void);

#endif
