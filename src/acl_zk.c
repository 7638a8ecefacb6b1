/*
 * acl_zk.c - owns the ACLs in ZooKeeper as Kafka's AclAuthorizer keeps
 * them (acl_zk.h): the ZooKeeper thread's copy of every resource's ACLs,
 * read in full at start-up and after a session expiry, kept current from
 * the change notifications under /kafka-acl-changes and
 * /kafka-acl-extended-changes, and written for CreateAcls / DeleteAcls
 * with a version check (retried on a concurrent change) and a
 * notification.  What changed goes to the event loop's authorizer in a
 * metadata_update_t.  ZooKeeper thread only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_zk.h"
#include "logging.h"
#include "util.h"
#include "zk_layout.h"

#define CHANGE_PREFIX "acl_changes_"
#define CHANGE_EXPIRATION_MS (15 * 60 * 1000)
#define WRITE_ATTEMPTS 10

static const char *const CHANGE_ROOTS[2] = { "/kafka-acl-changes", "/kafka-acl-extended-changes" };
static const int8_t TYPES[] = { ACL_RES_TOPIC, ACL_RES_GROUP, ACL_RES_CLUSTER,
                                ACL_RES_TRANSACTIONAL_ID, ACL_RES_DELEGATION_TOKEN, ACL_RES_USER };

/* ZooKeeper thread only. */
static struct {
    acl_store_t *store;
    long long last_applied[2];  /* per change root */
} az = { NULL, { -1, -1 } };

const acl_store_t *acl_zk_store(void)
{
    if (!az.store)
        az.store = acl_store_new();
    return az.store;
}

static void note_change(metadata_update_t *u, const acl_resource_t *r)
{
    int n;
    const acl_entry_t *e = acl_store_get(acl_zk_store(), r, &n);
    metadata_update_add_acls(u, r, e, n);
}

/* Reads one resource's znode into the store; ZOK or ZNONODE (then gone). */
static int read_resource(zk_session_t *zs, const acl_resource_t *r, int *version)
{
    char path[ZK_PATH_MAX];
    if (acl_znode_path(r, path, sizeof(path)) < 0)
        return ZBADARGUMENTS;
    struct Stat st;
    int rc;
    char *data = zk_get_string(zs, path, false, &st, &rc);
    acl_entry_t *e = NULL;
    int n = 0;
    if (data && acl_entries_parse(data, &e, &n) < 0)
        log_warn("acl", "Ignoring malformed ACL entries in %s: %s", path, data);
    free(data);
    if (rc == ZOK || rc == ZNONODE)
        acl_store_set(az.store, r, e, n);
    *version = rc == ZOK ? st.version : -1;
    acl_entries_free(e, n);
    return rc;
}

/* Every resource of one type and pattern. */
static void load_kind(zk_session_t *zs, int8_t type, int8_t pattern)
{
    char root[128];
    const char *tn = acl_resource_type_zk_name(type);
    snprintf(root, sizeof(root), pattern == ACL_PAT_LITERAL ? "/kafka-acl/%s"
                                                             : "/kafka-acl-extended/prefixed/%s", tn);
    struct String_vector kids = { 0 };
    if (zk_children(zs, root, false, &kids) != ZOK)
        return;
    for (int i = 0; i < kids.count; i++) {
        acl_resource_t r = { type, pattern, kids.data[i] };
        int version;
        read_resource(zs, &r, &version);
    }
    deallocate_String_vector(&kids);
}

/* Lists a change root (watched); applies notifications after the last one
 * applied (all of them count as applied when apply is false). */
static void scan_changes(zk_session_t *zs, int which, bool apply, metadata_update_t *u)
{
    struct String_vector kids = { 0 };
    int rc = zk_children(zs, CHANGE_ROOTS[which], true, &kids);
    if (rc != ZOK) {
        log_warn("acl", "Cannot list %s: %s", CHANGE_ROOTS[which], zerror(rc));
        return;
    }
    long long newest = az.last_applied[which];
    int64_t now = now_ms();
    for (int i = 0; i < kids.count; i++) {
        long long seq = zkl_sequence_number(kids.data[i], CHANGE_PREFIX);
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", CHANGE_ROOTS[which], kids.data[i]);
        struct Stat st;
        int grc;
        char *data = zk_get_string(zs, path, false, &st, &grc);
        acl_resource_t r;
        if (apply && data && seq > az.last_applied[which] &&
            acl_parse_change(data, which == 1, &r) == 0) {
            int version, rrc = read_resource(zs, &r, &version);
            if (rrc == ZOK || rrc == ZNONODE)
                note_change(u, &r);
            free(r.name);
        }
        if (data && now - st.ctime > CHANGE_EXPIRATION_MS)
            zoo_delete(zk_handle(zs), path, -1);
        free(data);
        newest = seq > newest ? seq : newest;
    }
    az.last_applied[which] = newest;
    deallocate_String_vector(&kids);
}

