/*
 * topic_config_load.h - the configs of topics a broker first hears of from
 * its controller (UpdateMetadata, LeaderAndIsr) rather than from its own
 * reads of ZooKeeper: /config/topics/<t> is read on the ZooKeeper thread,
 * in batches, and applied to the metadata cache (mc_topic_t.cfg_loaded),
 * as Kafka's brokers read a topic's config when they create its log.
 * A LeaderAndIsr naming a topic whose config is not loaded yet waits for
 * it (parked), so no log is created or led with another topic's defaults.
 *
 * Threads: the event loop, except the reads.
 */
#ifndef SAMSA_TOPIC_CONFIG_LOAD_H
#define SAMSA_TOPIC_CONFIG_LOAD_H

#include <stdbool.h>

#include "broker.h"
#include "metadata_cache.h"

/* Asks for t's config unless it is loaded or on its way.
 * @locality the event-loop thread */
void tcl_want(broker_t *b, mc_topic_t *t);

/* Parks req until the next batch of configs is applied; then
 * resume(b, req) runs (and may park it again).  Its connection going away
 * cancels it.
 * @locality the event-loop thread */
void tcl_park(request_t *req, enum handler_result (*resume)(broker_t *b, request_t *req));

/* At shutdown: parked requests are forgotten (their connections close).
 * @locality the event-loop thread */
void tcl_shutdown(void);

#endif
