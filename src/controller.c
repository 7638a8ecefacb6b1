/*
 * controller.c - owns this broker's ZooKeeper session and its view of the
 * cluster in ZooKeeper: /cluster/id, watch handling and the loading of
 * brokers and topics, which it posts to the event loop as metadata
 * updates.  It runs the registration and the controller election that
 * zk_election.c implements.
 *
 * Threads: controller_connect() runs on the main thread before the broker
 * listens.  Everything else here runs on the ZooKeeper thread (zk_worker.h)
 * and owns `zv`, except zk_event_in(), which runs on the ZooKeeper client's
 * completion thread and only touches zv.events under zv.events_lock.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#include "acl_zk.h"
#include "authorizer.h"
#include "config_changes.h"
#include "controller.h"
#include "controller_state.h"
#include "feature_versioning.h"
#include "logging.h"
#include "topic_admin.h"
#include "util.h"
#include "zk_election.h"
#include "zk_layout.h"
#include "zk_session.h"
#include "zk_worker.h"

typedef struct name_entry {
    char *name;
    UT_hash_handle hh;
} name_entry_t;

/* Watch events waiting for the next sync, coalesced. */
typedef struct pending_events {
    bool expired, controller, brokers, topics, deletions;
    bool reassignments, preferred_elections;    /* /admin znodes the controller watches */
    bool config_changes;            /* /config/changes children */
    bool acl_changes;               /* /kafka-acl-changes, /kafka-acl-extended-changes */
    bool features;                  /* /feature */
    name_entry_t *changed_topics;   /* /brokers/topics/<t> data changes */
    bool sync_scheduled;
} pending_events_t;

static struct {
    broker_t *b;                    /* only b->cfg is read here */
    zk_session_t *zs;
    void (*on_ready)(broker_t *b);
    /* ZooKeeper thread only: */
    zk_election_t el;               /* registration and election state */
    int32_t *live;                  /* registered broker ids */
    int n_live;
    name_entry_t *known;            /* topics loaded from /brokers/topics */
    /* Completion thread -> ZooKeeper thread, under events_lock: */
    pthread_mutex_t events_lock;
    pending_events_t events;
} zv = { .events_lock = PTHREAD_MUTEX_INITIALIZER };

static void sync_job(void *arg);

zk_session_t *controller_session(void)
{
    return zv.zs;
}

int32_t controller_ibp(void)
{
    return zv.b->cfg->ibp;
}

bool controller_is_active(void)
{
    return zv.el.is_controller;
}

int32_t controller_epoch_now(void)
{
    return zv.el.epoch;
}

int32_t controller_epoch_zkversion(void)
{
    return zv.el.epoch_zkversion;
}

static bool name_set_has(name_entry_t *set, const char *name)
{
    name_entry_t *e;
    HASH_FIND_STR(set, name, e);
    return e != NULL;
}

static void name_set_add(name_entry_t **set, const char *name)
{
    if (name_set_has(*set, name))
        return;
    name_entry_t *e = xcalloc(1, sizeof(*e));
    e->name = xstrdup(name);
    HASH_ADD_KEYPTR(hh, *set, e->name, strlen(e->name), e);
}

static void name_set_del(name_entry_t **set, const char *name)
{
    name_entry_t *e;
    HASH_FIND_STR(*set, name, e);
    if (e) {
        HASH_DEL(*set, e);
        free(e->name);
        free(e);
    }
}

static void name_set_clear(name_entry_t **set)
{
    name_entry_t *e, *tmp;
    HASH_ITER(hh, *set, e, tmp) {
        HASH_DEL(*set, e);
        free(e->name);
        free(e);
    }
}

void controller_forget_topic(const char *name)
{
    name_set_del(&zv.known, name);
}

/* ---- watch intake (ZooKeeper client's completion thread) ---- */

/*
 * @locality the ZooKeeper client's completion thread
 * @locks zv.events_lock
 */
