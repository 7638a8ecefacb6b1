/*
 * controller_duties.c - owns what the active controller answers brokers
 * and operators (see controller_state.h): AlterPartition (a leader's ISR
 * change), ControlledShutdown (leadership moved off a stopping broker),
 * ElectLeaders (preferred or unclean election on request) and the periodic
 * preferred-leader rebalance (auto.leader.rebalance.enable), and the
 * broker-epoch check of such requests.
 *
 * Threads: the ZooKeeper thread only (the controller's context is its).
 */
#define _GNU_SOURCE
#include <inttypes.h>
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
#include "zk_session.h"

/* ---- AlterPartition (Kafka's KafkaController.processAlterPartition) ---- */

static mc_topic_t *topic_by_id(kuuid_t id)
{
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, cs_topics(), t, tmp)
        if (!memcmp(&t->id, &id, sizeof(id)))
            return t;
    return NULL;
}

/* The ISR a request proposes (v3 carries broker epochs too). */
static int32_t *proposed_isr(arena_t *a, const struct alter_partition_request_partition_data *pd,
                             int *n)
{
    if (pd->new_isr_with_epochs_count > 0) {
        int32_t *v = arena_array(a, (size_t)pd->new_isr_with_epochs_count, sizeof(int32_t));
        for (int i = 0; i < pd->new_isr_with_epochs_count; i++)
            v[i] = pd->new_isr_with_epochs[i].broker_id;
        *n = pd->new_isr_with_epochs_count;
        return v;
    }
    *n = MAX(pd->new_isr_count, 0);
    return pd->new_isr;
}

/* Checks one partition; 0 and a change queued, or the error. */
static int16_t check_alter(arena_t *a, changes_t *c, mc_topic_t *t, int32_t leader_id,
                           const struct alter_partition_request_partition_data *pd)
{
    if (!t || pd->partition_index < 0 || pd->partition_index >= t->n_partitions)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    mc_partition_t *mp = &t->parts[pd->partition_index];
    if (mp->leader != leader_id)
        return KERR_NOT_LEADER_OR_FOLLOWER;
    if (pd->leader_epoch < mp->leader_epoch)
        return KERR_FENCED_LEADER_EPOCH;
    int n;
    const int32_t *isr = proposed_isr(a, pd, &n);
    if (pd->leader_epoch == mp->leader_epoch && n == mp->n_isr &&
        !memcmp(isr, mp->isr, sizeof(int32_t) * (size_t)n))
        return KERR_NONE;   /* already so: answered with the current state */
    if (pd->partition_epoch < mp->zk_version)
        return KERR_INVALID_UPDATE_VERSION;
    if (pd->leader_epoch > mp->leader_epoch || pd->partition_epoch > mp->zk_version)
        return KERR_NOT_CONTROLLER;
    for (int i = 0; i < n; i++)
        if (!cs_eligible(isr[i]) || !mc_ids_have(mp->replicas, mp->n_replicas, isr[i]))
            return KERR_INELIGIBLE_REPLICA;
    cs_change_add(c, t, pd->partition_index, mp->leader, mp->leader_epoch,
               mc_ids_copy(isr, n), n);
    return KERR_NONE;
}

static void answer_partition(struct alter_partition_response_partition_data *out, int16_t err,
                             const mc_partition_t *mp)
{
    out->error_code = err;
    if (err)
        return;
    out->leader_id = mp->leader;
    out->leader_epoch = mp->leader_epoch;
    out->isr = mp->isr;
    out->isr_count = mp->n_isr;
    out->partition_epoch = mp->zk_version;
}

