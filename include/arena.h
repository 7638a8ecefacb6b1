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
/* Zeroed memory, or NULL when it cannot be had.  Request decoding uses
 * these, so a request too large for memory fails that request only. */
void *arena_try_alloc(arena_t *a, size_t n);
void *arena_try_array(arena_t *a, size_t n, size_t elem);
/* Zeroed memory; aborts on failure.  For handlers' small, bounded
 * allocations (response arrays sized by what was already decoded). */
void *arena_alloc(arena_t *a, size_t n);
void *arena_array(arena_t *a, size_t n, size_t elem);
char *arena_strdup(arena_t *a, const char *s);
char *arena_printf(arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void arena_free(arena_t *a);

#endif
