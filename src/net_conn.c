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
 * Event-loop thread only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logging.h"
#include "net.h"
#include "util.h"

/* Handling a connection's requests pauses while this much output waits. */
#define CONN_OUTPUT_PAUSE_BYTES (1 << 20)

struct conn {
    broker_t *broker;
    struct bufferevent *bev;
    struct event *resume_ev;    /* sends a completed request, reads on */
    char peer[80];
    request_t *inflight;        /* parked request, if any */
    bool closing;               /* close once output drains */
    int64_t reserved;           /* pool bytes held for the frame being read */
    bool waiting_pool;          /* on pool_waiters */
    struct conn *prev, *next;
    struct conn *pool_next;
};

/* All live connections; event-loop thread. */
static struct conn *conns;
static struct evconnlistener *listeners[CONFIG_MAX_LISTENERS];
static int n_listeners;
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
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* Reads only when a request could be taken: nothing parked, the client
 * keeping up with its responses and the pool not exhausted. */
static void conn_update_reading(struct conn *c)
{
    bool want = !c->closing && !c->inflight && !c->waiting_pool &&
                conn_output_len(c) <= CONN_OUTPUT_PAUSE_BYTES;
    if (want)
        bufferevent_enable(c->bev, EV_READ);
    else
        bufferevent_disable(c->bev, EV_READ);
}

const char *conn_peer(const struct conn *c)
{
    return c->peer;
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

static void conn_free(struct conn *c)
{
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
    bufferevent_free(c->bev);
    free(c);
}

static void conn_close_after_flush(struct conn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_free(c);
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
    proto_write_response_header(req, &hdr);
    int64_t total = (int64_t)hdr.len - 4 + kw_total(&req->resp);
    kw_put_int32_at(&hdr, 0, (int32_t)total);
    struct evbuffer *out = bufferevent_get_output(c->bev);
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
}

static void conn_process(struct conn *c);

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
        if (!req->no_response)
            conn_send_response(c, req);
        request_free(req);
    }
    if (c->closing) {
        conn_close_after_flush(c);
        return;
    }
    conn_process(c);
}

/* A frame whose bytes are all buffered becomes a request; NULL (connection
 * to be closed) if memory for it cannot be had. */
static request_t *request_take(struct conn *c, int32_t size)
{
    request_t *req = calloc(1, sizeof(*req));
    uint8_t *frame = req ? malloc((size_t)size) : NULL;
    if (!frame) {
        free(req);
        log_error("network", "Out of memory reading a %d-byte request from %s; closing "
                             "connection", size, c->peer);
        return NULL;
    }
    struct evbuffer *in = bufferevent_get_input(c->bev);
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
 * falls behind reading responses, or the pool runs dry. */
static void conn_process(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    broker_t *b = c->broker;
    while (!c->inflight && !c->closing && conn_output_len(c) <= CONN_OUTPUT_PAUSE_BYTES) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4)
            break;
        uint8_t szb[4];
        evbuffer_copyout(in, szb, 4);
        int32_t size = (int32_t)(((uint32_t)szb[0] << 24) | ((uint32_t)szb[1] << 16) |
                                 ((uint32_t)szb[2] << 8) | szb[3]);
        if (size < 8 || size > b->cfg->socket_request_max_bytes) {
            log_warn("network", "Closing connection from %s: request size %d is outside "
                                "[8, socket.request.max.bytes=%d] (InvalidReceiveException)",
                     c->peer, size, b->cfg->socket_request_max_bytes);
            conn_close_after_flush(c);
            return;
        }
        if (!c->reserved && !pool_reserve(c, size))
            break;
        if (avail < (size_t)size + 4)
            break;
        request_t *req = request_take(c, size);
        if (!req) {
            conn_close_after_flush(c);
            return;
        }
        enum handler_result r = proto_dispatch(b, req);
        if (r == REQ_PARKED) {
            c->inflight = req;
            break;
        }
        if (r == REQ_CLOSE) {
            request_free(req);
            conn_close_after_flush(c);
            return;
        }
        if (!req->no_response)
            conn_send_response(c, req);
        request_free(req);
    }
    if (c->closing)
        conn_close_after_flush(c);
    else
        conn_update_reading(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

/* Output drained to the low watermark: close, or take requests again if
 * they were paused for a slow reader. */
static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            conn_free(c);
        return;
    }
    if (!c->inflight)
        conn_process(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (what & BEV_EVENT_ERROR)
        log_debug("network", "Connection from %s failed: %s", c->peer, strerror(errno));
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 && !c->inflight)
            log_info("network", "Client %s disconnected in the middle of a request", c->peer);
        conn_free(c);
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    (void)l;
    (void)socklen;
    broker_t *b = arg;
    struct conn *c = xcalloc(1, sizeof(*c));
    c->broker = b;
    char host[INET6_ADDRSTRLEN] = "?";
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
    snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        log_debug("network", "TCP_NODELAY failed for %s", c->peer);
    c->bev = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        log_error("network", "Cannot set up connection from %s", c->peer);
        close(fd);
        free(c);
        return;
    }
    c->resume_ev = event_new(b->base, -1, 0, conn_resume, c);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTPUT_PAUSE_BYTES / 2, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
}

int net_listen(broker_t *b)
{
    for (int i = 0; i < b->cfg->n_listeners; i++) {
        const listener_t *l = &b->cfg->listeners[i];
        char portstr[16];
        snprintf(portstr, sizeof(portstr), "%d", l->port);
        struct evutil_addrinfo hints = { 0 }, *ai = NULL;
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = EVUTIL_AI_PASSIVE;
        int rc = evutil_getaddrinfo(l->host[0] ? l->host : NULL, portstr, &hints, &ai);
        if (rc != 0 || !ai) {
            log_error("network", "Cannot resolve listener %s://%s:%d: %s", l->name, l->host,
                      l->port, evutil_gai_strerror(rc));
            return -1;
        }
        struct evconnlistener *el = evconnlistener_new_bind(
            b->base, accept_cb, b, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_DISABLED, 128,
            ai->ai_addr, (int)ai->ai_addrlen);
        evutil_freeaddrinfo(ai);
        if (!el) {
            log_error("network", "Cannot bind listener %s://%s:%d: %s", l->name, l->host,
                      l->port, strerror(errno));
            return -1;
        }
        listeners[n_listeners++] = el;
        log_info("network", "Listening on %s://%s:%d", l->name, l->host, l->port);
    }
    return 0;
}

void net_start_accepting(void)
{
    for (int i = 0; i < n_listeners; i++)
        if (evconnlistener_enable(listeners[i]) < 0)
            log_error("network", "Cannot start accepting connections on listener %d", i);
}

void net_shutdown(void)
{
    for (int i = 0; i < n_listeners; i++)
        evconnlistener_free(listeners[i]);
    n_listeners = 0;
    while (conns)
        conn_free(conns);
}
