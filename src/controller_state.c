/*
 * controller_state.c - owns the active controller's context and duties
 * (see controller_state.h): the copy of every topic's partition states,
 * the live brokers and one request channel to each, leader election when
 * brokers fail or return, fenced partition-state writes, and AlterPartition.
 * Requests are built here (controller_requests.c encodes them).
 *
 * Threads: the ZooKeeper thread only (it owns `cs`).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "controller.h"
#include "controller_requests.h"
#include "controller_internal.h"
#include "controller_state.h"
#include "feature_versioning.h"
#include "kafka_errors.h"
#include "logging.h"
#include "node_channel.h"
#include "topic_deletion.h"
#include "util.h"
#include "zk_layout.h"
#include "zk_session.h"

typedef struct chan_entry {
    int32_t id;
    int64_t epoch;
    node_channel_t *ch;
    UT_hash_handle hh;
} chan_entry_t;

static struct {
    bool active;
    broker_t *b;
    mc_topic_t *topics;             /* own copies, by name */
    mc_broker_t *live;
    int n_live;
    int32_t *shutting;              /* live brokers in a controlled shutdown */
    int n_shutting;
    chan_entry_t *chans;
    int unclean_default;            /* the dynamic broker setting; -1: the file's */
} cs = { .unclean_default = -1 };

bool cs_is_active(void)
{
    return cs.active;
}

const mc_broker_t *cs_live_broker(int32_t id)
{
    for (int i = 0; i < cs.n_live; i++)
        if (cs.live[i].id == id)
            return &cs.live[i];
    return NULL;
}

const mc_broker_t *cs_live_brokers(int *n)
{
    *n = cs.n_live;
    return cs.live;
}

bool cs_is_shutting(int32_t id)
{
    return mc_ids_have(cs.shutting, cs.n_shutting, id);
}

/* A broker that may lead or be in an ISR: live and not shutting down. */
bool cs_eligible(int32_t id)
{
    return cs_live_broker(id) && !cs_is_shutting(id);
}

/* ---- partition references ---- */

void prefs_add(prefs_t *s, mc_topic_t *t, int32_t p)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, sizeof(*s->v) * (size_t)s->cap);
    }
    s->v[s->n++] = (pref_t){ t, p };
}

void prefs_free(prefs_t *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static void all_partitions(prefs_t *out)
{
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, cs.topics, t, tmp)
        for (int p = 0; p < t->n_partitions; p++)
            prefs_add(out, t, p);
}

/* ---- channels ---- */

static void sync_channels(void)
{
    chan_entry_t *e, *tmp;
    HASH_ITER(hh, cs.chans, e, tmp) {
        const mc_broker_t *mb = cs_live_broker(e->id);
        if (!mb || mb->epoch != e->epoch) {
            HASH_DEL(cs.chans, e);
            chan_free(e->ch);
            free(e);
        }
    }
    for (int i = 0; i < cs.n_live; i++) {
        const mc_broker_t *mb = &cs.live[i];
        HASH_FIND_INT(cs.chans, &mb->id, e);
        if (e)
            continue;
        e = xcalloc(1, sizeof(*e));
        e->id = mb->id;
        e->epoch = mb->epoch;
        char name[64];
        snprintf(name, sizeof(name), "controller to broker %d", mb->id);
        char cid[32];
        snprintf(cid, sizeof(cid), "%d", cs.b->cfg->broker_id);
        e->ch = chan_new(name, cid, cs.b->cfg->controller_socket_timeout_ms, 0);
        chan_set_node(e->ch, mb->id, mb->host, mb->port);
        HASH_ADD_INT(cs.chans, id, e);
    }
}

mc_topic_t *cs_topics(void)
{
    return cs.topics;
}

int32_t cs_controller_id(void)
{
    return cs.b ? cs.b->cfg->broker_id : -1;
}

void cs_mark_shutting(int32_t id)
{
    if (cs_is_shutting(id))
        return;
    cs.shutting = xrealloc(cs.shutting, sizeof(int32_t) * (size_t)(cs.n_shutting + 1));
    cs.shutting[cs.n_shutting++] = id;
}

node_channel_t *cs_channel(int32_t id)
{
    chan_entry_t *e;
    HASH_FIND_INT(cs.chans, &id, e);
    return e ? e->ch : NULL;
}

/* ---- fenced partition-state writes ---- */

