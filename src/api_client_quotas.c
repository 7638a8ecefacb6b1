/*
 * api_client_quotas.c - owns DescribeClientQuotas (48) and
 * AlterClientQuotas (49) as a ZooKeeper-mode Kafka broker answers them
 * (ZkAdminManager): quotas live in /config/users/<u>,
 * /config/users/<u>/clients/<c>, /config/clients/<c> and /config/ips/<ip>
 * (names sanitized, "<default>" for the default entity); a filter selects
 * entities exactly, as defaults or by type, strictly or not; an alteration
 * sets or removes keys with Kafka's type rules and writes the znode with
 * its /config/changes notification.
 *
 * Threads: the handlers park the request; the answers are built on the
 * ZooKeeper thread (api_answer_on_zk_thread).
 *
 * Enforcement is client_quotas.h's (producer_byte_rate so far).  The
 * cluster needs DESCRIBE_CONFIGS / ALTER_CONFIGS (api_answer_on_zk_thread).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config_changes.h"
#include "controller.h"
#include "kafka_errors.h"
#include "logging.h"
#include "proto_messages.h"
#include "scram.h"
#include "util.h"
#include "zk_layout.h"

#define DEFAULT_ENTITY "<default>"

enum { T_USER, T_CLIENT, T_IP, N_TYPES };
static const char *const TYPE_NAME[N_TYPES] = { "user", "client-id", "ip" };

/* Kafka's quota keys and their types. */
typedef struct quota_key {
    const char *name;
    char type;          /* 'L' long, 'I' int, 'D' double */
    unsigned types;     /* entity kinds that take it (1 << T_*) */
} quota_key_t;

static const quota_key_t KEYS[] = {
    { "producer_byte_rate", 'L', 1u << T_USER | 1u << T_CLIENT },
    { "consumer_byte_rate", 'L', 1u << T_USER | 1u << T_CLIENT },
    { "request_percentage", 'D', 1u << T_USER | 1u << T_CLIENT },
    { "controller_mutation_rate", 'D', 1u << T_USER | 1u << T_CLIENT },
    { "connection_creation_rate", 'I', 1u << T_IP },
};

static const quota_key_t *quota_key(const char *name, unsigned kind)
{
    for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++)
        if (!strcmp(KEYS[i].name, name) && (KEYS[i].types & (1u << kind)))
            return &KEYS[i];
    return NULL;
}

static int type_of(const char *name)
{
    for (int t = 0; t < N_TYPES; t++)
        if (!strcmp(name, TYPE_NAME[t]))
            return t;
    return -1;
}

/* An entity: for each type, absent, the default (name NULL) or a name. */
typedef struct entity {
    bool has[N_TYPES];
    const char *name[N_TYPES];
} entity_t;

static char *sanitized(const char *name)
{
    return name ? kafka_sanitize(name) : xstrdup(DEFAULT_ENTITY);
}

static const char *desanitized(arena_t *a, const char *zname)
{
    if (!strcmp(zname, DEFAULT_ENTITY))
        return NULL;
    char *d = kafka_desanitize(zname);
    const char *out = arena_strdup(a, d ? d : zname);
    free(d);
    return out;
}

/* ---- DescribeClientQuotas ---- */

typedef struct filter {
    bool has[N_TYPES];
    bool any[N_TYPES];          /* match type ANY */
    const char *match[N_TYPES]; /* EXACT name, or NULL for DEFAULT */
    bool strict;
} filter_t;

typedef struct found {
    entity_t e;
    kv_list_t cfg;
} found_t;

typedef struct found_list {
    found_t *v;
    int n, cap;
} found_list_t;

static void found_add(found_list_t *l, const entity_t *e, kv_list_t *cfg)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, sizeof(found_t) * (size_t)l->cap);
    }
    l->v[l->n].e = *e;
    l->v[l->n++].cfg = *cfg;
    *cfg = (kv_list_t){ 0 };
}

