/*
 * client_quotas.h - byte-rate quotas per user and client-id as Kafka's
 * ClientQuotaManager enforces them (KIP-55, KIP-219): the quota entities
 * of /config/users/<u>, /config/users/<u>/clients/<c>, /config/clients/<c>
 * (and their <default>s), resolved with Kafka's precedence, a rate per
 * quota entity over quota.window.num (11) windows of
 * quota.window.size.seconds (1), and the throttle time that brings the
 * observed rate back to the quota: (rate - quota) / quota * window.
 *
 * Partial: producer_byte_rate only; consumer_byte_rate, request_percentage
 * and controller_mutation_rate are stored and described, not enforced.
 *
 * Event-loop thread only.
 */
#ifndef SAMSA_CLIENT_QUOTAS_H
#define SAMSA_CLIENT_QUOTAS_H

#include <stdint.h>

#include "kv_list.h"

enum cq_type { CQ_PRODUCE, CQ_FETCH };

/* Replaces one entity's quotas: entity is the path below /config, as
 * ZooKeeper names it ("users/alice", "users/<default>/clients/app",
 * "clients/<default>"); a config without quota keys removes it. */
void cq_apply(const char *entity, const kv_list_t *config);
void cq_clear(void);
int cq_count(void);
/* Records bytes for the client (user as authenticated, client-id as
 * sent) and returns the throttle time in ms (0 within its quota or with
 * none). */
int32_t cq_record(enum cq_type type, const char *user, const char *client_id, double bytes,
                  int64_t now_ms);

#endif
