/*
 * scram_store.c - owns the broker's SCRAM credential cache (scram_store.h):
 * a hash of user name to its SHA-256 and SHA-512 credentials, filled from
 * /config/users.  Event-loop thread only.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "logging.h"
#include "scram_store.h"
#include "util.h"

typedef struct scram_user {
    char *name;
    scram_credential_t cred[3];     /* by scram_mech_t */
    bool has[3];
    UT_hash_handle hh;
} scram_user_t;

/* Event-loop thread only. */
static scram_user_t *users;

static void user_free(scram_user_t *u)
{
    OPENSSL_cleanse(u->cred, sizeof(u->cred));
    free(u->name);
    free(u);
}

static void forget(const char *name)
{
    scram_user_t *u;
    HASH_FIND_STR(users, name, u);
    if (u) {
        HASH_DEL(users, u);
        user_free(u);
    }
}

void scram_store_apply(const char *sanitized_user, const kv_list_t *config)
{
    char *name = kafka_desanitize(sanitized_user);
    if (!name) {
        log_warn("config", "Ignoring /config/users/%s: not a sanitized user name", sanitized_user);
        return;
    }
    scram_user_t *u = xcalloc(1, sizeof(*u));
    int found = 0;
    for (scram_mech_t m = SCRAM_SHA_256; m <= SCRAM_SHA_512; m++) {
        const char *text = kv_get(config, scram_mech_name(m));
        if (!text)
            continue;
        if (scram_credential_parse(m, text, &u->cred[m]) < 0) {
            log_warn("config", "Ignoring the malformed %s credential of user %s",
                     scram_mech_name(m), name);
            continue;
        }
        u->has[m] = true;
        found++;
    }
    forget(name);
    if (found == 0) {
        free(name);
        user_free(u);
        return;
    }
    u->name = name;
    HASH_ADD_KEYPTR(hh, users, u->name, strlen(u->name), u);
}

void scram_store_clear(void)
{
    scram_user_t *u, *tmp;
    HASH_ITER(hh, users, u, tmp) {
        HASH_DEL(users, u);
        user_free(u);
    }
}

const scram_credential_t *scram_store_find(const char *user, scram_mech_t m)
{
    scram_user_t *u;
    HASH_FIND_STR(users, user, u);
    return u && m >= SCRAM_SHA_256 && m <= SCRAM_SHA_512 && u->has[m] ? &u->cred[m] : NULL;
}

int scram_store_count(void)
{
    return (int)HASH_COUNT(users);
}
