/*
 * fetch_session_client.c - owns a follower's view of its fetch session
 * (see fetch_session_client.h): the session id and epoch, and what the
 * leader's session holds for each partition, as Kafka's
 * FetchSessionHandler keeps them.
 *
 * Threads: the fetcher thread that owns the handler.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "fetch_session_client.h"
#include "kafka_errors.h"
#include "util.h"

#define INITIAL_EPOCH 0

struct fsc_part {
    char key[300];                  /* "<topic>-<partition>" */
    char topic[256];
    int32_t partition;
    fsc_position_t pos;             /* as last sent */
    bool wanted;                    /* in the request being built */
    UT_hash_handle hh;
};

void fsc_init(fetch_session_client_t *s)
{
    memset(s, 0, sizeof(*s));
}

static void drop_parts(fetch_session_client_t *s)
{
    fsc_part_t *p, *tmp;
    HASH_ITER(hh, s->parts, p, tmp) {
        HASH_DEL(s->parts, p);
        free(p);
    }
}

void fsc_free(fetch_session_client_t *s)
{
    drop_parts(s);
}

void fsc_reset(fetch_session_client_t *s)
{
    drop_parts(s);
    s->session_id = 0;
    s->epoch = INITIAL_EPOCH;
}

void fsc_begin(fetch_session_client_t *s)
{
    s->full = s->epoch == INITIAL_EPOCH;
    s->sent_epoch = s->epoch;
    fsc_part_t *p, *tmp;
    HASH_ITER(hh, s->parts, p, tmp)
        p->wanted = false;
}

static bool same_position(const fsc_position_t *a, const fsc_position_t *b)
{
    return a->current_leader_epoch == b->current_leader_epoch &&
           a->fetch_offset == b->fetch_offset && a->last_fetched_epoch == b->last_fetched_epoch &&
           a->log_start_offset == b->log_start_offset && a->max_bytes == b->max_bytes;
}

bool fsc_want(fetch_session_client_t *s, const char *topic, int32_t partition,
              const fsc_position_t *pos)
{
    char key[300];
    snprintf(key, sizeof(key), "%s-%d", topic, partition);
    fsc_part_t *p;
    HASH_FIND_STR(s->parts, key, p);
    bool send = s->full;
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        snprintf(p->key, sizeof(p->key), "%s", key);
        snprintf(p->topic, sizeof(p->topic), "%s", topic);
        p->partition = partition;
        HASH_ADD_STR(s->parts, key, p);
        send = true;                        /* added */
    } else if (!same_position(&p->pos, pos)) {
        send = true;                        /* altered */
    }
    p->pos = *pos;
    p->wanted = true;
    return send;
}

void fsc_finish_request(fetch_session_client_t *s, arena_t *a, struct fetch_request *rq)
{
    int n_removed = 0;
    fsc_part_t *p, *tmp;
    HASH_ITER(hh, s->parts, p, tmp)
        if (!p->wanted)
            n_removed++;
    /* A full fetch simply does not name them; an incremental one must say
     * the session should forget them. */
    int k = 0;
    rq->forgotten_topics_data_count = 0;
    if (!s->full && n_removed > 0)
        rq->forgotten_topics_data = fetch_request_forgotten_topic_array(a, n_removed);
    HASH_ITER(hh, s->parts, p, tmp) {
        if (p->wanted)
            continue;
        if (!s->full) {
            struct fetch_request_forgotten_topic *ft = &rq->forgotten_topics_data[k++];
            ft->topic = kstr_from_cstr(arena_strdup(a, p->topic));
            ft->partitions = arena_array(a, 1, sizeof(int32_t));
            ft->partitions[0] = p->partition;
            ft->partitions_count = 1;
        }
        HASH_DEL(s->parts, p);
        free(p);
    }
    rq->forgotten_topics_data_count = k;
    rq->session_id = s->session_id;
    rq->session_epoch = s->epoch;
}

void fsc_handle_error(fetch_session_client_t *s)
{
    s->epoch = INITIAL_EPOCH;               /* close the session, open a new one */
}

void fsc_handle_response(fetch_session_client_t *s, int16_t error, int32_t session_id)
{
    if (error) {
        if (error == KERR_FETCH_SESSION_ID_NOT_FOUND)
            s->session_id = 0;
        s->epoch = INITIAL_EPOCH;
        return;
    }
    if (session_id == 0) {
        /* No session granted (the leader's cache is full) or the leader
         * closed it: the next fetch is a full one asking again. */
        s->session_id = 0;
        s->epoch = INITIAL_EPOCH;
        return;
    }
    if (s->full) {
        s->session_id = session_id;
        s->epoch = 1;
        return;
    }
    s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
}
