/*
 * api_topics.c - owns CreateTopics and DeleteTopics: request validation and
 * per-topic results, with the ZooKeeper work done by controller.c.
 * Event-loop thread only.
 *
 * Partial: manual replica assignments are refused with
 * INVALID_REPLICA_ASSIGNMENT; topic configs are validated by name only.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "controller.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "proto_messages.h"

static void create_one(broker_t *b, request_t *req, bool validate_only,
                       const struct create_topics_request_creatable_topic *in,
                       struct create_topics_response_creatable_topic_result *out)
{
    char *name = kstr_dup(&req->arena, in->name);
    out->name = in->name;
    out->num_partitions = -1;
    out->replication_factor = -1;
    out->configs_count = -1;
    if (!name) {
        out->error_code = KERR_INVALID_TOPIC_EXCEPTION;
        return;
    }
    if (in->assignments_count > 0) {
        out->error_code = KERR_INVALID_REPLICA_ASSIGNMENT;
        out->error_message = kstr_from_cstr("Manual replica assignment is not supported yet");
        return;
    }
    int nc = in->configs_count > 0 ? in->configs_count : 0;
    const char **keys = arena_array(&req->arena, (size_t)nc + 1, sizeof(char *));
    const char **vals = arena_array(&req->arena, (size_t)nc + 1, sizeof(char *));
    for (int i = 0; i < nc; i++) {
        keys[i] = kstr_dup(&req->arena, in->configs[i].name);
        vals[i] = kstr_dup(&req->arena, in->configs[i].value);
        if (!keys[i] || !vals[i] || !topic_config_key_known(keys[i])) {
            out->error_code = KERR_INVALID_CONFIG;
            out->error_message = kstr_from_cstr(
                arena_printf(&req->arena, "Unknown topic config name: %s", keys[i] ? keys[i] : "null"));
            return;
        }
    }
    topic_spec_t spec = { .name = name, .num_partitions = in->num_partitions,
                          .replication_factor = in->replication_factor, .config_keys = keys,
                          .config_values = vals, .n_configs = nc, .validate_only = validate_only };
    const char *msg;
    out->error_code = controller_create_topic(b, &spec, &msg);
    if (out->error_code) {
        out->error_message = kstr_from_cstr(msg);
        log_info("topics", "CreateTopics %s from %s failed: %s (%s)", name, conn_peer(req->conn),
                 msg ? msg : "", kafka_error_name(out->error_code));
        return;
    }
    mc_topic_t *t = mc_find_topic(name);
    out->num_partitions = t ? t->n_partitions
                            : in->num_partitions == -1 ? b->cfg->num_partitions : in->num_partitions;
    out->replication_factor = t && t->n_partitions ? (int16_t)t->parts[0].n_replicas
                            : in->replication_factor == -1 ? b->cfg->default_replication_factor
                                                           : in->replication_factor;
    if (t)
        out->topic_id = t->id;
    out->configs_count = 0;
}

enum handler_result api_create_topics(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct create_topics_request rq;
    if (create_topics_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct create_topics_response resp;
    create_topics_response_defaults(&resp);
    int n = rq.topics_count > 0 ? rq.topics_count : 0;
    resp.topics_count = n;
    resp.topics = create_topics_response_creatable_topic_result_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        bool dup = false;
        for (int j = 0; j < n && !dup; j++)
            dup = j != i && rq.topics[j].name.len == rq.topics[i].name.len &&
                  !memcmp(rq.topics[j].name.ptr, rq.topics[i].name.ptr, (size_t)rq.topics[i].name.len);
        if (dup) {
            resp.topics[i].name = rq.topics[i].name;
            resp.topics[i].error_code = KERR_INVALID_REQUEST;
            resp.topics[i].error_message = kstr_from_cstr("Duplicate topic in request.");
            continue;
        }
        create_one(b, req, rq.validate_only, &rq.topics[i], &resp.topics[i]);
    }
    create_topics_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_delete_topics(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct delete_topics_request rq;
    if (delete_topics_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct delete_topics_response resp;
    delete_topics_response_defaults(&resp);
    int n = rq.topic_names_count > 0 ? rq.topic_names_count : 0;
    resp.responses_count = n;
    resp.responses = delete_topics_response_deletable_topic_result_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        char *name = kstr_dup(&req->arena, rq.topic_names[i]);
        resp.responses[i].name = rq.topic_names[i];
        resp.responses[i].error_code = name ? controller_delete_topic(b, name)
                                            : KERR_INVALID_TOPIC_EXCEPTION;
        if (resp.responses[i].error_code)
            log_info("topics", "DeleteTopics %s from %s failed: %s", name ? name : "null",
                     conn_peer(req->conn), kafka_error_name(resp.responses[i].error_code));
    }
    delete_topics_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
