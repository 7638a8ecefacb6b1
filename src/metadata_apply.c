/*
 * metadata_apply.c - owns applying what the ZooKeeper thread learnt to the
 * event loop's state: the metadata cache, the controller fields of
 * broker_t, and the hosted partitions (replica_manager.h: logs opened for
 * replicas this broker holds, dropped for topics that are gone; logs on
 * disk of topics that no longer exist are deleted).  Event-loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "log_manager.h"
#include "logging.h"
#include "replica_manager.h"
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
    for (int i = 0; i < u->n_removed; i++) {
        rm_remove_topic(u->removed[i]);
        mc_remove_topic(u->removed[i]);
    }
    if (u->full) {
        mc_topic_t *t, *tmp;
        HASH_ITER(hh, mc_topics(), t, tmp) {
            if (!in_update(u, t->name)) {
                rm_remove_topic(t->name);
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
        rm_apply_topic(b, t);
    }
    u->n_topics = 0;
    if (removed_any || u->full)
        drop_stale_logs();
    metadata_update_free(u);
}
