/*
 * proto_dispatch.c - owns the one table of supported APIs {key, name, min,
 * max, first flexible version, handler}, request/response header versions,
 * ApiVersions (including the KIP-511 fallback), and what happens to requests
 * that cannot be handled.  Event-loop thread only.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "feature_versioning.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "proto_messages.h"
#include "util.h"

typedef struct api_entry {
    int16_t key;
    const char *name;
    int16_t min;
    int16_t max;
    int16_t first_flexible;     /* -1: never flexible */
    api_handler_fn handler;
} api_entry_t;

static enum handler_result api_api_versions(broker_t *b, request_t *req);

/* What samsa advertises.  Minimums start at 0 where real clients need it
 * (librdkafka's feature checks pin Produce 0 and Metadata 0 is sent blindly
 * by kafka-python); Fetch v0-v3 answers down-converted records
 * (fetch_downconvert.h). */
static const api_entry_t apis[] = {
    { 0, "Produce", 0, 11, PRODUCE_REQUEST_FIRST_FLEXIBLE, api_produce },
    { 1, "Fetch", 0, 17, FETCH_REQUEST_FIRST_FLEXIBLE, api_fetch },
    { 2, "ListOffsets", 0, 9, LIST_OFFSETS_REQUEST_FIRST_FLEXIBLE, api_list_offsets },
    { 3, "Metadata", 0, 12, METADATA_REQUEST_FIRST_FLEXIBLE, api_metadata },
    { 4, "LeaderAndIsr", 0, 7, LEADER_AND_ISR_REQUEST_FIRST_FLEXIBLE, api_leader_and_isr },
    { 5, "StopReplica", 0, 4, STOP_REPLICA_REQUEST_FIRST_FLEXIBLE, api_stop_replica },
    { 6, "UpdateMetadata", 0, 8, UPDATE_METADATA_REQUEST_FIRST_FLEXIBLE, api_update_metadata },
    { 7, "ControlledShutdown", 0, 3, CONTROLLED_SHUTDOWN_REQUEST_FIRST_FLEXIBLE,
      api_controlled_shutdown },
    { 8, "OffsetCommit", 0, 9, OFFSET_COMMIT_REQUEST_FIRST_FLEXIBLE, api_offset_commit },
    { 9, "OffsetFetch", 0, 9, OFFSET_FETCH_REQUEST_FIRST_FLEXIBLE, api_offset_fetch },
    { 10, "FindCoordinator", 0, 6, FIND_COORDINATOR_REQUEST_FIRST_FLEXIBLE, api_find_coordinator },
    { 11, "JoinGroup", 0, 9, JOIN_GROUP_REQUEST_FIRST_FLEXIBLE, api_join_group },
    { 12, "Heartbeat", 0, 4, HEARTBEAT_REQUEST_FIRST_FLEXIBLE, api_heartbeat },
    { 13, "LeaveGroup", 0, 5, LEAVE_GROUP_REQUEST_FIRST_FLEXIBLE, api_leave_group },
    { 14, "SyncGroup", 0, 5, SYNC_GROUP_REQUEST_FIRST_FLEXIBLE, api_sync_group },
    { 15, "DescribeGroups", 0, 5, DESCRIBE_GROUPS_REQUEST_FIRST_FLEXIBLE, api_describe_groups },
    { 16, "ListGroups", 0, 5, LIST_GROUPS_REQUEST_FIRST_FLEXIBLE, api_list_groups },
    { 17, "SaslHandshake", 0, 1, SASL_HANDSHAKE_REQUEST_FIRST_FLEXIBLE, api_sasl_handshake },
    { 18, "ApiVersions", 0, 4, API_VERSIONS_REQUEST_FIRST_FLEXIBLE, api_api_versions },
    { 19, "CreateTopics", 0, 7, CREATE_TOPICS_REQUEST_FIRST_FLEXIBLE, api_create_topics },
    { 20, "DeleteTopics", 0, 6, DELETE_TOPICS_REQUEST_FIRST_FLEXIBLE, api_delete_topics },
    { 21, "DeleteRecords", 0, 2, DELETE_RECORDS_REQUEST_FIRST_FLEXIBLE, api_delete_records },
    /* v5: the same as v4 but for TRANSACTION_ABORTABLE, which samsa never sends. */
    { 22, "InitProducerId", 0, 5, INIT_PRODUCER_ID_REQUEST_FIRST_FLEXIBLE, api_init_producer_id },
    { 23, "OffsetForLeaderEpoch", 0, 4, OFFSET_FOR_LEADER_EPOCH_REQUEST_FIRST_FLEXIBLE,
      api_offset_for_leader_epoch },
    /* v4-v5: leaders' KIP-890 verify_only requests (adding partitions that
     * way, KIP-890 part 2, is not supported); v5 only tells the coordinator
     * the leader understands TRANSACTION_ABORTABLE, which samsa's answers
     * to verify_only requests carry whatever the version, as Kafka's do. */
    { 24, "AddPartitionsToTxn", 0, 5, ADD_PARTITIONS_TO_TXN_REQUEST_FIRST_FLEXIBLE,
      api_add_partitions_to_txn },
    { 25, "AddOffsetsToTxn", 0, 4, ADD_OFFSETS_TO_TXN_REQUEST_FIRST_FLEXIBLE,
      api_add_offsets_to_txn },
    { 26, "EndTxn", 0, 4, END_TXN_REQUEST_FIRST_FLEXIBLE, api_end_txn },
    { 27, "WriteTxnMarkers", 0, 1, WRITE_TXN_MARKERS_REQUEST_FIRST_FLEXIBLE,
      api_write_txn_markers },
    { 28, "TxnOffsetCommit", 0, 4, TXN_OFFSET_COMMIT_REQUEST_FIRST_FLEXIBLE,
      api_txn_offset_commit },
    { 32, "DescribeConfigs", 0, 4, DESCRIBE_CONFIGS_REQUEST_FIRST_FLEXIBLE, api_describe_configs },
    /* Without an authorizer: SECURITY_DISABLED, as Kafka (api_acls.c). */
    { 29, "DescribeAcls", 0, 3, DESCRIBE_ACLS_REQUEST_FIRST_FLEXIBLE, api_describe_acls },
    { 30, "CreateAcls", 0, 3, CREATE_ACLS_REQUEST_FIRST_FLEXIBLE, api_create_acls },
    { 31, "DeleteAcls", 0, 3, DELETE_ACLS_REQUEST_FIRST_FLEXIBLE, api_delete_acls },
    { 33, "AlterConfigs", 0, 2, ALTER_CONFIGS_REQUEST_FIRST_FLEXIBLE, api_alter_configs },
    { 44, "IncrementalAlterConfigs", 0, 1, INCREMENTAL_ALTER_CONFIGS_REQUEST_FIRST_FLEXIBLE,
      api_incremental_alter_configs },
    { 36, "SaslAuthenticate", 0, 2, SASL_AUTHENTICATE_REQUEST_FIRST_FLEXIBLE,
      api_sasl_authenticate },
    { 35, "DescribeLogDirs", 0, 4, DESCRIBE_LOG_DIRS_REQUEST_FIRST_FLEXIBLE,
      api_describe_log_dirs },
    { 34, "AlterReplicaLogDirs", 0, 2, ALTER_REPLICA_LOG_DIRS_REQUEST_FIRST_FLEXIBLE,
      api_alter_replica_log_dirs },
    { 37, "CreatePartitions", 0, 3, CREATE_PARTITIONS_REQUEST_FIRST_FLEXIBLE,
      api_create_partitions },
    { 42, "DeleteGroups", 0, 2, DELETE_GROUPS_REQUEST_FIRST_FLEXIBLE, api_delete_groups },
    { 43, "ElectLeaders", 0, 2, ELECT_LEADERS_REQUEST_FIRST_FLEXIBLE, api_elect_leaders },
    { 45, "AlterPartitionReassignments", 0, 0,
      ALTER_PARTITION_REASSIGNMENTS_REQUEST_FIRST_FLEXIBLE, api_alter_partition_reassignments },
    { 46, "ListPartitionReassignments", 0, 0, LIST_PARTITION_REASSIGNMENTS_REQUEST_FIRST_FLEXIBLE,
      api_list_partition_reassignments },
    { 47, "OffsetDelete", 0, 0, OFFSET_DELETE_REQUEST_FIRST_FLEXIBLE, api_offset_delete },
    { 60, "DescribeCluster", 0, 1, DESCRIBE_CLUSTER_REQUEST_FIRST_FLEXIBLE, api_describe_cluster },
    { 61, "DescribeProducers", 0, 0, DESCRIBE_PRODUCERS_REQUEST_FIRST_FLEXIBLE,
      api_describe_producers },
    { 65, "DescribeTransactions", 0, 0, DESCRIBE_TRANSACTIONS_REQUEST_FIRST_FLEXIBLE,
      api_describe_transactions },
    { 66, "ListTransactions", 0, 1, LIST_TRANSACTIONS_REQUEST_FIRST_FLEXIBLE,
      api_list_transactions },
    { 48, "DescribeClientQuotas", 0, 1, DESCRIBE_CLIENT_QUOTAS_REQUEST_FIRST_FLEXIBLE,
      api_describe_client_quotas },
    { 49, "AlterClientQuotas", 0, 1, ALTER_CLIENT_QUOTAS_REQUEST_FIRST_FLEXIBLE,
      api_alter_client_quotas },
    { 50, "DescribeUserScramCredentials", 0, 0,
      DESCRIBE_USER_SCRAM_CREDENTIALS_REQUEST_FIRST_FLEXIBLE, api_describe_user_scram_credentials },
    { 51, "AlterUserScramCredentials", 0, 0, ALTER_USER_SCRAM_CREDENTIALS_REQUEST_FIRST_FLEXIBLE,
      api_alter_user_scram_credentials },
    { 56, "AlterPartition", 0, 3, ALTER_PARTITION_REQUEST_FIRST_FLEXIBLE, api_alter_partition },
    { 67, "AllocateProducerIds", 0, 0, ALLOCATE_PRODUCER_IDS_REQUEST_FIRST_FLEXIBLE,
      api_allocate_producer_ids },
    /* Features off in a ZooKeeper-mode Kafka broker (api_features_off.c). */
    { 38, "CreateDelegationToken", 0, CREATE_DELEGATION_TOKEN_REQUEST_MAX_VERSION,
      CREATE_DELEGATION_TOKEN_REQUEST_FIRST_FLEXIBLE, api_create_delegation_token },
    { 39, "RenewDelegationToken", 0, RENEW_DELEGATION_TOKEN_REQUEST_MAX_VERSION,
      RENEW_DELEGATION_TOKEN_REQUEST_FIRST_FLEXIBLE, api_renew_delegation_token },
    { 40, "ExpireDelegationToken", 0, EXPIRE_DELEGATION_TOKEN_REQUEST_MAX_VERSION,
      EXPIRE_DELEGATION_TOKEN_REQUEST_FIRST_FLEXIBLE, api_expire_delegation_token },
    { 41, "DescribeDelegationToken", 0, DESCRIBE_DELEGATION_TOKEN_REQUEST_MAX_VERSION,
      DESCRIBE_DELEGATION_TOKEN_REQUEST_FIRST_FLEXIBLE, api_describe_delegation_token },
    { 68, "ConsumerGroupHeartbeat", 0, CONSUMER_GROUP_HEARTBEAT_REQUEST_MAX_VERSION,
      CONSUMER_GROUP_HEARTBEAT_REQUEST_FIRST_FLEXIBLE, api_consumer_group_heartbeat },
    { 57, "UpdateFeatures", 0, 1, UPDATE_FEATURES_REQUEST_FIRST_FLEXIBLE, api_update_features },
    { 58, "Envelope", 0, 0, 0, api_envelope },
    { 69, "ConsumerGroupDescribe", 0, CONSUMER_GROUP_DESCRIBE_REQUEST_MAX_VERSION,
      CONSUMER_GROUP_DESCRIBE_REQUEST_FIRST_FLEXIBLE, api_consumer_group_describe },
};

