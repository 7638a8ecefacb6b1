/*
 * samsa-get-offsets - kafka-get-offsets.sh (Kafka 3.9's GetOffsetShell)
 * for samsa: the offset of every matching partition for --time (latest,
 * earliest, max-timestamp, earliest-local, latest-tiered or a timestamp),
 * printed as topic:partition:offset, sorted as Kafka sorts them (by
 * "topic-partition" text).  ListOffsets goes to each partition's leader
 * with the broker's generated codecs.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.h"
#include "proto_messages.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-get-offsets"

enum { OPT_BOOTSTRAP = 1000, OPT_BROKER_LIST, OPT_TOPIC, OPT_PARTITIONS, OPT_TOPIC_PARTITIONS,
       OPT_TIME, OPT_EXCLUDE_INTERNAL, OPT_COMMAND_CONFIG, OPT_HELP };

/* One --topic-partitions rule (or --topic with --partitions). */
typedef struct rule {
    regex_t topic;
    bool any_topic;
    int32_t lo, hi;             /* partitions [lo, hi]; hi < 0: no upper bound */
    const char *ids;            /* --partitions: a comma list of ids, or NULL */
} rule_t;

typedef struct found {
    char key[300];              /* "topic-partition", Kafka's sort key */
    char *topic;
    int32_t partition;
    int32_t leader;
    int64_t offset;
} found_t;

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " --bootstrap-server HOST:PORT [--topic REGEX [--partitions IDS] |\n"
               "       --topic-partitions PATTERNS] [--time latest|earliest|max-timestamp|TS]\n"
               "       [--exclude-internal-topics]\n");
}

static void compile_topic(rule_t *r, const char *re)
{
    if (!re || !*re) {
        r->any_topic = true;
        return;
    }
    char *anchored = xmalloc(strlen(re) + 5);
    sprintf(anchored, "^(%s)$", re);
    if (regcomp(&r->topic, anchored, REG_EXTENDED | REG_NOSUB))
        tool_die(PROG, "Invalid topic pattern %s", re);
    free(anchored);
}

/* TopicPattern(:PartitionPattern)? | :PartitionPattern, PartitionPattern
 * NUMBER | NUMBER-(NUMBER)? | -NUMBER (an exclusive upper bound). */
static void parse_rule(rule_t *r, char *spec)
{
    *r = (rule_t){ .lo = 0, .hi = -1 };
    char *colon = strrchr(spec, ':');
    if (colon)
        *colon = '\0';
    compile_topic(r, spec);
    if (!colon)
        return;
    char *p = colon + 1, *dash = strchr(p, '-');
    if (!dash) {
        r->lo = r->hi = atoi(p);
    } else {
        r->lo = dash == p ? 0 : atoi(p);
        r->hi = dash[1] ? atoi(dash + 1) - 1 : -1;
    }
}

static bool id_listed(const char *ids, int32_t p)
{
    char *copy = xstrdup(ids);
    bool hit = false;
    for (char *save, *t = strtok_r(copy, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save))
        hit = atoi(t) == p;
    free(copy);
    return hit;
}

static bool matches(const rule_t *rules, int n, const char *topic, int32_t p)
{
    for (int i = 0; i < n; i++) {
        const rule_t *r = &rules[i];
        if (!r->any_topic && regexec(&r->topic, topic, 0, NULL, 0))
            continue;
        if (r->ids ? id_listed(r->ids, p) : p >= r->lo && (r->hi < 0 || p <= r->hi))
            return true;
    }
    return false;
}

static void free_rules(rule_t *rules, int n, char *spec_copy)
{
    for (int i = 0; i < n; i++)
        if (!rules[i].any_topic)
            regfree(&rules[i].topic);
    free(spec_copy);
}

static int64_t parse_time(const char *s)
{
    static const char *const names[] = { "latest", "earliest", "max-timestamp",
                                         "earliest-local", "latest-tiered" };
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i]))
            return -1 - i;
    char *end;
    long long t = strtoll(s, &end, 10);
    if (!*s || *end) {
        fprintf(stderr, "Malformed time argument %s. Please use -1 or latest / -2 or earliest / "
                        "-3 or max-timestamp / -4 or earliest-local / -5 or latest-tiered, or a "
                        "specified long format timestamp\n", s);
        exit(1);
    }
    return t;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const found_t *)a)->key, ((const found_t *)b)->key);
}

/* ListOffsets (v7, isolation read_uncommitted as Kafka's Admin) for the
 * partitions led by one broker. */
