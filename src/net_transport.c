/*
 * net_transport.c - owns the two transports a connection can have: plain
 * sockets (readv, writev and sendfile through libevent buffers) and TLS
 * with OpenSSL (non-blocking handshake, SSL_read/SSL_write, and the kernel
 * TLS send path that keeps sendfile).  Event-loop thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net_transport.h"
#include "tls_context.h"
#include "util.h"

/* One SSL_write carries at most one TLS record's worth. */
#define TLS_WRITE_CHUNK 16384
/* Bytes one write call sends before letting other connections run. */
#define WRITE_BUDGET (1 << 20)

/* ---- plain ---- */

static int plain_handshake(transport_t *t)
{
    (void)t;
    return 1;
}

static ssize_t plain_read(transport_t *t, struct evbuffer *in, size_t max)
{
    struct evbuffer_iovec v[2];
    int n = evbuffer_reserve_space(in, (ev_ssize_t)max, v, 2);
    if (n <= 0) {
        snprintf(t->error, sizeof(t->error), "out of memory for input");
        return -1;
    }
    struct iovec iov[2];
    size_t room = 0;
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = MIN(v[i].iov_len, max - room);
        room += iov[i].iov_len;
    }
    ssize_t r = readv(t->fd, iov, n);
    if (r <= 0) {
        evbuffer_commit_space(in, v, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            t->want = TRANSPORT_WANT_READ;
            return 0;
        }
        if (r < 0)
            snprintf(t->error, sizeof(t->error), "%s", strerror(errno));
        return -1;
    }
    size_t left = (size_t)r;
    int used = 0;
    for (; used < n && left; used++) {
        v[used].iov_len = MIN(iov[used].iov_len, left);
        left -= v[used].iov_len;
    }
    evbuffer_commit_space(in, v, used);
    return r;
}

/* writev for memory, sendfile for file regions (the buffer drains to the
 * socket). */
static ssize_t socket_write(transport_t *t, struct evbuffer *out)
{
    int r = evbuffer_write_atmost(out, t->fd, WRITE_BUDGET);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            t->want = TRANSPORT_WANT_WRITE;
            return 0;
        }
        snprintf(t->error, sizeof(t->error), "%s", strerror(errno));
        return -1;
    }
    if (r == 0 && evbuffer_get_length(out) > 0)
        t->want = TRANSPORT_WANT_WRITE;
    return r;
}

static bool plain_pending(const transport_t *t)
{
    (void)t;
    return false;
}

static void plain_free(transport_t *t)
{
    (void)t;
}

static const transport_ops_t plain_ops = {
    .name = "plain",
    .handshake = plain_handshake,
    .read = plain_read,
    .write = socket_write,
    .pending = plain_pending,
    .free = plain_free,
};

int transport_init_plain(transport_t *t, int fd)
{
    memset(t, 0, sizeof(*t));
    t->ops = &plain_ops;
    t->fd = fd;
    t->zero_copy = true;
    return 0;
}

/* ---- TLS ---- */

/* Classifies an SSL call's failure: 0 (would block, t->want set) or -1
 * (t->error says why; "" for a clean end of stream). */
static int tls_failure(transport_t *t, int rc, const char *during)
{
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        t->want = TRANSPORT_WANT_READ;
        return 0;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        t->want = TRANSPORT_WANT_WRITE;
        return 0;
    }
    char reason[160];
    if (*tls_error_reason(reason, sizeof(reason))) {
        snprintf(t->error, sizeof(t->error), "%s: %s", during, reason);
    } else if (e == SSL_ERROR_ZERO_RETURN) {
        t->error[0] = '\0';
    } else if (e == SSL_ERROR_SYSCALL && errno && rc < 0) {
        snprintf(t->error, sizeof(t->error), "%s: %s", during, strerror(errno));
    } else {
        snprintf(t->error, sizeof(t->error), "%s: connection closed by peer", during);
    }
    return -1;
}

static int tls_handshake(transport_t *t)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        /* Kernel TLS took the send direction: the socket encrypts what is
         * written to it, sendfile included. */
        t->zero_copy = BIO_get_ktls_send(SSL_get_wbio(t->ssl)) > 0;
        return 1;
    }
    return tls_failure(t, rc, "SSL handshake failed");
}

static ssize_t tls_read(transport_t *t, struct evbuffer *in, size_t max)
{
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(in, (ev_ssize_t)max, &v, 1) != 1) {
        snprintf(t->error, sizeof(t->error), "out of memory for input");
        return -1;
    }
    size_t len = MIN(v.iov_len, max);
    ERR_clear_error();
    int rc = SSL_read(t->ssl, v.iov_base, (int)MIN(len, (size_t)INT32_MAX));
    if (rc <= 0) {
        evbuffer_commit_space(in, &v, 0);
        return tls_failure(t, rc, "TLS read failed") == 0 ? 0 : -1;
    }
    v.iov_len = (size_t)rc;
    evbuffer_commit_space(in, &v, 1);
    return rc;
}

static ssize_t tls_write(transport_t *t, struct evbuffer *out)
{
    if (t->zero_copy)
        return socket_write(t, out);
    ssize_t sent = 0;
    while (sent < WRITE_BUDGET && evbuffer_get_length(out) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(out, TLS_WRITE_CHUNK, NULL, &v, 1) < 1)
            break;
        /* A write that would have blocked is repeated with the same bytes. */
        size_t len = t->retry_len ? t->retry_len : MIN(v.iov_len, (size_t)TLS_WRITE_CHUNK);
        ERR_clear_error();
        int rc = SSL_write(t->ssl, v.iov_base, (int)len);
        if (rc <= 0) {
            t->retry_len = len;
            if (tls_failure(t, rc, "TLS write failed") < 0)
                return -1;
            return sent;
        }
        t->retry_len = 0;
        evbuffer_drain(out, (size_t)rc);
        sent += rc;
    }
    return sent;
}

static bool tls_pending(const transport_t *t)
{
    return SSL_has_pending(t->ssl) != 0;
}

static void tls_free(transport_t *t)
{
    if (!t->ssl)
        return;
    /* A close_notify if the socket takes it at once; never waited for. */
    if (SSL_is_init_finished(t->ssl)) {
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl);
    }
    ERR_clear_error();
    SSL_free(t->ssl);
    t->ssl = NULL;
}

static const transport_ops_t tls_ops = {
    .name = "tls",
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .free = tls_free,
};

int transport_init_tls(transport_t *t, int fd, SSL_CTX *ctx)
{
    memset(t, 0, sizeof(*t));
    t->ops = &tls_ops;
    t->fd = fd;
    t->ssl = SSL_new(ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        SSL_free(t->ssl);
        t->ssl = NULL;
        ERR_clear_error();
        return -1;
    }
    SSL_set_accept_state(t->ssl);
    return 0;
}

void transport_peer_subject(const transport_t *t, char *buf, size_t len)
{
    buf[0] = '\0';
    X509 *cert = t->ssl ? SSL_get1_peer_certificate(t->ssl) : NULL;
    if (!cert)
        return;
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem && X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0,
                                  XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *data;
        long n = BIO_get_mem_data(mem, &data);
        snprintf(buf, len, "%.*s", (int)MIN((size_t)MAX(n, 0), len - 1), data);
    }
    BIO_free(mem);
    X509_free(cert);
}
