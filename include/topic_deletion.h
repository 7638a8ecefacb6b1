/*
 * topic_deletion.h - the topics the active controller is deleting
 * (Kafka's TopicDeletionManager).  A topic named under
 * /admin/delete_topics is queued: every broker is sent UpdateMetadata with
 * its partitions led by LeaderDuringDelete (-2), so metadata caches drop
 * it, and every replica StopReplica with delete.  Its znodes
 * (/brokers/topics/<t>, /config/topics/<t>, /admin/delete_topics/<t>) go
 * only once every replica has answered without error; a replica on a
 * broker that is down (or that failed) is ineligible and the deletion
 * waits for that broker to come back, so no broker keeps a deleted
 * topic's log to serve it again under a re-created topic of the same name.
 * A queued topic elects no leaders and gets no LeaderAndIsr.
 *
 * Threads: the ZooKeeper thread (the controller's), which owns the queue;
 * StopReplica answers are handed to it with zkw_submit().
 */
#ifndef SAMSA_TOPIC_DELETION_H
#define SAMSA_TOPIC_DELETION_H

#include <stdbool.h>
#include <stdint.h>

/* Queues a topic of the controller's context for deletion (or, if it is
 * queued already, retries its ineligible replicas on live brokers). */
void td_enqueue(const char *topic);
/* Brokers came up (or restarted): their replicas of queued topics are
 * sent StopReplica again. */
void td_on_brokers_added(const int32_t *ids, int n);
/* The controller stopped: the queue goes (a new controller rebuilds it
 * from /admin/delete_topics). */
void td_reset(void);
/* Topics queued (tests, logs). */
int td_count(void);

#endif