static void list_offsets(arena_t *a, const struct metadata_response *m, found_t *f, int n,
                         int32_t leader, int64_t ts)
{
    kclient_t c;
    if (tool_connect_broker(&c, a, PROG, m, leader) < 0) {
        for (int i = 0; i < n; i++)
            if (f[i].leader == leader)
                fprintf(stderr, "Skip getting offsets for topic-partition %s due to error: "
                                "broker %d unreachable\n", f[i].key, leader);
        return;
    }
    struct list_offsets_request rq;
    list_offsets_request_defaults(&rq);
    rq.replica_id = -1;
    rq.topics = list_offsets_request_list_offsets_topic_array(a, n);
    for (int i = 0; i < n; i++) {
        if (f[i].leader != leader)
            continue;
        struct list_offsets_request_list_offsets_topic *t = &rq.topics[rq.topics_count++];
        t->name = kstr_from_cstr(f[i].topic);
        t->partitions_count = 1;
        t->partitions = list_offsets_request_list_offsets_partition_array(a, 1);
        t->partitions[0].partition_index = f[i].partition;
        t->partitions[0].timestamp = ts;
    }
    struct list_offsets_response resp;
    int16_t want = ts == -4 ? 8 : ts == -5 ? 9 : 7;
    tool_rpc(&c, a, PROG, "ListOffsets", want, &rq, &resp);
    for (int t = 0; t < resp.topics_count; t++)
        for (int p = 0; p < resp.topics[t].partitions_count; p++) {
            const struct list_offsets_response_list_offsets_partition_response *r =
                &resp.topics[t].partitions[p];
            for (int i = 0; i < n; i++) {
                if (!kstr_eq_cstr(resp.topics[t].name, f[i].topic) ||
                    f[i].partition != r->partition_index)
                    continue;
                if (r->error_code)
                    fprintf(stderr, "Skip getting offsets for topic-partition %s due to error: "
                                    "%s\n", f[i].key, kafka_error_name(r->error_code));
                else
                    f[i].offset = r->offset;
            }
        }
    kclient_close(&c);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP },
        { "broker-list", required_argument, NULL, OPT_BROKER_LIST },
        { "topic", required_argument, NULL, OPT_TOPIC },
        { "partitions", required_argument, NULL, OPT_PARTITIONS },
        { "topic-partitions", required_argument, NULL, OPT_TOPIC_PARTITIONS },
        { "time", required_argument, NULL, OPT_TIME },
        { "exclude-internal-topics", no_argument, NULL, OPT_EXCLUDE_INTERNAL },
        { "command-config", required_argument, NULL, OPT_COMMAND_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *bootstrap = NULL, *broker_list = NULL, *topic = NULL, *partitions = NULL;
    char *topic_partitions = NULL;
    int64_t ts = -1;
    bool exclude_internal = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_BOOTSTRAP: bootstrap = optarg; break;
        case OPT_BROKER_LIST: broker_list = optarg; break;
        case OPT_TOPIC: topic = optarg; break;
        case OPT_PARTITIONS: partitions = optarg; break;
        case OPT_TOPIC_PARTITIONS: topic_partitions = xstrdup(optarg); break;
        case OPT_TIME: ts = parse_time(optarg); break;
        case OPT_EXCLUDE_INTERNAL: exclude_internal = true; break;
        case OPT_COMMAND_CONFIG: break;     /* PLAINTEXT only so far: nothing to apply */
        case OPT_HELP: usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!bootstrap)
        bootstrap = broker_list;
    if (!bootstrap)
        tool_die(PROG, "Missing required argument \"[bootstrap-server]\"");
    if (topic_partitions && (topic || partitions)) {
        fprintf(stderr, "--topic-partitions cannot be used with --topic or --partitions\n");
        return 1;
    }
    rule_t rules[64];
    int n_rules = 0;
    if (topic_partitions) {
        for (char *save, *r = strtok_r(topic_partitions, ",", &save); r && n_rules < 64;
             r = strtok_r(NULL, ",", &save))
            parse_rule(&rules[n_rules++], r);
    } else {
        rules[0] = (rule_t){ .lo = 0, .hi = -1, .ids = partitions };
        compile_topic(&rules[0], topic);
        n_rules = 1;
    }
    kclient_t c;
    arena_t a;
    const struct metadata_response *m = tool_bootstrap(&c, &a, PROG, bootstrap, false);
    int total = 0;
    for (int t = 0; t < m->topics_count; t++)
        total += m->topics[t].partitions_count;
    found_t *f = arena_array(&a, (size_t)total + 1, sizeof(found_t));
    int n = 0;
    for (int t = 0; t < m->topics_count; t++) {
        char *name = kstr_dup(&a, m->topics[t].name);
        if (exclude_internal && m->topics[t].is_internal)
            continue;
        for (int p = 0; p < m->topics[t].partitions_count; p++) {
            int32_t id = m->topics[t].partitions[p].partition_index;
            if (!matches(rules, n_rules, name, id))
                continue;
            f[n] = (found_t){ .topic = name, .partition = id, .offset = -1,
                              .leader = m->topics[t].partitions[p].leader_id };
            snprintf(f[n].key, sizeof(f[n].key), "%s-%d", name, id);
            n++;
        }
    }
    if (n == 0) {
        fprintf(stderr, "Could not match any topic-partitions with the specified filters\n");
        free_rules(rules, n_rules, topic_partitions);
        arena_free(&a);
        kclient_close(&c);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        bool first = true;
        for (int k = 0; k < i && first; k++)
            first = f[k].leader != f[i].leader;
        if (first && f[i].leader >= 0)
            list_offsets(&a, m, f, n, f[i].leader, ts);
    }
    qsort(f, (size_t)n, sizeof(found_t), by_key);
    for (int i = 0; i < n; i++)
        if (f[i].offset != -1)
            printf("%s:%d:%lld\n", f[i].topic, f[i].partition, (long long)f[i].offset);
    free_rules(rules, n_rules, topic_partitions);
    arena_free(&a);
    kclient_close(&c);
    return 0;
}
