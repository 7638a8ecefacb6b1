/*
 * producer_snapshot.h - a partition directory's producer-state snapshots,
 * Kafka's <20-digit offset>.snapshot files (their bytes: producer_state.h).
 * The offset in the name is the log end offset the state describes.
 *
 * Called where a log is opened or closed (the disk thread, or the main
 * thread at shutdown) and from disk-thread jobs; on the event loop only
 * the *_in_background calls, which hand the files to the disk thread.
 */
#ifndef SAMSA_PRODUCER_SNAPSHOT_H
#define SAMSA_PRODUCER_SNAPSHOT_H

#include <stdint.h>

#include "producer_state.h"

/* Loads the newest valid snapshot at or below max_offset into ps and
 * returns its offset; -1 if there is none (ps untouched).  Snapshots above
 * max_offset (a log truncated since) and invalid ones are deleted, as
 * Kafka does. */
int64_t psnap_load_latest(const char *dir, int64_t max_offset, producer_state_t *ps);
/* Writes <dir>/<offset>.snapshot (atomically, synced); -1 on error. */
int psnap_write(const char *dir, int64_t offset, const producer_state_t *ps);
/* Deletes the snapshots above offset (the log was truncated to it). */
void psnap_delete_above(const char *dir, int64_t offset);
/* At a segment roll (event loop): the state is encoded now and written by
 * the disk thread, which then keeps only the newest PSNAP_KEEP snapshots
 * (Kafka keeps one per segment; older ones only shorten a rebuild after a
 * truncation deep into the log). */
#define PSNAP_KEEP 3
void psnap_write_in_background(const char *dir, int64_t offset, const producer_state_t *ps);
/* After a truncation (event loop): the disk thread deletes the snapshots
 * above offset. */
void psnap_delete_above_in_background(const char *dir, int64_t offset);

#endif
