/*
 * feature_versioning.c - owns the /feature znode as Kafka's FeatureZNode
 * writes and reads it (JSON version 2 from IBP 3.3 on, 1 before; status 1
 * enabled, 0 disabled), the controller's set-up of it on election, each
 * broker's watched read of it (FinalizedFeatureChangeListener), and the
 * event loop's cache of finalized features that ApiVersions reports.
 *
 * Threads: the znode is read and written on the ZooKeeper thread; `cache`
 * belongs to the event loop (feature_versioning.h).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "feature_versioning.h"
#include "logging.h"
#include "proto_messages.h"
#include "util.h"
#include "zk_session.h"

#define FEATURE_PATH "/feature"
#define IBP_FEATURE_VERSIONING 207  /* 2.7: IBP_2_7_IV1 (isFeatureVersioningSupported) */
#define IBP_FEATURE_ZNODE_V2 303    /* 3.3: IBP_3_3_IV0 drops min_version_level */

/* The event loop's finalized features (epoch -1 until /feature is read). */
static finalized_features_t cache = { .epoch = -1 };

void ff_free(finalized_features_t *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f->levels);
    f->names = NULL;
    f->levels = NULL;
    f->n = 0;
}

void ff_put(finalized_features_t *f, const char *name, int16_t level)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], name)) {
            f->levels[i] = level;
            return;
        }
    f->names = xrealloc(f->names, sizeof(*f->names) * (size_t)(f->n + 1));
    f->levels = xrealloc(f->levels, sizeof(*f->levels) * (size_t)(f->n + 1));
    f->names[f->n] = xstrdup(name);
    f->levels[f->n++] = level;
}

int ff_find(const finalized_features_t *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], name))
            return i;
    return -1;
}

void ff_remove(finalized_features_t *f, const char *name)
{
    int i = ff_find(f, name);
    if (i < 0)
        return;
    free(f->names[i]);
    f->n--;
    memmove(&f->names[i], &f->names[i + 1], sizeof(*f->names) * (size_t)(f->n - i));
    memmove(&f->levels[i], &f->levels[i + 1], sizeof(*f->levels) * (size_t)(f->n - i));
}

bool ff_same(const finalized_features_t *a, const finalized_features_t *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        int j = ff_find(b, a->names[i]);
        if (j < 0 || b->levels[j] != a->levels[i])
            return false;
    }
    return true;
}

/* One feature's {"max_version_level": N[, "min_version_level": N]}. */
static int decode_level(int version, json_t *info, int16_t *level)
{
    json_t *max = json_object_get(info, "max_version_level");
    json_t *min = json_object_get(info, "min_version_level");
    if (!json_is_integer(max) || (version == 1 && !json_is_integer(min)))
        return -1;
    json_int_t v = json_integer_value(max);
    if (v < INT16_MIN || v > INT16_MAX)
        return -1;
    *level = (int16_t)v;
    return 0;
}

