/*
 * fetch_downconvert.h - Fetch v0-v3 for clients that read only legacy
 * message sets (magic 0 for v0-v1, magic 1 for v2-v3), as Kafka 3.9 still
 * serves them: each partition's records are read and down-converted
 * (legacy_records.h) on the disk thread, never on the event loop, and the
 * answer goes out once every partition is converted.  Topics with
 * message.downconversion.enable=false answer UNSUPPORTED_VERSION; a topic
 * whose compression.type is zstd answers UNSUPPORTED_COMPRESSION_TYPE to
 * Fetch below v10, as Kafka does.
 *
 * Partial: Kafka converts lazily in chunks while it sends; samsa converts
 * at most fetch.max.bytes of records per answer (the partitions' limits
 * otherwise apply as for any fetch) and holds the converted bytes in the
 * request's memory until the answer is sent.
 *
 * Event-loop thread, but for the conversion job (disk thread).
 */
#ifndef SAMSA_FETCH_DOWNCONVERT_H
#define SAMSA_FETCH_DOWNCONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "broker.h"
#include "proto_messages.h"

/* The message format a Fetch version reads: 0, 1, or 2 (no conversion). */
static inline int8_t fetch_magic_for_version(int16_t v)
{
    return v <= 1 ? 0 : v <= 3 ? 1 : 2;
}

/* The error a consumer's fetch of topic gets before anything is read
 * because of its format settings, or 0. */
int16_t fetch_conversion_refusal(const broker_t *b, const char *topic, int16_t version);

typedef struct fetch_conversion fetch_conversion_t;

/* Starts converting every partition of resp holding records (rq names the
 * fetch offsets, in the same order); done(arg) runs on the loop once resp
 * holds the converted records, allocated from a.  NULL if there is
 * nothing to convert (done is not called).  A partition whose records
 * cannot be converted gets the error instead. */
fetch_conversion_t *fetch_convert(arena_t *a, struct fetch_response *resp,
                                  const struct fetch_request *rq, int8_t magic,
                                  void (*done)(void *arg), void *arg);
/* The request is gone: done will not be called, nothing will be written. */
void fetch_conversion_cancel(fetch_conversion_t *c);

#endif
