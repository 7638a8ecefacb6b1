/*
 * replica_assignment.c - owns Kafka's replica placement
 * (AdminUtils.assignReplicasToBrokers), used when topics are created and
 * when partitions are added: rack-unaware when no broker has broker.rack,
 * rack-aware when every broker has one.
 */
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_cache.h"
#include "replica_assignment.h"
#include "util.h"

static int random_below(int n)
{
    unsigned r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (unsigned)mono_ms();
    return (int)(r % (unsigned)n);
}

/* Kafka's replicaIndex. */
static int replica_index(int first, int shift, int r, int n)
{
    int s = 1 + (shift + r) % (n - 1);
    return (first + s) % n;
}

int racks_present(const char *const *racks, int n_brokers)
{
    int with = 0;
    for (int i = 0; racks && i < n_brokers; i++)
        with += racks[i] && racks[i][0];
    return with == 0 ? 0 : with == n_brokers ? 1 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Kafka's getRackAlternatedBrokerList: the racks sorted by name, one
 * broker (ascending id) of each in turn.  ids is sorted ascending; out
 * gets indexes into ids. */
static void rack_alternated(const char *const *racks, int n, int *out)
{
    const char **names = xcalloc((size_t)n, sizeof(*names));
    int nr = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int k = 0; k < nr && !seen; k++)
            seen = !strcmp(names[k], racks[i]);
        if (!seen)
            names[nr++] = racks[i];
    }
    qsort(names, (size_t)nr, sizeof(*names), cmp_str);
    int *next = xcalloc((size_t)nr, sizeof(int));   /* next broker index to take, per rack */
    int placed = 0;
    for (int r = 0; placed < n; r = (r + 1) % nr) {
        while (next[r] < n && strcmp(racks[next[r]], names[r]))
            next[r]++;
        if (next[r] < n)
            out[placed++] = next[r]++;
    }
    free(next);
    free(names);
}

static int count_racks(const char *const *racks, int n)
{
    int distinct = 0;
    for (int i = 0; i < n; i++) {
        bool before = false;
        for (int k = 0; k < i && !before; k++)
            before = !strcmp(racks[k], racks[i]);
        distinct += !before;
    }
    return distinct;
}

/* Kafka's assignReplicasToBrokersRackAware: the rack-alternated list, and
 * each further replica the next broker (at the shift) on a rack without a
 * replica yet while there is one, and not already a replica. */
static void assign_rack_aware(const int32_t *ids, const char *const *racks, int n,
                              int32_t pid, int32_t n_partitions, int16_t rf, int start,
                              int shift, int32_t *out)
{
    int *order = xcalloc((size_t)n, sizeof(int));
    rack_alternated(racks, n, order);
    int num_racks = count_racks(racks, n);
    const char **used_racks = xcalloc((size_t)rf, sizeof(*used_racks));
    for (int32_t i = 0; i < n_partitions; i++, pid++) {
        if (pid > 0 && pid % n == 0)
            shift++;
        int first = (int)((pid + start) % n);
        int32_t *replicas = &out[(size_t)i * (size_t)rf];
        replicas[0] = ids[order[first]];
        used_racks[0] = racks[order[first]];
        int n_rep = 1, n_racks = 1;
        for (int k = 0; n_rep < rf; k++) {
            int at = order[replica_index(first, shift * num_racks, k, n)];
            bool rack_used = false;
            for (int u = 0; u < n_racks && !rack_used; u++)
                rack_used = !strcmp(used_racks[u], racks[at]);
            if ((!rack_used || n_racks == num_racks) &&
                (!mc_ids_have(replicas, n_rep, ids[at]) || n_rep == n)) {
                replicas[n_rep++] = ids[at];
                if (!rack_used)
                    used_racks[n_racks++] = racks[at];
            }
        }
    }
    free(used_racks);
    free(order);
}

void assign_replicas(const int32_t *ids, const char *const *racks, int n_brokers,
                     int32_t first_partition, int32_t n_partitions, int16_t rf, int start_index,
                     int32_t *out)
{
    int start = start_index >= 0 ? start_index : random_below(n_brokers);
    int shift = start_index >= 0 ? start_index : random_below(n_brokers);
    int32_t pid = MAX(first_partition, 0);
    if (racks_present(racks, n_brokers) == 1) {
        assign_rack_aware(ids, racks, n_brokers, pid, n_partitions, rf, start, shift, out);
        return;
    }
    for (int32_t i = 0; i < n_partitions; i++, pid++) {
        if (pid > 0 && pid % n_brokers == 0)
            shift++;
        int first = (int)((pid + start) % n_brokers);
        int32_t *replicas = &out[(size_t)i * (size_t)rf];
        replicas[0] = ids[first];
        for (int r = 0; r < rf - 1; r++)
            replicas[r + 1] = ids[replica_index(first, shift, r, n_brokers)];
    }
}
