/*
 * fd monitor backend on io_uring.
 *
 * What it does: watches each handler's fd with an IORING_OP_POLL_ADD
 * request whose user_data is the AioHandler.  Handler changes are only
 * queued (update() may run in any thread, and the submission queue has a
 * single producer: the loop thread); wait() turns the queue into SQEs,
 * submits them together with the wait in one io_uring_enter, then reaps
 * the CQEs into the ready list.  Removing a handler submits an
 * IORING_OP_POLL_REMOVE for its request.  Timeouts use the ring's
 * extended wait argument (IORING_FEAT_EXT_ARG), so they cost no SQE.
 *
 * What it deliberately does not do:
 * - multishot polls.  A multishot POLL_ADD is edge-triggered (it posts a
 *   CQE per wakeup, and IORING_POLL_ADD_LEVEL is refused for it), while
 *   fd handlers are level-triggered: a handler that leaves data unread
 *   must run again.  Emulating that costs one SQE per event, which is
 *   what re-arming a one-shot poll costs, so one-shot polls it is; the
 *   re-arm rides along with the next wait's submission.
 * - run on kernels without IORING_FEAT_NODROP (CQEs lost on overflow
 *   would leave handlers unwatched) or IORING_FEAT_EXT_ARG (5.11):
 *   setup fails and the core falls back to epoll.
 * - keep reporting an fd whose poll failed (-EBADF for a closed fd and
 *   the like): the handler sees G_IO_NVAL or G_IO_ERR once and stays
 *   unwatched until it is set again.
 *
 * Per-context state is a FDMonIoUring (below) that ctx->fdmon_io_uring
 * points to, so the installed aio.h never sees liburing.  Per-handler
 * state is node->flags (atomic, FDMON_IO_URING_* below) and the
 * node_submitted link of the change queue.
 *
 * Contexts driven through GLib (aio_get_g_source) never call wait();
 * GLib polls the handlers' GPollFDs itself.  The GSource's prepare step
 * calls gsource_prepare(), which settles the change queue so it stays
 * bounded: a queued ADD is dropped (GLib watches the fd anyway) and a
 * flag makes the next wait() re-arm every live handler; a REMOVE is
 * carried out as in wait(), so removed nodes are freed; CQEs are reaped
 * and their readiness dropped (GLib reports the same readiness).  A
 * context may thus switch between GLib and aio_poll at any time (the
 * main context does).
 *
 * Key invariant (memory safety): the kernel may hand a node's address
 * back in a CQE for as long as its POLL_ADD is ARMED, and wait() walks
 * the change queue, so a node may only be freed once it is neither
 * ARMED nor QUEUED.  update() therefore always sets fdmon_busy on a
 * removed node, which leaves freeing to this file; the node is handed to
 * aio_handler_free_later() by whichever of these sees the second of the
 * two conditions come true: the submit_list walk (REMOVE seen, not
 * ARMED), or the reaping of the final CQE (REMOVE seen, not QUEUED).
 * REMOVE is set once and the core never queues a removed node again, so
 * exactly one of them frees it.  A node with REMOVE set is never added
 * to a ready list and never re-armed.  A POLL_REMOVE names a node only
 * by address; it is submitted in the same wait() that prepared it, while
 * walking_handlers still keeps the node allocated, so a reused address
 * cannot be cancelled by mistake.
 *
 * Test hook: SPINDLE_FDMON_IO_URING_FAIL=1 in the environment makes
 * fdmon_io_uring_setup() fail as if io_uring_queue_init had (seccomp,
 * old kernel), so the fallback chain can be tested.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <poll.h>
#include <liburing.h>
#include "aio-posix.h"

enum {
    FDMON_IO_URING_QUEUED = 1 << 0,   /* on the change queue */
    FDMON_IO_URING_ADD = 1 << 1,      /* wants a POLL_ADD */
    FDMON_IO_URING_REMOVE = 1 << 2,   /* removed: cancel, never dispatch */
    FDMON_IO_URING_ARMED = 1 << 3,    /* a POLL_ADD is in the kernel */
};

