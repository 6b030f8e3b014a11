/*
 * AioContext: Spindle's event loop.
 *
 * An AioContext waits for and dispatches four kinds of events: bottom
 * halves (BHs, "run this callback soon"), file descriptor readiness,
 * event notifiers and timers.  It is run either synchronously by
 * aio_poll() or as a GSource attached to a GMainContext.  One thread at a
 * time runs a given context (its home thread: the main loop thread or an
 * IOThread); other threads hand work to it with qemu_bh_schedule() or
 * aio_co_schedule(), both of which are thread-safe.
 *
 * The file also holds the callback-style AIOCB objects of the block layer
 * (BlockDriverAIOCB/BlockAIOCB), which are pooled per thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_AIO_H
#define QEMU_AIO_H

#include "qemu/osdep.h"
#include "qemu/queue.h"
#include "qemu/event_notifier.h"
#include "qemu/thread.h"
#include "qemu/rfifolock.h"
#include "qemu/timer.h"

/* ---- AIOCB: callback-style request objects ----------------------------- */

typedef struct BlockDriverAIOCB BlockDriverAIOCB;
/* The name later code uses for the same type. */
typedef BlockDriverAIOCB BlockAIOCB;

/* Completion callback of an AIOCB: @ret is 0 or -errno. */
typedef void BlockDriverCompletionFunc(void *opaque, int ret);
typedef BlockDriverCompletionFunc BlockCompletionFunc;

/*
 * Describes one kind of AIOCB.  The AIOCB is the first member of a larger
 * struct of @aiocb_size bytes that qemu_aio_get allocates.
 *   cancel:        synchronous cancel (the seed's form); may be NULL.
 *   cancel_async:  request cancellation without waiting; may be NULL.
 *   get_aio_context: context the request completes in; may be NULL.
 */
typedef struct AIOCBInfo {
    void (*cancel)(BlockDriverAIOCB *acb);
    void (*cancel_async)(BlockDriverAIOCB *acb);
    AioContext *(*get_aio_context)(BlockDriverAIOCB *acb);
    size_t aiocb_size;
} AIOCBInfo;

struct BlockDriverAIOCB {
    const AIOCBInfo *aiocb_info;
    BlockDriverState *bs;
    BlockDriverCompletionFunc *cb;
    void *opaque;
    int refcnt;
};

/*
 * Allocate an AIOCB of aiocb_info->aiocb_size bytes (>= sizeof
 * BlockDriverAIOCB) and fill the common fields; refcnt starts at 1.
 * Memory comes from a per-thread pool keyed by size, so after warm-up no
 * malloc happens.  The rest of the object is NOT zeroed.  Any thread.
 */
void *qemu_aio_get(const AIOCBInfo *aiocb_info, BlockDriverState *bs,
                   BlockDriverCompletionFunc *cb, void *opaque);

/*
 * Return @p (from qemu_aio_get) to the calling thread's pool at once,
 * whatever its reference count.  Any thread.
 */
void qemu_aio_release(void *p);

/* Take one more reference to @p.  Not thread-safe: the owner's thread. */
void qemu_aio_ref(void *p);

/* Drop a reference; the last one releases @p as qemu_aio_release. */
void qemu_aio_unref(void *p);

/* ---- types of callbacks ------------------------------------------------- */

typedef struct AioHandler AioHandler;
typedef QLIST_HEAD(, AioHandler) AioHandlerList;
typedef QSLIST_HEAD(, AioHandler) AioHandlerSList;
typedef void QEMUBHFunc(void *opaque);
typedef void IOHandler(void *opaque);
/*
 * Busy-poll callback: check, without blocking or syscalls if possible,
 * whether the handler's event source has work.  Returns true if so.
 */
typedef bool AioPollFn(void *opaque);

struct ThreadPool;
struct FDMonOps;
struct FDMonIoUring;
struct BHPool;

/* One slice of BHs taken from the pending stack by aio_bh_poll. */
typedef struct BHListSlice BHListSlice;
struct BHListSlice {
    struct QEMUBH *first;               /* FIFO order */
    QSIMPLEQ_ENTRY(BHListSlice) next;
};

/*
 * The context.  Public only because the seed makes it so (and aio_timer_*
 * are inline); every field is private to the event-loop module.  Fields
 * are grouped by how they are protected.
 *
 * This header is installed, so the layout must not depend on how the
 * library was configured (no config-host.h here): state that only some
 * builds have (the io_uring ring) hangs off a pointer to a struct that
 * only the library defines.
 */
