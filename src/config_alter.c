/*
 * config_alter.c - owns AlterConfigs/IncrementalAlterConfigs jobs
 * (config_alter.h): the loop's checks (Kafka's ConfigAdminManager
 * preprocessing), and on the ZooKeeper thread the stored config read,
 * the operations applied, Kafka's validation of the result and the write
 * with its change notification.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_dynamic.h"
#include "config_alter.h"
#include "config_changes.h"
#include "config_defs.h"
#include "controller.h"
#include "kafka_errors.h"
#include "listeners.h"
#include "logging.h"
#include "metadata_cache.h"
#include "tls_context.h"
#include "topic_config.h"
#include "util.h"
#include "zk_layout.h"
#include "zk_worker.h"

struct config_alter_job {
    broker_t *b;                /* only b->cfg is read off the loop */
    int32_t broker_id;
    config_resource_t *res;
    int n;
    bool incremental;
    bool validate_only;
    metadata_update_t *written; /* what this broker applies before answering */
    config_alter_done_fn done;
    void *arg;
};

static void set_error(config_resource_t *r, int16_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(config_resource_t *r, int16_t err, const char *fmt, ...)
{
    r->error = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

void config_resources_free(config_resource_t *res, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < res[i].n_ops; k++) {
            free(res[i].ops[k].key);
            free(res[i].ops[k].value);
        }
        free(res[i].ops);
        free(res[i].name);
    }
    free(res);
}

/* Kafka's ConfigResource.toString, which its messages quote. */
static const char *resource_string(const config_resource_t *r, char *buf, size_t n)
{
    snprintf(buf, n, "ConfigResource(type=%s, name='%s')",
             r->type == RESOURCE_TYPE_TOPIC ? "TOPIC" : "BROKER", r->name);
    return buf;
}

/* ---- the loop's checks (ConfigAdminManager.preprocess) ---- */

static void check_nulls(config_resource_t *r, bool incremental)
{
    char names[400] = "";
    for (int k = 0; k < r->n_ops; k++) {
        const config_op_t *o = &r->ops[k];
        if (o->value || (incremental && o->op == CONFIG_OP_DELETE))
            continue;
        size_t len = strlen(names);
        snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", o->key);
    }
    if (names[0])
        set_error(r, KERR_INVALID_REQUEST, "Null value not supported for : %s", names);
}

static void precheck_broker(broker_t *b, config_resource_t *r)
{
    if (!r->name[0])
        return;
    char *end;
    long id = strtol(r->name, &end, 10);
    if (*end || end == r->name)
        set_error(r, KERR_INVALID_REQUEST, "Node id must be an integer, but it is: %s", r->name);
    else if (id != b->cfg->broker_id)
        set_error(r, KERR_INVALID_REQUEST, "Unexpected broker id, expected %d, but received %s",
                  b->cfg->broker_id, r->name);
}

static void precheck(broker_t *b, config_resource_t *res, int n, int i, bool incremental)
{
    config_resource_t *r = &res[i];
    if (r->error)
        return;     /* refused by the caller (authorization) */
    for (int k = 0; k < n; k++)
        if (k != i && res[k].type == r->type && !strcmp(res[k].name, r->name)) {
            set_error(r, KERR_INVALID_REQUEST, "Each resource must appear at most once.");
            return;
        }
    for (int k = 0; k < r->n_ops; k++)
        for (int m = k + 1; m < r->n_ops; m++)
            if (!strcmp(r->ops[k].key, r->ops[m].key)) {
                set_error(r, KERR_INVALID_REQUEST, "Error due to duplicate config keys");
                return;
            }
    check_nulls(r, incremental);
    if (r->error)
        return;
    for (int k = 0; incremental && k < r->n_ops; k++)
        if (r->ops[k].op < CONFIG_OP_SET || r->ops[k].op > CONFIG_OP_SUBTRACT) {
            set_error(r, KERR_INVALID_REQUEST, "Unknown operations type %d", r->ops[k].op);
            return;
        }
    if (r->type == RESOURCE_TYPE_BROKER) {
        precheck_broker(b, r);
    } else if (r->type == RESOURCE_TYPE_TOPIC) {
        if (!r->name[0])
            set_error(r, KERR_INVALID_REQUEST, "Default topic resources are not allowed.");
        else if (!mc_find_topic(r->name))
            set_error(r, KERR_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.",
                      r->name);
    } else if (r->type == RESOURCE_TYPE_BROKER_LOGGER && incremental) {
        /* Kafka changes log4j levels; samsa's log level is fixed at start. */
        set_error(r, KERR_INVALID_REQUEST, "samsa does not support changing broker log levels "
                                           "(BROKER_LOGGER resources)");
    } else {
        set_error(r, KERR_INVALID_REQUEST, "Unknown resource type %d", r->type);
    }
}

