/*
 * tool_common.c - owns the helpers shared by the samsa-* command-line tools
 * (see tool_common.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker_config.h"
#include "proto_messages.h"
#include "tool_common.h"
#include "util.h"

void tool_die(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void tool_conf_kv(const char *prog, rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        tool_die(prog, "%s", err);
}

void tool_conf_set(const char *prog, rd_kafka_conf_t *conf, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        tool_die(prog, "expected key=value, got '%s'", kv);
    char *k = strndup(kv, (size_t)(eq - kv));
    tool_conf_kv(prog, conf, k, eq + 1);
    free(k);
}

void tool_conf_file(const char *prog, rd_kafka_conf_t *conf, const char *path)
{
    char *text = read_file(path, NULL);
    if (!text)
        tool_die(prog, "cannot read %s: %s", path, strerror(errno));
    broker_config_t props;
    config_defaults(&props);
    config_parse_text(&props, text, path);
    free(text);
    char err[512];
    for (int i = 0; i < props.n_entries; i++)
        if (rd_kafka_conf_set(conf, props.keys[i], props.values[i], err, sizeof(err)) !=
            RD_KAFKA_CONF_OK)
            tool_die(prog, "%s: %s", path, err);
    config_free(&props);
}

rd_kafka_t *tool_admin_new(const char *prog, const char *bootstrap, const char *command_config)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    tool_conf_kv(prog, conf, "bootstrap.servers", bootstrap);
    if (command_config)
        tool_conf_file(prog, conf, command_config);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        tool_die(prog, "%s", err);
    return rk;
}

rd_kafka_event_t *tool_admin_result(const char *prog, rd_kafka_queue_t *q)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    if (!ev)
        tool_die(prog, "Timed out waiting for a node assignment.");
    if (rd_kafka_event_error(ev))
        tool_die(prog, "%s", rd_kafka_event_error_string(ev));
    return ev;
}

rd_kafka_AdminOptions_t *tool_admin_options(const char *prog, rd_kafka_t *rk, rd_kafka_admin_op_t op,
                                            int timeout_ms)
{
    char err[512];
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, op);
    if (rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, err, sizeof(err)))
        tool_die(prog, "%s", err);
    return ao;
}

rd_kafka_resp_err_t tool_topic_result(const rd_kafka_topic_result_t **res, size_t n, const char **msg)
{
    *msg = NULL;
    if (n != 1)
        return RD_KAFKA_RESP_ERR__FAIL;
    const char *m = rd_kafka_topic_result_error_string(res[0]);
    *msg = m && *m ? m : NULL;
    return rd_kafka_topic_result_error(res[0]);
}

int16_t tool_rpc(kclient_t *c, arena_t *a, const char *prog, const char *api, int16_t want,
                 const void *rq, void *resp)
{
    int16_t v = kclient_rpc(c, a, api, (int16_t)-want, rq, resp);
    if (v < 0)
        tool_die(prog, "%s request failed (not supported, connection lost or malformed response)",
                 api);
    return v;
}

struct metadata_response *tool_metadata(kclient_t *c, arena_t *a, const char *prog,
                                        const char *topic, bool no_topics)
{
    struct metadata_request rq;
    metadata_request_defaults(&rq);
    if (topic) {
        rq.topics_count = 1;
        rq.topics = metadata_request_metadata_request_topic_array(a, 1);
        rq.topics[0].name = kstr_from_cstr(topic);
    } else {
        rq.topics_count = no_topics ? 0 : -1;
    }
    rq.allow_auto_topic_creation = false;
    struct metadata_response *resp = arena_alloc(a, sizeof(*resp));
    tool_rpc(c, a, prog, "Metadata", 12, &rq, resp);
    return resp;
}

struct metadata_response *tool_bootstrap(kclient_t *c, arena_t *a, const char *prog,
                                         const char *bootstrap, bool no_topics)
{
    if (kclient_connect(c, prog, bootstrap, 30000) < 0)
        tool_die(prog, "Cannot connect to %s", bootstrap);
    arena_init(a);
    return tool_metadata(c, a, prog, NULL, no_topics);
}

int tool_connect_broker(kclient_t *out, arena_t *a, const char *prog,
                        const struct metadata_response *m, int32_t id)
{
    for (int i = 0; i < m->brokers_count; i++)
        if (m->brokers[i].node_id == id)
            return kclient_connect_to(out, prog, kstr_dup(a, m->brokers[i].host),
                                      m->brokers[i].port, 30000);
    return -1;
}
