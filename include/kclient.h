/*
 * kclient.h - a small blocking Kafka protocol client over the generated
 * codecs: connect to one broker, learn its API versions, send a request and
 * read its response.  The samsa-* tools use it for the requests librdkafka's
 * Admin API lacks; the broker uses it on threads that may block (follower
 * fetchers, the controller's request senders, the channel to the
 * controller) -- never on the event-loop thread.
 *
 * A kclient_t belongs to the one thread that uses it.
 */
#ifndef SAMSA_KCLIENT_H
#define SAMSA_KCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "proto_codec.h"

#define KCLIENT_MAX_API 128
/* Largest response frame accepted (Kafka's socket.request.max.bytes is
 * 100 MiB; a fetch response is bounded by its max_bytes). */
#define KCLIENT_MAX_FRAME (128 * 1024 * 1024)

struct ssl_st;
struct ssl_ctx_st;

typedef struct kclient {
    int fd;
    struct ssl_st *ssl;             /* NULL: plaintext */
    char error[256];                /* why the last connect failed */
    int32_t next_correlation;
    char client_id[64];             /* a copy */
    int16_t api_min[KCLIENT_MAX_API];   /* -1: not supported by the broker */
    int16_t api_max[KCLIENT_MAX_API];
} kclient_t;

/* Connects to the first reachable "host:port" of a comma list and learns
 * the broker's API versions (ApiVersions v0).  timeout_ms > 0 bounds the
 * connect and every later read and write.  -1 on failure (c->fd is -1). */
int kclient_connect(kclient_t *c, const char *client_id, const char *bootstrap, int timeout_ms);
/* Same, to host and port. */
int kclient_connect_to(kclient_t *c, const char *client_id, const char *host, int32_t port,
                       int timeout_ms);
/* How to secure a connection: TLS with a client context (verifying the
 * server's name against its certificate when verify_hostname), then SASL
 * (SaslHandshake v1, SaslAuthenticate v2) with PLAIN or SCRAM-SHA-256/512.
 * Kafka's SASL_SSL is both; NULL members leave that layer out. */
typedef struct kclient_auth {
    struct ssl_ctx_st *tls;
    bool verify_hostname;
    const char *sasl_mechanism;
    const char *username;
    const char *password;
} kclient_auth_t;

/* kclient_connect_to over auth (NULL: plaintext); c->error says why it
 * failed. */
int kclient_connect_secure(kclient_t *c, const char *client_id, const char *host, int32_t port,
                           int timeout_ms, const kclient_auth_t *auth);
void kclient_close(kclient_t *c);
/* The highest version of api_key both sides support (at most want), or -1. */
int16_t kclient_version(const kclient_t *c, int16_t api_key, int16_t want);
/* Sends one request (body already encoded in `body`) and reads the
 * response body into a reader backed by `arena`.  flexible selects the
 * request/response header versions.  -1 on failure. */
int kclient_call(kclient_t *c, int16_t api_key, int16_t version, bool flexible,
                 const kwriter_t *body, arena_t *arena, kreader_t *resp);
/*
 * One request/response exchange by API name ("Metadata", "Fetch"...):
 * encodes rq at `version` (or, if version < 0, the highest both sides
 * support up to -version) with the generated codec and decodes the reply
 * into resp.  Returns the version used, or -1 (unsupported API, lost
 * connection, malformed reply).
 */
int16_t kclient_rpc(kclient_t *c, arena_t *a, const char *api, int16_t version, const void *rq,
                    void *resp);

#endif
