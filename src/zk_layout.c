/*
 * zk_layout.c - owns the JSON of Kafka's znodes (see zk_layout.h): what
 * samsa writes is byte-compatible with what Kafka writes, and everything
 * Kafka writes parses.  Pure functions; any thread.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logging.h"
#include "util.h"
#include "listeners.h"
#include "zk_layout.h"

const char *const zk_persistent_paths[] = {
    "/consumers", "/brokers/ids", "/brokers/topics", "/config/changes",
    "/admin/delete_topics", "/brokers/seqid", "/isr_change_notification",
    "/latest_producer_id_block", "/log_dir_event_notification", "/config/topics",
    "/config/clients", "/config/users", "/config/brokers", "/config/ips",
};
const int zk_persistent_path_count = (int)ARRAY_SIZE(zk_persistent_paths);

void zkl_uuid_to_base64(const kuuid_t *u, char out[23])
{
    unsigned char tmp[32];
    EVP_EncodeBlock(tmp, u->b, 16);
    int j = 0;
    for (int i = 0; i < 24 && tmp[i] && tmp[i] != '='; i++)
        out[j++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
    out[j] = '\0';
}

int zkl_uuid_from_base64(const char *s, kuuid_t *u)
{
    char tmp[25];
    size_t n = strlen(s);
    if (n != 22)
        return -1;
    for (size_t i = 0; i < n; i++)
        tmp[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    tmp[22] = tmp[23] = '=';
    tmp[24] = '\0';
    unsigned char out[20];
    if (EVP_DecodeBlock(out, (unsigned char *)tmp, 24) < 16)
        return -1;
    memcpy(u->b, out, 16);
    return 0;
}

kuuid_t zkl_random_uuid(void)
{
    kuuid_t u;
    if (RAND_bytes(u.b, 16) != 1)
        die("RAND_bytes failed");
    u.b[6] = (uint8_t)((u.b[6] & 0x0f) | 0x40);  /* version 4, like java.util.UUID */
    u.b[8] = (uint8_t)((u.b[8] & 0x3f) | 0x80);
    return u;
}

static char *dump_and_free(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        die("json_dumps failed");
    return s;
}

