/*
 * util.h - small helpers every module uses: checked allocation, clocks,
 * and fatal exits.
 */
#ifndef SAMSA_UTIL_H
#define SAMSA_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

int64_t now_ms(void);          /* wall clock, epoch milliseconds */
int64_t mono_ms(void);         /* monotonic clock, milliseconds */
int64_t mono_ns(void);         /* monotonic clock, nanoseconds */

/* mkdir -p; returns 0 or -1 with errno set. */
int mkdir_p(const char *path, int mode);
/* Java's File.getAbsolutePath: a relative path resolved against the cwd,
 * trailing slashes dropped.  0, or -1 if it does not fit in n. */
int absolute_path(const char *path, char *out, size_t n);
/* rm -rf on a directory tree; returns 0 or -1. */
int rm_rf(const char *path);
/* An open file's modification time in ms (Java's File.lastModified), or
 * -1 if it cannot be read. */
int64_t fd_mtime_ms(int fd);
/* write(2) until all n bytes are written; 0 or -1. */
int write_full(int fd, const void *p, size_t n);
/* Writes a file atomically (tmp + fsync + rename + dir fsync). */
int write_file_atomic(const char *path, const void *data, size_t len);
/* The "<version 0>\n<count>\n" head of Kafka's checkpoint files: 0 with
 * *count and *pos (where the entries start), or -1 if malformed. */
int checkpoint_header(const char *text, int *count, int *pos);
/* Reads a whole small file; caller frees.  NULL on error. */
char *read_file(const char *path, size_t *len_out);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define SWAP(type, a, b) do { type swap_tmp_ = (a); (a) = (b); (b) = swap_tmp_; } while (0)

#endif
