/*
 * samsad.c - the daemon: command line, start-up and shutdown order, and
 * signals (SIGTERM/SIGINT clean shutdown, SIGHUP log reopen).
 *
 * Start-up follows Kafka's KafkaServer.startup: ZooKeeper and cluster id,
 * log directories (recovery), listeners, then (on the ZooKeeper thread,
 * while the loop already serves) broker registration, election and the
 * metadata load; "started" is logged when that is applied.
 * Shutdown: stop accepting, close the ZooKeeper session (ephemeral znodes
 * go), flush logs, write checkpoints and .kafka_cleanshutdown.
 */
#define _GNU_SOURCE
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bio.h"
#include "broker.h"
#include "broker_dynamic.h"
#include "broker_config.h"
#include "controller.h"
#include "controller_state.h"
#include "zk_worker.h"
#include "controlled_shutdown.h"
#include "inter_broker_auth.h"
#include "group_coordinator.h"
#include "txn_coordinator.h"
#include "log_cleaner.h"
#include "log_manager.h"
#include "log_mover.h"
#include "log_retention.h"
#include "logging.h"
#include "loop.h"
#include "metadata_cache.h"
#include "topic_config_load.h"
#include "net.h"
#include "replica_fetcher.h"
#include "fetch_session.h"
#include "replica_manager.h"
#include "topic_admin.h"
#include "authorizer.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: samsad [--log-file FILE] [--override key=value]... server.properties\n");
}

static void stop_now(broker_t *b)
{
    b->shutting_down = true;
    event_base_loopbreak(b->base);
}

/* libevent runs an event re-activated from its own callback (a busy
 * connection's next read turn, a sliced job's next slice) in the same
 * round, before it polls the sockets again: "yielding" that way starves
 * every other client (a fast producer held the loop for 280 ms).  Polling
 * after every LOOP_ROUND_CALLBACKS callbacks makes those turns wait behind
 * the sockets that became ready meanwhile. */
#define LOOP_ROUND_CALLBACKS 8

static struct event_base *event_base_fair(void)
{
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return NULL;
    struct event_base *base =
        event_config_set_max_dispatch_interval(cfg, NULL, LOOP_ROUND_CALLBACKS, 0) == 0
        ? event_base_new_with_config(cfg) : NULL;
    event_config_free(cfg);
    return base;
}

/* SIGTERM/SIGINT: a controlled shutdown first (leadership moves away while
 * the broker still serves); a second signal stops at once. */
static void on_signal_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    broker_t *b = arg;
    log_info("samsad", "Received signal %d; shutting down", (int)sig);
    if (controlled_shutdown_running() || !controlled_shutdown_start(b, stop_now))
        stop_now(b);
}

static void on_signal_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    log_reopen();
    log_info("samsad", "Reopened log file");
}

/* Kafka's log flusher: every log.flush.scheduler.interval.ms, fsync logs not
 * flushed for log.flush.interval.ms (both default to never). */
static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    broker_t *b = arg;
    logmgr_flush_older_than(b->cfg->log_flush_interval_ms);
}

static void on_isr_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pl_check_isr(arg);
}

/* @locality the ZooKeeper thread
 * @locks none */
static void rebalance_job(void *arg)
{
    broker_t *b = arg;
    cs_auto_rebalance(b->cfg->leader_imbalance_per_broker_percentage);
}

/* Kafka's auto-leader-rebalance task, run by the active controller. */
static void on_rebalance_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    broker_t *b = arg;
    if (b->cfg->auto_leader_rebalance_enable && !b->shutting_down &&
        zkw_submit(rebalance_job, NULL, b) < 0)
        log_warn("samsad", "Cannot schedule the leader rebalance check");
}

static void on_checkpoint_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (logmgr_checkpoint() < 0)
        log_error("samsad", "Writing offset checkpoints failed");
}

/* Event-loop thread: the ZooKeeper thread registered the broker and the
 * first metadata is applied (or registration was refused). */
