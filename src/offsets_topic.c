/*
 * offsets_topic.c - owns the __consumer_offsets record formats (key and
 * value versions as ZooKeeper-mode Kafka writes them), the group-to-
 * partition rule, appends of coordinator records and scans of a partition
 * at load time.  Event-loop thread only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "bio.h"
#include "kafka_errors.h"
#include "log_manager.h"
#include "replica_manager.h"
#include "logging.h"
#include "offsets_topic.h"
#include "util.h"

int32_t java_string_hash(const char *s, int32_t len)
{
    uint32_t h = 0;
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    while (p < end) {
        uint32_t cp;
        int n;
        if (*p < 0x80) {
            cp = *p;
            n = 1;
        } else if ((*p & 0xe0) == 0xc0 && end - p >= 2) {
            cp = ((uint32_t)(*p & 0x1f) << 6) | (p[1] & 0x3f);
            n = 2;
        } else if ((*p & 0xf0) == 0xe0 && end - p >= 3) {
            cp = ((uint32_t)(*p & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
            n = 3;
        } else if ((*p & 0xf8) == 0xf0 && end - p >= 4) {
            cp = ((uint32_t)(*p & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
                 ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
            n = 4;
        } else {
            cp = 0xfffd;   /* what Java decodes an invalid byte to */
            n = 1;
        }
        if (cp >= 0x10000) {   /* surrogate pair */
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
        p += n;
    }
    return (int32_t)h;
}

int32_t offsets_partition_for(const char *group, int32_t len, int32_t partitions)
{
    int32_t h = java_string_hash(group, len);
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return a % partitions;
}

int offsets_record_decode(const batch_record_t *r, arena_t *arena, offsets_record_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!r->key || r->key_len < 2)
        return -1;
    kreader_t kr;
    kr_init(&kr, (uint8_t *)r->key, (size_t)r->key_len, arena);
    int16_t kv = kr_int16(&kr);
    out->tombstone = r->value_len < 0;
    if (kv == 0 || kv == 1) {
        out->kind = OREC_OFFSET;
        if (offset_commit_key_decode(&kr, kv, &out->okey) < 0)
            return -1;
        if (!out->tombstone) {
            kreader_t vr;
            kr_init(&vr, (uint8_t *)r->value, (size_t)r->value_len, arena);
            int16_t vv = kr_int16(&vr);
            if (vv < 0 || vv > OFFSET_COMMIT_VALUE_MAX_VERSION ||
                offset_commit_value_decode(&vr, vv, &out->oval) < 0)
                return -1;
        }
        return 0;
    }
    if (kv == 2) {
        out->kind = OREC_GROUP;
        if (group_metadata_key_decode(&kr, kv, &out->gkey) < 0)
            return -1;
        if (!out->tombstone) {
            kreader_t vr;
            kr_init(&vr, (uint8_t *)r->value, (size_t)r->value_len, arena);
            int16_t vv = kr_int16(&vr);
            if (vv < 0 || vv > GROUP_METADATA_VALUE_MAX_VERSION ||
                group_metadata_value_decode(&vr, vv, &out->gval) < 0)
                return -1;
        }
        return 0;
    }
    out->kind = OREC_OTHER;   /* KIP-848 records (key v3+): not ours to read */
    return 0;
}

void offsets_encode_commit_key(kwriter_t *w, const char *group, const char *topic, int32_t partition)
{
    struct offset_commit_key k = { kstr_from_cstr(group), kstr_from_cstr(topic), partition };
    kw_int16(w, 1);
    offset_commit_key_encode(w, 1, &k);
}

void offsets_encode_commit_value(kwriter_t *w, int64_t offset, int32_t leader_epoch,
                                 kstr_t metadata, int64_t commit_ts)
{
    struct offset_commit_value v;
    offset_commit_value_defaults(&v);
    v.offset = offset;
    v.leader_epoch = leader_epoch;
    v.metadata = metadata.len < 0 ? KSTR_LIT("") : metadata;
    v.commit_timestamp = commit_ts;
    kw_int16(w, 3);
    offset_commit_value_encode(w, 3, &v);
}

