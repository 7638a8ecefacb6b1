/*
 * controller.h - this broker's part in the ZooKeeper-coordinated cluster:
 * registration under /brokers/ids, controller election through /controller
 * and /controller_epoch, and keeping the metadata cache in step with
 * ZooKeeper.
 *
 * Threads: controller_connect() runs on the main thread before the broker
 * listens.  Everything else that talks to ZooKeeper runs on the ZooKeeper
 * thread (zk_worker.h): watch events are coalesced there (a changed topic
 * re-reads that topic, a changed broker set the brokers), reads are
 * pipelined, and what changed is posted to the event loop as a
 * metadata_update_t that metadata_apply() applies.
 *
 * When this broker is the elected controller, what changed is also handed
 * to the controller's context (controller_state.h), which elects leaders
 * and sends LeaderAndIsr/UpdateMetadata.  Only the controller reads
 * topics (assignments, partition states) from ZooKeeper; every broker
 * learns them from the controller's UpdateMetadata and LeaderAndIsr, as
 * Kafka's do, and reads a topic's config when it first hears of it
 * (topic_config_load.h).  The controller's own broker also puts what it
 * reads into its cache (the same states it sends), but it too hosts a
 * partition only once its own LeaderAndIsr asks.
 */
#ifndef SAMSA_CONTROLLER_H
#define SAMSA_CONTROLLER_H

#include "broker.h"
#include "acl.h"
#include "feature_versioning.h"
#include "kv_list.h"
#include "metadata_cache.h"

/* Main thread, before listening: connects to ZooKeeper, creates Kafka's
 * persistent paths, reads or creates /cluster/id.  -1 on failure. */
int controller_connect(broker_t *b);
/* Starts the ZooKeeper thread, which registers the broker, runs the
 * election and loads the cluster's metadata; on_ready(b) runs on the loop
 * once that is applied (b->startup_failed set if registration failed). */
void controller_start(broker_t *b, void (*on_ready)(broker_t *b));
/* Main thread, after the loop: stops the ZooKeeper thread and closes the
 * session (ephemeral znodes go at once). */
void controller_stop(broker_t *b);

/* What the ZooKeeper thread learnt, for the event loop to apply. */
typedef struct metadata_update {
    bool full;                      /* topics: replace the whole set */
    bool has_brokers;
    mc_broker_t *brokers;
    int n_brokers;
    bool has_controller;
    int32_t controller_id;
    int32_t controller_epoch;
    mc_topic_t **topics;            /* new or changed (the cache takes them) */
    int n_topics;
    char **removed;
    int n_removed;
    /* Dynamic configuration (config_changes.c): both broker layers, and
     * topics whose overrides changed. */
    bool has_broker_configs;
    kv_list_t broker_config;        /* /config/brokers/<id> */
    kv_list_t default_config;       /* /config/brokers/<default> */
    struct topic_config_change *topic_configs;
    int n_topic_configs;
    /* /config/users/<sanitized user> znodes read (SCRAM credentials);
     * users_full: they are all of them (the store is replaced). */
    bool users_full;
    struct topic_config_change *user_configs;
    int n_user_configs;
    /* Other quota entities, named by their path below /config
     * ("users/<u>/clients/<c>", "clients/<c>"); with users_full, all. */
    struct topic_config_change *quota_configs;
    int n_quota_configs;
    /* ACLs (acl_zk.c): resources whose entries changed, each with all of
     * its entries (none: it has no ACLs left); acls_full: all of them. */
    bool acls_full;
    struct acl_change *acl_changes;
    int n_acl_changes;
    /* /feature, read (feature_versioning.h). */
    bool has_features;
    finalized_features_t features;
} metadata_update_t;

typedef struct acl_change {
    acl_resource_t r;
    acl_entry_t *e;
    int n;
} acl_change_t;

typedef struct topic_config_change {
    char *name;
    kv_list_t config;               /* the whole of /config/<topics|users>/<name> */
} topic_config_change_t;

/* Event-loop thread: queues u to be applied to the metadata cache and the
 * hosted partitions (metadata_apply.c) in slices of about 2 ms, in order
 * with earlier updates, so a large update (a full reload after session
 * expiry, thousands of new partitions) never holds the loop for long.
 * then(arg), if set, runs once u is applied; u is freed.
 * metadata_apply_shutdown() finishes what is queued (main thread, after
 * the loop). */
void metadata_apply(broker_t *b, metadata_update_t *u, void (*then)(void *arg), void *arg);
void metadata_apply_shutdown(void);
metadata_update_t *metadata_update_new(void);
void metadata_update_free(metadata_update_t *u);
void metadata_update_add_topic(metadata_update_t *u, mc_topic_t *t);
void metadata_update_add_removed(metadata_update_t *u, const char *name);
/* Takes config. */
void metadata_update_add_topic_config(metadata_update_t *u, const char *name, kv_list_t *config);
void metadata_update_add_user_config(metadata_update_t *u, const char *name, kv_list_t *config);
void metadata_update_add_quota_config(metadata_update_t *u, const char *entity, kv_list_t *config);
/* Copies. */
void metadata_update_add_acls(metadata_update_t *u, const acl_resource_t *r, const acl_entry_t *e,
                              int n);
void metadata_update_add_all_acls(metadata_update_t *u, const acl_store_t *s);

/* ZooKeeper thread: hands u to the event loop, which applies it (in order
 * with the thread's other updates) and frees it. */
void controller_publish(metadata_update_t *u);

/* ZooKeeper thread (topic_admin.c calls these). */
struct zk_session *controller_session(void);
/* inter.broker.protocol.version (broker_config_t.ibp; fixed at start). */
int32_t controller_ibp(void);
bool controller_is_active(void);
int32_t controller_epoch_now(void);
/* The /controller_epoch znode version that fences the controller's writes. */
int32_t controller_epoch_zkversion(void);
/* Reads topics' assignments and configs (pipelined), and on the
 * controller their partition states too, creating missing ones; other
 * brokers' partitions come back with unknown states (UpdateMetadata fills
 * them).  Marks the topics known so their watches are not mistaken for new
 * topics. */
mc_topic_t **controller_load_topics(char **names, int n);
/* For a ZooKeeper call that failed with rc: true if it should be made
 * again, after waiting out a connection loss (up to about a minute) or
 * re-establishing an expired session (registration, election, reload). */
bool controller_should_retry(int rc, int *attempts);
/* Forgets topics deleted by this broker. */
void controller_forget_topic(const char *name);

#endif
