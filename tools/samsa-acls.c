/*
 * samsa-acls - kafka-acls.sh (Kafka 3.9's AclCommand) for samsa and Kafka
 * brokers: --add, --remove and --list of ACLs with CreateAcls, DeleteAcls
 * and DescribeAcls, taking Kafka's flags (--topic, --group, --cluster,
 * --transactional-id, --delegation-token, --user-principal,
 * --resource-pattern-type, --allow-principal/--deny-principal,
 * --allow-host/--deny-host, --operation, the --producer/--consumer
 * conveniences with --idempotent, --force) and printing Kafka's lines:
 *   Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t,
 *   patternType=LITERAL)`: <newline> <tab>(principal=User:a, host=*,
 *   operation=READ, permissionType=ALLOW) ...
 * Partial: PLAINTEXT only (--command-config is accepted and not applied);
 * --authorizer-properties (ZooKeeper) and --list-principals are not
 * supported.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "kafka_errors.h"
#include "proto_messages.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-acls"
#define MAX_ITEMS 64

enum { OPT_BOOTSTRAP = 1000, OPT_ADD, OPT_REMOVE, OPT_LIST, OPT_TOPIC, OPT_GROUP, OPT_CLUSTER,
       OPT_TXN, OPT_TOKEN, OPT_USER, OPT_PATTERN, OPT_ALLOW_P, OPT_DENY_P, OPT_ALLOW_H,
       OPT_DENY_H, OPT_OPERATION, OPT_PRODUCER, OPT_CONSUMER, OPT_IDEMPOTENT, OPT_FORCE,
       OPT_COMMAND_CONFIG, OPT_HELP };

typedef struct list {
    const char *v[MAX_ITEMS];
    int n;
} list_t;

typedef struct options {
    const char *bootstrap;
    int action;                 /* OPT_ADD, OPT_REMOVE, OPT_LIST */
    acl_resource_t res[MAX_ITEMS];
    int n_res;
    int8_t pattern;
    list_t allow_p, deny_p, allow_h, deny_h;
    int8_t ops[MAX_ITEMS];
    int n_ops;
    bool producer, consumer, idempotent, force;
} options_t;

static void push(list_t *l, const char *s)
{
    if (l->n == MAX_ITEMS)
        tool_die(PROG, "Too many values (at most %d)", MAX_ITEMS);
    l->v[l->n++] = s;
}

static acl_resource_t *add_resource(options_t *o, int8_t type, const char *name)
{
    if (o->n_res == MAX_ITEMS)
        tool_die(PROG, "Too many resources (at most %d)", MAX_ITEMS);
    o->res[o->n_res] = (acl_resource_t){ type, 0, (char *)name };
    return &o->res[o->n_res++];
}

/* ---- Kafka's toString forms ---- */

static void print_pattern(const acl_resource_t *r)
{
    printf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)",
           acl_resource_type_enum_name(r->type), r->name, acl_pattern_enum_name(r->pattern));
}

/* Kafka's s"...: $Newline ${acls.map("\t" + _).mkString(Newline)} $Newline"
 * and println's newline. */
static void print_entries(const acl_entry_t *e, int n)
{
    printf(" ");
    for (int i = 0; i < n; i++)
        printf("%s\t(principal=%s, host=%s, operation=%s, permissionType=%s)", i ? "\n" : "",
               e[i].principal, e[i].host, acl_operation_enum_name(e[i].operation),
               acl_permission_enum_name(e[i].permission));
    printf(" \n\n");
}

/* ---- the ACLs an --add or --remove names ---- */

typedef struct entries {
    acl_entry_t v[MAX_ITEMS * 4];
    int n;
} entries_t;

static void add_entry(entries_t *e, const char *principal, const char *host, int8_t op,
                      int8_t perm)
{
    for (int i = 0; i < e->n; i++)
        if (e->v[i].operation == op && e->v[i].permission == perm &&
            !strcmp(e->v[i].principal, principal) && !strcmp(e->v[i].host, host))
            return;     /* a set, as Kafka's */
    if (e->n == (int)(sizeof(e->v) / sizeof(e->v[0])))
        tool_die(PROG, "Too many ACLs in one command");
    e->v[e->n++] = (acl_entry_t){ (char *)principal, (char *)host, op, perm };
}

