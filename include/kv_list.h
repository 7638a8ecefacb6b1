/*
 * kv_list.h - an ordered list of string keys and values: a config as
 * Kafka stores it in ZooKeeper (/config/<type>/<name>), or a set of
 * changes to one.  The list owns its strings.  A list is used by one
 * thread at a time; whoever holds it may hand it over whole.
 */
#ifndef SAMSA_KV_LIST_H
#define SAMSA_KV_LIST_H

#include <stdbool.h>

typedef struct kv_list {
    char **keys;
    char **values;
    int n;
} kv_list_t;

const char *kv_get(const kv_list_t *l, const char *key);
bool kv_has(const kv_list_t *l, const char *key);
/* Replaces key's value or appends key. */
void kv_set(kv_list_t *l, const char *key, const char *value);
/* True if key was there. */
bool kv_remove(kv_list_t *l, const char *key);
kv_list_t kv_copy(const kv_list_t *l);
void kv_free(kv_list_t *l);

#endif
