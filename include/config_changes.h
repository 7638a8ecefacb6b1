/*
 * config_changes.h - Kafka's dynamic configuration in ZooKeeper, on the
 * ZooKeeper thread: the config znodes (/config/topics/<t>,
 * /config/brokers/<id>, /config/brokers/<default>) and the change
 * notifications under /config/changes that Kafka's admin path (and Kafka
 * 2.x's `kafka-configs --zookeeper`) writes after changing one.  Every
 * broker watches /config/changes and applies each new notification's
 * entity, as Kafka's ZkConfigManager does (topics, this broker's layers,
 * users' SCRAM credentials); notifications older than 15
 * minutes are deleted, as Kafka's listener does.  What changed goes to the
 * event loop in a metadata_update_t (broker_dynamic.h applies it).
 * ZooKeeper thread only.
 */
#ifndef SAMSA_CONFIG_CHANGES_H
#define SAMSA_CONFIG_CHANGES_H

#include <stdint.h>

#include "controller.h"
#include "kv_list.h"
#include "zk_session.h"

/* At start-up and after a session expiry, after the topics are read:
 * reads both broker layers into u, watches /config/changes and applies
 * every notification there. */
void config_changes_load(zk_session_t *zs, int32_t broker_id, metadata_update_t *u);
/* /config/changes changed: applies the notifications not seen yet. */
void config_changes_process(zk_session_t *zs, int32_t broker_id, metadata_update_t *u);

/* /config/brokers/<id> and /config/brokers/<default> into u. */
void config_read_broker_layers(zk_session_t *zs, int32_t broker_id, metadata_update_t *u);
/* /config/<type>/<name> into out (empty if absent); a ZooKeeper error
 * code, ZOK or ZNONODE. */
int config_read_entity(zk_session_t *zs, const char *type, const char *name, kv_list_t *out);
/* Calls fn for every /config/<type>/<name>, with the name as ZooKeeper
 * has it (sanitized) and its config (empty for a znode without data); fn
 * may take the config (it is freed after).  Returns how many, or -1 on a
 * ZooKeeper error (fn not called). */
typedef void (*config_each_fn)(const char *name, kv_list_t *config, void *arg);
int config_each(zk_session_t *zs, const char *type, config_each_fn fn, void *arg);
/* Writes /config/<type>/<name> (created if absent) and then its change
 * notification, as Kafka's AdminZkClient.changeEntityConfig; a ZooKeeper
 * error code. */
int config_write_entity(zk_session_t *zs, const char *type, const char *name,
                        const kv_list_t *cfg);

#endif