void offsets_encode_group_key(kwriter_t *w, const char *group)
{
    struct group_metadata_key k = { kstr_from_cstr(group) };
    kw_int16(w, 2);
    group_metadata_key_encode(w, 2, &k);
}

void offsets_encode_group_value(kwriter_t *w, const struct group_metadata_value *v)
{
    kw_int16(w, 3);
    group_metadata_value_encode(w, 3, v);
}

int16_t offsets_append(broker_t *b, int32_t partition, const batch_kv_t *recs, int n)
{
    partition_t *p = rm_partition(OFFSETS_TOPIC, partition);
    if (!p || !p->log || p->leader != b->cfg->broker_id)
        return KERR_NOT_COORDINATOR;
    partition_log_t *pl = p->log;
    kwriter_t w;
    kw_init(&w);
    int64_t now = now_ms();
    batch_build(&w, recs, n, now);
    int64_t base = plog_append(pl, w.buf, (int32_t)w.len, n, now, n - 1, p->leader_epoch, false, now);
    kw_free(&w);
    if (base < 0) {
        log_error("group-coordinator", "Cannot append to %s-%d", OFFSETS_TOPIC, partition);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    rm_appended(b, p);
    return KERR_NONE;
}

/* ---- loading a partition (Kafka's GroupMetadataManager.loadGroupsAndOffsets) ----
 *
 * The disk thread reads the partition (through dup()ed descriptors, up to
 * each segment's size when the load started) into the latest record of
 * each key; the event loop then hands those records to the coordinator in
 * slices of about 2 ms.  Memory is bounded by the distinct keys (groups and
 * committed partitions), not by the log's size. */

typedef struct latest {
    uint8_t *key;
    int32_t key_len;
    uint8_t *value;             /* NULL: tombstone */
    int32_t value_len;
    int64_t offset;
    int64_t timestamp;
    UT_hash_handle hh;
} latest_t;

typedef struct offsets_load {
    int32_t partition;
    log_segment_t *views;       /* size and a dup()ed descriptor per segment */
    int n_views;
    latest_t *latest;           /* insertion order = first appearance */
    latest_t *next;             /* apply position */
    int bad, rc;
    void (*fn)(const offsets_record_t *rec, void *arg);
    void (*done)(void *arg, int rc);
    void (*dropped)(void *arg);
    void *arg;
    struct event *slice;
    bool reading;               /* on the disk thread; load_read() will run */
    bool cancelled;             /* broker shutting down */
    struct offsets_load *prev_load, *next_load;
} offsets_load_t;

/* Loads in progress; event-loop thread. */
static offsets_load_t *loads;

static void keep_latest(const batch_record_t *r, void *arg)
{
    offsets_load_t *l = arg;
    if (r->key_len <= 0) {
        l->bad++;
        return;
    }
    latest_t *e;
    HASH_FIND(hh, l->latest, r->key, (size_t)r->key_len, e);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        e->key = xmalloc((size_t)r->key_len);
        memcpy(e->key, r->key, (size_t)r->key_len);
        e->key_len = r->key_len;
        HASH_ADD_KEYPTR(hh, l->latest, e->key, (size_t)e->key_len, e);
    }
    free(e->value);
    e->value = NULL;
    e->value_len = r->value_len;
    if (r->value_len >= 0) {
        e->value = xmalloc((size_t)r->value_len + 1);
        if (r->value_len)
            memcpy(e->value, r->value, (size_t)r->value_len);
    }
    e->offset = r->offset;
    e->timestamp = r->timestamp;
}

static int read_batch(uint8_t *b, const batch_header_t *h, void *arg)
{
    offsets_load_t *l = arg;
    if (batch_foreach_record(b, h, keep_latest, l) < 0)
        l->bad++;
    return 0;
}

/* Disk thread: only the load's own views and map are touched.
 * @locality the disk thread
 * @locks none (the load owns its dup()ed descriptors and map)
 */
static void load_run(void *arg)
{
    offsets_load_t *l = arg;
    for (int i = 0; i < l->n_views && l->rc == 0; i++)
        l->rc = segment_for_each_batch(&l->views[i], read_batch, l);
    for (int i = 0; i < l->n_views; i++)
        close(l->views[i].log_fd);
}

