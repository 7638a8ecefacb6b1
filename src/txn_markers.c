/*
 * txn_markers.c - owns the sending of transaction markers (Kafka's
 * TransactionMarkerChannelManager): for a transaction in PrepareCommit or
 * PrepareAbort, one WriteTxnMarkers request per partition leader -- this
 * broker included, over the same inter-broker path -- retried until every
 * partition has its marker, then the coordinator is told to complete the
 * transaction.  One node channel (thread) per destination broker.
 *
 * Jobs and channels are event-loop state; a channel's reply is decoded on
 * its thread into a marker_reply_t and handed back with loop_post().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "logging.h"
#include "loop.h"
#include "metadata_cache.h"
#include "node_channel.h"
#include "txn_internal.h"
#include "util.h"

#define API_WRITE_TXN_MARKERS 27
#define MARKER_RETRY_MS 200
#define MARKER_REQUEST_TIMEOUT_MS 30000

typedef struct marker_part {
    char *topic;
    int32_t partition;
    bool done;
    bool in_flight;
} marker_part_t;

typedef struct marker_job {
    uint64_t id;
    char *txn_id;
    int32_t txn_partition;      /* of __transaction_state */
    int32_t coordinator_epoch;
    int64_t pid;
    int16_t epoch;
    bool commit;
    marker_part_t *parts;
    int n_parts;
    int n_left;
    struct event *timer;        /* the next dispatch */
    UT_hash_handle hh;
} marker_job_t;

/* Event-loop state. */
static marker_job_t *jobs;
static uint64_t next_job_id = 1;
static chan_pool_t *channels;

/* A reply, built on the channel's thread. */
typedef struct marker_reply {
    broker_t *b;
    uint64_t job_id;
    int32_t broker;
    chan_parts_t parts;         /* sent partitions, and each one's error */
} marker_reply_t;

static void job_free(marker_job_t *j)
{
    HASH_DEL(jobs, j);
    for (int i = 0; i < j->n_parts; i++)
        free(j->parts[i].topic);
    free(j->parts);
    free(j->txn_id);
    event_free(j->timer);
    free(j);
}

static node_channel_t *channel_to(const mc_broker_t *mb)
{
    if (!channels) {
        char cid[64];
        snprintf(cid, sizeof(cid), "broker-%d-txn-marker-sender", tc.b->cfg->broker_id);
        channels = chan_pool_new("transaction markers", cid, MARKER_REQUEST_TIMEOUT_MS, 1);
    }
    return chan_pool_get(channels, mb->id, mb->host, mb->port);
}

static void reply_free(marker_reply_t *r)
{
    chan_parts_free(&r->parts);
    free(r);
}

static void arm(marker_job_t *j, int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    event_add(j->timer, &tv);
}

/* Kafka's TransactionMarkerRequestCompletionHandler, per partition. */
static void apply_result(marker_job_t *j, marker_part_t *p, int16_t err, bool *retry, bool *abort)
{
    p->in_flight = false;
    switch (err) {
    case KERR_NONE:
        break;
    case KERR_INVALID_PRODUCER_EPOCH:
    case KERR_TRANSACTION_COORDINATOR_FENCED:
        log_error(TXN_COMP, "Marker for producer %lld of transactional id %s refused by %s-%d "
                  "(%s): a newer coordinator or producer took over; sending stops",
                  (long long)j->pid, j->txn_id, p->topic, p->partition, kafka_error_name(err));
        *abort = true;
        return;
    case KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case KERR_UNSUPPORTED_VERSION:
        log_warn(TXN_COMP, "%s-%d cannot hold a transaction marker (%s); skipped", p->topic,
                 p->partition, kafka_error_name(err));
        break;
    default:
        log_debug(TXN_COMP, "Marker for %s-%d of transactional id %s: %s; retrying", p->topic,
                  p->partition, j->txn_id, kafka_error_name(err));
        *retry = true;
        return;
    }
    p->done = true;
    j->n_left--;
}

