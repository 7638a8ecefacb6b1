/*
 * zk_election.c - owns the broker's registration znode /brokers/ids/<id>
 * and the controller election (/controller plus the /controller_epoch
 * multi), in Kafka's KafkaZkClient way.
 *
 * Threads: the ZooKeeper thread only; the zk_election_t passed in is that
 * thread's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logging.h"
#include "util.h"
#include "zk_election.h"
#include "zk_layout.h"

#define RETRY_PAUSE_MS 100
#define RETRY_LIMIT 600             /* a minute of connection losses */

/* A connection loss while the session lives: wait and ask again, as
 * Kafka's client does until it is connected.  False when rc is final.
 * @locality the ZooKeeper thread */
static bool retry_after(zk_session_t *zs, int rc, int *attempts)
{
    if ((rc != ZCONNECTIONLOSS && rc != ZOPERATIONTIMEOUT) || zk_is_expired(zs) ||
        ++*attempts > RETRY_LIMIT)
        return false;
    struct timespec ts = { 0, RETRY_PAUSE_MS * 1000000L };
    nanosleep(&ts, NULL);
    return true;
}

/* Ephemeral /brokers/ids/<id>: create(null) + setData(json, version 0) in one
 * multi, as Kafka does, so the node's czxid is the broker epoch. */
static int try_register(zk_session_t *zs, const char *path, const char *data)
{
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    char created[128];
    struct Stat st;
    zoo_create_op_init(&ops[0], path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, created,
                       sizeof(created));
    zoo_set_op_init(&ops[1], path, data, (int)strlen(data), 0, &st);
    return zoo_multi(zk_handle(zs), 2, ops, results);
}

/*
 * A node left by this broker's previous process (kill -9) lives until its
 * session times out.  Kafka refuses to start then; samsa waits up to one
 * session timeout for it to go (here, on the ZooKeeper thread, while the
 * loop serves), and refuses only if the owner stays alive.
 */
int zke_register_broker(zk_session_t *zs, const broker_config_t *cfg)
{
    char path[64];
    snprintf(path, sizeof(path), "/brokers/ids/%d", cfg->broker_id);
    char *data = zkl_broker_registration(cfg, now_ms());
    int64_t deadline = mono_ms() + cfg->zk_session_timeout_ms + 2000;
    bool waited = false;
    int rc;
    struct Stat cur = { 0 };
    while ((rc = try_register(zs, path, data)) == ZNODEEXISTS) {
        if (zoo_exists(zk_handle(zs), path, 0, &cur) == ZOK &&
            cur.ephemeralOwner == zk_session_id(zs)) {
            rc = ZOK;
            break;
        }
        if (mono_ms() > deadline)
            break;
        if (!waited)
            log_info("controller", "%s exists from session 0x%llx; waiting up to %d ms for it "
                                   "to expire", path, (unsigned long long)cur.ephemeralOwner,
                     cfg->zk_session_timeout_ms);
        waited = true;
        struct timespec ts = { 0, 200 * 1000000L };
        nanosleep(&ts, NULL);
    }
    free(data);
    if (rc == ZNODEEXISTS) {
        log_error("controller", "Error while creating ephemeral at %s, node already exists and "
                                "owner '0x%llx' does not match current session '0x%llx': broker.id "
                                "%d is in use by a live broker",
                  path, (unsigned long long)cur.ephemeralOwner,
                  (unsigned long long)zk_session_id(zs), cfg->broker_id);
        return -1;
    }
    if (rc != ZOK) {
        log_error("controller", "Cannot register %s: %s", path, zerror(rc));
        return -1;
    }
    log_info("controller", "Registered broker %d at path %s", cfg->broker_id, path);
    return 0;
}

