/*
 * controlled_shutdown.h - Kafka's controlled shutdown: on SIGTERM a broker
 * asks the controller (ControlledShutdown) to move its leadership and ISR
 * memberships to other brokers, keeps serving meanwhile, and stops once
 * it leads nothing the cluster could lead elsewhere -- or after
 * controlled.shutdown.max.retries tries, as Kafka does.  Clients see
 * NOT_LEADER_OR_FOLLOWER and move on instead of timeouts.
 * Event-loop thread (the answer arrives on the controller channel's thread
 * and is posted back).
 */
#ifndef SAMSA_CONTROLLED_SHUTDOWN_H
#define SAMSA_CONTROLLED_SHUTDOWN_H

#include <stdbool.h>

#include "broker.h"

/* Starts it; finished(b) runs on the loop when the broker may stop.
 * False (nothing started) if controlled.shutdown.enable is off or no
 * controller is known. */
bool controlled_shutdown_start(broker_t *b, void (*finished)(broker_t *b));
bool controlled_shutdown_running(void);

#endif
