/*
 * samsa-console-consumer - kafka-console-consumer.sh for samsa: consumes
 * with librdkafka and prints records with Kafka's DefaultMessageFormatter
 * properties (print.key, print.value, print.timestamp, print.partition,
 * print.offset, print.headers, key.separator, line.separator,
 * headers.separator, headers.key.separator, null.literal).
 *
 * Without --partition it assigns every partition of the topic itself;
 * --group (subscription through a group coordinator) arrives with consumer
 * group support.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool_common.h"

#define PROG "samsa-console-consumer"

enum { O_BOOTSTRAP = 1000, O_TOPIC, O_FROM_BEGINNING, O_PARTITION, O_OFFSET, O_MAX_MESSAGES,
       O_TIMEOUT_MS, O_PROPERTY, O_CONSUMER_PROPERTY, O_CONSUMER_CONFIG, O_GROUP,
       O_ISOLATION, O_HELP };

typedef struct fmt {
    bool key, value, timestamp, partition, offset, headers;
    const char *key_sep, *line_sep, *headers_sep, *headers_key_sep, *null_literal;
} fmt_t;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void set_prop(fmt_t *f, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        tool_die(PROG, "Invalid --property '%s'", kv);
    size_t kl = (size_t)(eq - kv);
    const char *v = eq + 1;
    bool t = !strcasecmp(v, "true");
#define IS(name) (kl == strlen(name) && !strncmp(kv, name, kl))
    if (IS("print.key")) f->key = t;
    else if (IS("print.value")) f->value = t;
    else if (IS("print.timestamp")) f->timestamp = t;
    else if (IS("print.partition")) f->partition = t;
    else if (IS("print.offset")) f->offset = t;
    else if (IS("print.headers")) f->headers = t;
    else if (IS("key.separator")) f->key_sep = v;
    else if (IS("line.separator")) f->line_sep = v;
    else if (IS("headers.separator")) f->headers_sep = v;
    else if (IS("headers.key.separator")) f->headers_key_sep = v;
    else if (IS("null.literal")) f->null_literal = v;
    else fprintf(stderr, "%s: ignoring unknown --property %s\n", PROG, kv);
#undef IS
}

static void sep(const fmt_t *f, bool more)
{
    fputs(more ? f->key_sep : f->line_sep, stdout);
}

static void print_bytes(const fmt_t *f, const void *p, size_t n)
{
    if (!p)
        fputs(f->null_literal, stdout);
    else
        fwrite(p, 1, n, stdout);
}

/* Kafka's DefaultMessageFormatter field order and separators. */
static void print_record(const fmt_t *f, const rd_kafka_message_t *m)
{
    if (f->timestamp) {
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        if (tt == RD_KAFKA_TIMESTAMP_CREATE_TIME)
            printf("CreateTime:%lld", (long long)ts);
        else if (tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME)
            printf("LogAppendTime:%lld", (long long)ts);
        else
            printf("NO_TIMESTAMP");
        sep(f, f->partition || f->offset || f->headers || f->key || f->value);
    }
    if (f->partition) {
        printf("Partition:%d", m->partition);
        sep(f, f->offset || f->headers || f->key || f->value);
    }
    if (f->offset) {
        printf("Offset:%lld", (long long)m->offset);
        sep(f, f->headers || f->key || f->value);
    }
    if (f->headers) {
        rd_kafka_headers_t *hdrs = NULL;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs &&
            rd_kafka_header_cnt(hdrs) > 0) {
            const char *name;
            const void *val;
            size_t sz;
            for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &sz) == 0; i++) {
                if (i)
                    fputs(f->headers_sep, stdout);
                fputs(name, stdout);
                fputs(f->headers_key_sep, stdout);
                print_bytes(f, val, sz);
            }
        } else {
            fputs("NO_HEADERS", stdout);
        }
        sep(f, f->key || f->value);
    }
    if (f->key) {
        print_bytes(f, m->key, m->key_len);
        sep(f, f->value);
    }
    if (f->value) {
        print_bytes(f, m->payload, m->len);
        fputs(f->line_sep, stdout);
    }
}

static int64_t parse_offset(const char *s)
{
    if (!strcmp(s, "earliest"))
        return RD_KAFKA_OFFSET_BEGINNING;
    if (!strcmp(s, "latest"))
        return RD_KAFKA_OFFSET_END;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v < 0)
        tool_die(PROG, "The offset must be 'earliest', 'latest' or a non-negative number, got '%s'", s);
    return v;
}

