/*
 * topic_config.c - owns the table of topic-level settings (Kafka 3.9's
 * LogConfig: types, validators, broker synonyms and defaults) and checks
 * CreateTopics configs against it with Kafka's ConfigException messages,
 * so nothing Kafka refuses reaches ZooKeeper or a log.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker_dynamic.h"
#include "kafka_errors.h"
#include "metadata_cache.h"
#include "topic_config.h"
#include "util.h"

#define NOLIMIT 1, 0            /* min > max: no range check */
#define I32MAX 2147483647.0
#define I64MAX 9.2233720368547758e18

static const topic_setting_t settings[] = {
    { "cleanup.policy", "log.cleanup.policy", "delete", TC_LIST, NOLIMIT, "compact, delete" },
    { "compression.gzip.level", "compression.gzip.level", "-1", TC_INT, -1, 9, NULL },
    { "compression.lz4.level", "compression.lz4.level", "9", TC_INT, 1, 17, NULL },
    { "compression.type", "compression.type", "producer", TC_STRING, NOLIMIT,
      "uncompressed, zstd, lz4, snappy, gzip, producer" },
    { "compression.zstd.level", "compression.zstd.level", "3", TC_INT, -131072, 22, NULL },
    { "delete.retention.ms", "log.cleaner.delete.retention.ms", "86400000", TC_LONG, 0, I64MAX, NULL },
    { "file.delete.delay.ms", "log.segment.delete.delay.ms", "60000", TC_LONG, 0, I64MAX, NULL },
    { "flush.messages", "log.flush.interval.messages", "9223372036854775807", TC_LONG, 1, I64MAX, NULL },
    { "flush.ms", "log.flush.interval.ms", "9223372036854775807", TC_LONG, 0, I64MAX, NULL },
    /* Kafka's ThrottledReplicaListValidator ("*" or partition:broker
     * pairs) is not applied: samsa has no replication throttles yet. */
    { "follower.replication.throttled.replicas", NULL, "", TC_LIST, NOLIMIT, NULL },
    { "index.interval.bytes", "log.index.interval.bytes", "4096", TC_INT, 0, I32MAX, NULL },
    { "leader.replication.throttled.replicas", NULL, "", TC_LIST, NOLIMIT, NULL },
    { "local.retention.bytes", "log.local.retention.bytes", "-2", TC_LONG, -2, I64MAX, NULL },
    { "local.retention.ms", "log.local.retention.ms", "-2", TC_LONG, -2, I64MAX, NULL },
    { "max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "9223372036854775807", TC_LONG,
      1, I64MAX, NULL },
    { "max.message.bytes", "message.max.bytes", "1048588", TC_INT, 0, I32MAX, NULL },
    { "message.downconversion.enable", "log.message.downconversion.enable", "true", TC_BOOLEAN,
      NOLIMIT, NULL },
    { "message.format.version", "log.message.format.version", "3.0-IV1", TC_STRING, NOLIMIT,
      NULL },
    { "message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms",
      "9223372036854775807", TC_LONG, 0, I64MAX, NULL },
    { "message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms",
      "9223372036854775807", TC_LONG, 0, I64MAX, NULL },
    { "message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms",
      "9223372036854775807", TC_LONG, 0, I64MAX, NULL },
    { "message.timestamp.type", "log.message.timestamp.type", "CreateTime", TC_STRING, NOLIMIT,
      "CreateTime, LogAppendTime" },
    { "min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", "0.5", TC_DOUBLE, 0, 1, NULL },
    { "min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", "0", TC_LONG, 0, I64MAX, NULL },
    { "min.insync.replicas", "min.insync.replicas", "1", TC_INT, 1, I32MAX, NULL },
    { "preallocate", "log.preallocate", "false", TC_BOOLEAN, NOLIMIT, NULL },
    { "remote.log.copy.disable", NULL, "false", TC_BOOLEAN, NOLIMIT, NULL },
    { "remote.log.delete.on.disable", NULL, "false", TC_BOOLEAN, NOLIMIT, NULL },
    { "remote.storage.enable", NULL, "false", TC_BOOLEAN, NOLIMIT, NULL },
    { "retention.bytes", "log.retention.bytes", "-1", TC_LONG, NOLIMIT, NULL },
    { "retention.ms", "log.retention.ms", "604800000", TC_LONG, -1, I64MAX, NULL },
    /* LegacyRecord.RECORD_OVERHEAD_V0 */
    { "segment.bytes", "log.segment.bytes", "1073741824", TC_INT, 14, I32MAX, NULL },
    { "segment.index.bytes", "log.index.size.max.bytes", "10485760", TC_INT, 4, I32MAX, NULL },
    { "segment.jitter.ms", "log.roll.jitter.ms", "0", TC_LONG, 0, I64MAX, NULL },
    { "segment.ms", "log.roll.ms", "604800000", TC_LONG, 1, I64MAX, NULL },
    { "unclean.leader.election.enable", "unclean.leader.election.enable", "false", TC_BOOLEAN,
      NOLIMIT, NULL },
};

