/* test_helpers.h - builders shared by the unit tests. */
#ifndef SAMSA_TEST_HELPERS_H
#define SAMSA_TEST_HELPERS_H

#include <stdint.h>

#include "proto_codec.h"

/* Builds an uncompressed magic-2 batch of n records ("k<i>" -> "v<i>")
 * with base offset 0 and a valid CRC into w; returns its size. */
int32_t build_batch(kwriter_t *w, int n, int64_t base_ts);

void register_codec_tests(void);
void register_batch_tests(void);
void register_storage_tests(void);
void register_group_tests(void);

#endif
