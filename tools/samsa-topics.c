/*
 * samsa-topics - kafka-topics.sh for samsa: --create, --list, --describe,
 * --delete against --bootstrap-server, with Kafka's flags and output.
 * Speaks the Kafka protocol directly with the broker's generated codecs.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_messages.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-topics"

enum { OPT_BOOTSTRAP = 1000, OPT_CREATE, OPT_LIST, OPT_DESCRIBE, OPT_DELETE, OPT_TOPIC,
       OPT_PARTITIONS, OPT_RF, OPT_CONFIG, OPT_IF_EXISTS, OPT_IF_NOT_EXISTS, OPT_EXCLUDE_INTERNAL,
       OPT_COMMAND_CONFIG, OPT_HELP };

typedef struct opts {
    const char *bootstrap;
    int action;
    const char *topic;
    int32_t partitions;
    int16_t rf;
    const char *config_k[64];
    const char *config_v[64];
    int n_config;
    bool if_exists, if_not_exists, exclude_internal;
} opts_t;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " --bootstrap-server HOST:PORT (--create | --list | --describe | --delete)\n"
            "       [--topic NAME] [--partitions N] [--replication-factor N] [--config k=v]...\n"
            "       [--if-exists] [--if-not-exists] [--exclude-internal] [--command-config FILE]\n");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct metadata_response *fetch_metadata(kclient_t *c, arena_t *a, const char *topic)
{
    struct metadata_request rq;
    metadata_request_defaults(&rq);
    if (topic) {
        rq.topics_count = 1;
        rq.topics = metadata_request_metadata_request_topic_array(a, 1);
        rq.topics[0].name = kstr_from_cstr(topic);
    } else {
        rq.topics_count = -1;
    }
    rq.allow_auto_topic_creation = false;
    struct metadata_response *resp = arena_alloc(a, sizeof(*resp));
    kclient_rpc(c, a, "Metadata", 12, &rq, resp);
    return resp;
}

static int do_create(kclient_t *c, arena_t *a, const opts_t *o)
{
    struct create_topics_request rq;
    create_topics_request_defaults(&rq);
    rq.timeout_ms = 30000;
    rq.topics_count = 1;
    rq.topics = create_topics_request_creatable_topic_array(a, 1);
    rq.topics[0].name = kstr_from_cstr(o->topic);
    rq.topics[0].num_partitions = o->partitions;
    rq.topics[0].replication_factor = o->rf;
    rq.topics[0].configs_count = o->n_config;
    rq.topics[0].configs = create_topics_request_creatable_topic_config_array(a, o->n_config);
    for (int i = 0; i < o->n_config; i++) {
        rq.topics[0].configs[i].name = kstr_from_cstr(o->config_k[i]);
        rq.topics[0].configs[i].value = kstr_from_cstr(o->config_v[i]);
    }
    struct create_topics_response resp;
    kclient_rpc(c, a, "CreateTopics", 5, &rq, &resp);
    if (resp.topics_count != 1)
        tool_die(PROG, "create request failed");
    int16_t err = resp.topics[0].error_code;
    if (err == 36 && o->if_not_exists)
        return 0;
    if (err) {
        char *msg = kstr_dup(a, resp.topics[0].error_message);
        if (err == 36)
            fprintf(stderr, "Error while executing topic command : Topic '%s' already exists.\n", o->topic);
        else
            fprintf(stderr, "Error while executing topic command : %s\n", msg && *msg ? msg : "request failed");
        return 1;
    }
    printf("Created topic %s.\n", o->topic);
    return 0;
}

static int do_list(kclient_t *c, arena_t *a, const opts_t *o)
{
    struct metadata_response *m = fetch_metadata(c, a, NULL);
    char **names = arena_array(a, (size_t)m->topics_count + 1, sizeof(char *));
    int n = 0;
    for (int i = 0; i < m->topics_count; i++) {
        if (o->exclude_internal && m->topics[i].is_internal)
            continue;
        names[n++] = kstr_dup(a, m->topics[i].name);
    }
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    for (int i = 0; i < n; i++)
        printf("%s\n", names[i]);
    return 0;
}

/* Comma-joined non-default configs, as kafka-topics prints them. */
static const char *topic_configs(kclient_t *c, arena_t *a, kstr_t topic)
{
    struct describe_configs_request rq;
    describe_configs_request_defaults(&rq);
    rq.resources_count = 1;
    rq.resources = describe_configs_request_describe_configs_resource_array(a, 1);
    rq.resources[0].resource_type = 2;
    rq.resources[0].resource_name = topic;
    rq.resources[0].configuration_keys_count = -1;
    struct describe_configs_response resp;
    kclient_rpc(c, a, "DescribeConfigs", 4, &rq, &resp);
    if (resp.results_count != 1)
        return "";
    char *out = arena_alloc(a, 1);
    for (int i = 0; i < resp.results[0].configs_count; i++) {
        struct describe_configs_response_describe_configs_resource_result *e =
            &resp.results[0].configs[i];
        if (e->config_source == 5 || e->value.len < 0)
            continue;
        out = arena_printf(a, "%s%s%.*s=%.*s", out, *out ? "," : "", e->name.len, e->name.ptr,
                           e->value.len, e->value.ptr);
    }
    return out;
}

