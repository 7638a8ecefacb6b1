/*
 * producer_ids.h - producer-id blocks from /latest_producer_id_block (Kafka's
 * ZooKeeper scheme): InitProducerId hands ids from a block this broker
 * claims (api_producer_id.c); the controller claims blocks for Java
 * brokers that ask with AllocateProducerIds (IBP 3.0+).
 */
#ifndef SAMSA_PRODUCER_IDS_H
#define SAMSA_PRODUCER_IDS_H

#include <stdint.h>

#define PID_BLOCK_SIZE 1000

/* Claims the next block for broker_id with an optimistic setData; its
 * first id, or -1.  ZooKeeper thread. */
int64_t pid_claim_block(int32_t broker_id);

#endif
