/*
 * acl.h - Kafka's ACL model and its AclAuthorizer rules: resource patterns
 * (type, name, LITERAL or PREFIXED), entries (principal, host, operation,
 * ALLOW/DENY), the protocol's codes for each, the names ZooKeeper keeps
 * them under (/kafka-acl/Topic/<name>, /kafka-acl-extended/prefixed/...;
 * {"version":1,"acls":[{"principal":..,"permissionType":"Allow",
 * "operation":"Read","host":"*"}]}), the filters of DescribeAcls and
 * DeleteAcls, and the decision itself: super users pass, a matching DENY
 * wins, an ALLOW of the operation (or one implying DESCRIBE /
 * DESCRIBE_CONFIGS) grants, and a resource without any ACL follows
 * allow.everyone.if.no.acl.found.
 *
 * An acl_store_t holds resources and their entries; each store has one
 * owning thread (the ZooKeeper thread's copy answers the admin APIs, the
 * event loop's authorizes requests).  The functions are otherwise pure.
 */
#ifndef SAMSA_ACL_H
#define SAMSA_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The protocol's codes (org.apache.kafka.common.acl / resource). */
enum acl_resource_type {
    ACL_RES_UNKNOWN = 0, ACL_RES_ANY = 1, ACL_RES_TOPIC = 2, ACL_RES_GROUP = 3,
    ACL_RES_CLUSTER = 4, ACL_RES_TRANSACTIONAL_ID = 5, ACL_RES_DELEGATION_TOKEN = 6,
    ACL_RES_USER = 7,
};
enum acl_pattern_type {
    ACL_PAT_UNKNOWN = 0, ACL_PAT_ANY = 1, ACL_PAT_MATCH = 2, ACL_PAT_LITERAL = 3,
    ACL_PAT_PREFIXED = 4,
};
enum acl_operation {
    ACL_OP_UNKNOWN = 0, ACL_OP_ANY = 1, ACL_OP_ALL = 2, ACL_OP_READ = 3, ACL_OP_WRITE = 4,
    ACL_OP_CREATE = 5, ACL_OP_DELETE = 6, ACL_OP_ALTER = 7, ACL_OP_DESCRIBE = 8,
    ACL_OP_CLUSTER_ACTION = 9, ACL_OP_DESCRIBE_CONFIGS = 10, ACL_OP_ALTER_CONFIGS = 11,
    ACL_OP_IDEMPOTENT_WRITE = 12, ACL_OP_CREATE_TOKENS = 13, ACL_OP_DESCRIBE_TOKENS = 14,
};
enum acl_permission { ACL_PERM_UNKNOWN = 0, ACL_PERM_ANY = 1, ACL_PERM_DENY = 2, ACL_PERM_ALLOW = 3 };

#define ACL_WILDCARD "*"
#define ACL_WILDCARD_PRINCIPAL "User:*"
#define ACL_CLUSTER_NAME "kafka-cluster"

typedef struct acl_entry {
    char *principal;            /* "User:alice" */
    char *host;                 /* "*" or an address */
    int8_t operation;
    int8_t permission;
} acl_entry_t;

typedef struct acl_resource {
    int8_t type;
    int8_t pattern;             /* LITERAL or PREFIXED */
    char *name;
} acl_resource_t;

/* ---- names ---- */

/* ZooKeeper's names: "Topic", "Read", "Allow"; NULL / UNKNOWN if none. */
const char *acl_resource_type_zk_name(int8_t type);
int8_t acl_resource_type_from_name(const char *name);    /* any case, TOPIC or Topic */
const char *acl_operation_zk_name(int8_t op);
int8_t acl_operation_from_name(const char *name);
const char *acl_permission_zk_name(int8_t perm);
int8_t acl_permission_from_name(const char *name);
/* Kafka's enum names (change notifications, toString): "TOPIC", "READ",
 * "ALLOW", "PREFIXED". */
const char *acl_resource_type_enum_name(int8_t type);
const char *acl_operation_enum_name(int8_t op);
const char *acl_permission_enum_name(int8_t perm);
const char *acl_pattern_enum_name(int8_t pattern);
int8_t acl_pattern_from_name(const char *name);     /* any case; UNKNOWN if none */