void acl_zk_load(zk_session_t *zs, metadata_update_t *u)
{
    static const char *const roots[] = { "/kafka-acl", "/kafka-acl-extended/prefixed",
                                         "/kafka-acl-changes", "/kafka-acl-extended-changes" };
    for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
        zk_create_persistent_path(zs, roots[i]);
    for (size_t t = 0; t < ARRAY_SIZE(TYPES); t++) {
        char path[128];
        snprintf(path, sizeof(path), "/kafka-acl/%s", acl_resource_type_zk_name(TYPES[t]));
        zk_create_persistent_path(zs, path);
        snprintf(path, sizeof(path), "/kafka-acl-extended/prefixed/%s",
                 acl_resource_type_zk_name(TYPES[t]));
        zk_create_persistent_path(zs, path);
    }
    acl_zk_store();
    acl_store_clear(az.store);
    /* The watches first, so a change made while reading is not lost. */
    scan_changes(zs, 0, false, u);
    scan_changes(zs, 1, false, u);
    for (size_t t = 0; t < ARRAY_SIZE(TYPES); t++) {
        load_kind(zs, TYPES[t], ACL_PAT_LITERAL);
        load_kind(zs, TYPES[t], ACL_PAT_PREFIXED);
    }
    u->acls_full = true;
    metadata_update_add_all_acls(u, az.store);
    log_info("acl", "Loaded the ACLs of %d resource(s) from ZooKeeper", acl_store_count(az.store));
}

void acl_zk_process(zk_session_t *zs, metadata_update_t *u)
{
    scan_changes(zs, 0, true, u);
    scan_changes(zs, 1, true, u);
}

/* ---- writes ---- */

/* Writes entries (n == 0: deletes the znode) at the version read. */
static int write_resource(zk_session_t *zs, const acl_resource_t *r, const acl_entry_t *e, int n,
                          int version)
{
    char path[ZK_PATH_MAX];
    if (acl_znode_path(r, path, sizeof(path)) < 0)
        return ZBADARGUMENTS;
    zhandle_t *zh = zk_handle(zs);
    if (n == 0)
        return version < 0 ? ZOK : zoo_delete(zh, path, version);
    char *json = acl_entries_json(e, n);
    int rc = version < 0 ? zoo_create(zh, path, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0,
                                      NULL, 0)
                         : zoo_set(zh, path, json, (int)strlen(json), version);
    free(json);
    return rc;
}

static void notify(zk_session_t *zs, const acl_resource_t *r)
{
    const char *root;
    char *data = acl_change_data(r, &root);
    char path[128];
    snprintf(path, sizeof(path), "%s/" CHANGE_PREFIX, root);
    int rc = data ? zoo_create(zk_handle(zs), path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE,
                               ZOO_SEQUENCE, NULL, 0)
                  : ZSYSTEMERROR;
    if (rc != ZOK)
        log_warn("acl", "Cannot write the ACL change notification for %s: %s", r->name,
                 zerror(rc));
    free(data);
}

int acl_zk_update(zk_session_t *zs, const acl_resource_t *r, acl_mutate_fn mutate, void *arg,
                  metadata_update_t *u)
{
    acl_zk_store();
    for (int attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        int version, n;
        int rc = read_resource(zs, r, &version);
        if (rc != ZOK && rc != ZNONODE)
            return rc;
        const acl_entry_t *cur = acl_store_get(az.store, r, &n);
        acl_entry_t *next = NULL;
        int n_next = 0;
        if (!mutate(cur, n, &next, &n_next, arg)) {
            acl_entries_free(next, n_next);
            return ZOK;     /* nothing to change */
        }
        rc = write_resource(zs, r, next, n_next, version);
        if (rc == ZOK) {
            acl_store_set(az.store, r, next, n_next);
            acl_entries_free(next, n_next);
            notify(zs, r);
            note_change(u, r);
            return ZOK;
        }
        acl_entries_free(next, n_next);
        if (rc != ZBADVERSION && rc != ZNODEEXISTS && rc != ZNONODE)
            return rc;
    }
    return ZBADVERSION;
}