static void entries_for(const options_t *o, const int8_t *ops, int n_ops, entries_t *out)
{
    out->n = 0;
    for (int k = 0; k < n_ops; k++) {
        for (int i = 0; i < o->allow_p.n; i++)
            for (int h = 0; h < (o->allow_h.n ? o->allow_h.n : 1); h++)
                add_entry(out, o->allow_p.v[i], o->allow_h.n ? o->allow_h.v[h] : "*", ops[k],
                          ACL_PERM_ALLOW);
        for (int i = 0; i < o->deny_p.n; i++)
            for (int h = 0; h < (o->deny_h.n ? o->deny_h.n : 1); h++)
                add_entry(out, o->deny_p.v[i], o->deny_h.n ? o->deny_h.v[h] : "*", ops[k],
                          ACL_PERM_DENY);
    }
}

/* Kafka's AclCommand.validateOperation. */
static void check_operations(int8_t type, const int8_t *ops, int n)
{
    static const struct { int8_t type; const char *names; int8_t ops[10]; } SUPPORTED[] = {
        { ACL_RES_TOPIC, "READ,WRITE,CREATE,DESCRIBE,DELETE,ALTER,DESCRIBE_CONFIGS,ALTER_CONFIGS,ALL",
          { ACL_OP_READ, ACL_OP_WRITE, ACL_OP_CREATE, ACL_OP_DESCRIBE, ACL_OP_DELETE, ACL_OP_ALTER,
            ACL_OP_DESCRIBE_CONFIGS, ACL_OP_ALTER_CONFIGS, ACL_OP_ALL } },
        { ACL_RES_GROUP, "READ,DESCRIBE,DELETE,ALL",
          { ACL_OP_READ, ACL_OP_DESCRIBE, ACL_OP_DELETE, ACL_OP_ALL } },
        { ACL_RES_CLUSTER, "CREATE,CLUSTER_ACTION,DESCRIBE_CONFIGS,ALTER_CONFIGS,IDEMPOTENT_WRITE,"
                           "ALTER,DESCRIBE,ALL",
          { ACL_OP_CREATE, ACL_OP_CLUSTER_ACTION, ACL_OP_DESCRIBE_CONFIGS, ACL_OP_ALTER_CONFIGS,
            ACL_OP_IDEMPOTENT_WRITE, ACL_OP_ALTER, ACL_OP_DESCRIBE, ACL_OP_ALL } },
        { ACL_RES_TRANSACTIONAL_ID, "DESCRIBE,WRITE,ALL",
          { ACL_OP_DESCRIBE, ACL_OP_WRITE, ACL_OP_ALL } },
        { ACL_RES_DELEGATION_TOKEN, "DESCRIBE,ALL", { ACL_OP_DESCRIBE, ACL_OP_ALL } },
        { ACL_RES_USER, "CREATE_TOKENS,DESCRIBE_TOKENS,ALL",
          { ACL_OP_CREATE_TOKENS, ACL_OP_DESCRIBE_TOKENS, ACL_OP_ALL } },
    };
    for (size_t s = 0; s < sizeof(SUPPORTED) / sizeof(SUPPORTED[0]); s++) {
        if (SUPPORTED[s].type != type)
            continue;
        for (int i = 0; i < n; i++) {
            bool ok = false;
            for (int k = 0; k < 10 && SUPPORTED[s].ops[k]; k++)
                ok |= SUPPORTED[s].ops[k] == ops[i];
            if (!ok)
                tool_die(PROG, "ResourceType %s only supports operations %s",
                         acl_resource_type_enum_name(type), SUPPORTED[s].names);
        }
    }
}

