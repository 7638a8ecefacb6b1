/*
 * topic_partitions.c - owns adding partitions to a topic (CreatePartitions,
 * Kafka's ZkAdminManager.createPartitions): the checks and messages, the
 * new partitions' placement, the assignment znode rewritten on the
 * ZooKeeper thread, and the answer once every new partition has a leader
 * (DelayedCreatePartitions).  The controller creates the new partitions'
 * state znodes and tells their replicas, as for a new topic.
 * Event-loop thread, except grow_run on the ZooKeeper thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "controller_state.h"
#include "kafka_errors.h"
#include "logging.h"
#include "topic_admin.h"
#include "topic_admin_internal.h"
#include "util.h"
#include "zk_layout.h"
#include "zk_session.h"

/* ---- adding partitions (CreatePartitions) ---- */

static bool has_dup(const int32_t *v, int n)
{
    for (int a = 0; a < n; a++)
        for (int c = a + 1; c < n; c++)
            if (v[a] == v[c])
                return true;
    return false;
}

static void join_ids(char *out, size_t n, const int32_t *v, int k)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < k && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%d", i ? ", " : "", v[i]);
}

/* Kafka's checks of a manual assignment for new partitions
 * (ZkAdminManager.createPartitions, AdminZkClient.validateReplicaAssignment). */
