/*
 * tool_common.h - what the samsa-* tools share: Kafka-style flag parsing
 * helpers, --command-config / --producer.config properties files applied to
 * a librdkafka configuration, librdkafka Admin API handles (which find the
 * controller or coordinator a request must go to), and a small blocking
 * Kafka protocol client (the broker's own generated codecs) for the few
 * requests librdkafka 2.0's Admin API does not cover (Metadata with topic
 * ids, ListOffsets, OffsetFetch of one group's partitions at a time).
 * Tools are single-threaded programs.
 */
#ifndef SAMSA_TOOL_COMMON_H
#define SAMSA_TOOL_COMMON_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "kclient.h"
#include "proto_codec.h"

/* Prints "prog: message" to stderr and exits 1. */
void tool_die(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Sets key=value on a librdkafka conf, exiting on error. */
void tool_conf_set(const char *prog, rd_kafka_conf_t *conf, const char *kv);
/* Sets key to value on a librdkafka conf, exiting on error. */
void tool_conf_kv(const char *prog, rd_kafka_conf_t *conf, const char *key, const char *value);
/* Applies every key=value line of a Java properties file. */
void tool_conf_file(const char *prog, rd_kafka_conf_t *conf, const char *path);

/* A librdkafka handle for Admin API calls against bootstrap, with the
 * --command-config file applied (NULL: none). */
rd_kafka_t *tool_admin_new(const char *prog, const char *bootstrap, const char *command_config);
/* Waits for the result event of an Admin API call made on queue q (up to
 * 60 s).  Exits with Kafka's message if the whole request failed. */
rd_kafka_event_t *tool_admin_result(const char *prog, rd_kafka_queue_t *q);

/* Admin options for op with an operation timeout (exits on error). */
rd_kafka_AdminOptions_t *tool_admin_options(const char *prog, rd_kafka_t *rk, rd_kafka_admin_op_t op,
                                            int timeout_ms);
/* The outcome of a one-topic CreateTopics/DeleteTopics: its error, and in
 * *msg the broker's message (NULL if none). */
rd_kafka_resp_err_t tool_topic_result(const rd_kafka_topic_result_t **res, size_t n, const char **msg);

/*
 * One request/response exchange by API name ("Metadata", "CreateTopics"...)
 * over a kclient (kclient.h), at the highest version both sides support up
 * to want.  Exits with a message if the broker lacks the API or the
 * exchange fails.  Returns the version used.
 */
int16_t tool_rpc(kclient_t *c, arena_t *a, const char *prog, const char *api, int16_t want,
                 const void *rq, void *resp);

struct metadata_response;
/* Metadata v12 for one topic, or every topic (topic NULL), or none
 * (no_topics: brokers and controller only).  Exits on failure. */
struct metadata_response *tool_metadata(kclient_t *c, arena_t *a, const char *prog,
                                        const char *topic, bool no_topics);
/* Connects c to bootstrap (exits if it cannot), starts arena a and returns
 * tool_metadata(c, a, prog, NULL, no_topics). */
struct metadata_response *tool_bootstrap(kclient_t *c, arena_t *a, const char *prog,
                                         const char *bootstrap, bool no_topics);
/* Connects out to broker id as the metadata lists it; -1 if it is not
 * listed or unreachable. */
int tool_connect_broker(kclient_t *out, arena_t *a, const char *prog,
                        const struct metadata_response *m, int32_t id);

#endif
