/*
 * config.c - owns server.properties parsing: Java-properties syntax, Kafka's
 * key names and defaults, and the warning for keys samsa does not use yet.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_config.h"
#include "listeners.h"
#include "logging.h"
#include "util.h"

/* Keys samsa reads.  Anything else in a Kafka file is accepted with one
 * warning line, so a real server.properties never stops the broker. */
static const char *known_keys[] = {
    "broker.id", "authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found",
    "listeners", "advertised.listeners", "log.dirs", "log.dir",
    "zookeeper.connect", "zookeeper.session.timeout.ms",
    "zookeeper.connection.timeout.ms", "num.partitions",
    "default.replication.factor", "auto.create.topics.enable",
    "log.segment.bytes", "log.roll.ms", "log.roll.hours",
    "log.index.interval.bytes", "log.index.size.max.bytes", "message.max.bytes",
    "socket.request.max.bytes", "queued.max.requests", "queued.max.request.bytes",
    "log.flush.interval.messages",
    "log.flush.interval.ms", "log.flush.scheduler.interval.ms", "delete.topic.enable",
    "log.flush.offset.checkpoint.interval.ms", "replica.high.watermark.checkpoint.interval.ms", "log.retention.hours",
    "log.retention.minutes", "log.retention.ms", "log.retention.bytes",
    "log.retention.check.interval.ms", "log.roll.jitter.ms", "log.roll.jitter.hours",
    "log.segment.delete.delay.ms", "log.flush.start.offset.checkpoint.interval.ms",
    "log.message.timestamp.type", "compression.type", "log.cleanup.policy",
    "min.insync.replicas", "broker.rack", "offsets.topic.num.partitions",
    "offsets.topic.replication.factor", "offsets.topic.segment.bytes", "offsets.retention.minutes",
    "offsets.retention.check.interval.ms", "offset.metadata.max.bytes",
    "group.initial.rebalance.delay.ms", "group.min.session.timeout.ms",
    "group.max.session.timeout.ms", "group.max.size", "log.cleaner.backoff.ms",
    "log.cleaner.enable", "log.cleaner.threads", "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.buffer.load.factor", "log.cleaner.io.max.bytes.per.second",
    "num.replica.fetchers", "replica.fetch.wait.max.ms",
    "fetch.max.bytes", "max.connections", "max.connections.per.ip",
    "max.connections.per.ip.overrides", "replica.fetch.min.bytes", "replica.fetch.max.bytes", "replica.fetch.response.max.bytes",
    "replica.fetch.backoff.ms", "replica.socket.timeout.ms", "replica.lag.time.max.ms",
    "controller.socket.timeout.ms", "unclean.leader.election.enable", "inter.broker.protocol.version",
    "controlled.shutdown.enable", "controlled.shutdown.max.retries",
    "controlled.shutdown.retry.backoff.ms", "offsets.commit.timeout.ms",
    "auto.leader.rebalance.enable", "leader.imbalance.check.interval.seconds",
    "leader.imbalance.per.broker.percentage",
    "transaction.state.log.num.partitions", "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr", "transaction.state.log.segment.bytes",
    "transaction.max.timeout.ms", "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "transactional.id.expiration.ms",
    "transaction.remove.expired.transaction.cleanup.interval.ms",
    "transaction.partition.verification.enable",
};

