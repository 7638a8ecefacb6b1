/*
 * api_sasl.c - owns SaslHandshake (17) and SaslAuthenticate (36), and the
 * bare token frames that follow a v0 handshake, as Kafka's
 * SaslServerAuthenticator answers them: the mechanism list, the chosen
 * mechanism's exchange (sasl_server.h: PLAIN against the listener's users,
 * SCRAM against /config/users), SASL_AUTHENTICATION_FAILED with Kafka's
 * message (then the connection closes), ILLEGAL_SASL_STATE on listeners
 * without SASL or after authentication.  Event-loop thread only.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "proto_messages.h"
#include "sasl_server.h"
#include "util.h"

static bool authenticating(const request_t *req)
{
    return conn_sasl(req->conn) && conn_auth_state(req->conn) != CONN_AUTH_COMPLETE;
}

static void list_mechanisms(request_t *req, struct sasl_handshake_response *resp)
{
    const sasl_listener_t *s = conn_sasl(req->conn);
    int n = sasl_mechanism_count(s);
    resp->mechanisms_count = n;
    resp->mechanisms = arena_alloc(&req->arena, sizeof(kstr_t) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        resp->mechanisms[i] = kstr_from_cstr(sasl_mechanism(s, i));
}

enum handler_result api_sasl_handshake(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct sasl_handshake_request rq;
    if (sasl_handshake_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct sasl_handshake_response resp;
    sasl_handshake_response_defaults(&resp);
    resp.mechanisms_count = 0;
    if (!authenticating(req) || conn_auth_state(req->conn) != CONN_AUTH_HANDSHAKE) {
        resp.error_code = KERR_ILLEGAL_SASL_STATE;
    } else {
        list_mechanisms(req, &resp);
        const char *mech = kstr_dup_or_empty(&req->arena, rq.mechanism);
        sasl_exchange_t *x = sasl_exchange_new(conn_sasl(req->conn), mech);
        if (x) {
            conn_set_sasl_exchange(req->conn, x);
            conn_set_auth_state(req->conn, v == 0 ? CONN_AUTH_RAW_TOKEN : CONN_AUTH_AUTHENTICATE);
        } else {
            resp.error_code = KERR_UNSUPPORTED_SASL_MECHANISM;
            log_info("network", "Failed authentication with %s (Unsupported SASL mechanism %s)",
                     conn_peer(req->conn), mech);
            conn_close_after_response(req->conn);
        }
    }
    sasl_handshake_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* The exchange's next step on the token: false if it failed (logged). */
static bool step(request_t *req, const uint8_t *token, size_t len, sasl_outcome_t *out)
{
    sasl_exchange_t *x = conn_sasl_exchange(req->conn);
    sasl_result_t r = sasl_exchange_step(x, token, len, out);
    if (r == SASL_FAILED) {
        log_info("network", "Failed authentication with %s (%s)", conn_peer(req->conn), out->why);
        return false;
    }
    if (r == SASL_COMPLETE) {
        char principal[300];
        snprintf(principal, sizeof(principal), "User:%s", out->user);
        log_debug("network", "Authenticated %s as %s with SASL/%s", conn_peer(req->conn),
                  principal, sasl_exchange_mechanism(x));
        conn_authenticated(req->conn, principal);
    }
    return true;
}

enum handler_result api_sasl_authenticate(broker_t *b, request_t *req)
{
    (void)b;
    int16_t v = req->hdr.request_api_version;
    struct sasl_authenticate_request rq;
    if (sasl_authenticate_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct sasl_authenticate_response resp;
    sasl_authenticate_response_defaults(&resp);
    resp.auth_bytes = (kbytes_t){ NULL, 0 };
    if (!authenticating(req) || conn_auth_state(req->conn) != CONN_AUTH_AUTHENTICATE) {
        resp.error_code = KERR_ILLEGAL_SASL_STATE;
        resp.error_message =
            KSTR_LIT("SaslAuthenticate request received after successful authentication");
    } else {
        sasl_outcome_t out;
        if (!step(req, rq.auth_bytes.ptr, (size_t)MAX(rq.auth_bytes.len, 0), &out)) {
            resp.error_code = KERR_SASL_AUTHENTICATION_FAILED;
            resp.error_message = kstr_from_cstr(arena_strdup(&req->arena, out.client_message));
            conn_close_after_response(req->conn);
        } else {
            uint8_t *copy = arena_alloc(&req->arena, out.token_len + 1);
            memcpy(copy, out.token, out.token_len);
            resp.auth_bytes = (kbytes_t){ copy, (int32_t)out.token_len };
        }
    }
    sasl_authenticate_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* After a v0 handshake the client sends each token as a bare frame and
 * gets the server's (empty for PLAIN) back the same way; a failure closes
 * the connection without an answer, as in Kafka. */
enum handler_result sasl_raw_token(broker_t *b, request_t *req)
{
    (void)b;
    sasl_outcome_t out;
    if (!step(req, req->frame, req->frame_len, &out))
        return REQ_CLOSE;
    kw_raw(&req->resp, out.token, out.token_len);
    req->raw_response = true;
    return REQ_DONE;
}
