/*
 * samsa-consumer-groups - kafka-consumer-groups.sh for samsa (and any Kafka
 * broker): --list, --describe (--offsets, --members [--verbose], --state),
 * --reset-offsets, --delete and --delete-offsets, with Kafka's flags,
 * column layouts and messages.  Speaks the protocol with the broker's
 * generated codecs.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto_messages.h"
#include "tool_common.h"
#include "util.h"

#define PROG "samsa-consumer-groups"

enum { O_BOOTSTRAP = 1000, O_LIST, O_DESCRIBE, O_RESET, O_DELETE, O_DELETE_OFFSETS, O_GROUP,
       O_ALL_GROUPS, O_TOPIC, O_ALL_TOPICS, O_OFFSETS, O_MEMBERS, O_STATE, O_VERBOSE,
       O_TO_EARLIEST, O_TO_LATEST, O_TO_CURRENT, O_TO_OFFSET, O_SHIFT_BY, O_TO_DATETIME,
       O_BY_DURATION, O_DRY_RUN, O_EXECUTE, O_TIMEOUT, O_COMMAND_CONFIG, O_HELP };

enum reset_kind { R_NONE, R_EARLIEST, R_LATEST, R_CURRENT, R_OFFSET, R_SHIFT, R_DATETIME, R_DURATION };

typedef struct opts {
    const char *bootstrap;
    int action;
    const char *groups[64];
    int n_groups;
    bool all_groups;
    const char *topics[64];
    int n_topics;
    bool all_topics;
    int describe_what;          /* O_OFFSETS, O_MEMBERS, O_STATE */
    bool verbose;
    bool state_filter;
    const char *state_value;
    enum reset_kind reset;
    int64_t reset_value;
    bool dry_run, execute;
} opts_t;

typedef struct tp_row {
    char *topic;
    int32_t partition;
    int64_t current;            /* -1 = none */
    int64_t end;
    const char *consumer, *host, *client;
} tp_row_t;

static arena_t A;
static kclient_t C;

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " --bootstrap-server HOST:PORT (--list | --describe | --reset-offsets |\n"
               "       --delete | --delete-offsets) [--group G]... [--all-groups] [--topic T[:P,...]]...\n"
               "       [--all-topics] [--offsets | --members [--verbose] | --state [S]]\n"
               "       [--to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N |\n"
               "        --to-datetime YYYY-MM-DDTHH:mm:SS.sss | --by-duration PnDTnHnMnS]\n"
               "       [--dry-run | --execute]\n");
}

static const char *k2s(kstr_t s)
{
    char *d = kstr_dup(&A, s);
    return d ? d : "";
}

/* ---- protocol helpers ---- */

static struct metadata_response *metadata(const char **topics, int n)
{
    struct metadata_request rq;
    metadata_request_defaults(&rq);
    rq.allow_auto_topic_creation = false;
    if (topics) {
        rq.topics_count = n;
        rq.topics = metadata_request_metadata_request_topic_array(&A, n);
        for (int i = 0; i < n; i++)
            rq.topics[i].name = kstr_from_cstr(topics[i]);
    } else {
        rq.topics_count = -1;
    }
    struct metadata_response *resp = arena_alloc(&A, sizeof(*resp));
    kclient_rpc(&C, &A, "Metadata", 12, &rq, resp);
    return resp;
}

static int partition_count(const char *topic)
{
    struct metadata_response *m = metadata(&topic, 1);
    if (m->topics_count != 1 || m->topics[0].error_code)
        return -1;
    return m->topics[0].partitions_count;
}

/* ListOffsets for one partition at a timestamp (-1 latest, -2 earliest). */
static int64_t list_offset(const char *topic, int32_t partition, int64_t ts)
{
    struct list_offsets_request rq;
    list_offsets_request_defaults(&rq);
    rq.replica_id = -1;
    rq.topics_count = 1;
    rq.topics = list_offsets_request_list_offsets_topic_array(&A, 1);
    rq.topics[0].name = kstr_from_cstr(topic);
    rq.topics[0].partitions_count = 1;
    rq.topics[0].partitions = list_offsets_request_list_offsets_partition_array(&A, 1);
    rq.topics[0].partitions[0].partition_index = partition;
    rq.topics[0].partitions[0].timestamp = ts;
    struct list_offsets_response resp;
    kclient_rpc(&C, &A, "ListOffsets", 5, &rq, &resp);
    if (resp.topics_count != 1 || resp.topics[0].partitions_count != 1 ||
        resp.topics[0].partitions[0].error_code)
        return -1;
    return resp.topics[0].partitions[0].offset;
}

