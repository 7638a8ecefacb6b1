/*
 * samsa-consumer-perf-test - kafka-consumer-perf-test.sh for samsa (and any
 * Kafka broker), built on librdkafka: same flags and CSV summary.  Reads
 * every partition of the topic by assignment (no group join).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_common.h"
#include "util.h"

#define PROG "samsa-consumer-perf-test"

enum { O_BOOTSTRAP = 1000, O_TOPIC, O_MESSAGES, O_TIMEOUT, O_GROUP, O_FETCH_SIZE, O_FROM_LATEST,
       O_CONFIG, O_HIDE_HEADER, O_DATE_FORMAT, O_DETAILED, O_INTERVAL, O_HELP };

static void fmt_time(char *buf, size_t n, int64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + k, n - k, ":%03d", (int)(wall_ms % 1000));
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
        { "broker-list", required_argument, NULL, O_BOOTSTRAP },
        { "topic", required_argument, NULL, O_TOPIC },
        { "messages", required_argument, NULL, O_MESSAGES },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "group", required_argument, NULL, O_GROUP },
        { "fetch-size", required_argument, NULL, O_FETCH_SIZE },
        { "from-latest", no_argument, NULL, O_FROM_LATEST },
        { "consumer.config", required_argument, NULL, O_CONFIG },
        { "hide-header", no_argument, NULL, O_HIDE_HEADER },
        { "date-format", required_argument, NULL, O_DATE_FORMAT },
        { "show-detailed-stats", no_argument, NULL, O_DETAILED },
        { "reporting-interval", required_argument, NULL, O_INTERVAL },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *bootstrap = NULL, *topic = NULL;
    long long messages = -1;
    int timeout_ms = 10000, ch;
    bool from_latest = false, hide_header = false;
    char kv[1024], err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_BOOTSTRAP: bootstrap = optarg; break;
        case O_TOPIC: topic = optarg; break;
        case O_MESSAGES: messages = atoll(optarg); break;
        case O_TIMEOUT: timeout_ms = atoi(optarg); break;
        case O_GROUP: break; /* partitions are assigned, no group is joined */
        case O_FETCH_SIZE:
            tool_conf_kv(PROG, conf, "fetch.max.bytes", optarg);
            break;
        case O_FROM_LATEST: from_latest = true; break;
        case O_CONFIG: tool_conf_file(PROG, conf, optarg); break;
        case O_HIDE_HEADER: hide_header = true; break;
        case O_DATE_FORMAT: case O_DETAILED: case O_INTERVAL: break;
        case O_HELP:
            printf("Usage: %s --bootstrap-server H:P --topic T --messages N [--timeout ms]\n", PROG);
            return 0;
        default: return 1;
        }
    }
    if (!bootstrap || !topic || messages < 0)
        tool_die(PROG, "--bootstrap-server, --topic and --messages are required");
    tool_conf_kv(PROG, conf, "bootstrap.servers", bootstrap);
    snprintf(kv, sizeof(kv), "group.id=perf-consumer-%d", (int)getpid());
    tool_conf_set(PROG, conf, kv);
    tool_conf_set(PROG, conf, "enable.auto.commit=false");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        tool_die(PROG, "%s", err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err)
        tool_die(PROG, "cannot get metadata for %s", topic);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            from_latest ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int64_t start_wall = now_ms(), start = mono_ms();
    if (rd_kafka_assign(rk, parts))
        tool_die(PROG, "assign failed");
    rd_kafka_topic_partition_list_destroy(parts);
    long long count = 0;
    int64_t bytes = 0, first_ms = -1, last_ms = mono_ms();
    while (count < messages && mono_ms() - last_ms < timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            if (first_ms < 0)
                first_ms = mono_ms();
            count++;
            bytes += (int64_t)m->len;
            last_ms = mono_ms();
        }
        rd_kafka_message_destroy(m);
    }
    int64_t end = mono_ms();
    int64_t end_wall = start_wall + (end - start);
    double secs = (double)(end - start) / 1000.0, mb = (double)bytes / 1024.0 / 1024.0;
    double fetch_secs = first_ms >= 0 ? (double)(end - first_ms) / 1000.0 : secs;
    char s1[64], s2[64];
    fmt_time(s1, sizeof(s1), start_wall);
    fmt_time(s2, sizeof(s2), end_wall);
    if (!hide_header)
        printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
               "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
    printf("%s, %s, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n", s1, s2, mb,
           secs > 0 ? mb / secs : 0, count, secs > 0 ? (double)count / secs : 0,
           (long long)(first_ms >= 0 ? first_ms - start : 0), (long long)(fetch_secs * 1000),
           fetch_secs > 0 ? mb / fetch_secs : 0, fetch_secs > 0 ? (double)count / fetch_secs : 0);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return count < messages ? 1 : 0;
}
