/*
 * proto_codec.h - Kafka wire primitives: a bounds-checked reader over a request
 * frame and a growable writer for responses.
 *
 * Both are plain values owned by whoever handles one request (the event-loop
 * thread in the broker); nothing here is shared between threads.
 */
#ifndef SAMSA_PROTO_CODEC_H
#define SAMSA_PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* A string or byte array that points into a frame (len -1 means null). */
typedef struct kstr {
    const char *ptr;
    int32_t len;
} kstr_t;

typedef struct kbytes {
    uint8_t *ptr;
    int32_t len;
} kbytes_t;

typedef struct kuuid {
    uint8_t b[16];
} kuuid_t;

/*
 * Record data.  Decoded request records point into the frame (and may be
 * rewritten in place by the leader).  Response records either point at memory
 * or name a region of a segment file, which the writer turns into a sendfile
 * splice instead of copying.
 */
typedef struct krecords {
    uint8_t *ptr;       /* inline bytes, or NULL */
    int32_t len;        /* -1 = null */
    int fd;             /* >= 0: file region [file_off, file_off+len) */
    int64_t file_off;
} krecords_t;

#define KSTR_NULL ((kstr_t){ NULL, -1 })
#define KSTR_LIT(s) ((kstr_t){ (s), (int32_t)(sizeof(s) - 1) })
kstr_t kstr_from_cstr(const char *s);
bool kstr_eq_cstr(kstr_t s, const char *c);
/* Copies into the arena with a NUL terminator (NULL for a null string). */
char *kstr_dup(arena_t *a, kstr_t s);
/* Like kstr_dup, but "" for a null string (topic names in requests). */
const char *kstr_dup_or_empty(arena_t *a, kstr_t s);

typedef struct kreader {
    uint8_t *p;
    uint8_t *end;
    arena_t *arena;
    int err;            /* set on the first underflow or malformed value */
} kreader_t;

void kr_init(kreader_t *r, uint8_t *buf, size_t len, arena_t *arena);
int8_t kr_int8(kreader_t *r);
int16_t kr_int16(kreader_t *r);
int32_t kr_int32(kreader_t *r);
int64_t kr_int64(kreader_t *r);
uint16_t kr_uint16(kreader_t *r);
uint32_t kr_uint32(kreader_t *r);
double kr_float64(kreader_t *r);
bool kr_bool(kreader_t *r);
uint32_t kr_uvarint(kreader_t *r);
int32_t kr_varint(kreader_t *r);
int64_t kr_varlong(kreader_t *r);
kuuid_t kr_uuid(kreader_t *r);
kstr_t kr_string(kreader_t *r, bool flexible);
kbytes_t kr_bytes(kreader_t *r, bool flexible);
krecords_t kr_records(kreader_t *r, bool flexible);
/* Array length: -1 for null.  Fails the reader if it cannot fit. */
int32_t kr_array_len(kreader_t *r, bool flexible, size_t min_elem_size);
void kr_skip(kreader_t *r, size_t n);
/* Skips a whole tagged-field section (used for unknown tags). */
void kr_skip_tags(kreader_t *r);
void *kr_alloc_array(kreader_t *r, int32_t n, size_t elem_size);

/* A file region to be spliced into the output at a given byte position. */
typedef struct kw_splice {
    size_t at;          /* byte offset in buf where the region belongs */
    int fd;
    int64_t off;
    int64_t len;
} kw_splice_t;

typedef struct kwriter {
    uint8_t *buf;
    size_t len;
    size_t cap;
    kw_splice_t *splices;
    int nsplices;
    int splice_cap;
    int64_t spliced_bytes;
    int err;            /* allocation failure */
} kwriter_t;

void kw_init(kwriter_t *w);
void kw_free(kwriter_t *w);
void kw_reset(kwriter_t *w);
/* Total encoded size including spliced file regions. */
int64_t kw_total(const kwriter_t *w);
void kw_raw(kwriter_t *w, const void *p, size_t n);
void kw_int8(kwriter_t *w, int8_t v);
void kw_int16(kwriter_t *w, int16_t v);
void kw_int32(kwriter_t *w, int32_t v);
void kw_int64(kwriter_t *w, int64_t v);
void kw_uint16(kwriter_t *w, uint16_t v);
void kw_uint32(kwriter_t *w, uint32_t v);
void kw_float64(kwriter_t *w, double v);
void kw_bool(kwriter_t *w, bool v);
void kw_uvarint(kwriter_t *w, uint32_t v);
void kw_varint(kwriter_t *w, int32_t v);
void kw_varlong(kwriter_t *w, int64_t v);
void kw_uuid(kwriter_t *w, kuuid_t v);
void kw_string(kwriter_t *w, bool flexible, kstr_t s);
void kw_bytes(kwriter_t *w, bool flexible, kbytes_t b);
void kw_records(kwriter_t *w, bool flexible, const krecords_t *rec);
void kw_array_len(kwriter_t *w, bool flexible, int32_t n);
/* Patches a big-endian int32 at a position already written. */
void kw_put_int32_at(kwriter_t *w, size_t at, int32_t v);
/* Appends another writer's contents (used for tagged-field payloads). */
void kw_append(kwriter_t *w, const kwriter_t *src);

static inline bool kuuid_is_zero(kuuid_t u)
{
    for (int i = 0; i < 16; i++)
        if (u.b[i])
            return false;
    return true;
}

/* Big-endian helpers over raw memory (record batch headers, index files). */
static inline int16_t be16_get(const uint8_t *p)
{
    return (int16_t)(((uint16_t)p[0] << 8) | p[1]);
}
static inline int32_t be32_get(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
                     ((uint32_t)p[2] << 8) | p[3]);
}
static inline int64_t be64_get(const uint8_t *p)
{
    return (int64_t)(((uint64_t)(uint32_t)be32_get(p) << 32) |
                     (uint32_t)be32_get(p + 4));
}
static inline void be16_put(uint8_t *p, int16_t v)
{
    p[0] = (uint8_t)((uint16_t)v >> 8);
    p[1] = (uint8_t)v;
}
static inline void be32_put(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)(u >> 24);
    p[1] = (uint8_t)(u >> 16);
    p[2] = (uint8_t)(u >> 8);
    p[3] = (uint8_t)u;
}
static inline void be64_put(uint8_t *p, int64_t v)
{
    be32_put(p, (int32_t)((uint64_t)v >> 32));
    be32_put(p + 4, (int32_t)(uint64_t)v);
}

#endif
