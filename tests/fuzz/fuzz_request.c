/*
 * fuzz_request.c - libFuzzer target over every request decoder, through
 * the generated message table.  Input: [int16 api key][int16 version][body].
 * Checks that decoding never reads out of bounds, allocates O(input) (the
 * bound the broker relies on), and that what decodes re-encodes to bytes
 * that decode again to the same encoding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_messages.h"

/* 16: a compact string is one byte on the wire and a kstr_t in memory. */
#define ALLOC_BOUND(len) (17 * (size_t)(len) + 65536)

static const proto_message_info_t *find_request(int16_t key, int16_t version)
{
    for (int i = 0; i < proto_message_table_count; i++) {
        const proto_message_info_t *mi = &proto_message_table[i];
        size_t n = strlen(mi->name);
        if (mi->api_key == key && n > 7 && !strcmp(mi->name + n - 7, "Request") &&
            version >= mi->min_version && version <= mi->max_version)
            return mi;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int16_t key = (int16_t)((data[0] << 8) | data[1]);
    int16_t version = (int16_t)((data[2] << 8) | data[3]);
    const proto_message_info_t *mi = find_request(key, version);
    if (!mi)
        return 0;
    size_t len = size - 4;
    uint8_t *body = malloc(len ? len : 1);      /* exact size: ASan sees overreads */
    memcpy(body, data + 4, len);
    arena_t a;
    arena_init(&a);
    void *m = arena_alloc(&a, mi->size);
    kreader_t r;
    kr_init(&r, body, len, &a);
    int rc = mi->decode(&r, version, m);
    if (a.total > ALLOC_BOUND(len)) {
        fprintf(stderr, "%s v%d: decoding %zu bytes allocated %zu\n", mi->name, version, len,
                a.total);
        abort();
    }
    if (rc == 0) {
        kwriter_t w1, w2;
        kw_init(&w1);
        kw_init(&w2);
        mi->encode(&w1, version, m);
        void *m2 = arena_alloc(&a, mi->size);
        kreader_t r2;
        kr_init(&r2, w1.buf, w1.len, &a);
        if (mi->decode(&r2, version, m2) != 0 || r2.p != r2.end) {
            fprintf(stderr, "%s v%d: re-encoded bytes do not decode\n", mi->name, version);
            abort();
        }
        mi->encode(&w2, version, m2);
        if (w1.len != w2.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len))) {
            fprintf(stderr, "%s v%d: encoding is not stable\n", mi->name, version);
            abort();
        }
        kw_free(&w1);
        kw_free(&w2);
    }
    arena_free(&a);
    free(body);
    return 0;
}
