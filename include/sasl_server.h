/*
 * sasl_server.h - the SASL side of SASL_PLAINTEXT and SASL_SSL listeners:
 * which mechanisms a listener enables (sasl.enabled.mechanisms) and the
 * credentials it checks.  PLAIN users come from the listener's JAAS entry,
 * listener.name.<l>.plain.sasl.jaas.config, as Kafka's PlainLoginModule
 * reads them (user_<name>="<password>").
 *
 * Partial: PLAIN only; SCRAM-SHA-256/512 (credentials in /config/users),
 * GSSAPI and OAUTHBEARER stop start-up with a message; a static JAAS file
 * is not read; connections.max.reauth.ms (KIP-368) is not enforced.
 *
 * Built on the main thread at start-up; read-only afterwards.
 */
#ifndef SAMSA_SASL_SERVER_H
#define SAMSA_SASL_SERVER_H

#include <stdbool.h>
#include <stddef.h>

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

/* Checks a PLAIN token (authzid NUL authcid NUL password).  0 with the
 * user name in user, or -1 with Kafka's message in why. */
int sasl_plain_authenticate(const sasl_listener_t *s, const unsigned char *token, size_t len,
                            char *user, size_t userlen, char *why, size_t whylen);
/* Whether a sasl.* key (after any listener prefix) is one samsa reads. */
bool sasl_key_known(const char *key);

#endif
