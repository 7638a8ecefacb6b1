/*
 * controller_reassign.c - owns partition reassignment in the active
 * controller (Kafka's KafkaController.onPartitionReassignment, ZooKeeper
 * mode): AlterPartitionReassignments and ListPartitionReassignments, the
 * legacy /admin/reassign_partitions znode, completion once the target
 * replicas are all in the ISR, and resumption after a controller failover
 * from the assignment znodes' adding_replicas/removing_replicas.
 *
 * The steps are Kafka's.  RS is the partition's replica set, ORS the
 * original one, TRS the target; AR = TRS - ORS and RR = ORS - TRS.
 *   U: the assignment znode gets RS = TRS + ORS (target first) with AR and
 *      RR, before memory, so a new controller can resume; replicas a
 *      superseded reassignment was adding and this one does not want stop.
 *   A (TRS not all in the ISR): the leader epoch is bumped and LeaderAndIsr
 *      goes to every replica of RS, which starts the new followers.
 *   B (TRS all in the ISR): one state write moves the leader into TRS if
 *      it is not there (first live ISR member of TRS) and drops RR from the
 *      ISR, bumping the epoch; LeaderAndIsr with RS = TRS goes to TRS,
 *      StopReplica with delete to RR, the assignment znode gets RS = TRS,
 *      the partition leaves /admin/reassign_partitions, and every broker
 *      gets UpdateMetadata.  (Kafka writes the leader move and the ISR
 *      shrink as two epochs; one write is the same end state.)
 *
 * Threads: the ZooKeeper thread only (the controller's context is its).
 * Partial: a topic with a reassignment in progress can still be deleted
 * (Kafka defers the deletion until the reassignment ends).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "controller.h"
#include "controller_internal.h"
#include "controller_state.h"
#include "kafka_errors.h"
#include "logging.h"
#include "util.h"
#include "zk_layout.h"
#include "zk_session.h"

#define REASSIGN_PATH "/admin/reassign_partitions"
#define COMP "controller"

/* ---- replica lists ---- */

typedef struct ids {
    int32_t *v;
    int n;
} ids_t;

static void ids_push(ids_t *s, int32_t id)
{
    s->v = xrealloc(s->v, sizeof(int32_t) * (size_t)(s->n + 1));
    s->v[s->n++] = id;
}

/* a - b, in a's order. */
static ids_t ids_minus(const int32_t *a, int na, const int32_t *b, int nb)
{
    ids_t out = { xcalloc(1, sizeof(int32_t)), 0 };
    for (int i = 0; i < na; i++)
        if (!mc_ids_have(b, nb, a[i]))
            ids_push(&out, a[i]);
    return out;
}

static bool ids_equal(const int32_t *a, int na, const int32_t *b, int nb)
{
    return na == nb && (na == 0 || !memcmp(a, b, sizeof(int32_t) * (size_t)na));
}

static bool is_reassigning(const mc_partition_t *mp)
{
    return mp->n_adding > 0 || mp->n_removing > 0;
}

/* ORS: the replicas not being added. */
static ids_t origin_of(const mc_partition_t *mp)
{
    return ids_minus(mp->replicas, mp->n_replicas, mp->adding, mp->n_adding);
}

/* TRS: the replicas not being removed. */
static ids_t target_of(const mc_partition_t *mp)
{
    return ids_minus(mp->replicas, mp->n_replicas, mp->removing, mp->n_removing);
}

static void set_ids(int32_t **v, int *n, const int32_t *src, int ns)
{
    free(*v);
    *v = mc_ids_copy(src, ns);
    *n = ns;
}

/* ---- ZooKeeper writes ---- */

/* The topic's assignment znode from the context, fenced by the controller
 * epoch (Kafka's setTopicAssignmentRaw). */
static int write_assignment(const mc_topic_t *t)
{
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof(path), "/brokers/topics/%s", t->name);
    char *data = zkl_topic_assignment(t);
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    struct Stat st;
    zoo_check_op_init(&ops[0], "/controller_epoch", controller_epoch_zkversion());
    zoo_set_op_init(&ops[1], path, data, (int)strlen(data), -1, &st);
    zk_multi_t m = { ops, res, 2, 0 };
    zk_multi_many(controller_session(), &m, 1);
    if (m.rc != ZOK)
        log_error(COMP, "Cannot write the assignment of %s: %s", t->name, zerror(m.rc));
    free(data);
    return m.rc == ZOK ? 0 : -1;
}

