/*
 * net_conn.c - owns client connections: Kafka framing (int32 size prefix,
 * socket.request.max.bytes guard), one-request-at-a-time processing,
 * writing responses with file regions spliced in via sendfile, and the flow
 * control that keeps any client from growing the broker's memory:
 *   - a connection is not read while its request is parked (Kafka mutes a
 *     channel until its response is sent), nor while more than
 *     CONN_OUTPUT_PAUSE_BYTES of responses wait for a client that does not
 *     read them;
 *   - request frames are reserved from one pool of queued.max.request.bytes
 *     (KIP-72; -1 = unbounded, Kafka's default) as soon as their size is
 *     known; a connection that finds the pool used up is not read until
 *     memory comes back;
 *   - allocation failure closes that connection only.
 * Requests are handled as soon as they are whole, so the request queue of
 * queued.max.requests never holds more than the one being handled; parked
 * requests wait in the purgatory, outside that queue, as in Kafka.
 * Bytes cross the socket through the connection's transport (plain or TLS,
 * net_transport.h); a TLS connection handshakes before it reads requests.
 * Event-loop thread only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "logging.h"
#include "net.h"
#include "net_internal.h"
#include "net_limits.h"
#include "net_transport.h"
#include "sasl_server.h"
#include "ssl_principal.h"
#include "util.h"

/* Handling a connection's requests pauses while this much output waits. */
#define CONN_OUTPUT_PAUSE_BYTES (1 << 20)
/* Bytes one read event takes before requests are handled. */
#define CONN_READ_BUDGET (256 << 10)
#define CONN_READ_CHUNK (64 << 10)
/* Kafka's sasl.server.max.receive.size default. */
#define SASL_MAX_RECEIVE_SIZE 524288

struct conn {
    broker_t *broker;
    const net_listener_t *listener;
    int fd;
    transport_t tr;
    struct evbuffer *in, *out;
    struct event *read_ev, *write_ev;
    bool read_on, write_on;     /* events added */
    bool handshaking;           /* transport handshake not finished */
    bool read_allowed;          /* flow control lets requests in */
    bool read_waits_write;      /* TLS: a read needs the socket writable */
    bool write_waits_read;      /* TLS: a write needs the socket readable */
    struct event *resume_ev;    /* sends a completed request, reads on */
    char peer[80];
    char ip[INET6_ADDRSTRLEN];  /* the peer's address, counted in net_limits */
    char principal[300];        /* "User:<name>" once authenticated */
    enum conn_auth auth;
    struct sasl_exchange *sasl_x;   /* the handshake's mechanism, mid-exchange */
    conn_session_t session;
    struct event *unmute_ev;    /* ends a quota throttle (KIP-219 muting) */
    bool muted;
    int64_t muted_until;        /* mono_ms() the mute ends */
    int64_t last_active_ms;     /* mono_ms() of its last read or write */
    request_t *inflight;        /* parked request, if any */
    bool closing;               /* close once output drains */
    int64_t reserved;           /* pool bytes held for the frame being read */
    bool waiting_pool;          /* on pool_waiters */
    struct conn *prev, *next;
    struct conn *pool_next;
};

/* All live connections; event-loop thread. */
static struct conn *conns;
/* The request memory pool (queued.max.request.bytes); event-loop thread. */
static int64_t pool_used;
static struct conn *pool_waiters;

int64_t net_pool_used(void)
{
    return pool_used;
}

/* Kafka's non-strict SimpleMemoryPool: a reservation succeeds while any
 * memory is left, so one frame larger than the pool still gets through. */
static bool pool_reserve(struct conn *c, int64_t bytes)
{
    int64_t limit = c->broker->cfg->queued_max_request_bytes;
    if (limit > 0 && pool_used >= limit) {
        if (!c->waiting_pool) {
            c->waiting_pool = true;
            c->pool_next = pool_waiters;
            pool_waiters = c;
        }
        return false;
    }
    pool_used += bytes;
    c->reserved = bytes;
    return true;
}

static void pool_unwait(struct conn *c)
{
    for (struct conn **pp = &pool_waiters; *pp; pp = &(*pp)->pool_next) {
        if (*pp == c) {
            *pp = c->pool_next;
            break;
        }
    }
    c->waiting_pool = false;
    c->pool_next = NULL;
}

/* Memory came back: every waiting connection tries again (deferred). */
static void pool_release(int64_t bytes)
{
    pool_used -= bytes;
    while (pool_waiters) {
        struct conn *c = pool_waiters;
        pool_waiters = c->pool_next;
        c->waiting_pool = false;
        c->pool_next = NULL;
        event_active(c->resume_ev, 0, 0);
    }
}

