/*
 * api_txn_markers.c - owns the partition leader's side of transactions:
 * WriteTxnMarkers (a coordinator's commit or abort markers appended as
 * control batches, answered once the ISR has them, as Kafka appends them
 * with acks=-1; an offsets partition's pending transactional commits take
 * effect then) and DescribeProducers (the producer state of a partition).
 * Event-loop thread only.
 */
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "coord_log.h"
#include "group_coordinator.h"
#include "kafka_errors.h"
#include "log_txn.h"
#include "logging.h"
#include "net.h"
#include "offsets_topic.h"
#include "proto_messages.h"
#include "replica_manager.h"
#include "util.h"

#define MARKER_TIMEOUT_MS 30000     /* Kafka: request.timeout.ms */

typedef struct marker_wait marker_wait_t;

typedef struct parked_markers {
    request_t *req;             /* NULL once the connection went */
    struct write_txn_markers_response resp;
    marker_wait_t *waits;       /* one per appended marker */
    int n_waits;
    int n_open;                 /* waits not yet answered */
    bool handler_done;          /* the handler returned */
} parked_markers_t;

struct marker_wait {
    parked_markers_t *pm;
    clog_wait_t *wait;          /* NULL once answered */
    int16_t *error;             /* the partition's slot in the response */
    int32_t offsets_partition;  /* of __consumer_offsets, -1 if another topic */
    int64_t pid;
    bool commit;
    bool answered;
};

static void markers_finish(parked_markers_t *pm)
{
    request_t *req = pm->req;
    if (req) {
        write_txn_markers_response_encode(&req->resp, req->hdr.request_api_version, &pm->resp);
        req->parked = NULL;
        request_complete(req);
    }
    free(pm->waits);
    free(pm);
}

/* @locality the event-loop thread
 * @locks none */
static void marker_replicated(void *arg, int16_t err)
{
    marker_wait_t *w = arg;
    w->answered = true;
    w->wait = NULL;
    if (err == KERR_NONE && w->offsets_partition >= 0)
        gc_txn_completed(w->offsets_partition, w->pid, w->commit);
    *w->error = err == KERR_NOT_COORDINATOR       ? KERR_NOT_LEADER_OR_FOLLOWER
                : err == KERR_NOT_ENOUGH_REPLICAS ? KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND
                                                  : err;
    parked_markers_t *pm = w->pm;
    if (--pm->n_open == 0 && pm->handler_done)
        markers_finish(pm);
}

static void markers_cancel(request_t *req)
{
    parked_markers_t *pm = req->parked;
    req->parked = NULL;
    if (!pm)
        return;
    /* The markers stay appended; nobody waits for their replication. */
    for (int i = 0; i < pm->n_waits; i++)
        if (!pm->waits[i].answered)
            clog_wait_cancel(pm->waits[i].wait);
    free(pm->waits);
    free(pm);
}

/* Appends one marker; NONE if a wait for its replication was started. */
static int16_t append_marker(broker_t *b, parked_markers_t *pm, const char *topic,
                             int32_t partition,
                             const struct write_txn_markers_request_writable_txn_marker *m,
                             int16_t *slot)
{
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, partition, -1, &err);
    if (!p)
        return err;
    if (p->n_isr < pl_min_isr(b, p))
        return KERR_NOT_ENOUGH_REPLICAS;
    int64_t offset;
    err = plog_append_marker(p->log, m->producer_id, m->producer_epoch, m->coordinator_epoch,
                             m->transaction_result, p->leader_epoch, &offset);
    if (err) {
        log_info("produce", "Marker for producer %lld to %s-%d refused: %s",
                 (long long)m->producer_id, topic, partition, kafka_error_name(err));
        return err;
    }
    rm_appended(b, p);
    marker_wait_t *w = &pm->waits[pm->n_waits++];
    *w = (marker_wait_t){ pm, NULL, slot, strcmp(topic, OFFSETS_TOPIC) ? -1 : partition,
                          m->producer_id, m->transaction_result, false };
    pm->n_open++;
    w->wait = clog_wait_replicated(b, topic, partition, offset + 1, MARKER_TIMEOUT_MS,
                                   marker_replicated, w);
    return KERR_NONE;
}

