/*
 * log_partition.h - one partition's log: its directory of segments, the log
 * start/end offsets, rolling, reads for Fetch and lookups for ListOffsets.
 * Owned by the replica manager; event-loop thread only.
 */
#ifndef SAMSA_LOG_PARTITION_H
#define SAMSA_LOG_PARTITION_H

#include <stdbool.h>
#include <stdint.h>

#include "leader_epoch.h"
#include "log_segment.h"
#include "producer_state.h"

typedef struct log_settings {
    int64_t segment_bytes;
    int64_t roll_ms;
    int64_t roll_jitter_ms;         /* segment.jitter.ms */
    int32_t index_interval_bytes;
    int32_t index_size_max_bytes;
    int64_t flush_interval_messages;
    int32_t max_message_bytes;
} log_settings_t;

typedef struct partition_log {
    char *dir;
    char *topic;
    int32_t partition;
    log_segment_t **segs;
    int nsegs;
    int64_t log_start_offset;
    int64_t log_end_offset;
    int64_t recovery_point;
    int64_t unflushed;
    int64_t last_flush_ms;          /* monotonic */
    log_settings_t settings;
    producer_state_t *pstate;       /* idempotent producers */
    epoch_cache_t epochs;           /* leader-epoch-checkpoint */
    uint64_t id;                    /* unique while the broker runs (a deleted
                                     * and re-created log gets a new one) */
    int64_t roll_jitter;            /* the active segment's share of roll_jitter_ms */
    int64_t cleaned_upto;           /* compaction done below this offset */
    bool cleaning;                  /* a cleaner job holds copies of its sealed segments */
    int64_t checkpointed_hw;        /* replication-offset-checkpoint at load (or the log end) */
    bool uncleanable;               /* cleaning failed: not tried again until restart */
    bool cleaning_paused;           /* moving to another log dir (log_mover.h) */
    uint64_t truncations;           /* times truncated (a copy of it restarts) */
} partition_log_t;

/* A contiguous region of a segment file, for sendfile. */
typedef struct log_read {
    int fd;
    int64_t file_off;
    int32_t len;
} log_read_t;

/* Opens (creating if needed) <root>/<topic>-<partition>, recovering
 * segments at or above recovery_point unless clean.  NULL on failure. */
partition_log_t *plog_open(const char *root, const char *topic, int32_t partition,
                           const log_settings_t *settings, int64_t recovery_point,
                           int64_t log_start_offset, bool clean);
/* The same for a log in `dir` (a future log's "<topic>-<p>.<id>-future"). */
partition_log_t *plog_open_dir(const char *dir, const char *topic, int32_t partition,
                               const log_settings_t *settings, int64_t recovery_point,
                               int64_t log_start_offset, bool clean);
/* Renames the log's directory (its files stay open).  0, or -1 logged. */
int plog_rename_dir(partition_log_t *pl, const char *dir);
void plog_close(partition_log_t *pl);
/* Closes the log and removes its directory. */
void plog_delete(partition_log_t *pl);
/* Appends validated batches (offsets are assigned here).  Returns the first
 * offset, or -1 on I/O failure. */
int64_t plog_append(partition_log_t *pl, uint8_t *buf, int32_t len, int64_t n_records,
                    int64_t max_timestamp, int64_t offset_of_max_ts_delta,
                    int32_t leader_epoch, bool log_append_time, int64_t now);
/* A follower's append (the one path fetched data takes into a log, see
 * replica_fetcher.h): whole, CRC-checked batches exactly as the leader
 * wrote them, the first starting at the log end.  Leader epochs and
 * producer state follow the batches.  Returns 0, or a Kafka error code
 * (CORRUPT_MESSAGE, OFFSET_OUT_OF_RANGE for a gap, KAFKA_STORAGE_ERROR). */
int16_t plog_append_replica(partition_log_t *pl, uint8_t *buf, int32_t len, int64_t now);
/* Kafka's truncateTo: removes everything from the batch holding `offset`
 * on (a follower whose log diverged from its new leader's); epochs and
 * producer state follow, and the log start comes down to `offset` if it
 * was above.  Below the first segment the log restarts empty at `offset`
 * (plog_truncate_fully).  At or past the log end only an epoch entry past
 * it goes.  0 or -1. */
int plog_truncate_to(partition_log_t *pl, int64_t offset);
/* Kafka's truncateFullyAndStartAt: every segment, producer, snapshot and
 * leader epoch goes; the log restarts empty with its start and end at
 * `offset` (a follower below its leader's log start).  0 or -1. */
int plog_truncate_fully(partition_log_t *pl, int64_t offset);
/* Writes the leader-epoch checkpoint on the disk thread. */
void plog_persist_epochs(partition_log_t *pl);
/* Reads up to max_bytes starting at the batch holding `offset`, never past
 * `upto` (the high watermark).  A first batch larger than max_bytes is
 * returned whole when min_one is set (KIP-74).  Returns a Kafka error code. */
int16_t plog_read(partition_log_t *pl, int64_t offset, int64_t upto, int32_t max_bytes,
                  bool min_one, log_read_t *out);
/* Where the batch holding `offset` starts: its segment's base offset and
 * byte position (the log end for the log end offset).  Cheap at the log
 * end (no index lookup), for the fetch purgatory. */
void plog_position(partition_log_t *pl, int64_t offset, int64_t *seg_base, int64_t *pos);
/* The first record at or after the log start whose timestamp is >= ts,
 * searched in the first segment whose largest timestamp is >= ts (Kafka's
 * searchOffsetInLocalLog).  1 if found, 0 if none, -1 on a read error. */
int plog_offset_for_timestamp(partition_log_t *pl, int64_t ts, timestamp_offset_t *out);
/* The first record carrying the log's largest timestamp (ListOffsets -3):
 * 1, 0 or -1 as above. */
int plog_max_timestamp(partition_log_t *pl, timestamp_offset_t *out);
/* fsync of the active segment, now (flush.messages: the producer is
 * answered after it) or on the disk thread (the scheduled flusher); the
 * recovery point advances once the data is on disk. */
int plog_flush(partition_log_t *pl);
void plog_flush_async(partition_log_t *pl);
int64_t plog_size_bytes(const partition_log_t *pl);

/* At a clean shutdown: the producer state as Kafka's <log end>.snapshot,
 * for a log that has producers (Kafka, finding no snapshot after a clean
 * shutdown, starts with none).  Not on the event loop. */
int plog_write_producer_snapshot(partition_log_t *pl);

/* Internals shared by log_partition.c and log_follower.c only. */
log_segment_t *plog_new_segment(partition_log_t *pl, int64_t base, bool create, bool active);
log_segment_t *plog_active_segment(partition_log_t *pl);
bool plog_should_roll(partition_log_t *pl, int32_t len, int64_t last_offset,
                      int64_t batch_max_timestamp, int64_t now);
int plog_roll(partition_log_t *pl);
/* Rolls to a segment based at max(offset, log end) (Kafka's roll with an
 * expected next offset: a follower's batch after a gap). */
int plog_roll_at(partition_log_t *pl, int64_t offset);
int plog_segment_for_offset(const partition_log_t *pl, int64_t offset);

#endif
