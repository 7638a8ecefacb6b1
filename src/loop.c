/*
 * loop.c - owns the cross-thread work queue into the event loop: a
 * mutex-protected FIFO (lock: loop.lock) and a libevent user event that the
 * posting thread activates.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdlib.h>

#include "logging.h"
#include "loop.h"
#include "util.h"

typedef struct loop_item {
    loop_fn fn;
    void *arg;
    struct loop_item *next;
} loop_item_t;

struct loop {
    pthread_mutex_t lock;       /* guards head/tail */
    loop_item_t *head, *tail;
    struct event *ev;           /* runs on the loop thread */
};

/* Event-loop thread: drains the queue.
 * @locality the event-loop thread
 * @locks l->lock
 */
static void loop_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    loop_t *l = arg;
    pthread_mutex_lock(&l->lock);
    loop_item_t *it = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->lock);
    while (it) {
        loop_item_t *next = it->next;
        it->fn(it->arg);
        free(it);
        it = next;
    }
}

loop_t *loop_new(struct event_base *base)
{
    loop_t *l = xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    l->ev = event_new(base, -1, 0, loop_drain, l);
    if (!l->ev)
        die("event_new failed");
    return l;
}

/*
 * @locality the main thread, once every posting thread has stopped
 * @locks l->lock
 */
void loop_free(loop_t *l)
{
    if (!l)
        return;
    /* Work posted but not yet run still owns memory: run it (its owners
     * see that the broker is shutting down) so nothing is lost or leaked.
     * Every posting thread has been stopped before this is called. */
    loop_drain(-1, 0, l);
    event_free(l->ev);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/*
 * @locality any thread
 * @locks l->lock
 */
void loop_post(loop_t *l, loop_fn fn, void *arg)
{
    loop_item_t *it = xmalloc(sizeof(*it));
    it->fn = fn;
    it->arg = arg;
    it->next = NULL;
    pthread_mutex_lock(&l->lock);
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    pthread_mutex_unlock(&l->lock);
    event_active(l->ev, 0, 0);
}
