/*
 * controller.h - this broker's part in the ZooKeeper-coordinated cluster:
 * registration under /brokers/ids, controller election through /controller
 * and /controller_epoch, topic creation and deletion in Kafka's znode
 * layout, and the metadata cache refresh.  Event-loop thread only.
 *
 * Partial (single-broker scope): the elected controller applies partition
 * leadership to itself directly and every broker refreshes its metadata
 * cache from ZooKeeper; LeaderAndIsr/UpdateMetadata/StopReplica over the
 * wire and failover of leaders between brokers come with replication.
 */
#ifndef SAMSA_CONTROLLER_H
#define SAMSA_CONTROLLER_H

#include "broker.h"

/* Connects to ZooKeeper, creates Kafka's persistent paths, reads or creates
 * /cluster/id (into b->cluster_id).  -1 on failure. */
int controller_connect(broker_t *b);
/* Registers /brokers/ids/<id>, runs the election and loads metadata. */
int controller_start(broker_t *b);
void controller_stop(broker_t *b);

typedef struct topic_spec {
    const char *name;
    int32_t num_partitions;         /* -1 = num.partitions */
    int16_t replication_factor;     /* -1 = default.replication.factor */
    const char **config_keys;
    const char **config_values;
    int n_configs;
    bool validate_only;
} topic_spec_t;

/* Creates a topic the way Kafka's admin path does (config znode, then the
 * assignment znode).  Returns a Kafka error code; *msg gets a message for
 * the client on error. */
int16_t controller_create_topic(broker_t *b, const topic_spec_t *spec, const char **msg);
/* Marks a topic for deletion under /admin/delete_topics. */
int16_t controller_delete_topic(broker_t *b, const char *name);
/* Topic-name rules of Kafka's Topic.validate; NULL if valid, else why. */
const char *topic_name_invalid(const char *name, int len);
void controller_refresh_metadata(broker_t *b);

#endif
