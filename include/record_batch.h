/*
 * record_batch.h - Kafka record batches (magic 2): header parsing, the
 * leader's validation of produced data, and in-place offset assignment.
 * Pure functions over caller-owned memory; callable from any thread.
 */
#ifndef SAMSA_RECORD_BATCH_H
#define SAMSA_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATCH_HEADER_SIZE 61      /* RECORD_BATCH_OVERHEAD */
#define BATCH_LOG_OVERHEAD 12     /* baseOffset + batchLength */

#define BATCH_ATTR_COMPRESSION_MASK 0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL 0x20

enum compression_codec { CODEC_NONE = 0, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD };

typedef struct batch_header {
    int64_t base_offset;
    int32_t size;               /* whole batch including the 12-byte log overhead */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} batch_header_t;

static inline int64_t batch_last_offset(const batch_header_t *h)
{
    return h->base_offset + h->last_offset_delta;
}

/* Parses the fixed header at p (avail bytes readable).  Returns 0, or -1 if
 * the bytes cannot be a complete magic-2 batch (short, bad length, magic). */
int batch_parse_header(const uint8_t *p, size_t avail, batch_header_t *h);
/* The header of one entry of a segment file: a magic-2 batch, or a legacy
 * magic 0/1 message written by an older Kafka (legacy_records.h says how
 * it reads as a batch).  What the log layer parses; clients' produced
 * data goes through batch_parse_header.  LOG_ENTRY_MIN_SIZE is the
 * smallest entry (a magic 0 message). */
#define LOG_ENTRY_MIN_SIZE 26
int log_entry_header(const uint8_t *p, size_t avail, batch_header_t *h);
/* True if the stored checksum matches: CRC-32C of bytes [21, size) for
 * magic 2, CRC-32 of bytes [16, size) for a legacy message. */
bool batch_crc_ok(const uint8_t *p, const batch_header_t *h);

/* Result of validating one partition's produced records. */
typedef struct produce_validation {
    int16_t error;              /* Kafka error code, 0 if valid */
    const char *reason;         /* for the log line when error != 0 */
    int n_batches;
    int64_t n_records;          /* offsets the data will take */
    int64_t max_timestamp;
    int64_t offset_of_max_timestamp_delta;   /* relative to first offset */
    /* Producer fields of the first batch (the only one for Produce v3+). */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t last_offset_delta;
    bool transactional;
} produce_validation_t;

/*
 * Validates records a client produced (Kafka's LogValidator for v2):
 * size, magic, CRC, base offset 0, count == lastOffsetDelta + 1, no control
 * batches, every record read (compressed ones decompressed as a stream):
 * count and framing, dense inner offsets, keys on compacted topics;
 * max.message.bytes per batch and "one batch per request" for Produce v3+.
 */
void batch_validate_produce(uint8_t *buf, int32_t len, int16_t produce_version,
                            int32_t max_message_bytes, bool compacted, produce_validation_t *out);

/*
 * Assigns offsets starting at first_offset to every batch in buf (already
 * validated), stamps the partition leader epoch and, for LogAppendTime
 * topics, the append time (recomputing the CRC only then).  Records are not
 * re-encoded.
 */
void batch_assign_offsets(uint8_t *buf, int32_t len, int64_t first_offset,
                          int32_t leader_epoch, bool log_append_time, int64_t now);

/* One record of a batch, pointing into the batch's memory. */
typedef struct batch_record {
    int64_t offset;
    int64_t timestamp;          /* the batch's for LogAppendTime batches */
    const uint8_t *key;
    int32_t key_len;            /* -1 = null */
    const uint8_t *value;
    int32_t value_len;          /* -1 = null (tombstone) */
    const uint8_t *raw;         /* the whole record, length prefix included */
    int32_t raw_len;
    uint32_t legacy_crc;        /* a legacy message's CRC-32; 0 in a batch */
} batch_record_t;

/* Calls fn for every record of a batch at p (whole batch in memory; a
 * legacy entry's records as legacy_foreach_record gives them); compressed
 * batches are decompressed as a stream, each record handed over from a
 * scratch buffer valid during the call.  Returns 0, or
 * -1 if the batch is malformed (or memory is short). */
int batch_foreach_record(const uint8_t *p, const batch_header_t *h,
                         void (*fn)(const batch_record_t *r, void *arg), void *arg);

/* A control batch's end-transaction marker (Kafka's EndTransactionMarker):
 * 1 with *commit and *coordinator_epoch set, 0 for an empty control batch
 * (its transaction was cleaned away) or another control type, -1 if
 * malformed. */
int batch_txn_marker(const uint8_t *p, const batch_header_t *h, bool *commit,
                     int32_t *coordinator_epoch);

/* Builds an uncompressed magic-2 batch of n key/value records (a value of
 * len -1 is a tombstone) with base offset 0, timestamps `now`, into w. */
typedef struct batch_kv {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
} batch_kv_t;
struct kwriter;
void batch_build(struct kwriter *w, const batch_kv_t *recs, int n, int64_t now);
/* The same with a producer's fields and attributes (a coordinator's
 * transactional batch: sequence -1, BATCH_ATTR_TRANSACTIONAL). */
typedef struct batch_producer {
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int16_t attributes;
} batch_producer_t;
void batch_build_as(struct kwriter *w, const batch_kv_t *recs, int n, int64_t now,
                    const batch_producer_t *prod);
/* A control batch holding one end-transaction marker (Kafka's
 * EndTransactionMarker: key version 0 and type, value version 0 and the
 * coordinator epoch). */
void batch_build_marker(struct kwriter *w, int64_t pid, int16_t epoch, bool commit,
                        int32_t coordinator_epoch, int64_t now);

#endif
