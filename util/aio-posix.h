/*
 * Private interface between the POSIX event loop (aio-posix.c) and its fd
 * monitor backends (fdmon-poll.c, fdmon-epoll.c, fdmon-io_uring.c).
 *
 * Contract for backends
 * ---------------------
 * - A backend is one FDMonOps table.  fdmon_setup(ctx) (fdmon.c) picks one
 *   per context at aio_context_new time: SPINDLE_FDMON=io_uring|epoll|poll
 *   forces one, otherwise io_uring, then epoll, then poll, falling back when
 *   a setup function returns false.  poll always works and needs no setup.
 * - update(ctx, old, new) is called with ctx->list_lock held, from ANY
 *   thread, whenever a handler is added (old NULL), removed (new NULL) or
 *   replaced (both set, same fd).  new_node->pfd.events holds the wanted
 *   G_IO_* events.  It must not call back into the loop.  After update the
 *   caller calls aio_notify(ctx), so a backend that only applies changes
 *   inside wait() (io_uring) will run wait() again soon.
 * - wait(ctx, ready_list, timeout) is called by the loop thread only, with
 *   ctx->walking_handlers raised: a node found here stays allocated until
 *   wait returns and the loop has dispatched, even if it is removed
 *   concurrently (it is then flagged node->deleted; skip such nodes).
 *   timeout is in ns: -1 blocks until an event, 0 must not block.  For each
 *   ready node call aio_add_ready_handler(ready_list, node, revents) with
 *   G_IO_* bits.  Returns the number of nodes added, or -errno (-EINTR is
 *   fine and means "nothing").
 * - need_wait(ctx) tells the loop whether a non-blocking pass must still
 *   call wait() (true for poll/epoll while some handler has no io_poll,
 *   i.e. aio_poll_disabled(ctx); io_uring also while it has unsubmitted
 *   SQEs).  When it returns false and all handlers can busy-poll, the loop
 *   skips the system call in non-blocking mode.
 * - A backend that has per-context state keeps it in the AioContext fields
 *   named for it (epollfd/epoll_enabled; fdmon_io_uring, a pointer to a
 *   struct private to fdmon-io_uring.c, so that the installed aio.h needs
 *   no liburing); its setup function fills them and installs its ops with
 *   ctx->fdmon_ops = &its_ops, returning false (leaving ctx unchanged) if
 *   unavailable.
 * - gsource_prepare(ctx), optional, is called by the GSource's prepare
 *   step (aio_prepare), loop thread, walking_handlers raised.  A context
 *   driven only through GLib never calls wait(): GLib polls the handlers'
 *   GPollFDs itself.  A backend that defers work to wait() (io_uring's
 *   change queue) must settle it here so that it stays bounded, while
 *   leaving itself ready for a later aio_poll.
 *   Teardown: fdmon_epoll_disable (also used to fall back to poll at run
 *   time, switching ctx->fdmon_ops to &fdmon_poll_ops), and
 *   fdmon_io_uring_destroy.  Both must be safe on a context that never
 *   used that backend.  Switching back to poll requires nothing from poll.
 * - Freeing removed nodes: normally aio-posix.c frees a removed node once
 *   no one walks the handler list.  A backend whose kernel object still
 *   refers to the node after update(ctx, node, ...) returns (io_uring: the
 *   POLL_ADD has not completed yet) sets node->fdmon_busy = true inside
 *   update; aio-posix.c then unlinks the node but leaves freeing to the
 *   backend, which calls aio_handler_free_later(ctx, node) from wait()
 *   (loop thread) once the kernel is done, or from its destroy function.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_AIO_POSIX_H
#define QEMU_AIO_POSIX_H

#include "block/aio.h"

/*
 * A registered fd handler.  Fields above the marker are fixed once the
 * node is published (a change of callbacks creates a new node); the rest
 * belong to the loop thread, except node/node_deleted links (list_lock)
 * and the io_uring fields (the io_uring backend's own rules).
 */
struct AioHandler {
    GPollFD pfd;                /* fd and wanted events; revents by loop */
    IOHandler *io_read;
    IOHandler *io_write;
    AioPollFn *io_poll;
    IOHandler *io_poll_ready;
    void *opaque;
    /* ---- mutable ---- */
    QLIST_ENTRY(AioHandler) node;          /* ctx->aio_handlers */
    QLIST_ENTRY(AioHandler) node_ready;    /* a ready_list during aio_poll */
    QLIST_ENTRY(AioHandler) node_deleted;  /* ctx->deleted_handlers */
    bool deleted;               /* unlinked; atomic (read by the loop) */
    bool poll_ready;            /* io_poll reported work (loop thread) */
    bool fdmon_busy;            /* backend frees it later (see above) */
    /* io_uring backend only (kept in every build: one layout). */
    QSLIST_ENTRY(AioHandler) node_submitted;  /* its change queue */
    unsigned flags;             /* owned by fdmon-io_uring.c */
};

