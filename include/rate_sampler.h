/*
 * rate_sampler.h - a rate measured as Kafka's metrics measure quotas
 * (SampledStat with Rate): values are summed into RATE_SAMPLES windows of
 * RATE_WINDOW_MS (quota.window.num, quota.window.size.seconds and their
 * replication.quota.* twins, 11 and 1 s by default); the rate is their
 * total over the time they span, counted as at least RATE_SAMPLES - 1
 * whole windows, and windows older than all of them are purged.
 *
 * Threads: a sampler belongs to its owner; it has no lock of its own.
 */
#ifndef SAMSA_RATE_SAMPLER_H
#define SAMSA_RATE_SAMPLER_H

#include <stdint.h>

#define RATE_SAMPLES 11
#define RATE_WINDOW_MS 1000

typedef struct rate_sampler {
    struct {
        int64_t start;              /* monotonic ms */
        double value;
    } s[RATE_SAMPLES];
    int current;
} rate_sampler_t;

void rate_init(rate_sampler_t *r, int64_t now_ms);
/* Kafka's SampledStat.record. */
void rate_record(rate_sampler_t *r, double value, int64_t now_ms);
/* Kafka's Rate.measure, per second; *window_ms (if not NULL) gets the time
 * it was measured over. */
double rate_measure(rate_sampler_t *r, int64_t now_ms, double *window_ms);

#endif