/* The operations an --add/--remove gives resource r. */
static int operations_for(const options_t *o, const acl_resource_t *r, int8_t *ops)
{
    int n = 0;
    if (o->producer) {
        if (r->type == ACL_RES_TOPIC) {
            ops[n++] = ACL_OP_WRITE;
            ops[n++] = ACL_OP_DESCRIBE;
            ops[n++] = ACL_OP_CREATE;
        } else if (r->type == ACL_RES_TRANSACTIONAL_ID) {
            ops[n++] = ACL_OP_WRITE;
            ops[n++] = ACL_OP_DESCRIBE;
        } else if (r->type == ACL_RES_CLUSTER && o->idempotent) {
            ops[n++] = ACL_OP_IDEMPOTENT_WRITE;
        }
    }
    if (o->consumer) {
        if (r->type == ACL_RES_TOPIC) {
            ops[n++] = ACL_OP_READ;
            ops[n++] = ACL_OP_DESCRIBE;
        } else if (r->type == ACL_RES_GROUP) {
            ops[n++] = ACL_OP_READ;
        }
    }
    if (!o->producer && !o->consumer) {
        for (int i = 0; i < o->n_ops; i++)
            ops[n++] = o->ops[i];
        if (n == 0)
            ops[n++] = ACL_OP_ALL;
        check_operations(r->type, ops, n);
    }
    return n;
}

/* ---- the three actions ---- */

static void fail_on(int16_t err, kstr_t msg, arena_t *a)
{
    if (err)
        tool_die(PROG, "Error while executing ACL command: %s%s%s", kafka_error_name(err),
                 msg.len > 0 ? ": " : "", msg.len > 0 ? kstr_dup_or_empty(a, msg) : "");
}

static void add_acls(kclient_t *c, arena_t *a, const options_t *o)
{
    for (int r = 0; r < o->n_res; r++) {
        int8_t ops[16];
        int n_ops = operations_for(o, &o->res[r], ops);
        if (n_ops == 0)
            continue;
        entries_t e;
        entries_for(o, ops, n_ops, &e);
        printf("Adding ACLs for resource `");
        print_pattern(&o->res[r]);
        printf("`: \n");
        print_entries(e.v, e.n);
        struct create_acls_request rq;
        create_acls_request_defaults(&rq);
        rq.creations_count = e.n;
        rq.creations = create_acls_request_acl_creation_array(a, e.n);
        for (int i = 0; i < e.n; i++) {
            rq.creations[i].resource_type = o->res[r].type;
            rq.creations[i].resource_name = kstr_from_cstr(o->res[r].name);
            rq.creations[i].resource_pattern_type = o->res[r].pattern;
            rq.creations[i].principal = kstr_from_cstr(e.v[i].principal);
            rq.creations[i].host = kstr_from_cstr(e.v[i].host);
            rq.creations[i].operation = e.v[i].operation;
            rq.creations[i].permission_type = e.v[i].permission;
        }
        struct create_acls_response resp;
        tool_rpc(c, a, PROG, "CreateAcls", 3, &rq, &resp);
        for (int i = 0; i < resp.results_count; i++)
            fail_on(resp.results[i].error_code, resp.results[i].error_message, a);
    }
}

static void remove_acls(kclient_t *c, arena_t *a, const options_t *o)
{
    if (!o->force)
        tool_die(PROG, "Removing ACLs needs --force (samsa-acls does not prompt)");
    for (int r = 0; r < o->n_res; r++) {
        int8_t ops[16];
        int n_ops = (o->allow_p.n || o->deny_p.n) ? operations_for(o, &o->res[r], ops) : 0;
        entries_t e = { .n = 0 };
        if (n_ops)
            entries_for(o, ops, n_ops, &e);
        int nf = e.n ? e.n : 1;
        struct delete_acls_request rq;
        delete_acls_request_defaults(&rq);
        rq.filters_count = nf;
        rq.filters = delete_acls_request_delete_acls_filter_array(a, nf);
        for (int i = 0; i < nf; i++) {
            struct delete_acls_request_delete_acls_filter *f = &rq.filters[i];
            f->resource_type_filter = o->res[r].type;
            f->resource_name_filter = kstr_from_cstr(o->res[r].name);
            f->pattern_type_filter = o->res[r].pattern;
            f->principal_filter = e.n ? kstr_from_cstr(e.v[i].principal) : KSTR_NULL;
            f->host_filter = e.n ? kstr_from_cstr(e.v[i].host) : KSTR_NULL;
            f->operation = e.n ? e.v[i].operation : ACL_OP_ANY;
            f->permission_type = e.n ? e.v[i].permission : ACL_PERM_ANY;
        }
        struct delete_acls_response resp;
        tool_rpc(c, a, PROG, "DeleteAcls", 3, &rq, &resp);
        for (int i = 0; i < resp.filter_results_count; i++)
            fail_on(resp.filter_results[i].error_code, resp.filter_results[i].error_message, a);
    }
}

