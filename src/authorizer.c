/*
 * authorizer.c - owns the broker's authorizer (authorizer.h): whether one
 * is configured, super.users and allow.everyone.if.no.acl.found, the event
 * loop's ACL store and the checks, logged as Kafka's kafka.authorizer.logger
 * logs a denial; and the ACL part of metadata updates.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "logging.h"
#include "net.h"
#include "util.h"

/* Configured on the main thread before the loop; the store is the loop's. */
static struct {
    bool enabled;
    acl_authorizer_config_t cfg;
    acl_store_t *store;
} az;

/* The last decision: handlers ask once per partition, and a request's
 * partitions come topic by topic, so consecutive questions repeat.  It
 * depends on the principal, host, operation, resource and the ACLs only
 * (the generation changes with them).  Event-loop thread only. */
static struct {
    uint64_t generation;        /* of the ACLs it was made with; 0: none */
    int8_t op, type;
    char principal[300], host[80], name[256];
    bool allowed;
} last;
static uint64_t acl_generation = 1;

static const char *const CLASS_NAMES[] = {
    "kafka.security.authorizer.AclAuthorizer", "kafka.security.auth.SimpleAclAuthorizer", "acl",
};

static void add_super_users(const char *list)
{
    char *copy = xstrdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
        while (*t == ' ')
            t++;
        char *end = t + strlen(t);
        while (end > t && end[-1] == ' ')
            *--end = '\0';
        if (!*t)
            continue;
        az.cfg.super_users = xrealloc(az.cfg.super_users,
                                      sizeof(char *) * (size_t)(az.cfg.n_super_users + 1));
        az.cfg.super_users[az.cfg.n_super_users++] = xstrdup(t);
    }
    free(copy);
}

int authorizer_configure(const broker_config_t *cfg, char *err, size_t errlen)
{
    const char *cls = config_get(cfg, "authorizer.class.name");
    if (!cls || !cls[0])
        return 0;
    bool known = false;
    for (size_t i = 0; i < ARRAY_SIZE(CLASS_NAMES); i++)
        known |= !strcmp(cls, CLASS_NAMES[i]);
    if (!known) {
        snprintf(err, errlen, "authorizer.class.name=%s is not an authorizer samsa has (it has "
                 "kafka.security.authorizer.AclAuthorizer, with ACLs in ZooKeeper)", cls);
        return -1;
    }
    az.enabled = true;
    az.store = acl_store_new();
    const char *su = config_get(cfg, "super.users");
    if (su)
        add_super_users(su);
    const char *allow = config_get(cfg, "allow.everyone.if.no.acl.found");
    az.cfg.allow_if_no_acl = allow && !strcmp(allow, "true");
    log_info("acl", "Authorizer %s: %d super user(s), allow.everyone.if.no.acl.found=%s", cls,
             az.cfg.n_super_users, az.cfg.allow_if_no_acl ? "true" : "false");
    return 0;
}

void authorizer_shutdown(void)
{
    for (int i = 0; i < az.cfg.n_super_users; i++)
        free(az.cfg.super_users[i]);
    free(az.cfg.super_users);
    acl_store_free(az.store);
    memset(&az, 0, sizeof(az));
    last.generation = 0;
}

bool authorizer_enabled(void)
{
    return az.enabled;
}

void authorizer_apply(const metadata_update_t *u)
{
    if (!az.enabled)
        return;
    if (u->acls_full)
        acl_store_clear(az.store);
    for (int i = 0; i < u->n_acl_changes; i++)
        acl_store_set(az.store, &u->acl_changes[i].r, u->acl_changes[i].e, u->acl_changes[i].n);
    if (u->acls_full || u->n_acl_changes)
        acl_generation++;   /* decisions made before no longer hold */
}

/* The client's address without its port ("127.0.0.1:5000" -> "127.0.0.1"). */
static void peer_host(const request_t *req, char *out, size_t cap)
{
    snprintf(out, cap, "%s", conn_peer(req->conn));
    char *colon = strrchr(out, ':');
    if (colon)
        *colon = '\0';
}


