/*
 * group_coordinator.c - owns consumer groups' state machine: Kafka's classic
 * rebalance protocol (Empty, PreparingRebalance, CompletingRebalance,
 * Stable, Dead), members with their session and rebalance timers, static
 * membership, Heartbeat and LeaveGroup, and which broker coordinates a
 * group.  JoinGroup/SyncGroup are in group_join.c, offsets and their
 * persistence in group_offsets.c, describe/list/delete in group_admin.c.
 * Event-loop thread only: every group, member and timer belongs to it.
 */
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "client_quotas.h"
#include "coord_log.h"
#include "group_internal.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "offsets_topic.h"
#include "replica_manager.h"
#include "topic_admin.h"
#include "util.h"

const char *const state_names[] = { "Empty", "PreparingRebalance", "CompletingRebalance",
                                     "Stable", "Dead" };

group_coordinator_state_t gc;

/* ---- helpers ---- */

char *grp_dup_kstr(kstr_t s)
{
    if (s.len < 0)
        return NULL;
    char *d = xmalloc((size_t)s.len + 1);
    memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

bool grp_str_eq_k(const char *a, kstr_t b)
{
    return a ? kstr_eq_cstr(b, a) : b.len < 0;
}

char *grp_new_member_id(const char *prefix)
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof(r)) != 1)
        die("RAND_bytes failed");
    char *id = xmalloc(strlen(prefix) + 40);
    sprintf(id, "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", prefix,
            r[0], r[1], r[2], r[3], r[4], r[5], (r[6] & 0x0f) | 0x40, r[7], (r[8] & 0x3f) | 0x80, r[9],
            r[10], r[11], r[12], r[13], r[14], r[15]);
    return id;
}

static const char *peer_host(request_t *req, char *buf, size_t n)
{
    const char *peer = conn_peer(req->conn);
    const char *colon = strrchr(peer, ':');
    snprintf(buf, n, "/%.*s", colon ? (int)(colon - peer) : (int)strlen(peer), peer);
    return buf;
}

void grp_set_state(group_t *g, enum group_state s)
{
    g->state = s;
    g->state_ts = now_ms();
}

group_t *grp_find_group(kstr_t id)
{
    if (id.len <= 0)
        return NULL;
    group_t *g;
    HASH_FIND(hh, gc.groups, id.ptr, (size_t)id.len, g);
    return g;
}

group_t *grp_add_group(kstr_t id)
{
    group_t *g = xcalloc(1, sizeof(*g));
    g->id = grp_dup_kstr(id);
    g->partition = offsets_partition_for(id.ptr, id.len, gc.n_partitions);
    grp_set_state(g, EMPTY);
    HASH_ADD_KEYPTR(hh, gc.groups, g->id, strlen(g->id), g);
    return g;
}

member_t *grp_find_member(group_t *g, kstr_t id)
{
    for (member_t *m = g->members; m; m = m->next)
        if (kstr_eq_cstr(id, m->id))
            return m;
    return NULL;
}

member_t *grp_find_static(group_t *g, kstr_t instance)
{
    if (instance.len < 0)
        return NULL;
    for (member_t *m = g->members; m; m = m->next)
        if (m->instance_id && kstr_eq_cstr(instance, m->instance_id))
            return m;
    return NULL;
}

static void free_protocols(member_t *m)
{
    for (int i = 0; i < m->n_protocols; i++) {
        free(m->proto_names[i]);
        free(m->proto_meta[i]);
    }
    free(m->proto_names);
    free(m->proto_meta);
    free(m->proto_meta_len);
    m->n_protocols = 0;
    m->proto_names = NULL;
    m->proto_meta = NULL;
    m->proto_meta_len = NULL;
}

void grp_set_protocols(member_t *m, const join_args_t *a)
{
    free_protocols(m);
    m->n_protocols = a->n_protocols;
    m->proto_names = xcalloc((size_t)a->n_protocols + 1, sizeof(char *));
    m->proto_meta = xcalloc((size_t)a->n_protocols + 1, sizeof(uint8_t *));
    m->proto_meta_len = xcalloc((size_t)a->n_protocols + 1, sizeof(int32_t));
    for (int i = 0; i < a->n_protocols; i++) {
        m->proto_names[i] = grp_dup_kstr(a->protocol_names[i]);
        int32_t n = a->protocol_metadata[i].len > 0 ? a->protocol_metadata[i].len : 0;
        m->proto_meta[i] = xmalloc((size_t)n + 1);
        if (n)
            memcpy(m->proto_meta[i], a->protocol_metadata[i].ptr, (size_t)n);
        m->proto_meta_len[i] = n;
    }
}

