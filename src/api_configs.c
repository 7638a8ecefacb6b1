/*
 * api_configs.c - owns DescribeConfigs (32) as Kafka's ConfigHelper
 * answers it: for a topic every LogConfig key, for a broker every
 * KafkaConfig key plus any other key set, for the broker default resource
 * the cluster-wide dynamic keys; each with its value in force, source,
 * synonyms (most specific first), sensitivity, type and, when asked,
 * documentation.  Event-loop thread.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "broker_dynamic.h"
#include "config_alter.h"
#include "config_defs.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "proto_messages.h"
#include "topic_config.h"
#include "topic_config_load.h"

typedef struct describe_configs_request_describe_configs_resource rq_resource_t;
typedef struct describe_configs_response_describe_configs_resource_result entry_t;
typedef struct describe_configs_response_describe_configs_synonym synonym_t;

/* What one answer is being built from. */
typedef struct describe {
    broker_t *b;
    request_t *req;
    const rq_resource_t *rq;
    bool synonyms;              /* include_synonyms */
    bool docs;                  /* include_documentation */
    bool per_broker;            /* broker resources: this broker, not the default */
    entry_t *entries;
    int n, cap;
} describe_t;

static bool wanted(const rq_resource_t *r, const char *key)
{
    if (r->configuration_keys_count <= 0)
        return true;
    for (int i = 0; i < r->configuration_keys_count; i++)
        if (kstr_eq_cstr(r->configuration_keys[i], key))
            return true;
    return false;
}

static kstr_t str(describe_t *d, const char *s)
{
    return s ? kstr_from_cstr(arena_strdup(&d->req->arena, s)) : KSTR_NULL;
}

static entry_t *add_entry(describe_t *d, const char *name)
{
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 64;
        entry_t *e = describe_configs_response_describe_configs_resource_result_array(
            &d->req->arena, cap);
        if (d->n)
            memcpy(e, d->entries, sizeof(*e) * (size_t)d->n);
        d->entries = e;
        d->cap = cap;
    }
    entry_t *e = &d->entries[d->n++];
    describe_configs_response_describe_configs_resource_result_defaults(e);
    e->name = str(d, name);
    e->synonyms_count = 0;
    e->documentation = KSTR_NULL;   /* Kafka's when not asked or unknown */
    return e;
}

/* Kafka's configSynonyms: each of names in each layer, most specific
 * layer first, then dropWhile(name != first).  Returns how many. */
static int broker_synonyms(describe_t *d, const char *first, const char *const *names, int n,
                           bool sensitive, synonym_t *out)
{
    static const int layers[] = { SOURCE_DYNAMIC_BROKER, SOURCE_DYNAMIC_DEFAULT_BROKER,
                                  SOURCE_STATIC_BROKER, SOURCE_DEFAULT };
    int k = 0;
    for (size_t l = 0; l < sizeof(layers) / sizeof(layers[0]); l++)
        for (int i = 0; i < n; i++) {
            const config_def_t *def = config_def_broker(names[i]);
            const char *v = layers[l] == SOURCE_DEFAULT ? (def ? def->default_value : NULL)
                                                        : bdyn_layer_get(d->b, layers[l], names[i]);
            if (!v || (k == 0 && strcmp(names[i], first)))
                continue;
            out[k].name = str(d, names[i]);
            out[k].value = sensitive ? KSTR_NULL : str(d, v);
            out[k].source = (int8_t)layers[l];
            k++;
        }
    return k;
}

static void set_synonyms(describe_t *d, entry_t *e, synonym_t *all, int n)
{
    e->config_source = n ? all[0].source : SOURCE_DEFAULT;
    e->is_default = e->config_source == SOURCE_DEFAULT;
    if (!d->synonyms || !n)
        return;
    e->synonyms = describe_configs_response_describe_configs_synonym_array(&d->req->arena, n);
    memcpy(e->synonyms, all, sizeof(*all) * (size_t)n);
    e->synonyms_count = n;
}