/* ---- the ZooKeeper thread ---- */

/* The key's type and Kafka's default, for APPEND and SUBTRACT. */
static int list_key(const config_resource_t *r, const char *key, const char **dflt)
{
    if (r->type == RESOURCE_TYPE_TOPIC) {
        const topic_setting_t *s = topic_setting_find(key);
        *dflt = s ? s->fallback : NULL;
        return !s ? -1 : s->type == TC_LIST;
    }
    const config_def_t *d = config_def_broker(key);
    *dflt = d ? d->default_value : NULL;
    return !d ? -1 : d->type == CT_LIST;
}

static void split_list(const char *s, kv_list_t *items)
{
    char *copy = xstrdup(s ? s : "");
    for (char *save, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        kv_set(items, tok, "");
    free(copy);
}

/* APPEND and SUBTRACT as Kafka's prepareIncrementalConfigs. */
static bool apply_list_op(config_resource_t *r, const config_op_t *o, kv_list_t *cfg)
{
    const char *dflt;
    int is_list = list_key(r, o->key, &dflt);
    const char *verb = o->op == CONFIG_OP_APPEND ? "append" : "subtract";
    if (is_list < 0) {
        set_error(r, KERR_INVALID_CONFIG, "Unknown config name: %s", o->key);
        return false;
    }
    if (!is_list) {
        set_error(r, KERR_INVALID_CONFIG, "Config value %s is not allowed for config key: %s",
                  verb, o->key);
        return false;
    }
    const char *old = kv_get(cfg, o->key);
    kv_list_t items = { 0 }, change = { 0 };
    split_list(old ? old : dflt, &items);
    split_list(o->value, &change);
    for (int i = 0; i < change.n; i++) {
        if (o->op == CONFIG_OP_APPEND)
            kv_set(&items, change.keys[i], "");
        else
            kv_remove(&items, change.keys[i]);
    }
    kwriter_t joined;           /* any length: throttled-replica lists grow long */
    kw_init(&joined);
    for (int i = 0; i < items.n; i++) {
        if (i)
            kw_raw(&joined, ",", 1);
        kw_raw(&joined, items.keys[i], strlen(items.keys[i]));
    }
    kw_raw(&joined, "", 1);
    kv_set(cfg, o->key, (const char *)joined.buf);
    kw_free(&joined);
    kv_free(&items);
    kv_free(&change);
    return true;
}

static bool apply_ops(config_resource_t *r, kv_list_t *cfg)
{
    for (int k = 0; k < r->n_ops; k++) {
        const config_op_t *o = &r->ops[k];
        if (o->op == CONFIG_OP_SET)
            kv_set(cfg, o->key, o->value);
        else if (o->op == CONFIG_OP_DELETE)
            kv_remove(cfg, o->key);
        else if (!apply_list_op(r, o, cfg))
            return false;
    }
    return true;
}

/* Kafka's LogConfig.validate over the whole new config. */
static bool validate_topic(config_resource_t *r, const kv_list_t *cfg)
{
    const char *msg;
    if (!topic_config_validate((const char **)cfg->keys, (const char **)cfg->values, cfg->n,
                               &msg))
        return true;
    char rs[400];
    if (!strncmp(msg, "Unknown topic config name", 25))
        set_error(r, KERR_INVALID_CONFIG, "%s", msg);
    else
        set_error(r, KERR_INVALID_CONFIG, "Invalid config value for resource %s: %s",
                  resource_string(r, rs, sizeof(rs)), msg);
    return false;
}

/* Appends name to a Scala Set's "Set(a, b)" rendering in buf. */
static void set_add(char *buf, size_t n, const char *name)
{
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, "%s%s", len ? ", " : "", name);
}

static const char *const cluster_level_listener_configs[] = {
    "max.connections", "max.connection.creation.rate", "num.network.threads",
};

static bool per_broker_key(const char *key)
{
    const config_def_t *d = config_def_broker(key);
    if (d)
        return (d->flags & CD_PER_BROKER) != 0;
    if (strncmp(key, "listener.name.", 14) || !strchr(key + 14, '.'))
        return false;
    const char *base = strchr(key + 14, '.') + 1;
    for (size_t i = 0; i < ARRAY_SIZE(cluster_level_listener_configs); i++)
        if (!strcmp(base, cluster_level_listener_configs[i]))
            return false;
    return true;
}