/* One state write for t-p; 0 once it is the context's. */
static int write_state(mc_topic_t *t, int32_t p, int32_t leader, int32_t *isr, int n_isr)
{
    changes_t c = { 0 };
    cs_change_add(&c, t, p, leader, t->parts[p].leader_epoch + 1, isr, n_isr);
    cs_write_changes(&c, NULL);
    int rc = c.v[0].rc == ZOK ? 0 : -1;
    cs_changes_free(&c);
    return rc;
}

static void tell_replicas(mc_topic_t *t, int32_t p)
{
    prefs_t one = { 0 };
    prefs_add(&one, t, p);
    cs_send_leader_and_isr(&one);
    cs_send_update_metadata(&one);
    prefs_free(&one);
}

/* Replicas leaving t-p: out of the ISR (a new epoch, the rest told), then
 * StopReplica with delete to those alive (Kafka's OfflineReplica then
 * NonExistentReplica). */
static void stop_replicas(mc_topic_t *t, int32_t p, const ids_t *gone)
{
    if (gone->n == 0)
        return;
    mc_partition_t *mp = &t->parts[p];
    ids_t isr = ids_minus(mp->isr, mp->n_isr, gone->v, gone->n);
    if (isr.n != mp->n_isr && isr.n > 0) {
        int32_t leader = mc_ids_have(gone->v, gone->n, mp->leader) ? -1 : mp->leader;
        if (write_state(t, p, leader, isr.v, isr.n) == 0)
            tell_replicas(t, p);
    } else {
        free(isr.v);
    }
    prefs_t one = { 0 };
    prefs_add(&one, t, p);
    for (int i = 0; i < gone->n; i++)
        cs_send_stop_replica(gone->v[i], &one, false, NULL, NULL);
    prefs_free(&one);
}

/* ---- /admin/reassign_partitions ---- */

/* Drops the znode's entries for which drop() holds; the znode goes when
 * none is left (Kafka's maybeRemoveFromZkReassignment). */
static void zk_reassignment_remove(bool (*drop)(const char *topic, int32_t p, json_t *replicas,
                                                void *arg), void *arg)
{
    zk_session_t *zs = controller_session();
    int rc;
    struct Stat st;
    char *s = zk_get_string(zs, REASSIGN_PATH, false, &st, &rc);
    if (!s)
        return;
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    json_t *parts = json_object_get(j, "partitions");
    json_t *kept = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(parts, i, e) {
        const char *topic = json_string_value(json_object_get(e, "topic"));
        int32_t p = (int32_t)json_integer_value(json_object_get(e, "partition"));
        if (!topic || !drop(topic, p, json_object_get(e, "replicas"), arg))
            json_array_append(kept, e);
    }
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    char *data = NULL;
    zoo_check_op_init(&ops[0], "/controller_epoch", controller_epoch_zkversion());
    if (json_array_size(kept) == 0) {
        log_info(COMP, "No more partitions need to be reassigned. Deleting zk path %s",
                 REASSIGN_PATH);
        zoo_delete_op_init(&ops[1], REASSIGN_PATH, -1);
    } else if (json_array_size(kept) != json_array_size(parts)) {
        json_t *doc = json_pack("{s:i,s:O}", "version", 1, "partitions", kept);
        data = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        zoo_set_op_init(&ops[1], REASSIGN_PATH, data, data ? (int)strlen(data) : 0, -1, NULL);
    } else {
        goto out;
    }
    zk_multi_t m = { ops, res, 2, 0 };
    zk_multi_many(zs, &m, 1);
    if (m.rc != ZOK && m.rc != ZNONODE)
        log_error(COMP, "Cannot update %s: %s", REASSIGN_PATH, zerror(m.rc));
out:
    free(data);
    json_decref(kept);
    json_decref(j);
}

typedef struct done_match {
    const char *topic;
    int32_t p;
    const int32_t *replicas;
    int n;
} done_match_t;

static bool matches_done(const char *topic, int32_t p, json_t *replicas, void *arg)
{
    const done_match_t *d = arg;
    if (strcmp(topic, d->topic) || p != d->p || (int)json_array_size(replicas) != d->n)
        return false;
    for (int i = 0; i < d->n; i++)
        if (json_integer_value(json_array_get(replicas, (size_t)i)) != d->replicas[i])
            return false;
    return true;
}

/* ---- the reassignment of one partition ---- */

