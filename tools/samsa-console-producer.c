/*
 * samsa-console-producer - kafka-console-producer.sh for samsa: reads lines
 * from standard input and produces them with librdkafka, with Kafka's
 * flags and line-reader properties (parse.key, key.separator,
 * parse.headers, headers.delimiter, headers.separator,
 * headers.key.separator, null.marker, ignore.error).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_common.h"

#define PROG "samsa-console-producer"

enum { O_BOOTSTRAP = 1000, O_BROKER_LIST, O_TOPIC, O_PROPERTY, O_PRODUCER_PROPERTY, O_PRODUCER_CONFIG,
       O_COMPRESSION, O_ACKS, O_SYNC, O_BATCH_SIZE, O_TIMEOUT, O_HELP };

typedef struct reader_props {
    bool parse_key, parse_headers, ignore_error;
    const char *key_sep, *headers_delim, *headers_sep, *headers_key_sep, *null_marker;
} reader_props_t;

static int delivery_failures;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        fprintf(stderr, "[%s] Error when sending message to topic %s with key: %zu bytes, value: "
                        "%zu bytes with error: %s\n", PROG, rd_kafka_topic_name(m->rkt), m->key_len,
                m->len, rd_kafka_err2str(m->err));
        delivery_failures++;
    }
}

static void set_prop(reader_props_t *rp, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        tool_die(PROG, "Invalid --property '%s'", kv);
    size_t kl = (size_t)(eq - kv);
    const char *v = eq + 1;
#define IS(name) (kl == strlen(name) && !strncmp(kv, name, kl))
    if (IS("parse.key"))
        rp->parse_key = !strcasecmp(v, "true");
    else if (IS("parse.headers"))
        rp->parse_headers = !strcasecmp(v, "true");
    else if (IS("ignore.error"))
        rp->ignore_error = !strcasecmp(v, "true");
    else if (IS("key.separator"))
        rp->key_sep = v;
    else if (IS("headers.delimiter"))
        rp->headers_delim = v;
    else if (IS("headers.separator"))
        rp->headers_sep = v;
    else if (IS("headers.key.separator"))
        rp->headers_key_sep = v;
    else if (IS("null.marker"))
        rp->null_marker = v;
    else
        fprintf(stderr, "%s: ignoring unknown --property %s\n", PROG, kv);
#undef IS
}

static bool is_null(const reader_props_t *rp, const char *s)
{
    return rp->null_marker && !strcmp(s, rp->null_marker);
}

/* Splits "h1:v1,h2:v2" into librdkafka headers. */
static rd_kafka_headers_t *parse_headers(const reader_props_t *rp, char *s)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);
    size_t sl = strlen(rp->headers_sep), kl = strlen(rp->headers_key_sep);
    char *p = s;
    while (*p) {
        char *end = strstr(p, rp->headers_sep);
        if (end)
            *end = '\0';
        char *ks = strstr(p, rp->headers_key_sep);
        if (ks) {
            *ks = '\0';
            const char *val = ks + kl;
            if (is_null(rp, val))
                rd_kafka_header_add(hdrs, p, -1, NULL, 0);
            else
                rd_kafka_header_add(hdrs, p, -1, val, (ssize_t)strlen(val));
        } else {
            rd_kafka_header_add(hdrs, p, -1, NULL, 0);
        }
        if (!end)
            break;
        p = end + sl;
    }
    return hdrs;
}

