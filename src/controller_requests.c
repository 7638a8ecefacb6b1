/*
 * controller_requests.c - owns building the active controller's
 * LeaderAndIsr and UpdateMetadata requests (see controller_requests.h):
 * grouping partition states by topic from v2/v5 on, live leaders' and live
 * brokers' endpoints, offline replicas, topic ids, and the broker epoch of
 * the destination.  Responses are read on the channel thread and their
 * errors logged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "controller_requests.h"
#include "kafka_errors.h"
#include "logging.h"
#include "proto_messages.h"
#include "util.h"

#define API_LEADER_AND_ISR 4
#define API_UPDATE_METADATA 6

int16_t creq_leader_and_isr_version(int32_t ibp)
{
    return ibp >= 304 ? 7 : ibp >= 302 ? 6 : ibp >= 208 ? 5 : ibp >= 204 ? 4 : ibp >= 202 ? 2 : 1;
}

int16_t creq_update_metadata_version(int32_t ibp)
{
    return ibp >= 304 ? 8 : ibp >= 208 ? 7 : ibp >= 204 ? 6 : ibp >= 202 ? 5 : 4;
}

static bool has_id(const int32_t *v, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

/* What a request's answer needs to be logged: the broker it went to. */
typedef struct dest_reply {
    int32_t dest;
} dest_reply_t;

static dest_reply_t *reply_to(int32_t dest)
{
    dest_reply_t *rep = xcalloc(1, sizeof(*rep));
    rep->dest = dest;
    return rep;
}

/* One log line for an answer that did not come, did not decode (rc < 0) or
 * carries a top-level error; true if the answer is good to read further.
 * @locality a controller channel's thread */
static bool reply_ok(const char *api, const dest_reply_t *rep, const kreader_t *r, int rc,
                     int16_t error)
{
    if (!r)
        log_warn("controller", "%s to broker %d was not delivered", api, rep->dest);
    else if (rc < 0)
        log_warn("controller", "Malformed %s response from broker %d", api, rep->dest);
    else if (error)
        log_warn("controller", "%s to broker %d failed: %s", api, rep->dest, kafka_error_name(error));
    return r && rc >= 0 && !error;
}

/* The runs of one topic in parts (v2+/v5+ group partition states by
 * topic): starts[k] is where run k begins, starts[count] == parts->n. */
static int topic_runs(arena_t *a, const prefs_t *parts, int **starts_out)
{
    int *starts = arena_array(a, (size_t)parts->n + 2, sizeof(int));
    int g = 0;
    for (int i = 0; i < parts->n; i++)
        if (i == 0 || parts->v[i].t != parts->v[i - 1].t)
            starts[g++] = i;
    starts[g] = parts->n;
    *starts_out = starts;
    return g;
}

/* LeaderAndIsr v2+ and UpdateMetadata v5+ group their partition states by
 * topic: one topic entry per run, pointing into states (the two requests'
 * generated types differ, the shape does not). */
#define GROUP_BY_TOPIC(a, parts, states, topic_states, count, array_fn)               \
    do {                                                                              \
        int *at_, g_ = topic_runs((a), (parts), &at_);                                \
        (topic_states) = array_fn((a), g_);                                           \
        (count) = g_;                                                                 \
        for (int k_ = 0; k_ < g_; k_++) {                                             \
            (topic_states)[k_].topic_name = kstr_from_cstr((parts)->v[at_[k_]].t->name); \
            (topic_states)[k_].topic_id = (parts)->v[at_[k_]].t->id;                  \
            (topic_states)[k_].partition_states = &(states)[at_[k_]];                 \
            (topic_states)[k_].partition_states_count = at_[k_ + 1] - at_[k_];        \
        }                                                                             \
    } while (0)

/* ---- LeaderAndIsr ---- */

static void fill_lisr_state(struct leader_and_isr_request_leader_and_isr_partition_state *s,
                            const mc_topic_t *t, const mc_partition_t *mp)
{
    leader_and_isr_request_leader_and_isr_partition_state_defaults(s);
    s->topic_name = kstr_from_cstr(t->name);
    s->partition_index = mp->id;
    s->controller_epoch = controller_epoch_now();
    s->leader = mp->leader;
    s->leader_epoch = mp->leader_epoch;
    s->isr = mp->isr;
    s->isr_count = mp->n_isr;
    s->partition_epoch = mp->zk_version;
    s->replicas = mp->replicas;
    s->replicas_count = mp->n_replicas;
    s->adding_replicas_count = 0;
    s->removing_replicas_count = 0;
}

