/*
 * topic_deletion.c - owns the active controller's topic-deletion queue
 * (see topic_deletion.h): for each queued topic, its replicas' brokers and
 * whether each has deleted its replicas (Kafka's ReplicaDeletionStarted,
 * ReplicaDeletionSuccessful and ReplicaDeletionIneligible), and the final
 * removal of the topic's znodes.
 *
 * Threads: the ZooKeeper thread; stop_answered() runs on a controller
 * channel's thread and only hands the answer over.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <zookeeper/zookeeper.h>

#include "controller.h"
#include "controller_internal.h"
#include "controller_state.h"
#include "logging.h"
#include "topic_deletion.h"
#include "util.h"
#include "zk_layout.h"
#include "zk_session.h"
#include "zk_worker.h"

#define COMP "controller"
#define LEADER_DURING_DELETE (-2)

typedef enum { TD_STARTED, TD_SUCCESSFUL, TD_INELIGIBLE } td_state_t;

typedef struct td_topic {
    char *name;
    int n;                          /* brokers holding a replica */
    int32_t *brokers;
    td_state_t *state;
    uint32_t *sent;                 /* StopReplicas sent to each: only the last one's answer counts */
    UT_hash_handle hh;
} td_topic_t;

/* ZooKeeper thread only. */
static struct {
    td_topic_t *topics;
    uint64_t generation;            /* bumped by td_reset: older answers are dropped */
} td;

/* A StopReplica answer on its way to the ZooKeeper thread. */
typedef struct answer {
    char *topic;
    int32_t broker;
    bool ok;
    uint64_t generation;
    uint32_t sent;
} answer_t;

static void topic_free(td_topic_t *q)
{
    free(q->name);
    free(q->brokers);
    free(q->state);
    free(q->sent);
    free(q);
}

static void answer_run(void *arg);

/*
 * @locality a controller channel's thread (or the ZooKeeper thread when
 *           there was no channel)
 * @locks none: the answer goes to the ZooKeeper thread
 */
static void stop_answered(void *ctx, int32_t dest, bool ok)
{
    answer_t *a = ctx;
    a->broker = dest;
    a->ok = ok;
    if (zkw_submit(answer_run, NULL, a) < 0) {
        free(a->topic);
        free(a);
    }
}

/* StopReplica with delete for every replica of q on broker i's broker. */
static void send_stop(td_topic_t *q, int i)
{
    mc_topic_t *t = cs_find_topic(q->name);
    const mc_broker_t *mb = cs_live_broker(q->brokers[i]);
    if (!t || !mb) {
        q->state[i] = TD_INELIGIBLE;
        log_info(COMP, "Deletion of topic %s waits for broker %d, which holds a replica and is "
                 "not live", q->name, q->brokers[i]);
        return;
    }
    prefs_t mine = { 0 };
    for (int p = 0; p < t->n_partitions; p++)
        if (mc_ids_have(t->parts[p].replicas, t->parts[p].n_replicas, mb->id))
            prefs_add(&mine, t, p);
    q->state[i] = TD_STARTED;
    answer_t *a = xcalloc(1, sizeof(*a));
    a->topic = xstrdup(q->name);
    a->generation = td.generation;
    a->sent = ++q->sent[i];
    cs_send_stop_replica(mb->id, &mine, true, stop_answered, a);
    prefs_free(&mine);
}

/* Every replica deleted: the topic's znodes go and the context forgets it. */
static void complete(td_topic_t *q)
{
    zk_session_t *zs = controller_session();
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/brokers/topics/%s", q->name);
    int rc = zk_delete_recursive(zs, path);
    if (rc == ZOK) {
        snprintf(path, sizeof(path), "/config/topics/%s", q->name);
        rc = zk_delete_recursive(zs, path);
    }
    if (rc == ZOK) {
        snprintf(path, sizeof(path), "/admin/delete_topics/%s", q->name);
        rc = zoo_delete(zk_handle(zs), path, -1);
        rc = rc == ZNONODE ? ZOK : rc;
    }
    if (rc != ZOK) {
        /* Left queued: the next deletion event or broker change retries. */
        log_error(COMP, "Deletion of topic %s could not remove %s: %s", q->name, path, zerror(rc));
        return;
    }
    log_info(COMP, "Deletion of topic %s successfully completed", q->name);
    controller_forget_topic(q->name);
    cs_forget_topic(q->name);
    metadata_update_t *u = metadata_update_new();
    metadata_update_add_removed(u, q->name);
    controller_publish(u);
    HASH_DEL(td.topics, q);
    topic_free(q);
}

