/*
 * controller.c - owns this broker's ZooKeeper protocol in Kafka's layout:
 * persistent roots, /cluster/id, the ephemeral /brokers/ids/<id> znode (v5
 * JSON), controller election (/controller + /controller_epoch multi),
 * topic znodes, partition state znodes, /admin/delete_topics, and turning
 * all of it into the metadata cache and local partition logs.
 * Event-loop thread only.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "controller.h"
#include "group_coordinator.h"
#include "offsets_topic.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "util.h"
#include "zk_session.h"

static const char *persistent_paths[] = {
    "/consumers", "/brokers/ids", "/brokers/topics", "/config/changes",
    "/admin/delete_topics", "/brokers/seqid", "/isr_change_notification",
    "/latest_producer_id_block", "/log_dir_event_notification", "/config/topics",
    "/config/clients", "/config/users", "/config/brokers", "/config/ips",
};

static void on_zk_event(void *ctx, const zk_event_t *ev);

/* Kafka's base64url-without-padding form of a UUID. */
static void uuid_to_base64(const kuuid_t *u, char out[23])
{
    unsigned char tmp[32];
    EVP_EncodeBlock(tmp, u->b, 16);
    int j = 0;
    for (int i = 0; i < 24 && tmp[i] && tmp[i] != '='; i++)
        out[j++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
    out[j] = '\0';
}

static int uuid_from_base64(const char *s, kuuid_t *u)
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

static kuuid_t random_uuid(void)
{
    kuuid_t u;
    if (RAND_bytes(u.b, 16) != 1)
        die("RAND_bytes failed");
    u.b[6] = (uint8_t)((u.b[6] & 0x0f) | 0x40);  /* version 4, like java.util.UUID */
    u.b[8] = (uint8_t)((u.b[8] & 0x3f) | 0x80);
    return u;
}

static int json_write(broker_t *b, const char *path, json_t *j, bool create, int flags)
{
    char *s = json_dumps(j, JSON_COMPACT);
    int rc = create ? zoo_create(zk_handle(b->zk), path, s, (int)strlen(s), &ZOO_OPEN_ACL_UNSAFE,
                                 flags, NULL, 0)
                    : zoo_set(zk_handle(b->zk), path, s, (int)strlen(s), -1);
    free(s);
    return rc;
}

static int ensure_cluster_id(broker_t *b)
{
    int rc;
    char *s = zk_get_string(b->zk, "/cluster/id", false, NULL, &rc);
    if (!s && rc == ZNONODE) {
        kuuid_t u = random_uuid();
        char id[23];
        uuid_to_base64(&u, id);
        json_t *j = json_pack("{s:s,s:s}", "version", "1", "id", id);
        if (zk_create_persistent_path(b->zk, "/cluster") < 0) {
            json_decref(j);
            return -1;
        }
        rc = json_write(b, "/cluster/id", j, true, 0);
        json_decref(j);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            log_error("controller", "Cannot create /cluster/id: %s", zerror(rc));
            return -1;
        }
        s = zk_get_string(b->zk, "/cluster/id", false, NULL, &rc);
    }
    if (!s) {
        log_error("controller", "Cannot read /cluster/id: %s", zerror(rc));
        return -1;
    }
    json_t *j = json_loads(s, 0, NULL);
    const char *id = j ? json_string_value(json_object_get(j, "id")) : NULL;
    if (!id) {
        log_error("controller", "Malformed /cluster/id: %s", s);
        free(s);
        json_decref(j);
        return -1;
    }
    snprintf(b->cluster_id, sizeof(b->cluster_id), "%s", id);
    free(s);
    json_decref(j);
    return 0;
}

int controller_connect(broker_t *b)
{
    b->controller_id = -1;
    b->zk = zk_open(b->cfg->zk_connect, b->cfg->zk_session_timeout_ms,
                    b->cfg->zk_connection_timeout_ms, b->loop, on_zk_event, b);
    if (!b->zk)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(persistent_paths); i++)
        if (zk_create_persistent_path(b->zk, persistent_paths[i]) < 0)
            return -1;
    return ensure_cluster_id(b);
}

