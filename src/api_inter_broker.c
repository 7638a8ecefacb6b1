/*
 * api_inter_broker.c - owns the requests a ZooKeeper-mode controller sends
 * to every broker: LeaderAndIsr, UpdateMetadata and StopReplica, with
 * Kafka's fencing (KafkaApis.handle*Request, ReplicaManager.
 * becomeLeaderOrFollower and stopReplicas): a controller epoch older than
 * the newest seen gets STALE_CONTROLLER_EPOCH, a broker epoch older than
 * this broker's registration (its znode's czxid) STALE_BROKER_EPOCH, a
 * partition state whose leader epoch is not newer than the last one
 * accepted STALE_CONTROLLER_EPOCH, a partition not assigned here
 * UNKNOWN_TOPIC_OR_PARTITION, and a StopReplica older than the
 * partition's leader epoch FENCED_LEADER_EPOCH.
 *
 * LeaderAndIsr hosts the partitions it names (opening their logs) and
 * gives them their role: leader, or follower fetching from the leader the
 * request's live leaders name (replica_manager.h).
 * UpdateMetadata gives the metadata cache its partition states (states of
 * topics the cache does not have yet wait for them, metadata_cache.h) and
 * its live brokers.  Partial: topic assignments and configs are still read
 * from ZooKeeper by controller.c.
 * Event-loop thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "listeners.h"
#include "logging.h"
#include "metadata_cache.h"
#include "proto_messages.h"
#include "replica_fetcher.h"
#include "replica_manager.h"
#include "topic_admin.h"
#include "topic_config_load.h"
#include "util.h"

#define EPOCH_DURING_DELETE (-2)
#define NO_EPOCH (-1)

/* The newest controller epoch seen in a controller request (Kafka's
 * ReplicaManager.controllerEpoch). */
static int32_t controller_epoch = -1;

/* Top-level fencing shared by the three requests: 0 or the error. */
static int16_t fence(broker_t *b, request_t *req, const char *what, int32_t controller_id,
                     int32_t epoch, int64_t broker_epoch)
{
    /* Kafka: only a principal with CLUSTER_ACTION on the cluster (the
     * controller's, as a super user) may send these. */
    if (!authorize(req, ACL_OP_CLUSTER_ACTION, ACL_RES_CLUSTER, ACL_CLUSTER_NAME))
        return KERR_CLUSTER_AUTHORIZATION_FAILED;
    if (broker_epoch != -1 && b->broker_epoch >= 0 && broker_epoch < b->broker_epoch) {
        log_info("state.change", "Received %s request with broker epoch %" PRId64 " smaller than the "
                 "current broker epoch %" PRId64 " from controller %d with epoch %d", what,
                 broker_epoch, b->broker_epoch, controller_id, epoch);
        return KERR_STALE_BROKER_EPOCH;
    }
    if (epoch < controller_epoch) {
        log_warn("state.change", "Ignoring %s request from controller %d since its controller epoch "
                 "%d is old. Latest known controller epoch is %d", what, controller_id, epoch,
                 controller_epoch);
        return KERR_STALE_CONTROLLER_EPOCH;
    }
    controller_epoch = epoch;
    return KERR_NONE;
}

