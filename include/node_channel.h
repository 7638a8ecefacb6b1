/*
 * node_channel.h - a queue of requests to one broker, sent in order by a
 * thread of its own over a blocking kclient (Kafka's RequestSendThread in
 * ControllerChannelManager, and its BrokerToControllerChannelManager).
 * The controller keeps one per live broker for LeaderAndIsr,
 * UpdateMetadata and StopReplica; every broker keeps one to the controller
 * for AlterPartition and ControlledShutdown.
 *
 * Threads: chan_* functions may be called from any thread (the channel's
 * state is under its own lock).  A request's done() runs on the channel's
 * thread, with the response or NULL when the request was dropped (channel
 * closed, or retries exhausted); it must hand results on itself
 * (loop_post(), zkw_submit()).
 */
#ifndef SAMSA_NODE_CHANNEL_H
#define SAMSA_NODE_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "kclient.h"

typedef struct node_channel node_channel_t;

/* resp is NULL if the request was not answered; version is the one sent
 * (-1: none, the broker does not support it). */
typedef void (*chan_done_fn)(void *arg, kreader_t *resp, int16_t version);

/* A channel named `name` (for log lines) to a broker; requests wait while
 * it has no address.  max_attempts: sends of one request before it is
 * dropped (0: until the channel closes, as the controller's). */
node_channel_t *chan_new(const char *name, const char *client_id, int timeout_ms,
                         int max_attempts);
/* The broker the channel talks to (a change reconnects).  id -1: none. */
void chan_set_node(node_channel_t *c, int32_t id, const char *host, int32_t port);
int32_t chan_node(node_channel_t *c);
/* Queues a request; body is taken (freed after sending).  version < 0:
 * the highest both sides support up to -version. */
void chan_send(node_channel_t *c, int16_t api_key, int16_t version, kwriter_t *body,
               chan_done_fn done, void *arg);
/* Like chan_send with version >= 0, but a broker whose ApiVersions lack
 * that version is not sent the request: done(arg, NULL, -1). */
void chan_send_exact(node_channel_t *c, int16_t api_key, int16_t version, kwriter_t *body,
                     chan_done_fn done, void *arg);
/* Requests queued or in flight. */
int chan_backlog(node_channel_t *c);
/* Stops the thread; queued requests get done(arg, NULL). */
void chan_free(node_channel_t *c);

/* Channels to many brokers, one per destination, made on first use (the
 * transaction markers' and verifications' senders).  Owner's thread. */
typedef struct chan_pool chan_pool_t;
/* purpose names each channel's log lines ("<purpose> to broker N"). */
chan_pool_t *chan_pool_new(const char *purpose, const char *client_id, int timeout_ms,
                           int max_attempts);
node_channel_t *chan_pool_get(chan_pool_t *p, int32_t id, const char *host, int32_t port);
/* Stops every channel (queued requests get done(arg, NULL)). */
void chan_pool_free(chan_pool_t *p);

/* The partitions one request named and, once answered, each one's error:
 * built by the sender, filled on the channel's thread, read on the loop. */
typedef struct chan_parts {
    int n;
    char **topics;
    int32_t *partitions;
    int16_t *errors;
} chan_parts_t;
void chan_parts_init(chan_parts_t *p, int capacity);
void chan_parts_add(chan_parts_t *p, const char *topic, int32_t partition);
/* Every partition's error becomes err. */
void chan_parts_set_all(chan_parts_t *p, int16_t err);
/* The answer for topic-partition (topic as the response spelled it). */
void chan_parts_set(chan_parts_t *p, kstr_t topic, int32_t partition, int16_t err);
void chan_parts_free(chan_parts_t *p);

#endif
