/*
 * acl.c - owns Kafka's ACL model (acl.h): code and name tables, the
 * ZooKeeper paths, znode JSON and change notifications, filter matching,
 * an ACL store (a hash of resource pattern to entries; each store is used
 * by one thread) and AclAuthorizer's decision.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uthash.h>

#include "acl.h"
#include "util.h"

/* ---- names ---- */

typedef struct code_name {
    int8_t code;
    const char *zk;             /* SecurityUtils' camel-case name */
    const char *enum_name;      /* the Java enum's name */
} code_name_t;

static const code_name_t RESOURCE_TYPES[] = {
    { ACL_RES_TOPIC, "Topic", "TOPIC" }, { ACL_RES_GROUP, "Group", "GROUP" },
    { ACL_RES_CLUSTER, "Cluster", "CLUSTER" },
    { ACL_RES_TRANSACTIONAL_ID, "TransactionalId", "TRANSACTIONAL_ID" },
    { ACL_RES_DELEGATION_TOKEN, "DelegationToken", "DELEGATION_TOKEN" },
    { ACL_RES_USER, "User", "USER" },
};
static const code_name_t OPERATIONS[] = {
    { ACL_OP_ALL, "All", "ALL" }, { ACL_OP_READ, "Read", "READ" },
    { ACL_OP_WRITE, "Write", "WRITE" }, { ACL_OP_CREATE, "Create", "CREATE" },
    { ACL_OP_DELETE, "Delete", "DELETE" }, { ACL_OP_ALTER, "Alter", "ALTER" },
    { ACL_OP_DESCRIBE, "Describe", "DESCRIBE" },
    { ACL_OP_CLUSTER_ACTION, "ClusterAction", "CLUSTER_ACTION" },
    { ACL_OP_DESCRIBE_CONFIGS, "DescribeConfigs", "DESCRIBE_CONFIGS" },
    { ACL_OP_ALTER_CONFIGS, "AlterConfigs", "ALTER_CONFIGS" },
    { ACL_OP_IDEMPOTENT_WRITE, "IdempotentWrite", "IDEMPOTENT_WRITE" },
    { ACL_OP_CREATE_TOKENS, "CreateTokens", "CREATE_TOKENS" },
    { ACL_OP_DESCRIBE_TOKENS, "DescribeTokens", "DESCRIBE_TOKENS" },
};
static const code_name_t PERMISSIONS[] = {
    { ACL_PERM_DENY, "Deny", "DENY" }, { ACL_PERM_ALLOW, "Allow", "ALLOW" },
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *zk_name(const code_name_t *t, size_t n, int8_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].zk;
    return NULL;
}

/* Kafka's fromString: the enum name, any case ("Read" and "READ"; the
 * camel-case names of multi-word values too). */
static int8_t from_name(const code_name_t *t, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (!strcasecmp(t[i].zk, name) || !strcasecmp(t[i].enum_name, name))
            return t[i].code;
    return 0;
}

const char *acl_resource_type_zk_name(int8_t type)
{
    return zk_name(RESOURCE_TYPES, COUNT(RESOURCE_TYPES), type);
}

int8_t acl_resource_type_from_name(const char *name)
{
    return from_name(RESOURCE_TYPES, COUNT(RESOURCE_TYPES), name);
}

static const code_name_t PATTERNS[] = {
    { ACL_PAT_ANY, "Any", "ANY" }, { ACL_PAT_MATCH, "Match", "MATCH" },
    { ACL_PAT_LITERAL, "Literal", "LITERAL" }, { ACL_PAT_PREFIXED, "Prefixed", "PREFIXED" },
};

static const char *enum_name(const code_name_t *t, size_t n, int8_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].enum_name;
    return NULL;
}

const char *acl_resource_type_enum_name(int8_t type)
{
    return enum_name(RESOURCE_TYPES, COUNT(RESOURCE_TYPES), type);
}

const char *acl_operation_enum_name(int8_t op)
{
    return enum_name(OPERATIONS, COUNT(OPERATIONS), op);
}

const char *acl_permission_enum_name(int8_t perm)
{
    return enum_name(PERMISSIONS, COUNT(PERMISSIONS), perm);
}

const char *acl_pattern_enum_name(int8_t pattern)
{
    return enum_name(PATTERNS, COUNT(PATTERNS), pattern);
}

int8_t acl_pattern_from_name(const char *name)
{
    return from_name(PATTERNS, COUNT(PATTERNS), name);
}

