/*
 * offsets_topic.h - the __consumer_offsets internal topic in Kafka's format:
 * which partition holds a group (Java String.hashCode rule), the key/value
 * records for offset commits and group metadata, and appending them
 * (reading a partition back is coord_log.h's clog_load_async).
 * Event-loop thread only.
 */
#ifndef SAMSA_OFFSETS_TOPIC_H
#define SAMSA_OFFSETS_TOPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "proto_messages.h"
#include "record_batch.h"

#define OFFSETS_TOPIC "__consumer_offsets"

/* Java's String.hashCode over the UTF-16 code units of a UTF-8 string. */
int32_t java_string_hash(const char *s, int32_t len);
/* Utils.abs(hash) % partitions. */
int32_t offsets_partition_for(const char *group, int32_t len, int32_t partitions);

/* One decoded record of the topic (strings point into the record). */
typedef enum { OREC_OFFSET, OREC_GROUP, OREC_OTHER } orec_kind_t;
typedef struct offsets_record {
    orec_kind_t kind;
    bool tombstone;
    struct offset_commit_key okey;
    struct offset_commit_value oval;
    struct group_metadata_key gkey;
    struct group_metadata_value gval;
} offsets_record_t;

/* Decodes one record; -1 if malformed.  Arrays go into arena. */
int offsets_record_decode(const batch_record_t *r, arena_t *arena, offsets_record_t *out);

/* Encoders for the records the coordinator writes (key v1 / value v3 for
 * commits, key v2 / value v3 for groups, as ZooKeeper-mode Kafka 2.3+). */
void offsets_encode_commit_key(kwriter_t *w, const char *group, const char *topic, int32_t partition);
void offsets_encode_commit_value(kwriter_t *w, int64_t offset, int32_t leader_epoch,
                                 kstr_t metadata, int64_t commit_ts);
void offsets_encode_group_key(kwriter_t *w, const char *group);
void offsets_encode_group_value(kwriter_t *w, const struct group_metadata_value *v);

/* Appends a batch of prepared records to partition p of the topic (prod:
 * see clog_append); *base (may be NULL) gets the first offset.  Returns 0,
 * or a Kafka error code.  Loading goes through clog_load_async(). */
int16_t offsets_append(broker_t *b, int32_t partition, const batch_kv_t *recs, int n,
                       const batch_producer_t *prod, int64_t *base);

#endif
