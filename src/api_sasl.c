/*
 * api_sasl.c - owns SaslHandshake (17) and SaslAuthenticate (36), and the
 * bare token frames that follow a v0 handshake, as Kafka's
 * SaslServerAuthenticator answers them: the mechanism list, PLAIN checked
 * against the listener's users, SASL_AUTHENTICATION_FAILED with Kafka's
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
        if (sasl_mechanism_enabled(conn_sasl(req->conn), mech)) {
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

/* PLAIN on the token: true with the connection authenticated. */
static bool check_token(request_t *req, const uint8_t *token, size_t len, char *why, size_t whylen)
{
    char user[256], principal[300];
    if (sasl_plain_authenticate(conn_sasl(req->conn), token, len, user, sizeof(user), why,
                                whylen) < 0) {
        log_info("network", "Failed authentication with %s (%s)", conn_peer(req->conn), why);
        return false;
    }
    snprintf(principal, sizeof(principal), "User:%s", user);
    conn_authenticated(req->conn, principal);
    log_debug("network", "Authenticated %s as %s with SASL/PLAIN", conn_peer(req->conn), principal);
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
        char why[256];
        if (!check_token(req, rq.auth_bytes.ptr, (size_t)MAX(rq.auth_bytes.len, 0), why,
                         sizeof(why))) {
            resp.error_code = KERR_SASL_AUTHENTICATION_FAILED;
            resp.error_message = kstr_from_cstr(arena_strdup(&req->arena, why));
            conn_close_after_response(req->conn);
        }
    }
    sasl_authenticate_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* After a v0 handshake the client sends the token as a bare frame and
 * gets the server's (empty for PLAIN) back the same way; a failure closes
 * the connection without an answer, as in Kafka. */
enum handler_result sasl_raw_token(broker_t *b, request_t *req)
{
    (void)b;
    char why[256];
    if (!check_token(req, req->frame, req->frame_len, why, sizeof(why)))
        return REQ_CLOSE;
    req->raw_response = true;
    return REQ_DONE;
}
