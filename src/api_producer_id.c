/*
 * api_producer_id.c - owns InitProducerId for idempotent producers and the
 * producer-id blocks claimed from /latest_producer_id_block (Kafka's
 * ZooKeeper scheme before IBP 3.0: blocks of 1000, optimistic setData).
 * The handler runs on the event loop; claiming a block runs on the
 * ZooKeeper thread while the request is parked.  next_pid/block_end are
 * event-loop state; a claim job only reports the block it got.
 *
 * Partial: transactional ids need the transaction coordinator (a later
 * issue) and get COORDINATOR_NOT_AVAILABLE.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "producer_ids.h"
#include "proto_messages.h"
#include "controller.h"
#include "util.h"
#include "zk_session.h"
#include "zk_worker.h"

#define PID_BLOCK_PATH "/latest_producer_id_block"

/* The block this broker hands ids from; event-loop thread. */
static int64_t next_pid = -1, block_end = -1;

typedef struct pid_wait {
    request_t *req;             /* NULL once the connection went */
    int32_t broker_id;
    int64_t start;              /* claimed block, -1 on failure */
} pid_wait_t;

/*
 * @locality the ZooKeeper thread
 * @locks none
 */
int64_t pid_claim_block(int32_t broker_id)
{
    zk_session_t *zs = controller_session();
    for (int attempt = 0; attempt < 10; attempt++) {
        struct Stat st;
        int rc;
        char *s = zk_get_string(zs, PID_BLOCK_PATH, false, &st, &rc);
        if (!s) {
            log_error("producer-ids", "Cannot read %s: %s", PID_BLOCK_PATH, zerror(rc));
            return -1;
        }
        int64_t start = 0;
        json_t *j = *s ? json_loads(s, 0, NULL) : NULL;
        free(s);
        if (j) {
            const char *end = json_string_value(json_object_get(j, "block_end"));
            if (end)
                start = strtoll(end, NULL, 10) + 1;
            json_decref(j);
        }
        char bs[32], be[32];
        snprintf(bs, sizeof(bs), "%" PRId64, start);
        snprintf(be, sizeof(be), "%" PRId64, start + PID_BLOCK_SIZE - 1);
        json_t *nj = json_pack("{s:i,s:i,s:s,s:s}", "version", 1, "broker", broker_id,
                               "block_start", bs, "block_end", be);
        char *data = json_dumps(nj, JSON_COMPACT);
        json_decref(nj);
        rc = zoo_set(zk_handle(zs), PID_BLOCK_PATH, data, (int)strlen(data), st.version);
        free(data);
        if (rc == ZOK) {
            log_info("producer-ids", "Claimed producer id block [%" PRId64 ", %" PRId64 "] for "
                     "broker %d", start, start + PID_BLOCK_SIZE - 1, broker_id);
            return start;
        }
        if (rc != ZBADVERSION) {
            log_error("producer-ids", "Cannot claim a producer id block: %s", zerror(rc));
            return -1;
        }
    }
    return -1;
}

/* @locality the ZooKeeper thread
 * @locks none (the job owns its result) */
static void claim_block(void *arg)
{
    pid_wait_t *w = arg;
    w->start = pid_claim_block(w->broker_id);
}

static void respond(request_t *req, int16_t err, int64_t pid)
{
    struct init_producer_id_response resp;
    init_producer_id_response_defaults(&resp);
    resp.error_code = err;
    resp.producer_id = err ? -1 : pid;
    resp.producer_epoch = err ? -1 : 0;
    init_producer_id_response_encode(&req->resp, req->hdr.request_api_version, &resp);
}

static void pid_cancel(request_t *req)
{
    pid_wait_t *w = req->parked;
    if (w)
        w->req = NULL;
    req->parked = NULL;
}

/* Event-loop thread: the claim finished.
 * @locality the event-loop thread
 * @locks none
 */
static void claim_done(void *arg)
{
    pid_wait_t *w = arg;
    if (w->start >= 0 && (next_pid < 0 || next_pid > block_end)) {
        next_pid = w->start;
        block_end = w->start + PID_BLOCK_SIZE - 1;
    }
    if (w->req) {
        w->req->parked = NULL;
        if (next_pid >= 0 && next_pid <= block_end)
            respond(w->req, KERR_NONE, next_pid++);
        else
            respond(w->req, KERR_COORDINATOR_NOT_AVAILABLE, -1);
        request_complete(w->req);
    }
    free(w);
}

enum handler_result api_init_producer_id(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct init_producer_id_request rq;
    if (init_producer_id_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    if (rq.transactional_id.len >= 0) {
        log_info("producer-ids", "InitProducerId with a transactional id from %s: transactions "
                                 "are not supported yet (COORDINATOR_NOT_AVAILABLE)",
                 conn_peer(req->conn));
        respond(req, KERR_COORDINATOR_NOT_AVAILABLE, -1);
        return REQ_DONE;
    }
    if (next_pid >= 0 && next_pid <= block_end) {
        respond(req, KERR_NONE, next_pid++);
        return REQ_DONE;
    }
    pid_wait_t *w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->broker_id = b->cfg->broker_id;
    if (zkw_submit(claim_block, claim_done, w) < 0) {
        free(w);
        respond(req, KERR_COORDINATOR_NOT_AVAILABLE, -1);
        return REQ_DONE;
    }
    req->parked = w;
    req->cancel = pid_cancel;
    return REQ_PARKED;
}
