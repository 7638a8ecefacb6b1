/*
 * api_zk_thread.c - owns answering a request on the ZooKeeper thread
 * (api.h: api_answer_on_zk_thread): the request's body is copied into a
 * job, decoded and answered there (the controller's context, ZooKeeper
 * reads and writes), and the answer is posted back to the event loop; the
 * request is parked meanwhile and may go away.  Event-loop thread, except
 * where marked.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"
#include "kafka_errors.h"
#include "util.h"
#include "zk_worker.h"

/* The request's body, answered on the ZooKeeper thread.  The job owns its
 * copy of the body and its answer; the request may go away meanwhile. */
typedef struct zk_job {
    request_t *req;             /* NULL once the connection went away */
    int16_t version;
    uint8_t *body;
    size_t len;
    kwriter_t answer;
    zk_thread_handler_fn handle;
    int16_t denied;
} zk_job_t;

/* @locality the ZooKeeper thread
 * @locks none (the job is its own) */
static void zk_job_run(void *arg)
{
    zk_job_t *j = arg;
    arena_t a;
    arena_init(&a);
    kreader_t r;
    kr_init(&r, j->body, j->len, &a);
    j->handle(&a, j->version, &r, j->denied, &j->answer);
    arena_free(&a);
}

static void zk_job_free(zk_job_t *j)
{
    kw_free(&j->answer);
    free(j->body);
    free(j);
}

static void zk_job_done(void *arg)
{
    zk_job_t *j = arg;
    request_t *req = j->req;
    if (req) {
        req->parked = NULL;
        kw_raw(&req->resp, j->answer.buf, j->answer.len);
        request_complete(req);
    }
    zk_job_free(j);
}

static void zk_job_cancel(request_t *req)
{
    zk_job_t *j = req->parked;
    if (j)
        j->req = NULL;
    req->parked = NULL;
}

enum handler_result api_answer_on_zk_thread(request_t *req, zk_thread_handler_fn handle,
                                            int8_t cluster_op)
{
    int16_t denied = cluster_op && !authorize(req, cluster_op, ACL_RES_CLUSTER, ACL_CLUSTER_NAME)
                         ? KERR_CLUSTER_AUTHORIZATION_FAILED
                         : KERR_NONE;
    zk_job_t *j = xcalloc(1, sizeof(*j));
    j->req = req;
    j->version = req->hdr.request_api_version;
    j->len = (size_t)(req->body.end - req->body.p);
    j->body = xmalloc(j->len + 1);
    memcpy(j->body, req->body.p, j->len);
    j->handle = handle;
    j->denied = denied;
    kw_init(&j->answer);
    req->parked = j;
    req->cancel = zk_job_cancel;
    if (zkw_submit(zk_job_run, zk_job_done, j) < 0) {
        /* Shutting down: answered at once, as by a broker that is not
         * the controller (the body does not decode as anything). */
        kreader_t none;
        kr_init(&none, j->body, 0, &req->arena);
        handle(&req->arena, j->version, &none, denied, &req->resp);
        req->parked = NULL;
        zk_job_free(j);
        return REQ_DONE;
    }
    return REQ_PARKED;
}
