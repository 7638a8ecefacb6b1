/*
 * kclient.c - owns the blocking Kafka protocol client (see kclient.h):
 * sockets with bounded waits, request framing, response header checks and
 * the by-name codec lookup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kclient.h"
#include "proto_messages.h"
#include "sasl_client.h"
#include "util.h"

__attribute__((format(printf, 2, 3)))
static int failed(kclient_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof(c->error), fmt, ap);
    va_end(ap);
    return -1;
}

static int kclient_api_versions(kclient_t *c)
{
    for (int i = 0; i < KCLIENT_MAX_API; i++)
        c->api_min[i] = c->api_max[i] = -1;
    arena_t a;
    arena_init(&a);
    kwriter_t w;
    kw_init(&w);
    kreader_t r;
    struct api_versions_response resp;
    int rc = kclient_call(c, 18, 0, false, &w, &a, &r);
    if (rc == 0)
        rc = api_versions_response_decode(&r, 0, &resp);
    if (rc == 0 && resp.error_code == 0) {
        for (int i = 0; i < resp.api_keys_count; i++) {
            int16_t k = resp.api_keys[i].api_key;
            if (k >= 0 && k < KCLIENT_MAX_API) {
                c->api_min[k] = resp.api_keys[i].min_version;
                c->api_max[k] = resp.api_keys[i].max_version;
            }
        }
    } else {
        rc = -1;
    }
    kw_free(&w);
    arena_free(&a);
    return rc;
}

static void set_timeouts(int fd, int timeout_ms)
{
    if (timeout_ms <= 0)
        return;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    /* Best effort: without them a dead peer is noticed by TCP alone. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Connects to one host:port; the fd or -1. */