static void read_one(found_list_t *l, const char *type, const char *path, const entity_t *e)
{
    kv_list_t cfg = { 0 };
    int rc = config_read_entity(controller_session(), type, path, &cfg);
    if (rc == ZOK)
        found_add(l, e, &cfg);
    kv_free(&cfg);
}

typedef struct reader {
    arena_t *a;
    found_list_t *l;
    entity_t base;              /* what the listed names complete */
    int kind;                   /* which name the listing gives */
} reader_t;

static void add_found(const char *name, kv_list_t *config, void *arg)
{
    reader_t *r = arg;
    entity_t e = r->base;
    e.has[r->kind] = true;
    e.name[r->kind] = desanitized(r->a, name);
    found_add(r->l, &e, config);
}

/* Every /config/<type>/<name> as entities of kind t. */
static void read_every(arena_t *a, found_list_t *l, const char *type, int t)
{
    reader_t r = { .a = a, .l = l, .kind = t };
    config_each(controller_session(), type, add_found, &r);
}

/* A user's /config/users/<u>/clients/<c>. */
static void add_user_clients(const char *user, kv_list_t *config, void *arg)
{
    (void)config;
    reader_t *users = arg;
    char type[ZK_PATH_MAX];
    snprintf(type, sizeof(type), "users/%s/clients", user);
    reader_t r = { .a = users->a, .l = users->l, .base = { .has = { true, false, false } },
                   .kind = T_CLIENT };
    r.base.name[T_USER] = desanitized(users->a, user);
    config_each(controller_session(), type, add_found, &r);
}

/* Every /config/users/<u>/clients/<c>. */
static void read_every_user_client(arena_t *a, found_list_t *l)
{
    reader_t users = { .a = a, .l = l, .kind = T_USER };
    config_each(controller_session(), "users", add_user_clients, &users);
}

static bool exact(const filter_t *f, int t)
{
    return f->has[t] && !f->any[t];
}

static bool excluded(const filter_t *f, int t)
{
    return f->strict && !f->has[t];
}

