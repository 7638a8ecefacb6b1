/*
 * replica_assignment.h - Kafka's replica placement
 * (AdminUtils.assignReplicasToBrokers).  Rack-unaware: partition p's first
 * replica is broker (p + start) mod n of the sorted broker list, the others
 * follow at a shift that grows each time the partition ids wrap around the
 * brokers.  Rack-aware (every broker has broker.rack): the same walk over
 * the brokers alternated by rack, a further replica going to a rack
 * without one while there is such a rack.  Pure; any thread.
 */
#ifndef SAMSA_REPLICA_ASSIGNMENT_H
#define SAMSA_REPLICA_ASSIGNMENT_H

#include <stdint.h>

#define RACKS_MIXED_MESSAGE "Not all brokers have rack information for replica rack aware assignment."

/* 0 if no broker has a rack ("" or NULL), 1 if every one has, -1 if only
 * some have (Kafka refuses to place replicas then: RACKS_MIXED_MESSAGE). */
int racks_present(const char *const *racks, int n_brokers);

/* Fills out[i * rf + r] with replica r of partition first_partition + i,
 * for n_partitions partitions; ids are the broker ids sorted ascending
 * (n_brokers >= rf >= 1) and racks their racks (or NULL).  start_index < 0
 * picks Kafka's random start and shift; CreatePartitions passes the index
 * of the first broker whose id is at least partition 0's first replica. */
void assign_replicas(const int32_t *ids, const char *const *racks, int n_brokers,
                     int32_t first_partition, int32_t n_partitions, int16_t rf, int start_index,
                     int32_t *out);

#endif
