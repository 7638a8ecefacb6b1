/*
 * samsa-consumer-groups - kafka-consumer-groups.sh for samsa (and any Kafka
 * broker): --list, --describe (--offsets, --members [--verbose], --state),
 * --reset-offsets, --delete and --delete-offsets, with Kafka's flags,
 * column layouts and messages.  The cluster is asked through librdkafka's
 * Admin API (cg_admin.h), which finds each group's coordinator and asks
 * every broker for its groups, as Kafka's tool does.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "cg_admin.h"
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
    const char *command_config;
} opts_t;

typedef struct tp_row {
    char *topic;
    int32_t partition;
    int64_t current;            /* -1 = none */
    int64_t end;
    const char *consumer, *host, *client;
} tp_row_t;

static arena_t A;

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " --bootstrap-server HOST:PORT (--list | --describe | --reset-offsets |\n"
               "       --delete | --delete-offsets) [--group G]... [--all-groups] [--topic T[:P,...]]...\n"
               "       [--all-topics] [--offsets | --members [--verbose] | --state [S]]\n"
               "       [--to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N |\n"
               "        --to-datetime YYYY-MM-DDTHH:mm:SS.sss | --by-duration PnDTnHnMnS]\n"
               "       [--dry-run | --execute] [--command-config FILE]\n");
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
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

static const char *state_of(const rd_kafka_ConsumerGroupDescription_t *g)
{
    return rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(g));
}

