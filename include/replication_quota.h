/*
 * replication_quota.h - replication throttles as Kafka's
 * ReplicationQuotaManager applies them (what kafka-reassign-partitions
 * --throttle sets up): a byte rate for this broker as leader and as
 * follower (`leader.replication.throttled.rate`,
 * `follower.replication.throttled.rate`, per-broker dynamic configs,
 * unlimited by default) and, per topic, which replicas are throttled
 * (`leader.replication.throttled.replicas`,
 * `follower.replication.throttled.replicas`: "*" or a list of
 * "<partition>:<broker>", the entries naming this broker counting).
 *
 * Leader: a fetch from a follower that is not in the ISR reads nothing
 * from a throttled partition while the leader rate is over its bound, and
 * the records of throttled partitions sent to followers are counted.
 * Follower: a throttled partition that has not caught up is left out of
 * the fetch while the follower rate is over its bound, and what it
 * fetches is counted.
 *
 * Threads: any (the leader's on the event loop, the follower's on fetcher
 * threads); each rate is under its own lock.
 */
#ifndef SAMSA_REPLICATION_QUOTA_H
#define SAMSA_REPLICATION_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

/* RQ_ALTER_LOG_DIRS: copies into future logs (log_mover.h), bounded by
 * `replica.alter.log.dirs.io.max.bytes.per.second` (per-broker dynamic
 * config; what kafka-reassign-partitions --replica-alter-log-dirs-throttle
 * sets): while over it, no copy step reads. */
typedef enum { RQ_LEADER, RQ_FOLLOWER, RQ_ALTER_LOG_DIRS } rq_side_t;

/* The bound in bytes per second; < 0 (or Long.MAX_VALUE): none. */
void rq_set_rate(rq_side_t side, int64_t bytes_per_sec);
/* The rate is over its bound (Kafka's isQuotaExceeded). */
bool rq_exceeded(rq_side_t side);
void rq_record(rq_side_t side, int64_t bytes);
/* A topic's throttled-replicas value names this partition on broker_id
 * (NULL or "": none). */
bool rq_throttled(const char *replicas, int32_t partition, int32_t broker_id);

#endif