static size_t conn_output_len(const struct conn *c)
{
    return evbuffer_get_length(c->out);
}

static void event_toggle(struct event *ev, bool *on, bool want)
{
    if (want == *on)
        return;
    if (want ? event_add(ev, NULL) : event_del(ev)) {
        log_error("network", "Cannot %s a connection event", want ? "add" : "remove");
        return;
    }
    *on = want;
}

/* Socket interest from the state: the handshake's needs, else flow
 * control for reading and pending output for writing. */
static void conn_update_events(struct conn *c)
{
    bool r, w;
    if (c->handshaking) {
        r = c->tr.want == TRANSPORT_WANT_READ;
        w = c->tr.want == TRANSPORT_WANT_WRITE;
    } else {
        r = (c->read_allowed && !c->read_waits_write) || c->write_waits_read;
        w = (conn_output_len(c) > 0 && !c->write_waits_read) || c->read_waits_write;
    }
    event_toggle(c->read_ev, &c->read_on, r);
    event_toggle(c->write_ev, &c->write_on, w);
}

/* Reads only when a request could be taken: nothing parked, the client
 * keeping up with its responses and the pool not exhausted. */
static void conn_update_reading(struct conn *c)
{
    c->read_allowed = !c->closing && !c->inflight && !c->waiting_pool && !c->handshaking &&
                      !c->muted && conn_output_len(c) <= CONN_OUTPUT_PAUSE_BYTES;
    conn_update_events(c);
    /* TLS may hold decrypted bytes the socket will not signal again. */
    if (c->read_allowed && c->tr.ops->pending(&c->tr))
        event_active(c->read_ev, EV_READ, 0);
}

const char *conn_peer(const struct conn *c)
{
    return c->peer;
}

const char *conn_principal(const struct conn *c)
{
    return c->principal;
}

const listener_t *conn_listener(const struct conn *c)
{
    return c->listener->cfg;
}

enum conn_auth conn_auth_state(const struct conn *c)
{
    return c->auth;
}

const struct sasl_listener *conn_sasl(const struct conn *c)
{
    return c->listener->sasl;
}

void conn_set_auth_state(struct conn *c, enum conn_auth state)
{
    c->auth = state;
}

conn_session_t *conn_session(struct conn *c)
{
    return &c->session;
}

struct sasl_exchange *conn_sasl_exchange(const struct conn *c)
{
    return c->sasl_x;
}

void conn_set_sasl_exchange(struct conn *c, struct sasl_exchange *x)
{
    sasl_exchange_free(c->sasl_x);
    c->sasl_x = x;
}

void conn_authenticated(struct conn *c, const char *principal)
{
    c->auth = CONN_AUTH_COMPLETE;
    sasl_exchange_free(c->sasl_x);
    c->sasl_x = NULL;
    snprintf(c->principal, sizeof(c->principal), "%s", principal);
}

void conn_close_after_response(struct conn *c)
{
    c->closing = true;
}

static void request_free(request_t *req)
{
    arena_free(&req->arena);
    kw_free(&req->resp);
    free(req->frame);
    int64_t pool_bytes = req->pool_bytes;
    free(req);
    if (pool_bytes)
        pool_release(pool_bytes);
}

static void conn_unmute(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    c->muted = false;
    conn_update_reading(c);
}

void conn_mute_for(struct conn *c, int32_t ms)
{
    if (ms <= 0)
        return;
    if (!c->unmute_ev)
        c->unmute_ev = evtimer_new(event_get_base(c->read_ev), conn_unmute, c);
    if (!c->unmute_ev)
        return;     /* no memory for the timer: not throttled, still served */
    /* Two quotas may throttle one request: the longer mute stands. */
    int64_t until = mono_ms() + ms;
    if (c->muted && until <= c->muted_until)
        return;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    c->muted = true;
    c->muted_until = until;
    evtimer_add(c->unmute_ev, &tv);
    conn_update_reading(c);
}

static void conn_free(struct conn *c)
{
    sasl_exchange_free(c->sasl_x);
    if (c->unmute_ev)
        event_free(c->unmute_ev);
    if (c->inflight) {
        if (!c->inflight->done && c->inflight->cancel)
            c->inflight->cancel(c->inflight);
        request_free(c->inflight);
        c->inflight = NULL;
    }
    if (c->waiting_pool)
        pool_unwait(c);
    if (c->reserved) {
        int64_t r = c->reserved;
        c->reserved = 0;
        pool_release(r);
    }
    event_free(c->resume_ev);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    event_free(c->read_ev);
    event_free(c->write_ev);
    c->tr.ops->free(&c->tr);
    net_limits_release(c->listener, c->ip);
    evbuffer_free(c->in);
    evbuffer_free(c->out);
    close(c->fd);
    free(c);
}

