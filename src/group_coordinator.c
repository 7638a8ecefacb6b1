/*
 * group_coordinator.c - owns consumer groups: Kafka's classic rebalance
 * protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup), member session and
 * rebalance timers, static membership, committed offsets and their
 * persistence in and loading from __consumer_offsets, offset expiry.
 * Event-loop thread only: every group, member and timer below belongs to it.
 */
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "topic_admin.h"
#include "group_coordinator.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "offsets_topic.h"
#include "util.h"

#define COMP "group-coordinator"

enum group_state { EMPTY, PREPARING_REBALANCE, COMPLETING_REBALANCE, STABLE, DEAD };
static const char *state_names[] = { "Empty", "PreparingRebalance", "CompletingRebalance",
                                     "Stable", "Dead" };

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
    char *metadata;
    int64_t commit_ts;
    int64_t expire_ts;          /* -1: retention applies */
    UT_hash_handle hh;
} stored_offset_t;

typedef struct pending_member {
    char *id;
    int64_t deadline;
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
    UT_hash_handle hh;
};

/* Coordinator state; event-loop thread. */
static struct {
    broker_t *b;
    group_t *groups;
    bool *loaded;               /* per __consumer_offsets partition */
    int32_t n_partitions;
    struct event *expiry_timer;
} gc;

/* ---- helpers ---- */

static char *dup_kstr(kstr_t s)
{
    if (s.len < 0)
        return NULL;
    char *d = xmalloc((size_t)s.len + 1);
    memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

static bool str_eq_k(const char *a, kstr_t b)
{
    return a ? kstr_eq_cstr(b, a) : b.len < 0;
}

static char *new_member_id(const char *prefix)
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

static void set_state(group_t *g, enum group_state s)
{
    g->state = s;
    g->state_ts = now_ms();
}

static group_t *find_group(kstr_t id)
{
    if (id.len <= 0)
        return NULL;
    group_t *g;
    HASH_FIND(hh, gc.groups, id.ptr, (size_t)id.len, g);
    return g;
}

static group_t *add_group(kstr_t id)
{
    group_t *g = xcalloc(1, sizeof(*g));
    g->id = dup_kstr(id);
    g->partition = offsets_partition_for(id.ptr, id.len, gc.n_partitions);
    set_state(g, EMPTY);
    HASH_ADD_KEYPTR(hh, gc.groups, g->id, strlen(g->id), g);
    return g;
}

static member_t *find_member(group_t *g, kstr_t id)
{
    for (member_t *m = g->members; m; m = m->next)
        if (kstr_eq_cstr(id, m->id))
            return m;
    return NULL;
}

static member_t *find_static(group_t *g, kstr_t instance)
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

static void set_protocols(member_t *m, const join_args_t *a)
{
    free_protocols(m);
    m->n_protocols = a->n_protocols;
    m->proto_names = xcalloc((size_t)a->n_protocols + 1, sizeof(char *));
    m->proto_meta = xcalloc((size_t)a->n_protocols + 1, sizeof(uint8_t *));
    m->proto_meta_len = xcalloc((size_t)a->n_protocols + 1, sizeof(int32_t));
    for (int i = 0; i < a->n_protocols; i++) {
        m->proto_names[i] = dup_kstr(a->protocol_names[i]);
        int32_t n = a->protocol_metadata[i].len > 0 ? a->protocol_metadata[i].len : 0;
        m->proto_meta[i] = xmalloc((size_t)n + 1);
        if (n)
            memcpy(m->proto_meta[i], a->protocol_metadata[i].ptr, (size_t)n);
        m->proto_meta_len[i] = n;
    }
}

static bool same_protocols(const member_t *m, const join_args_t *a)
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

static int member_protocol_index(const member_t *m, const char *name)
{
    for (int i = 0; i < m->n_protocols; i++)
        if (!strcmp(m->proto_names[i], name))
            return i;
    return -1;
}

/* ---- persistence ---- */

static int16_t store_group(group_t *g)
{
    arena_t a;
    arena_init(&a);
    struct group_metadata_value v;
    group_metadata_value_defaults(&v);
    v.protocol_type = kstr_from_cstr(g->protocol_type ? g->protocol_type : "");
    v.generation = g->generation;
    v.protocol = kstr_from_cstr(g->protocol_name);
    v.leader = kstr_from_cstr(g->leader);
    v.current_state_timestamp = g->state_ts;
    v.members_count = g->n_members;
    v.members = group_metadata_value_member_metadata_array(&a, g->n_members);
    int i = 0;
    for (member_t *m = g->members; m; m = m->next, i++) {
        struct group_metadata_value_member_metadata *mm = &v.members[i];
        mm->member_id = kstr_from_cstr(m->id);
        mm->group_instance_id = kstr_from_cstr(m->instance_id);
        mm->client_id = kstr_from_cstr(m->client_id);
        mm->client_host = kstr_from_cstr(m->client_host);
        mm->rebalance_timeout = m->rebalance_timeout;
        mm->session_timeout = m->session_timeout;
        int pi = g->protocol_name ? member_protocol_index(m, g->protocol_name) : -1;
        mm->subscription = pi >= 0 ? (kbytes_t){ m->proto_meta[pi], m->proto_meta_len[pi] }
                                   : (kbytes_t){ NULL, 0 };
        mm->assignment = (kbytes_t){ m->assignment, m->assignment ? m->assignment_len : 0 };
    }
    kwriter_t k, val;
    kw_init(&k);
    kw_init(&val);
    offsets_encode_group_key(&k, g->id);
    offsets_encode_group_value(&val, &v);
    batch_kv_t rec = { k.buf, (int32_t)k.len, val.buf, (int32_t)val.len };
    int16_t err = offsets_append(gc.b, g->partition, &rec, 1);
    kw_free(&k);
    kw_free(&val);
    arena_free(&a);
    return err;
}

/* Tombstones for the given offsets (and the group record when group_too). */
static int16_t write_tombstones(group_t *g, stored_offset_t **offs, int n, bool group_too)
{
    int total = n + (group_too ? 1 : 0);
    if (total == 0)
        return KERR_NONE;
    batch_kv_t *recs = xcalloc((size_t)total, sizeof(*recs));
    kwriter_t *keys = xcalloc((size_t)total, sizeof(*keys));
    for (int i = 0; i < n; i++) {
        kw_init(&keys[i]);
        offsets_encode_commit_key(&keys[i], g->id, offs[i]->topic, offs[i]->partition);
        recs[i] = (batch_kv_t){ keys[i].buf, (int32_t)keys[i].len, NULL, -1 };
    }
    if (group_too) {
        kw_init(&keys[n]);
        offsets_encode_group_key(&keys[n], g->id);
        recs[n] = (batch_kv_t){ keys[n].buf, (int32_t)keys[n].len, NULL, -1 };
    }
    int16_t err = offsets_append(gc.b, g->partition, recs, total);
    for (int i = 0; i < total; i++)
        kw_free(&keys[i]);
    free(keys);
    free(recs);
    return err;
}

/* ---- offsets in memory ---- */

static void offset_key(char *key, size_t n, const char *topic, int32_t partition)
{
    snprintf(key, n, "%s\x01%d", topic, partition);
}

static stored_offset_t *find_offset(group_t *g, const char *topic, int32_t partition)
{
    char key[300];
    offset_key(key, sizeof(key), topic, partition);
    stored_offset_t *o;
    HASH_FIND_STR(g->offsets, key, o);
    return o;
}

static void put_offset(group_t *g, const char *topic, int32_t partition, int64_t offset,
                       int32_t epoch, const char *metadata, int64_t commit_ts, int64_t expire_ts)
{
    stored_offset_t *o = find_offset(g, topic, partition);
    if (!o) {
        o = xcalloc(1, sizeof(*o));
        offset_key(o->key, sizeof(o->key), topic, partition);
        o->topic = xstrdup(topic);
        o->partition = partition;
        HASH_ADD_STR(g->offsets, key, o);
    }
    free(o->metadata);
    o->metadata = xstrdup(metadata ? metadata : "");
    o->offset = offset;
    o->leader_epoch = epoch;
    o->commit_ts = commit_ts;
    o->expire_ts = expire_ts;
}

static void free_offset(group_t *g, stored_offset_t *o)
{
    HASH_DEL(g->offsets, o);
    free(o->topic);
    free(o->metadata);
    free(o);
}

/* ---- members and timers ---- */

static void complete_join(group_t *g);
static void prepare_rebalance(group_t *g, const char *reason);
static void destroy_group(group_t *g);
static void remove_member(group_t *g, member_t *m, const char *reason);

static void heartbeat_expired(evutil_socket_t fd, short what, void *arg);

static void schedule_heartbeat(member_t *m)
{
    struct timeval tv = { m->session_timeout / 1000, (m->session_timeout % 1000) * 1000 };
    event_add(m->hb_timer, &tv);
}

static void heartbeat_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    member_t *m = arg;
    /* A member waiting in JoinGroup/SyncGroup is alive by definition. */
    if (m->join_req || m->sync_req) {
        schedule_heartbeat(m);
        return;
    }
    log_info(COMP, "Member %s in group %s has failed, removing it from the group", m->id,
             m->group->id);
    remove_member(m->group, m, "removing member on heartbeat expiration");
}