change_t *cs_change_add(changes_t *c, mc_topic_t *t, int32_t p, int32_t leader,
                            int32_t leader_epoch, int32_t *isr, int n_isr)
{
    if (t->deleting) {
        free(isr);                  /* a topic being deleted elects no leaders */
        return NULL;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->v = xrealloc(c->v, sizeof(*c->v) * (size_t)c->cap);
    }
    change_t *x = &c->v[c->n++];
    *x = (change_t){ .t = t, .p = p, .leader = leader, .leader_epoch = leader_epoch, .isr = isr,
                     .n_isr = n_isr };
    return x;
}

void cs_changes_free(changes_t *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->v[i].isr);
    free(c->v);
}

/*
 * Writes every change as Kafka's controller does: setData of the state
 * znode at its known version, in a multi with a check of /controller_epoch
 * at the version that made us controller, pipelined.  A change written
 * becomes the context's state (zk_version = the new version); one that
 * failed is logged and left (the next event re-reads the topic).
 */
void cs_write_changes(changes_t *c, prefs_t *written)
{
    if (c->n == 0)
        return;
    zk_session_t *zs = controller_session();
    int32_t epoch = controller_epoch_now(), ev = controller_epoch_zkversion();
    zk_multi_t *m = xcalloc((size_t)c->n, sizeof(*m));
    zoo_op_t *ops = xcalloc((size_t)c->n * 2, sizeof(*ops));
    zoo_op_result_t *res = xcalloc((size_t)c->n * 2, sizeof(*res));
    char (*paths)[ZK_PATH_MAX] = xcalloc((size_t)c->n, ZK_PATH_MAX);
    char **data = xcalloc((size_t)c->n, sizeof(char *));
    for (int i = 0; i < c->n; i++) {
        change_t *x = &c->v[i];
        snprintf(paths[i], ZK_PATH_MAX, "/brokers/topics/%s/partitions/%d/state", x->t->name, x->p);
        data[i] = zkl_partition_state(epoch, x->leader, x->leader_epoch, x->isr, x->n_isr);
        zoo_check_op_init(&ops[2 * i], "/controller_epoch", ev);
        zoo_set_op_init(&ops[2 * i + 1], paths[i], data[i], (int)strlen(data[i]),
                        x->t->parts[x->p].zk_version, &x->st);
        m[i] = (zk_multi_t){ &ops[2 * i], &res[2 * i], 2, 0 };
    }
    zk_multi_many(zs, m, c->n);
    for (int i = 0; i < c->n; i++) {
        change_t *x = &c->v[i];
        mc_partition_t *mp = &x->t->parts[x->p];
        x->rc = m[i].rc;
        if (x->rc != ZOK) {
            log_error("controller", "Cannot write the state of %s-%d (version %d): %s", x->t->name,
                      x->p, mp->zk_version, zerror(x->rc));
        } else {
            mp->leader = x->leader;
            mp->leader_epoch = x->leader_epoch;
            free(mp->isr);
            mp->isr = x->isr;
            mp->n_isr = x->n_isr;
            x->isr = NULL;
            mp->zk_version = x->st.version;
            if (written)
                prefs_add(written, x->t, x->p);
        }
        free(data[i]);
    }
    free(m);
    free(ops);
    free(res);
    free(paths);
    free(data);
}

/* ---- elections (Kafka's PartitionLeaderElectionAlgorithms) ---- */

bool cs_unclean_allowed(const mc_topic_t *t)
{
    const char *v = t ? mc_topic_config(t, "unclean.leader.election.enable") : NULL;
    if (v)
        return !strcmp(v, "true");
    if (cs.unclean_default >= 0)
        return cs.unclean_default == 1;
    return cs.b && cs.b->cfg->unclean_leader_election_enable;
}

void cs_set_unclean_default(int enabled)
{
    cs.unclean_default = enabled;
}

/* The live members of the ISR, in ISR order; the last member is kept
 * when none is live (Kafka never writes an empty ISR). */
static int32_t *live_isr(const mc_partition_t *mp, int *n)
{
    int32_t *v = xcalloc((size_t)mp->n_isr + 1, sizeof(int32_t));
    *n = 0;
    for (int i = 0; i < mp->n_isr; i++)
        if (cs_live_broker(mp->isr[i]))
            v[(*n)++] = mp->isr[i];
    if (*n == 0 && mp->n_isr > 0)
        v[(*n)++] = mp->isr[mp->n_isr - 1];
    return v;
}

