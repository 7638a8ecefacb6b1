/*
 * io_throttler.h - Kafka's Throttler (server-common's
 * org.apache.kafka.server.util.Throttler): keeps a stream of I/O at or
 * below a rate by sleeping the thread that does it, checked every 300 ms.
 * The log cleaner uses it for log.cleaner.io.max.bytes.per.second.
 * A throttler belongs to the one thread that calls it.
 */
#ifndef SAMSA_IO_THROTTLER_H
#define SAMSA_IO_THROTTLER_H

#include <stdint.h>

typedef struct io_throttler {
    double bytes_per_second;        /* <= 0: unlimited */
    int64_t period_start_ns;
    double observed;                /* bytes since period_start_ns */
} io_throttler_t;

void iot_init(io_throttler_t *t, double bytes_per_second, int64_t now_ns);
/* Counts bytes at now_ns; the milliseconds to sleep so the rate since the
 * period began falls to the limit (0: none).  A period ends at each check
 * after 300 ms. */
int64_t iot_observe(io_throttler_t *t, double bytes, int64_t now_ns);
/* iot_observe on the monotonic clock, then the sleep it asks for. */
void iot_maybe_throttle(io_throttler_t *t, double bytes);

#endif
