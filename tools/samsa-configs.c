/*
 * samsa-configs - kafka-configs.sh for samsa: --describe [--all] and
 * --alter --add-config/--delete-config of topics, brokers and the broker
 * defaults against --bootstrap-server, with Kafka 3.9's flags, output and
 * messages.  DescribeConfigs and IncrementalAlterConfigs are sent with the
 * broker's generated codecs (librdkafka 2.0 has no incremental alter);
 * a broker's own configs are asked of that broker, as Kafka's AdminClient
 * does.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configs_quotas.h"
#include "configs_zk.h"
#include "kafka_errors.h"
#include "proto_messages.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-configs"
#define MAX_CONFIGS 256

enum { OPT_BOOTSTRAP = 1000, OPT_ZOOKEEPER, OPT_ENTITY_TYPE, OPT_ENTITY_NAME, OPT_ENTITY_DEFAULT, OPT_DESCRIBE,
       OPT_ALTER, OPT_ALL, OPT_ADD, OPT_DELETE, OPT_TOPIC, OPT_BROKER, OPT_BROKER_DEFAULTS,
       OPT_USER, OPT_CLIENT, OPT_USER_DEFAULTS, OPT_CLIENT_DEFAULTS, OPT_COMMAND_CONFIG, OPT_HELP };
enum { RES_TOPIC = 2, RES_BROKER = 4 };
enum { OP_SET = 0, OP_DELETE = 1 };

typedef struct opts {
    const char *bootstrap;
    const char *zookeeper;          /* Kafka 2.x's --zookeeper mode (configs_zk.c) */
    const char *entity_type;        /* "topics" or "brokers" */
    const char *entity_name;        /* NULL: every entity (describe) */
    bool entity_default;
    int action;
    bool all;
    char *add_k[MAX_CONFIGS], *add_v[MAX_CONFIGS];
    int n_add;
    char *del[MAX_CONFIGS];
    int n_del;
    char **argv;
    int argc;
    char *copies[MAX_CONFIGS];      /* --add/--delete-config values the keys point into */
    int n_copies;
    /* Every --entity-type and --entity-name/--entity-default in order
     * (users and clients may be combined). */
    const char *types[2];
    const char *names[2];           /* "": --entity-default */
    int n_types, n_names;
} opts_t;

static void add_type(opts_t *o, const char *type)
{
    if (o->n_types == 2)
        tool_die(PROG, "At most two entity types may be given");
    o->types[o->n_types++] = type;
    o->entity_type = o->types[0];
}

static void add_name(opts_t *o, const char *name)
{
    if (o->n_names == 2)
        tool_die(PROG, "More entity names specified than entity types");
    o->names[o->n_names++] = name;
    if (o->n_names == 1) {
        o->entity_name = name[0] ? name : NULL;
        o->entity_default = !name[0];
    }
}

static bool quota_entities(const opts_t *o)
{
    return o->entity_type && (!strcmp(o->entity_type, "users") || !strcmp(o->entity_type, "clients"));
}

static const char *const source_names[] = {
    "UNKNOWN", "DYNAMIC_TOPIC_CONFIG", "DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG",
    "STATIC_BROKER_CONFIG", "DEFAULT_CONFIG", "DYNAMIC_BROKER_LOGGER_CONFIG",
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " --bootstrap-server HOST:PORT --entity-type (topics | brokers |\n"
            "       users | clients)\n"
            "       (--entity-name NAME | --entity-default) (--describe [--all] |\n"
            "       --alter [--add-config k1=v1,k2=[v1,v2]] [--delete-config k1,k2])\n"
            "       (--topic NAME, --broker ID and --broker-defaults are short forms)\n");
}

static const char *source_name(int8_t s)
{
    return s >= 0 && s < (int8_t)ARRAY_SIZE(source_names) ? source_names[s] : "UNKNOWN";
}

/* Kafka's ConfigCommand prints nulls as "null". */
static void print_kstr(kstr_t s)
{
    if (s.len < 0)
        fputs("null", stdout);
    else
        fwrite(s.ptr, 1, (size_t)s.len, stdout);
}