static bool decide(const char *principal, const char *host, int8_t op, int8_t type,
                   const char *name)
{
    if (last.generation == acl_generation && last.op == op && last.type == type &&
        !strcmp(last.name, name) && !strcmp(last.principal, principal) && !strcmp(last.host, host))
        return last.allowed;
    bool ok = acl_authorize(az.store, &az.cfg, principal, host, op, type, name);
    if (strlen(name) < sizeof(last.name) && strlen(principal) < sizeof(last.principal)) {
        last.generation = acl_generation;
        last.op = op;
        last.type = type;
        snprintf(last.principal, sizeof(last.principal), "%s", principal);
        snprintf(last.host, sizeof(last.host), "%s", host);
        snprintf(last.name, sizeof(last.name), "%s", name);
        last.allowed = ok;
    }
    return ok;
}

static bool check(const request_t *req, int8_t op, int8_t type, const char *name, bool log)
{
    if (!az.enabled)
        return true;
    char host[80];
    peer_host(req, host, sizeof(host));
    const char *principal = conn_principal(req->conn);
    bool ok = decide(principal, host, op, type, name);
    if (!ok && log)
        log_info("authorizer", "Principal = %s is Denied operation = %s from host = %s on "
                 "resource = %s:LITERAL:%s for request = %s with resourceRefCount = 1",
                 principal, acl_operation_zk_name(op), host, acl_resource_type_zk_name(type),
                 name, api_name(req->hdr.request_api_key));
    return ok;
}

bool authorize(const request_t *req, int8_t op, int8_t type, const char *name)
{
    return check(req, op, type, name, true);
}

bool authorize_quiet(const request_t *req, int8_t op, int8_t type, const char *name)
{
    return check(req, op, type, name, false);
}

bool authorize_by_resource_type(const request_t *req, int8_t op, int8_t type)
{
    if (!az.enabled)
        return true;
    char host[80];
    peer_host(req, host, sizeof(host));
    const char *principal = conn_principal(req->conn);
    bool ok = acl_authorize_by_resource_type(az.store, &az.cfg, principal, host, op, type);
    if (!ok)
        log_info("authorizer", "Principal = %s is Denied operation = %s from host = %s on "
                 "resource = %s:UNKNOWN:NONE for request = %s with resourceRefCount = 1",
                 principal, acl_operation_zk_name(op), host, acl_resource_type_zk_name(type),
                 api_name(req->hdr.request_api_key));
    return ok;
}

int32_t authorized_operations(const request_t *req, int8_t type, const char *name,
                              int32_t supported)
{
    if (!az.enabled)
        return supported;
    int32_t ops = 0;
    for (int op = ACL_OP_READ; op <= ACL_OP_DESCRIBE_TOKENS; op++)
        if ((supported & (1 << op)) && check(req, (int8_t)op, type, name, false))
            ops |= 1 << op;
    return ops;
}

/* ---- metadata updates ---- */

void metadata_update_add_acls(metadata_update_t *u, const acl_resource_t *r, const acl_entry_t *e,
                              int n)
{
    u->acl_changes = xrealloc(u->acl_changes, sizeof(acl_change_t) * (size_t)(u->n_acl_changes + 1));
    acl_change_t *c = &u->acl_changes[u->n_acl_changes++];
    c->r = (acl_resource_t){ r->type, r->pattern, xstrdup(r->name) };
    c->e = acl_entries_copy(e, n);
    c->n = n;
}

static void add_one(const acl_resource_t *r, const acl_entry_t *e, int n, void *arg)
{
    metadata_update_add_acls(arg, r, e, n);
}

void metadata_update_add_all_acls(metadata_update_t *u, const acl_store_t *s)
{
    acl_store_each(s, add_one, u);
}

void acl_changes_free(acl_change_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].r.name);
        acl_entries_free(v[i].e, v[i].n);
    }
    free(v);
}
