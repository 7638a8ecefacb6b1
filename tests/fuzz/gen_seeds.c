/*
 * gen_seeds.c - writes the request fuzzer's seed corpus: every request
 * message at every version, with every field set (the generated sample
 * builders), as [int16 api key][int16 version][body] files.
 *
 *     tests/fuzz/gen_seeds OUT_DIR        (make fuzz-seeds)
 */
#include <stdio.h>
#include <string.h>

#include "proto_messages.h"
#include "proto_samples.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds OUT_DIR\n");
        return 2;
    }
    int written = 0;
    for (int i = 0; i < proto_message_table_count; i++) {
        const proto_message_info_t *mi = &proto_message_table[i];
        size_t n = strlen(mi->name);
        if (mi->api_key < 0 || n < 7 || strcmp(mi->name + n - 7, "Request"))
            continue;
        for (int16_t v = mi->min_version; v <= mi->max_version; v++) {
            arena_t a;
            arena_init(&a);
            void *m = arena_alloc(&a, mi->size);
            proto_sample_table[i](&a, m);
            kwriter_t w;
            kw_init(&w);
            kw_int16(&w, mi->api_key);
            kw_int16(&w, v);
            mi->encode(&w, v, m);
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s-v%d", argv[1], mi->name, v);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(w.buf, 1, w.len, f) != w.len || fclose(f) != 0) {
                perror(path);
                return 1;
            }
            kw_free(&w);
            arena_free(&a);
            written++;
        }
    }
    printf("%d seeds written to %s\n", written, argv[1]);
    return 0;
}
