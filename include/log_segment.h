/*
 * log_segment.h - one Kafka log segment: <base>.log plus its sparse
 * <base>.index (8-byte entries) and <base>.timeindex (12-byte entries).
 * Owned by its partition_log; touched only by the event-loop thread, except
 * a segment the cleaner thread creates and owns until it hands it over.
 */
#ifndef SAMSA_LOG_SEGMENT_H
#define SAMSA_LOG_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "txn_index.h"

struct batch_header;

typedef struct log_segment {
    int64_t base_offset;
    int64_t next_offset;            /* last offset in the segment + 1 */
    int64_t size;                   /* bytes in .log */
    int log_fd;
    char *path_base;                /* "<dir>/<20-digit base>" */
    char suffix[16];                /* after the extension: "" or ".cleaned" */
    uint8_t *idx_map;               /* mapped; no descriptor is kept */
    int32_t idx_entries;
    int32_t idx_max_entries;
    uint8_t *tidx_map;
    int32_t tidx_entries;
    int32_t tidx_max_entries;
    int64_t max_timestamp;          /* largest timestamp appended */
    int64_t offset_of_max_timestamp;
    int64_t first_batch_timestamp;  /* for log.roll.ms; -1 if empty */
    int64_t created_ms;             /* wall clock when opened (Kafka's "created") */
    int64_t bytes_since_index;
    int32_t index_interval;
    bool active;                    /* index files mapped at full size */
    txn_index_t aborted;            /* <base>.txnindex */
    bool txn_index_rebuilt;         /* recovered: its aborted transactions are
                                     * found again while the log opens */
} log_segment_t;

/* Opens or creates a segment.  index_max_bytes is log.index.size.max.bytes.
 * Returns NULL (with a log line) on I/O error. */
/* The segment's files now live in `dir` (renamed with it; its open
 * descriptors stay valid). */
void segment_set_dir(log_segment_t *s, const char *dir);
log_segment_t *segment_open(const char *dir, int64_t base_offset, bool create, bool active,
                            int32_t index_interval, int32_t index_max_bytes);
/* The same, with files named <base>.log<suffix> etc. (the cleaner writes
 * "<base>.log.cleaned" beside the live segment, as Kafka does). */
log_segment_t *segment_open_named(const char *dir, int64_t base_offset, const char *suffix,
                                  bool create, bool active, int32_t index_interval,
                                  int32_t index_max_bytes);
void segment_close(log_segment_t *s);
/* Closes and removes the segment's files. */
void segment_delete(log_segment_t *s);
/* Appends validated batches; offsets [first, last]. Returns 0 or -1. */
int segment_append(log_segment_t *s, const uint8_t *buf, int32_t len,
                   int64_t first_offset, int64_t last_offset,
                   int64_t max_timestamp, int64_t offset_of_max_timestamp);
/* Kafka's asynchronous delete, first half (not on the event loop): the
 * segment's files are renamed to <name>.deleted and it is closed.  Returns
 * the new names, NULL-terminated and malloc()ed, for the removal
 * file.delete.delay.ms later. */
char **segment_rename_deleted(log_segment_t *s);
bool segment_index_full(const log_segment_t *s);
/* Byte position of the batch that contains offset (or the first batch after
 * it); returns size if none.  *batch_base gets that batch's base offset. */
int64_t segment_find_offset(const log_segment_t *s, int64_t offset, int64_t *batch_base);
/* The largest indexed batch start position <= limit (0 if none): a batch
 * boundary found without reading the log. */
int64_t segment_boundary_floor(const log_segment_t *s, int64_t limit);
/* A record found by time: its timestamp, offset and its batch's partition
 * leader epoch (-1 if the batch has none). */
typedef struct timestamp_offset {
    int64_t timestamp;
    int64_t offset;
    int32_t leader_epoch;
} timestamp_offset_t;

/* The first record whose timestamp is >= ts and offset >= min_offset,
 * searched inside the batches the time index points to (Kafka's
 * LogSegment.findOffsetByTimestamp).  1 if found, 0 if none, -1 if a batch
 * cannot be read. */
int segment_find_timestamp(const log_segment_t *s, int64_t ts, int64_t min_offset,
                           timestamp_offset_t *out);
/* The first record carrying the segment's largest timestamp (ListOffsets
 * -3, as Kafka's offsetOfMaxTimestamp).  1, 0 or -1 as above. */
int segment_find_max_timestamp(const log_segment_t *s, timestamp_offset_t *out);
/* Re-validates every batch, rebuilds both indexes and truncates the .log at
 * the first invalid byte; the .txnindex is emptied and marked for the
 * producer-state replay to refill.  Returns bytes truncated, or -1 on I/O
 * error. */
int64_t segment_recover(log_segment_t *s);
/* After a clean shutdown: finds the segment's end offset by walking batch
 * headers from the last index entry.  -1 if the tail is not well formed. */
int segment_load_tail(log_segment_t *s);
/* Calls fn with every whole batch of the segment read into memory, in
 * order, until fn returns < 0.  Returns 0, fn's negative value, or -1 if a
 * batch cannot be read. */
int segment_for_each_batch(log_segment_t *s,
                           int (*fn)(uint8_t *batch, const struct batch_header *h, void *arg),
                           void *arg);
/* Seals an active segment at roll: final time-index entry, trimmed indexes.
 * The data is not flushed here (the caller hands that to the disk thread). */
int segment_seal(log_segment_t *s);
int segment_flush(log_segment_t *s);
/* Calls fn with the header of every batch, in order (a pread of the 61
 * header bytes each, no payload). */
int segment_for_each_header(const log_segment_t *s,
                            int (*fn)(const struct batch_header *h, int64_t pos, void *arg),
                            void *arg);
/* The whole batch h at byte pos, malloc()ed; NULL (logged) if it cannot be
 * read. */
uint8_t *segment_read_batch(const log_segment_t *s, int64_t pos, const struct batch_header *h);
/* The offset of the first offset-index entry at or past byte position
 * (Kafka's fetchUpperBoundOffset); -1 if none. */
int64_t segment_upper_bound_offset(const log_segment_t *s, int64_t position);
/* An aborted transaction whose marker is in this segment enters its
 * .txnindex.  0 or -1. */
int segment_add_aborted(log_segment_t *s, const aborted_txn_t *t);
/* Cuts an active segment before the batch holding `offset` (its indexes
 * too).  Returns the segment's new end offset, or -1 on I/O error. */
int64_t segment_truncate_to(log_segment_t *s, int64_t offset);
/* fsync of the log and both index files. */
int segment_sync(log_segment_t *s);
/* Any thread: calls fn with every whole batch of the first `size` bytes
 * of a .log file open at fd (the cleaner reads dup()ed descriptors). */
int batch_file_foreach(int fd, int64_t size,
                       int (*fn)(uint8_t *batch, const struct batch_header *h, void *arg),
                       void *arg);

#endif
