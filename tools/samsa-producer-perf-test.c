/*
 * samsa-producer-perf-test - kafka-producer-perf-test.sh for samsa (and any
 * Kafka broker), built on librdkafka: same flags, same progress and summary
 * lines, latency percentiles from delivery reports.
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

#define PROG "samsa-producer-perf-test"
#define REPORT_MS 5000

enum { O_TOPIC = 1000, O_NUM, O_SIZE, O_THROUGHPUT, O_PROPS, O_CONFIG, O_PAYLOAD_FILE,
       O_PRINT_METRICS, O_LATENCY_US, O_HELP };

typedef struct stats {
    int64_t start_ms;
    int64_t count, bytes, errors;
    int32_t *latencies;         /* latency of every record, microseconds */
    int64_t n_latencies;
    /* current window */
    int64_t win_start, win_count, win_bytes, win_lat_sum, win_lat_max;
    int64_t lat_sum, lat_max;
} stats_t;

typedef struct msg_meta {
    int64_t sent_us;
    int32_t size;
} msg_meta_t;

static stats_t st;

static int64_t now_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_monotonic_ms(void)
{
    return now_monotonic_us() / 1000;
}

static void window_print(int64_t now)
{
    double secs = (double)(now - st.win_start) / 1000.0;
    if (secs <= 0 || st.win_count == 0)
        return;
    printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
           (long long)st.win_count, (double)st.win_count / secs,
           (double)st.win_bytes / 1024.0 / 1024.0 / secs,
           (double)st.win_lat_sum / 1000.0 / (double)st.win_count, (double)st.win_lat_max / 1000.0);
    fflush(stdout);
    st.win_start = now;
    st.win_count = st.win_bytes = st.win_lat_sum = st.win_lat_max = 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    msg_meta_t *meta = m->_private;
    int64_t now_us = now_monotonic_us();
    int64_t now = now_us / 1000;
    if (m->err) {
        st.errors++;
        if (st.errors <= 5)
            fprintf(stderr, "%s: delivery failed: %s\n", PROG, rd_kafka_err2str(m->err));
    } else {
        int64_t lat = now_us - meta->sent_us;
        st.latencies[st.n_latencies++] = (int32_t)lat;
        st.count++;
        st.bytes += meta->size;
        st.win_count++;
        st.win_bytes += meta->size;
        st.win_lat_sum += lat;
        st.lat_sum += lat;
        if (lat > st.win_lat_max)
            st.win_lat_max = lat;
        if (lat > st.lat_max)
            st.lat_max = lat;
    }
    if (now - st.win_start >= REPORT_MS)
        window_print(now);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* Latency percentile in microseconds. */
static int32_t percentile_us(double p)
{
    if (st.n_latencies == 0)
        return 0;
    int64_t idx = (int64_t)(p * (double)st.n_latencies);
    if (idx >= st.n_latencies)
        idx = st.n_latencies - 1;
    return st.latencies[idx];
}

static int percentile_ms(double p)
{
    return percentile_us(p) / 1000;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "topic", required_argument, NULL, O_TOPIC },
        { "num-records", required_argument, NULL, O_NUM },
        { "record-size", required_argument, NULL, O_SIZE },
        { "throughput", required_argument, NULL, O_THROUGHPUT },
        { "producer-props", required_argument, NULL, O_PROPS },
        { "producer.config", required_argument, NULL, O_CONFIG },
        { "payload-file", required_argument, NULL, O_PAYLOAD_FILE },
        { "print-metrics", no_argument, NULL, O_PRINT_METRICS },
        { "print-latency-us", no_argument, NULL, O_LATENCY_US },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *topic = NULL;
    long long num = -1, throughput = -2;
    int size = -1, ch;
    bool latency_us = false;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_TOPIC: topic = optarg; break;
        case O_NUM: num = atoll(optarg); break;
        case O_SIZE: size = atoi(optarg); break;
        case O_THROUGHPUT: throughput = atoll(optarg); break;
        case O_PROPS:
            /* --producer-props takes one or more k=v words. */
            tool_conf_set(PROG, conf, optarg);
            while (optind < argc && argv[optind][0] != '-' && strchr(argv[optind], '='))
                tool_conf_set(PROG, conf, argv[optind++]);
            break;
        case O_CONFIG: tool_conf_file(PROG, conf, optarg); break;
        case O_PAYLOAD_FILE: tool_die(PROG, "--payload-file is not supported yet; use --record-size");
        case O_PRINT_METRICS: break;
        case O_LATENCY_US: latency_us = true; break;
        case O_HELP:
            printf("Usage: %s --topic T --num-records N --record-size S --throughput R|-1 "
                   "--producer-props k=v [k=v...]\n", PROG);
            return 0;
        default: return 1;
        }
    }
    if (!topic || num < 0 || size < 0 || throughput == -2)
        tool_die(PROG, "--topic, --num-records, --record-size and --throughput are required");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        tool_die(PROG, "%s", err);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    char *payload = xmalloc((size_t)size + 1);
    for (int i = 0; i < size; i++)
        payload[i] = (char)('A' + rand() % 26);
    st.latencies = xcalloc((size_t)num + 1, sizeof(int32_t));
    msg_meta_t *metas = xcalloc((size_t)num + 1, sizeof(*metas));
    st.start_ms = st.win_start = now_monotonic_ms();
    for (long long i = 0; i < num; i++) {
        int64_t now = now_monotonic_ms();
        if (throughput > 0) {
            /* Throttle to the requested records/s. */
            int64_t due = st.start_ms + (int64_t)((double)i * 1000.0 / (double)throughput);
            while (now < due) {
                rd_kafka_poll(rk, (int)(due - now));
                now = now_monotonic_ms();
            }
        }
        metas[i].sent_us = now_monotonic_us();
        metas[i].size = size;
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload, (size_t)size, NULL, 0,
                                &metas[i]) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                tool_die(PROG, "produce failed: %s", rd_kafka_err2str(rd_kafka_last_error()));
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_poll(rk, 50);
    int64_t elapsed = now_monotonic_ms() - st.start_ms;
    window_print(now_monotonic_ms());
    qsort(st.latencies, (size_t)st.n_latencies, sizeof(int32_t), cmp_i32);
    double secs = elapsed > 0 ? (double)elapsed / 1000.0 : 0.001;
    printf("%lld records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
           "%d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
           (long long)st.count, (double)st.count / secs, (double)st.bytes / 1024.0 / 1024.0 / secs,
           st.count ? (double)st.lat_sum / 1000.0 / (double)st.count : 0.0, (double)st.lat_max / 1000.0,
           percentile_ms(0.5), percentile_ms(0.95), percentile_ms(0.99), percentile_ms(0.999));
    if (latency_us)
        printf("latency-us avg %.1f p50 %d p95 %d p99 %d p99.9 %d max %lld\n",
               st.count ? (double)st.lat_sum / (double)st.count : 0.0, percentile_us(0.5),
               percentile_us(0.95), percentile_us(0.99), percentile_us(0.999), (long long)st.lat_max);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(payload);
    free(metas);
    free(st.latencies);
    return st.errors ? 1 : 0;
}