/* ---- topics ---- */

static void topic_entry(describe_t *d, const mc_topic_t *t, const config_def_t *def)
{
    entry_t *e = add_entry(d, def->name);
    const char *override = mc_topic_config(t, def->name);
    const topic_setting_t *s = topic_setting_find(def->name);
    char buf[32];
    const char *v = override ? override
                    : s      ? topic_config_broker_value(d->b, s, buf, sizeof(buf))
                             : def->default_value;
    e->value = str(d, v);
    e->config_type = def->type;
    e->read_only = false;
    e->is_sensitive = false;
    synonym_t all[8];
    int n = 0;
    if (override) {
        all[n].name = str(d, def->name);
        all[n].value = str(d, override);
        all[n].source = SOURCE_TOPIC_CONFIG;
        n++;
    }
    if (def->broker_synonym) {
        const char *names[3];
        char base[256];
        int k = config_broker_synonyms(def->broker_synonym, names, base, sizeof(base));
        n += broker_synonyms(d, def->broker_synonym, names, k, false, all + n);
    }
    set_synonyms(d, e, all, n);
    if (d->docs)
        e->documentation = str(d, def->doc);
}

static void describe_topic(describe_t *d, struct describe_configs_response_describe_configs_result *out)
{
    char *name = kstr_dup(&d->req->arena, d->rq->resource_name);
    mc_topic_t *t = mc_find_topic(name ? name : "");
    if (!t) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    for (int i = 0; i < kafka_topic_config_def_count; i++)
        if (wanted(d->rq, kafka_topic_config_defs[i].name))
            topic_entry(d, t, &kafka_topic_config_defs[i]);
    /* Overrides Kafka does not know (an old tool wrote them): listed,
     * and sensitive since their type is unknown. */
    for (int i = 0; i < t->cfg.n; i++) {
        if (config_def_topic(t->cfg.keys[i]) || !wanted(d->rq, t->cfg.keys[i]))
            continue;
        entry_t *e = add_entry(d, t->cfg.keys[i]);
        e->value = KSTR_NULL;
        e->is_sensitive = true;
        e->config_source = SOURCE_TOPIC_CONFIG;
        synonym_t own = { str(d, t->cfg.keys[i]), KSTR_NULL, SOURCE_TOPIC_CONFIG };
        set_synonyms(d, e, &own, 1);
    }
}

/* ---- brokers ---- */

/* A value as Kafka prints it once parsed (ConfigDef.convertToString):
 * numbers and booleans trimmed (booleans lower case), list items trimmed
 * and joined with ",". */
static const char *normalized(describe_t *d, int type, const char *v)
{
    if (!v || type == CT_STRING || type == CT_PASSWORD || type == CT_UNKNOWN)
        return v;
    size_t len = strlen(v);
    char *out = arena_alloc(&d->req->arena, len + 1);
    size_t k = 0;
    const char *p = v;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        const char *end = type == CT_LIST ? strchr(p, ',') : NULL;
        if (!end)
            end = p + strlen(p);
        const char *last = end;
        while (last > p && isspace((unsigned char)last[-1]))
            last--;
        if (k && type == CT_LIST)
            out[k++] = ',';
        for (const char *q = p; q < last; q++)
            out[k++] = type == CT_BOOLEAN ? (char)tolower((unsigned char)*q) : *q;
        p = *end ? end + 1 : end;
    }
    out[k] = '\0';
    return out;
}

