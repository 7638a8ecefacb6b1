/*
 * broker_dynamic.h - the broker configuration in force: Kafka's layers of
 * dynamic configuration for this broker (/config/brokers/<id>), dynamic
 * defaults for all brokers (/config/brokers/<default>), server.properties
 * and Kafka's defaults, in that order.  The ZooKeeper thread reads the
 * znodes (config_changes.c); the event loop owns what is in force and,
 * when it changes, re-derives every topic's settings from it, so a new
 * log.retention.ms or log.segment.bytes applies without a restart.
 * Event-loop thread only.
 */
#ifndef SAMSA_BROKER_DYNAMIC_H
#define SAMSA_BROKER_DYNAMIC_H

#include <stdint.h>

#include "broker.h"
#include "kv_list.h"

struct mc_topic;

/* DescribeConfigs' ConfigSource ids. */
enum {
    SOURCE_UNKNOWN = 0,
    SOURCE_TOPIC_CONFIG = 1,
    SOURCE_DYNAMIC_BROKER = 2,
    SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    SOURCE_STATIC_BROKER = 4,
    SOURCE_DEFAULT = 5,
};

/* The value of a broker key set in one of the layers (*source says which),
 * or NULL (Kafka's default applies; *source = SOURCE_DEFAULT). */
const char *bdyn_get(broker_t *b, const char *key, int *source);
/* The value of key in one layer only (SOURCE_DYNAMIC_BROKER,
 * SOURCE_DYNAMIC_DEFAULT_BROKER, SOURCE_STATIC_BROKER), or NULL. */
const char *bdyn_layer_get(broker_t *b, int source, const char *key);
/* A dynamic key only: this broker's entry, else the cluster default, else
 * NULL (server.properties or Kafka's default applies). */
const char *bdyn_cluster_get(const broker_t *b, const char *key);
/* The dynamic layers as loaded from ZooKeeper. */
const kv_list_t *bdyn_layer(broker_t *b, int source);

/* Values Kafka derives from several keys (KafkaConfig's
 * logRetentionTimeMillis, logRollTimeMillis, logRollTimeJitterMillis). */
int64_t bdyn_retention_ms(broker_t *b);
int64_t bdyn_roll_ms(broker_t *b);
int64_t bdyn_roll_jitter_ms(broker_t *b);

/* Replaces both dynamic layers (the lists are taken) and re-derives every
 * topic's settings and the settings of the logs hosted here. */
void bdyn_replace(broker_t *b, kv_list_t *per_broker, kv_list_t *defaults);
/* Re-derives one topic's settings (its overrides changed). */
void bdyn_topic_changed(broker_t *b, struct mc_topic *t);
void bdyn_free(broker_t *b);

#endif
