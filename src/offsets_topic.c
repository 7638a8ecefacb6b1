/*
 * offsets_topic.c - owns the __consumer_offsets record formats (key and
 * value versions as ZooKeeper-mode Kafka writes them), the group-to-
 * partition rule and appends of coordinator records (through coord_log.c,
 * which also loads a partition back).  Event-loop thread only.
 */
#include <string.h>

#include "coord_log.h"
#include "replica_manager.h"
#include "offsets_topic.h"

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

int16_t offsets_append(broker_t *b, int32_t partition, const batch_kv_t *recs, int n,
                       const batch_producer_t *prod, int64_t *base)
{
    return clog_append(b, OFFSETS_TOPIC, partition, recs, n, prod, base, NULL);
}