static const char *id_list(arena_t *a, const int32_t *ids, int n)
{
    char *s = arena_alloc(a, 1);
    for (int i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%d", s, i ? "," : "", ids[i]);
    return s;
}

static void uuid_b64(const kuuid_t *u, char out[23])
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int j = 0;
    for (int i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)u->b[i] << 16 | (i + 1 < 16 ? (uint32_t)u->b[i + 1] << 8 : 0) |
                     (i + 2 < 16 ? u->b[i + 2] : 0);
        int chars = i + 2 < 16 ? 4 : i + 1 < 16 ? 3 : 2;
        for (int k = 0; k < chars; k++)
            out[j++] = tbl[(v >> (18 - 6 * k)) & 63];
    }
    out[j] = '\0';
}

static int topic_cmp(const void *a, const void *b)
{
    const struct metadata_response_metadata_response_topic *x = a, *y = b;
    int n = MIN(x->name.len, y->name.len);
    int c = memcmp(x->name.ptr, y->name.ptr, (size_t)n);
    return c ? c : x->name.len - y->name.len;
}

static int do_describe(kclient_t *c, arena_t *a, const opts_t *o)
{
    struct metadata_response *m = fetch_metadata(c, a, o->topic);
    qsort(m->topics, (size_t)m->topics_count, sizeof(m->topics[0]), topic_cmp);
    int shown = 0;
    for (int i = 0; i < m->topics_count; i++) {
        struct metadata_response_metadata_response_topic *t = &m->topics[i];
        if (t->error_code == 3) {
            if (o->if_exists)
                return 0;
            fprintf(stderr, "Error while executing topic command : Topic '%s' does not exist as expected\n",
                    o->topic);
            return 1;
        }
        if (t->error_code || (o->exclude_internal && t->is_internal))
            continue;
        shown++;
        int rf = t->partitions_count > 0 ? t->partitions[0].replica_nodes_count : 0;
        printf("Topic: %.*s", t->name.len, t->name.ptr);
        if (!kuuid_is_zero(t->topic_id)) {
            char id[23];
            uuid_b64(&t->topic_id, id);
            printf("\tTopicId: %s", id);
        }
        printf("\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", t->partitions_count, rf,
               topic_configs(c, a, t->name));
        for (int p = 0; p < t->partitions_count; p++) {
            struct metadata_response_metadata_response_partition *pp = &t->partitions[p];
            printf("\tTopic: %.*s\tPartition: %d\tLeader: ", t->name.len, t->name.ptr,
                   pp->partition_index);
            if (pp->leader_id < 0)
                printf("none");
            else
                printf("%d", pp->leader_id);
            printf("\tReplicas: %s\tIsr: %s\n", id_list(a, pp->replica_nodes, pp->replica_nodes_count),
                   id_list(a, pp->isr_nodes, pp->isr_nodes_count));
        }
    }
    (void)shown;
    return 0;
}

