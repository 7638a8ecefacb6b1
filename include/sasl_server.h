/*
 * sasl_server.h - the SASL side of SASL_PLAINTEXT and SASL_SSL listeners:
 * which mechanisms a listener enables (sasl.enabled.mechanisms) and the
 * credentials it checks, and one connection's exchange.  PLAIN users come
 * from the listener's JAAS entry, listener.name.<l>.plain.sasl.jaas.config,
 * as Kafka's PlainLoginModule reads them (user_<name>="<password>");
 * SCRAM-SHA-256/512 credentials from /config/users (scram_store.h).
 *
 * connections.max.reauth.ms (KIP-368, per mechanism) bounds a session:
 * clients re-authenticate on the same connection, others are disconnected.
 *
 * Partial: GSSAPI and OAUTHBEARER stop start-up with a message; a static
 * JAAS file is not read.
 *
 * Listeners are built on the main thread at start-up and read-only
 * afterwards; exchanges live on the event-loop thread.
 */
#ifndef SAMSA_SASL_SERVER_H
#define SAMSA_SASL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_config.h"

typedef struct sasl_listener sasl_listener_t;

/* NULL with a one-line reason in err if the listener's SASL keys are
 * unusable. */
sasl_listener_t *sasl_listener_new(const broker_config_t *cfg, const listener_t *l, char *err,
                                   size_t errlen);
void sasl_listener_free(sasl_listener_t *s);
/* Enabled mechanisms, in configuration order. */
int sasl_mechanism_count(const sasl_listener_t *s);
const char *sasl_mechanism(const sasl_listener_t *s, int i);
bool sasl_mechanism_enabled(const sasl_listener_t *s, const char *mechanism);
/* connections.max.reauth.ms for a mechanism (0: sessions do not expire). */
int64_t sasl_reauth_ms(const sasl_listener_t *s, const char *mechanism);

/* Checks a PLAIN token (authzid NUL authcid NUL password).  0 with the
 * user name in user, or -1 with Kafka's message in why. */
int sasl_plain_authenticate(const sasl_listener_t *s, const unsigned char *token, size_t len,
                            char *user, size_t userlen, char *why, size_t whylen);

/* One connection's exchange with the mechanism its handshake chose. */
typedef struct sasl_exchange sasl_exchange_t;
typedef enum sasl_result { SASL_CONTINUE, SASL_COMPLETE, SASL_FAILED } sasl_result_t;

typedef struct sasl_outcome {
    char token[512];            /* the server's next token */
    size_t token_len;
    char user[256];             /* once SASL_COMPLETE */
    char why[256];              /* once SASL_FAILED: Kafka's reason, for the log */
    char client_message[256];   /* once SASL_FAILED: what Kafka tells the client */
    int64_t session_lifetime_ms;    /* once SASL_COMPLETE (set by api_sasl.c) */
} sasl_outcome_t;

/* NULL if the mechanism is not enabled on the listener. */
sasl_exchange_t *sasl_exchange_new(const sasl_listener_t *s, const char *mechanism);
void sasl_exchange_free(sasl_exchange_t *x);
const char *sasl_exchange_mechanism(const sasl_exchange_t *x);
/* Takes the client's next token. */
sasl_result_t sasl_exchange_step(sasl_exchange_t *x, const uint8_t *token, size_t len,
                                 sasl_outcome_t *out);
/* Whether a sasl.* key (after any listener prefix) is one samsa reads. */
bool sasl_key_known(const char *key);

#endif