/* Phase B: TRS is in sync. */
static void complete(mc_topic_t *t, int32_t p)
{
    mc_partition_t *mp = &t->parts[p];
    ids_t target = target_of(mp);
    ids_t removing = { mc_ids_copy(mp->removing, mp->n_removing), mp->n_removing };
    int32_t leader = mp->leader;
    if (!mc_ids_have(target.v, target.n, leader) || !cs_eligible(leader)) {
        leader = -1;
        for (int i = 0; i < target.n && leader < 0; i++)
            if (cs_eligible(target.v[i]) && mc_ids_have(mp->isr, mp->n_isr, target.v[i]))
                leader = target.v[i];
        if (leader < 0) {
            log_error(COMP, "No live in-sync replica of %s-%d among the target replicas to lead "
                      "it; the reassignment waits", t->name, p);
            goto out;
        }
    }
    ids_t isr = ids_minus(mp->isr, mp->n_isr, removing.v, removing.n);
    if (write_state(t, p, leader, isr.v, isr.n) < 0)
        goto out;
    log_info(COMP, "Reassignment of %s-%d complete: replicas %d -> %d, leader %d (epoch %d)",
             t->name, p, mp->n_replicas, target.n, leader, mp->leader_epoch);
    set_ids(&mp->replicas, &mp->n_replicas, target.v, target.n);
    set_ids(&mp->adding, &mp->n_adding, NULL, 0);
    set_ids(&mp->removing, &mp->n_removing, NULL, 0);
    prefs_t one = { 0 };
    prefs_add(&one, t, p);
    cs_send_leader_and_isr(&one);
    for (int i = 0; i < removing.n; i++)
        cs_send_stop_replica(removing.v[i], &one, false, NULL, NULL);
    if (write_assignment(t) == 0) {
        done_match_t d = { t->name, p, mp->replicas, mp->n_replicas };
        zk_reassignment_remove(matches_done, &d);
    }
    cs_send_update_metadata(&one);
    prefs_free(&one);
out:
    free(target.v);
    free(removing.v);
}

static bool target_in_sync(const mc_partition_t *mp)
{
    ids_t target = target_of(mp);
    bool all = true;
    for (int i = 0; i < target.n; i++)
        all &= mc_ids_have(mp->isr, mp->n_isr, target.v[i]);
    free(target.v);
    return all;
}

/* Kafka's onPartitionReassignment for t-p towards target; an error code. */
static int16_t reassign(mc_topic_t *t, int32_t p, const int32_t *target, int n_target)
{
    mc_partition_t *mp = &t->parts[p];
    ids_t origin = origin_of(mp);
    ids_t full = { xcalloc(1, sizeof(int32_t)), 0 };
    for (int i = 0; i < n_target; i++)
        if (!mc_ids_have(full.v, full.n, target[i]))
            ids_push(&full, target[i]);
    for (int i = 0; i < origin.n; i++)
        if (!mc_ids_have(full.v, full.n, origin.v[i]))
            ids_push(&full, origin.v[i]);
    ids_t adding = ids_minus(full.v, full.n, origin.v, origin.n);
    ids_t removing = ids_minus(full.v, full.n, target, n_target);
    int16_t err = KERR_NONE;
    if (!ids_equal(full.v, full.n, mp->replicas, mp->n_replicas) ||
        !ids_equal(adding.v, adding.n, mp->adding, mp->n_adding) ||
        !ids_equal(removing.v, removing.n, mp->removing, mp->n_removing)) {
        /* U: ZooKeeper first, then memory; a failed write leaves both. */
        mc_partition_t before = *mp;
        mp->replicas = full.v;
        mp->n_replicas = full.n;
        mp->adding = adding.v;
        mp->n_adding = adding.n;
        mp->removing = removing.v;
        mp->n_removing = removing.n;
        if (write_assignment(t) < 0) {
            *mp = before;
            free(full.v);
            free(adding.v);
            free(removing.v);
            free(origin.v);
            return KERR_UNKNOWN_SERVER_ERROR;
        }
        log_info(COMP, "Updated assignment of %s-%d: %d replicas, %d adding, %d removing",
                 t->name, p, full.n, adding.n, removing.n);
        ids_t unneeded = ids_minus(before.replicas, before.n_replicas, mp->replicas,
                                   mp->n_replicas);
        free(before.replicas);
        free(before.adding);
        free(before.removing);
        stop_replicas(t, p, &unneeded);
        free(unneeded.v);
    } else {
        free(full.v);
        free(adding.v);
        free(removing.v);
    }
    free(origin.v);
    if (!is_reassigning(mp) || target_in_sync(mp)) {
        complete(t, p);
    } else {
        /* A: a new epoch tells RS, which starts the new replicas. */
        int n_isr = mp->n_isr;
        int32_t *isr = mc_ids_copy(mp->isr, n_isr);
        if (write_state(t, p, mp->leader, isr, n_isr) == 0)
            tell_replicas(t, p);
        else
            err = KERR_UNKNOWN_SERVER_ERROR;
    }
    return err;
}

