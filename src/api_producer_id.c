/*
 * api_producer_id.c - owns InitProducerId for idempotent producers and the
 * producer-id blocks claimed from /latest_producer_id_block (Kafka's
 * ZooKeeper scheme before IBP 3.0: blocks of 1000, optimistic setData).
 * Event-loop thread only.
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
#include "proto_messages.h"
#include "zk_session.h"

#define PID_BLOCK_SIZE 1000
#define PID_BLOCK_PATH "/latest_producer_id_block"

/* The block this broker hands ids from; event-loop thread. */
static int64_t next_pid = -1, block_end = -1;

static int claim_block(broker_t *b)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        struct Stat st;
        int rc;
        char *s = zk_get_string(b->zk, PID_BLOCK_PATH, false, &st, &rc);
        if (!s)
            return -1;
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
        json_t *nj = json_pack("{s:i,s:i,s:s,s:s}", "version", 1, "broker", b->cfg->broker_id,
                               "block_start", bs, "block_end", be);
        char *data = json_dumps(nj, JSON_COMPACT);
        json_decref(nj);
        rc = zoo_set(zk_handle(b->zk), PID_BLOCK_PATH, data, (int)strlen(data), st.version);
        free(data);
        if (rc == ZOK) {
            next_pid = start;
            block_end = start + PID_BLOCK_SIZE - 1;
            log_info("producer-ids", "Claimed producer id block [%" PRId64 ", %" PRId64 "]",
                     start, block_end);
            return 0;
        }
        if (rc != ZBADVERSION) {
            log_error("producer-ids", "Cannot claim a producer id block: %s", zerror(rc));
            return -1;
        }
    }
    return -1;
}

enum handler_result api_init_producer_id(broker_t *b, request_t *req)
{
    int16_t v = req->hdr.request_api_version;
    struct init_producer_id_request rq;
    if (init_producer_id_request_decode(&req->body, v, &rq) < 0)
        return REQ_CLOSE;
    struct init_producer_id_response resp;
    init_producer_id_response_defaults(&resp);
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    if (rq.transactional_id.len >= 0) {
        resp.error_code = KERR_COORDINATOR_NOT_AVAILABLE;
        log_info("producer-ids", "InitProducerId with a transactional id from %s: transactions "
                                 "are not supported yet (COORDINATOR_NOT_AVAILABLE)",
                 conn_peer(req->conn));
    } else if ((next_pid < 0 || next_pid > block_end) && claim_block(b) < 0) {
        resp.error_code = KERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        resp.producer_id = next_pid++;
        resp.producer_epoch = 0;
    }
    init_producer_id_response_encode(&req->resp, v, &resp);
    return REQ_DONE;
}