const topic_setting_t *topic_settings(int *n)
{
    *n = (int)ARRAY_SIZE(settings);
    return settings;
}

const topic_setting_t *topic_setting_find(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
        if (!strcmp(settings[i].topic_key, key))
            return &settings[i];
    return NULL;
}

bool topic_config_key_known(const char *key)
{
    return topic_setting_find(key) != NULL;
}

/* Java's String.trim(): drops characters <= ' ' at both ends. */
static void trim(const char *s, char *out, size_t n)
{
    while (*s && (unsigned char)*s <= ' ')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (unsigned char)s[len - 1] <= ' ')
        len--;
    snprintf(out, n, "%.*s", (int)MIN(len, n - 1), s);
}

/* Integer.parseInt / Long.parseLong: optional sign, decimal digits only. */
static bool parse_java_integer(const char *s, double lo, double hi, double *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || (double)v < lo || (double)v > hi)
        return false;
    *out = (double)v;
    return true;
}

static bool in_list(const char *one_of, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = one_of; p && *p;) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, v, n))
            return true;
        p = end ? end + 2 : NULL;
    }
    return false;
}

/* NULL if v is valid for s, else the reason (Kafka's wording); a list's
 * offending item goes into bad_item (Kafka names the item, not the list). */
static const char *invalid_reason(const topic_setting_t *s, const char *raw, char *buf, size_t n,
                                  char *bad_item, size_t bad_size)
{
    char v[512];
    trim(raw, v, sizeof(v));
    double num = 0;
    switch (s->type) {
    case TC_INT:
        if (!parse_java_integer(v, -2147483648.0, I32MAX, &num))
            return "Not a number of type INT";
        break;
    case TC_LONG:
        if (!parse_java_integer(v, -9.2233720368547758e18, I64MAX, &num))
            return "Not a number of type LONG";
        break;
    case TC_DOUBLE: {
        char *end;
        num = strtod(v, &end);
        if (!*v || *end || isnan(num))
            return "Not a number of type DOUBLE";
        break;
    }
    case TC_BOOLEAN:
        if (strcasecmp(v, "true") && strcasecmp(v, "false"))
            return "Expected value to be either true or false";
        return NULL;
    case TC_STRING:
        if (s->one_of && !in_list(s->one_of, v)) {
            snprintf(buf, n, "String must be one of: %s", s->one_of);
            return buf;
        }
        return NULL;
    case TC_LIST: {
        char item[512];
        for (const char *p = v; *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char raw_item[512];
            snprintf(raw_item, sizeof(raw_item), "%.*s", (int)MIN(len, sizeof(raw_item) - 1), p);
            trim(raw_item, item, sizeof(item));
            if (s->one_of && !in_list(s->one_of, item)) {
                snprintf(bad_item, bad_size, "%s", item);
                snprintf(buf, n, "String must be one of: %s", s->one_of);
                return buf;
            }
            p = comma ? comma + 1 : p + len;
        }
        return NULL;
    }
    }
    if (s->min <= s->max && num < s->min) {
        snprintf(buf, n, "Value must be at least %.0f", s->min);
        return buf;
    }
    if (s->min <= s->max && num > s->max) {
        snprintf(buf, n, "Value must be no more than %.0f", s->max);
        return buf;
    }
    return NULL;
}