static int produce_line(rd_kafka_t *rk, const char *topic, const reader_props_t *rp, char *line)
{
    rd_kafka_headers_t *hdrs = NULL;
    char *key = NULL, *value = line;
    if (rp->parse_headers) {
        char *d = strstr(value, rp->headers_delim);
        if (!d) {
            if (rp->ignore_error)
                return 0;
            fprintf(stderr, "%s: No headers delimiter found on line: %s\n", PROG, line);
            return -1;
        }
        *d = '\0';
        hdrs = parse_headers(rp, value);
        value = d + strlen(rp->headers_delim);
    }
    if (rp->parse_key) {
        char *s = strstr(value, rp->key_sep);
        if (!s) {
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            if (rp->ignore_error)
                return 0;
            fprintf(stderr, "%s: No key separator found on line: %s\n", PROG, line);
            return -1;
        }
        *s = '\0';
        key = value;
        value = s + strlen(rp->key_sep);
        if (is_null(rp, key))
            key = NULL;
    }
    if (is_null(rp, value))
        value = NULL;
    rd_kafka_resp_err_t err;
    for (;;) {
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                                RD_KAFKA_V_VALUE(value, value ? strlen(value) : 0),
                                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(rk, 100);
    }
    if (err) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        fprintf(stderr, "%s: produce failed: %s\n", PROG, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
        { "broker-list", required_argument, NULL, O_BROKER_LIST },
        { "topic", required_argument, NULL, O_TOPIC },
        { "property", required_argument, NULL, O_PROPERTY },
        { "producer-property", required_argument, NULL, O_PRODUCER_PROPERTY },
        { "producer.config", required_argument, NULL, O_PRODUCER_CONFIG },
        { "compression-codec", optional_argument, NULL, O_COMPRESSION },
        { "request-required-acks", required_argument, NULL, O_ACKS },
        { "sync", no_argument, NULL, O_SYNC },
        { "batch-size", required_argument, NULL, O_BATCH_SIZE },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    reader_props_t rp = { .key_sep = "\t", .headers_delim = "\t", .headers_sep = ",",
                          .headers_key_sep = ":" };
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *topic = NULL, *bootstrap = NULL;
    bool sync = false;
    int ch;
    tool_conf_set(PROG, conf, "acks=-1");
    tool_conf_set(PROG, conf, "linger.ms=1000");
    /* Java's producer: murmur2 of the key, so a key lands on the same
     * partition whichever client wrote it (librdkafka's default is crc32). */
    tool_conf_set(PROG, conf, "partitioner=murmur2_random");
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_BOOTSTRAP: case O_BROKER_LIST: bootstrap = optarg; break;
        case O_TOPIC: topic = optarg; break;
        case O_PROPERTY: set_prop(&rp, optarg); break;
        case O_PRODUCER_PROPERTY: tool_conf_set(PROG, conf, optarg); break;
        case O_PRODUCER_CONFIG: tool_conf_file(PROG, conf, optarg); break;
        case O_COMPRESSION: tool_conf_kv(PROG, conf, "compression.codec", optarg ? optarg : "gzip"); break;
        case O_ACKS: tool_conf_kv(PROG, conf, "acks", optarg); break;
        case O_SYNC: sync = true; break;
        case O_BATCH_SIZE: tool_conf_kv(PROG, conf, "batch.num.messages", optarg); break;
        case O_TIMEOUT: tool_conf_kv(PROG, conf, "linger.ms", optarg); break;
        case O_HELP:
            printf("Usage: %s --bootstrap-server HOST:PORT --topic TOPIC [--property k=v]...\n", PROG);
            return 0;
        default: return 1;
        }
    }
    if (!bootstrap || !topic)
        tool_die(PROG, "Missing required argument \"[%s]\"", !bootstrap ? "bootstrap-server" : "topic");
    tool_conf_kv(PROG, conf, "bootstrap.servers", bootstrap);
    if (sync)
        tool_conf_set(PROG, conf, "linger.ms=0");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        tool_die(PROG, "%s", err);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (produce_line(rk, topic, &rp, line) < 0) {
            rc = 1;
            break;
        }
        if (sync)
            rd_kafka_flush(rk, 30000);
        rd_kafka_poll(rk, 0);
    }
    free(line);
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "%s: timed out delivering %d message(s)\n", PROG, rd_kafka_outq_len(rk));
        rc = 1;
    }
    rd_kafka_destroy(rk);
    return rc || delivery_failures ? 1 : 0;
}
