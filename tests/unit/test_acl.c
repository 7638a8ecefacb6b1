/* test_acl.c - AclAuthorizer's decision, the ACL znode JSON and change
 * notifications, DescribeAcls/DeleteAcls filter matching, and client
 * quotas' precedence and throttle time. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "client_quotas.h"
#include "kv_list.h"
#include "test_helpers.h"

static void put(acl_store_t *s, int8_t type, int8_t pattern, const char *name,
                const char *principal, const char *host, int8_t op, int8_t perm)
{
    acl_resource_t r = { type, pattern, (char *)name };
    int n;
    const acl_entry_t *cur = acl_store_get(s, &r, &n);
    acl_entry_t *v = acl_entries_copy(cur, n);
    v = realloc(v, sizeof(*v) * (size_t)(n + 1));
    v[n] = (acl_entry_t){ strdup(principal), strdup(host), op, perm };
    acl_store_set(s, &r, v, n + 1);
    acl_entries_free(v, n + 1);
}

static bool may(const acl_store_t *s, const acl_authorizer_config_t *c, const char *who,
                const char *host, int8_t op, int8_t type, const char *name)
{
    return acl_authorize(s, c, who, host, op, type, name);
}

static void test_decisions(void)
{
    acl_store_t *s = acl_store_new();
    char *supers[] = { "User:admin" };
    acl_authorizer_config_t c = { supers, 1, false };
    /* No ACL: allow.everyone.if.no.acl.found decides; super users pass. */
    CU_ASSERT_FALSE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "t"));
    CU_ASSERT_TRUE(may(s, &c, "User:admin", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "t"));
    c.allow_if_no_acl = true;
    CU_ASSERT_TRUE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "t"));
    c.allow_if_no_acl = false;
    put(s, ACL_RES_TOPIC, ACL_PAT_LITERAL, "foo", "User:alice", "*", ACL_OP_READ, ACL_PERM_ALLOW);
    CU_ASSERT_TRUE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "foo"));
    CU_ASSERT_TRUE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_DESCRIBE, ACL_RES_TOPIC, "foo"));
    CU_ASSERT_FALSE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_WRITE, ACL_RES_TOPIC, "foo"));
    CU_ASSERT_FALSE(may(s, &c, "User:bob", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "foo"));
    /* A topic with ACLs: allow.everyone.if.no.acl.found no longer applies. */
    c.allow_if_no_acl = true;
    CU_ASSERT_FALSE(may(s, &c, "User:bob", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "foo"));
    c.allow_if_no_acl = false;
    /* A prefixed DENY wins over the literal ALLOW; it does not reach "fo". */
    put(s, ACL_RES_TOPIC, ACL_PAT_PREFIXED, "fo", "User:alice", "*", ACL_OP_ALL, ACL_PERM_DENY);
    CU_ASSERT_FALSE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "foo"));
    CU_ASSERT_FALSE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "fox"));
    CU_ASSERT_FALSE(may(s, &c, "User:alice", "1.2.3.4", ACL_OP_READ, ACL_RES_TOPIC, "f"));
    /* The literal wildcard, a wildcard principal and a host. */
    put(s, ACL_RES_GROUP, ACL_PAT_LITERAL, "*", "User:*", "10.0.0.1", ACL_OP_READ, ACL_PERM_ALLOW);
    CU_ASSERT_TRUE(may(s, &c, "User:carol", "10.0.0.1", ACL_OP_READ, ACL_RES_GROUP, "g1"));
    CU_ASSERT_FALSE(may(s, &c, "User:carol", "10.0.0.2", ACL_OP_READ, ACL_RES_GROUP, "g1"));
    /* ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL covers every operation. */
    put(s, ACL_RES_CLUSTER, ACL_PAT_LITERAL, ACL_CLUSTER_NAME, "User:ops", "*",
        ACL_OP_ALTER_CONFIGS, ACL_PERM_ALLOW);
    CU_ASSERT_TRUE(may(s, &c, "User:ops", "h", ACL_OP_DESCRIBE_CONFIGS, ACL_RES_CLUSTER,
                       ACL_CLUSTER_NAME));
    CU_ASSERT_FALSE(may(s, &c, "User:ops", "h", ACL_OP_ALTER, ACL_RES_CLUSTER, ACL_CLUSTER_NAME));
    put(s, ACL_RES_TOPIC, ACL_PAT_LITERAL, "bar", "User:ops", "*", ACL_OP_ALL, ACL_PERM_ALLOW);
    CU_ASSERT_TRUE(may(s, &c, "User:ops", "h", ACL_OP_DELETE, ACL_RES_TOPIC, "bar"));
    /* A long name: every prefix is looked at. */
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    put(s, ACL_RES_TOPIC, ACL_PAT_PREFIXED, "xxxxxxxxxx", "User:dan", "*", ACL_OP_WRITE,
        ACL_PERM_ALLOW);
    CU_ASSERT_TRUE(may(s, &c, "User:dan", "h", ACL_OP_WRITE, ACL_RES_TOPIC, longname));
    CU_ASSERT_EQUAL(acl_store_count(s), 6);
    acl_store_free(s);
}

