/*
 * record_stream.c - owns streaming decompression of record batches (see
 * record_stream.h): one codec state and a 16 KiB window per stream.
 */
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto_codec.h"
#include "record_batch.h"
#include "record_stream.h"
#include "util.h"

#define WINDOW 16384
#define XERIAL_MAGIC "\x82SNAPPY\x00"
#define XERIAL_HEADER 16

struct record_stream {
    int codec;
    const uint8_t *in;
    size_t in_len, in_pos;
    uint8_t *win;                   /* decompressed bytes, [win_pos, win_len) unread */
    bool own_win;                   /* false: win is the (uncompressed) input */
    size_t win_pos, win_len;
    uint64_t produced, limit, consumed;
    bool input_done;                /* the codec said the data ended */
    const char *error;
    z_stream z;
    bool z_open;
    LZ4F_dctx *lz4;
    ZSTD_DStream *zstd;
    bool xerial;
    uint8_t *block;                 /* snappy: the current decompressed block */
    size_t block_len, block_pos;
};

static void fail(record_stream_t *s, const char *why)
{
    if (!s->error)
        s->error = why;
}

record_stream_t *rstream_open(int codec, const uint8_t *data, size_t len)
{
    if (codec < CODEC_NONE || codec > CODEC_ZSTD)
        return NULL;
    record_stream_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->codec = codec;
    s->in = data;
    s->in_len = len;
    s->limit = (uint64_t)len * RECORD_STREAM_MAX_RATIO;
    if (s->limit < RECORD_STREAM_MIN_LIMIT)
        s->limit = RECORD_STREAM_MIN_LIMIT;
    if (codec != CODEC_NONE) {
        if (!(s->win = malloc(WINDOW))) {
            free(s);
            return NULL;
        }
        s->own_win = true;
    }
    switch (codec) {
    case CODEC_GZIP:
        if (inflateInit2(&s->z, 15 + 32) != Z_OK)
            fail(s, "cannot start gzip decompression");
        else
            s->z_open = true;
        break;
    case CODEC_LZ4:
        if (LZ4F_isError(LZ4F_createDecompressionContext(&s->lz4, LZ4F_VERSION)))
            fail(s, "cannot start lz4 decompression");
        break;
    case CODEC_ZSTD:
        if (!(s->zstd = ZSTD_createDStream()) || ZSTD_isError(ZSTD_initDStream(s->zstd)))
            fail(s, "cannot start zstd decompression");
        break;
    case CODEC_SNAPPY:
        s->xerial = len >= XERIAL_HEADER && !memcmp(data, XERIAL_MAGIC, 8);
        if (s->xerial)
            s->in_pos = XERIAL_HEADER;
        break;
    default:
        break;
    }
    return s;
}

void rstream_close(record_stream_t *s)
{
    if (!s)
        return;
    if (s->z_open)
        inflateEnd(&s->z);
    if (s->lz4)
        LZ4F_freeDecompressionContext(s->lz4);
    if (s->zstd)
        ZSTD_freeDStream(s->zstd);
    free(s->block);
    if (s->own_win)
        free(s->win);
    free(s);
}

/* Snappy decompresses whole blocks (the batch, or each xerial chunk). */
static int snappy_next_block(record_stream_t *s)
{
    const uint8_t *blk = s->in + s->in_pos;
    size_t blen = s->in_len - s->in_pos;
    if (s->xerial) {
        if (blen < 4)
            return blen == 0 ? 0 : (fail(s, "truncated snappy chunk"), -1);
        uint32_t n = (uint32_t)be32_get(blk);
        if (n > blen - 4)
            return fail(s, "truncated snappy chunk"), -1;
        blk += 4;
        blen = n;
    } else if (blen == 0) {
        return 0;
    }
    size_t out_len;
    if (snappy_uncompressed_length((const char *)blk, blen, &out_len) != SNAPPY_OK ||
        out_len > s->limit - s->produced)
        return fail(s, "corrupt snappy data"), -1;
    free(s->block);
    s->block = malloc(out_len ? out_len : 1);
    if (!s->block)
        return fail(s, "out of memory decompressing snappy"), -1;
    if (snappy_uncompress((const char *)blk, blen, (char *)s->block, &out_len) != SNAPPY_OK)
        return fail(s, "corrupt snappy data"), -1;
    s->block_len = out_len;
    s->block_pos = 0;
    s->in_pos = (size_t)(blk - s->in) + blen;
    return 1;
}

