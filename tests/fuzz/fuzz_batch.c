/*
 * fuzz_batch.c - libFuzzer target over the leader's record-batch
 * validation (record_batch.c) and streaming decompression
 * (record_stream.c).  The input is a produced records field; the CRC of
 * each batch is fixed up first, so the fuzzer explores record framing and
 * the codecs instead of stopping at the checksum.  Whatever validates must
 * also be appendable: offsets are assigned in place and the records of an
 * uncompressed batch walked -- and down-converted for a legacy consumer
 * (legacy_records.c), which must not fail on data the leader accepted
 * unless it is zstd.  The raw input is also walked as log entries, legacy
 * messages included, as recovery and followers read them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "kafka_errors.h"
#include "legacy_records.h"
#include "proto_codec.h"
#include "record_batch.h"

static void fix_crcs(uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (len - pos >= BATCH_HEADER_SIZE) {
        uint8_t *p = buf + pos;
        int64_t size = (int64_t)be32_get(p + 8) + BATCH_LOG_OVERHEAD;
        if (size < BATCH_HEADER_SIZE || size > (int64_t)(len - pos))
            return;
        be32_put(p + 17, (int32_t)crc32c(0, p + 21, (size_t)size - 21));
        pos += (size_t)size;
    }
}

static void count_record(const batch_record_t *r, void *arg)
{
    (void)r;
    (*(int64_t *)arg)++;
}

static bool keep_even(const batch_record_t *r, void *arg)
{
    (void)arg;
    return (r->offset & 1) == 0;
}

/* The bytes as a segment file or a follower's fetch holds them: entries
 * of any format (legacy messages an older Kafka wrote included) are
 * walked without reading out of bounds, whatever their checksums say. */
static void walk_log_entries(const uint8_t *data, size_t len)
{
    size_t at = 0;
    batch_header_t h;
    while (at < len && log_entry_header(data + at, len - at, &h) == 0 &&
           (size_t)h.size <= len - at) {
        int64_t n = 0;
        (void)batch_crc_ok(data + at, &h);
        (void)batch_foreach_record(data + at, &h, count_record, &n);
        if (h.magic < 2) {          /* the cleaner's rewrite of it */
            kwriter_t w;
            kw_init(&w);
            int32_t kept, total;
            (void)legacy_rewrite_retained(data + at, &h, keep_even, NULL, &w, &kept, &total);
            kw_free(&w);
        }
        at += (size_t)h.size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20))
        return 0;
    bool compacted = data[0] & 1;
    size_t len = size - 1;
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    fix_crcs(buf, len);
    produce_validation_t v;
    batch_validate_produce(buf, (int32_t)len, 9, 1 << 20, compacted, &v);
    if (!v.error) {
        batch_assign_offsets(buf, (int32_t)len, 1000, 7, true, 1700000000000);
        batch_header_t h;
        if (batch_parse_header(buf, len, &h) < 0 || !batch_crc_ok(buf, &h))
            abort();                    /* validated data must stay well formed */
        int64_t n = 0;
        if (batch_foreach_record(buf, &h, count_record, &n) == 0 && n != h.record_count)
            abort();
        for (int8_t magic = 0; magic <= 1; magic++) {
            kwriter_t out;
            kw_init(&out);
            int16_t err = legacy_downconvert(buf, len, magic, 1000 + (data[0] >> 1), &out);
            if (err && err != KERR_UNSUPPORTED_COMPRESSION_TYPE)
                abort();
            kw_free(&out);
        }
    }
    walk_log_entries(data + 1, len);
    free(buf);
    return 0;
}
