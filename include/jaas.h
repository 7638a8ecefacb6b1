/*
 * jaas.h - one JAAS login-module entry as Kafka's sasl.jaas.config values
 * carry it ("<LoginModule class> <flag> key="value" ...;"): the module's
 * name is checked and each key=value option handed to a callback.
 * Pure functions: any thread.
 */
#ifndef SAMSA_JAAS_H
#define SAMSA_JAAS_H

#include <stddef.h>

#define JAAS_PLAIN_MODULE "org.apache.kafka.common.security.plain.PlainLoginModule"
#define JAAS_SCRAM_MODULE "org.apache.kafka.common.security.scram.ScramLoginModule"

/* Called for every option; a non-zero return stops the parse with it. */
typedef int (*jaas_option_fn)(const char *key, size_t keylen, const char *value, void *arg);

/* 0 once every option was handed over; -1 if the entry does not name
 * module (err says so); or what a callback returned. */
int jaas_parse(const char *jaas, const char *module, jaas_option_fn fn, void *arg, char *err,
               size_t errlen);

#endif