/*
 * One partition after a change in the live brokers: an offline leader is
 * replaced by the first live replica in assignment order that is in the
 * ISR (any live replica if unclean election is allowed), and dead brokers
 * leave the ISR; either bumps the leader epoch.  Nothing to do: no change.
 */
static void reconsider(changes_t *c, mc_topic_t *t, int32_t p)
{
    mc_partition_t *mp = &t->parts[p];
    if (mp->zk_version < 0 || mp->n_replicas == 0 || t->deleting)
        return;
    bool leader_live = mp->leader >= 0 && cs_live_broker(mp->leader);
    int n_isr;
    int32_t *isr = live_isr(mp, &n_isr);
    int32_t leader = mp->leader;
    if (!leader_live) {
        leader = -1;
        for (int r = 0; r < mp->n_replicas && leader < 0; r++)
            if (cs_eligible(mp->replicas[r]) && mc_ids_have(isr, n_isr, mp->replicas[r]))
                leader = mp->replicas[r];
        for (int r = 0; r < mp->n_replicas && leader < 0; r++)
            if (cs_live_broker(mp->replicas[r]) && mc_ids_have(isr, n_isr, mp->replicas[r]))
                leader = mp->replicas[r];   /* only a shutting-down one is left */
        if (leader < 0 && cs_unclean_allowed(t)) {
            for (int r = 0; r < mp->n_replicas && leader < 0; r++)
                if (cs_live_broker(mp->replicas[r]))
                    leader = mp->replicas[r];
            if (leader >= 0) {
                log_warn("controller", "Unclean leader election for %s-%d: %d becomes leader "
                         "out of the ISR; records may be lost", t->name, p, leader);
                isr[0] = leader;
                n_isr = 1;
            }
        }
    }
    bool isr_same = n_isr == mp->n_isr && !memcmp(isr, mp->isr, sizeof(int32_t) * (size_t)n_isr);
    if (leader == mp->leader && isr_same) {
        free(isr);
        return;
    }
    if (leader != mp->leader)
        log_info("controller", "Partition %s-%d: leader %d -> %d (epoch %d), isr %d -> %d replicas",
                 t->name, p, mp->leader, leader, mp->leader_epoch + 1, mp->n_isr, n_isr);
    cs_change_add(c, t, p, leader, mp->leader_epoch + 1, isr, n_isr);
}

/* ---- telling brokers ---- */

/* LeaderAndIsr for the given partitions to each live replica of them. */
void cs_send_leader_and_isr(const prefs_t *parts)
{
    for (int i = 0; i < cs.n_live; i++) {
        prefs_t mine = { 0 };
        for (int k = 0; k < parts->n; k++) {
            const mc_partition_t *mp = &parts->v[k].t->parts[parts->v[k].p];
            if (!parts->v[k].t->deleting && mc_ids_have(mp->replicas, mp->n_replicas, cs.live[i].id))
                prefs_add(&mine, parts->v[k].t, parts->v[k].p);
        }
        if (mine.n > 0)
            creq_send_leader_and_isr(cs.b, &cs.live[i], &mine);
        prefs_free(&mine);
    }
}

void cs_send_stop_replica(int32_t id, const prefs_t *parts, bool topic_deleted,
                          creq_stopped_fn stopped, void *ctx)
{
    const mc_broker_t *mb = cs_live_broker(id);
    if (mb)
        creq_send_stop_replica(cs.b, mb, parts, topic_deleted, stopped, ctx);
    else if (stopped)
        stopped(ctx, id, false);
}

void cs_send_update_metadata(const prefs_t *parts)
{
    for (int i = 0; i < cs.n_live; i++)
        creq_send_update_metadata(cs.b, &cs.live[i], parts);
}

void cs_write_and_tell(changes_t *c)
{
    prefs_t written = { 0 };
    cs_write_changes(c, &written);
    cs_send_leader_and_isr(&written);
    cs_send_update_metadata(&written);
    prefs_free(&written);
    cs_changes_free(c);
}

void cs_reelect(mc_topic_t *only)
{
    changes_t c = { 0 };
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, cs.topics, t, tmp)
        for (int p = 0; (!only || t == only) && p < t->n_partitions; p++)
            reconsider(&c, t, p);
    cs_write_and_tell(&c);
}

/* Elections and ISR clean-up for every partition, written and told. */
static void reconsider_all(prefs_t *told)
{
    changes_t c = { 0 };
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, cs.topics, t, tmp)
        for (int p = 0; p < t->n_partitions; p++)
            reconsider(&c, t, p);
    cs_write_changes(&c, told);
    cs_changes_free(&c);
}

