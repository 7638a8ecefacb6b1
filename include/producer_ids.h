/*
 * producer_ids.h - producer-id blocks from /latest_producer_id_block (Kafka's
 * ZooKeeper scheme): InitProducerId hands ids from a block this broker
 * claims (api_producer_id.c); the controller claims blocks for Java
 * brokers that ask with AllocateProducerIds (IBP 3.0+).
 */
#ifndef SAMSA_PRODUCER_IDS_H
#define SAMSA_PRODUCER_IDS_H

#include <stdint.h>

#include "broker.h"

#define PID_BLOCK_SIZE 1000

/* Claims the next block for broker_id with an optimistic setData; its
 * first id, or -1.  ZooKeeper thread. */
int64_t pid_claim_block(int32_t broker_id);

/* Hands ready(arg, id) the next producer id of this broker's block (a new
 * block is claimed on the ZooKeeper thread when it runs out); id -1 if no
 * block could be claimed.  ready may run before this returns.  Event-loop
 * thread. */
typedef void (*pid_ready_fn)(void *arg, int64_t pid);
void pid_allocate(broker_t *b, pid_ready_fn ready, void *arg);

#endif