/* @locality a controller channel's thread
 * @locks none (reads only the response) */
static void lisr_done(void *arg, kreader_t *r, int16_t v)
{
    dest_reply_t *rep = arg;
    struct leader_and_isr_response resp;
    int rc = r ? leader_and_isr_response_decode(r, v, &resp) : -1;
    if (reply_ok("LeaderAndIsr", rep, r, rc, rc < 0 ? 0 : resp.error_code)) {
        int errors = 0;
        for (int i = 0; i < resp.partition_errors_count; i++)
            errors += resp.partition_errors[i].error_code != 0;
        for (int t = 0; t < resp.topics_count; t++)
            for (int i = 0; i < resp.topics[t].partition_errors_count; i++)
                errors += resp.topics[t].partition_errors[i].error_code != 0;
        if (errors)
            log_info("controller", "LeaderAndIsr to broker %d: %d partition(s) not applied", rep->dest,
                     errors);
    }
    free(rep);
}

void creq_send_leader_and_isr(broker_t *b, const mc_broker_t *dest, const prefs_t *parts)
{
    node_channel_t *ch = cs_channel(dest->id);
    if (!ch || parts->n == 0)
        return;
    int16_t v = creq_leader_and_isr_version(b->cfg->ibp);
    arena_t a;
    arena_init(&a);
    struct leader_and_isr_request rq;
    leader_and_isr_request_defaults(&rq);
    rq.controller_id = b->cfg->broker_id;
    rq.controller_epoch = controller_epoch_now();
    rq.broker_epoch = dest->epoch;
    struct leader_and_isr_request_leader_and_isr_partition_state *states =
        leader_and_isr_request_leader_and_isr_partition_state_array(&a, parts->n);
    int32_t *leaders = arena_array(&a, (size_t)parts->n + 1, sizeof(int32_t));
    int n_leaders = 0;
    for (int i = 0; i < parts->n; i++) {
        const mc_partition_t *mp = &parts->v[i].t->parts[parts->v[i].p];
        fill_lisr_state(&states[i], parts->v[i].t, mp);
        if (mp->leader >= 0 && !has_id(leaders, n_leaders, mp->leader) && cs_live_broker(mp->leader))
            leaders[n_leaders++] = mp->leader;
    }
    if (v < 2) {
        rq.ungrouped_partition_states = states;
        rq.ungrouped_partition_states_count = parts->n;
    } else {
        GROUP_BY_TOPIC(&a, parts, states, rq.topic_states, rq.topic_states_count,
                       leader_and_isr_request_leader_and_isr_topic_state_array);
    }
    rq.live_leaders = leader_and_isr_request_leader_and_isr_live_leader_array(&a, n_leaders);
    rq.live_leaders_count = n_leaders;
    for (int i = 0; i < n_leaders; i++) {
        const mc_broker_t *lb = cs_live_broker(leaders[i]);
        rq.live_leaders[i].broker_id = lb->id;
        rq.live_leaders[i].host_name = kstr_from_cstr(lb->host);
        rq.live_leaders[i].port = lb->port;
    }
    kwriter_t w;
    kw_init(&w);
    leader_and_isr_request_encode(&w, v, &rq);
    arena_free(&a);
    chan_send(ch, API_LEADER_AND_ISR, v, &w, lisr_done, reply_to(dest->id));
}

/* ---- UpdateMetadata ---- */

static void fill_um_state(struct update_metadata_request_update_metadata_partition_state *s,
                          arena_t *a, const mc_topic_t *t, const mc_partition_t *mp)
{
    update_metadata_request_update_metadata_partition_state_defaults(s);
    s->topic_name = kstr_from_cstr(t->name);
    s->partition_index = mp->id;
    s->controller_epoch = controller_epoch_now();
    s->leader = mp->leader;
    s->leader_epoch = mp->leader_epoch;
    s->isr = mp->isr;
    s->isr_count = mp->n_isr;
    s->zk_version = mp->zk_version;
    s->replicas = mp->replicas;
    s->replicas_count = mp->n_replicas;
    s->offline_replicas = arena_array(a, (size_t)mp->n_replicas + 1, sizeof(int32_t));
    s->offline_replicas_count = 0;
    for (int r = 0; r < mp->n_replicas; r++)
        if (!cs_live_broker(mp->replicas[r]))
            s->offline_replicas[s->offline_replicas_count++] = mp->replicas[r];
}

