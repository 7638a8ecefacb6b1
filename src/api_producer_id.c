/*
 * api_producer_id.c - owns InitProducerId for idempotent producers and the
 * producer-id blocks claimed from /latest_producer_id_block (Kafka's
 * ZooKeeper scheme before IBP 3.0: blocks of 1000, optimistic setData).
 * The handler runs on the event loop; claiming a block runs on the
 * ZooKeeper thread while the request is parked.  next_pid/block_end are
 * event-loop state; a claim job only reports the block it got.
 * Transactional ids go to the transaction coordinator
 * (tc_init_producer_id), which takes its ids from here too.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "producer_ids.h"
#include "txn_coordinator.h"
#include "proto_messages.h"
#include "controller.h"
#include "util.h"
#include "zk_session.h"
#include "zk_worker.h"

#define PID_BLOCK_PATH "/latest_producer_id_block"

/* The block this broker hands ids from; event-loop thread. */
static int64_t next_pid = -1, block_end = -1;

/* Someone waiting for an id while a block is claimed. */
typedef struct pid_wait {
    pid_ready_fn ready;
    void *arg;
    struct pid_wait *next;
} pid_wait_t;

/* A claim in flight and who waits for it; event-loop thread. */
static pid_wait_t *waiting;
static bool claiming;

typedef struct claim_job {
    int32_t broker_id;
    int64_t start;              /* claimed block, -1 on failure */
} claim_job_t;

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
    claim_job_t *j = arg;
    j->start = pid_claim_block(j->broker_id);
}

/* The claim finished: every waiter gets an id, or -1.
 * @locality the event-loop thread
 * @locks none
 */
static void claim_done(void *arg)
{
    claim_job_t *j = arg;
    if (j->start >= 0 && (next_pid < 0 || next_pid > block_end)) {
        next_pid = j->start;
        block_end = j->start + PID_BLOCK_SIZE - 1;
    }
    free(j);
    claiming = false;
    pid_wait_t *list = waiting;
    waiting = NULL;
    /* Waiters in arrival order. */
    pid_wait_t *rev = NULL;
    while (list) {
        pid_wait_t *w = list;
        list = w->next;
        w->next = rev;
        rev = w;
    }
    while (rev) {
        pid_wait_t *w = rev;
        rev = w->next;
        int64_t pid = next_pid >= 0 && next_pid <= block_end ? next_pid++ : -1;
        w->ready(w->arg, pid);
        free(w);
    }
}

void pid_allocate(broker_t *b, pid_ready_fn ready, void *arg)
{
    if (next_pid >= 0 && next_pid <= block_end && !waiting) {
        ready(arg, next_pid++);
        return;
    }
    pid_wait_t *w = xcalloc(1, sizeof(*w));
    w->ready = ready;
    w->arg = arg;
    w->next = waiting;
    waiting = w;
    if (claiming)
        return;
    claim_job_t *j = xcalloc(1, sizeof(*j));
    j->broker_id = b->cfg->broker_id;
    j->start = -1;
    claiming = true;
    if (zkw_submit(claim_block, claim_done, j) < 0)
        claim_done(j);
}

/* ---- InitProducerId ---- */

typedef struct idempotent_wait {
    request_t *req;             /* NULL once the connection went */
    bool parked;
    bool answered;
} idempotent_wait_t;

static void respond(request_t *req, int16_t err, int64_t pid, int16_t epoch)
{
    struct init_producer_id_response resp;
    init_producer_id_response_defaults(&resp);
    /* Before v4 clients know INVALID_PRODUCER_EPOCH, not PRODUCER_FENCED. */
    resp.error_code = err == KERR_PRODUCER_FENCED && req->hdr.request_api_version < 4
                          ? KERR_INVALID_PRODUCER_EPOCH
                          : err;
    resp.producer_id = err ? -1 : pid;
    resp.producer_epoch = err ? -1 : epoch;
    init_producer_id_response_encode(&req->resp, req->hdr.request_api_version, &resp);
}

static void idempotent_cancel(request_t *req)
{
    idempotent_wait_t *w = req->parked;
    if (w)
        w->req = NULL;
    req->parked = NULL;
}

/* @locality the event-loop thread
 * @locks none */
static void idempotent_ready(void *arg, int64_t pid)
{
    idempotent_wait_t *w = arg;
    w->answered = true;
    if (w->req) {
        if (pid >= 0)
            respond(w->req, KERR_NONE, pid, 0);
        else
            respond(w->req, KERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
    }
    if (!w->parked)
        return;             /* answered inline: the handler frees it */
    if (w->req) {
        w->req->parked = NULL;
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
    if (rq.transactional_id.len >= 0 &&
        !authorize(req, ACL_OP_WRITE, ACL_RES_TRANSACTIONAL_ID,
                   kstr_dup_or_empty(&req->arena, rq.transactional_id))) {
        respond(req, KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1);
        return REQ_DONE;
    }
    if (rq.transactional_id.len >= 0)
        return tc_init_producer_id(req, rq.transactional_id, rq.transaction_timeout_ms,
                                   v >= 3 ? rq.producer_id : -1, v >= 3 ? rq.producer_epoch : -1,
                                   respond);
    /* An idempotent producer: IDEMPOTENT_WRITE on the cluster, or (KIP-679)
     * WRITE on some topic. */
    if (!authorize_quiet(req, ACL_OP_IDEMPOTENT_WRITE, ACL_RES_CLUSTER, ACL_CLUSTER_NAME) &&
        !authorize_by_resource_type(req, ACL_OP_WRITE, ACL_RES_TOPIC)) {
        respond(req, KERR_CLUSTER_AUTHORIZATION_FAILED, -1, -1);
        return REQ_DONE;
    }
    idempotent_wait_t *w = xcalloc(1, sizeof(*w));
    w->req = req;
    pid_allocate(b, idempotent_ready, w);
    if (w->answered) {
        free(w);
        return REQ_DONE;
    }
    w->parked = true;
    req->parked = w;
    req->cancel = idempotent_cancel;
    return REQ_PARKED;
}
