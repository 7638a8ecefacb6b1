/*
 * broker.h - the broker's top-level state and the request object handed to
 * API handlers.
 *
 * Threads (the whole of samsad) and what each owns:
 *   - the event-loop thread (main thread) owns everything in struct broker
 *     and everything reachable from a request: connections, request
 *     dispatch, the metadata cache, partition logs, parked requests, the
 *     group coordinator.  It never waits on ZooKeeper;
 *   - the ZooKeeper thread (zk_worker.h) owns the ZooKeeper session once
 *     the broker listens and the controller's view of ZooKeeper
 *     (controller.c).  It runs jobs submitted by the loop one at a time and
 *     posts their results back with loop_post();
 *   - the disk thread (bio.h) runs fsyncs of rolled segments, scheduled
 *     flushes, checkpoint writes, creation of new partitions' logs, reading
 *     __consumer_offsets partitions for the group coordinator and removal
 *     of deleted logs; each job owns its inputs (dup()ed descriptors,
 *     copied entries, the log it creates) and posts back;
 *   - the cleaner thread (log_cleaner.h) runs compaction rounds
 *     (cleaner_job.h) over dup()ed descriptors of sealed segments, which
 *     the loop leaves alone while pl->cleaning is set; it writes and swaps
 *     the cleaned files, and the loop swaps its segment objects when the
 *     round is posted back;
 *   - the ZooKeeper client's own I/O and completion threads run only the
 *     watcher (which queues a sync job under controller.c's events_lock)
 *     and asynchronous completions (which fill a waiting batch).
 * Functions that run off the loop, or touch what another thread also
 * touches, say so above their definition with librdkafka's tags:
 * "@locality <thread>" and "@locks <lock held or taken, or none and why>".
 * loop_post() (include/loop.h) is the one way into the event loop.  Before
 * the loop runs, the main thread connects to ZooKeeper and loads the logs.
 *   - fetcher threads (replica_fetcher.h), num.replica.fetchers per leader
 *     broker, each own their connection and fetch positions; every fetch
 *     response is applied to the logs on the loop (rf_apply) while the
 *     fetcher waits;
 *   - node-channel threads (node_channel.h), one per destination, send
 *     the active controller's LeaderAndIsr/UpdateMetadata and a leader's
 *     AlterPartition; the controller's context itself lives on the
 *     ZooKeeper thread (controller_state.h).
 * A controller's LeaderAndIsr/UpdateMetadata/StopReplica are handled on
 * the loop (api_inter_broker.c); roles change only through them.
 */
#ifndef SAMSA_BROKER_H
#define SAMSA_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "broker_config.h"
#include "kv_list.h"
#include "proto_codec.h"
#include "proto_messages.h"

struct event_base;
struct conn;
struct loop;

typedef struct broker {
    broker_config_t *cfg;
    struct event_base *base;
    struct loop *loop;
    char cluster_id[64];
    int32_t controller_id;          /* -1 if unknown (mirrors the ZK thread's) */
    int32_t controller_epoch;
    /* This broker's epoch: the czxid of its /brokers/ids/<id>
     * registration, -1 before it is read (mirrors the ZK thread's). */
    int64_t broker_epoch;
    bool is_controller;
    bool shutting_down;
    bool startup_failed;            /* registration refused; exit 1 */
    /* /config/brokers/<id> and /config/brokers/<default> in force
     * (broker_dynamic.h). */
    kv_list_t dynamic_config;
    kv_list_t dynamic_default_config;
} broker_t;

typedef struct request {
    struct conn *conn;
    broker_t *broker;
    arena_t arena;
    uint8_t *frame;                 /* whole request (without size prefix) */
    size_t frame_len;
    struct request_header hdr;
    kreader_t body;                 /* positioned after the header */
    kwriter_t resp;                 /* response body */
    bool no_response;               /* acks=0 produce */
    bool raw_response;              /* a bare SASL token: no header */
    int64_t received_ms;
    void *parked;                   /* handler state while waiting */
    void (*cancel)(struct request *req);   /* connection gone while parked */
    bool done;                      /* completed; response not yet sent */
    int64_t pool_bytes;             /* held from the request memory pool */
    int64_t handler_ns;             /* event-loop time its handler took so far */
    int64_t handler_start_ns;       /* while its handler runs: when it began */
    bool quota_charged;             /* request_percentage already charged */
    struct mutation_quota *mutation;    /* controller_mutation_rate, if charged */
} request_t;

enum handler_result { REQ_DONE, REQ_PARKED, REQ_CLOSE };

typedef enum handler_result (*api_handler_fn)(broker_t *b, request_t *req);

/* Finishes a parked request.  The response is sent, and the connection's
 * next request handled, from a deferred event, so completing requests never
 * re-enters a handler.  A handler that completes its own request returns
 * REQ_PARKED.  Event-loop thread. */
void request_complete(request_t *req);

#endif
