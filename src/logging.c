/*
 * logging.c - owns the log file descriptor and the line format.
 * The fd is swapped atomically on reopen so any thread may log at any time.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logging.h"

static _Atomic int log_fd = 2;
static char *log_path;                 /* set once at start-up, before threads */
static _Atomic int log_min_level = LOG_INFO;

int log_open(const char *path)
{
    if (path) {
        free(log_path);
        log_path = strdup(path);
    }
    if (!log_path)
        return 0;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2)
        close(old);
    return 0;
}

void log_reopen(void)
{
    if (log_open(NULL) < 0)
        log_error("logging", "Failed to reopen log file %s", log_path);
}

void log_set_level(enum log_level lvl)
{
    atomic_store(&log_min_level, (int)lvl);
}

void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
    static const char *names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
    if ((int)lvl < atomic_load(&log_min_level))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    int n = (int)strftime(line, sizeof(line), "[%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, ",%03ld] %s ",
                  ts.tv_nsec / 1000000, names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : ((n + m) < (int)sizeof(line) - 64 ? (n + m) : (int)sizeof(line) - 64);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " (%s)\n", component);
    ssize_t w = write(atomic_load(&log_fd), line, (size_t)n);
    (void)w; /* nowhere left to report a failed log write */
}
