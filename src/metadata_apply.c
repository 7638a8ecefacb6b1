/*
 * metadata_apply.c - owns applying what the ZooKeeper thread learnt to the
 * event loop's state: the metadata cache, the controller fields of
 * broker_t, the local partition logs (opened for replicas this broker
 * holds, dropped for topics that are gone) and the group coordinator's
 * __consumer_offsets partitions.  Event-loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "group_coordinator.h"
#include "log_manager.h"
#include "logging.h"
#include "offsets_topic.h"
#include "topic_config.h"
#include "util.h"

metadata_update_t *metadata_update_new(void)
{
    return xcalloc(1, sizeof(metadata_update_t));
}

void metadata_update_free(metadata_update_t *u)
{
    if (!u)
        return;
    for (int i = 0; i < u->n_topics; i++)
        mc_topic_free(u->topics[i]);
    for (int i = 0; i < u->n_removed; i++)
        free(u->removed[i]);
    free(u->topics);
    free(u->removed);
    free(u->brokers);
    free(u);
}

void metadata_update_add_topic(metadata_update_t *u, mc_topic_t *t)
{
    u->topics = xrealloc(u->topics, sizeof(*u->topics) * (size_t)(u->n_topics + 1));
    u->topics[u->n_topics++] = t;
}

void metadata_update_add_removed(metadata_update_t *u, const char *name)
{
    u->removed = xrealloc(u->removed, sizeof(*u->removed) * (size_t)(u->n_removed + 1));
    u->removed[u->n_removed++] = xstrdup(name);
}

/* Topic-level overrides (segment.bytes, segment.ms, ...) over the broker's
 * defaults, for this topic's logs. */
static log_settings_t topic_log_settings(broker_t *b, const mc_topic_t *t)
{
    return (log_settings_t){
        .segment_bytes = topic_config_int(b, t, "segment.bytes"),
        .roll_ms = topic_config_int(b, t, "segment.ms"),
        .index_interval_bytes = (int32_t)topic_config_int(b, t, "index.interval.bytes"),
        .index_size_max_bytes = (int32_t)topic_config_int(b, t, "segment.index.bytes"),
        .flush_interval_messages = topic_config_int(b, t, "flush.messages"),
        .max_message_bytes = (int32_t)topic_config_int(b, t, "max.message.bytes"),
    };
}

/* Opens logs for the partitions this broker holds. */
static void apply_local_replicas(broker_t *b, mc_topic_t *t)
{
    log_settings_t settings = topic_log_settings(b, t);
    for (int p = 0; p < t->n_partitions; p++) {
        bool mine = false;
        for (int r = 0; r < t->parts[p].n_replicas; r++)
            mine |= t->parts[p].replicas[r] == b->cfg->broker_id;
        partition_log_t *pl = mine ? logmgr_get_or_create(t->name, p) : NULL;
        if (pl)
            pl->settings = settings;   /* applies from the next segment on */
        if (mine && !pl)
            log_error("controller", "Cannot open log for %s-%d", t->name, p);
        else if (mine && t->parts[p].leader == b->cfg->broker_id && !strcmp(t->name, OFFSETS_TOPIC))
            gc_partition_led(p);
    }
}

typedef struct stale_ctx {
    char (*names)[256];
    int32_t *parts;
    int n;
} stale_ctx_t;

static void collect_stale(partition_log_t *pl, void *arg)
{
    stale_ctx_t *c = arg;
    mc_topic_t *t = mc_find_topic(pl->topic);
    if (t && pl->partition < t->n_partitions)
        return;
    c->names = xrealloc(c->names, sizeof(*c->names) * (size_t)(c->n + 1));
    c->parts = xrealloc(c->parts, sizeof(*c->parts) * (size_t)(c->n + 1));
    snprintf(c->names[c->n], 256, "%s", pl->topic);
    c->parts[c->n] = pl->partition;
    c->n++;
}

/* Logs of topics that no longer exist go. */
static void drop_stale_logs(void)
{
    stale_ctx_t stale = { 0 };
    logmgr_foreach(collect_stale, &stale);
    for (int i = 0; i < stale.n; i++)
        logmgr_delete(stale.names[i], stale.parts[i]);
    free(stale.names);
    free(stale.parts);
}

static bool in_update(const metadata_update_t *u, const char *name)
{
    for (int i = 0; i < u->n_topics; i++)
        if (!strcmp(u->topics[i]->name, name))
            return true;
    return false;
}

void metadata_apply(broker_t *b, metadata_update_t *u)
{
    if (b->shutting_down) {
        metadata_update_free(u);
        return;
    }
    if (u->has_controller) {
        b->controller_id = u->controller_id;
        b->controller_epoch = u->controller_epoch;
        b->is_controller = u->controller_id == b->cfg->broker_id;
    }
    if (u->has_brokers)
        mc_set_brokers(u->brokers, u->n_brokers);
    bool removed_any = u->n_removed > 0;
    for (int i = 0; i < u->n_removed; i++)
        mc_remove_topic(u->removed[i]);
    if (u->full) {
        mc_topic_t *t, *tmp;
        HASH_ITER(hh, mc_topics(), t, tmp) {
            if (!in_update(u, t->name)) {
                mc_remove_topic(t->name);
                removed_any = true;
            }
        }
    }
    for (int i = 0; i < u->n_topics; i++) {
        mc_topic_t *t = u->topics[i];
        u->topics[i] = NULL;
        topic_settings_load(b, t);
        mc_put_topic(t);
        apply_local_replicas(b, t);
    }
    u->n_topics = 0;
    if (removed_any || u->full)
        drop_stale_logs();
    metadata_update_free(u);
}