static member_t *add_member(group_t *g, char *id, const join_args_t *a, request_t *req)
{
    member_t *m = xcalloc(1, sizeof(*m));
    char host[128];
    m->id = id;
    m->instance_id = dup_kstr(a->instance_id);
    m->client_id = dup_kstr(req->hdr.client_id);
    if (!m->client_id)
        m->client_id = xstrdup("");
    m->client_host = xstrdup(peer_host(req, host, sizeof(host)));
    m->session_timeout = a->session_timeout_ms;
    m->rebalance_timeout = a->rebalance_timeout_ms > 0 ? a->rebalance_timeout_ms : a->session_timeout_ms;
    m->group = g;
    m->hb_timer = event_new(gc.b->base, -1, 0, heartbeat_expired, m);
    set_protocols(m, a);
    /* Append: the first member to join leads. */
    member_t **pp = &g->members;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    g->n_members++;
    if (!g->protocol_type)
        g->protocol_type = dup_kstr(a->protocol_type);
    schedule_heartbeat(m);
    return m;
}

static void free_member(member_t *m)
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

static void join_error(member_t *m, int16_t err)
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

static void sync_error(member_t *m, int16_t err)
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
    join_error(m, KERR_UNKNOWN_MEMBER_ID);
    sync_error(m, KERR_UNKNOWN_MEMBER_ID);
    unlink_member(g, m);
    free_member(m);
    switch (g->state) {
    case STABLE:
    case COMPLETING_REBALANCE:
        prepare_rebalance(g, reason);
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

static void arm_join_timer(group_t *g, int32_t ms)
{
    if (!g->join_timer)
        g->join_timer = event_new(gc.b->base, -1, 0, join_timer_fired, g);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_add(g->join_timer, &tv);
}

static void prepare_rebalance(group_t *g, const char *reason)
{
    if (g->state == COMPLETING_REBALANCE) {
        for (member_t *m = g->members; m; m = m->next) {
            free(m->assignment);
            m->assignment = NULL;
            sync_error(m, KERR_REBALANCE_IN_PROGRESS);
        }
    }
    bool from_empty = g->state == EMPTY;
    log_info(COMP, "Preparing to rebalance group %s in state PreparingRebalance with old "
                   "generation %d (%s) (reason: %s)", g->id, g->generation, OFFSETS_TOPIC, reason);
    set_state(g, PREPARING_REBALANCE);
    int32_t delay = gc.b->cfg->group_initial_rebalance_delay_ms;
    if (from_empty && delay > 0) {
        g->initial_delay = true;
        g->join_deadline = mono_ms() + max_rebalance_timeout(g);
        arm_join_timer(g, MIN(delay, max_rebalance_timeout(g)));
    } else {
        g->initial_delay = false;
        arm_join_timer(g, max_rebalance_timeout(g));
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

static void maybe_complete_join(group_t *g)
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
                arm_join_timer(g, (int32_t)left);
                return;
            }
        }
    }
    /* Pending (MEMBER_ID_REQUIRED) members that never came back are dropped. */
    while (g->pending) {
        pending_member_t *p = g->pending;
        g->pending = p->next;
        free(p->id);
        free(p);
    }
    complete_join(g);
}

