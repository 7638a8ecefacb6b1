/*
 * metadata_cache.c - owns the broker's view of topics, partitions and live
 * brokers (see metadata_cache.h).  Event-loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_cache.h"
#include "util.h"

/* Owned by the event-loop thread. */
static mc_topic_t *topics;          /* by name */
static mc_topic_t *topics_by_id;    /* the same topics by id (hh_id) */
static mc_broker_t *brokers;
static int n_brokers;
static bool brokers_announced;      /* a controller set them */

mc_topic_t *mc_topic_new(const char *name, int n_partitions)
{
    mc_topic_t *t = xcalloc(1, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->n_partitions = n_partitions;
    t->parts = xcalloc((size_t)(n_partitions > 0 ? n_partitions : 1), sizeof(*t->parts));
    for (int i = 0; i < n_partitions; i++) {
        t->parts[i].id = i;
        t->parts[i].leader = -1;
    }
    return t;
}

void mc_partition_state_unknown(mc_partition_t *p)
{
    p->leader = -1;
    p->leader_epoch = -1;
    p->zk_version = -1;
    free(p->isr);
    p->isr = NULL;
    p->n_isr = 0;
}

bool mc_partition_announced(const mc_partition_t *p)
{
    return p->leader_epoch >= 0 || p->zk_version >= 0;
}

bool mc_topic_visible(const mc_topic_t *t)
{
    if (!t || t->deleting)
        return false;
    for (int p = 0; p < t->n_partitions; p++)
        if (mc_partition_announced(&t->parts[p]))
            return true;
    return false;
}

/* Grows t to n partitions whose states are unknown. */
static void topic_grow(mc_topic_t *t, int n)
{
    if (n <= t->n_partitions)
        return;
    t->parts = xrealloc(t->parts, sizeof(*t->parts) * (size_t)n);
    memset(t->parts + t->n_partitions, 0, sizeof(*t->parts) * (size_t)(n - t->n_partitions));
    for (int i = t->n_partitions; i < n; i++) {
        t->parts[i].id = i;
        mc_partition_state_unknown(&t->parts[i]);
    }
    t->n_partitions = n;
}

mc_topic_t *mc_topic_dup(const mc_topic_t *src)
{
    mc_topic_t *t = mc_topic_new(src->name, src->n_partitions);
    t->settings = src->settings;
    t->id = src->id;
    t->deleting = src->deleting;
    t->cfg_loaded = src->cfg_loaded;
    for (int i = 0; i < src->n_partitions; i++) {
        mc_partition_t *d = &t->parts[i];
        *d = src->parts[i];
        d->replicas = mc_ids_copy(src->parts[i].replicas, src->parts[i].n_replicas);
        d->isr = mc_ids_copy(src->parts[i].isr, src->parts[i].n_isr);
        d->adding = mc_ids_copy(src->parts[i].adding, src->parts[i].n_adding);
        d->removing = mc_ids_copy(src->parts[i].removing, src->parts[i].n_removing);
        d->offline = mc_ids_copy(src->parts[i].offline, src->parts[i].n_offline);
    }
    t->cfg = kv_copy(&src->cfg);
    return t;
}

void mc_topic_free(mc_topic_t *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_partitions; i++) {
        free(t->parts[i].replicas);
        free(t->parts[i].isr);
        free(t->parts[i].adding);
        free(t->parts[i].removing);
        free(t->parts[i].offline);
    }
    free(t->parts);
    kv_free(&t->cfg);
    free(t);
}

static bool ids_same(const int32_t *a, int na, const int32_t *b, int nb)
{
    return na == nb && (na == 0 || !memcmp(a, b, sizeof(int32_t) * (size_t)na));
}

bool mc_topic_same(const mc_topic_t *a, const mc_topic_t *b)
{
    if (a->n_partitions != b->n_partitions || memcmp(&a->id, &b->id, sizeof(a->id)) ||
        a->cfg.n != b->cfg.n)
        return false;
    for (int i = 0; i < a->n_partitions; i++) {
        const mc_partition_t *p = &a->parts[i], *q = &b->parts[i];
        if (p->leader != q->leader || p->leader_epoch != q->leader_epoch ||
            p->zk_version != q->zk_version || !ids_same(p->replicas, p->n_replicas, q->replicas,
                                                        q->n_replicas) ||
            !ids_same(p->isr, p->n_isr, q->isr, q->n_isr) ||
            !ids_same(p->adding, p->n_adding, q->adding, q->n_adding) ||
            !ids_same(p->removing, p->n_removing, q->removing, q->n_removing))
            return false;
    }
    for (int i = 0; i < a->cfg.n; i++) {
        const char *v = kv_get(&b->cfg, a->cfg.keys[i]);
        if (!v || strcmp(v, a->cfg.values[i]))
            return false;
    }
    return true;
}

