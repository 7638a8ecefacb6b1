/*
 * group_join.c - owns JoinGroup and SyncGroup for the group coordinator:
 * validation, new, pending (KIP-394) and static members, parking joins
 * until the rebalance completes, and handing out the leader's assignment.
 * Event-loop thread only.
 */
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "group_internal.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "offsets_topic.h"
#include "topic_admin.h"
#include "util.h"

/* ---- JoinGroup ---- */

static int16_t validate_join(group_t *g, const join_args_t *a)
{
    const broker_config_t *cfg = gc.b->cfg;
    if (a->session_timeout_ms < cfg->group_min_session_timeout_ms ||
        a->session_timeout_ms > cfg->group_max_session_timeout_ms)
        return KERR_INVALID_SESSION_TIMEOUT;
    if (a->protocol_type.len <= 0 || a->n_protocols <= 0)
        return KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (g && g->members) {
        if (!g->protocol_type || !kstr_eq_cstr(a->protocol_type, g->protocol_type))
            return KERR_INCONSISTENT_GROUP_PROTOCOL;
        /* At least one protocol every current member also supports. */
        bool any = false;
        for (int i = 0; i < a->n_protocols && !any; i++) {
            char *name = grp_dup_kstr(a->protocol_names[i]);
            bool all = name != NULL;
            for (member_t *m = g->members; m && all; m = m->next)
                all = grp_member_protocol_index(m, name) >= 0;
            any = all;
            free(name);
        }
        if (!any)
            return KERR_INCONSISTENT_GROUP_PROTOCOL;
    }
    return KERR_NONE;
}

static enum handler_result join_now(request_t *req, join_done_fn done, int16_t err,
                                    const char *member_id)
{
    join_result_t res = { .error = err, .generation = -1, .member_id = member_id ? member_id : "",
                          .leader = "" };
    done(req, &res);
    return REQ_DONE;
}

static enum handler_result park_join(member_t *m, request_t *req, join_done_fn done)
{
    if (m->join_req)
        grp_join_error(m, KERR_UNKNOWN_MEMBER_ID);   /* replaced by a newer request */
    m->join_req = req;
    m->join_done = done;
    req->parked = m;
    req->cancel = gc_cancel;
    return REQ_PARKED;
}

static void free_pending(pending_member_t *p)
{
    if (p->expiry)
        event_free(p->expiry);
    free(p->id);
    free(p);
}

/* Unlinks and frees the pending member named id; false if none is. */
static bool drop_pending(group_t *g, const char *id, size_t len)
{
    for (pending_member_t **pp = &g->pending; *pp; pp = &(*pp)->next) {
        pending_member_t *p = *pp;
        if (strlen(p->id) == len && !memcmp(p->id, id, len)) {
            *pp = p->next;
            free_pending(p);
            return true;
        }
    }
    return false;
}

bool grp_take_pending(group_t *g, kstr_t id)
{
    return id.len >= 0 && id.ptr && drop_pending(g, id.ptr, (size_t)id.len);
}

void grp_clear_pending(group_t *g)
{
    while (g->pending) {
        pending_member_t *p = g->pending;
        g->pending = p->next;
        free_pending(p);
    }
}

/* A pending member that did not come back within its session timeout is
 * forgotten; a rebalance that waited for it may complete now. */
static void pending_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pending_member_t *p = arg;
    group_t *g = p->group;
    log_info(COMP, "Pending member %s in group %s has been removed after session timeout "
                   "expiration", p->id, g->id);
    drop_pending(g, p->id, strlen(p->id));
    grp_maybe_complete_join(g);
}

void grp_add_pending(group_t *g, char *id, int32_t session_timeout_ms)
{
    pending_member_t *p = xcalloc(1, sizeof(*p));
    p->id = id;
    p->group = g;
    p->expiry = event_new(gc.b->base, -1, 0, pending_expired, p);
    struct timeval tv = { session_timeout_ms / 1000, (session_timeout_ms % 1000) * 1000 };
    if (p->expiry)
        event_add(p->expiry, &tv);
    p->next = g->pending;
    g->pending = p;
}

