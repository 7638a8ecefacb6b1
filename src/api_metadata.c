/*
 * api_metadata.c - owns Metadata: brokers, controller, cluster id, topics
 * with partition leaders/replicas/ISR, and auto-creation of unknown topics
 * when auto.create.topics.enable (and the request) allow it.
 * Event-loop thread only.
 */
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "topic_admin.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "proto_messages.h"

/* Kafka's AclOperation codes as bits: READ 3, WRITE 4, CREATE 5, DELETE 6,
 * ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
 * ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12; a topic supports the first eight
 * but CLUSTER_ACTION, the cluster CREATE, ALTER, DESCRIBE and 9-12. */
#define TOPIC_OPERATIONS ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | \
                          (1 << 10) | (1 << 11))
#define CLUSTER_OPERATIONS ((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | \
                            (1 << 12))

static int32_t *copy_ids(request_t *req, const int32_t *ids, int n)
{
    int32_t *out = arena_array(&req->arena, (size_t)(n > 0 ? n : 1), sizeof(int32_t));
    if (n > 0)
        memcpy(out, ids, sizeof(int32_t) * (size_t)n);
    return out;
}

/* Partitions a controller has told this broker about (Kafka's cache holds
 * nothing else); a topic with none is unknown to clients. */
static int announced_partitions(const mc_topic_t *t)
{
    int n = 0;
    for (int p = 0; p < t->n_partitions; p++)
        n += mc_partition_announced(&t->parts[p]);
    return n;
}

const mc_endpoint_t *api_broker_endpoint(const request_t *req, const mc_broker_t *mb)
{
    return mc_broker_endpoint(mb, conn_listener(req->conn)->name);
}

/* Kafka's getPartitionMetadata: a leader the controller did not list as
 * live, or without the client's listener, is no leader (v6+ names the
 * missing listener). */
static void fill_partition(request_t *req, const mc_partition_t *mp,
                           struct metadata_response_metadata_response_partition *op)
{
    const mc_broker_t *leader = mp->leader >= 0 ? mc_find_broker(mp->leader) : NULL;
    bool reachable = leader && api_broker_endpoint(req, leader);
    op->partition_index = mp->id;
    op->leader_id = reachable ? mp->leader : -1;
    op->leader_epoch = mp->leader_epoch;
    op->error_code = reachable ? KERR_NONE
                     : leader && req->hdr.request_api_version >= 6 ? KERR_LISTENER_NOT_FOUND
                                                                    : KERR_LEADER_NOT_AVAILABLE;
    op->replica_nodes_count = mp->n_replicas;
    op->replica_nodes = copy_ids(req, mp->replicas, mp->n_replicas);
    op->isr_nodes_count = mp->n_isr;
    op->isr_nodes = copy_ids(req, mp->isr, mp->n_isr);
    /* The replicas the controller reported offline (a failed log dir
     * too), and any on a broker it no longer lists as live. */
    op->offline_replicas_count = 0;
    op->offline_replicas = arena_array(&req->arena, (size_t)mp->n_replicas + 1, sizeof(int32_t));
    for (int r = 0; r < mp->n_replicas; r++)
        if (!mc_find_broker(mp->replicas[r]) ||
            mc_ids_have(mp->offline, mp->n_offline, mp->replicas[r]))
            op->offline_replicas[op->offline_replicas_count++] = mp->replicas[r];
}

static void fill_topic(request_t *req, mc_topic_t *t, struct metadata_response_metadata_response_topic *o)
{
    o->name = kstr_from_cstr(arena_strdup(&req->arena, t->name));
    o->topic_id = t->id;
    o->is_internal = t->name[0] == '_' && t->name[1] == '_';
    o->partitions_count = announced_partitions(t);
    o->partitions = metadata_response_metadata_response_partition_array(&req->arena,
                                                                        o->partitions_count);
    for (int p = 0, k = 0; p < t->n_partitions; p++)
        if (mc_partition_announced(&t->parts[p]))
            fill_partition(req, &t->parts[p], &o->partitions[k++]);
}

