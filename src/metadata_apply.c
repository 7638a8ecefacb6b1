/*
 * metadata_apply.c - owns applying what the ZooKeeper thread learnt to the
 * event loop's state: the metadata cache, the controller fields of
 * broker_t, and, on the controller's broker, what its reads of topics
 * mean for the partitions it hosts (replica_manager.h: states updated,
 * dropped for topics that are gone; logs on disk of topics that no longer
 * exist are deleted).  Logs are created only by LeaderAndIsr.  Event-loop
 * thread only.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authorizer.h"
#include "broker_dynamic.h"
#include "client_quotas.h"
#include "controller.h"
#include "feature_versioning.h"
#include "log_manager.h"
#include "logging.h"
#include "replica_manager.h"
#include "scram_store.h"
#include "topic_config.h"
#include "util.h"

static void config_changes_free(topic_config_change_t *v, int n);

metadata_update_t *metadata_update_new(void)
{
    return xcalloc(1, sizeof(metadata_update_t));
}

void metadata_update_free(metadata_update_t *u)
{
    if (!u)
        return;
    for (int i = 0; i < u->n_topics; i++)
        mc_topic_free(u->topics[i]);
    for (int i = 0; i < u->n_removed; i++)
        free(u->removed[i]);
    free(u->topics);
    free(u->removed);
    free(u->brokers);
    kv_free(&u->broker_config);
    kv_free(&u->default_config);
    config_changes_free(u->topic_configs, u->n_topic_configs);
    config_changes_free(u->user_configs, u->n_user_configs);
    config_changes_free(u->quota_configs, u->n_quota_configs);
    acl_changes_free(u->acl_changes, u->n_acl_changes);
    ff_free(&u->features);
    free(u);
}

static void config_changes_free(topic_config_change_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].name);
        kv_free(&v[i].config);
    }
    free(v);
}

static void add_config_change(topic_config_change_t **v, int *n, const char *name,
                              kv_list_t *config)
{
    *v = xrealloc(*v, sizeof(**v) * (size_t)(*n + 1));
    topic_config_change_t *c = &(*v)[(*n)++];
    c->name = xstrdup(name);
    c->config = *config;
    *config = (kv_list_t){ 0 };
}

void metadata_update_add_topic_config(metadata_update_t *u, const char *name, kv_list_t *config)
{
    add_config_change(&u->topic_configs, &u->n_topic_configs, name, config);
}

void metadata_update_add_user_config(metadata_update_t *u, const char *name, kv_list_t *config)
{
    add_config_change(&u->user_configs, &u->n_user_configs, name, config);
}

void metadata_update_add_quota_config(metadata_update_t *u, const char *entity, kv_list_t *config)
{
    add_config_change(&u->quota_configs, &u->n_quota_configs, entity, config);
}

/* Users' SCRAM credentials and every quota entity. */
static void apply_user_configs(metadata_update_t *u)
{
    if (u->users_full) {
        scram_store_clear();
        cq_clear();
    }
    for (int i = 0; i < u->n_user_configs; i++) {
        scram_store_apply(u->user_configs[i].name, &u->user_configs[i].config);
        char entity[1024];
        snprintf(entity, sizeof(entity), "users/%s", u->user_configs[i].name);
        cq_apply(entity, &u->user_configs[i].config);
    }
    for (int i = 0; i < u->n_quota_configs; i++)
        cq_apply(u->quota_configs[i].name, &u->quota_configs[i].config);
    if (u->users_full || u->n_user_configs > 0)
        log_info("config", "SCRAM credentials: %d user(s) after %d update(s)", scram_store_count(),
                 u->n_user_configs);
}

/* New overrides for topics in the cache (others learn theirs when they
 * are loaded). */
static void apply_topic_configs(broker_t *b, metadata_update_t *u)
{
    for (int i = 0; i < u->n_topic_configs; i++) {
        topic_config_change_t *c = &u->topic_configs[i];
        mc_topic_t *t = mc_find_topic(c->name);
        if (!t)
            continue;
        log_info("config", "Processing override for entityPath: topics/%s with config: %d keys",
                 c->name, c->config.n);
        kv_free(&t->cfg);
        t->cfg = c->config;
        c->config = (kv_list_t){ 0 };
        t->cfg_loaded = true;
        bdyn_topic_changed(b, t);
    }
}

