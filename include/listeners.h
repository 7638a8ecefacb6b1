/*
 * listeners.h - the broker's listeners as Kafka configures them: names and
 * addresses (listeners, advertised.listeners), the security protocol each
 * name maps to (listener.security.protocol.map), the listener brokers talk
 * to each other on (inter.broker.listener.name or
 * security.inter.broker.protocol), and per-listener keys
 * (listener.name.<name>.<key> over <key>).  Filled at start-up by the main
 * thread; read-only afterwards.
 */
#ifndef SAMSA_LISTENERS_H
#define SAMSA_LISTENERS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker_config.h"

/* Kafka's SecurityProtocol ids (as UpdateMetadata carries them). */
enum security_protocol {
    SECURITY_PLAINTEXT = 0,
    SECURITY_SSL = 1,
    SECURITY_SASL_PLAINTEXT = 2,
    SECURITY_SASL_SSL = 3,
};

const char *security_protocol_name(int16_t id);
/* The id of a protocol name (case-insensitive), -1 if unknown. */
int16_t security_protocol_id(const char *name);
static inline bool security_protocol_tls(int16_t id)
{
    return id == SECURITY_SSL || id == SECURITY_SASL_SSL;
}
static inline bool security_protocol_sasl(int16_t id)
{
    return id == SECURITY_SASL_PLAINTEXT || id == SECURITY_SASL_SSL;
}

/* Parses "NAME://host:port,..." into out; returns count or -1. */
int config_parse_listeners(const char *s, listener_t *out, int max);
/* Reads listeners, advertised.listeners, the protocol map and the
 * inter-broker listener into cfg, with Kafka's checks and messages
 * (printed to stderr).  0 or -1. */
int listeners_configure(broker_config_t *cfg);
/* A listener's value of key: listener.name.<lower-case name>.<key> if set,
 * else <key>, else NULL. */
const char *listener_config(const broker_config_t *cfg, const listener_t *l, const char *key);
/* The advertised listener brokers use to reach this one. */
const listener_t *listeners_inter_broker(const broker_config_t *cfg);
/* Security keys samsa reads (ssl.*, sasl.*, listener.name.*), so the
 * start-up warning does not name them. */
bool listeners_key_known(const char *key);

#endif
