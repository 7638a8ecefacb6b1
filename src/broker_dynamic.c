/*
 * broker_dynamic.c - owns the dynamic broker configuration in force
 * (broker_dynamic.h) and re-applies topic settings when it changes.
 * Event-loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_dynamic.h"
#include "log_cleaner.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "replica_fetcher.h"
#include "replica_manager.h"
#include "replication_quota.h"
#include "topic_config.h"

const kv_list_t *bdyn_layer(broker_t *b, int source)
{
    return source == SOURCE_DYNAMIC_BROKER ? &b->dynamic_config
           : source == SOURCE_DYNAMIC_DEFAULT_BROKER ? &b->dynamic_default_config
                                                     : NULL;
}

const char *bdyn_layer_get(broker_t *b, int source, const char *key)
{
    if (source == SOURCE_STATIC_BROKER) {
        const char *v = config_get(b->cfg, key);
        /* A ZooKeeper-mode Kafka broker sets node.id to its broker.id. */
        static char node_id[16];
        if (!v && !strcmp(key, "node.id")) {
            snprintf(node_id, sizeof(node_id), "%d", b->cfg->broker_id);
            v = node_id;
        }
        return v;
    }
    return kv_get(bdyn_layer(b, source), key);
}

const char *bdyn_get(broker_t *b, const char *key, int *source)
{
    static const int layers[] = { SOURCE_DYNAMIC_BROKER, SOURCE_DYNAMIC_DEFAULT_BROKER,
                                  SOURCE_STATIC_BROKER };
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
        const char *v = bdyn_layer_get(b, layers[i], key);
        if (v) {
            if (source)
                *source = layers[i];
            return v;
        }
    }
    if (source)
        *source = SOURCE_DEFAULT;
    return NULL;
}

static const char *layered_lookup(const void *ctx, const char *key)
{
    return bdyn_get((broker_t *)ctx, key, NULL);
}

int64_t bdyn_retention_ms(broker_t *b)
{
    return config_duration_ms(CONFIG_RETENTION_MS, layered_lookup, b);
}

int64_t bdyn_roll_ms(broker_t *b)
{
    return config_duration_ms(CONFIG_ROLL_MS, layered_lookup, b);
}

int64_t bdyn_roll_jitter_ms(broker_t *b)
{
    return config_duration_ms(CONFIG_ROLL_JITTER_MS, layered_lookup, b);
}

typedef struct topic_apply {
    broker_t *b;
    mc_topic_t *t;              /* NULL: every topic */
} topic_apply_t;

static void apply_log_settings(partition_t *p, void *arg)
{
    topic_apply_t *a = arg;
    if (!p->log || (a->t && strcmp(p->topic, a->t->name)))
        return;
    mc_topic_t *t = a->t ? a->t : mc_find_topic(p->topic);
    if (t)
        p->log->settings = rm_log_settings(a->b, t);   /* from the next segment on */
}

void bdyn_topic_changed(broker_t *b, mc_topic_t *t)
{
    topic_settings_load(b, t);
    topic_apply_t a = { b, t };
    rm_foreach(apply_log_settings, &a);
}

const char *bdyn_cluster_get(const broker_t *b, const char *key)
{
    const char *v = kv_get(&b->dynamic_config, key);
    return v ? v : kv_get(&b->dynamic_default_config, key);
}

static int dynamic_int(const broker_t *b, const char *key, int file_value)
{
    const char *v = bdyn_cluster_get(b, key);
    return v ? atoi(v) : file_value;
}

/* Kafka's BrokerConfigHandler: the replication throttle rates are read
 * from this broker's own entry only (unlimited when absent). */
static void set_replication_rates(broker_t *b)
{
    static const struct { const char *key; rq_side_t side; } rates[] = {
        { "leader.replication.throttled.rate", RQ_LEADER },
        { "follower.replication.throttled.rate", RQ_FOLLOWER },
        { "replica.alter.log.dirs.io.max.bytes.per.second", RQ_ALTER_LOG_DIRS },
    };
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        const char *v = kv_get(&b->dynamic_config, rates[i].key);
        rq_set_rate(rates[i].side, v ? strtoll(v, NULL, 10) : -1);
    }
}

void bdyn_replace(broker_t *b, kv_list_t *per_broker, kv_list_t *defaults)
{
    kv_free(&b->dynamic_config);
    kv_free(&b->dynamic_default_config);
    b->dynamic_config = *per_broker;
    b->dynamic_default_config = *defaults;
    *per_broker = (kv_list_t){ 0 };
    *defaults = (kv_list_t){ 0 };
    for (mc_topic_t *t = mc_topics(); t; t = t->hh.next)
        if (t->cfg_loaded)      /* the others get theirs with their config */
            topic_settings_load(b, t);
    topic_apply_t a = { b, NULL };
    rm_foreach(apply_log_settings, &a);
    net_limits_reload(b);       /* max.connections*: dynamic in Kafka */
    set_replication_rates(b);
    fetchers_resize(b, dynamic_int(b, "num.replica.fetchers", b->cfg->num_replica_fetchers));
    cleaner_reconfigure();
    log_info("config", "Dynamic broker configuration in force: %d keys for broker %d, %d "
                       "cluster-wide defaults",
             b->dynamic_config.n, b->cfg->broker_id, b->dynamic_default_config.n);
}

void bdyn_free(broker_t *b)
{
    kv_free(&b->dynamic_config);
    kv_free(&b->dynamic_default_config);
}
