/*
 * topics_zk.h - samsa-topics --zookeeper (Kafka 2.x's TopicCommand on
 * ZooKeeper directly).
 */
#ifndef SAMSA_TOPICS_ZK_H
#define SAMSA_TOPICS_ZK_H

#include <stdbool.h>
#include <stdint.h>

enum { TOPICS_ZK_CREATE, TOPICS_ZK_LIST, TOPICS_ZK_DESCRIBE, TOPICS_ZK_DELETE };

typedef struct topics_zk {
    const char *connect;            /* host:port[/chroot] */
    int action;                     /* TOPICS_ZK_* */
    const char *topic;              /* NULL: all (list, describe) */
    int32_t partitions;
    int16_t replication_factor;
    const char **config_k, **config_v;
    int n_config;
    bool if_exists, if_not_exists, exclude_internal;
    bool disable_rack_aware;        /* --disable-rack-aware */
} topics_zk_t;

/* Prints Kafka 2.8's output; the exit status. */
int topics_zookeeper(const topics_zk_t *o);

#endif