static void list_filter(kclient_t *c, arena_t *a, int8_t type, const char *name, int8_t pattern)
{
    struct describe_acls_request rq;
    describe_acls_request_defaults(&rq);
    rq.resource_type_filter = type;
    rq.resource_name_filter = name ? kstr_from_cstr(name) : KSTR_NULL;
    rq.pattern_type_filter = pattern;
    rq.principal_filter = KSTR_NULL;
    rq.host_filter = KSTR_NULL;
    rq.operation = ACL_OP_ANY;
    rq.permission_type = ACL_PERM_ANY;
    struct describe_acls_response resp;
    tool_rpc(c, a, PROG, "DescribeAcls", 3, &rq, &resp);
    fail_on(resp.error_code, resp.error_message, a);
    for (int i = 0; i < resp.resources_count; i++) {
        const struct describe_acls_response_describe_acls_resource *r = &resp.resources[i];
        acl_resource_t p = { r->resource_type, r->pattern_type,
                             (char *)kstr_dup_or_empty(a, r->resource_name) };
        acl_entry_t *e = arena_array(a, (size_t)r->acls_count + 1, sizeof(*e));
        for (int k = 0; k < r->acls_count; k++)
            e[k] = (acl_entry_t){ (char *)kstr_dup_or_empty(a, r->acls[k].principal),
                                  (char *)kstr_dup_or_empty(a, r->acls[k].host),
                                  r->acls[k].operation, r->acls[k].permission_type };
        printf("Current ACLs for resource `");
        print_pattern(&p);
        printf("`: \n");
        print_entries(e, r->acls_count);
    }
}

static void list_acls(kclient_t *c, arena_t *a, const options_t *o)
{
    if (o->n_res == 0)
        list_filter(c, a, ACL_RES_ANY, NULL, ACL_PAT_ANY);
    for (int r = 0; r < o->n_res; r++)
        list_filter(c, a, o->res[r].type, o->res[r].name, o->res[r].pattern);
}

/* ---- arguments ---- */

