/*
 * leader_epoch.h - a partition's leader-epoch cache (Kafka's
 * LeaderEpochFileCache): the start offset of every leader epoch in its log,
 * in the `leader-epoch-checkpoint` file Kafka keeps in the partition
 * directory.  A leader answers OffsetsForLeaderEpoch and a Fetch's
 * last-fetched epoch from it; a follower finds where its log diverges from
 * its leader's with it (KIP-101/279), never by the high watermark alone.
 *
 * The cache lives in its partition_log (event-loop thread); the file is
 * written from a copy on the disk thread.
 */
#ifndef SAMSA_LEADER_EPOCH_H
#define SAMSA_LEADER_EPOCH_H

#include <stdbool.h>
#include <stdint.h>

#define LEADER_EPOCH_FILE "leader-epoch-checkpoint"
#define UNDEFINED_EPOCH (-1)
#define UNDEFINED_EPOCH_OFFSET (-1LL)

typedef struct epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} epoch_entry_t;

typedef struct epoch_cache {
    epoch_entry_t *v;
    int n;
    int cap;
} epoch_cache_t;

void lec_free(epoch_cache_t *c);
/* How far a copy of a log (ending at copy_end) agrees with its source
 * (ending at source_end), judged by their epochs as a follower judges its
 * leader's: up to the first epoch the source lacks or starts elsewhere,
 * or where the source's run of an epoch ends first; at most both ends.
 * A copy without epochs agrees up to the shorter end. */
int64_t lec_agreed_end(const epoch_cache_t *copy, int64_t copy_end, const epoch_cache_t *source,
                       int64_t source_end);
/* Records that `epoch` starts at start_offset (an older or equal epoch is
 * ignored, as Kafka's assign).  True if the cache changed. */
bool lec_assign(epoch_cache_t *c, int32_t epoch, int64_t start_offset);
/* After the log was truncated to end_offset: entries starting at or past it
 * go.  True if the cache changed. */
bool lec_truncate_from_end(epoch_cache_t *c, int64_t end_offset);
/* The log start moved to start_offset: earlier epochs go and the first
 * remaining one starts there.  True if the cache changed. */
bool lec_truncate_from_start(epoch_cache_t *c, int64_t start_offset);
/* The newest epoch, or UNDEFINED_EPOCH. */
int32_t lec_latest_epoch(const epoch_cache_t *c);
/* Kafka's endOffsetFor: the largest epoch <= requested and the offset the
 * next epoch starts at (log_end_offset for the latest); UNDEFINED for both
 * when the requested epoch is newer than any. */
int64_t lec_end_offset_for(const epoch_cache_t *c, int32_t requested, int64_t log_end_offset,
                           int32_t *epoch_out);
/* Reads <dir>/leader-epoch-checkpoint: 1 loaded, 0 absent, -1 malformed. */
int lec_read(const char *dir, epoch_cache_t *c);
/* Any thread: writes the entries to <dir>/leader-epoch-checkpoint (write,
 * fsync, rename).  0 or -1. */
int lec_write(const char *dir, const epoch_entry_t *v, int n);

#endif