bool grp_same_protocols(const member_t *m, const join_args_t *a)
{
    if (m->n_protocols != a->n_protocols)
        return false;
    for (int i = 0; i < a->n_protocols; i++) {
        int32_t n = a->protocol_metadata[i].len > 0 ? a->protocol_metadata[i].len : 0;
        if (!kstr_eq_cstr(a->protocol_names[i], m->proto_names[i]) || n != m->proto_meta_len[i] ||
            (n && memcmp(a->protocol_metadata[i].ptr, m->proto_meta[i], (size_t)n)))
            return false;
    }
    return true;
}

int grp_member_protocol_index(const member_t *m, const char *name)
{
    for (int i = 0; i < m->n_protocols; i++)
        if (!strcmp(m->proto_names[i], name))
            return i;
    return -1;
}

/* ---- members and timers ---- */

static void complete_join(group_t *g);
static void remove_member(group_t *g, member_t *m, const char *reason);


void grp_schedule_heartbeat(member_t *m)
{
    struct timeval tv = { m->session_timeout / 1000, (m->session_timeout % 1000) * 1000 };
    event_add(m->hb_timer, &tv);
}

void grp_heartbeat_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    member_t *m = arg;
    /* A member waiting in JoinGroup/SyncGroup is alive by definition. */
    if (m->join_req || m->sync_req) {
        grp_schedule_heartbeat(m);
        return;
    }
    log_info(COMP, "Member %s in group %s has failed, removing it from the group", m->id,
             m->group->id);
    remove_member(m->group, m, "removing member on heartbeat expiration");
}

member_t *grp_add_member(group_t *g, char *id, const join_args_t *a, request_t *req)
{
    member_t *m = xcalloc(1, sizeof(*m));
    char host[128];
    m->id = id;
    m->instance_id = grp_dup_kstr(a->instance_id);
    m->client_id = grp_dup_kstr(req->hdr.client_id);
    if (!m->client_id)
        m->client_id = xstrdup("");
    m->client_host = xstrdup(peer_host(req, host, sizeof(host)));
    m->session_timeout = a->session_timeout_ms;
    m->rebalance_timeout = a->rebalance_timeout_ms > 0 ? a->rebalance_timeout_ms : a->session_timeout_ms;
    m->group = g;
    m->hb_timer = event_new(gc.b->base, -1, 0, grp_heartbeat_expired, m);
    grp_set_protocols(m, a);
    /* Append: the first member to join leads. */
    member_t **pp = &g->members;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    g->n_members++;
    if (g->n_members == 1) {
        /* The first member sets the protocol type; it stays when the group
         * empties again (Kafka's GroupMetadata.add). */
        free(g->protocol_type);
        g->protocol_type = grp_dup_kstr(a->protocol_type);
    }
    grp_schedule_heartbeat(m);
    return m;
}

void grp_free_member(member_t *m)
{
    if (m->hb_timer)
        event_free(m->hb_timer);
    free_protocols(m);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

void grp_join_error(member_t *m, int16_t err)
{
    if (!m->join_req)
        return;
    join_result_t res = { .error = err, .generation = -1, .member_id = m->id, .leader = "" };
    request_t *req = m->join_req;
    join_done_fn done = m->join_done;
    m->join_req = NULL;
    req->parked = NULL;
    done(req, &res);
    request_complete(req);
}

void grp_sync_error(member_t *m, int16_t err)
{
    if (!m->sync_req)
        return;
    request_t *req = m->sync_req;
    sync_done_fn done = m->sync_done;
    m->sync_req = NULL;
    req->parked = NULL;
    done(req, err, NULL, NULL, NULL, 0);
    request_complete(req);
}

static void unlink_member(group_t *g, member_t *m)
{
    for (member_t **pp = &g->members; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            g->n_members--;
            break;
        }
    }
    if (g->leader && !strcmp(g->leader, m->id)) {
        free(g->leader);
        g->leader = g->members ? xstrdup(g->members->id) : NULL;
    }
}

static void remove_member(group_t *g, member_t *m, const char *reason)
{
    grp_join_error(m, KERR_UNKNOWN_MEMBER_ID);
    grp_sync_error(m, KERR_UNKNOWN_MEMBER_ID);
    unlink_member(g, m);
    grp_free_member(m);
    switch (g->state) {
    case STABLE:
    case COMPLETING_REBALANCE:
        /* As Kafka's prepareRebalance: the join completes at once when
         * nobody is left to wait for, so the last member's LeaveGroup is
         * answered with the group already Empty. */
        grp_prepare_rebalance(g, reason);
        grp_maybe_complete_join(g);
        break;
    case PREPARING_REBALANCE: {
        /* Maybe everyone left has joined now. */
        bool all = !g->initial_delay && !g->pending;
        for (member_t *x = g->members; x && all; x = x->next)
            all = x->join_req != NULL;
        if (all)
            complete_join(g);
        break;
    }
    default:
        break;
    }
}

