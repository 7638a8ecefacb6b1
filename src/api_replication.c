/*
 * api_replication.c - owns two requests of replication: OffsetForLeaderEpoch
 * (a follower or a KIP-320 consumer asks where a leader epoch ends in the
 * leader's log, answered from the leader-epoch cache), and the two requests
 * brokers send the controller, answered by its context on the ZooKeeper
 * thread (controller_state.h): AlterPartition (a leader changes a
 * partition's ISR) and ControlledShutdown (a broker about to stop asks for
 * its leadership to move away), and AllocateProducerIds (a Java broker at
 * IBP 3.0+ asks the controller for a block of producer ids); and ElectLeaders
 * from operators (kafka-leader-election, the Admin API), and the
 * reassignment requests (kafka-reassign-partitions, the Admin API).
 * Event-loop thread, except where marked.
 */
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "api.h"
#include "authorizer.h"
#include "controller_state.h"
#include "kafka_errors.h"
#include "leader_epoch.h"
#include "producer_ids.h"
#include "logging.h"
#include "proto_messages.h"
#include "replica_manager.h"
#include "util.h"

static void epoch_end(broker_t *b, const char *topic, int16_t v,
                      const struct offset_for_leader_epoch_request_offset_for_leader_partition *in,
                      struct offset_for_leader_epoch_response_epoch_end_offset *out)
{
    out->partition = in->partition;
    out->leader_epoch = UNDEFINED_EPOCH;
    out->end_offset = UNDEFINED_EPOCH_OFFSET;
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, in->partition, v >= 2 ? in->current_leader_epoch : -1,
                                   &err);
    if (!p) {
        out->error_code = err;
        return;
    }
    int32_t epoch;
    out->end_offset = lec_end_offset_for(&p->log->epochs, in->leader_epoch, p->log->log_end_offset,
                                         &epoch);
    out->leader_epoch = epoch;
}

enum handler_result api_offset_for_leader_epoch(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct offset_for_leader_epoch_request rq;
    if (offset_for_leader_epoch_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct offset_for_leader_epoch_response resp;
    offset_for_leader_epoch_response_defaults(&resp);
    int nt = MAX(rq.topics_count, 0);
    resp.topics_count = nt;
    resp.topics = offset_for_leader_epoch_response_offset_for_leader_topic_result_array(&req->arena, nt);
    for (int i = 0; i < nt; i++) {
        const char *topic = kstr_dup_or_empty(&req->arena, rq.topics[i].topic);
        int np = MAX(rq.topics[i].partitions_count, 0);
        resp.topics[i].topic = rq.topics[i].topic;
        resp.topics[i].partitions_count = np;
        resp.topics[i].partitions = offset_for_leader_epoch_response_epoch_end_offset_array(&req->arena, np);
        /* Kafka: a follower needs CLUSTER_ACTION, a consumer DESCRIBE on the topic. */
        bool follower = v >= 3 && rq.replica_id >= 0;
        bool allowed = follower
                           ? authorize(req, ACL_OP_CLUSTER_ACTION, ACL_RES_CLUSTER, ACL_CLUSTER_NAME)
                           : authorize(req, ACL_OP_DESCRIBE, ACL_RES_TOPIC, topic);
        for (int p = 0; p < np; p++) {
            struct offset_for_leader_epoch_response_epoch_end_offset *out =
                &resp.topics[i].partitions[p];
            if (allowed) {
                epoch_end(b, topic, v, &rq.topics[i].partitions[p], out);
                continue;
            }
            out->partition = rq.topics[i].partitions[p].partition;
            out->leader_epoch = UNDEFINED_EPOCH;
            out->end_offset = UNDEFINED_EPOCH_OFFSET;
            out->error_code = follower ? KERR_CLUSTER_AUTHORIZATION_FAILED
                                       : KERR_TOPIC_AUTHORIZATION_FAILED;
        }
    }
    offset_for_leader_epoch_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- requests answered by the controller's context ---- */

/* @locality the ZooKeeper thread
 * @locks none */
static void alter_partition_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                   kwriter_t *out)
{
    struct alter_partition_request rq;
    struct alter_partition_response resp;
    if (denied || alter_partition_request_decode(body, v, &rq) < 0) {
        alter_partition_response_defaults(&resp);
        resp.error_code = denied ? denied : cs_is_active() ? KERR_INVALID_REQUEST : KERR_NOT_CONTROLLER;
    } else {
        cs_alter_partition(a, v, &rq, &resp);
    }
    alter_partition_response_encode(out, v, &resp);
}

enum handler_result api_alter_partition(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, alter_partition_handle, ACL_OP_CLUSTER_ACTION);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void controlled_shutdown_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                       kwriter_t *out)
{
    struct controlled_shutdown_request rq;
    struct controlled_shutdown_response resp;
    controlled_shutdown_response_defaults(&resp);
    prefs_t remaining = { 0 };
    if (denied)
        resp.error_code = denied;
    else if (controlled_shutdown_request_decode(body, v, &rq) < 0)
        resp.error_code = cs_is_active() ? KERR_INVALID_REQUEST : KERR_STALE_CONTROLLER_EPOCH;
    else
        resp.error_code = cs_controlled_shutdown(rq.broker_id, v >= 2 ? rq.broker_epoch : -1,
                                                 &remaining);
    resp.remaining_partitions_count = remaining.n;
    resp.remaining_partitions = controlled_shutdown_response_remaining_partition_array(a, remaining.n);
    for (int i = 0; i < remaining.n; i++) {
        resp.remaining_partitions[i].topic_name = kstr_from_cstr(remaining.v[i].t->name);
        resp.remaining_partitions[i].partition_index = remaining.v[i].p;
    }
    controlled_shutdown_response_encode(out, v, &resp);
    prefs_free(&remaining);
}

