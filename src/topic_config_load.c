/*
 * topic_config_load.c - owns reading /config/topics/<t> for topics this
 * broker heard of from its controller, and the requests waiting for those
 * reads (see topic_config_load.h).  Names wanted during one turn of the
 * loop go to the ZooKeeper thread as one batch of pipelined reads; reads
 * that fail for a connection loss are retried there while the session
 * lives, so a topic never runs with configs it does not have.
 *
 * Threads: `tl` and the cache belong to the event loop; load_run() runs on
 * the ZooKeeper thread and touches only its job.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <zookeeper/zookeeper.h>

#include "broker_dynamic.h"
#include "controller.h"
#include "logging.h"
#include "topic_config_load.h"
#include "util.h"
#include "zk_layout.h"
#include "zk_session.h"
#include "zk_worker.h"

typedef struct parked {
    request_t *req;
    enum handler_result (*resume)(broker_t *b, request_t *req);
    struct parked *next;
} parked_t;

/* One batch of reads; the ZooKeeper thread fills cfgs and ok. */
typedef struct load_job {
    broker_t *b;
    char **names;
    int n;
    kv_list_t *cfgs;
    bool *ok;
} load_job_t;

/* Event-loop thread only. */
static struct {
    broker_t *b;
    char **wanted;              /* names for the next batch */
    int n_wanted;
    struct event *flush;
    struct event *retry;        /* resumes the parked a while after a failed read */
    parked_t *parked;
} tl;

/* After a read that failed for good (ZooKeeper refused it), parked
 * requests ask again this much later, not at once. */
#define RETRY_AFTER_MS 1000

static void flush_wanted(evutil_socket_t fd, short what, void *arg);

void tcl_want(broker_t *b, mc_topic_t *t)
{
    if (t->cfg_loaded || t->cfg_loading)
        return;
    t->cfg_loading = true;
    tl.b = b;
    tl.wanted = xrealloc(tl.wanted, sizeof(*tl.wanted) * (size_t)(tl.n_wanted + 1));
    tl.wanted[tl.n_wanted++] = xstrdup(t->name);
    if (!tl.flush)
        tl.flush = event_new(b->base, -1, 0, flush_wanted, NULL);
    event_active(tl.flush, 0, 0);
}

/* @locality the ZooKeeper thread
 * @locks none (the job is its own) */
static void load_run(void *arg)
{
    load_job_t *j = arg;
    zk_session_t *zs = controller_session();
    zk_read_t *reads = xcalloc((size_t)j->n, sizeof(*reads));
    char (*paths)[ZK_PATH_MAX] = xcalloc((size_t)j->n, ZK_PATH_MAX);
    for (int i = 0; i < j->n; i++) {
        snprintf(paths[i], ZK_PATH_MAX, "/config/topics/%s", j->names[i]);
        reads[i].path = paths[i];
    }
    zk_get_many(zs, reads, j->n, false);
    for (int i = 0; i < j->n; i++) {
        int attempts = 0;
        while (reads[i].rc != ZOK && reads[i].rc != ZNONODE &&
               controller_should_retry(reads[i].rc, &attempts)) {
            free(reads[i].data);
            reads[i].data = zk_get_string(zs, paths[i], false, &reads[i].st, &reads[i].rc);
        }
        j->ok[i] = reads[i].rc == ZNONODE || reads[i].rc == ZOK;
        if (!j->ok[i])
            log_error("config", "Cannot read the config of topic %s from %s: %s", j->names[i],
                      paths[i], zerror(reads[i].rc));
        else if (reads[i].rc == ZOK && zkl_parse_config(reads[i].data, &j->cfgs[i]) < 0)
            log_error("config", "Malformed config of topic %s at %s: the broker's defaults "
                                "apply", j->names[i], paths[i]);
    }
    zk_reads_free(reads, j->n);
    free(reads);
    free(paths);
}

static void job_free(load_job_t *j)
{
    for (int i = 0; i < j->n; i++) {
        free(j->names[i]);
        kv_free(&j->cfgs[i]);
    }
    free(j->names);
    free(j->cfgs);
    free(j->ok);
    free(j);
}

static void resume_parked(broker_t *b)
{
    if (tl.retry)
        event_del(tl.retry);
    parked_t *list = tl.parked;
    tl.parked = NULL;
    while (list) {
        parked_t *w = list;
        list = w->next;
        request_t *req = w->req;
        enum handler_result (*resume)(broker_t *b, request_t *req) = w->resume;
        free(w);
        req->parked = NULL;
        req->cancel = NULL;
        if (resume(b, req) != REQ_PARKED)
            request_complete(req);
    }
}

static void retry_parked(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    resume_parked(arg);
}

/* Each loaded config goes to its topic, unless it is gone or a change
 * notification got there first; a failed read is asked for again by the
 * next request naming the topic. */
static void load_done(void *arg)
{
    load_job_t *j = arg;
    bool failed = false;
    for (int i = 0; i < j->n; i++) {
        mc_topic_t *t = mc_find_topic(j->names[i]);
        if (!t || t->cfg_loaded)
            continue;
        t->cfg_loading = false;
        failed |= !j->ok[i];
        if (!j->ok[i])
            continue;
        kv_free(&t->cfg);
        t->cfg = j->cfgs[i];
        j->cfgs[i] = (kv_list_t){ 0 };
        t->cfg_loaded = true;
        bdyn_topic_changed(j->b, t);
    }
    broker_t *b = j->b;
    job_free(j);
    if (!failed) {
        resume_parked(b);
        return;
    }
    if (!tl.retry)
        tl.retry = event_new(b->base, -1, 0, retry_parked, b);
    struct timeval tv = { RETRY_AFTER_MS / 1000, (RETRY_AFTER_MS % 1000) * 1000 };
    if (!evtimer_pending(tl.retry, NULL))
        event_add(tl.retry, &tv);
}

/* Event-loop thread: the names wanted so far, as one batch. */
static void flush_wanted(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (tl.n_wanted == 0)
        return;
    load_job_t *j = xcalloc(1, sizeof(*j));
    j->b = tl.b;
    j->names = tl.wanted;
    j->n = tl.n_wanted;
    j->cfgs = xcalloc((size_t)j->n, sizeof(*j->cfgs));
    j->ok = xcalloc((size_t)j->n, sizeof(*j->ok));
    tl.wanted = NULL;
    tl.n_wanted = 0;
    if (zkw_submit(load_run, load_done, j) < 0)
        job_free(j);                    /* stopping */
}

static void cancel_parked(request_t *req)
{
    for (parked_t **w = &tl.parked; *w; w = &(*w)->next)
        if ((*w)->req == req) {
            parked_t *gone = *w;
            *w = gone->next;
            free(gone);
            break;
        }
    req->parked = NULL;
}

void tcl_park(request_t *req, enum handler_result (*resume)(broker_t *b, request_t *req))
{
    parked_t *w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->resume = resume;
    w->next = tl.parked;
    tl.parked = w;
    req->parked = w;
    req->cancel = cancel_parked;
}

void tcl_shutdown(void)
{
    while (tl.parked) {             /* their connections are closing */
        parked_t *w = tl.parked;
        tl.parked = w->next;
        w->req->parked = NULL;
        w->req->cancel = NULL;
        free(w);
    }
    for (int i = 0; i < tl.n_wanted; i++)
        free(tl.wanted[i]);
    free(tl.wanted);
    tl.wanted = NULL;
    tl.n_wanted = 0;
    if (tl.flush)
        event_free(tl.flush);
    if (tl.retry)
        event_free(tl.retry);
    tl.flush = tl.retry = NULL;
}
