/*
 * api_keys.h - the API keys a Kafka 3.9 client knows (generated from
 * Kafka's ApiKeys into api_keys_kafka.c by tools/GenApiKeys.java).
 */
#ifndef SAMSA_API_KEYS_H
#define SAMSA_API_KEYS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct kafka_api_key {
    int16_t id;
    const char *name;
    int16_t oldest;
    int16_t latest;             /* unstable versions included, as ApiKeys.latestVersion() */
    bool client_api;            /* ApiKeys.clientApis() */
} kafka_api_key_t;

extern const kafka_api_key_t kafka_api_keys[];
extern const int kafka_api_key_count;

#endif
