/*
 * client_quotas.h - byte-rate quotas per user and client-id as Kafka's
 * ClientQuotaManager enforces them (KIP-55, KIP-219): the quota entities
 * of /config/users/<u>, /config/users/<u>/clients/<c>, /config/clients/<c>
 * (and their <default>s), resolved with Kafka's precedence, a rate per
 * quota entity over quota.window.num (11) windows of
 * quota.window.size.seconds (1), and the throttle time that brings the
 * observed rate back to the quota: (rate - quota) / quota * window.
 *
 * Enforced: producer_byte_rate, consumer_byte_rate, request_percentage
 * (the event-loop time a client's requests take, in percent of one
 * thread) and controller_mutation_rate (KIP-599: partitions created,
 * added or deleted per second, through a token bucket holding
 * quota.window.num x quota.window.size.seconds worth of them, as Kafka's
 * ControllerMutationQuotaManager with its TokenBucket stat).
 *
 * Event-loop thread only.
 */
#ifndef SAMSA_CLIENT_QUOTAS_H
#define SAMSA_CLIENT_QUOTAS_H

#include <stdbool.h>
#include <stdint.h>

#include "kv_list.h"

enum cq_type { CQ_PRODUCE, CQ_FETCH, CQ_REQUEST, CQ_MUTATION, CQ_TYPES };

/* Replaces one entity's quotas: entity is the path below /config, as
 * ZooKeeper names it ("users/alice", "users/<default>/clients/app",
 * "clients/<default>"); a config without quota keys removes it. */
void cq_apply(const char *entity, const kv_list_t *config);
void cq_clear(void);
int cq_count(void);
/* Whether any quota is configured (nothing to record otherwise). */
bool cq_active(void);
/* Records a value (bytes, or percent of a thread-second) for the client
 * (user as authenticated, client-id as sent) and returns the throttle
 * time in ms (0 within its quota or with none). */
int32_t cq_record(enum cq_type type, const char *user, const char *client_id, double value,
                  int64_t now_ms);
/* Takes a recorded value back (a throttled fetch answers no data). */
void cq_unrecord(enum cq_type type, const char *user, const char *client_id, double value,
                 int64_t now_ms);
/* The most a client can take in one quota window without being throttled
 * (quota x (samples - 1) x window; Kafka's getMaxValueInQuotaWindow), or
 * -1 with no quota. */
double cq_window_max(enum cq_type type, const char *user, const char *client_id);

/* One request's controller mutation quota (Kafka's ControllerMutationQuota):
 * strict from the version an API makes it so (CreateTopics 6, DeleteTopics
 * 5, CreatePartitions 3), permissive before. */
typedef struct mutation_quota {
    const char *user;
    char client_id[256];
    bool strict;
    int32_t throttle_ms;        /* the last violation's, 0 if none */
    int64_t recorded_ms;        /* when it was recorded */
} mutation_quota_t;

/* Charges permits (partitions) to the client's bucket.  Strict: false,
 * charging nothing, when the bucket is already below zero (the mutation
 * gets THROTTLING_QUOTA_EXCEEDED); permissive: always true.  A bucket
 * below zero after the charge sets the throttle to the time it takes to
 * refill to zero.  A NULL q, or no quota, always allows. */
bool cq_mutation_record(mutation_quota_t *q, double permits, int64_t now_ms);
/* The throttle a response carries: the last violation's, less the time
 * since it was recorded. */
int32_t cq_mutation_throttle(const mutation_quota_t *q, int64_t now_ms);

#endif