static marker_part_t *find_part(marker_job_t *j, const char *topic, int32_t partition)
{
    for (int i = 0; i < j->n_parts; i++)
        if (j->parts[i].partition == partition && !strcmp(j->parts[i].topic, topic))
            return &j->parts[i];
    return NULL;
}

static void finish_if_done(marker_job_t *j)
{
    if (j->n_left > 0)
        return;
    char *id = xstrdup(j->txn_id);
    int32_t epoch = j->coordinator_epoch;
    job_free(j);
    txn_markers_done(id, epoch);
    free(id);
}

/* @locality the event-loop thread
 * @locks none */
static void apply_reply(void *arg)
{
    marker_reply_t *r = arg;
    marker_job_t *j;
    HASH_FIND(hh, jobs, &r->job_id, sizeof(r->job_id), j);
    if (!j || r->b->shutting_down) {
        reply_free(r);
        return;
    }
    bool retry = false, abort = false;
    for (int i = 0; i < r->parts.n; i++) {
        marker_part_t *p = find_part(j, r->parts.topics[i], r->parts.partitions[i]);
        if (p && !p->done)
            apply_result(j, p, r->parts.errors[i], &retry, &abort);
    }
    reply_free(r);
    if (abort) {
        job_free(j);
        return;
    }
    if (retry)
        arm(j, MARKER_RETRY_MS);
    finish_if_done(j);
}

/* @locality a node channel's thread
 * @locks none (the reply is handed to the loop) */
static void on_reply(void *arg, kreader_t *resp, int16_t version)
{
    marker_reply_t *r = arg;
    struct write_txn_markers_response wr;
    bool ok = resp && write_txn_markers_response_decode(resp, version, &wr) == 0;
    chan_parts_set_all(&r->parts, ok ? KERR_UNKNOWN_SERVER_ERROR : KERR_REQUEST_TIMED_OUT);
    for (int m = 0; ok && m < wr.markers_count; m++)
        for (int t = 0; t < wr.markers[m].topics_count; t++) {
            const struct write_txn_markers_response_writable_txn_marker_topic_result *tr =
                &wr.markers[m].topics[t];
            for (int p = 0; p < tr->partitions_count; p++)
                chan_parts_set(&r->parts, tr->name, tr->partitions[p].partition_index,
                               tr->partitions[p].error_code);
        }
    loop_post(r->b->loop, apply_reply, r);
}

/* One request to `broker` for the job's partitions that it leads. */
static void send_to(marker_job_t *j, const mc_broker_t *mb, marker_part_t **parts, int n)
{
    arena_t a;
    arena_init(&a);
    struct write_txn_markers_request rq;
    write_txn_markers_request_defaults(&rq);
    rq.markers_count = 1;
    rq.markers = write_txn_markers_request_writable_txn_marker_array(&a, 1);
    struct write_txn_markers_request_writable_txn_marker *m = &rq.markers[0];
    m->producer_id = j->pid;
    m->producer_epoch = j->epoch;
    m->transaction_result = j->commit;
    m->coordinator_epoch = j->coordinator_epoch;
    m->topics = write_txn_markers_request_writable_txn_marker_topic_array(&a, n);
    marker_reply_t *r = xcalloc(1, sizeof(*r));
    r->b = tc.b;
    r->job_id = j->id;
    r->broker = mb->id;
    chan_parts_init(&r->parts, n);
    for (int i = 0; i < n; i++) {
        int t;
        for (t = 0; t < m->topics_count; t++)
            if (kstr_eq_cstr(m->topics[t].name, parts[i]->topic))
                break;
        if (t == m->topics_count) {
            m->topics_count++;
            m->topics[t].name = kstr_from_cstr(parts[i]->topic);
            m->topics[t].partition_indexes = arena_array(&a, (size_t)n, sizeof(int32_t));
        }
        m->topics[t].partition_indexes[m->topics[t].partition_indexes_count++] =
            parts[i]->partition;
        parts[i]->in_flight = true;
        chan_parts_add(&r->parts, parts[i]->topic, parts[i]->partition);
    }
    kwriter_t w;
    kw_init(&w);
    /* v0: every ZooKeeper-mode Kafka (2.8 included) takes it. */
    write_txn_markers_request_encode(&w, 0, &rq);
    arena_free(&a);
    chan_send(channel_to(mb), API_WRITE_TXN_MARKERS, 0, &w, on_reply, r);
}

