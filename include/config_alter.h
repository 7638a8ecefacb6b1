/*
 * config_alter.h - changing topic and broker configurations as Kafka's
 * ZooKeeper-mode admin path does (ConfigAdminManager.preprocess, then
 * ZkAdminManager.alterConfigs / incrementalAlterConfigs): Kafka's checks
 * and messages, the new config written whole to /config/<type>/<entity>
 * with a /config/changes notification, so every broker (samsa or Kafka)
 * applies it.  The request side runs on the event loop; reading the
 * current config, checking and writing run on the ZooKeeper thread; the
 * result is applied to this broker before the answer, so a DescribeConfigs
 * right after sees it.
 */
#ifndef SAMSA_CONFIG_ALTER_H
#define SAMSA_CONFIG_ALTER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "kv_list.h"

enum { RESOURCE_TYPE_TOPIC = 2, RESOURCE_TYPE_BROKER = 4, RESOURCE_TYPE_BROKER_LOGGER = 8 };
/* IncrementalAlterConfigs' operations. */
enum { CONFIG_OP_SET = 0, CONFIG_OP_DELETE = 1, CONFIG_OP_APPEND = 2, CONFIG_OP_SUBTRACT = 3 };

typedef struct config_op {
    char *key;
    char *value;                /* NULL: null */
    int8_t op;                  /* CONFIG_OP_*; SET for AlterConfigs */
} config_op_t;

typedef struct config_resource {
    int8_t type;
    char *name;
    config_op_t *ops;
    int n_ops;
    int16_t error;
    char message[512];
} config_resource_t;

typedef struct config_alter_job config_alter_job_t;
/* Event-loop thread: every resource has its result. */
typedef void (*config_alter_done_fn)(broker_t *b, void *arg, config_resource_t *res, int n);

/* Event-loop thread.  incremental: IncrementalAlterConfigs (ops apply to
 * the stored config), else AlterConfigs (the SETs replace it).  Checks
 * what the loop can (duplicates, nulls, resource types, broker id, the
 * topic in the cache); the rest goes to the ZooKeeper thread.  Takes res
 * (n entries, strings malloc()ed); done runs on the loop with every result,
 * now (returns false) or later (returns true). */
bool config_alter(broker_t *b, config_resource_t *res, int n, bool incremental,
                  bool validate_only, config_alter_done_fn done, void *arg);
void config_resources_free(config_resource_t *res, int n);

#endif