static int16_t check_growth(const partitions_spec_t *s, int32_t old, int16_t rf, char *msg, size_t n)
{
    int32_t add = s->count - old;
    int32_t unknown[16];
    int n_unknown = 0;
    for (int32_t i = 0; i < s->n_assignments; i++)
        for (int32_t r = 0; r < s->n_replicas[i]; r++) {
            int32_t id = s->replicas[i][r];
            bool seen = false;
            for (int k = 0; k < n_unknown; k++)
                seen |= unknown[k] == id;
            if (!mc_find_broker(id) && !seen && n_unknown < 16)
                unknown[n_unknown++] = id;
        }
    if (n_unknown > 0) {
        char ids[128];
        join_ids(ids, sizeof(ids), unknown, n_unknown);
        snprintf(msg, n, "Unknown broker(s) in replica assignment: %s.", ids);
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
    if (s->n_assignments != add) {
        snprintf(msg, n, "Increasing the number of partitions by %d but %d assignments provided.",
                 add, s->n_assignments);
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
    int32_t bad_parts[16], bad_rf[16];
    int n_bad = 0;
    for (int32_t i = 0; i < add; i++) {
        char ids[128];
        if (s->n_replicas[i] == 0) {
            snprintf(msg, n, "Cannot have replication factor of 0 for partition id %d.", old + i);
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        if (has_dup(s->replicas[i], s->n_replicas[i])) {
            join_ids(ids, sizeof(ids), s->replicas[i], s->n_replicas[i]);
            snprintf(msg, n, "Duplicate brokers not allowed in replica assignment: %s for partition "
                     "id %d.", ids, old + i);
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        if (s->n_replicas[i] != rf && n_bad < 16) {
            bad_parts[n_bad] = old + i;
            bad_rf[n_bad++] = s->n_replicas[i];
        }
    }
    if (n_bad > 0) {
        char parts[96], rfs[64];
        join_ids(parts, sizeof(parts), bad_parts, n_bad);
        join_ids(rfs, sizeof(rfs), bad_rf, n_bad);
        snprintf(msg, n, "Inconsistent replication factor between partitions, partition 0 has %d "
                 "while partitions [%s] have replication factors [%s], respectively.", rf, parts, rfs);
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
    return KERR_NONE;
}

static void reassigning_message(char *msg, size_t n, const char *topic)
{
    snprintf(msg, n, "A partition reassignment is in progress for the topic '%s'.", topic);
}

/* Event-loop thread: Kafka's ZkAdminManager.createPartitions checks, then
 * the new partitions' replicas (given, or placed as Kafka places them from
 * the broker at or after partition 0's first replica). */
static int16_t plan_growth(const partitions_spec_t *s, mc_topic_t **plan, char *msg, size_t n)
{
    const mc_topic_t *t = mc_find_topic(s->name);
    if (!t || t->n_partitions == 0) {
        snprintf(msg, n, "The topic '%s' does not exist.", s->name);
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    for (int p = 0; p < t->n_partitions; p++)
        if (t->parts[p].n_adding > 0 || t->parts[p].n_removing > 0) {
            reassigning_message(msg, n, s->name);
            return KERR_REASSIGNMENT_IN_PROGRESS;
        }
    int32_t old = t->n_partitions, add = s->count - old;
    if (add < 0) {
        snprintf(msg, n, "Topic currently has %d partitions, which is higher than the requested %d.",
                 old, s->count);
        return KERR_INVALID_PARTITIONS;
    }
    if (add == 0) {
        snprintf(msg, n, "Topic already has %d partitions.", old);
        return KERR_INVALID_PARTITIONS;
    }
    int16_t err = topic_partition_count_invalid(s->count, msg, n);
    if (err)
        return err;
    int16_t rf = (int16_t)t->parts[0].n_replicas;
    if (s->replicas) {
        if ((err = check_growth(s, old, rf, msg, n)))
            return err;
        *plan = mc_topic_new(s->name, s->count);
        for (int32_t i = 0; i < add; i++) {
            (*plan)->parts[old + i].replicas = mc_ids_copy(s->replicas[i], s->n_replicas[i]);
            (*plan)->parts[old + i].n_replicas = s->n_replicas[i];
        }
        return KERR_NONE;
    }
    int nb;
    int32_t *ids = ta_sorted_broker_ids(&nb);
    int start = 0;
    while (start < nb && ids[start] < t->parts[0].replicas[0])
        start++;
    free(ids);
    if (rf > nb) {
        snprintf(msg, n, "Replication factor: %d larger than available brokers: %d.", rf, nb);
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    const char *racks_msg;
    if ((err = ta_check_racks(&racks_msg))) {
        msg[0] = '\0';
        return err;
    }
    *plan = mc_topic_new(s->name, s->count);
    ta_plan_partitions(*plan, old, rf, start < nb ? start : 0);
    return KERR_NONE;
}

/* The assignment znode, re-read so its topic id and the existing
 * partitions are ZooKeeper's, written back with a version check.
 * @locality the ZooKeeper thread
 * @locks none (the job owns its plans)
 */
static bool grow_one(admin_job_t *j, int i, zk_session_t *zs, topic_result_t *res)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/brokers/topics/%s", j->names[i]);
    zk_read_t rd = { .path = path };
    zk_get_many(zs, &rd, 1, false);
    mc_topic_t *now = rd.rc == ZOK ? zkl_parse_topic(j->names[i], rd.data) : NULL;
    int version = rd.st.version;
    zk_reads_free(&rd, 1);
    mc_topic_t *plan = j->planned[i];
    if (!now || now->n_partitions != j->old_counts[i]) {
        ta_set_result(res, KERR_INVALID_PARTITIONS, "The topic's partitions changed meanwhile.");
        mc_topic_free(now);
        return false;
    }
    plan->id = now->id;
    for (int p = 0; p < now->n_partitions; p++) {
        plan->parts[p].replicas = mc_ids_copy(now->parts[p].replicas, now->parts[p].n_replicas);
        plan->parts[p].n_replicas = now->parts[p].n_replicas;
    }
    mc_topic_free(now);
    char *json = zkl_topic_assignment(plan);
    int rc = zoo_set(zk_handle(zs), path, json, (int)strlen(json), version);
    free(json);
    if (rc != ZOK) {
        log_error("controller", "Cannot write %s: %s", path, zerror(rc));
        ta_set_result(res, rc == ZBADVERSION ? KERR_INVALID_PARTITIONS : KERR_UNKNOWN_SERVER_ERROR,
                      "Cannot write the topic's new assignment to ZooKeeper");
        return false;
    }
    log_info("controller", "Creating %d partitions for '%s'", plan->n_partitions - j->old_counts[i],
             j->names[i]);
    return true;
}

/* @locality the ZooKeeper thread
 * @locks none (the job owns its plans) */
static void grow_run(void *arg)
{
    ta_write_each(arg, grow_one);
}

/* Kafka's DelayedCreatePartitions: the cache has every new partition, each
 * with a leader. */
static bool grown(const admin_job_t *j)
{
    for (int i = 0; i < j->n; i++) {
        const mc_topic_t *t = mc_find_topic(j->names[i]);
        if (j->results[j->index[i]].error == KERR_NONE &&
            (!t || t->n_partitions < j->planned[i]->n_partitions))
            return false;
    }
    return ta_leaders_ready(j);
}

static void growth_timed_out(admin_job_t *j)
{
    for (int i = 0; i < j->n; i++)
        if (j->results[j->index[i]].error == KERR_NONE)
            ta_set_result(&j->results[j->index[i]], KERR_REQUEST_TIMED_OUT, NULL);
}

static void grow_applied(void *arg)
{
    admin_job_t *j = arg;
    ta_answer_when(j, grown, MAX(j->timeout_ms, 0), growth_timed_out);
}

static void grow_done(void *arg)
{
    ta_apply_loaded(arg, grow_applied);
}

int topic_admin_add_partitions(broker_t *b, const partitions_spec_t *specs, int n,
                               bool validate_only, int32_t timeout_ms, mutation_quota_t *quota,
                               topic_result_t *results, topics_done_fn done, void *arg)
{
    admin_job_t *j = NULL;
    for (int i = 0; i < n; i++) {
        char msg[sizeof(results[i].message)] = "";
        mc_topic_t *plan = NULL;
        int16_t err = plan_growth(&specs[i], &plan, msg, sizeof(msg));
        if (!err && !validate_only &&
            !cq_mutation_record(quota, specs[i].count - mc_find_topic(specs[i].name)->n_partitions,
                                now_ms())) {
            err = KERR_THROTTLING_QUOTA_EXCEEDED;     /* no message, as Kafka's ApiError */
        }
        ta_set_result(&results[i], err, err && msg[0] ? msg : NULL);
        if (err || validate_only) {
            mc_topic_free(plan);
            continue;
        }
        if (!j) {
            j = ta_job_new(b, n, done, arg);
            j->old_counts = xcalloc((size_t)n + 1, sizeof(int32_t));
            j->timeout_ms = timeout_ms;
        }
        j->index[j->n] = i;
        j->names[j->n] = xstrdup(specs[i].name);
        j->planned[j->n] = plan;
        j->old_counts[j->n] = mc_find_topic(specs[i].name)->n_partitions;
        j->n++;
    }
    return ta_job_submit(j, grow_run, grow_done, results, n);
}