static int16_t become(broker_t *b, arena_t *arena, const struct leader_and_isr_request *rq,
                      const struct leader_and_isr_request_leader_and_isr_partition_state *s,
                      const char *topic)
{
    const char *bad = topic ? topic_name_invalid(topic, (int)strlen(topic)) : "null topic name";
    if (bad || s->partition_index < 0) {
        /* The name becomes a directory name: never "..", never a path. */
        log_warn("state.change", "Ignoring LeaderAndIsr request from controller %d for a partition "
                 "of an invalid topic name (%s)", rq->controller_id, bad ? bad : "negative partition");
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (!mc_ids_have(s->replicas, s->replicas_count, b->cfg->broker_id)) {
        log_warn("state.change", "Ignoring LeaderAndIsr request from controller %d epoch %d for "
                 "partition %s-%d as itself is not in assigned replica list", rq->controller_id,
                 rq->controller_epoch, topic, s->partition_index);
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    partition_t *p = rm_host(b, topic, s->partition_index);
    if (s->leader_epoch <= p->accepted_leader_epoch) {
        log_warn("state.change", "Ignoring LeaderAndIsr request from controller %d epoch %d for "
                 "partition %s-%d since its associated leader epoch %d is not newer than %d",
                 rq->controller_id, rq->controller_epoch, topic, s->partition_index, s->leader_epoch,
                 p->accepted_leader_epoch);
        return KERR_STALE_CONTROLLER_EPOCH;
    }
    const char *host = NULL;
    int32_t port = 0;
    for (int i = 0; i < rq->live_leaders_count && !host; i++)
        if (rq->live_leaders[i].broker_id == s->leader) {
            host = kstr_dup(arena, rq->live_leaders[i].host_name);
            port = rq->live_leaders[i].port;
        }
    rm_set_leadership(b, p, s->leader, s->leader_epoch, s->partition_epoch, s->replicas,
                      s->replicas_count, s->isr, s->isr_count, host, port);
    return KERR_NONE;
}

/* The partition states of any version, one callback each. */
typedef void (*lisr_fn)(const struct leader_and_isr_request_leader_and_isr_partition_state *s,
                        const char *topic, int ti, void *arg);

static void foreach_lisr_state(request_t *req, const struct leader_and_isr_request *rq, lisr_fn fn,
                               void *arg)
{
    for (int i = 0; i < rq->ungrouped_partition_states_count; i++) {
        const struct leader_and_isr_request_leader_and_isr_partition_state *s =
            &rq->ungrouped_partition_states[i];
        fn(s, kstr_dup(&req->arena, s->topic_name), -1, arg);
    }
    for (int t = 0; t < rq->topic_states_count; t++) {
        const char *topic = kstr_dup(&req->arena, rq->topic_states[t].topic_name);
        for (int i = 0; i < rq->topic_states[t].partition_states_count; i++)
            fn(&rq->topic_states[t].partition_states[i], topic, t, arg);
    }
}

typedef struct lisr_ctx {
    broker_t *b;
    request_t *req;
    const struct leader_and_isr_request *rq;
    struct leader_and_isr_response *resp;
    int n;                      /* partition errors filled */
    int16_t top_error;
} lisr_ctx_t;

static void count_state(const struct leader_and_isr_request_leader_and_isr_partition_state *s,
                        const char *topic, int ti, void *arg)
{
    (void)s, (void)topic, (void)ti;
    ((lisr_ctx_t *)arg)->n++;
}

static void answer_state(const struct leader_and_isr_request_leader_and_isr_partition_state *s,
                         const char *topic, int ti, void *arg)
{
    lisr_ctx_t *c = arg;
    int16_t err = c->top_error ? c->top_error : become(c->b, &c->req->arena, c->rq, s, topic);
    struct leader_and_isr_response_leader_and_isr_partition_error *e;
    if (ti >= 0 && c->req->hdr.request_api_version >= 5) {
        struct leader_and_isr_response_leader_and_isr_topic_error *te = &c->resp->topics[ti];
        e = &te->partition_errors[te->partition_errors_count++];
    } else {
        e = &c->resp->partition_errors[c->resp->partition_errors_count++];
    }
    e->topic_name = kstr_from_cstr(topic);
    e->partition_index = s->partition_index;
    e->error_code = err;
}

/* The topic of a partition state in the cache (LeaderAndIsr may come
 * before UpdateMetadata), and whether its config is known: the request
 * waits for those that are not (topic_config_load.h). */
static void want_config(const struct leader_and_isr_request_leader_and_isr_partition_state *s,
                        const char *topic, int ti, void *arg)
{
    lisr_ctx_t *c = arg;
    if (!topic || topic_name_invalid(topic, (int)strlen(topic)) || s->partition_index < 0 ||
        !mc_ids_have(s->replicas, s->replicas_count, c->b->cfg->broker_id))
        return;                         /* answered with an error, no log */
    kuuid_t id = ti >= 0 ? c->rq->topic_states[ti].topic_id : (kuuid_t){ { 0 } };
    mc_topic_t *t = mc_ensure_topic(topic, id, s->partition_index + 1);
    if (!t->cfg_loaded) {
        tcl_want(c->b, t);
        c->n++;
    }
}

enum handler_result api_leader_and_isr(broker_t *b, request_t *req)
{
    struct leader_and_isr_request rq;
    int16_t v = req->hdr.request_api_version;
    kreader_t body = req->body;     /* kept whole: a parked request decodes again */
    if (leader_and_isr_request_decode(&body, v, &rq) < 0)
        return REQ_CLOSE;
    struct leader_and_isr_response resp;
    leader_and_isr_response_defaults(&resp);
    lisr_ctx_t c = { b, req, &rq, &resp, 0, KERR_NONE };
    resp.error_code = fence(b, req, "LeaderAndIsr", rq.controller_id, rq.controller_epoch, rq.broker_epoch);
    if (resp.error_code == KERR_NONE) {
        foreach_lisr_state(req, &rq, want_config, &c);
        if (c.n > 0) {
            log_info("state.change", "LeaderAndIsr request correlationId %d from controller %d "
                     "waits for the configs of %d partition(s)' topics", req->hdr.correlation_id,
                     rq.controller_id, c.n);
            tcl_park(req, api_leader_and_isr);
            return REQ_PARKED;
        }
        foreach_lisr_state(req, &rq, count_state, &c);
        log_info("state.change", "Handling LeaderAndIsr request correlationId %d from controller %d "
                 "for %d partitions", req->hdr.correlation_id, rq.controller_id, c.n);
        if (v >= 5) {
            resp.topics_count = rq.topic_states_count > 0 ? rq.topic_states_count : 0;
            resp.topics = leader_and_isr_response_leader_and_isr_topic_error_array(&req->arena,
                                                                                   resp.topics_count);
            for (int t = 0; t < resp.topics_count; t++) {
                resp.topics[t].topic_id = rq.topic_states[t].topic_id;
                resp.topics[t].partition_errors = leader_and_isr_response_leader_and_isr_partition_error_array(
                    &req->arena, rq.topic_states[t].partition_states_count);
                resp.topics[t].partition_errors_count = 0;
            }
        }
        resp.partition_errors = leader_and_isr_response_leader_and_isr_partition_error_array(&req->arena, c.n);
        resp.partition_errors_count = 0;
        foreach_lisr_state(req, &rq, answer_state, &c);
    }
    fetchers_shutdown_idle();     /* Kafka: after every LeaderAndIsr */
    leader_and_isr_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* One partition's state into the cache; a topic it brings in has its
 * config read (topic_config_load.h). */
static void cache_state(broker_t *b, const char *topic, kuuid_t topic_id,
                        const struct update_metadata_request_update_metadata_partition_state *s)
{
    if (topic &&
        mc_update_partition(topic, topic_id, s->partition_index, s->leader, s->leader_epoch,
                            s->zk_version, s->replicas, s->replicas_count, s->isr, s->isr_count,
                            s->offline_replicas ? s->offline_replicas : s->replicas,
                            s->offline_replicas ? s->offline_replicas_count : 0))
        tcl_want(b, mc_find_topic(topic));
}

static void copy_kstr(char *dst, size_t size, kstr_t s)
{
    snprintf(dst, size, "%.*s", MAX(s.len, 0), s.ptr ? s.ptr : "");
}

/* The live brokers the controller names, as the cache keeps them (v0
 * names one PLAINTEXT endpoint; later versions each listener's). */
static void cache_live_brokers(broker_t *b, const struct update_metadata_request *rq)
{
    int n = MAX(rq->live_brokers_count, 0);
    mc_broker_t *live = xcalloc((size_t)n + 1, sizeof(*live));
    for (int i = 0; i < n; i++) {
        const struct update_metadata_request_update_metadata_broker *ub = &rq->live_brokers[i];
        mc_broker_t *mb = &live[i];
        mb->id = ub->id;
        mb->epoch = -1;             /* UpdateMetadata carries no broker's epoch */
        if (ub->endpoints_count <= 0) {
            mc_endpoint_t *e = &mb->endpoints[mb->n_endpoints++];
            snprintf(e->listener, sizeof(e->listener), "PLAINTEXT");
            copy_kstr(e->host, sizeof(e->host), ub->v0_host);
            e->port = ub->v0_port;
            e->security_protocol = SECURITY_PLAINTEXT;
        }
        for (int k = 0; k < ub->endpoints_count && mb->n_endpoints < CONFIG_MAX_LISTENERS; k++) {
            mc_endpoint_t *e = &mb->endpoints[mb->n_endpoints++];
            copy_kstr(e->listener, sizeof(e->listener), ub->endpoints[k].listener);
            copy_kstr(e->host, sizeof(e->host), ub->endpoints[k].host);
            e->port = ub->endpoints[k].port;
            e->security_protocol = ub->endpoints[k].security_protocol;
        }
        copy_kstr(mb->rack, sizeof(mb->rack), ub->rack);
        mc_broker_pick_inter_broker(mb, b->cfg->inter_broker_listener);
        if (mb->id == b->cfg->broker_id)
            mb->epoch = b->broker_epoch;
    }
    mc_set_brokers(live, n);
    free(live);
}

enum handler_result api_update_metadata(broker_t *b, request_t *req)
{
    struct update_metadata_request rq;
    int16_t v = req->hdr.request_api_version;
    if (update_metadata_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct update_metadata_response resp;
    update_metadata_response_defaults(&resp);
    resp.error_code = fence(b, req, "UpdateMetadata", rq.controller_id, rq.controller_epoch, rq.broker_epoch);
    if (resp.error_code == KERR_NONE) {
        cache_live_brokers(b, &rq);
        for (int i = 0; i < rq.ungrouped_partition_states_count; i++)
            cache_state(b, kstr_dup(&req->arena, rq.ungrouped_partition_states[i].topic_name),
                        (kuuid_t){ { 0 } }, &rq.ungrouped_partition_states[i]);
        for (int t = 0; t < rq.topic_states_count; t++) {
            const char *topic = kstr_dup(&req->arena, rq.topic_states[t].topic_name);
            for (int i = 0; i < rq.topic_states[t].partition_states_count; i++)
                cache_state(b, topic, rq.topic_states[t].topic_id,
                            &rq.topic_states[t].partition_states[i]);
        }
    }
    update_metadata_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* One partition of a StopReplica (Kafka's stopReplicas rules), answered
 * into *e. */
static void stop_one(request_t *req, kstr_t topic_name, int32_t id, int32_t leader_epoch, bool delete,
                     struct stop_replica_response_stop_replica_partition_error *e)
{
    const char *topic = kstr_dup(&req->arena, topic_name);
    e->topic_name = topic_name;
    e->partition_index = id;
    e->error_code = KERR_NONE;
    partition_t *p = topic ? rm_partition(topic, id) : NULL;
    if (p && leader_epoch != EPOCH_DURING_DELETE && leader_epoch != NO_EPOCH &&
        leader_epoch < p->leader_epoch) {
        log_warn("state.change", "Ignoring StopReplica request (delete=%s) for partition %s-%d since "
                 "its associated leader epoch %d is smaller than the current leader epoch %d",
                 delete ? "true" : "false", topic, id, leader_epoch, p->leader_epoch);
        e->error_code = KERR_FENCED_LEADER_EPOCH;
        return;
    }
    if (topic)
        rm_stop_replica(topic, id, delete);
}

enum handler_result api_stop_replica(broker_t *b, request_t *req)
{
    struct stop_replica_request rq;
    int16_t v = req->hdr.request_api_version;
    if (stop_replica_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct stop_replica_response resp;
    stop_replica_response_defaults(&resp);
    resp.error_code = fence(b, req, "StopReplica", rq.controller_id, rq.controller_epoch, rq.broker_epoch);
    if (resp.error_code == KERR_NONE) {
        int n = MAX(rq.ungrouped_partitions_count, 0);
        for (int t = 0; t < rq.topics_count; t++)
            n += MAX(rq.topics[t].partition_indexes_count, 0);
        for (int t = 0; t < rq.topic_states_count; t++)
            n += MAX(rq.topic_states[t].partition_states_count, 0);
        resp.partition_errors = stop_replica_response_stop_replica_partition_error_array(&req->arena, n);
        resp.partition_errors_count = n;
        struct stop_replica_response_stop_replica_partition_error *e = resp.partition_errors;
        for (int i = 0; i < rq.ungrouped_partitions_count; i++)
            stop_one(req, rq.ungrouped_partitions[i].topic_name, rq.ungrouped_partitions[i].partition_index,
                     NO_EPOCH, rq.delete_partitions, e++);
        for (int t = 0; t < rq.topics_count; t++)
            for (int i = 0; i < rq.topics[t].partition_indexes_count; i++)
                stop_one(req, rq.topics[t].name, rq.topics[t].partition_indexes[i], NO_EPOCH,
                         rq.delete_partitions, e++);
        for (int t = 0; t < rq.topic_states_count; t++)
            for (int i = 0; i < rq.topic_states[t].partition_states_count; i++) {
                const struct stop_replica_request_stop_replica_partition_state *s =
                    &rq.topic_states[t].partition_states[i];
                stop_one(req, rq.topic_states[t].topic_name, s->partition_index, s->leader_epoch,
                         s->delete_partition, e++);
            }
        log_info("state.change", "Handled StopReplica request correlationId %d from controller %d "
                 "for %d partitions", req->hdr.correlation_id, rq.controller_id, n);
    }
    fetchers_shutdown_idle();
    stop_replica_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