const char *acl_operation_zk_name(int8_t op)
{
    return zk_name(OPERATIONS, COUNT(OPERATIONS), op);
}

int8_t acl_operation_from_name(const char *name)
{
    return from_name(OPERATIONS, COUNT(OPERATIONS), name);
}

const char *acl_permission_zk_name(int8_t perm)
{
    return zk_name(PERMISSIONS, COUNT(PERMISSIONS), perm);
}

int8_t acl_permission_from_name(const char *name)
{
    return from_name(PERMISSIONS, COUNT(PERMISSIONS), name);
}

/* ---- ZooKeeper ---- */

int acl_znode_path(const acl_resource_t *r, char *out, size_t cap)
{
    const char *type = acl_resource_type_zk_name(r->type);
    int n;
    if (!type || !r->name[0] || strchr(r->name, '/'))
        return -1;
    if (r->pattern == ACL_PAT_LITERAL)
        n = snprintf(out, cap, "/kafka-acl/%s/%s", type, r->name);
    else if (r->pattern == ACL_PAT_PREFIXED)
        n = snprintf(out, cap, "/kafka-acl-extended/prefixed/%s/%s", type, r->name);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

char *acl_change_data(const acl_resource_t *r, const char **change_root)
{
    char *s = NULL;
    if (r->pattern == ACL_PAT_LITERAL) {
        *change_root = "/kafka-acl-changes";
        if (asprintf(&s, "%s:%s", acl_resource_type_enum_name(r->type), r->name) < 0)
            return NULL;
        return s;
    }
    *change_root = "/kafka-acl-extended-changes";
    json_t *j = json_pack("{s:i,s:s,s:s,s:s}", "version", 1, "resourceType",
                          acl_resource_type_enum_name(r->type), "name", r->name, "patternType",
                          "PREFIXED");
    s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

int acl_parse_change(const char *data, bool extended, acl_resource_t *r)
{
    memset(r, 0, sizeof(*r));
    if (!extended) {
        const char *colon = strchr(data, ':');
        char type[64];
        if (!colon || (size_t)(colon - data) >= sizeof(type))
            return -1;
        snprintf(type, sizeof(type), "%.*s", (int)(colon - data), data);
        r->type = acl_resource_type_from_name(type);
        r->pattern = ACL_PAT_LITERAL;
        r->name = xstrdup(colon + 1);
        return r->type ? 0 : -1;
    }
    json_t *j = json_loads(data, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "resourceType"));
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *pattern = json_string_value(json_object_get(j, "patternType"));
    int rc = -1;
    if (type && name && pattern && !strcasecmp(pattern, "PREFIXED")) {
        r->type = acl_resource_type_from_name(type);
        r->pattern = ACL_PAT_PREFIXED;
        r->name = xstrdup(name);
        rc = r->type ? 0 : -1;
    }
    json_decref(j);
    return rc;
}

char *acl_entries_json(const acl_entry_t *e, int n)
{
    json_t *acls = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(acls, json_pack("{s:s,s:s,s:s,s:s}", "principal", e[i].principal,
                                              "permissionType", acl_permission_zk_name(e[i].permission),
                                              "operation", acl_operation_zk_name(e[i].operation),
                                              "host", e[i].host));
    json_t *doc = json_pack("{s:i,s:o}", "version", 1, "acls", acls);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

int acl_entries_parse(const char *json, acl_entry_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    json_t *j = json_loads(json, 0, NULL);
    json_t *acls = json_object_get(j, "acls");
    if (!json_is_array(acls)) {
        json_decref(j);
        return -1;
    }
    acl_entry_t *v = xcalloc(json_array_size(acls) + 1, sizeof(*v));
    int k = 0, rc = 0;
    size_t i;
    json_t *a;
    json_array_foreach(acls, i, a) {
        const char *principal = json_string_value(json_object_get(a, "principal"));
        const char *host = json_string_value(json_object_get(a, "host"));
        int8_t op = acl_operation_from_name(json_string_value(json_object_get(a, "operation")));
        int8_t perm = acl_permission_from_name(json_string_value(json_object_get(a, "permissionType")));
        if (!principal || !host || !op || !perm) {
            rc = -1;
            continue;
        }
        v[k++] = (acl_entry_t){ xstrdup(principal), xstrdup(host), op, perm };
    }
    json_decref(j);
    *out = v;
    *n = k;
    return rc;
}

void acl_entries_free(acl_entry_t *e, int n)
{
    for (int i = 0; e && i < n; i++) {
        free(e[i].principal);
        free(e[i].host);
    }
    free(e);
}

acl_entry_t *acl_entries_copy(const acl_entry_t *e, int n)
{
    acl_entry_t *c = xcalloc((size_t)n + 1, sizeof(*c));
    for (int i = 0; i < n; i++)
        c[i] = (acl_entry_t){ xstrdup(e[i].principal), xstrdup(e[i].host), e[i].operation,
                              e[i].permission };
    return c;
}

bool acl_entry_equal(const acl_entry_t *a, const acl_entry_t *b)
{
    return a->operation == b->operation && a->permission == b->permission &&
           !strcmp(a->principal, b->principal) && !strcmp(a->host, b->host);
}

/* ---- filters ---- */

bool acl_filter_matches_resource(const acl_filter_t *f, const acl_resource_t *r)
{
    if (f->type != ACL_RES_ANY && f->type != r->type)
        return false;
    if (f->pattern != ACL_PAT_ANY && f->pattern != ACL_PAT_MATCH && f->pattern != r->pattern)
        return false;
    if (!f->name)
        return true;
    if (f->pattern == ACL_PAT_ANY || f->pattern == r->pattern)
        return !strcmp(f->name, r->name);
    if (r->pattern == ACL_PAT_LITERAL)
        return !strcmp(f->name, r->name) || !strcmp(r->name, ACL_WILDCARD);
    return !strncmp(f->name, r->name, strlen(r->name));     /* PREFIXED */
}

bool acl_filter_matches_entry(const acl_filter_t *f, const acl_entry_t *e)
{
    return (!f->principal || !strcmp(f->principal, e->principal)) &&
           (!f->host || !strcmp(f->host, e->host)) &&
           (f->operation == ACL_OP_ANY || f->operation == e->operation) &&
           (f->permission == ACL_PERM_ANY || f->permission == e->permission);
}

const char *acl_filter_unknown_field(const acl_filter_t *f)
{
    if (f->type == ACL_RES_UNKNOWN)
        return "Resource type is UNKNOWN.";
    if (f->pattern == ACL_PAT_UNKNOWN)
        return "Resource pattern type is UNKNOWN.";
    if (f->operation == ACL_OP_UNKNOWN)
        return "Operation is UNKNOWN.";
    if (f->permission == ACL_PERM_UNKNOWN)
        return "Permission type is UNKNOWN.";
    return NULL;
}

/* ---- a store ---- */

typedef struct acl_node {
    char *key;                  /* "<type>:<pattern>:<name>" */
    acl_resource_t r;
    acl_entry_t *e;
    int n;
    UT_hash_handle hh;
} acl_node_t;

struct acl_store {
    acl_node_t *nodes;
};

static char *node_key(int8_t type, int8_t pattern, const char *name, size_t name_len)
{
    char *k = NULL;
    if (asprintf(&k, "%d:%d:%.*s", type, pattern, (int)name_len, name) < 0)
        return NULL;
    return k;
}

/* Looked up for every prefix of a name on every check: the key is built
 * on the stack when it fits. */
static acl_node_t *find(const acl_store_t *s, int8_t type, int8_t pattern, const char *name,
                        size_t name_len)
{
    char buf[512];
    char *k = buf;
    int n = snprintf(buf, sizeof(buf), "%d:%d:%.*s", type, pattern, (int)name_len, name);
    if (n < 0)
        return NULL;
    if ((size_t)n >= sizeof(buf) && !(k = node_key(type, pattern, name, name_len)))
        return NULL;
    acl_node_t *node = NULL;
    HASH_FIND_STR(s->nodes, k, node);
    if (k != buf)
        free(k);
    return node;
}

acl_store_t *acl_store_new(void)
{
    return xcalloc(1, sizeof(acl_store_t));
}

static void node_free(acl_node_t *n)
{
    acl_entries_free(n->e, n->n);
    free(n->r.name);
    free(n->key);
    free(n);
}

void acl_store_clear(acl_store_t *s)
{
    acl_node_t *n, *tmp;
    HASH_ITER(hh, s->nodes, n, tmp) {
        HASH_DEL(s->nodes, n);
        node_free(n);
    }
}

void acl_store_free(acl_store_t *s)
{
    if (!s)
        return;
    acl_store_clear(s);
    free(s);
}

void acl_store_set(acl_store_t *s, const acl_resource_t *r, const acl_entry_t *e, int n)
{
    acl_node_t *old = find(s, r->type, r->pattern, r->name, strlen(r->name));
    if (old) {
        HASH_DEL(s->nodes, old);
        node_free(old);
    }
    if (n <= 0)
        return;
    acl_node_t *node = xcalloc(1, sizeof(*node));
    node->key = node_key(r->type, r->pattern, r->name, strlen(r->name));
    if (!node->key) {
        free(node);
        return;
    }
    node->r = (acl_resource_t){ r->type, r->pattern, xstrdup(r->name) };
    node->e = acl_entries_copy(e, n);
    node->n = n;
    HASH_ADD_KEYPTR(hh, s->nodes, node->key, strlen(node->key), node);
}

const acl_entry_t *acl_store_get(const acl_store_t *s, const acl_resource_t *r, int *n)
{
    acl_node_t *node = find(s, r->type, r->pattern, r->name, strlen(r->name));
    *n = node ? node->n : 0;
    return node ? node->e : NULL;
}

static int by_resource(const void *a, const void *b)
{
    const acl_node_t *x = *(acl_node_t *const *)a, *y = *(acl_node_t *const *)b;
    if (x->r.type != y->r.type)
        return x->r.type - y->r.type;
    if (x->r.pattern != y->r.pattern)
        return x->r.pattern - y->r.pattern;
    return strcmp(x->r.name, y->r.name);
}

void acl_store_each(const acl_store_t *s,
                    void (*fn)(const acl_resource_t *r, const acl_entry_t *e, int n, void *arg),
                    void *arg)
{
    unsigned count = HASH_COUNT(s->nodes);
    acl_node_t **v = xcalloc(count + 1, sizeof(*v));
    unsigned k = 0;
    for (acl_node_t *n = s->nodes; n; n = n->hh.next)
        v[k++] = n;
    qsort(v, k, sizeof(*v), by_resource);
    for (unsigned i = 0; i < k; i++)
        fn(&v[i]->r, v[i]->e, v[i]->n, arg);
    free(v);
}

int acl_store_count(const acl_store_t *s)
{
    return (int)HASH_COUNT(s->nodes);
}

/* ---- the decision (Kafka's AclAuthorizer.authorizeAction) ---- */

typedef struct matching {
    const acl_node_t **nodes;   /* room for every pattern that can match */
    int n;
} matching_t;

static void add_match(matching_t *m, const acl_node_t *node)
{
    if (node)
        m->nodes[m->n++] = node;
}

static bool entry_applies(const acl_entry_t *e, int8_t op, const char *principal,
                          const char *host, int8_t perm)
{
    return e->permission == perm &&
           (!strcmp(e->principal, principal) || !strcmp(e->principal, ACL_WILDCARD_PRINCIPAL)) &&
           (e->operation == op || e->operation == ACL_OP_ALL) &&
           (!strcmp(e->host, host) || !strcmp(e->host, ACL_WILDCARD));
}

static bool entry_exists(const matching_t *m, int8_t op, const char *principal, const char *host,
                         int8_t perm)
{
    for (int i = 0; i < m->n; i++)
        for (int k = 0; k < m->nodes[i]->n; k++)
            if (entry_applies(&m->nodes[i]->e[k], op, principal, host, perm))
                return true;
    return false;
}

/* ---- by resource type (KIP-679: may the principal do op on any resource
 * of a type?), as AclAuthorizer.authorizeByResourceType ---- */

typedef struct names {
    const char **v;
    int n, cap;
} names_t;

typedef struct by_type {
    int8_t type, op;
    const char *principal, *host;
    names_t deny_literal, deny_prefix, allow_literal, allow_prefix;
} by_type_t;

static void names_add(names_t *l, const char *name)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, sizeof(*l->v) * (size_t)l->cap);
    }
    l->v[l->n++] = name;
}

