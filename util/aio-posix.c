/*
 * The POSIX event loop: the fd-handler registry, aio_poll and adaptive
 * busy polling, and the dispatch half of the GSource.
 *
 * What it is not: BHs, the wake-up protocol and the GSource callbacks are
 * in async.c; waiting for fds is delegated to an FDMonOps backend
 * (aio-posix.h documents the contract).
 *
 * Handler list: changed by any thread under ctx->list_lock, walked
 * lock-free by the one thread that runs the context (aio_poll, aio_dispatch,
 * aio_prepare, and the backend's wait).  An unlinked node keeps its
 * forward link, is flagged deleted and parked on ctx->deleted_handlers;
 * the running thread frees parked nodes when it leaves its outermost loop
 * entry point.  Key invariant: only the running thread frees nodes, and
 * only while it is not inside a walk (ctx->walking_handlers == 0), so a
 * pointer obtained during a walk stays valid until the walk ends.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "trace.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "aio-posix.h"

/* Events a read (write) handler asks for, and what makes it run. */
#define READ_EVENTS  (G_IO_IN | G_IO_HUP | G_IO_ERR)
#define WRITE_EVENTS (G_IO_OUT | G_IO_ERR)
#define READ_READY   (READ_EVENTS | G_IO_NVAL)
#define WRITE_READY  (WRITE_EVENTS | G_IO_NVAL)

/* First busy-poll budget once growing starts, and default factor. */
#define POLL_NS_INITIAL 4000
#define POLL_GROW_DEFAULT 2

/* ---- entering and leaving the loop -------------------------------------- */

static QEMU_NOINLINE void check_may_run(AioContext *ctx, const void *self,
                                        const void *outer, const void *home,
                                        const char *fn)
{
    if (outer != NULL) {
        fprintf(stderr, "%s: AioContext %p is already being run by another "
                "thread\n", fn, (void *)ctx);
        abort();
    }
    if (home && home != self && !rfifolock_held_by_self(&ctx->lock)) {
        fprintf(stderr, "%s: AioContext %p run outside its home thread "
                "without aio_context_acquire\n", fn, (void *)ctx);
        abort();
    }
}

static void free_deleted_handlers(AioContext *ctx)
{
    AioHandler *node, *next;

    qemu_mutex_lock(&ctx->list_lock);
    node = ctx->deleted_handlers.lh_first;
    qatomic_set(&ctx->deleted_handlers.lh_first, NULL);
    qemu_mutex_unlock(&ctx->list_lock);
    for (; node; node = next) {
        next = node->node_deleted.le_next;
        g_free(node);
    }
}

/* Start walking: check the caller may run @ctx.  Returns the outer poller. */
static const void *loop_enter(AioContext *ctx, const char *fn)
{
    const void *self = aio_thread_self();
    const void *outer = qatomic_read(&ctx->poller);

    if (unlikely(outer != self)) {
        const void *home = qatomic_read(&ctx->home_thread);

        if (outer || (home && home != self)) {
            check_may_run(ctx, self, outer, home, fn);
        }
        qatomic_set(&ctx->poller, self);
    }
    ctx->walking_handlers++;
    return outer;
}

static void loop_leave(AioContext *ctx, const void *outer)
{
    if (--ctx->walking_handlers == 0 &&
        qatomic_read(&ctx->deleted_handlers.lh_first)) {
        free_deleted_handlers(ctx);
    }
    if (outer != aio_thread_self()) {
        qatomic_set(&ctx->poller, outer);
    }
}

/* ---- the handler registry ----------------------------------------------- */

/* The live handler for @fd, or NULL.  ctx->list_lock held. */
static AioHandler *find_handler(AioContext *ctx, int fd)
{
    AioHandler *node;

    QLIST_FOREACH(node, &ctx->aio_handlers, node) {
        if (node->pfd.fd == fd) {
            return node;
        }
    }
    return NULL;
}

static AioHandler *handler_new(int fd, IOHandler *io_read,
                               IOHandler *io_write, AioPollFn *io_poll,
                               IOHandler *io_poll_ready, void *opaque)
{
    AioHandler *node = g_new0(AioHandler, 1);

    node->pfd.fd = fd;
    node->pfd.events = (io_read ? READ_EVENTS : 0) |
                       (io_write ? WRITE_EVENTS : 0);
    node->io_read = io_read;
    node->io_write = io_write;
    node->io_poll = io_poll;
    node->io_poll_ready = io_poll_ready;
    node->opaque = opaque;
    return node;
}

/* Publish @node.  ctx->list_lock held. */
static void handler_link(AioContext *ctx, AioHandler *node)
{
    /* Count it first: the loop must not busy-poll past a new fd. */
    if (!node->io_poll) {
        qatomic_inc(&ctx->poll_disable_cnt);
    }
    g_source_add_poll(&ctx->source, &node->pfd);
    QLIST_INSERT_HEAD_RCU(&ctx->aio_handlers, node, node);
}