struct AioContext {
    /* The GSource; first so that a GSource * is an AioContext *.  Its
     * reference count is the context's (aio_context_ref/unref). */
    GSource source;

    /* ---- set up by aio_context_new ---- */

    /* Serialises users that share the context (aio_context_acquire). */
    RFifoLock lock;

    /* Wakes a blocked aio_poll; registered as an fd handler. */
    EventNotifier notifier;

    /* The fd monitor backend chosen by fdmon_setup; a backend may fall
     * back to poll later (under list_lock). */
    const struct FDMonOps *fdmon_ops;

    /* TimerLists for calling timers - one per clock type. */
    QEMUTimerListGroup tlg;

    /* Also run main_loop_tlg's timers (true for the main context only). */
    bool run_main_loop_timers;

    /* ---- fd handlers ---- */

    /* Serialises changes to aio_handlers and deleted_handlers. */
    QemuMutex list_lock;

    /* Registered handlers.  Changed under list_lock, published with
     * release stores; walked without the lock while walking_handlers
     * is raised. */
    QLIST_HEAD(, AioHandler) aio_handlers;

    /* Unlinked handlers waiting to be freed by the running thread when
     * it leaves its outermost loop entry point.  Protected by list_lock
     * (head read atomically). */
    QLIST_HEAD(, AioHandler) deleted_handlers;

    /* Depth of loop entry points (aio_poll, aio_dispatch, ...) in
     * progress in the running thread; only that thread touches it. */
    int walking_handlers;

    /* Number of live handlers without an io_poll callback (atomic);
     * busy polling is only possible while it is 0. */
    int poll_disable_cnt;

    /* ---- wake-up protocol (see aio_notify in async.c) ---- */

    /* Compat: false while a caller of aio_set_dispatching(ctx, false) may
     * block; reflected in notify_me. */
    bool dispatching;

    /* Nonzero while some poller may be sleeping: bit 0 is set by the
     * GSource between prepare and check, each aio_poll that may block
     * adds 2.  Atomic. */
    unsigned notify_me;

    /* Set by aio_notify, cleared by aio_notify_accept.  Atomic. */
    bool notified;

    /* ---- bottom halves ---- */

    /* Protects all_bhs (BH creation and final freeing). */
    QemuMutex bh_lock;

    /* Lock-free stack of BHs waiting to be dispatched (the seed's anchor
     * of the BH list).  Any thread pushes; only the loop pops. */
    struct QEMUBH *first_bh;

    /* Depth of aio_bh_poll calls in progress (loop thread only). */
    int walking_bh;

    /* Slices taken from first_bh but not fully run (loop thread only). */
    QSIMPLEQ_HEAD(, BHListSlice) bh_slice_list;

    /* Number of aio_bh_poll calls so far (loop thread only). */
    unsigned bh_epoch;

    /* Every long-lived (not one-shot) BH of this context, for freeing
     * at finalize; bh_lock. */
    QLIST_HEAD(, QEMUBH) all_bhs;

    /* Recycled one-shot BHs (lock-free; see async.c).  Set up by
     * aio_context_new, freed at finalize. */
    struct BHPool *bh_pool;

    /* ---- coroutines ---- */

    /* Coroutines waiting to be entered here (lock-free push). */
    QSLIST_HEAD(, Coroutine) scheduled_coroutines;
    struct QEMUBH *co_schedule_bh;

    /* ---- fd monitor state ---- */

    /* poll backend: GPollFDs and their handlers for one wait. */
    GArray *pollfds;
    GArray *pollfds_nodes;

    /* epoll backend: the epoll fd, or -1. */
    int epollfd;
    bool epoll_enabled;

    /* io_uring backend: the ring and its queue of handler changes,
     * allocated by fdmon_io_uring_setup; NULL while another backend is
     * in use or in builds without liburing. */
    struct FDMonIoUring *fdmon_io_uring;

    /* ---- adaptive busy polling (atomic: set via params by any
     * thread, poll_ns also adapted by the loop) ---- */

    int64_t poll_max_ns;    /* 0 = no busy polling */
    int64_t poll_ns;        /* current busy-poll budget */
    int64_t poll_grow;      /* factor, 0 = default */
    int64_t poll_shrink;    /* divisor, 0 = reset to 0 */

