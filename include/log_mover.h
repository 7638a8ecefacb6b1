/*
 * log_mover.h - moving a partition's log to another log dir while it stays
 * online (AlterReplicaLogDirs), as Kafka's future replicas and
 * ReplicaAlterLogDirsThread do:
 *   1. a future log "<topic>-<partition>.<id>-future" is created in the
 *      destination dir (disk thread) and the current log's cleaning pauses;
 *   2. the current log is copied into it batch by batch: the loop finds the
 *      region to read (plog_read at the future log's end), and the disk
 *      thread reads it (a dup()ed descriptor, up to replica.fetch.max.bytes
 *      and 1 MiB) and appends it through the follower's append path
 *      (plog_append_replica), so leader epochs, producer state and offset
 *      gaps follow the batches; while a step runs the future log is the
 *      disk thread's alone.  The current log's start offset follows too;
 *   3. once the future log's end equals the current log's (on the loop, so
 *      no append can come between), the future dir is renamed to
 *      "<topic>-<partition>", it replaces the current log everywhere, and
 *      the current one is deleted like a deleted topic's log.
 * A truncation of the current log while it is copied (a follower's) starts
 * the copy over; the partition's deletion cancels the move.
 * A move a stop interrupted is resumed once its partition has a role again
 * (lmove_resume_interrupted), as Kafka's: the future log found is recovered,
 * cut back to where its leader epochs agree with the current log's
 * (lec_agreed_end), and the copy goes on from there.
 * Event-loop thread only; the disk thread runs only the jobs' own reads.
 */
#ifndef SAMSA_LOG_MOVER_H
#define SAMSA_LOG_MOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "log_partition.h"

void lmove_init(broker_t *b);
/* Moves the hosted log of topic-partition to log dir dest_dir (cancelling
 * a move elsewhere; nothing if it is there already).  Returns a Kafka
 * error code: NONE, or KAFKA_STORAGE_ERROR. */
int16_t lmove_start(const char *topic, int32_t partition, int dest_dir);
/* Start-up, after the logs are loaded: moves whose future logs a stop left
 * start again when their partitions get a role (lmove_partition_has_role,
 * from the first LeaderAndIsr naming them). */
void lmove_resume_interrupted(void);
void lmove_partition_has_role(const char *topic, int32_t partition);
/* What DescribeLogDirs lists of a future log (with is_future_key). */
typedef struct lmove_future {
    const char *topic;
    int32_t partition;
    const char *dir;
    int64_t size;
    int64_t lag;                    /* the current log's end minus its end */
} lmove_future_t;
void lmove_foreach_future(void (*fn)(const lmove_future_t *future, void *arg), void *arg);
/* Moves under way (tests, logs). */
int lmove_count(void);
/* Closes the future logs (their dirs are removed at the next start). */
void lmove_shutdown(void);

#endif