static json_t *broker_registration_json(broker_t *b)
{
    const broker_config_t *cfg = b->cfg;
    json_t *eps = json_array(), *map = json_object();
    const char *host = NULL;
    int port = -1;
    for (int i = 0; i < cfg->n_advertised; i++) {
        const listener_t *l = &cfg->advertised[i];
        char ep[400];
        bool v6 = strchr(l->host, ':') != NULL;
        snprintf(ep, sizeof(ep), "%s://%s%s%s:%d", l->name, v6 ? "[" : "", l->host,
                 v6 ? "]" : "", l->port);
        json_array_append_new(eps, json_string(ep));
        /* Only PLAINTEXT listeners exist today; the name maps to itself
         * unless it is a custom name, which is PLAINTEXT as well. */
        json_object_set_new(map, l->name, json_string("PLAINTEXT"));
        if (!host) {
            host = l->host;
            port = l->port;
        }
    }
    char ts[32];
    snprintf(ts, sizeof(ts), "%" PRId64, now_ms());
    json_t *j = json_pack("{s:o,s:o,s:o,s:i,s:i,s:s,s:i,s:s}", "features", json_object(),
                          "listener_security_protocol_map", map, "endpoints", eps, "jmx_port", -1,
                          "port", port, "host", host ? host : "", "version", 5, "timestamp", ts);
    if (cfg->broker_rack)
        json_object_set_new(j, "rack", json_string(cfg->broker_rack));
    return j;
}

/* Ephemeral /brokers/ids/<id>: create(null) + setData(json, version 0) in one
 * multi, as Kafka does, so the node's czxid is the broker epoch. */
static int try_register(broker_t *b, const char *path, const char *data)
{
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    char created[128];
    struct Stat st;
    zoo_create_op_init(&ops[0], path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, created,
                       sizeof(created));
    zoo_set_op_init(&ops[1], path, data, (int)strlen(data), 0, &st);
    return zoo_multi(zk_handle(b->zk), 2, ops, results);
}

/*
 * A node left by this broker's previous process (kill -9) lives until its
 * session times out.  Kafka refuses to start then; samsa waits up to one
 * session timeout for it to go, and refuses only if the owner stays alive.
 */
static int register_broker(broker_t *b)
{
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", b->cfg->broker_id);
    json_t *j = broker_registration_json(b);
    char *data = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    int64_t deadline = mono_ms() + b->cfg->zk_session_timeout_ms + 2000;
    bool waited = false;
    int rc;
    struct Stat cur;
    while ((rc = try_register(b, path, data)) == ZNODEEXISTS) {
        if (zoo_exists(zk_handle(b->zk), path, 0, &cur) == ZOK &&
            cur.ephemeralOwner == zk_session_id(b->zk)) {
            rc = ZOK;
            break;
        }
        if (mono_ms() > deadline)
            break;
        if (!waited)
            log_info("controller", "%s exists from session 0x%llx; waiting up to %d ms for it "
                                   "to expire", path, (unsigned long long)cur.ephemeralOwner,
                     b->cfg->zk_session_timeout_ms);
        waited = true;
        struct timespec ts = { 0, 200 * 1000000L };
        nanosleep(&ts, NULL);
    }
    free(data);
    if (rc == ZNODEEXISTS) {
        log_error("controller", "Error while creating ephemeral at %s, node already exists and "
                                "owner '0x%llx' does not match current session '0x%llx': broker.id "
                                "%d is in use by a live broker",
                  path, (unsigned long long)cur.ephemeralOwner,
                  (unsigned long long)zk_session_id(b->zk), b->cfg->broker_id);
        return -1;
    }
    if (rc != ZOK) {
        log_error("controller", "Cannot register %s: %s", path, zerror(rc));
        return -1;
    }
    log_info("controller", "Registered broker %d at path %s", b->cfg->broker_id, path);
    return 0;
}