/* SQ size; more changes per iteration are submitted in several batches. */
#define FDMON_IO_URING_ENTRIES 128
/* CQ size; an overflow is kept by the kernel (NODROP) and flushed. */
#define FDMON_IO_URING_CQ_ENTRIES 1024
/* Attempts to collect cancelled polls at teardown, 100 ms each. */
#define FDMON_IO_URING_DRAIN_TRIES 50

static const FDMonOps fdmon_io_uring_ops;

/* What ctx->fdmon_io_uring points to while the backend is in use. */
struct FDMonIoUring {
    struct io_uring ring;               /* loop thread */
    /* Handlers with a change for the loop thread; any thread pushes
     * (QSLIST_INSERT_HEAD_ATOMIC), the loop thread takes all. */
    AioHandlerSList submit_list;
    unsigned armed;         /* POLL_ADDs the kernel holds; loop thread */
    bool rearm_all;         /* gsource_prepare dropped ADDs; loop thread */
    unsigned held;          /* removed nodes not yet retired; atomic */
};
typedef struct FDMonIoUring FDMonIoUring;

/* What fill_sq does with a queued ADD. */
typedef enum {
    FILL_ARM,           /* wait(): arm a POLL_ADD */
    FILL_DROP,          /* GSource: drop it, re-arm all in the next wait */
    FILL_TEARDOWN,      /* destroy: drop it */
} FillMode;

static bool test_hook_set(const char *name)
{
    const char *value = getenv(name);

    return value && *value && strcmp(value, "0") != 0;
}

static unsigned poll_events_from_pfd(int events)
{
    return (events & G_IO_IN ? POLLIN : 0) |
           (events & G_IO_OUT ? POLLOUT : 0) |
           (events & G_IO_PRI ? POLLPRI : 0) |
           (events & G_IO_ERR ? POLLERR : 0) |
           (events & G_IO_HUP ? POLLHUP : 0);
}

static int pfd_events_from_poll(int events)
{
    return (events & POLLIN ? G_IO_IN : 0) |
           (events & POLLOUT ? G_IO_OUT : 0) |
           (events & POLLPRI ? G_IO_PRI : 0) |
           (events & POLLERR ? G_IO_ERR : 0) |
           (events & POLLHUP ? G_IO_HUP : 0) |
           (events & POLLNVAL ? G_IO_NVAL : 0);
}

/*
 * Ask the loop thread to act on @node (@flag is ADD or REMOVE).  Any
 * thread.  The node is pushed only by whoever sets QUEUED, so it is on
 * the list at most once.
 */
static void enqueue(AioContext *ctx, AioHandler *node, unsigned flag)
{
    unsigned old = qatomic_fetch_or(&node->flags,
                                    FDMON_IO_URING_QUEUED | flag);

    if (!(old & FDMON_IO_URING_QUEUED)) {
        QSLIST_INSERT_HEAD_ATOMIC(&ctx->fdmon_io_uring->submit_list, node,
                                  node_submitted);
    }
}

/* Hand a removed node back to aio-posix.c for freeing.  Loop thread. */
static void retire(AioContext *ctx, AioHandler *node)
{
    qatomic_dec(&ctx->fdmon_io_uring->held);
    aio_handler_free_later(ctx, node);
}

/* ---- completions -------------------------------------------------------- */

/*
 * A removed node's POLL_ADD is over.  Free it unless it still sits on a
 * submit list, whose walk will then free it (see the key invariant).
 */
static void retire_completed(AioContext *ctx, AioHandler *node,
                             unsigned flags)
{
    if (!(flags & FDMON_IO_URING_QUEUED)) {
        retire(ctx, node);
    }
}

/* Revents to report for a poll that completed with @res. */
static int revents_from_res(int res)
{
    if (res >= 0) {
        return pfd_events_from_poll(res);
    }
    return res == -EBADF ? G_IO_NVAL : G_IO_ERR;
}

