/*
 * legacy_records.h - legacy message sets (magic 0 and 1, sent by Produce
 * v0-v2 clients) up-converted to one record batch v2 on the way into a
 * log, as Kafka 3.x's LogValidator does.  Pure; any thread.
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

#endif
