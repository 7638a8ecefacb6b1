/*
 * replica_assignment.h - Kafka's rack-unaware replica placement
 * (AdminUtils.assignReplicasToBrokers): partition p's first replica is
 * broker (p + start) mod n of the sorted broker list, the others follow at
 * a shift that grows each time the partition ids wrap around the brokers.
 * Pure; any thread.
 */
#ifndef SAMSA_REPLICA_ASSIGNMENT_H
#define SAMSA_REPLICA_ASSIGNMENT_H

#include <stdint.h>

/* Fills out[i * rf + r] with replica r of partition first_partition + i,
 * for n_partitions partitions; ids are the broker ids sorted ascending
 * (n_brokers >= rf >= 1).  start_index < 0 picks Kafka's random start and
 * shift; CreatePartitions passes the index of the first broker whose id is
 * at least partition 0's first replica. */
void assign_replicas(const int32_t *ids, int n_brokers, int32_t first_partition,
                     int32_t n_partitions, int16_t rf, int start_index, int32_t *out);

#endif