static bool int_within(const json_t *v, json_int_t lo, json_int_t hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

int feature_znode_decode(const char *data, feature_znode_t *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = json_loads(data, 0, NULL);
    json_t *version = json_object_get(j, "version");
    json_t *status = json_object_get(j, "status");
    json_t *features = json_object_get(j, "features");
    int rc = -1;
    if (!int_within(version, 1, 2) || !int_within(status, 0, 1) || !json_is_object(features))
        goto out;
    out->version = (int)json_integer_value(version);
    out->enabled = json_integer_value(status) == 1;
    const char *name;
    json_t *info;
    json_object_foreach(features, name, info) {
        int16_t level;
        if (decode_level(out->version, info, &level) < 0) {
            ff_free(&out->features);
            goto out;
        }
        ff_put(&out->features, name, level);
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}

char *feature_znode_encode(const feature_znode_t *z)
{
    json_t *features = json_object();
    for (int i = 0; i < z->features.n; i++) {
        json_t *info = json_object();
        json_object_set_new(info, "max_version_level", json_integer(z->features.levels[i]));
        if (z->version == 1)
            json_object_set_new(info, "min_version_level", json_integer(z->features.levels[i]));
        json_object_set_new(features, z->features.names[i], info);
    }
    json_t *j = json_object();
    json_object_set_new(j, "features", features);
    json_object_set_new(j, "version", json_integer(z->version));
    json_object_set_new(j, "status", json_integer(z->enabled ? 1 : 0));
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        die("out of memory encoding /feature");
    return s;
}

int feature_znode_version(int32_t ibp)
{
    return ibp >= IBP_FEATURE_ZNODE_V2 ? 2 : 1;
}

bool feature_versioning_supported(int32_t ibp)
{
    return ibp >= IBP_FEATURE_VERSIONING;
}

/* Reads /feature: ZOK with *z decoded, ZNONODE, or an error (malformed
 * contents are ZBADARGUMENTS, with a log line). */
int feature_znode_read(zk_session_t *zs, bool watch, feature_znode_t *z, int32_t *zk_version)
{
    struct Stat st;
    int rc;
    if (watch) {
        rc = zk_exists_watch(zs, FEATURE_PATH, &st);    /* also fires on creation */
        if (rc != ZOK)
            return rc;
    }
    char *data = zk_get_string(zs, FEATURE_PATH, watch, &st, &rc);
    if (!data)
        return rc;
    if (feature_znode_decode(data, z) < 0) {
        log_error("features", "Unable to deserialize feature ZK node at path: %s: %s", FEATURE_PATH,
                  data);
        rc = ZBADARGUMENTS;
    }
    free(data);
    if (zk_version)
        *zk_version = st.version;
    return rc;
}

int feature_znode_write(zk_session_t *zs, const feature_znode_t *z, bool create)
{
    char *data = feature_znode_encode(z);
    log_info("features", "%s FeatureZNode at path: %s with contents: %s",
             create ? "Creating" : "Updating", FEATURE_PATH, data);
    zhandle_t *zh = zk_handle(zs);
    int rc = create ? zoo_create(zh, FEATURE_PATH, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, 0,
                                 NULL, 0)
                    : zoo_set(zh, FEATURE_PATH, data, (int)strlen(data), -1);
    if (rc != ZOK)
        log_error("features", "Cannot write %s: %s", FEATURE_PATH, zerror(rc));
    free(data);
    return rc;
}

void features_controller_setup(zk_session_t *zs, int32_t ibp)
{
    feature_znode_t old, want = { .version = feature_znode_version(ibp) };
    int rc = feature_znode_read(zs, false, &old, NULL);
    if (rc != ZOK && rc != ZNONODE) {
        log_error("features", "Cannot set up feature versioning: %s unreadable (%s)", FEATURE_PATH,
                  zerror(rc));
        return;
    }
    want.enabled = feature_versioning_supported(ibp);
    if (rc == ZOK) {
        if (!old.enabled && old.features.n > 0)
            log_warn("features", "FeatureZNode at path: %s with disabled status contains non-empty "
                                 "features", FEATURE_PATH);
        if (want.enabled && old.enabled) {
            want.features = old.features;       /* finalized features stay */
            old.features = (finalized_features_t){ 0 };
        }
    }
    bool same = rc == ZOK && old.version == want.version && old.enabled == want.enabled &&
                ff_same(&old.features, &want.features);
    if (!same)
        (void)feature_znode_write(zs, &want, rc == ZNONODE);   /* logged */
    if (rc == ZOK)
        ff_free(&old.features);
    ff_free(&want.features);
}

void features_load(zk_session_t *zs, int32_t ibp, finalized_features_t *out)
{
    *out = (finalized_features_t){ .epoch = -1 };
    if (!feature_versioning_supported(ibp))
        return;
    feature_znode_t z;
    int32_t version = -1;
    int rc = feature_znode_read(zs, true, &z, &version);
    if (rc == ZNONODE) {
        log_info("features", "Feature ZK node at path: %s does not exist", FEATURE_PATH);
        return;
    }
    if (rc != ZOK)
        return;
    if (!z.enabled) {
        log_info("features", "Feature ZK node at path: %s is in disabled status.", FEATURE_PATH);
        ff_free(&z.features);
        return;
    }
    if (z.features.n > 0)       /* Kafka's brokers exit here; no feature changes samsa */
        log_error("features", "%s finalizes %d feature(s) this broker does not support "
                              "(it supports none); reported, not applied", FEATURE_PATH,
                  z.features.n);
    *out = z.features;
    out->epoch = version;
}

void features_apply(finalized_features_t *f)
{
    if (f->epoch != cache.epoch)
        log_info("features", "Updated finalized features: %d feature(s) at epoch %lld (was %lld)",
                 f->n, (long long)f->epoch, (long long)cache.epoch);
    ff_free(&cache);
    cache = *f;
    *f = (finalized_features_t){ .epoch = -1 };
}

void features_fill_api_versions(arena_t *a, struct api_versions_response *resp)
{
    resp->finalized_features_epoch = cache.epoch;
    if (cache.epoch < 0)
        return;
    resp->finalized_features_count = cache.n;
    resp->finalized_features = api_versions_response_finalized_feature_key_array(a, cache.n);
    for (int i = 0; i < cache.n; i++) {
        resp->finalized_features[i].name = kstr_from_cstr(arena_strdup(a, cache.names[i]));
        resp->finalized_features[i].min_version_level = cache.levels[i];
        resp->finalized_features[i].max_version_level = cache.levels[i];
    }
}
