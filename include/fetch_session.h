/*
 * fetch_session.h - the leader's fetch sessions (KIP-227, Kafka's
 * FetchSession/FetchSessionCache): a client that opens a session sends
 * only the partitions whose fetch position changed, and hears only about
 * partitions with news (records, a new high watermark or log start, an
 * error, a diverging epoch).
 *
 * A Fetch request goes through fs_begin(), which turns it into the full
 * list of partitions to read (the session's, updated by the request), and
 * its response through fs_finish() once it is really sent, which drops the
 * partitions without news from an incremental response and remembers what
 * was told.  Sessions live in a cache of
 * max.incremental.fetch.session.cache.slots, followers' (privileged)
 * before consumers', evicting those idle for two minutes first, as Kafka's.
 *
 * Threads: the event-loop thread only (it owns the cache).
 */
#ifndef SAMSA_FETCH_SESSION_H
#define SAMSA_FETCH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "proto_messages.h"

typedef struct fs_context {
    int32_t session_id;         /* the session the response names (0: none) */
    int32_t epoch;              /* the epoch that response answers */
    bool incremental;           /* respond with news only */
    bool create;                /* a full fetch that opens a session */
    bool privileged;            /* from a follower */
    bool topic_ids;             /* v13+: keyed by topic id */
    int16_t error;              /* a top-level error: answer nothing else */
} fs_context_t;

/* Applies rq's session fields (v7+): rq->topics becomes the partitions to
 * read (allocated from a), or ctx->error is set. */
void fs_begin(arena_t *a, int16_t version, struct fetch_request *rq, int32_t replica_id,
              int32_t slots, fs_context_t *ctx);
/* The response is going out: it gets the session id, an incremental one
 * loses the partitions without news, and the session remembers what it
 * told (a full fetch opens its session here, if the cache has room). */
void fs_finish(fs_context_t *ctx, const struct fetch_request *rq, struct fetch_response *resp,
               int32_t slots);
/* A quota-throttled answer instead (Kafka's getThrottledResponse): no
 * partitions, the session's id if incremental, and the session learns
 * nothing, so the next fetch is told what this one was not. */
void fs_throttled(fs_context_t *ctx, struct fetch_response *resp);
/* Sessions in the cache (tests, logs). */
int fs_count(void);
void fs_shutdown(void);

#endif
