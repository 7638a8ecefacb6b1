/*
 * test_configs.c - the tables of Kafka's configurations (generated from
 * Kafka's classes) against samsa's own topic table, Kafka's broker
 * synonyms and types, the config change notification formats, the
 * /feature znode.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "config_defs.h"
#include "feature_versioning.h"
#include "kv_list.h"
#include "rate_sampler.h"
#include "replication_quota.h"
#include "topic_config.h"
#include "zk_layout.h"

static void test_tables_sorted_and_found(void)
{
    for (int i = 0; i < kafka_broker_config_def_count; i++) {
        if (i > 0)
            CU_ASSERT(strcmp(kafka_broker_config_defs[i - 1].name,
                             kafka_broker_config_defs[i].name) < 0);
        CU_ASSERT_PTR_EQUAL(config_def_broker(kafka_broker_config_defs[i].name),
                            &kafka_broker_config_defs[i]);
    }
    for (int i = 0; i < kafka_topic_config_def_count; i++)
        CU_ASSERT_PTR_EQUAL(config_def_topic(kafka_topic_config_defs[i].name),
                            &kafka_topic_config_defs[i]);
    CU_ASSERT_PTR_NULL(config_def_broker("no.such.key"));
}

/* samsa's topic table (validators, broker defaults) covers exactly
 * Kafka's LogConfig keys, with Kafka's types, defaults and synonyms. */
static void test_topic_table_matches_kafka(void)
{
    static const int8_t types[] = { [TC_INT] = CT_INT, [TC_LONG] = CT_LONG,
                                    [TC_DOUBLE] = CT_DOUBLE, [TC_BOOLEAN] = CT_BOOLEAN,
                                    [TC_STRING] = CT_STRING, [TC_LIST] = CT_LIST };
    int n;
    const topic_setting_t *mine = topic_settings(&n);
    CU_ASSERT_EQUAL(n, kafka_topic_config_def_count);
    for (int i = 0; i < n; i++) {
        const config_def_t *d = config_def_topic(mine[i].topic_key);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL(types[mine[i].type], d->type);
        CU_ASSERT_STRING_EQUAL(mine[i].fallback, d->default_value);
        if (d->broker_synonym && mine[i].broker_key)
            CU_ASSERT_STRING_EQUAL(mine[i].broker_key, d->broker_synonym);
    }
}

static void test_broker_synonyms_and_types(void)
{
    const char *out[3];
    char base[64];
    CU_ASSERT_EQUAL(config_broker_synonyms("log.retention.hours", out, base, sizeof(base)), 3);
    CU_ASSERT_STRING_EQUAL(out[0], "log.retention.ms");
    CU_ASSERT_STRING_EQUAL(out[2], "log.retention.hours");
    CU_ASSERT_EQUAL(config_broker_synonyms("log.flush.interval.ms", out, base, sizeof(base)), 2);
    CU_ASSERT_STRING_EQUAL(out[1], "log.flush.scheduler.interval.ms");
    CU_ASSERT_EQUAL(config_broker_synonyms("listener.name.in.ssl.keystore.password", out, base,
                                           sizeof(base)), 2);
    CU_ASSERT_STRING_EQUAL(out[1], "ssl.keystore.password");
    CU_ASSERT_EQUAL(config_broker_synonyms("listener.name.in.plain.sasl.jaas.config", out, base,
                                           sizeof(base)), 2);
    CU_ASSERT_STRING_EQUAL(out[1], "sasl.jaas.config");
    CU_ASSERT_EQUAL(config_broker_type("log.retention.hours"), CT_INT);
    CU_ASSERT_EQUAL(config_broker_type("listener.name.in.ssl.keystore.password"), CT_PASSWORD);
    CU_ASSERT_EQUAL(config_broker_type("leader.replication.throttled.rate"), CT_LONG);
    CU_ASSERT_TRUE(config_broker_sensitive("my.custom.key"));
    CU_ASSERT_FALSE(config_broker_sensitive("num.partitions"));
    const config_def_t *d = config_def_broker("log.retention.ms");
    CU_ASSERT_TRUE(d && (d->flags & CD_DYNAMIC) && !(d->flags & CD_PER_BROKER));
    d = config_def_broker("advertised.listeners");
    CU_ASSERT_TRUE(d && (d->flags & CD_PER_BROKER));
    d = config_def_broker("broker.id");
    CU_ASSERT_TRUE(d && !(d->flags & CD_DYNAMIC));
}

