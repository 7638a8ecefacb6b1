/*
 * replication_quota.c - owns the leader, follower and alter-log-dirs
 * replication rates and their bounds (see replication_quota.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rate_sampler.h"
#include "replication_quota.h"
#include "util.h"

typedef struct side {
    pthread_mutex_t lock;
    int64_t bound;                  /* bytes/s; -1: none */
    rate_sampler_t rate;
    bool started;
} side_t;

static side_t sides[3] = {
    { .lock = PTHREAD_MUTEX_INITIALIZER, .bound = -1 },
    { .lock = PTHREAD_MUTEX_INITIALIZER, .bound = -1 },
    { .lock = PTHREAD_MUTEX_INITIALIZER, .bound = -1 },
};

void rq_set_rate(rq_side_t side, int64_t bytes_per_sec)
{
    side_t *s = &sides[side];
    pthread_mutex_lock(&s->lock);
    s->bound = bytes_per_sec < 0 || bytes_per_sec == INT64_MAX ? -1 : bytes_per_sec;
    pthread_mutex_unlock(&s->lock);
}

static void start(side_t *s, int64_t now)
{
    if (!s->started) {
        rate_init(&s->rate, now);
        s->started = true;
    }
}

bool rq_exceeded(rq_side_t side)
{
    side_t *s = &sides[side];
    pthread_mutex_lock(&s->lock);
    bool over = false;
    if (s->bound >= 0) {
        int64_t now = mono_ms();
        start(s, now);
        over = rate_measure(&s->rate, now, NULL) > (double)s->bound;
    }
    pthread_mutex_unlock(&s->lock);
    return over;
}

void rq_record(rq_side_t side, int64_t bytes)
{
    if (bytes <= 0)
        return;
    side_t *s = &sides[side];
    pthread_mutex_lock(&s->lock);
    int64_t now = mono_ms();
    start(s, now);
    rate_record(&s->rate, (double)bytes, now);
    pthread_mutex_unlock(&s->lock);
}

/* Kafka's TopicConfigHandler.parseThrottledPartitions: "*", or entries
 * "<partition>:<broker>" of which those naming broker_id count. */
bool rq_throttled(const char *replicas, int32_t partition, int32_t broker_id)
{
    if (!replicas)
        return false;
    const char *at = replicas;
    while (*at) {
        while (*at == ' ' || *at == ',')
            at++;
        if (*at == '*')
            return true;
        char *end;
        long p = strtol(at, &end, 10);
        if (end == at || *end != ':')
            return false;               /* refused when the config was set */
        long b = strtol(end + 1, &end, 10);
        if (p == partition && b == broker_id)
            return true;
        at = end;
        while (*at && *at != ',')
            at++;
    }
    return false;
}