static void set_live(const mc_broker_t *brokers, int n)
{
    /* Brokers that finished shutting down are forgotten. */
    int k = 0;
    for (int i = 0; i < cs.n_shutting; i++) {
        bool still = false;
        for (int j = 0; j < n; j++)
            still |= brokers[j].id == cs.shutting[i];
        if (still)
            cs.shutting[k++] = cs.shutting[i];
    }
    cs.n_shutting = k;
    free(cs.live);
    cs.live = xcalloc((size_t)n + 1, sizeof(*cs.live));
    memcpy(cs.live, brokers, sizeof(*brokers) * (size_t)n);
    cs.n_live = n;
}

static void put_topic(const mc_topic_t *src)
{
    mc_topic_t *old;
    HASH_FIND_STR(cs.topics, src->name, old);
    bool deleting = old && old->deleting;
    if (old) {
        HASH_DEL(cs.topics, old);
        mc_topic_free(old);
    }
    mc_topic_t *t = mc_topic_dup(src);
    t->deleting = deleting;
    for (int p = 0; deleting && p < t->n_partitions; p++)
        t->parts[p].leader = -2;        /* still LeaderDuringDelete */
    HASH_ADD_STR(cs.topics, name, t);
}

mc_topic_t *cs_find_topic(const char *name)
{
    mc_topic_t *t;
    HASH_FIND_STR(cs.topics, name, t);
    return t;
}

void cs_forget_topic(const char *name)
{
    mc_topic_t *t;
    HASH_FIND_STR(cs.topics, name, t);
    if (t) {
        HASH_DEL(cs.topics, t);
        mc_topic_free(t);
    }
}

void cs_activate(broker_t *b, const mc_broker_t *brokers, int n, mc_topic_t *const *topics, int nt)
{
    cs_deactivate();
    features_controller_setup(controller_session(), b->cfg->ibp);
    cs.active = true;
    cs.b = b;
    set_live(brokers, n);
    for (int i = 0; i < nt; i++)
        if (topics[i])
            put_topic(topics[i]);
    sync_channels();
    log_info("controller", "Controller %d starting up: %d live brokers, %u topics",
             b->cfg->broker_id, n, HASH_COUNT(cs.topics));
    reconsider_all(NULL);
    prefs_t all = { 0 };
    all_partitions(&all);
    cs_send_update_metadata(&all);
    cs_send_leader_and_isr(&all);
    prefs_free(&all);
    cs_resume_reassignments();
    cs_zk_preferred_elections();
}

void cs_deactivate(void)
{
    td_reset();
    chan_entry_t *e, *tmp;
    HASH_ITER(hh, cs.chans, e, tmp) {
        HASH_DEL(cs.chans, e);
        chan_free(e->ch);
        free(e);
    }
    mc_topic_t *t, *tt;
    HASH_ITER(hh, cs.topics, t, tt) {
        HASH_DEL(cs.topics, t);
        mc_topic_free(t);
    }
    free(cs.live);
    cs.live = NULL;
    cs.n_live = 0;
    free(cs.shutting);
    cs.shutting = NULL;
    cs.n_shutting = 0;
    cs.active = false;
}