/* ---- rebalance ---- */

static void join_timer_fired(evutil_socket_t fd, short what, void *arg);

static int32_t max_rebalance_timeout(group_t *g)
{
    int32_t t = 0;
    for (member_t *m = g->members; m; m = m->next)
        t = MAX(t, m->rebalance_timeout);
    return t > 0 ? t : 1;
}

void grp_arm_join_timer(group_t *g, int32_t ms)
{
    if (!g->join_timer)
        g->join_timer = event_new(gc.b->base, -1, 0, join_timer_fired, g);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_add(g->join_timer, &tv);
}

void grp_prepare_rebalance(group_t *g, const char *reason)
{
    if (g->state == COMPLETING_REBALANCE) {
        for (member_t *m = g->members; m; m = m->next) {
            free(m->assignment);
            m->assignment = NULL;
            grp_sync_error(m, KERR_REBALANCE_IN_PROGRESS);
        }
    }
    bool from_empty = g->state == EMPTY;
    log_info(COMP, "Preparing to rebalance group %s in state PreparingRebalance with old "
                   "generation %d (%s) (reason: %s)", g->id, g->generation, OFFSETS_TOPIC, reason);
    grp_set_state(g, PREPARING_REBALANCE);
    int32_t delay = gc.b->cfg->group_initial_rebalance_delay_ms;
    if (from_empty && delay > 0) {
        g->initial_delay = true;
        g->join_deadline = mono_ms() + max_rebalance_timeout(g);
        grp_arm_join_timer(g, MIN(delay, max_rebalance_timeout(g)));
    } else {
        g->initial_delay = false;
        grp_arm_join_timer(g, max_rebalance_timeout(g));
    }
}

static bool all_joined(group_t *g)
{
    if (g->initial_delay || g->pending)
        return false;
    for (member_t *m = g->members; m; m = m->next)
        if (!m->join_req)
            return false;
    return true;
}

void grp_maybe_complete_join(group_t *g)
{
    if (g->state == PREPARING_REBALANCE && all_joined(g))
        complete_join(g);
}

static void join_timer_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    group_t *g = arg;
    if (g->state != PREPARING_REBALANCE)
        return;
    if (g->initial_delay) {
        g->initial_delay = false;
        if (!all_joined(g)) {
            /* Wait for the rest until the rebalance timeout. */
            int64_t left = g->join_deadline - mono_ms();
            if (left > 0) {
                grp_arm_join_timer(g, (int32_t)left);
                return;
            }
        }
    }
    /* Pending (MEMBER_ID_REQUIRED) members that never came back are dropped. */
    grp_clear_pending(g);
    complete_join(g);
}

/* Kafka's vote: each member votes for its most preferred protocol among
 * those every member supports; the most votes wins. */