void config_defaults(broker_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->broker_id = -1;
    cfg->zk_session_timeout_ms = 18000;
    cfg->zk_connection_timeout_ms = -1;
    cfg->num_partitions = 1;
    cfg->default_replication_factor = 1;
    cfg->auto_create_topics = true;
    cfg->log_segment_bytes = 1073741824;
    cfg->log_index_interval_bytes = 4096;
    cfg->log_index_size_max_bytes = 10485760;
    cfg->message_max_bytes = 1048588;
    cfg->socket_request_max_bytes = 104857600;
    cfg->queued_max_requests = 500;
    cfg->queued_max_request_bytes = -1;
    cfg->log_flush_interval_messages = INT64_MAX;
    cfg->log_flush_interval_ms = -1;               /* = scheduler interval */
    cfg->log_flush_scheduler_interval_ms = INT64_MAX;
    cfg->delete_topic_enable = true;
    cfg->log_cleaner_enable = true;
    cfg->log_cleaner_threads = 1;
    cfg->log_cleaner_dedupe_buffer_size = 134217728;
    cfg->log_cleaner_load_factor = 0.9;
    cfg->log_retention_bytes = -1;
    cfg->log_retention_check_ms = 300000;
    cfg->min_insync_replicas = 1;
    cfg->offsets_topic_partitions = 50;
    cfg->offsets_topic_rf = 3;
    cfg->offsets_topic_segment_bytes = 104857600;
    cfg->offsets_retention_ms = 10080LL * 60 * 1000;
    cfg->txn_log_partitions = 50;
    cfg->txn_log_rf = 3;
    cfg->txn_log_min_isr = 2;
    cfg->txn_log_segment_bytes = 104857600;
    cfg->txn_max_timeout_ms = 900000;
    cfg->txn_abort_check_ms = 10000;
    cfg->txn_id_expiration_ms = 604800000;
    cfg->txn_id_expiry_check_ms = 3600000;
    cfg->offsets_retention_check_ms = 600000;
    cfg->offset_metadata_max_bytes = 4096;
    cfg->group_initial_rebalance_delay_ms = 3000;
    cfg->group_min_session_timeout_ms = 6000;
    cfg->group_max_session_timeout_ms = 1800000;
    cfg->group_max_size = INT32_MAX;
    cfg->log_cleaner_backoff_ms = 15000;
    cfg->offsets_commit_timeout_ms = 5000;
    cfg->auto_leader_rebalance_enable = true;
    cfg->txn_partition_verification_enable = true;
    cfg->leader_imbalance_check_interval_s = 300;
    cfg->leader_imbalance_per_broker_percentage = 10;
    cfg->num_replica_fetchers = 1;
    cfg->max_incremental_fetch_session_cache_slots = 1000;
    cfg->replica_fetch_wait_max_ms = 500;
    cfg->replica_fetch_min_bytes = 1;
    cfg->replica_fetch_max_bytes = 1048576;
    cfg->fetch_max_bytes = 57671680;
    cfg->replica_fetch_response_max_bytes = 10485760;
    cfg->replica_fetch_backoff_ms = 1000;
    cfg->replica_socket_timeout_ms = 30000;
    cfg->replica_lag_time_max_ms = 30000;
    cfg->controller_socket_timeout_ms = 30000;
    cfg->ibp = 309;
    cfg->controlled_shutdown_enable = true;
    cfg->controlled_shutdown_max_retries = 3;
    cfg->controlled_shutdown_retry_backoff_ms = 5000;
}

/* "3.9", "3.9-IV0", "2.8-IV1", "0.10.2" -> major*100 + minor (0.x: 0). */
static int parse_ibp(const char *v, int32_t *out)
{
    int major, minor;
    if (sscanf(v, "%d.%d", &major, &minor) != 2 || major < 0 || minor < 0 || minor > 99) {
        fprintf(stderr, "samsad: invalid inter.broker.protocol.version '%s'\n", v);
        return -1;
    }
    *out = major * 100 + minor;
    return 0;
}

const char *config_get(const broker_config_t *cfg, const char *key)
{
    /* Last assignment wins, as in java.util.Properties. */
    for (int i = cfg->n_entries - 1; i >= 0; i--)
        if (!strcmp(cfg->keys[i], key))
            return cfg->values[i];
    return NULL;
}

static void config_put(broker_config_t *cfg, const char *k, const char *v)
{
    cfg->keys = xrealloc(cfg->keys, sizeof(char *) * (size_t)(cfg->n_entries + 1));
    cfg->values = xrealloc(cfg->values, sizeof(char *) * (size_t)(cfg->n_entries + 1));
    cfg->keys[cfg->n_entries] = xstrdup(k);
    cfg->values[cfg->n_entries] = xstrdup(v);
    cfg->n_entries++;
}