enum handler_result api_controlled_shutdown(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, controlled_shutdown_handle, ACL_OP_CLUSTER_ACTION);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void allocate_producer_ids_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                         kwriter_t *out)
{
    (void)a;
    struct allocate_producer_ids_request rq;
    struct allocate_producer_ids_response resp;
    allocate_producer_ids_response_defaults(&resp);
    if (denied) {
        resp.error_code = denied;
    } else if (!cs_is_active()) {
        resp.error_code = KERR_NOT_CONTROLLER;
    } else if (allocate_producer_ids_request_decode(body, v, &rq) < 0) {
        resp.error_code = KERR_INVALID_REQUEST;
    } else if (!cs_broker_epoch_ok(rq.broker_id, rq.broker_epoch)) {
        resp.error_code = KERR_STALE_BROKER_EPOCH;
    } else {
        /* The block znode Kafka's ZooKeeper-mode controller hands out. */
        int64_t start = pid_claim_block(rq.broker_id);
        resp.error_code = start < 0 ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
        resp.producer_id_start = start;
        resp.producer_id_len = start < 0 ? 0 : PID_BLOCK_SIZE;
    }
    allocate_producer_ids_response_encode(out, v, &resp);
}

enum handler_result api_allocate_producer_ids(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, allocate_producer_ids_handle, ACL_OP_CLUSTER_ACTION);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void elect_leaders_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                 kwriter_t *out)
{
    struct elect_leaders_request rq;
    struct elect_leaders_response resp;
    elect_leaders_response_defaults(&resp);
    if (elect_leaders_request_decode(body, v, &rq) < 0) {
        resp.error_code = KERR_INVALID_REQUEST;
    } else if (denied || !cs_is_active()) {
        /* Kafka answers each named partition NOT_CONTROLLER (or the
         * refusal, which is also the whole answer's error). */
        int16_t err = denied ? denied : KERR_NOT_CONTROLLER;
        resp.error_code = denied;
        int nt = MAX(rq.topic_partitions_count, 0);
        resp.replica_election_results_count = nt;
        resp.replica_election_results = elect_leaders_response_replica_election_result_array(a, nt);
        for (int i = 0; i < nt; i++) {
            int np = MAX(rq.topic_partitions[i].partitions_count, 0);
            struct elect_leaders_response_replica_election_result *r = &resp.replica_election_results[i];
            r->topic = rq.topic_partitions[i].topic;
            r->partition_result_count = np;
            r->partition_result = elect_leaders_response_partition_result_array(a, np);
            for (int p = 0; p < np; p++) {
                r->partition_result[p].partition_id = rq.topic_partitions[i].partitions[p];
                r->partition_result[p].error_code = err;
            }
        }
    } else {
        cs_elect_leaders(a, v, &rq, &resp);
    }
    elect_leaders_response_encode(out, v, &resp);
}

enum handler_result api_elect_leaders(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, elect_leaders_handle, ACL_OP_ALTER);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void alter_reassignments_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                       kwriter_t *out)
{
    struct alter_partition_reassignments_request rq;
    struct alter_partition_reassignments_response resp;
    if (denied || alter_partition_reassignments_request_decode(body, v, &rq) < 0) {
        alter_partition_reassignments_response_defaults(&resp);
        resp.error_code = denied ? denied : cs_is_active() ? KERR_INVALID_REQUEST : KERR_NOT_CONTROLLER;
    } else {
        cs_alter_reassignments(a, &rq, &resp);
    }
    alter_partition_reassignments_response_encode(out, v, &resp);
}

enum handler_result api_alter_partition_reassignments(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, alter_reassignments_handle, ACL_OP_ALTER);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void list_reassignments_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                      kwriter_t *out)
{
    struct list_partition_reassignments_request rq;
    struct list_partition_reassignments_response resp;
    if (denied || list_partition_reassignments_request_decode(body, v, &rq) < 0) {
        list_partition_reassignments_response_defaults(&resp);
        resp.error_code = denied ? denied : cs_is_active() ? KERR_INVALID_REQUEST : KERR_NOT_CONTROLLER;
    } else {
        cs_list_reassignments(a, &rq, &resp);
    }
    list_partition_reassignments_response_encode(out, v, &resp);
}

enum handler_result api_list_partition_reassignments(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, list_reassignments_handle, ACL_OP_DESCRIBE);
}