static void fill_requested_topic(broker_t *b, request_t *req, kstr_t name, bool allow_create,
                                 struct metadata_response_metadata_response_topic *o)
{
    char *n = kstr_dup(&req->arena, name);
    o->name = name;
    if (!n) {
        o->error_code = KERR_INVALID_TOPIC_EXCEPTION;
        return;
    }
    if (!authorize(req, ACL_OP_DESCRIBE, ACL_RES_TOPIC, n)) {
        o->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    mc_topic_t *t = mc_find_topic(n);
    if (!mc_topic_visible(t))
        t = NULL;                   /* as Kafka's cache, which drops it at LeaderDuringDelete */
    if (!t) {
        const char *why = topic_name_invalid(n, name.len);
        if (why) {
            o->error_code = KERR_INVALID_TOPIC_EXCEPTION;
            log_info("metadata", "Metadata request from %s for invalid topic name '%s': %s",
                     conn_peer(req->conn), n, why);
            return;
        }
        if (!allow_create || !b->cfg->auto_create_topics) {
            o->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            return;
        }
        if (!authorize_quiet(req, ACL_OP_CREATE, ACL_RES_CLUSTER, ACL_CLUSTER_NAME) &&
            !authorize(req, ACL_OP_CREATE, ACL_RES_TOPIC, n)) {
            o->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            return;
        }
        /* As Kafka: creation starts and this answer says the leader is
         * not available yet; the client asks again. */
        if (!topic_admin_creating(n)) {
            topic_spec_t spec = { .name = n, .num_partitions = -1, .replication_factor = -1 };
            topic_result_t r;
            /* Charged to the client, not throttling this answer (Kafka). */
            mutation_quota_t *q = quota_mutation(req, PERMISSIVE_ALWAYS, false);
            if (topic_admin_create(b, &spec, 1, false, q, &r, NULL, NULL) == 0 &&
                r.error != KERR_TOPIC_ALREADY_EXISTS) {
                o->error_code = r.error;
                return;
            }
            log_info("metadata", "Auto-creating topic %s for %s", n, conn_peer(req->conn));
        }
        o->error_code = KERR_LEADER_NOT_AVAILABLE;
        return;
    }
    fill_topic(req, t, o);
}

enum { ENDPOINT_UNKNOWN = 0, ENDPOINT_BROKER = 1 };

/* Kafka's computeDescribeClusterResponse for a broker endpoint. */
enum handler_result api_describe_cluster(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct describe_cluster_request rq;
    if (describe_cluster_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_cluster_response resp;
    describe_cluster_response_defaults(&resp);
    if (rq.endpoint_type != ENDPOINT_BROKER) {
        resp.error_code = v == 0 ? KERR_INVALID_REQUEST
                          : rq.endpoint_type == ENDPOINT_UNKNOWN ? KERR_UNSUPPORTED_ENDPOINT_TYPE
                                                                 : KERR_MISMATCHED_ENDPOINT_TYPE;
        resp.error_message = kstr_from_cstr(
            rq.endpoint_type == ENDPOINT_UNKNOWN
                ? arena_printf(&req->arena, "Unsupported endpoint type %d", rq.endpoint_type)
                : arena_printf(&req->arena, "The request was sent to an endpoint of type BROKER, "
                               "but we wanted an endpoint of type CONTROLLER"));
        describe_cluster_response_encode(&req->resp, v, &resp);
        return REQ_DONE;
    }
    int nb, k = 0;
    const mc_broker_t *brokers = mc_brokers(&nb);
    resp.brokers = describe_cluster_response_describe_cluster_broker_array(&req->arena, nb);
    bool controller_known = false;
    for (int i = 0; i < nb; i++) {
        const mc_endpoint_t *ep = api_broker_endpoint(req, &brokers[i]);
        if (!ep)
            continue;
        resp.brokers[k].broker_id = brokers[i].id;
        resp.brokers[k].host = kstr_from_cstr(arena_strdup(&req->arena, ep->host));
        resp.brokers[k].port = ep->port;
        resp.brokers[k].rack = brokers[i].rack[0]
                                   ? kstr_from_cstr(arena_strdup(&req->arena, brokers[i].rack))
                                   : KSTR_NULL;
        controller_known |= brokers[i].id == b->controller_id;
        k++;
    }
    resp.brokers_count = k;
    resp.cluster_id = kstr_from_cstr(b->cluster_id);
    resp.controller_id = controller_known ? b->controller_id : -1;
    resp.endpoint_type = ENDPOINT_BROKER;
    if (rq.include_cluster_authorized_operations)
        resp.cluster_authorized_operations =
            authorized_operations(req, ACL_RES_CLUSTER, ACL_CLUSTER_NAME, CLUSTER_OPERATIONS);
    describe_cluster_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_metadata(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct metadata_request rq;
    if (metadata_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct metadata_response resp;
    metadata_response_defaults(&resp);
    resp.cluster_id = kstr_from_cstr(b->cluster_id);
    resp.controller_id = b->controller_id;
    /* v0: an empty list means all topics; v1+: null means all. */
    bool all = rq.topics_count < 0 || (v == 0 && rq.topics_count == 0);
    bool allow_create = v < 4 || rq.allow_auto_topic_creation;
    if (all) {
        int n = mc_topic_count(), k = 0;
        resp.topics = metadata_response_metadata_response_topic_array(&req->arena, n);
        /* Topics the client may not describe are left out, silently. */
        for (mc_topic_t *t = mc_topics(); t; t = t->hh.next)
            if (mc_topic_visible(t) && authorize_quiet(req, ACL_OP_DESCRIBE, ACL_RES_TOPIC, t->name))
                fill_topic(req, t, &resp.topics[k++]);
        resp.topics_count = k;
    } else {
        resp.topics_count = rq.topics_count;
        resp.topics = metadata_response_metadata_response_topic_array(&req->arena, rq.topics_count);
        for (int i = 0; i < rq.topics_count; i++)
            fill_requested_topic(b, req, rq.topics[i].name, allow_create, &resp.topics[i]);
    }
    /* Strings are copied because the cache may change before the response
     * is sent. */
    int nb, k = 0;
    const mc_broker_t *brokers = mc_brokers(&nb);
    resp.brokers = metadata_response_metadata_response_broker_array(&req->arena, nb);
    for (int i = 0; i < nb; i++) {
        /* Brokers without the client's listener are left out, as Kafka's
         * getAliveBrokerNodes(listenerName). */
        const mc_endpoint_t *ep = api_broker_endpoint(req, &brokers[i]);
        if (!ep)
            continue;
        resp.brokers[k].node_id = brokers[i].id;
        resp.brokers[k].host = kstr_from_cstr(arena_strdup(&req->arena, ep->host));
        resp.brokers[k].port = ep->port;
        resp.brokers[k].rack = brokers[i].rack[0]
                                   ? kstr_from_cstr(arena_strdup(&req->arena, brokers[i].rack))
                                   : KSTR_NULL;
        k++;
    }
    resp.brokers_count = k;
    /* Without an authorizer Kafka grants every operation a resource type
     * supports, and says so when asked. */
    if (v >= 8 && rq.include_topic_authorized_operations)
        for (int i = 0; i < resp.topics_count; i++)
            if (resp.topics[i].error_code == KERR_NONE)
                resp.topics[i].topic_authorized_operations = authorized_operations(
                    req, ACL_RES_TOPIC, kstr_dup_or_empty(&req->arena, resp.topics[i].name),
                    TOPIC_OPERATIONS);
    if (v >= 8 && v <= 10 && rq.include_cluster_authorized_operations)
        resp.cluster_authorized_operations =
            authorized_operations(req, ACL_RES_CLUSTER, ACL_CLUSTER_NAME, CLUSTER_OPERATIONS);
    metadata_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
