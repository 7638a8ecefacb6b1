/*
 * api.h - the Kafka API handlers, one family per file (api_<family>.c).
 * Every handler runs on the event-loop thread, decodes req->body at
 * req->hdr.request_api_version and encodes its response into req->resp.
 */
#ifndef SAMSA_API_H
#define SAMSA_API_H

#include "broker.h"
#include "metadata_cache.h"
#include "topic_config.h"

enum handler_result api_produce(broker_t *b, request_t *req);
enum handler_result api_fetch(broker_t *b, request_t *req);
enum handler_result api_list_offsets(broker_t *b, request_t *req);
enum handler_result api_metadata(broker_t *b, request_t *req);
enum handler_result api_create_topics(broker_t *b, request_t *req);
enum handler_result api_delete_topics(broker_t *b, request_t *req);
enum handler_result api_describe_configs(broker_t *b, request_t *req);
enum handler_result api_init_producer_id(broker_t *b, request_t *req);
enum handler_result api_find_coordinator(broker_t *b, request_t *req);
enum handler_result api_join_group(broker_t *b, request_t *req);
enum handler_result api_sync_group(broker_t *b, request_t *req);
enum handler_result api_heartbeat(broker_t *b, request_t *req);
enum handler_result api_leave_group(broker_t *b, request_t *req);
enum handler_result api_offset_commit(broker_t *b, request_t *req);
enum handler_result api_offset_fetch(broker_t *b, request_t *req);
enum handler_result api_describe_groups(broker_t *b, request_t *req);
enum handler_result api_list_groups(broker_t *b, request_t *req);
enum handler_result api_delete_groups(broker_t *b, request_t *req);
enum handler_result api_offset_delete(broker_t *b, request_t *req);
enum handler_result api_leader_and_isr(broker_t *b, request_t *req);
enum handler_result api_stop_replica(broker_t *b, request_t *req);
enum handler_result api_offset_for_leader_epoch(broker_t *b, request_t *req);
enum handler_result api_alter_partition(broker_t *b, request_t *req);
enum handler_result api_controlled_shutdown(broker_t *b, request_t *req);
enum handler_result api_allocate_producer_ids(broker_t *b, request_t *req);
enum handler_result api_elect_leaders(broker_t *b, request_t *req);
enum handler_result api_alter_partition_reassignments(broker_t *b, request_t *req);
enum handler_result api_list_partition_reassignments(broker_t *b, request_t *req);
enum handler_result api_update_metadata(broker_t *b, request_t *req);
enum handler_result api_delete_records(broker_t *b, request_t *req);
enum handler_result api_alter_configs(broker_t *b, request_t *req);
enum handler_result api_describe_log_dirs(broker_t *b, request_t *req);
enum handler_result api_alter_replica_log_dirs(broker_t *b, request_t *req);
enum handler_result api_incremental_alter_configs(broker_t *b, request_t *req);
enum handler_result api_describe_cluster(broker_t *b, request_t *req);
enum handler_result api_create_partitions(broker_t *b, request_t *req);
enum handler_result api_describe_acls(broker_t *b, request_t *req);
enum handler_result api_create_acls(broker_t *b, request_t *req);
enum handler_result api_delete_acls(broker_t *b, request_t *req);
enum handler_result api_sasl_handshake(broker_t *b, request_t *req);
enum handler_result api_sasl_authenticate(broker_t *b, request_t *req);
/* A bare SASL token frame (after SaslHandshake v0). */
enum handler_result sasl_raw_token(broker_t *b, request_t *req);
enum handler_result api_describe_user_scram_credentials(broker_t *b, request_t *req);
enum handler_result api_alter_user_scram_credentials(broker_t *b, request_t *req);
enum handler_result api_describe_client_quotas(broker_t *b, request_t *req);
enum handler_result api_alter_client_quotas(broker_t *b, request_t *req);
/* Features off in a ZooKeeper-mode Kafka broker (api_features_off.c). */
enum handler_result api_create_delegation_token(broker_t *b, request_t *req);
enum handler_result api_renew_delegation_token(broker_t *b, request_t *req);
enum handler_result api_expire_delegation_token(broker_t *b, request_t *req);
enum handler_result api_describe_delegation_token(broker_t *b, request_t *req);
enum handler_result api_consumer_group_heartbeat(broker_t *b, request_t *req);
enum handler_result api_consumer_group_describe(broker_t *b, request_t *req);
/* Feature versioning and forwarding (api_features.c). */
enum handler_result api_update_features(broker_t *b, request_t *req);
enum handler_result api_envelope(broker_t *b, request_t *req);