static void zk_event_in(void *ctx, const zk_event_t *ev)
{
    (void)ctx;
    static const char topics_prefix[] = "/brokers/topics/";
    pthread_mutex_lock(&zv.events_lock);
    pending_events_t *pe = &zv.events;
    bool interesting = true;
    if (ev->type == ZOO_SESSION_EVENT)
        interesting = pe->expired |= ev->state == ZOO_EXPIRED_SESSION_STATE;
    else if (!strcmp(ev->path, "/controller"))
        pe->controller = true;
    else if (!strcmp(ev->path, "/brokers/ids"))
        pe->brokers = true;
    else if (!strcmp(ev->path, "/brokers/topics"))
        pe->topics = true;
    else if (!strcmp(ev->path, "/admin/delete_topics"))
        pe->deletions = true;
    else if (!strcmp(ev->path, "/admin/reassign_partitions"))
        pe->reassignments = true;
    else if (!strcmp(ev->path, "/admin/preferred_replica_election"))
        pe->preferred_elections = true;
    else if (!strcmp(ev->path, "/config/changes"))
        pe->config_changes = true;
    else if (!strcmp(ev->path, "/feature"))
        pe->features = true;
    else if (!strcmp(ev->path, "/kafka-acl-changes") ||
             !strcmp(ev->path, "/kafka-acl-extended-changes"))
        pe->acl_changes = true;
    else if (!strncmp(ev->path, topics_prefix, sizeof(topics_prefix) - 1) &&
             !strchr(ev->path + sizeof(topics_prefix) - 1, '/'))
        name_set_add(&pe->changed_topics, ev->path + sizeof(topics_prefix) - 1);
    else
        interesting = false;
    bool schedule = interesting && !pe->sync_scheduled;
    if (schedule)
        pe->sync_scheduled = true;
    pthread_mutex_unlock(&zv.events_lock);
    if (schedule && zkw_submit(sync_job, NULL, NULL) < 0) {
        pthread_mutex_lock(&zv.events_lock);
        zv.events.sync_scheduled = false;
        pthread_mutex_unlock(&zv.events_lock);
    }
}

/* ---- main thread, before listening ---- */

static int ensure_cluster_id(broker_t *b)
{
    int rc;
    char *s = zk_get_string(zv.zs, "/cluster/id", false, NULL, &rc);
    if (!s && rc == ZNONODE) {
        kuuid_t u = zkl_random_uuid();
        char id[23];
        zkl_uuid_to_base64(&u, id);
        char *j = zkl_cluster_id(id);
        if (zk_create_persistent_path(zv.zs, "/cluster") < 0) {
            free(j);
            return -1;
        }
        rc = zoo_create(zk_handle(zv.zs), "/cluster/id", j, (int)strlen(j), &ZOO_OPEN_ACL_UNSAFE,
                        0, NULL, 0);
        free(j);
        if (rc != ZOK && rc != ZNODEEXISTS) {
            log_error("controller", "Cannot create /cluster/id: %s", zerror(rc));
            return -1;
        }
        s = zk_get_string(zv.zs, "/cluster/id", false, NULL, &rc);
    }
    if (!s) {
        log_error("controller", "Cannot read /cluster/id: %s", zerror(rc));
        return -1;
    }
    if (zkl_parse_cluster_id(s, b->cluster_id, sizeof(b->cluster_id)) < 0) {
        log_error("controller", "Malformed /cluster/id: %s", s);
        free(s);
        return -1;
    }
    free(s);
    return 0;
}

int controller_connect(broker_t *b)
{
    zv.b = b;
    b->controller_id = -1;
    b->broker_epoch = -1;
    zv.el.controller_id = -1;
    zv.zs = zk_open(b->cfg->zk_connect, b->cfg->zk_session_timeout_ms,
                    b->cfg->zk_connection_timeout_ms, zk_event_in, NULL);
    if (!zv.zs)
        return -1;
    for (int i = 0; i < zk_persistent_path_count; i++)
        if (zk_create_persistent_path(zv.zs, zk_persistent_paths[i]) < 0)
            return -1;
    return ensure_cluster_id(b);
}

/* ---- ZooKeeper thread ---- */

/* /brokers/ids with a watch, then every registration in one pipelined round. */
static void load_brokers(metadata_update_t *u)
{
    struct String_vector ids;
    if (zk_children(zv.zs, "/brokers/ids", true, &ids) != ZOK)
        return;
    zk_read_t *reads = xcalloc((size_t)ids.count + 1, sizeof(*reads));
    char (*paths)[64] = xcalloc((size_t)ids.count + 1, 64);
    for (int i = 0; i < ids.count; i++) {
        snprintf(paths[i], 64, "/brokers/ids/%s", ids.data[i]);
        reads[i].path = paths[i];
    }
    zk_get_many(zv.zs, reads, ids.count, false);
    u->brokers = xcalloc((size_t)ids.count + 1, sizeof(mc_broker_t));
    free(zv.live);
    zv.live = xcalloc((size_t)ids.count + 1, sizeof(int32_t));
    zv.n_live = 0;
    for (int i = 0; i < ids.count; i++) {
        mc_broker_t *mb = &u->brokers[u->n_brokers];
        if (reads[i].rc != ZOK ||
            zkl_parse_broker(reads[i].data, zv.b->cfg->inter_broker_listener, mb) < 0)
            continue;
        mb->id = atoi(ids.data[i]);
        mb->epoch = reads[i].st.czxid;
        zv.live[zv.n_live++] = mb->id;
        u->n_brokers++;
    }
    u->has_brokers = true;
    zk_reads_free(reads, ids.count);
    free(reads);
    free(paths);
    deallocate_String_vector(&ids);
}