static bool names_has(const names_t *l, const char *name, size_t len)
{
    for (int i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == len && !strncmp(l->v[i], name, len))
            return true;
    return false;
}

static void collect_by_type(const acl_resource_t *r, const acl_entry_t *e, int n, void *arg)
{
    by_type_t *b = arg;
    if (r->type != b->type)
        return;
    bool literal = r->pattern == ACL_PAT_LITERAL;
    bool deny = false, allow = false;
    for (int i = 0; i < n; i++) {
        deny |= entry_applies(&e[i], b->op, b->principal, b->host, ACL_PERM_DENY);
        allow |= entry_applies(&e[i], b->op, b->principal, b->host, ACL_PERM_ALLOW);
    }
    if (deny)
        names_add(literal ? &b->deny_literal : &b->deny_prefix, r->name);
    if (allow)
        names_add(literal ? &b->allow_literal : &b->allow_prefix, r->name);
}

/* A prefixed DENY covering name (any prefix of it). */
static bool dominant_prefix_deny(const by_type_t *b, const char *name)
{
    for (size_t k = 1; k <= strlen(name); k++)
        if (names_has(&b->deny_prefix, name, k))
            return true;
    return false;
}

static bool any_allowed(const by_type_t *b)
{
    for (int i = 0; i < b->allow_prefix.n; i++)
        if (!dominant_prefix_deny(b, b->allow_prefix.v[i]))
            return true;
    for (int i = 0; i < b->allow_literal.n; i++) {
        const char *name = b->allow_literal.v[i];
        if (!strcmp(name, ACL_WILDCARD) ||
            (!names_has(&b->deny_literal, name, strlen(name)) && !dominant_prefix_deny(b, name)))
            return true;
    }
    return false;
}