/* What the CQE of a POLL_ADD meant. */
typedef enum {
    POLL_DONE,      /* nothing (more) to do */
    POLL_READY,     /* the node was added to the ready list */
    POLL_LOST,      /* the kernel dropped the poll: re-queued */
} PollOutcome;

/*
 * Handle the CQE of @node's POLL_ADD.  With @ready_list NULL (teardown)
 * nothing is dispatched or re-armed.
 */
static PollOutcome complete_poll(AioContext *ctx, AioHandler *node, int res,
                                 AioHandlerList *ready_list)
{
    unsigned flags = qatomic_fetch_and(&node->flags, ~FDMON_IO_URING_ARMED);

    assert(flags & FDMON_IO_URING_ARMED);
    ctx->fdmon_io_uring->armed--;
    if (flags & FDMON_IO_URING_REMOVE) {
        retire_completed(ctx, node, flags);
        return POLL_DONE;
    }
    if (!ready_list) {
        return POLL_DONE;
    }
    if (res == -ECANCELED) {
        /*
         * Not cancelled by us: the thread that armed the poll has exited,
         * and the kernel completes such a poll this way when its fd wakes
         * up.  Watch again; the caller arms it at once.
         */
        enqueue(ctx, node, FDMON_IO_URING_ADD);
        return POLL_LOST;
    }
    if (res >= 0) {
        /* One-shot: watch again, from the next wait, after the handler
         * has run. */
        enqueue(ctx, node, FDMON_IO_URING_ADD);
    }
    aio_add_ready_handler(ready_list, node, revents_from_res(res));
    return POLL_READY;
}

/*
 * Reap every CQE, flushing an overflow too.  Returns how many nodes were
 * added to @ready_list; sets *@lost if a poll was lost (see
 * complete_poll).  Loop thread.
 */
static int reap(AioContext *ctx, AioHandlerList *ready_list, bool *lost)
{
    struct io_uring *ring = &ctx->fdmon_io_uring->ring;
    struct io_uring_cqe *cqe;
    int count = 0;

    while (io_uring_peek_cqe(ring, &cqe) == 0) {
        AioHandler *node = io_uring_cqe_get_data(cqe);
        int res = cqe->res;

        io_uring_cqe_seen(ring, cqe);
        /* POLL_REMOVEs carry no node; their result does not matter. */
        if (!node) {
            continue;
        }
        switch (complete_poll(ctx, node, res, ready_list)) {
        case POLL_READY:
            count++;
            break;
        case POLL_LOST:
            *lost = true;
            break;
        case POLL_DONE:
            break;
        }
    }
    return count;
}

/* ---- submissions -------------------------------------------------------- */

/*
 * A free SQE, submitting what is queued first if the SQ is full.  If the
 * kernel pushes back (-EBUSY/-EAGAIN: completions must be reaped first),
 * reap into @ready_list and count them in *@count.  Loop thread.
 */
static struct io_uring_sqe *get_sqe(AioContext *ctx,
                                    AioHandlerList *ready_list, int *count)
{
    struct io_uring *ring = &ctx->fdmon_io_uring->ring;
    struct io_uring_sqe *sqe;
    bool lost = false;  /* re-queued, armed by the next wait */
    int ret;

    while (!(sqe = io_uring_get_sqe(ring))) {
        ret = io_uring_submit(ring);
        if (ret == -EBUSY || ret == -EAGAIN) {
            *count += reap(ctx, ready_list, &lost);
        } else if (ret < 0 && ret != -EINTR) {
            g_error("fdmon-io_uring: io_uring_submit: %s", strerror(-ret));
        }
    }
    return sqe;
}

static void arm(AioContext *ctx, AioHandler *node, struct io_uring_sqe *sqe)
{
    io_uring_prep_poll_add(sqe, node->pfd.fd,
                           poll_events_from_pfd(node->pfd.events));
    io_uring_sqe_set_data(sqe, node);
    qatomic_or(&node->flags, FDMON_IO_URING_ARMED);
    ctx->fdmon_io_uring->armed++;
}