    /* ---- home thread ---- */

    /* Thread that made this context current (IOThread/main), or NULL. */
    const void *home_thread;
    /* Thread inside aio_poll/aio_dispatch right now, or NULL. */
    const void *poller;

    /* Thread pool for performing work and receiving completion callbacks */
    struct ThreadPool *thread_pool;
};

/* ---- life cycle --------------------------------------------------------- */

/*
 * Compat shim from the seed.  dispatching == false announces that the
 * caller is about to block on the context's fds by other means than
 * aio_poll, so aio_notify must write the event notifier; true undoes it.
 * Home thread only.
 */
void aio_set_dispatching(AioContext *ctx, bool dispatching);

/*
 * aio_context_new: allocate a new AioContext with one reference.
 *
 * The context is a small event loop of its own: it runs bottom halves, fd
 * handlers and timers when someone calls aio_poll() on it, or when its
 * GSource (aio_get_g_source) is attached to a GMainContext.  Picks an fd
 * monitor (SPINDLE_FDMON, else io_uring, epoll, poll).  Any thread; the
 * context is not current in any thread.
 *
 * This is the seed's signature: it cannot report failure, so when the
 * event notifier or the fd monitor cannot be created (out of file
 * descriptors, or SPINDLE_FDMON naming a backend this host lacks) it
 * prints why and aborts.  Code that must survive that uses
 * aio_context_try_new.
 */
AioContext *aio_context_new(void);

/*
 * aio_context_try_new: as aio_context_new, but on failure returns NULL
 * and sets @errp instead of aborting.
 */
AioContext *aio_context_try_new(Error **errp);

/* Add a reference to @ctx.  Any thread. */
void aio_context_ref(AioContext *ctx);

/*
 * Drop a reference; the last one frees @ctx with its thread pool, timer
 * lists (no timer may be pending), every BH still alive and every fd
 * handler still registered: do not use them afterwards.  Any thread, but
 * not while another thread runs the context.
 */
void aio_context_unref(AioContext *ctx);

/*
 * Take ownership of @ctx: recursive and FIFO-fair (see rfifolock.h).  If
 * the owner is blocked in aio_poll it is woken so it can release.
 * Callbacks run by a context shared between threads may run in any of
 * them; protect shared state with acquire/release.  Any thread.
 */
void aio_context_acquire(AioContext *ctx);

/* Relinquish one level of ownership of @ctx.  Owner only. */
void aio_context_release(AioContext *ctx);

/* ---- bottom halves ------------------------------------------------------ */

/*
 * aio_bh_new: allocate a bottom half that runs @cb(@opaque) in @ctx each
 * time it is scheduled.  Scheduling it is wait-free, thread-safe and
 * async-signal-safe.  Free it with qemu_bh_delete.  Any thread.
 */
QEMUBH *aio_bh_new(AioContext *ctx, QEMUBHFunc *cb, void *opaque);

/*
 * Run @cb(@opaque) once in @ctx, as soon as possible; the BH frees itself
 * afterwards.  The BH comes from a small per-context pool (lock-free, so
 * any thread may take one), so the common case does not allocate; only
 * while more one-shot BHs are pending than the pool holds does it fall
 * back to malloc.  Any thread.
 */
void aio_bh_schedule_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque);

/*
 * aio_notify: make the home thread's current or next wait return at once,
 * so it re-examines BHs, timers and fds (and a GSource user recomputes its
 * poll set).  Writes the event notifier only when a poller may be asleep.
 * Rarely needed: qemu_bh_schedule calls it.  Any thread, signal-safe.
 */
void aio_notify(AioContext *ctx);

/*
 * aio_notify_accept: the loop has seen the notification; a later
 * aio_notify counts again.  Called by aio_poll and the GSource before
 * they look at BHs.  Loop thread only.
 */
void aio_notify_accept(AioContext *ctx);

/*
 * aio_bh_poll: run every scheduled BH of @ctx.  A BH scheduled by a BH
 * callback runs within the same call, except that no BH runs twice in one
 * call (a BH that reschedules itself runs again in the next call, so fd
 * handlers are never starved).  Returns 1 if any BH ran, else 0.  Home
 * thread only; may be nested through a callback that calls aio_poll.
 */
int aio_bh_poll(AioContext *ctx);