void mc_topic_set_config(mc_topic_t *t, const char *key, const char *value)
{
    kv_set(&t->cfg, key, value);
}

const char *mc_topic_config(const mc_topic_t *t, const char *key)
{
    return kv_get(&t->cfg, key);
}

static void unlink_topic(mc_topic_t *t)
{
    HASH_DEL(topics, t);
    if (t->by_id)
        HASH_DELETE(hh_id, topics_by_id, t);
    t->by_id = false;
}

/* Keeps in t the newer of each partition state (leader, epochs, ISR) of
 * t and from: leader epochs, then partition epochs (ISR changes), only go
 * forward.  A state a controller sent (UpdateMetadata) can be newer than
 * the controller's read of ZooKeeper.  The replicas stay t's: the
 * assignment znode's. */
static void keep_newer_states(mc_topic_t *t, mc_topic_t *from)
{
    for (int i = 0; i < t->n_partitions && i < from->n_partitions; i++) {
        mc_partition_t *o = &from->parts[i], *n = &t->parts[i];
        if (o->leader_epoch > n->leader_epoch ||
            (o->leader_epoch == n->leader_epoch && o->zk_version > n->zk_version)) {
            SWAP(int32_t, n->leader, o->leader);
            SWAP(int32_t, n->leader_epoch, o->leader_epoch);
            SWAP(int32_t, n->zk_version, o->zk_version);
            SWAP(int32_t *, n->isr, o->isr);
            SWAP(int, n->n_isr, o->n_isr);
        }
        if (!n->offline) {      /* only a controller reports them */
            SWAP(int32_t *, n->offline, o->offline);
            SWAP(int, n->n_offline, o->n_offline);
        }
    }
}

static bool same_id(const mc_topic_t *a, kuuid_t id)
{
    return !memcmp(&a->id, &id, sizeof(id));
}

static void link_topic(mc_topic_t *t)
{
    HASH_ADD_STR(topics, name, t);
    mc_topic_t *same_id = NULL;
    if (!kuuid_is_zero(t->id))
        HASH_FIND(hh_id, topics_by_id, &t->id, sizeof(t->id), same_id);
    if (!kuuid_is_zero(t->id) && !same_id) {
        HASH_ADD(hh_id, topics_by_id, id, sizeof(t->id), t);
        t->by_id = true;
    }
}

void mc_put_topic(mc_topic_t *t)
{
    mc_topic_t *old;
    HASH_FIND_STR(topics, t->name, old);
    if (old && (kuuid_is_zero(old->id) || same_id(old, t->id)))
        keep_newer_states(t, old);
    if (old) {
        unlink_topic(old);
        mc_topic_free(old);
    }
    link_topic(t);
}

void mc_remove_topic(const char *name)
{
    mc_topic_t *t;
    HASH_FIND_STR(topics, name, t);
    if (t) {
        unlink_topic(t);
        mc_topic_free(t);
    }
}

mc_topic_t *mc_ensure_topic(const char *name, kuuid_t id, int32_t n_partitions)
{
    mc_topic_t *t = mc_find_topic(name);
    if (t && !kuuid_is_zero(id) && !kuuid_is_zero(t->id) && !same_id(t, id)) {
        mc_remove_topic(name);          /* re-created under the same name */
        t = NULL;
    }
    if (!t) {
        t = mc_topic_new(name, 0);
        t->id = id;
        link_topic(t);
    } else if (kuuid_is_zero(t->id) && !kuuid_is_zero(id)) {
        unlink_topic(t);
        t->id = id;
        link_topic(t);
    }
    topic_grow(t, n_partitions);
    return t;
}

mc_topic_t *mc_find_topic_by_id(kuuid_t id)
{
    mc_topic_t *t = NULL;
    HASH_FIND(hh_id, topics_by_id, &id, sizeof(id), t);
    return t;
}

