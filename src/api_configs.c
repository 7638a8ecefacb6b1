/*
 * api_configs.c - owns DescribeConfigs (read-only for now) over the broker's
 * settings and the topic-level table of topic_config.c.
 * Event-loop thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "kafka_errors.h"
#include "metadata_cache.h"
#include "proto_messages.h"
#include "topic_config.h"

enum { RESOURCE_TOPIC = 2, RESOURCE_BROKER = 4 };
enum { SOURCE_DYNAMIC_TOPIC = 1, SOURCE_STATIC_BROKER = 4, SOURCE_DEFAULT = 5 };

static bool wanted(const struct describe_configs_request_describe_configs_resource *r,
                   const char *key)
{
    if (r->configuration_keys_count < 0)
        return true;
    for (int i = 0; i < r->configuration_keys_count; i++)
        if (kstr_eq_cstr(r->configuration_keys[i], key))
            return true;
    return false;
}

static void describe_topic(broker_t *b, request_t *req,
                           const struct describe_configs_request_describe_configs_resource *rq,
                           struct describe_configs_response_describe_configs_result *out)
{
    char *name = kstr_dup(&req->arena, rq->resource_name);
    mc_topic_t *t = mc_find_topic(name ? name : "");
    if (!t) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = kstr_from_cstr("Topic does not exist");
        return;
    }
    int n;
    const topic_setting_t *settings = topic_settings(&n);
    out->configs = describe_configs_response_describe_configs_resource_result_array(&req->arena, n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const topic_setting_t *s = &settings[i];
        if (!wanted(rq, s->topic_key))
            continue;
        struct describe_configs_response_describe_configs_resource_result *c = &out->configs[k++];
        const char *ov = mc_topic_config(t, s->topic_key);
        char buf[32];
        const char *bv = topic_config_broker_value(b, s, buf, sizeof(buf));
        c->name = kstr_from_cstr(s->topic_key);
        c->value = kstr_from_cstr(arena_strdup(&req->arena, ov ? ov : bv));
        c->read_only = false;
        c->is_default = !ov && !config_get(b->cfg, s->broker_key);
        c->config_source = ov ? SOURCE_DYNAMIC_TOPIC
                              : config_get(b->cfg, s->broker_key) ? SOURCE_STATIC_BROKER
                                                                  : SOURCE_DEFAULT;
        c->is_sensitive = false;
        c->synonyms_count = 0;
        c->config_type = 0;
    }
    out->configs_count = k;
}

static void describe_broker(broker_t *b, request_t *req,
                            const struct describe_configs_request_describe_configs_resource *rq,
                            struct describe_configs_response_describe_configs_result *out)
{
    const broker_config_t *cfg = b->cfg;
    out->configs = describe_configs_response_describe_configs_resource_result_array(
        &req->arena, cfg->n_entries);
    int k = 0;
    for (int i = 0; i < cfg->n_entries; i++) {
        if (!wanted(rq, cfg->keys[i]) || config_get(cfg, cfg->keys[i]) != cfg->values[i])
            continue;
        struct describe_configs_response_describe_configs_resource_result *c = &out->configs[k++];
        c->name = kstr_from_cstr(cfg->keys[i]);
        c->value = kstr_from_cstr(cfg->values[i]);
        c->read_only = true;
        c->config_source = SOURCE_STATIC_BROKER;
        c->synonyms_count = 0;
    }
    out->configs_count = k;
}

enum handler_result api_describe_configs(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct describe_configs_request rq;
    if (describe_configs_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_configs_response resp;
    describe_configs_response_defaults(&resp);
    resp.results_count = rq.resources_count > 0 ? rq.resources_count : 0;
    resp.results = describe_configs_response_describe_configs_result_array(&req->arena,
                                                                           resp.results_count);
    for (int i = 0; i < resp.results_count; i++) {
        const struct describe_configs_request_describe_configs_resource *r = &rq.resources[i];
        struct describe_configs_response_describe_configs_result *o = &resp.results[i];
        o->resource_type = r->resource_type;
        o->resource_name = r->resource_name;
        o->error_message = KSTR_NULL;
        if (r->resource_type == RESOURCE_TOPIC) {
            describe_topic(b, req, r, o);
        } else if (r->resource_type == RESOURCE_BROKER) {
            char id[16];
            snprintf(id, sizeof(id), "%d", b->cfg->broker_id);
            if (r->resource_name.len > 0 && !kstr_eq_cstr(r->resource_name, id)) {
                o->error_code = KERR_INVALID_REQUEST;
                o->error_message = kstr_from_cstr("Unexpected broker id");
            } else {
                describe_broker(b, req, r, o);
            }
        } else {
            o->error_code = KERR_INVALID_REQUEST;
            o->error_message = kstr_from_cstr("Unsupported resource type");
        }
    }
    describe_configs_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