static int cmp_entry(const void *a, const void *b)
{
    const struct describe_configs_response_describe_configs_resource_result *x = a, *y = b;
    int n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = memcmp(x->name.ptr, y->name.ptr, (size_t)n);
    return c ? c : x->name.len - y->name.len;
}

/* A client connected to broker id (its own configs are asked of it). */
static void connect_broker(kclient_t *c, arena_t *a, int32_t id)
{
    struct metadata_response *m = tool_metadata(c, a, PROG, NULL, true);
    kclient_t to;
    if (tool_connect_broker(&to, a, PROG, m, id) < 0)
        tool_die(PROG, "Error while executing config command: cannot reach broker %d", id);
    kclient_close(c);
    *c = to;
}

/* The command line as Kafka's error messages quote it. */
static const char *joined_args(arena_t *a, const opts_t *o)
{
    size_t n = 1;
    for (int i = 1; i < o->argc; i++)
        n += strlen(o->argv[i]) + 1;
    char *s = arena_alloc(a, n);
    s[0] = '\0';
    for (int i = 1; i < o->argc; i++) {
        strcat(s, o->argv[i]);
        if (i + 1 < o->argc)
            strcat(s, " ");
    }
    return s;
}

static int8_t resource_type(const opts_t *o)
{
    return !strcmp(o->entity_type, "topics") ? RES_TOPIC : RES_BROKER;
}

/* The entity's name as Kafka's resource: "" for the broker default. */
static const char *resource_name(const opts_t *o, const char *entity)
{
    return o->entity_default ? "" : entity;
}

static int describe_one(kclient_t *c, arena_t *a, const opts_t *o, const char *entity)
{
    const char *name = resource_name(o, entity);
    int8_t type = resource_type(o);
    struct describe_configs_request rq;
    describe_configs_request_defaults(&rq);
    rq.resources_count = 1;
    rq.resources = describe_configs_request_describe_configs_resource_array(a, 1);
    rq.resources[0].resource_type = type;
    rq.resources[0].resource_name = kstr_from_cstr(name);
    rq.resources[0].configuration_keys_count = -1;
    rq.include_synonyms = true;
    struct describe_configs_response resp;
    tool_rpc(c, a, PROG, "DescribeConfigs", 4, &rq, &resp);
    if (resp.results_count != 1)
        tool_die(PROG, "Malformed DescribeConfigs answer");
    struct describe_configs_response_describe_configs_result *r = &resp.results[0];
    if (r->error_code) {
        fprintf(stderr, "Error while executing config command with args '%s'\n%s\n",
                joined_args(a, o), r->error_message.len > 0 ? kstr_dup(a, r->error_message)
                                                            : kafka_error_name(r->error_code));
        return 1;
    }
    int8_t wanted = type == RES_TOPIC ? 1 : o->entity_default ? 3 : 2;
    if (o->entity_default)
        printf("Default configs for brokers in the cluster are:\n");
    else
        printf("%s configs for %s %s are:\n", o->all ? "All" : "Dynamic",
               type == RES_TOPIC ? "topic" : "broker", entity);
    if (r->configs_count > 0)
        qsort(r->configs, (size_t)r->configs_count, sizeof(r->configs[0]), cmp_entry);
    for (int i = 0; i < r->configs_count; i++) {
        const struct describe_configs_response_describe_configs_resource_result *e = &r->configs[i];
        if (!o->all && e->config_source != wanted)
            continue;
        printf("  ");
        print_kstr(e->name);
        putchar('=');
        print_kstr(e->value);
        printf(" sensitive=%s synonyms={", e->is_sensitive ? "true" : "false");
        for (int k = 0; k < e->synonyms_count; k++) {
            printf("%s%s:", k ? ", " : "", source_name(e->synonyms[k].source));
            print_kstr(e->synonyms[k].name);
            putchar('=');
            print_kstr(e->synonyms[k].value);
        }
        printf("}\n");
    }
    return 0;
}

