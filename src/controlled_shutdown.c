/*
 * controlled_shutdown.c - owns the broker's side of a controlled shutdown
 * (see controlled_shutdown.h): the ControlledShutdown request to the
 * controller, its retries and the decision to stop.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "controlled_shutdown.h"
#include "kafka_errors.h"
#include "logging.h"
#include "loop.h"
#include "metadata_cache.h"
#include "node_channel.h"
#include "proto_messages.h"
#include "replica_manager.h"
#include "util.h"

#define API_CONTROLLED_SHUTDOWN 7
#define CONTROLLED_SHUTDOWN_VERSION 3

static struct {
    broker_t *b;
    void (*finished)(broker_t *b);
    bool running;
    int attempts;
    struct event *retry;
} cds;

typedef struct cds_answer {
    int16_t error;
    int remaining;
} cds_answer_t;

static void attempt(void);

static void finish(const char *why)
{
    log_info("samsad", "[KafkaServer id=%d] Controlled shutdown %s", cds.b->cfg->broker_id, why);
    if (cds.retry) {
        event_free(cds.retry);
        cds.retry = NULL;
    }
    cds.running = false;
    cds.finished(cds.b);
}

static void retry_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    attempt();
}

/* @locality the event-loop thread
 * @locks none */
static void answered(void *arg)
{
    cds_answer_t *a = arg;
    int16_t err = a->error;
    int remaining = a->remaining;
    free(a);
    if (!cds.running)
        return;
    if (err == KERR_NONE && remaining == 0) {
        finish("succeeded");
        return;
    }
    if (err)
        log_warn("samsad", "Controlled shutdown attempt %d failed: %s", cds.attempts,
                 kafka_error_name(err));
    else
        log_info("samsad", "Controlled shutdown attempt %d: %d partition(s) still led here",
                 cds.attempts, remaining);
    if (cds.attempts >= cds.b->cfg->controlled_shutdown_max_retries) {
        finish("retries exhausted; proceeding to an unclean shutdown");
        return;
    }
    int64_t ms = cds.b->cfg->controlled_shutdown_retry_backoff_ms;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    if (!cds.retry)
        cds.retry = evtimer_new(cds.b->base, retry_timer, NULL);
    evtimer_add(cds.retry, &tv);
}

/* @locality the controller channel's thread
 * @locks none (posts a copy) */
static void reply(void *arg, kreader_t *r, int16_t v)
{
    broker_t *b = arg;
    cds_answer_t *a = xcalloc(1, sizeof(*a));
    struct controlled_shutdown_response resp;
    if (!r || controlled_shutdown_response_decode(r, v, &resp) < 0) {
        a->error = KERR_REQUEST_TIMED_OUT;
    } else {
        a->error = resp.error_code;
        a->remaining = resp.remaining_partitions_count > 0 ? resp.remaining_partitions_count : 0;
    }
    loop_post(b->loop, answered, a);
}

static void attempt(void)
{
    broker_t *b = cds.b;
    node_channel_t *ch = pl_controller_channel(b);
    cds.attempts++;
    if (!ch) {
        cds_answer_t *a = xcalloc(1, sizeof(*a));
        a->error = KERR_NOT_CONTROLLER;
        loop_post(b->loop, answered, a);
        return;
    }
    struct controlled_shutdown_request rq;
    controlled_shutdown_request_defaults(&rq);
    rq.broker_id = b->cfg->broker_id;
    rq.broker_epoch = b->broker_epoch;
    kwriter_t w;
    kw_init(&w);
    controlled_shutdown_request_encode(&w, CONTROLLED_SHUTDOWN_VERSION, &rq);
    log_info("samsad", "[KafkaServer id=%d] Starting controlled shutdown (attempt %d, controller %d)",
             b->cfg->broker_id, cds.attempts, b->controller_id);
    chan_send(ch, API_CONTROLLED_SHUTDOWN, CONTROLLED_SHUTDOWN_VERSION, &w, reply, b);
}

bool controlled_shutdown_start(broker_t *b, void (*finished)(broker_t *b))
{
    int n;
    mc_brokers(&n);
    if (!b->cfg->controlled_shutdown_enable || b->controller_id < 0 || n <= 1 || cds.running)
        return false;
    cds.b = b;
    cds.finished = finished;
    cds.running = true;
    cds.attempts = 0;
    attempt();
    return true;
}

bool controlled_shutdown_running(void)
{
    return cds.running;
}
