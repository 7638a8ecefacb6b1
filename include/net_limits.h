/*
 * net_limits.h - connection quotas as Kafka's ConnectionQuotas keeps them:
 * max.connections.per.ip with max.connections.per.ip.overrides (a client
 * address over its limit has its new connection closed at once, with
 * Kafka's log line), and max.connections for the broker and per listener
 * (listener.name.<l>.max.connections): at the limit a listener stops
 * accepting until a connection closes, as Kafka's acceptor waits.  Every
 * connection counts towards the broker's limit, but the inter-broker
 * listener is held only by its own when the broker has other listeners,
 * as in Kafka.
 *
 * Configured by the main thread at start-up; counted on the event-loop
 * thread.
 */
#ifndef SAMSA_NET_LIMITS_H
#define SAMSA_NET_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#include "net_internal.h"

/* Where the keys are read: server.properties at start-up, the dynamic
 * layers over it once they change. */
typedef const char *(*net_limits_lookup_fn)(void *ctx, const char *key);

/* Reads (or re-reads) the keys, keeping the counts; -1 with a reason for
 * an invalid value (the previous limits then stay). */
int net_limits_configure(const broker_config_t *cfg, const net_listener_t *listeners, int n,
                         net_limits_lookup_fn lookup, void *ctx, char *err, size_t errlen);
/* A connection from ip arrived on nl: true if it may stay (it is then
 * counted), false if its address is at its limit. */
bool net_limits_admit(const net_listener_t *nl, const char *ip);
/* A counted connection closed. */
void net_limits_release(const net_listener_t *nl, const char *ip);
void net_limits_shutdown(void);

#endif
