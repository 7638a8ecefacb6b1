/*
 * loop.h - the single mechanism for handing work to the event-loop thread
 * from any other thread (today: the ZooKeeper client's watcher thread).
 * loop_post() may be called from any thread; the callback runs on the loop.
 */
#ifndef SAMSA_LOOP_H
#define SAMSA_LOOP_H

struct event_base;
typedef struct loop loop_t;

typedef void (*loop_fn)(void *arg);

loop_t *loop_new(struct event_base *base);
void loop_free(loop_t *l);
/* Any thread.  Takes ownership of nothing: arg must stay valid until fn runs.
 * loop_free() runs whatever is still queued, so a posted fn always runs. */
void loop_post(loop_t *l, loop_fn fn, void *arg);

#endif
