/*
 * samsa-topics - kafka-topics.sh for samsa: --create, --list, --describe,
 * --alter --partitions, --delete against --bootstrap-server, with Kafka's
 * flags and output.  CreateTopics, CreatePartitions, DeleteTopics and
 * DescribeConfigs go through librdkafka's
 * Admin API (which sends them to the controller where Kafka requires it);
 * Metadata is sent with the broker's generated codecs, because
 * librdkafka 2.0's metadata API does not report topic ids.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_messages.h"
#include "tool_common.h"
#include "topics_zk.h"
#include "util.h"

#define PROG "samsa-topics"

enum { OPT_BOOTSTRAP = 1000, OPT_ZOOKEEPER, OPT_CREATE, OPT_LIST, OPT_DESCRIBE, OPT_DELETE, OPT_ALTER, OPT_TOPIC,
       OPT_PARTITIONS, OPT_RF, OPT_CONFIG, OPT_IF_EXISTS, OPT_IF_NOT_EXISTS, OPT_EXCLUDE_INTERNAL,
       OPT_DISABLE_RACK_AWARE,
       OPT_COMMAND_CONFIG, OPT_HELP };

typedef struct opts {
    const char *bootstrap;
    const char *zookeeper;          /* Kafka 2.x's --zookeeper mode (topics_zk.c) */
    int action;
    const char *topic;
    int32_t partitions;
    int16_t rf;
    const char *config_k[64];
    const char *config_v[64];
    int n_config;
    bool if_exists, if_not_exists, exclude_internal, disable_rack_aware;
    const char *command_config;
} opts_t;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " --bootstrap-server HOST:PORT (--create | --list | --describe | --alter |\n"
            "       --delete)\n"
            "       [--topic NAME] [--partitions N] [--replication-factor N] [--config k=v]...\n"
            "       [--if-exists] [--if-not-exists] [--exclude-internal] [--disable-rack-aware]\n"
            "       [--command-config FILE]\n");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct metadata_response *fetch_metadata(kclient_t *c, arena_t *a, const char *topic)
{
    return tool_metadata(c, a, PROG, topic, false);
}