static mc_topic_t *find_topic(const char *name)
{
    mc_topic_t *all = cs_topics(), *t;
    HASH_FIND_STR(all, name, t);
    return t;
}

void cs_reassign_check(mc_topic_t *t, int32_t p)
{
    mc_partition_t *mp = &t->parts[p];
    if (is_reassigning(mp) && target_in_sync(mp)) {
        log_info(COMP, "Target replicas of %s-%d have all caught up with the leader", t->name, p);
        complete(t, p);
    }
}

void cs_resume_reassignments(void)
{
    cs_zk_reassignments();
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, cs_topics(), t, tmp)
        for (int p = 0; p < t->n_partitions; p++) {
            mc_partition_t *mp = &t->parts[p];
            if (!is_reassigning(mp) || mp->zk_version < 0)
                continue;
            ids_t target = target_of(mp);
            log_info(COMP, "Resuming the reassignment of %s-%d", t->name, p);
            reassign(t, p, target.v, target.n);
            free(target.v);
        }
}

/* ---- the legacy znode ---- */

static bool same_target(const char *topic, int32_t p, json_t *replicas, void *arg)
{
    (void)replicas;
    (void)arg;
    mc_topic_t *t = find_topic(topic);
    return !t || t->deleting || p < 0 || p >= t->n_partitions;   /* drops what failed */
}

void cs_zk_reassignments(void)
{
    zk_session_t *zs = controller_session();
    struct Stat st;
    if (zk_exists_watch(zs, REASSIGN_PATH, &st) != ZOK)
        return;
    int rc;
    char *s = zk_get_string(zs, REASSIGN_PATH, false, NULL, &rc);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    size_t i;
    json_t *e;
    int failed = 0;
    json_array_foreach(json_object_get(j, "partitions"), i, e) {
        const char *topic = json_string_value(json_object_get(e, "topic"));
        int32_t p = (int32_t)json_integer_value(json_object_get(e, "partition"));
        json_t *rj = json_object_get(e, "replicas");
        mc_topic_t *t = topic ? find_topic(topic) : NULL;
        if (!t || t->deleting || p < 0 || p >= t->n_partitions || !json_is_array(rj) ||
            json_array_size(rj) == 0 || t->parts[p].n_replicas == 0) {
            failed++;
            continue;
        }
        int n = (int)json_array_size(rj);
        int32_t *target = xcalloc((size_t)n, sizeof(int32_t));
        for (int k = 0; k < n; k++)
            target[k] = (int32_t)json_integer_value(json_array_get(rj, (size_t)k));
        ids_t cur = target_of(&t->parts[p]);
        /* The znode is rewritten as entries finish: an entry already under
         * way is not started again. */
        if (!is_reassigning(&t->parts[p]) || !ids_equal(cur.v, cur.n, target, n))
            reassign(t, p, target, n);
        free(cur.v);
        free(target);
    }
    json_decref(j);
    if (failed) {
        log_warn(COMP, "Failed reassignment through zk of %d partition(s): the partition does not "
                 "exist", failed);
        zk_reassignment_remove(same_target, NULL);
    }
}

/* ---- AlterPartitionReassignments / ListPartitionReassignments ---- */

static char *id_list(const char *prefix, const int32_t *v, int n)
{
    size_t cap = strlen(prefix) + 16 * (size_t)n + 4, len = 0;
    char *s = xmalloc(cap);
    len += (size_t)snprintf(s, cap, "%s(", prefix);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? ", " : "", v[i]);
    snprintf(s + len, cap - len, ")");
    return s;
}

