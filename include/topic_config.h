/*
 * topic_config.h - the topic-level settings Kafka defines (LogConfig): their
 * names, types, valid ranges, and the broker settings they default to;
 * validation with Kafka's messages; the value in force for a topic.
 * The table is constant; the functions read the broker configuration and a
 * topic of the metadata cache, so they run on the event-loop thread
 * (topic_config_validate is pure and runs anywhere).
 */
#ifndef SAMSA_TOPIC_CONFIG_H
#define SAMSA_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

struct mc_topic;

typedef enum { TC_INT, TC_LONG, TC_DOUBLE, TC_BOOLEAN, TC_STRING, TC_LIST } tc_type_t;

typedef struct topic_setting {
    const char *topic_key;
    const char *broker_key;     /* NULL: a topic-only setting */
    const char *fallback;       /* Kafka's default when the broker key is unset */
    tc_type_t type;
    double min;                 /* numeric lower bound (ignored if min > max) */
    double max;
    const char *one_of;         /* STRING/LIST: valid values, ", "-separated */
} topic_setting_t;

const topic_setting_t *topic_setting_find(const char *key);
const topic_setting_t *topic_settings(int *n);
bool topic_config_key_known(const char *key);
/* INVALID_CONFIG with Kafka's message in *msg, or 0.  *msg points at
 * per-thread storage, valid until the thread's next call (any thread). */
int16_t topic_config_validate(const char **keys, const char **values, int n, const char **msg);

/* True if value suits s; else Kafka's "Invalid value v for configuration
 * key: why" in msg.  Any thread. */
bool topic_config_value_ok(const topic_setting_t *s, const char *key, const char *value,
                           char *msg, size_t msg_size);

/* Fills t->settings from its overrides and the broker's defaults. */
void topic_settings_load(broker_t *b, struct mc_topic *t);

/* The broker's value for a topic setting: server.properties, a value
 * Kafka derives from other keys (retention.ms from log.retention.hours),
 * or Kafka's default.  buf holds derived values. */
const char *topic_config_broker_value(broker_t *b, const topic_setting_t *s, char *buf, size_t n);
/* A topic-level setting: the topic override, else the broker default. */
const char *topic_config_str(broker_t *b, const struct mc_topic *t, const char *key);
int64_t topic_config_int(broker_t *b, const struct mc_topic *t, const char *key);

#endif
