/*
 * offset_map.h - the log cleaner's key -> latest offset map (Kafka's
 * SkimpyOffsetMap): a fixed table of 24-byte slots, a 16-byte MD5 digest of
 * the key and the offset, so its memory is set by
 * log.cleaner.dedupe.buffer.size whatever the keys look like.  Owned by one
 * cleaning job; any thread (the cleaner thread in practice).
 */
#ifndef SAMSA_OFFSET_MAP_H
#define SAMSA_OFFSET_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFSET_MAP_SLOT_BYTES 24

typedef struct offset_map {
    uint8_t *slots;             /* digest[16] + (offset + 1) big-endian; 0 = empty */
    int64_t n_slots;
    int64_t size;               /* distinct keys stored */
    int64_t max_size;           /* n_slots * load factor: "full" beyond it */
    int64_t latest_offset;      /* last offset the map covers, -1 if none */
} offset_map_t;

/* Slots for buffer_bytes of memory, but no more than `needed` keys call
 * for at load_factor.  Returns -1 (nothing allocated) when memory is
 * short or the map could not hold a single key. */
int offset_map_init(offset_map_t *m, int64_t buffer_bytes, double load_factor, int64_t needed);
void offset_map_free(offset_map_t *m);
/* The same over caller-owned memory (*storage, *storage_bytes), grown when
 * too small and kept for the next map: the cleaner reuses one buffer, as
 * Kafka's cleaner does, so no round maps or unmaps tens of MB (which
 * would hold the process's memory-map lock against the event loop). */
int offset_map_init_reusing(offset_map_t *m, uint8_t **storage, size_t *storage_bytes,
                            int64_t buffer_bytes, double load_factor, int64_t needed);
bool offset_map_full(const offset_map_t *m);
/* Records key's offset (the latest one wins).  The caller checks
 * offset_map_full() first. */
void offset_map_put(offset_map_t *m, const uint8_t *key, size_t len, int64_t offset);
/* The offset stored for key, or -1. */
int64_t offset_map_get(const offset_map_t *m, const uint8_t *key, size_t len);

#endif