static void test_znodes_and_notifications(void)
{
    acl_entry_t e[2] = { { "User:alice", "*", ACL_OP_READ, ACL_PERM_ALLOW },
                         { "User:bob", "10.0.0.1", ACL_OP_IDEMPOTENT_WRITE, ACL_PERM_DENY } };
    char *json = acl_entries_json(e, 2);
    CU_ASSERT_STRING_EQUAL(json, "{\"version\":1,\"acls\":[{\"principal\":\"User:alice\","
                                 "\"permissionType\":\"Allow\",\"operation\":\"Read\",\"host\":\"*\"},"
                                 "{\"principal\":\"User:bob\",\"permissionType\":\"Deny\","
                                 "\"operation\":\"IdempotentWrite\",\"host\":\"10.0.0.1\"}]}");
    acl_entry_t *back;
    int n;
    CU_ASSERT_EQUAL(acl_entries_parse(json, &back, &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_TRUE(acl_entry_equal(&back[1], &e[1]));
    acl_entries_free(back, n);
    free(json);
    acl_resource_t r = { ACL_RES_TRANSACTIONAL_ID, ACL_PAT_LITERAL, "tx" }, p;
    char path[128];
    CU_ASSERT_EQUAL(acl_znode_path(&r, path, sizeof(path)), 0);
    CU_ASSERT_STRING_EQUAL(path, "/kafka-acl/TransactionalId/tx");
    const char *root;
    char *data = acl_change_data(&r, &root);
    CU_ASSERT_STRING_EQUAL(root, "/kafka-acl-changes");
    CU_ASSERT_STRING_EQUAL(data, "TRANSACTIONAL_ID:tx");
    CU_ASSERT_EQUAL(acl_parse_change(data, false, &p), 0);
    CU_ASSERT_EQUAL(p.type, ACL_RES_TRANSACTIONAL_ID);
    CU_ASSERT_STRING_EQUAL(p.name, "tx");
    free(p.name);
    free(data);
    r = (acl_resource_t){ ACL_RES_GROUP, ACL_PAT_PREFIXED, "g-" };
    CU_ASSERT_EQUAL(acl_znode_path(&r, path, sizeof(path)), 0);
    CU_ASSERT_STRING_EQUAL(path, "/kafka-acl-extended/prefixed/Group/g-");
    data = acl_change_data(&r, &root);
    CU_ASSERT_STRING_EQUAL(root, "/kafka-acl-extended-changes");
    CU_ASSERT_EQUAL(acl_parse_change(data, true, &p), 0);
    CU_ASSERT_EQUAL(p.pattern, ACL_PAT_PREFIXED);
    free(p.name);
    free(data);
    CU_ASSERT_EQUAL(acl_parse_change("nonsense", false, &p), -1);
    free(p.name);
    CU_ASSERT_EQUAL(acl_entries_parse("[]", &back, &n), -1);
    acl_entries_free(back, n);
}

static void test_filters(void)
{
    acl_resource_t lit = { ACL_RES_TOPIC, ACL_PAT_LITERAL, "foo" },
                   star = { ACL_RES_TOPIC, ACL_PAT_LITERAL, "*" },
                   pre = { ACL_RES_TOPIC, ACL_PAT_PREFIXED, "fo" };
    acl_filter_t match = { ACL_RES_TOPIC, "foo", ACL_PAT_MATCH, NULL, NULL, ACL_OP_ANY, ACL_PERM_ANY };
    CU_ASSERT_TRUE(acl_filter_matches_resource(&match, &lit));
    CU_ASSERT_TRUE(acl_filter_matches_resource(&match, &star));
    CU_ASSERT_TRUE(acl_filter_matches_resource(&match, &pre));
    acl_filter_t any = { ACL_RES_ANY, "foo", ACL_PAT_ANY, NULL, NULL, ACL_OP_ANY, ACL_PERM_ANY };
    CU_ASSERT_TRUE(acl_filter_matches_resource(&any, &lit));
    CU_ASSERT_FALSE(acl_filter_matches_resource(&any, &star));
    CU_ASSERT_FALSE(acl_filter_matches_resource(&any, &pre));
    acl_filter_t literal = { ACL_RES_TOPIC, NULL, ACL_PAT_LITERAL, "User:a", NULL, ACL_OP_READ,
                             ACL_PERM_ANY };
    CU_ASSERT_TRUE(acl_filter_matches_resource(&literal, &star));
    CU_ASSERT_FALSE(acl_filter_matches_resource(&literal, &pre));
    acl_entry_t e = { "User:a", "*", ACL_OP_READ, ACL_PERM_DENY };
    CU_ASSERT_TRUE(acl_filter_matches_entry(&literal, &e));
    e.operation = ACL_OP_WRITE;
    CU_ASSERT_FALSE(acl_filter_matches_entry(&literal, &e));
    literal.operation = ACL_OP_UNKNOWN;
    CU_ASSERT_PTR_NOT_NULL(acl_filter_unknown_field(&literal));
}


/* ---- client quotas (client_quotas.h) ---- */

static void quota(const char *entity, const char *key, const char *value)
{
    kv_list_t cfg = { 0 };
    kv_set(&cfg, key, value);
    cq_apply(entity, &cfg);
    kv_free(&cfg);
}

static void test_quota_precedence_and_throttle(void)
{
    cq_clear();
    CU_ASSERT_EQUAL(cq_record(CQ_PRODUCE, "alice", "app", 1e9, 1000), 0);   /* no quotas */
    quota("clients/<default>", "producer_byte_rate", "1000");
    quota("users/alice", "producer_byte_rate", "100000");
    quota("users/alice/clients/app", "consumer_byte_rate", "5");   /* not a produce quota */
    CU_ASSERT_EQUAL(cq_count(), 3);
    /* alice's user quota wins over the client default: 500 KB over the
     * minimum 10 s window is 50 KB/s, within 100 KB/s. */
    CU_ASSERT_EQUAL(cq_record(CQ_PRODUCE, "alice", "app", 500000, 1000), 0);
    /* bob falls to the client-id default: 20 KB in the window is 2 KB/s
     * against 1 KB/s, so (2000 - 1000) / 1000 * 10 s = 10 s. */
    CU_ASSERT_EQUAL(cq_record(CQ_PRODUCE, "bob", "app", 20000, 1000), 10000);
    /* Another client-id of bob's has its own rate. */
    CU_ASSERT_EQUAL(cq_record(CQ_PRODUCE, "bob", "other", 5000, 1000), 0);
    /* Removing the default leaves bob unthrottled. */
    kv_list_t none = { 0 };
    cq_apply("clients/<default>", &none);
    CU_ASSERT_EQUAL(cq_record(CQ_PRODUCE, "bob", "app", 1e9, 1000), 0);
    cq_clear();
}

/* KIP-599's token bucket: 11 s worth of tokens to start; a strict quota
 * takes a charge while not below zero and then refuses, with the time to
 * refill to zero as its throttle; a permissive one always takes it. */
static void test_controller_mutation_quota(void)
{
    cq_clear();
    mutation_quota_t q = { .user = "alice", .client_id = "admin", .strict = true };
    CU_ASSERT_TRUE(cq_mutation_record(&q, 1000, 0));           /* no quota */
    CU_ASSERT_TRUE(cq_mutation_record(NULL, 1000, 0));
    quota("clients/admin", "controller_mutation_rate", "2");    /* burst 22 */
    CU_ASSERT_TRUE(cq_mutation_record(&q, 30, 1000));           /* 22 -> -8 */
    CU_ASSERT_EQUAL(q.throttle_ms, 0);
    CU_ASSERT_FALSE(cq_mutation_record(&q, 1, 2000));           /* -6: refused */
    CU_ASSERT_EQUAL(q.throttle_ms, 3000);
    CU_ASSERT_EQUAL(cq_mutation_throttle(&q, 2500), 2500);
    CU_ASSERT_TRUE(cq_mutation_record(&q, 1, 5000));            /* refilled to 0 */
    mutation_quota_t old = { .user = "alice", .client_id = "admin", .strict = false };
    CU_ASSERT_TRUE(cq_mutation_record(&old, 9, 5000));          /* -1 -> -10 */
    CU_ASSERT_EQUAL(old.throttle_ms, 5000);
    CU_ASSERT_EQUAL(cq_mutation_throttle(&old, 20000), 0);
    cq_clear();
}

static void test_fetch_and_request_quotas(void)
{
    cq_clear();
    CU_ASSERT_FALSE(cq_active());
    CU_ASSERT_EQUAL(cq_window_max(CQ_FETCH, "alice", "app"), -1);
    quota("clients/app", "consumer_byte_rate", "10240");
    quota("users/alice", "request_percentage", "5");
    CU_ASSERT_TRUE(cq_active());
    /* Kafka's getMaxValueInQuotaWindow: quota x (11 - 1) samples x 1 s. */
    CU_ASSERT_DOUBLE_EQUAL(cq_window_max(CQ_FETCH, "bob", "app"), 102400, 0.001);
    CU_ASSERT_EQUAL(cq_window_max(CQ_FETCH, "bob", "other"), -1);
    /* 204800 bytes over 10 s is twice the quota: a 10 s throttle; taken
     * back, the same fetch again is within it. */
    CU_ASSERT_EQUAL(cq_record(CQ_FETCH, "bob", "app", 204800, 5000), 10000);
    cq_unrecord(CQ_FETCH, "bob", "app", 204800, 5000);
    CU_ASSERT_EQUAL(cq_record(CQ_FETCH, "bob", "app", 100000, 5000), 0);
    /* request_percentage: 100 (one thread-second) in 10 s is 10% against
     * 5%: (10 - 5) / 5 x 10 s, bounded by one 1 s window as Kafka's
     * ClientRequestQuotaManager bounds it. */
    CU_ASSERT_EQUAL(cq_record(CQ_REQUEST, "alice", "x", 100, 5000), 1000);
    CU_ASSERT_EQUAL(cq_record(CQ_REQUEST, "bob", "x", 1e6, 5000), 0);   /* no quota */
    /* A user quota is shared by the user's client-ids. */
    CU_ASSERT_EQUAL(cq_record(CQ_REQUEST, "alice", "y", 1, 5000), 1000);
    cq_clear();
}

/* AclAuthorizer.authorizeByResourceType (KIP-679), as Kafka's
 * AclAuthorizerTest exercises it. */
static void test_by_resource_type(void)
{
    acl_store_t *s = acl_store_new();
    char *supers[] = { "User:admin" };
    acl_authorizer_config_t c = { supers, 1, false };
#define MAY_WRITE_SOME(who) \
    acl_authorize_by_resource_type(s, &c, who, "1.2.3.4", ACL_OP_WRITE, ACL_RES_TOPIC)
    CU_ASSERT_FALSE(MAY_WRITE_SOME("User:alice"));
    CU_ASSERT_TRUE(MAY_WRITE_SOME("User:admin"));
    c.allow_if_no_acl = true;
    CU_ASSERT_TRUE(MAY_WRITE_SOME("User:alice"));
    c.allow_if_no_acl = false;
    put(s, ACL_RES_TOPIC, ACL_PAT_LITERAL, "t1", "User:alice", "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
    CU_ASSERT_TRUE(MAY_WRITE_SOME("User:alice"));
    CU_ASSERT_FALSE(MAY_WRITE_SOME("User:bob"));
    put(s, ACL_RES_TOPIC, ACL_PAT_LITERAL, "t1", "User:alice", "*", ACL_OP_ALL, ACL_PERM_DENY);
    CU_ASSERT_FALSE(MAY_WRITE_SOME("User:alice"));
    /* A prefixed ALLOW covered by a shorter prefixed DENY; then a longer one. */
    put(s, ACL_RES_TOPIC, ACL_PAT_PREFIXED, "fo", "User:alice", "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
    put(s, ACL_RES_TOPIC, ACL_PAT_PREFIXED, "f", "User:alice", "*", ACL_OP_WRITE, ACL_PERM_DENY);
    CU_ASSERT_FALSE(MAY_WRITE_SOME("User:alice"));
    put(s, ACL_RES_TOPIC, ACL_PAT_PREFIXED, "bar", "User:*", "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
    put(s, ACL_RES_TOPIC, ACL_PAT_PREFIXED, "barx", "User:alice", "*", ACL_OP_WRITE, ACL_PERM_DENY);
    CU_ASSERT_TRUE(MAY_WRITE_SOME("User:alice"));
    /* Another host's ACLs and other operations do not count. */
    CU_ASSERT_FALSE(acl_authorize_by_resource_type(s, &c, "User:alice", "1.2.3.4", ACL_OP_READ,
                                                   ACL_RES_TOPIC));
    /* A literal wildcard DENY refuses, whatever else allows. */
    put(s, ACL_RES_TOPIC, ACL_PAT_LITERAL, "*", "User:alice", "*", ACL_OP_WRITE, ACL_PERM_DENY);
    c.allow_if_no_acl = true;
    CU_ASSERT_FALSE(MAY_WRITE_SOME("User:alice"));
    CU_ASSERT_TRUE(MAY_WRITE_SOME("User:bob"));
#undef MAY_WRITE_SOME
    acl_store_free(s);
}

void register_acl_tests(void)
{
    CU_pSuite s = CU_add_suite("acl", NULL, NULL);
    CU_add_test(s, "AclAuthorizer decisions", test_decisions);
    CU_add_test(s, "znodes and change notifications", test_znodes_and_notifications);
    CU_add_test(s, "DescribeAcls/DeleteAcls filters", test_filters);
    CU_add_test(s, "authorization by resource type (KIP-679)", test_by_resource_type);
    CU_add_test(s, "client quota precedence and throttle time", test_quota_precedence_and_throttle);
    CU_add_test(s, "controller mutation token bucket", test_controller_mutation_quota);
    CU_add_test(s, "consumer byte rate and request percentage", test_fetch_and_request_quotas);
}
