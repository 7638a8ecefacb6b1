/*
 * api_topics.c - owns CreateTopics, DeleteTopics and CreatePartitions: decoding, the
 * per-topic checks that need no ZooKeeper, and the responses.  The
 * ZooKeeper work runs on the ZooKeeper thread (topic_admin.c); the request
 * is parked meanwhile and answered once the result is in the metadata
 * cache.  Event-loop thread only.
 *
 * Manual replica assignments are checked as Kafka's ZkAdminManager and
 * AdminZkClient.validateTopicCreate check them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "proto_messages.h"
#include "topic_admin.h"
#include "util.h"

/* A parked CreateTopics/DeleteTopics; freed by the job's callback.  The
 * request pointer is cleared if the connection goes first. */
typedef struct topics_wait {
    request_t *req;
    struct create_topics_request create;
    struct delete_topics_request del;
    struct create_partitions_request grow;
    int n;                      /* topics in the request */
    topic_result_t *results;    /* per requested topic */
    int *map;                   /* submitted index -> requested index */
    const char **del_names;     /* DeleteTopics: each entry's name (NULL: id unknown) */
    kuuid_t *del_ids;           /* ... and the id it was asked by (v6) */
    /* Encodes the response into req from w->results. */
    void (*respond)(broker_t *b, request_t *req, const struct topics_wait *w);
} topics_wait_t;

static void topics_cancel(request_t *req)
{
    topics_wait_t *w = req->parked;
    if (w)
        w->req = NULL;
    req->parked = NULL;
}

static topics_wait_t *wait_new(request_t *req, int n)
{
    topics_wait_t *w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->n = n;
    w->results = xcalloc((size_t)n + 1, sizeof(topic_result_t));
    w->map = xcalloc((size_t)n + 1, sizeof(int));
    return w;
}

static void wait_free(topics_wait_t *w)
{
    free(w->results);
    free(w->map);
    free(w);
}

/* Copies the job's results (submitted order) into request order. */
static void take_results(topics_wait_t *w, const topic_result_t *results, int n)
{
    for (int k = 0; k < n; k++)
        w->results[w->map[k]] = results[k];
}

/* Event-loop thread: the ZooKeeper job finished. */
static void topics_done(broker_t *b, void *arg, const topic_result_t *results, int n)
{
    topics_wait_t *w = arg;
    take_results(w, results, n);
    if (w->req) {
        w->req->parked = NULL;
        w->respond(b, w->req, w);
        request_complete(w->req);
    }
    wait_free(w);
}

/* Parks req until the job's callback if the job took topics (the
 * connection closing cancels); otherwise answers with the results decided
 * on the loop (sub, in submitted order). */
static enum handler_result answer_or_park(broker_t *b, request_t *req, topics_wait_t *w,
                                          int submitted, const topic_result_t *sub, int ns)
{
    if (submitted > 0) {
        req->parked = w;
        req->cancel = topics_cancel;
        return REQ_PARKED;
    }
    take_results(w, sub, ns);
    w->respond(b, req, w);
    wait_free(w);
    return REQ_DONE;
}


/* A manual assignment, checked as Kafka checks it: replicas[p] for each
 * partition p, or the error and Kafka's message. */