enum handler_result api_write_txn_markers(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct write_txn_markers_request rq;
    if (write_txn_markers_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    parked_markers_t *pm = xcalloc(1, sizeof(*pm));
    pm->req = req;
    write_txn_markers_response_defaults(&pm->resp);
    int nm = MAX(rq.markers_count, 0), total = 0;
    for (int i = 0; i < nm; i++)
        for (int t = 0; t < MAX(rq.markers[i].topics_count, 0); t++)
            total += MAX(rq.markers[i].topics[t].partition_indexes_count, 0);
    pm->waits = xcalloc((size_t)total + 1, sizeof(marker_wait_t));
    pm->resp.markers_count = nm;
    pm->resp.markers = write_txn_markers_response_writable_txn_marker_result_array(&req->arena, nm);
    req->parked = pm;
    req->cancel = markers_cancel;
    /* Kafka: only CLUSTER_ACTION on the cluster (a broker) writes markers;
     * otherwise every partition gets CLUSTER_AUTHORIZATION_FAILED. */
    bool allowed = authorize(req, ACL_OP_CLUSTER_ACTION, ACL_RES_CLUSTER, ACL_CLUSTER_NAME);
    for (int i = 0; i < nm; i++) {
        const struct write_txn_markers_request_writable_txn_marker *m = &rq.markers[i];
        struct write_txn_markers_response_writable_txn_marker_result *mr = &pm->resp.markers[i];
        int nt = MAX(m->topics_count, 0);
        mr->producer_id = m->producer_id;
        mr->topics_count = nt;
        mr->topics = write_txn_markers_response_writable_txn_marker_topic_result_array(&req->arena,
                                                                                     nt);
        for (int t = 0; t < nt; t++) {
            const char *topic = kstr_dup_or_empty(&req->arena, m->topics[t].name);
            int np = MAX(m->topics[t].partition_indexes_count, 0);
            mr->topics[t].name = m->topics[t].name;
            mr->topics[t].partitions_count = np;
            mr->topics[t].partitions =
                write_txn_markers_response_writable_txn_marker_partition_result_array(&req->arena,
                                                                                    np);
            for (int p = 0; p < np; p++) {
                struct write_txn_markers_response_writable_txn_marker_partition_result *pr =
                    &mr->topics[t].partitions[p];
                pr->partition_index = m->topics[t].partition_indexes[p];
                pr->error_code = KERR_NONE;     /* a wait may set it before append returns */
                int16_t err = !allowed ? KERR_CLUSTER_AUTHORIZATION_FAILED
                                       : append_marker(b, pm, topic, pr->partition_index, m,
                                                       &pr->error_code);
                if (err)
                    pr->error_code = err;
            }
        }
    }
    pm->handler_done = true;
    if (pm->n_open == 0)
        markers_finish(pm);     /* completes its own request */
    return REQ_PARKED;
}

/* ---- DescribeProducers ---- */

typedef struct producers_out {
    arena_t *a;
    struct describe_producers_response_partition_response *pr;
    int cap;
} producers_out_t;

static void add_producer(void *arg, const pstate_view_t *v)
{
    producers_out_t *o = arg;
    struct describe_producers_response_producer_state *s =
        &o->pr->active_producers[o->pr->active_producers_count++];
    s->producer_id = v->pid;
    s->producer_epoch = v->epoch;
    s->last_sequence = v->last_sequence;
    s->last_timestamp = v->last_timestamp;
    s->coordinator_epoch = v->coordinator_epoch;
    s->current_txn_start_offset = v->txn_first;
}

enum handler_result api_describe_producers(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct describe_producers_request rq;
    if (describe_producers_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct describe_producers_response resp;
    describe_producers_response_defaults(&resp);
    int nt = MAX(rq.topics_count, 0);
    resp.topics_count = nt;
    resp.topics = describe_producers_response_topic_response_array(&req->arena, nt);
    for (int t = 0; t < nt; t++) {
        const char *topic = kstr_dup_or_empty(&req->arena, rq.topics[t].name);
        int np = MAX(rq.topics[t].partition_indexes_count, 0);
        resp.topics[t].name = rq.topics[t].name;
        resp.topics[t].partitions_count = np;
        resp.topics[t].partitions =
            describe_producers_response_partition_response_array(&req->arena, np);
        for (int p = 0; p < np; p++) {
            struct describe_producers_response_partition_response *pr =
                &resp.topics[t].partitions[p];
            pr->partition_index = rq.topics[t].partition_indexes[p];
            int16_t err;
            if (!authorize(req, ACL_OP_READ, ACL_RES_TOPIC, topic)) {
                pr->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
                continue;
            }
            partition_t *part = rm_leader_for(b, topic, pr->partition_index, -1, &err);
            if (!part) {
                pr->error_code = err;
                continue;
            }
            int n = pstate_count(part->log->pstate);
            pr->active_producers =
                describe_producers_response_producer_state_array(&req->arena, n);
            producers_out_t o = { &req->arena, pr, n };
            pstate_foreach(part->log->pstate, add_producer, &o);
        }
    }
    describe_producers_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