mc_topic_t *mc_find_topic(const char *name)
{
    mc_topic_t *t;
    HASH_FIND_STR(topics, name, t);
    return t;
}

bool mc_ids_have(const int32_t *v, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

int32_t *mc_ids_copy(const int32_t *v, int n)
{
    n = MAX(n, 0);
    int32_t *c = xcalloc((size_t)n + 1, sizeof(int32_t));
    if (n > 0)
        memcpy(c, v, sizeof(int32_t) * (size_t)n);
    return c;
}

/* LeaderDuringDelete: the partition goes (Kafka's removePartitionInfo),
 * and the topic once none of its partitions is left. */
static void remove_partition(mc_topic_t *t, int32_t id)
{
    t->deleting = true;
    mc_partition_t *p = &t->parts[id];
    mc_partition_state_unknown(p);
    p->leader = MC_LEADER_DURING_DELETE;
    for (int i = 0; i < t->n_partitions; i++)
        if (t->parts[i].leader != MC_LEADER_DURING_DELETE)
            return;
    mc_remove_topic(t->name);
}

bool mc_update_partition(const char *topic, kuuid_t topic_id, int32_t id, int32_t leader,
                         int32_t leader_epoch, int32_t zk_version, const int32_t *replicas,
                         int n_replicas, const int32_t *isr, int n_isr, const int32_t *offline,
                         int n_offline)
{
    if (id < 0)
        return false;
    mc_topic_t *t = mc_find_topic(topic);
    bool other = t && !kuuid_is_zero(topic_id) && !kuuid_is_zero(t->id) && !same_id(t, topic_id);
    if (leader == MC_LEADER_DURING_DELETE) {
        if (t && !other && id < t->n_partitions)
            remove_partition(t, id);
        return false;
    }
    t = mc_ensure_topic(topic, topic_id, id + 1);
    mc_partition_t *p = &t->parts[id];
    p->leader = leader;
    p->leader_epoch = leader_epoch;
    p->zk_version = zk_version;
    free(p->replicas);
    free(p->isr);
    p->replicas = mc_ids_copy(replicas, MAX(n_replicas, 0));
    p->n_replicas = MAX(n_replicas, 0);
    p->isr = mc_ids_copy(isr, MAX(n_isr, 0));
    p->n_isr = MAX(n_isr, 0);
    if (offline) {
        free(p->offline);
        p->offline = mc_ids_copy(offline, MAX(n_offline, 0));
        p->n_offline = MAX(n_offline, 0);
    }
    return true;
}

mc_topic_t *mc_topics(void)
{
    return topics;
}

int mc_topic_count(void)
{
    return (int)HASH_COUNT(topics);
}

static void put_brokers(const mc_broker_t *b, int n)
{
    free(brokers);
    brokers = n ? xmalloc(sizeof(*b) * (size_t)n) : NULL;
    if (n)
        memcpy(brokers, b, sizeof(*b) * (size_t)n);
    n_brokers = n;
}

void mc_set_brokers(const mc_broker_t *b, int n)
{
    put_brokers(b, n);
    brokers_announced = true;
}

void mc_seed_brokers(const mc_broker_t *b, int n)
{
    if (!brokers_announced)
        put_brokers(b, n);
}

void mc_broker_pick_inter_broker(mc_broker_t *b, const char *inter_broker_listener)
{
    const mc_endpoint_t *ib = mc_broker_endpoint(b, inter_broker_listener);
    if (!ib && b->n_endpoints > 0)
        ib = &b->endpoints[0];
    snprintf(b->host, sizeof(b->host), "%s", ib ? ib->host : "");
    b->port = ib ? ib->port : -1;
}

const mc_broker_t *mc_brokers(int *n)
{
    *n = n_brokers;
    return brokers;
}

const mc_broker_t *mc_find_broker(int32_t id)
{
    for (int i = 0; i < n_brokers; i++)
        if (brokers[i].id == id)
            return &brokers[i];
    return NULL;
}

const mc_endpoint_t *mc_broker_endpoint(const mc_broker_t *b, const char *listener)
{
    for (int i = 0; i < b->n_endpoints; i++)
        if (!strcmp(b->endpoints[i].listener, listener))
            return &b->endpoints[i];
    return NULL;
}

void mc_clear(void)
{
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, topics, t, tmp) {
        unlink_topic(t);
        mc_topic_free(t);
    }
    put_brokers(NULL, 0);
    brokers_announced = false;
}
