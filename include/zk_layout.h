/*
 * zk_layout.h - Kafka's ZooKeeper layout: znode paths and the JSON of
 * broker registrations, topic assignments, topic configs, partition states,
 * /controller and /cluster/id.  Pure functions over caller-owned memory;
 * any thread (the ZooKeeper thread uses them).
 */
#ifndef SAMSA_ZK_LAYOUT_H
#define SAMSA_ZK_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "broker_config.h"
#include "kv_list.h"
#include "metadata_cache.h"
#include "proto_codec.h"

#define ZK_PATH_MAX 600

/* Persistent paths Kafka creates at start-up. */
extern const char *const zk_persistent_paths[];
extern const int zk_persistent_path_count;

/* Kafka's base64url-without-padding form of a UUID (22 characters). */
void zkl_uuid_to_base64(const kuuid_t *u, char out[23]);
int zkl_uuid_from_base64(const char *s, kuuid_t *u);
/* A random version-4 UUID, as java.util.UUID makes. */
kuuid_t zkl_random_uuid(void);

/* The v5 registration of this broker (caller frees). */
char *zkl_broker_registration(const broker_config_t *cfg, int64_t timestamp_ms);
/* Parses /brokers/ids/<id> into b (id and epoch set by the caller); -1 if
 * malformed. */
int zkl_parse_broker(const char *json, const char *inter_broker_listener, mc_broker_t *b);

/* /brokers/topics/<t>: a topic with its replica assignment, or NULL. */
mc_topic_t *zkl_parse_topic(const char *name, const char *json);
/* A config znode's {"version":1,"config":{...}} into out; -1 if
 * malformed. */
int zkl_parse_config(const char *json, kv_list_t *out);
/* A /config/changes notification for entity_path ("topics/<t>",
 * "brokers/<id>", "brokers/<default>"), version 2 (caller frees). */
char *zkl_config_change(const char *entity_path);
/* The entity path of a version 1 or 2 notification; -1 if malformed. */
int zkl_parse_config_change(const char *json, char *entity_path, size_t n);
/* The sequence number of a sequential znode's name (prefix0000000042 ->
 * 42); -1 if the name is not prefix and digits. */
long long zkl_sequence_number(const char *child, const char *prefix);
/* /brokers/topics/<t>/partitions/<p>/state into p; -1 if malformed. */
int zkl_parse_partition_state(const char *json, int32_t zk_version, mc_partition_t *p);
/* The JSON Kafka writes for these (caller frees). */
char *zkl_partition_state(int32_t controller_epoch, int32_t leader, int32_t leader_epoch,
                          const int32_t *isr, int n_isr);
char *zkl_topic_assignment(const mc_topic_t *t);
char *zkl_topic_config(const char *const *keys, const char *const *values, int n);
char *zkl_controller(int32_t broker_id, int64_t timestamp_ms);
int32_t zkl_parse_controller(const char *json);
char *zkl_cluster_id(const char *id);
/* The id in /cluster/id JSON into out; -1 if malformed. */
int zkl_parse_cluster_id(const char *json, char *out, size_t out_size);

#endif