/* Java-properties unescaping of one logical line's key or value. */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 'f': *o++ = '\f'; break;
        case '\0': p--; break;
        default: *o++ = *p; break;
        }
    }
    *o = '\0';
}

static void parse_logical_line(broker_config_t *cfg, char *line)
{
    while (isspace((unsigned char)*line))
        line++;
    if (!*line || *line == '#' || *line == '!')
        return;
    char *p = line;
    while (*p && !(*p == '=' || *p == ':' || isspace((unsigned char)*p))) {
        if (*p == '\\' && p[1])
            p++;
        p++;
    }
    char *kend = p;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '=' || *p == ':')
        p++;
    while (isspace((unsigned char)*p))
        p++;
    *kend = '\0';
    char *val = p;
    size_t n = strlen(val);
    while (n > 0 && isspace((unsigned char)val[n - 1]) && !(n > 1 && val[n - 2] == '\\'))
        val[--n] = '\0';
    unescape(line);
    unescape(val);
    config_put(cfg, line, val);
}

int config_parse_text(broker_config_t *cfg, const char *text, const char *origin)
{
    (void)origin;
    size_t cap = 256, len = 0;
    char *logical = xmalloc(cap);
    const char *p = text;
    while (*p) {
        const char *eol = p + strcspn(p, "\r\n");
        const char *s = p;
        /* Leading white space of continuation lines is dropped. */
        if (len > 0)
            while (s < eol && isspace((unsigned char)*s))
                s++;
        size_t n = (size_t)(eol - s);
        if (len + n + 1 > cap) {
            while (len + n + 1 > cap)
                cap *= 2;
            logical = xrealloc(logical, cap);
        }
        memcpy(logical + len, s, n);
        len += n;
        logical[len] = '\0';
        /* An odd number of trailing backslashes continues the line. */
        size_t bs = 0;
        while (bs < len && logical[len - 1 - bs] == '\\')
            bs++;
        bool is_comment = false;
        {
            const char *q = logical;
            while (isspace((unsigned char)*q))
                q++;
            is_comment = (*q == '#' || *q == '!');
        }
        if (bs % 2 == 1 && !is_comment) {
            logical[--len] = '\0';
        } else {
            parse_logical_line(cfg, logical);
            len = 0;
            logical[0] = '\0';
        }
        p = eol;
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
    }
    if (len > 0)
        parse_logical_line(cfg, logical);
    free(logical);
    return 0;
}

