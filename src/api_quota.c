/*
 * api_quota.c - owns how requests are charged to client quotas
 * (client_quotas.h) as Kafka's KafkaApis charges them: Produce bytes to
 * producer_byte_rate, Fetch response bytes to consumer_byte_rate, and the
 * event-loop time of every request a client may be throttled for to
 * request_percentage; the throttle time that goes in the answer, and the
 * connection left unread meanwhile (KIP-219).
 *
 * Exempt, as in Kafka: the inter-broker requests (LeaderAndIsr,
 * StopReplica, UpdateMetadata, ControlledShutdown, WriteTxnMarkers,
 * AlterPartition, AllocateProducerIds) and a follower's Fetch.
 *
 * Partial: Kafka also charges a request's network-thread time to
 * request_percentage; samsa charges its handler's event-loop time only
 * (reading and writing the socket are not counted, nor the completion of
 * a parked request).
 *
 * Event-loop thread only.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "client_quotas.h"
#include "logging.h"
#include "net.h"
#include "proto_messages.h"
#include "util.h"

/* The client a request is charged to: the user of its principal, and the
 * client-id it sent. */
typedef struct quota_client {
    const char *principal;
    const char *user;
    char client_id[256];
} quota_client_t;

static void client_of(const request_t *req, quota_client_t *qc)
{
    qc->principal = conn_principal(req->conn);
    const char *colon = strchr(qc->principal, ':');
    qc->user = colon ? colon + 1 : qc->principal;
    snprintf(qc->client_id, sizeof(qc->client_id), "%.*s", MAX(req->hdr.client_id.len, 0),
             req->hdr.client_id.ptr ? req->hdr.client_id.ptr : "");
}

static void mute(request_t *req, const quota_client_t *qc, enum cq_type type, int32_t ms)
{
    static const char *const what[CQ_TYPES] = { "produce", "fetch", "request",
                                                "controller mutation" };
    log_debug("quota", "Throttling %s (%s, client-id %s) for %d ms (%s quota)",
              conn_peer(req->conn), qc->principal, qc->client_id, ms, what[type]);
    conn_mute_for(req->conn, ms);
}

/* Event-loop time the request's handler has taken, in percent of one
 * thread for one second (Kafka's nanosToPercentage). */
static double request_time_percent(const request_t *req)
{
    int64_t ns = req->handler_ns + (req->handler_start_ns ? mono_ns() - req->handler_start_ns : 0);
    return (double)ns * 100.0 / 1e9;
}

static int32_t charge_request_time(request_t *req, const quota_client_t *qc)
{
    req->quota_charged = true;
    return cq_record(CQ_REQUEST, qc->user, qc->client_id, request_time_percent(req), now_ms());
}

int32_t quota_produce(request_t *req, bool acks0)
{
    if (!cq_active())
        return 0;
    quota_client_t qc;
    client_of(req, &qc);
    int32_t bytes_ms = cq_record(CQ_PRODUCE, qc.user, qc.client_id, (double)req->frame_len,
                                 now_ms());
    /* Kafka: acks=0 is exempt from the request quota (no answer to carry it). */
    int32_t time_ms = acks0 ? 0 : charge_request_time(req, &qc);
    req->quota_charged = true;      /* acks=0 too: nothing more to charge */
    if (bytes_ms > 0 || time_ms > 0)
        mute(req, &qc, bytes_ms > time_ms ? CQ_PRODUCE : CQ_REQUEST, MAX(bytes_ms, time_ms));
    return MAX(bytes_ms, time_ms);
}

int32_t quota_fetch(request_t *req, int64_t response_bytes)
{
    if (!cq_active())
        return 0;
    quota_client_t qc;
    client_of(req, &qc);
    int64_t now = now_ms();
    int32_t time_ms = charge_request_time(req, &qc);
    int32_t bytes_ms = cq_record(CQ_FETCH, qc.user, qc.client_id, (double)response_bytes, now);
    int32_t ms = MAX(bytes_ms, time_ms);
    if (ms > 0) {
        /* The answer carries no data, so its bytes are not the client's. */
        cq_unrecord(CQ_FETCH, qc.user, qc.client_id, (double)response_bytes, now);
        mute(req, &qc, bytes_ms > time_ms ? CQ_FETCH : CQ_REQUEST, ms);
    }
    return ms;
}

int32_t quota_fetch_max_bytes(request_t *req)
{
    if (!cq_active())
        return INT32_MAX;
    quota_client_t qc;
    client_of(req, &qc);
    double max = cq_window_max(CQ_FETCH, qc.user, qc.client_id);
    return max < 0 ? INT32_MAX : (int32_t)MIN(max, (double)INT32_MAX);
}

struct mutation_quota *quota_mutation(request_t *req, int16_t strict_since,
                                      bool throttles_response)
{
    if (!cq_active())
        return NULL;
    quota_client_t qc;
    client_of(req, &qc);
    mutation_quota_t *q = arena_alloc(&req->arena, sizeof(*q));
    memset(q, 0, sizeof(*q));
    q->user = qc.user;          /* the connection's principal outlives the request */
    snprintf(q->client_id, sizeof(q->client_id), "%s", qc.client_id);
    q->strict = req->hdr.request_api_version >= strict_since;
    if (throttles_response)
        req->mutation = q;
    return q;
}

static bool exempt(int16_t key)
{
    switch (key) {
    case 4: case 5: case 6: case 7: case 27: case 56: case 67:
        return true;
    default:
        return false;
    }
}

#define API_KEYS 128

/* The first version whose response body starts with throttle_time_ms, by
 * API key, looked up in the message table once (event-loop thread). */
static int16_t throttle_first(int16_t key)
{
    static int16_t first[API_KEYS];
    static bool known;
    if (!known) {
        for (int k = 0; k < API_KEYS; k++)
            first[k] = -1;
        for (int i = 0; i < proto_message_table_count; i++) {
            const proto_message_info_t *m = &proto_message_table[i];
            size_t n = strlen(m->name);
            if (m->api_key >= 0 && m->api_key < API_KEYS && n > 8 &&
                !strcmp(m->name + n - 8, "Response"))
                first[m->api_key] = m->throttle_first;
        }
        known = true;
    }
    return key >= 0 && key < API_KEYS ? first[key] : -1;
}

void quota_response_ready(request_t *req)
{
    int16_t key = req->hdr.request_api_key, v = req->hdr.request_api_version;
    /* Produce and a consumer's Fetch charge themselves; a follower's Fetch
     * is exempt. */
    if (req->quota_charged || !cq_active() || exempt(key) || key == 0 || key == 1 ||
        req->raw_response)
        return;
    quota_client_t qc;
    client_of(req, &qc);
    int32_t request_ms = charge_request_time(req, &qc);
    /* Kafka's sendResponseMaybeThrottleWithControllerQuota: the longer of
     * the two throttles. */
    int32_t mutation_ms = cq_mutation_throttle(req->mutation, now_ms());
    int32_t ms = MAX(request_ms, mutation_ms);
    int16_t first = throttle_first(key);
    /* An answer without a leading throttle_time_ms (ApiVersions, SASL,
     * OffsetDelete) is charged but cannot tell the client to back off. */
    if (ms <= 0 || first < 0 || v < first || req->no_response || kw_total(&req->resp) < 4)
        return;
    kw_put_int32_at(&req->resp, 0, ms);
    mute(req, &qc, mutation_ms > request_ms ? CQ_MUTATION : CQ_REQUEST, ms);
}