/* Client quotas (api_quota.c): each returns the throttle time in ms for
 * the answer, with the connection muted that long when it is not 0.
 * quota_produce charges the request's bytes and (unless acks=0) its time;
 * quota_fetch a consumer fetch's time and answer bytes (taken back when
 * throttled: the answer then carries no data); quota_fetch_max_bytes is
 * the most one fetch may answer for the client (INT32_MAX: no quota). */
int32_t quota_produce(request_t *req, bool acks0);
int32_t quota_fetch(request_t *req, int64_t response_bytes);
int32_t quota_fetch_max_bytes(request_t *req);
/* Before an answer goes out: charges the request's time to the client's
 * request_percentage unless already charged or exempt, and writes the
 * throttle time into the answer.  Called by the connection code. */
void quota_response_ready(request_t *req);
/* The request's controller mutation quota (in its arena), strict from
 * strict_since on; NULL when no quota is configured.  With
 * throttles_response its throttle goes into the answer (not for
 * Metadata's auto-creation, which Kafka charges but does not throttle). */
struct mutation_quota *quota_mutation(request_t *req, int16_t strict_since,
                                      bool throttles_response);
/* Never strict: Metadata's auto-creation (Kafka's newPermissiveQuotaFor). */
#define PERMISSIVE_ALWAYS INT16_MAX
/* Kafka's strictSinceVersion of each API. */
#define CREATE_TOPICS_STRICT_SINCE 6
#define DELETE_TOPICS_STRICT_SINCE 5
#define CREATE_PARTITIONS_STRICT_SINCE 3

/* Kafka's name of an API key ("Produce"), "Unknown" if samsa has none. */
const char *api_name(int16_t key);

/* Decodes a request body and encodes its answer on the ZooKeeper thread
 * (a body that does not decode gets the response's error form there);
 * denied, if not 0, is the error the whole request gets instead (Kafka's
 * getErrorResponse for a refused authorization). */
typedef void (*zk_thread_handler_fn)(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                     kwriter_t *out);
/* Parks req until the ZooKeeper thread has answered it with handle
 * (api_zk_thread.c).  cluster_op (an acl.h operation, 0 for none) is what
 * the request needs on the cluster resource; without it the answer is
 * CLUSTER_AUTHORIZATION_FAILED. */
enum handler_result api_answer_on_zk_thread(request_t *req, zk_thread_handler_fn handle,
                                            int8_t cluster_op);
/* A broker's endpoint on the listener req came in on (Kafka answers with
 * the client's own listener), NULL if that broker lacks it. */
const mc_endpoint_t *api_broker_endpoint(const request_t *req, const mc_broker_t *mb);
/* OffsetCommit and TxnOffsetCommit (api_groups.c): the response resp is
 * sent once the group's __consumer_offsets partition has replicated its
 * log end to the ISR (at once if it has); a failed wait passes the error
 * to fail(resp, err) first.  r lives in the request's arena. */
typedef struct commit_reply {
    request_t *req;
    struct clog_wait *wait;
    void (*fail)(void *resp, int16_t err);
    void (*encode)(request_t *req, const void *resp);
    void *resp;
} commit_reply_t;
enum handler_result api_commit_reply(broker_t *b, request_t *req, kstr_t group,
                                     commit_reply_t *r);
enum handler_result api_add_partitions_to_txn(broker_t *b, request_t *req);
enum handler_result api_add_offsets_to_txn(broker_t *b, request_t *req);
enum handler_result api_end_txn(broker_t *b, request_t *req);
enum handler_result api_txn_offset_commit(broker_t *b, request_t *req);
enum handler_result api_describe_transactions(broker_t *b, request_t *req);
enum handler_result api_list_transactions(broker_t *b, request_t *req);
enum handler_result api_write_txn_markers(broker_t *b, request_t *req);
enum handler_result api_describe_producers(broker_t *b, request_t *req);

/* A parked fetch whose connection went away (api_fetch.c). */
void fetch_cancel(request_t *req);

#endif
