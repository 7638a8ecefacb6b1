/*
 * group_offsets.c - owns committed offsets: the in-memory offsets of each
 * group, OffsetCommit/OffsetFetch, writing group metadata and offsets to
 * __consumer_offsets (and their tombstones), loading a partition of it when
 * this broker leads it, and offset expiry.  Event-loop thread only.
 */
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "coord_log.h"
#include "group_internal.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "logging.h"
#include "metadata_cache.h"
#include "net.h"
#include "offsets_topic.h"
#include "topic_admin.h"
#include "util.h"

/* ---- persistence ---- */

int16_t grp_store_group(group_t *g)
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
        int pi = g->protocol_name ? grp_member_protocol_index(m, g->protocol_name) : -1;
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
    int16_t err = offsets_append(gc.b, g->partition, &rec, 1, NULL, NULL);
    kw_free(&k);
    kw_free(&val);
    arena_free(&a);
    return err;
}

/* Tombstones for the given offsets (and the group record when group_too). */
int16_t grp_write_tombstones(group_t *g, stored_offset_t **offs, int n, bool group_too)
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
    int16_t err = offsets_append(gc.b, g->partition, recs, total, NULL, NULL);
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

stored_offset_t *grp_find_offset(group_t *g, const char *topic, int32_t partition)
{
    char key[300];
    offset_key(key, sizeof(key), topic, partition);
    stored_offset_t *o;
    HASH_FIND_STR(g->offsets, key, o);
    return o;
}

stored_offset_t grp_offset_of_record(const offsets_record_t *r, char *topic, int64_t log_offset)
{
    return (stored_offset_t){ .topic = topic, .partition = r->okey.partition,
                              .offset = r->oval.offset, .leader_epoch = r->oval.leader_epoch,
                              .metadata = (char *)r->oval.metadata.ptr,
                              .metadata_len = r->oval.metadata.len,
                              .commit_ts = r->oval.commit_timestamp,
                              .expire_ts = r->oval.expire_timestamp, .log_offset = log_offset };
}

void grp_put_offset(group_t *g, const stored_offset_t *in)
{
    stored_offset_t *o = grp_find_offset(g, in->topic, in->partition);
    if (!o) {
        o = xcalloc(1, sizeof(*o));
        offset_key(o->key, sizeof(o->key), in->topic, in->partition);
        o->topic = xstrdup(in->topic);
        o->partition = in->partition;
        HASH_ADD_STR(g->offsets, key, o);
    }
    /* Metadata is kept as bytes: a NUL inside it is data (Kafka stores a
     * Java string; a null one reads back as ""). */
    free(o->metadata);
    o->metadata_len = in->metadata_len > 0 ? in->metadata_len : 0;
    o->metadata = xmalloc((size_t)o->metadata_len + 1);
    if (o->metadata_len)
        memcpy(o->metadata, in->metadata, (size_t)o->metadata_len);
    o->metadata[o->metadata_len] = '\0';
    o->offset = in->offset;
    o->leader_epoch = in->leader_epoch;
    o->commit_ts = in->commit_ts;
    o->expire_ts = in->expire_ts;
    o->log_offset = in->log_offset;
}

void grp_free_offset(group_t *g, stored_offset_t *o)
{
    HASH_DEL(g->offsets, o);
    free(o->topic);
    free(o->metadata);
    free(o);
}

/* ---- coordinator and loading ---- */

typedef struct load_ctx {
    int32_t partition;
    int64_t started;
    int bad;                    /* records that do not decode */
} load_ctx_t;

