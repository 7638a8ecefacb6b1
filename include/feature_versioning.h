/*
 * feature_versioning.h - KIP-584 feature versioning as a ZooKeeper-mode
 * Kafka 3.9 broker runs it: the /feature znode, the finalized features
 * every broker reports in ApiVersions, and UpdateFeatures (57), which the
 * active controller answers (api_features.c).
 *
 * Like Kafka 3.9's ZooKeeper-mode brokers (BrokerFeatures.createEmpty),
 * samsa supports no feature: its registration says "features":{}, every
 * upgrade is refused with Kafka's message, and only a finalized feature
 * someone else wrote into /feature can be deleted.
 *
 * Threads: features_controller_setup(), features_load() and the
 * UpdateFeatures handler run on the ZooKeeper thread; features_apply() and
 * features_fill_api_versions() on the event loop, which owns the cache.
 */
#ifndef SAMSA_FEATURE_VERSIONING_H
#define SAMSA_FEATURE_VERSIONING_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "proto_codec.h"

struct zk_session;
struct api_versions_response;

/* Finalized features as a broker knows them. */
typedef struct finalized_features {
    int64_t epoch;              /* /feature's zkVersion; -1: none known */
    int n;
    char **names;
    int16_t *levels;
} finalized_features_t;

void ff_free(finalized_features_t *f);
/* Sets name's level (adding it); its index or -1; removes it; same set. */
void ff_put(finalized_features_t *f, const char *name, int16_t level);
int ff_find(const finalized_features_t *f, const char *name);
void ff_remove(finalized_features_t *f, const char *name);
bool ff_same(const finalized_features_t *a, const finalized_features_t *b);

/* The /feature znode (Kafka's FeatureZNode). */
typedef struct feature_znode {
    int version;                /* 1, or 2 from IBP 3.3 on */
    bool enabled;               /* status 1 */
    finalized_features_t features;
} feature_znode_t;

/* 0, or -1 for anything Kafka's FeatureZNode.decode refuses. */
int feature_znode_decode(const char *json, feature_znode_t *out);
/* Kafka's JSON for z (caller frees). */
char *feature_znode_encode(const feature_znode_t *z);
int feature_znode_version(int32_t ibp);
/* IBP 2.7 and later (Kafka's isFeatureVersioningSupported). */
bool feature_versioning_supported(int32_t ibp);
/* ZooKeeper thread: reads /feature (optionally with a watch that also
 * fires on its creation) into *z: ZOK, ZNONODE, a ZooKeeper error, or
 * ZBADARGUMENTS for contents that do not decode (logged). */
int feature_znode_read(struct zk_session *zs, bool watch, feature_znode_t *z, int32_t *zk_version);
/* ZooKeeper thread: creates or overwrites /feature; the ZooKeeper code. */
int feature_znode_write(struct zk_session *zs, const feature_znode_t *z, bool create);

/* The controller, on election (KafkaController.maybeSetupFeatureVersioning):
 * /feature enabled (ibp >= 2.7) or disabled with no features (older).
 * @locality the ZooKeeper thread */
void features_controller_setup(struct zk_session *zs, int32_t ibp);

/* Reads /feature with a watch (one that also fires when it is created)
 * into *out: its features and version when enabled, epoch -1 when it is
 * absent, disabled, malformed or ibp < 2.7 (Kafka then does not watch).
 * @locality the ZooKeeper thread */
void features_load(struct zk_session *zs, int32_t ibp, finalized_features_t *out);

/* The event loop's cache takes *f (left empty).
 * @locality the event-loop thread */
void features_apply(finalized_features_t *f);

/* ApiVersions v3+: the finalized features and their epoch.
 * @locality the event-loop thread */
void features_fill_api_versions(arena_t *a, struct api_versions_response *resp);

#endif