static bool same_name(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool matches(const filter_t *f, int t, const entity_t *e)
{
    if (!f->has[t])
        return !e->has[t] || !f->strict;
    if (f->any[t])
        return e->has[t] && e->name[t];     /* Kafka's name.isDefined: not the default */
    return e->has[t] && same_name(e->name[t], f->match[t]);
}

/* Kafka's handleDescribeClientQuotas / handleDescribeIpQuotas reads. */
static void collect(arena_t *a, const filter_t *f, found_list_t *l)
{
    if (!f->has[T_IP]) {
        entity_t e = { 0 };
        if (exact(f, T_USER) && excluded(f, T_CLIENT)) {
            char *u = sanitized(f->match[T_USER]);
            e.has[T_USER] = true;
            e.name[T_USER] = f->match[T_USER];
            read_one(l, "users", u, &e);
            free(u);
        } else if (!excluded(f, T_USER) && !exact(f, T_CLIENT)) {
            read_every(a, l, "users", T_USER);
        }
        if (excluded(f, T_USER) && exact(f, T_CLIENT)) {
            char *c = sanitized(f->match[T_CLIENT]);
            e = (entity_t){ .has = { false, true, false } };
            e.name[T_CLIENT] = f->match[T_CLIENT];
            read_one(l, "clients", c, &e);
            free(c);
        } else if (!exact(f, T_USER) && !excluded(f, T_CLIENT)) {
            read_every(a, l, "clients", T_CLIENT);
        }
        if (exact(f, T_USER) && exact(f, T_CLIENT)) {
            char *u = sanitized(f->match[T_USER]), *c = sanitized(f->match[T_CLIENT]);
            char path[ZK_PATH_MAX];
            snprintf(path, sizeof(path), "%s/clients/%s", u, c);
            e = (entity_t){ .has = { true, true, false } };
            e.name[T_USER] = f->match[T_USER];
            e.name[T_CLIENT] = f->match[T_CLIENT];
            read_one(l, "users", path, &e);
            free(u);
            free(c);
        } else if (!excluded(f, T_USER) && !excluded(f, T_CLIENT)) {
            read_every_user_client(a, l);
        }
    }
    if (!f->has[T_USER] && !f->has[T_CLIENT]) {
        if (exact(f, T_IP)) {
            char *ip = sanitized(f->match[T_IP]);
            entity_t e = { .has = { false, false, true } };
            e.name[T_IP] = f->match[T_IP];
            read_one(l, "ips", ip, &e);
            free(ip);
        } else if (f->any[T_IP] || (!f->has[T_IP] && !f->strict)) {
            read_every(a, l, "ips", T_IP);
        }
    }
}

/* Parses the components; 0, or an error with its message in *msg. */
static int16_t parse_filter(arena_t *a, const struct describe_client_quotas_request *rq,
                            filter_t *f, const char **msg)
{
    memset(f, 0, sizeof(*f));
    f->strict = rq->strict;
    for (int i = 0; i < MAX(rq->components_count, 0); i++) {
        const struct describe_client_quotas_request_component_data *c = &rq->components[i];
        const char *type = kstr_dup_or_empty(a, c->entity_type);
        int t = type_of(type);
        if (!type[0]) {
            *msg = "Unexpected empty filter component entity type";
            return KERR_INVALID_REQUEST;
        }
        if (t < 0) {
            *msg = arena_printf(a, "Custom entity type '%s' not supported", type);
            return KERR_UNSUPPORTED_VERSION;
        }
        if (f->has[t]) {
            *msg = arena_printf(a, "Duplicate %s filter component entity type",
                                t == T_USER ? "user" : t == T_CLIENT ? "client" : "ip");
            return KERR_INVALID_REQUEST;
        }
        if (c->match_type < 0 || c->match_type > 2) {
            *msg = arena_printf(a, "Unexpected match type: %d", c->match_type);
            return KERR_INVALID_REQUEST;
        }
        f->has[t] = true;
        f->any[t] = c->match_type == 2;
        f->match[t] = c->match_type == 0 ? kstr_dup_or_empty(a, c->match) : NULL;
    }
    if ((f->has[T_USER] || f->has[T_CLIENT]) && f->has[T_IP]) {
        *msg = "Invalid entity filter component combination, IP filter component should not be "
               "used with user or clientId filter component.";
        return KERR_INVALID_REQUEST;
    }
    return KERR_NONE;
}

static int quota_values(arena_t *a, const kv_list_t *cfg, int kind,
                        struct describe_client_quotas_response_value_data **out)
{
    *out = describe_client_quotas_response_value_data_array(a, cfg->n + 1);
    int n = 0;
    for (int i = 0; i < cfg->n; i++) {
        if (!quota_key(cfg->keys[i], (unsigned)kind))
            continue;
        (*out)[n].key = kstr_from_cstr(arena_strdup(a, cfg->keys[i]));
        (*out)[n++].value = strtod(cfg->values[i], NULL);
    }
    return n;
}

static void encode_entity(arena_t *a, const entity_t *e,
                          struct describe_client_quotas_response_entry_data *out)
{
    out->entity = describe_client_quotas_response_entity_data_array(a, N_TYPES);
    out->entity_count = 0;
    for (int t = 0; t < N_TYPES; t++) {
        if (!e->has[t])
            continue;
        out->entity[out->entity_count].entity_type = kstr_from_cstr(TYPE_NAME[t]);
        out->entity[out->entity_count++].entity_name =
            e->name[t] ? kstr_from_cstr(e->name[t]) : KSTR_NULL;
    }
}

/* @locality the ZooKeeper thread
 * @locks none */
static void describe_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                            kwriter_t *out)
{
    struct describe_client_quotas_request rq;
    struct describe_client_quotas_response resp;
    describe_client_quotas_response_defaults(&resp);
    resp.entries_count = 0;
    filter_t f;
    const char *msg = NULL;
    found_list_t l = { 0 };
    if (describe_client_quotas_request_decode(body, v, &rq) < 0) {
        resp.error_code = KERR_INVALID_REQUEST;
    } else if (denied) {
        resp.error_code = denied;
        resp.entries_count = -1;
    } else if ((resp.error_code = parse_filter(a, &rq, &f, &msg)) != KERR_NONE) {
        resp.error_message = kstr_from_cstr(msg);
        resp.entries_count = -1;
    } else {
        collect(a, &f, &l);
        resp.entries = describe_client_quotas_response_entry_data_array(a, l.n);
        for (int i = 0; i < l.n; i++) {
            const entity_t *e = &l.v[i].e;
            int kind = e->has[T_IP] ? T_IP : e->has[T_USER] ? T_USER : T_CLIENT;
            struct describe_client_quotas_response_entry_data *d = &resp.entries[resp.entries_count];
            /* IP entities are not filtered further (Kafka's handleDescribeIpQuotas). */
            if (!e->has[T_IP] && (!matches(&f, T_USER, e) || !matches(&f, T_CLIENT, e)))
                continue;
            d->values_count = quota_values(a, &l.v[i].cfg, kind, &d->values);
            if (d->values_count == 0)
                continue;
            encode_entity(a, e, d);
            resp.entries_count++;
        }
    }
    for (int i = 0; i < l.n; i++)
        kv_free(&l.v[i].cfg);
    free(l.v);
    describe_client_quotas_response_encode(out, v, &resp);
}

