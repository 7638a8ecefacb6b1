/*
 * fetch_session_client.h - a follower's side of a fetch session (KIP-227,
 * Kafka's FetchSessionHandler): the first Fetch to a leader is a full one
 * (epoch 0) that asks for a session; once the leader grants one, each
 * Fetch sends only the partitions whose fetch position changed (added or
 * altered) and names those no longer fetched as forgotten, so a follower
 * in steady state sends almost nothing per round.  Any error, an unknown
 * session or a lost connection starts over with a full fetch.
 *
 * Threads: one fetcher thread owns a handler (one per fetcher, as Kafka
 * keeps one per ReplicaFetcherThread); nothing in it is shared.
 */
#ifndef SAMSA_FETCH_SESSION_CLIENT_H
#define SAMSA_FETCH_SESSION_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "proto_messages.h"

/* What a Fetch says about one partition; a change in any field makes an
 * incremental fetch send the partition again. */
typedef struct fsc_position {
    int32_t current_leader_epoch;
    int64_t fetch_offset;
    int32_t last_fetched_epoch;
    int64_t log_start_offset;
    int32_t max_bytes;
} fsc_position_t;

typedef struct fsc_part fsc_part_t;

typedef struct fetch_session_client {
    int32_t session_id;             /* 0: none */
    int32_t epoch;                  /* the next request's; 0 asks for a new session */
    fsc_part_t *parts;              /* the partitions the leader's session holds */
    bool full;                      /* the request being built is a full one */
    int32_t sent_epoch;             /* the epoch of the request in flight */
} fetch_session_client_t;

void fsc_init(fetch_session_client_t *s);
void fsc_free(fetch_session_client_t *s);

/* A request is being built: call fsc_want() for every partition to fetch
 * this round, then fsc_finish_request(). */
void fsc_begin(fetch_session_client_t *s);
/* True if the partition goes into the request (a full fetch, or one the
 * session has not got at this position). */
bool fsc_want(fetch_session_client_t *s, const char *topic, int32_t partition,
              const fsc_position_t *pos);
/* Sets the request's session fields and its forgotten partitions (those
 * in the session that were not wanted this round), allocated from a. */
void fsc_finish_request(fetch_session_client_t *s, arena_t *a, struct fetch_request *rq);

/* The leader answered: error is the response's top-level error. */
void fsc_handle_response(fetch_session_client_t *s, int16_t error, int32_t session_id);
/* The request failed (connection lost, no answer): the next one closes
 * the session and opens a new one, as Kafka's handleError. */
void fsc_handle_error(fetch_session_client_t *s);
/* Forget the session entirely (a new leader address). */
void fsc_reset(fetch_session_client_t *s);

#endif