/* Reads the controller epoch (creating it as 0) and its znode version. */
static int read_controller_epoch(zk_session_t *zs, int32_t *epoch, int32_t *version)
{
    int rc, attempts = 0;
    struct Stat st;
    char *s;
    while (!(s = zk_get_string(zs, "/controller_epoch", false, &st, &rc))) {
        if (rc == ZNONODE) {
            rc = zoo_create(zk_handle(zs), "/controller_epoch", "0", 1, &ZOO_OPEN_ACL_UNSAFE, 0,
                            NULL, 0);
            if (rc == ZOK || rc == ZNODEEXISTS)
                continue;
        }
        if (!retry_after(zs, rc, &attempts)) {
            log_error("controller", "Cannot read /controller_epoch: %s", zerror(rc));
            return -1;
        }
    }
    *epoch = atoi(s);
    *version = st.version;
    free(s);
    return 0;
}

/* /controller's broker id and owning session, with a watch either way (an
 * exists watch when absent): 1 read, 0 absent, -1 unreadable. */
static int read_controller(zk_session_t *zs, int32_t *id, int64_t *owner)
{
    int attempts = 0;
    for (;;) {
        struct Stat st;
        int rc = zoo_exists(zk_handle(zs), "/controller", 1, &st);
        if (rc == ZNONODE)
            return 0;
        if (rc == ZOK) {
            char *s = zk_get_string(zs, "/controller", true, &st, &rc);
            if (s) {
                *id = zkl_parse_controller(s);
                *owner = st.ephemeralOwner;
                free(s);
                return 1;
            }
            if (rc == ZNONODE)
                continue;           /* deleted between the two reads */
        }
        if (!retry_after(zs, rc, &attempts)) {
            log_error("controller", "Cannot read /controller: %s", zerror(rc));
            return -1;
        }
    }
}

/* The /controller create and the /controller_epoch bump guarded by the
 * version read, in one multi.  Returns the multi's code. */
static int try_elect(zk_session_t *zs, int32_t me, zk_election_t *e)
{
    int32_t epoch, version;
    if (read_controller_epoch(zs, &epoch, &version) < 0)
        return ZSYSTEMERROR;
    char ep[16];
    snprintf(ep, sizeof(ep), "%d", epoch + 1);
    char *data = zkl_controller(me, now_ms());
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    char created[64];
    struct Stat st;
    zoo_create_op_init(&ops[0], "/controller", data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_EPHEMERAL, created, sizeof(created));
    zoo_set_op_init(&ops[1], "/controller_epoch", ep, (int)strlen(ep), version, &st);
    int rc = zoo_multi(zk_handle(zs), 2, ops, res);
    free(data);
    if (rc == ZOK) {
        e->is_controller = true;
        e->controller_id = me;
        e->epoch = epoch + 1;
        e->epoch_zkversion = st.version;
        log_info("controller", "Broker %d elected as controller (epoch %d)", me, epoch + 1);
    }
    return rc;
}

/* /controller is this session's but e did not know (the creating multi's
 * answer was lost): the epoch now in /controller_epoch is the one it
 * wrote, as Kafka's checkControllerAndEpoch concludes. */
static bool adopt_own_election(zk_session_t *zs, int32_t me, zk_election_t *e)
{
    int32_t epoch, version;
    if (read_controller_epoch(zs, &epoch, &version) < 0)
        return false;
    e->epoch = epoch;
    e->epoch_zkversion = version;
    log_info("controller", "Broker %d elected as controller (epoch %d; the answer to the "
                           "election was lost to a connection loss)", me, epoch);
    return true;
}

void zke_elect(zk_session_t *zs, int32_t me, zk_election_t *e)
{
    int32_t id = -1;
    int64_t owner = 0;
    int found = read_controller(zs, &id, &owner);
    int rc = ZOK;
    if (found == 0) {
        rc = try_elect(zs, me, e);
        /* Re-arm the watch and learn who won. */
        found = read_controller(zs, &id, &owner);
    }
    if (found < 0)
        return;
    bool mine = found == 1 && id == me && owner == zk_session_id(zs);
    if (mine && !e->is_controller)
        mine = adopt_own_election(zs, me, e);
    else if (!mine && rc != ZOK)
        log_info("controller", "Broker %d lost the controller election: %s", me, zerror(rc));
    e->is_controller = mine;
    e->controller_id = found == 1 ? id : -1;
}
