/*
 * api_acls.c - owns DescribeAcls (29), CreateAcls (30) and DeleteAcls (31)
 * as Kafka answers them (AclApis with AclAuthorizer in ZooKeeper mode).
 * Without an authorizer every request, creation and filter gets
 * SECURITY_DISABLED with Kafka's message.  With one, the caller needs
 * DESCRIBE (or ALTER) on the cluster, and the answer is built on the
 * ZooKeeper thread from its copy of the ACLs (acl_zk.h), which creations
 * and deletions update in ZooKeeper with their change notifications; the
 * event loop's authorizer gets the change at once.
 *
 * Event-loop thread, except the *_handle functions (ZooKeeper thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_zk.h"
#include "api.h"
#include "authorizer.h"
#include "controller.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "proto_messages.h"
#include "util.h"

#define NO_AUTHORIZER_DESCRIBE "No Authorizer is configured on the broker"
#define NO_AUTHORIZER "No Authorizer is configured."

/* Kafka's authorizeClusterOperation message ("Request <request> is not
 * authorized."), naming the API and the client. */
static kstr_t cluster_denied(request_t *req)
{
    return kstr_from_cstr(arena_printf(&req->arena, "Request %s from %s is not authorized.",
                                       api_name(req->hdr.request_api_key), conn_peer(req->conn)));
}

/* Why the event loop answers an ACL request itself: no authorizer
 * (SECURITY_DISABLED, with no_authorizer) or no permission on the cluster;
 * the message in *msg. */
static int16_t refusal(request_t *req, const char *no_authorizer, kstr_t *msg)
{
    bool denied = authorizer_enabled();
    *msg = denied ? cluster_denied(req) : kstr_from_cstr(no_authorizer);
    return denied ? KERR_CLUSTER_AUTHORIZATION_FAILED : KERR_SECURITY_DISABLED;
}

static const char *refusal_reason(void)
{
    return authorizer_enabled() ? "not authorized" : "no authorizer is configured";
}

/* ---- filters ---- */

#define FILTER_OF(a, f)                                                                        \
    ((acl_filter_t){ (f)->resource_type_filter,                                                 \
                     (f)->resource_name_filter.len < 0 ? NULL                                   \
                                                       : kstr_dup_or_empty(a, (f)->resource_name_filter), \
                     (f)->pattern_type_filter,                                                  \
                     (f)->principal_filter.len < 0 ? NULL : kstr_dup_or_empty(a, (f)->principal_filter), \
                     (f)->host_filter.len < 0 ? NULL : kstr_dup_or_empty(a, (f)->host_filter),  \
                     (f)->operation, (f)->permission_type })

/* ---- DescribeAcls ---- */

typedef struct describe_ctx {
    arena_t *a;
    const acl_filter_t *f;
    struct describe_acls_response *resp;
    int cap;
} describe_ctx_t;

static void describe_one(const acl_resource_t *r, const acl_entry_t *e, int n, void *arg)
{
    describe_ctx_t *d = arg;
    if (!acl_filter_matches_resource(d->f, r))
        return;
    struct describe_acls_response_acl_description *acls =
        describe_acls_response_acl_description_array(d->a, n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!acl_filter_matches_entry(d->f, &e[i]))
            continue;
        acls[k].principal = kstr_from_cstr(arena_strdup(d->a, e[i].principal));
        acls[k].host = kstr_from_cstr(arena_strdup(d->a, e[i].host));
        acls[k].operation = e[i].operation;
        acls[k++].permission_type = e[i].permission;
    }
    if (k == 0)
        return;
    if (d->resp->resources_count == d->cap) {
        int cap = d->cap ? d->cap * 2 : 16;
        struct describe_acls_response_describe_acls_resource *v =
            describe_acls_response_describe_acls_resource_array(d->a, cap);
        if (d->cap)
            memcpy(v, d->resp->resources, sizeof(*v) * (size_t)d->cap);
        d->resp->resources = v;
        d->cap = cap;
    }
    struct describe_acls_response_describe_acls_resource *out =
        &d->resp->resources[d->resp->resources_count++];
    out->resource_type = r->type;
    out->resource_name = kstr_from_cstr(arena_strdup(d->a, r->name));
    out->pattern_type = r->pattern;
    out->acls = acls;
    out->acls_count = k;
}

