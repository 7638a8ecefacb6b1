/*
 * arena.h - a bump allocator for per-request memory: everything a request's
 * decode and response building allocates is freed at once when it completes.
 * An arena belongs to one request and so to the thread handling it.
 */
#ifndef SAMSA_ARENA_H
#define SAMSA_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block_t;

typedef struct arena {
    arena_block_t *head;
    size_t total;
} arena_t;

void arena_init(arena_t *a);
/* Zeroed memory; aborts the process on allocation failure (as malloc does
 * for the rest of the broker, memory exhaustion is not a recoverable state). */
void *arena_alloc(arena_t *a, size_t n);
void *arena_array(arena_t *a, size_t n, size_t elem);
char *arena_strdup(arena_t *a, const char *s);
char *arena_printf(arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void arena_free(arena_t *a);

#endif