static const struct option LONGOPTS[] = {
    { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
    { "add", no_argument, NULL, OPT_ADD }, { "remove", no_argument, NULL, OPT_REMOVE },
    { "list", no_argument, NULL, OPT_LIST }, { "topic", required_argument, NULL, OPT_TOPIC },
    { "group", required_argument, NULL, OPT_GROUP }, { "cluster", no_argument, NULL, OPT_CLUSTER },
    { "transactional-id", required_argument, NULL, OPT_TXN },
    { "delegation-token", required_argument, NULL, OPT_TOKEN },
    { "user-principal", required_argument, NULL, OPT_USER },
    { "resource-pattern-type", required_argument, NULL, OPT_PATTERN },
    { "allow-principal", required_argument, NULL, OPT_ALLOW_P },
    { "deny-principal", required_argument, NULL, OPT_DENY_P },
    { "allow-host", required_argument, NULL, OPT_ALLOW_H },
    { "deny-host", required_argument, NULL, OPT_DENY_H },
    { "operation", required_argument, NULL, OPT_OPERATION },
    { "producer", no_argument, NULL, OPT_PRODUCER }, { "consumer", no_argument, NULL, OPT_CONSUMER },
    { "idempotent", no_argument, NULL, OPT_IDEMPOTENT }, { "force", no_argument, NULL, OPT_FORCE },
    { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
    { "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 },
};

static void parse(int argc, char **argv, options_t *o)
{
    int opt;
    const char *pattern = NULL;
    while ((opt = getopt_long(argc, argv, "", LONGOPTS, NULL)) != -1) {
        switch (opt) {
        case OPT_BOOTSTRAP: o->bootstrap = optarg; break;
        case OPT_ADD: case OPT_REMOVE: case OPT_LIST:
            if (o->action && o->action != opt)
                tool_die(PROG, "Command must include exactly one action: --list, --add, --remove.");
            o->action = opt;
            break;
        case OPT_TOPIC: (void)add_resource(o, ACL_RES_TOPIC, optarg); break;
        case OPT_GROUP: (void)add_resource(o, ACL_RES_GROUP, optarg); break;
        case OPT_CLUSTER: (void)add_resource(o, ACL_RES_CLUSTER, ACL_CLUSTER_NAME); break;
        case OPT_TXN: (void)add_resource(o, ACL_RES_TRANSACTIONAL_ID, optarg); break;
        case OPT_TOKEN: (void)add_resource(o, ACL_RES_DELEGATION_TOKEN, optarg); break;
        case OPT_USER: (void)add_resource(o, ACL_RES_USER, optarg); break;
        case OPT_PATTERN: pattern = optarg; break;
        case OPT_ALLOW_P: push(&o->allow_p, optarg); break;
        case OPT_DENY_P: push(&o->deny_p, optarg); break;
        case OPT_ALLOW_H: push(&o->allow_h, optarg); break;
        case OPT_DENY_H: push(&o->deny_h, optarg); break;
        case OPT_OPERATION: {
            int8_t op = acl_operation_from_name(optarg);
            if (!op || o->n_ops == MAX_ITEMS)
                tool_die(PROG, "Invalid operation: %s", optarg);
            o->ops[o->n_ops++] = op;
            break;
        }
        case OPT_PRODUCER: o->producer = true; break;
        case OPT_CONSUMER: o->consumer = true; break;
        case OPT_IDEMPOTENT: o->idempotent = true; break;
        case OPT_FORCE: o->force = true; break;
        case OPT_COMMAND_CONFIG: break;     /* PLAINTEXT only so far: nothing to apply */
        case OPT_HELP:
            printf("Usage: " PROG " --bootstrap-server HOST:PORT (--add|--remove|--list) "
                   "[--topic T|--group G|--cluster|--transactional-id X] "
                   "[--allow-principal P] [--deny-principal P] [--operation OP] "
                   "[--resource-pattern-type literal|prefixed|match|any] [--force]\n");
            exit(0);
        default: exit(1);
        }
    }
    if (!o->bootstrap)
        tool_die(PROG, "Missing required argument \"[bootstrap-server]\"");
    if (!o->action)
        tool_die(PROG, "Command must include exactly one action: --list, --add, --remove.");
    o->pattern = pattern ? acl_pattern_from_name(pattern) : ACL_PAT_LITERAL;
    if (!o->pattern || (o->action == OPT_ADD && o->pattern != ACL_PAT_LITERAL &&
                        o->pattern != ACL_PAT_PREFIXED))
        tool_die(PROG, "A '--resource-pattern-type' value of '%s' is not valid when adding acls.",
                 pattern ? pattern : "");
    for (int i = 0; i < o->n_res; i++)
        o->res[i].pattern = o->pattern;
    /* --producer and --consumer imply their resources' companions. */
    if (o->producer && o->idempotent)
        add_resource(o, ACL_RES_CLUSTER, ACL_CLUSTER_NAME)->pattern = ACL_PAT_LITERAL;
    if ((o->producer || o->consumer) && o->deny_p.n)
        tool_die(PROG, "Option \"[%s]\" can't be used with option \"[deny-principal]\"",
                 o->producer ? "producer" : "consumer");
    if (o->action == OPT_ADD && !o->allow_p.n && !o->deny_p.n)
        tool_die(PROG, "You must specify one of: --allow-principal, --deny-principal when trying "
                 "to add ACLs.");
    if (o->action != OPT_LIST && o->n_res == 0)
        tool_die(PROG, "You must provide at least one resource: --topic <topic> or --cluster or "
                 "--group <group> or --delegation-token <Delegation Token ID>");
}

int main(int argc, char **argv)
{
    options_t o = { 0 };
    parse(argc, argv, &o);
    kclient_t c;
    arena_t a;
    tool_bootstrap(&c, &a, PROG, o.bootstrap, true);
    if (o.action == OPT_ADD)
        add_acls(&c, &a, &o);
    else if (o.action == OPT_REMOVE)
        remove_acls(&c, &a, &o);
    else
        list_acls(&c, &a, &o);
    arena_free(&a);
    kclient_close(&c);
    return 0;
}
