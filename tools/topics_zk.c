/*
 * topics_zk.c - samsa-topics --zookeeper: Kafka 2.x's TopicCommand working
 * on ZooKeeper directly, for scripts that still use it.  --create writes
 * /config/topics/<t> then /brokers/topics/<t> (Kafka's placement over the
 * registered brokers; the controller adds the topic id); --delete creates
 * /admin/delete_topics/<t> for the controller; --list and --describe read
 * the assignment and partition-state znodes.  Output as Kafka 2.8 prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_changes.h"
#include "metadata_cache.h"
#include "replica_assignment.h"
#include "topic_config.h"
#include "topics_zk.h"
#include "util.h"
#include "zk_layout.h"
#include "tool_zk.h"
#include "zk_session.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorted children of path (count in *n; free with free_names). */
static char **sorted_children(zk_session_t *zs, const char *path, int *n)
{
    struct String_vector v;
    *n = 0;
    if (zk_children(zs, path, false, &v) != ZOK)
        return NULL;
    char **out = xcalloc((size_t)v.count + 1, sizeof(char *));
    for (int i = 0; i < v.count; i++)
        out[i] = xstrdup(v.data[i]);
    *n = v.count;
    deallocate_String_vector(&v);
    if (*n > 0)
        qsort(out, (size_t)*n, sizeof(char *), cmp_str);
    return out;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool marked_for_deletion(zk_session_t *zs, const char *topic)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", topic);
    return zoo_exists(zk_handle(zs), path, 0, NULL) == ZOK;
}

/* Each broker's broker.rack from its registration ("" without one). */
static char **read_racks(zk_session_t *zs, const int32_t *ids, int n)
{
    char **racks = xcalloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), "/brokers/ids/%d", ids[i]);
        int rc;
        char *json = zk_get_string(zs, path, false, NULL, &rc);
        mc_broker_t mb = { 0 };
        racks[i] = xstrdup(json && zkl_parse_broker(json, "", &mb) == 0 ? mb.rack : "");
        free(json);
    }
    return racks;
}

static void free_racks(char **racks, int n)
{
    for (int i = 0; racks && i < n; i++)
        free(racks[i]);
    free(racks);
}

static bool wanted(const topics_zk_t *o, const char *topic)
{
    if (o->exclude_internal && topic[0] == '_' && topic[1] == '_')
        return false;
    return !o->topic || !strcmp(o->topic, topic);
}

static int error(const char *msg)
{
    fprintf(stdout, "Error while executing topic command : %s\n", msg);
    return 1;
}

