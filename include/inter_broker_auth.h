/*
 * inter_broker_auth.h - how this broker connects to other brokers (its
 * replica fetchers, the controller's request channels, the channel to the
 * controller): over the inter-broker listener's security protocol, as
 * Kafka's broker-side clients do.  SSL and SASL_SSL use the listener's
 * ssl.* keys for a client context (keystore for client authentication,
 * truststore to check the server, ssl.endpoint.identification.algorithm
 * "https" -- the default -- to check its host name); SASL_PLAINTEXT and
 * SASL_SSL use sasl.mechanism.inter.broker.protocol (PLAIN or
 * SCRAM-SHA-256/512) with the username and password of
 * listener.name.<l>.<mechanism>.sasl.jaas.config.
 *
 * Partial: GSSAPI and OAUTHBEARER stop start-up; a static JAAS file is
 * not read.
 *
 * Built by the main thread at start-up before any thread connects;
 * read-only afterwards, shared by the threads that connect.
 */
#ifndef SAMSA_INTER_BROKER_AUTH_H
#define SAMSA_INTER_BROKER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "broker_config.h"
#include "kclient.h"

/* -1 with a one-line reason in err if the keys do not make a usable
 * client (unreadable truststore, unsupported mechanism, no password...). */
int ib_auth_init(const broker_config_t *cfg, char *err, size_t errlen);
void ib_auth_free(void);
/* kclient_connect_secure with the inter-broker security; a failure other
 * than the peer being unreachable is logged (once per distinct reason in
 * a row, so a retrying thread does not flood the log). */
int ib_connect(kclient_t *c, const char *client_id, const char *host, int32_t port,
               int timeout_ms);

#endif
