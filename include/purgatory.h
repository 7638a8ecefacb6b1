/*
 * purgatory.h - delayed operations (Kafka's DelayedOperation and
 * DelayedOperationPurgatory): a request that cannot be answered yet watches
 * one or more partitions and completes when its condition holds or when it
 * times out.  An append wakes only the operations watching that partition;
 * checking an operation is cheap (try_complete decides), and the response
 * is built once, by on_complete.  Long-poll Fetch uses it; acks=all and
 * delayed joins are to come.  Event-loop thread only.
 */
#ifndef SAMSA_PURGATORY_H
#define SAMSA_PURGATORY_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct partition;
typedef struct delayed_op delayed_op_t;
typedef struct op_watch op_watch_t;

struct delayed_op {
    /* True when the operation can complete now. */
    bool (*try_complete)(delayed_op_t *op);
    /* Called exactly once: completed (expired false) or timed out. */
    void (*on_complete)(delayed_op_t *op, bool expired);
    void *ctx;
    /* Owned by the purgatory: */
    struct event *timer;
    op_watch_t *watches;        /* one per watched partition */
    int n_watches;
    bool completed;
};

/* One link of a partition's list of watching operations. */
struct op_watch {
    delayed_op_t *op;
    struct partition *p;
    op_watch_t *prev, *next;
};

/* Tries op once; if it cannot complete, it watches partitions[0..n) and
 * times out after timeout_ms.  Returns true if it completed at once. */
bool purgatory_try_or_watch(struct event_base *base, delayed_op_t *op,
                            struct partition **partitions, int n, int32_t timeout_ms);
/* After an append (or anything that may satisfy them): the operations
 * watching p are tried. */
void purgatory_check(struct partition *p);
/* Drops op without completing it (its request went away). */
void purgatory_cancel(delayed_op_t *op);
/* A partition going away: its watchers complete now (as expired). */
void purgatory_partition_gone(struct partition *p);

#endif
