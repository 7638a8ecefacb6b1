/*
 * kv_list.c - owns the string key/value list of kv_list.h.
 */
#include <stdlib.h>
#include <string.h>

#include "kv_list.h"
#include "util.h"

static int kv_index(const kv_list_t *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->keys[i], key))
            return i;
    return -1;
}

const char *kv_get(const kv_list_t *l, const char *key)
{
    int i = l ? kv_index(l, key) : -1;
    return i < 0 ? NULL : l->values[i];
}

bool kv_has(const kv_list_t *l, const char *key)
{
    return l && kv_index(l, key) >= 0;
}

void kv_set(kv_list_t *l, const char *key, const char *value)
{
    int i = kv_index(l, key);
    if (i >= 0) {
        free(l->values[i]);
        l->values[i] = xstrdup(value);
        return;
    }
    l->keys = xrealloc(l->keys, sizeof(char *) * (size_t)(l->n + 1));
    l->values = xrealloc(l->values, sizeof(char *) * (size_t)(l->n + 1));
    l->keys[l->n] = xstrdup(key);
    l->values[l->n] = xstrdup(value);
    l->n++;
}

bool kv_remove(kv_list_t *l, const char *key)
{
    int i = kv_index(l, key);
    if (i < 0)
        return false;
    free(l->keys[i]);
    free(l->values[i]);
    memmove(&l->keys[i], &l->keys[i + 1], sizeof(char *) * (size_t)(l->n - i - 1));
    memmove(&l->values[i], &l->values[i + 1], sizeof(char *) * (size_t)(l->n - i - 1));
    l->n--;
    return true;
}

kv_list_t kv_copy(const kv_list_t *l)
{
    kv_list_t c = { 0 };
    for (int i = 0; l && i < l->n; i++)
        kv_set(&c, l->keys[i], l->values[i]);
    return c;
}

void kv_free(kv_list_t *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
    *l = (kv_list_t){ 0 };
}