static int do_describe(kclient_t *c, arena_t *a, const opts_t *o)
{
    if (o->entity_name || o->entity_default) {
        if (resource_type(o) == RES_BROKER && o->entity_name)
            connect_broker(c, a, atoi(o->entity_name));
        return describe_one(c, a, o, o->entity_name);
    }
    /* Every entity: the topics, or the brokers and then the default. */
    const struct metadata_response *m = tool_metadata(c, a, PROG, NULL,
                                                      resource_type(o) != RES_TOPIC);
    int rc = 0;
    opts_t each = *o;
    if (resource_type(o) == RES_TOPIC) {
        for (int i = 0; i < m->topics_count; i++)
            rc |= describe_one(c, a, &each, kstr_dup(a, m->topics[i].name));
        return rc;
    }
    for (int i = 0; i < m->brokers_count; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", m->brokers[i].node_id);
        kclient_t bc;
        if (tool_connect_broker(&bc, a, PROG, m, m->brokers[i].node_id) < 0)
            tool_die(PROG, "Cannot connect to broker %s", id);
        rc |= describe_one(&bc, a, &each, arena_strdup(a, id));
        kclient_close(&bc);
    }
    each.entity_default = true;
    return rc | describe_one(c, a, &each, "");
}

/* The entity's dynamic keys (for --delete-config's check). */
static bool has_dynamic_key(kclient_t *c, arena_t *a, const opts_t *o, const char *key)
{
    struct describe_configs_request rq;
    describe_configs_request_defaults(&rq);
    rq.resources_count = 1;
    rq.resources = describe_configs_request_describe_configs_resource_array(a, 1);
    rq.resources[0].resource_type = RES_TOPIC;
    rq.resources[0].resource_name = kstr_from_cstr(o->entity_name);
    rq.resources[0].configuration_keys_count = -1;
    struct describe_configs_response resp;
    tool_rpc(c, a, PROG, "DescribeConfigs", 4, &rq, &resp);
    for (int i = 0; resp.results_count == 1 && i < resp.results[0].configs_count; i++) {
        const struct describe_configs_response_describe_configs_resource_result *e =
            &resp.results[0].configs[i];
        if (e->config_source == 1 && kstr_eq_cstr(e->name, key))
            return true;
    }
    return false;
}

static int do_alter(kclient_t *c, arena_t *a, const opts_t *o)
{
    int8_t type = resource_type(o);
    if (type == RES_TOPIC) {
        char bad[1024] = "";
        for (int i = 0; i < o->n_del; i++)
            if (!has_dynamic_key(c, a, o, o->del[i])) {
                size_t len = strlen(bad);
                snprintf(bad + len, sizeof(bad) - len, "%s%s", len ? "," : "", o->del[i]);
            }
        if (bad[0]) {
            fprintf(stderr, "Invalid config(s): %s\n", bad);
            return 1;
        }
    } else if (o->entity_name) {
        connect_broker(c, a, atoi(o->entity_name));
    }
    struct incremental_alter_configs_request rq;
    incremental_alter_configs_request_defaults(&rq);
    rq.resources_count = 1;
    rq.resources = incremental_alter_configs_request_alter_configs_resource_array(a, 1);
    struct incremental_alter_configs_request_alter_configs_resource *r = &rq.resources[0];
    r->resource_type = type;
    r->resource_name = kstr_from_cstr(resource_name(o, o->entity_name));
    r->configs_count = o->n_add + o->n_del;
    r->configs = incremental_alter_configs_request_alterable_config_array(a, r->configs_count);
    for (int i = 0; i < o->n_add; i++)
        r->configs[i] = (struct incremental_alter_configs_request_alterable_config){
            kstr_from_cstr(o->add_k[i]), OP_SET, kstr_from_cstr(o->add_v[i]) };
    for (int i = 0; i < o->n_del; i++)
        r->configs[o->n_add + i] = (struct incremental_alter_configs_request_alterable_config){
            kstr_from_cstr(o->del[i]), OP_DELETE, KSTR_LIT("") };
    struct incremental_alter_configs_response resp;
    tool_rpc(c, a, PROG, "IncrementalAlterConfigs", 1, &rq, &resp);
    if (resp.responses_count != 1)
        tool_die(PROG, "Malformed IncrementalAlterConfigs answer");
    if (resp.responses[0].error_code) {
        const char *msg = resp.responses[0].error_message.len > 0
                              ? kstr_dup(a, resp.responses[0].error_message)
                              : kafka_error_name(resp.responses[0].error_code);
        fprintf(stderr, "Error while executing config command with args '%s'\n%s\n",
                joined_args(a, o), msg);
        return 1;
    }
    if (o->entity_default)
        printf("Completed updating default config for brokers in the cluster.\n");
    else
        printf("Completed updating config for %s %s.\n", type == RES_TOPIC ? "topic" : "broker",
               o->entity_name);
    return 0;
}