/* Kafka's vote: each member votes for its most preferred protocol among
 * those every member supports; the most votes wins. */
static const char *select_protocol(group_t *g)
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
            common = member_protocol_index(m, cand) >= 0;
        if (!common)
            continue;
        int votes = 0;
        for (member_t *m = g->members; m; m = m->next) {
            for (int k = 0; k < m->n_protocols; k++) {
                bool kc = true;
                for (member_t *x = g->members; x && kc; x = x->next)
                    kc = member_protocol_index(x, m->proto_names[k]) >= 0;
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

static void respond_join(group_t *g, member_t *m, bool with_members)
{
    join_result_t res = { .error = KERR_NONE, .generation = g->generation,
                          .protocol_type = g->protocol_type, .protocol_name = g->protocol_name,
                          .leader = g->leader ? g->leader : "", .member_id = m->id };
    join_member_t *list = NULL;
    if (with_members) {
        list = xcalloc((size_t)g->n_members + 1, sizeof(*list));
        int i = 0;
        for (member_t *x = g->members; x; x = x->next) {
            int pi = member_protocol_index(x, g->protocol_name);
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
            free_member(m);
        }
    }
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (!g->members) {
        free(g->leader);
        g->leader = NULL;
        free(g->protocol_type);
        g->protocol_type = NULL;
        set_state(g, EMPTY);
        log_info(COMP, "Group %s with generation %d is now empty (%s-%d)", g->id, g->generation,
                 OFFSETS_TOPIC, g->partition);
        store_group(g);
        return;
    }
    const char *proto = select_protocol(g);
    g->protocol_name = proto ? xstrdup(proto) : NULL;
    if (!g->leader || !find_member(g, kstr_from_cstr(g->leader))) {
        free(g->leader);
        g->leader = xstrdup(g->members->id);
    }
    set_state(g, COMPLETING_REBALANCE);
    log_info(COMP, "Stabilized group %s generation %d (%s-%d) with %d members", g->id,
             g->generation, OFFSETS_TOPIC, g->partition, g->n_members);
    for (member_t *m = g->members; m; m = m->next) {
        schedule_heartbeat(m);
        if (m->join_req)
            respond_join(g, m, !strcmp(m->id, g->leader));
    }
}

/* ---- coordinator and loading ---- */

typedef struct load_ctx {
    int32_t partition;
} load_ctx_t;

static void load_record(const offsets_record_t *r, void *arg)
{
    load_ctx_t *c = arg;
    if (r->kind == OREC_OFFSET) {
        kstr_t gid = r->okey.group;
        group_t *g = find_group(gid);
        char *topic = dup_kstr(r->okey.topic);
        if (!topic)
            return;
        if (r->tombstone) {
            stored_offset_t *o = g ? find_offset(g, topic, r->okey.partition) : NULL;
            if (o)
                free_offset(g, o);
        } else {
            if (!g)
                g = add_group(gid);
            char *meta = dup_kstr(r->oval.metadata);
            put_offset(g, topic, r->okey.partition, r->oval.offset, r->oval.leader_epoch, meta,
                       r->oval.commit_timestamp, r->oval.expire_timestamp);
            free(meta);
        }
        free(topic);
    } else if (r->kind == OREC_GROUP) {
        group_t *g = find_group(r->gkey.group);
        if (r->tombstone) {
            if (g) {
                g->generation = 0;
                free(g->protocol_type);
                g->protocol_type = NULL;
                set_state(g, DEAD);   /* removed after the scan unless offsets follow */
            }
            return;
        }
        if (!g)
            g = add_group(r->gkey.group);
        /* The latest record describes the group; members are rebuilt below. */
        while (g->members) {
            member_t *m = g->members;
            g->members = m->next;
            free_member(m);
        }
        g->n_members = 0;
        g->generation = r->gval.generation;
        free(g->protocol_type);
        g->protocol_type = dup_kstr(r->gval.protocol_type);
        free(g->protocol_name);
        g->protocol_name = dup_kstr(r->gval.protocol);
        free(g->leader);
        g->leader = dup_kstr(r->gval.leader);
        for (int i = 0; i < r->gval.members_count; i++) {
            const struct group_metadata_value_member_metadata *mm = &r->gval.members[i];
            member_t *m = xcalloc(1, sizeof(*m));
            m->id = dup_kstr(mm->member_id);
            m->instance_id = dup_kstr(mm->group_instance_id);
            m->client_id = dup_kstr(mm->client_id);
            m->client_host = dup_kstr(mm->client_host);
            m->session_timeout = mm->session_timeout;
            m->rebalance_timeout = mm->rebalance_timeout > 0 ? mm->rebalance_timeout : mm->session_timeout;
            m->group = g;
            if (g->protocol_name) {
                m->n_protocols = 1;
                m->proto_names = xcalloc(1, sizeof(char *));
                m->proto_meta = xcalloc(1, sizeof(uint8_t *));
                m->proto_meta_len = xcalloc(1, sizeof(int32_t));
                m->proto_names[0] = xstrdup(g->protocol_name);
                int32_t n = mm->subscription.len > 0 ? mm->subscription.len : 0;
                m->proto_meta[0] = xmalloc((size_t)n + 1);
                if (n)
                    memcpy(m->proto_meta[0], mm->subscription.ptr, (size_t)n);
                m->proto_meta_len[0] = n;
            }
            int32_t an = mm->assignment.len > 0 ? mm->assignment.len : 0;
            m->assignment = xmalloc((size_t)an + 1);
            if (an)
                memcpy(m->assignment, mm->assignment.ptr, (size_t)an);
            m->assignment_len = an;
            m->next = g->members;
            g->members = m;
            g->n_members++;
        }
        /* Restore join order (the list was built reversed). */
        member_t *rev = NULL;
        while (g->members) {
            member_t *m = g->members;
            g->members = m->next;
            m->next = rev;
            rev = m;
        }
        g->members = rev;
        set_state(g, g->n_members ? STABLE : EMPTY);
    }
    (void)c;
}

void gc_partition_led(int32_t partition)
{
    if (!gc.b || partition < 0 || partition >= gc.n_partitions || gc.loaded[partition])
        return;
    int64_t t0 = mono_ms();
    load_ctx_t c = { partition };
    if (offsets_scan(partition, load_record, &c) < 0)
        log_warn(COMP, "Loading %s-%d stopped at an unreadable batch", OFFSETS_TOPIC, partition);
    int groups = 0;
    group_t *g, *tmp;
    HASH_ITER(hh, gc.groups, g, tmp) {
        if (g->partition != partition)
            continue;
        if (g->state == DEAD && !g->offsets) {
            destroy_group(g);
            continue;
        }
        if (g->state == DEAD)
            set_state(g, EMPTY);
        for (member_t *m = g->members; m; m = m->next) {
            m->hb_timer = event_new(gc.b->base, -1, 0, heartbeat_expired, m);
            schedule_heartbeat(m);
        }
        groups++;
    }
    gc.loaded[partition] = true;
    log_info(COMP, "Finished loading offsets and group metadata from %s-%d in %lld ms (%d groups)",
             OFFSETS_TOPIC, partition, (long long)(mono_ms() - t0), groups);
}

static bool offsets_topic_ready(void)
{
    return mc_find_topic(OFFSETS_TOPIC) != NULL;
}

/* NONE if this broker coordinates the group now. */
static int16_t coordinator_error(kstr_t group)
{
    if (group.len <= 0)
        return KERR_INVALID_GROUP_ID;
    mc_topic_t *t = mc_find_topic(OFFSETS_TOPIC);
    if (!t)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    int32_t p = offsets_partition_for(group.ptr, group.len, gc.n_partitions);
    if (p >= t->n_partitions || t->parts[p].leader != gc.b->cfg->broker_id)
        return KERR_NOT_COORDINATOR;
    if (!gc.loaded[p])
        gc_partition_led(p);
    return gc.loaded[p] ? KERR_NONE : KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

int16_t gc_find_coordinator(kstr_t group)
{
    if (!offsets_topic_ready()) {
        const broker_config_t *cfg = gc.b->cfg;
        int nb;
        mc_brokers(&nb);
        if (nb < cfg->offsets_topic_rf) {
            log_error(COMP, "Number of alive brokers '%d' does not meet the required replication "
                            "factor '%d' for the offsets topic (configured via "
                            "'offsets.topic.replication.factor'). This error can be ignored if the "
                            "cluster is starting up and not all brokers are up yet.",
                      nb, cfg->offsets_topic_rf);
            return KERR_COORDINATOR_NOT_AVAILABLE;
        }
        char seg[32];
        snprintf(seg, sizeof(seg), "%lld", (long long)cfg->offsets_topic_segment_bytes);
        const char *keys[] = { "cleanup.policy", "compression.type", "segment.bytes" };
        const char *vals[] = { "compact", "producer", seg };
        topic_spec_t spec = { .name = OFFSETS_TOPIC, .num_partitions = gc.n_partitions,
                              .replication_factor = cfg->offsets_topic_rf, .config_keys = keys,
                              .config_values = vals, .n_configs = 3 };
        /* Created in the background; until then the client hears
         * COORDINATOR_NOT_AVAILABLE and asks again, as with Kafka. */
        topic_result_t r;
        if (!topic_admin_creating(OFFSETS_TOPIC) &&
            topic_admin_create(gc.b, &spec, 1, false, &r, NULL, NULL) == 0 &&
            r.error != KERR_TOPIC_ALREADY_EXISTS)
            log_error(COMP, "Cannot create %s: %s (%s)", OFFSETS_TOPIC, r.message,
                      kafka_error_name(r.error));
        return KERR_COORDINATOR_NOT_AVAILABLE;
    }
    int16_t err = coordinator_error(group);
    return err == KERR_NOT_COORDINATOR || err == KERR_COORDINATOR_LOAD_IN_PROGRESS
               ? KERR_COORDINATOR_NOT_AVAILABLE : err;
}

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
            char *name = dup_kstr(a->protocol_names[i]);
            bool all = name != NULL;
            for (member_t *m = g->members; m && all; m = m->next)
                all = member_protocol_index(m, name) >= 0;
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
        join_error(m, KERR_UNKNOWN_MEMBER_ID);   /* replaced by a newer request */
    m->join_req = req;
    m->join_done = done;
    req->parked = m;
    req->cancel = gc_cancel;
    return REQ_PARKED;
}

static bool take_pending(group_t *g, kstr_t id)
{
    for (pending_member_t **pp = &g->pending; *pp; pp = &(*pp)->next) {
        if (kstr_eq_cstr(id, (*pp)->id)) {
            pending_member_t *p = *pp;
            *pp = p->next;
            free(p->id);
            free(p);
            return true;
        }
    }
    return false;
}

static enum handler_result join_existing(group_t *g, member_t *m, request_t *req,
                                         const join_args_t *a, join_done_fn done)
{
    switch (g->state) {
    case PREPARING_REBALANCE:
        set_protocols(m, a);
        park_join(m, req, done);
        maybe_complete_join(g);
        return REQ_PARKED;
    case COMPLETING_REBALANCE:
        if (same_protocols(m, a)) {
            /* Lost response: answer with the current generation. */
            park_join(m, req, done);
            respond_join(g, m, !strcmp(m->id, g->leader));
            return REQ_PARKED;
        }
        set_protocols(m, a);
        prepare_rebalance(g, "updating metadata of a member");
        park_join(m, req, done);
        /* As Kafka's DelayedJoin.tryComplete: a lone member completes now. */
        maybe_complete_join(g);
        return REQ_PARKED;
    case STABLE:
        if (!strcmp(m->id, g->leader) || !same_protocols(m, a)) {
            set_protocols(m, a);
            prepare_rebalance(g, !strcmp(m->id, g->leader) ? "leader rejoined" : "metadata changed");
            park_join(m, req, done);
            maybe_complete_join(g);
            return REQ_PARKED;
        }
        park_join(m, req, done);
        respond_join(g, m, false);
        return REQ_PARKED;
    default:
        return join_now(req, done, KERR_UNKNOWN_MEMBER_ID, m->id);
    }
}

/* A static member coming back under a new member id. */
static enum handler_result join_static_rejoin(group_t *g, member_t *old, request_t *req,
                                              const join_args_t *a, join_done_fn done)
{
    char *new_id = new_member_id(old->instance_id);
    join_error(old, KERR_FENCED_INSTANCE_ID);
    sync_error(old, KERR_FENCED_INSTANCE_ID);
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
    schedule_heartbeat(old);
    set_protocols(old, a);
    /* As Kafka: in Stable, only a change of the group's selected protocol
     * rebalances; the member gets its previous assignment in SyncGroup. */
    const char *next = g->state == STABLE ? select_protocol(g) : NULL;
    if (next && g->protocol_name && !strcmp(next, g->protocol_name)) {
        park_join(old, req, done);
        respond_join(g, old, false);
        store_group(g);
        return REQ_PARKED;
    }
    if (g->state != PREPARING_REBALANCE)
        prepare_rebalance(g, "static member rejoined with new metadata");
    park_join(old, req, done);
    maybe_complete_join(g);
    return REQ_PARKED;
}

enum handler_result gc_join(request_t *req, const join_args_t *a, join_done_fn done)
{
    int16_t err = coordinator_error(a->group_id);
    if (err)
        return join_now(req, done, err, NULL);
    group_t *g = find_group(a->group_id);
    bool unknown = a->member_id.len <= 0;
    if (!g && !unknown)
        return join_now(req, done, KERR_UNKNOWN_MEMBER_ID, NULL);
    if (g && g->state == DEAD)
        return join_now(req, done, KERR_COORDINATOR_NOT_AVAILABLE, NULL);
    if ((err = validate_join(g, a)))
        return join_now(req, done, err, NULL);
    if (!g)
        g = add_group(a->group_id);
    if (g->n_members >= gc.b->cfg->group_max_size && unknown && !find_static(g, a->instance_id))
        return join_now(req, done, KERR_GROUP_MAX_SIZE_REACHED, NULL);

    if (unknown) {
        member_t *st = find_static(g, a->instance_id);
        if (st)
            return join_static_rejoin(g, st, req, a, done);
        char *client = dup_kstr(req->hdr.client_id);
        char *inst = dup_kstr(a->instance_id);
        char *id = new_member_id(inst ? inst : client ? client : "");
        free(client);
        free(inst);
        if (a->require_known_member_id && a->instance_id.len < 0) {
            /* KIP-394: hand out the id and let the member come back with it. */
            pending_member_t *p = xcalloc(1, sizeof(*p));
            p->id = id;
            p->deadline = mono_ms() + a->session_timeout_ms;
            p->next = g->pending;
            g->pending = p;
            return join_now(req, done, KERR_MEMBER_ID_REQUIRED, id);
        }
        member_t *m = add_member(g, id, a, req);
        if (g->state != PREPARING_REBALANCE)
            prepare_rebalance(g, "adding new member");
        park_join(m, req, done);
        maybe_complete_join(g);
        return REQ_PARKED;
    }

    if (take_pending(g, a->member_id)) {
        member_t *m = add_member(g, dup_kstr(a->member_id), a, req);
        if (g->state != PREPARING_REBALANCE)
            prepare_rebalance(g, "adding new member");
        else if (g->initial_delay) {
            /* Each arrival during the initial delay extends it (capped). */
            int64_t left = g->join_deadline - mono_ms();
            if (left > 0)
                arm_join_timer(g, (int32_t)MIN(left, gc.b->cfg->group_initial_rebalance_delay_ms));
        }
        park_join(m, req, done);
        maybe_complete_join(g);
        return REQ_PARKED;
    }
    member_t *m = find_member(g, a->member_id);
    if (!m)
        return join_now(req, done, KERR_UNKNOWN_MEMBER_ID, NULL);
    if (a->instance_id.len >= 0 && !str_eq_k(m->instance_id, a->instance_id))
        return join_now(req, done, KERR_FENCED_INSTANCE_ID, NULL);
    return join_existing(g, m, req, a, done);
}

/* ---- SyncGroup ---- */

static member_t *checked_member(group_t *g, kstr_t member_id, kstr_t instance_id, int16_t *err)
{
    member_t *m = g ? find_member(g, member_id) : NULL;
    if (!m) {
        member_t *st = g ? find_static(g, instance_id) : NULL;
        *err = st ? KERR_FENCED_INSTANCE_ID : KERR_UNKNOWN_MEMBER_ID;
        return NULL;
    }
    if (instance_id.len >= 0 && !str_eq_k(m->instance_id, instance_id)) {
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
    int16_t err = coordinator_error(a->group_id);
    group_t *g = err ? NULL : find_group(a->group_id);
    member_t *m = NULL;
    if (!err && (!g || g->state == DEAD))
        err = KERR_UNKNOWN_MEMBER_ID;
    if (!err)
        m = checked_member(g, a->member_id, a->instance_id, &err);
    if (!err && a->generation != g->generation)
        err = KERR_ILLEGAL_GENERATION;
    if (!err && ((a->protocol_type.len >= 0 && !str_eq_k(g->protocol_type, a->protocol_type)) ||
                 (a->protocol_name.len >= 0 && !str_eq_k(g->protocol_name, a->protocol_name))))
        err = KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && g->state == PREPARING_REBALANCE)
        err = KERR_REBALANCE_IN_PROGRESS;
    if (!err && g->state == EMPTY)
        err = KERR_UNKNOWN_MEMBER_ID;
    if (err) {
        done(req, err, NULL, NULL, NULL, 0);
        return REQ_DONE;
    }
    schedule_heartbeat(m);
    if (g->state == STABLE) {
        done(req, KERR_NONE, g->protocol_type, g->protocol_name, m->assignment,
             m->assignment ? m->assignment_len : 0);
        return REQ_DONE;
    }
    /* CompletingRebalance: wait for the leader's assignment. */
    if (m->sync_req)
        sync_error(m, KERR_UNKNOWN_MEMBER_ID);
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
        int16_t serr = store_group(g);
        if (serr) {
            for (member_t *x = g->members; x; x = x->next)
                sync_error(x, KERR_COORDINATOR_NOT_AVAILABLE);
            prepare_rebalance(g, "error storing group metadata");
            return REQ_PARKED;
        }
        set_state(g, STABLE);
        log_info(COMP, "Assignment received from leader %s for group %s for generation %d. The "
                       "group has %d members, 0 of which are static.", g->leader, g->id,
                 g->generation, g->n_members);
        for (member_t *x = g->members; x; x = x->next)
            if (x->sync_req)
                finish_sync(x);
    }
    return REQ_PARKED;
}

/* ---- Heartbeat / LeaveGroup ---- */

int16_t gc_heartbeat(kstr_t group, int32_t generation, kstr_t member_id, kstr_t instance_id)
{
    int16_t err = coordinator_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    if (!g)
        return KERR_UNKNOWN_MEMBER_ID;
    if (g->state == DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    member_t *m = checked_member(g, member_id, instance_id, &err);
    if (err)
        return err;
    if (g->state == EMPTY)
        return KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    schedule_heartbeat(m);
    return g->state == PREPARING_REBALANCE ? KERR_REBALANCE_IN_PROGRESS : KERR_NONE;
}

int16_t gc_group_error(kstr_t group)
{
    int16_t err = coordinator_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    return !g ? KERR_UNKNOWN_MEMBER_ID : g->state == DEAD ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE;
}

int16_t gc_leave(kstr_t group, kstr_t member_id, kstr_t instance_id)
{
    int16_t err = gc_group_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    member_t *m;
    if (instance_id.len >= 0) {
        m = find_static(g, instance_id);
        if (!m)
            return KERR_UNKNOWN_MEMBER_ID;
        if (member_id.len > 0 && !kstr_eq_cstr(member_id, m->id))
            return KERR_FENCED_INSTANCE_ID;
    } else {
        if (take_pending(g, member_id))
            return KERR_NONE;
        m = find_member(g, member_id);
        if (!m)
            return KERR_UNKNOWN_MEMBER_ID;
    }
    log_info(COMP, "Member %s has left group %s through explicit LeaveGroup request", m->id, g->id);
    remove_member(g, m, "removing member on LeaveGroup");
    return KERR_NONE;
}

/* ---- Offsets ---- */

int16_t gc_commit(kstr_t group, int32_t generation, kstr_t member_id, kstr_t instance_id,
                  commit_entry_t *e, int n)
{
    int16_t err = coordinator_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    if (!g) {
        if (generation >= 0)
            return KERR_ILLEGAL_GENERATION;
        g = add_group(group);   /* a group that manages its own partitions */
    }
    if (g->state == DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (!(generation < 0 && g->state == EMPTY)) {
        if (g->state == COMPLETING_REBALANCE)
            return KERR_REBALANCE_IN_PROGRESS;
        member_t *m = checked_member(g, member_id, instance_id, &err);
        if (err)
            return err;
        if (generation != g->generation)
            return KERR_ILLEGAL_GENERATION;
        schedule_heartbeat(m);
    }
    batch_kv_t *recs = xcalloc((size_t)n + 1, sizeof(*recs));
    kwriter_t *kw = xcalloc((size_t)n + 1, sizeof(*kw)), *vw = xcalloc((size_t)n + 1, sizeof(*vw));
    int k = 0;
    int64_t now = now_ms();
    for (int i = 0; i < n; i++) {
        mc_topic_t *t = mc_find_topic(e[i].topic);
        if (e[i].metadata.len > gc.b->cfg->offset_metadata_max_bytes) {
            e[i].error = KERR_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        if (!t || e[i].partition < 0 || e[i].partition >= t->n_partitions) {
            e[i].error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        kw_init(&kw[k]);
        kw_init(&vw[k]);
        offsets_encode_commit_key(&kw[k], g->id, e[i].topic, e[i].partition);
        offsets_encode_commit_value(&vw[k], e[i].offset, e[i].leader_epoch, e[i].metadata, now);
        recs[k] = (batch_kv_t){ kw[k].buf, (int32_t)kw[k].len, vw[k].buf, (int32_t)vw[k].len };
        k++;
    }
    int16_t werr = k ? offsets_append(gc.b, g->partition, recs, k) : KERR_NONE;
    for (int i = 0; i < k; i++) {
        kw_free(&kw[i]);
        kw_free(&vw[i]);
    }
    free(kw);
    free(vw);
    free(recs);
    for (int i = 0; i < n; i++) {
        if (e[i].error)
            continue;
        if (werr) {
            e[i].error = KERR_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        char *meta = dup_kstr(e[i].metadata);
        put_offset(g, e[i].topic, e[i].partition, e[i].offset, e[i].leader_epoch, meta, now, -1);
        free(meta);
    }
    return KERR_NONE;
}

int16_t gc_fetch_offset(kstr_t group, const char *topic, int32_t partition, fetched_offset_t *out)
{
    *out = (fetched_offset_t){ topic, partition, -1, -1, "" };
    int16_t err = coordinator_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    stored_offset_t *o = g ? find_offset(g, topic, partition) : NULL;
    if (o) {
        out->offset = o->offset;
        out->leader_epoch = o->leader_epoch;
        out->metadata = o->metadata;
    }
    return KERR_NONE;
}

int16_t gc_fetch_all(kstr_t group, arena_t *a, fetched_offset_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    int16_t err = coordinator_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    if (!g)
        return KERR_NONE;
    int cnt = (int)HASH_COUNT(g->offsets), i = 0;
    fetched_offset_t *arr = arena_array(a, (size_t)cnt + 1, sizeof(*arr));
    stored_offset_t *o, *tmp;
    HASH_ITER(hh, g->offsets, o, tmp)
        arr[i++] = (fetched_offset_t){ o->topic, o->partition, o->offset, o->leader_epoch, o->metadata };
    *out = arr;
    *n = i;
    return KERR_NONE;
}

/* ---- Admin ---- */

void gc_describe(kstr_t group, arena_t *a, group_summary_t *out)
{
    memset(out, 0, sizeof(*out));
    out->error = coordinator_error(group);
    out->state = "Dead";
    out->protocol_type = "";
    out->protocol = "";
    if (out->error)
        return;
    group_t *g = find_group(group);
    if (!g)
        return;
    out->state = state_names[g->state];
    out->protocol_type = g->protocol_type ? arena_strdup(a, g->protocol_type) : "";
    bool stable = g->state == STABLE;
    out->protocol = stable && g->protocol_name ? arena_strdup(a, g->protocol_name) : "";
    out->members = arena_array(a, (size_t)g->n_members + 1, sizeof(*out->members));
    int i = 0;
    for (member_t *m = g->members; m; m = m->next, i++) {
        group_member_summary_t *s = &out->members[i];
        s->member_id = arena_strdup(a, m->id);
        s->instance_id = m->instance_id ? arena_strdup(a, m->instance_id) : NULL;
        s->client_id = arena_strdup(a, m->client_id);
        s->client_host = arena_strdup(a, m->client_host);
        int pi = stable && g->protocol_name ? member_protocol_index(m, g->protocol_name) : -1;
        if (pi >= 0) {
            s->metadata = m->proto_meta[pi];
            s->metadata_len = m->proto_meta_len[pi];
        }
        if (stable && m->assignment) {
            s->assignment = m->assignment;
            s->assignment_len = m->assignment_len;
        }
    }
    out->n_members = i;
}

int gc_list(arena_t *a, group_listing_t **out)
{
    /* Make sure every partition this broker leads is loaded. */
    mc_topic_t *t = mc_find_topic(OFFSETS_TOPIC);
    for (int32_t p = 0; t && p < t->n_partitions && p < gc.n_partitions; p++)
        if (t->parts[p].leader == gc.b->cfg->broker_id && !gc.loaded[p])
            gc_partition_led(p);
    int n = 0;
    group_listing_t *arr = arena_array(a, HASH_COUNT(gc.groups) + 1, sizeof(*arr));
    group_t *g, *tmp;
    HASH_ITER(hh, gc.groups, g, tmp) {
        if (g->state == DEAD)
            continue;
        arr[n++] = (group_listing_t){ arena_strdup(a, g->id),
                                      g->protocol_type ? arena_strdup(a, g->protocol_type) : "",
                                      state_names[g->state] };
    }
    *out = arr;
    return n;
}

static void destroy_group(group_t *g)
{
    HASH_DEL(gc.groups, g);
    while (g->members) {
        member_t *m = g->members;
        g->members = m->next;
        join_error(m, KERR_COORDINATOR_NOT_AVAILABLE);
        sync_error(m, KERR_COORDINATOR_NOT_AVAILABLE);
        free_member(m);
    }
    while (g->pending) {
        pending_member_t *p = g->pending;
        g->pending = p->next;
        free(p->id);
        free(p);
    }
    stored_offset_t *o, *tmp;
    HASH_ITER(hh, g->offsets, o, tmp)
        free_offset(g, o);
    if (g->join_timer)
        event_free(g->join_timer);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader);
    free(g);
}

int16_t gc_delete_group(kstr_t group)
{
    int16_t err = coordinator_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    if (!g || g->state == DEAD)
        return KERR_GROUP_ID_NOT_FOUND;
    if (g->state != EMPTY)
        return KERR_NON_EMPTY_GROUP;
    int n = (int)HASH_COUNT(g->offsets), i = 0;
    stored_offset_t **offs = xcalloc((size_t)n + 1, sizeof(*offs));
    stored_offset_t *o, *tmp;
    HASH_ITER(hh, g->offsets, o, tmp)
        offs[i++] = o;
    err = write_tombstones(g, offs, n, true);
    free(offs);
    if (err)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    log_info(COMP, "Group %s deleted (%d offsets)", g->id, n);
    destroy_group(g);
    return KERR_NONE;
}

/* Whether any member's consumer subscription names the topic. */
static bool subscribed_to(group_t *g, const char *topic)
{
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") || !g->protocol_name)
        return false;
    for (member_t *m = g->members; m; m = m->next) {
        int pi = member_protocol_index(m, g->protocol_name);
        if (pi < 0)
            continue;
        arena_t a;
        arena_init(&a);
        kreader_t r;
        kr_init(&r, m->proto_meta[pi], (size_t)m->proto_meta_len[pi], &a);
        int16_t v = kr_int16(&r);
        struct consumer_protocol_subscription sub;
        bool hit = false;
        if (!r.err && v >= 0 && consumer_protocol_subscription_decode(
                                    &r, MIN(v, CONSUMER_PROTOCOL_SUBSCRIPTION_MAX_VERSION), &sub) == 0)
            for (int i = 0; i < sub.topics_count && !hit; i++)
                hit = kstr_eq_cstr(sub.topics[i], topic);
        arena_free(&a);
        if (hit)
            return true;
    }
    return false;
}

int16_t gc_delete_offsets(kstr_t group, commit_entry_t *e, int n)
{
    int16_t err = coordinator_error(group);
    if (err)
        return err;
    group_t *g = find_group(group);
    if (!g || g->state == DEAD)
        return KERR_GROUP_ID_NOT_FOUND;
    if (g->state != EMPTY && (!g->protocol_type || strcmp(g->protocol_type, "consumer")))
        return KERR_NON_EMPTY_GROUP;
    stored_offset_t **offs = xcalloc((size_t)n + 1, sizeof(*offs));
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (g->state != EMPTY && subscribed_to(g, e[i].topic)) {
            e[i].error = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
            continue;
        }
        stored_offset_t *o = find_offset(g, e[i].topic, e[i].partition);
        if (o)
            offs[k++] = o;
    }
    err = write_tombstones(g, offs, k, false);
    if (!err)
        for (int i = 0; i < k; i++)
            free_offset(g, offs[i]);
    free(offs);
    return err ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE;
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

/* ---- expiry ---- */

/* Offsets of Empty groups expire offsets.retention.minutes after the group
 * became empty (or their explicit expire timestamp); empty groups without
 * offsets are removed (Kafka 2.1+). */
static void expire_offsets(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    int64_t now = now_ms();
    group_t *g, *gtmp;
    HASH_ITER(hh, gc.groups, g, gtmp) {
        if (g->state != EMPTY)
            continue;
        int n = (int)HASH_COUNT(g->offsets), k = 0;
        stored_offset_t **offs = xcalloc((size_t)n + 1, sizeof(*offs));
        stored_offset_t *o, *tmp;
        HASH_ITER(hh, g->offsets, o, tmp) {
            int64_t base = MAX(o->commit_ts, g->state_ts);
            bool expired = o->expire_ts > 0 ? now >= o->expire_ts
                                            : now - base >= gc.b->cfg->offsets_retention_ms;
            if (expired)
                offs[k++] = o;
        }
        bool drop_group = k == n;
        if ((k > 0 || drop_group) && write_tombstones(g, offs, k, drop_group) == KERR_NONE) {
            for (int i = 0; i < k; i++)
                free_offset(g, offs[i]);
            if (k)
                log_info(COMP, "Removed %d expired offsets of group %s", k, g->id);
            if (drop_group)
                destroy_group(g);
        }
        free(offs);
    }
}

void gc_init(broker_t *b)
{
    gc.b = b;
    gc.n_partitions = b->cfg->offsets_topic_partitions;
    gc.loaded = xcalloc((size_t)gc.n_partitions, sizeof(bool));
    gc.expiry_timer = event_new(b->base, -1, EV_PERSIST, expire_offsets, NULL);
    int64_t every = MAX(b->cfg->offsets_retention_check_ms, 1000);
    struct timeval tv = { (time_t)(every / 1000), (suseconds_t)(every % 1000) * 1000 };
    event_add(gc.expiry_timer, &tv);
}

void gc_shutdown(void)
{
    if (!gc.b)
        return;
    group_t *g, *tmp;
    HASH_ITER(hh, gc.groups, g, tmp)
        destroy_group(g);
    event_free(gc.expiry_timer);
    free(gc.loaded);
    memset(&gc, 0, sizeof(gc));
}
