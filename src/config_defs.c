/*
 * config_defs.c - looks names up in the generated tables of Kafka's broker
 * and topic configurations (config_defs_kafka.c) and knows Kafka's broker
 * synonyms.  Constant data: any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_defs.h"

static int by_name(const void *key, const void *elem)
{
    return strcmp(key, ((const config_def_t *)elem)->name);
}

const config_def_t *config_def_broker(const char *name)
{
    return bsearch(name, kafka_broker_config_defs, (size_t)kafka_broker_config_def_count,
                   sizeof(config_def_t), by_name);
}

const config_def_t *config_def_topic(const char *name)
{
    return bsearch(name, kafka_topic_config_defs, (size_t)kafka_topic_config_def_count,
                   sizeof(config_def_t), by_name);
}

static const char *const synonym_groups[][4] = {
    { "log.roll.ms", "log.roll.hours", NULL, NULL },
    { "log.roll.jitter.ms", "log.roll.jitter.hours", NULL, NULL },
    { "log.retention.ms", "log.retention.minutes", "log.retention.hours", NULL },
};

/* SASL mechanism configs a listener override names as
 * listener.name.<l>.<mechanism>.<key>. */
static const char *const mechanism_configs[] = {
    "sasl.jaas.config", "sasl.login.callback.handler.class", "sasl.login.class",
    "sasl.server.callback.handler.class", "connections.max.reauth.ms",
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int config_broker_synonyms(const char *name, const char *out[3], char *suffix_buf, int buf_size)
{
    for (size_t g = 0; g < sizeof(synonym_groups) / sizeof(synonym_groups[0]); g++)
        for (int i = 0; synonym_groups[g][i]; i++)
            if (!strcmp(name, synonym_groups[g][i])) {
                int n = 0;
                for (int k = 0; synonym_groups[g][k]; k++)
                    out[n++] = synonym_groups[g][k];
                return n;
            }
    out[0] = name;
    if (!strcmp(name, "log.flush.interval.ms")) {
        out[1] = "log.flush.scheduler.interval.ms";
        return 2;
    }
    static const char prefix[] = "listener.name.";
    const char *dot = !strncmp(name, prefix, sizeof(prefix) - 1)
                          ? strchr(name + sizeof(prefix) - 1, '.') : NULL;
    if (dot && dot[1]) {
        const char *base = dot + 1;
        for (size_t i = 0; i < sizeof(mechanism_configs) / sizeof(mechanism_configs[0]); i++)
            if (ends_with(base, mechanism_configs[i]))
                base = mechanism_configs[i];
        snprintf(suffix_buf, (size_t)buf_size, "%s", base);
        out[1] = suffix_buf;
        return 2;
    }
    return 1;
}

/* Broker quotas Kafka's DynamicConfig.Broker adds to KafkaConfig's keys
 * (all LONG): settable at runtime, not described. */
static const char *const broker_quota_configs[] = {
    "follower.replication.throttled.rate", "leader.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
};

bool config_broker_quota(const char *name)
{
    for (size_t i = 0; i < sizeof(broker_quota_configs) / sizeof(broker_quota_configs[0]); i++)
        if (!strcmp(name, broker_quota_configs[i]))
            return true;
    return false;
}

int config_broker_type(const char *name)
{
    if (config_broker_quota(name))
        return CT_LONG;
    const config_def_t *exact = config_def_broker(name);
    if (exact)
        return exact->type;
    const char *syn[3];
    char base[256];
    int n = config_broker_synonyms(name, syn, base, sizeof(base));
    for (int i = 0; i < n; i++) {
        const config_def_t *d = config_def_broker(syn[i]);
        if (d)
            return d->type;
    }
    return CT_UNKNOWN;
}

bool config_broker_sensitive(const char *name)
{
    int t = config_broker_type(name);
    return t == CT_UNKNOWN || t == CT_PASSWORD;
}
