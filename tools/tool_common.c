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

static int kclient_api_versions(kclient_t *c)
{
    for (int i = 0; i < KCLIENT_MAX_API; i++)
        c->api_min[i] = c->api_max[i] = -1;
    arena_t a;
    arena_init(&a);
    kwriter_t w;
    kw_init(&w);
    kreader_t r;
    struct api_versions_response resp;
    int rc = kclient_call(c, 18, 0, false, &w, &a, &r);
    if (rc == 0)
        rc = api_versions_response_decode(&r, 0, &resp);
    if (rc == 0 && resp.error_code == 0) {
        for (int i = 0; i < resp.api_keys_count; i++) {
            int16_t k = resp.api_keys[i].api_key;
            if (k >= 0 && k < KCLIENT_MAX_API) {
                c->api_min[k] = resp.api_keys[i].min_version;
                c->api_max[k] = resp.api_keys[i].max_version;
            }
        }
    } else {
        rc = -1;
    }
    kw_free(&w);
    arena_free(&a);
    return rc;
}

static const proto_message_info_t *message_info(const char *name)
{
    for (int i = 0; i < proto_message_table_count; i++)
        if (!strcmp(proto_message_table[i].name, name))
            return &proto_message_table[i];
    return NULL;
}

int16_t kclient_rpc(kclient_t *c, arena_t *a, const char *api, int16_t want, const void *rq,
                    void *resp)
{
    char rqn[64], rsn[64];
    snprintf(rqn, sizeof(rqn), "%sRequest", api);
    snprintf(rsn, sizeof(rsn), "%sResponse", api);
    const proto_message_info_t *qi = message_info(rqn), *si = message_info(rsn);
    if (!qi || !si)
        tool_die(c->prog, "internal error: no codec for %s", api);
    int16_t v = kclient_version(c, qi->api_key, want);
    if (v < 0)
        tool_die(c->prog, "the broker does not support %s", api);
    kwriter_t w;
    kw_init(&w);
    qi->encode(&w, v, rq);
    kreader_t r;
    int rc = kclient_call(c, qi->api_key, v, v >= qi->first_flexible && qi->first_flexible >= 0, &w,
                          a, &r);
    kw_free(&w);
    if (rc < 0 || si->decode(&r, v, resp) < 0)
        tool_die(c->prog, "%s request failed (connection lost or malformed response)", api);
    return v;
}

int kclient_connect(kclient_t *c, const char *prog, const char *bootstrap)
{
    c->fd = -1;
    c->next_correlation = 1;
    c->prog = prog;
    char *list = xstrdup(bootstrap), *save = NULL;
    for (char *hp = strtok_r(list, ",", &save); hp && c->fd < 0; hp = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(hp, ':');
        if (!colon)
            continue;
        *colon = '\0';
        struct addrinfo hints = { 0 }, *ai = NULL;
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(hp, colon + 1, &hints, &ai) != 0)
            continue;
        for (struct addrinfo *a = ai; a && c->fd < 0; a = a->ai_next) {
            int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
            if (fd < 0)
                continue;
            if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
                c->fd = fd;
            else
                close(fd);
        }
        freeaddrinfo(ai);
    }
    free(list);
    if (c->fd < 0)
        return -1;
    return kclient_api_versions(c);
}

int16_t kclient_version(const kclient_t *c, int16_t api_key, int16_t want)
{
    if (api_key < 0 || api_key >= KCLIENT_MAX_API || c->api_min[api_key] < 0 ||
        c->api_min[api_key] > want)
        return -1;
    return MIN(want, c->api_max[api_key]);
}

void kclient_close(kclient_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int kclient_call(kclient_t *c, int16_t api_key, int16_t version, bool flexible,
                 const kwriter_t *body, arena_t *arena, kreader_t *resp)
{
    kwriter_t w;
    kw_init(&w);
    kw_int32(&w, 0);
    struct request_header h;
    request_header_defaults(&h);
    h.request_api_key = api_key;
    h.request_api_version = version;
    h.correlation_id = c->next_correlation++;
    h.client_id = kstr_from_cstr(c->prog);
    request_header_encode(&w, flexible ? 2 : 1, &h);
    kw_raw(&w, body->buf, body->len);
    kw_put_int32_at(&w, 0, (int32_t)(w.len - 4));
    int rc = write_full(c->fd, w.buf, w.len);
    kw_free(&w);
    if (rc < 0)
        return -1;
    uint8_t szb[4];
    if (read_all(c->fd, szb, 4) < 0)
        return -1;
    int32_t size = be32_get(szb);
    if (size < 4)
        return -1;
    uint8_t *buf = arena_alloc(arena, (size_t)size);
    if (read_all(c->fd, buf, (size_t)size) < 0)
        return -1;
    kr_init(resp, buf, (size_t)size, arena);
    struct response_header rh;
    /* ApiVersions answers with header v0 whatever its version. */
    if (response_header_decode(resp, flexible && api_key != 18 ? 1 : 0, &rh) < 0 ||
        rh.correlation_id != h.correlation_id)
        return -1;
    return 0;
}
