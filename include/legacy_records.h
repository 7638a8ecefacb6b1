/*
 * legacy_records.h - legacy message sets (magic 0 and 1): up-converted to
 * one record batch v2 on the way into a log when Produce v0-v2 clients
 * send them, as Kafka 3.x's LogValidator does, and record batches
 * down-converted to them for Fetch v0-v3 clients, as Kafka's RecordsUtil
 * does.  Pure; any thread.
 */
#ifndef SAMSA_LEGACY_RECORDS_H
#define SAMSA_LEGACY_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto_codec.h"
#include "record_batch.h"

/* True if the records start with a magic 0/1 message. */
bool legacy_is_message_set(const uint8_t *p, int32_t len);
/* Converts the message set at in into one v2 batch appended to out (a
 * fresh writer): base offset 0, no producer, the first compressed
 * wrapper's codec.  Keys and values may total at most limit bytes
 * (decompressed).  0, or Kafka's error code with *reason. */
int16_t legacy_upconvert(const uint8_t *in, int32_t len, size_t limit, kwriter_t *out,
                         const char **reason);

/*
 * A legacy message stored in a segment (logs written by older Kafka
 * brokers, or by Kafka 2.x with message.format.version < 0.11), seen by
 * the log layer as a batch: the header of the message at p (avail bytes
 * readable) as a batch_header_t with magic 0 or 1, base offset and last
 * offset both the message's own (for a compressed wrapper, its last
 * inner record's: Kafka too avoids decompressing for the first), no
 * producer, no leader epoch, one record, the compression codec and (magic
 * 1) the LogAppendTime bit and timestamp.  0, or -1 if it cannot be one.
 */
int legacy_entry_header(const uint8_t *p, size_t avail, batch_header_t *h);
/* True if the message's CRC-32 (bytes [16, size)) matches. */
bool legacy_entry_crc_ok(const uint8_t *p, const batch_header_t *h);
/* Calls fn for each record of the legacy entry (the inner records of a
 * compressed wrapper, with absolute offsets): keys and values point into
 * memory valid during the call; raw is NULL.  0, or -1 if malformed. */
int legacy_foreach_record(const uint8_t *p, const batch_header_t *h,
                          void (*fn)(const batch_record_t *r, void *arg), void *arg);

/*
 * The log cleaner's rewrite of a legacy entry (Kafka's
 * buildRetainedRecordsInto): the records keep(r, arg) retains, *kept of
 * *total.  When a compressed wrapper keeps some but not all, out gets a new
 * wrapper of the same magic and codec holding only them (at the last kept
 * offset; magic 1 inner offsets counted from the first kept); otherwise out
 * is left empty (the entry stays as it is, or goes).  0, or
 * CORRUPT_MESSAGE / UNKNOWN_SERVER_ERROR.
 */
int16_t legacy_rewrite_retained(const uint8_t *entry, const batch_header_t *h,
                                bool (*keep)(const batch_record_t *r, void *arg), void *arg,
                                kwriter_t *out, int32_t *kept, int32_t *total);

/*
 * Converts the record batches at in (as a log read returns them: whole
 * batches, perhaps a partial one at the end, which is dropped) into a
 * magic (0 or 1) message set appended to out: control batches are
 * dropped; an uncompressed batch becomes one message per record from
 * first_offset on; a compressed one becomes one wrapper message of all its
 * records with the batch's codec (inner offsets absolute for magic 0,
 * relative for magic 1, the wrapper at the last offset).  Headers are
 * dropped.  0, or UNSUPPORTED_COMPRESSION_TYPE for a zstd batch (Kafka
 * cannot down-convert them either), or CORRUPT_MESSAGE.
 */
int16_t legacy_downconvert(const uint8_t *in, size_t len, int8_t magic, int64_t first_offset,
                           kwriter_t *out);

#endif
