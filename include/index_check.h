/*
 * index_check.h - the checks of Kafka's OffsetIndex.sanityCheck and
 * TimeIndex.sanityCheck, made on every segment when a log loads: a segment
 * whose offset or time index is missing or corrupt is recovered, which
 * rebuilds both.  Kafka 3.9 makes them only on segments it recovers anyway
 * (LogSegment.sanityCheck checks just the transaction index) and answers
 * lookups from a corrupt index; samsa rebuilds it.  Runs where logs load (the disk thread, or the main
 * thread before the broker listens); it reads only the files.
 */
#ifndef SAMSA_INDEX_CHECK_H
#define SAMSA_INDEX_CHECK_H

#include <stddef.h>
#include <stdint.h>

enum index_state { INDEX_SANE, INDEX_MISSING, INDEX_CORRUPT };

/* The state of <dir>/<base>.index and .timeindex; for a missing or
 * corrupt one, why (size n) says which file and, for a corrupt one, what
 * is wrong with it, in Kafka's words. */
enum index_state index_files_check(const char *dir, int64_t base, char *why, size_t n);

#endif
