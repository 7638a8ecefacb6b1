/*
 * topic_admin_internal.h - what topic_admin.c shares with
 * topic_partitions.c: the admin job (topics handed to the ZooKeeper thread
 * and answered on the loop once the cache shows the result) and Kafka's
 * replica placement over the live brokers.  Event-loop thread, except the
 * job's run function on the ZooKeeper thread.
 */
#ifndef SAMSA_TOPIC_ADMIN_INTERNAL_H
#define SAMSA_TOPIC_ADMIN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "topic_admin.h"
#include "zk_session.h"
#include "zk_worker.h"

struct event;

typedef struct admin_job {
    broker_t *b;                /* only b->cfg is read off the loop */
    int n;                      /* topics submitted */
    bool is_create;
    int *index;                 /* their places in results */
    char **names;
    mc_topic_t **planned;       /* create: assignments made on the loop */
    char **config_json;         /* create: /config/topics/<t> contents */
    topic_result_t *results;    /* every topic of the request */
    int n_results;
    mc_topic_t **loaded;        /* create: read back from ZooKeeper */
    int n_loaded;
    topics_done_fn done;
    void *arg;
    /* Waiting before the answer: create, for the new leaders; delete, for
     * the topics to leave the cache (up to the request's timeout). */
    struct event *wait_timer;
    int64_t wait_deadline;      /* monotonic ms */
    int32_t timeout_ms;         /* delete and add partitions: the request's */
    int32_t *old_counts;        /* add partitions: the counts the plans grew from */
    bool (*ready)(const struct admin_job *j);
    void (*timed_out)(struct admin_job *j);
    struct admin_job *next_waiting;
} admin_job_t;

void ta_set_result(topic_result_t *r, int16_t err, const char *msg);
/* topic_mutation_quota.c: charges the topics whose results[] are still
 * without error (np[i] partitions each created; each deleted topic's
 * partitions) to quota, in Kafka's order; refused ones get
 * THROTTLING_QUOTA_EXCEEDED.  A NULL quota charges nothing. */
void ta_charge_creations(const topic_spec_t *specs, int n, const int32_t *np,
                         mutation_quota_t *quota, topic_result_t *results);
void ta_charge_deletions(char **names, int n, mutation_quota_t *quota, topic_result_t *results);
admin_job_t *ta_job_new(broker_t *b, int n_max, topics_done_fn done, void *arg);
/* Hands the job to the ZooKeeper thread (run there, done on the loop);
 * returns how many topics it carries (0: nothing submitted). */
int ta_job_submit(admin_job_t *j, zkw_fn run, loop_fn done, topic_result_t *results, int n);
/* ZooKeeper thread: write_one(j, i, ...) for each topic (false: it set
 * the topic's result), then the written topics are read back into
 * j->loaded and, on the controller, their replicas are told. */
void ta_write_each(admin_job_t *j, bool (*write_one)(admin_job_t *j, int i, zk_session_t *zs,
                                                 topic_result_t *res));
/* Puts the topics the job read back from ZooKeeper into the cache, then
 * calls applied(j) on the loop. */
void ta_apply_loaded(admin_job_t *j, loop_fn applied);
/* Answers once ready(j) holds, or after within_ms (timed_out(j) first). */
void ta_answer_when(admin_job_t *j, bool (*ready)(const admin_job_t *j), int64_t within_ms,
                    void (*timed_out)(admin_job_t *j));
/* Every partition of the job's topics has a leader in the cache, and those
 * led here have taken up leadership. */
bool ta_leaders_ready(const admin_job_t *j);
/* The live brokers' ids, sorted ascending (malloc()ed). */
int32_t *ta_sorted_broker_ids(int *n);
/* UNKNOWN_SERVER_ERROR (no message, as Kafka; logged) when only some live
 * brokers have a rack (Kafka will not place replicas then), else 0. */
int16_t ta_check_racks(const char **msg);
/* Partitions [from, t->n_partitions) of t placed as Kafka places them
 * (start_index < 0: Kafka's random start). */
void ta_plan_partitions(mc_topic_t *t, int32_t from, int16_t rf, int start_index);

#endif