static void broker_entry(describe_t *d, const char *name)
{
    const char *names[3];
    char base[256];
    int n_names = config_broker_synonyms(name, names, base, sizeof(base));
    const config_def_t *def = config_def_broker(name);
    int type = config_broker_type(name);
    bool sensitive = config_broker_sensitive(name);
    entry_t *e = add_entry(d, name);
    const char *v = d->per_broker ? bdyn_get(d->b, name, NULL)
                                  : bdyn_layer_get(d->b, SOURCE_DYNAMIC_DEFAULT_BROKER, name);
    if (!v && d->per_broker && def)
        v = def->default_value;
    e->value = sensitive ? KSTR_NULL : str(d, normalized(d, type, v));
    e->is_sensitive = sensitive;
    e->read_only = !(def && (def->flags & CD_DYNAMIC));
    e->config_type = (int8_t)type;
    synonym_t all[12];
    int n = broker_synonyms(d, name, names, n_names, sensitive, all);
    if (!d->per_broker) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (all[i].source == SOURCE_DYNAMIC_DEFAULT_BROKER)
                all[k++] = all[i];
        n = k;
    }
    set_synonyms(d, e, all, n);
    if (d->docs && def)
        e->documentation = str(d, def->doc);
}

/* Keys set in a layer that Kafka's table does not list (custom keys). */
static void broker_extra_keys(describe_t *d, const kv_list_t *layer, const char *const *keys,
                              int n)
{
    for (int i = 0; i < n; i++) {
        const char *k = layer ? layer->keys[i] : keys[i];
        if (config_def_broker(k) || !wanted(d->rq, k))
            continue;
        bool seen = false;
        for (int j = 0; j < d->n && !seen; j++)
            seen = d->entries[j].name.len == (int32_t)strlen(k) &&
                   !memcmp(d->entries[j].name.ptr, k, strlen(k));
        if (!seen)
            broker_entry(d, k);
    }
}

static void describe_broker(describe_t *d)
{
    if (d->per_broker) {
        for (int i = 0; i < kafka_broker_config_def_count; i++)
            if (wanted(d->rq, kafka_broker_config_defs[i].name))
                broker_entry(d, kafka_broker_config_defs[i].name);
        const broker_config_t *cfg = d->b->cfg;
        broker_extra_keys(d, NULL, (const char *const *)cfg->keys, cfg->n_entries);
        const kv_list_t *mine = bdyn_layer(d->b, SOURCE_DYNAMIC_BROKER);
        broker_extra_keys(d, mine, NULL, mine->n);
    }
    const kv_list_t *dflt = bdyn_layer(d->b, SOURCE_DYNAMIC_DEFAULT_BROKER);
    if (!d->per_broker) {
        for (int i = 0; i < dflt->n; i++)
            if (wanted(d->rq, dflt->keys[i]))
                broker_entry(d, dflt->keys[i]);
    } else {
        broker_extra_keys(d, dflt, NULL, dflt->n);
    }
}

static void describe_one(broker_t *b, request_t *req, const struct describe_configs_request *rq,
                         int i, struct describe_configs_response_describe_configs_result *o)
{
    const rq_resource_t *r = &rq->resources[i];
    o->resource_type = r->resource_type;
    o->resource_name = r->resource_name;
    o->error_message = KSTR_LIT("");    /* Kafka's default for a nullable string */
    describe_t d = { .b = b, .req = req, .rq = r, .synonyms = rq->include_synonyms,
                     .docs = rq->include_documentation };
    /* Kafka: DESCRIBE_CONFIGS on the topic, or on the cluster for brokers. */
    bool topic = r->resource_type == RESOURCE_TYPE_TOPIC;
    if (!(topic ? authorize(req, ACL_OP_DESCRIBE_CONFIGS, ACL_RES_TOPIC,
                            kstr_dup_or_empty(&req->arena, r->resource_name))
                : authorize(req, ACL_OP_DESCRIBE_CONFIGS, ACL_RES_CLUSTER, ACL_CLUSTER_NAME))) {
        o->error_code = topic ? KERR_TOPIC_AUTHORIZATION_FAILED : KERR_CLUSTER_AUTHORIZATION_FAILED;
        o->error_message = KSTR_NULL;
        return;
    }
    if (r->resource_type == RESOURCE_TYPE_TOPIC) {
        describe_topic(&d, o);
    } else if (r->resource_type == RESOURCE_TYPE_BROKER) {
        char id[16];
        snprintf(id, sizeof(id), "%d", b->cfg->broker_id);
        d.per_broker = r->resource_name.len > 0;
        if (d.per_broker && !kstr_eq_cstr(r->resource_name, id)) {
            char *name = kstr_dup(&req->arena, r->resource_name);
            char *end;
            (void)strtol(name, &end, 10);
            char msg[400];
            if (*end || end == name)
                snprintf(msg, sizeof(msg), "Broker id must be an integer, but it is: %.300s", name);
            else
                snprintf(msg, sizeof(msg), "Unexpected broker id, expected %d or empty string, "
                                           "but received %.300s", b->cfg->broker_id, name);
            o->error_code = KERR_INVALID_REQUEST;
            o->error_message = str(&d, msg);
            return;
        }
        describe_broker(&d);
    } else {
        o->error_code = KERR_INVALID_REQUEST;
        o->error_message = kstr_from_cstr("Unsupported resource type");
    }
    o->configs = d.entries;
    o->configs_count = d.n;
}

