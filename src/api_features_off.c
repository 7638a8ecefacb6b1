/*
 * api_features_off.c - owns the APIs a ZooKeeper-mode Kafka 3.9 broker
 * advertises for features that are off in it, answered as Kafka answers
 * them:
 *
 *   - delegation tokens (CreateDelegationToken 38, RenewDelegationToken 39,
 *     ExpireDelegationToken 40, DescribeDelegationToken 41) as a broker
 *     without delegation.token.secret.key: DELEGATION_TOKEN_REQUEST_NOT_ALLOWED
 *     on a PLAINTEXT listener or for an anonymous TLS client
 *     (KafkaApis.allowTokenRequests), otherwise DELEGATION_TOKEN_AUTH_DISABLED
 *     after Kafka's owner and renewer checks;
 *   - the KIP-848 consumer group protocol (ConsumerGroupHeartbeat 68,
 *     ConsumerGroupDescribe 69), which needs the new group coordinator
 *     Kafka runs only in KRaft mode: UNSUPPORTED_VERSION, so a client set
 *     to group.protocol=consumer fails as it does against Kafka.
 *
 * Partial: samsa cannot issue delegation tokens; a delegation.token.secret.key
 * in server.properties is ignored with a warning at start-up.
 *
 * Event-loop thread only.
 */
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "listeners.h"
#include "net.h"
#include "proto_messages.h"
#include "util.h"

#define ERROR_TIMESTAMP (-1)        /* Kafka's DelegationTokenManager.ErrorTimestamp */

/* Kafka's allowTokenRequests: not over PLAINTEXT, not for a TLS client
 * without a certificate (nor over a token-authenticated connection,
 * which samsa never has). */
static bool token_requests_allowed(const request_t *req)
{
    int16_t protocol = conn_listener(req->conn)->security_protocol;
    if (protocol == SECURITY_PLAINTEXT)
        return false;
    return !(protocol == SECURITY_SSL && !strcmp(conn_principal(req->conn), "User:ANONYMOUS"));
}

/* Splits "Type:name" into its two parts (arena copies). */
static void split_principal(request_t *req, const char *principal, kstr_t *type, kstr_t *name)
{
    const char *colon = strchr(principal, ':');
    if (!colon) {
        *type = KSTR_LIT("User");
        *name = kstr_from_cstr(arena_strdup(&req->arena, principal));
        return;
    }
    *type = kstr_from_cstr(arena_printf(&req->arena, "%.*s", (int)(colon - principal), principal));
    *name = kstr_from_cstr(arena_strdup(&req->arena, colon + 1));
}

/* KafkaApis.handleCreateTokenRequest, then DelegationTokenManager.createToken
 * without a secret. */
static int16_t create_token_error(request_t *req, const struct create_delegation_token_request *rq,
                                  const char *owner, const char *requester)
{
    if (!token_requests_allowed(req))
        return KERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED;
    if (strcmp(owner, requester) && !authorize(req, ACL_OP_CREATE_TOKENS, ACL_RES_USER, owner))
        return KERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED;
    for (int i = 0; i < rq->renewers_count; i++)
        if (!kstr_eq_cstr(rq->renewers[i].principal_type, "User"))
            return KERR_INVALID_PRINCIPAL_TYPE;
    return KERR_DELEGATION_TOKEN_AUTH_DISABLED;
}

enum handler_result api_create_delegation_token(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct create_delegation_token_request rq;
    if (create_delegation_token_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    const char *requester = conn_principal(req->conn);
    const char *owner = requester;
    if (rq.owner_principal_name.len > 0)
        owner = arena_printf(&req->arena, "%.*s:%.*s", MAX(rq.owner_principal_type.len, 0),
                             rq.owner_principal_type.ptr ? rq.owner_principal_type.ptr : "",
                             rq.owner_principal_name.len, rq.owner_principal_name.ptr);
    struct create_delegation_token_response resp;
    create_delegation_token_response_defaults(&resp);
    resp.error_code = create_token_error(req, &rq, owner, requester);
    split_principal(req, owner, &resp.principal_type, &resp.principal_name);
    split_principal(req, requester, &resp.token_requester_principal_type,
                    &resp.token_requester_principal_name);
    resp.issue_timestamp_ms = ERROR_TIMESTAMP;
    resp.expiry_timestamp_ms = ERROR_TIMESTAMP;
    resp.max_timestamp_ms = ERROR_TIMESTAMP;
    resp.token_id = KSTR_LIT("");
    resp.hmac = (kbytes_t){ (uint8_t *)"", 0 };
    create_delegation_token_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

static int16_t token_error(const request_t *req)
{
    return token_requests_allowed(req) ? KERR_DELEGATION_TOKEN_AUTH_DISABLED
                                       : KERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED;
}

enum handler_result api_renew_delegation_token(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct renew_delegation_token_request rq;
    if (renew_delegation_token_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct renew_delegation_token_response resp;
    renew_delegation_token_response_defaults(&resp);
    resp.error_code = token_error(req);
    resp.expiry_timestamp_ms = ERROR_TIMESTAMP;
    renew_delegation_token_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_expire_delegation_token(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct expire_delegation_token_request rq;
    if (expire_delegation_token_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct expire_delegation_token_response resp;
    expire_delegation_token_response_defaults(&resp);
    resp.error_code = token_error(req);
    resp.expiry_timestamp_ms = ERROR_TIMESTAMP;
    expire_delegation_token_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_describe_delegation_token(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct describe_delegation_token_request rq;
    if (describe_delegation_token_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_delegation_token_response resp;
    describe_delegation_token_response_defaults(&resp);
    resp.error_code = token_error(req);
    resp.tokens_count = 0;
    describe_delegation_token_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_consumer_group_heartbeat(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct consumer_group_heartbeat_request rq;
    if (consumer_group_heartbeat_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct consumer_group_heartbeat_response resp;
    consumer_group_heartbeat_response_defaults(&resp);
    resp.error_code = KERR_UNSUPPORTED_VERSION;
    consumer_group_heartbeat_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* Every group named gets UNSUPPORTED_VERSION (Kafka's getErrorResponse). */
enum handler_result api_consumer_group_describe(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct consumer_group_describe_request rq;
    if (consumer_group_describe_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct consumer_group_describe_response resp;
    consumer_group_describe_response_defaults(&resp);
    int n = MAX(rq.group_ids_count, 0);
    resp.groups = consumer_group_describe_response_described_group_array(&req->arena, n);
    resp.groups_count = n;
    for (int i = 0; i < n; i++) {
        resp.groups[i].group_id = rq.group_ids[i];
        resp.groups[i].error_code = KERR_UNSUPPORTED_VERSION;
    }
    consumer_group_describe_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
