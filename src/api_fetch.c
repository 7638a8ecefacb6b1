/*
 * api_fetch.c - owns Fetch: reading partition data as file regions that go
 * out with sendfile (records are never copied or re-encoded), response and
 * partition byte limits (KIP-74), and the fetch.min.bytes / max.wait.ms
 * long-poll ("purgatory") with libevent timers.
 * Event-loop thread only; the parked list is owned by that thread.
 *
 * Fetch sessions (KIP-227) are not kept: every response has session id 0,
 * which clients treat as a full fetch.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "proto_messages.h"
#include "util.h"

typedef struct parked_fetch {
    request_t *req;
    broker_t *broker;
    struct fetch_request rq;
    struct event *timer;
    struct parked_fetch *prev, *next;
} parked_fetch_t;

/* Fetches waiting for data; event-loop thread. */
static parked_fetch_t *parked;

static void fetch_partition(broker_t *b, request_t *req, const char *topic, mc_topic_t *t,
                            const struct fetch_request_fetch_partition *in,
                            struct fetch_response_partition_data *out, int32_t *budget,
                            bool *first)
{
    out->partition_index = in->partition;
    out->high_watermark = -1;
    out->last_stable_offset = -1;
    out->log_start_offset = -1;
    out->aborted_transactions_count = -1;
    out->preferred_read_replica = -1;
    out->records = (krecords_t){ NULL, 0, -1, 0 };
    if (!t || in->partition < 0 || in->partition >= t->n_partitions) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    partition_log_t *pl = logmgr_get(topic, in->partition);
    if (!pl || t->parts[in->partition].leader != b->cfg->broker_id) {
        out->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    int64_t hw = pl->log_end_offset;   /* single replica: HW = LEO */
    out->high_watermark = hw;
    out->last_stable_offset = hw;
    out->log_start_offset = pl->log_start_offset;
    int32_t max = MIN(in->partition_max_bytes, *budget);
    if (max <= 0 && !*first)
        return;
    log_read_t rd;
    int16_t err = plog_read(pl, in->fetch_offset, hw, max > 0 ? max : 1, *first, &rd);
    if (err) {
        out->error_code = err;
        out->high_watermark = hw;
        return;
    }
    if (rd.len > 0) {
        out->records = (krecords_t){ NULL, rd.len, rd.fd, rd.file_off };
        *budget -= rd.len;
        *first = false;
    }
    (void)req;
}

/* Builds the response into req->resp; returns the record bytes it holds
 * and whether any partition had an error. */
static int64_t fetch_build(broker_t *b, request_t *req, const struct fetch_request *rq,
                           bool *had_error)
{
    int16_t v = req->hdr.request_api_version;
    struct fetch_response resp;
    fetch_response_defaults(&resp);
    int32_t budget = v >= 3 ? rq->max_bytes : INT32_MAX;
    bool first = true;
    int64_t bytes = 0;
    *had_error = false;
    int nt = rq->topics_count > 0 ? rq->topics_count : 0;
    resp.responses_count = nt;
    resp.responses = fetch_response_fetchable_topic_response_array(&req->arena, nt);
    for (int i = 0; i < nt; i++) {
        const struct fetch_request_fetch_topic *ft = &rq->topics[i];
        struct fetch_response_fetchable_topic_response *tr = &resp.responses[i];
        const char *topic = kstr_dup_or_empty(&req->arena, ft->topic);
        mc_topic_t *t = mc_find_topic(topic);
        tr->topic = ft->topic;
        tr->topic_id = ft->topic_id;
        int np = ft->partitions_count > 0 ? ft->partitions_count : 0;
        tr->partitions_count = np;
        tr->partitions = fetch_response_partition_data_array(&req->arena, np);
        for (int p = 0; p < np; p++) {
            fetch_partition(b, req, topic, t, &ft->partitions[p], &tr->partitions[p],
                            &budget, &first);
            bytes += tr->partitions[p].records.len;
            *had_error |= tr->partitions[p].error_code != 0;
        }
    }
    kw_reset(&req->resp);
    fetch_response_encode(&req->resp, v, &resp);
    return bytes;
}

static void unpark(parked_fetch_t *pf)
{
    if (pf->prev)
        pf->prev->next = pf->next;
    else
        parked = pf->next;
    if (pf->next)
        pf->next->prev = pf->prev;
    event_free(pf->timer);
    pf->req->parked = NULL;
}

static void fetch_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    parked_fetch_t *pf = arg;
    request_t *req = pf->req;
    bool err;
    fetch_build(pf->broker, req, &pf->rq, &err);
    unpark(pf);
    request_complete(req);
}

enum handler_result api_fetch(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    parked_fetch_t *pf = arena_alloc(&req->arena, sizeof(*pf));
    if (fetch_request_decode(&req->body, v, &pf->rq) < 0)
        return REQ_CLOSE;
    bool err;
    int64_t bytes = fetch_build(b, req, &pf->rq, &err);
    if (err || bytes >= pf->rq.min_bytes || pf->rq.max_wait_ms <= 0 || b->shutting_down)
        return REQ_DONE;
    pf->req = req;
    pf->broker = b;
    pf->timer = event_new(b->base, -1, 0, fetch_timeout, pf);
    if (!pf->timer)
        return REQ_DONE;
    struct timeval tv = { pf->rq.max_wait_ms / 1000, (pf->rq.max_wait_ms % 1000) * 1000 };
    event_add(pf->timer, &tv);
    pf->next = parked;
    if (parked)
        parked->prev = pf;
    parked = pf;
    req->parked = pf;
    req->cancel = fetch_cancel;
    return REQ_PARKED;
}

static bool wants_partition(const struct fetch_request *rq, const char *topic, int32_t partition)
{
    for (int i = 0; i < rq->topics_count; i++) {
        if (!kstr_eq_cstr(rq->topics[i].topic, topic))
            continue;
        for (int p = 0; p < rq->topics[i].partitions_count; p++)
            if (rq->topics[i].partitions[p].partition == partition)
                return true;
    }
    return false;
}

void fetch_notify(const char *topic, int32_t partition)
{
    /* Collect first: completing a request may park a new one. */
    parked_fetch_t *ready = NULL;
    for (parked_fetch_t *pf = parked, *next; pf; pf = next) {
        next = pf->next;
        if (!wants_partition(&pf->rq, topic, partition))
            continue;
        bool err;
        int64_t bytes = fetch_build(pf->broker, pf->req, &pf->rq, &err);
        if (!err && bytes < pf->rq.min_bytes)
            continue;
        unpark(pf);
        pf->next = ready;
        ready = pf;
    }
    while (ready) {
        parked_fetch_t *next = ready->next;
        request_complete(ready->req);
        ready = next;
    }
}

void fetch_cancel(request_t *req)
{
    if (req->parked)
        unpark(req->parked);
}

void fetch_shutdown(void)
{
    while (parked) {
        request_t *req = parked->req;
        unpark(parked);
        (void)req; /* freed with its connection */
    }
}