static void on_ready(broker_t *b)
{
    if (b->startup_failed) {
        log_error("samsad", "Broker registration failed; shutting down");
        event_base_loopbreak(b->base);
        return;
    }
    net_start_accepting();
    log_info("samsad", "[KafkaServer id=%d] started (cluster id %s)", b->cfg->broker_id,
             b->cluster_id);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "log-file", required_argument, NULL, 'l' },
        { "override", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *log_file = NULL;
    char **overrides = xcalloc((size_t)argc + 1, sizeof(char *));
    int n_over = 0, c;
    while ((c = getopt_long(argc, argv, "l:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': log_file = optarg; break;
        case 'o': overrides[n_over++] = optarg; break;
        case 'h': usage(stdout); free(overrides); return 0;
        default: usage(stderr); free(overrides); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        free(overrides);
        return 2;
    }
    if (log_file && log_open(log_file) < 0) {
        fprintf(stderr, "samsad: cannot open log file %s\n", log_file);
        free(overrides);
        return 1;
    }
    broker_config_t cfg;
    if (config_load(&cfg, argv[optind], overrides, n_over) < 0) {
        free(overrides);
        return 1;
    }
    free(overrides);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();

    broker_t b = { 0 };
    b.cfg = &cfg;
    b.base = event_base_fair();
    if (!b.base)
        die("event_base_new failed");
    b.loop = loop_new(b.base);
    log_info("samsad", "Starting broker %d", cfg.broker_id);

    int rc = 1;
    char err[512];
    if (authorizer_configure(&cfg, err, sizeof(err)) < 0) {
        log_error("samsad", "%s", err);
        goto out;
    }
    if (controller_connect(&b) < 0) {
        log_error("samsad", "Cannot connect to ZooKeeper at %s", cfg.zk_connect);
        goto out;
    }
    if (logmgr_start(&cfg, b.cluster_id) < 0)
        goto out;
    bio_start(b.loop);
    lmove_init(&b);
    lmove_resume_interrupted();
    logmgr_set_high_watermark_source(rm_high_watermark_of);
    cleaner_set_high_watermark_source(rm_high_watermark_of);
    if (cleaner_start(&b, b.loop) < 0) {
        log_error("samsad", "Cannot start the log cleaner");
        goto out_logs;
    }
    if (retention_start(&b) < 0) {
        log_error("samsad", "Cannot start the log retention timer");
        goto out_logs;
    }
    char ib_err[512];
    if (ib_auth_init(&cfg, ib_err, sizeof(ib_err)) < 0) {
        log_error("samsad", "Cannot set up connections to other brokers: %s", ib_err);
        goto out_logs;
    }
    if (net_listen(&b) < 0)
        goto out_logs;
    gc_init(&b);
    tc_init(&b);
    controller_start(&b, on_ready);

    struct event *sigterm = evsignal_new(b.base, SIGTERM, on_signal_stop, &b);
    struct event *sigint = evsignal_new(b.base, SIGINT, on_signal_stop, &b);
    struct event *sighup = evsignal_new(b.base, SIGHUP, on_signal_hup, &b);
    struct event *ckpt = event_new(b.base, -1, EV_PERSIST, on_checkpoint_timer, &b);
    struct timeval ck = { (time_t)(cfg.checkpoint_interval_ms / 1000),
                          (suseconds_t)(cfg.checkpoint_interval_ms % 1000) * 1000 };
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sighup, NULL);
    event_add(ckpt, &ck);
    /* Kafka's isr-expiration task: every replica.lag.time.max.ms / 2. */
    int64_t isr_every = MAX(cfg.replica_lag_time_max_ms / 2, 1);
    struct timeval it = { (time_t)(isr_every / 1000), (suseconds_t)(isr_every % 1000) * 1000 };
    struct event *isr_timer = event_new(b.base, -1, EV_PERSIST, on_isr_timer, &b);
    event_add(isr_timer, &it);
    struct timeval rt = { (time_t)MAX(cfg.leader_imbalance_check_interval_s, 1), 0 };
    struct event *rebalance_timer = event_new(b.base, -1, EV_PERSIST, on_rebalance_timer, &b);
    event_add(rebalance_timer, &rt);
    struct event *flusher = NULL;
    if (cfg.log_flush_scheduler_interval_ms < INT64_MAX) {
        int64_t every = MAX(cfg.log_flush_scheduler_interval_ms, 1);
        struct timeval fl = { (time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000 };
        flusher = event_new(b.base, -1, EV_PERSIST, on_flush_timer, &b);
        event_add(flusher, &fl);
    }
    event_base_dispatch(b.base);
    rc = b.startup_failed ? 1 : 0;
    event_free(sigterm);
    event_free(sigint);
    event_free(sighup);
    event_free(ckpt);
    event_free(isr_timer);
    event_free(rebalance_timer);
    if (flusher)
        event_free(flusher);
    b.shutting_down = true;
    net_shutdown();     /* parked requests are cancelled with their connections */
    topic_admin_shutdown();
    tc_shutdown();
    gc_shutdown();
    fetchers_shutdown();
    pl_shutdown();
out_logs:
    controller_stop(&b);
    retention_stop();
    cleaner_stop();     /* a running compaction round finishes */
    bio_stop();         /* queued fsyncs, checkpoints and removals finish */
    ib_auth_free();     /* every connecting thread has stopped */
    metadata_apply_shutdown();
    tcl_shutdown();
    lmove_shutdown();
    rm_shutdown();
    fs_shutdown();
    logmgr_shutdown();
out:
    b.shutting_down = true;
    controller_stop(&b);
    mc_clear();
    bdyn_free(&b);
    authorizer_shutdown();
    loop_free(b.loop);
    event_base_free(b.base);
    log_info("samsad", "[KafkaServer id=%d] shut down completed", cfg.broker_id);
    config_free(&cfg);
    return rc;
}