void cs_alter_partition(arena_t *a, int16_t version, const struct alter_partition_request *rq,
                        struct alter_partition_response *resp)
{
    alter_partition_response_defaults(resp);
    if (!cs_is_active()) {
        resp->error_code = KERR_NOT_CONTROLLER;
        return;
    }
    const mc_broker_t *leader = cs_live_broker(rq->broker_id);
    if (!leader || (rq->broker_epoch != -1 && rq->broker_epoch != leader->epoch)) {
        log_info("controller", "Ignoring AlterPartition from broker %d with stale broker epoch %" PRId64,
                 rq->broker_id, rq->broker_epoch);
        resp->error_code = KERR_STALE_BROKER_EPOCH;
        return;
    }
    int nt = MAX(rq->topics_count, 0);
    resp->topics_count = nt;
    resp->topics = alter_partition_response_topic_data_array(a, nt);
    changes_t c = { 0 };
    int16_t **errs = arena_array(a, (size_t)nt + 1, sizeof(int16_t *));
    mc_topic_t **tops = arena_array(a, (size_t)nt + 1, sizeof(mc_topic_t *));
    for (int i = 0; i < nt; i++) {
        const struct alter_partition_request_topic_data *td = &rq->topics[i];
        char name[256];
        snprintf(name, sizeof(name), "%.*s", MAX(td->topic_name.len, 0),
                 td->topic_name.ptr ? td->topic_name.ptr : "");
        mc_topic_t *t = NULL;
        if (version >= 2)
            t = topic_by_id(td->topic_id);
        else
            { mc_topic_t *all = cs_topics(); HASH_FIND_STR(all, name, t); }
        tops[i] = t;
        int np = MAX(td->partitions_count, 0);
        errs[i] = arena_array(a, (size_t)np + 1, sizeof(int16_t));
        for (int p = 0; p < np; p++)
            errs[i][p] = check_alter(a, &c, t, rq->broker_id, &td->partitions[p]);
    }
    prefs_t written = { 0 };
    cs_write_changes(&c, &written);
    for (int k = 0; k < c.n; k++)
        if (c.v[k].rc != ZOK)
            for (int i = 0; i < nt; i++)
                for (int p = 0; tops[i] == c.v[k].t && p < rq->topics[i].partitions_count; p++)
                    if (rq->topics[i].partitions[p].partition_index == c.v[k].p)
                        errs[i][p] = KERR_INVALID_UPDATE_VERSION;
    for (int i = 0; i < nt; i++) {
        const struct alter_partition_request_topic_data *td = &rq->topics[i];
        struct alter_partition_response_topic_data *out = &resp->topics[i];
        out->topic_name = td->topic_name;
        out->topic_id = td->topic_id;
        int np = MAX(td->partitions_count, 0);
        out->partitions_count = np;
        out->partitions = alter_partition_response_partition_data_array(a, np);
        for (int p = 0; p < np; p++) {
            out->partitions[p].partition_index = td->partitions[p].partition_index;
            answer_partition(&out->partitions[p], errs[i][p],
                             errs[i][p] ? NULL : &tops[i]->parts[td->partitions[p].partition_index]);
            if (!errs[i][p]) {
                /* The response points at the context's ISR: copy it out. */
                out->partitions[p].isr = arena_array(a, (size_t)out->partitions[p].isr_count + 1,
                                                     sizeof(int32_t));
                memcpy(out->partitions[p].isr, tops[i]->parts[td->partitions[p].partition_index].isr,
                       sizeof(int32_t) * (size_t)out->partitions[p].isr_count);
            }
        }
    }
    if (written.n > 0) {
        log_info("controller", "AlterPartition from broker %d: %d partition state(s) written",
                 rq->broker_id, written.n);
        cs_send_update_metadata(&written);
    }
    /* An ISR expansion may finish a reassignment (after the answer is
     * built: it is about the state the leader asked for). */
    for (int i = 0; i < written.n; i++)
        cs_reassign_check(written.v[i].t, written.v[i].p);
    prefs_free(&written);
    cs_changes_free(&c);
}

bool cs_broker_epoch_ok(int32_t broker_id, int64_t broker_epoch)
{
    const mc_broker_t *mb = cs_live_broker(broker_id);
    return mb && (broker_epoch == -1 || broker_epoch == mb->epoch);
}

/* ---- ControlledShutdown (Kafka's KafkaController.doControlledShutdown) ---- */

/* One partition with a replica on the departing broker: it leaves the ISR,
 * and if it led, the first eligible ISR replica in assignment order leads.
 * A partition no one else can lead keeps it (Kafka's remaining partitions). */
static void move_off(changes_t *c, mc_topic_t *t, int32_t p, int32_t gone)
{
    mc_partition_t *mp = &t->parts[p];
    if (mp->zk_version < 0 || mp->n_replicas <= 1 || !mc_ids_have(mp->replicas, mp->n_replicas, gone) ||
        !mc_ids_have(mp->isr, mp->n_isr, gone))
        return;
    int32_t *isr = xcalloc((size_t)mp->n_isr + 1, sizeof(int32_t));
    int n = 0;
    for (int i = 0; i < mp->n_isr; i++)
        if (cs_eligible(mp->isr[i]))
            isr[n++] = mp->isr[i];
    int32_t leader = mp->leader;
    if (leader == gone) {
        leader = -1;
        for (int r = 0; r < mp->n_replicas && leader < 0; r++)
            if (mc_ids_have(isr, n, mp->replicas[r]))
                leader = mp->replicas[r];
    }
    if (leader < 0 || n == 0) {
        free(isr);
        return;
    }
    cs_change_add(c, t, p, leader, mp->leader_epoch + 1, isr, n);
}

