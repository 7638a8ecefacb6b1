/*
 * api_groups.c - owns the group APIs on the wire: FindCoordinator,
 * JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
 * DescribeGroups, ListGroups, DeleteGroups and OffsetDelete.  Decodes
 * requests, asks group_coordinator.c, encodes what it answers.
 * Event-loop thread only.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "authorizer.h"
#include "client_quotas.h"
#include "coord_log.h"
#include "group_coordinator.h"
#include "txn_coordinator.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "offsets_topic.h"
#include "proto_messages.h"
#include "replica_manager.h"
#include "util.h"

#define COMP "group-api"

/* Kafka's group checks: op on the group named by the request. */
static bool group_allowed(request_t *req, int8_t op, kstr_t group)
{
    return authorize(req, op, ACL_RES_GROUP, kstr_dup_or_empty(&req->arena, group));
}

static kstr_t arena_kstr(arena_t *a, const char *s)
{
    return s ? kstr_from_cstr(arena_strdup(a, s)) : KSTR_NULL;
}

static kbytes_t arena_kbytes(arena_t *a, const uint8_t *p, int32_t n)
{
    if (!p)
        return (kbytes_t){ NULL, 0 };
    uint8_t *d = arena_alloc(a, (size_t)n + 1);
    if (n)
        memcpy(d, p, (size_t)n);
    return (kbytes_t){ d, n };
}

/* ---- FindCoordinator ---- */

/* A coordinator topic FindCoordinator creates is charged to the client,
 * not throttling this answer (Kafka's newPermissiveQuotaFor). */
static mutation_quota_t *creation_quota(request_t *req)
{
    return quota_mutation(req, PERMISSIVE_ALWAYS, false);
}

/* The coordinator of a key: the leader of its __consumer_offsets (key
 * type 0, a group) or __transaction_state (1, a transactional id)
 * partition, as the metadata cache has it. */
static void fill_coordinator(request_t *req, kstr_t key, int8_t key_type, int16_t version,
                             int32_t *node, kstr_t *host, int32_t *port, int16_t *code, kstr_t *msg)
{
    int32_t id = -1;
    const char *name = kstr_dup_or_empty(&req->arena, key);
    /* Share groups (key type 2, v6) have no coordinator in Kafka 3.9. */
    int16_t err = key_type == 0 && !authorize(req, ACL_OP_DESCRIBE, ACL_RES_GROUP, name)
                      ? KERR_GROUP_AUTHORIZATION_FAILED
                  : key_type == 1 && !authorize(req, ACL_OP_DESCRIBE, ACL_RES_TRANSACTIONAL_ID, name)
                      ? KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                  : key_type == 0 ? gc_find_coordinator(key, &id, creation_quota(req))
                  : key_type == 1 ? tc_find_coordinator(key, &id, creation_quota(req))
                  : key_type == 2 && version >= 6 ? KERR_COORDINATOR_NOT_AVAILABLE
                                                  : KERR_INVALID_REQUEST;
    const mc_broker_t *mb = err ? NULL : mc_find_broker(id);
    const mc_endpoint_t *ep = mb ? api_broker_endpoint(req, mb) : NULL;
    if (!err && !ep)
        err = KERR_COORDINATOR_NOT_AVAILABLE;
    *code = err;
    *node = -1;
    *host = KSTR_LIT("");
    *port = -1;
    *msg = err ? kstr_from_cstr(kafka_error_name(err)) : KSTR_NULL;
    if (err)
        return;
    *node = mb->id;
    *host = kstr_from_cstr(ep->host);
    *port = ep->port;
}

