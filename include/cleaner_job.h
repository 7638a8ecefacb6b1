/*
 * cleaner_job.h - one round of compaction of one log, run on the cleaner
 * thread (Kafka's Cleaner.doClean): the key map is built from the dirty
 * section up to log.cleaner.dedupe.buffer.size, then every sealed segment
 * below the map's end is rewritten keeping the latest record of each key,
 * written as "<base>.log.cleaned" with its indexes, fsynced and swapped in
 * by renames (".log.swap" is the commit point, as in Kafka).  A log with
 * more dirty keys than the map holds is cleaned in several rounds.
 *
 * The job owns everything it touches: copied names, dup()ed descriptors of
 * the sealed segments (which the loop never modifies while pl->cleaning is
 * set) and its own output segments.  The loop swaps its segment objects
 * when the job is done (log_cleaner.c).
 *
 * Consecutive segments whose sizes add up to at most segment.bytes (and
 * whose indexes fit log.index.size.max.bytes) are cleaned into one, as
 * Kafka's groupSegmentsBySize does, so compaction does not leave a trail of
 * tiny segments.
 *
 * Transactions (cleaner_txn.h): an aborted transaction's records are
 * removed and never enter the key map; markers stay while their
 * transaction has batches, then until their delete horizon; the cleaned
 * segment's .txnindex keeps the aborted transactions whose batches remain.
 * The cleanable section ends at the last stable offset.
 */
#ifndef SAMSA_CLEANER_JOB_H
#define SAMSA_CLEANER_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "io_throttler.h"

typedef struct cleaner_segment {
    int64_t base_offset;
    int64_t size;               /* bytes of .log when the job was made */
    int64_t index_bytes;        /* of .index and .timeindex, the larger */
    int fd;                     /* dup()ed .log descriptor, closed by the job */
    /* Out: the first segment of a group cleaned into one file says how many
     * segments it replaced (its own files and the rest are gone). */
    int replaced;
} cleaner_segment_t;

typedef struct cleaner_job {
    /* In, copied on the loop. */
    uint64_t log_id;
    char *topic;
    int32_t partition;
    char *dir;
    cleaner_segment_t *segs;    /* sealed segments below first_uncleanable */
    int nsegs;
    int64_t first_dirty;
    int64_t first_uncleanable;  /* a segment base: the cleanable section's end */
    int64_t buffer_bytes;       /* log.cleaner.dedupe.buffer.size / threads */
    double load_factor;
    int32_t index_interval;
    int32_t index_max_bytes;
    int64_t segment_bytes;      /* a group of cleaned segments stays below it */
    int64_t delete_retention_ms;
    int64_t now_ms;             /* wall clock at the start (delete horizons) */
    double io_max_bytes_per_second;     /* log.cleaner.io.max.bytes.per.second */
    int64_t *producer_batches;  /* each producer's last batch base offset, sorted */
    int n_producer_batches;
    struct pstate_pid_epoch *producer_markers;  /* producers whose last entry is a
                                                 * marker, and its epoch; by pid */
    int n_producer_markers;
    struct aborted_txn *aborted; /* the log's aborted transactions that begin below
                                  * first_uncleanable, by first offset */
    int n_aborted;
    /* The cleaner thread's. */
    io_throttler_t throttle;    /* bytes read and written */
    /* Out. */
    int rc;                     /* 0, or -1 with the reason logged */
    int64_t end_offset;         /* the next round's first dirty offset */
    int64_t map_keys;
    int64_t bytes_read;
    int64_t bytes_written;
    int64_t records_read;
    int64_t records_kept;
} cleaner_job_t;

/* Cleaner thread. */
void cleaner_job_run(void *job);
/* The key map's memory is kept between rounds; this frees it once no
 * round runs (after the cleaner thread stopped). */
void cleaner_job_release_memory(void);
/* Any thread: closes what the job still holds and frees it. */
void cleaner_job_free(cleaner_job_t *job);

#endif