/* Stops reading; frees the connection once its output is sent.  False if
 * it is gone already. */
static bool conn_close_after_flush(struct conn *c)
{
    c->closing = true;
    c->read_allowed = false;
    if (conn_output_len(c) == 0) {
        conn_free(c);
        return false;
    }
    conn_update_events(c);
    return true;
}

void conn_send_response(struct conn *c, const request_t *req)
{
    if (req->resp.err) {
        log_error("network", "Out of memory building a response for %s; closing connection",
                  c->peer);
        c->closing = true;
        return;
    }
    kwriter_t hdr;
    kw_init(&hdr);
    kw_int32(&hdr, 0); /* size, patched below */
    if (!req->raw_response)
        proto_write_response_header(req, &hdr);
    int64_t total = (int64_t)hdr.len - 4 + kw_total(&req->resp);
    kw_put_int32_at(&hdr, 0, (int32_t)total);
    struct evbuffer *out = c->out;
    evbuffer_add(out, hdr.buf, hdr.len);
    kw_free(&hdr);
    const kwriter_t *w = &req->resp;
    size_t at = 0;
    for (int i = 0; i < w->nsplices; i++) {
        const kw_splice_t *s = &w->splices[i];
        evbuffer_add(out, w->buf + at, s->at - at);
        at = s->at;
        /* The buffer gets a descriptor of its own (the writer's is closed
         * with the request). */
        int fd = dup(s->fd);
        struct evbuffer_file_segment *seg =
            fd >= 0 ? evbuffer_file_segment_new(fd, s->off, s->len, EVBUF_FS_CLOSE_ON_FREE) : NULL;
        if (!seg || evbuffer_add_file_segment(out, seg, 0, s->len) < 0) {
            log_error("network", "Cannot queue file region for %s; closing connection", c->peer);
            if (seg)
                evbuffer_file_segment_free(seg);
            else if (fd >= 0)
                close(fd);
            c->closing = true;
            return;
        }
        evbuffer_file_segment_free(seg); /* the buffer holds its own reference */
    }
    evbuffer_add(out, w->buf + at, w->len - at);
    conn_update_events(c);
}

static bool conn_process(struct conn *c);

void request_complete(request_t *req)
{
    req->done = true;
    event_active(req->conn->resume_ev, 0, 0);
}

/* Deferred: sends the completed in-flight request (if any) and reads on;
 * also where a connection waiting for pool memory tries again. */
static void conn_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    request_t *req = c->inflight;
    if (req && !req->done)
        return;
    if (req) {
        c->inflight = NULL;
        if (!req->no_response) {
            quota_response_ready(req);
            conn_send_response(c, req);
        }
        request_free(req);
    }
    if (c->closing) {
        conn_close_after_flush(c);
        return;
    }
    (void)conn_process(c);
}

/* A frame whose bytes are all buffered becomes a request; NULL (connection
 * to be closed) if memory for it cannot be had. */
static request_t *request_take(struct conn *c, int32_t size)
{
    request_t *req = calloc(1, sizeof(*req));
    uint8_t *frame = req ? malloc((size_t)size + 1) : NULL;
    if (!frame) {
        free(req);
        log_error("network", "Out of memory reading a %d-byte request from %s; closing "
                             "connection", size, c->peer);
        return NULL;
    }
    struct evbuffer *in = c->in;
    req->conn = c;
    req->broker = c->broker;
    arena_init(&req->arena);
    kw_init(&req->resp);
    req->frame = frame;
    req->frame_len = (size_t)size;
    req->received_ms = mono_ms();
    req->pool_bytes = c->reserved;
    c->reserved = 0;
    evbuffer_drain(in, 4);
    evbuffer_remove(in, req->frame, (size_t)size);
    return req;
}

/* Handles every complete frame buffered, until one parks, the client
 * falls behind reading responses, or the pool runs dry.  False if the
 * connection is gone. */
