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
    conn_session_t *sess = conn_session(req->conn);
    /* KIP-368: a client that used SaslAuthenticate v1+ re-authenticates
     * with a v1 handshake on its authenticated connection, when its session
     * expires at all and at most once a second (Kafka's KafkaChannel). */
    int64_t now = now_ms();
    bool reauth = conn_sasl(req->conn) && conn_auth_state(req->conn) == CONN_AUTH_COMPLETE &&
                  sess->reauth_capable && v >= 1 && sess->expires_ms &&
                  (!sess->last_reauth_ms || now - sess->last_reauth_ms >= 1000);
    if (reauth)
        sess->last_reauth_ms = now;
    if (!reauth && (!authenticating(req) || conn_auth_state(req->conn) != CONN_AUTH_HANDSHAKE)) {
        resp.error_code = KERR_ILLEGAL_SASL_STATE;
    } else {
        list_mechanisms(req, &resp);
        const char *mech = kstr_dup_or_empty(&req->arena, rq.mechanism);
        sasl_exchange_t *x = sasl_exchange_new(conn_sasl(req->conn), mech);
        if (x) {
            sess->reauthenticating = reauth;
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

static bool fail(request_t *req, sasl_outcome_t *out, const char *client_message)
{
    if (client_message)
        snprintf(out->client_message, sizeof(out->client_message), "%s", client_message);
    log_info("network", "Failed %s with %s (%s)",
             conn_session(req->conn)->reauthenticating ? "re-authentication" : "authentication",
             conn_peer(req->conn), out->why);
    return false;
}

/* A re-authentication must keep the mechanism and the principal (Kafka's
 * REAUTH_BAD_MECHANISM and ensurePrincipalUnchanged); NULL or the
 * message. */
static const char *reauth_problem(request_t *req, const sasl_exchange_t *x, const char *principal)
{
    conn_session_t *sess = conn_session(req->conn);
    if (!sess->reauthenticating)
        return NULL;
    if (strcmp(sess->mechanism, sasl_exchange_mechanism(x)))
        return arena_printf(&req->arena, "SASL mechanism '%s' requested by client is not "
                            "supported for re-authentication of mechanism '%s'",
                            sasl_exchange_mechanism(x), sess->mechanism);
    if (!principal)
        return NULL;
    const char *before = conn_principal(req->conn);
    if (strcmp(before, principal)) {
        /* "User:alice" is printed User.alice, as Kafka's type.name */
        const char *b = strchr(before, ':'), *a = strchr(principal, ':');
        return arena_printf(&req->arena, "Cannot change principals during re-authentication "
                            "from %.*s.%s: %.*s.%s", (int)(b - before), before, b + 1,
                            (int)(a - principal), principal, a + 1);
    }
    return NULL;
}

/* The exchange's next step on the token: false if it failed (logged). */
static bool step(request_t *req, const uint8_t *token, size_t len, sasl_outcome_t *out)
{
    sasl_exchange_t *x = conn_sasl_exchange(req->conn);
    const char *problem;
    sasl_result_t r = sasl_exchange_step(x, token, len, out);
    if (r == SASL_FAILED)
        return fail(req, out, NULL);
    if (r == SASL_COMPLETE) {
        char principal[300];
        snprintf(principal, sizeof(principal), "User:%s", out->user);
        if ((problem = reauth_problem(req, x, principal))) {
            snprintf(out->why, sizeof(out->why), "%s", problem);
            return fail(req, out, problem);
        }
        conn_session_t *sess = conn_session(req->conn);
        int64_t lifetime = sasl_reauth_ms(conn_sasl(req->conn), sasl_exchange_mechanism(x));
        sess->expires_ms = lifetime > 0 ? now_ms() + lifetime : 0;
        sess->reauthenticating = false;
        snprintf(sess->mechanism, sizeof(sess->mechanism), "%s", sasl_exchange_mechanism(x));
        log_debug("network", "Authenticated %s as %s with SASL/%s", conn_peer(req->conn),
                  principal, sess->mechanism);
        out->session_lifetime_ms = lifetime;
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
    const char *bad_mechanism;
    if (v >= 1)
        conn_session(req->conn)->reauth_capable = true;
    if (!authenticating(req) || conn_auth_state(req->conn) != CONN_AUTH_AUTHENTICATE) {
        resp.error_code = KERR_ILLEGAL_SASL_STATE;
        resp.error_message =
            KSTR_LIT("SaslAuthenticate request received after successful authentication");
    } else if ((bad_mechanism = reauth_problem(req, conn_sasl_exchange(req->conn), NULL))) {
        /* Kafka's REAUTH_BAD_MECHANISM: closed without an answer. */
        log_info("network", "Failed re-authentication with %s (%s)", conn_peer(req->conn),
                 bad_mechanism);
        return REQ_CLOSE;
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
            resp.session_lifetime_ms = out.session_lifetime_ms;
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
