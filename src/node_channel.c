/*
 * node_channel.c - owns a request queue to one broker and the thread that
 * sends it (see node_channel.h); pools of such channels, one per
 * destination broker.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inter_broker_auth.h"
#include "logging.h"
#include "node_channel.h"
#include "proto_messages.h"
#include "util.h"
#include "uthash.h"

typedef struct chan_req {
    int16_t api_key;
    int16_t version;
    bool exact;                 /* not sent if the broker lacks this version */
    kwriter_t body;
    chan_done_fn done;
    void *arg;
    struct chan_req *next;
} chan_req_t;

struct node_channel {
    char name[128];
    char client_id[64];
    int timeout_ms;
    int max_attempts;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Under lock: */
    chan_req_t *head, *tail;
    int backlog;
    bool stop;
    int32_t node_id;
    char host[256];
    int32_t port;
    uint64_t address_gen;       /* bumped when the address changes */
    int live_fd;                /* the connection's socket, for chan_free to shut down */
    /* Channel thread only: */
    kclient_t conn;
    uint64_t conn_gen;
};

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int16_t first_flexible(int16_t api_key)
{
    for (int i = 0; i < proto_message_table_count; i++) {
        const proto_message_info_t *m = &proto_message_table[i];
        if (m->api_key == api_key && strstr(m->name, "Request"))
            return m->first_flexible;
    }
    return -1;
}

/* @locality the channel's thread
 * @locks c->lock (live_fd) */
static void drop_connection(node_channel_t *c)
{
    pthread_mutex_lock(&c->lock);
    c->live_fd = -1;
    kclient_close(&c->conn);
    pthread_mutex_unlock(&c->lock);
}

/* Connects if needed to the current address.  0 or -1.
 * @locality the channel's thread
 * @locks c->lock (taken to read the address) */
static int ensure_connected(node_channel_t *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t gen = c->address_gen;
    char host[256];
    snprintf(host, sizeof(host), "%s", c->host);
    int32_t port = c->port, id = c->node_id;
    pthread_mutex_unlock(&c->lock);
    if (c->conn.fd >= 0 && c->conn_gen == gen)
        return 0;
    drop_connection(c);
    if (id < 0 || !host[0])
        return -1;
    if (ib_connect(&c->conn, c->client_id, host, port, c->timeout_ms) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    c->live_fd = c->conn.fd;
    bool stop = c->stop;
    pthread_mutex_unlock(&c->lock);
    c->conn_gen = gen;
    return stop ? -1 : 0;
}

/* Sends r until it is answered, the channel stops or attempts run out.
 * @locality the channel's thread
 * @locks none held across I/O */
static void send_one(node_channel_t *c, chan_req_t *r)
{
    arena_t a;
    arena_init(&a);
    kreader_t resp;
    bool answered = false;
    int16_t v = r->version;
    for (int attempt = 1; !answered; attempt++) {
        pthread_mutex_lock(&c->lock);
        bool stop = c->stop;
        pthread_mutex_unlock(&c->lock);
        if (stop || (c->max_attempts > 0 && attempt > c->max_attempts))
            break;
        if (ensure_connected(c) == 0) {
            v = r->version >= 0 ? r->version : kclient_version(&c->conn, r->api_key, (int16_t)-r->version);
            if (r->exact && kclient_version(&c->conn, r->api_key, r->version) != r->version) {
                log_warn("channel", "%s: broker does not support version %d of API %d",
                         c->name, r->version, r->api_key);
                v = -1;
                break;
            }
            if (v < 0) {
                log_warn("channel", "%s: broker does not support API %d", c->name, r->api_key);
                break;
            }
            int16_t ff = first_flexible(r->api_key);
            if (kclient_call(&c->conn, r->api_key, v, ff >= 0 && v >= ff, &r->body, &a, &resp) == 0) {
                answered = true;
                break;
            }
            drop_connection(c);
        }
        if (attempt == 1 || attempt % 50 == 0)
            log_info("channel", "%s: request (API %d) not answered; retrying", c->name, r->api_key);
        sleep_ms(100);
    }
    if (r->done)
        r->done(r->arg, answered ? &resp : NULL, v);
    arena_free(&a);
}

/* @locality the channel's thread
 * @locks c->lock (queue) */
static void *chan_main(void *arg)
{
    node_channel_t *c = arg;
    char tname[16];
    snprintf(tname, sizeof(tname), "samsa-chan");
    pthread_setname_np(pthread_self(), tname);
    for (;;) {
        pthread_mutex_lock(&c->lock);
        while (!c->head && !c->stop)
            pthread_cond_wait(&c->cond, &c->lock);
        chan_req_t *r = c->head;
        if (r) {
            c->head = r->next;
            if (!c->head)
                c->tail = NULL;
        }
        bool stop = c->stop;
        pthread_mutex_unlock(&c->lock);
        if (!r)
            break;
        if (stop) {
            if (r->done)
                r->done(r->arg, NULL, r->version);
        } else {
            send_one(c, r);
        }
        kw_free(&r->body);
        free(r);
        pthread_mutex_lock(&c->lock);
        c->backlog--;
        pthread_mutex_unlock(&c->lock);
    }
    drop_connection(c);
    return NULL;
}

node_channel_t *chan_new(const char *name, const char *client_id, int timeout_ms,
                         int max_attempts)
{
    node_channel_t *c = xcalloc(1, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->client_id, sizeof(c->client_id), "%s", client_id);
    c->timeout_ms = timeout_ms;
    c->max_attempts = max_attempts;
    c->node_id = -1;
    c->conn.fd = -1;
    c->live_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->thread, NULL, chan_main, c) != 0)
        die("cannot start a request channel thread");
    return c;
}

