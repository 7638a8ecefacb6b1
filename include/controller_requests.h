/*
 * controller_requests.h - the requests the active controller sends
 * (LeaderAndIsr, UpdateMetadata, StopReplica), built from its context at the versions
 * inter.broker.protocol.version selects, as Kafka's
 * ControllerChannelManager builds them, and queued on the destination
 * broker's channel.  ZooKeeper thread only.
 */
#ifndef SAMSA_CONTROLLER_REQUESTS_H
#define SAMSA_CONTROLLER_REQUESTS_H

#include "broker.h"
#include "metadata_cache.h"
#include "node_channel.h"

/* A partition of the controller's context. */
typedef struct pref {
    mc_topic_t *t;
    int32_t p;
} pref_t;

typedef struct prefs {
    pref_t *v;
    int n, cap;
} prefs_t;

void prefs_add(prefs_t *s, mc_topic_t *t, int32_t p);
void prefs_free(prefs_t *s);

/* From controller_state.c: a live broker, or NULL; the channel to one. */
const mc_broker_t *cs_live_broker(int32_t id);
const mc_broker_t *cs_live_brokers(int *n);
node_channel_t *cs_channel(int32_t id);

/* Request versions for an IBP (major*100+minor), as Kafka 3.9 picks them. */
int16_t creq_leader_and_isr_version(int32_t ibp);
int16_t creq_update_metadata_version(int32_t ibp);

/* LeaderAndIsr for parts (all replicated on dest) to dest. */
void creq_send_leader_and_isr(broker_t *b, const mc_broker_t *dest, const prefs_t *parts);
int16_t creq_stop_replica_version(int32_t ibp);
/* Called once a StopReplica is answered (ok: with no error for any
 * partition) or could not be sent (ok false); on the channel's thread, or
 * on the caller's when there is no channel to dest. */
typedef void (*creq_stopped_fn)(void *ctx, int32_t dest, bool ok);
/* StopReplica with delete to dest for parts (all replicated on dest): a
 * deleted topic's replicas (leader epoch -2) or replicas a reassignment
 * removed (the current leader epoch) stop and their logs go.  stopped may
 * be NULL. */
void creq_send_stop_replica(broker_t *b, const mc_broker_t *dest, const prefs_t *parts,
                            bool topic_deleted, creq_stopped_fn stopped, void *ctx);
/* UpdateMetadata with every live broker and parts' states to dest. */
void creq_send_update_metadata(broker_t *b, const mc_broker_t *dest, const prefs_t *parts);

#endif