/* Every partition of topic, from cluster metadata. */
static rd_kafka_topic_partition_list_t *all_partitions(rd_kafka_t *rk, const char *topic, int64_t off)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 20 && !stop; attempt++) {
        err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (!err && md->topic_cnt == 1 && !md->topics[0].err)
            break;
        if (!err) {
            err = md->topics[0].err;
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        rd_kafka_poll(rk, 250);
    }
    rd_kafka_topic_destroy(rkt);
    if (!md)
        tool_die(PROG, "Cannot get metadata for topic %s: %s", topic, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset = off;
    rd_kafka_metadata_destroy(md);
    return l;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
        { "topic", required_argument, NULL, O_TOPIC },
        { "from-beginning", no_argument, NULL, O_FROM_BEGINNING },
        { "partition", required_argument, NULL, O_PARTITION },
        { "offset", required_argument, NULL, O_OFFSET },
        { "max-messages", required_argument, NULL, O_MAX_MESSAGES },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT_MS },
        { "property", required_argument, NULL, O_PROPERTY },
        { "consumer-property", required_argument, NULL, O_CONSUMER_PROPERTY },
        { "consumer.config", required_argument, NULL, O_CONSUMER_CONFIG },
        { "group", required_argument, NULL, O_GROUP },
        { "isolation-level", required_argument, NULL, O_ISOLATION },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    fmt_t f = { .value = true, .key_sep = "\t", .line_sep = "\n", .headers_sep = ",",
                .headers_key_sep = ":", .null_literal = "null" };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *bootstrap = NULL, *topic = NULL, *offset_arg = NULL;
    bool from_beginning = false;
    int32_t partition = -1;
    long long max_messages = -1;
    int timeout_ms = -1, ch;
    char err[512], kv[1024];
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_BOOTSTRAP: bootstrap = optarg; break;
        case O_TOPIC: topic = optarg; break;
        case O_FROM_BEGINNING: from_beginning = true; break;
        case O_PARTITION: partition = atoi(optarg); break;
        case O_OFFSET: offset_arg = optarg; break;
        case O_MAX_MESSAGES: max_messages = atoll(optarg); break;
        case O_TIMEOUT_MS: timeout_ms = atoi(optarg); break;
        case O_PROPERTY: set_prop(&f, optarg); break;
        case O_CONSUMER_PROPERTY: tool_conf_set(PROG, conf, optarg); break;
        case O_CONSUMER_CONFIG: tool_conf_file(PROG, conf, optarg); break;
        case O_GROUP:
            tool_die(PROG, "--group needs consumer group support, which this samsa version does not have yet");
        case O_ISOLATION:
            tool_conf_kv(PROG, conf, "isolation.level", optarg);
            break;
        case O_HELP:
            printf("Usage: %s --bootstrap-server HOST:PORT --topic TOPIC [--from-beginning] "
                   "[--partition N [--offset earliest|latest|N]] [--max-messages N] [--property k=v]...\n", PROG);
            return 0;
        default: return 1;
        }
    }
    if (!bootstrap || !topic)
        tool_die(PROG, "Missing required argument \"[%s]\"", !bootstrap ? "bootstrap-server" : "topic");
    if (offset_arg && partition < 0)
        tool_die(PROG, "The partition is required when offset is specified.");
    if (offset_arg && from_beginning)
        tool_die(PROG, "Options from-beginning and offset cannot be specified together.");
    tool_conf_kv(PROG, conf, "bootstrap.servers", bootstrap);
    /* librdkafka needs a group id to create a consumer; nothing joins it
     * because partitions are assigned, not subscribed. */
    snprintf(kv, sizeof(kv), "group.id=console-consumer-%d", (int)getpid());
    tool_conf_set(PROG, conf, kv);
    tool_conf_set(PROG, conf, "enable.auto.commit=false");
    tool_conf_set(PROG, conf, "enable.partition.eof=false");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        tool_die(PROG, "%s", err);
    rd_kafka_poll_set_consumer(rk);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int64_t start = offset_arg ? parse_offset(offset_arg)
                  : from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rd_kafka_topic_partition_list_t *parts;
    if (partition >= 0) {
        parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = start;
    } else {
        parts = all_partitions(rk, topic, start);
    }
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (aerr)
        tool_die(PROG, "assign failed: %s", rd_kafka_err2str(aerr));
    long long count = 0;
    int idle_ms = 0;
    while (!stop && (max_messages < 0 || count < max_messages)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle_ms += 100;
            if (timeout_ms >= 0 && idle_ms >= timeout_ms) {
                fprintf(stderr, "[%s] ERROR Error processing message, terminating consumer process:  "
                                "(org.apache.kafka.common.errors.TimeoutException)\n", PROG);
                break;
            }
            continue;
        }
        idle_ms = 0;
        if (m->err) {
            fprintf(stderr, "%s: %s\n", PROG, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        print_record(&f, m);
        rd_kafka_message_destroy(m);
        count++;
    }
    fflush(stdout);
    fprintf(stderr, "Processed a total of %lld messages\n", count);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}
