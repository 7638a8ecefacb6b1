/*
 * fuzz_scram.c - libFuzzer target over the server side of a SASL/SCRAM
 * exchange (sasl_scram.c): the input is the client's two messages,
 * separated by the first newline, against a store holding user "user"
 * (password "pencil").  Whatever arrives, the exchange must answer within
 * its buffer, fail cleanly or complete only with the right proof.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv_list.h"
#include "sasl_scram.h"
#include "scram.h"
#include "scram_store.h"

static void load_user(void)
{
    static bool loaded;
    if (loaded)
        return;
    loaded = true;
    static const uint8_t salt[16] = { 0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
                                      0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81 };
    uint8_t salted[32];
    scram_credential_t c;
    if (scram_salted_password(SCRAM_SHA_256, "pencil", salt, sizeof(salt), 4096, salted) < 0 ||
        scram_credential_from_salted(SCRAM_SHA_256, salt, sizeof(salt), salted, 32, 4096, &c) < 0)
        abort();
    char *text = scram_credential_format(&c);
    kv_list_t cfg = { 0 };
    kv_set(&cfg, "SCRAM-SHA-256", text);
    scram_store_apply("user", &cfg);
    kv_free(&cfg);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    load_user();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t first_len = nl ? (size_t)(nl - data) : size;
    scram_exchange_t *x = scram_exchange_new(SCRAM_SHA_256);
    char out[512], why[256];
    size_t outlen = sizeof(out);
    bool tell;
    scram_step_t r = scram_exchange_step(x, data, first_len, out, &outlen, why, sizeof(why), &tell);
    if (outlen > sizeof(out))
        abort();
    if (r == SCRAM_CONTINUE && nl) {
        outlen = sizeof(out);
        r = scram_exchange_step(x, nl + 1, size - first_len - 1, out, &outlen, why, sizeof(why),
                                &tell);
        /* Completing needs the proof of "pencil", which the fuzzer cannot
         * know: the server nonce is random. */
        if (r == SCRAM_COMPLETE)
            abort();
    }
    scram_exchange_free(x);
    return 0;
}
