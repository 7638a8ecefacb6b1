/*
 * offset_map.c - owns the cleaner's fixed-size key map: MD5 digests of keys
 * in an open-addressed table (linear probing), as Kafka's SkimpyOffsetMap
 * stores them.  A digest collision could make two keys share a slot; with
 * 128-bit digests that is as unlikely as it is in Kafka.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "offset_map.h"
#include "proto_codec.h"
#include "util.h"

/* Slots for the keys the dirty range can hold (plus slack so the table
 * never fills beyond the load factor), at most what the buffer allows;
 * 0 if the map could not hold a single key. */
static int64_t slots_for(int64_t buffer_bytes, double load_factor, int64_t needed)
{
    int64_t slots = buffer_bytes / OFFSET_MAP_SLOT_BYTES;
    int64_t want = (int64_t)((double)needed / load_factor) + 2;
    if (want < slots)
        slots = want;
    return slots < 2 || (int64_t)((double)slots * load_factor) < 1 ? 0 : slots;
}

static void set_limits(offset_map_t *m, int64_t slots, double load_factor)
{
    m->n_slots = slots;
    m->max_size = (int64_t)((double)slots * load_factor);
    if (m->max_size >= slots)
        m->max_size = slots - 1;    /* a lookup must always meet an empty slot */
}

int offset_map_init(offset_map_t *m, int64_t buffer_bytes, double load_factor, int64_t needed)
{
    memset(m, 0, sizeof(*m));
    m->latest_offset = -1;
    int64_t slots = slots_for(buffer_bytes, load_factor, needed);
    if (!slots || !(m->slots = calloc((size_t)slots, OFFSET_MAP_SLOT_BYTES)))
        return -1;
    set_limits(m, slots, load_factor);
    return 0;
}

int offset_map_init_reusing(offset_map_t *m, uint8_t **storage, size_t *storage_bytes,
                            int64_t buffer_bytes, double load_factor, int64_t needed)
{
    memset(m, 0, sizeof(*m));
    m->latest_offset = -1;
    int64_t slots = slots_for(buffer_bytes, load_factor, needed);
    if (!slots)
        return -1;
    size_t bytes = (size_t)slots * OFFSET_MAP_SLOT_BYTES;
    if (bytes > *storage_bytes) {
        /* Grown geometrically (within the configured buffer), so a log
         * that needs a bit more each round does not remap every time. */
        size_t grow = MAX(bytes, *storage_bytes * 2);
        grow = MIN(grow, (size_t)(buffer_bytes / OFFSET_MAP_SLOT_BYTES) * OFFSET_MAP_SLOT_BYTES);
        grow = MAX(grow, bytes);
        uint8_t *p = malloc(grow);
        if (!p)
            return -1;
        free(*storage);
        *storage = p;
        *storage_bytes = grow;
    }
    memset(*storage, 0, bytes);
    m->slots = *storage;
    set_limits(m, slots, load_factor);
    return 0;
}

void offset_map_free(offset_map_t *m)
{
    free(m->slots);
    m->slots = NULL;
}

bool offset_map_full(const offset_map_t *m)
{
    return m->size >= m->max_size;
}

static void digest(const uint8_t *key, size_t len, uint8_t out[16])
{
    unsigned int n = 0;
    if (!EVP_Digest(key, len, out, &n, EVP_md5(), NULL) || n != 16) {
        /* No MD5 (a FIPS-only provider): fall back to two FNV-1a passes
         * with different seeds.  Still 128 bits, still deterministic. */
        uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
        for (size_t i = 0; i < len; i++) {
            a = (a ^ key[i]) * 0x100000001b3ULL;
            b = (b ^ key[len - 1 - i]) * 0x100000001b3ULL;
        }
        be64_put(out, (int64_t)a);
        be64_put(out + 8, (int64_t)b);
    }
}

/* The slot holding d, or the empty slot where it would go. */
static uint8_t *find_slot(const offset_map_t *m, const uint8_t d[16])
{
    uint64_t h = (uint64_t)be64_get(d);
    int64_t i = (int64_t)(h % (uint64_t)m->n_slots);
    for (;;) {
        uint8_t *s = m->slots + (size_t)i * OFFSET_MAP_SLOT_BYTES;
        if (be64_get(s + 16) == 0 || memcmp(s, d, 16) == 0)
            return s;
        if (++i == m->n_slots)
            i = 0;
    }
}

void offset_map_put(offset_map_t *m, const uint8_t *key, size_t len, int64_t offset)
{
    uint8_t d[16];
    digest(key, len, d);
    uint8_t *s = find_slot(m, d);
    if (be64_get(s + 16) == 0) {
        memcpy(s, d, 16);
        m->size++;
    }
    be64_put(s + 16, offset + 1);
    if (offset > m->latest_offset)
        m->latest_offset = offset;
}

int64_t offset_map_get(const offset_map_t *m, const uint8_t *key, size_t len)
{
    uint8_t d[16];
    digest(key, len, d);
    const uint8_t *s = find_slot(m, d);
    return be64_get(s + 16) - 1;
}