static const tc_type_t value_types[] = {
    [CT_BOOLEAN] = TC_BOOLEAN, [CT_INT] = TC_INT, [CT_SHORT] = TC_INT, [CT_LONG] = TC_LONG,
    [CT_DOUBLE] = TC_DOUBLE,
};

/* Kafka's DynamicBrokerConfig.validateConfigs (then toPersistentProps'
 * password rule), over the whole new config.  Ranges are not checked:
 * Kafka's per-key validators are not in the generated table. */
static bool validate_broker(config_resource_t *r, const kv_list_t *cfg)
{
    bool per_broker = r->name[0] != '\0';
    char fixed[400] = "", security[400] = "", cluster[400] = "";
    for (int i = 0; i < cfg->n; i++) {
        const char *k = cfg->keys[i];
        const config_def_t *d = config_def_broker(k);
        if (d && !(d->flags & CD_DYNAMIC))
            set_add(fixed, sizeof(fixed), k);
        else if (d && (d->flags & CD_PER_BROKER) && !strncmp(k, "ssl.", 4))
            set_add(security, sizeof(security), k);
        if (!per_broker && per_broker_key(k))
            set_add(cluster, sizeof(cluster), k);
    }
    if (fixed[0]) {
        set_error(r, KERR_INVALID_REQUEST, "Cannot update these configs dynamically: Set(%s)",
                  fixed);
        return false;
    }
    if (security[0]) {
        set_error(r, KERR_INVALID_REQUEST, "These security configs can be dynamically updated "
                                           "only per-listener using the listener prefix: HashSet(%s)",
                  security);
        return false;
    }
    for (int i = 0; i < cfg->n; i++) {
        int t = config_broker_type(cfg->keys[i]);
        if (t < 0 || t >= (int)ARRAY_SIZE(value_types) || !value_types[t])
            continue;
        topic_setting_t as = { .type = value_types[t], .min = 1, .max = 0 };
        char msg[500];
        if (!topic_config_value_ok(&as, cfg->keys[i], cfg->values[i], msg, sizeof(msg))) {
            set_error(r, KERR_INVALID_REQUEST, "%s", msg);
            return false;
        }
    }
    if (cluster[0]) {
        set_error(r, KERR_INVALID_REQUEST, "Cannot update these configs at default cluster level, "
                                           "broker id must be specified: Set(%s)", cluster);
        return false;
    }
    for (int i = 0; i < cfg->n; i++) {
        if (config_broker_type(cfg->keys[i]) != CT_PASSWORD)
            continue;
        char rs[400];
        set_error(r, KERR_INVALID_CONFIG, "Invalid config value for resource %s: %s",
                  resource_string(r, rs, sizeof(rs)),
                  per_broker ? "Password encoder secret not configured"
                             : "Password config can be defined only at broker level");
        return false;
    }
    return true;
}

/* The per-broker dynamic layer over server.properties (a keystore update
 * is per listener, hence per broker). */
typedef struct layered {
    const broker_config_t *cfg;
    const kv_list_t *dynamic;
} layered_t;

static const char *layered_get(void *ctx, const char *key)
{
    const layered_t *l = ctx;
    const char *v = kv_get(l->dynamic, key);
    return v ? v : config_get(l->cfg, key);
}

/* Kafka validates a listener's new keystore before accepting it: it must
 * load, and keep the certificate's subject and alternative names.  Only
 * for this broker's own listeners, whose stores it can read.
 * @locality the ZooKeeper thread (reads the stores; b->cfg is read-only) */
static bool validate_keystores(config_alter_job_t *j, config_resource_t *r, const kv_list_t *old,
                               const kv_list_t *cfg)
{
    if (atoi(r->name) != j->broker_id || !r->name[0])
        return true;
    const broker_config_t *bc = j->b->cfg;
    for (int i = 0; i < bc->n_listeners; i++) {
        const listener_t *l = &bc->listeners[i];
        if (!security_protocol_tls(l->security_protocol))
            continue;
        layered_t before = { bc, old }, after = { bc, cfg };
        char *fp_old = tls_settings_fingerprint(bc, l, layered_get, &before);
        char *fp_new = tls_settings_fingerprint(bc, l, layered_get, &after);
        bool changed = !fp_old || !fp_new || strcmp(fp_old, fp_new);
        free(fp_old);
        free(fp_new);
        if (!changed)
            continue;
        char err[600];
        SSL_CTX *was = tls_server_context_with(bc, l, layered_get, &before, err, sizeof(err));
        SSL_CTX *now = tls_server_context_with(bc, l, layered_get, &after, err, sizeof(err));
        bool ok = now && (!was || tls_keystores_compatible(was, now, err, sizeof(err)));
        SSL_CTX_free(was);
        SSL_CTX_free(now);
        if (!ok) {
            set_error(r, KERR_INVALID_CONFIG, "Validation of dynamic config update of SSLFactory "
                      "failed: org.apache.kafka.common.config.ConfigException: %s", err);
            return false;
        }
    }
    return true;
}

