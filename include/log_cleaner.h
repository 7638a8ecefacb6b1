/*
 * log_cleaner.h - compaction of logs with cleanup.policy=compact (Kafka's
 * log cleaner): sealed segments keep only the latest record of each key.
 * Event-loop thread only (it runs between requests, on the loop).
 *
 * Partial: tombstones are kept (delete.retention.ms is not applied yet),
 * compressed batches are kept whole, and segments are not merged.
 */
#ifndef SAMSA_LOG_CLEANER_H
#define SAMSA_LOG_CLEANER_H

#include "log_partition.h"

/* Compacts every sealed segment of pl that has not been compacted since
 * it was sealed.  Returns bytes reclaimed, or -1 on I/O error (the log is
 * left as it was). */
int64_t cleaner_clean(partition_log_t *pl);

#endif
