/*
 * net_internal.h - what the listener side (net_listen.c) and the connection
 * side (net_conn.c) share.  Event-loop thread only.
 */
#ifndef SAMSA_NET_INTERNAL_H
#define SAMSA_NET_INTERNAL_H

#include <openssl/ssl.h>

#include "broker.h"

typedef struct net_listener {
    const listener_t *cfg;
    struct evconnlistener *el;
    SSL_CTX *tls;               /* TLS listeners (SSL, SASL_SSL) */
    struct sasl_listener *sasl; /* SASL listeners (SASL_PLAINTEXT, SASL_SSL) */
    broker_t *broker;
} net_listener_t;

/* Takes a freshly accepted non-blocking socket. */
void conn_accept(broker_t *b, const net_listener_t *nl, int fd, const char *peer);
/* Closes every connection (shutdown). */
void net_close_all(void);

#endif