/* /kafka-acl/<Type>/<name> or /kafka-acl-extended/prefixed/<Type>/<name>
 * into out; -1 if it does not fit or the pattern is not storable. */
int acl_znode_path(const acl_resource_t *r, char *out, size_t cap);
/* The change notification's data for r (malloc'd): "Topic:name" for
 * LITERAL (under /kafka-acl-changes), Kafka's JSON event otherwise (under
 * /kafka-acl-extended-changes). */
char *acl_change_data(const acl_resource_t *r, const char **change_root);
/* Parses a notification's data back into r (name malloc'd); -1 if bad. */
int acl_parse_change(const char *data, bool extended, acl_resource_t *r);

/* A resource znode's JSON (malloc'd) and back (entries malloc'd; -1 if it
 * is not Kafka's format). */
char *acl_entries_json(const acl_entry_t *e, int n);
int acl_entries_parse(const char *json, acl_entry_t **out, int *n);
void acl_entries_free(acl_entry_t *e, int n);
acl_entry_t *acl_entries_copy(const acl_entry_t *e, int n);
bool acl_entry_equal(const acl_entry_t *a, const acl_entry_t *b);

/* ---- filters (DescribeAcls, DeleteAcls) ---- */

typedef struct acl_filter {
    int8_t type;                /* ANY or a type */
    const char *name;           /* NULL: any */
    int8_t pattern;             /* ANY, MATCH, LITERAL, PREFIXED */
    const char *principal;      /* NULL: any */
    const char *host;           /* NULL: any */
    int8_t operation;           /* ANY or an operation */
    int8_t permission;          /* ANY or one */
} acl_filter_t;

/* Kafka's ResourcePatternFilter.matches / AccessControlEntryFilter.matches. */
bool acl_filter_matches_resource(const acl_filter_t *f, const acl_resource_t *r);
bool acl_filter_matches_entry(const acl_filter_t *f, const acl_entry_t *e);
/* Kafka's findIndefiniteField: a message if the filter has an UNKNOWN
 * field (then it matches nothing), else NULL. */
const char *acl_filter_unknown_field(const acl_filter_t *f);

/* ---- a store ---- */

typedef struct acl_store acl_store_t;

acl_store_t *acl_store_new(void);
void acl_store_free(acl_store_t *s);
void acl_store_clear(acl_store_t *s);
/* Replaces a resource's entries (copies them); n == 0 removes it. */
void acl_store_set(acl_store_t *s, const acl_resource_t *r, const acl_entry_t *e, int n);
/* A resource's entries (NULL if none). */
const acl_entry_t *acl_store_get(const acl_store_t *s, const acl_resource_t *r, int *n);
/* Calls fn for every resource, in a stable order (type, pattern, name). */
void acl_store_each(const acl_store_t *s,
                    void (*fn)(const acl_resource_t *r, const acl_entry_t *e, int n, void *arg),
                    void *arg);
int acl_store_count(const acl_store_t *s);

/* ---- the decision ---- */

typedef struct acl_authorizer_config {
    char **super_users;         /* "User:admin" */
    int n_super_users;
    bool allow_if_no_acl;       /* allow.everyone.if.no.acl.found */
} acl_authorizer_config_t;

/* Whether principal from host may do op on (type, name). */
bool acl_authorize(const acl_store_t *s, const acl_authorizer_config_t *cfg,
                   const char *principal, const char *host, int8_t op, int8_t type,
                   const char *name);
/* Whether principal from host may do op on some resource of a type
 * (KIP-679, AclAuthorizer.authorizeByResourceType: an ALLOW not covered by
 * a DENY; a wildcard literal DENY refuses; allow.everyone.if.no.acl.found
 * alone allows). */
bool acl_authorize_by_resource_type(const acl_store_t *s, const acl_authorizer_config_t *cfg,
                                    const char *principal, const char *host, int8_t op,
                                    int8_t type);

#endif