typedef struct FDMonOps {
    const char *name;
    /* Start/stop watching @node's fd for the events in node->pfd.events. */
    void (*update)(AioContext *ctx, AioHandler *old_node, AioHandler *new_node);
    /* Wait up to @timeout ns (-1 = forever, 0 = don't block); add ready
     * handlers to @ready_list with aio_add_ready_handler; return the count
     * or -errno. */
    int (*wait)(AioContext *ctx, AioHandlerList *ready_list, int64_t timeout);
    /* True when the backend needs another pass before blocking. */
    bool (*need_wait)(AioContext *ctx);
    /* Optional: settle deferred work for a GLib-driven context. */
    void (*gsource_prepare)(AioContext *ctx);
} FDMonOps;

/*
 * Record that @node is ready with G_IO_* @revents: ORs them into
 * node->pfd.revents and adds @node to @list unless it is already there.
 * Loop thread only, from a backend's wait().
 */
void aio_add_ready_handler(AioHandlerList *list, AioHandler *node,
                           int revents);

/*
 * Hand a removed node whose fdmon_busy was set back to aio-posix.c to be
 * freed once no one walks the handler list.  Loop thread (from wait) or
 * teardown.  Takes ctx->list_lock.
 */
void aio_handler_free_later(AioContext *ctx, AioHandler *node);

/* True while some handler lacks io_poll, i.e. busy polling is off. */
static inline bool aio_poll_disabled(AioContext *ctx)
{
    return qatomic_read(&ctx->poll_disable_cnt) != 0;
}

/* ---- shared between async.c, aio-posix.c and main-loop.c --------------- */

/* A token naming the calling thread (never NULL). */
static inline const void *aio_thread_self(void)
{
    return (const void *)(uintptr_t)pthread_self();
}

/* True if @node is the context's own wake-up notifier. */
static inline bool aio_node_is_notifier(AioContext *ctx, AioHandler *node)
{
    return node->opaque == (void *)&ctx->notifier;
}

/* Run @ctx's expired timers (and main_loop_tlg's for the main context). */
bool aio_run_timers(AioContext *ctx);

/*
 * Notify callback of the timer lists a context runs (@opaque is the
 * context): records that timers may be pending and wakes the loop.
 */
void aio_timerlist_notify(void *opaque, QEMUClockType type);

/*
 * TEST-ONLY (tests/unit; production code must not use it): how many
 * one-shot BHs @ctx's pool holds ready for reuse.  Racy while other
 * threads schedule one-shot BHs; exact when @ctx is quiescent.
 */
unsigned aio_bh_pool_free_count(AioContext *ctx);

/* Finalize: drop every handler, tear down the backend, free nodes. */
void aio_handlers_teardown(AioContext *ctx);

/* ---- backends ---------------------------------------------------------- */

extern const FDMonOps fdmon_poll_ops;

/*
 * Pick and set up ctx's backend (see top of file).  Returns false and
 * sets @errp only if SPINDLE_FDMON names an unknown or unusable backend.
 */
bool fdmon_setup(AioContext *ctx, Error **errp);

/* Undo fdmon_setup (called at finalize).  Loop quiescent. */
void fdmon_teardown(AioContext *ctx);

/*
 * epoll backend (fdmon-epoll.c).  fdmon_epoll_setup: create the epoll fd,
 * add every handler already registered, install fdmon_epoll_ops; false if
 * unavailable.  fdmon_epoll_disable: close the fd, set epollfd = -1 and
 * epoll_enabled = false, and (if epoll was in use) switch back to
 * fdmon_poll_ops.  Called with ctx->list_lock held or before the context
 * is shared.
 */
bool fdmon_epoll_setup(AioContext *ctx);
void fdmon_epoll_disable(AioContext *ctx);

/*
 * io_uring backend (fdmon-io_uring.c, or fdmon-io_uring-stub.c whose setup
 * returns false).  fdmon_io_uring_setup: create the ring, queue every
 * registered handler, install fdmon_io_uring_ops; false if unavailable.
 * fdmon_io_uring_destroy: cancel in-flight polls and collect their
 * completions, free removed handlers (aio_handler_free_later), close the
 * ring and switch ctx->fdmon_ops back to &fdmon_poll_ops.  Setup has the
 * epoll pair's threading; destroy needs a quiescent loop and must be
 * called WITHOUT ctx->list_lock (aio_handler_free_later takes it).
 */
bool fdmon_io_uring_setup(AioContext *ctx);
void fdmon_io_uring_destroy(AioContext *ctx);

/*
 * TEST-ONLY accessors (for tests/unit; production code must not use
 * them).  fdmon_io_uring_queued_changes: handler changes queued for the
 * ring and not yet acted on.  fdmon_io_uring_held_handlers: removed
 * handlers whose memory the backend still holds (queued, or waiting for
 * the kernel to give their poll back).  Both are 0 for a context that
 * does not use io_uring.  Call from the loop thread or a quiescent loop.
 */
unsigned fdmon_io_uring_queued_changes(AioContext *ctx);
unsigned fdmon_io_uring_held_handlers(AioContext *ctx);

#endif /* QEMU_AIO_POSIX_H */