static struct describe_groups_response_described_group *describe(const char *group)
{
    struct describe_groups_request rq;
    describe_groups_request_defaults(&rq);
    rq.groups_count = 1;
    rq.groups = arena_array(&A, 1, sizeof(kstr_t));
    rq.groups[0] = kstr_from_cstr(group);
    struct describe_groups_response *resp = arena_alloc(&A, sizeof(*resp));
    kclient_rpc(&C, &A, "DescribeGroups", 5, &rq, resp);
    if (resp->groups_count != 1)
        tool_die(PROG, "DescribeGroups returned no group");
    return &resp->groups[0];
}

static struct offset_fetch_response *fetch_offsets(const char *group)
{
    struct offset_fetch_request rq;
    offset_fetch_request_defaults(&rq);
    rq.group_id = kstr_from_cstr(group);
    rq.topics_count = -1;
    struct offset_fetch_response *resp = arena_alloc(&A, sizeof(*resp));
    kclient_rpc(&C, &A, "OffsetFetch", 7, &rq, resp);
    return resp;
}

/* ---- assignment decoding ---- */

typedef struct member_parts {
    struct describe_groups_response_described_group_member *m;
    struct consumer_protocol_assignment asg;
    int n_partitions;
} member_parts_t;

static member_parts_t *decode_members(struct describe_groups_response_described_group *g)
{
    member_parts_t *mp = arena_array(&A, (size_t)g->members_count + 1, sizeof(*mp));
    for (int i = 0; i < g->members_count; i++) {
        mp[i].m = &g->members[i];
        consumer_protocol_assignment_defaults(&mp[i].asg);
        kbytes_t b = g->members[i].member_assignment;
        if (b.len >= 2) {
            kreader_t r;
            kr_init(&r, b.ptr, (size_t)b.len, &A);
            int16_t v = kr_int16(&r);
            if (consumer_protocol_assignment_decode(&r, MIN(v, CONSUMER_PROTOCOL_ASSIGNMENT_MAX_VERSION),
                                                    &mp[i].asg) < 0)
                consumer_protocol_assignment_defaults(&mp[i].asg);
        }
        for (int t = 0; t < mp[i].asg.assigned_partitions_count; t++)
            mp[i].n_partitions += MAX(mp[i].asg.assigned_partitions[t].partitions_count, 0);
    }
    return mp;
}

/* ---- describe ---- */

static int width(int base, int n, const char **vals)
{
    int w = base;
    for (int i = 0; i < n; i++)
        w = MAX(w, (int)strlen(vals[i]));
    return w;
}

static int cmp_rows(const void *a, const void *b)
{
    const tp_row_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : x->partition - y->partition;
}

static const char *num_or_dash(int64_t v)
{
    return v < 0 ? "-" : arena_printf(&A, "%lld", (long long)v);
}

/* Returns false if the group does not exist (message printed). */
static bool check_state(const char *group, struct describe_groups_response_described_group *g,
                        bool has_offsets)
{
    const char *state = k2s(g->group_state);
    if (!strcmp(state, "Dead") && !has_offsets) {
        fprintf(stderr, "Error: Consumer group '%s' does not exist.\n", group);
        return false;
    }
    if (!strcmp(state, "Empty") || !strcmp(state, "Dead"))
        fprintf(stderr, "\nConsumer group '%s' has no active members.\n", group);
    else if (!strcmp(state, "PreparingRebalance") || !strcmp(state, "CompletingRebalance"))
        fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", group);
    return true;
}