/* Sends the partitions not yet marked (or in flight) to their leaders;
 * partitions of deleted topics are dropped, those without a leader wait. */
static void dispatch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    marker_job_t *j = arg;
    marker_part_t **batch = xcalloc((size_t)j->n_parts + 1, sizeof(*batch));
    bool waiting = false;
    for (int i = 0; i < j->n_parts; i++) {
        marker_part_t *p = &j->parts[i];
        const mc_topic_t *t = p->done || p->in_flight ? NULL : mc_find_topic(p->topic);
        if (p->done || p->in_flight)
            continue;
        if (!t || p->partition >= t->n_partitions) {
            log_info(TXN_COMP, "%s-%d is gone: no marker is written there", p->topic,
                     p->partition);
            p->done = true;
            j->n_left--;
        } else if (t->parts[p->partition].leader < 0 ||
                   !mc_find_broker(t->parts[p->partition].leader)) {
            waiting = true;
        }
    }
    /* One request per leader. */
    for (int i = 0; i < j->n_parts; i++) {
        marker_part_t *p = &j->parts[i];
        if (p->done || p->in_flight)
            continue;
        const mc_topic_t *t = mc_find_topic(p->topic);
        int32_t leader = t->parts[p->partition].leader;
        const mc_broker_t *mb = leader >= 0 ? mc_find_broker(leader) : NULL;
        if (!mb)
            continue;
        int n = 0;
        for (int k = i; k < j->n_parts; k++) {
            marker_part_t *q = &j->parts[k];
            const mc_topic_t *qt = q->done || q->in_flight ? NULL : mc_find_topic(q->topic);
            if (qt && qt->parts[q->partition].leader == leader)
                batch[n++] = q;
        }
        send_to(j, mb, batch, n);
    }
    free(batch);
    if (waiting)
        arm(j, MARKER_RETRY_MS);
    finish_if_done(j);
}

void txn_markers_send(const txn_meta_t *t, int32_t coordinator_epoch, bool commit)
{
    marker_job_t *j = xcalloc(1, sizeof(*j));
    j->id = next_job_id++;
    j->txn_id = xstrdup(t->id);
    j->txn_partition = t->partition;
    j->coordinator_epoch = coordinator_epoch;
    j->pid = t->cur.pid;
    j->epoch = t->cur.epoch;
    j->commit = commit;
    j->parts = xcalloc((size_t)t->cur.n_parts + 1, sizeof(marker_part_t));
    for (int i = 0; i < t->cur.n_parts; i++)
        j->parts[i] = (marker_part_t){ xstrdup(t->cur.parts[i].topic), t->cur.parts[i].partition,
                                       false, false };
    j->n_parts = j->n_left = t->cur.n_parts;
    j->timer = evtimer_new(tc.b->base, dispatch, j);
    HASH_ADD(hh, jobs, id, sizeof(j->id), j);
    arm(j, 0);          /* from the loop, not inside the caller's transition */
}

void txn_markers_drop_partition(int32_t partition)
{
    marker_job_t *j, *tmp;
    HASH_ITER(hh, jobs, j, tmp)
        if (j->txn_partition == partition)
            job_free(j);
}

void txn_markers_shutdown(void)
{
    marker_job_t *j, *tmp;
    HASH_ITER(hh, jobs, j, tmp)
        job_free(j);
    chan_pool_free(channels);   /* queued requests' replies find no job */
    channels = NULL;
}