static enum handler_result join_existing(group_t *g, member_t *m, request_t *req,
                                         const join_args_t *a, join_done_fn done)
{
    switch (g->state) {
    case PREPARING_REBALANCE:
        grp_set_protocols(m, a);
        park_join(m, req, done);
        grp_maybe_complete_join(g);
        return REQ_PARKED;
    case COMPLETING_REBALANCE:
        if (grp_same_protocols(m, a)) {
            /* Lost response: answer with the current generation. */
            park_join(m, req, done);
            grp_respond_join(g, m, !strcmp(m->id, g->leader));
            return REQ_PARKED;
        }
        grp_set_protocols(m, a);
        grp_prepare_rebalance(g, "updating metadata of a member");
        park_join(m, req, done);
        /* As Kafka's DelayedJoin.tryComplete: a lone member completes now. */
        grp_maybe_complete_join(g);
        return REQ_PARKED;
    case STABLE:
        if (!strcmp(m->id, g->leader) || !grp_same_protocols(m, a)) {
            grp_set_protocols(m, a);
            grp_prepare_rebalance(g, !strcmp(m->id, g->leader) ? "leader rejoined" : "metadata changed");
            park_join(m, req, done);
            grp_maybe_complete_join(g);
            return REQ_PARKED;
        }
        park_join(m, req, done);
        grp_respond_join(g, m, false);
        return REQ_PARKED;
    default:
        return join_now(req, done, KERR_UNKNOWN_MEMBER_ID, m->id);
    }
}

/* A static member coming back under a new member id. */
static enum handler_result join_static_rejoin(group_t *g, member_t *old, request_t *req,
                                              const join_args_t *a, join_done_fn done)
{
    char *new_id = grp_new_member_id(old->instance_id);
    grp_join_error(old, KERR_FENCED_INSTANCE_ID);
    grp_sync_error(old, KERR_FENCED_INSTANCE_ID);
    log_info(COMP, "Static member %s of group %s with unknown member id rejoins, assigning new "
                   "member id %s", old->instance_id, g->id, new_id);
    bool was_leader = g->leader && !strcmp(g->leader, old->id);
    free(old->id);
    old->id = new_id;
    if (was_leader) {
        free(g->leader);
        g->leader = xstrdup(new_id);
    }
    old->session_timeout = a->session_timeout_ms;
    grp_schedule_heartbeat(old);
    grp_set_protocols(old, a);
    /* As Kafka: in Stable, only a change of the group's selected protocol
     * rebalances; the member gets its previous assignment in SyncGroup. */
    const char *next = g->state == STABLE ? grp_select_protocol(g) : NULL;
    if (next && g->protocol_name && !strcmp(next, g->protocol_name)) {
        park_join(old, req, done);
        grp_respond_join(g, old, false);
        grp_store_group(g);
        return REQ_PARKED;
    }
    if (g->state != PREPARING_REBALANCE)
        grp_prepare_rebalance(g, "static member rejoined with new metadata");
    park_join(old, req, done);
    grp_maybe_complete_join(g);
    return REQ_PARKED;
}

