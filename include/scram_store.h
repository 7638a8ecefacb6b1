/*
 * scram_store.h - the SCRAM credentials this broker checks logins
 * against: every user's SCRAM-SHA-256/512 entries of /config/users/<user>,
 * as Kafka's CredentialCache holds them.  The ZooKeeper thread reads the
 * znodes (all of them at start-up, one per /config/changes notification
 * of a users/<user> entity) and the event loop applies them here.
 *
 * Event-loop thread only.
 */
#ifndef SAMSA_SCRAM_STORE_H
#define SAMSA_SCRAM_STORE_H

#include <stdbool.h>

#include "kv_list.h"
#include "scram.h"

/* Replaces what the store holds for a user with the SCRAM keys of its
 * config (the whole /config/users/<sanitized> znode); a user left without
 * credentials is forgotten.  Malformed credentials are logged and
 * skipped. */
void scram_store_apply(const char *sanitized_user, const kv_list_t *config);
/* Forgets every user (before a full reload). */
void scram_store_clear(void);
/* The user's credential for m, or NULL. */
const scram_credential_t *scram_store_find(const char *user, scram_mech_t m);
int scram_store_count(void);

#endif
