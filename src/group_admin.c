/*
 * group_admin.c - owns the group admin operations: DescribeGroups,
 * ListGroups, DeleteGroups and OffsetDelete.  Event-loop thread only.
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

/* ---- Admin ---- */

void gc_describe(kstr_t group, arena_t *a, group_summary_t *out)
{
    memset(out, 0, sizeof(*out));
    out->error = grp_coordinator_error(group);
    out->state = "Dead";
    out->protocol_type = "";
    out->protocol = "";
    if (out->error)
        return;
    group_t *g = grp_find_group(group);
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
        int pi = stable && g->protocol_name ? grp_member_protocol_index(m, g->protocol_name) : -1;
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

int gc_list(arena_t *a, group_listing_t **out, int16_t *err)
{
    /* Every partition this broker leads must be loaded (as Kafka, the
     * answer is COORDINATOR_LOAD_IN_PROGRESS while one is loading). */
    mc_topic_t *t = mc_find_topic(OFFSETS_TOPIC);
    *err = KERR_NONE;
    for (int32_t p = 0; t && p < t->n_partitions && p < gc.n_partitions; p++) {
        if (t->parts[p].leader == gc.b->cfg->broker_id && !gc.loaded[p]) {
            gc_partition_led(p);
            if (!gc.loaded[p])
                *err = KERR_COORDINATOR_LOAD_IN_PROGRESS;
        }
    }
    *out = NULL;
    if (*err)
        return 0;
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

/* A live group this broker coordinates, or NULL with the error. */
static group_t *live_group(kstr_t group, int16_t *err)
{
    *err = grp_coordinator_error(group);
    if (*err)
        return NULL;
    group_t *g = grp_find_group(group);
    if (!g || g->state == DEAD) {
        *err = KERR_GROUP_ID_NOT_FOUND;
        return NULL;
    }
    return g;
}

int16_t gc_delete_group(kstr_t group)
{
    int16_t err;
    group_t *g = live_group(group, &err);
    if (!g)
        return err;
    if (g->state != EMPTY)
        return KERR_NON_EMPTY_GROUP;
    int n = (int)HASH_COUNT(g->offsets), i = 0;
    stored_offset_t **offs = xcalloc((size_t)n + 1, sizeof(*offs));
    stored_offset_t *o, *tmp;
    HASH_ITER(hh, g->offsets, o, tmp)
        offs[i++] = o;
    err = grp_write_tombstones(g, offs, n, true);
    free(offs);
    if (err)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    log_info(COMP, "Group %s deleted (%d offsets)", g->id, n);
    grp_destroy_group(g);
    return KERR_NONE;
}

/* Whether any member's consumer subscription names the topic. */
static bool subscribed_to(group_t *g, const char *topic)
{
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") || !g->protocol_name)
        return false;
    for (member_t *m = g->members; m; m = m->next) {
        int pi = grp_member_protocol_index(m, g->protocol_name);
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
    int16_t err;
    group_t *g = live_group(group, &err);
    if (!g)
        return err;
    if (g->state != EMPTY && (!g->protocol_type || strcmp(g->protocol_type, "consumer")))
        return KERR_NON_EMPTY_GROUP;
    stored_offset_t **offs = xcalloc((size_t)n + 1, sizeof(*offs));
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].error)         /* refused or unknown before reaching the group */
            continue;
        if (g->state != EMPTY && subscribed_to(g, e[i].topic)) {
            e[i].error = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
            continue;
        }
        stored_offset_t *o = grp_find_offset(g, e[i].topic, e[i].partition);
        if (o)
            offs[k++] = o;
    }
    err = grp_write_tombstones(g, offs, k, false);
    if (!err)
        for (int i = 0; i < k; i++)
            grp_free_offset(g, offs[i]);
    free(offs);
    return err ? KERR_COORDINATOR_NOT_AVAILABLE : KERR_NONE;
}