static void cancel(AioHandler *node, struct io_uring_sqe *sqe)
{
    io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)node);
    io_uring_sqe_set_data(sqe, NULL);
}

/*
 * Act on one node taken off the submit list.  @flags is its state
 * before QUEUED and ADD were cleared.  Returns the number of nodes
 * reaped meanwhile into @ready_list (NULL at teardown).
 */
static int submit_node(AioContext *ctx, AioHandler *node, unsigned flags,
                       AioHandlerList *ready_list, FillMode mode)
{
    int count = 0;

    if (flags & FDMON_IO_URING_REMOVE) {
        if (flags & FDMON_IO_URING_ARMED) {
            /* Freed when the cancelled POLL_ADD's CQE arrives. */
            cancel(node, get_sqe(ctx, ready_list, &count));
        } else {
            retire(ctx, node);
        }
    } else if ((flags & FDMON_IO_URING_ADD) &&
               !(flags & FDMON_IO_URING_ARMED)) {
        if (mode == FILL_ARM) {
            arm(ctx, node, get_sqe(ctx, ready_list, &count));
        } else if (mode == FILL_DROP) {
            ctx->fdmon_io_uring->rearm_all = true;
        }
    }
    return count;
}

/*
 * Act on every queued change: turn it into SQEs (submitted later by the
 * caller) or, per @mode, drop ADDs.  Returns the number of nodes reaped
 * meanwhile into @ready_list.  Loop thread.
 */
static int fill_sq(AioContext *ctx, AioHandlerList *ready_list,
                   FillMode mode)
{
    AioHandlerSList pending;
    AioHandler *node;
    unsigned flags;
    int count = 0;

    QSLIST_MOVE_ATOMIC(&pending, &ctx->fdmon_io_uring->submit_list);
    while ((node = QSLIST_FIRST(&pending))) {
        QSLIST_REMOVE_HEAD(&pending, node_submitted);
        /* From here on another thread may queue the node again. */
        flags = qatomic_fetch_and(&node->flags,
                                  ~(FDMON_IO_URING_QUEUED |
                                    FDMON_IO_URING_ADD));
        count += submit_node(ctx, node, flags, ready_list, mode);
    }
    return count;
}

/*
 * Queue an ADD for every live handler without a poll in the kernel,
 * after gsource_prepare dropped ADDs.  A handler removed meanwhile has
 * REMOVE set (update() runs before the unlink) or is flagged deleted;
 * enqueue() keeps it on the queue at most once either way.  Loop thread,
 * walking_handlers raised.
 */
static void rearm_all(AioContext *ctx)
{
    AioHandler *node;

    ctx->fdmon_io_uring->rearm_all = false;
    QLIST_FOREACH_RCU(node, &ctx->aio_handlers, node) {
        unsigned flags = qatomic_read(&node->flags);

        if (!(flags & (FDMON_IO_URING_ARMED | FDMON_IO_URING_REMOVE)) &&
            !qatomic_read(&node->deleted)) {
            enqueue(ctx, node, FDMON_IO_URING_ADD);
        }
    }
}

/*
 * Submit the SQ and wait for one completion, at most @timeout ns (-1:
 * forever, 0: not at all).  Returns 0 or -errno; a timeout or a signal
 * is not an error.
 */
static int submit_and_wait(AioContext *ctx, int64_t timeout)
{
    struct io_uring *ring = &ctx->fdmon_io_uring->ring;
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts;
    int ret;

    if (timeout == 0) {
        ret = io_uring_submit(ring);
    } else if (timeout < 0) {
        ret = io_uring_submit_and_wait(ring, 1);
    } else {
        ts.tv_sec = timeout / NANOSECONDS_PER_SECOND;
        ts.tv_nsec = timeout % NANOSECONDS_PER_SECOND;
        ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
    }
    if (ret == -ETIME || ret == -EINTR || ret == -EBUSY || ret == -EAGAIN) {
        /* Nothing came, or completions must be reaped first: reap. */
        return 0;
    }
    return ret < 0 ? ret : 0;
}