const char *grp_select_protocol(group_t *g)
{
    if (!g->members)
        return NULL;
    const char *best = NULL;
    int best_votes = -1;
    member_t *first = g->members;
    for (int i = 0; i < first->n_protocols; i++) {
        const char *cand = first->proto_names[i];
        bool common = true;
        for (member_t *m = g->members; m && common; m = m->next)
            common = grp_member_protocol_index(m, cand) >= 0;
        if (!common)
            continue;
        int votes = 0;
        for (member_t *m = g->members; m; m = m->next) {
            for (int k = 0; k < m->n_protocols; k++) {
                bool kc = true;
                for (member_t *x = g->members; x && kc; x = x->next)
                    kc = grp_member_protocol_index(x, m->proto_names[k]) >= 0;
                if (kc) {
                    votes += !strcmp(m->proto_names[k], cand);
                    break;
                }
            }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

void grp_respond_join(group_t *g, member_t *m, bool with_members)
{
    join_result_t res = { .error = KERR_NONE, .generation = g->generation,
                          .protocol_type = g->protocol_type, .protocol_name = g->protocol_name,
                          .leader = g->leader ? g->leader : "", .member_id = m->id };
    join_member_t *list = NULL;
    if (with_members) {
        list = xcalloc((size_t)g->n_members + 1, sizeof(*list));
        int i = 0;
        for (member_t *x = g->members; x; x = x->next) {
            int pi = grp_member_protocol_index(x, g->protocol_name);
            list[i++] = (join_member_t){ x->id, x->instance_id, pi >= 0 ? x->proto_meta[pi] : NULL,
                                         pi >= 0 ? x->proto_meta_len[pi] : 0 };
        }
        res.members = list;
        res.n_members = i;
    }
    request_t *req = m->join_req;
    join_done_fn done = m->join_done;
    m->join_req = NULL;
    req->parked = NULL;
    done(req, &res);
    free(list);
    request_complete(req);
}

static void complete_join(group_t *g)
{
    if (g->join_timer)
        event_del(g->join_timer);
    /* Members that did not rejoin in time leave the group. */
    for (member_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->join_req) {
            log_info(COMP, "Member %s in group %s did not rejoin before the rebalance timeout; "
                           "removing it", m->id, g->id);
            unlink_member(g, m);
            grp_free_member(m);
        }
    }
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (!g->members) {
        free(g->leader);
        g->leader = NULL;
        grp_set_state(g, EMPTY);
        log_info(COMP, "Group %s with generation %d is now empty (%s-%d)", g->id, g->generation,
                 OFFSETS_TOPIC, g->partition);
        grp_store_group(g);
        return;
    }
    const char *proto = grp_select_protocol(g);
    g->protocol_name = proto ? xstrdup(proto) : NULL;
    if (!g->leader || !grp_find_member(g, kstr_from_cstr(g->leader))) {
        free(g->leader);
        g->leader = xstrdup(g->members->id);
    }
    grp_set_state(g, COMPLETING_REBALANCE);
    log_info(COMP, "Stabilized group %s generation %d (%s-%d) with %d members", g->id,
             g->generation, OFFSETS_TOPIC, g->partition, g->n_members);
    for (member_t *m = g->members; m; m = m->next) {
        grp_schedule_heartbeat(m);
        if (m->join_req)
            grp_respond_join(g, m, !strcmp(m->id, g->leader));
    }
}

static bool offsets_topic_ready(void)
{
    return mc_find_topic(OFFSETS_TOPIC) != NULL;
}

/* NONE if this broker coordinates the group now. */
int16_t grp_coordinator_error(kstr_t group)
{
    if (group.len <= 0)
        return KERR_INVALID_GROUP_ID;
    mc_topic_t *t = mc_find_topic(OFFSETS_TOPIC);
    if (!t)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    int32_t p = offsets_partition_for(group.ptr, group.len, gc.n_partitions);
    /* The coordinator is the partition's leader as the replica manager
     * has it (LeaderAndIsr), not as the metadata cache reports it. */
    const partition_t *pp = p < t->n_partitions ? rm_partition(OFFSETS_TOPIC, p) : NULL;
    if (!pp || !pp->log || pp->leader != gc.b->cfg->broker_id)
        return KERR_NOT_COORDINATOR;
    if (!gc.loaded[p])
        gc_partition_led(p);
    return gc.loaded[p] ? KERR_NONE : KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

int16_t gc_find_coordinator(kstr_t group, int32_t *node, mutation_quota_t *quota)
{
    if (!offsets_topic_ready()) {
        const broker_config_t *cfg = gc.b->cfg;
        char seg[32];
        snprintf(seg, sizeof(seg), "%lld", (long long)cfg->offsets_topic_segment_bytes);
        const char *keys[] = { "cleanup.policy", "compression.type", "segment.bytes" };
        const char *vals[] = { "compact", "producer", seg };
        topic_spec_t spec = { .name = OFFSETS_TOPIC, .num_partitions = gc.n_partitions,
                              .replication_factor = cfg->offsets_topic_rf, .config_keys = keys,
                              .config_values = vals, .n_configs = 3 };
        return clog_create_topic(gc.b, &spec, "offsets", "offsets.topic.replication.factor",
                                 quota);
    }
    if (group.len <= 0)
        return KERR_INVALID_GROUP_ID;
    /* Kafka answers with the leader of the group's partition, whichever
     * broker that is; a leader here starts loading the partition. */
    int32_t p = offsets_partition_for(group.ptr, group.len, gc.n_partitions);
    int16_t err = clog_leader_of(OFFSETS_TOPIC, p, node);
    if (!err && *node == gc.b->cfg->broker_id)
        (void)grp_coordinator_error(group);
    return err;
}

/* ---- Heartbeat / LeaveGroup ---- */

int16_t gc_heartbeat(kstr_t group, int32_t generation, kstr_t member_id, kstr_t instance_id)
{
    int16_t err = grp_coordinator_error(group);
    if (err)
        return err;
    group_t *g = grp_find_group(group);
    if (!g)
        return KERR_UNKNOWN_MEMBER_ID;
    if (g->state == DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    member_t *m = grp_checked_member(g, member_id, instance_id, &err);
    if (err)
        return err;
    if (g->state == EMPTY)
        return KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    grp_schedule_heartbeat(m);
    return g->state == PREPARING_REBALANCE ? KERR_REBALANCE_IN_PROGRESS : KERR_NONE;
}

int16_t gc_coordinator_error(kstr_t group)
{
    return grp_coordinator_error(group);
}

int16_t gc_group_error(kstr_t group)
{
    int16_t err = grp_coordinator_error(group);
    if (err)
        return err;
    group_t *g = grp_find_group(group);
    return !g ? KERR_UNKNOWN_MEMBER_ID : g->state == DEAD ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE;
}

int16_t gc_leave(kstr_t group, kstr_t member_id, kstr_t instance_id)
{
    int16_t err = gc_group_error(group);
    if (err)
        return err;
    group_t *g = grp_find_group(group);
    member_t *m;
    if (instance_id.len >= 0) {
        m = grp_find_static(g, instance_id);
        if (!m)
            return KERR_UNKNOWN_MEMBER_ID;
        if (member_id.len > 0 && !kstr_eq_cstr(member_id, m->id))
            return KERR_FENCED_INSTANCE_ID;
    } else {
        if (grp_take_pending(g, member_id))
            return KERR_NONE;
        m = grp_find_member(g, member_id);
        if (!m)
            return KERR_UNKNOWN_MEMBER_ID;
    }
    log_info(COMP, "Member %s has left group %s through explicit LeaveGroup request", m->id, g->id);
    remove_member(g, m, "removing member on LeaveGroup");
    return KERR_NONE;
}

void grp_destroy_group(group_t *g)
{
    HASH_DEL(gc.groups, g);
    while (g->members) {
        member_t *m = g->members;
        g->members = m->next;
        grp_join_error(m, KERR_COORDINATOR_NOT_AVAILABLE);
        grp_sync_error(m, KERR_COORDINATOR_NOT_AVAILABLE);
        grp_free_member(m);
    }
    grp_clear_pending(g);
    stored_offset_t *o, *tmp;
    HASH_ITER(hh, g->offsets, o, tmp)
        grp_free_offset(g, o);
    grp_free_txn_offsets(g);
    if (g->join_timer)
        event_free(g->join_timer);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader);
    free(g);
}

void gc_cancel(request_t *req)
{
    member_t *m = req->parked;
    if (!m)
        return;
    if (m->join_req == req)
        m->join_req = NULL;
    if (m->sync_req == req)
        m->sync_req = NULL;
    req->parked = NULL;
}

void gc_init(broker_t *b)
{
    gc.b = b;
    gc.n_partitions = b->cfg->offsets_topic_partitions;
    gc.loaded = xcalloc((size_t)gc.n_partitions, sizeof(bool));
    gc.loading = xcalloc((size_t)gc.n_partitions, sizeof(bool));
    gc.expiry_timer = event_new(b->base, -1, EV_PERSIST, grp_expire_offsets, NULL);
    int64_t every = MAX(b->cfg->offsets_retention_check_ms, 1000);
    struct timeval tv = { (time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000 };
    event_add(gc.expiry_timer, &tv);
}

int32_t gc_partition_of(kstr_t group)
{
    return gc.b && group.len > 0 ? offsets_partition_for(group.ptr, group.len, gc.n_partitions) : -1;
}

void gc_partition_unled(int32_t partition)
{
    if (!gc.b || partition < 0 || partition >= gc.n_partitions || !gc.loaded[partition])
        return;
    int n = 0;
    group_t *g, *tmp;
    HASH_ITER(hh, gc.groups, g, tmp)
        if (g->partition == partition) {
            grp_destroy_group(g);
            n++;
        }
    gc.loaded[partition] = false;
    log_info(COMP, "Unloaded %d group(s) of %s-%d: this broker no longer leads it", n, OFFSETS_TOPIC,
             partition);
}

void gc_shutdown(void)
{
    if (!gc.b)
        return;
    group_t *g, *tmp;
    HASH_ITER(hh, gc.groups, g, tmp)
        grp_destroy_group(g);
    event_free(gc.expiry_timer);
    clog_load_shutdown();
    free(gc.loaded);
    free(gc.loading);
    memset(&gc, 0, sizeof(gc));
}