int16_t cs_controlled_shutdown(int32_t broker_id, int64_t broker_epoch, prefs_t *remaining)
{
    /* Kafka's ControllerMovedException: STALE_CONTROLLER_EPOCH. */
    if (!cs_is_active())
        return KERR_STALE_CONTROLLER_EPOCH;
    const mc_broker_t *mb = cs_live_broker(broker_id);
    if (!mb)
        return KERR_BROKER_NOT_AVAILABLE;
    if (broker_epoch != -1 && broker_epoch < mb->epoch)
        return KERR_STALE_BROKER_EPOCH;
    cs_mark_shutting(broker_id);
    changes_t c = { 0 };
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, cs_topics(), t, tmp)
        for (int p = 0; p < t->n_partitions; p++)
            move_off(&c, t, p, broker_id);
    prefs_t moved = { 0 };
    cs_write_changes(&c, &moved);
    cs_changes_free(&c);
    cs_send_leader_and_isr(&moved);
    cs_send_update_metadata(&moved);
    HASH_ITER(hh, cs_topics(), t, tmp)
        for (int p = 0; p < t->n_partitions; p++)
            if (t->parts[p].leader == broker_id)
                prefs_add(remaining, t, p);
    log_info("controller", "Controlled shutdown of broker %d: %d partition state(s) changed, %d "
             "partition(s) it still leads", broker_id, moved.n, remaining->n);
    prefs_free(&moved);
    return KERR_NONE;
}

/* ---- leader elections on request (Kafka's processReplicaLeaderElection) ---- */

#define ELECT_PREFERRED 0
#define ELECT_UNCLEAN 1

static int32_t *isr_copy(const mc_partition_t *mp, int *n)
{
    *n = mp->n_isr;
    return mc_ids_copy(mp->isr, mp->n_isr);
}

/* One partition: NONE with a change queued, or why not. */
static int16_t elect_one(changes_t *c, mc_topic_t *t, int32_t p, int8_t type)
{
    mc_partition_t *mp = &t->parts[p];
    if (mp->zk_version < 0 || mp->n_replicas == 0)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    int n;
    if (type == ELECT_PREFERRED) {
        int32_t pref = mp->replicas[0];
        if (mp->leader == pref)
            return KERR_ELECTION_NOT_NEEDED;
        if (!cs_eligible(pref) || !mc_ids_have(mp->isr, mp->n_isr, pref))
            return KERR_PREFERRED_LEADER_NOT_AVAILABLE;
        int32_t *isr = isr_copy(mp, &n);
        cs_change_add(c, t, p, pref, mp->leader_epoch + 1, isr, n);
        return KERR_NONE;
    }
    if (mp->leader >= 0 && cs_live_broker(mp->leader))
        return KERR_ELECTION_NOT_NEEDED;
    int32_t leader = -1;
    for (int r = 0; r < mp->n_replicas && leader < 0; r++)
        if (cs_eligible(mp->replicas[r]) && mc_ids_have(mp->isr, mp->n_isr, mp->replicas[r]))
            leader = mp->replicas[r];
    bool clean = leader >= 0;
    for (int r = 0; r < mp->n_replicas && leader < 0; r++)
        if (cs_eligible(mp->replicas[r]))
            leader = mp->replicas[r];
    if (leader < 0)
        return KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
    int32_t *isr = clean ? isr_copy(mp, &n) : mc_ids_copy(&leader, 1);
    if (!clean) {
        n = 1;
        log_warn("controller", "Unclean leader election for %s-%d on request: %d leads out of the ISR",
                 t->name, p, leader);
    }
    cs_change_add(c, t, p, leader, mp->leader_epoch + 1, isr, n);
    return KERR_NONE;
}

/* The error a partition gets when its state write failed. */
static int16_t write_failed(const changes_t *c, const mc_topic_t *t, int32_t p, int8_t type)
{
    for (int k = 0; k < c->n; k++)
        if (c->v[k].t == t && c->v[k].p == p && c->v[k].rc != ZOK)
            return type == ELECT_PREFERRED ? KERR_PREFERRED_LEADER_NOT_AVAILABLE
                                           : KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
    return KERR_NONE;
}