static bool conn_process(struct conn *c)
{
    struct evbuffer *in = c->in;
    broker_t *b = c->broker;
    while (!c->inflight && !c->closing && conn_output_len(c) <= CONN_OUTPUT_PAUSE_BYTES) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            break;
        uint8_t szb[4];
        evbuffer_copyout(in, szb, 4);
        int32_t size = (int32_t)(((uint32_t)szb[0] << 24) | ((uint32_t)szb[1] << 16) |
                                 ((uint32_t)szb[2] << 8) | szb[3]);
        /* Before authentication frames are capped as Kafka's
         * sasl.server.max.receive.size; bare SASL tokens may be short. */
        bool unauthenticated = c->auth != CONN_AUTH_COMPLETE;
        int32_t min = c->auth == CONN_AUTH_RAW_TOKEN ? 0 : 8;
        int32_t max = unauthenticated ? SASL_MAX_RECEIVE_SIZE : b->cfg->socket_request_max_bytes;
        if (size < min || size > max) {
            log_warn("network", "Closing connection from %s: request size %d is outside "
                                "[%d, %s=%d] (InvalidReceiveException)", c->peer, size, min,
                     unauthenticated ? "sasl.server.max.receive.size" : "socket.request.max.bytes",
                     max);
            return conn_close_after_flush(c);
        }
        if (!c->reserved && !pool_reserve(c, size))
            break;
        if (avail < (size_t)size + 4)
            break;
        request_t *req = request_take(c, size);
        if (!req)
            return conn_close_after_flush(c);
        enum handler_result r = c->auth == CONN_AUTH_RAW_TOKEN ? sasl_raw_token(b, req)
                                                                : proto_dispatch(b, req);
        if (r == REQ_PARKED) {
            c->inflight = req;
            break;
        }
        if (r == REQ_CLOSE) {
            request_free(req);
            return conn_close_after_flush(c);
        }
        if (!req->no_response) {
            quota_response_ready(req);
            conn_send_response(c, req);
        }
        request_free(req);
    }
    if (c->closing)
        return conn_close_after_flush(c);
    conn_update_reading(c);
    return true;
}

/* The transport handshake went on; once done, requests may come. */
static void conn_handshake(struct conn *c)
{
    int rc = c->tr.ops->handshake(&c->tr);
    if (rc < 0) {
        log_info("network", "Failed authentication with %s (%s)", c->peer, c->tr.error);
        conn_free(c);
        return;
    }
    if (rc == 0) {
        conn_update_events(c);
        return;
    }
    c->handshaking = false;
    if (c->tr.zero_copy)
        evbuffer_set_flags(c->out, EVBUFFER_FLAG_DRAINS_TO_FD);
    char subject[256], name[256], why[300];
    transport_peer_subject(&c->tr, subject, sizeof(subject));
    /* ssl.principal.mapping.rules name a certificate's owner (Kafka's
     * DefaultKafkaPrincipalBuilder); no matching rule fails authentication. */
    if (subject[0] && c->listener->principal_mapper && !c->listener->sasl &&
        ssl_principal_map(c->listener->principal_mapper, subject, name, sizeof(name), why,
                          sizeof(why)) < 0) {
        log_info("network", "Failed authentication with %s (%s)", c->peer, why);
        conn_free(c);
        return;
    }
    snprintf(c->principal, sizeof(c->principal), "User:%s", subject[0] ? name : "ANONYMOUS");
    log_debug("network", "TLS connection from %s: %s %s, %s, principal %s", c->peer,
              SSL_get_version(c->tr.ssl), SSL_get_cipher_name(c->tr.ssl),
              c->tr.zero_copy ? "kernel TLS (sendfile)" : "OpenSSL encryption", c->principal);
    conn_update_reading(c);
}

/* Sends what the transport takes.  False if the connection is gone. */
static bool conn_flush(struct conn *c)
{
    ssize_t r = c->tr.ops->write(&c->tr, c->out);
    if (r < 0) {
        log_debug("network", "Connection to %s failed writing: %s", c->peer, c->tr.error);
        conn_free(c);
        return false;
    }
    c->write_waits_read = r == 0 && c->tr.want == TRANSPORT_WANT_READ;
    if (conn_output_len(c) <= CONN_OUTPUT_PAUSE_BYTES / 2) {
        /* Drained enough: close, or take requests paused for a slow reader. */
        if (c->closing) {
            if (conn_output_len(c) == 0) {
                conn_free(c);
                return false;
            }
        } else if (!c->inflight && !conn_process(c)) {
            return false;
        }
    }
    conn_update_events(c);
    return true;
}