/*
 * qemu_bh_schedule: make @bh run once, soon, in its context.  Scheduling
 * a pending BH again has no extra effect.  Wait-free, thread-safe and
 * async-signal-safe (atomics and aio_notify only).
 */
void qemu_bh_schedule(QEMUBH *bh);

/*
 * qemu_bh_cancel: undo qemu_bh_schedule without freeing @bh.  Wait-free
 * and thread-safe, but it can race with the loop that is about to run the
 * BH unless the caller runs in the home thread (or holds the context).
 */
void qemu_bh_cancel(QEMUBH *bh);

/*
 * qemu_bh_delete: cancel @bh and free it.  Freeing is deferred to the
 * loop, so it is safe from inside @bh's own callback and from any thread;
 * @bh must not be used by the caller afterwards.
 */
void qemu_bh_delete(QEMUBH *bh);

/* ---- running the loop --------------------------------------------------- */

/*
 * aio_prepare: part of the GSource.  Lets the fd monitor settle work it
 * would otherwise leave to aio_poll (io_uring's queue of handler
 * changes), runs busy-poll handlers once and returns whether anything is
 * ready before poll.  Home thread only.
 */
bool aio_prepare(AioContext *ctx);

/*
 * aio_pending: part of the GSource.  Returns whether any BH, ready fd
 * handler or busy-poll result awaits dispatch after poll.  Home thread.
 */
bool aio_pending(AioContext *ctx);

/*
 * aio_dispatch: part of the GSource.  Runs BHs, fd handlers whose
 * GPollFD reported events, and expired timers.  Returns true if any
 * callback ran.  Home thread only.
 */
bool aio_dispatch(AioContext *ctx);

/*
 * aio_poll: make progress on @ctx.  Runs BHs, ready fd handlers and expired
 * timers; if nothing is ready and @blocking, first waits (busy-polling
 * first when poll params allow) until an fd becomes ready, a timer
 * expires, a BH is scheduled or aio_notify is called.  Returns true if any
 * callback made progress; a blocking call returns false only when it was
 * woken by aio_notify with nothing to do.  Callers: the home thread, or a
 * thread that holds the context (aio_context_acquire); never two threads
 * at once (aborts).  May nest (a callback may call aio_poll).
 */
bool aio_poll(AioContext *ctx, bool blocking);

/* ---- fd handlers and event notifiers ----------------------------------- */

/*
 * Watch @fd: @io_read runs when it is readable (or hung up / in error),
 * @io_write when writable, each with @opaque.  Replaces any handler for
 * @fd; both callbacks NULL removes it (safe from inside its own
 * callback: the handler is freed once no one walks the list).  Any
 * thread; wakes the loop so the change takes effect.
 */
void aio_set_fd_handler(AioContext *ctx,
                        int fd,
                        IOHandler *io_read,
                        IOHandler *io_write,
                        void *opaque);

/*
 * As aio_set_fd_handler, with busy polling: @io_poll (may be NULL) is
 * called while the loop spins (see aio_context_set_poll_params) and when
 * it returns true, @io_poll_ready (may be NULL: io_poll did the work
 * itself) is called from the dispatch phase.  While any handler lacks
 * io_poll the context does not busy-poll.  Any thread.
 */
void aio_set_fd_handler_poll(AioContext *ctx,
                             int fd,
                             IOHandler *io_read,
                             IOHandler *io_write,
                             AioPollFn *io_poll,
                             IOHandler *io_poll_ready,
                             void *opaque);

/*
 * Watch @notifier: @io_read(@notifier) runs when it is set; NULL removes
 * the handler.  The callback usually calls event_notifier_test_and_clear.
 * Any thread.
 */
void aio_set_event_notifier(AioContext *ctx,
                            EventNotifier *notifier,
                            EventNotifierHandler *io_read);

/*
 * As aio_set_event_notifier with busy polling: @io_poll(@notifier) and
 * @io_poll_ready(@notifier) as for aio_set_fd_handler_poll.  Any thread.
 */
void aio_set_event_notifier_poll(AioContext *ctx,
                                 EventNotifier *notifier,
                                 EventNotifierHandler *io_read,
                                 AioPollFn *io_poll,
                                 EventNotifierHandler *io_poll_ready);

/*
 * The context as a GSource: attach it to a GMainContext and that loop
 * dispatches the BHs, fd handlers and timers of @ctx.  The returned
 * source carries a new reference; drop it with g_source_unref.
 */
