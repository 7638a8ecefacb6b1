/*
 * samsa-log-dirs - kafka-log-dirs.sh (Kafka 3.9's LogDirsCommand) for
 * samsa: --describe asks each broker (all, or --broker-list) for its log
 * dirs with DescribeLogDirs and prints Kafka's three lines, the last one
 * JSON: {"brokers":[{"broker":ID,"logDirs":[{"partitions":[{"partition":
 * "t-0","size":N,"offsetLag":0,"isFuture":false}],"error":null,"logDir":
 * PATH}]}],"version":1}, partitions filtered by --topic-list.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "proto_messages.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-log-dirs"

enum { OPT_BOOTSTRAP = 1000, OPT_DESCRIBE, OPT_TOPICS, OPT_BROKERS, OPT_COMMAND_CONFIG,
       OPT_HELP };

static bool listed(const char *list, const char *item)
{
    if (!list || !*list)
        return true;
    char *copy = xstrdup(list);
    bool hit = false;
    for (char *save, *t = strtok_r(copy, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save))
        hit = !strcmp(t, item);
    free(copy);
    return hit;
}

/* One broker's log dirs as Kafka's tool prints them. */
static json_t *broker_dirs(arena_t *a, const struct metadata_response *m, int32_t id,
                           const char *topics)
{
    kclient_t c;
    if (tool_connect_broker(&c, a, PROG, m, id) < 0)
        tool_die(PROG, "Cannot connect to broker %d", id);
    struct describe_log_dirs_request rq;
    describe_log_dirs_request_defaults(&rq);
    rq.topics_count = -1;
    struct describe_log_dirs_response resp;
    tool_rpc(&c, a, PROG, "DescribeLogDirs", 4, &rq, &resp);
    kclient_close(&c);
    json_t *dirs = json_array();
    for (int d = 0; d < resp.results_count; d++) {
        const struct describe_log_dirs_response_describe_log_dirs_result *r = &resp.results[d];
        json_t *parts = json_array();
        for (int t = 0; t < r->topics_count; t++) {
            char *name = kstr_dup(a, r->topics[t].name);
            if (!listed(topics, name))
                continue;
            for (int p = 0; p < r->topics[t].partitions_count; p++) {
                const struct describe_log_dirs_response_describe_log_dirs_partition *q =
                    &r->topics[t].partitions[p];
                char tp[300];
                snprintf(tp, sizeof(tp), "%s-%d", name, q->partition_index);
                json_array_append_new(parts, json_pack("{s:s,s:I,s:I,s:b}", "partition", tp,
                                                       "size", (json_int_t)q->partition_size,
                                                       "offsetLag", (json_int_t)q->offset_lag,
                                                       "isFuture", q->is_future_key));
            }
        }
        json_t *dir = json_object();
        json_object_set_new(dir, "partitions", parts);
        json_object_set_new(dir, "error", r->error_code ? json_string(kafka_error_name(
                                                              r->error_code))
                                                        : json_null());
        json_object_set_new(dir, "logDir", json_string(kstr_dup(a, r->log_dir)));
        json_array_append_new(dirs, dir);
    }
    return json_pack("{s:i,s:o}", "broker", id, "logDirs", dirs);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
        { "describe", no_argument, NULL, OPT_DESCRIBE },
        { "topic-list", required_argument, NULL, OPT_TOPICS },
        { "broker-list", required_argument, NULL, OPT_BROKERS },
        { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *bootstrap = NULL, *topics = NULL, *brokers = NULL;
    bool describe = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_BOOTSTRAP: bootstrap = optarg; break;
        case OPT_DESCRIBE: describe = true; break;
        case OPT_TOPICS: topics = optarg; break;
        case OPT_BROKERS: brokers = optarg; break;
        case OPT_COMMAND_CONFIG: break;     /* PLAINTEXT only so far: nothing to apply */
        case OPT_HELP:
            printf("Usage: " PROG " --bootstrap-server HOST:PORT --describe [--topic-list T1,T2]"
                   " [--broker-list B1,B2]\n");
            return 0;
        default: return 1;
        }
    }
    if (!bootstrap)
        tool_die(PROG, "Missing required argument \"[bootstrap-server]\"");
    if (!describe)
        tool_die(PROG, "Missing required argument \"[describe]\"");
    kclient_t c;
    arena_t a;
    const struct metadata_response *m = tool_bootstrap(&c, &a, PROG, bootstrap, true);
    char missing[512] = "", existing[512] = "", all[512] = "";
    for (int i = 0; i < m->brokers_count; i++) {
        size_t len = strlen(all);
        snprintf(all + len, sizeof(all) - len, "%s%d", len ? "," : "", m->brokers[i].node_id);
    }
    char *copy = xstrdup(brokers ? brokers : "");
    for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool known = false;
        for (int i = 0; i < m->brokers_count; i++)
            known |= m->brokers[i].node_id == atoi(t);
        size_t len = strlen(missing);
        if (!known)
            snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? "," : "", t);
    }
    free(copy);
    if (missing[0]) {
        fprintf(stderr, "ERROR: The given brokers do not exist from --broker-list: %s. Current "
                        "existent brokers: %s\n", missing, all);
        arena_free(&a);
        kclient_close(&c);
        return 1;
    }
    printf("Querying brokers for log directories information\n");
    json_t *list = json_array();
    for (int i = 0; i < m->brokers_count; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", m->brokers[i].node_id);
        if (!listed(brokers, id))
            continue;
        size_t len = strlen(existing);
        snprintf(existing + len, sizeof(existing) - len, "%s%s", len ? "," : "", id);
        json_array_append_new(list, broker_dirs(&a, m, m->brokers[i].node_id, topics));
    }
    printf("Received log directory information from brokers %s\n", existing);
    json_t *out = json_pack("{s:o,s:i}", "brokers", list, "version", 1);
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(out);
    arena_free(&a);
    kclient_close(&c);
    return 0;
}