void cs_on_brokers(const mc_broker_t *brokers, int n)
{
    if (!cs.active)
        return;
    /* New brokers, and brokers that restarted (a new registration epoch). */
    int32_t *added = xcalloc((size_t)n + 1, sizeof(int32_t));
    int n_added = 0;
    for (int i = 0; i < n; i++) {
        const mc_broker_t *old = cs_live_broker(brokers[i].id);
        if (!old || old->epoch != brokers[i].epoch)
            added[n_added++] = brokers[i].id;
    }
    int gone = 0;
    for (int i = 0; i < cs.n_live; i++) {
        bool still = false;
        for (int j = 0; j < n; j++)
            still |= brokers[j].id == cs.live[i].id && brokers[j].epoch == cs.live[i].epoch;
        gone += !still;
    }
    if (gone)
        log_info("controller", "Broker failure or restart: %d broker(s) left the live set", gone);
    if (n_added)
        log_info("controller", "Newly added or restarted brokers: %d", n_added);
    /* A restarted broker is first taken out (its partitions elect without
     * it), then comes back as new. */
    if (n_added && gone) {
        mc_broker_t *kept = xcalloc((size_t)n + 1, sizeof(*kept));
        int k = 0;
        for (int i = 0; i < n; i++)
            if (!mc_ids_have(added, n_added, brokers[i].id))
                kept[k++] = brokers[i];
        set_live(kept, k);
        free(kept);
        sync_channels();
        prefs_t told = { 0 };
        reconsider_all(&told);
        cs_send_leader_and_isr(&told);
        cs_send_update_metadata(&told);
        prefs_free(&told);
    }
    set_live(brokers, n);
    sync_channels();
    prefs_t told = { 0 };
    reconsider_all(&told);
    cs_send_leader_and_isr(&told);
    if (n_added) {
        /* New brokers learn everything; their partitions' states go to them. */
        prefs_t all = { 0 };
        all_partitions(&all);
        cs_send_update_metadata(&all);
        for (int i = 0; i < n_added; i++) {
            const mc_broker_t *mb = cs_live_broker(added[i]);
            prefs_t mine = { 0 };
            for (int k = 0; k < all.n; k++) {
                const mc_partition_t *mp = &all.v[k].t->parts[all.v[k].p];
                if (mb && mc_ids_have(mp->replicas, mp->n_replicas, mb->id) && mp->zk_version >= 0 &&
                    !all.v[k].t->deleting)
                    prefs_add(&mine, all.v[k].t, all.v[k].p);
            }
            if (mb && mine.n > 0)
                creq_send_leader_and_isr(cs.b, mb, &mine);
            prefs_free(&mine);
        }
        prefs_free(&all);
    } else {
        cs_send_update_metadata(&told);
    }
    prefs_free(&told);
    if (n_added)
        td_on_brokers_added(added, n_added);
    free(added);
}

void cs_on_topics(mc_topic_t *const *topics, int nt)
{
    if (!cs.active)
        return;
    prefs_t fresh = { 0 };
    for (int i = 0; i < nt; i++) {
        if (!topics[i])
            continue;
        mc_topic_t *old;
        HASH_FIND_STR(cs.topics, topics[i]->name, old);
        int known = old ? old->n_partitions : 0;
        bool same_id = old && !memcmp(&old->id, &topics[i]->id, sizeof(kuuid_t));
        put_topic(topics[i]);
        mc_topic_t *t;
        HASH_FIND_STR(cs.topics, topics[i]->name, t);
        for (int p = same_id ? known : 0; p < t->n_partitions; p++)
            if (t->parts[p].zk_version >= 0)
                prefs_add(&fresh, t, p);
    }
    if (fresh.n > 0) {
        cs_send_leader_and_isr(&fresh);
        cs_send_update_metadata(&fresh);
    }
    prefs_free(&fresh);
}

/* Kafka's topic deletion as the controller tells it: UpdateMetadata with
 * the partitions led by LeaderDuringDelete (-2), so caches drop them, and
 * StopReplica with delete to every live replica, so logs go (Java brokers
 * rely on it; samsa brokers also see the topic's znodes go). */
static void tell_deleted(mc_topic_t *const *gone, int n)
{
    prefs_t all = { 0 };
    for (int i = 0; i < n; i++)
        for (int p = 0; p < gone[i]->n_partitions; p++) {
            gone[i]->parts[p].leader = -2;
            prefs_add(&all, gone[i], p);
        }
    if (all.n == 0)
        return;
    cs_send_update_metadata(&all);
    for (int b = 0; b < cs.n_live; b++) {
        prefs_t mine = { 0 };
        for (int k = 0; k < all.n; k++) {
            const mc_partition_t *mp = &all.v[k].t->parts[all.v[k].p];
            if (mc_ids_have(mp->replicas, mp->n_replicas, cs.live[b].id))
                prefs_add(&mine, all.v[k].t, all.v[k].p);
        }
        creq_send_stop_replica(cs.b, &cs.live[b], &mine, true, NULL, NULL);
        prefs_free(&mine);
    }
    prefs_free(&all);
}

void cs_on_topics_removed(char *const *names, int n)
{
    if (!cs.active)
        return;
    mc_topic_t **gone = xcalloc((size_t)n + 1, sizeof(*gone));
    int k = 0;
    for (int i = 0; i < n; i++) {
        mc_topic_t *t;
        HASH_FIND_STR(cs.topics, names[i], t);
        if (t)
            gone[k++] = t;
    }
    tell_deleted(gone, k);
    free(gone);
    for (int i = 0; i < n; i++) {
        mc_topic_t *t;
        HASH_FIND_STR(cs.topics, names[i], t);
        if (t) {
            HASH_DEL(cs.topics, t);
            mc_topic_free(t);
        }
    }
}