/*
 * Take @node off the list, keeping its forward link for a walker that
 * stands on it, and park it for freeing (unless the backend keeps it).
 * ctx->list_lock held.
 */
static void handler_unlink(AioContext *ctx, AioHandler *node, bool gsource)
{
    AioHandler *next = node->node.le_next;

    if (gsource && !g_source_is_destroyed(&ctx->source)) {
        g_source_remove_poll(&ctx->source, &node->pfd);
    }
    if (next) {
        next->node.le_prev = node->node.le_prev;
    }
    qatomic_rcu_set(node->node.le_prev, next);
    node->node.le_prev = NULL;
    if (!node->io_poll) {
        qatomic_dec(&ctx->poll_disable_cnt);
    }
    qatomic_set(&node->deleted, true);
    if (!node->fdmon_busy) {
        QLIST_INSERT_HEAD_RCU(&ctx->deleted_handlers, node, node_deleted);
    }
}

void aio_handler_free_later(AioContext *ctx, AioHandler *node)
{
    qemu_mutex_lock(&ctx->list_lock);
    QLIST_INSERT_HEAD_RCU(&ctx->deleted_handlers, node, node_deleted);
    qemu_mutex_unlock(&ctx->list_lock);
}

void aio_set_fd_handler_poll(AioContext *ctx, int fd,
                             IOHandler *io_read, IOHandler *io_write,
                             AioPollFn *io_poll, IOHandler *io_poll_ready,
                             void *opaque)
{
    AioHandler *new_node = NULL;
    AioHandler *old_node;

    if (io_read || io_write || io_poll) {
        new_node = handler_new(fd, io_read, io_write, io_poll,
                               io_poll_ready, opaque);
    }
    qemu_mutex_lock(&ctx->list_lock);
    old_node = find_handler(ctx, fd);
    if (new_node) {
        handler_link(ctx, new_node);
    }
    if (old_node || new_node) {
        ctx->fdmon_ops->update(ctx, old_node, new_node);
    }
    if (old_node) {
        handler_unlink(ctx, old_node, true);
    }
    qemu_mutex_unlock(&ctx->list_lock);
    aio_notify(ctx);
}

void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque)
{
    aio_set_fd_handler_poll(ctx, fd, io_read, io_write, NULL, NULL, opaque);
}

void aio_set_event_notifier_poll(AioContext *ctx, EventNotifier *notifier,
                                 EventNotifierHandler *io_read,
                                 AioPollFn *io_poll,
                                 EventNotifierHandler *io_poll_ready)
{
    /* The notifier is the opaque, so the casts only change the
     * pointer type the callee receives. */
    aio_set_fd_handler_poll(ctx, event_notifier_get_fd(notifier),
                            (IOHandler *)io_read, NULL, io_poll,
                            (IOHandler *)io_poll_ready, notifier);
}

void aio_set_event_notifier(AioContext *ctx, EventNotifier *notifier,
                            EventNotifierHandler *io_read)
{
    aio_set_event_notifier_poll(ctx, notifier, io_read, NULL, NULL);
}

void aio_handlers_teardown(AioContext *ctx)
{
    AioHandler *node;

    qemu_mutex_lock(&ctx->list_lock);
    while ((node = QLIST_FIRST(&ctx->aio_handlers))) {
        if (ctx->fdmon_ops) {
            ctx->fdmon_ops->update(ctx, node, NULL);
        }
        /* GLib drops a finalized source's poll list by itself. */
        handler_unlink(ctx, node, false);
    }
    qemu_mutex_unlock(&ctx->list_lock);
    if (ctx->fdmon_ops) {
        fdmon_teardown(ctx);
    }
    free_deleted_handlers(ctx);
}

/* ---- ready handlers and dispatch ---------------------------------------- */

void aio_add_ready_handler(AioHandlerList *list, AioHandler *node,
                           int revents)
{
    node->pfd.revents |= revents;
    if (!QLIST_IS_INSERTED(node, node_ready)) {
        QLIST_INSERT_HEAD(list, node, node_ready);
    }
}

static bool node_deleted(AioHandler *node)
{
    return qatomic_read(&node->deleted);
}

/*
 * Run @node's callbacks for the events recorded on it.  Waking up the
 * context (its own notifier) does not count as progress.
 */
