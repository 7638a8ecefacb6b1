/*
 * replica_fetcher.h - follower replication (Kafka's ReplicaFetcherManager
 * and ReplicaFetcherThread): for each leader broker, num.replica.fetchers
 * threads each fetch a share of the partitions this broker follows from
 * it, with Fetch carrying replica_id (and, from v12, the last fetched
 * epoch, so the leader tells a diverged follower where to truncate).
 *
 * Who owns what:
 *   - the event loop decides what is followed (fetcher_follow/unfollow,
 *     called when LeaderAndIsr makes this broker a follower or leader) and
 *     owns the logs;
 *   - a fetcher thread owns its connection to the leader and its
 *     partitions' fetch positions.  It hands every response to the loop in
 *     one loop_post() and waits for it to be applied (rf_apply(): the one
 *     path fetched data takes into a log, see replica_follower.c), which
 *     gives it the new fetch positions.  The wait is the fetcher's, never
 *     the loop's.
 *
 * Each fetcher keeps a fetch session (KIP-227, fetch_session_client.h)
 * with its leader, so a steady-state fetch names only partitions whose
 * position moved.  A throttled partition that has not caught up sits out
 * rounds while the follower replication rate is over its bound
 * (replication_quota.h).
 */
#ifndef SAMSA_REPLICA_FETCHER_H
#define SAMSA_REPLICA_FETCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "proto_codec.h"

/* One partition's share of a fetch response, handed to the loop. */
typedef struct fetched {
    char topic[256];
    int32_t partition;
    int32_t leader_id;
    int32_t leader_epoch;           /* the fetcher's; stale results are dropped */
    int16_t error;
    int64_t high_watermark;
    int64_t log_start_offset;
    uint8_t *records;
    int32_t len;
    bool diverging;                 /* the leader reported a divergence */
    int32_t diverging_epoch;
    int64_t diverging_end_offset;
    int64_t truncate_to;            /* >= 0: truncate there (offset out of range) */
    /* Filled by the loop: */
    bool applied;
    int64_t next_offset;
    int32_t last_epoch;
    int64_t own_log_start;          /* reported in the next fetch */
    bool throttled;                 /* follower.replication.throttled.replicas names it */
    bool in_sync;                   /* the log reaches the leader's high watermark */
} fetched_t;

/* Event-loop thread: follow (or re-follow with a new leader/epoch) a
 * partition whose log ends at fetch_offset with last_epoch its newest
 * epoch. */
void fetcher_follow(broker_t *b, const char *topic, int32_t partition, int32_t leader_id,
                    const char *host, int32_t port, int32_t leader_epoch, int64_t fetch_offset,
                    int32_t last_epoch);
void fetcher_unfollow(const char *topic, int32_t partition);
/* Event-loop thread: num.replica.fetchers changed (dynamic); partitions
 * whose fetcher index changes move to their new fetcher, and fetchers
 * left with none stop (Kafka's resizeThreadPool). */
void fetchers_resize(broker_t *b, int n);
/* Event-loop thread: fetchers that follow no partition stop, as Kafka's
 * shutdownIdleFetcherThreads after each LeaderAndIsr; their threads are
 * joined once they have ended (never waited for on the loop). */
void fetchers_shutdown_idle(void);
/* Main thread, after the loop stopped: every fetcher thread ends. */
void fetchers_shutdown(void);

/* replica_follower.c, on the event loop: applies fetched data to logs. */
void rf_apply(broker_t *b, fetched_t *items, int n);

#endif
