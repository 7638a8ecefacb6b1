/*
 * net_listen.c - owns the listening sockets: one per configured listener,
 * bound before start-up completes, accepting once the broker is ready, with
 * the TLS context of SSL and SASL_SSL listeners built from their ssl.* keys
 * and the SASL settings of SASL_PLAINTEXT and SASL_SSL ones.
 * Event-loop thread (net_listen runs on the main thread before the loop),
 * except reload_tls_run, on the disk thread (bio.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "broker_dynamic.h"
#include "kv_list.h"
#include "listeners.h"
#include "logging.h"
#include "net.h"
#include "net_internal.h"
#include "net_limits.h"
#include "sasl_server.h"
#include "ssl_principal.h"
#include "tls_context.h"
#include "util.h"

static net_listener_t listeners[CONFIG_MAX_LISTENERS];
static int n_listeners;

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    (void)l;
    (void)socklen;
    net_listener_t *nl = arg;
    char host[INET6_ADDRSTRLEN] = "?", peer[80];
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(peer, sizeof(peer), "%s:%d", host, port);
    conn_accept(nl->broker, nl, fd, peer);
}

static int bind_listener(broker_t *b, const listener_t *l, net_listener_t *nl)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", l->port);
    struct evutil_addrinfo hints = { 0 }, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE;
    int rc = evutil_getaddrinfo(l->host[0] ? l->host : NULL, portstr, &hints, &ai);
    if (rc != 0 || !ai) {
        log_error("network", "Cannot resolve listener %s://%s:%d: %s", l->name, l->host, l->port,
                  evutil_gai_strerror(rc));
        return -1;
    }
    nl->cfg = l;
    nl->broker = b;
    nl->el = evconnlistener_new_bind(b->base, accept_cb, nl,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_DISABLED,
                                     128, ai->ai_addr, (int)ai->ai_addrlen);
    evutil_freeaddrinfo(ai);
    if (!nl->el) {
        log_error("network", "Cannot bind listener %s://%s:%d: %s", l->name, l->host, l->port,
                  strerror(errno));
        return -1;
    }
    return 0;
}

/* connections.max.idle.ms, listener.name.<l>. first (Kafka's default:
 * 10 minutes; -1 or 0 keeps idle connections). */
static int idle_setting(broker_t *b, const listener_t *l, int64_t *out)
{
    const char *v = listener_config(b->cfg, l, "connections.max.idle.ms");
    char *end = NULL;
    *out = v ? strtoll(v, &end, 10) : 600000;
    if (v && (!*v || *end)) {
        log_error("network", "Invalid value %s for configuration connections.max.idle.ms", v);
        return -1;
    }
    return 0;
}

static const char *static_lookup(void *ctx, const char *key)
{
    return config_get(ctx, key);
}

static const char *dynamic_lookup(void *ctx, const char *key)
{
    return bdyn_get(ctx, key, NULL);
}

/* A TLS listener's settings as they were when a reload was asked for:
 * the dynamic layers copied, so the disk thread reads no loop state. */
typedef struct tls_reload {
    broker_t *b;
    int index;                  /* listeners[index] */
    const broker_config_t *cfg; /* read-only */
    const listener_t *l;
    kv_list_t per_broker, defaults;
    char *fp_before;            /* the fingerprint in force at submission */
    SSL_CTX *current;           /* a reference to the context in force */
    /* Out (disk thread): */
    char *fp;                   /* NULL: unchanged or unreadable */
    SSL_CTX *ctx;               /* the new context, if it loaded and fits */
    char err[512];
} tls_reload_t;

static const char *snapshot_lookup(void *ctx, const char *key)
{
    const tls_reload_t *r = ctx;
    const char *v = kv_get(&r->per_broker, key);
    if (!v)
        v = kv_get(&r->defaults, key);
    return v ? v : config_get(r->cfg, key);
}

/* The disk thread: stat the stores and, if anything changed, load them.
 * @locality the disk thread
 * @locks none (the job owns its copies; SSL_CTX references are atomic) */
static void reload_tls_run(void *arg)
{
    tls_reload_t *r = arg;
    char *fp = tls_settings_fingerprint(r->cfg, r->l, snapshot_lookup, r);
    if (!fp || (r->fp_before && !strcmp(fp, r->fp_before))) {
        free(fp);
        return;
    }
    r->fp = fp;
    r->ctx = tls_server_context_with(r->cfg, r->l, snapshot_lookup, r, r->err, sizeof(r->err));
    if (r->ctx && (!r->current ||
                   !tls_keystores_compatible(r->current, r->ctx, r->err, sizeof(r->err)))) {
        SSL_CTX_free(r->ctx);
        r->ctx = NULL;
    }
}

static void reload_tls(broker_t *b, int index);

/* Back on the loop: new connections get the new context (those open keep
 * theirs); an unusable or incompatible keystore leaves the old one. */
static void reload_tls_done(void *arg)
{
    tls_reload_t *r = arg;
    net_listener_t *nl = r->index < n_listeners ? &listeners[r->index] : NULL;
    if (nl && nl->tls && r->fp && !r->ctx) {
        log_error("network", "Keeping the TLS settings of listener %s: %s", nl->cfg->name, r->err);
    } else if (nl && nl->tls && r->ctx) {
        SSL_CTX_free(nl->tls);
        nl->tls = r->ctx;
        r->ctx = NULL;
        free(nl->tls_fingerprint);
        nl->tls_fingerprint = r->fp;
        r->fp = NULL;
        log_info("network", "Reloaded the TLS keystore and truststore of listener %s",
                 nl->cfg->name);
    }
    SSL_CTX_free(r->ctx);
    SSL_CTX_free(r->current);
    free(r->fp);
    free(r->fp_before);
    kv_free(&r->per_broker);
    kv_free(&r->defaults);
    if (nl) {
        nl->tls_reloading = false;
        if (nl->tls_reload_again && nl->tls) {
            nl->tls_reload_again = false;
            reload_tls(r->b, r->index);
        }
    }
    free(r);
}