bool acl_authorize_by_resource_type(const acl_store_t *s, const acl_authorizer_config_t *cfg,
                                    const char *principal, const char *host, int8_t op,
                                    int8_t type)
{
    for (int i = 0; i < cfg->n_super_users; i++)
        if (!strcmp(cfg->super_users[i], principal))
            return true;
    by_type_t b = { .type = type, .op = op, .principal = principal, .host = host };
    acl_store_each(s, collect_by_type, &b);
    bool allowed;
    if (names_has(&b.deny_literal, ACL_WILDCARD, 1))
        allowed = false;
    else if (cfg->allow_if_no_acl)      /* Kafka: the setting alone decides here */
        allowed = true;
    else if (b.deny_literal.n == 0 && b.deny_prefix.n == 0)
        allowed = b.allow_literal.n > 0 || b.allow_prefix.n > 0;
    else
        allowed = any_allowed(&b);
    free(b.deny_literal.v);
    free(b.deny_prefix.v);
    free(b.allow_literal.v);
    free(b.allow_prefix.v);
    return allowed;
}

static bool decide(const matching_t *m, int8_t op, const char *principal, const char *host,
                   bool allow_if_no_acl);

bool acl_authorize(const acl_store_t *s, const acl_authorizer_config_t *cfg,
                   const char *principal, const char *host, int8_t op, int8_t type,
                   const char *name)
{
    for (int i = 0; i < cfg->n_super_users; i++)
        if (!strcmp(cfg->super_users[i], principal))
            return true;
    size_t len = strlen(name);
    const acl_node_t *room[64];
    matching_t m = { len + 2 <= COUNT(room) ? room : xcalloc(len + 2, sizeof(*room)), 0 };
    add_match(&m, find(s, type, ACL_PAT_LITERAL, name, len));
    if (strcmp(name, ACL_WILDCARD))
        add_match(&m, find(s, type, ACL_PAT_LITERAL, ACL_WILDCARD, 1));
    for (size_t k = 1; k <= len; k++)
        add_match(&m, find(s, type, ACL_PAT_PREFIXED, name, k));
    bool allowed = decide(&m, op, principal, host, cfg->allow_if_no_acl);
    if (m.nodes != room)
        free(m.nodes);
    return allowed;
}