static int parse_i64(const char *key, const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        fprintf(stderr, "samsad: invalid value '%s' for %s: not a number\n", v, key);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_bool(const char *key, const char *v, bool *out)
{
    if (!strcasecmp(v, "true"))
        *out = true;
    else if (!strcasecmp(v, "false"))
        *out = false;
    else {
        fprintf(stderr, "samsad: invalid value '%s' for %s: expected true or false\n", v, key);
        return -1;
    }
    return 0;
}

/* Reads an integer key into a field of the given width, if present. */
/* Kafka's logRetentionTimeMillis, logRollTimeMillis and
 * logRollTimeJitterMillis: the first key set, times its unit. */
static const struct duration {
    const char *keys[3];
    int64_t units[3];
    int n;
    int64_t fallback;
} durations[] = {
    [CONFIG_RETENTION_MS] = { { "log.retention.ms", "log.retention.minutes",
                                "log.retention.hours" }, { 1, 60000, 3600000 }, 3,
                              168LL * 3600000 },
    [CONFIG_ROLL_MS] = { { "log.roll.ms", "log.roll.hours" }, { 1, 3600000 }, 2,
                         168LL * 3600000 },
    [CONFIG_ROLL_JITTER_MS] = { { "log.roll.jitter.ms", "log.roll.jitter.hours" },
                                { 1, 3600000 }, 2, 0 },
};

int64_t config_duration_ms(enum config_duration which, config_lookup_fn get, const void *ctx)
{
    const struct duration *d = &durations[which];
    int64_t ms = d->fallback;
    for (int i = 0; i < d->n; i++) {
        const char *v = get(ctx, d->keys[i]);
        char *end;
        long long x = v ? strtoll(v, &end, 10) : 0;
        if (v && *v && !*end) {
            ms = x * d->units[i];
            break;
        }
    }
    /* Kafka: a negative retention means unlimited (-1). */
    return which == CONFIG_RETENTION_MS && ms < 0 ? -1 : ms;
}

static const char *file_lookup(const void *ctx, const char *key)
{
    return config_get(ctx, key);
}

#define GET_INT(key, field)                                                   \
    do {                                                                      \
        const char *v_ = config_get(cfg, key);                                \
        int64_t x_;                                                           \
        if (v_) {                                                             \
            if (parse_i64(key, v_, &x_) < 0)                                  \
                return -1;                                                    \
            cfg->field = (__typeof__(cfg->field))x_;                          \
        }                                                                     \
    } while (0)

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void warn_unknown_keys(const broker_config_t *cfg)
{
    for (int i = 0; i < cfg->n_entries; i++) {
        bool known = false;
        for (size_t k = 0; k < ARRAY_SIZE(known_keys) && !known; k++)
            known = !strcmp(cfg->keys[i], known_keys[k]);
        known = known || listeners_key_known(cfg->keys[i]);
        /* Warn once per key even if it is repeated. */
        for (int j = 0; j < i && !known; j++)
            known = !strcmp(cfg->keys[i], cfg->keys[j]);
        if (known)
            continue;
        if (!strcmp(cfg->keys[i], "delegation.token.secret.key") ||
            !strcmp(cfg->keys[i], "delegation.token.master.key"))
            log_warn("config", "Config key '%s' is ignored: samsa does not issue delegation "
                     "tokens, and answers token requests DELEGATION_TOKEN_AUTH_DISABLED as a "
                     "Kafka broker without the key does", cfg->keys[i]);
        else
            log_warn("config", "Config key '%s' is not used by samsa yet; ignoring it",
                     cfg->keys[i]);
    }
}

int config_finish(broker_config_t *cfg)
{
    GET_INT("broker.id", broker_id);
    GET_INT("zookeeper.session.timeout.ms", zk_session_timeout_ms);
    GET_INT("zookeeper.connection.timeout.ms", zk_connection_timeout_ms);
    GET_INT("num.partitions", num_partitions);
    GET_INT("default.replication.factor", default_replication_factor);
    GET_INT("log.segment.bytes", log_segment_bytes);
    GET_INT("log.index.interval.bytes", log_index_interval_bytes);
    GET_INT("log.index.size.max.bytes", log_index_size_max_bytes);
    GET_INT("message.max.bytes", message_max_bytes);
    GET_INT("socket.request.max.bytes", socket_request_max_bytes);
    GET_INT("queued.max.requests", queued_max_requests);
    GET_INT("queued.max.request.bytes", queued_max_request_bytes);
    GET_INT("log.flush.interval.messages", log_flush_interval_messages);
    GET_INT("min.insync.replicas", min_insync_replicas);
    GET_INT("log.retention.bytes", log_retention_bytes);
    GET_INT("offsets.topic.num.partitions", offsets_topic_partitions);
    GET_INT("offsets.topic.replication.factor", offsets_topic_rf);
    GET_INT("offsets.topic.segment.bytes", offsets_topic_segment_bytes);
    GET_INT("offsets.retention.check.interval.ms", offsets_retention_check_ms);
    GET_INT("offset.metadata.max.bytes", offset_metadata_max_bytes);
    GET_INT("group.initial.rebalance.delay.ms", group_initial_rebalance_delay_ms);
    GET_INT("group.min.session.timeout.ms", group_min_session_timeout_ms);
    GET_INT("group.max.session.timeout.ms", group_max_session_timeout_ms);
    GET_INT("group.max.size", group_max_size);
    GET_INT("transaction.state.log.num.partitions", txn_log_partitions);
    GET_INT("transaction.state.log.replication.factor", txn_log_rf);
    GET_INT("transaction.state.log.min.isr", txn_log_min_isr);
    GET_INT("transaction.state.log.segment.bytes", txn_log_segment_bytes);
    GET_INT("transaction.max.timeout.ms", txn_max_timeout_ms);
    GET_INT("transaction.abort.timed.out.transaction.cleanup.interval.ms", txn_abort_check_ms);
    GET_INT("transactional.id.expiration.ms", txn_id_expiration_ms);
    GET_INT("transaction.remove.expired.transaction.cleanup.interval.ms", txn_id_expiry_check_ms);
    GET_INT("log.cleaner.backoff.ms", log_cleaner_backoff_ms);
    if (cfg->log_cleaner_backoff_ms <= 0)
        cfg->log_cleaner_backoff_ms = 15000;
    GET_INT("log.cleaner.threads", log_cleaner_threads);
    GET_INT("log.cleaner.dedupe.buffer.size", log_cleaner_dedupe_buffer_size);
    GET_INT("num.replica.fetchers", num_replica_fetchers);
    GET_INT("max.incremental.fetch.session.cache.slots", max_incremental_fetch_session_cache_slots);
    GET_INT("offsets.commit.timeout.ms", offsets_commit_timeout_ms);
    GET_INT("leader.imbalance.check.interval.seconds", leader_imbalance_check_interval_s);
    GET_INT("leader.imbalance.per.broker.percentage", leader_imbalance_per_broker_percentage);
    GET_INT("replica.fetch.wait.max.ms", replica_fetch_wait_max_ms);
    GET_INT("replica.fetch.min.bytes", replica_fetch_min_bytes);
    GET_INT("replica.fetch.max.bytes", replica_fetch_max_bytes);
    GET_INT("fetch.max.bytes", fetch_max_bytes);
    GET_INT("replica.fetch.response.max.bytes", replica_fetch_response_max_bytes);
    GET_INT("replica.fetch.backoff.ms", replica_fetch_backoff_ms);
    GET_INT("replica.socket.timeout.ms", replica_socket_timeout_ms);
    GET_INT("replica.lag.time.max.ms", replica_lag_time_max_ms);
    GET_INT("controller.socket.timeout.ms", controller_socket_timeout_ms);
    GET_INT("controlled.shutdown.max.retries", controlled_shutdown_max_retries);
    GET_INT("controlled.shutdown.retry.backoff.ms", controlled_shutdown_retry_backoff_ms);
    if (cfg->num_replica_fetchers < 1)
        cfg->num_replica_fetchers = 1;
    const char *v;
    int64_t x;
    if ((v = config_get(cfg, "unclean.leader.election.enable")) &&
        parse_bool("unclean.leader.election.enable", v, &cfg->unclean_leader_election_enable) < 0)
        return -1;
    if ((v = config_get(cfg, "auto.leader.rebalance.enable")) &&
        parse_bool("auto.leader.rebalance.enable", v, &cfg->auto_leader_rebalance_enable) < 0)
        return -1;
    if ((v = config_get(cfg, "transaction.partition.verification.enable")) &&
        parse_bool("transaction.partition.verification.enable", v,
                   &cfg->txn_partition_verification_enable) < 0)
        return -1;
    if ((v = config_get(cfg, "controlled.shutdown.enable")) &&
        parse_bool("controlled.shutdown.enable", v, &cfg->controlled_shutdown_enable) < 0)
        return -1;
    if ((v = config_get(cfg, "inter.broker.protocol.version")) && parse_ibp(v, &cfg->ibp) < 0)
        return -1;
    if ((v = config_get(cfg, "log.cleaner.enable")) &&
        parse_bool("log.cleaner.enable", v, &cfg->log_cleaner_enable) < 0)
        return -1;
    if ((v = config_get(cfg, "log.cleaner.io.buffer.load.factor"))) {
        char *end;
        cfg->log_cleaner_load_factor = strtod(v, &end);
        if (end == v || *end || !(cfg->log_cleaner_load_factor > 0) || cfg->log_cleaner_load_factor > 1) {
            fprintf(stderr, "samsad: invalid log.cleaner.io.buffer.load.factor '%s'\n", v);
            return -1;
        }
    }
    /* The duration keys are checked here; their values are derived in one
     * place, config_duration_ms, for the file as for dynamic configs. */
    for (size_t i = 0; i < ARRAY_SIZE(durations); i++)
        for (int k = 0; k < durations[i].n; k++)
            if ((v = config_get(cfg, durations[i].keys[k])) &&
                parse_i64(durations[i].keys[k], v, &x) < 0)
                return -1;
    cfg->log_roll_ms = config_duration_ms(CONFIG_ROLL_MS, file_lookup, cfg);
    cfg->log_roll_jitter_ms = config_duration_ms(CONFIG_ROLL_JITTER_MS, file_lookup, cfg);
    GET_INT("log.retention.check.interval.ms", log_retention_check_ms);
    if ((v = config_get(cfg, "offsets.retention.minutes"))) {
        if (parse_i64("offsets.retention.minutes", v, &x) < 0)
            return -1;
        cfg->offsets_retention_ms = x * 60 * 1000;
    }
    GET_INT("log.flush.scheduler.interval.ms", log_flush_scheduler_interval_ms);
    /* One timer writes all checkpoints, at the shorter of Kafka's recovery
     * point (60 s) and high watermark (5 s) intervals. */
    int64_t rp_ms = 60000, hw_ms = 5000;
    if ((v = config_get(cfg, "log.flush.offset.checkpoint.interval.ms")) &&
        parse_i64("log.flush.offset.checkpoint.interval.ms", v, &rp_ms) < 0)
        return -1;
    if ((v = config_get(cfg, "replica.high.watermark.checkpoint.interval.ms")) &&
        parse_i64("replica.high.watermark.checkpoint.interval.ms", v, &hw_ms) < 0)
        return -1;
    cfg->checkpoint_interval_ms = MAX(MIN(rp_ms, hw_ms), 1);
    GET_INT("log.flush.interval.ms", log_flush_interval_ms);
    if (cfg->log_flush_interval_ms < 0)
        cfg->log_flush_interval_ms = cfg->log_flush_scheduler_interval_ms;
    if ((v = config_get(cfg, "auto.create.topics.enable")) &&
        parse_bool("auto.create.topics.enable", v, &cfg->auto_create_topics) < 0)
        return -1;
    if ((v = config_get(cfg, "delete.topic.enable")) &&
        parse_bool("delete.topic.enable", v, &cfg->delete_topic_enable) < 0)
        return -1;

    if (listeners_configure(cfg) < 0)
        return -1;

    const char *dirs = config_get(cfg, "log.dirs");
    if (!dirs)
        dirs = config_get(cfg, "log.dir");
    if (!dirs)
        dirs = "/tmp/kafka-logs";
    char *copy = xstrdup(dirs), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*t))
            t++;
        if (!*t)
            continue;
        if (cfg->n_log_dirs == CONFIG_MAX_LOG_DIRS) {
            fprintf(stderr, "samsad: too many log.dirs (max %d)\n", CONFIG_MAX_LOG_DIRS);
            free(copy);
            return -1;
        }
        cfg->log_dirs[cfg->n_log_dirs++] = xstrdup(t);
    }
    free(copy);

    cfg->zk_connect = dup_or_null(config_get(cfg, "zookeeper.connect"));
    if (!cfg->zk_connect || !*cfg->zk_connect) {
        fprintf(stderr, "samsad: zookeeper.connect is required (samsa is a ZooKeeper-mode broker)\n");
        return -1;
    }
    if (cfg->zk_connection_timeout_ms < 0)
        cfg->zk_connection_timeout_ms = cfg->zk_session_timeout_ms;
    v = config_get(cfg, "log.message.timestamp.type");
    cfg->log_message_timestamp_type = xstrdup(v ? v : "CreateTime");
    v = config_get(cfg, "compression.type");
    cfg->compression_type = xstrdup(v ? v : "producer");
    v = config_get(cfg, "log.cleanup.policy");
    cfg->log_cleanup_policy = xstrdup(v ? v : "delete");
    cfg->broker_rack = dup_or_null(config_get(cfg, "broker.rack"));

    if (cfg->broker_id < 0) {
        fprintf(stderr, "samsad: broker.id must be set to a non-negative id "
                        "(broker id generation is not supported yet)\n");
        return -1;
    }
    if (cfg->message_max_bytes <= 0 || cfg->socket_request_max_bytes <= 0 ||
        cfg->log_segment_bytes < 14 || cfg->log_index_size_max_bytes < 8 ||
        cfg->num_partitions <= 0 || cfg->default_replication_factor <= 0 ||
        cfg->offsets_topic_partitions <= 0 || cfg->offsets_topic_rf <= 0 ||
        cfg->txn_log_partitions <= 0 || cfg->txn_log_rf <= 0 || cfg->txn_max_timeout_ms <= 0 ||
        cfg->txn_abort_check_ms <= 0 || cfg->txn_id_expiry_check_ms <= 0) {
        fprintf(stderr, "samsad: a size or count setting is out of range\n");
        return -1;
    }
    if (cfg->fetch_max_bytes < 1024) {
        fprintf(stderr, "samsad: fetch.max.bytes must be at least 1024\n");
        return -1;
    }
    if (cfg->queued_max_request_bytes > 0 &&
        cfg->queued_max_request_bytes < cfg->socket_request_max_bytes) {
        fprintf(stderr, "samsad: queued.max.request.bytes must be larger or equal to "
                        "socket.request.max.bytes\n");
        return -1;
    }
    /* Kafka's own start-up checks. */
    if (cfg->log_cleaner_threads < 1) {
        fprintf(stderr, "samsad: log.cleaner.threads must be at least 1\n");
        return -1;
    }
    if (cfg->log_cleaner_dedupe_buffer_size / cfg->log_cleaner_threads <= 1024 * 1024) {
        fprintf(stderr, "samsad: log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.\n");
        return -1;
    }
    if (cfg->queued_max_requests < 1) {
        fprintf(stderr, "samsad: queued.max.requests must be at least 1\n");
        return -1;
    }
    warn_unknown_keys(cfg);
    return 0;
}

int config_load(broker_config_t *cfg, const char *path, char **overrides, int n_overrides)
{
    config_defaults(cfg);
    char *text = read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "samsad: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    config_parse_text(cfg, text, path);
    free(text);
    for (int i = 0; i < n_overrides; i++) {
        const char *eq = strchr(overrides[i], '=');
        if (!eq) {
            fprintf(stderr, "samsad: --override needs key=value, got '%s'\n", overrides[i]);
            return -1;
        }
        char *k = strndup(overrides[i], (size_t)(eq - overrides[i]));
        config_put(cfg, k, eq + 1);
        free(k);
    }
    return config_finish(cfg);
}

void config_free(broker_config_t *cfg)
{
    for (int i = 0; i < cfg->n_log_dirs; i++)
        free(cfg->log_dirs[i]);
    for (int i = 0; i < cfg->n_entries; i++) {
        free(cfg->keys[i]);
        free(cfg->values[i]);
    }
    free(cfg->keys);
    free(cfg->values);
    free(cfg->zk_connect);
    free(cfg->log_message_timestamp_type);
    free(cfg->compression_type);
    free(cfg->log_cleanup_policy);
    free(cfg->broker_rack);
    memset(cfg, 0, sizeof(*cfg));
}