static int do_create(rd_kafka_t *rk, const opts_t *o)
{
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, o->partitions, o->rf, err, sizeof(err));
    if (!nt)
        tool_die(PROG, "%s", err);
    for (int i = 0; i < o->n_config; i++)
        if (rd_kafka_NewTopic_set_config(nt, o->config_k[i], o->config_v[i]))
            tool_die(PROG, "Invalid --config '%s'", o->config_k[i]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = tool_admin_options(PROG, rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, 30000);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = tool_admin_result(PROG, q);
    size_t n;
    const char *msg;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rd_kafka_resp_err_t e = tool_topic_result(res, n, &msg);
    int rc = 0;
    if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && o->if_not_exists) {
        rc = 0;
    } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        fprintf(stdout, "Error while executing topic command : Topic '%s' already exists.\n", o->topic);
        rc = 1;
    } else if (e) {
        fprintf(stdout, "Error while executing topic command : %s\n", msg ? msg : rd_kafka_err2str(e));
        rc = 1;
    } else {
        printf("Created topic %s.\n", o->topic);
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
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
static const char *topic_configs(rd_kafka_t *rk, arena_t *a, kstr_t topic)
{
    char *name = kstr_dup(a, topic);
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConfigs(rk, &cr, 1, NULL, q);
    rd_kafka_event_t *ev = tool_admin_result(PROG, q);
    size_t n, nc;
    const rd_kafka_ConfigResource_t **res =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    char *out = arena_alloc(a, 1);
    const rd_kafka_ConfigEntry_t **entries = n == 1 && !rd_kafka_ConfigResource_error(res[0])
                                             ? rd_kafka_ConfigResource_configs(res[0], &nc) : NULL;
    for (size_t i = 0; entries && i < nc; i++) {
        const char *v = rd_kafka_ConfigEntry_value(entries[i]);
        if (rd_kafka_ConfigEntry_is_default(entries[i]) || !v)
            continue;
        out = arena_printf(a, "%s%s%s=%s", out, *out ? "," : "", rd_kafka_ConfigEntry_name(entries[i]), v);
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(cr);
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

/* The ongoing reassignments, from the controller (as kafka-topics asks
 * for them); NULL if it cannot be asked, which Kafka's tool ignores too. */
static struct list_partition_reassignments_response *reassignments(arena_t *a,
                                                                   const struct metadata_response *m)
{
    for (int i = 0; i < m->brokers_count; i++) {
        if (m->brokers[i].node_id != m->controller_id)
            continue;
        kclient_t ctl;
        if (kclient_connect_to(&ctl, PROG, kstr_dup(a, m->brokers[i].host), m->brokers[i].port,
                               30000) < 0)
            return NULL;
        struct list_partition_reassignments_request rq;
        list_partition_reassignments_request_defaults(&rq);
        rq.topics_count = -1;
        struct list_partition_reassignments_response *resp = arena_alloc(a, sizeof(*resp));
        int16_t v = kclient_version(&ctl, 46, 0) < 0
            ? -1 : kclient_rpc(&ctl, a, "ListPartitionReassignments", 0, &rq, resp);
        kclient_close(&ctl);
        return v < 0 || resp->error_code ? NULL : resp;
    }
    return NULL;
}

static const struct list_partition_reassignments_response_ongoing_partition_reassignment *
reassignment_of(const struct list_partition_reassignments_response *r, kstr_t topic, int32_t p)
{
    for (int i = 0; r && i < r->topics_count; i++) {
        if (r->topics[i].name.len != topic.len || memcmp(r->topics[i].name.ptr, topic.ptr, (size_t)topic.len))
            continue;
        for (int k = 0; k < r->topics[i].partitions_count; k++)
            if (r->topics[i].partitions[k].partition_index == p)
                return &r->topics[i].partitions[k];
    }
    return NULL;
}

static int do_describe(kclient_t *c, rd_kafka_t *rk, arena_t *a, const opts_t *o)
{
    struct metadata_response *m = fetch_metadata(c, a, o->topic);
    struct list_partition_reassignments_response *moving = reassignments(a, m);
    qsort(m->topics, (size_t)m->topics_count, sizeof(m->topics[0]), topic_cmp);
    int shown = 0;
    for (int i = 0; i < m->topics_count; i++) {
        struct metadata_response_metadata_response_topic *t = &m->topics[i];
        if (t->error_code == 3) {
            if (o->if_exists)
                return 0;
            fprintf(stdout, "Error while executing topic command : Topic '%s' does not exist as expected\n",
                    o->topic);
            return 1;
        }
        if (t->error_code || (o->exclude_internal && t->is_internal))
            continue;
        shown++;
        int rf = t->partitions_count > 0 ? t->partitions[0].replica_nodes_count : 0;
        const struct list_partition_reassignments_response_ongoing_partition_reassignment *r0 =
            t->partitions_count > 0 ? reassignment_of(moving, t->name, t->partitions[0].partition_index) : NULL;
        if (r0)     /* the target's size while replicas are being added */
            rf = r0->replicas_count - r0->adding_replicas_count;
        printf("Topic: %.*s", t->name.len, t->name.ptr);
        if (!kuuid_is_zero(t->topic_id)) {
            char id[23];
            uuid_b64(&t->topic_id, id);
            printf("\tTopicId: %s", id);
        }
        printf("\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", t->partitions_count, rf,
               topic_configs(rk, a, t->name));
        for (int p = 0; p < t->partitions_count; p++) {
            struct metadata_response_metadata_response_partition *pp = &t->partitions[p];
            printf("\tTopic: %.*s\tPartition: %d\tLeader: ", t->name.len, t->name.ptr,
                   pp->partition_index);
            if (pp->leader_id < 0)
                printf("none");
            else
                printf("%d", pp->leader_id);
            printf("\tReplicas: %s\tIsr: %s", id_list(a, pp->replica_nodes, pp->replica_nodes_count),
                   id_list(a, pp->isr_nodes, pp->isr_nodes_count));
            const struct list_partition_reassignments_response_ongoing_partition_reassignment *r =
                reassignment_of(moving, t->name, pp->partition_index);
            if (r)
                printf("\tAdding Replicas: %s\tRemoving Replicas: %s",
                       id_list(a, r->adding_replicas, r->adding_replicas_count),
                       id_list(a, r->removing_replicas, r->removing_replicas_count));
            printf("\n");
        }
    }
    (void)shown;
    return 0;
}

/* Kafka's messages for a failed --delete or --alter of one topic; 0 if
 * e is no error (or a missing topic with --if-exists). */
static int report_topic_error(const opts_t *o, rd_kafka_resp_err_t e, const char *msg)
{
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        if (o->if_exists)
            return 0;
        fprintf(stdout, "Error while executing topic command : Topic '%s' does not exist as "
                        "expected\n", o->topic);
        return 1;
    }
    if (!e)
        return 0;
    fprintf(stdout, "Error while executing topic command : %s\n",
            e == RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED ? "Topic deletion is disabled."
            : msg                                          ? msg
                                                           : rd_kafka_err2str(e));
    return 1;
}

static int do_delete(rd_kafka_t *rk, const opts_t *o)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(o->topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = tool_admin_options(PROG, rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, 30000);
    rd_kafka_DeleteTopics(rk, &dt, 1, ao, q);
    rd_kafka_event_t *ev = tool_admin_result(PROG, q);
    size_t n;
    const char *msg;
    const rd_kafka_topic_result_t **res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    rd_kafka_resp_err_t e = tool_topic_result(res, n, &msg);
    (void)msg;      /* Kafka prints its own words for deletion errors */
    int rc = report_topic_error(o, e, NULL);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
    return rc;
}

/* Kafka's alterTopic: CreatePartitions up to --partitions, silent when
 * it works. */
static int do_alter(rd_kafka_t *rk, const opts_t *o)
{
    char err[512];
    rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(o->topic, (size_t)o->partitions,
                                                              err, sizeof(err));
    if (!np)
        tool_die(PROG, "%s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = tool_admin_options(PROG, rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS,
                                                     30000);
    rd_kafka_CreatePartitions(rk, &np, 1, ao, q);
    rd_kafka_event_t *ev = tool_admin_result(PROG, q);
    size_t n;
    const char *msg;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
    rd_kafka_resp_err_t e = tool_topic_result(res, n, &msg);
    int rc = report_topic_error(o, e, msg);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewPartitions_destroy(np);
    return rc;
}

/* Kafka 2.x's --zookeeper mode (create, list, describe, delete). */
static int zookeeper_mode(const opts_t *o)
{
    if (o->action == OPT_ALTER)
        tool_die(PROG, "--alter is not supported with --zookeeper; use --bootstrap-server");
    if (o->action == OPT_CREATE && (o->partitions < 0 || o->rf < 0))
        tool_die(PROG, "Missing required argument \"[partitions]\" or \"[replication-factor]\"");
    topics_zk_t z = {
        .connect = o->zookeeper, .topic = o->topic, .partitions = o->partitions,
        .replication_factor = o->rf, .config_k = (const char **)o->config_k,
        .config_v = (const char **)o->config_v, .n_config = o->n_config,
        .if_exists = o->if_exists, .if_not_exists = o->if_not_exists,
        .exclude_internal = o->exclude_internal, .disable_rack_aware = o->disable_rack_aware,
        .action = o->action == OPT_CREATE   ? TOPICS_ZK_CREATE
                  : o->action == OPT_LIST   ? TOPICS_ZK_LIST
                  : o->action == OPT_DELETE ? TOPICS_ZK_DELETE
                                            : TOPICS_ZK_DESCRIBE,
    };
    return topics_zookeeper(&z);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
        { "zookeeper", required_argument, NULL, OPT_ZOOKEEPER },
        { "create", no_argument, NULL, OPT_CREATE },
        { "list", no_argument, NULL, OPT_LIST },
        { "describe", no_argument, NULL, OPT_DESCRIBE },
        { "delete", no_argument, NULL, OPT_DELETE },
        { "alter", no_argument, NULL, OPT_ALTER },
        { "topic", required_argument, NULL, OPT_TOPIC },
        { "partitions", required_argument, NULL, OPT_PARTITIONS },
        { "replication-factor", required_argument, NULL, OPT_RF },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "if-exists", no_argument, NULL, OPT_IF_EXISTS },
        { "if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS },
        { "exclude-internal", no_argument, NULL, OPT_EXCLUDE_INTERNAL },
        { "disable-rack-aware", no_argument, NULL, OPT_DISABLE_RACK_AWARE },
        { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opts_t o = { .partitions = -1, .rf = -1 };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_BOOTSTRAP: o.bootstrap = optarg; break;
        case OPT_ZOOKEEPER: o.zookeeper = optarg; break;
        case OPT_CREATE: case OPT_LIST: case OPT_DESCRIBE: case OPT_DELETE: case OPT_ALTER:
            if (o.action && o.action != ch)
                tool_die(PROG, "Command must include exactly one action: --list, --describe, --create, --alter or --delete");
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
        case OPT_DISABLE_RACK_AWARE: o.disable_rack_aware = true; break;
        case OPT_COMMAND_CONFIG: o.command_config = optarg; break;
        case OPT_HELP: usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!o.bootstrap == !o.zookeeper) {
        usage(stderr);
        tool_die(PROG, "Only one of --bootstrap-server or --zookeeper must be specified");
    }
    if (!o.action)
        tool_die(PROG, "Command must include exactly one action: --list, --describe, --create, --alter or --delete");
    if ((o.action == OPT_CREATE || o.action == OPT_DELETE || o.action == OPT_ALTER) && !o.topic)
        tool_die(PROG, "Missing required argument \"[topic]\"");
    if (o.action == OPT_ALTER && o.partitions < 0)
        tool_die(PROG, "Option \"[alter]\" requires \"[partitions]\" (samsa-topics alters "
                       "only the partition count)");
    if (o.zookeeper)
        return zookeeper_mode(&o);
    rd_kafka_t *rk = tool_admin_new(PROG, o.bootstrap, o.command_config);
    int rc;
    if (o.action == OPT_CREATE || o.action == OPT_DELETE || o.action == OPT_ALTER) {
        rc = o.action == OPT_CREATE ? do_create(rk, &o)
             : o.action == OPT_ALTER ? do_alter(rk, &o)
                                     : do_delete(rk, &o);
    } else {
        kclient_t c;
        if (kclient_connect(&c, PROG, o.bootstrap, 30000) < 0)
            tool_die(PROG, "Cannot connect to %s", o.bootstrap);
        arena_t a;
        arena_init(&a);
        rc = o.action == OPT_LIST ? do_list(&c, &a, &o) : do_describe(&c, rk, &a, &o);
        arena_free(&a);
        kclient_close(&c);
    }
    rd_kafka_destroy(rk);
    return rc;
}
