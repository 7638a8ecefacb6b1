/*
 * io_throttler.c - owns Kafka's Throttler arithmetic (io_throttler.h).
 * Runs on whichever thread owns the throttler (the cleaner thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <time.h>

#include "io_throttler.h"
#include "util.h"

#define CHECK_INTERVAL_NS (300LL * 1000 * 1000)

void iot_init(io_throttler_t *t, double bytes_per_second, int64_t now_ns)
{
    t->bytes_per_second = bytes_per_second;
    t->period_start_ns = now_ns;
    t->observed = 0;
}

int64_t iot_observe(io_throttler_t *t, double bytes, int64_t now_ns)
{
    if (t->bytes_per_second <= 0)
        return 0;
    t->observed += bytes;
    int64_t elapsed_ns = now_ns - t->period_start_ns;
    if (elapsed_ns <= CHECK_INTERVAL_NS || t->observed <= 0)
        return 0;
    int64_t sleep_ms = 0;
    double rate = t->observed * 1e9 / (double)elapsed_ns;
    if (rate > t->bytes_per_second) {
        /* Sleep until observed / elapsed is the desired rate. */
        double want_ms = t->observed / (t->bytes_per_second / 1000.0);
        double slept = want_ms - (double)(elapsed_ns / 1000000);
        sleep_ms = slept > 0 ? (int64_t)(slept + 0.5) : 0;
    }
    t->period_start_ns = now_ns + sleep_ms * 1000000;
    t->observed = 0;
    return sleep_ms;
}

void iot_maybe_throttle(io_throttler_t *t, double bytes)
{
    int64_t ms = iot_observe(t, bytes, mono_ns());
    if (ms <= 0)
        return;
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