/* @locality the ZooKeeper thread
 * @locks none */
static void describe_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                            kwriter_t *out)
{
    (void)denied;   /* checked on the event loop, with its own answer */
    struct describe_acls_request rq;
    struct describe_acls_response resp;
    describe_acls_response_defaults(&resp);
    resp.resources_count = 0;
    if (describe_acls_request_decode(body, v, &rq) < 0) {
        resp.error_code = KERR_INVALID_REQUEST;
    } else {
        acl_filter_t f = FILTER_OF(a, &rq);
        const char *unknown = acl_filter_unknown_field(&f);
        if (unknown) {
            resp.error_code = KERR_INVALID_REQUEST;
            resp.error_message = kstr_from_cstr(unknown);
        } else {
            describe_ctx_t d = { a, &f, &resp, 0 };
            acl_store_each(acl_zk_store(), describe_one, &d);
        }
    }
    describe_acls_response_encode(out, v, &resp);
}

enum handler_result api_describe_acls(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct describe_acls_response resp;
    describe_acls_response_defaults(&resp);
    resp.resources_count = 0;
    if (authorizer_enabled() &&
        authorize(req, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, ACL_CLUSTER_NAME))
        return api_answer_on_zk_thread(req, describe_handle, 0);
    struct describe_acls_request rq;
    if (describe_acls_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    resp.error_code = refusal(req, NO_AUTHORIZER_DESCRIBE, &resp.error_message);
    describe_acls_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- CreateAcls ---- */

static bool add_entry(const acl_entry_t *cur, int n, acl_entry_t **out, int *n_out, void *arg)
{
    const acl_entry_t *add = arg;
    for (int i = 0; i < n; i++)
        if (acl_entry_equal(&cur[i], add))
            return false;
    *out = xrealloc(acl_entries_copy(cur, n), sizeof(acl_entry_t) * (size_t)(n + 1));
    (*out)[n] = (acl_entry_t){ xstrdup(add->principal), xstrdup(add->host), add->operation,
                               add->permission };
    *n_out = n + 1;
    return true;
}

/* Kafka's checks of one creation; NULL or the INVALID_REQUEST message. */
static const char *invalid_creation(const acl_resource_t *r, const acl_entry_t *e)
{
    if (!acl_resource_type_zk_name(r->type) ||
        (r->pattern != ACL_PAT_LITERAL && r->pattern != ACL_PAT_PREFIXED) ||
        !acl_operation_zk_name(e->operation) || !acl_permission_zk_name(e->permission))
        return "ACL binding contains unknown elements";
    if (r->type == ACL_RES_CLUSTER && strcmp(r->name, ACL_CLUSTER_NAME))
        return "The only valid name for the CLUSTER resource is " ACL_CLUSTER_NAME;
    if (!r->name[0])
        return "Invalid empty resource name";
    if (!strchr(e->principal, ':'))
        return "Could not parse principal";
    if (strchr(r->name, '/'))
        return "A resource name with '/' cannot be stored in ZooKeeper";
    return NULL;
}

/* @locality the ZooKeeper thread
 * @locks none */
static void create_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                          kwriter_t *out)
{
    (void)denied;   /* checked on the event loop, with its own answer */
    struct create_acls_request rq;
    struct create_acls_response resp;
    create_acls_response_defaults(&resp);
    resp.results_count = 0;
    if (create_acls_request_decode(body, v, &rq) < 0) {
        create_acls_response_encode(out, v, &resp);
        return;
    }
    int n = MAX(rq.creations_count, 0);
    resp.results_count = n;
    resp.results = create_acls_response_acl_creation_result_array(a, n);
    metadata_update_t *u = metadata_update_new();
    for (int i = 0; i < n; i++) {
        const struct create_acls_request_acl_creation *c = &rq.creations[i];
        acl_resource_t r = { c->resource_type, c->resource_pattern_type,
                             (char *)kstr_dup_or_empty(a, c->resource_name) };
        acl_entry_t e = { (char *)kstr_dup_or_empty(a, c->principal),
                          (char *)kstr_dup_or_empty(a, c->host), c->operation, c->permission_type };
        const char *msg = invalid_creation(&r, &e);
        int rc = msg ? ZOK : acl_zk_update(controller_session(), &r, add_entry, &e, u);
        if (!msg && rc != ZOK)
            msg = zerror(rc);
        resp.results[i].error_code = !msg ? KERR_NONE
                                     : rc != ZOK ? KERR_UNKNOWN_SERVER_ERROR : KERR_INVALID_REQUEST;
        resp.results[i].error_message = msg ? kstr_from_cstr(msg) : KSTR_NULL;
        if (!msg)
            log_info("acl", "Added ACL %s %s %s from %s on %s:%s", e.principal,
                     acl_permission_zk_name(e.permission), acl_operation_zk_name(e.operation),
                     e.host, acl_resource_type_zk_name(r.type), r.name);
    }
    controller_publish(u);
    create_acls_response_encode(out, v, &resp);
}

enum handler_result api_create_acls(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    if (authorizer_enabled() && authorize(req, ACL_OP_ALTER, ACL_RES_CLUSTER, ACL_CLUSTER_NAME))
        return api_answer_on_zk_thread(req, create_handle, 0);
    struct create_acls_request rq;
    if (create_acls_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct create_acls_response resp;
    create_acls_response_defaults(&resp);
    int n = MAX(rq.creations_count, 0);
    resp.results_count = n;
    resp.results = create_acls_response_acl_creation_result_array(&req->arena, n);
    for (int i = 0; i < n; i++)
        resp.results[i].error_code = refusal(req, NO_AUTHORIZER, &resp.results[i].error_message);
    log_info("admin", "CreateAcls from %s refused: %s", conn_peer(req->conn), refusal_reason());
    create_acls_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- DeleteAcls ---- */

typedef struct delete_ctx {
    const acl_filter_t *f;
    acl_resource_t *matched;    /* resources the filter matches (names malloc'd) */
    int n, cap;
} delete_ctx_t;

static void collect_matching(const acl_resource_t *r, const acl_entry_t *e, int n, void *arg)
{
    delete_ctx_t *d = arg;
    bool any = false;
    for (int i = 0; i < n && !any; i++)
        any = acl_filter_matches_entry(d->f, &e[i]);
    if (!any || !acl_filter_matches_resource(d->f, r))
        return;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->matched = xrealloc(d->matched, sizeof(acl_resource_t) * (size_t)d->cap);
    }
    d->matched[d->n++] = (acl_resource_t){ r->type, r->pattern, xstrdup(r->name) };
}

typedef struct removal {
    const acl_filter_t *f;
    arena_t *a;
    struct delete_acls_response_delete_acls_filter_result *result;
    int *cap;                   /* room in result->matching_acls */
    int base;                   /* results before this resource's */
    const acl_resource_t *r;
} removal_t;

static struct delete_acls_response_delete_acls_matching_acl *next_match(removal_t *rm)
{
    struct delete_acls_response_delete_acls_filter_result *res = rm->result;
    if (res->matching_acls_count == *rm->cap) {
        int cap = *rm->cap ? *rm->cap * 2 : 16;
        struct delete_acls_response_delete_acls_matching_acl *v =
            delete_acls_response_delete_acls_matching_acl_array(rm->a, cap);
        if (*rm->cap)
            memcpy(v, res->matching_acls, sizeof(*v) * (size_t)*rm->cap);
        res->matching_acls = v;
        *rm->cap = cap;
    }
    return &res->matching_acls[res->matching_acls_count++];
}

static bool remove_matching(const acl_entry_t *cur, int n, acl_entry_t **out, int *n_out, void *arg)
{
    removal_t *rm = arg;
    rm->result->matching_acls_count = rm->base;     /* a retried write starts over */
    *out = xcalloc((size_t)n + 1, sizeof(acl_entry_t));
    *n_out = 0;
    bool changed = false;
    for (int i = 0; i < n; i++) {
        if (!acl_filter_matches_entry(rm->f, &cur[i])) {
            (*out)[(*n_out)++] = (acl_entry_t){ xstrdup(cur[i].principal), xstrdup(cur[i].host),
                                                cur[i].operation, cur[i].permission };
            continue;
        }
        changed = true;
        struct delete_acls_response_delete_acls_matching_acl *m = next_match(rm);
        m->error_code = KERR_NONE;
        m->error_message = KSTR_NULL;
        m->resource_type = rm->r->type;
        m->resource_name = kstr_from_cstr(arena_strdup(rm->a, rm->r->name));
        m->pattern_type = rm->r->pattern;
        m->principal = kstr_from_cstr(arena_strdup(rm->a, cur[i].principal));
        m->host = kstr_from_cstr(arena_strdup(rm->a, cur[i].host));
        m->operation = cur[i].operation;
        m->permission_type = cur[i].permission;
    }
    return changed;
}

static void delete_filter(arena_t *a, const acl_filter_t *f,
                          struct delete_acls_response_delete_acls_filter_result *res,
                          metadata_update_t *u)
{
    delete_ctx_t d = { f, NULL, 0, 0 };
    acl_store_each(acl_zk_store(), collect_matching, &d);
    int cap = 0;
    res->matching_acls = NULL;
    res->matching_acls_count = 0;
    for (int i = 0; i < d.n; i++) {
        removal_t rm = { f, a, res, &cap, res->matching_acls_count, &d.matched[i] };
        int rc = acl_zk_update(controller_session(), &d.matched[i], remove_matching, &rm, u);
        if (rc != ZOK) {
            res->error_code = KERR_UNKNOWN_SERVER_ERROR;
            res->error_message = kstr_from_cstr(zerror(rc));
        }
        free(d.matched[i].name);
    }
    free(d.matched);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void delete_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                          kwriter_t *out)
{
    (void)denied;   /* checked on the event loop, with its own answer */
    struct delete_acls_request rq;
    struct delete_acls_response resp;
    delete_acls_response_defaults(&resp);
    resp.filter_results_count = 0;
    if (delete_acls_request_decode(body, v, &rq) < 0) {
        delete_acls_response_encode(out, v, &resp);
        return;
    }
    int n = MAX(rq.filters_count, 0);
    resp.filter_results_count = n;
    resp.filter_results = delete_acls_response_delete_acls_filter_result_array(a, n);
    metadata_update_t *u = metadata_update_new();
    for (int i = 0; i < n; i++) {
        acl_filter_t f = FILTER_OF(a, &rq.filters[i]);
        const char *unknown = acl_filter_unknown_field(&f);
        resp.filter_results[i].matching_acls_count = 0;
        if (unknown) {
            resp.filter_results[i].error_code = KERR_INVALID_REQUEST;
            resp.filter_results[i].error_message = kstr_from_cstr(unknown);
            continue;
        }
        delete_filter(a, &f, &resp.filter_results[i], u);
    }
    controller_publish(u);
    delete_acls_response_encode(out, v, &resp);
}

enum handler_result api_delete_acls(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    if (authorizer_enabled() && authorize(req, ACL_OP_ALTER, ACL_RES_CLUSTER, ACL_CLUSTER_NAME))
        return api_answer_on_zk_thread(req, delete_handle, 0);
    struct delete_acls_request rq;
    if (delete_acls_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct delete_acls_response resp;
    delete_acls_response_defaults(&resp);
    int n = MAX(rq.filters_count, 0);
    resp.filter_results_count = n;
    resp.filter_results = delete_acls_response_delete_acls_filter_result_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        resp.filter_results[i].error_code =
            refusal(req, NO_AUTHORIZER, &resp.filter_results[i].error_message);
        resp.filter_results[i].matching_acls_count = 0;
    }
    log_info("admin", "DeleteAcls from %s refused: %s", conn_peer(req->conn), refusal_reason());
    delete_acls_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
