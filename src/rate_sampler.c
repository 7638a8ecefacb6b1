/*
 * rate_sampler.c - owns the arithmetic of Kafka's sampled rates (see
 * rate_sampler.h), shared by client quotas and replication quotas.
 */
#include "rate_sampler.h"
#include "util.h"

void rate_init(rate_sampler_t *r, int64_t now_ms)
{
    for (int i = 0; i < RATE_SAMPLES; i++) {
        r->s[i].start = now_ms;
        r->s[i].value = 0;
    }
    r->current = 0;
}

void rate_record(rate_sampler_t *r, double value, int64_t now_ms)
{
    if (now_ms - r->s[r->current].start >= RATE_WINDOW_MS) {
        r->current = (r->current + 1) % RATE_SAMPLES;
        r->s[r->current].start = now_ms;
        r->s[r->current].value = 0;
    }
    r->s[r->current].value += value;
}

double rate_measure(rate_sampler_t *r, int64_t now_ms, double *window_ms)
{
    double total = 0;
    int64_t oldest = now_ms;
    for (int i = 0; i < RATE_SAMPLES; i++) {
        if (now_ms - r->s[i].start >= (int64_t)RATE_SAMPLES * RATE_WINDOW_MS) {
            r->s[i].start = now_ms;     /* purged, as Kafka's purgeObsoleteSamples */
            r->s[i].value = 0;
        }
        total += r->s[i].value;
        oldest = MIN(oldest, r->s[i].start);
    }
    int64_t elapsed = now_ms - oldest;
    int64_t full = elapsed / RATE_WINDOW_MS;
    if (full < RATE_SAMPLES - 1)
        elapsed += (RATE_SAMPLES - 1 - full) * RATE_WINDOW_MS;
    if (window_ms)
        *window_ms = (double)elapsed;
    return total / ((double)elapsed / 1000.0);
}
