/*
 * purgatory.c - owns delayed operations' watch lists and timers (see
 * purgatory.h).  Each watched partition keeps a doubly linked list of
 * op_watch links; an operation that completes unlinks all of its links.
 * Event-loop thread only.
 */
#include <event2/event.h>
#include <stdlib.h>

#include "purgatory.h"
#include "replica_manager.h"
#include "util.h"

static void unwatch_all(delayed_op_t *op)
{
    for (int i = 0; i < op->n_watches; i++) {
        op_watch_t *w = &op->watches[i];
        if (w->prev)
            w->prev->next = w->next;
        else if (w->p)
            w->p->watchers = w->next;
        if (w->next)
            w->next->prev = w->prev;
    }
    free(op->watches);
    op->watches = NULL;
    op->n_watches = 0;
    if (op->timer) {
        event_free(op->timer);
        op->timer = NULL;
    }
}

static void complete(delayed_op_t *op, bool expired)
{
    if (op->completed)
        return;
    op->completed = true;
    unwatch_all(op);
    op->on_complete(op, expired);
}

static void expire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    complete(arg, true);
}

bool purgatory_try_or_watch(struct event_base *base, delayed_op_t *op,
                            struct partition **partitions, int n, int32_t timeout_ms)
{
    op->completed = false;
    if (op->try_complete(op)) {
        complete(op, false);
        return true;
    }
    op->timer = event_new(base, -1, 0, expire, op);
    if (!op->timer) {
        complete(op, true);
        return true;
    }
    op->watches = xcalloc((size_t)(n > 0 ? n : 1), sizeof(op_watch_t));
    op->n_watches = n;
    for (int i = 0; i < n; i++) {
        op_watch_t *w = &op->watches[i];
        w->op = op;
        w->p = partitions[i];
        if (!w->p)
            continue;
        w->next = w->p->watchers;
        if (w->next)
            w->next->prev = w;
        w->p->watchers = w;
    }
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    event_add(op->timer, &tv);
    return false;
}

void purgatory_check(struct partition *p)
{
    /* Collect first: completing an operation may unlink other links of
     * this list (a fetch watching the partition twice) or park new ones. */
    int n = 0;
    for (op_watch_t *w = p->watchers; w; w = w->next)
        n++;
    if (n == 0)
        return;
    delayed_op_t **ready = xcalloc((size_t)n, sizeof(*ready));
    int k = 0;
    for (op_watch_t *w = p->watchers; w; w = w->next)
        if (!w->op->completed && w->op->try_complete(w->op))
            ready[k++] = w->op;
    for (int i = 0; i < k; i++)
        complete(ready[i], false);
    free(ready);
}

void purgatory_cancel(delayed_op_t *op)
{
    op->completed = true;
    unwatch_all(op);
}

void purgatory_partition_gone(struct partition *p)
{
    /* Each completion unlinks all of that operation's links, this list's
     * head among them, so the loop advances. */
    while (p->watchers)
        complete(p->watchers->op, true);
}
