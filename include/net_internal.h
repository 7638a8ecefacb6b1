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
    struct ssl_principal_mapper *principal_mapper;  /* SSL listeners */
    char *tls_fingerprint;      /* the settings tls was built from (tls_context.h) */
    bool tls_reloading;         /* a reload is on the disk thread */
    bool tls_reload_again;      /* settings changed meanwhile: reload once more */
    struct sasl_listener *sasl; /* SASL listeners (SASL_PLAINTEXT, SASL_SSL) */
    broker_t *broker;
    int64_t idle_ms;            /* connections.max.idle.ms (0: never closed for idling) */
} net_listener_t;

/* Takes a freshly accepted non-blocking socket. */
void conn_accept(broker_t *b, const net_listener_t *nl, int fd, const char *peer);
/* Closes every connection (shutdown). */
void net_close_all(void);
/* Closes the connections idle for longer than their listener's
 * connections.max.idle.ms (none with a request in progress or a quota
 * mute, which are not the client's idling), as Kafka's Selector does. */
void net_close_idle(int64_t now_mono_ms);

#endif