/* Reads the controller epoch (creating it as 0) and its znode version. */
static int read_controller_epoch(broker_t *b, int32_t *epoch, int32_t *version)
{
    int rc;
    struct Stat st;
    char *s = zk_get_string(b->zk, "/controller_epoch", false, &st, &rc);
    if (!s && rc == ZNONODE) {
        rc = zoo_create(zk_handle(b->zk), "/controller_epoch", "0", 1, &ZOO_OPEN_ACL_UNSAFE, 0,
                        NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS)
            return -1;
        s = zk_get_string(b->zk, "/controller_epoch", false, &st, &rc);
    }
    if (!s)
        return -1;
    *epoch = atoi(s);
    *version = st.version;
    free(s);
    return 0;
}

static int32_t read_controller_id(broker_t *b)
{
    struct Stat st;
    int rc = zk_exists_watch(b->zk, "/controller", &st);
    if (rc != ZOK)
        return -1;
    char *s = zk_get_string(b->zk, "/controller", true, NULL, &rc);
    if (!s)
        return -1;
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    int32_t id = j ? (int32_t)json_integer_value(json_object_get(j, "brokerid")) : -1;
    json_decref(j);
    return id;
}

/* Kafka's election: watch /controller; if absent, atomically create it and
 * bump /controller_epoch guarded by the epoch znode version. */
static void elect(broker_t *b)
{
    int32_t cur = read_controller_id(b);
    if (cur >= 0) {
        b->controller_id = cur;
        b->is_controller = cur == b->cfg->broker_id;
        return;
    }
    int32_t epoch, version;
    if (read_controller_epoch(b, &epoch, &version) < 0) {
        log_error("controller", "Cannot read /controller_epoch; not electing");
        return;
    }
    char ts[32], ep[16];
    snprintf(ts, sizeof(ts), "%" PRId64, now_ms());
    snprintf(ep, sizeof(ep), "%d", epoch + 1);
    json_t *j = json_pack("{s:i,s:i,s:s,s:i}", "version", 2, "brokerid", b->cfg->broker_id,
                          "timestamp", ts, "kraftControllerEpoch", -1);
    char *data = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    char created[64];
    struct Stat st;
    zoo_create_op_init(&ops[0], "/controller", data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_EPHEMERAL, created, sizeof(created));
    zoo_set_op_init(&ops[1], "/controller_epoch", ep, (int)strlen(ep), version, &st);
    int rc = zoo_multi(zk_handle(b->zk), 2, ops, res);
    free(data);
    if (rc == ZOK) {
        b->is_controller = true;
        b->controller_id = b->cfg->broker_id;
        b->controller_epoch = epoch + 1;
        log_info("controller", "Broker %d elected as controller (epoch %d)", b->cfg->broker_id,
                 epoch + 1);
    } else {
        b->is_controller = false;
        log_info("controller", "Broker %d lost the controller election: %s", b->cfg->broker_id,
                 zerror(rc));
    }
    /* Re-arm the watch and learn who won. */
    b->controller_id = read_controller_id(b);
}