GSource *aio_get_g_source(AioContext *ctx);

/*
 * The ThreadPool bound to @ctx, created on first use.  Home thread (or
 * with the context acquired).
 */
struct ThreadPool *aio_get_thread_pool(AioContext *ctx);

/* ---- timers ------------------------------------------------------------- */

/*
 * aio_timer_new: allocate a timer on @ctx's list for clock @type; its
 * callback runs in @ctx's home thread.  @scale is SCALE_NS/US/MS.  Free
 * with timer_free.  Prefer aio_timer_init.
 */
static inline QEMUTimer *aio_timer_new(AioContext *ctx, QEMUClockType type,
                                       int scale,
                                       QEMUTimerCB *cb, void *opaque)
{
    return timer_new_tl(ctx->tlg.tl[type], scale, cb, opaque);
}

/* aio_timer_init: as aio_timer_new for caller-owned memory @ts. */
static inline void aio_timer_init(AioContext *ctx,
                                  QEMUTimer *ts, QEMUClockType type,
                                  int scale,
                                  QEMUTimerCB *cb, void *opaque)
{
    timer_init(ts, ctx->tlg.tl[type], scale, cb, opaque);
}

/*
 * aio_compute_timeout: how long (ns) a blocking aio_poll may sleep: 0 if a
 * BH is scheduled, else until the earliest timer deadline, -1 if there is
 * none.  Home thread (it walks the pending BHs).
 */
int64_t aio_compute_timeout(AioContext *ctx);

/* ---- coroutines --------------------------------------------------------- */

/*
 * Enter @co in @ctx's home thread, from a BH.  Thread-safe, lock-free.
 * Aborts with a message if @co is already scheduled somewhere.
 */
void aio_co_schedule(AioContext *ctx, Coroutine *co);

/*
 * Move the calling coroutine to @new_ctx: it yields and resumes in
 * @new_ctx's thread.  No-op if @new_ctx is already current.
 */
void coroutine_fn aio_co_reschedule_self(AioContext *new_ctx);

/*
 * Resume @co, which yielded in its context co->ctx: entered now if that
 * is the caller's current context, else scheduled there.  Any thread.
 */
void aio_co_wake(Coroutine *co);

/*
 * Enter @co in @ctx: at once if @ctx is the current context (from inside
 * a coroutine: after the running coroutine yields or ends), else by
 * aio_co_schedule.  Any thread.
 */
void aio_co_enter(AioContext *ctx, Coroutine *co);

/*
 * The context the calling thread runs: the one set with
 * qemu_set_current_aio_context, else the main context.  Any thread.
 */
AioContext *qemu_get_current_aio_context(void);

/*
 * Make @ctx the calling thread's current context and the thread its home
 * (IOThreads call it once at start).  NULL undoes it.  A context can be
 * current in one thread only.
 */
void qemu_set_current_aio_context(AioContext *ctx);

/*
 * True if the calling thread may run @ctx: @ctx is its current context.
 */
bool in_aio_context_home_thread(AioContext *ctx);

/* ---- busy polling and backend ------------------------------------------ */

/*
 * Configure adaptive busy polling: spin calling io_poll handlers for up to
 * poll_ns (<= @max_ns; 0 disables) before blocking; poll_ns starts at
 * min(4 us, @max_ns) unless already set.  poll_ns is multiplied
 * by @grow (0: default 2) when an event came after blocking but within
 * @max_ns, and divided by @shrink (0: reset to 0) when blocking took
 * longer than @max_ns.  Returns false and sets @errp if any value is
 * negative.  Any thread.
 */
bool aio_context_set_poll_params(AioContext *ctx, int64_t max_ns,
                                 int64_t grow, int64_t shrink,
                                 Error **errp);

/*
 * Read back the values last given to aio_context_set_poll_params (all 0
 * for a new context: no busy polling).  Any pointer may be NULL.  Any
 * thread; the three values are read separately, so a concurrent set may
 * be seen half-applied.
 */
void aio_context_get_poll_params(AioContext *ctx, int64_t *max_ns,
                                 int64_t *grow, int64_t *shrink);

/* Name of @ctx's fd monitor: "poll", "epoll" or "io_uring".  Any thread. */
const char *aio_context_get_fdmon_name(AioContext *ctx);

#endif /* QEMU_AIO_H */