static bool decide(const matching_t *m, int8_t op, const char *principal, const char *host,
                   bool allow_if_no_acl)
{
    if (m->n == 0)
        return allow_if_no_acl;
    if (entry_exists(m, op, principal, host, ACL_PERM_DENY))
        return false;
    /* DESCRIBE is implied by READ, WRITE, DELETE and ALTER; DESCRIBE_CONFIGS
     * by ALTER_CONFIGS. */
    static const int8_t describe[] = { ACL_OP_DESCRIBE, ACL_OP_READ, ACL_OP_WRITE, ACL_OP_DELETE,
                                       ACL_OP_ALTER };
    static const int8_t describe_configs[] = { ACL_OP_DESCRIBE_CONFIGS, ACL_OP_ALTER_CONFIGS };
    const int8_t *ops = &op;
    size_t n_ops = 1;
    if (op == ACL_OP_DESCRIBE) {
        ops = describe;
        n_ops = COUNT(describe);
    } else if (op == ACL_OP_DESCRIBE_CONFIGS) {
        ops = describe_configs;
        n_ops = COUNT(describe_configs);
    }
    for (size_t i = 0; i < n_ops; i++)
        if (entry_exists(m, ops[i], principal, host, ACL_PERM_ALLOW))
            return true;
    return false;
}