/*
 * @locality the ZooKeeper thread
 * @locks none
 */
mc_topic_t **controller_load_topics(char **names, int n)
{
    mc_topic_t **out = xcalloc((size_t)n + 1, sizeof(*out));
    if (n == 0)
        return out;
    /* Only the controller reads partition states: other brokers learn
     * them from its UpdateMetadata, as Kafka's do, so a topic's creation
     * is not one read per partition per broker. */
    bool with_states = zv.el.is_controller;
    /* Round 1: assignments (watched) and configs. */
    zk_read_t *reads = xcalloc((size_t)n * 2, sizeof(*reads));
    char (*paths)[ZK_PATH_MAX] = xcalloc((size_t)n * 2, ZK_PATH_MAX);
    for (int i = 0; i < n; i++) {
        snprintf(paths[i], ZK_PATH_MAX, "/brokers/topics/%s", names[i]);
        snprintf(paths[n + i], ZK_PATH_MAX, "/config/topics/%s", names[i]);
        reads[i].path = paths[i];
        reads[n + i].path = paths[n + i];
    }
    zk_get_many(zv.zs, reads, n, true);
    zk_get_many(zv.zs, reads + n, n, false);
    int n_parts = 0;
    for (int i = 0; i < n; i++) {
        out[i] = reads[i].rc == ZOK ? zkl_parse_topic(names[i], reads[i].data) : NULL;
        if (!out[i])
            continue;
        if (reads[n + i].rc == ZOK)
            zkl_parse_config(reads[n + i].data, &out[i]->cfg);
        out[i]->cfg_loaded = true;
        n_parts += out[i]->n_partitions;
        name_set_add(&zv.known, names[i]);
    }
    zk_reads_free(reads, 2 * n);
    free(reads);
    free(paths);
    if (!with_states) {
        for (int i = 0; i < n; i++)
            for (int p = 0; out[i] && p < out[i]->n_partitions; p++)
                mc_partition_state_unknown(&out[i]->parts[p]);
        return out;
    }
    /* Round 2: every partition state of every topic at once. */
    zk_read_t *sr = xcalloc((size_t)n_parts + 1, sizeof(*sr));
    char (*sp)[ZK_PATH_MAX] = xcalloc((size_t)n_parts + 1, ZK_PATH_MAX);
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int p = 0; out[i] && p < out[i]->n_partitions; p++, k++) {
            snprintf(sp[k], ZK_PATH_MAX, "/brokers/topics/%s/partitions/%d/state", names[i], p);
            sr[k].path = sp[k];
        }
    zk_get_many(zv.zs, sr, n_parts, false);
    k = 0;
    for (int i = 0; i < n; i++) {
        for (int p = 0; out[i] && p < out[i]->n_partitions; p++, k++) {
            mc_partition_t *mp = &out[i]->parts[p];
            mp->zk_version = -1;
            if (sr[k].rc == ZOK &&
                zkl_parse_partition_state(sr[k].data, sr[k].st.version, mp) < 0)
                log_warn("controller", "Malformed partition state at %s", sp[k]);
        }
        if (out[i]) {
            topic_admin_assign_topic_id(out[i]);
            topic_admin_create_partition_states(out[i], zv.live, zv.n_live);
        }
    }
    zk_reads_free(sr, n_parts);
    free(sr);
    free(sp);
    return out;
}

/* /brokers/topics with a watch: loads the topics not known yet (all of them
 * when full) and reports the ones gone. */
static void load_topic_list(metadata_update_t *u, bool full)
{
    struct String_vector names;
    int rc = zk_children(zv.zs, "/brokers/topics", true, &names);
    if (rc != ZOK) {
        log_error("controller", "Cannot list /brokers/topics: %s", zerror(rc));
        return;
    }
    if (full)
        name_set_clear(&zv.known);
    name_entry_t *present = NULL;
    char **fresh = xcalloc((size_t)names.count + 1, sizeof(char *));
    int n_fresh = 0;
    for (int i = 0; i < names.count; i++) {
        name_set_add(&present, names.data[i]);
        if (!name_set_has(zv.known, names.data[i]))
            fresh[n_fresh++] = names.data[i];
    }
    name_entry_t *e, *tmp;
    HASH_ITER(hh, zv.known, e, tmp) {
        if (!name_set_has(present, e->name)) {
            metadata_update_add_removed(u, e->name);
            name_set_del(&zv.known, e->name);
        }
    }
    mc_topic_t **loaded = controller_load_topics(fresh, n_fresh);
    for (int i = 0; i < n_fresh; i++)
        if (loaded[i])
            metadata_update_add_topic(u, loaded[i]);
    u->full = full;
    free(loaded);
    free(fresh);
    name_set_clear(&present);
    deallocate_String_vector(&names);
}

