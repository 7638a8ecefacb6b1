/*
 * api_alter_configs.c - owns AlterConfigs (33) and IncrementalAlterConfigs
 * (44): decoding into config_alter.h's resources, parking the request
 * while the ZooKeeper thread works, and the answer.  Event-loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "config_alter.h"
#include "kafka_errors.h"
#include "proto_messages.h"
#include "util.h"

/* A parked request; the pointer is cleared if the connection goes. */
typedef struct alter_wait {
    request_t *req;
    bool incremental;
} alter_wait_t;

static void alter_cancel(request_t *req)
{
    alter_wait_t *w = req->parked;
    if (w)
        w->req = NULL;
    req->parked = NULL;
}

static char *str_copy(kstr_t s)
{
    if (s.len < 0)
        return NULL;
    char *c = xmalloc((size_t)s.len + 1);
    memcpy(c, s.ptr, (size_t)s.len);
    c[s.len] = '\0';
    return c;
}

static char *name_copy(kstr_t s)
{
    char *c = str_copy(s);
    return c ? c : xstrdup("");
}

/* The two responses' per-resource results have the same fields. */
#define FILL_RESULTS(req, resp, array_fn, res, n)                                              \
    do {                                                                                       \
        (resp).responses_count = (n);                                                          \
        (resp).responses = array_fn(&(req)->arena, (n));                                       \
        for (int i_ = 0; i_ < (n); i_++) {                                                     \
            (resp).responses[i_].error_code = (res)[i_].error;                                 \
            (resp).responses[i_].error_message =                                               \
                (res)[i_].error ? kstr_from_cstr(arena_strdup(&(req)->arena, (res)[i_].message)) \
                                : KSTR_NULL;                                                   \
            (resp).responses[i_].resource_type = (res)[i_].type;                               \
            (resp).responses[i_].resource_name =                                               \
                kstr_from_cstr(arena_strdup(&(req)->arena, (res)[i_].name));                   \
        }                                                                                      \
    } while (0)

static void encode_legacy(request_t *req, const config_resource_t *res, int n)
{
    struct alter_configs_response resp;
    alter_configs_response_defaults(&resp);
    FILL_RESULTS(req, resp, alter_configs_response_alter_configs_resource_response_array, res, n);
    alter_configs_response_encode(&req->resp, req->hdr.request_api_version, &resp);
}

static void encode_incremental(request_t *req, const config_resource_t *res, int n)
{
    struct incremental_alter_configs_response resp;
    incremental_alter_configs_response_defaults(&resp);
    FILL_RESULTS(req, resp,
                 incremental_alter_configs_response_alter_configs_resource_response_array, res, n);
    incremental_alter_configs_response_encode(&req->resp, req->hdr.request_api_version, &resp);
}

/* Event-loop thread: every resource has its result. */
static void alter_done(broker_t *b, void *arg, config_resource_t *res, int n)
{
    (void)b;
    alter_wait_t *w = arg;
    request_t *req = w->req;
    if (req) {
        if (w->incremental)
            encode_incremental(req, res, n);
        else
            encode_legacy(req, res, n);
        if (req->parked == w) {
            req->parked = NULL;
            request_complete(req);
        }
    }
    free(w);
}

/* Kafka: ALTER_CONFIGS on the topic, or on the cluster for broker and
 * broker-logger resources. */
static void authorize_resources(request_t *req, config_resource_t *res, int n)
{
    for (int i = 0; i < n; i++) {
        bool topic = res[i].type == RESOURCE_TYPE_TOPIC;
        if (topic ? authorize(req, ACL_OP_ALTER_CONFIGS, ACL_RES_TOPIC, res[i].name)
                  : authorize(req, ACL_OP_ALTER_CONFIGS, ACL_RES_CLUSTER, ACL_CLUSTER_NAME))
            continue;
        res[i].error = topic ? KERR_TOPIC_AUTHORIZATION_FAILED : KERR_CLUSTER_AUTHORIZATION_FAILED;
        snprintf(res[i].message, sizeof(res[i].message), "%s",
                 topic ? "Topic authorization failed." : "Cluster authorization failed.");
    }
}

static enum handler_result submit(broker_t *b, request_t *req, config_resource_t *res, int n,
                                  bool incremental, bool validate_only)
{
    authorize_resources(req, res, n);
    alter_wait_t *w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->incremental = incremental;
    if (!config_alter(b, res, n, incremental, validate_only, alter_done, w))
        return REQ_DONE;        /* answered (and w freed) already */
    req->parked = w;
    req->cancel = alter_cancel;
    return REQ_PARKED;
}

/* One resource's owned copy: its ops are filled by the caller. */
static void resource_copy(config_resource_t *dst, int8_t type, kstr_t name, int32_t n_ops)
{
    dst->type = type;
    dst->name = name_copy(name);
    dst->n_ops = n_ops > 0 ? n_ops : 0;
    dst->ops = xcalloc((size_t)dst->n_ops + 1, sizeof(config_op_t));
}

static void op_copy(config_op_t *dst, kstr_t key, kstr_t value, int8_t op)
{
    dst->key = name_copy(key);
    dst->value = str_copy(value);
    dst->op = op;
}

enum handler_result api_alter_configs(broker_t *b, request_t *req)
{
    struct alter_configs_request rq;
    if (alter_configs_request_decode(&req->body, req->hdr.request_api_version, &rq) < 0)
        return REQ_CLOSE;
    int n = rq.resources_count > 0 ? rq.resources_count : 0;
    config_resource_t *res = xcalloc((size_t)n + 1, sizeof(*res));
    for (int i = 0; i < n; i++) {
        const struct alter_configs_request_alter_configs_resource *r = &rq.resources[i];
        resource_copy(&res[i], r->resource_type, r->resource_name, r->configs_count);
        for (int k = 0; k < res[i].n_ops; k++)
            op_copy(&res[i].ops[k], r->configs[k].name, r->configs[k].value, CONFIG_OP_SET);
    }
    return submit(b, req, res, n, false, rq.validate_only);
}

enum handler_result api_incremental_alter_configs(broker_t *b, request_t *req)
{
    struct incremental_alter_configs_request rq;
    if (incremental_alter_configs_request_decode(&req->body, req->hdr.request_api_version,
                                                 &rq) < 0)
        return REQ_CLOSE;
    int n = rq.resources_count > 0 ? rq.resources_count : 0;
    config_resource_t *res = xcalloc((size_t)n + 1, sizeof(*res));
    for (int i = 0; i < n; i++) {
        const struct incremental_alter_configs_request_alter_configs_resource *r =
            &rq.resources[i];
        resource_copy(&res[i], r->resource_type, r->resource_name, r->configs_count);
        for (int k = 0; k < res[i].n_ops; k++)
            op_copy(&res[i].ops[k], r->configs[k].name, r->configs[k].value,
                    r->configs[k].config_operation);
    }
    return submit(b, req, res, n, true, rq.validate_only);
}