bool topic_config_value_ok(const topic_setting_t *s, const char *key, const char *value,
                           char *msg, size_t msg_size)
{
    char buf[256], item[512] = "";
    const char *why = value ? invalid_reason(s, value, buf, sizeof(buf), item, sizeof(item))
                            : "Value must be non-null";
    if (!why)
        return true;
    snprintf(msg, msg_size, "Invalid value %.200s for configuration %.200s: %.300s",
             item[0] ? item : value ? value : "null", key, why);
    return false;
}

int16_t topic_config_validate(const char **keys, const char **values, int n, const char **msg)
{
    static _Thread_local char message[768];
    for (int i = 0; i < n; i++) {
        const topic_setting_t *s = keys[i] ? topic_setting_find(keys[i]) : NULL;
        if (!s) {
            snprintf(message, sizeof(message), "Unknown topic config name: %.400s",
                     keys[i] ? keys[i] : "null");
            *msg = message;
            return KERR_INVALID_CONFIG;
        }
        if (!topic_config_value_ok(s, keys[i], values[i], message, sizeof(message))) {
            *msg = message;
            return KERR_INVALID_CONFIG;
        }
    }
    *msg = NULL;
    return KERR_NONE;
}

const char *topic_config_broker_value(broker_t *b, const topic_setting_t *s, char *buf, size_t n)
{
    /* Keys whose value Kafka derives from other keys (log.retention.hours,
     * log.retention.minutes; log.roll.hours). */
    int64_t derived;
    if (!strcmp(s->topic_key, "retention.ms"))
        derived = bdyn_retention_ms(b);
    else if (!strcmp(s->topic_key, "segment.ms"))
        derived = bdyn_roll_ms(b);
    else if (!strcmp(s->topic_key, "segment.jitter.ms"))
        derived = bdyn_roll_jitter_ms(b);
    else {
        const char *v = s->broker_key ? bdyn_get(b, s->broker_key, NULL) : NULL;
        return v ? v : s->fallback;
    }
    snprintf(buf, n, "%" PRId64, derived);
    return buf;
}

const char *topic_config_str(broker_t *b, const struct mc_topic *t, const char *key)
{
    const char *v = t ? mc_topic_config(t, key) : NULL;
    if (v)
        return v;
    const topic_setting_t *s = topic_setting_find(key);
    static char derived[32];    /* event-loop thread only */
    return s ? topic_config_broker_value(b, s, derived, sizeof(derived)) : NULL;
}

void topic_settings_load(broker_t *b, struct mc_topic *t)
{
    const char *policy = topic_config_str(b, t, "cleanup.policy");
    t->settings = (topic_settings_t){
        .max_message_bytes = (int32_t)topic_config_int(b, t, "max.message.bytes"),
        .compacted = policy && strstr(policy, "compact") != NULL,
        .log_append_time = !strcmp(topic_config_str(b, t, "message.timestamp.type"),
                                   "LogAppendTime"),
        .min_cleanable_ratio = strtod(topic_config_str(b, t, "min.cleanable.dirty.ratio"), NULL),
        .min_compaction_lag_ms = topic_config_int(b, t, "min.compaction.lag.ms"),
        .max_compaction_lag_ms = topic_config_int(b, t, "max.compaction.lag.ms"),
        .delete_retention_ms = topic_config_int(b, t, "delete.retention.ms"),
        .deletes = policy && strstr(policy, "delete") != NULL,
        .retention_ms = topic_config_int(b, t, "retention.ms"),
        .retention_bytes = topic_config_int(b, t, "retention.bytes"),
        .file_delete_delay_ms = topic_config_int(b, t, "file.delete.delay.ms"),
    };
}

int64_t topic_config_int(broker_t *b, const struct mc_topic *t, const char *key)
{
    const char *v = t ? mc_topic_config(t, key) : NULL;
    char buf[32];
    const topic_setting_t *s = v ? NULL : topic_setting_find(key);
    if (s)
        v = topic_config_broker_value(b, s, buf, sizeof(buf));
    return v ? strtoll(v, NULL, 10) : 0;
}
