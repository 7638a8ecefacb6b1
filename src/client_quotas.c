/*
 * client_quotas.c - owns client quota enforcement (client_quotas.h): the
 * quota entities, Kafka's precedence between them, and one sampled rate
 * per quota entity and client (Kafka's quota sensors).  Event-loop thread
 * only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "client_quotas.h"
#include "logging.h"
#include "rate_sampler.h"
#include "scram.h"
#include "util.h"

#define SAMPLES RATE_SAMPLES    /* quota.window.num */
#define WINDOW_MS RATE_WINDOW_MS /* quota.window.size.seconds */
#define DEFAULT_ENTITY "<default>"

static const char *const KEYS[CQ_TYPES] = { "producer_byte_rate", "consumer_byte_rate",
                                            "request_percentage", "controller_mutation_rate" };

typedef struct entity {
    char *path;
    double limit[CQ_TYPES];     /* by cq_type; 0: none */
    UT_hash_handle hh;
} entity_t;

typedef struct sensor {
    char *key;                  /* type, matched entity level, user, client */
    rate_sampler_t rate;
    UT_hash_handle hh;
} sensor_t;

/* Kafka's TokenBucket: tokens refill at the quota per second up to the
 * burst; a charge may take them below zero. */
typedef struct bucket {
    char *key;
    double tokens;
    int64_t last_ms;
    UT_hash_handle hh;
} bucket_t;

/* Event-loop thread only. */
static entity_t *entities;
static sensor_t *sensors;
static bucket_t *buckets;

static void entity_free(entity_t *e)
{
    free(e->path);
    free(e);
}

void cq_apply(const char *path, const kv_list_t *config)
{
    entity_t *e;
    HASH_FIND_STR(entities, path, e);
    if (e) {
        HASH_DEL(entities, e);
        entity_free(e);
    }
    double limit[CQ_TYPES] = { 0 };
    bool any = false;
    for (int t = 0; t < CQ_TYPES; t++) {
        const char *v = kv_get(config, KEYS[t]);
        if (v && strtod(v, NULL) > 0) {
            limit[t] = strtod(v, NULL);
            any = true;
        }
    }
    if (!any)
        return;
    e = xcalloc(1, sizeof(*e));
    e->path = xstrdup(path);
    memcpy(e->limit, limit, sizeof(limit));
    HASH_ADD_KEYPTR(hh, entities, e->path, strlen(e->path), e);
}

static void sensors_clear(void);

void cq_clear(void)
{
    entity_t *e, *tmp;
    HASH_ITER(hh, entities, e, tmp) {
        HASH_DEL(entities, e);
        entity_free(e);
    }
    sensors_clear();
}

int cq_count(void)
{
    return (int)HASH_COUNT(entities);
}

/* Kafka's precedence (DefaultQuotaCallback): the first entity with a quota
 * of this type wins; *user_level says its rate is per user (shared by the
 * user's clients), *client_level per client-id. */
static const entity_t *resolve(enum cq_type type, const char *u, const char *c, bool *per_user,
                               bool *per_client)
{
    char path[1024];
    const struct { const char *fmt; bool user, client; int args; } order[] = {
        { "users/%s/clients/%s", true, true, 3 }, { "users/%s/clients/" DEFAULT_ENTITY, true, true, 1 },
        { "users/%s", true, false, 1 }, { "users/" DEFAULT_ENTITY "/clients/%s", true, true, 2 },
        { "users/" DEFAULT_ENTITY "/clients/" DEFAULT_ENTITY, true, true, 0 },
        { "users/" DEFAULT_ENTITY, true, false, 0 }, { "clients/%s", false, true, 2 },
        { "clients/" DEFAULT_ENTITY, false, true, 0 },
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        switch (order[i].args) {
        case 3: snprintf(path, sizeof(path), order[i].fmt, u, c); break;
        case 2: snprintf(path, sizeof(path), order[i].fmt, c); break;
        case 1: snprintf(path, sizeof(path), order[i].fmt, u); break;
        default: snprintf(path, sizeof(path), "%s", order[i].fmt); break;
        }
        entity_t *e;
        HASH_FIND_STR(entities, path, e);
        if (e && e->limit[type] > 0) {
            *per_user = order[i].user;
            *per_client = order[i].client;
            return e;
        }
    }
    return NULL;
}

#define MAX_SENSORS 100000     /* bounded however many client-ids come and go */

static void sensors_clear(void)
{
    sensor_t *s, *tmp;
    HASH_ITER(hh, sensors, s, tmp) {
        HASH_DEL(sensors, s);
        free(s->key);
        free(s);
    }
    bucket_t *k, *ktmp;
    HASH_ITER(hh, buckets, k, ktmp) {
        HASH_DEL(buckets, k);
        free(k->key);
        free(k);
    }
}

