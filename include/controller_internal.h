/*
 * controller_internal.h - what controller_state.c shares with the other
 * files of the active controller (controller_duties.c): the context's
 * topics and eligibility rules, fenced partition-state writes, and telling
 * brokers.  ZooKeeper thread only.
 */
#ifndef SAMSA_CONTROLLER_INTERNAL_H
#define SAMSA_CONTROLLER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <zookeeper/zookeeper.h>

#include "controller_requests.h"
#include "metadata_cache.h"

typedef struct change {
    mc_topic_t *t;
    int32_t p;
    int32_t leader;
    int32_t leader_epoch;
    int32_t *isr;
    int n_isr;
    int rc;
    struct Stat st;
} change_t;

typedef struct changes {
    change_t *v;
    int n, cap;
} changes_t;

bool cs_is_shutting(int32_t id);
void cs_mark_shutting(int32_t id);
/* Live and not shutting down: may lead or join an ISR. */
bool cs_eligible(int32_t id);
/* The context's topics (a uthash by name; iterate with hh). */
mc_topic_t *cs_topics(void);
/* A proposed state for partition p of t (isr is taken); none for a topic
 * being deleted (NULL). */
change_t *cs_change_add(changes_t *c, mc_topic_t *t, int32_t p, int32_t leader,
                        int32_t leader_epoch, int32_t *isr, int n_isr);
void cs_changes_free(changes_t *c);
/* Writes the changes fenced by the controller epoch; those written become
 * the context's state and are added to *written (if not NULL). */
void cs_write_changes(changes_t *c, prefs_t *written);
/* Writes the changes, tells the brokers of those written (LeaderAndIsr to
 * their replicas, UpdateMetadata to all) and frees them. */
void cs_write_and_tell(changes_t *c);
/* LeaderAndIsr to the live replicas of parts; UpdateMetadata to all. */
void cs_send_leader_and_isr(const prefs_t *parts);
void cs_send_update_metadata(const prefs_t *parts);
/* StopReplica with delete to broker id (if live): parts leave it;
 * stopped (may be NULL) hears the answer (ok false at once if the broker
 * is not live). */
void cs_send_stop_replica(int32_t id, const prefs_t *parts, bool topic_deleted,
                          creq_stopped_fn stopped, void *ctx);
/* The context's topic of that name, or NULL. */
mc_topic_t *cs_find_topic(const char *name);
/* The context forgets a topic without telling anyone (its deletion is
 * complete). */
void cs_forget_topic(const char *name);
/* Whether t (NULL: a topic without the override) may elect a leader out
 * of its ISR: the topic's unclean.leader.election.enable, else the
 * broker's (dynamic, else server.properties). */
bool cs_unclean_allowed(const mc_topic_t *t);
/* The dynamic broker value: 1 or 0, or -1 for server.properties'. */
void cs_set_unclean_default(int enabled);
/* Offline partitions of `only` (every topic if NULL) elect leaders again
 * under the current settings, written and told (Kafka's
 * triggerOnlinePartitionStateChange). */
void cs_reelect(mc_topic_t *only);
/* controller_reassign.c: a state write for t-p may have put a
 * reassignment's target replicas in sync; if so it completes. */
void cs_reassign_check(mc_topic_t *t, int32_t p);

#endif
