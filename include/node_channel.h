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

/* resp is NULL if the request was not answered; version is the one sent. */
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
/* Requests queued or in flight. */
int chan_backlog(node_channel_t *c);
/* Stops the thread; queued requests get done(arg, NULL). */
void chan_free(node_channel_t *c);

#endif
