/* test_main.c - CUnit runner for samsa's unit tests. */
#define _GNU_SOURCE
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "test_helpers.h"

int32_t build_batch(kwriter_t *w, int n, int64_t base_ts)
{
    size_t start = w->len;
    kw_int64(w, 0);          /* base offset */
    kw_int32(w, 0);          /* batch length, patched */
    kw_int32(w, -1);         /* partition leader epoch */
    kw_int8(w, 2);           /* magic */
    kw_int32(w, 0);          /* crc, patched */
    size_t crc_from = w->len;
    kw_int16(w, 0);          /* attributes */
    kw_int32(w, n - 1);      /* last offset delta */
    kw_int64(w, base_ts);
    kw_int64(w, base_ts + n - 1);
    kw_int64(w, -1);         /* producer id */
    kw_int16(w, -1);
    kw_int32(w, -1);
    kw_int32(w, n);
    for (int i = 0; i < n; i++) {
        char key[16], val[16];
        int kl = snprintf(key, sizeof(key), "k%d", i);
        int vl = snprintf(val, sizeof(val), "v%d", i);
        kwriter_t r;
        kw_init(&r);
        kw_int8(&r, 0);
        kw_varlong(&r, i);    /* timestamp delta */
        kw_varint(&r, i);     /* offset delta */
        kw_varint(&r, kl);
        kw_raw(&r, key, (size_t)kl);
        kw_varint(&r, vl);
        kw_raw(&r, val, (size_t)vl);
        kw_varint(&r, 0);     /* headers */
        kw_varint(w, (int32_t)r.len);
        kw_raw(w, r.buf, r.len);
        kw_free(&r);
    }
    int32_t size = (int32_t)(w->len - start);
    kw_put_int32_at(w, start + 8, size - 12);
    kw_put_int32_at(w, start + 17, (int32_t)crc32c(0, w->buf + crc_from, w->len - crc_from));
    return size;
}

int test_mkdtemp(char *dir, size_t n, const char *prefix)
{
    snprintf(dir, n, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp(dir) ? 0 : -1;
}

log_settings_t test_small_log_settings(void)
{
    return (log_settings_t){ .segment_bytes = 4096, .roll_ms = 1LL << 40,
                             .index_interval_bytes = 200, .index_size_max_bytes = 4096,
                             .flush_interval_messages = INT64_MAX, .max_message_bytes = 1 << 20 };
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    register_codec_tests();
    register_batch_tests();
    register_storage_tests();
    register_replica_log_tests();
    register_group_tests();
    register_cleaner_tests();
    register_config_tests();
    register_scram_tests();
    register_acl_tests();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
