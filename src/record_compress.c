/*
 * record_compress.c - owns compression of records sections with zlib,
 * snappy, lz4 and zstd in the framings Kafka's Java clients read.
 */
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto_codec.h"
#include "record_batch.h"
#include "record_compress.h"

#define XERIAL_BLOCK 32768

static int gzip_compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)len) + 32;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* xerial's SnappyOutputStream: a 16-byte header, then (length, block)
 * pairs of at most 32 KiB of input each. */
static int snappy_xerial_compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    static const uint8_t header[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 };
    size_t blocks = len / XERIAL_BLOCK + 1;
    size_t cap = sizeof(header) + blocks * (4 + snappy_max_compressed_length(XERIAL_BLOCK));
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -1;
    memcpy(buf, header, sizeof(header));
    size_t pos = sizeof(header);
    for (size_t off = 0; off < len; off += XERIAL_BLOCK) {
        size_t n = len - off < XERIAL_BLOCK ? len - off : XERIAL_BLOCK;
        size_t clen = cap - pos - 4;
        if (snappy_compress((const char *)in + off, n, (char *)buf + pos + 4, &clen) != SNAPPY_OK) {
            free(buf);
            return -1;
        }
        be32_put(buf + pos, (int32_t)clen);
        pos += 4 + clen;
    }
    *out = buf;
    *out_len = pos;
    return 0;
}

static int lz4_compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    size_t cap = LZ4F_compressFrameBound(len, &prefs);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -1;
    size_t n = LZ4F_compressFrame(buf, cap, in, len, &prefs);
    if (LZ4F_isError(n)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static int zstd_compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    size_t cap = ZSTD_compressBound(len);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -1;
    size_t n = ZSTD_compress(buf, cap, in, len, 3);
    if (ZSTD_isError(n)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int records_compress(int codec, const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    switch (codec) {
    case CODEC_GZIP: return gzip_compress(in, len, out, out_len);
    case CODEC_SNAPPY: return snappy_xerial_compress(in, len, out, out_len);
    case CODEC_LZ4: return lz4_compress(in, len, out, out_len);
    case CODEC_ZSTD: return zstd_compress(in, len, out, out_len);
    default: return -1;
    }
}
