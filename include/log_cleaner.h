/*
 * log_cleaner.h - compaction of logs with cleanup.policy=compact (Kafka's
 * log cleaner): which log to clean and when, on a cleaner thread of its
 * own; the rounds themselves are cleaner_job.h.
 * Event-loop thread (start/stop on the main thread around the loop).
 */
#ifndef SAMSA_LOG_CLEANER_H
#define SAMSA_LOG_CLEANER_H

#include <stdint.h>

#include "broker.h"
#include "log_partition.h"
#include "loop.h"

/* Starts the cleaner thread and its log.cleaner.backoff.ms timer (nothing
 * when log.cleaner.enable=false).  -1 if the thread cannot start. */
int cleaner_start(broker_t *b, loop_t *loop);
/* Takes up a changed dynamic log.cleaner.backoff.ms (the other cleaner
 * keys are read at each round). */
void cleaner_reconfigure(void);
/* Lets a running round finish and stops the thread. */
void cleaner_stop(void);
/* Where the high watermark comes from (nothing above it is cleaned). */
void cleaner_set_high_watermark_source(int64_t (*hw_of)(const partition_log_t *pl));
/* The pieces of one round, also for tests: a job over pl's first n_segs
 * segments (all sealed), run with cleaner_job_run() on any thread, then
 * cleaner_finish() on the loop swaps the cleaned segments in (0, or -1 if
 * the round failed and the log is marked uncleanable). */
struct cleaner_job;
struct cleaner_job *cleaner_snapshot(partition_log_t *pl, int64_t first_dirty, int n_segs,
                                     int64_t buffer_bytes, double load_factor,
                                     int64_t delete_retention_ms);
int cleaner_finish(partition_log_t *pl, const struct cleaner_job *job);
/* Rounds completed since start. */
int64_t cleaner_rounds(void);

#endif
