/*
 * authorizer.h - the broker's authorizer (Kafka's AclAuthorizer), enabled
 * by authorizer.class.name (kafka.security.authorizer.AclAuthorizer,
 * kafka.security.auth.SimpleAclAuthorizer or samsa's own "acl"): the event
 * loop's copy of every ACL (filled from ZooKeeper by acl_zk.c through
 * metadata updates), super.users and allow.everyone.if.no.acl.found, and
 * the check request handlers make with the connection's principal and
 * host.  With no authorizer everything is allowed, as in Kafka.
 *
 * Event-loop thread only, except authorizer_configure (main thread, before
 * the loop) and the metadata_update_t helpers (any thread, on an update
 * they own).
 */
#ifndef SAMSA_AUTHORIZER_H
#define SAMSA_AUTHORIZER_H

#include <stdbool.h>
#include <stddef.h>

#include "acl.h"
#include "broker.h"
#include "controller.h"

/* Reads the authorizer keys; -1 with a message in err if
 * authorizer.class.name names a class samsa does not have. */
int authorizer_configure(const broker_config_t *cfg, char *err, size_t errlen);
void authorizer_shutdown(void);
bool authorizer_enabled(void);
/* Applies an update's ACL changes. */
void authorizer_apply(const metadata_update_t *u);
/* Whether the request's principal, from its host, may do op on (type,
 * name); logs a denial as Kafka's authorizer logger does. */
bool authorize(const request_t *req, int8_t op, int8_t type, const char *name);
/* Same, without logging a denial (Kafka's logIfDenied = false, e.g. when
 * listing topics the client may not see). */
bool authorize_quiet(const request_t *req, int8_t op, int8_t type, const char *name);
/* Whether the client may do op on some resource of a type (KIP-679). */
bool authorize_by_resource_type(const request_t *req, int8_t op, int8_t type);

/* Kafka's authorizedOperations: the bits (1 << op) of supported the
 * principal may do on the resource; all of them with no authorizer. */
int32_t authorized_operations(const request_t *req, int8_t type, const char *name,
                              int32_t supported);

void acl_changes_free(acl_change_t *v, int n);

#endif