static void fill_live_brokers(struct update_metadata_request *rq, arena_t *a)
{
    int n;
    const mc_broker_t *live = cs_live_brokers(&n);
    rq->live_brokers = update_metadata_request_update_metadata_broker_array(a, n);
    rq->live_brokers_count = n;
    for (int i = 0; i < n; i++) {
        struct update_metadata_request_update_metadata_broker *ub = &rq->live_brokers[i];
        ub->id = live[i].id;
        ub->v0_host = kstr_from_cstr(live[i].host);
        ub->v0_port = live[i].port;
        ub->endpoints = update_metadata_request_update_metadata_endpoint_array(a, live[i].n_endpoints);
        ub->endpoints_count = live[i].n_endpoints;
        for (int e = 0; e < live[i].n_endpoints; e++) {
            const mc_endpoint_t *ep = &live[i].endpoints[e];
            ub->endpoints[e].host = kstr_from_cstr(ep->host);
            ub->endpoints[e].port = ep->port;
            ub->endpoints[e].listener = kstr_from_cstr(ep->listener);
            ub->endpoints[e].security_protocol = ep->security_protocol;
        }
        ub->rack = live[i].rack[0] ? kstr_from_cstr(live[i].rack) : KSTR_NULL;
    }
}

/* @locality a controller channel's thread
 * @locks none (reads only the response) */
static void um_done(void *arg, kreader_t *r, int16_t v)
{
    struct update_metadata_response resp;
    int rc = r ? update_metadata_response_decode(r, v, &resp) : -1;
    reply_ok("UpdateMetadata", arg, r, rc, rc < 0 ? 0 : resp.error_code);
    free(arg);
}

void creq_send_update_metadata(broker_t *b, const mc_broker_t *dest, const prefs_t *parts)
{
    node_channel_t *ch = cs_channel(dest->id);
    if (!ch)
        return;
    int16_t v = creq_update_metadata_version(b->cfg->ibp);
    arena_t a;
    arena_init(&a);
    struct update_metadata_request rq;
    update_metadata_request_defaults(&rq);
    rq.controller_id = b->cfg->broker_id;
    rq.controller_epoch = controller_epoch_now();
    rq.broker_epoch = dest->epoch;
    struct update_metadata_request_update_metadata_partition_state *states =
        update_metadata_request_update_metadata_partition_state_array(&a, parts->n);
    for (int i = 0; i < parts->n; i++)
        fill_um_state(&states[i], &a, parts->v[i].t, &parts->v[i].t->parts[parts->v[i].p]);
    if (v < 5) {
        rq.ungrouped_partition_states = states;
        rq.ungrouped_partition_states_count = parts->n;
    } else {
        GROUP_BY_TOPIC(&a, parts, states, rq.topic_states, rq.topic_states_count,
                       update_metadata_request_update_metadata_topic_state_array);
    }
    fill_live_brokers(&rq, &a);
    kwriter_t w;
    kw_init(&w);
    update_metadata_request_encode(&w, v, &rq);
    arena_free(&a);
    chan_send(ch, API_UPDATE_METADATA, v, &w, um_done, reply_to(dest->id));
}

/* ---- StopReplica (topic deletion, replicas a reassignment removes) ---- */

#define API_STOP_REPLICA 5
#define EPOCH_DURING_DELETE (-2)

int16_t creq_stop_replica_version(int32_t ibp)
{
    return ibp >= 304 ? 4 : ibp >= 206 ? 3 : ibp >= 204 ? 2 : ibp >= 202 ? 1 : 0;
}

typedef struct sr_reply {
    dest_reply_t rep;               /* first: reply_ok() reads it */
    creq_stopped_fn stopped;
    void *ctx;
} sr_reply_t;

/* @locality a controller channel's thread
 * @locks none (reads only the response) */