/* Topics whose assignment znode changed: re-read those only. */
static void reload_topics(metadata_update_t *u, name_entry_t *changed)
{
    int n = (int)HASH_COUNT(changed), k = 0;
    char **names = xcalloc((size_t)n + 1, sizeof(char *));
    name_entry_t *e, *tmp;
    HASH_ITER(hh, changed, e, tmp)
        names[k++] = e->name;
    mc_topic_t **loaded = controller_load_topics(names, n);
    for (int i = 0; i < n; i++) {
        if (loaded[i]) {
            metadata_update_add_topic(u, loaded[i]);
        } else if (name_set_has(zv.known, names[i])) {
            name_set_del(&zv.known, names[i]);
            metadata_update_add_removed(u, names[i]);
        }
    }
    free(loaded);
    free(names);
}

static void set_controller_fields(metadata_update_t *u)
{
    u->has_controller = true;
    u->controller_id = zv.el.controller_id;
    u->controller_epoch = zv.el.epoch;
}

/* /admin/delete_topics (with a watch): the active controller queues the
 * topics marked there (topic_deletion.h); others only keep the watch. */
static void process_deletions(void)
{
    if (!zv.el.is_controller || !cs_is_active()) {
        struct String_vector kids;   /* keep the watch armed */
        if (zk_children(zv.zs, "/admin/delete_topics", true, &kids) == ZOK)
            deallocate_String_vector(&kids);
        return;
    }
    topic_admin_process_deletions(zv.b->cfg->delete_topic_enable);
}

/*
 * @locality the event-loop thread
 * @locks none
 */
static void post_update(void *arg)
{
    metadata_apply(zv.b, arg, NULL, NULL);
}

void controller_publish(metadata_update_t *u)
{
    loop_post(zv.b->loop, post_update, u);
}

/* /feature with a watch, for ApiVersions (feature_versioning.h). */
static void load_features(metadata_update_t *u)
{
    u->has_features = true;
    features_load(zv.zs, zv.b->cfg->ibp, &u->features);
}

/* Registration, election and a full load: at start-up and after expiry.
 * @locality the ZooKeeper thread
 * @locks none (zv is the ZooKeeper thread's)
 */
static int establish(metadata_update_t *u)
{
    if (zke_register_broker(zv.zs, zv.b->cfg) < 0)
        return -1;
    zke_elect(zv.zs, zv.b->cfg->broker_id, &zv.el);
    set_controller_fields(u);
    load_brokers(u);
    if (zv.el.is_controller)
        load_topic_list(u, true);
    config_changes_load(zv.zs, zv.b->cfg->broker_id, u);
    if (authorizer_enabled())
        acl_zk_load(zv.zs, u);
    if (zv.el.is_controller)
        cs_activate(zv.b, u->brokers, u->n_brokers, u->topics, u->n_topics);
    else
        cs_deactivate();
    cs_on_configs(u);
    process_deletions();
    load_features(u);
    return 0;
}

/* The active controller learns what changed (controller_state.h). */
static void tell_controller(const metadata_update_t *u)
{
    if (!zv.el.is_controller)
        return;
    if (u->n_removed)
        cs_on_topics_removed(u->removed, u->n_removed);
    if (u->has_brokers)
        cs_on_brokers(u->brokers, u->n_brokers);
    if (u->n_topics)
        cs_on_topics(u->topics, u->n_topics);
    cs_on_configs(u);
}

typedef struct startup {
    metadata_update_t *u;
    int rc;
} startup_t;

/*
 * @locality the ZooKeeper thread
 * @locks none (zv is the ZooKeeper thread's)
 */
static void startup_run(void *arg)
{
    startup_t *s = arg;
    s->rc = establish(s->u);
}

static void startup_applied(void *arg)
{
    (void)arg;
    if (zv.on_ready)
        zv.on_ready(zv.b);
}

/*
 * @locality the event-loop thread
 * @locks none
 */
