/* test_helpers.h - builders shared by the unit tests. */
#ifndef SAMSA_TEST_HELPERS_H
#define SAMSA_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "log_partition.h"
#include "proto_codec.h"

/* Builds an uncompressed magic-2 batch of n records ("k<i>" -> "v<i>")
 * with base offset 0 and a valid CRC into w; returns its size. */
int32_t build_batch(kwriter_t *w, int n, int64_t base_ts);

/* A fresh /tmp/<prefix>-XXXXXX directory in dir; 0 or -1. */
int test_mkdtemp(char *dir, size_t n, const char *prefix);
/* 4 KiB segments and small indexes, so a few hundred records roll. */
log_settings_t test_small_log_settings(void);

void register_codec_tests(void);
void register_batch_tests(void);
void register_storage_tests(void);
void register_replica_log_tests(void);
void register_group_tests(void);
void register_cleaner_tests(void);
void register_config_tests(void);
void register_scram_tests(void);
void register_acl_tests(void);

#endif