static void apply_record(const offsets_record_t *r, int64_t log_offset, int64_t pending_pid)
{
    if (r->kind == OREC_OFFSET && pending_pid >= 0) {
        /* Written by a transaction still open: applied at its marker. */
        if (!r->tombstone)
            grp_add_txn_offset(grp_find_group(r->okey.group) ?: grp_add_group(r->okey.group),
                               pending_pid, r, log_offset);
    } else if (r->kind == OREC_OFFSET) {
        kstr_t gid = r->okey.group;
        group_t *g = grp_find_group(gid);
        char *topic = grp_dup_kstr(r->okey.topic);
        if (!topic)
            return;
        if (r->tombstone) {
            stored_offset_t *o = g ? grp_find_offset(g, topic, r->okey.partition) : NULL;
            if (o)
                grp_free_offset(g, o);
        } else {
            if (!g)
                g = grp_add_group(gid);
            stored_offset_t o = grp_offset_of_record(r, topic, log_offset);
            grp_put_offset(g, &o);
        }
        free(topic);
    } else if (r->kind == OREC_GROUP) {
        group_t *g = grp_find_group(r->gkey.group);
        if (r->tombstone) {
            if (g) {
                g->generation = 0;
                free(g->protocol_type);
                g->protocol_type = NULL;
                grp_set_state(g, DEAD);   /* removed after the scan unless offsets follow */
            }
            return;
        }
        if (!g)
            g = grp_add_group(r->gkey.group);
        /* The latest record describes the group; members are rebuilt below. */
        while (g->members) {
            member_t *m = g->members;
            g->members = m->next;
            grp_free_member(m);
        }
        g->n_members = 0;
        g->generation = r->gval.generation;
        free(g->protocol_type);
        g->protocol_type = grp_dup_kstr(r->gval.protocol_type);
        free(g->protocol_name);
        g->protocol_name = grp_dup_kstr(r->gval.protocol);
        free(g->leader);
        g->leader = grp_dup_kstr(r->gval.leader);
        for (int i = 0; i < r->gval.members_count; i++) {
            const struct group_metadata_value_member_metadata *mm = &r->gval.members[i];
            member_t *m = xcalloc(1, sizeof(*m));
            m->id = grp_dup_kstr(mm->member_id);
            m->instance_id = grp_dup_kstr(mm->group_instance_id);
            m->client_id = grp_dup_kstr(mm->client_id);
            m->client_host = grp_dup_kstr(mm->client_host);
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
        grp_set_state(g, g->n_members ? STABLE : EMPTY);
    }
}

static void load_record(const batch_record_t *br, int64_t pending_pid, void *arg)
{
    load_ctx_t *c = arg;
    arena_t arena;
    arena_init(&arena);
    offsets_record_t r;
    if (offsets_record_decode(br, &arena, &r) < 0)
        c->bad++;
    else
        apply_record(&r, br->offset, pending_pid);
    arena_free(&arena);
}

/* Event-loop thread: every record of the partition was applied. */
static void load_finished(void *arg, int rc)
{
    load_ctx_t *c = arg;
    int32_t partition = c->partition;
    if (rc < 0)
        log_warn(COMP, "Loading %s-%d stopped at an unreadable batch", OFFSETS_TOPIC, partition);
    if (c->bad)
        log_warn(COMP, "Skipped %d malformed records in %s-%d", c->bad, OFFSETS_TOPIC, partition);
    int groups = 0;
    group_t *g, *tmp;
    HASH_ITER(hh, gc.groups, g, tmp) {
        if (g->partition != partition)
            continue;
        if (g->state == DEAD && !g->offsets && !g->txn_offsets) {
            grp_destroy_group(g);
            continue;
        }
        if (g->state == DEAD)
            grp_set_state(g, EMPTY);
        for (member_t *m = g->members; m; m = m->next) {
            m->hb_timer = event_new(gc.b->base, -1, 0, grp_heartbeat_expired, m);
            grp_schedule_heartbeat(m);
        }
        groups++;
    }
    gc.loading[partition] = false;
    gc.loaded[partition] = true;
    log_info(COMP, "Finished loading offsets and group metadata from %s-%d in %lld ms (%d groups)",
             OFFSETS_TOPIC, partition, (long long)(mono_ms() - c->started), groups);
    free(c);
}

/* Shutdown came first: the load context goes with the load. */
static void load_dropped(void *arg)
{
    free(arg);
}

void gc_partition_led(int32_t partition)
{
    if (!gc.b || partition < 0 || partition >= gc.n_partitions || gc.loaded[partition] ||
        gc.loading[partition])
        return;
    load_ctx_t *c = xcalloc(1, sizeof(*c));
    c->partition = partition;
    c->started = mono_ms();
    /* Read on the disk thread; requests for its groups get
     * COORDINATOR_LOAD_IN_PROGRESS meanwhile, as in Kafka. */
    if (clog_load_async(gc.b, OFFSETS_TOPIC, partition, load_record, load_finished,
                        load_dropped, c) < 0) {
        free(c);
        return;
    }
    gc.loading[partition] = true;
}

/* ---- Offsets ---- */

static void put_committed(group_t *g, const stored_offset_t *o, void *arg);

int16_t gc_commit(kstr_t group, int32_t generation, kstr_t member_id, kstr_t instance_id,
                  commit_entry_t *e, int n)
{
    int16_t err = grp_coordinator_error(group);
    if (err)
        return err;
    group_t *g = grp_find_group(group);
    if (!g) {
        if (generation >= 0)
            return KERR_ILLEGAL_GENERATION;
        g = grp_add_group(group);   /* a group that manages its own partitions */
    }
    if (g->state == DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (!(generation < 0 && g->state == EMPTY)) {
        if (g->state == COMPLETING_REBALANCE)
            return KERR_REBALANCE_IN_PROGRESS;
        member_t *m = grp_checked_member(g, member_id, instance_id, &err);
        if (err)
            return err;
        if (generation != g->generation)
            return KERR_ILLEGAL_GENERATION;
        grp_schedule_heartbeat(m);
    }
    grp_write_commits(g, e, n, NULL, put_committed, NULL);
    return KERR_NONE;
}

static void put_committed(group_t *g, const stored_offset_t *o, void *arg)
{
    (void)arg;
    grp_put_offset(g, o);
}

void grp_write_commits(group_t *g, commit_entry_t *e, int n, const batch_producer_t *prod,
                       grp_apply_fn apply, void *arg)
{
    batch_kv_t *recs = xcalloc((size_t)n + 1, sizeof(*recs));
    kwriter_t *kw = xcalloc((size_t)n + 1, sizeof(*kw)), *vw = xcalloc((size_t)n + 1, sizeof(*vw));
    int k = 0;
    int64_t now = now_ms();
    for (int i = 0; i < n; i++) {
        mc_topic_t *t = mc_find_topic(e[i].topic);
        if (e[i].error)
            continue;       /* refused already (e.g. TOPIC_AUTHORIZATION_FAILED) */
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
    int64_t base = -1;
    int16_t werr = k ? offsets_append(gc.b, g->partition, recs, k, prod, &base) : KERR_NONE;
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
            e[i].error = werr == KERR_NOT_COORDINATOR ? werr : KERR_COORDINATOR_NOT_AVAILABLE;
            continue;
        }
        apply(g, &(stored_offset_t){ .topic = (char *)e[i].topic, .partition = e[i].partition,
                                     .offset = e[i].offset, .leader_epoch = e[i].leader_epoch,
                                     .metadata = (char *)e[i].metadata.ptr,
                                     .metadata_len = e[i].metadata.len, .commit_ts = now,
                                     .expire_ts = -1, .log_offset = base++ },
              arg);
    }
}

int16_t gc_fetch_offset(kstr_t group, const char *topic, int32_t partition, fetched_offset_t *out)
{
    *out = (fetched_offset_t){ topic, partition, -1, -1, KSTR_LIT(""), KERR_NONE };
    int16_t err = grp_coordinator_error(group);
    if (err)
        return err;
    group_t *g = grp_find_group(group);
    stored_offset_t *o = g ? grp_find_offset(g, topic, partition) : NULL;
    if (o) {
        out->offset = o->offset;
        out->leader_epoch = o->leader_epoch;
        out->metadata = (kstr_t){ o->metadata, o->metadata_len };
    }
    return KERR_NONE;
}

int16_t gc_fetch_all(kstr_t group, arena_t *a, fetched_offset_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    int16_t err = grp_coordinator_error(group);
    if (err)
        return err;
    group_t *g = grp_find_group(group);
    if (!g)
        return KERR_NONE;
    int cnt = (int)HASH_COUNT(g->offsets), i = 0;
    fetched_offset_t *arr = arena_array(a, (size_t)cnt + 1, sizeof(*arr));
    stored_offset_t *o, *tmp;
    HASH_ITER(hh, g->offsets, o, tmp)
        arr[i++] = (fetched_offset_t){ o->topic, o->partition, o->offset, o->leader_epoch,
                                       { o->metadata, o->metadata_len }, KERR_NONE };
    *out = arr;
    *n = i;
    return KERR_NONE;
}

/* ---- expiry ---- */

/* Offsets of Empty groups expire offsets.retention.minutes after the group
 * became empty (or their explicit expire timestamp); empty groups without
 * offsets are removed (Kafka 2.1+). */
void grp_expire_offsets(evutil_socket_t fd, short what, void *arg)
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
        bool drop_group = k == n && !g->txn_offsets;
        if ((k > 0 || drop_group) && grp_write_tombstones(g, offs, k, drop_group) == KERR_NONE) {
            for (int i = 0; i < k; i++)
                grp_free_offset(g, offs[i]);
            if (k)
                log_info(COMP, "Removed %d expired offsets of group %s", k, g->id);
            if (drop_group)
                grp_destroy_group(g);
        }
        free(offs);
    }
}
