/*
 * config_changes.c - owns this broker's reading of Kafka's dynamic
 * configuration znodes and its /config/changes watch (config_changes.h):
 * which notification it has applied last, reading the entity each new
 * one names, purging old ones, and writing configs with their
 * notifications for AlterConfigs.  ZooKeeper thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_changes.h"
#include "logging.h"
#include "util.h"
#include "zk_layout.h"

#define CHANGES_ROOT "/config/changes"
#define CHANGE_PREFIX "config_change_"
/* Kafka's ZkNodeChangeNotificationListener.changeExpirationMs. */
#define CHANGE_EXPIRATION_MS (15 * 60 * 1000)

/* ZooKeeper thread only. */
static struct {
    long long last_applied;     /* sequence number of the last notification applied */
} cc = { -1 };

int config_read_entity(zk_session_t *zs, const char *type, const char *name, kv_list_t *out)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/config/%s/%s", type, name);
    int rc;
    char *s = zk_get_string(zs, path, false, NULL, &rc);
    if (!s)
        return rc;
    if (zkl_parse_config(s, out) < 0)
        log_warn("config", "Ignoring malformed config znode %s: %s", path, s);
    free(s);
    return ZOK;
}

int config_write_entity(zk_session_t *zs, const char *type, const char *name,
                        const kv_list_t *cfg)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/config/%s/%s", type, name);
    char *json = zkl_topic_config((const char *const *)cfg->keys,
                                  (const char *const *)cfg->values, cfg->n);
    zhandle_t *zh = zk_handle(zs);
    int rc = zoo_set(zh, path, json, (int)strlen(json), -1);
    if (rc == ZNONODE) {
        /* The parent may be deeper than /config/<type> (users/<u>/clients/<c>). */
        char parent[ZK_PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", path);
        *strrchr(parent, '/') = '\0';
        rc = zk_create_persistent_path(zs, parent) < 0
                 ? ZSYSTEMERROR
                 : zoo_create(zh, path, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    }
    free(json);
    if (rc != ZOK)
        return rc;
    char entity[ZK_PATH_MAX];
    snprintf(entity, sizeof(entity), "%s/%s", type, name);
    char *note = zkl_config_change(entity);
    rc = zoo_create(zh, CHANGES_ROOT "/" CHANGE_PREFIX, note, (int)strlen(note),
                    &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, NULL, 0);
    free(note);
    return rc;
}

void config_read_broker_layers(zk_session_t *zs, int32_t broker_id, metadata_update_t *u)
{
    char id[16];
    snprintf(id, sizeof(id), "%d", broker_id);
    kv_free(&u->broker_config);
    kv_free(&u->default_config);
    config_read_entity(zs, "brokers", id, &u->broker_config);
    config_read_entity(zs, "brokers", "<default>", &u->default_config);
    u->has_broker_configs = true;
}

static long long change_number(const char *child)
{
    return zkl_sequence_number(child, CHANGE_PREFIX);
}

static int by_change_number(const void *a, const void *b)
{
    long long x = change_number(*(char *const *)a), y = change_number(*(char *const *)b);
    return (x > y) - (x < y);
}

/* Applies one notification's entity to u; *brokers_changed if a broker
 * layer of this broker changed. */
static void apply_notification(zk_session_t *zs, int32_t broker_id, const char *json,
                               metadata_update_t *u, bool *brokers_changed)
{
    char entity[ZK_PATH_MAX];
    if (zkl_parse_config_change(json, entity, sizeof(entity)) < 0) {
        log_warn("config", "Ignoring malformed config change notification: %s", json);
        return;
    }
    char *slash = strchr(entity, '/');
    if (!slash)
        return;
    *slash = '\0';
    const char *type = entity, *name = slash + 1;
    char id[16];
    snprintf(id, sizeof(id), "%d", broker_id);
    if (!strcmp(type, "topics")) {
        kv_list_t cfg = { 0 };
        int rc = config_read_entity(zs, "topics", name, &cfg);
        if (rc == ZOK || rc == ZNONODE)
            metadata_update_add_topic_config(u, name, &cfg);
        else
            log_warn("config", "Cannot read /config/topics/%s: %s", name, zerror(rc));
        kv_free(&cfg);
    } else if (!strcmp(type, "brokers") && (!strcmp(name, "<default>") || !strcmp(name, id))) {
        *brokers_changed = true;
    } else if ((!strcmp(type, "users") && strchr(name, '/')) || !strcmp(type, "clients")) {
        /* users/<u>/clients/<c> or clients/<c>: quotas. */
        kv_list_t cfg = { 0 };
        int rc = config_read_entity(zs, type, name, &cfg);
        char path[ZK_PATH_MAX * 2];
        snprintf(path, sizeof(path), "%s/%s", type, name);
        if (rc == ZOK || rc == ZNONODE)
            metadata_update_add_quota_config(u, path, &cfg);
        else
            log_warn("config", "Cannot read /config/%s: %s", path, zerror(rc));
        kv_free(&cfg);
    } else if (!strcmp(type, "users") && !strchr(name, '/')) {
        /* users/<user>: its SCRAM credentials (users/<u>/clients/<c>
         * carries quotas only). */
        kv_list_t cfg = { 0 };
        int rc = config_read_entity(zs, "users", name, &cfg);
        if (rc == ZOK || rc == ZNONODE)
            metadata_update_add_user_config(u, name, &cfg);
        else
            log_warn("config", "Cannot read /config/users/%s: %s", name, zerror(rc));
        kv_free(&cfg);
    } else {
        log_debug("config", "Config change for %s/%s does not concern this broker", type, name);
    }
}

/* Deletes notifications older than Kafka's expiry. */
static void purge_old(zk_session_t *zs, const zk_read_t *reads, int n, int64_t now)
{
    for (int i = 0; i < n; i++) {
        if (reads[i].rc != ZOK || now - reads[i].st.ctime <= CHANGE_EXPIRATION_MS)
            continue;
        int rc = zoo_delete(zk_handle(zs), reads[i].path, -1);
        if (rc != ZOK && rc != ZNONODE)
            log_warn("config", "Cannot purge %s: %s", reads[i].path, zerror(rc));
    }
}

/* Lists /config/changes (watched) and reads every notification; applies
 * those after cc.last_applied. */
static void scan(zk_session_t *zs, int32_t broker_id, metadata_update_t *u)
{
    struct String_vector kids;
    int rc = zk_children(zs, CHANGES_ROOT, true, &kids);
    if (rc != ZOK) {
        log_warn("config", "Cannot list %s: %s", CHANGES_ROOT, zerror(rc));
        return;
    }
    if (kids.count > 0)
        qsort(kids.data, (size_t)kids.count, sizeof(char *), by_change_number);
    zk_read_t *reads = xcalloc((size_t)kids.count + 1, sizeof(*reads));
    char (*paths)[ZK_PATH_MAX] = xcalloc((size_t)kids.count + 1, ZK_PATH_MAX);
    for (int i = 0; i < kids.count; i++) {
        snprintf(paths[i], ZK_PATH_MAX, CHANGES_ROOT "/%s", kids.data[i]);
        reads[i].path = paths[i];
    }
    zk_get_many(zs, reads, kids.count, false);
    bool brokers_changed = false;
    for (int i = 0; i < kids.count; i++) {
        long long seq = change_number(kids.data[i]);
        if (seq <= cc.last_applied)
            continue;
        if (reads[i].rc == ZOK)
            apply_notification(zs, broker_id, reads[i].data, u, &brokers_changed);
        cc.last_applied = seq;
    }
    if (brokers_changed)
        config_read_broker_layers(zs, broker_id, u);
    purge_old(zs, reads, kids.count, now_ms());
    zk_reads_free(reads, kids.count);
    free(reads);
    free(paths);
    deallocate_String_vector(&kids);
}

int config_each(zk_session_t *zs, const char *type, config_each_fn fn, void *arg)
{
    char root[ZK_PATH_MAX / 2];     /* paths below hold root/child */
    snprintf(root, sizeof(root), "/config/%s", type);
    struct String_vector kids = { 0 };
    int rc = zk_children(zs, root, false, &kids);
    if (rc == ZNONODE)
        return 0;
    if (rc != ZOK)
        return -1;
    zk_read_t *reads = xcalloc((size_t)kids.count + 1, sizeof(*reads));
    char (*paths)[ZK_PATH_MAX * 2] = xcalloc((size_t)kids.count + 1, ZK_PATH_MAX * 2);
    for (int i = 0; i < kids.count; i++) {
        snprintf(paths[i], ZK_PATH_MAX * 2, "%s/%s", root, kids.data[i]);
        reads[i].path = paths[i];
    }
    zk_get_many(zs, reads, kids.count, false);
    int n = 0;
    for (int i = 0; i < kids.count; i++) {
        if (reads[i].rc != ZOK)
            continue;       /* gone since listed */
        kv_list_t cfg = { 0 };
        /* A znode without data is a parent Kafka created on the way to
         * users/<u>/clients/<c>: listed, with no config of its own. */
        if (reads[i].data && reads[i].data[0] && zkl_parse_config(reads[i].data, &cfg) < 0)
            log_warn("config", "Ignoring malformed config znode %s", paths[i]);
        fn(kids.data[i], &cfg, arg);
        kv_free(&cfg);
        n++;
    }
    zk_reads_free(reads, kids.count);
    free(reads);
    free(paths);
    deallocate_String_vector(&kids);
    return n;
}

typedef struct quota_reader {
    zk_session_t *zs;
    const char *type;
    metadata_update_t *u;
} quota_reader_t;

/* One /config/<type>/<name> into u as the quota entity <type>/<name>. */
static void add_quota_entity(const char *name, kv_list_t *config, void *arg)
{
    quota_reader_t *q = arg;
    char path[ZK_PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/%s", q->type, name);
    metadata_update_add_quota_config(q->u, path, config);
}

/* A user's config into u, then its users/<u>/clients/<c> quotas. */
static void add_user(const char *name, kv_list_t *config, void *arg)
{
    quota_reader_t *q = arg;
    metadata_update_add_user_config(q->u, name, config);
    char type[ZK_PATH_MAX];
    snprintf(type, sizeof(type), "users/%s/clients", name);
    quota_reader_t clients = { q->zs, type, q->u };
    config_each(q->zs, type, add_quota_entity, &clients);
}

/* Every user's config and every quota entity into u, replacing what the
 * loop holds. */
static void read_all_users(zk_session_t *zs, metadata_update_t *u)
{
    quota_reader_t users = { zs, "users", u };
    if (config_each(zs, "users", add_user, &users) < 0) {
        log_warn("config", "Cannot list /config/users: SCRAM credentials not loaded");
        return;
    }
    u->users_full = true;
    quota_reader_t clients = { zs, "clients", u };
    config_each(zs, "clients", add_quota_entity, &clients);
}

void config_changes_load(zk_session_t *zs, int32_t broker_id, metadata_update_t *u)
{
    config_read_broker_layers(zs, broker_id, u);
    read_all_users(zs, u);
    /* As Kafka at start-up, every notification still there is applied
     * again: one written while the topics were being read is not lost. */
    cc.last_applied = -1;
    scan(zs, broker_id, u);
}

void config_changes_process(zk_session_t *zs, int32_t broker_id, metadata_update_t *u)
{
    scan(zs, broker_id, u);
}
