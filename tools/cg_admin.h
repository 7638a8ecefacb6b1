/*
 * cg_admin.h - what samsa-consumer-groups asks the cluster, through
 * librdkafka's Admin API (which finds each group's coordinator and asks
 * every broker for ListGroups, as Kafka's admin client does) and a
 * consumer handle for log offsets (ListOffsets goes to each partition's
 * leader).  Results are librdkafka objects owned by the returned event.
 * Single-threaded tool code.
 */
#ifndef SAMSA_CG_ADMIN_H
#define SAMSA_CG_ADMIN_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

void cg_open(const char *prog, const char *bootstrap, const char *command_config);
void cg_close(void);

/* ListGroups on every broker, with an optional state filter (NULL: all);
 * asked again while a coordinator is still loading, for up to 30 s. */
rd_kafka_event_t *cg_list_groups(const char *state,
                                 const rd_kafka_ConsumerGroupListing_t ***groups, size_t *n);
/* DescribeGroups of one group; exits with Kafka's message on an error. */
rd_kafka_event_t *cg_describe(const char *group, const rd_kafka_ConsumerGroupDescription_t **out);
/* The group's committed offsets (every partition it has one for); the
 * caller destroys the list. */
rd_kafka_topic_partition_list_t *cg_committed(const char *group);
/* Commits offsets for an inactive group; returns the per-partition result
 * (caller destroys) or exits on a request error. */
rd_kafka_topic_partition_list_t *cg_alter_offsets(const char *group,
                                                  const rd_kafka_topic_partition_list_t *offsets);
/* OffsetDelete; *group_err is the request's error.  Caller destroys. */
rd_kafka_topic_partition_list_t *cg_delete_offsets(const char *group,
                                                   const rd_kafka_topic_partition_list_t *parts,
                                                   rd_kafka_resp_err_t *group_err);
/* DeleteGroups; the result event holds one group result per group. */
rd_kafka_event_t *cg_delete_groups(const char *const *groups, int n, const rd_kafka_group_result_t ***res,
                                   size_t *nres);
/* Log offset of a partition at ts (-1 latest, -2 earliest, else the first
 * offset at or after the timestamp, -1 if none). */
int64_t cg_log_offset(const char *topic, int32_t partition, int64_t ts);
/* Partitions of a topic, -1 if it does not exist. */
int cg_partition_count(const char *topic);
/* Kafka's exception text for an error code, as kafka-consumer-groups
 * prints it. */
const char *cg_error_text(rd_kafka_resp_err_t code);

#endif