/* Kafka's validateReplicas; NULL or the message (in arena a). */
static const char *invalid_replicas(arena_t *a, mc_topic_t *t, int32_t p, const int32_t *r, int n)
{
    char *list = id_list("ArrayBuffer", r, n), *msg = NULL;
    bool dup = false, negative = false;
    for (int i = 0; i < n; i++) {
        dup |= mc_ids_have(r, i, r[i]);
        negative |= r[i] < 0;
    }
    if (n == 0) {
        msg = xstrdup("Empty replica list specified in partition reassignment.");
    } else if (dup) {
        if (asprintf(&msg, "Duplicate replica ids in partition reassignment replica list: %s",
                     list) < 0)
            msg = NULL;
    } else if (negative) {
        if (asprintf(&msg, "Invalid broker id in replica list: %s", list) < 0)
            msg = NULL;
    } else {
        const mc_partition_t *mp = t && p >= 0 && p < t->n_partitions ? &t->parts[p] : NULL;
        ids_t origin = mp ? origin_of(mp) : (ids_t){ NULL, 0 };
        ids_t adding = ids_minus(r, n, origin.v, origin.n);
        bool alive = true;
        for (int i = 0; i < adding.n; i++)
            alive &= cs_live_broker(adding.v[i]) != NULL;
        if (!alive) {
            int nl;
            const mc_broker_t *live = cs_live_brokers(&nl);
            int32_t *ids = xcalloc((size_t)nl + 1, sizeof(int32_t));
            for (int i = 0; i < nl; i++)
                ids[i] = live[i].id;
            char *al = id_list("ArrayBuffer", adding.v, adding.n), *ll = id_list("Set", ids, nl);
            if (asprintf(&msg, "Replica assignment has brokers that are not alive. Replica list: "
                         "%s, live broker list: %s", al, ll) < 0)
                msg = NULL;
            free(al);
            free(ll);
            free(ids);
        }
        free(origin.v);
        free(adding.v);
    }
    free(list);
    if (!msg)
        return NULL;
    char *out = arena_alloc(a, strlen(msg) + 1);
    strcpy(out, msg);
    free(msg);
    return out;
}

static bool named_in_request(const char *topic, int32_t p, json_t *replicas, void *arg)
{
    (void)replicas;
    const struct alter_partition_reassignments_request *rq = arg;
    for (int i = 0; i < rq->topics_count; i++) {
        const struct alter_partition_reassignments_request_reassignable_topic *rt = &rq->topics[i];
        if (rt->name.len != (int)strlen(topic) || memcmp(rt->name.ptr, topic, strlen(topic)))
            continue;
        for (int k = 0; k < rt->partitions_count; k++)
            if (rt->partitions[k].partition_index == p)
                return true;
    }
    return false;
}

/* One partition of an AlterPartitionReassignments request. */
static void alter_one(arena_t *a, const char *name,
                      const struct alter_partition_reassignments_request_reassignable_partition *in,
                      struct alter_partition_reassignments_response_reassignable_partition_response *out)
{
    mc_topic_t *t = find_topic(name);
    int32_t p = in->partition_index;
    bool known = t && p >= 0 && p < t->n_partitions && t->parts[p].n_replicas > 0;
    out->partition_index = p;
    const char *bad = in->replicas_count >= 0
        ? invalid_replicas(a, t, p, in->replicas, in->replicas_count) : NULL;
    if (bad) {
        out->error_code = KERR_INVALID_REPLICA_ASSIGNMENT;
        out->error_message = kstr_from_cstr(bad);
    } else if (in->replicas_count < 0 && !(known && is_reassigning(&t->parts[p]))) {
        out->error_code = KERR_NO_REASSIGNMENT_IN_PROGRESS;
        out->error_message = kstr_from_cstr("No partition reassignment is in progress.");
    } else if (!known || t->deleting) {
        out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = kstr_from_cstr("The partition does not exist.");
    } else if (in->replicas_count < 0) {
        ids_t origin = origin_of(&t->parts[p]);
        log_info(COMP, "Cancelling the reassignment of %s-%d", name, p);
        out->error_code = reassign(t, p, origin.v, origin.n);
        free(origin.v);
    } else {
        out->error_code = reassign(t, p, in->replicas, in->replicas_count);
    }
}