enum handler_result api_find_coordinator(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct find_coordinator_request rq;
    if (find_coordinator_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct find_coordinator_response resp;
    find_coordinator_response_defaults(&resp);
    if (v >= 4) {
        int n = rq.coordinator_keys_count > 0 ? rq.coordinator_keys_count : 0;
        resp.coordinators_count = n;
        resp.coordinators = find_coordinator_response_coordinator_array(&req->arena, n);
        for (int i = 0; i < n; i++) {
            struct find_coordinator_response_coordinator *c = &resp.coordinators[i];
            c->key = rq.coordinator_keys[i];
            fill_coordinator(req, rq.coordinator_keys[i], rq.key_type, v, &c->node_id, &c->host,
                             &c->port, &c->error_code, &c->error_message);
        }
    } else {
        fill_coordinator(req, rq.key, rq.key_type, v, &resp.node_id, &resp.host, &resp.port,
                         &resp.error_code, &resp.error_message);
    }
    find_coordinator_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- JoinGroup ---- */

static void join_done(request_t *req, const join_result_t *res)
{
    int16_t v = req->hdr.request_api_version;
    struct join_group_response resp;
    join_group_response_defaults(&resp);
    resp.error_code = res->error;
    resp.generation_id = res->generation;
    resp.protocol_type = arena_kstr(&req->arena, res->protocol_type);
    resp.protocol_name = arena_kstr(&req->arena, res->protocol_name);
    if (v < 7 && resp.protocol_name.len < 0)
        resp.protocol_name = KSTR_LIT("");
    resp.leader = arena_kstr(&req->arena, res->leader);
    resp.member_id = arena_kstr(&req->arena, res->member_id);
    resp.members_count = res->n_members;
    resp.members = join_group_response_join_group_response_member_array(&req->arena, res->n_members);
    for (int i = 0; i < res->n_members; i++) {
        resp.members[i].member_id = arena_kstr(&req->arena, res->members[i].member_id);
        resp.members[i].group_instance_id = arena_kstr(&req->arena, res->members[i].instance_id);
        resp.members[i].metadata = arena_kbytes(&req->arena, res->members[i].metadata,
                                                res->members[i].metadata_len);
    }
    kw_reset(&req->resp);
    join_group_response_encode(&req->resp, v, &resp);
    if (res->error && res->error != KERR_MEMBER_ID_REQUIRED)
        log_info(COMP, "JoinGroup from %s failed: %s", conn_peer(req->conn),
                 kafka_error_name(res->error));
}

enum handler_result api_join_group(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct join_group_request rq;
    if (join_group_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    if (!group_allowed(req, ACL_OP_READ, rq.group_id)) {
        join_result_t denied = { .error = KERR_GROUP_AUTHORIZATION_FAILED, .generation = -1,
                                 .member_id = "", .leader = "" };
        join_done(req, &denied);
        return REQ_DONE;
    }
    int n = rq.protocols_count > 0 ? rq.protocols_count : 0;
    join_args_t a = {
        .group_id = rq.group_id, .member_id = rq.member_id, .instance_id = rq.group_instance_id,
        .protocol_type = rq.protocol_type, .session_timeout_ms = rq.session_timeout_ms,
        .rebalance_timeout_ms = v >= 1 ? rq.rebalance_timeout_ms : rq.session_timeout_ms,
        .n_protocols = n, .require_known_member_id = v >= 4,
        .protocol_names = arena_array(&req->arena, (size_t)n + 1, sizeof(kstr_t)),
        .protocol_metadata = arena_array(&req->arena, (size_t)n + 1, sizeof(kbytes_t)),
    };
    for (int i = 0; i < n; i++) {
        a.protocol_names[i] = rq.protocols[i].name;
        a.protocol_metadata[i] = rq.protocols[i].metadata;
    }
    return gc_join(req, &a, join_done);
}

/* ---- SyncGroup ---- */

static void sync_done(request_t *req, int16_t error, const char *ptype, const char *pname,
                      const uint8_t *assignment, int32_t len)
{
    int16_t v = req->hdr.request_api_version;
    struct sync_group_response resp;
    sync_group_response_defaults(&resp);
    resp.error_code = error;
    resp.protocol_type = arena_kstr(&req->arena, ptype);
    resp.protocol_name = arena_kstr(&req->arena, pname);
    resp.assignment = arena_kbytes(&req->arena, assignment, len);
    kw_reset(&req->resp);
    sync_group_response_encode(&req->resp, v, &resp);
}

enum handler_result api_sync_group(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct sync_group_request rq;
    if (sync_group_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    if (!group_allowed(req, ACL_OP_READ, rq.group_id)) {
        sync_done(req, KERR_GROUP_AUTHORIZATION_FAILED, NULL, NULL, NULL, 0);
        return REQ_DONE;
    }
    int n = rq.assignments_count > 0 ? rq.assignments_count : 0;
    sync_args_t a = {
        .group_id = rq.group_id, .generation = rq.generation_id, .member_id = rq.member_id,
        .instance_id = rq.group_instance_id,
        .protocol_type = v >= 5 ? rq.protocol_type : KSTR_NULL,
        .protocol_name = v >= 5 ? rq.protocol_name : KSTR_NULL,
        .n_assignments = n,
        .assign_members = arena_array(&req->arena, (size_t)n + 1, sizeof(kstr_t)),
        .assignments = arena_array(&req->arena, (size_t)n + 1, sizeof(kbytes_t)),
    };
    for (int i = 0; i < n; i++) {
        a.assign_members[i] = rq.assignments[i].member_id;
        a.assignments[i] = rq.assignments[i].assignment;
    }
    return gc_sync(req, &a, sync_done);
}

/* ---- Heartbeat / LeaveGroup ---- */

enum handler_result api_heartbeat(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct heartbeat_request rq;
    if (heartbeat_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct heartbeat_response resp;
    heartbeat_response_defaults(&resp);
    resp.error_code = !group_allowed(req, ACL_OP_READ, rq.group_id)
                          ? KERR_GROUP_AUTHORIZATION_FAILED
                          : gc_heartbeat(rq.group_id, rq.generation_id, rq.member_id,
                                         rq.group_instance_id);
    heartbeat_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_leave_group(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct leave_group_request rq;
    if (leave_group_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct leave_group_response resp;
    leave_group_response_defaults(&resp);
    if (!group_allowed(req, ACL_OP_READ, rq.group_id)) {
        resp.error_code = KERR_GROUP_AUTHORIZATION_FAILED;
        resp.members_count = 0;
    } else if (v < 3) {
        resp.error_code = gc_leave(rq.group_id, rq.member_id, KSTR_NULL);
    } else {
        resp.error_code = gc_group_error(rq.group_id);
        int n = rq.members_count > 0 ? rq.members_count : 0;
        resp.members_count = resp.error_code ? 0 : n;
        resp.members = leave_group_response_member_response_array(&req->arena, n);
        for (int i = 0; i < resp.members_count; i++) {
            resp.members[i].member_id = rq.members[i].member_id;
            resp.members[i].group_instance_id = rq.members[i].group_instance_id;
            resp.members[i].error_code = gc_leave(rq.group_id, rq.members[i].member_id,
                                                  rq.members[i].group_instance_id);
        }
    }
    leave_group_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- OffsetCommit ---- */

/* A commit written to __consumer_offsets waits until the partition's ISR
 * has it (Kafka's offsets.commit.required.acks=-1, its default), as a
 * delayed produce, for up to offsets.commit.timeout.ms.  OffsetCommit and
 * TxnOffsetCommit (api_txn.c) share this.
 * Partial: a plain committed offset is visible to OffsetFetch at once,
 * where Kafka shows it only once replicated. */

static void commit_cancel(request_t *req)
{
    commit_reply_t *r = req->parked;
    req->parked = NULL;
    if (r)
        clog_wait_cancel(r->wait);
}

/* Kafka's storeOffsets error mapping: a write that timed out or lacks
 * in-sync replicas asks the client to find the coordinator again, a lost
 * leadership that it is not one.
 * @locality the event-loop thread
 * @locks none */
static void commit_replicated(void *arg, int16_t err)
{
    commit_reply_t *r = arg;
    request_t *req = r->req;
    if (err) {
        err = err == KERR_NOT_COORDINATOR ? err : KERR_COORDINATOR_NOT_AVAILABLE;
        log_info(COMP, "Offset commit from %s not replicated: %s", conn_peer(req->conn),
                 kafka_error_name(err));
        r->fail(r->resp, err);
    }
    kw_reset(&req->resp);
    r->encode(req, r->resp);
    req->parked = NULL;
    request_complete(req);
}

enum handler_result api_commit_reply(broker_t *b, request_t *req, kstr_t group,
                                     commit_reply_t *r)
{
    int32_t part = gc_partition_of(group);
    partition_t *p = part >= 0 ? rm_partition(OFFSETS_TOPIC, part) : NULL;
    if (!p || !p->log || p->leader != b->cfg->broker_id ||
        p->high_watermark >= p->log->log_end_offset) {
        r->encode(req, r->resp);
        return REQ_DONE;
    }
    r->req = req;
    req->parked = r;
    req->cancel = commit_cancel;
    /* Completes its own request if the wait is over at once. */
    r->wait = clog_wait_replicated(b, OFFSETS_TOPIC, part, p->log->log_end_offset,
                                   MAX(b->cfg->offsets_commit_timeout_ms, 1), commit_replicated, r);
    return REQ_PARKED;
}

static void commit_fail(void *resp, int16_t err)
{
    struct offset_commit_response *cr = resp;
    for (int t = 0; t < cr->topics_count; t++)
        for (int p = 0; p < cr->topics[t].partitions_count; p++)
            if (!cr->topics[t].partitions[p].error_code)
                cr->topics[t].partitions[p].error_code = err;
}

static void commit_encode(request_t *req, const void *resp)
{
    offset_commit_response_encode(&req->resp, req->hdr.request_api_version, resp);
}

enum handler_result api_offset_commit(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct offset_commit_request rq;
    if (offset_commit_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    int total = 0;
    for (int t = 0; t < rq.topics_count; t++)
        total += rq.topics[t].partitions_count > 0 ? rq.topics[t].partitions_count : 0;
    commit_entry_t *e = arena_array(&req->arena, (size_t)total + 1, sizeof(*e));
    int k = 0;
    for (int t = 0; t < rq.topics_count; t++) {
        const char *topic = kstr_dup_or_empty(&req->arena, rq.topics[t].name);
        for (int p = 0; p < rq.topics[t].partitions_count; p++, k++) {
            const struct offset_commit_request_offset_commit_request_partition *in =
                &rq.topics[t].partitions[p];
            e[k] = (commit_entry_t){ topic, in->partition_index, in->committed_offset,
                                     v >= 6 ? in->committed_leader_epoch : -1, in->committed_metadata,
                                     KERR_NONE };
        }
    }
    /* v0 has no generation/member: a simple commit. */
    int32_t gen = v >= 1 ? rq.generation_id_or_member_epoch : -1;
    kstr_t member = v >= 1 ? rq.member_id : KSTR_LIT("");
    for (int i = 0; i < total; i++)
        if (!authorize(req, ACL_OP_READ, ACL_RES_TOPIC, e[i].topic))
            e[i].error = KERR_TOPIC_AUTHORIZATION_FAILED;
    int16_t gerr = !group_allowed(req, ACL_OP_READ, rq.group_id)
                       ? KERR_GROUP_AUTHORIZATION_FAILED
                       : gc_commit(rq.group_id, gen, member, rq.group_instance_id, e, total);
    if (gerr)
        log_info(COMP, "OffsetCommit for group %.*s from %s failed: %s",
                 rq.group_id.len > 0 ? rq.group_id.len : 0, rq.group_id.ptr ? rq.group_id.ptr : "",
                 conn_peer(req->conn), kafka_error_name(gerr));
    struct offset_commit_response *resp = arena_alloc(&req->arena, sizeof(*resp));
    offset_commit_response_defaults(resp);
    resp->topics_count = rq.topics_count > 0 ? rq.topics_count : 0;
    resp->topics = offset_commit_response_offset_commit_response_topic_array(&req->arena, resp->topics_count);
    k = 0;
    for (int t = 0; t < resp->topics_count; t++) {
        int np = rq.topics[t].partitions_count > 0 ? rq.topics[t].partitions_count : 0;
        resp->topics[t].name = rq.topics[t].name;
        resp->topics[t].partitions_count = np;
        resp->topics[t].partitions =
            offset_commit_response_offset_commit_response_partition_array(&req->arena, np);
        for (int p = 0; p < np; p++, k++) {
            resp->topics[t].partitions[p].partition_index = e[k].partition;
            resp->topics[t].partitions[p].error_code = gerr ? gerr : e[k].error;
        }
    }
    if (gerr) {
        offset_commit_response_encode(&req->resp, v, resp);
        return REQ_DONE;
    }
    commit_reply_t *r = arena_alloc(&req->arena, sizeof(*r));
    *r = (commit_reply_t){ .fail = commit_fail, .encode = commit_encode, .resp = resp };
    return api_commit_reply(b, req, rq.group_id, r);
}

/* ---- OffsetFetch ---- */

typedef struct fetch_topic_out {
    kstr_t name;
    int n;
    fetched_offset_t *parts;
} fetch_topic_out_t;

/* With require_stable (v7+), a partition a transaction holds a commit of
 * pending answers UNSTABLE_OFFSET_COMMIT, as Kafka's getOffsets. */
static void mark_unstable(kstr_t group, fetched_offset_t *o, bool require_stable)
{
    if (require_stable && gc_offset_unstable(group, o->topic, o->partition)) {
        o->error = KERR_UNSTABLE_OFFSET_COMMIT;
        o->offset = -1;
        o->leader_epoch = -1;
        o->metadata = KSTR_LIT("");
    }
}

/* Offsets of one group: the requested topics/partitions, or all of them. */
static int16_t fetch_group_offsets(request_t *req, kstr_t group, int n_topics, const kstr_t *names,
                                   int32_t *const *parts, const int32_t *n_parts, bool all,
                                   bool require_stable, fetch_topic_out_t **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!group_allowed(req, ACL_OP_DESCRIBE, group))
        return KERR_GROUP_AUTHORIZATION_FAILED;
    if (all) {
        fetched_offset_t *offs;
        int n;
        int16_t err = gc_fetch_all(group, &req->arena, &offs, &n);
        if (err)
            return err;
        fetch_topic_out_t *tt = arena_array(&req->arena, (size_t)n + 1, sizeof(*tt));
        int nt = 0;
        for (int i = 0; i < n; i++) {
            int j;
            if (!authorize_quiet(req, ACL_OP_DESCRIBE, ACL_RES_TOPIC, offs[i].topic))
                continue;   /* left out, as Kafka filters unauthorized topics */
            for (j = 0; j < nt && !kstr_eq_cstr(tt[j].name, offs[i].topic); j++)
                ;
            if (j == nt) {
                tt[nt].name = kstr_from_cstr(offs[i].topic);
                tt[nt].parts = arena_array(&req->arena, (size_t)n + 1, sizeof(fetched_offset_t));
                nt++;
            }
            mark_unstable(group, &offs[i], require_stable);
            tt[j].parts[tt[j].n++] = offs[i];
        }
        *out = tt;
        *n_out = nt;
        return KERR_NONE;
    }
    fetch_topic_out_t *tt = arena_array(&req->arena, (size_t)n_topics + 1, sizeof(*tt));
    for (int t = 0; t < n_topics; t++) {
        const char *topic = kstr_dup_or_empty(&req->arena, names[t]);
        tt[t].name = names[t];
        tt[t].n = n_parts[t] > 0 ? n_parts[t] : 0;
        tt[t].parts = arena_array(&req->arena, (size_t)tt[t].n + 1, sizeof(fetched_offset_t));
        bool allowed = authorize(req, ACL_OP_DESCRIBE, ACL_RES_TOPIC, topic);
        for (int p = 0; p < tt[t].n; p++) {
            if (!allowed) {
                tt[t].parts[p] = (fetched_offset_t){ .topic = topic, .partition = parts[t][p],
                                                     .offset = -1, .leader_epoch = -1,
                                                     .metadata = KSTR_LIT(""),
                                                     .error = KERR_TOPIC_AUTHORIZATION_FAILED };
                continue;
            }
            int16_t err = gc_fetch_offset(group, topic, parts[t][p], &tt[t].parts[p]);
            if (err)
                return err;
            mark_unstable(group, &tt[t].parts[p], require_stable);
        }
    }
    *out = tt;
    *n_out = n_topics;
    return KERR_NONE;
}

enum handler_result api_offset_fetch(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct offset_fetch_request rq;
    if (offset_fetch_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct offset_fetch_response resp;
    offset_fetch_response_defaults(&resp);
    if (v < 8) {
        int n = rq.topics_count > 0 ? rq.topics_count : 0;
        kstr_t *names = arena_array(&req->arena, (size_t)n + 1, sizeof(kstr_t));
        int32_t **parts = arena_array(&req->arena, (size_t)n + 1, sizeof(int32_t *));
        int32_t *np = arena_array(&req->arena, (size_t)n + 1, sizeof(int32_t));
        for (int t = 0; t < n; t++) {
            names[t] = rq.topics[t].name;
            parts[t] = rq.topics[t].partition_indexes;
            np[t] = rq.topics[t].partition_indexes_count;
        }
        fetch_topic_out_t *tt;
        int nt;
        int16_t err = fetch_group_offsets(req, rq.group_id, n, names, parts, np, rq.topics_count < 0,
                                          v >= 7 && rq.require_stable, &tt, &nt);
        resp.error_code = err;
        resp.topics_count = err ? 0 : nt;
        resp.topics = offset_fetch_response_offset_fetch_response_topic_array(&req->arena, resp.topics_count);
        for (int t = 0; t < resp.topics_count; t++) {
            resp.topics[t].name = tt[t].name;
            resp.topics[t].partitions_count = tt[t].n;
            resp.topics[t].partitions =
                offset_fetch_response_offset_fetch_response_partition_array(&req->arena, tt[t].n);
            for (int p = 0; p < tt[t].n; p++) {
                struct offset_fetch_response_offset_fetch_response_partition *op =
                    &resp.topics[t].partitions[p];
                op->partition_index = tt[t].parts[p].partition;
                op->committed_offset = tt[t].parts[p].offset;
                op->committed_leader_epoch = tt[t].parts[p].leader_epoch;
                op->metadata = tt[t].parts[p].metadata;
                op->error_code = tt[t].parts[p].error;
            }
        }
        /* v0/v1 carry group errors per partition. */
        if (v < 2 && err) {
            resp.topics_count = n;
            resp.topics = offset_fetch_response_offset_fetch_response_topic_array(&req->arena, n);
            for (int t = 0; t < n; t++) {
                resp.topics[t].name = names[t];
                resp.topics[t].partitions_count = np[t] > 0 ? np[t] : 0;
                resp.topics[t].partitions = offset_fetch_response_offset_fetch_response_partition_array(
                    &req->arena, resp.topics[t].partitions_count);
                for (int p = 0; p < resp.topics[t].partitions_count; p++) {
                    resp.topics[t].partitions[p].partition_index = parts[t][p];
                    resp.topics[t].partitions[p].committed_offset = -1;
                    resp.topics[t].partitions[p].metadata = KSTR_LIT("");
                    resp.topics[t].partitions[p].error_code = err;
                }
            }
        }
    } else {
        int ng = rq.groups_count > 0 ? rq.groups_count : 0;
        resp.groups_count = ng;
        resp.groups = offset_fetch_response_offset_fetch_response_group_array(&req->arena, ng);
        for (int g = 0; g < ng; g++) {
            struct offset_fetch_request_offset_fetch_request_group *ig = &rq.groups[g];
            int n = ig->topics_count > 0 ? ig->topics_count : 0;
            kstr_t *names = arena_array(&req->arena, (size_t)n + 1, sizeof(kstr_t));
            int32_t **parts = arena_array(&req->arena, (size_t)n + 1, sizeof(int32_t *));
            int32_t *np = arena_array(&req->arena, (size_t)n + 1, sizeof(int32_t));
            for (int t = 0; t < n; t++) {
                names[t] = ig->topics[t].name;
                parts[t] = ig->topics[t].partition_indexes;
                np[t] = ig->topics[t].partition_indexes_count;
            }
            fetch_topic_out_t *tt;
            int nt;
            int16_t err = fetch_group_offsets(req, ig->group_id, n, names, parts, np,
                                              ig->topics_count < 0, rq.require_stable, &tt, &nt);
            struct offset_fetch_response_offset_fetch_response_group *og = &resp.groups[g];
            og->group_id = ig->group_id;
            og->error_code = err;
            og->topics_count = err ? 0 : nt;
            og->topics = offset_fetch_response_offset_fetch_response_topics_array(&req->arena, og->topics_count);
            for (int t = 0; t < og->topics_count; t++) {
                og->topics[t].name = tt[t].name;
                og->topics[t].partitions_count = tt[t].n;
                og->topics[t].partitions =
                    offset_fetch_response_offset_fetch_response_partitions_array(&req->arena, tt[t].n);
                for (int p = 0; p < tt[t].n; p++) {
                    og->topics[t].partitions[p].partition_index = tt[t].parts[p].partition;
                    og->topics[t].partitions[p].committed_offset = tt[t].parts[p].offset;
                    og->topics[t].partitions[p].committed_leader_epoch = tt[t].parts[p].leader_epoch;
                    og->topics[t].partitions[p].metadata = tt[t].parts[p].metadata;
                    og->topics[t].partitions[p].error_code = tt[t].parts[p].error;
                }
            }
        }
    }
    offset_fetch_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- DescribeGroups / ListGroups / DeleteGroups / OffsetDelete ---- */

enum handler_result api_describe_groups(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct describe_groups_request rq;
    if (describe_groups_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_groups_response resp;
    describe_groups_response_defaults(&resp);
    int n = rq.groups_count > 0 ? rq.groups_count : 0;
    resp.groups_count = n;
    resp.groups = describe_groups_response_described_group_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        group_summary_t s;
        struct describe_groups_response_described_group *o = &resp.groups[i];
        if (!group_allowed(req, ACL_OP_DESCRIBE, rq.groups[i])) {
            o->error_code = KERR_GROUP_AUTHORIZATION_FAILED;
            o->group_id = rq.groups[i];
            o->group_state = o->protocol_type = o->protocol_data = KSTR_LIT("");
            o->members_count = 0;
            continue;
        }
        gc_describe(rq.groups[i], &req->arena, &s);
        o->error_code = s.error;
        o->group_id = rq.groups[i];
        o->group_state = kstr_from_cstr(s.state);
        o->protocol_type = kstr_from_cstr(s.protocol_type);
        o->protocol_data = kstr_from_cstr(s.protocol);
        o->members_count = s.n_members;
        o->members = describe_groups_response_described_group_member_array(&req->arena, s.n_members);
        for (int m = 0; m < s.n_members; m++) {
            o->members[m].member_id = kstr_from_cstr(s.members[m].member_id);
            o->members[m].group_instance_id = kstr_from_cstr(s.members[m].instance_id);
            o->members[m].client_id = kstr_from_cstr(s.members[m].client_id);
            o->members[m].client_host = kstr_from_cstr(s.members[m].client_host);
            o->members[m].member_metadata =
                arena_kbytes(&req->arena, s.members[m].metadata, s.members[m].metadata_len);
            o->members[m].member_assignment =
                arena_kbytes(&req->arena, s.members[m].assignment, s.members[m].assignment_len);
        }
    }
    describe_groups_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_list_groups(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct list_groups_request rq;
    if (list_groups_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct list_groups_response resp;
    list_groups_response_defaults(&resp);
    group_listing_t *gl;
    int16_t err;
    int n = gc_list(&req->arena, &gl, &err);
    resp.error_code = err;
    resp.groups = list_groups_response_listed_group_array(&req->arena, n);
    /* Every group here is a classic one: a types filter (v5) without
     * "classic" lists none, as Kafka's old coordinator. */
    bool classic = rq.types_filter_count <= 0;
    for (int t = 0; t < rq.types_filter_count && !classic; t++)
        classic = rq.types_filter[t].len == 7 &&
                  !strncasecmp(rq.types_filter[t].ptr, "classic", 7);
    int k = 0;
    /* DESCRIBE on the cluster lists every group; otherwise those the
     * client may describe. */
    bool all = authorize_quiet(req, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, ACL_CLUSTER_NAME);
    for (int i = 0; i < n && classic; i++) {
        if (!all && !authorize_quiet(req, ACL_OP_DESCRIBE, ACL_RES_GROUP, gl[i].group_id))
            continue;
        bool keep = rq.states_filter_count <= 0;
        for (int s = 0; s < rq.states_filter_count && !keep; s++)
            keep = rq.states_filter[s].len == (int32_t)strlen(gl[i].state) &&
                   !strncasecmp(rq.states_filter[s].ptr, gl[i].state, (size_t)rq.states_filter[s].len);
        if (!keep)
            continue;
        resp.groups[k].group_id = kstr_from_cstr(gl[i].group_id);
        resp.groups[k].protocol_type = kstr_from_cstr(gl[i].protocol_type);
        resp.groups[k].group_state = kstr_from_cstr(gl[i].state);
        resp.groups[k].group_type = KSTR_LIT("classic");
        k++;
    }
    resp.groups_count = k;
    list_groups_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_delete_groups(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct delete_groups_request rq;
    if (delete_groups_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct delete_groups_response resp;
    delete_groups_response_defaults(&resp);
    int n = rq.groups_names_count > 0 ? rq.groups_names_count : 0;
    resp.results_count = n;
    resp.results = delete_groups_response_deletable_group_result_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        resp.results[i].group_id = rq.groups_names[i];
        resp.results[i].error_code = group_allowed(req, ACL_OP_DELETE, rq.groups_names[i])
                                         ? gc_delete_group(rq.groups_names[i])
                                         : KERR_GROUP_AUTHORIZATION_FAILED;
    }
    delete_groups_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_offset_delete(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct offset_delete_request rq;
    if (offset_delete_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    int total = 0;
    for (int t = 0; t < rq.topics_count; t++)
        total += rq.topics[t].partitions_count > 0 ? rq.topics[t].partitions_count : 0;
    commit_entry_t *e = arena_array(&req->arena, (size_t)total + 1, sizeof(*e));
    bool group_ok = group_allowed(req, ACL_OP_DELETE, rq.group_id);
    int k = 0;
    for (int t = 0; t < rq.topics_count; t++) {
        const char *topic = kstr_dup_or_empty(&req->arena, rq.topics[t].name);
        /* Kafka: READ on the topic, then the topic and partition known. */
        int16_t err = !group_ok ? KERR_NONE
                      : !authorize(req, ACL_OP_READ, ACL_RES_TOPIC, topic) ? KERR_TOPIC_AUTHORIZATION_FAILED
                      : KERR_NONE;
        const mc_topic_t *mt = mc_find_topic(topic);
        for (int p = 0; p < rq.topics[t].partitions_count; p++, k++) {
            int32_t part = rq.topics[t].partitions[p].partition_index;
            e[k] = (commit_entry_t){ .topic = topic, .partition = part, .error = err };
            if (!err && group_ok && (!mt || part < 0 || part >= mt->n_partitions))
                e[k].error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    struct offset_delete_response resp;
    offset_delete_response_defaults(&resp);
    resp.error_code = group_ok ? gc_delete_offsets(rq.group_id, e, total)
                               : KERR_GROUP_AUTHORIZATION_FAILED;
    if (!resp.error_code) {
        resp.topics_count = rq.topics_count > 0 ? rq.topics_count : 0;
        resp.topics = offset_delete_response_offset_delete_response_topic_array(&req->arena, resp.topics_count);
        k = 0;
        for (int t = 0; t < resp.topics_count; t++) {
            int np = rq.topics[t].partitions_count > 0 ? rq.topics[t].partitions_count : 0;
            resp.topics[t].name = rq.topics[t].name;
            resp.topics[t].partitions_count = np;
            resp.topics[t].partitions =
                offset_delete_response_offset_delete_response_partition_array(&req->arena, np);
            for (int p = 0; p < np; p++, k++) {
                resp.topics[t].partitions[p].partition_index = e[k].partition;
                resp.topics[t].partitions[p].error_code = e[k].error;
            }
        }
    }
    offset_delete_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