static bool dispatch_handler(AioContext *ctx, AioHandler *node)
{
    int revents = node->pfd.revents;
    bool poll_ready = node->poll_ready;
    bool counts = !aio_node_is_notifier(ctx, node);
    bool progress = false;

    node->pfd.revents = 0;
    node->poll_ready = false;
    if (poll_ready && node->io_poll_ready && !node_deleted(node)) {
        node->io_poll_ready(node->opaque);
        progress = counts;
    }
    if ((revents & READ_READY) && node->io_read && !node_deleted(node)) {
        node->io_read(node->opaque);
        progress |= counts;
    }
    if ((revents & WRITE_READY) && node->io_write && !node_deleted(node)) {
        node->io_write(node->opaque);
        progress = true;
    }
    return progress;
}

static bool dispatch_ready_handlers(AioContext *ctx,
                                    AioHandlerList *ready_list)
{
    AioHandler *node;
    bool progress = false;

    while ((node = QLIST_FIRST(ready_list))) {
        QLIST_REMOVE(node, node_ready);
        progress |= dispatch_handler(ctx, node);
    }
    return progress;
}

/* GSource path: GLib's poll left the results in each node's pfd. */
static bool dispatch_all_handlers(AioContext *ctx)
{
    AioHandler *node;
    bool progress = false;

    QLIST_FOREACH_RCU(node, &ctx->aio_handlers, node) {
        if (node->pfd.revents || node->poll_ready) {
            progress |= dispatch_handler(ctx, node);
        }
    }
    return progress;
}

/* ---- busy polling ------------------------------------------------------- */

/*
 * Call every io_poll once.  Nodes that report work are marked poll_ready
 * and (if @ready_list) queued.  Returns true if any did, including the
 * context's notifier; *progress is set if one other than it did.
 */
static bool run_poll_handlers_once(AioContext *ctx,
                                   AioHandlerList *ready_list,
                                   bool *progress)
{
    AioHandler *node;
    bool found = false;

    QLIST_FOREACH_RCU(node, &ctx->aio_handlers, node) {
        if (!node->io_poll || node_deleted(node) ||
            !node->io_poll(node->opaque)) {
            continue;
        }
        node->poll_ready = true;
        if (ready_list) {
            aio_add_ready_handler(ready_list, node, 0);
        }
        found = true;
        if (!aio_node_is_notifier(ctx, node)) {
            *progress = true;
        }
    }
    return found;
}

/*
 * Phase 1 of aio_poll.  Non-blocking: one round of io_poll.  Blocking:
 * spin for up to poll_ns (bounded by *timeout).  Only possible while every
 * handler has io_poll.  If anything was found, *timeout becomes 0 so the
 * wait phase does not sleep.  Returns true on progress.
 */
static bool busy_poll(AioContext *ctx, AioHandlerList *ready_list,
                      int64_t *timeout)
{
    int64_t budget = 0, deadline = 0;
    bool progress = false;
    bool found;

    if (!qatomic_read(&ctx->aio_handlers.lh_first) ||
        aio_poll_disabled(ctx)) {
        return false;
    }
    if (*timeout != 0) {
        budget = qemu_soonest_timeout(*timeout, qatomic_read(&ctx->poll_ns));
        if (budget == 0) {
            return false;
        }
        deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + budget;
    }
    do {
        /* A scheduled BH ends the spin too (it does not notify). */
        found = run_poll_handlers_once(ctx, ready_list, &progress) ||
                qatomic_read(&ctx->first_bh);
    } while (!found && budget &&
             qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < deadline);
    if (found) {
        *timeout = 0;
    }
    return progress;
}

/*
 * After a blocking aio_poll: an event that came after we stopped spinning
 * but within poll_max_ns would have been caught by a longer spin (grow);
 * one that took longer than poll_max_ns makes spinning a waste (shrink).
 */
static void adapt_poll_ns(AioContext *ctx, int64_t start)
{
    int64_t max = qatomic_read(&ctx->poll_max_ns);
    int64_t poll_ns = qatomic_read(&ctx->poll_ns);
    int64_t block_ns;

    if (!max || !start) {
        return;
    }
    block_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start;
    if (block_ns <= poll_ns) {
        return;
    }
    if (block_ns > max) {
        int64_t shrink = qatomic_read(&ctx->poll_shrink);
        qatomic_set(&ctx->poll_ns, shrink ? poll_ns / shrink : 0);
    } else if (poll_ns < max) {
        int64_t grow = qatomic_read(&ctx->poll_grow);
        int64_t ns = poll_ns * (grow ? grow : POLL_GROW_DEFAULT);
        qatomic_set(&ctx->poll_ns, MIN(poll_ns ? ns : POLL_NS_INITIAL, max));
    }
}