static void maybe_complete(td_topic_t *q)
{
    for (int i = 0; i < q->n; i++)
        if (q->state[i] != TD_SUCCESSFUL)
            return;
    complete(q);
}

/*
 * @locality the ZooKeeper thread
 * @locks none (td is the ZooKeeper thread's)
 */
static void answer_run(void *arg)
{
    answer_t *a = arg;
    td_topic_t *q = NULL;
    if (a->generation == td.generation && cs_is_active())
        HASH_FIND_STR(td.topics, a->topic, q);
    for (int i = 0; q && i < q->n; i++) {
        if (q->brokers[i] != a->broker || q->state[i] != TD_STARTED || q->sent[i] != a->sent)
            continue;
        q->state[i] = a->ok ? TD_SUCCESSFUL : TD_INELIGIBLE;
        if (!a->ok)
            log_warn(COMP, "Deletion of topic %s: broker %d did not delete its replicas; retried "
                     "when it comes back", a->topic, a->broker);
    }
    if (q)
        maybe_complete(q);
    free(a->topic);
    free(a);
}

/* The topic's partitions are led by LeaderDuringDelete from now on: every
 * UpdateMetadata says so, and brokers' caches drop them. */
static void mark_deleting(mc_topic_t *t)
{
    t->deleting = true;
    prefs_t all = { 0 };
    for (int p = 0; p < t->n_partitions; p++) {
        t->parts[p].leader = LEADER_DURING_DELETE;
        prefs_add(&all, t, p);
    }
    cs_send_update_metadata(&all);
    prefs_free(&all);
}

static td_topic_t *queue_topic(mc_topic_t *t)
{
    td_topic_t *q = xcalloc(1, sizeof(*q));
    q->name = xstrdup(t->name);
    for (int p = 0; p < t->n_partitions; p++)
        for (int r = 0; r < t->parts[p].n_replicas; r++) {
            int32_t id = t->parts[p].replicas[r];
            if (mc_ids_have(q->brokers, q->n, id))
                continue;
            q->brokers = xrealloc(q->brokers, sizeof(int32_t) * (size_t)(q->n + 1));
            q->brokers[q->n++] = id;
        }
    q->state = xcalloc((size_t)q->n + 1, sizeof(td_state_t));
    q->sent = xcalloc((size_t)q->n + 1, sizeof(uint32_t));
    HASH_ADD_KEYPTR(hh, td.topics, q->name, strlen(q->name), q);
    return q;
}

void td_enqueue(const char *topic)
{
    td_topic_t *q;
    HASH_FIND_STR(td.topics, topic, q);
    if (!q) {
        mc_topic_t *t = cs_find_topic(topic);
        if (!t)
            return;
        log_info(COMP, "Deletion of topic %s started", topic);
        mark_deleting(t);
        q = queue_topic(t);
        for (int i = 0; i < q->n; i++)
            send_stop(q, i);
    } else {
        for (int i = 0; i < q->n; i++)
            if (q->state[i] == TD_INELIGIBLE && cs_live_broker(q->brokers[i]))
                send_stop(q, i);
    }
    maybe_complete(q);
}

void td_on_brokers_added(const int32_t *ids, int n)
{
    td_topic_t *q, *tmp;
    HASH_ITER(hh, td.topics, q, tmp)
        for (int i = 0; i < q->n; i++)
            if (q->state[i] != TD_SUCCESSFUL && mc_ids_have(ids, n, q->brokers[i])) {
                log_info(COMP, "Resuming deletion of topic %s on broker %d", q->name, q->brokers[i]);
                send_stop(q, i);
            }
}

void td_reset(void)
{
    td_topic_t *q, *tmp;
    HASH_ITER(hh, td.topics, q, tmp) {
        HASH_DEL(td.topics, q);
        topic_free(q);
    }
    td.generation++;
}

int td_count(void)
{
    return (int)HASH_COUNT(td.topics);
}