static kstr_t election_message(arena_t *a, int16_t err, const char *topic, int32_t p, int8_t type)
{
    char buf[400];
    if (err == KERR_UNKNOWN_TOPIC_OR_PARTITION)
        return KSTR_LIT("The partition does not exist.");
    if (err != KERR_PREFERRED_LEADER_NOT_AVAILABLE && err != KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE)
        return KSTR_NULL;
    snprintf(buf, sizeof(buf), "Failed to elect leader for partition %s-%d under strategy %s", topic, p,
             type == ELECT_PREFERRED ? "PreferredReplicaPartitionLeaderElectionStrategy"
                                     : "OfflinePartitionLeaderElectionStrategy(true)");
    char *m = arena_alloc(a, strlen(buf) + 1);
    memcpy(m, buf, strlen(buf) + 1);
    return kstr_from_cstr(m);
}

/* One topic's answer: every requested partition (all of them if n < 0). */
static void elect_topic(arena_t *a, changes_t *c, int8_t type, const char *name, const int32_t *parts,
                        int n, struct elect_leaders_response_replica_election_result *out, bool apply)
{
    mc_topic_t *t = NULL;
    mc_topic_t *all = cs_topics();
    HASH_FIND_STR(all, name, t);
    int count = n >= 0 ? n : (t ? t->n_partitions : 0);
    if (!apply) {
        out->topic = kstr_from_cstr(name);
        out->partition_result_count = count;
        out->partition_result = elect_leaders_response_partition_result_array(a, count);
    }
    for (int i = 0; i < count; i++) {
        int32_t p = n >= 0 ? parts[i] : i;
        int16_t err = !t || p < 0 || p >= t->n_partitions ? KERR_UNKNOWN_TOPIC_OR_PARTITION
                      : apply ? write_failed(c, t, p, type)
                              : elect_one(c, t, p, type);
        if (apply && !err && t && p >= 0 && p < t->n_partitions)
            err = out->partition_result[i].error_code;   /* the first pass's verdict */
        out->partition_result[i].partition_id = p;
        out->partition_result[i].error_code = err;
        out->partition_result[i].error_message = election_message(a, err, name, p, type);
    }
}

void cs_elect_leaders(arena_t *a, int16_t v, const struct elect_leaders_request *rq,
                      struct elect_leaders_response *resp)
{
    elect_leaders_response_defaults(resp);
    int8_t type = v >= 1 ? rq->election_type : ELECT_PREFERRED;
    bool every = rq->topic_partitions_count < 0;
    int nt = every ? (int)HASH_COUNT(cs_topics()) : rq->topic_partitions_count;
    const char **names = arena_array(a, (size_t)nt + 1, sizeof(char *));
    if (every) {
        int k = 0;
        mc_topic_t *t, *tmp;
        HASH_ITER(hh, cs_topics(), t, tmp)
            names[k++] = t->name;
    } else {
        for (int i = 0; i < nt; i++)
            names[i] = kstr_dup_or_empty(a, rq->topic_partitions[i].topic);
    }
    resp->replica_election_results_count = nt;
    resp->replica_election_results = elect_leaders_response_replica_election_result_array(a, nt);
    changes_t c = { 0 };
    /* First pass: verdicts and proposed states; then the writes; then a
     * second pass turns failed writes into errors. */
    for (int i = 0; i < nt; i++)
        elect_topic(a, &c, type, names[i], every ? NULL : rq->topic_partitions[i].partitions,
                    every ? -1 : rq->topic_partitions[i].partitions_count,
                    &resp->replica_election_results[i], false);
    prefs_t written = { 0 };
    cs_write_changes(&c, &written);
    for (int i = 0; i < nt; i++)
        elect_topic(a, &c, type, names[i], every ? NULL : rq->topic_partitions[i].partitions,
                    every ? -1 : rq->topic_partitions[i].partitions_count,
                    &resp->replica_election_results[i], true);
    if (written.n > 0) {
        log_info("controller", "%s leader election on request: %d partition(s) got new leaders",
                 type == ELECT_PREFERRED ? "Preferred" : "Unclean", written.n);
        cs_send_leader_and_isr(&written);
        cs_send_update_metadata(&written);
    }
    prefs_free(&written);
    cs_changes_free(&c);
}

/* Kafka's checkAndTriggerAutoLeaderRebalance: a broker whose preferred
 * partitions are led elsewhere for more than `percentage` of them gets
 * them back where it is in sync. */