static void startup_done(void *arg)
{
    startup_t *s = arg;
    broker_t *b = zv.b;
    if (s->rc < 0) {
        b->startup_failed = true;
        metadata_update_free(s->u);
        startup_applied(NULL);
    } else {
        metadata_apply(b, s->u, startup_applied, NULL);
    }
    free(s);
}

/* A new session after expiry: register, elect and reload everything.
 * @locality the ZooKeeper thread
 * @locks none (zv is the ZooKeeper thread's)
 */
static void recover_expired_session(metadata_update_t *u)
{
    log_warn("controller", "ZooKeeper session expired; re-registering broker %d",
             zv.b->cfg->broker_id);
    zv.el.is_controller = false;
    cs_deactivate();
    if (zk_reopen(zv.zs) < 0 || establish(u) < 0)
        log_error("controller", "Re-registration after session expiry failed");
}

bool controller_should_retry(int rc, int *attempts)
{
    if (rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT && rc != ZSESSIONEXPIRED &&
        rc != ZINVALIDSTATE)
        return false;
    if (++*attempts > 600)
        return false;
    if (zk_is_expired(zv.zs)) {
        metadata_update_t *u = metadata_update_new();
        recover_expired_session(u);
        loop_post(zv.b->loop, post_update, u);
    } else {
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return true;
}

/* Applies coalesced watch events: each kind of change re-reads only what
 * @locality the ZooKeeper thread
 * @locks zv.events_lock
 * it concerns. */
static void sync_job(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&zv.events_lock);
    pending_events_t pe = zv.events;
    memset(&zv.events, 0, sizeof(zv.events));
    pthread_mutex_unlock(&zv.events_lock);
    metadata_update_t *u = metadata_update_new();
    if (pe.expired && zk_is_expired(zv.zs)) {
        recover_expired_session(u);
    } else {
        bool was_controller = zv.el.is_controller;
        if (pe.controller) {
            zke_elect(zv.zs, zv.b->cfg->broker_id, &zv.el);
            set_controller_fields(u);
        }
        bool became = zv.el.is_controller && !was_controller;
        if (pe.brokers || became)
            load_brokers(u);
        /* Only the controller reads topics: the others learn them from
         * its UpdateMetadata and LeaderAndIsr, as Kafka's brokers do. */
        if (zv.el.is_controller && (pe.topics || became))
            load_topic_list(u, became);
        if (zv.el.is_controller && !became && pe.changed_topics)
            reload_topics(u, pe.changed_topics);
        if (pe.config_changes)
            config_changes_process(zv.zs, zv.b->cfg->broker_id, u);
        if (pe.acl_changes && authorizer_enabled())
            acl_zk_process(zv.zs, u);
        if (became)
            cs_activate(zv.b, u->brokers, u->n_brokers, u->topics, u->n_topics);
        else if (was_controller && !zv.el.is_controller)
            cs_deactivate();
        else
            tell_controller(u);
        if (!zv.el.is_controller)
            cs_on_configs(u);       /* the broker layers, for a later election */
        if (pe.deletions || became)
            process_deletions();
        if (zv.el.is_controller && !became && pe.reassignments)
            cs_zk_reassignments();
        if (zv.el.is_controller && !became && pe.preferred_elections)
            cs_zk_preferred_elections();
        if (pe.features)
            load_features(u);
    }
    name_set_clear(&pe.changed_topics);
    loop_post(zv.b->loop, post_update, u);
}

/*
 * @locality the main thread, before the loop runs
 * @locks none (the ZooKeeper thread starts here)
 */
void controller_start(broker_t *b, void (*on_ready)(broker_t *b))
{
    zv.on_ready = on_ready;
    zkw_start(b->loop);
    startup_t *s = xcalloc(1, sizeof(*s));
    s->u = metadata_update_new();
    if (zkw_submit(startup_run, startup_done, s) < 0)
        die("cannot submit the start-up job");
}

/* @locality the ZooKeeper thread
 * @locks none */
static void shutdown_job(void *arg)
{
    (void)arg;
    cs_deactivate();
}

/*
 * @locality the main thread
 * @locks zv.events_lock
 */
void controller_stop(broker_t *b)
{
    (void)b;
    if (zkw_submit(shutdown_job, NULL, NULL) < 0)
        cs_deactivate();
    zkw_stop();
    if (zv.zs) {
        /* Closing the session removes our ephemeral znodes at once. */
        zk_close(zv.zs);
        zv.zs = NULL;
    }
    zkw_free();
    name_set_clear(&zv.known);
    pthread_mutex_lock(&zv.events_lock);
    name_set_clear(&zv.events.changed_topics);
    pthread_mutex_unlock(&zv.events_lock);
    free(zv.live);
    zv.live = NULL;
}
