/*
 * group_internal.h - what the group coordinator's files share: the group,
 * member and offset types, the coordinator state `gc`, and the functions
 * one part calls in another.  Internal to group_coordinator.c (state
 * machine, members, timers), group_join.c (JoinGroup/SyncGroup),
 * group_offsets.c (offsets, __consumer_offsets persistence, loading,
 * expiry) and group_admin.c (describe, list, delete).  Event-loop thread
 * only, like everything they hold.
 */
#ifndef SAMSA_GROUP_INTERNAL_H
#define SAMSA_GROUP_INTERNAL_H

#include <event2/event.h>
#include <uthash.h>

#include "group_coordinator.h"
#include "offsets_topic.h"

#define COMP "group-coordinator"

enum group_state { EMPTY, PREPARING_REBALANCE, COMPLETING_REBALANCE, STABLE, DEAD };
extern const char *const state_names[];

typedef struct group group_t;

typedef struct member {
    char *id;
    char *instance_id;
    char *client_id;
    char *client_host;
    int32_t session_timeout;
    int32_t rebalance_timeout;
    int n_protocols;
    char **proto_names;
    uint8_t **proto_meta;
    int32_t *proto_meta_len;
    uint8_t *assignment;
    int32_t assignment_len;
    request_t *join_req;
    join_done_fn join_done;
    request_t *sync_req;
    sync_done_fn sync_done;
    struct event *hb_timer;
    group_t *group;
    struct member *next;
} member_t;

typedef struct stored_offset {
    char key[300];              /* "<topic>\x01<partition>" */
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;             /* bytes, NULs included */
    int32_t metadata_len;
    int64_t commit_ts;
    int64_t expire_ts;          /* -1: retention applies */
    int64_t log_offset;         /* of its record in __consumer_offsets */
    UT_hash_handle hh;
} stored_offset_t;

/* An offset a transaction committed (TxnOffsetCommit), in effect once its
 * commit marker is written (Kafka's pendingTransactionalOffsetCommits). */
typedef struct txn_offset {
    int64_t pid;
    stored_offset_t o;          /* topic and metadata owned */
    struct txn_offset *next;
} txn_offset_t;

/* A member id handed out with MEMBER_ID_REQUIRED (KIP-394) whose owner
 * has not joined with it yet; it expires after the session timeout. */
typedef struct pending_member {
    char *id;
    struct group *group;
    struct event *expiry;
    struct pending_member *next;
} pending_member_t;

struct group {
    char *id;
    int32_t partition;
    enum group_state state;
    int64_t state_ts;
    int32_t generation;
    char *protocol_type;
    char *protocol_name;
    char *leader;
    member_t *members;
    int n_members;
    pending_member_t *pending;
    struct event *join_timer;
    int64_t join_deadline;      /* initial-delay cap */
    bool initial_delay;
    stored_offset_t *offsets;
    txn_offset_t *txn_offsets;
    UT_hash_handle hh;
};

/* Coordinator state; event-loop thread (defined in group_coordinator.c). */
typedef struct group_coordinator_state {
    broker_t *b;
    group_t *groups;
    bool *loaded;               /* per __consumer_offsets partition */
    bool *loading;              /* being read on the disk thread */
    int32_t n_partitions;
    struct event *expiry_timer;
} group_coordinator_state_t;
extern group_coordinator_state_t gc;


group_t *grp_add_group(kstr_t id);
member_t *grp_add_member(group_t *g, char *id, const join_args_t *a, request_t *req);
void grp_arm_join_timer(group_t *g, int32_t ms);
member_t *grp_checked_member(group_t *g, kstr_t member_id, kstr_t instance_id, int16_t *err);
int16_t grp_coordinator_error(kstr_t group);
void grp_destroy_group(group_t *g);
char *grp_dup_kstr(kstr_t s);
void grp_expire_offsets(evutil_socket_t fd, short what, void *arg);
group_t *grp_find_group(kstr_t id);
member_t *grp_find_member(group_t *g, kstr_t id);
stored_offset_t *grp_find_offset(group_t *g, const char *topic, int32_t partition);
member_t *grp_find_static(group_t *g, kstr_t instance);
void grp_free_member(member_t *m);
void grp_free_offset(group_t *g, stored_offset_t *o);
void grp_put_offset(group_t *g, const stored_offset_t *o);
/* A loaded commit record as a stored offset (topic and metadata borrowed). */
stored_offset_t grp_offset_of_record(const offsets_record_t *r, char *topic, int64_t log_offset);
/* Writes the valid entries' commit records (a transactional batch when
 * prod is given) and calls apply for each written one; entries that fail
 * get their error. */
typedef void (*grp_apply_fn)(group_t *g, const stored_offset_t *o, void *arg);
void grp_write_commits(group_t *g, commit_entry_t *e, int n, const batch_producer_t *prod,
                       grp_apply_fn apply, void *arg);
/* group_txn_offsets.c */
void grp_add_txn_offset(group_t *g, int64_t pid, const offsets_record_t *r, int64_t log_offset);
bool grp_has_txn_offset(const group_t *g, const char *topic, int32_t partition);
void grp_free_txn_offsets(group_t *g);
void grp_heartbeat_expired(evutil_socket_t fd, short what, void *arg);
void grp_join_error(member_t *m, int16_t err);
void grp_maybe_complete_join(group_t *g);
int grp_member_protocol_index(const member_t *m, const char *name);
char *grp_new_member_id(const char *prefix);
void grp_prepare_rebalance(group_t *g, const char *reason);
void grp_respond_join(group_t *g, member_t *m, bool with_members);
bool grp_same_protocols(const member_t *m, const join_args_t *a);
void grp_schedule_heartbeat(member_t *m);
const char *grp_select_protocol(group_t *g);
void grp_set_protocols(member_t *m, const join_args_t *a);
void grp_set_state(group_t *g, enum group_state s);
int16_t grp_store_group(group_t *g);
bool grp_str_eq_k(const char *a, kstr_t b);
void grp_sync_error(member_t *m, int16_t err);
bool grp_take_pending(group_t *g, kstr_t id);
/* Hands out a pending member id that expires after session_timeout_ms
 * (Kafka's removePendingMemberAndUpdateGroup); takes ownership of id. */
void grp_add_pending(group_t *g, char *id, int32_t session_timeout_ms);
/* Drops every pending member id. */
void grp_clear_pending(group_t *g);
int16_t grp_write_tombstones(group_t *g, stored_offset_t **offs, int n, bool group_too);

#endif
