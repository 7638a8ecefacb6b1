/*
 * group_coordinator.h - Kafka's classic group coordinator: the group state
 * machine (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead),
 * member sessions and rebalance timeouts, static membership, committed
 * offsets, and their persistence in __consumer_offsets.
 * Event-loop thread only; timers are libevent events on the loop.
 *
 * The coordinator decides; api_groups.c decodes requests and encodes the
 * results it is handed (directly, or later through a callback for
 * JoinGroup/SyncGroup requests that wait for a rebalance).
 */
#ifndef SAMSA_GROUP_COORDINATOR_H
#define SAMSA_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"

void gc_init(broker_t *b);
void gc_shutdown(void);
/* This broker became leader of a __consumer_offsets partition: load it. */
void gc_partition_led(int32_t partition);
/* It stopped leading one: its groups go (members find the new
 * coordinator; the new leader loads them from the replicated log).
 * Partial: a load still running when leadership moves is not cancelled. */
void gc_partition_unled(int32_t partition);
/* The __consumer_offsets partition of a group (-1 before gc_init). */
int32_t gc_partition_of(kstr_t group);

/* FindCoordinator for a group: creates __consumer_offsets when missing
 * (charged to quota, see clog_create_topic).  Returns a Kafka error code
 * (NONE with *node set). */
struct mutation_quota;
int16_t gc_find_coordinator(kstr_t group, int32_t *node, struct mutation_quota *quota);

/* ---- JoinGroup ---- */
typedef struct join_member {
    const char *member_id;
    const char *instance_id;        /* NULL if dynamic */
    const uint8_t *metadata;
    int32_t metadata_len;
} join_member_t;

typedef struct join_result {
    int16_t error;
    int32_t generation;
    const char *protocol_type;      /* NULL if none */
    const char *protocol_name;      /* NULL if none */
    const char *leader;
    const char *member_id;
    join_member_t *members;         /* leader only */
    int n_members;
} join_result_t;

typedef void (*join_done_fn)(request_t *req, const join_result_t *res);

typedef struct join_args {
    kstr_t group_id;
    kstr_t member_id;
    kstr_t instance_id;
    kstr_t protocol_type;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    int n_protocols;
    kstr_t *protocol_names;
    kbytes_t *protocol_metadata;
    bool require_known_member_id;   /* JoinGroup v4+ */
} join_args_t;

/* Answers now (REQ_DONE, done called) or later (REQ_PARKED). */
enum handler_result gc_join(request_t *req, const join_args_t *a, join_done_fn done);

/* ---- SyncGroup ---- */
typedef void (*sync_done_fn)(request_t *req, int16_t error, const char *protocol_type,
                             const char *protocol_name, const uint8_t *assignment, int32_t len);
typedef struct sync_args {
    kstr_t group_id;
    int32_t generation;
    kstr_t member_id;
    kstr_t instance_id;
    kstr_t protocol_type;           /* null: not checked (before v5) */
    kstr_t protocol_name;
    int n_assignments;
    kstr_t *assign_members;
    kbytes_t *assignments;
} sync_args_t;
enum handler_result gc_sync(request_t *req, const sync_args_t *a, sync_done_fn done);

int16_t gc_heartbeat(kstr_t group, int32_t generation, kstr_t member_id, kstr_t instance_id);
/* One member leaving; returns its error. */
int16_t gc_leave(kstr_t group, kstr_t member_id, kstr_t instance_id);
/* NONE if this broker coordinates the group and has loaded it (Kafka's
 * validateGroupStatus: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS...). */
int16_t gc_coordinator_error(kstr_t group);
/* Group-level check for LeaveGroup (coordinator and group exist). */
int16_t gc_group_error(kstr_t group);

/* ---- Offsets ---- */
typedef struct commit_entry {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    kstr_t metadata;
    int16_t error;                  /* out */
} commit_entry_t;
/* Validates and stores commits; per-entry errors are filled in. Returns a
 * group-level error applied to every entry when not NONE. */
int16_t gc_commit(kstr_t group, int32_t generation, kstr_t member_id, kstr_t instance_id,
                  commit_entry_t *entries, int n);

/* TxnOffsetCommit: commits held as pending for producer pid until its
 * transaction's marker reaches the group's partition
 * (group_txn_offsets.c).  Same contract as gc_commit. */
int16_t gc_txn_commit(kstr_t group, int64_t pid, int16_t epoch, int32_t generation,
                      kstr_t member_id, kstr_t instance_id, commit_entry_t *entries, int n);
/* A marker for pid was written to __consumer_offsets-partition: its
 * pending offsets take effect (commit) or are dropped. */
void gc_txn_completed(int32_t partition, int64_t pid, bool commit);
/* True if a transaction still holds an offset of the partition pending
 * (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT). */
bool gc_offset_unstable(kstr_t group, const char *topic, int32_t partition);

typedef struct fetched_offset {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    kstr_t metadata;                /* bytes of the stored offset */
    int16_t error;                  /* UNSTABLE_OFFSET_COMMIT, set by api_groups.c */
} fetched_offset_t;
/* Committed offset of one partition (-1 if none). */
int16_t gc_fetch_offset(kstr_t group, const char *topic, int32_t partition, fetched_offset_t *out);
/* All committed offsets of a group (array in arena). */
int16_t gc_fetch_all(kstr_t group, arena_t *a, fetched_offset_t **out, int *n);

/* ---- Admin ---- */
typedef struct group_member_summary {
    const char *member_id;
    const char *instance_id;
    const char *client_id;
    const char *client_host;
    const uint8_t *metadata;
    int32_t metadata_len;
    const uint8_t *assignment;
    int32_t assignment_len;
} group_member_summary_t;

typedef struct group_summary {
    int16_t error;
    const char *state;
    const char *protocol_type;
    const char *protocol;
    group_member_summary_t *members;
    int n_members;
} group_summary_t;
void gc_describe(kstr_t group, arena_t *a, group_summary_t *out);

typedef struct group_listing {
    const char *group_id;
    const char *protocol_type;
    const char *state;
} group_listing_t;
/* The groups; 0 with *err = COORDINATOR_LOAD_IN_PROGRESS while one of
 * this broker's __consumer_offsets partitions is still loading. */
int gc_list(arena_t *a, group_listing_t **out, int16_t *err);
int16_t gc_delete_group(kstr_t group);
/* OffsetDelete: group-level error, or per-entry errors. */
/* Entries whose error is already set (refused, unknown) are skipped. */
int16_t gc_delete_offsets(kstr_t group, commit_entry_t *entries, int n);

/* Request cancellation hook (connection closed while parked). */
void gc_cancel(request_t *req);

#endif