static json_t *int_array_json(const int32_t *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static int32_t *json_int_array(json_t *a, int *n)
{
    *n = (int)json_array_size(a);
    int32_t *v = xcalloc((size_t)*n + 1, sizeof(*v));
    for (int i = 0; i < *n; i++)
        v[i] = (int32_t)json_integer_value(json_array_get(a, (size_t)i));
    return v;
}

char *zkl_broker_registration(const broker_config_t *cfg, int64_t timestamp_ms)
{
    json_t *eps = json_array(), *map = json_object();
    const listener_t *plaintext = NULL;
    for (int i = 0; i < cfg->n_advertised; i++) {
        const listener_t *l = &cfg->advertised[i];
        char ep[400];
        bool v6 = strchr(l->host, ':') != NULL;
        snprintf(ep, sizeof(ep), "%s://%s%s%s:%d", l->name, v6 ? "[" : "", l->host,
                 v6 ? "]" : "", l->port);
        json_array_append_new(eps, json_string(ep));
        json_object_set_new(map, l->name, json_string(security_protocol_name(l->security_protocol)));
        if (!plaintext && l->security_protocol == SECURITY_PLAINTEXT)
            plaintext = l;
    }
    char ts[32];
    snprintf(ts, sizeof(ts), "%" PRId64, timestamp_ms);
    /* As Kafka's BrokerIdZNode: host and port are the PLAINTEXT
     * endpoint's, null and -1 without one. */
    json_t *j = json_pack("{s:o,s:o,s:o,s:i,s:i,s:o,s:i,s:s}", "features", json_object(),
                          "listener_security_protocol_map", map, "endpoints", eps, "jmx_port", -1,
                          "port", plaintext ? plaintext->port : -1, "host",
                          plaintext ? json_string(plaintext->host) : json_null(), "version", 5,
                          "timestamp", ts);
    if (cfg->broker_rack)
        json_object_set_new(j, "rack", json_string(cfg->broker_rack));
    return dump_and_free(j);
}

/* "NAME://host:port" (host possibly [v6]) into e; -1 if malformed. */
static int parse_endpoint(const char *ep, json_t *map, mc_endpoint_t *e)
{
    const char *hp = strstr(ep, "://");
    const char *colon = hp ? strrchr(hp + 3, ':') : NULL;
    if (!colon || hp - ep >= (ptrdiff_t)sizeof(e->listener))
        return -1;
    snprintf(e->listener, sizeof(e->listener), "%.*s", (int)(hp - ep), ep);
    hp += 3;
    size_t hl = (size_t)(colon - hp);
    if (hp[0] == '[' && hl >= 2) {
        hp++;
        hl -= 2;
    }
    snprintf(e->host, sizeof(e->host), "%.*s", (int)hl, hp);
    e->port = atoi(colon + 1);
    /* Without a map (registrations before v4), the name is the protocol. */
    const char *proto = json_string_value(json_object_get(map, e->listener));
    int16_t id = security_protocol_id(proto ? proto : e->listener);
    e->security_protocol = id < 0 ? SECURITY_PLAINTEXT : id;
    return 0;
}

int zkl_parse_broker(const char *json, const char *inter_broker_listener, mc_broker_t *b)
{
    json_t *j = json_loads(json, 0, NULL);
    if (!j)
        return -1;
    json_t *eps = json_object_get(j, "endpoints");
    json_t *map = json_object_get(j, "listener_security_protocol_map");
    b->n_endpoints = 0;
    for (size_t i = 0; i < json_array_size(eps) && b->n_endpoints < CONFIG_MAX_LISTENERS; i++) {
        const char *ep = json_string_value(json_array_get(eps, i));
        if (ep && parse_endpoint(ep, map, &b->endpoints[b->n_endpoints]) == 0)
            b->n_endpoints++;
    }
    if (b->n_endpoints == 0) { /* v1-v2 registrations: host and port only */
        mc_endpoint_t *e = &b->endpoints[b->n_endpoints++];
        snprintf(e->listener, sizeof(e->listener), "PLAINTEXT");
        snprintf(e->host, sizeof(e->host), "%s", json_string_value(json_object_get(j, "host")) ?: "");
        e->port = (int32_t)json_integer_value(json_object_get(j, "port"));
        e->security_protocol = SECURITY_PLAINTEXT;
    }
    mc_broker_pick_inter_broker(b, inter_broker_listener);
    const char *rack = json_string_value(json_object_get(j, "rack"));
    if (rack)
        snprintf(b->rack, sizeof(b->rack), "%s", rack);
    json_decref(j);
    return 0;
}

mc_topic_t *zkl_parse_topic(const char *name, const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    json_t *parts = json_object_get(j, "partitions");
    if (!json_is_object(parts)) {
        json_decref(j);
        return NULL;
    }
    int n = (int)json_object_size(parts);
    mc_topic_t *t = mc_topic_new(name, n);
    const char *id = json_string_value(json_object_get(j, "topic_id"));
    if (id && zkl_uuid_from_base64(id, &t->id) < 0)
        log_warn("controller", "Ignoring malformed topic_id of %s", name);
    const char *k;
    json_t *v;
    json_object_foreach(parts, k, v) {
        int p = atoi(k);
        if (p < 0 || p >= n) {
            log_warn("controller", "Topic %s has a non-contiguous partition %s", name, k);
            continue;
        }
        free(t->parts[p].replicas);
        t->parts[p].replicas = json_int_array(v, &t->parts[p].n_replicas);
    }
    /* An ongoing reassignment's lists (v2+; absent means none). */
    json_object_foreach(json_object_get(j, "adding_replicas"), k, v) {
        int p = atoi(k);
        if (p >= 0 && p < n) {
            free(t->parts[p].adding);
            t->parts[p].adding = json_int_array(v, &t->parts[p].n_adding);
        }
    }
    json_object_foreach(json_object_get(j, "removing_replicas"), k, v) {
        int p = atoi(k);
        if (p >= 0 && p < n) {
            free(t->parts[p].removing);
            t->parts[p].removing = json_int_array(v, &t->parts[p].n_removing);
        }
    }
    json_decref(j);
    return t;
}

int zkl_parse_config(const char *json, kv_list_t *out)
{
    json_t *j = json_loads(json, 0, NULL);
    json_t *cfg = json_object_get(j, "config");
    if (!json_is_object(cfg)) {
        json_decref(j);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v) {
        if (json_is_string(v))
            kv_set(out, k, json_string_value(v));
    }
    json_decref(j);
    return 0;
}

char *zkl_config_change(const char *entity_path)
{
    return dump_and_free(json_pack("{s:i,s:s}", "version", 2, "entity_path", entity_path));
}

int zkl_parse_config_change(const char *json, char *entity_path, size_t n)
{
    json_t *j = json_loads(json, 0, NULL);
    int version = (int)json_integer_value(json_object_get(j, "version"));
    const char *path = json_string_value(json_object_get(j, "entity_path"));
    const char *type = json_string_value(json_object_get(j, "entity_type"));
    const char *name = json_string_value(json_object_get(j, "entity_name"));
    int rc = -1;
    if (version == 2 && path) {
        snprintf(entity_path, n, "%s", path);
        rc = 0;
    } else if (version == 1 && type && name) {
        snprintf(entity_path, n, "%s/%s", type, name);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

int zkl_parse_partition_state(const char *json, int32_t zk_version, mc_partition_t *p)
{
    json_t *j = json_loads(json, 0, NULL);
    if (!j)
        return -1;
    p->leader = (int32_t)json_integer_value(json_object_get(j, "leader"));
    p->leader_epoch = (int32_t)json_integer_value(json_object_get(j, "leader_epoch"));
    p->zk_version = zk_version;
    free(p->isr);
    p->isr = json_int_array(json_object_get(j, "isr"), &p->n_isr);
    json_decref(j);
    return 0;
}

char *zkl_partition_state(int32_t controller_epoch, int32_t leader, int32_t leader_epoch,
                          const int32_t *isr, int n_isr)
{
    return dump_and_free(json_pack("{s:i,s:i,s:i,s:i,s:o}", "controller_epoch", controller_epoch,
                                   "leader", leader, "version", 1, "leader_epoch", leader_epoch,
                                   "isr", int_array_json(isr, n_isr)));
}

char *zkl_topic_assignment(const mc_topic_t *t)
{
    json_t *parts = json_object(), *adding = json_object(), *removing = json_object();
    for (int p = 0; p < t->n_partitions; p++) {
        const mc_partition_t *mp = &t->parts[p];
        char k[16];
        snprintf(k, sizeof(k), "%d", p);
        json_object_set_new(parts, k, int_array_json(mp->replicas, mp->n_replicas));
        /* Only partitions under reassignment have entries (as Kafka's). */
        if (mp->n_adding > 0)
            json_object_set_new(adding, k, int_array_json(mp->adding, mp->n_adding));
        if (mp->n_removing > 0)
            json_object_set_new(removing, k, int_array_json(mp->removing, mp->n_removing));
    }
    json_t *j = json_pack("{s:i,s:o,s:o,s:o}", "version", 3, "partitions", parts,
                          "adding_replicas", adding, "removing_replicas", removing);
    static const kuuid_t none;
    if (memcmp(&t->id, &none, sizeof(none)) != 0) {
        char id[23];
        zkl_uuid_to_base64(&t->id, id);
        json_object_set_new(j, "topic_id", json_string(id));
    }
    return dump_and_free(j);
}

char *zkl_topic_config(const char *const *keys, const char *const *values, int n)
{
    json_t *cfg = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(cfg, keys[i], json_string(values[i]));
    return dump_and_free(json_pack("{s:i,s:o}", "version", 1, "config", cfg));
}

char *zkl_controller(int32_t broker_id, int64_t timestamp_ms)
{
    char ts[32];
    snprintf(ts, sizeof(ts), "%" PRId64, timestamp_ms);
    return dump_and_free(json_pack("{s:i,s:i,s:s,s:i}", "version", 2, "brokerid", broker_id,
                                   "timestamp", ts, "kraftControllerEpoch", -1));
}

int32_t zkl_parse_controller(const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    json_t *id = json_object_get(j, "brokerid");
    int32_t v = json_is_integer(id) ? (int32_t)json_integer_value(id) : -1;
    json_decref(j);
    return v;
}

char *zkl_cluster_id(const char *id)
{
    return dump_and_free(json_pack("{s:s,s:s}", "version", "1", "id", id));
}

int zkl_parse_cluster_id(const char *json, char *out, size_t out_size)
{
    json_t *j = json_loads(json, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    int rc = id ? 0 : -1;
    if (id)
        snprintf(out, out_size, "%s", id);
    json_decref(j);
    return rc;
}

long long zkl_sequence_number(const char *child, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(child, prefix, pl) || !child[pl])
        return -1;
    char *end;
    long long n = strtoll(child + pl, &end, 10);
    return *end ? -1 : n;
}