static int create(zk_session_t *zs, const topics_zk_t *o)
{
    char path[ZK_PATH_MAX], msg[512];
    snprintf(path, sizeof(path), "/brokers/topics/%s", o->topic);
    if (zoo_exists(zk_handle(zs), path, 0, NULL) == ZOK) {
        if (o->if_not_exists)
            return 0;
        snprintf(msg, sizeof(msg), "Topic '%s' already exists.", o->topic);
        return error(msg);
    }
    const char *why;
    if (topic_config_validate(o->config_k, o->config_v, o->n_config, &why))
        return error(why);
    int n_ids;
    char **ids = sorted_children(zs, "/brokers/ids", &n_ids);
    int32_t *brokers = xcalloc((size_t)n_ids + 1, sizeof(int32_t));
    for (int i = 0; i < n_ids; i++)
        brokers[i] = atoi(ids[i]);
    free_names(ids, n_ids);
    if (n_ids > 0)
        qsort(brokers, (size_t)n_ids, sizeof(int32_t), cmp_i32);
    char **racks = o->disable_rack_aware ? NULL : read_racks(zs, brokers, n_ids);
    int present = racks ? racks_present((const char *const *)racks, n_ids) : 0;
    if (present < 0) {              /* Kafka's RackAwareMode.Enforced */
        free(brokers);
        free_racks(racks, n_ids);
        return error("Not all brokers have rack information. Add --disable-rack-aware in "
                     "command line to make replica assignment without rack information.");
    }
    if (o->replication_factor > n_ids) {
        free(brokers);
        free_racks(racks, n_ids);
        snprintf(msg, sizeof(msg), "Replication factor: %d larger than available brokers: %d.",
                 o->replication_factor, n_ids);
        return error(msg);
    }
    /* No topic id, as Kafka 2.8's tool: the controller assigns one. */
    mc_topic_t *t = mc_topic_new(o->topic, o->partitions);
    int32_t *placed = xcalloc((size_t)o->partitions * (size_t)o->replication_factor + 1,
                              sizeof(int32_t));
    /* Rack-aware when every broker has broker.rack, as Kafka 2.8's tool. */
    assign_replicas(brokers, present > 0 ? (const char *const *)racks : NULL, n_ids, 0,
                    o->partitions, o->replication_factor, -1, placed);
    free_racks(racks, n_ids);
    for (int p = 0; p < o->partitions; p++) {
        t->parts[p].replicas = mc_ids_copy(placed + (size_t)p * (size_t)o->replication_factor,
                                           o->replication_factor);
        t->parts[p].n_replicas = o->replication_factor;
    }
    free(placed);
    free(brokers);
    kv_list_t cfg = { 0 };
    for (int i = 0; i < o->n_config; i++)
        kv_set(&cfg, o->config_k[i], o->config_v[i]);
    char *cfg_json = zkl_topic_config((const char *const *)cfg.keys,
                                      (const char *const *)cfg.values, cfg.n);
    char *assignment = zkl_topic_assignment(t);
    char cfg_path[ZK_PATH_MAX];
    snprintf(cfg_path, sizeof(cfg_path), "/config/topics/%s", o->topic);
    zhandle_t *zh = zk_handle(zs);
    int rc = zoo_set(zh, cfg_path, cfg_json, (int)strlen(cfg_json), -1);
    if (rc == ZNONODE)
        rc = zoo_create(zh, cfg_path, cfg_json, (int)strlen(cfg_json), &ZOO_OPEN_ACL_UNSAFE, 0,
                        NULL, 0);
    if (rc == ZOK)
        rc = zoo_create(zh, path, assignment, (int)strlen(assignment), &ZOO_OPEN_ACL_UNSAFE, 0,
                        NULL, 0);
    free(cfg_json);
    free(assignment);
    kv_free(&cfg);
    mc_topic_free(t);
    if (rc == ZNODEEXISTS) {
        snprintf(msg, sizeof(msg), "Topic '%s' already exists.", o->topic);
        return o->if_not_exists ? 0 : error(msg);
    }
    if (rc != ZOK) {
        snprintf(msg, sizeof(msg), "ZooKeeper error: %s", zerror(rc));
        return error(msg);
    }
    printf("Created topic %s.\n", o->topic);
    return 0;
}

static int list(zk_session_t *zs, const topics_zk_t *o)
{
    int n;
    char **topics = sorted_children(zs, "/brokers/topics", &n);
    for (int i = 0; i < n; i++) {
        if (!wanted(o, topics[i]))
            continue;
        if (marked_for_deletion(zs, topics[i]))
            printf("%s - marked for deletion\n", topics[i]);
        else
            printf("%s\n", topics[i]);
    }
    free_names(topics, n);
    return 0;
}

static void print_ids(const int32_t *v, int n)
{
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", v[i]);
}