enum handler_result api_describe_client_quotas(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, describe_handle, ACL_OP_DESCRIBE_CONFIGS);
}

/* ---- AlterClientQuotas ---- */

/* Java's Double.toString for the values quotas take. */
static void java_double(double d, char *out, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (!strpbrk(out, ".eEn"))
        strncat(out, ".0", cap - strlen(out) - 1);
}

/* One op on cfg for an entity of kind; NULL or Kafka's message. */
static const char *apply_op(arena_t *a, const struct alter_client_quotas_request_op_data *op,
                            int kind, kv_list_t *cfg)
{
    const char *key = kstr_dup_or_empty(a, op->key);
    if (op->remove) {
        kv_remove(cfg, key);
        return NULL;
    }
    const quota_key_t *k = quota_key(key, (unsigned)kind);
    if (!k)
        return arena_printf(a, "Invalid configuration key %s", key);
    char text[64];
    if (k->type == 'D') {
        java_double(op->value, text, sizeof(text));
    } else {
        const double epsilon = 1e-6;
        double whole = k->type == 'L' ? (double)(int64_t)(op->value + epsilon)
                                      : (double)(int32_t)(op->value + epsilon);
        if (fabs(whole - op->value) > epsilon)
            return arena_printf(a, "Configuration %s must be a %s value", key,
                                k->type == 'L' ? "LONG" : "INT");
        snprintf(text, sizeof(text), "%lld", (long long)whole);
    }
    kv_set(cfg, key, text);
    return NULL;
}

/* The entity of an entry; NULL or Kafka's message. */
static const char *parse_entity(arena_t *a, const struct alter_client_quotas_request_entry_data *d,
                                entity_t *e)
{
    memset(e, 0, sizeof(*e));
    if (d->entity_count <= 0)
        return "Invalid empty client quota entity";
    for (int i = 0; i < d->entity_count; i++) {
        const char *type = kstr_dup_or_empty(a, d->entity[i].entity_type);
        int t = type_of(type);
        if (t < 0)
            return arena_printf(a, "Unhandled client quota entity type: %s", type);
        e->has[t] = true;
        e->name[t] = d->entity[i].entity_name.len < 0 ? NULL
                                                      : kstr_dup_or_empty(a, d->entity[i].entity_name);
        if (e->name[t] && !e->name[t][0])
            return arena_printf(a, "Empty %s not supported", type);
    }
    if (e->has[T_IP] && (e->has[T_USER] || e->has[T_CLIENT]))
        return "Invalid quota entity combination, IP entity should not be used with user/client "
               "ID entity.";
    if (e->has[T_IP] && e->name[T_IP]) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, e->name[T_IP], buf) != 1 &&
            inet_pton(AF_INET6, e->name[T_IP], buf) != 1)
            return arena_printf(a, "%s is not a valid IP or resolvable host.", e->name[T_IP]);
    }
    return NULL;
}

