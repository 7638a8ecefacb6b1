/*
 * net_limits.c - owns the connection counts (net_limits.h): per client
 * address, per listener and for the broker, and pausing and resuming
 * listeners at their limits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <event2/listener.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "listeners.h"
#include "logging.h"
#include "net_limits.h"
#include "util.h"

typedef struct ip_count {
    char ip[INET6_ADDRSTRLEN];
    int count;
    UT_hash_handle hh;
} ip_count_t;

typedef struct ip_override {
    char ip[INET6_ADDRSTRLEN];
    int limit;
} ip_override_t;

typedef struct listener_count {
    const net_listener_t *nl;
    int count, limit;
    bool protected;             /* the inter-broker listener: not held by the broker limit */
    bool paused;
} listener_count_t;

/* Event-loop thread (configured before it runs). */
static struct {
    int per_ip;
    ip_override_t *overrides;
    int n_overrides;
    int broker_limit;
    int total;                  /* every connection, as Kafka's totalCount */
    listener_count_t lc[CONFIG_MAX_LISTENERS];
    int n_lc;
    ip_count_t *ips;
} lim;

static void update_accepting(void);

static int parse_int(const char *v, const char *key, int dflt, int *out, char *err, size_t errlen)
{
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0 || n > INT_MAX) {
        snprintf(err, errlen, "Invalid value %s for configuration %s", v, key);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* "host:n,host:n", hosts resolved to their first address. */
static int parse_overrides(const char *v, char *err, size_t errlen)
{
    char *copy = xstrdup(v), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ", ", &save); t && rc == 0; t = strtok_r(NULL, ", ", &save)) {
        char *colon = strrchr(t, ':');
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
        int limit = 0;
        if (colon)
            *colon = '\0';
        if (!colon || parse_int(colon + 1, "max.connections.per.ip.overrides", 0, &limit, err,
                                errlen) < 0 || getaddrinfo(t, NULL, &hints, &ai) != 0) {
            snprintf(err, errlen, "Invalid value %s for configuration "
                     "max.connections.per.ip.overrides", v);
            rc = -1;
            break;
        }
        lim.overrides = xrealloc(lim.overrides, sizeof(*lim.overrides) *
                                                    (size_t)(lim.n_overrides + 1));
        ip_override_t *o = &lim.overrides[lim.n_overrides++];
        const void *addr = ai->ai_family == AF_INET
                           ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                           : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        inet_ntop(ai->ai_family, addr, o->ip, sizeof(o->ip));
        o->limit = limit;
        freeaddrinfo(ai);
    }
    free(copy);
    return rc;
}

/* The limits, from lookup (the dynamic layers over server.properties);
 * the counts are kept. */
int net_limits_configure(const broker_config_t *cfg, const net_listener_t *listeners, int n,
                         net_limits_lookup_fn lookup, void *ctx, char *err, size_t errlen)
{
    int per_ip, broker_limit, listener_limit[CONFIG_MAX_LISTENERS];
    free(lim.overrides);
    lim.overrides = NULL;
    lim.n_overrides = 0;
    const char *overrides = lookup(ctx, "max.connections.per.ip.overrides");
    if (parse_int(lookup(ctx, "max.connections.per.ip"), "max.connections.per.ip", INT_MAX,
                  &per_ip, err, errlen) < 0 ||
        parse_int(lookup(ctx, "max.connections"), "max.connections", INT_MAX, &broker_limit, err,
                  errlen) < 0 ||
        (overrides && *overrides && parse_overrides(overrides, err, errlen) < 0))
        return -1;
    if (per_ip == 0 && lim.n_overrides == 0) {
        snprintf(err, errlen, "max.connections.per.ip can be set to zero only if "
                 "max.connections.per.ip.overrides property is set.");
        return -1;
    }
    for (int i = 0; i < n && i < CONFIG_MAX_LISTENERS; i++) {
        char own[128];
        snprintf(own, sizeof(own), "listener.name.%s.max.connections", listeners[i].cfg->name);
        for (char *p = own + 14; *p && *p != '.'; p++)
            *p = (char)tolower((unsigned char)*p);
        if (parse_int(lookup(ctx, own), own, INT_MAX, &listener_limit[i], err, errlen) < 0)
            return -1;
    }
    lim.per_ip = per_ip;
    lim.broker_limit = broker_limit;
    for (int i = 0; i < n && i < CONFIG_MAX_LISTENERS; i++) {
        listener_count_t *c = &lim.lc[i];
        if (c->nl != &listeners[i])
            *c = (listener_count_t){ .nl = &listeners[i] };
        c->limit = listener_limit[i];
        c->protected = n > 1 && !strcmp(listeners[i].cfg->name, cfg->inter_broker_listener);
    }
    lim.n_lc = MIN(n, CONFIG_MAX_LISTENERS);
    update_accepting();
    return 0;
}

static listener_count_t *counts_of(const net_listener_t *nl)
{
    for (int i = 0; i < lim.n_lc; i++)
        if (lim.lc[i].nl == nl)
            return &lim.lc[i];
    return NULL;
}

static int ip_limit(const char *ip)
{
    for (int i = 0; i < lim.n_overrides; i++)
        if (!strcmp(lim.overrides[i].ip, ip))
            return lim.overrides[i].limit;
    return lim.per_ip;
}

static bool slot_available(const listener_count_t *c)
{
    return c->count < c->limit && (c->protected || lim.total < lim.broker_limit);
}

/* Pauses or resumes accepting on every listener as the counts allow. */
static void update_accepting(void)
{
    for (int i = 0; i < lim.n_lc; i++) {
        listener_count_t *c = &lim.lc[i];
        bool pause = !slot_available(c);
        if (pause == c->paused || !c->nl->el)
            continue;
        c->paused = pause;
        if (pause) {
            evconnlistener_disable(c->nl->el);
            log_info("network", "Listener %s has reached its connection limit; accepting "
                     "again when a connection closes", c->nl->cfg->name);
        } else {
            evconnlistener_enable(c->nl->el);
        }
    }
}

bool net_limits_admit(const net_listener_t *nl, const char *ip)
{
    ip_count_t *e;
    HASH_FIND_STR(lim.ips, ip, e);
    int limit = ip_limit(ip);
    if ((e ? e->count : 0) >= limit) {
        log_info("network", "Rejected connection from %s, address already has the configured "
                 "maximum of %d connections.", ip, limit);
        return false;
    }
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        snprintf(e->ip, sizeof(e->ip), "%s", ip);
        HASH_ADD_STR(lim.ips, ip, e);
    }
    e->count++;
    listener_count_t *c = counts_of(nl);
    if (c) {
        c->count++;
        lim.total++;
        update_accepting();
    }
    return true;
}

void net_limits_release(const net_listener_t *nl, const char *ip)
{
    ip_count_t *e;
    HASH_FIND_STR(lim.ips, ip, e);
    if (e && --e->count == 0) {
        HASH_DEL(lim.ips, e);
        free(e);
    }
    listener_count_t *c = counts_of(nl);
    if (c) {
        c->count--;
        lim.total--;
        update_accepting();
    }
}

void net_limits_shutdown(void)
{
    ip_count_t *e, *tmp;
    HASH_ITER(hh, lim.ips, e, tmp) {
        HASH_DEL(lim.ips, e);
        free(e);
    }
    free(lim.overrides);
    memset(&lim, 0, sizeof(lim));
}
