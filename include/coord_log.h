/*
 * coord_log.h - what the group and transaction coordinators share about
 * their internal topics (__consumer_offsets, __transaction_state): appending
 * a coordinator's records to a partition it leads, waiting until the ISR
 * has them (acks=all), and loading a partition back as the latest record
 * of each key when this broker starts leading it -- with records written
 * inside transactions held back until their commit marker, dropped at
 * their abort marker, and handed over as pending when still open.
 * Event-loop thread only (the reading itself runs on the disk thread).
 */
#ifndef SAMSA_COORD_LOG_H
#define SAMSA_COORD_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "record_batch.h"

/* A coordinator's topic is missing: it is created in the background once
 * enough brokers are alive (what and rf_key name it in the log line, as
 * Kafka's), charged to the asking client's controller_mutation_rate
 * (quota; NULL: none) without throttling it, as Kafka's FindCoordinator.
 * Always COORDINATOR_NOT_AVAILABLE: the client asks again. */
struct topic_spec;
struct mutation_quota;
int16_t clog_create_topic(broker_t *b, const struct topic_spec *spec, const char *what,
                          const char *rf_key, struct mutation_quota *quota);
/* The coordinator for a key placed in topic-partition: its leader as the
 * metadata cache has it; COORDINATOR_NOT_AVAILABLE if none is alive. */
int16_t clog_leader_of(const char *topic, int32_t partition, int32_t *node);

/* Appends n records to partition `partition` of `topic`, which this broker
 * must lead (NOT_COORDINATOR otherwise); prod NULL for plain records, else
 * the producer of a transactional batch.  *base (may be NULL) gets the
 * first offset, *end the offset after the last.  0 or a Kafka error. */
int16_t clog_append(broker_t *b, const char *topic, int32_t partition, const batch_kv_t *recs,
                    int n, const batch_producer_t *prod, int64_t *base, int64_t *end);

/* Waits until the high watermark of topic-partition reaches `end` (every
 * ISR member has the records), then done(arg, NONE); done(arg, error) if
 * leadership moves (NOT_COORDINATOR), the ISR is below min.insync.replicas
 * (NOT_ENOUGH_REPLICAS), or timeout_ms passes (REQUEST_TIMED_OUT).  done
 * may run before this returns.  The handle cancels a wait whose requester
 * went away (done is then never called); NULL if done already ran. */
typedef struct clog_wait clog_wait_t;
clog_wait_t *clog_wait_replicated(broker_t *b, const char *topic, int32_t partition, int64_t end,
                                  int32_t timeout_ms, void (*done)(void *arg, int16_t err),
                                  void *arg);
void clog_wait_cancel(clog_wait_t *w);

/* Loads a partition: the disk thread reads it into the latest record of
 * each key, then fn(rec, pending_pid, arg) runs on the event loop for each
 * of them (in slices of about 2 ms): pending_pid is -1 for a record in
 * effect, or the producer id of a transaction still open at the log end.
 * Then done(arg, rc) (rc < 0: stopped at an unreadable batch).  A load
 * dropped at shutdown calls dropped(arg) instead of done.  -1 if the
 * partition is not hosted. */
typedef void (*clog_record_fn)(const batch_record_t *r, int64_t pending_pid, void *arg);
int clog_load_async(broker_t *b, const char *topic, int32_t partition, clog_record_fn fn,
                    void (*done)(void *arg, int rc), void (*dropped)(void *arg), void *arg);
/* Drops loads in progress (shutdown, after the disk thread stopped). */
void clog_load_shutdown(void);

#endif