static void refresh_brokers(broker_t *b)
{
    struct String_vector ids;
    if (zk_children(b->zk, "/brokers/ids", true, &ids) != ZOK)
        return;
    mc_broker_t *arr = xcalloc((size_t)ids.count + 1, sizeof(*arr));
    int n = 0;
    for (int i = 0; i < ids.count; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/brokers/ids/%s", ids.data[i]);
        struct Stat st;
        int rc;
        char *s = zk_get_string(b->zk, path, false, &st, &rc);
        json_t *j = s ? json_loads(s, 0, NULL) : NULL;
        free(s);
        if (!j)
            continue;
        mc_broker_t *mb = &arr[n];
        mb->id = atoi(ids.data[i]);
        mb->epoch = st.czxid;
        /* Advertise the first endpoint (listener name matching is for the
         * multi-listener work). */
        json_t *eps = json_object_get(j, "endpoints");
        const char *ep = json_string_value(json_array_get(eps, 0));
        const char *hp = ep ? strstr(ep, "://") : NULL;
        if (hp) {
            hp += 3;
            const char *colon = strrchr(hp, ':');
            if (colon) {
                size_t hl = (size_t)(colon - hp);
                if (hp[0] == '[' && hl >= 2) {
                    hp++;
                    hl -= 2;
                }
                snprintf(mb->host, sizeof(mb->host), "%.*s", (int)hl, hp);
                mb->port = atoi(colon + 1);
            }
        } else {
            snprintf(mb->host, sizeof(mb->host), "%s",
                     json_string_value(json_object_get(j, "host")) ?: "");
            mb->port = (int32_t)json_integer_value(json_object_get(j, "port"));
        }
        const char *rack = json_string_value(json_object_get(j, "rack"));
        if (rack)
            snprintf(mb->rack, sizeof(mb->rack), "%s", rack);
        json_decref(j);
        n++;
    }
    deallocate_String_vector(&ids);
    mc_set_brokers(arr, n);
    free(arr);
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

/* As controller: creates the state znode of a new partition (leader = first
 * live replica, ISR = live replicas), fenced by the controller epoch. */
static int create_partition_state(broker_t *b, const char *topic, mc_partition_t *p)
{
    int32_t isr[64];
    int n_isr = 0;
    for (int i = 0; i < p->n_replicas && n_isr < 64; i++)
        if (mc_find_broker(p->replicas[i]))
            isr[n_isr++] = p->replicas[i];
    int32_t leader = n_isr > 0 ? isr[0] : -1;
    char path[600];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d", topic, p->id);
    if (zk_create_persistent_path(b->zk, path) < 0)
        return -1;
    strncat(path, "/state", sizeof(path) - strlen(path) - 1);
    json_t *j = json_pack("{s:i,s:i,s:i,s:i,s:o}", "controller_epoch", b->controller_epoch,
                          "leader", leader, "version", 1, "leader_epoch", 0, "isr",
                          int_array_json(isr, n_isr));
    char *data = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    int32_t epoch, version;
    if (read_controller_epoch(b, &epoch, &version) < 0) {
        free(data);
        return -1;
    }
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    char created[600];
    zoo_check_op_init(&ops[0], "/controller_epoch", version);
    zoo_create_op_init(&ops[1], path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, 0, created,
                       sizeof(created));
    int rc = epoch == b->controller_epoch ? zoo_multi(zk_handle(b->zk), 2, ops, res) : ZBADVERSION;
    free(data);
    if (rc == ZBADVERSION) {
        log_warn("controller", "Controller epoch moved on; resigning");
        b->is_controller = false;
        return -1;
    }
    if (rc != ZOK && rc != ZNODEEXISTS) {
        log_error("controller", "Cannot create %s: %s", path, zerror(rc));
        return -1;
    }
    p->leader = leader;
    p->leader_epoch = 0;
    p->zk_version = 0;
    free(p->isr);
    p->isr = xmalloc(sizeof(int32_t) * (size_t)(n_isr ? n_isr : 1));
    memcpy(p->isr, isr, sizeof(int32_t) * (size_t)n_isr);
    p->n_isr = n_isr;
    log_info("controller", "Partition %s-%d online: leader %d, isr %d replicas", topic, p->id,
             leader, n_isr);
    return 0;
}

static void read_partition_state(broker_t *b, const char *topic, mc_partition_t *p)
{
    char path[600];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, p->id);
    struct Stat st;
    int rc;
    char *s = zk_get_string(b->zk, path, false, &st, &rc);
    if (!s) {
        if (rc == ZNONODE && b->is_controller)
            create_partition_state(b, topic, p);
        return;
    }
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    if (!j) {
        log_warn("controller", "Malformed partition state at %s", path);
        return;
    }
    p->leader = (int32_t)json_integer_value(json_object_get(j, "leader"));
    p->leader_epoch = (int32_t)json_integer_value(json_object_get(j, "leader_epoch"));
    p->zk_version = st.version;
    free(p->isr);
    p->isr = json_int_array(json_object_get(j, "isr"), &p->n_isr);
    json_decref(j);
}