void cs_auto_rebalance(int percentage)
{
    if (!cs_is_active())
        return;
    int n_live;
    const mc_broker_t *live = cs_live_brokers(&n_live);
    changes_t c = { 0 };
    for (int b = 0; b < n_live; b++) {
        int32_t id = live[b].id;
        int preferred = 0, elsewhere = 0;
        mc_topic_t *t, *tmp;
        HASH_ITER(hh, cs_topics(), t, tmp)
            for (int p = 0; p < t->n_partitions; p++)
                if (t->parts[p].n_replicas > 0 && t->parts[p].replicas[0] == id) {
                    preferred++;
                    elsewhere += t->parts[p].leader != id;
                }
        if (preferred == 0 || elsewhere * 100 <= percentage * preferred || !cs_eligible(id))
            continue;
        log_info("controller", "Leader imbalance ratio for broker %d is %.3f; moving leadership back",
                 id, (double)elsewhere / preferred);
        HASH_ITER(hh, cs_topics(), t, tmp)
            for (int p = 0; p < t->n_partitions; p++)
                if (t->parts[p].n_replicas > 0 && t->parts[p].replicas[0] == id &&
                    !t->parts[p].n_adding && !t->parts[p].n_removing)   /* not reassigning */
                    elect_one(&c, t, p, ELECT_PREFERRED);
    }
    cs_write_and_tell(&c);
}

/* /admin/preferred_replica_election (kafka-preferred-replica-election
 * --zookeeper, 2.x): the listed partitions get their preferred leaders where
 * those are in sync, then the znode goes; an exists watch stays on it. */
void cs_zk_preferred_elections(void)
{
    static const char path[] = "/admin/preferred_replica_election";
    zk_session_t *zs = controller_session();
    struct Stat st;
    if (!cs_is_active() || zk_exists_watch(zs, path, &st) != ZOK)
        return;
    int rc;
    char *s = zk_get_string(zs, path, false, NULL, &rc);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    changes_t c = { 0 };
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "partitions"), i, e) {
        const char *name = json_string_value(json_object_get(e, "topic"));
        int32_t p = (int32_t)json_integer_value(json_object_get(e, "partition"));
        mc_topic_t *all = cs_topics(), *t = NULL;
        if (name)
            HASH_FIND_STR(all, name, t);
        if (t && !t->deleting && p >= 0 && p < t->n_partitions)
            elect_one(&c, t, p, ELECT_PREFERRED);
    }
    json_decref(j);
    log_info("controller", "Preferred replica election through %s: %d leader(s) to move", path, c.n);
    cs_write_and_tell(&c);
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    zoo_check_op_init(&ops[0], "/controller_epoch", controller_epoch_zkversion());
    zoo_delete_op_init(&ops[1], path, -1);
    zk_multi_t m = { ops, res, 2, 0 };
    zk_multi_many(zs, &m, 1);
    if (m.rc != ZOK && m.rc != ZNONODE)
        log_error("controller", "Cannot delete %s: %s", path, zerror(m.rc));
    zk_exists_watch(zs, path, &st);     /* the next one is noticed */
}

/* ---- dynamic configuration (Kafka's TopicUncleanLeaderElectionEnable and
 * UncleanLeaderElectionEnable controller events) ---- */

#define UNCLEAN_KEY "unclean.leader.election.enable"

void cs_on_configs(const metadata_update_t *u)
{
    /* The broker layers are followed by every broker, so a broker that
     * becomes controller knows them. */
    if (u->has_broker_configs) {
        const char *v = kv_get(&u->broker_config, UNCLEAN_KEY);
        if (!v)
            v = kv_get(&u->default_config, UNCLEAN_KEY);
        bool was = cs_unclean_allowed(NULL);
        cs_set_unclean_default(v ? !strcmp(v, "true") : -1);
        if (cs_is_active() && !was && cs_unclean_allowed(NULL)) {
            log_info("controller", "Unclean leader election enabled for the cluster: offline "
                     "partitions elect leaders again");
            cs_reelect(NULL);
        }
    }
    for (int i = 0; cs_is_active() && i < u->n_topic_configs; i++) {
        mc_topic_t *t = cs_find_topic(u->topic_configs[i].name);
        if (!t)
            continue;
        bool was = cs_unclean_allowed(t);
        kv_free(&t->cfg);
        t->cfg = kv_copy(&u->topic_configs[i].config);
        if (!was && cs_unclean_allowed(t)) {
            log_info("controller", "Unclean leader election enabled for topic %s: its offline "
                     "partitions elect leaders again", t->name);
            cs_reelect(t);
        }
    }
}
