/*
 * record_compress.h - compressing a batch's records section the way Kafka's
 * Java producer and broker write it (gzip; snappy in xerial framing with
 * 32 KiB blocks; lz4 frames with independent 64 KiB blocks, which Kafka's
 * reader requires; zstd), for batches the broker rebuilds (the cleaner).
 * Pure functions; any thread.
 */
#ifndef SAMSA_RECORD_COMPRESS_H
#define SAMSA_RECORD_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* Compresses len bytes with codec (1-4) into a malloc()ed *out.  Returns
 * 0, or -1 (nothing allocated) if the codec is unknown, the library fails
 * or memory is short. */
int records_compress(int codec, const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

#endif