static const api_entry_t *find_api(int16_t key)
{
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (apis[i].key == key)
            return &apis[i];
    return NULL;
}

const char *api_name(int16_t key)
{
    const api_entry_t *api = find_api(key);
    return api ? api->name : "Unknown";
}

static bool is_flexible(const api_entry_t *api, int16_t version)
{
    return api && api->first_flexible >= 0 && version >= api->first_flexible;
}

void proto_write_response_header(const request_t *req, kwriter_t *w)
{
    const api_entry_t *api = find_api(req->hdr.request_api_key);
    struct response_header h;
    response_header_defaults(&h);
    h.correlation_id = req->hdr.correlation_id;
    /* ApiVersions responses always use header v0 (KIP-511). */
    int16_t hv = req->hdr.request_api_key != 18 && is_flexible(api, req->hdr.request_api_version);
    response_header_encode(w, hv, &h);
}

/* Our ranges in key order, as Kafka lists them. */
static void fill_api_versions(request_t *req, struct api_versions_response *resp)
{
    int n = (int)(sizeof(apis) / sizeof(apis[0])), k = 0;
    resp->api_keys_count = n;
    resp->api_keys = api_versions_response_api_version_array(&req->arena, n);
    for (int16_t key = 0; k < n; key++) {
        const api_entry_t *api = find_api(key);
        if (!api)
            continue;
        resp->api_keys[k].api_key = api->key;
        resp->api_keys[k].min_version = api->min;
        resp->api_keys[k].max_version = api->max;
        k++;
    }
}

