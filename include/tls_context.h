/*
 * tls_context.h - the TLS settings of a listener, built from
 * Kafka's ssl.* keys (listener.name.<l>.ssl.* first): the keystore (PEM as
 * KIP-651, inline or in a file, or PKCS12), the truststore (PEM or PKCS12),
 * ssl.client.auth, ssl.enabled.protocols and ssl.cipher.suites (Java/IANA
 * names).  Main thread at start-up; the context is then shared read-only.
 */
#ifndef SAMSA_TLS_CONTEXT_H
#define SAMSA_TLS_CONTEXT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "broker_config.h"

/* NULL with a one-line reason in err if the keys do not make a usable
 * context (missing or unreadable keystore, wrong password, unknown
 * protocol or cipher suite, ...). */
SSL_CTX *tls_server_context(const broker_config_t *cfg, const listener_t *l, char *err,
                            size_t errlen);
/* Where keys are read for a dynamic update: listener.name.<l>.<key>,
 * then <key>, each through the dynamic layers over server.properties. */
typedef const char *(*tls_lookup_fn)(void *ctx, const char *key);
SSL_CTX *tls_server_context_with(const broker_config_t *cfg, const listener_t *l,
                                 tls_lookup_fn lookup, void *lookup_ctx, char *err, size_t errlen);
/* What a listener's TLS settings are now: every ssl.* value and the
 * stores' modification times (malloc'd; NULL without memory).  A change
 * means the context should be rebuilt (Kafka reloads a keystore whose file
 * changed when its config is updated, even to the same path). */
char *tls_settings_fingerprint(const broker_config_t *cfg, const listener_t *l,
                               tls_lookup_fn lookup, void *lookup_ctx);
/* Kafka's check of a keystore update: the new certificate keeps the old
 * one's subject and subject alternative names (err says which differs). */
bool tls_keystores_compatible(SSL_CTX *old, SSL_CTX *new, char *err, size_t errlen);
/* The client side, for connecting to other brokers on listener l: the
 * same ssl.* keys (keystore as the client certificate; truststore, or the
 * system's CAs, to check the server; protocols and cipher suites). */
SSL_CTX *tls_client_context(const broker_config_t *cfg, const listener_t *l, char *err,
                            size_t errlen);
/* The oldest queued OpenSSL error as text into buf ("" if none); clears
 * this thread's error queue.  Returns buf. */
const char *tls_error_reason(char *buf, size_t len);
/* Whether a ssl.* key is one tls_server_context reads. */
int tls_key_known(const char *key);

#endif