/* "k1=v1,k2=[a,b]" as Kafka's parseConfigsToBeAdded: brackets keep commas. */
static void parse_add(opts_t *o, char *s)
{
    char *p = s;
    while (*p) {
        char *start = p;
        int depth = 0;
        while (*p && (depth > 0 || *p != ',')) {
            depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
            p++;
        }
        if (*p)
            *p++ = '\0';
        char *eq = strchr(start, '=');
        if (!eq || o->n_add == MAX_CONFIGS)
            tool_die(PROG, "Invalid entity config: all configs to be added must be in the "
                           "format \"key=val\".");
        *eq = '\0';
        char *v = eq + 1;
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
            v[n - 1] = '\0';
            v++;
        }
        o->add_k[o->n_add] = start;
        o->add_v[o->n_add++] = v;
    }
}

static void parse_delete(opts_t *o, char *s)
{
    for (char *save, *k = strtok_r(s, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        if (o->n_del == MAX_CONFIGS)
            tool_die(PROG, "Too many --delete-config keys");
        o->del[o->n_del++] = k;
    }
}

static void check_opts(opts_t *o)
{
    if (!o->bootstrap && !o->zookeeper)
        tool_die(PROG, "Missing required argument \"[bootstrap-server]\"");
    if (!o->action)
        tool_die(PROG, "Command must include exactly one action: --describe, --alter");
    if (!o->entity_type)
        tool_die(PROG, "Missing required argument \"[entity-type]\"");
    if (strcmp(o->entity_type, "topics") && strcmp(o->entity_type, "brokers") &&
        !quota_entities(o))
        tool_die(PROG, "Invalid entity type %s: samsa-configs supports topics, brokers, users "
                       "and clients", o->entity_type);
    if (o->n_types == 2 && !(quota_entities(o) && (!strcmp(o->types[1], "users") ||
                                                   !strcmp(o->types[1], "clients"))))
        tool_die(PROG, "Only users and clients may be combined");
    if (o->entity_default && strcmp(o->entity_type, "brokers") && !quota_entities(o))
        tool_die(PROG, "--entity-default is only supported for brokers, users and clients");
    if (quota_entities(o)) {
        if (o->action == OPT_ALTER && !o->n_add && !o->n_del)
            tool_die(PROG, "At least one of --add-config or --delete-config must be specified "
                           "with --alter");
        if (o->zookeeper)
            tool_die(PROG, "--zookeeper is not supported for %s", o->entity_type);
        return;
    }
    if (o->action == OPT_ALTER && !o->entity_name && !o->entity_default)
        tool_die(PROG, "An entity name must be specified with --alter of %s", o->entity_type);
    if (o->action == OPT_ALTER && !o->n_add && !o->n_del)
        tool_die(PROG, "At least one of --add-config or --delete-config must be specified "
                       "with --alter");
    if (o->entity_name && !strcmp(o->entity_type, "brokers")) {
        char *end;
        (void)strtol(o->entity_name, &end, 10);
        if (*end || end == o->entity_name)
            tool_die(PROG, "The entity name for brokers must be a valid integer broker id, "
                           "found: %s", o->entity_name);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
        { "zookeeper", required_argument, NULL, OPT_ZOOKEEPER },
        { "entity-type", required_argument, NULL, OPT_ENTITY_TYPE },
        { "entity-name", required_argument, NULL, OPT_ENTITY_NAME },
        { "entity-default", no_argument, NULL, OPT_ENTITY_DEFAULT },
        { "describe", no_argument, NULL, OPT_DESCRIBE },
        { "alter", no_argument, NULL, OPT_ALTER },
        { "all", no_argument, NULL, OPT_ALL },
        { "add-config", required_argument, NULL, OPT_ADD },
        { "delete-config", required_argument, NULL, OPT_DELETE },
        { "topic", required_argument, NULL, OPT_TOPIC },
        { "broker", required_argument, NULL, OPT_BROKER },
        { "broker-defaults", no_argument, NULL, OPT_BROKER_DEFAULTS },
        { "user", required_argument, NULL, OPT_USER },
        { "client", required_argument, NULL, OPT_CLIENT },
        { "user-defaults", no_argument, NULL, OPT_USER_DEFAULTS },
        { "client-defaults", no_argument, NULL, OPT_CLIENT_DEFAULTS },
        { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opts_t o = { .argv = argv, .argc = argc };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_BOOTSTRAP: o.bootstrap = optarg; break;
        case OPT_ZOOKEEPER: o.zookeeper = optarg; break;
        case OPT_ENTITY_TYPE: add_type(&o, optarg); break;
        case OPT_ENTITY_NAME: add_name(&o, optarg); break;
        case OPT_ENTITY_DEFAULT: add_name(&o, ""); break;
        case OPT_USER: add_type(&o, "users"); add_name(&o, optarg); break;
        case OPT_CLIENT: add_type(&o, "clients"); add_name(&o, optarg); break;
        case OPT_USER_DEFAULTS: add_type(&o, "users"); add_name(&o, ""); break;
        case OPT_CLIENT_DEFAULTS: add_type(&o, "clients"); add_name(&o, ""); break;
        case OPT_DESCRIBE: case OPT_ALTER:
            if (o.action && o.action != ch)
                tool_die(PROG, "Command must include exactly one action: --describe, --alter");
            o.action = ch;
            break;
        case OPT_ALL: o.all = true; break;
        case OPT_ADD: case OPT_DELETE:
            if (o.n_copies == MAX_CONFIGS)
                tool_die(PROG, "Too many --add-config/--delete-config options");
            o.copies[o.n_copies] = xstrdup(optarg);
            (ch == OPT_ADD ? parse_add : parse_delete)(&o, o.copies[o.n_copies++]);
            break;
        case OPT_TOPIC: o.entity_type = "topics"; o.entity_name = optarg; break;
        case OPT_BROKER: o.entity_type = "brokers"; o.entity_name = optarg; break;
        case OPT_BROKER_DEFAULTS: o.entity_type = "brokers"; o.entity_default = true; break;
        case OPT_COMMAND_CONFIG:
            /* Only PLAINTEXT exists until security lands; nothing to apply. */
            break;
        case OPT_HELP: usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    check_opts(&o);
    if (o.zookeeper) {
        arena_t za;
        arena_init(&za);
        configs_zk_t z = { o.zookeeper, joined_args(&za, &o), o.entity_type, o.entity_name,
                           o.entity_default, o.action == OPT_ALTER, o.add_k, o.add_v, o.n_add,
                           o.del, o.n_del };
        int rc = configs_zookeeper(&z);
        arena_free(&za);
        for (int i = 0; i < o.n_copies; i++)
            free(o.copies[i]);
        return rc;
    }
    kclient_t c;
    if (kclient_connect(&c, PROG, o.bootstrap, 30000) < 0)
        tool_die(PROG, "Cannot connect to %s", o.bootstrap);
    arena_t a;
    arena_init(&a);
    int rc;
    if (quota_entities(&o)) {
        quota_cmd_t q = { joined_args(&a, &o), o.n_types, { o.types[0], o.types[1] },
                          { o.n_names > 0 ? o.names[0] : NULL, o.n_names > 1 ? o.names[1] : NULL },
                          o.add_k, o.add_v, o.n_add, o.del, o.n_del };
        rc = o.action == OPT_DESCRIBE ? configs_quotas_describe(&c, &a, &q)
                                      : configs_quotas_alter(&c, &a, &q);
    } else {
        rc = o.action == OPT_DESCRIBE ? do_describe(&c, &a, &o) : do_alter(&c, &a, &o);
    }
    arena_free(&a);
    kclient_close(&c);
    for (int i = 0; i < o.n_copies; i++)
        free(o.copies[i]);
    return rc;
}
