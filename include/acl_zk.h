/*
 * acl_zk.h - ACLs in ZooKeeper, on the ZooKeeper thread: /kafka-acl/<Type>/
 * <name> (LITERAL) and /kafka-acl-extended/prefixed/<Type>/<name>
 * (PREFIXED), change notifications under /kafka-acl-changes ("TOPIC:name")
 * and /kafka-acl-extended-changes (JSON), as Kafka's AclAuthorizer and
 * kafka-acls --authorizer-properties zookeeper.connect=... write them.
 * The thread keeps its own copy (acl_zk_store) for the admin APIs; every
 * change also goes to the event loop in a metadata_update_t.
 * ZooKeeper thread only; used only when an authorizer is configured.
 */
#ifndef SAMSA_ACL_ZK_H
#define SAMSA_ACL_ZK_H

#include "acl.h"
#include "controller.h"
#include "zk_session.h"

/* Creates the ACL roots if absent, watches both change roots and reads
 * every resource (u gets all of them, acls_full). */
void acl_zk_load(zk_session_t *zs, metadata_update_t *u);
/* A change root's children changed: applies the new notifications. */
void acl_zk_process(zk_session_t *zs, metadata_update_t *u);
/* The thread's copy of every resource's ACLs. */
const acl_store_t *acl_zk_store(void);

/* Computes a resource's new entries from its current ones; false if
 * nothing changes (*out may then be left NULL). */
typedef bool (*acl_mutate_fn)(const acl_entry_t *cur, int n, acl_entry_t **out, int *n_out,
                              void *arg);
/* Reads r, applies mutate and writes the result with a version check
 * (retried when another writer got there first), then its notification;
 * u gets the new state.  ZOK or a ZooKeeper error. */
int acl_zk_update(zk_session_t *zs, const acl_resource_t *r, acl_mutate_fn mutate, void *arg,
                  metadata_update_t *u);

#endif