static void describe_topic(zk_session_t *zs, const char *name)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    int rc;
    char *json = zk_get_string(zs, path, false, NULL, &rc);
    mc_topic_t *t = json ? zkl_parse_topic(name, json) : NULL;
    free(json);
    if (!t) {
        printf("Topic %s doesn't exist!\n", name);
        return;
    }
    bool deleting = marked_for_deletion(zs, name);
    kv_list_t cfg = { 0 };
    config_read_entity(zs, "topics", name, &cfg);
    printf("Topic: %s", name);
    static const kuuid_t none;
    if (memcmp(&t->id, &none, sizeof(none))) {
        char id[23];
        zkl_uuid_to_base64(&t->id, id);
        printf("\tTopicId: %s", id);
    }
    printf("\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", t->n_partitions,
           t->n_partitions ? t->parts[0].n_replicas : 0);
    for (int i = 0; i < cfg.n; i++)
        printf("%s%s=%s", i ? "," : "", cfg.keys[i], cfg.values[i]);
    printf("%s\n", deleting ? "\tMarkedForDeletion: true" : "");
    kv_free(&cfg);
    for (int p = 0; p < t->n_partitions; p++) {
        mc_partition_t *mp = &t->parts[p];
        snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", name, p);
        char *state = zk_get_string(zs, path, false, NULL, &rc);
        mp->leader = -1;
        if (!state || zkl_parse_partition_state(state, 0, mp) < 0)
            mp->leader = -1;
        free(state);
        printf("\tTopic: %s\tPartition: %d\tLeader: ", name, p);
        if (mp->leader >= 0)
            printf("%d", mp->leader);
        else
            printf("none");
        printf("\tReplicas: ");
        print_ids(mp->replicas, mp->n_replicas);
        printf("\tIsr: ");
        print_ids(mp->isr, mp->n_isr);
        printf("%s\n", deleting ? "\tMarkedForDeletion: true" : "");
    }
    mc_topic_free(t);
}

/* The topics the command names, or Kafka's "does not exist" error. */
static char **matching_topics(zk_session_t *zs, const topics_zk_t *o, int *n, int *rc)
{
    int all;
    char **topics = sorted_children(zs, "/brokers/topics", &all);
    *n = 0;
    for (int i = 0; i < all; i++) {
        if (wanted(o, topics[i]))
            topics[(*n)++] = topics[i];
        else
            free(topics[i]);
    }
    *rc = 0;
    if (*n == 0 && o->topic && !o->if_exists) {
        char msg[512];
        snprintf(msg, sizeof(msg), "Topic '%s' does not exist as expected", o->topic);
        *rc = error(msg);
    }
    return topics;
}

static int describe(zk_session_t *zs, const topics_zk_t *o)
{
    int n, rc;
    char **topics = matching_topics(zs, o, &n, &rc);
    for (int i = 0; i < n && !rc; i++)
        describe_topic(zs, topics[i]);
    free_names(topics, n);
    return rc;
}

static int delete(zk_session_t *zs, const topics_zk_t *o)
{
    int n, rc;
    char **topics = matching_topics(zs, o, &n, &rc);
    for (int i = 0; i < n && !rc; i++) {
        char path[ZK_PATH_MAX], msg[512];
        if (topics[i][0] == '_' && topics[i][1] == '_') {
            snprintf(msg, sizeof(msg), "Topic %s is a kafka internal topic and is not allowed "
                                       "to be marked for deletion.", topics[i]);
            rc = error(msg);
            break;
        }
        snprintf(path, sizeof(path), "/admin/delete_topics/%s", topics[i]);
        int zrc = zoo_create(zk_handle(zs), path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (zrc == ZNODEEXISTS) {
            printf("Topic %s is already marked for deletion.\n", topics[i]);
        } else if (zrc != ZOK) {
            snprintf(msg, sizeof(msg), "Error while deleting topic %s", topics[i]);
            rc = error(msg);
        } else {
            printf("Topic %s is marked for deletion.\n"
                   "Note: This will have no impact if delete.topic.enable is not set to true.\n",
                   topics[i]);
        }
    }
    free_names(topics, n);
    return rc;
}

int topics_zookeeper(const topics_zk_t *o)
{
    zk_session_t *zs = tool_zk_open(o->connect);
    if (!zs)
        return 1;
    int rc = o->action == TOPICS_ZK_CREATE   ? create(zs, o)
             : o->action == TOPICS_ZK_LIST   ? list(zs, o)
             : o->action == TOPICS_ZK_DELETE ? delete(zs, o)
                                             : describe(zs, o);
    zk_close(zs);
    return rc;
}
