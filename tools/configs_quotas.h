/*
 * configs_quotas.h - samsa-configs' users and clients: client quotas and
 * SCRAM credentials over --bootstrap-server, with kafka-configs' checks,
 * messages and output.
 */
#ifndef SAMSA_CONFIGS_QUOTAS_H
#define SAMSA_CONFIGS_QUOTAS_H

#include "arena.h"
#include "kclient.h"

/* One command: up to two entity types ("users", "clients") with their
 * names (NULL: none given; "": the default entity), and the configs to
 * add and delete. */
typedef struct quota_cmd {
    const char *args;           /* the command line, for error messages */
    int n;
    const char *types[2];
    const char *names[2];
    char **add_k, **add_v;
    int n_add;
    char **del;
    int n_del;
} quota_cmd_t;

/* Print as kafka-configs --describe does; exit status. */
int configs_quotas_describe(kclient_t *c, arena_t *a, const quota_cmd_t *q);
/* Alter as kafka-configs --alter does; exit status. */
int configs_quotas_alter(kclient_t *c, arena_t *a, const quota_cmd_t *q);

#endif
