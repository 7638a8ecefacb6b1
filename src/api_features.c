/*
 * api_features.c - owns the feature-versioning and forwarding APIs of a
 * ZooKeeper-mode Kafka 3.9 broker:
 *
 *   - UpdateFeatures (57), answered by the active controller on the
 *     ZooKeeper thread with KafkaController.validateFeatureUpdate's checks
 *     and messages.  samsa supports no feature (as Kafka's ZooKeeper-mode
 *     brokers), so an upgrade is always refused; deleting a finalized
 *     feature found in /feature rewrites it.  Unlike Kafka, the answer does
 *     not wait for this broker's cache to see the new /feature (the watch
 *     brings it a moment later).
 *   - Envelope (58), which Kafka accepts only with forwarding, that is
 *     during a migration to KRaft (zookeeper.metadata.migration.enable);
 *     samsa never migrates, so, as Kafka without it, the connection is
 *     closed.
 *
 * Threads: the handlers' bodies run on the ZooKeeper thread
 * (api_answer_on_zk_thread); api_envelope on the event loop.
 */
#include <stdio.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "api.h"
#include "acl.h"
#include "controller.h"
#include "controller_state.h"
#include "feature_versioning.h"
#include "kafka_errors.h"
#include "logging.h"
#include "net.h"
#include "proto_messages.h"

/* FeatureUpdate.UpgradeType */
enum upgrade_type { UPGRADE_UNKNOWN = 0, UPGRADE = 1, SAFE_DOWNGRADE = 2, UNSAFE_DOWNGRADE = 3 };

typedef struct feature_item {
    const char *name;
    int16_t level;
    enum upgrade_type type;
} feature_item_t;

static enum upgrade_type upgrade_type_of(int16_t v,
                                         const struct update_features_request_feature_update_key *k)
{
    if (v == 0)
        return k->allow_downgrade ? SAFE_DOWNGRADE : UPGRADE;
    return k->upgrade_type >= UPGRADE && k->upgrade_type <= UNSAFE_DOWNGRADE
               ? (enum upgrade_type)k->upgrade_type
               : UPGRADE_UNKNOWN;
}

static bool is_delete(const feature_item_t *u)
{
    return u->level < 1 && u->type != UPGRADE;
}

/* Kafka's validateFeatureUpdate against the finalized features: NULL if
 * the update is valid (then it is a deletion: samsa supports no feature
 * to upgrade to), else the INVALID_REQUEST message, written to buf. */
static const char *invalid_update(const feature_item_t *u, const finalized_features_t *existing,
                                  char *buf, size_t size)
{
    static const char unsupported[] = "Could not apply finalized feature update because the "
                                      "provided feature is not supported.";
    if (!*u->name)
        return "Feature name can not be empty.";
    if (u->type == UPGRADE_UNKNOWN)
        return "Received unknown upgrade type.";
    int at = ff_find(existing, u->name);
    if (is_delete(u))
        return at < 0 ? "Can not delete non-existing finalized feature." : NULL;
    if (u->level < 1) {
        snprintf(buf, size, "Can not provide versionLevel: %d less than 1 without setting the SAFE "
                            "downgradeType in the request.", u->level);
        return buf;
    }
    if (at < 0)
        return unsupported;
    int16_t now = existing->levels[at];
    const char *verb = u->type == SAFE_DOWNGRADE ? "downgrade" : "upgrade";
    if (u->level == now)
        snprintf(buf, size, "Can not %s a finalized feature from existing versionLevel:%d to the "
                            "same value.", verb, now);
    else if (u->level < now && u->type != SAFE_DOWNGRADE)
        snprintf(buf, size, "Can not downgrade finalized feature from existing versionLevel:%d to "
                            "provided versionLevel:%d without setting the downgradeType to SAFE "
                            "in the request.", now, u->level);
    else if (u->type != UPGRADE && u->level > now)
        snprintf(buf, size, "When the downgradeType is set to SAFE in the request, the provided "
                            "versionLevel:%d can not be greater than existing versionLevel:%d.",
                 u->level, now);
    else
        return unsupported;
    return buf;
}

