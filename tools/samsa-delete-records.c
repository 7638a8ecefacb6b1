/*
 * samsa-delete-records - kafka-delete-records.sh (Kafka 3.9's
 * DeleteRecordsCommand) for samsa: moves the log start offset of the
 * partitions in --offset-json-file ({"partitions": [{"topic", "partition",
 * "offset"}], "version": 1}; offset -1 means the high watermark) and
 * prints each partition's new low watermark, or its error, as Kafka does.
 * DeleteRecords goes to each partition's leader with the broker's codecs.
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

#define PROG "samsa-delete-records"

enum { OPT_BOOTSTRAP = 1000, OPT_OFFSET_JSON, OPT_COMMAND_CONFIG, OPT_HELP };

typedef struct target {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader;
    int16_t error;
    int64_t low_watermark;
} target_t;

static void fail(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
    exit(1);
}

/* Kafka's parseOffsetJsonStringWithoutDedup, then its duplicate check. */
static int parse_targets(const char *path, target_t **out)
{
    json_error_t jerr;
    json_t *js = json_load_file(path, 0, &jerr);
    if (!js)
        tool_die(PROG, "Cannot read %s: %s", path, jerr.text);
    json_t *v = json_object_get(js, "version");
    if (v && json_integer_value(v) != 1) {
        fprintf(stderr, "Not supported version field value %lld\n",
                (long long)json_integer_value(v));
        exit(1);
    }
    json_t *parts = json_object_get(js, "partitions");
    if (!json_is_array(parts))
        fail("Missing partitions field");
    size_t n = json_array_size(parts);
    target_t *t = xcalloc(n + 1, sizeof(*t));
    char dups[1024] = "";
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(parts, i);
        const char *topic = json_string_value(json_object_get(p, "topic"));
        json_t *part = json_object_get(p, "partition"), *off = json_object_get(p, "offset");
        if (!topic || !json_is_integer(part) || !json_is_integer(off))
            fail("Missing topic, partition or offset field");
        t[i] = (target_t){ xstrdup(topic), (int32_t)json_integer_value(part),
                           json_integer_value(off), -1, 0, -1 };
        for (size_t k = 0; k < i; k++)
            if (!strcmp(t[k].topic, topic) && t[k].partition == t[i].partition) {
                size_t len = strlen(dups);
                snprintf(dups + len, sizeof(dups) - len, "%s%s-%d", len ? "," : "", topic,
                         t[i].partition);
            }
    }
    json_decref(js);
    if (dups[0]) {
        fprintf(stderr, "Offset json file contains duplicate topic partitions: %s\n", dups);
        for (size_t i = 0; i < n; i++)
            free(t[i].topic);
        free(t);
        exit(1);
    }
    *out = t;
    return (int)n;
}

static void delete_on(arena_t *a, const struct metadata_response *m, target_t *t, int n,
                      int32_t leader)
{
    kclient_t c;
    if (tool_connect_broker(&c, a, PROG, m, leader) < 0) {
        for (int i = 0; i < n; i++)
            if (t[i].leader == leader)
                t[i].error = KERR_NETWORK_EXCEPTION;
        return;
    }
    struct delete_records_request rq;
    delete_records_request_defaults(&rq);
    rq.timeout_ms = 30000;
    rq.topics = delete_records_request_delete_records_topic_array(a, n);
    for (int i = 0; i < n; i++) {
        if (t[i].leader != leader)
            continue;
        struct delete_records_request_delete_records_topic *dt = &rq.topics[rq.topics_count++];
        dt->name = kstr_from_cstr(t[i].topic);
        dt->partitions_count = 1;
        dt->partitions = delete_records_request_delete_records_partition_array(a, 1);
        dt->partitions[0].partition_index = t[i].partition;
        dt->partitions[0].offset = t[i].offset;
    }
    struct delete_records_response resp;
    tool_rpc(&c, a, PROG, "DeleteRecords", 2, &rq, &resp);
    for (int k = 0; k < resp.topics_count; k++)
        for (int p = 0; p < resp.topics[k].partitions_count; p++)
            for (int i = 0; i < n; i++) {
                const struct delete_records_response_delete_records_partition_result *r =
                    &resp.topics[k].partitions[p];
                if (t[i].leader == leader && kstr_eq_cstr(resp.topics[k].name, t[i].topic) &&
                    t[i].partition == r->partition_index) {
                    t[i].error = r->error_code;
                    t[i].low_watermark = r->low_watermark;
                }
            }
    kclient_close(&c);
}

/* The leader of each target; UNKNOWN_TOPIC_OR_PARTITION where none. */
static void find_leaders(const struct metadata_response *m, target_t *t, int n)
{
    for (int i = 0; i < n; i++) {
        t[i].error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        for (int k = 0; k < m->topics_count; k++) {
            if (!kstr_eq_cstr(m->topics[k].name, t[i].topic))
                continue;
            for (int p = 0; p < m->topics[k].partitions_count; p++)
                if (m->topics[k].partitions[p].partition_index == t[i].partition) {
                    t[i].leader = m->topics[k].partitions[p].leader_id;
                    t[i].error = t[i].leader < 0 ? KERR_LEADER_NOT_AVAILABLE : KERR_NONE;
                }
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
        { "offset-json-file", required_argument, NULL, OPT_OFFSET_JSON },
        { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *bootstrap = NULL, *json = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_BOOTSTRAP: bootstrap = optarg; break;
        case OPT_OFFSET_JSON: json = optarg; break;
        case OPT_COMMAND_CONFIG: break;     /* PLAINTEXT only so far: nothing to apply */
        case OPT_HELP:
            printf("Usage: " PROG " --bootstrap-server HOST:PORT --offset-json-file FILE\n");
            return 0;
        default: return 1;
        }
    }
    if (!bootstrap || !json)
        tool_die(PROG, "Missing required argument \"[%s]\"",
                 !bootstrap ? "bootstrap-server" : "offset-json-file");
    target_t *t;
    int n = parse_targets(json, &t);
    kclient_t c;
    arena_t a;
    const struct metadata_response *m = tool_bootstrap(&c, &a, PROG, bootstrap, false);
    find_leaders(m, t, n);
    printf("Executing records delete operation\n");
    for (int i = 0; i < n; i++) {
        bool first = t[i].error == KERR_NONE;
        for (int k = 0; k < i && first; k++)
            first = t[k].error != KERR_NONE || t[k].leader != t[i].leader;
        if (first)
            delete_on(&a, m, t, n, t[i].leader);
    }
    printf("Records delete operation completed:\n");
    for (int i = 0; i < n; i++) {
        if (t[i].error)
            printf("partition: %s-%d\terror: %s\n", t[i].topic,
                   t[i].partition, kafka_error_name(t[i].error));
        else
            printf("partition: %s-%d\tlow_watermark: %lld\n", t[i].topic, t[i].partition,
                   (long long)t[i].low_watermark);
        free(t[i].topic);
    }
    free(t);
    arena_free(&a);
    kclient_close(&c);
    return 0;
}