/* Decompresses into the window; returns bytes made (0: end or error). */
static size_t inflate_some(record_stream_t *s)
{
    size_t out = 0;
    switch (s->codec) {
    case CODEC_GZIP: {
        s->z.next_in = (Bytef *)(s->in + s->in_pos);
        s->z.avail_in = (uInt)(s->in_len - s->in_pos);
        s->z.next_out = s->win;
        s->z.avail_out = WINDOW;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        s->in_pos = s->in_len - s->z.avail_in;
        out = WINDOW - s->z.avail_out;
        if (rc == Z_STREAM_END)
            s->input_done = true;
        else if (rc != Z_OK && !(rc == Z_BUF_ERROR && out > 0))
            fail(s, "corrupt gzip data");
        else if (out == 0 && s->in_pos == s->in_len)
            fail(s, "truncated gzip data");
        break;
    }
    case CODEC_LZ4: {
        size_t dst = WINDOW, src = s->in_len - s->in_pos;
        size_t rc = LZ4F_decompress(s->lz4, s->win, &dst, s->in + s->in_pos, &src, NULL);
        s->in_pos += src;
        out = dst;
        if (LZ4F_isError(rc))
            fail(s, "corrupt lz4 data");
        else if (rc == 0)
            s->input_done = true;
        else if (out == 0 && s->in_pos == s->in_len)
            fail(s, "truncated lz4 data");
        break;
    }
    case CODEC_ZSTD: {
        ZSTD_inBuffer ib = { s->in, s->in_len, s->in_pos };
        ZSTD_outBuffer ob = { s->win, WINDOW, 0 };
        size_t rc = ZSTD_decompressStream(s->zstd, &ob, &ib);
        s->in_pos = ib.pos;
        out = ob.pos;
        if (ZSTD_isError(rc))
            fail(s, "corrupt zstd data");
        else if (rc == 0 && s->in_pos == s->in_len && out < WINDOW)
            s->input_done = true;
        else if (out == 0 && s->in_pos == s->in_len)
            fail(s, "truncated zstd data");
        break;
    }
    case CODEC_SNAPPY:
        while (s->block_pos == s->block_len) {
            int rc = snappy_next_block(s);
            if (rc <= 0) {
                s->input_done = rc == 0;
                return 0;
            }
        }
        out = MIN(s->block_len - s->block_pos, (size_t)WINDOW);
        memcpy(s->win, s->block + s->block_pos, out);
        s->block_pos += out;
        break;
    default:
        break;
    }
    return out;
}

/* Makes at least one unread byte available; false at the end or on error. */
static bool refill(record_stream_t *s)
{
    if (s->codec == CODEC_NONE) {
        s->win = (uint8_t *)s->in;          /* read in place */
        s->win_pos = s->in_pos;
        s->win_len = s->in_len;
        s->in_pos = s->in_len;
        s->input_done = true;
        return s->win_pos < s->win_len;
    }
    while (!s->error && !s->input_done) {
        size_t n = inflate_some(s);
        if (n > 0) {
            s->produced += n;
            if (s->produced > s->limit) {
                fail(s, "decompressed size exceeds 256 times the compressed size (and 64 MiB)");
                return false;
            }
            s->win_pos = 0;
            s->win_len = n;
            return true;
        }
    }
    return false;
}

int rstream_byte(record_stream_t *s)
{
    if (s->win_pos == s->win_len && !refill(s))
        return -1;
    s->consumed++;
    return s->win[s->win_pos++];
}

int rstream_skip(record_stream_t *s, size_t n)
{
    while (n > 0) {
        if (s->win_pos == s->win_len && !refill(s))
            return -1;
        size_t k = MIN(n, s->win_len - s->win_pos);
        s->win_pos += k;
        s->consumed += k;
        n -= k;
    }
    return 0;
}

static uint64_t read_uvarlong(record_stream_t *s, int max_bytes, bool *ok)
{
    uint64_t v = 0;
    for (int i = 0, shift = 0; i < max_bytes; i++, shift += 7) {
        int b = rstream_byte(s);
        if (b < 0)
            break;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    *ok = false;
    return 0;
}

int32_t rstream_varint(record_stream_t *s, bool *ok)
{
    uint64_t u = read_uvarlong(s, 5, ok);
    if (u > UINT32_MAX) {
        *ok = false;
        return 0;
    }
    uint32_t x = (uint32_t)u;
    return (int32_t)((x >> 1) ^ (~(x & 1) + 1));
}

int64_t rstream_varlong(record_stream_t *s, bool *ok)
{
    uint64_t u = read_uvarlong(s, 10, ok);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

bool rstream_at_end(record_stream_t *s)
{
    if (s->win_pos < s->win_len)
        return false;
    return !refill(s) && !s->error;
}

const char *rstream_error(const record_stream_t *s)
{
    return s->error;
}

uint64_t rstream_consumed(const record_stream_t *s)
{
    return s->consumed;
}