static void sr_done(void *arg, kreader_t *r, int16_t v)
{
    sr_reply_t *rep = arg;
    struct stop_replica_response resp;
    int rc = r ? stop_replica_response_decode(r, v, &resp) : -1;
    bool ok = reply_ok("StopReplica", &rep->rep, r, rc, rc < 0 ? 0 : resp.error_code);
    int failed = 0;
    for (int i = 0; ok && i < resp.partition_errors_count; i++)
        if (resp.partition_errors[i].error_code) {
            if (failed++ == 0)
                log_warn("controller", "StopReplica to broker %d: %.*s-%d failed: %s", rep->rep.dest,
                         MAX(resp.partition_errors[i].topic_name.len, 0),
                         resp.partition_errors[i].topic_name.ptr ? resp.partition_errors[i].topic_name.ptr : "",
                         resp.partition_errors[i].partition_index,
                         kafka_error_name(resp.partition_errors[i].error_code));
        }
    if (rep->stopped)
        rep->stopped(rep->ctx, rep->rep.dest, ok && failed == 0);
    free(rep);
}

void creq_send_stop_replica(broker_t *b, const mc_broker_t *dest, const prefs_t *parts,
                            bool topic_deleted, creq_stopped_fn stopped, void *ctx)
{
    node_channel_t *ch = cs_channel(dest->id);
    if (!ch || parts->n == 0) {
        if (stopped)
            stopped(ctx, dest->id, false);
        return;
    }
    int16_t v = creq_stop_replica_version(b->cfg->ibp);
    arena_t a;
    arena_init(&a);
    struct stop_replica_request rq;
    stop_replica_request_defaults(&rq);
    rq.controller_id = b->cfg->broker_id;
    rq.controller_epoch = controller_epoch_now();
    rq.broker_epoch = dest->epoch;
    rq.delete_partitions = true;
    int *at, g = topic_runs(&a, parts, &at);
    if (v == 0) {
        rq.ungrouped_partitions = stop_replica_request_stop_replica_partition_v0_array(&a, parts->n);
        rq.ungrouped_partitions_count = parts->n;
        for (int i = 0; i < parts->n; i++) {
            rq.ungrouped_partitions[i].topic_name = kstr_from_cstr(parts->v[i].t->name);
            rq.ungrouped_partitions[i].partition_index = parts->v[i].p;
        }
    } else if (v < 3) {
        rq.topics = stop_replica_request_stop_replica_topic_v1_array(&a, g);
        rq.topics_count = g;
        for (int k = 0; k < g; k++) {
            rq.topics[k].name = kstr_from_cstr(parts->v[at[k]].t->name);
            rq.topics[k].partition_indexes_count = at[k + 1] - at[k];
            rq.topics[k].partition_indexes = arena_array(&a, (size_t)(at[k + 1] - at[k]), sizeof(int32_t));
            for (int i = at[k]; i < at[k + 1]; i++)
                rq.topics[k].partition_indexes[i - at[k]] = parts->v[i].p;
        }
    } else {
        rq.topic_states = stop_replica_request_stop_replica_topic_state_array(&a, g);
        rq.topic_states_count = g;
        for (int k = 0; k < g; k++) {
            struct stop_replica_request_stop_replica_topic_state *ts = &rq.topic_states[k];
            ts->topic_name = kstr_from_cstr(parts->v[at[k]].t->name);
            ts->partition_states_count = at[k + 1] - at[k];
            ts->partition_states = stop_replica_request_stop_replica_partition_state_array(&a, ts->partition_states_count);
            for (int i = at[k]; i < at[k + 1]; i++) {
                ts->partition_states[i - at[k]].partition_index = parts->v[i].p;
                ts->partition_states[i - at[k]].leader_epoch =
                    topic_deleted ? EPOCH_DURING_DELETE : parts->v[i].t->parts[parts->v[i].p].leader_epoch;
                ts->partition_states[i - at[k]].delete_partition = true;
            }
        }
    }
    kwriter_t w;
    kw_init(&w);
    stop_replica_request_encode(&w, v, &rq);
    arena_free(&a);
    sr_reply_t *rep = xcalloc(1, sizeof(*rep));
    rep->rep.dest = dest->id;
    rep->stopped = stopped;
    rep->ctx = ctx;
    chan_send(ch, API_STOP_REPLICA, v, &w, sr_done, rep);
}
