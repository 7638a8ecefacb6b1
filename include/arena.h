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
/* Makes sure the next n bytes come without another malloc: 0, or -1 when
 * that memory cannot be had (the caller fails the request, gracefully). */
int arena_reserve(arena_t *a, size_t n);
/* Zeroed memory; aborts on failure.  For handlers' allocations, which come
 * out of the budget proto_dispatch reserves for each request (so only a
 * response larger than that, built from broker state, can still abort). */
void *arena_alloc(arena_t *a, size_t n);
void *arena_array(arena_t *a, size_t n, size_t elem);
char *arena_strdup(arena_t *a, const char *s);
char *arena_printf(arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void arena_free(arena_t *a);

#endif
