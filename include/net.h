/*
 * net.h - listeners and client connections.  A connection handles one
 * request at a time, as Kafka does: while a request is parked (a Fetch
 * long-poll) further frames stay buffered, so responses go out strictly in
 * request order.  Event-loop thread only.
 */
#ifndef SAMSA_NET_H
#define SAMSA_NET_H

#include "broker.h"

/* Binds every listener; connections wait in the kernel's backlog until
 * net_start_accepting(), once the broker is registered and its metadata
 * loaded (Kafka likewise processes no request before start-up completes,
 * so no client is told a topic is unknown because it is not loaded yet). */
int net_listen(broker_t *b);
void net_start_accepting(void);
/* Bytes of request frames held from the queued.max.request.bytes pool. */
int64_t net_pool_used(void);
void net_shutdown(void);
/* The dynamic broker config changed: re-read the connection limits
 * (net_limits.h).  Event-loop thread. */
void net_limits_reload(broker_t *b);
/* Peer address of a connection, "host:port". */
const char *conn_peer(const struct conn *c);
/* The authenticated principal ("User:ANONYMOUS" without authentication,
 * "User:<subject>" for a TLS client certificate). */
const char *conn_principal(const struct conn *c);
/* The listener a connection came in on. */
const listener_t *conn_listener(const struct conn *c);

/* Where a connection is in SASL authentication (Kafka's
 * SaslServerAuthenticator states).  Listeners without SASL start
 * CONN_AUTH_COMPLETE. */
enum conn_auth {
    CONN_AUTH_HANDSHAKE,        /* ApiVersions or SaslHandshake expected */
    CONN_AUTH_AUTHENTICATE,     /* SaslAuthenticate expected (handshake v1) */
    CONN_AUTH_RAW_TOKEN,        /* a bare token frame expected (handshake v0) */
    CONN_AUTH_COMPLETE,
};
enum conn_auth conn_auth_state(const struct conn *c);
/* The SASL settings of the connection's listener, NULL without SASL. */
const struct sasl_listener *conn_sasl(const struct conn *c);
void conn_set_auth_state(struct conn *c, enum conn_auth state);
/* The SASL exchange the handshake started (NULL before); the connection
 * owns it: setting another frees the earlier one, closing frees it. */
struct sasl_exchange *conn_sasl_exchange(const struct conn *c);
/* A SASL connection's session (KIP-368), kept by api_sasl.c. */
typedef struct conn_session {
    int64_t expires_ms;         /* wall clock; 0: the session does not expire */
    bool reauth_capable;        /* the client used SaslAuthenticate v1+ */
    bool reauthenticating;      /* a re-authentication is under way */
    int64_t last_reauth_ms;     /* when the last one started (0: never) */
    char mechanism[32];         /* of the last completed authentication */
} conn_session_t;
conn_session_t *conn_session(struct conn *c);
/* Stops reading the connection's requests for ms (a quota throttle,
 * KIP-219: the response goes out, the channel is muted after it). */
void conn_mute_for(struct conn *c, int32_t ms);
void conn_set_sasl_exchange(struct conn *c, struct sasl_exchange *x);
/* Authentication succeeded as principal ("User:<name>"). */
void conn_authenticated(struct conn *c, const char *principal);
/* Closes the connection once the response to the current request is out
 * (a failed authentication). */
void conn_close_after_response(struct conn *c);
/* Queues a response (header + body with spliced file regions). */
void conn_send_response(struct conn *c, const request_t *req);

/* Implemented by proto_dispatch.c: handles one complete frame. */
enum handler_result proto_dispatch(broker_t *b, request_t *req);
/* Encodes the response header for req into w. */
void proto_write_response_header(const request_t *req, kwriter_t *w);

#endif
