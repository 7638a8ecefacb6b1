/*
 * group_txn_offsets.c - owns offsets committed inside transactions
 * (TxnOffsetCommit, KIP-98): they are written to __consumer_offsets in the
 * producer's transactional batch and held per group as pending until the
 * transaction's marker reaches that partition -- a commit makes them the
 * group's offsets (unless a later plain commit of the same partition
 * exists), an abort drops them -- as Kafka's GroupMetadata
 * pendingTransactionalOffsetCommits.  Event-loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "group_internal.h"
#include "kafka_errors.h"
#include "logging.h"
#include "metadata_cache.h"
#include "offsets_topic.h"
#include "util.h"

static txn_offset_t *new_txn_offset(int64_t pid, const stored_offset_t *o)
{
    txn_offset_t *t = xcalloc(1, sizeof(*t));
    t->pid = pid;
    t->o = *o;
    t->o.topic = xstrdup(o->topic);
    t->o.metadata_len = o->metadata_len > 0 ? o->metadata_len : 0;
    t->o.metadata = xmalloc((size_t)t->o.metadata_len + 1);
    if (t->o.metadata_len)
        memcpy(t->o.metadata, o->metadata, (size_t)t->o.metadata_len);
    return t;
}

static void free_txn_offset(txn_offset_t *t)
{
    free(t->o.topic);
    free(t->o.metadata);
    free(t);
}

/* A later commit of the same partition by the same producer replaces it. */
static void add_pending(group_t *g, int64_t pid, const stored_offset_t *o)
{
    for (txn_offset_t **pp = &g->txn_offsets; *pp; pp = &(*pp)->next) {
        txn_offset_t *t = *pp;
        if (t->pid == pid && t->o.partition == o->partition && !strcmp(t->o.topic, o->topic)) {
            *pp = t->next;
            free_txn_offset(t);
            break;
        }
    }
    txn_offset_t *t = new_txn_offset(pid, o);
    t->next = g->txn_offsets;
    g->txn_offsets = t;
}

void grp_add_txn_offset(group_t *g, int64_t pid, const offsets_record_t *r, int64_t log_offset)
{
    char *topic = grp_dup_kstr(r->okey.topic);
    if (!topic)
        return;
    stored_offset_t o = grp_offset_of_record(r, topic, log_offset);
    add_pending(g, pid, &o);
    free(topic);
}

bool grp_has_txn_offset(const group_t *g, const char *topic, int32_t partition)
{
    for (const txn_offset_t *t = g->txn_offsets; t; t = t->next)
        if (t->o.partition == partition && !strcmp(t->o.topic, topic))
            return true;
    return false;
}

void grp_free_txn_offsets(group_t *g)
{
    while (g->txn_offsets) {
        txn_offset_t *t = g->txn_offsets;
        g->txn_offsets = t->next;
        free_txn_offset(t);
    }
}

static void add_committed(group_t *g, const stored_offset_t *o, void *arg)
{
    add_pending(g, *(const int64_t *)arg, o);
}

/* Kafka's doTxnCommitOffsets checks: no generation or member is needed,
 * but those given must be current. */
static int16_t check_member(group_t *g, int32_t generation, kstr_t member_id, kstr_t instance_id)
{
    if (g->state == DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    if (instance_id.len >= 0) {
        member_t *st = grp_find_static(g, instance_id);
        if (st && !grp_str_eq_k(st->id, member_id))
            return KERR_FENCED_INSTANCE_ID;
    }
    if (member_id.len > 0 && !grp_find_member(g, member_id))
        return KERR_UNKNOWN_MEMBER_ID;
    if (generation >= 0 && generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    return KERR_NONE;
}

int16_t gc_txn_commit(kstr_t group, int64_t pid, int16_t epoch, int32_t generation,
                      kstr_t member_id, kstr_t instance_id, commit_entry_t *e, int n)
{
    int16_t err = grp_coordinator_error(group);
    if (err)
        return err;
    group_t *g = grp_find_group(group);
    if (!g)
        g = grp_add_group(group);
    if ((err = check_member(g, generation, member_id, instance_id)))
        return err;
    grp_write_commits(g, e, n, &(batch_producer_t){ pid, epoch, -1, BATCH_ATTR_TRANSACTIONAL },
                      add_committed, &pid);
    return KERR_NONE;
}

/* Kafka's GroupMetadata.completePendingTxnOffsetCommit for every group of
 * the partition. */
void gc_txn_completed(int32_t partition, int64_t pid, bool commit)
{
    group_t *g, *tmp;
    HASH_ITER(hh, gc.groups, g, tmp) {
        if (g->partition != partition)
            continue;
        int applied = 0;
        for (txn_offset_t **pp = &g->txn_offsets; *pp;) {
            txn_offset_t *t = *pp;
            if (t->pid != pid) {
                pp = &t->next;
                continue;
            }
            *pp = t->next;
            stored_offset_t *cur = grp_find_offset(g, t->o.topic, t->o.partition);
            if (commit && (!cur || cur->log_offset < t->o.log_offset)) {
                grp_put_offset(g, &t->o);
                applied++;
            }
            free_txn_offset(t);
        }
        if (applied)
            log_debug(COMP, "Transaction of producer %lld committed %d offsets of group %s",
                      (long long)pid, applied, g->id);
    }
}

bool gc_offset_unstable(kstr_t group, const char *topic, int32_t partition)
{
    const group_t *g = grp_find_group(group);
    return g && grp_has_txn_offset(g, topic, partition);
}
