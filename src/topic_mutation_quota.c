/*
 * topic_mutation_quota.c - owns charging topic creations and deletions to
 * the client's controller_mutation_rate (client_quotas.h) in the order
 * Kafka's ZkAdminManager charges them.  Event-loop thread only.
 */
#include <stdlib.h>

#include "jvm_order.h"
#include "kafka_errors.h"
#include "metadata_cache.h"
#include "topic_admin_internal.h"
#include "util.h"

/* controller_mutation_rate: each topic that passed the checks is charged
 * its partitions, in the order Kafka's ZkAdminManager loops over its
 * toCreate map (jvm_order.h); a strict quota below zero refuses the rest.
 * Kafka's ApiError drops THROTTLING_QUOTA_EXCEEDED's default message. */
void ta_charge_creations(const topic_spec_t *specs, int n, const int32_t *np,
                         mutation_quota_t *quota, topic_result_t *results)
{
    if (!quota || n <= 0)
        return;
    const char **names = xcalloc((size_t)n, sizeof(char *));
    int *order = xcalloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++)
        names[i] = specs[i].name;
    scala_hash_order(names, n, order);
    for (int k = 0; k < n; k++) {
        int i = order[k];
        if (!results[i].error && !cq_mutation_record(quota, np[i], now_ms()))
            ta_set_result(&results[i], KERR_THROTTLING_QUOTA_EXCEEDED, NULL);
    }
    free(order);
    free(names);
}

/* As ta_charge_creations, over the known topics in Kafka's toDelete set
 * order, each charged its partition count. */
void ta_charge_deletions(char **names, int n, mutation_quota_t *quota,
                         topic_result_t *results)
{
    if (!quota || n <= 0)
        return;
    const char **known = xcalloc((size_t)n, sizeof(char *));
    int *index = xcalloc((size_t)n, sizeof(int)), *order = xcalloc((size_t)n, sizeof(int));
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!results[i].error) {
            index[k] = i;
            known[k++] = names[i];
        }
    scala_hash_order(known, k, order);
    for (int m = 0; m < k; m++) {
        int i = index[order[m]];
        const mc_topic_t *t = mc_find_topic(names[i]);
        if (!cq_mutation_record(quota, t ? t->n_partitions : 0, now_ms()))
            ta_set_result(&results[i], KERR_THROTTLING_QUOTA_EXCEEDED, NULL);
    }
    free(order);
    free(index);
    free(known);
}
