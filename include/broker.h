/*
 * broker.h - the broker's top-level state and the request object handed to
 * API handlers.
 *
 * Threads (the whole of samsad):
 *   - the event-loop thread (main thread) owns everything in struct broker:
 *     connections, request dispatch, the metadata cache, partition logs,
 *     parked fetches, the controller logic and all ZooKeeper calls (made
 *     synchronously with the multi-threaded ZooKeeper client);
 *   - the ZooKeeper client's own I/O and completion threads run only the
 *     watcher callback, which copies the event and hands it to the loop with
 *     loop_post() (include/loop.h) - the one cross-thread hand-off.
 * There are no fetcher threads yet (single-broker replication factor 1).
 */
#ifndef SAMSA_BROKER_H
#define SAMSA_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "broker_config.h"
#include "proto_codec.h"
#include "proto_messages.h"

struct event_base;
struct conn;
struct loop;
struct zk_session;

typedef struct broker {
    broker_config_t *cfg;
    struct event_base *base;
    struct loop *loop;
    struct zk_session *zk;
    char cluster_id[64];
    int32_t controller_id;          /* -1 if unknown */
    int32_t controller_epoch;
    bool is_controller;
    bool shutting_down;
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
    int64_t received_ms;
    void *parked;                   /* handler state while waiting */
    void (*cancel)(struct request *req);   /* connection gone while parked */
    bool done;                      /* completed; response not yet sent */
} request_t;

enum handler_result { REQ_DONE, REQ_PARKED, REQ_CLOSE };

typedef enum handler_result (*api_handler_fn)(broker_t *b, request_t *req);

/* Finishes a parked request.  The response is sent, and the connection's
 * next request handled, from a deferred event, so completing requests never
 * re-enters a handler.  A handler that completes its own request returns
 * REQ_PARKED.  Event-loop thread. */
void request_complete(request_t *req);

#endif
