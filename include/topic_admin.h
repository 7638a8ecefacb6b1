/*
 * topic_admin.h - creating and deleting topics the way Kafka's admin path
 * does (config znode, then the assignment znode; deletion through
 * /admin/delete_topics and the controller), and the controller's creation
 * of partition state znodes.
 *
 * The request side runs on the event loop and never waits: it validates,
 * computes the assignment, and submits a job to the ZooKeeper thread;
 * the callback runs on the loop once the result is applied to the
 * metadata cache.
 */
#ifndef SAMSA_TOPIC_ADMIN_H
#define SAMSA_TOPIC_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "client_quotas.h"
#include "metadata_cache.h"

typedef struct topic_spec {
    const char *name;
    int32_t num_partitions;         /* -1 = num.partitions */
    int16_t replication_factor;     /* -1 = default.replication.factor */
    const char **config_keys;
    const char **config_values;
    int n_configs;
    /* A manual assignment (CreateTopics' assignments): replicas[p] lists
     * partition p's brokers, all n_assigned_replicas long; NULL if none. */
    const int32_t *const *replicas;
    int32_t n_assigned_partitions;
    int16_t n_assigned_replicas;
} topic_spec_t;

/* Per-topic outcome handed to the callback (index as in the request). */
typedef struct topic_result {
    int16_t error;
    char message[320];              /* "" if none */
} topic_result_t;

/* results has n entries; called on the event loop; arg is the caller's. */
typedef void (*topics_done_fn)(broker_t *b, void *arg, const topic_result_t *results, int n);

/* Event-loop thread.  Checks what can be checked without ZooKeeper (name,
 * counts, replication factor against live brokers, existence in the cache)
 * into results[] (error != 0: not submitted); validate_only stops there.
 * Returns the number submitted; done (if not NULL) runs on the loop with
 * every result once the job has run, or never if nothing was submitted.
 * quota (NULL: none) is charged each topic's partitions once it passes the
 * checks; a strict quota below zero refuses it with
 * THROTTLING_QUOTA_EXCEEDED (the same for deletions and added
 * partitions below). */
int topic_admin_create(broker_t *b, const topic_spec_t *specs, int n, bool validate_only,
                       mutation_quota_t *quota, topic_result_t *results, topics_done_fn done,
                       void *arg);
/* Marks topics for deletion; done as above (UNKNOWN_TOPIC_OR_PARTITION and
 * TOPIC_DELETION_DISABLED are decided on the loop), once the topics have
 * left this broker's cache, or after timeout_ms with REQUEST_TIMED_OUT for
 * those still there (timeout_ms <= 0: at once, as Kafka). */
int topic_admin_delete(broker_t *b, char **names, int n, int32_t timeout_ms,
                       mutation_quota_t *quota, topic_result_t *results, topics_done_fn done,
                       void *arg);
/* CreatePartitions' request for one topic. */
typedef struct partitions_spec {
    const char *name;
    int32_t count;                  /* the new total */
    const int32_t *const *replicas; /* the new partitions' brokers, or NULL */
    const int32_t *n_replicas;
    int32_t n_assignments;
} partitions_spec_t;

/* Event-loop thread, on the controller: grows topics to spec.count
 * partitions (Kafka's checks and messages into results[]; validate_only
 * stops there), writes each assignment znode on the ZooKeeper thread and
 * calls done once every new partition has a leader in the cache, or after
 * timeout_ms with REQUEST_TIMED_OUT.  Returns the number submitted. */
int topic_admin_add_partitions(broker_t *b, const partitions_spec_t *specs, int n,
                               bool validate_only, int32_t timeout_ms, mutation_quota_t *quota,
                               topic_result_t *results, topics_done_fn done, void *arg);
/* True while this broker is creating the topic (auto-creation asks once). */
bool topic_admin_creating(const char *name);
/* Event-loop thread, at shutdown: creations still waiting for their new
 * leaders are answered now. */
void topic_admin_shutdown(void);

/* The most partitions a topic may have.  Kafka sets no limit, but a
 * topic's assignment znode must fit in ZooKeeper's 1 MiB (jute.maxbuffer),
 * and a request must not make the broker allocate without bound. */
#define TOPIC_MAX_PARTITIONS 100000
/* INVALID_PARTITIONS with the reason in msg above the limit, else 0. */
int16_t topic_partition_count_invalid(int32_t count, char *msg, size_t n);

/* Kafka's internal topics (Topic.isInternal): clients may not produce to
 * them, except Kafka's own admin client id. */
#define ADMIN_CLIENT_ID "__admin_client"
bool topic_is_internal(const char *name);

/* Topic-name rules of Kafka's Topic.validate; NULL if valid, else why. */
const char *topic_name_invalid(const char *name, int len);

/* ZooKeeper thread, as controller: creates the state znodes of partitions
 * that have none (leader = first live replica, ISR = live replicas), fenced
 * by the controller epoch; updates t->parts in place. */
void topic_admin_create_partition_states(mc_topic_t *t, const int32_t *live, int n_live);
/* ZooKeeper thread, on the active controller: a topic created without a
 * topic id (by Kafka 2.x's tools) gets one written to its assignment
 * znode, as Kafka's controller does (setTopicIds). */
void topic_admin_assign_topic_id(mc_topic_t *t);
/* ZooKeeper thread, as controller: queues every existing topic marked
 * under /admin/delete_topics for deletion (topic_deletion.h); markers of
 * topics that do not exist, or all of them when deletion is disabled, are
 * removed. */
void topic_admin_process_deletions(bool delete_enabled);

#endif