static int16_t assignment_of(request_t *req, const struct create_topics_request_creatable_topic *in,
                             const int32_t ***out, int16_t *rf, const char **msg)
{
    if (in->num_partitions != -1 || in->replication_factor != -1) {
        *msg = "Both numPartitions or replicationFactor and replicasAssignments were set. "
               "Both cannot be used at the same time.";
        return KERR_INVALID_REQUEST;
    }
    int32_t n = in->assignments_count;
    const int32_t **replicas = arena_array(&req->arena, (size_t)n, sizeof(*replicas));
    int32_t size = MAX(in->assignments[0].broker_ids_count, 0);
    for (int32_t i = 0; i < n; i++) {
        const struct create_topics_request_creatable_replica_assignment *a = &in->assignments[i];
        if (MAX(a->broker_ids_count, 0) != size) {
            *msg = "All partitions should have the same number of replicas";
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (int32_t x = 0; x < size; x++)
            for (int32_t y = x + 1; y < size; y++)
                if (a->broker_ids[x] == a->broker_ids[y]) {
                    *msg = "Duplicate replica assignment found";
                    return KERR_INVALID_REPLICA_ASSIGNMENT;
                }
        if (a->partition_index < 0 || a->partition_index >= n || replicas[a->partition_index]) {
            *msg = "partitions should be a consecutive 0-based integer sequence";
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        replicas[a->partition_index] = a->broker_ids;
    }
    if (size == 0) {
        *msg = "Replication factor must be larger than 0.";
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    *out = replicas;
    *rf = (int16_t)size;
    return KERR_NONE;
}

/* The spec of one requested topic, or an early error. */
static int16_t spec_of(request_t *req, const struct create_topics_request_creatable_topic *in,
                       topic_spec_t *spec, const char **msg)
{
    *msg = NULL;
    char *name = kstr_dup(&req->arena, in->name);
    if (!name)
        return KERR_INVALID_TOPIC_EXCEPTION;
    int16_t err = KERR_NONE;
    const int32_t **replicas = NULL;
    int16_t rf = 0;
    if (in->assignments_count > 0 &&
        (err = assignment_of(req, in, &replicas, &rf, msg)) != KERR_NONE)
        return err;
    int nc = in->configs_count > 0 ? in->configs_count : 0;
    const char **keys = arena_array(&req->arena, (size_t)nc + 1, sizeof(char *));
    const char **vals = arena_array(&req->arena, (size_t)nc + 1, sizeof(char *));
    for (int i = 0; i < nc; i++) {
        keys[i] = kstr_dup(&req->arena, in->configs[i].name);
        vals[i] = kstr_dup(&req->arena, in->configs[i].value);
    }
    *spec = (topic_spec_t){ .name = name, .num_partitions = in->num_partitions,
                            .replication_factor = in->replication_factor, .config_keys = keys,
                            .config_values = vals, .n_configs = nc,
                            .replicas = (const int32_t *const *)replicas,
                            .n_assigned_partitions = replicas ? in->assignments_count : 0,
                            .n_assigned_replicas = rf };
    for (int j = 0; j < nc; j++) {
        if (!keys[j]) {
            *msg = "Unknown topic config name: null";
            return KERR_INVALID_CONFIG;
        }
    }
    return KERR_NONE;
}

static bool same_name(kstr_t a, kstr_t b)
{
    return a.len == b.len && (a.len <= 0 || !memcmp(a.ptr, b.ptr, (size_t)a.len));
}

static bool duplicated(const struct create_topics_request *rq, int i)
{
    for (int j = 0; j < rq->topics_count; j++)
        if (j != i && same_name(rq->topics[j].name, rq->topics[i].name))
            return true;
    return false;
}

static void fill_created(broker_t *b, request_t *req, const struct create_topics_request_creatable_topic *in,
                         const topic_result_t *r,
                         struct create_topics_response_creatable_topic_result *out)
{
    out->name = in->name;
    out->num_partitions = -1;
    out->replication_factor = -1;
    out->configs_count = -1;
    out->error_code = r->error;
    if (r->error) {
        out->error_message = kstr_from_cstr(r->message[0] ? arena_strdup(&req->arena, r->message)
                                                          : NULL);
        log_info("topics", "CreateTopics %.*s from %s failed: %s (%s)", in->name.len > 0 ? in->name.len : 0,
                 in->name.ptr ? in->name.ptr : "", conn_peer(req->conn), r->message,
                 kafka_error_name(r->error));
        return;
    }
    char *name = kstr_dup(&req->arena, in->name);
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

static void create_respond(broker_t *b, request_t *req, const topics_wait_t *w)
{
    const struct create_topics_request *rq = &w->create;
    const topic_result_t *results = w->results;
    struct create_topics_response resp;
    create_topics_response_defaults(&resp);
    int n = rq->topics_count > 0 ? rq->topics_count : 0;
    resp.topics_count = n;
    resp.topics = create_topics_response_creatable_topic_result_array(&req->arena, n);
    for (int i = 0; i < n; i++)
        fill_created(b, req, &rq->topics[i], &results[i], &resp.topics[i]);
    create_topics_response_encode(&req->resp, req->hdr.request_api_version, &resp);
}

enum handler_result api_create_topics(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct create_topics_request rq;
    if (create_topics_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    int n = rq.topics_count > 0 ? rq.topics_count : 0;
    topics_wait_t *w = wait_new(req, n);
    w->create = rq;
    topic_spec_t *specs = arena_array(&req->arena, (size_t)n + 1, sizeof(*specs));
    int ns = 0;
    for (int i = 0; i < n; i++) {
        const char *msg = NULL;
        int16_t err = duplicated(&rq, i) ? KERR_INVALID_REQUEST
                                         : spec_of(req, &rq.topics[i], &specs[ns], &msg);
        if (err == KERR_INVALID_REQUEST)
            msg = "Duplicate topic in request.";
        /* Kafka: CREATE on the cluster, or on the topic. */
        if (!err && !authorize_quiet(req, ACL_OP_CREATE, ACL_RES_CLUSTER, ACL_CLUSTER_NAME) &&
            !authorize(req, ACL_OP_CREATE, ACL_RES_TOPIC, specs[ns].name)) {
            err = KERR_TOPIC_AUTHORIZATION_FAILED;
            msg = "Authorization failed.";
        }
        if (err) {
            w->results[i].error = err;
            snprintf(w->results[i].message, sizeof(w->results[i].message), "%s", msg ? msg : "");
            continue;
        }
        w->map[ns++] = i;
    }
    topic_result_t *sub = arena_array(&req->arena, (size_t)ns + 1, sizeof(*sub));
    w->respond = create_respond;
    int submitted = topic_admin_create(b, specs, ns, rq.validate_only,
                                       quota_mutation(req, CREATE_TOPICS_STRICT_SINCE, true), sub,
                                       topics_done, w);
    return answer_or_park(b, req, w, submitted, sub, ns);
}

static void delete_respond(broker_t *b, request_t *req, const topics_wait_t *w)
{
    (void)b;
    const topic_result_t *results = w->results;
    struct delete_topics_response resp;
    delete_topics_response_defaults(&resp);
    resp.responses_count = w->n;
    resp.responses = delete_topics_response_deletable_topic_result_array(&req->arena, w->n);
    for (int i = 0; i < w->n; i++) {
        const char *name = w->del_names[i];
        resp.responses[i].name = name ? kstr_from_cstr(name) : KSTR_NULL;
        resp.responses[i].topic_id = w->del_ids[i];
        resp.responses[i].error_code = results[i].error;
        if (results[i].error)
            log_info("topics", "DeleteTopics %s from %s failed: %s", name ? name : "null",
                     conn_peer(req->conn), kafka_error_name(results[i].error));
    }
    delete_topics_response_encode(&req->resp, req->hdr.request_api_version, &resp);
}

/* Each entry's name and id: v6 names topics by name or by id (never
 * both: the whole request is INVALID_REQUEST, as Kafka); ids are looked up
 * in the cache (UNKNOWN_TOPIC_ID if absent).  Returns the request-wide
 * error, or 0. */
static int16_t delete_entries(request_t *req, const struct delete_topics_request *rq, int16_t v,
                              topics_wait_t *w)
{
    int16_t whole = KERR_NONE;
    for (int i = 0; i < w->n; i++) {
        kstr_t name = v >= 6 ? rq->topics[i].name : rq->topic_names[i];
        kuuid_t id = v >= 6 ? rq->topics[i].topic_id : (kuuid_t){ { 0 } };
        w->del_ids[i] = id;
        w->del_names[i] = name.len >= 0 ? kstr_dup(&req->arena, name) : NULL;
        if (name.len >= 0 && !kuuid_is_zero(id))
            whole = KERR_INVALID_REQUEST;
        if (name.len < 0 && !kuuid_is_zero(id)) {
            mc_topic_t *t = mc_find_topic_by_id(id);
            if (!mc_topic_visible(t))
                t = NULL;
            w->del_names[i] = t ? arena_strdup(&req->arena, t->name) : NULL;
            if (!t)
                w->results[i].error = KERR_UNKNOWN_TOPIC_ID;
        }
    }
    return whole;
}

enum handler_result api_delete_topics(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct delete_topics_request rq;
    if (delete_topics_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    int n = v >= 6 ? rq.topics_count : rq.topic_names_count;
    n = n > 0 ? n : 0;
    topics_wait_t *w = wait_new(req, n);
    w->del = rq;
    w->del_names = arena_array(&req->arena, (size_t)n + 1, sizeof(char *));
    w->del_ids = arena_array(&req->arena, (size_t)n + 1, sizeof(kuuid_t));
    w->respond = delete_respond;
    int16_t whole = delete_entries(req, &rq, v, w);
    char **names = arena_array(&req->arena, (size_t)n + 1, sizeof(char *));
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (whole)
            w->results[i].error = whole;
        else if (!w->results[i].error && w->del_names[i] &&
                 !authorize(req, ACL_OP_DELETE, ACL_RES_TOPIC, w->del_names[i]))
            w->results[i].error = KERR_TOPIC_AUTHORIZATION_FAILED;
        else if (!w->results[i].error && w->del_names[i])
            w->map[k] = i, names[k++] = (char *)w->del_names[i];
        else if (!w->results[i].error)
            w->results[i].error = KERR_TOPIC_AUTHORIZATION_FAILED;  /* neither: as Kafka */
    }
    topic_result_t *sub = arena_array(&req->arena, (size_t)k + 1, sizeof(*sub));
    int submitted = topic_admin_delete(b, names, k, rq.timeout_ms,
                                       quota_mutation(req, DELETE_TOPICS_STRICT_SINCE, true), sub,
                                       topics_done, w);
    return answer_or_park(b, req, w, submitted, sub, k);
}

/* ---- CreatePartitions ---- */

static void grow_respond(broker_t *b, request_t *req, const topics_wait_t *w)
{
    (void)b;
    const struct create_partitions_request *rq = &w->grow;
    const topic_result_t *results = w->results;
    struct create_partitions_response resp;
    create_partitions_response_defaults(&resp);
    int n = rq->topics_count > 0 ? rq->topics_count : 0;
    resp.results_count = n;
    resp.results = create_partitions_response_create_partitions_topic_result_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        resp.results[i].name = rq->topics[i].name;
        resp.results[i].error_code = results[i].error;
        resp.results[i].error_message = results[i].message[0]
            ? kstr_from_cstr(arena_strdup(&req->arena, results[i].message)) : KSTR_NULL;
        if (results[i].error)
            log_info("topics", "CreatePartitions %.*s from %s failed: %s (%s)",
                     MAX(rq->topics[i].name.len, 0), rq->topics[i].name.ptr ? rq->topics[i].name.ptr : "",
                     conn_peer(req->conn), results[i].message, kafka_error_name(results[i].error));
    }
    create_partitions_response_encode(&req->resp, req->hdr.request_api_version, &resp);
}

/* What KafkaApis decides before the admin manager: NOT_CONTROLLER off the
 * controller, duplicates, topics queued for deletion. */
static int16_t grow_precheck(broker_t *b, const struct create_partitions_request *rq, int i,
                             const char **msg)
{
    const struct create_partitions_request_create_partitions_topic *in = &rq->topics[i];
    *msg = NULL;
    if (b->controller_id != b->cfg->broker_id)
        return KERR_NOT_CONTROLLER;
    for (int k = 0; k < rq->topics_count; k++)
        if (k != i && same_name(rq->topics[k].name, in->name)) {
            *msg = "Duplicate topic in request.";
            return KERR_INVALID_REQUEST;
        }
    char name[256];
    snprintf(name, sizeof(name), "%.*s", MAX(in->name.len, 0), in->name.ptr ? in->name.ptr : "");
    const mc_topic_t *t = mc_find_topic(name);
    if (t && t->deleting) {
        *msg = "The topic is queued for deletion.";
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    return KERR_NONE;
}

static void grow_spec(request_t *req, const struct create_partitions_request_create_partitions_topic *in,
                      partitions_spec_t *s)
{
    s->name = kstr_dup_or_empty(&req->arena, in->name);
    s->count = in->count;
    s->replicas = NULL;
    if (in->assignments_count < 0)
        return;
    int32_t n = in->assignments_count;
    const int32_t **replicas = arena_array(&req->arena, (size_t)n + 1, sizeof(*replicas));
    int32_t *sizes = arena_array(&req->arena, (size_t)n + 1, sizeof(int32_t));
    for (int32_t i = 0; i < n; i++) {
        replicas[i] = in->assignments[i].broker_ids;
        sizes[i] = MAX(in->assignments[i].broker_ids_count, 0);
    }
    s->replicas = replicas;
    s->n_replicas = sizes;
    s->n_assignments = n;
}

enum handler_result api_create_partitions(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct create_partitions_request rq;
    if (create_partitions_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    int n = rq.topics_count > 0 ? rq.topics_count : 0;
    topics_wait_t *w = wait_new(req, n);
    w->grow = rq;
    partitions_spec_t *specs = arena_array(&req->arena, (size_t)n + 1, sizeof(*specs));
    int ns = 0;
    for (int i = 0; i < n; i++) {
        const char *msg;
        int16_t err = grow_precheck(b, &rq, i, &msg);
        if (!err && !authorize(req, ACL_OP_ALTER, ACL_RES_TOPIC,
                               kstr_dup_or_empty(&req->arena, rq.topics[i].name))) {
            err = KERR_TOPIC_AUTHORIZATION_FAILED;
            msg = "Authorization failed.";
        }
        if (err) {
            w->results[i].error = err;
            snprintf(w->results[i].message, sizeof(w->results[i].message), "%s", msg ? msg : "");
            continue;
        }
        grow_spec(req, &rq.topics[i], &specs[ns]);
        w->map[ns++] = i;
    }
    topic_result_t *sub = arena_array(&req->arena, (size_t)ns + 1, sizeof(*sub));
    w->respond = grow_respond;
    mutation_quota_t *q = quota_mutation(req, CREATE_PARTITIONS_STRICT_SINCE, true);
    int submitted = topic_admin_add_partitions(b, specs, ns, rq.validate_only, rq.timeout_ms, q,
                                               sub, topics_done, w);
    return answer_or_park(b, req, w, submitted, sub, ns);
}
