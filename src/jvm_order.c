/*
 * jvm_order.c - owns the JVM collection orders of jvm_order.h.  Pure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jvm_order.h"
#include "offsets_topic.h"
#include "util.h"

typedef struct entry {
    uint32_t bucket;
    int32_t hash;
    int index;
} entry_t;

static int cmp_entry(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

void scala_hash_order(const char *const *names, int n, int *order)
{
    if (n <= 0)
        return;
    /* put0/addElem: grow before an insertion when contentSize + 1 reaches
     * the threshold, (int)(length * 0.75). */
    uint32_t length = 16;
    for (int k = 0; k < n; k++)
        if ((uint32_t)k + 1 >= length * 3 / 4)
            length *= 2;
    entry_t *e = xcalloc((size_t)n, sizeof(*e));
    for (int i = 0; i < n; i++) {
        int32_t h = java_string_hash(names[i], (int32_t)strlen(names[i]));
        int32_t improved = (int32_t)((uint32_t)h ^ ((uint32_t)h >> 16));
        e[i] = (entry_t){ (uint32_t)improved & (length - 1), improved, i };
    }
    qsort(e, (size_t)n, sizeof(*e), cmp_entry);
    for (int i = 0; i < n; i++)
        order[i] = e[i].index;
    free(e);
}