void chan_set_node(node_channel_t *c, int32_t id, const char *host, int32_t port)
{
    pthread_mutex_lock(&c->lock);
    if (c->node_id != id || c->port != port || strcmp(c->host, host ? host : "")) {
        c->node_id = id;
        snprintf(c->host, sizeof(c->host), "%s", host ? host : "");
        c->port = port;
        c->address_gen++;
    }
    pthread_mutex_unlock(&c->lock);
}

int32_t chan_node(node_channel_t *c)
{
    pthread_mutex_lock(&c->lock);
    int32_t id = c->node_id;
    pthread_mutex_unlock(&c->lock);
    return id;
}

static void enqueue(node_channel_t *c, int16_t api_key, int16_t version, bool exact,
                    kwriter_t *body, chan_done_fn done, void *arg)
{
    chan_req_t *r = xcalloc(1, sizeof(*r));
    r->api_key = api_key;
    r->version = version;
    r->exact = exact;
    r->body = *body;
    memset(body, 0, sizeof(*body));
    r->done = done;
    r->arg = arg;
    pthread_mutex_lock(&c->lock);
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->backlog++;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void chan_send(node_channel_t *c, int16_t api_key, int16_t version, kwriter_t *body,
               chan_done_fn done, void *arg)
{
    enqueue(c, api_key, version, false, body, done, arg);
}

void chan_send_exact(node_channel_t *c, int16_t api_key, int16_t version, kwriter_t *body,
                     chan_done_fn done, void *arg)
{
    enqueue(c, api_key, version, true, body, done, arg);
}

int chan_backlog(node_channel_t *c)
{
    pthread_mutex_lock(&c->lock);
    int n = c->backlog;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void chan_free(node_channel_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    if (c->live_fd >= 0)
        shutdown(c->live_fd, SHUT_RDWR);   /* unblocks a call in flight */
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

/* ---- pools of channels, and the partitions a request named ---- */

typedef struct pool_entry {
    int32_t broker;
    node_channel_t *ch;
    UT_hash_handle hh;
} pool_entry_t;

struct chan_pool {
    char purpose[64];
    char client_id[64];
    int timeout_ms;
    int max_attempts;
    pool_entry_t *channels;
};

chan_pool_t *chan_pool_new(const char *purpose, const char *client_id, int timeout_ms,
                           int max_attempts)
{
    chan_pool_t *p = xcalloc(1, sizeof(*p));
    snprintf(p->purpose, sizeof(p->purpose), "%s", purpose);
    snprintf(p->client_id, sizeof(p->client_id), "%s", client_id);
    p->timeout_ms = timeout_ms;
    p->max_attempts = max_attempts;
    return p;
}

node_channel_t *chan_pool_get(chan_pool_t *p, int32_t id, const char *host, int32_t port)
{
    pool_entry_t *e;
    HASH_FIND(hh, p->channels, &id, sizeof(id), e);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        e->broker = id;
        char name[128];
        snprintf(name, sizeof(name), "%s to broker %d", p->purpose, id);
        e->ch = chan_new(name, p->client_id, p->timeout_ms, p->max_attempts);
        HASH_ADD(hh, p->channels, broker, sizeof(e->broker), e);
    }
    chan_set_node(e->ch, id, host, port);
    return e->ch;
}

void chan_pool_free(chan_pool_t *p)
{
    if (!p)
        return;
    pool_entry_t *e, *tmp;
    HASH_ITER(hh, p->channels, e, tmp) {
        HASH_DEL(p->channels, e);
        chan_free(e->ch);
        free(e);
    }
    free(p);
}

void chan_parts_init(chan_parts_t *p, int capacity)
{
    p->n = 0;
    p->topics = xcalloc((size_t)capacity + 1, sizeof(char *));
    p->partitions = xcalloc((size_t)capacity + 1, sizeof(int32_t));
    p->errors = xcalloc((size_t)capacity + 1, sizeof(int16_t));
}

void chan_parts_add(chan_parts_t *p, const char *topic, int32_t partition)
{
    p->topics[p->n] = xstrdup(topic);
    p->partitions[p->n++] = partition;
}

void chan_parts_set_all(chan_parts_t *p, int16_t err)
{
    for (int i = 0; i < p->n; i++)
        p->errors[i] = err;
}

void chan_parts_set(chan_parts_t *p, kstr_t topic, int32_t partition, int16_t err)
{
    for (int i = 0; i < p->n; i++)
        if (p->partitions[i] == partition && kstr_eq_cstr(topic, p->topics[i]))
            p->errors[i] = err;
}

void chan_parts_free(chan_parts_t *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->topics[i]);
    free(p->topics);
    free(p->partitions);
    free(p->errors);
    p->n = 0;
}