static int dial(const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints = { 0 }, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        /* SO_SNDTIMEO also bounds connect() on Linux. */
        set_timeouts(fd, timeout_ms);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* TLS client handshake on c->fd; the server's name checked if asked. */
static int tls_start(kclient_t *c, const char *host, const kclient_auth_t *auth)
{
    c->ssl = SSL_new(auth->tls);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
        return failed(c, "cannot set up TLS");
    struct in6_addr addr;
    bool literal = inet_pton(AF_INET, host, &addr) == 1 || inet_pton(AF_INET6, host, &addr) == 1;
    if (!literal)
        (void)SSL_set_tlsext_host_name(c->ssl, host);
    if (auth->verify_hostname) {
        X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                         : X509_VERIFY_PARAM_set1_host(param, host, 0);
        if (ok != 1)
            return failed(c, "cannot verify TLS host name %s", host);
    }
    if (SSL_connect(c->ssl) != 1) {
        long verify = SSL_get_verify_result(c->ssl);
        unsigned long e = ERR_peek_last_error();
        char reason[160];
        ERR_error_string_n(e, reason, sizeof(reason));
        ERR_clear_error();
        return failed(c, "TLS handshake failed: %s", verify != X509_V_OK
                      ? X509_verify_cert_error_string(verify) : e ? reason : "connection closed");
    }
    return 0;
}

/* SaslHandshake v1, then SaslAuthenticate v2 until the exchange ends. */
static int sasl_start(kclient_t *c, const kclient_auth_t *auth)
{
    arena_t a;
    arena_init(&a);
    struct sasl_handshake_request hq;
    struct sasl_handshake_response hr;
    sasl_handshake_request_defaults(&hq);
    hq.mechanism = kstr_from_cstr(auth->sasl_mechanism);
    int rc = kclient_rpc(c, &a, "SaslHandshake", 1, &hq, &hr) < 0
             ? failed(c, "SaslHandshake failed")
             : hr.error_code ? failed(c, "SASL mechanism %s is not enabled on the server (error %d)",
                                      auth->sasl_mechanism, hr.error_code)
                             : 0;
    sasl_client_t *x = rc == 0 ? sasl_client_new(auth->sasl_mechanism, auth->username ?
                                                  auth->username : "", auth->password ?
                                                  auth->password : "") : NULL;
    if (rc == 0 && !x)
        rc = failed(c, "SASL mechanism %s is not supported", auth->sasl_mechanism);
    const uint8_t *in = NULL;
    size_t in_len = 0;
    while (rc == 0) {
        uint8_t token[2048];
        size_t len = sizeof(token);
        int more = sasl_client_step(x, in, in_len, token, &len, c->error, sizeof(c->error));
        if (more <= 0) {
            rc = more;
            break;
        }
        struct sasl_authenticate_request aq;
        struct sasl_authenticate_response ar;
        sasl_authenticate_request_defaults(&aq);
        aq.auth_bytes = (kbytes_t){ token, (int32_t)len };
        if (kclient_rpc(c, &a, "SaslAuthenticate", -2, &aq, &ar) < 0)
            rc = failed(c, "SaslAuthenticate failed");
        else if (ar.error_code)
            rc = failed(c, "Authentication failed: %.*s (error %d)", MAX(ar.error_message.len, 0),
                        ar.error_message.ptr ? ar.error_message.ptr : "", ar.error_code);
        in = (const uint8_t *)ar.auth_bytes.ptr;
        in_len = ar.auth_bytes.len > 0 ? (size_t)ar.auth_bytes.len : 0;
    }
    sasl_client_free(x);
    arena_free(&a);
    return rc;
}

static int start(kclient_t *c, const char *client_id, const char *host,
                 const kclient_auth_t *auth)
{
    c->next_correlation = 1;
    snprintf(c->client_id, sizeof(c->client_id), "%s", client_id ? client_id : "");
    if (c->fd < 0)
        return -1;
    if ((auth && auth->tls && tls_start(c, host, auth) < 0) ||
        (kclient_api_versions(c) < 0 && (c->error[0] || failed(c, "ApiVersions failed"))) ||
        (auth && auth->sasl_mechanism && sasl_start(c, auth) < 0)) {
        kclient_close(c);
        return -1;
    }
    return 0;
}

int kclient_connect(kclient_t *c, const char *client_id, const char *bootstrap, int timeout_ms)
{
    c->fd = -1;
    c->ssl = NULL;
    c->error[0] = '\0';
    char *list = xstrdup(bootstrap), *save = NULL;
    for (char *hp = strtok_r(list, ",", &save); hp && c->fd < 0; hp = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(hp, ':');
        if (!colon)
            continue;
        *colon = '\0';
        c->fd = dial(hp, colon + 1, timeout_ms);
    }
    free(list);
    if (c->fd < 0)
        failed(c, "cannot connect to %s", bootstrap);
    return start(c, client_id, NULL, NULL);
}

int kclient_connect_to(kclient_t *c, const char *client_id, const char *host, int32_t port,
                       int timeout_ms)
{
    return kclient_connect_secure(c, client_id, host, port, timeout_ms, NULL);
}

int kclient_connect_secure(kclient_t *c, const char *client_id, const char *host, int32_t port,
                           int timeout_ms, const kclient_auth_t *auth)
{
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    c->ssl = NULL;
    c->error[0] = '\0';
    c->fd = dial(host, ps, timeout_ms);
    if (c->fd < 0)
        failed(c, "cannot connect to %s:%d (%s)", host, port, strerror(errno));
    return start(c, client_id, host, auth);
}

int16_t kclient_version(const kclient_t *c, int16_t api_key, int16_t want)
{
    if (api_key < 0 || api_key >= KCLIENT_MAX_API || c->api_min[api_key] < 0 ||
        c->api_min[api_key] > want)
        return -1;
    return MIN(want, c->api_max[api_key]);
}

void kclient_close(kclient_t *c)
{
    if (c->ssl) {
        /* No close_notify: the peer may be gone, and a blocked write must
         * not hold up closing. */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int read_all(kclient_t *c, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r;
        if (c->ssl) {
            size_t got = 0;
            r = SSL_read_ex(c->ssl, p, n, &got) == 1 ? (ssize_t)got : -1;
            if (r < 0)
                ERR_clear_error();
        } else {
            r = read(c->fd, p, n);
            if (r < 0 && errno == EINTR)
                continue;
        }
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_all(kclient_t *c, const uint8_t *p, size_t n)
{
    if (!c->ssl)
        return write_full(c->fd, p, n);
    size_t done = 0;
    if (SSL_write_ex(c->ssl, p, n, &done) != 1 || done != n) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

int kclient_call(kclient_t *c, int16_t api_key, int16_t version, bool flexible,
                 const kwriter_t *body, arena_t *arena, kreader_t *resp)
{
    if (c->fd < 0)
        return -1;
    kwriter_t w;
    kw_init(&w);
    kw_int32(&w, 0);
    struct request_header h;
    request_header_defaults(&h);
    h.request_api_key = api_key;
    h.request_api_version = version;
    h.correlation_id = c->next_correlation++;
    h.client_id = kstr_from_cstr(c->client_id);
    request_header_encode(&w, flexible ? 2 : 1, &h);
    kw_raw(&w, body->buf, body->len);
    kw_put_int32_at(&w, 0, (int32_t)(w.len - 4));
    int rc = write_all(c, w.buf, w.len);
    kw_free(&w);
    if (rc < 0)
        return -1;
    uint8_t szb[4];
    if (read_all(c, szb, 4) < 0)
        return -1;
    int32_t size = be32_get(szb);
    if (size < 4 || size > KCLIENT_MAX_FRAME)
        return -1;
    /* A failed allocation fails this exchange, never the process. */
    uint8_t *buf = arena_try_alloc(arena, (size_t)size);
    if (!buf || read_all(c, buf, (size_t)size) < 0)
        return -1;
    kr_init(resp, buf, (size_t)size, arena);
    struct response_header rh;
    /* ApiVersions answers with header v0 whatever its version. */
    if (response_header_decode(resp, flexible && api_key != 18 ? 1 : 0, &rh) < 0 ||
        rh.correlation_id != h.correlation_id)
        return -1;
    return 0;
}

static const proto_message_info_t *message_info(const char *name)
{
    for (int i = 0; i < proto_message_table_count; i++)
        if (!strcmp(proto_message_table[i].name, name))
            return &proto_message_table[i];
    return NULL;
}

int16_t kclient_rpc(kclient_t *c, arena_t *a, const char *api, int16_t version, const void *rq,
                    void *resp)
{
    char rqn[64], rsn[64];
    snprintf(rqn, sizeof(rqn), "%sRequest", api);
    snprintf(rsn, sizeof(rsn), "%sResponse", api);
    const proto_message_info_t *qi = message_info(rqn), *si = message_info(rsn);
    if (!qi || !si)
        return -1;
    int16_t v = version >= 0 ? version : kclient_version(c, qi->api_key, (int16_t)-version);
    if (v < 0 || v > qi->max_version)
        return -1;
    kwriter_t w;
    kw_init(&w);
    qi->encode(&w, v, rq);
    kreader_t r;
    bool flexible = qi->first_flexible >= 0 && v >= qi->first_flexible;
    int rc = kclient_call(c, qi->api_key, v, flexible, &w, a, &r);
    kw_free(&w);
    if (rc < 0 || si->decode(&r, v, resp) < 0)
        return -1;
    return v;
}