/* Files are read, and a PKCS12 store's key derived, on the disk thread. */
static void reload_tls(broker_t *b, int index)
{
    net_listener_t *nl = &listeners[index];
    if (nl->tls_reloading) {
        nl->tls_reload_again = true;    /* one at a time, with the newest settings */
        return;
    }
    nl->tls_reloading = true;
    tls_reload_t *r = xcalloc(1, sizeof(*r));
    r->b = b;
    r->index = index;
    r->cfg = b->cfg;
    r->l = nl->cfg;
    r->per_broker = kv_copy(&b->dynamic_config);
    r->defaults = kv_copy(&b->dynamic_default_config);
    r->fp_before = nl->tls_fingerprint ? xstrdup(nl->tls_fingerprint) : NULL;
    if (SSL_CTX_up_ref(nl->tls) == 1)
        r->current = nl->tls;
    bio_submit(reload_tls_run, reload_tls_done, r);
}

void net_limits_reload(broker_t *b)
{
    char err[300];
    if (n_listeners > 0 &&
        net_limits_configure(b->cfg, listeners, n_listeners, dynamic_lookup, b, err,
                             sizeof(err)) < 0)
        log_warn("network", "Connection limits unchanged: %s", err);
    for (int i = 0; i < n_listeners; i++)
        if (listeners[i].tls)
            reload_tls(b, i);
}

int net_listen(broker_t *b)
{
    for (int i = 0; i < b->cfg->n_listeners; i++) {
        const listener_t *l = &b->cfg->listeners[i];
        net_listener_t *nl = &listeners[n_listeners];
        if (security_protocol_tls(l->security_protocol)) {
            char err[512];
            nl->tls = tls_server_context(b->cfg, l, err, sizeof(err));
            if (!nl->tls) {
                log_error("network", "Cannot set up TLS: %s", err);
                return -1;
            }
            nl->tls_fingerprint = tls_settings_fingerprint(b->cfg, l, NULL, NULL);
            nl->principal_mapper = ssl_principal_mapper_new(
                listener_config(b->cfg, l, "ssl.principal.mapping.rules"), err, sizeof(err));
            if (!nl->principal_mapper) {
                log_error("network", "Cannot set up ssl.principal.mapping.rules on listener %s: %s",
                          l->name, err);
                SSL_CTX_free(nl->tls);
                nl->tls = NULL;
                return -1;
            }
        }
        if (security_protocol_sasl(l->security_protocol)) {
            char err[512];
            nl->sasl = sasl_listener_new(b->cfg, l, err, sizeof(err));
            if (!nl->sasl) {
                log_error("network", "Cannot set up SASL on listener %s: %s", l->name, err);
                SSL_CTX_free(nl->tls);
                free(nl->tls_fingerprint);
                ssl_principal_mapper_free(nl->principal_mapper);
                *nl = (net_listener_t){ 0 };
                return -1;
            }
        }
        if (idle_setting(b, l, &nl->idle_ms) < 0 || bind_listener(b, l, nl) < 0) {
            SSL_CTX_free(nl->tls);
            free(nl->tls_fingerprint);
            ssl_principal_mapper_free(nl->principal_mapper);
            sasl_listener_free(nl->sasl);
            *nl = (net_listener_t){ 0 };
            return -1;
        }
        n_listeners++;
        log_info("network", "Listening on %s://%s:%d (%s)", l->name, l->host, l->port,
                 security_protocol_name(l->security_protocol));
    }
    char err[300];
    if (net_limits_configure(b->cfg, listeners, n_listeners, static_lookup, (void *)b->cfg, err,
                             sizeof(err)) < 0) {
        log_error("network", "%s", err);
        return -1;
    }
    return 0;
}

/* Once a second: connections idle past their limit are closed. */
static struct event *idle_timer;

static void idle_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    net_close_idle(mono_ms());
}

void net_start_accepting(void)
{
    struct timeval second = { 1, 0 };
    if (n_listeners > 0 && !idle_timer) {
        idle_timer = event_new(listeners[0].broker->base, -1, EV_PERSIST, idle_sweep, NULL);
        if (!idle_timer || event_add(idle_timer, &second) < 0)
            log_warn("network", "Cannot start the idle-connection timer; idle connections "
                                "stay open");
    }
    for (int i = 0; i < n_listeners; i++)
        if (evconnlistener_enable(listeners[i].el) < 0)
            log_error("network", "Cannot start accepting connections on listener %s",
                      listeners[i].cfg->name);
}

void net_shutdown(void)
{
    if (idle_timer) {
        event_free(idle_timer);
        idle_timer = NULL;
    }
    for (int i = 0; i < n_listeners; i++) {
        evconnlistener_free(listeners[i].el);
        SSL_CTX_free(listeners[i].tls);
        free(listeners[i].tls_fingerprint);
        ssl_principal_mapper_free(listeners[i].principal_mapper);
        sasl_listener_free(listeners[i].sasl);
        listeners[i] = (net_listener_t){ 0 };
    }
    n_listeners = 0;
    net_close_all();
    net_limits_shutdown();
}
