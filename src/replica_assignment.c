/*
 * replica_assignment.c - owns Kafka's rack-unaware replica placement
 * (AdminUtils.assignReplicasToBrokersRackUnaware), used when topics are
 * created and when partitions are added.  Partial: rack-aware placement
 * (every broker with broker.rack) is not done; racks are ignored.
 */
#include <openssl/rand.h>

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

void assign_replicas(const int32_t *ids, int n_brokers, int32_t first_partition,
                     int32_t n_partitions, int16_t rf, int start_index, int32_t *out)
{
    int start = start_index >= 0 ? start_index : random_below(n_brokers);
    int shift = start_index >= 0 ? start_index : random_below(n_brokers);
    int32_t pid = MAX(first_partition, 0);
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
