/*
 * arena.c - owns per-request bump allocation (see arena.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"

struct arena_block {
    arena_block_t *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

#define ARENA_BLOCK_MIN 4096

void arena_init(arena_t *a)
{
    a->head = NULL;
    a->total = 0;
}

void *arena_try_alloc(arena_t *a, size_t n)
{
    size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + align - 1) & ~(align - 1);
    if (n == 0)
        n = align;
    arena_block_t *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK_MIN ? n : ARENA_BLOCK_MIN;
        if (a->head && cap < a->head->cap * 2 && a->head->cap < (1u << 20))
            cap = a->head->cap * 2 > n ? a->head->cap * 2 : n;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

int arena_reserve(arena_t *a, size_t n)
{
    if (a->head && a->head->cap - a->head->used >= n)
        return 0;
    arena_block_t *b = malloc(sizeof(*b) + n);
    if (!b)
        return -1;
    b->used = 0;
    b->cap = n;
    b->next = a->head;
    a->head = b;
    return 0;
}

void *arena_alloc(arena_t *a, size_t n)
{
    void *p = arena_try_alloc(a, n);
    if (!p)
        die("arena: out of memory allocating %zu bytes", n);
    return p;
}

void *arena_try_array(arena_t *a, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem)
        return NULL;
    return arena_try_alloc(a, n * elem);
}

void *arena_array(arena_t *a, size_t n, size_t elem)
{
    if (elem && n > SIZE_MAX / elem)
        die("arena: array size overflow");
    return arena_alloc(a, n * elem);
}

char *arena_strdup(arena_t *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = arena_alloc(a, n);
    memcpy(d, s, n);
    return d;
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("arena_printf: bad format");
    char *d = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

void arena_free(arena_t *a)
{
    arena_block_t *b = a->head;
    while (b) {
        arena_block_t *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->total = 0;
}