/* A broker resource is ~60 KiB of answer (~200 KiB with documentation)
 * for a few bytes of request: past this much memory, the remaining
 * resources are refused instead of expanded, so one request cannot make
 * the broker allocate gigabytes.  Generous for any real request (every
 * topic of a large cluster). */
#define DESCRIBE_MEMORY_BASE (32u << 20)
#define DESCRIBE_MEMORY_PER_REQUEST_BYTE 256u

/* Topics this broker has not read the config of yet (it heard of them
 * from its controller a moment ago): asked for, and counted. */
static int configs_unread(broker_t *b, request_t *req, const struct describe_configs_request *rq)
{
    int n = 0;
    for (int i = 0; i < rq->resources_count; i++) {
        if (rq->resources[i].resource_type != RESOURCE_TYPE_TOPIC)
            continue;
        char *name = kstr_dup(&req->arena, rq->resources[i].resource_name);
        mc_topic_t *t = mc_find_topic(name ? name : "");
        if (t && !t->cfg_loaded) {
            tcl_want(b, t);
            n++;
        }
    }
    return n;
}

enum handler_result api_describe_configs(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct describe_configs_request rq;
    kreader_t body = req->body;     /* kept whole: a parked request decodes again */
    if (describe_configs_request_decode(&body, v, &rq) < 0)
        return REQ_CLOSE;
    if (configs_unread(b, req, &rq) > 0) {
        tcl_park(req, api_describe_configs);
        return REQ_PARKED;
    }
    struct describe_configs_response resp;
    describe_configs_response_defaults(&resp);
    resp.results_count = rq.resources_count > 0 ? rq.resources_count : 0;
    resp.results = describe_configs_response_describe_configs_result_array(&req->arena,
                                                                           resp.results_count);
    size_t limit = DESCRIBE_MEMORY_BASE + req->frame_len * DESCRIBE_MEMORY_PER_REQUEST_BYTE;
    int refused = 0;
    for (int i = 0; i < resp.results_count; i++) {
        struct describe_configs_response_describe_configs_result *o = &resp.results[i];
        if (req->arena.total <= limit) {
            describe_one(b, req, &rq, i, o);
            continue;
        }
        o->resource_type = rq.resources[i].resource_type;
        o->resource_name = rq.resources[i].resource_name;
        o->error_code = KERR_INVALID_REQUEST;
        o->error_message = KSTR_LIT("Too many resources in one DescribeConfigs request");
        refused++;
    }
    if (refused)
        log_warn("configs", "DescribeConfigs from %s: %d of %d resources refused (answer over "
                            "%zu bytes)", conn_peer(req->conn), refused, resp.results_count, limit);
    describe_configs_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
