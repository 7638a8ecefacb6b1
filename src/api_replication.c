/*
 * api_replication.c - owns two requests of replication: OffsetForLeaderEpoch
 * (a follower or a KIP-320 consumer asks where a leader epoch ends in the
 * leader's log, answered from the leader-epoch cache) and AlterPartition
 * (a leader asks the controller to change a partition's ISR; answered by
 * the controller's context on the ZooKeeper thread, controller_state.h).
 * Event-loop thread, except where marked.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "controller_state.h"
#include "kafka_errors.h"
#include "leader_epoch.h"
#include "logging.h"
#include "proto_messages.h"
#include "replica_manager.h"
#include "util.h"
#include "zk_worker.h"

static void epoch_end(broker_t *b, const char *topic, int16_t v,
                      const struct offset_for_leader_epoch_request_offset_for_leader_partition *in,
                      struct offset_for_leader_epoch_response_epoch_end_offset *out)
{
    out->partition = in->partition;
    out->leader_epoch = UNDEFINED_EPOCH;
    out->end_offset = UNDEFINED_EPOCH_OFFSET;
    int16_t err;
    partition_t *p = rm_leader_for(b, topic, in->partition, v >= 2 ? in->current_leader_epoch : -1,
                                   &err);
    if (!p) {
        out->error_code = err;
        return;
    }
    int32_t epoch;
    out->end_offset = lec_end_offset_for(&p->log->epochs, in->leader_epoch, p->log->log_end_offset,
                                         &epoch);
    out->leader_epoch = epoch;
}

enum handler_result api_offset_for_leader_epoch(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct offset_for_leader_epoch_request rq;
    if (offset_for_leader_epoch_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct offset_for_leader_epoch_response resp;
    offset_for_leader_epoch_response_defaults(&resp);
    int nt = MAX(rq.topics_count, 0);
    resp.topics_count = nt;
    resp.topics = offset_for_leader_epoch_response_offset_for_leader_topic_result_array(&req->arena, nt);
    for (int i = 0; i < nt; i++) {
        const char *topic = kstr_dup_or_empty(&req->arena, rq.topics[i].topic);
        int np = MAX(rq.topics[i].partitions_count, 0);
        resp.topics[i].topic = rq.topics[i].topic;
        resp.topics[i].partitions_count = np;
        resp.topics[i].partitions = offset_for_leader_epoch_response_epoch_end_offset_array(&req->arena, np);
        for (int p = 0; p < np; p++)
            epoch_end(b, topic, v, &rq.topics[i].partitions[p], &resp.topics[i].partitions[p]);
    }
    offset_for_leader_epoch_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}

/* ---- AlterPartition ---- */

/* The request's body, answered on the ZooKeeper thread.  The job owns its
 * copy of the body and its answer; the request may go away meanwhile. */
typedef struct alter_job {
    request_t *req;             /* NULL once the connection went away */
    int16_t version;
    uint8_t *body;
    size_t len;
    kwriter_t answer;
    bool malformed;
} alter_job_t;

/* @locality the ZooKeeper thread
 * @locks none (the job is its own) */
static void alter_run(void *arg)
{
    alter_job_t *j = arg;
    arena_t a;
    arena_init(&a);
    kreader_t r;
    kr_init(&r, j->body, j->len, &a);
    struct alter_partition_request rq;
    struct alter_partition_response resp;
    if (alter_partition_request_decode(&r, j->version, &rq) < 0) {
        j->malformed = true;
    } else {
        cs_alter_partition(&a, j->version, &rq, &resp);
        alter_partition_response_encode(&j->answer, j->version, &resp);
    }
    arena_free(&a);
}

static void alter_done(void *arg)
{
    alter_job_t *j = arg;
    request_t *req = j->req;
    if (req) {
        req->parked = NULL;
        if (j->malformed) {
            log_warn("controller", "Malformed AlterPartition request; answering INVALID_REQUEST");
            struct alter_partition_response resp;
            alter_partition_response_defaults(&resp);
            resp.error_code = KERR_INVALID_REQUEST;
            alter_partition_response_encode(&req->resp, j->version, &resp);
        } else {
            kw_raw(&req->resp, j->answer.buf, j->answer.len);
        }
        request_complete(req);
    }
    kw_free(&j->answer);
    free(j->body);
    free(j);
}

static void alter_cancel(request_t *req)
{
    alter_job_t *j = req->parked;
    if (j)
        j->req = NULL;
    req->parked = NULL;
}

enum handler_result api_alter_partition(broker_t *b, request_t *req)
{
    (void)b;
    alter_job_t *j = xcalloc(1, sizeof(*j));
    j->req = req;
    j->version = req->hdr.request_api_version;
    j->len = (size_t)(req->body.end - req->body.p);
    j->body = xmalloc(j->len + 1);
    memcpy(j->body, req->body.p, j->len);
    kw_init(&j->answer);
    req->parked = j;
    req->cancel = alter_cancel;
    if (zkw_submit(alter_run, alter_done, j) < 0) {
        struct alter_partition_response resp;
        alter_partition_response_defaults(&resp);
        resp.error_code = KERR_NOT_CONTROLLER;
        alter_partition_response_encode(&req->resp, j->version, &resp);
        req->parked = NULL;
        kw_free(&j->answer);
        free(j->body);
        free(j);
        return REQ_DONE;
    }
    return REQ_PARKED;
}