static void test_change_notifications(void)
{
    char path[64];
    char *v2 = zkl_config_change("topics/t");
    CU_ASSERT_EQUAL(zkl_parse_config_change(v2, path, sizeof(path)), 0);
    CU_ASSERT_STRING_EQUAL(path, "topics/t");
    free(v2);
    CU_ASSERT_EQUAL(zkl_parse_config_change(
                        "{\"version\":1,\"entity_type\":\"brokers\",\"entity_name\":\"<default>\"}",
                        path, sizeof(path)), 0);
    CU_ASSERT_STRING_EQUAL(path, "brokers/<default>");
    CU_ASSERT_EQUAL(zkl_parse_config_change("{\"version\":3}", path, sizeof(path)), -1);
    CU_ASSERT_EQUAL(zkl_parse_config_change("garbage", path, sizeof(path)), -1);
    kv_list_t cfg = { 0 };
    CU_ASSERT_EQUAL(zkl_parse_config("{\"version\":1,\"config\":{\"a\":\"1\",\"b\":\"x\"}}",
                                     &cfg), 0);
    CU_ASSERT_EQUAL(cfg.n, 2);
    CU_ASSERT_STRING_EQUAL(kv_get(&cfg, "b"), "x");
    CU_ASSERT_TRUE(kv_remove(&cfg, "a"));
    CU_ASSERT_FALSE(kv_remove(&cfg, "a"));
    CU_ASSERT_EQUAL(cfg.n, 1);
    kv_free(&cfg);
    CU_ASSERT_EQUAL(zkl_parse_config("[1]", &cfg), -1);
    CU_ASSERT_EQUAL(cfg.n, 0);
}

/* Kafka's parseThrottledPartitions and its sampled Rate with a bound. */
static void test_replication_throttles(void)
{
    CU_ASSERT_TRUE(rq_throttled("*", 7, 3));
    CU_ASSERT_TRUE(rq_throttled("0:1,1:2", 1, 2));
    CU_ASSERT_TRUE(rq_throttled("0:1, 1:2", 1, 2));
    CU_ASSERT_FALSE(rq_throttled("0:1,1:2", 1, 1));
    CU_ASSERT_FALSE(rq_throttled("10:2", 1, 2));
    CU_ASSERT_FALSE(rq_throttled("", 0, 0));
    CU_ASSERT_FALSE(rq_throttled(NULL, 0, 0));
    rate_sampler_t r;
    rate_init(&r, 0);
    rate_record(&r, 500, 0);
    double window;
    /* Fewer than ten whole windows count as ten. */
    CU_ASSERT_DOUBLE_EQUAL(rate_measure(&r, 3000, &window), 50.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(window, 10000.0, 1e-9);
    rate_record(&r, 1000, 10500);
    CU_ASSERT_DOUBLE_EQUAL(rate_measure(&r, 10999, NULL), 1500.0 / 10.999, 1e-6);
    /* Samples older than eleven windows are purged. */
    CU_ASSERT_DOUBLE_EQUAL(rate_measure(&r, 11000, NULL), 1000.0 / 10.5, 1e-9);
}

/* Kafka's FeatureZNode: its JSON both ways, and what decode refuses. */
static void test_feature_znode(void)
{
    feature_znode_t z = { .version = 2, .enabled = true };
    char *s = feature_znode_encode(&z);
    CU_ASSERT_STRING_EQUAL(s, "{\"features\":{},\"version\":2,\"status\":1}");
    free(s);
    ff_put(&z.features, "a.b", 3);
    z.version = 1;
    z.enabled = false;
    s = feature_znode_encode(&z);
    CU_ASSERT_STRING_EQUAL(s, "{\"features\":{\"a.b\":{\"max_version_level\":3,"
                              "\"min_version_level\":3}},\"version\":1,\"status\":0}");
    feature_znode_t back;
    CU_ASSERT_EQUAL(feature_znode_decode(s, &back), 0);
    CU_ASSERT_EQUAL(back.version, 1);
    CU_ASSERT_FALSE(back.enabled);
    CU_ASSERT_TRUE(ff_same(&back.features, &z.features));
    free(s);
    ff_free(&back.features);
    ff_remove(&z.features, "a.b");
    CU_ASSERT_EQUAL(z.features.n, 0);
    ff_free(&z.features);
    static const char *refused[] = {
        "{\"features\":{},\"version\":3,\"status\":1}",            /* unknown version */
        "{\"features\":{},\"version\":2}",                         /* no status */
        "{\"features\":{},\"version\":2,\"status\":2}",            /* unknown status */
        "{\"version\":2,\"status\":1}",                            /* no features */
        "{\"features\":{\"x\":{\"max_version_level\":1}},\"version\":1,\"status\":1}",
        "{\"features\":{\"x\":{}},\"version\":2,\"status\":1}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        CU_ASSERT_EQUAL(feature_znode_decode(refused[i], &back), -1);
    CU_ASSERT_EQUAL(feature_znode_version(302), 1);
    CU_ASSERT_EQUAL(feature_znode_version(303), 2);
    CU_ASSERT_FALSE(feature_versioning_supported(206));
    CU_ASSERT_TRUE(feature_versioning_supported(207));
}

void register_config_tests(void)
{
    CU_pSuite s = CU_add_suite("configs", NULL, NULL);
    CU_add_test(s, "Kafka's config tables sorted", test_tables_sorted_and_found);
    CU_add_test(s, "topic table matches Kafka's LogConfig", test_topic_table_matches_kafka);
    CU_add_test(s, "broker synonyms and types", test_broker_synonyms_and_types);
    CU_add_test(s, "config znodes and change notifications", test_change_notifications);
    CU_add_test(s, "replication throttles", test_replication_throttles);
    CU_add_test(s, "the /feature znode", test_feature_znode);
}