void metadata_update_add_topic(metadata_update_t *u, mc_topic_t *t)
{
    u->topics = xrealloc(u->topics, sizeof(*u->topics) * (size_t)(u->n_topics + 1));
    u->topics[u->n_topics++] = t;
}

void metadata_update_add_removed(metadata_update_t *u, const char *name)
{
    u->removed = xrealloc(u->removed, sizeof(*u->removed) * (size_t)(u->n_removed + 1));
    u->removed[u->n_removed++] = xstrdup(name);
}

typedef struct stale_ctx {
    char (*names)[256];
    int32_t *parts;
    int n;
} stale_ctx_t;

static void collect_stale(partition_log_t *pl, void *arg)
{
    stale_ctx_t *c = arg;
    mc_topic_t *t = mc_find_topic(pl->topic);
    if (t && pl->partition < t->n_partitions)
        return;
    c->names = xrealloc(c->names, sizeof(*c->names) * (size_t)(c->n + 1));
    c->parts = xrealloc(c->parts, sizeof(*c->parts) * (size_t)(c->n + 1));
    snprintf(c->names[c->n], 256, "%s", pl->topic);
    c->parts[c->n] = pl->partition;
    c->n++;
}

/* Logs of topics that no longer exist go. */
static void drop_stale_logs(void)
{
    stale_ctx_t stale = { 0 };
    logmgr_foreach(collect_stale, &stale);
    for (int i = 0; i < stale.n; i++)
        logmgr_delete(stale.names[i], stale.parts[i]);
    free(stale.names);
    free(stale.parts);
}

/* Updates waiting to be applied, oldest first, and how far the head got.
 * Event-loop thread. */
typedef struct apply_job {
    metadata_update_t *u;
    void (*then)(void *arg);
    void *arg;
    bool started;               /* controller, brokers, removals done */
    bool removed_any;
    int topic;                  /* next topic of u->topics */
    mc_topic_t *current;        /* that topic, once in the cache */
    int partition;              /* next partition of it */
    log_settings_t settings;
    struct apply_job *next;
} apply_job_t;

static struct {
    apply_job_t *head, *tail;
    struct event *pump;
} ap;

/* One slice of the loop's time for metadata, about this long. */
#define APPLY_SLICE_MS 2

typedef struct name_entry {
    const char *name;
    UT_hash_handle hh;
} name_entry_t;

/* Topics in the cache that a full update does not name are gone. */
static bool remove_absent(const metadata_update_t *u)
{
    bool removed = false;
    name_entry_t *present = NULL;
    name_entry_t *entries = xcalloc((size_t)u->n_topics + 1, sizeof(*entries));
    for (int i = 0; i < u->n_topics; i++) {
        entries[i].name = u->topics[i]->name;
        HASH_ADD_KEYPTR(hh, present, entries[i].name, strlen(entries[i].name), &entries[i]);
    }
    mc_topic_t *t, *tmp;
    HASH_ITER(hh, mc_topics(), t, tmp) {
        name_entry_t *e;
        HASH_FIND_STR(present, t->name, e);
        if (!e) {
            rm_remove_topic(t->name);
            mc_remove_topic(t->name);
            removed = true;
        }
    }
    HASH_CLEAR(hh, present);
    free(entries);
    return removed;
}