/*
 * One resource: read, apply, validate, write.
 * @locality the ZooKeeper thread
 * @locks none (the job is the ZooKeeper thread's until done)
 */
static void alter_one(config_alter_job_t *j, config_resource_t *r)
{
    zk_session_t *zs = controller_session();
    bool topic = r->type == RESOURCE_TYPE_TOPIC;
    const char *type = topic ? "topics" : "brokers";
    const char *entity = topic || r->name[0] ? r->name : "<default>";
    kv_list_t cfg = { 0 };
    int rc = j->incremental ? config_read_entity(zs, type, entity, &cfg) : ZOK;
    if (rc == ZOK && topic) {
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), "/brokers/topics/%s", r->name);
        rc = zoo_exists(zk_handle(zs), path, 0, NULL);
        if (rc == ZNONODE) {
            set_error(r, KERR_UNKNOWN_TOPIC_OR_PARTITION, "Topic '%s' does not exist.", r->name);
            goto out;
        }
    }
    if (rc != ZOK && rc != ZNONODE) {
        set_error(r, KERR_UNKNOWN_SERVER_ERROR, "ZooKeeper error: %s", zerror(rc));
        goto out;
    }
    kv_list_t old = kv_copy(&cfg);
    bool valid = apply_ops(r, &cfg) &&
                 (topic ? validate_topic(r, &cfg)
                        : validate_broker(r, &cfg) && validate_keystores(j, r, &old, &cfg));
    kv_free(&old);
    if (!valid)
        goto out;
    if (j->validate_only)
        goto out;
    rc = config_write_entity(zs, type, entity, &cfg);
    if (rc != ZOK) {
        set_error(r, KERR_UNKNOWN_SERVER_ERROR, "ZooKeeper error: %s", zerror(rc));
        goto out;
    }
    log_info("config", "Updating %s %s with new configuration: %d keys", topic ? "topic" : "broker",
             entity, cfg.n);
    if (topic)
        metadata_update_add_topic_config(j->written, r->name, &cfg);
    else
        config_read_broker_layers(zs, j->broker_id, j->written);
out:
    kv_free(&cfg);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void alter_run(void *arg)
{
    config_alter_job_t *j = arg;
    for (int i = 0; i < j->n; i++)
        if (!j->res[i].error)
            alter_one(j, &j->res[i]);
}

static void job_finish(void *arg)
{
    config_alter_job_t *j = arg;
    j->done(j->b, j->arg, j->res, j->n);
    config_resources_free(j->res, j->n);
    free(j);
}

/* @locality the event-loop thread
 * @locks none */
static void alter_done(void *arg)
{
    config_alter_job_t *j = arg;
    metadata_update_t *u = j->written;
    j->written = NULL;
    /* This broker applies what it wrote before answering; its watch
     * brings the same change again, which changes nothing. */
    metadata_apply(j->b, u, job_finish, j);
}

bool config_alter(broker_t *b, config_resource_t *res, int n, bool incremental,
                  bool validate_only, config_alter_done_fn done, void *arg)
{
    int pending = 0;
    for (int i = 0; i < n; i++) {
        precheck(b, res, n, i, incremental);
        pending += res[i].error == KERR_NONE;
    }
    config_alter_job_t *j = xcalloc(1, sizeof(*j));
    *j = (config_alter_job_t){ .b = b, .broker_id = b->cfg->broker_id, .res = res, .n = n,
                               .incremental = incremental, .validate_only = validate_only,
                               .done = done, .arg = arg };
    if (pending == 0) {
        job_finish(j);
        return false;
    }
    j->written = metadata_update_new();
    if (zkw_submit(alter_run, alter_done, j) < 0) {
        for (int i = 0; i < n; i++)
            if (!res[i].error)
                set_error(&res[i], KERR_UNKNOWN_SERVER_ERROR, "The broker is shutting down");
        metadata_update_free(j->written);
        job_finish(j);
        return false;
    }
    return true;
}
