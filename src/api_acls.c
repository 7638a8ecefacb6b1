/*
 * api_acls.c - owns DescribeAcls, CreateAcls and DeleteAcls as Kafka answers
 * them without an authorizer (authorizer.class.name unset): every request,
 * creation and filter gets SECURITY_DISABLED with Kafka's message, so
 * tools and MirrorMaker 2's ACL sync see "security is off" instead of a
 * closed connection.  Partial: ACLs themselves come with security.
 * Event-loop thread only.
 */
#include "api.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "proto_messages.h"

#define NO_AUTHORIZER_DESCRIBE "No Authorizer is configured on the broker"
#define NO_AUTHORIZER "No Authorizer is configured."

enum handler_result api_describe_acls(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct describe_acls_request rq;
    if (describe_acls_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_acls_response resp;
    describe_acls_response_defaults(&resp);
    resp.error_code = KERR_SECURITY_DISABLED;
    resp.error_message = kstr_from_cstr(NO_AUTHORIZER_DESCRIBE);
    resp.resources_count = 0;
    describe_acls_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_create_acls(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct create_acls_request rq;
    if (create_acls_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct create_acls_response resp;
    create_acls_response_defaults(&resp);
    int n = rq.creations_count > 0 ? rq.creations_count : 0;
    resp.results_count = n;
    resp.results = create_acls_response_acl_creation_result_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        resp.results[i].error_code = KERR_SECURITY_DISABLED;
        resp.results[i].error_message = kstr_from_cstr(NO_AUTHORIZER);
    }
    log_info("admin", "CreateAcls from %s refused: no authorizer is configured", conn_peer(req->conn));
    create_acls_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

enum handler_result api_delete_acls(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct delete_acls_request rq;
    if (delete_acls_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct delete_acls_response resp;
    delete_acls_response_defaults(&resp);
    int n = rq.filters_count > 0 ? rq.filters_count : 0;
    resp.filter_results_count = n;
    resp.filter_results = delete_acls_response_delete_acls_filter_result_array(&req->arena, n);
    for (int i = 0; i < n; i++) {
        resp.filter_results[i].error_code = KERR_SECURITY_DISABLED;
        resp.filter_results[i].error_message = kstr_from_cstr(NO_AUTHORIZER);
        resp.filter_results[i].matching_acls_count = 0;
    }
    log_info("admin", "DeleteAcls from %s refused: no authorizer is configured", conn_peer(req->conn));
    delete_acls_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