/* Reads what the socket has (within the budget), then handles requests. */
static void conn_fill(struct conn *c)
{
    size_t budget = CONN_READ_BUDGET;
    c->read_waits_write = false;
    while (budget > 0 && c->read_allowed) {
        ssize_t r = c->tr.ops->read(&c->tr, c->in, MIN(budget, (size_t)CONN_READ_CHUNK));
        if (r < 0) {
            if (c->tr.error[0] && c->tr.ssl)
                log_info("network", "Connection from %s failed: %s", c->peer, c->tr.error);
            else if (c->tr.error[0])
                log_debug("network", "Connection from %s failed: %s", c->peer, c->tr.error);
            if (evbuffer_get_length(c->in) > 0 && !c->inflight)
                log_info("network", "Client %s disconnected in the middle of a request", c->peer);
            conn_free(c);
            return;
        }
        if (r == 0) {
            c->read_waits_write = c->tr.want == TRANSPORT_WANT_WRITE;
            break;
        }
        budget -= (size_t)r;
    }
    if (!conn_process(c))
        return;
    /* Out of budget with bytes left: another turn after other clients. */
    if (budget == 0 && c->read_allowed)
        event_active(c->read_ev, EV_READ, 0);
}

static void conn_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct conn *c = arg;
    c->last_active_ms = mono_ms();
    if (c->handshaking) {
        conn_handshake(c);
        return;
    }
    bool can_write = (what & EV_WRITE) || (c->write_waits_read && (what & EV_READ));
    bool can_read = (what & EV_READ) || (c->read_waits_write && (what & EV_WRITE));
    if (can_write && !conn_flush(c))
        return;
    if (can_read)
        conn_fill(c);
}

void conn_accept(broker_t *b, const net_listener_t *nl, int fd, const char *peer)
{
    char ip[INET6_ADDRSTRLEN];
    snprintf(ip, sizeof(ip), "%.*s", (int)(strrchr(peer, ':') ? strrchr(peer, ':') - peer
                                                              : (ptrdiff_t)strlen(peer)), peer);
    if (!net_limits_admit(nl, ip)) {
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        log_error("network", "Out of memory accepting a connection from %s", peer);
        net_limits_release(nl, ip);
        close(fd);
        return;
    }
    c->broker = b;
    c->listener = nl;
    c->fd = fd;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    snprintf(c->ip, sizeof(c->ip), "%s", ip);
    snprintf(c->principal, sizeof(c->principal), "User:ANONYMOUS");
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        log_debug("network", "TCP_NODELAY failed for %s", c->peer);
    int rc = nl->tls ? transport_init_tls(&c->tr, fd, nl->tls) : transport_init_plain(&c->tr, fd);
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    c->read_ev = event_new(b->base, fd, EV_READ | EV_PERSIST, conn_io, c);
    c->write_ev = event_new(b->base, fd, EV_WRITE | EV_PERSIST, conn_io, c);
    c->resume_ev = event_new(b->base, -1, 0, conn_resume, c);
    if (rc < 0 || !c->in || !c->out || !c->read_ev || !c->write_ev || !c->resume_ev) {
        log_error("network", "Cannot set up connection from %s", c->peer);
        net_limits_release(nl, ip);
        if (rc == 0)
            c->tr.ops->free(&c->tr);
        if (c->in)
            evbuffer_free(c->in);
        if (c->out)
            evbuffer_free(c->out);
        if (c->read_ev)
            event_free(c->read_ev);
        if (c->write_ev)
            event_free(c->write_ev);
        if (c->resume_ev)
            event_free(c->resume_ev);
        close(fd);
        free(c);
        return;
    }
    if (c->tr.zero_copy)
        evbuffer_set_flags(c->out, EVBUFFER_FLAG_DRAINS_TO_FD);
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    c->last_active_ms = mono_ms();
    c->auth = nl->sasl ? CONN_AUTH_HANDSHAKE : CONN_AUTH_COMPLETE;
    c->handshaking = nl->tls != NULL;
    if (c->handshaking) {
        c->tr.want = TRANSPORT_WANT_READ; /* the ClientHello */
        conn_update_events(c);
    } else {
        conn_update_reading(c);
    }
}

void net_close_all(void)
{
    while (conns)
        conn_free(conns);
}

void net_close_idle(int64_t now)
{
    for (struct conn *c = conns, *next; c; c = next) {
        next = c->next;
        int64_t idle = c->listener->idle_ms;
        if (idle <= 0 || c->inflight || c->muted || now - c->last_active_ms <= idle)
            continue;
        log_debug("network", "Closing connection from %s after %lld ms idle "
                  "(connections.max.idle.ms=%lld)", c->peer,
                  (long long)(now - c->last_active_ms), (long long)idle);
        conn_free(c);
    }
}
