/*
 * log_retention.h - deletion of old segments (Kafka's deleteOldSegments:
 * retention.ms, retention.bytes, segments below the log start offset) and
 * every increment of a log's start offset (retention, DeleteRecords, a
 * follower taking its leader's).  Event-loop thread; start/stop on the
 * main thread around the loop.
 */
#ifndef SAMSA_LOG_RETENTION_H
#define SAMSA_LOG_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "log_partition.h"

/* Starts the log.retention.check.interval.ms timer. */
int retention_start(broker_t *b);
/* After the loop: forgets deletions still waiting for file.delete.delay.ms
 * (their .deleted files are removed when the logs next load). */
void retention_stop(void);
/* One retention pass over every log now (the timer's work). */
void retention_check_all(void);
/* Moves the log start offset up to `offset` (never down) with Kafka's log
 * line; the leader-epoch cache drops what lies below.  Segments wholly
 * below it go at the next check.  True if it moved. */
bool retention_increment_log_start(partition_log_t *pl, int64_t offset, const char *reason);
/* Segments deleted since start (for logs and tests). */
int64_t retention_segments_deleted(void);
/* A deleted log's "<topic>-<p>.<id>-delete" directory goes after the
 * broker's file.delete.delay.ms, as Kafka's LogManager.deleteLogs does
 * (at once when the broker is stopping: the next start removes it).
 * Event-loop thread. */
void retention_remove_dir_later(const char *dir);

#endif