/* Returns false if the group does not exist (message printed). */
static bool check_state(const char *group, const char *state, bool has_offsets)
{
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

static const rd_kafka_topic_partition_list_t *assignment_of(const rd_kafka_MemberDescription_t *m)
{
    const rd_kafka_MemberAssignment_t *a = rd_kafka_MemberDescription_assignment(m);
    return a ? rd_kafka_MemberAssignment_partitions(a) : NULL;
}

static int describe_offsets(const char *group)
{
    const rd_kafka_ConsumerGroupDescription_t *g;
    rd_kafka_event_t *ev = cg_describe(group, &g);
    rd_kafka_topic_partition_list_t *of = cg_committed(group);
    int n_off = 0;
    for (int i = 0; i < of->cnt; i++)
        n_off += of->elems[i].offset >= 0;
    if (!check_state(group, state_of(g), n_off > 0)) {
        rd_kafka_topic_partition_list_destroy(of);
        rd_kafka_event_destroy(ev);
        return 1;
    }
    size_t nm = rd_kafka_ConsumerGroupDescription_member_count(g);
    int cap = of->cnt + 1;
    for (size_t i = 0; i < nm; i++) {
        const rd_kafka_topic_partition_list_t *asg = assignment_of(rd_kafka_ConsumerGroupDescription_member(g, i));
        cap += asg ? asg->cnt : 0;
    }
    tp_row_t *rows = arena_array(&A, (size_t)cap, sizeof(*rows));
    int n = 0;
    for (size_t i = 0; i < nm; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(g, i);
        const rd_kafka_topic_partition_list_t *asg = assignment_of(m);
        for (int p = 0; asg && p < asg->cnt; p++)
            rows[n++] = (tp_row_t){ arena_strdup(&A, asg->elems[p].topic), asg->elems[p].partition, -1, -1,
                                    arena_strdup(&A, or_dash(rd_kafka_MemberDescription_consumer_id(m))),
                                    arena_strdup(&A, or_dash(rd_kafka_MemberDescription_host(m))),
                                    arena_strdup(&A, or_dash(rd_kafka_MemberDescription_client_id(m))) };
    }
    for (int i = 0; i < of->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &of->elems[i];
        if (e->offset < 0)
            continue;
        int j;
        for (j = 0; j < n && !(rows[j].partition == e->partition && !strcmp(rows[j].topic, e->topic)); j++)
            ;
        if (j == n)
            rows[n++] = (tp_row_t){ arena_strdup(&A, e->topic), e->partition, -1, -1, "-", "-", "-" };
        rows[j].current = e->offset;
    }
    rd_kafka_topic_partition_list_destroy(of);
    rd_kafka_event_destroy(ev);
    qsort(rows, (size_t)n, sizeof(*rows), cmp_rows);
    const char **cols = arena_array(&A, (size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        rows[i].end = cg_log_offset(rows[i].topic, rows[i].partition, -1);
    for (int i = 0; i < n; i++) cols[i] = rows[i].topic;
    int wt = width(15, n, cols);
    for (int i = 0; i < n; i++) cols[i] = rows[i].consumer;
    int wc = width(15, n, cols);
    for (int i = 0; i < n; i++) cols[i] = rows[i].host;
    int wh = width(15, n, cols);
    /* Kafka widens the group column by its rows' group: none, none wider. */
    int wg = n > 0 ? MAX(15, (int)strlen(group)) : 15;
    /* Kafka 3.9's printOffsets: each line starts with its line break. */
    printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", wg, "GROUP", wt, "TOPIC", "PARTITION",
           "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh, "HOST", "CLIENT-ID");
    for (int i = 0; i < n; i++) {
        tp_row_t *r = &rows[i];
        int64_t lag = r->current >= 0 && r->end >= 0 ? r->end - r->current : -1;
        printf("\n%-*s %-*s %-10d %-15s %-15s %-15s %-*s %-*s %s", wg, group, wt, r->topic, r->partition,
               num_or_dash(r->current), num_or_dash(r->end), num_or_dash(lag), wc, r->consumer, wh,
               r->host, r->client);
    }
    return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Kafka 3.9's --members --verbose assignment: each topic's partitions as
 * "(0,1)" (sorted as strings, the topic name left out), the groups sorted
 * as strings and joined with ", "; "-" for none. */
static void print_assignment(const rd_kafka_topic_partition_list_t *asg)
{
    if (!asg || asg->cnt == 0) {
        printf("-");
        return;
    }
    int n = asg->cnt, n_groups = 0;
    const char **groups = arena_array(&A, (size_t)n + 1, sizeof(char *));
    bool *done = arena_array(&A, (size_t)n + 1, sizeof(bool));
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        const char **parts = arena_array(&A, (size_t)n + 1, sizeof(char *));
        int k = 0;
        for (int j = i; j < n; j++)
            if (!done[j] && !strcmp(asg->elems[j].topic, asg->elems[i].topic)) {
                parts[k++] = arena_printf(&A, "%d", asg->elems[j].partition);
                done[j] = true;
            }
        qsort(parts, (size_t)k, sizeof(char *), cmp_cstr);
        char *g = arena_printf(&A, "(%s", parts[0]);
        for (int m = 1; m < k; m++)
            g = arena_printf(&A, "%s,%s", g, parts[m]);
        groups[n_groups++] = arena_printf(&A, "%s)", g);
    }
    qsort(groups, (size_t)n_groups, sizeof(char *), cmp_cstr);
    for (int i = 0; i < n_groups; i++)
        printf("%s%s", i ? ", " : "", groups[i]);
}

static int describe_members(const char *group, bool verbose)
{
    const rd_kafka_ConsumerGroupDescription_t *g;
    rd_kafka_event_t *ev = cg_describe(group, &g);
    if (!check_state(group, state_of(g), false)) {
        rd_kafka_event_destroy(ev);
        return 1;
    }
    int n = (int)rd_kafka_ConsumerGroupDescription_member_count(g);
    bool any_instance = false;
    const char **ids = arena_array(&A, (size_t)n + 1, sizeof(char *));
    const char **insts = arena_array(&A, (size_t)n + 1, sizeof(char *));
    const char **hosts = arena_array(&A, (size_t)n + 1, sizeof(char *));
    const char **clients = arena_array(&A, (size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(g, (size_t)i);
        const char *inst = rd_kafka_MemberDescription_group_instance_id(m);
        ids[i] = or_dash(rd_kafka_MemberDescription_consumer_id(m));
        insts[i] = or_dash(inst);
        any_instance |= inst && *inst;
        hosts[i] = or_dash(rd_kafka_MemberDescription_host(m));
        clients[i] = or_dash(rd_kafka_MemberDescription_client_id(m));
    }
    int wg = n > 0 ? MAX(15, (int)strlen(group)) : 15;
    int wi = width(15, n, ids), wn = width(17, n, insts);
    int wh = width(15, n, hosts), wc = width(15, n, clients);
    printf("\n%-*s %-*s ", wg, "GROUP", wi, "CONSUMER-ID");
    if (any_instance)
        printf("%-*s ", wn, "GROUP-INSTANCE-ID");
    printf("%-*s %-*s %-15s %s\n", wh, "HOST", wc, "CLIENT-ID", "#PARTITIONS", verbose ? "ASSIGNMENT" : "");
    for (int i = 0; i < n; i++) {
        const rd_kafka_topic_partition_list_t *asg =
            assignment_of(rd_kafka_ConsumerGroupDescription_member(g, (size_t)i));
        printf("%-*s %-*s ", wg, group, wi, ids[i]);
        if (any_instance)
            printf("%-*s ", wn, insts[i]);
        printf("%-*s %-*s %-15d ", wh, hosts[i], wc, clients[i], asg ? asg->cnt : 0);
        if (verbose)
            print_assignment(asg);
        printf("\n");
    }
    rd_kafka_event_destroy(ev);
    return 0;
}

static int describe_state(const char *group)
{
    const rd_kafka_ConsumerGroupDescription_t *g;
    rd_kafka_event_t *ev = cg_describe(group, &g);
    if (!check_state(group, state_of(g), false)) {
        rd_kafka_event_destroy(ev);
        return 1;
    }
    const rd_kafka_Node_t *c = rd_kafka_ConsumerGroupDescription_coordinator(g);
    /* Kafka 3.9's printStates: "host:port  (id)", both lines led by a
     * line break, then one more. */
    const char *coord = c ? arena_printf(&A, "%s:%d  (%d)", rd_kafka_Node_host(c), rd_kafka_Node_port(c),
                                         rd_kafka_Node_id(c))
                          : "-";
    int wg = MAX(25, (int)strlen(coord));
    printf("\n%-*s %-25s %-20s %-15s %s", wg, "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY",
           "STATE", "#MEMBERS");
    const char *assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(g);
    printf("\n%-*s %-25s %-20s %-15s %d\n", wg, group, coord, assignor ? assignor : "", state_of(g),
           (int)rd_kafka_ConsumerGroupDescription_member_count(g));
    rd_kafka_event_destroy(ev);
    return 0;
}

/* ---- list / delete ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_list(const opts_t *o)
{
    const rd_kafka_ConsumerGroupListing_t **gl;
    size_t n;
    rd_kafka_event_t *ev = cg_list_groups(o->state_filter ? o->state_value : NULL, &gl, &n);
    char **lines = arena_array(&A, n + 1, sizeof(char *));
    int maxlen = 5, k = 0;
    for (size_t i = 0; i < n; i++)
        maxlen = MAX(maxlen, (int)strlen(rd_kafka_ConsumerGroupListing_group_id(gl[i])));
    for (size_t i = 0; i < n; i++) {
        const char *id = rd_kafka_ConsumerGroupListing_group_id(gl[i]);
        if (o->state_filter) {
            const char *st = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gl[i]));
            if (o->state_value && strcasecmp(st, o->state_value))
                continue;
            lines[k++] = arena_printf(&A, "%-*s %-20s", maxlen + 10, id, st);
        } else {
            lines[k++] = arena_strdup(&A, id);
        }
    }
    rd_kafka_event_destroy(ev);
    qsort(lines, (size_t)k, sizeof(char *), cmp_str);
    if (o->state_filter)
        printf("%-*s %-20s\n", maxlen + 10, "GROUP", "STATE");
    for (int i = 0; i < k; i++)
        printf("%s\n", lines[i]);
    return 0;
}

static int do_delete(const opts_t *o)
{
    const rd_kafka_group_result_t **res;
    size_t n;
    rd_kafka_event_t *ev = cg_delete_groups(o->groups, o->n_groups, &res, &n);
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += rd_kafka_group_result_error(res[i]) != NULL;
    if (!failed) {
        printf("Deletion of requested consumer groups (");
        for (size_t i = 0; i < n; i++)
            printf("%s'%s'", i ? ", " : "", rd_kafka_group_result_name(res[i]));
        printf(") was successful.\n");
    } else {
        printf("Deletion of some consumer groups failed:\n");
        for (size_t i = 0; i < n; i++) {
            const rd_kafka_error_t *e = rd_kafka_group_result_error(res[i]);
            if (e)
                printf("* Group '%s' could not be deleted due to: %s\n", rd_kafka_group_result_name(res[i]),
                       cg_error_text(rd_kafka_error_code(e)));
        }
    }
    rd_kafka_event_destroy(ev);
    return failed ? 1 : 0;
}

/* Adds "topic" (every partition) or "topic:0,1,2" to l. */
static void add_topic_arg(rd_kafka_topic_partition_list_t *l, const char *arg)
{
    const char *colon = strchr(arg, ':');
    char *topic = colon ? arena_printf(&A, "%.*s", (int)(colon - arg), arg) : arena_strdup(&A, arg);
    if (colon) {
        char *list = arena_strdup(&A, colon + 1), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            rd_kafka_topic_partition_list_add(l, topic, atoi(t));
        return;
    }
    int pc = cg_partition_count(topic);
    if (pc < 0)
        tool_die(PROG, "Topic '%s' does not exist", topic);
    for (int i = 0; i < pc; i++)
        rd_kafka_topic_partition_list_add(l, topic, i);
}

static int do_delete_offsets(const opts_t *o)
{
    if (o->n_groups != 1 || o->n_topics == 0)
        tool_die(PROG, "Option --delete-offsets takes exactly one --group and at least one --topic");
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    for (int t = 0; t < o->n_topics; t++)
        add_topic_arg(parts, o->topics[t]);
    rd_kafka_resp_err_t gerr;
    rd_kafka_topic_partition_list_t *res = cg_delete_offsets(o->groups[0], parts, &gerr);
    rd_kafka_topic_partition_list_destroy(parts);
    int rc = 0;
    if (gerr) {
        printf("Error: Encountered some issues while deleting offsets: %s\n", cg_error_text(gerr));
        rc = 1;
    } else {
        bool ok = true;
        for (int i = 0; i < res->cnt; i++)
            ok &= res->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
        printf("Request %s for deleting offsets with topic %s group %s\n", ok ? "succeed" : "failed",
               o->topics[0], o->groups[0]);
        printf("\n%-30s %-15s %-15s\n", "TOPIC", "PARTITION", "STATUS");
        for (int i = 0; i < res->cnt; i++)
            printf("%-30s %-15d %-15s\n", res->elems[i].topic, res->elems[i].partition,
                   res->elems[i].err ? cg_error_text(res->elems[i].err) : "Successful");
        rc = ok ? 0 : 1;
    }
    rd_kafka_topic_partition_list_destroy(res);
    return rc;
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

/* The new offset of one partition for the chosen reset, clamped to the
 * log's range as Kafka clamps it. */
static int64_t reset_target(const opts_t *o, const char *topic, int32_t part, int64_t current)
{
    int64_t lo = cg_log_offset(topic, part, -2), hi = cg_log_offset(topic, part, -1), v;
    switch (o->reset) {
    case R_EARLIEST: v = lo; break;
    case R_LATEST: v = hi; break;
    case R_CURRENT: v = current >= 0 ? current : hi; break;
    case R_OFFSET: v = o->reset_value; break;
    case R_SHIFT: v = (current >= 0 ? current : hi) + o->reset_value; break;
    case R_DATETIME:
    case R_DURATION: {
        int64_t ts = o->reset == R_DATETIME ? o->reset_value : now_ms() - o->reset_value;
        v = cg_log_offset(topic, part, ts);
        if (v < 0)
            v = hi;
        break;
    }
    default: v = current; break;
    }
    if (v > hi) {
        fprintf(stderr, "New offset (%lld) is higher than latest offset for topic partition %s-%d. "
                        "Value will be set to %lld\n", (long long)v, topic, part, (long long)hi);
        v = hi;
    } else if (v < lo) {
        fprintf(stderr, "New offset (%lld) is lower than earliest offset for topic partition %s-%d. "
                        "Value will be set to %lld\n", (long long)v, topic, part, (long long)lo);
        v = lo;
    }
    return v;
}

static int64_t committed_of(const rd_kafka_topic_partition_list_t *of, const char *topic, int32_t part)
{
    for (int i = 0; i < of->cnt; i++)
        if (of->elems[i].partition == part && !strcmp(of->elems[i].topic, topic))
            return of->elems[i].offset;
    return -1;
}

static int reset_group(const opts_t *o, const char *group)
{
    const rd_kafka_ConsumerGroupDescription_t *g;
    rd_kafka_event_t *ev = cg_describe(group, &g);
    char *state = arena_strdup(&A, state_of(g));
    rd_kafka_event_destroy(ev);
    if (strcmp(state, "Empty") && strcmp(state, "Dead")) {
        fprintf(stderr, "Error: Assignments can only be reset if the group '%s' is inactive, but the "
                        "current state is %s.\n", group, state);
        return 1;
    }
    rd_kafka_topic_partition_list_t *of = cg_committed(group);
    rd_kafka_topic_partition_list_t *scope = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; o->all_topics && i < of->cnt; i++)
        if (of->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(scope, of->elems[i].topic, of->elems[i].partition);
    for (int t = 0; !o->all_topics && t < o->n_topics; t++)
        add_topic_arg(scope, o->topics[t]);
    for (int i = 0; i < scope->cnt; i++) {
        rd_kafka_topic_partition_t *e = &scope->elems[i];
        e->offset = reset_target(o, e->topic, e->partition, committed_of(of, e->topic, e->partition));
    }
    rd_kafka_topic_partition_list_destroy(of);
    /* Kafka 3.9's printOffsetsToReset: a line break before the header and
     * none between or after the rows. */
    printf("\n%-30s %-30s %-10s %-15s", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
    for (int i = 0; i < scope->cnt; i++)
        printf("%-30s %-30s %-10d %-15lld", group, scope->elems[i].topic, scope->elems[i].partition,
               (long long)scope->elems[i].offset);
    int rc = 0;
    if (o->execute && scope->cnt > 0) {
        rd_kafka_topic_partition_list_t *res = cg_alter_offsets(group, scope);
        for (int i = 0; i < res->cnt; i++)
            if (res->elems[i].err) {
                fprintf(stderr, "Error: committing offset of %s-%d failed: %s\n", res->elems[i].topic,
                        res->elems[i].partition, cg_error_text(res->elems[i].err));
                rc = 1;
            }
        rd_kafka_topic_partition_list_destroy(res);
    }
    rd_kafka_topic_partition_list_destroy(scope);
    return rc;
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
    for (int gi = 0; gi < o->n_groups; gi++)
        rc |= reset_group(o, o->groups[gi]);
    return rc;
}

/* All groups the cluster lists (for --all-groups). */
static void add_all_groups(opts_t *o)
{
    const rd_kafka_ConsumerGroupListing_t **gl;
    size_t n;
    rd_kafka_event_t *ev = cg_list_groups(NULL, &gl, &n);
    for (size_t i = 0; i < n && o->n_groups < 64; i++)
        o->groups[o->n_groups++] = arena_strdup(&A, rd_kafka_ConsumerGroupListing_group_id(gl[i]));
    rd_kafka_event_destroy(ev);
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
        case O_TIMEOUT: break;
        case O_COMMAND_CONFIG: o.command_config = optarg; break;
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
    cg_open(PROG, o.bootstrap, o.command_config);
    int rc = 0;
    if (o.action == O_LIST) {
        rc = do_list(&o);
    } else {
        if (o.all_groups)
            add_all_groups(&o);
        if (o.n_groups == 0 && !o.all_groups)
            tool_die(PROG, "Option [%s] takes one of these options: [all-groups], [group]",
                     o.action == O_DESCRIBE ? "describe" : o.action == O_DELETE ? "delete" : "reset-offsets");
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
    cg_close();
    arena_free(&A);
    return rc;
}