/* Where the entity's quotas live: type and path below /config/<type>. */
static void entity_path(const entity_t *e, const char **type, char *path, size_t cap)
{
    char *u = e->has[T_USER] ? sanitized(e->name[T_USER]) : NULL;
    char *c = e->has[T_CLIENT] ? sanitized(e->name[T_CLIENT]) : NULL;
    char *ip = e->has[T_IP] ? sanitized(e->name[T_IP]) : NULL;
    if (u && c) {
        *type = "users";
        snprintf(path, cap, "%s/clients/%s", u, c);
    } else {
        *type = u ? "users" : c ? "clients" : "ips";
        snprintf(path, cap, "%s", u ? u : c ? c : ip);
    }
    free(u);
    free(c);
    free(ip);
}

static const char *alter_entry(arena_t *a, const struct alter_client_quotas_request_entry_data *d,
                               bool validate_only, entity_t *e, int16_t *err)
{
    *err = KERR_INVALID_REQUEST;
    const char *msg = parse_entity(a, d, e);
    if (msg)
        return msg;
    const char *type;
    char path[ZK_PATH_MAX];
    entity_path(e, &type, path, sizeof(path));
    int kind = e->has[T_IP] ? T_IP : e->has[T_USER] ? T_USER : T_CLIENT;
    kv_list_t cfg = { 0 };
    int rc = config_read_entity(controller_session(), type, path, &cfg);
    if (rc != ZOK && rc != ZNONODE) {
        *err = KERR_UNKNOWN_SERVER_ERROR;
        msg = zerror(rc);
    }
    for (int i = 0; !msg && i < MAX(d->ops_count, 0); i++)
        msg = apply_op(a, &d->ops[i], kind, &cfg);
    if (!msg && !validate_only) {
        rc = config_write_entity(controller_session(), type, path, &cfg);
        if (rc != ZOK) {
            *err = KERR_UNKNOWN_SERVER_ERROR;
            msg = zerror(rc);
            log_warn("config", "Cannot write quotas of %s/%s: %s", type, path, msg);
        }
    }
    kv_free(&cfg);
    if (!msg)
        *err = KERR_NONE;
    return msg;
}

/* @locality the ZooKeeper thread
 * @locks none */
static void alter_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied, kwriter_t *out)
{
    struct alter_client_quotas_request rq;
    struct alter_client_quotas_response resp;
    alter_client_quotas_response_defaults(&resp);
    resp.entries_count = 0;
    if (alter_client_quotas_request_decode(body, v, &rq) == 0 && rq.entries_count > 0) {
        resp.entries_count = rq.entries_count;
        resp.entries = alter_client_quotas_response_entry_data_array(a, rq.entries_count);
        for (int i = 0; i < rq.entries_count; i++) {
            const struct alter_client_quotas_request_entry_data *d = &rq.entries[i];
            struct alter_client_quotas_response_entry_data *r = &resp.entries[i];
            entity_t e;
            const char *msg = NULL;
            r->error_code = denied;
            if (!denied)
                msg = alter_entry(a, d, rq.validate_only, &e, &r->error_code);
            r->error_message = msg ? kstr_from_cstr(msg) : KSTR_NULL;
            r->entity_count = MAX(d->entity_count, 0);
            r->entity = alter_client_quotas_response_entity_data_array(a, r->entity_count);
            for (int k = 0; k < r->entity_count; k++) {
                r->entity[k].entity_type = d->entity[k].entity_type;
                r->entity[k].entity_name = d->entity[k].entity_name;
            }
        }
    }
    alter_client_quotas_response_encode(out, v, &resp);
}

enum handler_result api_alter_client_quotas(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, alter_handle, ACL_OP_ALTER_CONFIGS);
}