static bool software_name_ok(kstr_t s)
{
    if (s.len <= 0)
        return false;
    for (int i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool inner = c == '-' || c == '.';
        if (!alnum && !(inner && i > 0 && i < s.len - 1))
            return false;
    }
    return true;
}

static enum handler_result api_api_versions(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct api_versions_request rq;
    struct api_versions_response resp;
    api_versions_response_defaults(&resp);
    if (api_versions_request_decode(&req->body, v, &rq) < 0) {
        log_warn("network", "Malformed ApiVersions v%d from %s; closing connection", v,
                 conn_peer(req->conn));
        return REQ_CLOSE;
    }
    if (v >= 3 && (!software_name_ok(rq.client_software_name) ||
                   !software_name_ok(rq.client_software_version))) {
        resp.error_code = KERR_INVALID_REQUEST;
        log_info("network", "ApiVersions from %s has an invalid client software name/version",
                 conn_peer(req->conn));
    }
    fill_api_versions(req, &resp);
    features_fill_api_versions(&req->arena, &resp);
    api_versions_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* KIP-511: an ApiVersions version we do not know gets a v0 reply with
 * UNSUPPORTED_VERSION and our ranges, without parsing the body. */
static enum handler_result api_versions_fallback(request_t *req)
{
    struct api_versions_response resp;
    api_versions_response_defaults(&resp);
    resp.error_code = KERR_UNSUPPORTED_VERSION;
    fill_api_versions(req, &resp);
    api_versions_response_encode(&req->resp, 0, &resp);
    return REQ_DONE;
}

/* Before SASL authentication completes only ApiVersions and SaslHandshake
 * (then only SaslAuthenticate) may come; anything else closes the
 * connection, as Kafka's SaslServerAuthenticator does. */
static bool sasl_request_allowed(const request_t *req, int16_t key)
{
    enum conn_auth st = conn_auth_state(req->conn);
    if (st == CONN_AUTH_COMPLETE || (st == CONN_AUTH_HANDSHAKE && (key == 17 || key == 18)) ||
        (st == CONN_AUTH_AUTHENTICATE && key == 36))
        return true;
    const api_entry_t *api = find_api(key);
    log_info("network", "Failed authentication with %s (Unexpected Kafka request of type %s "
                        "during SASL %s.)", conn_peer(req->conn), api ? api->name : "UNKNOWN",
             st == CONN_AUTH_HANDSHAKE ? "handshake" : "authentication");
    return false;
}

/* KIP-368: once a SASL session's connections.max.reauth.ms is over, any
 * request but the SaslHandshake that starts a re-authentication closes
 * the connection, as Kafka's SocketServer does. */
static bool session_expired(request_t *req, int16_t key)
{
    conn_session_t *sess = conn_session(req->conn);
    if (!sess->expires_ms || key == 17 || conn_auth_state(req->conn) != CONN_AUTH_COMPLETE)
        return false;
    int64_t now = now_ms();
    if (now <= sess->expires_ms)
        return false;
    log_info("network", "Disconnecting expired channel: %s (its SASL session ended %lld ms ago "
             "without re-authentication)", conn_peer(req->conn),
             (long long)(now - sess->expires_ms));
    return true;
}

/* Per-request memory reserved before a handler runs (see proto_dispatch). */
#define ARENA_FRAME_FACTOR 2
#define ARENA_BASE_BUDGET (64 * 1024)

enum handler_result proto_dispatch(broker_t *b, request_t *req)
{
    kreader_t r;
    kr_init(&r, req->frame, req->frame_len, &req->arena);
    int16_t key = kr_int16(&r);
    int16_t version = kr_int16(&r);
    const api_entry_t *api = find_api(key);
    /* Header v2 for flexible requests, v1 otherwise (v0 is only
     * ControlledShutdown v0, which samsa does not serve). */
    int16_t hv = is_flexible(api, version) ? 2 : 1;
    kr_init(&r, req->frame, req->frame_len, &req->arena);
    if (request_header_decode(&r, hv, &req->hdr) < 0) {
        log_warn("network", "Closing connection from %s: malformed request header",
                 conn_peer(req->conn));
        return REQ_CLOSE;
    }
    req->body = r;
    if (!sasl_request_allowed(req, key) || session_expired(req, key))
        return REQ_CLOSE;
    if (key == 18 && (!api || version > api->max))
        return api_versions_fallback(req);
    if (!api || version < api->min || version > api->max) {
        log_warn("network", "Closing connection from %s (client %.*s): unsupported API key %d "
                            "version %d", conn_peer(req->conn),
                 req->hdr.client_id.len > 0 ? req->hdr.client_id.len : 0,
                 req->hdr.client_id.ptr ? req->hdr.client_id.ptr : "", key, version);
        return REQ_CLOSE;
    }
    /* The memory a request usually needs is reserved first, so a client
     * whose request cannot be served for lack of memory loses its
     * connection, not the broker.  Decoding past the reserve (dense arrays
     * can take up to 16x the frame) still fails gracefully: it uses
     * arena_try_*.  Handlers allocate from the reserve first. */
    size_t budget = (size_t)req->frame_len * ARENA_FRAME_FACTOR + ARENA_BASE_BUDGET;
    if (arena_reserve(&req->arena, budget) < 0) {
        log_error("network", "Closing connection from %s: out of memory for a %d-byte %s request",
                  conn_peer(req->conn), (int)req->frame_len, api->name);
        return REQ_CLOSE;
    }
    req->handler_start_ns = mono_ns();
    enum handler_result res = api->handler(b, req);
    req->handler_ns += mono_ns() - req->handler_start_ns;
    req->handler_start_ns = 0;
    if (res == REQ_CLOSE && api->handler != api_envelope)   /* it says why itself */
        log_warn("network", "Closing connection from %s: malformed %s v%d request",
                 conn_peer(req->conn), api->name, version);
    return res;
}