static int fdmon_io_uring_wait(AioContext *ctx, AioHandlerList *ready_list,
                               int64_t timeout)
{
    bool lost = false;
    int count, ret;

    if (ctx->fdmon_io_uring->rearm_all) {
        rearm_all(ctx);
    }
    count = fill_sq(ctx, ready_list, FILL_ARM);

    /* If something is ready already, do not sleep. */
    ret = submit_and_wait(ctx, count > 0 ? 0 : timeout);
    count += reap(ctx, ready_list, &lost);
    if (lost) {
        /*
         * A lost poll only says its fd woke up.  Arm it again now (the
         * arm checks readiness at once), so this wait reports it.
         */
        count += fill_sq(ctx, ready_list, FILL_ARM);
        submit_and_wait(ctx, 0);
        count += reap(ctx, ready_list, &lost);
    }
    return (count > 0 || ret == 0) ? count : ret;
}

static void fdmon_io_uring_update(AioContext *ctx, AioHandler *old_node,
                                  AioHandler *new_node)
{
    if (new_node) {
        enqueue(ctx, new_node, FDMON_IO_URING_ADD);
    }
    if (old_node) {
        /* It may be ARMED or QUEUED: only this file knows when to free. */
        old_node->fdmon_busy = true;
        qatomic_inc(&ctx->fdmon_io_uring->held);
        enqueue(ctx, old_node, FDMON_IO_URING_REMOVE);
    }
}

static bool fdmon_io_uring_need_wait(AioContext *ctx)
{
    FDMonIoUring *s = ctx->fdmon_io_uring;

    return aio_poll_disabled(ctx) || s->rearm_all ||
           qatomic_read(&s->submit_list.slh_first) != NULL ||
           io_uring_sq_ready(&s->ring) > 0 ||
           io_uring_cq_ready(&s->ring) > 0;
}

/* Forget the readiness that reaping reported (GLib reports its own). */
static void drop_ready(AioHandlerList *ready_list)
{
    AioHandler *node;

    while ((node = QLIST_FIRST(ready_list))) {
        QLIST_REMOVE(node, node_ready);
        node->pfd.revents = 0;
    }
}

/*
 * The GSource path (see the top of the file): settle the change queue
 * and the CQ without waiting.  Costs nothing when both are empty, so a
 * GLib loop that changes no handler pays one load per iteration.
 */
static void fdmon_io_uring_gsource_prepare(AioContext *ctx)
{
    FDMonIoUring *s = ctx->fdmon_io_uring;
    AioHandlerList ready_list = QLIST_HEAD_INITIALIZER(ready_list);
    bool lost = false;  /* re-queued; dropped by the next prepare */

    if (!qatomic_read(&s->submit_list.slh_first) &&
        !io_uring_cq_ready(&s->ring)) {
        return;
    }
    fill_sq(ctx, &ready_list, FILL_DROP);
    if (io_uring_sq_ready(&s->ring) > 0) {
        submit_and_wait(ctx, 0);
    }
    reap(ctx, &ready_list, &lost);
    drop_ready(&ready_list);
}

static const FDMonOps fdmon_io_uring_ops = {
    .name = "io_uring",
    .update = fdmon_io_uring_update,
    .wait = fdmon_io_uring_wait,
    .need_wait = fdmon_io_uring_need_wait,
    .gsource_prepare = fdmon_io_uring_gsource_prepare,
};

/* ---- setup and teardown ------------------------------------------------- */

static int ring_init(struct io_uring *ring)
{
    struct io_uring_params params = {
        .flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP,
        .cq_entries = FDMON_IO_URING_CQ_ENTRIES,
    };
    unsigned needed = IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
    int ret;

    if (test_hook_set("SPINDLE_FDMON_IO_URING_FAIL")) {
        return -ENOSYS;
    }
    ret = io_uring_queue_init_params(FDMON_IO_URING_ENTRIES, ring, &params);
    if (ret < 0) {
        return ret;
    }
    if ((params.features & needed) != needed) {
        io_uring_queue_exit(ring);
        return -ENOTSUP;
    }
    return 0;
}

