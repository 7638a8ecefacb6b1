/*
 * config_defs.h - every broker and topic configuration Apache Kafka
 * defines, as its KafkaConfig and LogConfig do: name, type, default,
 * documentation, and (brokers) whether it may change at runtime and at
 * which level.  The tables are generated from Kafka's classes by
 * tools/GenConfigTables.java into config_defs_kafka.c; they are constant,
 * so any thread may read them.
 */
#ifndef SAMSA_CONFIG_DEFS_H
#define SAMSA_CONFIG_DEFS_H

#include <stdbool.h>
#include <stdint.h>

/* DescribeConfigs' ConfigType ids. */
enum {
    CT_UNKNOWN = 0, CT_BOOLEAN, CT_STRING, CT_INT, CT_SHORT, CT_LONG, CT_DOUBLE, CT_LIST,
    CT_CLASS, CT_PASSWORD
};

enum {
    CD_DYNAMIC = 1,             /* may be changed at runtime (AlterConfigs) */
    CD_PER_BROKER = 2,          /* ... only for one broker, not the default */
};

typedef struct config_def {
    const char *name;
    int8_t type;                /* CT_* */
    const char *default_value;  /* as Kafka prints it; NULL: none */
    unsigned flags;             /* CD_* */
    const char *broker_synonym; /* topic configs: the broker key behind it */
    const char *doc;
} config_def_t;

/* Sorted by name. */
extern const config_def_t kafka_broker_config_defs[];
extern const int kafka_broker_config_def_count;
extern const config_def_t kafka_topic_config_defs[];
extern const int kafka_topic_config_def_count;

const config_def_t *config_def_broker(const char *name);
const config_def_t *config_def_topic(const char *name);

/* Kafka's DynamicBrokerConfig.brokerConfigSynonyms: the keys that set the
 * same thing, most specific first (log.retention.ms, .minutes, .hours);
 * listener overrides (listener.name.<l>.<key>) also name <key>.  Returns
 * how many went into out (at most 3); suffix_buf holds the base name. */
int config_broker_synonyms(const char *name, const char *out[3], char *suffix_buf, int buf_size);

/* Kafka's KafkaConfig.configType: CT_UNKNOWN if Kafka does not know it. */
int config_broker_type(const char *name);
/* A broker quota (leader.replication.throttled.rate...): dynamic only. */
bool config_broker_quota(const char *name);
/* Kafka's KafkaConfig.maybeSensitive: passwords, and keys whose type is
 * unknown. */
bool config_broker_sensitive(const char *name);

#endif