static void load_free(offsets_load_t *l)
{
    latest_t *e, *tmp;
    HASH_ITER(hh, l->latest, e, tmp) {
        HASH_DEL(l->latest, e);
        free(e->key);
        free(e->value);
        free(e);
    }
    if (l->slice)
        event_free(l->slice);
    if (l->prev_load)
        l->prev_load->next_load = l->next_load;
    else if (loads == l)
        loads = l->next_load;
    if (l->next_load)
        l->next_load->prev_load = l->prev_load;
    free(l->views);
    free(l);
}

/* Event-loop thread: the next slice of records goes to the coordinator.
 * @locality the event-loop thread
 * @locks none
 */
static void apply_slice(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    offsets_load_t *l = arg;
    int64_t deadline = mono_ms() + 2;
    arena_t arena;
    arena_init(&arena);
    while (l->next && mono_ms() < deadline) {
        for (int k = 0; k < 64 && l->next; k++, l->next = l->next->hh.next) {
            latest_t *e = l->next;
            batch_record_t br = { e->offset, e->timestamp, e->key, e->key_len, e->value,
                                  e->value ? e->value_len : -1, NULL, 0 };
            offsets_record_t rec;
            if (offsets_record_decode(&br, &arena, &rec) < 0)
                l->bad++;
            else
                l->fn(&rec, l->arg);
            arena_free(&arena);
        }
    }
    arena_free(&arena);
    if (l->next) {
        event_active(l->slice, 0, 0);
        return;
    }
    if (l->bad)
        log_warn("group-coordinator", "Skipped %d malformed records in %s-%d", l->bad,
                 OFFSETS_TOPIC, l->partition);
    l->done(l->arg, l->rc);
    load_free(l);
}

/* Event-loop thread: the disk thread has read the partition.
 * @locality the event-loop thread
 * @locks none
 */
static void load_read(void *arg)
{
    offsets_load_t *l = arg;
    l->reading = false;
    if (l->cancelled) {
        if (l->dropped)
            l->dropped(l->arg);
        load_free(l);
        return;
    }
    l->next = l->latest;
    apply_slice(-1, 0, l);
}

int offsets_load_async(broker_t *b, int32_t partition,
                       void (*fn)(const offsets_record_t *rec, void *arg),
                       void (*done)(void *arg, int rc), void (*dropped)(void *arg), void *arg)
{
    partition_log_t *pl = logmgr_get(OFFSETS_TOPIC, partition);
    if (!pl)
        return -1;
    offsets_load_t *l = xcalloc(1, sizeof(*l));
    l->partition = partition;
    l->fn = fn;
    l->done = done;
    l->dropped = dropped;
    l->arg = arg;
    l->views = xcalloc((size_t)pl->nsegs + 1, sizeof(log_segment_t));
    for (int i = 0; i < pl->nsegs; i++) {
        int fd = dup(pl->segs[i]->log_fd);
        if (fd < 0) {
            log_error("group-coordinator", "Cannot read %s-%d: %s", OFFSETS_TOPIC, partition,
                      strerror(errno));
            for (int k = 0; k < l->n_views; k++)
                close(l->views[k].log_fd);
            free(l->views);
            free(l);
            return -1;
        }
        l->views[l->n_views].log_fd = fd;
        l->views[l->n_views].size = pl->segs[i]->size;
        l->views[l->n_views].base_offset = pl->segs[i]->base_offset;
        l->n_views++;
    }
    l->slice = event_new(b->base, -1, 0, apply_slice, l);
    l->next_load = loads;
    if (loads)
        loads->prev_load = l;
    loads = l;
    l->reading = true;
    bio_submit(load_run, load_read, l);
    return 0;
}

void offsets_load_shutdown(void)
{
    for (offsets_load_t *l = loads, *next; l; l = next) {
        next = l->next_load;
        if (l->reading) {
            l->cancelled = true;    /* freed when its read comes back */
        } else {
            if (l->dropped)
                l->dropped(l->arg);
            load_free(l);
        }
    }
}