/* Everything of an update but its topics: cheap, done at once. */
static void apply_start(broker_t *b, apply_job_t *j)
{
    metadata_update_t *u = j->u;
    if (u->has_controller) {
        b->controller_id = u->controller_id;
        b->controller_epoch = u->controller_epoch;
        b->is_controller = u->controller_id == b->cfg->broker_id;
    }
    if (u->has_brokers) {
        for (int i = 0; i < u->n_brokers; i++)
            if (u->brokers[i].id == b->cfg->broker_id)
                b->broker_epoch = u->brokers[i].epoch;
        mc_seed_brokers(u->brokers, u->n_brokers);
    }
    if (u->has_broker_configs)
        bdyn_replace(b, &u->broker_config, &u->default_config);
    apply_user_configs(u);
    authorizer_apply(u);
    if (u->has_features)
        features_apply(&u->features);
    j->removed_any = u->n_removed > 0;
    for (int i = 0; i < u->n_removed; i++) {
        rm_remove_topic(u->removed[i]);
        mc_remove_topic(u->removed[i]);
    }
    if (u->full && remove_absent(u))
        j->removed_any = true;
    j->started = true;
}

/* Puts the job's next topic into the cache; NULL if it is unchanged
 * (nothing to apply; the copy is dropped). */
static mc_topic_t *open_topic(broker_t *b, apply_job_t *j)
{
    mc_topic_t *t = j->u->topics[j->topic];
    mc_topic_t *old = mc_find_topic(t->name);
    if (old && mc_topic_same(old, t))
        return NULL;
    bool shrank = old && old->n_partitions > t->n_partitions;
    j->u->topics[j->topic] = NULL;
    topic_settings_load(b, t);
    mc_put_topic(t);
    if (shrank)
        rm_trim_topic(t);
    j->settings = rm_log_settings(b, t);
    j->partition = 0;
    return t;
}

/* Applies as much of the job as fits in one slice; true when it is done.
 * A topic is in the cache from its first slice on; until all its
 * partitions are applied, requests for the rest get a retriable
 * NOT_LEADER_OR_FOLLOWER, as in Kafka before LeaderAndIsr arrives. */
static bool apply_slice(broker_t *b, apply_job_t *j)
{
    int64_t deadline = mono_ms() + APPLY_SLICE_MS;
    if (!j->started)
        apply_start(b, j);
    metadata_update_t *u = j->u;
    while (j->topic < u->n_topics) {
        if (!j->current && !(j->current = open_topic(b, j))) {
            j->topic++;
            continue;
        }
        mc_topic_t *t = j->current;
        while (j->partition < t->n_partitions) {
            rm_apply_partition(b, t, j->partition++, &j->settings);
            if (mono_ms() >= deadline)
                return false;
        }
        j->current = NULL;
        j->topic++;
        if (mono_ms() >= deadline)
            return false;
    }
    if (j->removed_any || u->full)
        drop_stale_logs();
    apply_topic_configs(b, u);
    return true;
}

static void job_finish(apply_job_t *j)
{
    if (j->then)
        j->then(j->arg);
    metadata_update_free(j->u);
    free(j);
}

/* Event-loop thread: one slice of the oldest update, then yield. */
static void pump(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    broker_t *b = arg;
    apply_job_t *j = ap.head;
    if (!j)
        return;
    if (!b->shutting_down && !apply_slice(b, j)) {
        event_active(ap.pump, 0, 0);
        return;
    }
    ap.head = j->next;
    if (!ap.head)
        ap.tail = NULL;
    job_finish(j);
    if (ap.head)
        event_active(ap.pump, 0, 0);
}

void metadata_apply(broker_t *b, metadata_update_t *u, void (*then)(void *arg), void *arg)
{
    apply_job_t *j = xcalloc(1, sizeof(*j));
    j->u = u;
    j->then = then;
    j->arg = arg;
    if (b->shutting_down) {
        /* Nothing is applied any more; callers still hear back. */
        job_finish(j);
        return;
    }
    if (!ap.pump)
        ap.pump = event_new(b->base, -1, 0, pump, b);
    if (ap.tail)
        ap.tail->next = j;
    else
        ap.head = j;
    ap.tail = j;
    event_active(ap.pump, 0, 0);
}

void metadata_apply_shutdown(void)
{
    while (ap.head) {
        apply_job_t *j = ap.head;
        ap.head = j->next;
        job_finish(j);
    }
    ap.tail = NULL;
    if (ap.pump)
        event_free(ap.pump);
    ap.pump = NULL;
}