static void read_topic_config(broker_t *b, mc_topic_t *t)
{
    char path[600];
    snprintf(path, sizeof(path), "/config/topics/%s", t->name);
    int rc;
    char *s = zk_get_string(b->zk, path, false, NULL, &rc);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    json_t *cfg = json_object_get(j, "config");
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v) {
        if (json_is_string(v))
            mc_topic_set_config(t, k, json_string_value(v));
    }
    json_decref(j);
}

static mc_topic_t *load_topic(broker_t *b, const char *name)
{
    char path[600];
    snprintf(path, sizeof(path), "/brokers/topics/%s", name);
    int rc;
    char *s = zk_get_string(b->zk, path, true, NULL, &rc);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    json_t *parts = json_object_get(j, "partitions");
    if (!json_is_object(parts)) {
        json_decref(j);
        return NULL;
    }
    int n = (int)json_object_size(parts);
    mc_topic_t *t = mc_topic_new(name, n);
    const char *id = json_string_value(json_object_get(j, "topic_id"));
    if (id && uuid_from_base64(id, &t->id) < 0)
        log_warn("controller", "Ignoring malformed topic_id of %s", name);
    const char *k;
    json_t *v;
    json_object_foreach(parts, k, v) {
        int p = atoi(k);
        if (p < 0 || p >= n) {
            log_warn("controller", "Topic %s has a non-contiguous partition %s", name, k);
            continue;
        }
        t->parts[p].replicas = json_int_array(v, &t->parts[p].n_replicas);
    }
    json_decref(j);
    read_topic_config(b, t);
    for (int p = 0; p < n; p++)
        read_partition_state(b, name, &t->parts[p]);
    return t;
}

/* Opens logs for partitions this broker leads; drops logs of topics that
 * no longer exist. */
/* Topic-level overrides (segment.bytes, segment.ms, ...) over the broker's
 * defaults, for this topic's logs. */
static log_settings_t topic_log_settings(broker_t *b, const mc_topic_t *t)
{
    return (log_settings_t){
        .segment_bytes = topic_config_int(b, t, "segment.bytes"),
        .roll_ms = topic_config_int(b, t, "segment.ms"),
        .index_interval_bytes = (int32_t)topic_config_int(b, t, "index.interval.bytes"),
        .index_size_max_bytes = (int32_t)topic_config_int(b, t, "segment.index.bytes"),
        .flush_interval_messages = topic_config_int(b, t, "flush.messages"),
        .max_message_bytes = (int32_t)topic_config_int(b, t, "max.message.bytes"),
    };
}

static void apply_local_replicas(broker_t *b, mc_topic_t *t)
{
    log_settings_t settings = topic_log_settings(b, t);
    for (int p = 0; p < t->n_partitions; p++) {
        bool mine = false;
        for (int r = 0; r < t->parts[p].n_replicas; r++)
            mine |= t->parts[p].replicas[r] == b->cfg->broker_id;
        partition_log_t *pl = mine ? logmgr_get_or_create(t->name, p) : NULL;
        if (pl)
            pl->settings = settings;   /* applies from the next segment on */
        if (mine && !pl)
            log_error("controller", "Cannot open log for %s-%d", t->name, p);
        else if (mine && t->parts[p].leader == b->cfg->broker_id && !strcmp(t->name, OFFSETS_TOPIC))
            gc_partition_led(p);
    }
}

typedef struct stale_ctx {
    char (*names)[256];
    int32_t *parts;
    int n;
} stale_ctx_t;

static void collect_stale(partition_log_t *pl, void *arg)
{
    stale_ctx_t *c = arg;
    mc_topic_t *t = mc_find_topic(pl->topic);
    if (t && pl->partition < t->n_partitions)
        return;
    c->names = xrealloc(c->names, sizeof(*c->names) * (size_t)(c->n + 1));
    c->parts = xrealloc(c->parts, sizeof(*c->parts) * (size_t)(c->n + 1));
    snprintf(c->names[c->n], 256, "%s", pl->topic);
    c->parts[c->n] = pl->partition;
    c->n++;
}