static int describe_offsets(const char *group)
{
    struct describe_groups_response_described_group *g = describe(group);
    struct offset_fetch_response *of = fetch_offsets(group);
    int n_off = 0;
    for (int t = 0; t < of->topics_count; t++)
        n_off += MAX(of->topics[t].partitions_count, 0);
    if (!check_state(group, g, n_off > 0))
        return 1;
    member_parts_t *mp = decode_members(g);
    int cap = n_off + 1;
    for (int i = 0; i < g->members_count; i++)
        cap += mp[i].n_partitions;
    tp_row_t *rows = arena_array(&A, (size_t)cap, sizeof(*rows));
    int n = 0;
    for (int i = 0; i < g->members_count; i++)
        for (int t = 0; t < mp[i].asg.assigned_partitions_count; t++) {
            struct consumer_protocol_assignment_topic_partition *tp = &mp[i].asg.assigned_partitions[t];
            for (int p = 0; p < tp->partitions_count; p++)
                rows[n++] = (tp_row_t){ (char *)k2s(tp->topic), tp->partitions[p], -1, -1,
                                        k2s(mp[i].m->member_id), k2s(mp[i].m->client_host),
                                        k2s(mp[i].m->client_id) };
        }
    for (int t = 0; t < of->topics_count; t++)
        for (int p = 0; p < of->topics[t].partitions_count; p++) {
            const char *topic = k2s(of->topics[t].name);
            int32_t part = of->topics[t].partitions[p].partition_index;
            int64_t off = of->topics[t].partitions[p].committed_offset;
            int j;
            for (j = 0; j < n && !(rows[j].partition == part && !strcmp(rows[j].topic, topic)); j++)
                ;
            if (j == n)
                rows[n++] = (tp_row_t){ (char *)topic, part, -1, -1, "-", "-", "-" };
            rows[j].current = off;
        }
    qsort(rows, (size_t)n, sizeof(*rows), cmp_rows);
    const char **cols = arena_array(&A, (size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        rows[i].end = list_offset(rows[i].topic, rows[i].partition, -1);
    for (int i = 0; i < n; i++) cols[i] = rows[i].topic;
    int wt = width(15, n, cols);
    for (int i = 0; i < n; i++) cols[i] = rows[i].consumer;
    int wc = width(15, n, cols);
    for (int i = 0; i < n; i++) cols[i] = rows[i].host;
    int wh = width(15, n, cols);
    int wg = MAX(15, (int)strlen(group));
    printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", wg, "GROUP", wt, "TOPIC", "PARTITION",
           "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh, "HOST", "CLIENT-ID");
    for (int i = 0; i < n; i++) {
        tp_row_t *r = &rows[i];
        int64_t lag = r->current >= 0 && r->end >= 0 ? r->end - r->current : -1;
        printf("%-*s %-*s %-10d %-15s %-15s %-15s %-*s %-*s %s\n", wg, group, wt, r->topic, r->partition,
               num_or_dash(r->current), num_or_dash(r->end), num_or_dash(lag), wc, r->consumer, wh,
               r->host, r->client);
    }
    return 0;
}

static int describe_members(const char *group, bool verbose)
{
    struct describe_groups_response_described_group *g = describe(group);
    if (!check_state(group, g, false))
        return 1;
    member_parts_t *mp = decode_members(g);
    int n = g->members_count;
    bool any_instance = false;
    const char **ids = arena_array(&A, (size_t)n + 1, sizeof(char *));
    const char **insts = arena_array(&A, (size_t)n + 1, sizeof(char *));
    const char **hosts = arena_array(&A, (size_t)n + 1, sizeof(char *));
    const char **clients = arena_array(&A, (size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        ids[i] = k2s(mp[i].m->member_id);
        insts[i] = mp[i].m->group_instance_id.len >= 0 ? k2s(mp[i].m->group_instance_id) : "-";
        any_instance |= mp[i].m->group_instance_id.len >= 0;
        hosts[i] = k2s(mp[i].m->client_host);
        clients[i] = k2s(mp[i].m->client_id);
    }
    int wg = MAX(15, (int)strlen(group)), wi = width(15, n, ids), wn = width(17, n, insts);
    int wh = width(15, n, hosts), wc = width(15, n, clients);
    printf("\n%-*s %-*s ", wg, "GROUP", wi, "CONSUMER-ID");
    if (any_instance)
        printf("%-*s ", wn, "GROUP-INSTANCE-ID");
    printf("%-*s %-*s %-15s %s\n", wh, "HOST", wc, "CLIENT-ID", "#PARTITIONS", verbose ? "ASSIGNMENT" : "");
    for (int i = 0; i < n; i++) {
        printf("%-*s %-*s ", wg, group, wi, ids[i]);
        if (any_instance)
            printf("%-*s ", wn, insts[i]);
        printf("%-*s %-*s %-15d ", wh, hosts[i], wc, clients[i], mp[i].n_partitions);
        if (verbose) {
            for (int t = 0; t < mp[i].asg.assigned_partitions_count; t++) {
                struct consumer_protocol_assignment_topic_partition *tp = &mp[i].asg.assigned_partitions[t];
                printf("%s%s(", t ? ", " : "", k2s(tp->topic));
                for (int p = 0; p < tp->partitions_count; p++)
                    printf("%s%d", p ? "," : "", tp->partitions[p]);
                printf(")");
            }
            if (mp[i].asg.assigned_partitions_count <= 0)
                printf("-");
        }
        printf("\n");
    }
    return 0;
}

static struct find_coordinator_response *find_coordinator(const char *group)
{
    struct find_coordinator_request rq;
    find_coordinator_request_defaults(&rq);
    rq.key = kstr_from_cstr(group);
    struct find_coordinator_response *resp = arena_alloc(&A, sizeof(*resp));
    kclient_rpc(&C, &A, "FindCoordinator", 3, &rq, resp);
    return resp;
}

static int describe_state(const char *group)
{
    struct describe_groups_response_described_group *g = describe(group);
    if (!check_state(group, g, false))
        return 1;
    struct find_coordinator_response *fc = find_coordinator(group);
    const char *coord = arena_printf(&A, "%s:%d (%d)", k2s(fc->host), fc->port, fc->node_id);
    int wg = MAX(25, (int)strlen(coord));
    printf("\n%-*s %-25s %-20s %-15s %s\n", wg, "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY",
           "STATE", "#MEMBERS");
    printf("%-*s %-25s %-20s %-15s %d\n", wg, group, coord, k2s(g->protocol_data), k2s(g->group_state),
           g->members_count);
    return 0;
}

/* ---- list / delete ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ListGroups, asked again while the broker is still loading groups
 * (COORDINATOR_LOAD_IN_PROGRESS is retriable, as Kafka's admin client
 * treats it), for up to 30 s. */
static void list_groups(struct list_groups_request *rq, struct list_groups_response *resp)
{
    for (int attempt = 0; attempt < 150; attempt++) {
        kclient_rpc(&C, &A, "ListGroups", 4, rq, resp);
        if (resp->error_code != 14)
            return;
        struct timespec ts = { 0, 200 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static int do_list(const opts_t *o)
{
    struct list_groups_request rq;
    list_groups_request_defaults(&rq);
    if (o->state_filter && o->state_value) {
        rq.states_filter_count = 1;
        rq.states_filter = arena_array(&A, 1, sizeof(kstr_t));
        rq.states_filter[0] = kstr_from_cstr(o->state_value);
    }
    struct list_groups_response resp;
    list_groups(&rq, &resp);
    int n = resp.groups_count;
    char **lines = arena_array(&A, (size_t)n + 1, sizeof(char *));
    int maxlen = 5;
    for (int i = 0; i < n; i++)
        maxlen = MAX(maxlen, resp.groups[i].group_id.len);
    for (int i = 0; i < n; i++) {
        const char *id = k2s(resp.groups[i].group_id);
        if (o->state_filter) {
            const char *st = k2s(resp.groups[i].group_state);
            if (o->state_value && strcasecmp(st, o->state_value))
                continue;
            lines[i] = arena_printf(&A, "%-*s %-20s", maxlen + 10, id, st);
        } else {
            lines[i] = (char *)id;
        }
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (lines[i])
            lines[k++] = lines[i];
    qsort(lines, (size_t)k, sizeof(char *), cmp_str);
    if (o->state_filter)
        printf("%-*s %-20s\n", maxlen + 10, "GROUP", "STATE");
    for (int i = 0; i < k; i++)
        printf("%s\n", lines[i]);
    return 0;
}

static const char *error_text(int16_t code)
{
    switch (code) {
    case 68: return "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.";
    case 69: return "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.";
    case 86: return "org.apache.kafka.common.errors.GroupSubscribedToTopicException: Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.";
    case 15: return "org.apache.kafka.common.errors.CoordinatorNotAvailableException: The coordinator is not available.";
    default: return arena_printf(&A, "error code %d", code);
    }
}

static int do_delete(const opts_t *o)
{
    struct delete_groups_request rq;
    delete_groups_request_defaults(&rq);
    rq.groups_names_count = o->n_groups;
    rq.groups_names = arena_array(&A, (size_t)o->n_groups + 1, sizeof(kstr_t));
    for (int i = 0; i < o->n_groups; i++)
        rq.groups_names[i] = kstr_from_cstr(o->groups[i]);
    struct delete_groups_response resp;
    kclient_rpc(&C, &A, "DeleteGroups", 2, &rq, &resp);
    int failed = 0;
    for (int i = 0; i < resp.results_count; i++)
        failed += resp.results[i].error_code != 0;
    if (!failed) {
        printf("Deletion of requested consumer groups (");
        for (int i = 0; i < resp.results_count; i++)
            printf("%s'%s'", i ? ", " : "", k2s(resp.results[i].group_id));
        printf(") was successful.\n");
        return 0;
    }
    printf("Deletion of some consumer groups failed:\n");
    for (int i = 0; i < resp.results_count; i++)
        if (resp.results[i].error_code)
            printf("* Group '%s' could not be deleted due to: %s\n", k2s(resp.results[i].group_id),
                   error_text(resp.results[i].error_code));
    return 1;
}

/* "topic" or "topic:0,1,2" */
static void parse_topic_arg(const char *arg, char **topic, int32_t **parts, int *n)
{
    const char *colon = strchr(arg, ':');
    *topic = colon ? arena_printf(&A, "%.*s", (int)(colon - arg), arg) : arena_strdup(&A, arg);
    *n = 0;
    *parts = NULL;
    if (colon) {
        *parts = arena_array(&A, strlen(colon) + 1, sizeof(int32_t));
        char *list = arena_strdup(&A, colon + 1), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            (*parts)[(*n)++] = atoi(t);
    } else {
        int pc = partition_count(*topic);
        if (pc < 0)
            tool_die(PROG, "Topic '%s' does not exist", *topic);
        *parts = arena_array(&A, (size_t)pc + 1, sizeof(int32_t));
        for (int i = 0; i < pc; i++)
            (*parts)[(*n)++] = i;
    }
}

static int do_delete_offsets(const opts_t *o)
{
    if (o->n_groups != 1 || o->n_topics == 0)
        tool_die(PROG, "Option --delete-offsets takes exactly one --group and at least one --topic");
    struct offset_delete_request rq;
    offset_delete_request_defaults(&rq);
    rq.group_id = kstr_from_cstr(o->groups[0]);
    rq.topics_count = o->n_topics;
    rq.topics = offset_delete_request_offset_delete_request_topic_array(&A, o->n_topics);
    for (int t = 0; t < o->n_topics; t++) {
        char *topic;
        int32_t *parts;
        int n;
        parse_topic_arg(o->topics[t], &topic, &parts, &n);
        rq.topics[t].name = kstr_from_cstr(topic);
        rq.topics[t].partitions_count = n;
        rq.topics[t].partitions = offset_delete_request_offset_delete_request_partition_array(&A, n);
        for (int p = 0; p < n; p++)
            rq.topics[t].partitions[p].partition_index = parts[p];
    }
    struct offset_delete_response resp;
    kclient_rpc(&C, &A, "OffsetDelete", 0, &rq, &resp);
    if (resp.error_code) {
        printf("Error: Encountered some issues while deleting offsets: %s\n", error_text(resp.error_code));
        return 1;
    }
    bool ok = true;
    for (int t = 0; t < resp.topics_count; t++)
        for (int p = 0; p < resp.topics[t].partitions_count; p++)
            ok &= resp.topics[t].partitions[p].error_code == 0;
    if (ok)
        printf("Request succeed for deleting offsets with topic %s group %s\n", o->topics[0], o->groups[0]);
    else
        printf("Request failed for deleting offsets with topic %s group %s\n", o->topics[0], o->groups[0]);
    printf("\n%-30s %-15s %-15s\n", "TOPIC", "PARTITION", "STATUS");
    for (int t = 0; t < resp.topics_count; t++)
        for (int p = 0; p < resp.topics[t].partitions_count; p++) {
            int16_t e = resp.topics[t].partitions[p].error_code;
            printf("%-30s %-15d %-15s\n", k2s(resp.topics[t].name), resp.topics[t].partitions[p].partition_index,
                   e ? error_text(e) : "Successful");
        }
    return ok ? 0 : 1;
}

/* ---- reset ---- */

/* 'YYYY-MM-DDTHH:mm:SS.sss' (local time) with an optional Z or +hh:mm. */
static int64_t parse_datetime(const char *s)
{
    struct tm tm = { 0 };
    int ms = 0;
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        tool_die(PROG, "Error parsing timestamp. It does not follow the format 'YYYY-MM-DDTHH:mm:SS.sss': %s", s);
    if (*rest == '.') {
        ms = atoi(rest + 1);
        rest++;
        while (isdigit((unsigned char)*rest))
            rest++;
    }
    time_t t;
    if (*rest == 'Z' || *rest == '+' || *rest == '-') {
        int sign = *rest == '-' ? -1 : 1, hh = 0, mm = 0;
        if (*rest != 'Z' && sscanf(rest + 1, "%d:%d", &hh, &mm) < 1)
            tool_die(PROG, "Bad time zone in '%s'", s);
        t = timegm(&tm) - sign * (hh * 3600 + mm * 60);
    } else {
        tm.tm_isdst = -1;
        t = mktime(&tm);
    }
    return (int64_t)t * 1000 + ms;
}

/* ISO-8601 duration PnDTnHnMnS (Java Duration.parse). */
static int64_t parse_duration_ms(const char *s)
{
    const char *p = s;
    if (*p != 'P' && *p != 'p')
        tool_die(PROG, "Error parsing duration '%s' (expected PnDTnHnMnS)", s);
    p++;
    int64_t ms = 0;
    bool time_part = false;
    while (*p) {
        if (*p == 'T' || *p == 't') {
            time_part = true;
            p++;
            continue;
        }
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            tool_die(PROG, "Error parsing duration '%s'", s);
        char u = (char)toupper((unsigned char)*end);
        if (u == 'D' && !time_part)
            ms += (int64_t)(v * 86400000);
        else if (u == 'H' && time_part)
            ms += (int64_t)(v * 3600000);
        else if (u == 'M' && time_part)
            ms += (int64_t)(v * 60000);
        else if (u == 'S' && time_part)
            ms += (int64_t)(v * 1000);
        else
            tool_die(PROG, "Error parsing duration '%s'", s);
        p = end + 1;
    }
    return ms;
}

static int do_reset(const opts_t *o)
{
    if (o->reset == R_NONE)
        tool_die(PROG, "One of the reset scenarios must be provided: --to-datetime, --by-duration, "
                       "--to-earliest, --to-latest, --shift-by, --to-offset, --to-current");
    if (!o->all_topics && o->n_topics == 0)
        tool_die(PROG, "One of the reset scopes should be defined: --all-topics, --topic.");
    if (!o->execute && !o->dry_run)
        printf("WARN: No action will be performed as the --execute option is missing. In a future major "
               "release, the default behavior of this command will be to prompt the user before executing "
               "the reset rather than doing a dry run. You should add the --dry-run option explicitly if you "
               "are scripting this command and want to keep the current default behavior without "
               "prompting.\n");
    int rc = 0;
    for (int gi = 0; gi < o->n_groups; gi++) {
        const char *group = o->groups[gi];
        struct describe_groups_response_described_group *g = describe(group);
        const char *state = k2s(g->group_state);
        if (strcmp(state, "Empty") && strcmp(state, "Dead")) {
            fprintf(stderr, "Error: Assignments can only be reset if the group '%s' is inactive, but the "
                            "current state is %s.\n", group, state);
            rc = 1;
            continue;
        }
        struct offset_fetch_response *of = fetch_offsets(group);
        /* The partitions in scope. */
        int cap = 1;
        for (int t = 0; t < of->topics_count; t++)
            cap += MAX(of->topics[t].partitions_count, 0);
        char **topics = NULL;
        int32_t *parts = NULL;
        int n = 0;
        if (o->all_topics) {
            topics = arena_array(&A, (size_t)cap, sizeof(char *));
            parts = arena_array(&A, (size_t)cap, sizeof(int32_t));
            for (int t = 0; t < of->topics_count; t++)
                for (int p = 0; p < of->topics[t].partitions_count; p++) {
                    topics[n] = (char *)k2s(of->topics[t].name);
                    parts[n++] = of->topics[t].partitions[p].partition_index;
                }
        } else {
            topics = arena_array(&A, 4096, sizeof(char *));
            parts = arena_array(&A, 4096, sizeof(int32_t));
            for (int t = 0; t < o->n_topics; t++) {
                char *topic;
                int32_t *ps;
                int np;
                parse_topic_arg(o->topics[t], &topic, &ps, &np);
                for (int p = 0; p < np && n < 4096; p++) {
                    topics[n] = topic;
                    parts[n++] = ps[p];
                }
            }
        }
        int64_t *new_off = arena_array(&A, (size_t)n + 1, sizeof(int64_t));
        for (int i = 0; i < n; i++) {
            int64_t current = -1;
            for (int t = 0; t < of->topics_count; t++)
                for (int p = 0; p < of->topics[t].partitions_count; p++)
                    if (of->topics[t].partitions[p].partition_index == parts[i] &&
                        kstr_eq_cstr(of->topics[t].name, topics[i]))
                        current = of->topics[t].partitions[p].committed_offset;
            int64_t lo = list_offset(topics[i], parts[i], -2), hi = list_offset(topics[i], parts[i], -1);
            int64_t v;
            switch (o->reset) {
            case R_EARLIEST: v = lo; break;
            case R_LATEST: v = hi; break;
            case R_CURRENT: v = current >= 0 ? current : hi; break;
            case R_OFFSET: v = o->reset_value; break;
            case R_SHIFT: v = (current >= 0 ? current : hi) + o->reset_value; break;
            case R_DATETIME:
            case R_DURATION: {
                int64_t ts = o->reset == R_DATETIME ? o->reset_value : now_ms() - o->reset_value;
                v = list_offset(topics[i], parts[i], ts);
                if (v < 0)
                    v = hi;
                break;
            }
            default: v = current; break;
            }
            if (v > hi) {
                fprintf(stderr, "New offset (%lld) is higher than latest offset for topic partition %s-%d. "
                                "Value will be set to %lld\n", (long long)v, topics[i], parts[i], (long long)hi);
                v = hi;
            } else if (v < lo) {
                fprintf(stderr, "New offset (%lld) is lower than earliest offset for topic partition %s-%d. "
                                "Value will be set to %lld\n", (long long)v, topics[i], parts[i], (long long)lo);
                v = lo;
            }
            new_off[i] = v;
        }
        printf("\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
        for (int i = 0; i < n; i++)
            printf("%-30s %-30s %-10d %-15lld\n", group, topics[i], parts[i], (long long)new_off[i]);
        if (!o->execute)
            continue;
        struct offset_commit_request rq;
        offset_commit_request_defaults(&rq);
        rq.group_id = kstr_from_cstr(group);
        rq.generation_id_or_member_epoch = -1;
        rq.member_id = KSTR_LIT("");
        rq.topics_count = n;
        rq.topics = offset_commit_request_offset_commit_request_topic_array(&A, n);
        for (int i = 0; i < n; i++) {
            rq.topics[i].name = kstr_from_cstr(topics[i]);
            rq.topics[i].partitions_count = 1;
            rq.topics[i].partitions = offset_commit_request_offset_commit_request_partition_array(&A, 1);
            rq.topics[i].partitions[0].partition_index = parts[i];
            rq.topics[i].partitions[0].committed_offset = new_off[i];
            rq.topics[i].partitions[0].committed_metadata = KSTR_LIT("");
        }
        struct offset_commit_response resp;
        kclient_rpc(&C, &A, "OffsetCommit", 7, &rq, &resp);
        for (int t = 0; t < resp.topics_count; t++)
            for (int p = 0; p < resp.topics[t].partitions_count; p++)
                if (resp.topics[t].partitions[p].error_code) {
                    fprintf(stderr, "Error: committing offset of %s-%d failed with error code %d\n",
                            k2s(resp.topics[t].name), resp.topics[t].partitions[p].partition_index,
                            resp.topics[t].partitions[p].error_code);
                    rc = 1;
                }
    }
    return rc;
}

/* All groups the cluster lists (for --all-groups). */
static void add_all_groups(opts_t *o)
{
    struct list_groups_request rq;
    list_groups_request_defaults(&rq);
    struct list_groups_response resp;
    list_groups(&rq, &resp);
    for (int i = 0; i < resp.groups_count && o->n_groups < 64; i++)
        o->groups[o->n_groups++] = k2s(resp.groups[i].group_id);
}

/* Reconnects to the coordinator of the first group when it is elsewhere. */
static void connect_coordinator(const opts_t *o)
{
    if (o->n_groups == 0)
        return;
    struct find_coordinator_response *fc = find_coordinator(o->groups[0]);
    if (fc->error_code) {
        tool_die(PROG, "Error: Executing consumer group command failed due to %s",
                 error_text(fc->error_code));
    }
    const char *addr = arena_printf(&A, "%s:%d", k2s(fc->host), fc->port);
    kclient_t cc;
    if (kclient_connect(&cc, PROG, addr) == 0) {
        kclient_close(&C);
        C = cc;
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
        { "list", no_argument, NULL, O_LIST },
        { "describe", no_argument, NULL, O_DESCRIBE },
        { "reset-offsets", no_argument, NULL, O_RESET },
        { "delete", no_argument, NULL, O_DELETE },
        { "delete-offsets", no_argument, NULL, O_DELETE_OFFSETS },
        { "group", required_argument, NULL, O_GROUP },
        { "all-groups", no_argument, NULL, O_ALL_GROUPS },
        { "topic", required_argument, NULL, O_TOPIC },
        { "all-topics", no_argument, NULL, O_ALL_TOPICS },
        { "offsets", no_argument, NULL, O_OFFSETS },
        { "members", no_argument, NULL, O_MEMBERS },
        { "state", optional_argument, NULL, O_STATE },
        { "verbose", no_argument, NULL, O_VERBOSE },
        { "to-earliest", no_argument, NULL, O_TO_EARLIEST },
        { "to-latest", no_argument, NULL, O_TO_LATEST },
        { "to-current", no_argument, NULL, O_TO_CURRENT },
        { "to-offset", required_argument, NULL, O_TO_OFFSET },
        { "shift-by", required_argument, NULL, O_SHIFT_BY },
        { "to-datetime", required_argument, NULL, O_TO_DATETIME },
        { "by-duration", required_argument, NULL, O_BY_DURATION },
        { "dry-run", no_argument, NULL, O_DRY_RUN },
        { "execute", no_argument, NULL, O_EXECUTE },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "command-config", required_argument, NULL, O_COMMAND_CONFIG },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    opts_t o = { 0 };
    int ch;
    arena_init(&A);
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_BOOTSTRAP: o.bootstrap = optarg; break;
        case O_LIST: case O_DESCRIBE: case O_RESET: case O_DELETE: case O_DELETE_OFFSETS:
            if (o.action && o.action != ch)
                tool_die(PROG, "Command must include exactly one action: --list, --describe, --delete, "
                               "--reset-offsets, --delete-offsets");
            o.action = ch;
            break;
        case O_GROUP:
            if (o.n_groups < 64)
                o.groups[o.n_groups++] = optarg;
            break;
        case O_ALL_GROUPS: o.all_groups = true; break;
        case O_TOPIC:
            if (o.n_topics < 64)
                o.topics[o.n_topics++] = optarg;
            break;
        case O_ALL_TOPICS: o.all_topics = true; break;
        case O_OFFSETS: case O_MEMBERS: o.describe_what = ch; break;
        case O_STATE:
            o.describe_what = ch;
            o.state_filter = true;
            if (!optarg && optind < argc && argv[optind][0] != '-')
                optarg = argv[optind++];
            o.state_value = optarg;
            break;
        case O_VERBOSE: o.verbose = true; break;
        case O_TO_EARLIEST: o.reset = R_EARLIEST; break;
        case O_TO_LATEST: o.reset = R_LATEST; break;
        case O_TO_CURRENT: o.reset = R_CURRENT; break;
        case O_TO_OFFSET: o.reset = R_OFFSET; o.reset_value = atoll(optarg); break;
        case O_SHIFT_BY: o.reset = R_SHIFT; o.reset_value = atoll(optarg); break;
        case O_TO_DATETIME: o.reset = R_DATETIME; o.reset_value = parse_datetime(optarg); break;
        case O_BY_DURATION: o.reset = R_DURATION; o.reset_value = parse_duration_ms(optarg); break;
        case O_DRY_RUN: o.dry_run = true; break;
        case O_EXECUTE: o.execute = true; break;
        case O_TIMEOUT: case O_COMMAND_CONFIG: break;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!o.bootstrap) {
        usage(stderr);
        tool_die(PROG, "Missing required argument \"[bootstrap-server]\"");
    }
    if (!o.action)
        tool_die(PROG, "Command must include exactly one action: --list, --describe, --delete, "
                       "--reset-offsets, --delete-offsets");
    if (kclient_connect(&C, PROG, o.bootstrap) < 0)
        tool_die(PROG, "Cannot connect to %s", o.bootstrap);
    int rc = 0;
    if (o.action == O_LIST) {
        rc = do_list(&o);
    } else {
        if (o.all_groups)
            add_all_groups(&o);
        if (o.n_groups == 0 && !o.all_groups)
            tool_die(PROG, "Option [%s] takes one of these options: [all-groups], [group]",
                     o.action == O_DESCRIBE ? "describe" : o.action == O_DELETE ? "delete" : "reset-offsets");
        connect_coordinator(&o);
        if (o.action == O_DESCRIBE) {
            for (int i = 0; i < o.n_groups; i++)
                rc |= o.describe_what == O_MEMBERS ? describe_members(o.groups[i], o.verbose)
                    : o.describe_what == O_STATE ? describe_state(o.groups[i])
                                                 : describe_offsets(o.groups[i]);
        } else if (o.action == O_DELETE) {
            rc = do_delete(&o);
        } else if (o.action == O_DELETE_OFFSETS) {
            rc = do_delete_offsets(&o);
        } else {
            rc = do_reset(&o);
        }
    }
    kclient_close(&C);
    arena_free(&A);
    return rc;
}
