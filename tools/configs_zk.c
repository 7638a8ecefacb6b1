/*
 * configs_zk.c - samsa-configs --zookeeper: Kafka 2.x's ConfigCommand
 * working on ZooKeeper directly, for scripts that still use it.  It reads
 * /config/<type>/<entity>, applies --add-config/--delete-config, checks a
 * topic's result as Kafka's AdminZkClient does, and writes the config with
 * its /config/changes notification, which every broker applies.  Broker
 * configs other than replication quotas may be changed this way only while
 * the broker (or, for the default, every broker) is down, as in Kafka.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_changes.h"
#include "config_defs.h"
#include "configs_zk.h"
#include "kv_list.h"
#include "topic_config.h"
#include "util.h"
#include "zk_layout.h"
#include "tool_zk.h"
#include "zk_session.h"

static void warn_deprecated(void)
{
    printf("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
           "Use --bootstrap-server instead to specify a broker to connect to.\n");
}

/* Kafka's ConfigEntity.toString. */
static void entity_string(const configs_zk_t *o, char *buf, size_t n)
{
    bool topic = !strcmp(o->entity_type, "topics");
    if (o->entity_default)
        snprintf(buf, n, "default %s", o->entity_type);
    else
        snprintf(buf, n, "%s '%s'", topic ? "topic" : o->entity_type, o->entity_name);
}

static int fail(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
    return 1;
}

/* Brokers whose dynamic configs are being changed must be down, except
 * for replication quotas (Kafka's BrokerConfigsUpdatableUsingZooKeeperWhileBrokerRunning). */
static int check_brokers_down(zk_session_t *zs, const configs_zk_t *o)
{
    char keys[1024] = "";
    for (int i = 0; i < o->n_add; i++) {
        if (config_broker_quota(o->add_k[i]))
            continue;
        size_t len = strlen(keys);
        snprintf(keys + len, sizeof(keys) - len, "%s%s", len ? ", " : "", o->add_k[i]);
    }
    if (!keys[0])
        return 0;
    bool running;
    char when[128];
    if (o->entity_default) {
        struct String_vector ids;
        running = zk_children(zs, "/brokers/ids", false, &ids) == ZOK;
        if (running) {
            running = ids.count > 0;
            deallocate_String_vector(&ids);
        }
        snprintf(when, sizeof(when), "for default cluster if any broker is running");
    } else {
        char path[64];
        snprintf(path, sizeof(path), "/brokers/ids/%s", o->entity_name);
        running = zoo_exists(zk_handle(zs), path, 0, NULL) == ZOK;
        snprintf(when, sizeof(when), "when broker %s is running", o->entity_name);
    }
    if (!running)
        return 0;
    fprintf(stderr, "requirement failed: --bootstrap-server option must be specified to update "
                    "broker configs Set(%s) %s. Broker configuration updates using ZooKeeper are "
                    "supported for bootstrapping before brokers are started to enable encrypted "
                    "password configs to be stored in ZooKeeper.\n", keys, when);
    return 1;
}

static int validate_topic(zk_session_t *zs, const configs_zk_t *o, const kv_list_t *cfg)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/brokers/topics/%s", o->entity_name);
    if (zoo_exists(zk_handle(zs), path, 0, NULL) != ZOK) {
        fprintf(stderr, "Error while executing config command with args '%s'\n"
                        "kafka.admin.AdminOperationException: Topic \"%s\" does not exist.\n",
                o->args, o->entity_name);
        return 1;
    }
    const char *msg;
    if (topic_config_validate((const char **)cfg->keys, (const char **)cfg->values, cfg->n, &msg))
        return fail(msg);
    return 0;
}

static int alter(zk_session_t *zs, const configs_zk_t *o)
{
    bool topic = !strcmp(o->entity_type, "topics");
    const char *name = o->entity_default ? "<default>" : o->entity_name;
    if (!topic && check_brokers_down(zs, o))
        return 1;
    kv_list_t cfg = { 0 };
    int rc = config_read_entity(zs, o->entity_type, name, &cfg);
    if (rc != ZOK && rc != ZNONODE) {
        fprintf(stderr, "Cannot read /config/%s/%s: %s\n", o->entity_type, name, zerror(rc));
        return 1;
    }
    char bad[1024] = "";
    for (int i = 0; i < o->n_del; i++)
        if (!kv_has(&cfg, o->del[i])) {
            size_t len = strlen(bad);
            snprintf(bad + len, sizeof(bad) - len, "%s%s", len ? "," : "", o->del[i]);
        }
    if (bad[0]) {
        kv_free(&cfg);
        fprintf(stderr, "Invalid config(s): %s\n", bad);
        return 1;
    }
    for (int i = 0; i < o->n_add; i++)
        kv_set(&cfg, o->add_k[i], o->add_v[i]);
    for (int i = 0; i < o->n_del; i++)
        kv_remove(&cfg, o->del[i]);
    if (topic && validate_topic(zs, o, &cfg)) {
        kv_free(&cfg);
        return 1;
    }
    rc = config_write_entity(zs, o->entity_type, name, &cfg);
    kv_free(&cfg);
    if (rc != ZOK) {
        fprintf(stderr, "Cannot write /config/%s/%s: %s\n", o->entity_type, name, zerror(rc));
        return 1;
    }
    char entity[512];
    entity_string(o, entity, sizeof(entity));
    printf("Completed updating config for entity: %s.\n", entity);
    return 0;
}

/* One entity's "Configs for <entity> are k=v,k=v". */
static void describe_one(zk_session_t *zs, const configs_zk_t *o, const char *name)
{
    kv_list_t cfg = { 0 };
    config_read_entity(zs, o->entity_type, name, &cfg);
    configs_zk_t each = *o;
    each.entity_name = name;
    each.entity_default = !strcmp(name, "<default>");
    char entity[512];
    entity_string(&each, entity, sizeof(entity));
    printf("Configs for %s are ", entity);
    for (int i = 0; i < cfg.n; i++)
        printf("%s%s=%s", i ? "," : "", cfg.keys[i], cfg.values[i]);
    printf("\n");
    kv_free(&cfg);
}

static int describe(zk_session_t *zs, const configs_zk_t *o)
{
    if (o->entity_name || o->entity_default) {
        describe_one(zs, o, o->entity_default ? "<default>" : o->entity_name);
        return 0;
    }
    /* Every entity with a config znode, as Kafka's getAllEntities. */
    char root[64];
    snprintf(root, sizeof(root), "/config/%s", o->entity_type);
    struct String_vector kids;
    if (zk_children(zs, root, false, &kids) != ZOK)
        return 0;
    for (int i = 0; i < kids.count; i++)
        describe_one(zs, o, kids.data[i]);
    deallocate_String_vector(&kids);
    return 0;
}

int configs_zookeeper(const configs_zk_t *o)
{
    warn_deprecated();
    zk_session_t *zs = tool_zk_open(o->connect);
    if (!zs)
        return 1;
    int rc = o->alter ? alter(zs, o) : describe(zs, o);
    zk_close(zs);
    return rc;
}
