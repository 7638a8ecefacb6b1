/*
 * net_transport.h - how a connection's bytes cross the socket, behind one
 * function table (as memcached and Redis keep TLS): plain, or TLS with
 * OpenSSL.  A transport reads into and writes from libevent buffers, so
 * the connection code above it never knows which one it has.
 *
 * Zero copy: a plain socket sends file regions with sendfile.  TLS does too
 * when the kernel encrypts (kernel TLS, SSL_OP_ENABLE_KTLS): after the
 * handshake OpenSSL hands the send direction to the kernel and
 * transport_zero_copy() is true; without kernel TLS, file regions are
 * mapped and encrypted by OpenSSL (the fallback).
 *
 * Event-loop thread only.
 */
#ifndef SAMSA_NET_TRANSPORT_H
#define SAMSA_NET_TRANSPORT_H

#include <event2/buffer.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What a transport call needs before it can go on. */
enum transport_want { TRANSPORT_WANT_NONE = 0, TRANSPORT_WANT_READ = 1, TRANSPORT_WANT_WRITE = 2 };

typedef struct transport transport_t;

typedef struct transport_ops {
    const char *name;
    /* Advances the handshake: 1 done, 0 in progress (see t->want), -1
     * failed (t->error says why). */
    int (*handshake)(transport_t *t);
    /* Appends at most max bytes to in: bytes read, 0 would block (see
     * t->want), -1 end of stream or error (t->error set on error). */
    ssize_t (*read)(transport_t *t, struct evbuffer *in, size_t max);
    /* Sends from the front of out, draining what went: bytes sent, 0 would
     * block, -1 error. */
    ssize_t (*write)(transport_t *t, struct evbuffer *out);
    /* Bytes the transport has read from the socket but not handed up. */
    bool (*pending)(const transport_t *t);
    void (*free)(transport_t *t);
} transport_ops_t;

struct transport {
    const transport_ops_t *ops;
    int fd;
    SSL *ssl;                   /* TLS only */
    bool zero_copy;             /* file regions may go by sendfile */
    enum transport_want want;   /* set when a call returns 0 */
    size_t retry_len;           /* TLS: length of a write to repeat */
    char error[200];            /* why the last call failed */
};

/* A transport over a connected socket: plain, or TLS (server side) with
 * ctx.  -1 if TLS state cannot be allocated. */
int transport_init_plain(transport_t *t, int fd);
int transport_init_tls(transport_t *t, int fd, SSL_CTX *ctx);

/* After a TLS handshake: the client certificate's subject in RFC 2253
 * form into buf, or "" when the client sent none. */
void transport_peer_subject(const transport_t *t, char *buf, size_t len);

#endif