static void process_deletions(broker_t *b)
{
    struct String_vector kids;
    if (zk_children(b->zk, "/admin/delete_topics", true, &kids) != ZOK)
        return;
    for (int i = 0; b->is_controller && i < kids.count; i++) {
        const char *t = kids.data[i];
        char path[600];
        if (b->cfg->delete_topic_enable) {
            snprintf(path, sizeof(path), "/brokers/topics/%s", t);
            int rc = zk_delete_recursive(b->zk, path);
            snprintf(path, sizeof(path), "/config/topics/%s", t);
            if (rc == ZOK)
                rc = zk_delete_recursive(b->zk, path);
            if (rc != ZOK) {
                log_error("controller", "Deletion of topic %s failed: %s", t, zerror(rc));
                continue;
            }
            log_info("controller", "Deleted topic %s", t);
        } else {
            log_warn("controller", "Ignoring deletion of topic %s: delete.topic.enable is false", t);
        }
        snprintf(path, sizeof(path), "/admin/delete_topics/%s", t);
        zoo_delete(zk_handle(b->zk), path, -1);
    }
    deallocate_String_vector(&kids);
}

void controller_refresh_metadata(broker_t *b)
{
    refresh_brokers(b);
    process_deletions(b);
    struct String_vector names;
    int rc = zk_children(b->zk, "/brokers/topics", true, &names);
    if (rc != ZOK) {
        log_error("controller", "Cannot list /brokers/topics: %s", zerror(rc));
        return;
    }
    /* Rebuild the topic table from ZooKeeper. */
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, mc_topics(), t, tmp) {
        bool present = false;
        for (int i = 0; i < names.count && !present; i++)
            present = !strcmp(names.data[i], t->name);
        if (!present)
            mc_remove_topic(t->name);
    }
    for (int i = 0; i < names.count; i++) {
        mc_topic_t *nt = load_topic(b, names.data[i]);
        if (!nt)
            continue;
        mc_put_topic(nt);
        apply_local_replicas(b, nt);
    }
    deallocate_String_vector(&names);
    stale_ctx_t stale = { 0 };
    logmgr_foreach(collect_stale, &stale);
    for (int i = 0; i < stale.n; i++)
        logmgr_delete(stale.names[i], stale.parts[i]);
    free(stale.names);
    free(stale.parts);
}

int controller_start(broker_t *b)
{
    if (register_broker(b) < 0)
        return -1;
    elect(b);
    controller_refresh_metadata(b);
    return 0;
}

void controller_stop(broker_t *b)
{
    if (!b->zk)
        return;
    /* Closing the session removes our ephemeral znodes at once. */
    zk_close(b->zk);
    b->zk = NULL;
}

/* Event-loop thread: a watch fired or the session changed state. */
static void on_zk_event(void *ctx, const zk_event_t *ev)
{
    broker_t *b = ctx;
    if (b->shutting_down || !b->zk)
        return;
    if (ev->type == ZOO_SESSION_EVENT) {
        if (ev->state == ZOO_EXPIRED_SESSION_STATE) {
            log_warn("controller", "ZooKeeper session expired; re-registering broker %d",
                     b->cfg->broker_id);
            b->is_controller = false;
            if (zk_reopen(b->zk) < 0 || controller_start(b) < 0)
                log_error("controller", "Re-registration after session expiry failed");
        }
        return;
    }
    if (!strcmp(ev->path, "/controller")) {
        elect(b);
        controller_refresh_metadata(b);
        return;
    }
    controller_refresh_metadata(b);
}

const char *topic_name_invalid(const char *name, int len)
{
    if (len <= 0)
        return "Topic name is illegal, it can't be empty";
    if (len == 1 && name[0] == '.')
        return "Topic name cannot be \".\"";
    if (len == 2 && name[0] == '.' && name[1] == '.')
        return "Topic name cannot be \"..\"";
    if (len > 249)
        return "Topic name is illegal, it can't be longer than 249 characters";
    for (int i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return "Topic name contains characters other than ASCII alphanumerics, '.', '_' and '-'";
    }
    return NULL;
}