enum handler_result gc_join(request_t *req, const join_args_t *a, join_done_fn done)
{
    int16_t err = grp_coordinator_error(a->group_id);
    if (err)
        return join_now(req, done, err, NULL);
    group_t *g = grp_find_group(a->group_id);
    bool unknown = a->member_id.len <= 0;
    if (!g && !unknown)
        return join_now(req, done, KERR_UNKNOWN_MEMBER_ID, NULL);
    if (g && g->state == DEAD)
        return join_now(req, done, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
    if ((err = validate_join(g, a)))
        return join_now(req, done, err, NULL);
    if (!g)
        g = grp_add_group(a->group_id);
    if (g->n_members >= gc.b->cfg->group_max_size && unknown && !grp_find_static(g, a->instance_id))
        return join_now(req, done, KERR_GROUP_MAX_SIZE_REACHED, NULL);

    if (unknown) {
        member_t *st = grp_find_static(g, a->instance_id);
        if (st)
            return join_static_rejoin(g, st, req, a, done);
        char *client = grp_dup_kstr(req->hdr.client_id);
        char *inst = grp_dup_kstr(a->instance_id);
        char *id = grp_new_member_id(inst ? inst : client ? client : "");
        free(client);
        free(inst);
        if (a->require_known_member_id && a->instance_id.len < 0) {
            /* KIP-394: hand out the id and let the member come back with it. */
            grp_add_pending(g, id, a->session_timeout_ms);
            return join_now(req, done, KERR_MEMBER_ID_REQUIRED, id);
        }
        member_t *m = grp_add_member(g, id, a, req);
        if (g->state != PREPARING_REBALANCE)
            grp_prepare_rebalance(g, "adding new member");
        park_join(m, req, done);
        grp_maybe_complete_join(g);
        return REQ_PARKED;
    }

    if (grp_take_pending(g, a->member_id)) {
        member_t *m = grp_add_member(g, grp_dup_kstr(a->member_id), a, req);
        if (g->state != PREPARING_REBALANCE)
            grp_prepare_rebalance(g, "adding new member");
        else if (g->initial_delay) {
            /* Each arrival during the initial delay extends it (capped). */
            int64_t left = g->join_deadline - mono_ms();
            if (left > 0)
                grp_arm_join_timer(g, (int32_t)MIN(left, gc.b->cfg->group_initial_rebalance_delay_ms));
        }
        park_join(m, req, done);
        grp_maybe_complete_join(g);
        return REQ_PARKED;
    }
    member_t *m = grp_find_member(g, a->member_id);
    if (!m)
        return join_now(req, done, KERR_UNKNOWN_MEMBER_ID, NULL);
    if (a->instance_id.len >= 0 && !grp_str_eq_k(m->instance_id, a->instance_id))
        return join_now(req, done, KERR_FENCED_INSTANCE_ID, NULL);
    return join_existing(g, m, req, a, done);
}

/* ---- SyncGroup ---- */

member_t *grp_checked_member(group_t *g, kstr_t member_id, kstr_t instance_id, int16_t *err)
{
    member_t *m = g ? grp_find_member(g, member_id) : NULL;
    if (!m) {
        member_t *st = g ? grp_find_static(g, instance_id) : NULL;
        *err = st ? KERR_FENCED_INSTANCE_ID : KERR_UNKNOWN_MEMBER_ID;
        return NULL;
    }
    if (instance_id.len >= 0 && !grp_str_eq_k(m->instance_id, instance_id)) {
        *err = KERR_FENCED_INSTANCE_ID;
        return NULL;
    }
    *err = KERR_NONE;
    return m;
}

static void finish_sync(member_t *m)
{
    group_t *g = m->group;
    request_t *req = m->sync_req;
    sync_done_fn done = m->sync_done;
    m->sync_req = NULL;
    req->parked = NULL;
    done(req, KERR_NONE, g->protocol_type, g->protocol_name, m->assignment,
         m->assignment ? m->assignment_len : 0);
    request_complete(req);
}

enum handler_result gc_sync(request_t *req, const sync_args_t *a, sync_done_fn done)
{
    int16_t err = grp_coordinator_error(a->group_id);
    group_t *g = err ? NULL : grp_find_group(a->group_id);
    member_t *m = NULL;
    if (!err && (!g || g->state == DEAD))
        err = KERR_UNKNOWN_MEMBER_ID;
    if (!err)
        m = grp_checked_member(g, a->member_id, a->instance_id, &err);
    if (!err && a->generation != g->generation)
        err = KERR_ILLEGAL_GENERATION;
    if (!err && ((a->protocol_type.len >= 0 && !grp_str_eq_k(g->protocol_type, a->protocol_type)) ||
                 (a->protocol_name.len >= 0 && !grp_str_eq_k(g->protocol_name, a->protocol_name))))
        err = KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && g->state == PREPARING_REBALANCE)
        err = KERR_REBALANCE_IN_PROGRESS;
    if (!err && g->state == EMPTY)
        err = KERR_UNKNOWN_MEMBER_ID;
    if (err) {
        done(req, err, NULL, NULL, NULL, 0);
        return REQ_DONE;
    }
    grp_schedule_heartbeat(m);
    if (g->state == STABLE) {
        done(req, KERR_NONE, g->protocol_type, g->protocol_name, m->assignment,
             m->assignment ? m->assignment_len : 0);
        return REQ_DONE;
    }
    /* CompletingRebalance: wait for the leader's assignment. */
    if (m->sync_req)
        grp_sync_error(m, KERR_UNKNOWN_MEMBER_ID);
    m->sync_req = req;
    m->sync_done = done;
    req->parked = m;
    req->cancel = gc_cancel;
    if (!strcmp(m->id, g->leader)) {
        for (member_t *x = g->members; x; x = x->next) {
            free(x->assignment);
            x->assignment = NULL;
            x->assignment_len = 0;
            for (int i = 0; i < a->n_assignments; i++) {
                if (!kstr_eq_cstr(a->assign_members[i], x->id))
                    continue;
                int32_t n = a->assignments[i].len > 0 ? a->assignments[i].len : 0;
                x->assignment = xmalloc((size_t)n + 1);
                if (n)
                    memcpy(x->assignment, a->assignments[i].ptr, (size_t)n);
                x->assignment_len = n;
            }
        }
        int16_t serr = grp_store_group(g);
        if (serr) {
            for (member_t *x = g->members; x; x = x->next)
                grp_sync_error(x, KERR_COORDINATOR_NOT_AVAILABLE);
            grp_prepare_rebalance(g, "error storing group metadata");
            return REQ_PARKED;
        }
        grp_set_state(g, STABLE);
        log_info(COMP, "Assignment received from leader %s for group %s for generation %d. The "
                       "group has %d members, 0 of which are static.", g->leader, g->id,
                 g->generation, g->n_members);
        for (member_t *x = g->members; x; x = x->next)
            if (x->sync_req)
                finish_sync(x);
    }
    return REQ_PARKED;
}
