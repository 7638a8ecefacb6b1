/*
 * record_stream.h - reading the records of a batch as a byte stream,
 * decompressing on the way (gzip, snappy raw and xerial-framed, lz4 frame,
 * zstd) with a fixed window, so a batch is validated record by record
 * without ever holding its decompressed form (Kafka's LogValidator reads
 * compressed batches the same way).  Caller-owned values; any thread.
 */
#ifndef SAMSA_RECORD_STREAM_H
#define SAMSA_RECORD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decompressed bytes a batch may expand to: this multiple of its
 * compressed size, and at least RECORD_STREAM_MIN_LIMIT (a producer's
 * batch.size of highly compressible records must pass); beyond it the
 * batch is refused, so one request cannot keep the loop busy for long. */
#define RECORD_STREAM_MAX_RATIO 256
#define RECORD_STREAM_MIN_LIMIT ((uint64_t)64 << 20)

typedef struct record_stream record_stream_t;

/* A stream over the records section of a batch compressed with codec
 * (0 = none).  NULL if the codec is unknown or memory is short. */
record_stream_t *rstream_open(int codec, const uint8_t *data, size_t len);
void rstream_close(record_stream_t *s);
/* Next byte; -1 at the end of the stream or on error (see rstream_error). */
int rstream_byte(record_stream_t *s);
/* Skips n bytes; -1 if the stream ends first or fails. */
int rstream_skip(record_stream_t *s, size_t n);
/* Zig-zag varint / varlong (Kafka's record encoding); sets *ok false on
 * a short or malformed value. */
int32_t rstream_varint(record_stream_t *s, bool *ok);
int64_t rstream_varlong(record_stream_t *s, bool *ok);
/* True once every byte has been read. */
bool rstream_at_end(record_stream_t *s);
/* NULL, or why decompression failed ("corrupt gzip data", ...). */
const char *rstream_error(const record_stream_t *s);
/* Bytes handed out so far. */
uint64_t rstream_consumed(const record_stream_t *s);

#endif