void cs_alter_reassignments(arena_t *a, const struct alter_partition_reassignments_request *rq,
                            struct alter_partition_reassignments_response *resp)
{
    alter_partition_reassignments_response_defaults(resp);
    if (!cs_is_active()) {
        resp->error_code = KERR_NOT_CONTROLLER;
        resp->error_message = kstr_from_cstr("This is not the correct controller for this cluster.");
        return;
    }
    /* The latest reassignment wins over one the znode started. */
    zk_reassignment_remove(named_in_request, (void *)rq);
    int nt = MAX(rq->topics_count, 0);
    resp->responses_count = nt;
    resp->responses = alter_partition_reassignments_response_reassignable_topic_response_array(a, nt);
    for (int i = 0; i < nt; i++) {
        const struct alter_partition_reassignments_request_reassignable_topic *rt = &rq->topics[i];
        const char *name = kstr_dup_or_empty(a, rt->name);
        int np = MAX(rt->partitions_count, 0);
        resp->responses[i].name = rt->name;
        resp->responses[i].partitions_count = np;
        resp->responses[i].partitions =
            alter_partition_reassignments_response_reassignable_partition_response_array(a, np);
        for (int k = 0; k < np; k++)
            alter_one(a, name, &rt->partitions[k], &resp->responses[i].partitions[k]);
    }
}

static void list_one(arena_t *a, struct list_partition_reassignments_response *resp,
                     const mc_topic_t *t, int32_t p)
{
    const mc_partition_t *mp = &t->parts[p];
    struct list_partition_reassignments_response_ongoing_topic_reassignment *ot = NULL;
    for (int i = 0; i < resp->topics_count && !ot; i++)
        if (resp->topics[i].name.len == (int)strlen(t->name) &&
            !memcmp(resp->topics[i].name.ptr, t->name, strlen(t->name)))
            ot = &resp->topics[i];
    if (!ot) {
        ot = &resp->topics[resp->topics_count++];
        ot->name = kstr_from_cstr(t->name);     /* encoded before the context changes */
        ot->partitions = list_partition_reassignments_response_ongoing_partition_reassignment_array(
            a, t->n_partitions);
    }
    for (int i = 0; i < ot->partitions_count; i++)
        if (ot->partitions[i].partition_index == p)
            return;                             /* named twice */
    struct list_partition_reassignments_response_ongoing_partition_reassignment *op =
        &ot->partitions[ot->partitions_count++];
    op->partition_index = p;
    op->replicas = arena_array(a, (size_t)mp->n_replicas + 1, sizeof(int32_t));
    memcpy(op->replicas, mp->replicas, sizeof(int32_t) * (size_t)mp->n_replicas);
    op->replicas_count = mp->n_replicas;
    op->adding_replicas = arena_array(a, (size_t)mp->n_adding + 1, sizeof(int32_t));
    memcpy(op->adding_replicas, mp->adding, sizeof(int32_t) * (size_t)mp->n_adding);
    op->adding_replicas_count = mp->n_adding;
    op->removing_replicas = arena_array(a, (size_t)mp->n_removing + 1, sizeof(int32_t));
    memcpy(op->removing_replicas, mp->removing, sizeof(int32_t) * (size_t)mp->n_removing);
    op->removing_replicas_count = mp->n_removing;
}

void cs_list_reassignments(arena_t *a, const struct list_partition_reassignments_request *rq,
                           struct list_partition_reassignments_response *resp)
{
    list_partition_reassignments_response_defaults(resp);
    if (!cs_is_active()) {
        resp->error_code = KERR_NOT_CONTROLLER;
        resp->error_message = kstr_from_cstr("This is not the correct controller for this cluster.");
        return;
    }
    int cap = 0;
    mc_topic_t *t, *tmp;
    if (rq->topics_count < 0) {
        HASH_ITER(hh, cs_topics(), t, tmp)
            cap++;
    } else {
        cap = rq->topics_count;
    }
    resp->topics = list_partition_reassignments_response_ongoing_topic_reassignment_array(a, cap);
    resp->topics_count = 0;
    if (rq->topics_count < 0) {
        HASH_ITER(hh, cs_topics(), t, tmp)
            for (int p = 0; p < t->n_partitions; p++)
                if (is_reassigning(&t->parts[p]))
                    list_one(a, resp, t, p);
        return;
    }
    for (int i = 0; i < rq->topics_count; i++) {
        t = find_topic(kstr_dup_or_empty(a, rq->topics[i].name));
        for (int k = 0; t && k < rq->topics[i].partition_indexes_count; k++) {
            int32_t p = rq->topics[i].partition_indexes[k];
            if (p >= 0 && p < t->n_partitions && is_reassigning(&t->parts[p]))
                list_one(a, resp, t, p);
        }
    }
}
