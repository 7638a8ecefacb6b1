/*
 * proto_codec.c - owns the Kafka primitive encodings: fixed-width big-endian
 * integers, (unsigned) varints, classic and compact (KIP-482) strings, bytes
 * and arrays, UUIDs and tagged-field sections.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto_codec.h"
#include "util.h"

kstr_t kstr_from_cstr(const char *s)
{
    if (!s)
        return KSTR_NULL;
    return (kstr_t){ s, (int32_t)strlen(s) };
}

bool kstr_eq_cstr(kstr_t s, const char *c)
{
    if (s.len < 0)
        return c == NULL;
    return c && strlen(c) == (size_t)s.len && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

char *kstr_dup(arena_t *a, kstr_t s)
{
    if (s.len < 0)
        return NULL;
    char *d = arena_alloc(a, (size_t)s.len + 1);
    if (s.len)
        memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

const char *kstr_dup_or_empty(arena_t *a, kstr_t s)
{
    char *d = kstr_dup(a, s);
    return d ? d : "";
}

/* ---- reader ---- */

void kr_init(kreader_t *r, uint8_t *buf, size_t len, arena_t *arena)
{
    r->p = buf;
    r->end = buf ? buf + len : buf;     /* NULL + 0 is undefined behaviour */
    r->arena = arena;
    r->err = 0;
}

static inline bool kr_need(kreader_t *r, size_t n)
{
    if (r->err || (size_t)(r->end - r->p) < n) {
        r->err = 1;
        return false;
    }
    return true;
}

void kr_skip(kreader_t *r, size_t n)
{
    if (kr_need(r, n))
        r->p += n;
}

int8_t kr_int8(kreader_t *r)
{
    if (!kr_need(r, 1))
        return 0;
    return (int8_t)*r->p++;
}

int16_t kr_int16(kreader_t *r)
{
    if (!kr_need(r, 2))
        return 0;
    int16_t v = be16_get(r->p);
    r->p += 2;
    return v;
}

int32_t kr_int32(kreader_t *r)
{
    if (!kr_need(r, 4))
        return 0;
    int32_t v = be32_get(r->p);
    r->p += 4;
    return v;
}

int64_t kr_int64(kreader_t *r)
{
    if (!kr_need(r, 8))
        return 0;
    int64_t v = be64_get(r->p);
    r->p += 8;
    return v;
}

uint16_t kr_uint16(kreader_t *r)
{
    return (uint16_t)kr_int16(r);
}

uint32_t kr_uint32(kreader_t *r)
{
    return (uint32_t)kr_int32(r);
}