bool fdmon_io_uring_setup(AioContext *ctx)
{
    FDMonIoUring *s = g_new0(FDMonIoUring, 1);
    AioHandler *node;

    if (ring_init(&s->ring) < 0) {
        g_free(s);
        return false;
    }
    QSLIST_INIT(&s->submit_list);
    ctx->fdmon_io_uring = s;
    QLIST_FOREACH(node, &ctx->aio_handlers, node) {
        if (!qatomic_read(&node->deleted)) {
            enqueue(ctx, node, FDMON_IO_URING_ADD);
        }
    }
    qatomic_set(&ctx->fdmon_ops, &fdmon_io_uring_ops);
    return true;
}

/* Queue a POLL_REMOVE for every live handler whose poll is armed. */
static void cancel_live_polls(AioContext *ctx)
{
    AioHandler *node;
    int unused = 0;

    QLIST_FOREACH(node, &ctx->aio_handlers, node) {
        unsigned flags = qatomic_read(&node->flags);

        if ((flags & FDMON_IO_URING_ARMED) &&
            !(flags & FDMON_IO_URING_REMOVE)) {
            cancel(node, get_sqe(ctx, NULL, &unused));
        }
    }
}

/*
 * Collect the CQE of every armed poll (all are being cancelled), so each
 * removed node is freed and no live one stays armed.  Gives up after a
 * few seconds: the kernel forgets the ring's requests when it is closed,
 * and leaking a node beats freeing one it might still report.
 */
static void drain(AioContext *ctx)
{
    FDMonIoUring *s = ctx->fdmon_io_uring;
    struct io_uring *ring = &s->ring;
    struct __kernel_timespec ts = { .tv_nsec = 100 * SCALE_MS };
    struct io_uring_cqe *cqe;
    bool lost = false;  /* never set: teardown re-arms nothing */
    int tries = 0;

    io_uring_submit(ring);
    reap(ctx, NULL, &lost);
    while (s->armed > 0 && tries++ < FDMON_IO_URING_DRAIN_TRIES) {
        io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
        reap(ctx, NULL, &lost);
    }
    if (s->armed > 0) {
        g_warning("fdmon-io_uring: %u polls not cancelled at teardown",
                  s->armed);
    }
}

void fdmon_io_uring_destroy(AioContext *ctx)
{
    AioHandler *node;

    if (ctx->fdmon_ops != &fdmon_io_uring_ops) {
        return;
    }
    cancel_live_polls(ctx);
    fill_sq(ctx, NULL, FILL_TEARDOWN);
    drain(ctx);
    io_uring_queue_exit(&ctx->fdmon_io_uring->ring);
    /* Live handlers are watched by poll from now on. */
    QLIST_FOREACH(node, &ctx->aio_handlers, node) {
        qatomic_set(&node->flags, 0);
    }
    qatomic_set(&ctx->fdmon_ops, &fdmon_poll_ops);
    g_free(ctx->fdmon_io_uring);
    ctx->fdmon_io_uring = NULL;
}

/* ---- test-only accessors ------------------------------------------------ */

unsigned fdmon_io_uring_queued_changes(AioContext *ctx)
{
    AioHandler *node;
    unsigned n = 0;

    if (!ctx->fdmon_io_uring) {
        return 0;
    }
    for (node = qatomic_read(&ctx->fdmon_io_uring->submit_list.slh_first);
         node; node = node->node_submitted.sle_next) {
        n++;
    }
    return n;
}

unsigned fdmon_io_uring_held_handlers(AioContext *ctx)
{
    return ctx->fdmon_io_uring ? qatomic_read(&ctx->fdmon_io_uring->held)
                               : 0;
}