static void set_result(arena_t *a, struct update_features_response_updatable_feature_result *r,
                       const char *name, int16_t err, const char *msg)
{
    r->feature = kstr_from_cstr(arena_strdup(a, name));
    r->error_code = err;
    r->error_message = kstr_from_cstr(arena_strdup(a, msg));
}

/* Every update checked against /feature; the valid ones (deletions)
 * written back in one go (processFeatureUpdatesWithActiveController). */
static void process_updates(arena_t *a, int16_t v, const struct update_features_request *rq,
                            struct update_features_response *resp)
{
    struct zk_session *zs = controller_session();
    feature_znode_t z;
    int rc = feature_znode_read(zs, false, &z, NULL);
    if (rc != ZOK || !z.enabled) {
        if (rc == ZOK)
            ff_free(&z.features);
        z.features = (finalized_features_t){ 0 };
    }
    finalized_features_t target = { 0 };
    for (int i = 0; i < z.features.n; i++)
        ff_put(&target, z.features.names[i], z.features.levels[i]);
    int n = rq->feature_updates_count > 0 ? rq->feature_updates_count : 0;
    resp->results = update_features_response_updatable_feature_result_array(a, n);
    resp->results_count = 0;
    for (int i = 0; i < n; i++) {
        const struct update_features_request_feature_update_key *k = &rq->feature_updates[i];
        feature_item_t u = { kstr_dup_or_empty(a, k->feature), k->max_version_level,
                             upgrade_type_of(v, k) };
        bool seen = false;          /* a name's first update is the one Kafka reads */
        for (int j = 0; j < resp->results_count && !seen; j++)
            seen = kstr_eq_cstr(resp->results[j].feature, u.name);
        if (seen)
            continue;
        char buf[256];
        const char *bad = invalid_update(&u, &z.features, buf, sizeof(buf));
        if (!bad)
            ff_remove(&target, u.name);
        set_result(a, &resp->results[resp->results_count++], u.name,
                   bad ? KERR_INVALID_REQUEST : KERR_NONE, bad ? bad : "NONE");
    }
    if (!ff_same(&target, &z.features)) {
        feature_znode_t want = { feature_znode_version(controller_ibp()), true, target };
        if (feature_znode_write(zs, &want, false) != ZOK)
            for (int i = 0; i < resp->results_count; i++)
                if (resp->results[i].error_code == KERR_NONE)
                    set_result(a, &resp->results[i], kstr_dup_or_empty(a, resp->results[i].feature),
                               KERR_FEATURE_UPDATE_FAILED, "Unable to update finalized features "
                               "due to an unexpected server error.");
    }
    ff_free(&target);
    ff_free(&z.features);
}

static void top_level_error(struct update_features_response *resp, int16_t err, const char *msg)
{
    resp->error_code = err;
    resp->error_message = kstr_from_cstr(msg);
    resp->results_count = 0;
}

/* @locality the ZooKeeper thread
 * @locks none */
static void update_features_handle(arena_t *a, int16_t v, kreader_t *body, int16_t denied,
                                   kwriter_t *out)
{
    struct update_features_request rq;
    struct update_features_response resp;
    update_features_response_defaults(&resp);
    if (denied)
        top_level_error(&resp, denied, "Cluster authorization failed.");
    else if (update_features_request_decode(body, v, &rq) < 0)
        top_level_error(&resp, KERR_INVALID_REQUEST, "Malformed UpdateFeatures request.");
    else if (!cs_is_active())
        top_level_error(&resp, KERR_NOT_CONTROLLER,
                        "This is not the correct controller for this cluster.");
    else if (!feature_versioning_supported(controller_ibp()))
        top_level_error(&resp, KERR_INVALID_REQUEST, "Feature versioning system is disabled.");
    else {
        resp.error_message = KSTR_NULL;     /* ApiError.NONE */
        process_updates(a, v, &rq, &resp);
    }
    update_features_response_encode(out, v, &resp);
}

enum handler_result api_update_features(broker_t *b, request_t *req)
{
    (void)b;
    return api_answer_on_zk_thread(req, update_features_handle, ACL_OP_ALTER);
}

enum handler_result api_envelope(broker_t *b, request_t *req)
{
    (void)b;
    log_info("network", "Closing connection %s because it sent an `Envelope` request even though "
                        "forwarding has not been enabled", conn_peer(req->conn));
    return REQ_CLOSE;
}