double kr_float64(kreader_t *r)
{
    int64_t bits = kr_int64(r);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

bool kr_bool(kreader_t *r)
{
    return kr_int8(r) != 0;
}

static uint64_t kr_uvarlong(kreader_t *r, int max_bytes)
{
    uint64_t v = 0;
    for (int shift = 0, i = 0; i < max_bytes; i++, shift += 7) {
        if (!kr_need(r, 1))
            return 0;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->err = 1;
    return 0;
}

uint32_t kr_uvarint(kreader_t *r)
{
    uint64_t v = kr_uvarlong(r, 5);
    if (v > UINT32_MAX) {
        r->err = 1;
        return 0;
    }
    return (uint32_t)v;
}

int32_t kr_varint(kreader_t *r)
{
    uint32_t u = kr_uvarint(r);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t kr_varlong(kreader_t *r)
{
    uint64_t u = kr_uvarlong(r, 10);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

kuuid_t kr_uuid(kreader_t *r)
{
    kuuid_t u = { { 0 } };
    if (kr_need(r, 16)) {
        memcpy(u.b, r->p, 16);
        r->p += 16;
    }
    return u;
}

/* Length prefix of a string/bytes value; -1 is null. */
static int32_t kr_len_prefix(kreader_t *r, bool flexible, bool is_string)
{
    int32_t n;
    if (flexible)
        n = (int32_t)kr_uvarint(r) - 1;
    else
        n = is_string ? kr_int16(r) : kr_int32(r);
    if (r->err)
        return -1;
    if (n < -1) {
        r->err = 1;
        return -1;
    }
    if (n >= 0 && !kr_need(r, (size_t)n))
        return -1;
    return n;
}

kstr_t kr_string(kreader_t *r, bool flexible)
{
    int32_t n = kr_len_prefix(r, flexible, true);
    if (n < 0)
        return KSTR_NULL;
    kstr_t s = { (const char *)r->p, n };
    r->p += n;
    return s;
}

kbytes_t kr_bytes(kreader_t *r, bool flexible)
{
    int32_t n = kr_len_prefix(r, flexible, false);
    if (n < 0)
        return (kbytes_t){ NULL, -1 };
    kbytes_t b = { r->p, n };
    r->p += n;
    return b;
}

krecords_t kr_records(kreader_t *r, bool flexible)
{
    kbytes_t b = kr_bytes(r, flexible);
    return (krecords_t){ b.ptr, b.len, -1, 0 };
}

int32_t kr_array_len(kreader_t *r, bool flexible, size_t min_elem_size)
{
    int32_t n;
    if (flexible)
        n = (int32_t)kr_uvarint(r) - 1;
    else
        n = kr_int32(r);
    if (r->err)
        return -1;
    if (n < -1) {
        r->err = 1;
        return -1;
    }
    /* Refuse counts the remaining bytes cannot possibly hold, so a
     * hostile count cannot make us allocate gigabytes. */
    if (n > 0 && min_elem_size > 0 && (size_t)n > (size_t)(r->end - r->p) / min_elem_size) {
        r->err = 1;
        return -1;
    }
    return n;
}

void kr_skip_tags(kreader_t *r)
{
    uint32_t n = kr_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)kr_uvarint(r);
        uint32_t sz = kr_uvarint(r);
        kr_skip(r, sz);
    }
}

void *kr_alloc_array(kreader_t *r, int32_t n, size_t elem_size)
{
    if (n <= 0 || r->err)
        return NULL;
    /* Out of memory fails this request (its connection is closed), not
     * the broker. */
    void *p = arena_try_array(r->arena, (size_t)n, elem_size);
    if (!p)
        r->err = 1;
    return p;
}

/* ---- writer ---- */

void kw_init(kwriter_t *w)
{
    memset(w, 0, sizeof(*w));
}

/* The writer owns a dup() of every spliced descriptor, so a segment closed
 * (cleaned, deleted) before the response is sent cannot take the region
 * away or hand its descriptor number to another file. */
static void kw_close_splices(kwriter_t *w)
{
    for (int i = 0; i < w->nsplices; i++)
        if (w->splices[i].fd >= 0)
            close(w->splices[i].fd);
    w->nsplices = 0;
}

void kw_free(kwriter_t *w)
{
    kw_close_splices(w);
    free(w->buf);
    free(w->splices);
    memset(w, 0, sizeof(*w));
}

void kw_reset(kwriter_t *w)
{
    kw_close_splices(w);
    w->len = 0;
    w->nsplices = 0;
    w->spliced_bytes = 0;
    w->err = 0;
}

int64_t kw_total(const kwriter_t *w)
{
    return (int64_t)w->len + w->spliced_bytes;
}

/* Room for n more bytes, or NULL with w->err set when memory runs out (the
 * response is then dropped and its connection closed, never the broker). */
static uint8_t *kw_grow(kwriter_t *w, size_t n)
{
    if (w->err)
        return NULL;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            if (cap > SIZE_MAX / 2) {
                w->err = 1;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            w->err = 1;
            return NULL;
        }
        w->buf = nb;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void kw_raw(kwriter_t *w, const void *p, size_t n)
{
    uint8_t *d = n ? kw_grow(w, n) : NULL;
    if (d)
        memcpy(d, p, n);
}

void kw_int8(kwriter_t *w, int8_t v)
{
    uint8_t *d = kw_grow(w, 1);
    if (d)
        *d = (uint8_t)v;
}

void kw_int16(kwriter_t *w, int16_t v)
{
    uint8_t *d = kw_grow(w, 2);
    if (d)
        be16_put(d, v);
}

void kw_int32(kwriter_t *w, int32_t v)
{
    uint8_t *d = kw_grow(w, 4);
    if (d)
        be32_put(d, v);
}

void kw_int64(kwriter_t *w, int64_t v)
{
    uint8_t *d = kw_grow(w, 8);
    if (d)
        be64_put(d, v);
}

void kw_uint16(kwriter_t *w, uint16_t v)
{
    kw_int16(w, (int16_t)v);
}

void kw_uint32(kwriter_t *w, uint32_t v)
{
    kw_int32(w, (int32_t)v);
}

void kw_float64(kwriter_t *w, double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    kw_int64(w, bits);
}

void kw_bool(kwriter_t *w, bool v)
{
    kw_int8(w, v ? 1 : 0);
}

static void kw_uvarlong(kwriter_t *w, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    kw_raw(w, tmp, (size_t)n);
}

void kw_uvarint(kwriter_t *w, uint32_t v)
{
    kw_uvarlong(w, v);
}

void kw_varint(kwriter_t *w, int32_t v)
{
    kw_uvarlong(w, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

void kw_varlong(kwriter_t *w, int64_t v)
{
    kw_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void kw_uuid(kwriter_t *w, kuuid_t v)
{
    kw_raw(w, v.b, 16);
}

static void kw_len_prefix(kwriter_t *w, bool flexible, bool is_string, int32_t n)
{
    if (flexible)
        kw_uvarint(w, (uint32_t)(n + 1));
    else if (is_string)
        kw_int16(w, (int16_t)n);
    else
        kw_int32(w, n);
}

void kw_string(kwriter_t *w, bool flexible, kstr_t s)
{
    int32_t n = s.len < 0 ? -1 : s.len;
    kw_len_prefix(w, flexible, true, n);
    if (n > 0)
        kw_raw(w, s.ptr, (size_t)n);
}

void kw_bytes(kwriter_t *w, bool flexible, kbytes_t b)
{
    int32_t n = b.len < 0 ? -1 : b.len;
    kw_len_prefix(w, flexible, false, n);
    if (n > 0)
        kw_raw(w, b.ptr, (size_t)n);
}

static void kw_add_splice(kwriter_t *w, size_t at, int fd, int64_t off, int64_t len)
{
    if (w->err)
        return;
    fd = dup(fd);
    if (fd < 0) {
        w->err = 1;
        return;
    }
    if (w->nsplices == w->splice_cap) {
        int cap = w->splice_cap ? w->splice_cap * 2 : 8;
        kw_splice_t *ns = realloc(w->splices, sizeof(*w->splices) * (size_t)cap);
        if (!ns) {
            close(fd);
            w->err = 1;
            return;
        }
        w->splices = ns;
        w->splice_cap = cap;
    }
    w->splices[w->nsplices++] = (kw_splice_t){ at, fd, off, len };
    w->spliced_bytes += len;
}

void kw_records(kwriter_t *w, bool flexible, const krecords_t *rec)
{
    int32_t n = rec->len < 0 ? -1 : rec->len;
    kw_len_prefix(w, flexible, false, n);
    if (n <= 0)
        return;
    if (rec->fd < 0) {
        kw_raw(w, rec->ptr, (size_t)n);
        return;
    }
    kw_add_splice(w, w->len, rec->fd, rec->file_off, n);
}

void kw_array_len(kwriter_t *w, bool flexible, int32_t n)
{
    if (flexible)
        kw_uvarint(w, (uint32_t)(n + 1));
    else
        kw_int32(w, n);
}

void kw_put_int32_at(kwriter_t *w, size_t at, int32_t v)
{
    if (at + 4 <= w->len)
        be32_put(w->buf + at, v);
}

void kw_append(kwriter_t *w, const kwriter_t *src)
{
    size_t base = w->len;
    kw_raw(w, src->buf, src->len);
    for (int i = 0; i < src->nsplices; i++) {
        const kw_splice_t *sp = &src->splices[i];
        kw_add_splice(w, base + sp->at, sp->fd, sp->off, sp->len);
    }
}