bool aio_context_set_poll_params(AioContext *ctx, int64_t max_ns,
                                 int64_t grow, int64_t shrink, Error **errp)
{
    int64_t poll_ns;

    if (max_ns < 0 || grow < 0 || shrink < 0) {
        error_setg(errp, "poll parameters must not be negative "
                   "(max-ns %" PRId64 ", grow %" PRId64 ", shrink %" PRId64
                   ")", max_ns, grow, shrink);
        return false;
    }
    /* Atomic: a thread may tune a context another thread runs. */
    poll_ns = qatomic_read(&ctx->poll_ns);
    qatomic_set(&ctx->poll_grow, grow);
    qatomic_set(&ctx->poll_shrink, shrink);
    qatomic_set(&ctx->poll_ns, MIN(poll_ns ? poll_ns : POLL_NS_INITIAL,
                                   max_ns));
    qatomic_set(&ctx->poll_max_ns, max_ns);
    aio_notify(ctx);
    return true;
}

void aio_context_get_poll_params(AioContext *ctx, int64_t *max_ns,
                                 int64_t *grow, int64_t *shrink)
{
    if (max_ns) {
        *max_ns = qatomic_read(&ctx->poll_max_ns);
    }
    if (grow) {
        *grow = qatomic_read(&ctx->poll_grow);
    }
    if (shrink) {
        *shrink = qatomic_read(&ctx->poll_shrink);
    }
}

/* ---- the phases of aio_poll --------------------------------------------- */

/*
 * Phase 2: let the backend wait.  When we may sleep, announce it in
 * notify_me first and re-check for work (see the protocol in async.c).
 */
static void wait_phase(AioContext *ctx, AioHandlerList *ready_list,
                       int64_t timeout)
{
    bool may_sleep = timeout != 0;
    int ret;

    if (may_sleep) {
        qatomic_add(&ctx->notify_me, 2);
        timeout = qatomic_mb_read(&ctx->notified) ? 0
                                                  : aio_compute_timeout(ctx);
    }
    if (timeout != 0 || ctx->fdmon_ops->need_wait(ctx)) {
        ret = ctx->fdmon_ops->wait(ctx, ready_list, timeout);
        if (ret < 0 && ret != -EINTR) {
            fprintf(stderr, "aio_poll: %s wait failed: %s\n",
                    ctx->fdmon_ops->name, strerror(-ret));
        }
    }
    if (may_sleep) {
        qatomic_sub(&ctx->notify_me, 2);
    }
}

bool aio_poll(AioContext *ctx, bool blocking)
{
    AioHandlerList ready_list = QLIST_HEAD_INITIALIZER(ready_list);
    const void *outer = loop_enter(ctx, __func__);
    int64_t start = 0;
    int64_t timeout;
    bool progress;

    trace_aio_poll_begin(ctx, blocking);
    if (blocking && qatomic_read(&ctx->poll_max_ns)) {
        start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    }
    timeout = blocking ? aio_compute_timeout(ctx) : 0;
    progress = busy_poll(ctx, &ready_list, &timeout);
    if (timeout != 0 || ctx->fdmon_ops->need_wait(ctx)) {
        wait_phase(ctx, &ready_list, timeout);
    }
    adapt_poll_ns(ctx, start);
    aio_notify_accept(ctx);
    progress |= aio_bh_poll(ctx);
    progress |= dispatch_ready_handlers(ctx, &ready_list);
    progress |= aio_run_timers(ctx);
    loop_leave(ctx, outer);
    trace_aio_poll_end(ctx, progress);
    return progress;
}

/* ---- the GSource half --------------------------------------------------- */

bool aio_prepare(AioContext *ctx)
{
    const void *outer = loop_enter(ctx, __func__);
    const FDMonOps *ops = ctx->fdmon_ops;
    bool progress = false;

    /* GLib polls our fds, not the backend: let it settle its queue. */
    if (ops->gsource_prepare) {
        ops->gsource_prepare(ctx);
    }
    run_poll_handlers_once(ctx, NULL, &progress);
    loop_leave(ctx, outer);
    return progress;
}

bool aio_pending(AioContext *ctx)
{
    const void *outer = loop_enter(ctx, __func__);
    AioHandler *node;
    bool pending = false;

    QLIST_FOREACH_RCU(node, &ctx->aio_handlers, node) {
        int revents = node->pfd.revents;

        if (node_deleted(node)) {
            continue;
        }
        if ((node->poll_ready && node->io_poll_ready &&
             !aio_node_is_notifier(ctx, node)) ||
            ((revents & READ_READY) && node->io_read) ||
            ((revents & WRITE_READY) && node->io_write)) {
            pending = true;
            break;
        }
    }
    loop_leave(ctx, outer);
    return pending;
}

bool aio_dispatch(AioContext *ctx)
{
    const void *outer = loop_enter(ctx, __func__);
    bool progress;

    progress = aio_bh_poll(ctx);
    progress |= dispatch_all_handlers(ctx);
    progress |= aio_run_timers(ctx);
    loop_leave(ctx, outer);
    return progress;
}

const char *aio_context_get_fdmon_name(AioContext *ctx)
{
    return ctx->fdmon_ops->name;
}