int16_t controller_create_topic(broker_t *b, const topic_spec_t *spec, const char **msg)
{
    *msg = NULL;
    if ((*msg = topic_name_invalid(spec->name, (int)strlen(spec->name))))
        return KERR_INVALID_TOPIC_EXCEPTION;
    if (mc_find_topic(spec->name)) {
        *msg = "Topic already exists.";
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    int32_t np = spec->num_partitions == -1 ? b->cfg->num_partitions : spec->num_partitions;
    int16_t rf = spec->replication_factor == -1 ? b->cfg->default_replication_factor
                                                : spec->replication_factor;
    if (np <= 0) {
        *msg = "Number of partitions must be larger than 0.";
        return KERR_INVALID_PARTITIONS;
    }
    if (rf <= 0) {
        *msg = "Replication factor must be larger than 0.";
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    int nb;
    const mc_broker_t *brokers = mc_brokers(&nb);
    if (rf > nb) {
        *msg = "Replication factor is larger than the number of available brokers.";
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    if (spec->validate_only)
        return KERR_NONE;
    json_t *cfg = json_object();
    for (int i = 0; i < spec->n_configs; i++)
        json_object_set_new(cfg, spec->config_keys[i], json_string(spec->config_values[i]));
    json_t *cj = json_pack("{s:i,s:o}", "version", 1, "config", cfg);
    char path[600];
    snprintf(path, sizeof(path), "/config/topics/%s", spec->name);
    int rc = json_write(b, path, cj, true, 0);
    if (rc == ZNODEEXISTS)
        rc = json_write(b, path, cj, false, 0);
    json_decref(cj);
    if (rc != ZOK) {
        log_error("controller", "Cannot write %s: %s", path, zerror(rc));
        *msg = "Cannot write topic config to ZooKeeper";
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    /* Rack-unaware round-robin assignment starting at a random broker. */
    unsigned start = 0;
    RAND_bytes((unsigned char *)&start, sizeof(start));
    json_t *parts = json_object();
    for (int32_t p = 0; p < np; p++) {
        json_t *reps = json_array();
        for (int r = 0; r < rf; r++)
            json_array_append_new(reps, json_integer(brokers[(start + (unsigned)p + (unsigned)r) %
                                                             (unsigned)nb].id));
        char k[16];
        snprintf(k, sizeof(k), "%d", p);
        json_object_set_new(parts, k, reps);
    }
    kuuid_t id = random_uuid();
    char idstr[23];
    uuid_to_base64(&id, idstr);
    json_t *tj = json_pack("{s:i,s:o,s:o,s:o,s:s}", "version", 3, "partitions", parts,
                           "adding_replicas", json_object(), "removing_replicas", json_object(),
                           "topic_id", idstr);
    snprintf(path, sizeof(path), "/brokers/topics/%s", spec->name);
    rc = json_write(b, path, tj, true, 0);
    json_decref(tj);
    if (rc == ZNODEEXISTS) {
        *msg = "Topic already exists.";
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    if (rc != ZOK) {
        log_error("controller", "Cannot write %s: %s", path, zerror(rc));
        *msg = "Cannot write topic assignment to ZooKeeper";
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    log_info("controller", "Created topic %s with %d partitions and replication factor %d",
             spec->name, np, rf);
    controller_refresh_metadata(b);
    return KERR_NONE;
}

int16_t controller_delete_topic(broker_t *b, const char *name)
{
    if (!mc_find_topic(name))
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!b->cfg->delete_topic_enable)
        return KERR_TOPIC_DELETION_DISABLED;
    char path[600];
    snprintf(path, sizeof(path), "/admin/delete_topics/%s", name);
    int rc = zoo_create(zk_handle(b->zk), path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        log_error("controller", "Cannot create %s: %s", path, zerror(rc));
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    controller_refresh_metadata(b);
    return KERR_NONE;
}