static sensor_t *sensor_of(const char *key, int64_t now)
{
    sensor_t *s;
    HASH_FIND_STR(sensors, key, s);
    if (!s && HASH_COUNT(sensors) >= MAX_SENSORS) {
        log_warn("quota", "%d quota sensors: starting them afresh", MAX_SENSORS);
        sensors_clear();
    }
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->key = xstrdup(key);
        rate_init(&s->rate, now);
        HASH_ADD_KEYPTR(hh, sensors, s->key, strlen(s->key), s);
    }
    return s;
}

bool cq_active(void)
{
    return entities != NULL;
}

/* The quota entity that applies and the key of its sensor; NULL if none. */
static const entity_t *quota_of(enum cq_type type, const char *user, const char *client_id,
                                char *key, size_t key_size)
{
    if (!entities)
        return NULL;
    char *u = kafka_sanitize(user), *c = kafka_sanitize(client_id);
    bool per_user, per_client;
    const entity_t *e = resolve(type, u, c, &per_user, &per_client);
    if (e)
        snprintf(key, key_size, "%d|%s|%s", type, per_user ? u : "", per_client ? c : "");
    free(u);
    free(c);
    return e;
}

#define SENSOR_KEY_MAX 2200

int32_t cq_record(enum cq_type type, const char *user, const char *client_id, double value,
                  int64_t now_ms)
{
    char key[SENSOR_KEY_MAX];
    const entity_t *e = quota_of(type, user, client_id, key, sizeof(key));
    if (!e)
        return 0;
    sensor_t *s = sensor_of(key, now_ms);
    rate_record(&s->rate, value, now_ms);
    double window, rate = rate_measure(&s->rate, now_ms, &window);
    double bound = e->limit[type];
    if (rate <= bound)
        return 0;
    double ms = (rate - bound) / bound * window;
    /* Kafka's ClientRequestQuotaManager bounds its throttle to one window. */
    if (type == CQ_REQUEST)
        ms = MIN(ms, (double)WINDOW_MS);
    return (int32_t)MIN(ms + 0.5, (double)INT32_MAX);
}

void cq_unrecord(enum cq_type type, const char *user, const char *client_id, double value,
                 int64_t now_ms)
{
    char key[SENSOR_KEY_MAX];
    if (quota_of(type, user, client_id, key, sizeof(key)))
        rate_record(&sensor_of(key, now_ms)->rate, -value, now_ms);
}

/* The bucket of key, refilled to now (a new one starts full). */
static bucket_t *bucket_of(const char *key, double quota, int64_t now)
{
    double burst = SAMPLES * (WINDOW_MS / 1000.0) * quota;
    bucket_t *k;
    HASH_FIND_STR(buckets, key, k);
    if (!k && HASH_COUNT(buckets) >= MAX_SENSORS) {
        log_warn("quota", "%d mutation quota buckets: starting them afresh", MAX_SENSORS);
        sensors_clear();
    }
    if (!k) {
        k = xcalloc(1, sizeof(*k));
        k->key = xstrdup(key);
        k->tokens = burst;
        k->last_ms = now;
        HASH_ADD_KEYPTR(hh, buckets, k->key, strlen(k->key), k);
    }
    k->tokens = MIN(burst, k->tokens + quota * (double)(now - k->last_ms) / 1000.0);
    k->last_ms = now;
    return k;
}

/* Kafka's throttleTimeMs for a TokenBucket: until it is back at zero. */
static void violated(mutation_quota_t *q, double tokens, double quota, int64_t now)
{
    double ms = -tokens / quota * 1000.0 + 0.5;
    q->throttle_ms = (int32_t)MIN(ms, (double)INT32_MAX);
    q->recorded_ms = now;
}

bool cq_mutation_record(mutation_quota_t *q, double permits, int64_t now_ms)
{
    char key[SENSOR_KEY_MAX];
    const entity_t *e = q ? quota_of(CQ_MUTATION, q->user, q->client_id, key, sizeof(key)) : NULL;
    if (!e)
        return true;
    double quota = e->limit[CQ_MUTATION], burst = SAMPLES * (WINDOW_MS / 1000.0) * quota;
    bucket_t *k = bucket_of(key, quota, now_ms);
    if (q->strict && k->tokens < 0) {       /* Sensor.checkQuotas, then record */
        violated(q, k->tokens, quota, now_ms);
        return false;
    }
    k->tokens = MIN(burst, k->tokens - permits);
    if (!q->strict && k->tokens < 0)
        violated(q, k->tokens, quota, now_ms);
    return true;
}

int32_t cq_mutation_throttle(const mutation_quota_t *q, int64_t now_ms)
{
    if (!q || q->throttle_ms <= 0)
        return 0;
    return (int32_t)MAX(0, q->throttle_ms - (now_ms - q->recorded_ms));
}

double cq_window_max(enum cq_type type, const char *user, const char *client_id)
{
    char key[SENSOR_KEY_MAX];
    const entity_t *e = quota_of(type, user, client_id, key, sizeof(key));
    return e ? e->limit[type] * (SAMPLES - 1) * (WINDOW_MS / 1000.0) : -1;
}
