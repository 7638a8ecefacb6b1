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

/* True if the records start with a magic 0/1 message. */
bool legacy_is_message_set(const uint8_t *p, int32_t len);
/* Converts the message set at in into one v2 batch appended to out (a
 * fresh writer): base offset 0, no producer, the first compressed
 * wrapper's codec.  Keys and values may total at most limit bytes
 * (decompressed).  0, or Kafka's error code with *reason. */
int16_t legacy_upconvert(const uint8_t *in, int32_t len, size_t limit, kwriter_t *out,
                         const char **reason);

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
