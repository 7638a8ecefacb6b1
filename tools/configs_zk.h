/*
 * configs_zk.h - samsa-configs --zookeeper (Kafka 2.x's ConfigCommand on
 * ZooKeeper directly).
 */
#ifndef SAMSA_CONFIGS_ZK_H
#define SAMSA_CONFIGS_ZK_H

#include <stdbool.h>

typedef struct configs_zk {
    const char *connect;            /* host:port[/chroot] */
    const char *args;               /* the command line, for Kafka's messages */
    const char *entity_type;        /* "topics" or "brokers" */
    const char *entity_name;        /* NULL: all (describe) */
    bool entity_default;
    bool alter;                     /* else describe */
    char **add_k, **add_v;
    int n_add;
    char **del;
    int n_del;
} configs_zk_t;

/* Prints Kafka 2.x's output; the exit status. */
int configs_zookeeper(const configs_zk_t *o);

#endif
