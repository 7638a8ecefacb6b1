/*
 * zk_election.h - this broker's registration under /brokers/ids and the
 * controller election through /controller and /controller_epoch, as
 * Kafka's KafkaZkClient does them.
 *
 * Threads: every function runs on the ZooKeeper thread (zk_worker.h),
 * which owns the zk_election_t it is given.  Calls block on ZooKeeper and
 * retry through connection losses while the session lives, as Kafka's
 * client does (retryRequestsUntilConnected).
 */
#ifndef SAMSA_ZK_ELECTION_H
#define SAMSA_ZK_ELECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "broker_config.h"
#include "zk_session.h"

typedef struct zk_election {
    bool is_controller;             /* /controller is this session's */
    int32_t controller_id;          /* who /controller names; -1 unknown */
    int32_t epoch;                  /* ours, while is_controller */
    int32_t epoch_zkversion;        /* /controller_epoch's version we wrote */
} zk_election_t;

/* Ephemeral /brokers/ids/<id>, waiting up to a session timeout for a node
 * left by this broker's previous process.  -1 (logged) if it cannot. */
int zke_register_broker(zk_session_t *zs, const broker_config_t *cfg);

/* Kafka's elect(): learns who the controller is (re-arming the watch on
 * /controller) and, if nobody is, tries to become it.  A /controller
 * owned by this session is ours even when the answer to the creating
 * multi was lost.  If ZooKeeper cannot be read (the session expired), e
 * is left as it was: the session's recovery elects again. */
void zke_elect(zk_session_t *zs, int32_t me, zk_election_t *e);

#endif