static int do_delete(kclient_t *c, arena_t *a, const opts_t *o)
{
    struct delete_topics_request rq;
    delete_topics_request_defaults(&rq);
    rq.timeout_ms = 30000;
    rq.topic_names_count = 1;
    rq.topic_names = arena_array(a, 1, sizeof(kstr_t));
    rq.topic_names[0] = kstr_from_cstr(o->topic);
    struct delete_topics_response resp;
    kclient_rpc(c, a, "DeleteTopics", 4, &rq, &resp);
    if (resp.responses_count != 1)
        tool_die(PROG, "delete request failed");
    int16_t err = resp.responses[0].error_code;
    if (err == 3) {
        if (o->if_exists)
            return 0;
        fprintf(stderr, "Error while executing topic command : Topic '%s' does not exist as expected\n",
                o->topic);
        return 1;
    }
    if (err) {
        fprintf(stderr, "Error while executing topic command : %s\n",
                err == 73 ? "Topic deletion is disabled." : "delete failed");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
        { "create", no_argument, NULL, OPT_CREATE },
        { "list", no_argument, NULL, OPT_LIST },
        { "describe", no_argument, NULL, OPT_DESCRIBE },
        { "delete", no_argument, NULL, OPT_DELETE },
        { "topic", required_argument, NULL, OPT_TOPIC },
        { "partitions", required_argument, NULL, OPT_PARTITIONS },
        { "replication-factor", required_argument, NULL, OPT_RF },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "if-exists", no_argument, NULL, OPT_IF_EXISTS },
        { "if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS },
        { "exclude-internal", no_argument, NULL, OPT_EXCLUDE_INTERNAL },
        { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opts_t o = { .partitions = -1, .rf = -1 };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_BOOTSTRAP: o.bootstrap = optarg; break;
        case OPT_CREATE: case OPT_LIST: case OPT_DESCRIBE: case OPT_DELETE:
            if (o.action && o.action != ch)
                tool_die(PROG, "Command must include exactly one action: --list, --describe, --create or --delete");
            o.action = ch;
            break;
        case OPT_TOPIC: o.topic = optarg; break;
        case OPT_PARTITIONS: o.partitions = atoi(optarg); break;
        case OPT_RF: o.rf = (int16_t)atoi(optarg); break;
        case OPT_CONFIG: {
            char *eq = strchr(optarg, '=');
            if (!eq || o.n_config == 64)
                tool_die(PROG, "Invalid --config '%s' (expected key=value)", optarg);
            *eq = '\0';
            o.config_k[o.n_config] = optarg;
            o.config_v[o.n_config++] = eq + 1;
            break;
        }
        case OPT_IF_EXISTS: o.if_exists = true; break;
        case OPT_IF_NOT_EXISTS: o.if_not_exists = true; break;
        case OPT_EXCLUDE_INTERNAL: o.exclude_internal = true; break;
        case OPT_COMMAND_CONFIG: break; /* PLAINTEXT only: nothing to apply yet */
        case OPT_HELP: usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!o.bootstrap) {
        usage(stderr);
        tool_die(PROG, "Missing required argument \"[bootstrap-server]\"");
    }
    if (!o.action)
        tool_die(PROG, "Command must include exactly one action: --list, --describe, --create or --delete");
    if ((o.action == OPT_CREATE || o.action == OPT_DELETE) && !o.topic)
        tool_die(PROG, "Missing required argument \"[topic]\"");
    kclient_t c;
    if (kclient_connect(&c, PROG, o.bootstrap) < 0)
        tool_die(PROG, "Cannot connect to %s", o.bootstrap);
    arena_t a;
    arena_init(&a);
    int rc = o.action == OPT_CREATE ? do_create(&c, &a, &o)
           : o.action == OPT_LIST ? do_list(&c, &a, &o)
           : o.action == OPT_DESCRIBE ? do_describe(&c, &a, &o)
           : do_delete(&c, &a, &o);
    arena_free(&a);
    kclient_close(&c);
    return rc;
}
