/*
 * AioContext core: life cycle, bottom halves, the wake-up protocol, the
 * GSource glue, coroutine scheduling and the AIOCB pool.
 *
 * What it is not: the fd-handler registry and aio_poll live in
 * aio-posix.c, backends in fdmon-*.c, the main context in main-loop.c.
 *
 * Bottom halves
 * -------------
 * A BH is queued by pushing it on ctx->first_bh, a lock-free stack, when
 * its BH_PENDING flag goes from 0 to 1; the loop takes the whole stack at
 * once (one atomic exchange), reverses it into a FIFO "slice" and runs it.
 * Scheduling is therefore two atomic RMWs plus aio_notify: no lock, no
 * allocation, no syscall unless a poller sleeps.
 *
 * aio_bh_poll keeps taking new slices until the stack is empty, so a BH
 * scheduled by a BH runs in the same call, with two limits that keep fd
 * handlers and timers from starving: a BH runs at most once per call
 * (ctx->bh_epoch numbers the calls; a BH that already ran in this call
 * is set aside and re-queued for the next one), and at most
 * BH_POLL_MAX_ROUNDS slices are taken per call (bounds chains of ever
 * new one-shot BHs).  Slices in progress are linked in ctx->bh_slice_list
 * so that a nested aio_poll (from a BH callback) runs the rest of its
 * caller's slice instead of waiting for it.
 *
 * Key invariant: a BH is on at most one stack or slice, exactly while
 * BH_PENDING is set; only the thread that set BH_PENDING pushes it, and
 * only the loop clears it, after reading bh->next.  A BH is freed only by
 * the loop, after it was dequeued with BH_DELETED or BH_ONESHOT set, so a
 * callback may delete its own BH.
 *
 * One-shot BHs are recycled through a lock-free per-context pool instead
 * of malloc/free (see "one-shot BH pool" below for why that is safe from
 * any thread).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "trace.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "block/thread-pool.h"
#include "qemu/main-loop.h"
#include "qemu/coroutine_int.h"
#include "aio-posix.h"

enum {
    BH_PENDING   = 1 << 0,  /* on a stack or slice */
    BH_SCHEDULED = 1 << 1,  /* run the callback when dequeued */
    BH_DELETED   = 1 << 2,  /* free when dequeued */
    BH_ONESHOT   = 1 << 3,  /* free after running */
};

/* Slices one aio_bh_poll call may take; see the top of the file. */
#define BH_POLL_MAX_ROUNDS 64

/* One-shot BHs each context recycles; more pending at once use malloc. */
#define BH_POOL_SIZE 64

struct QEMUBH {
    /* Fixed at creation. */
    AioContext *ctx;
    QEMUBHFunc *cb;
    void *opaque;
    /* Link on ctx->first_bh or a slice; written only by the pusher. */
    struct QEMUBH *next;
    /* Link on ctx->all_bhs; ctx->bh_lock. */
    QLIST_ENTRY(QEMUBH) all;
    /* BH_* (atomic). */
    unsigned flags;
    /* ctx->bh_epoch of the last run (loop thread). */
    unsigned run_epoch;
    /* Pool slots only: 1 + index of the next free slot, 0 for none.
     * Atomic; written only while the slot is being freed. */
    uint32_t pool_next;
};

/* ---- one-shot BH pool ------------------------------------------------- */

/*
 * aio_bh_schedule_oneshot may be called by any thread, and the BH is
 * freed by whichever thread runs aio_bh_poll; malloc and free were most
 * of its cost.  So each context owns BH_POOL_SIZE BHs in one array, made
 * by aio_context_new and freed at finalize, and keeps the free ones on a
 * lock-free stack:
 *
 * - The head is one 64-bit word: its low 32 bits are 1 + the index of the
 *   top free slot (0: empty), its high 32 bits a version that every
 *   successful pop and push increments.  Links are slot indices, in each
 *   slot's pool_next.
 * - Pop (any thread, any number at once): read the head, read the top
 *   slot's pool_next, compare-and-swap the head to (version + 1, next).
 *   The ABA hazard of such stacks (between our two reads other threads
 *   pop the top slot, pop or push others and push the top slot back, so
 *   the top index matches but our "next" is stale) is caught by the
 *   version: each of those operations moved it, so our CAS fails and we
 *   retry.  Fooling it takes exactly 2^32 operations inside a window of
 *   a few instructions.
 * - Reading pool_next of a slot that another thread has just popped is
 *   harmless: the array outlives every pop (it is freed at finalize, when
 *   no other thread may use the context), pool_next is written only by a
 *   push (atomically), and a value read from a slot that is no longer on
 *   top is thrown away with the failing CAS.  The new owner never writes
 *   pool_next, so it does not race with such stale readers.
 * - Push (bh_free: the thread running aio_bh_poll, or finalize) is the
 *   same CAS loop, so any number of pushers would be fine too.
 * - The CASes are sequentially consistent: what the freeing thread wrote
 *   into a BH happens before the pop that reuses it, and the new owner's
 *   writes happen before bh_push publishes the BH to the loop.
 * - Bounded: when the stack is empty (more than BH_POOL_SIZE one-shot BHs
 *   pending) bh_alloc falls back to g_new0; bh_free tells pool slots from
 *   heap BHs by address.  Long-lived BHs (aio_bh_new) never use the pool,
 *   so they cannot drain it.
 */
typedef struct BHPool BHPool;

struct BHPool {
    uint64_t head;                      /* version << 32 | (top + 1) */
    char pad[64 - sizeof(uint64_t)];    /* keep slot writes off its line */
    QEMUBH slots[BH_POOL_SIZE];
};

static BHPool *bh_pool_new(void)
{
    BHPool *pool = g_new0(BHPool, 1);

    /* Slot i links to slot i + 1; the last one ends the stack. */
    for (uint32_t i = 0; i + 1 < BH_POOL_SIZE; i++) {
        pool->slots[i].pool_next = i + 2;
    }
    pool->head = 1;
    return pool;
}

static uint64_t bh_pool_head(uint64_t old, uint32_t top)
{
    return (((old >> 32) + 1) << 32) | top;
}

/* Take a free slot, or NULL if none is left.  Any thread. */
static QEMUBH *bh_pool_pop(BHPool *pool)
{
    uint64_t old = qatomic_load_acquire(&pool->head);
    uint64_t seen;
    uint32_t top;

    while ((top = (uint32_t)old) != 0) {
        uint32_t next = qatomic_read(&pool->slots[top - 1].pool_next);

        seen = qatomic_cmpxchg(&pool->head, old, bh_pool_head(old, next));
        if (seen == old) {
            return &pool->slots[top - 1];
        }
        old = seen;
    }
    return NULL;
}

/* Give @bh back if it is one of @pool's slots; false if it is not. */
static bool bh_pool_push(BHPool *pool, QEMUBH *bh)
{
    uintptr_t first = (uintptr_t)pool->slots;
    uintptr_t addr = (uintptr_t)bh;
    uint32_t index;
    uint64_t old, seen;

    if (addr < first || addr >= first + sizeof(pool->slots)) {
        return false;
    }
    index = (addr - first) / sizeof(QEMUBH);
    old = qatomic_read(&pool->head);
    for (;;) {
        qatomic_set(&bh->pool_next, (uint32_t)old);
        seen = qatomic_cmpxchg(&pool->head, old,
                               bh_pool_head(old, index + 1));
        if (seen == old) {
            return true;
        }
        old = seen;
    }
}

unsigned aio_bh_pool_free_count(AioContext *ctx)
{
    BHPool *pool = ctx->bh_pool;
    uint32_t top = (uint32_t)qatomic_read(&pool->head);
    unsigned n = 0;

    for (; top; top = qatomic_read(&pool->slots[top - 1].pool_next)) {
        n++;
    }
    return n;
}

/* ---- the wake-up protocol ----------------------------------------------- */

/*
 * A loop that may block raises ctx->notify_me first (aio_poll adds 2, the
 * GSource sets bit 0 from prepare to check), then looks once more for
 * work (BH stack, timers, ctx->notified) and only then sleeps.  A
 * producer publishes work first, then reads notify_me, and writes the
 * event notifier only if it is nonzero.
 *
 * Why no wake-up is lost: the poller's "raise notify_me; read work" and
 * the producer's "publish work; read notify_me" are each a sequentially
 * consistent RMW followed by a sequentially consistent load (aio_notify
 * uses smp_mb() where the caller has no RMW of its own).  In the single
 * total order of these operations one of the two RMWs comes first, so
 * either the producer sees notify_me != 0 and writes the notifier, or
 * the poller's re-check sees the work and does not sleep.  The common
 * case, a producer running while the loop is busy, costs no syscall.
 *
 * ctx->notified additionally records "aio_notify happened since the loop
 * last looked" for pollers that do not sleep: busy polling watches it
 * (with acquire, paired with the release store in aio_notify), and a
 * blocking aio_poll returns at once when it is set.  aio_notify_accept
 * clears it before the loop reads the BH stack.  Scheduling a BH does not
 * touch it (busy polling watches the BH stack itself), which keeps the
 * scheduling fast path at two atomic RMWs and one load.
 */
static void notify_after_publish(AioContext *ctx)
{
    if (qatomic_mb_read(&ctx->notify_me)) {
        event_notifier_set(&ctx->notifier);
    }
}

void aio_notify(AioContext *ctx)
{
    /* Release: the caller's work is visible to whoever sees the flag. */
    qatomic_store_release(&ctx->notified, true);
    /* The work and the flag before reading notify_me (see above). */
    smp_mb();
    if (qatomic_read(&ctx->notify_me)) {
        event_notifier_set(&ctx->notifier);
    }
}

void aio_notify_accept(AioContext *ctx)
{
    if (qatomic_read(&ctx->notified)) {
        /* Full barrier: clear before the loop reads the BH stack. */
        (void)qatomic_xchg(&ctx->notified, false);
    }
}

void aio_set_dispatching(AioContext *ctx, bool dispatching)
{
    if (ctx->dispatching == dispatching) {
        return;
    }
    ctx->dispatching = dispatching;
    if (!dispatching) {
        qatomic_add(&ctx->notify_me, 2);
    } else {
        qatomic_sub(&ctx->notify_me, 2);
    }
}

/* ---- bottom halves ----------------------------------------------------- */

static void bh_push(AioContext *ctx, QEMUBH *bh)
{
    QEMUBH *old;

    do {
        old = qatomic_read(&ctx->first_bh);
        bh->next = old;
    } while (qatomic_cmpxchg(&ctx->first_bh, old, bh) != old);
}

/* Set @new_flags (plus BH_PENDING) and queue @bh if it was not queued. */
static unsigned bh_enqueue(QEMUBH *bh, unsigned new_flags)
{
    unsigned old = qatomic_fetch_or(&bh->flags, BH_PENDING | new_flags);

    if (!(old & BH_PENDING)) {
        bh_push(bh->ctx, bh);
    }
    return old;
}

static QEMUBH *bh_alloc(AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                        unsigned flags)
{
    QEMUBH *bh = NULL;

    if (flags & BH_ONESHOT) {
        bh = bh_pool_pop(ctx->bh_pool);
    }
    if (!bh) {
        bh = g_new0(QEMUBH, 1);
    }
    /* Field by field: a recycled slot is not zeroed, and pool_next
     * belongs to the pool (see above). */
    bh->ctx = ctx;
    bh->cb = cb;
    bh->opaque = opaque;
    bh->next = NULL;
    bh->run_epoch = 0;
    bh->flags = flags;
    /* A one-shot BH is queued from birth to death, so finalize finds it
     * on the stack; only long-lived BHs need the registry (and lock). */
    if (!(flags & BH_ONESHOT)) {
        qemu_mutex_lock(&ctx->bh_lock);
        QLIST_INSERT_HEAD(&ctx->all_bhs, bh, all);
        qemu_mutex_unlock(&ctx->bh_lock);
    }
    return bh;
}

static void bh_free(QEMUBH *bh)
{
    AioContext *ctx = bh->ctx;

    if (!(qatomic_read(&bh->flags) & BH_ONESHOT)) {
        qemu_mutex_lock(&ctx->bh_lock);
        QLIST_REMOVE(bh, all);
        qemu_mutex_unlock(&ctx->bh_lock);
    }
    if (!bh_pool_push(ctx->bh_pool, bh)) {
        g_free(bh);
    }
}

QEMUBH *aio_bh_new(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    return bh_alloc(ctx, cb, opaque, 0);
}

void aio_bh_schedule_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    QEMUBH *bh = bh_alloc(ctx, cb, opaque, BH_ONESHOT);

    trace_aio_bh_schedule(ctx, bh);
    bh_enqueue(bh, BH_SCHEDULED);
    notify_after_publish(ctx);
}

void qemu_bh_schedule(QEMUBH *bh)
{
    const unsigned queued = BH_PENDING | BH_SCHEDULED;

    trace_aio_bh_schedule(bh->ctx, bh);
    /* Already queued and scheduled: whoever did it has notified. */
    if ((bh_enqueue(bh, BH_SCHEDULED) & queued) != queued) {
        notify_after_publish(bh->ctx);
    }
}

void qemu_bh_cancel(QEMUBH *bh)
{
    qatomic_and(&bh->flags, ~BH_SCHEDULED);
}

void qemu_bh_delete(QEMUBH *bh)
{
    /* No wake-up: the loop frees it whenever it next polls BHs. */
    bh_enqueue(bh, BH_DELETED);
}

/*
 * True if @bh would run if dequeued now.  Sequentially consistent: this
 * is the poller's re-check of the wake-up protocol, and rescheduling a
 * queued-but-cancelled BH publishes through bh->flags alone.
 */
static bool bh_runnable(QEMUBH *bh)
{
    unsigned flags = qatomic_mb_read(&bh->flags);

    return (flags & (BH_SCHEDULED | BH_DELETED)) == BH_SCHEDULED;
}

/* True if a runnable BH waits.  Loop thread only (walks the stack). */
static bool bh_work_pending(AioContext *ctx)
{
    BHListSlice *s;
    QEMUBH *bh;

    for (bh = qatomic_mb_read(&ctx->first_bh); bh; bh = bh->next) {
        if (bh_runnable(bh)) {
            return true;
        }
    }
    QSIMPLEQ_FOREACH(s, &ctx->bh_slice_list, next) {
        for (bh = s->first; bh; bh = bh->next) {
            if (bh_runnable(bh)) {
                return true;
            }
        }
    }
    return false;
}

/* Move the whole stack into @slice in FIFO order; false if it was empty. */
static bool bh_take_slice(AioContext *ctx, BHListSlice *slice)
{
    QEMUBH *bh, *fifo = NULL;

    /* Cheap look first: the exchange is a locked instruction. */
    if (!qatomic_read(&ctx->first_bh)) {
        return false;
    }
    bh = qatomic_xchg(&ctx->first_bh, NULL);
    while (bh) {
        QEMUBH *next = bh->next;
        bh->next = fifo;
        fifo = bh;
        bh = next;
    }
    slice->first = fifo;
    QSIMPLEQ_INSERT_TAIL(&ctx->bh_slice_list, slice, next);
    return true;
}

/* Pop the oldest BH of the oldest slice, or NULL when all are empty. */
static QEMUBH *bh_pop(AioContext *ctx)
{
    BHListSlice *s;

    while ((s = QSIMPLEQ_FIRST(&ctx->bh_slice_list))) {
        QEMUBH *bh = s->first;
        if (bh) {
            s->first = bh->next;
            return bh;
        }
        QSIMPLEQ_REMOVE_HEAD(&ctx->bh_slice_list, next);
    }
    return NULL;
}

/*
 * Run or free one dequeued BH.  A BH that already ran in @epoch goes on
 * @deferred still marked pending.  Returns true if a callback ran.
 */
static bool bh_dispatch(QEMUBH *bh, unsigned epoch, QEMUBH **deferred)
{
    unsigned flags;

    if (bh->run_epoch == epoch &&
        !(qatomic_read(&bh->flags) & BH_DELETED)) {
        bh->next = *deferred;
        *deferred = bh;
        return false;
    }
    flags = qatomic_fetch_and(&bh->flags, ~(BH_PENDING | BH_SCHEDULED));
    if ((flags & (BH_SCHEDULED | BH_DELETED)) == BH_SCHEDULED) {
        bh->run_epoch = epoch;
        trace_aio_bh_run(bh->ctx, bh);
        bh->cb(bh->opaque);
        /* @bh may be deleted (and queued) by now: only ONESHOT is ours. */
        if (flags & BH_ONESHOT) {
            bh_free(bh);
        }
        return true;
    }
    if (flags & (BH_DELETED | BH_ONESHOT)) {
        bh_free(bh);
    }
    return false;
}

static void bh_requeue(AioContext *ctx, QEMUBH *deferred)
{
    while (deferred) {
        QEMUBH *next = deferred->next;
        bh_push(ctx, deferred);
        deferred = next;
    }
}

int aio_bh_poll(AioContext *ctx)
{
    BHListSlice slice;
    QEMUBH *deferred = NULL;
    QEMUBH *bh;
    unsigned epoch = ++ctx->bh_epoch;
    int rounds = 0;

    /* 0 is the run_epoch of a BH that never ran: skip it on wrap-around. */
    if (unlikely(epoch == 0)) {
        epoch = ++ctx->bh_epoch;
    }
    int ret = 0;

    ctx->walking_bh++;
    /* First finish slices left by callers further up (nested aio_poll). */
    do {
        while ((bh = bh_pop(ctx))) {
            ret |= bh_dispatch(bh, epoch, &deferred);
        }
    } while (rounds++ < BH_POLL_MAX_ROUNDS && bh_take_slice(ctx, &slice));
    /* Every slice is finished now; @slice is no longer linked. */
    bh_requeue(ctx, deferred);
    ctx->walking_bh--;
    return ret;
}

/* Free every BH at finalize: queued ones first, then idle ones. */
static void bh_free_all(AioContext *ctx)
{
    QEMUBH *bh = qatomic_xchg(&ctx->first_bh, NULL);

    while (bh) {
        QEMUBH *next = bh->next;
        bh_free(bh);
        bh = next;
    }
    while ((bh = QLIST_FIRST(&ctx->all_bhs))) {
        bh_free(bh);
    }
}

/* ---- timeouts and the GSource ------------------------------------------ */

static int64_t timer_deadline(AioContext *ctx)
{
    int64_t deadline = timerlistgroup_deadline_ns(&ctx->tlg);

    if (ctx->run_main_loop_timers) {
        deadline = qemu_soonest_timeout(deadline,
                       timerlistgroup_deadline_ns(&main_loop_tlg));
    }
    return deadline;
}

/*
 * Timer lists are cheap to ask (an empty list is one atomic load, see
 * qemu/timer.h), so the loop asks them every time.  An arm that makes a
 * deadline earlier publishes it before calling aio_timerlist_notify, and
 * aio_notify orders that before reading notify_me, so the wake-up
 * protocol above covers timers too.
 */
void aio_timerlist_notify(void *opaque, QEMUClockType type)
{
    aio_notify(opaque);
}

int64_t aio_compute_timeout(AioContext *ctx)
{
    if (bh_work_pending(ctx)) {
        return 0;
    }
    return timer_deadline(ctx);
}

bool aio_run_timers(AioContext *ctx)
{
    bool progress = timerlistgroup_run_timers(&ctx->tlg);

    if (ctx->run_main_loop_timers) {
        progress |= timerlistgroup_run_timers(&main_loop_tlg);
    }
    return progress;
}

static gboolean aio_ctx_prepare(GSource *source, gint *timeout)
{
    AioContext *ctx = (AioContext *)source;
    bool ready;
    int64_t ns;

    /* Announce that we may sleep before looking for work (see above). */
    qatomic_or(&ctx->notify_me, 1);
    /* Always: it also settles the backend's queue of handler changes,
     * which must not wait for an iteration without pending BHs. */
    ready = aio_prepare(ctx);
    ns = aio_compute_timeout(ctx);
    if (ready || ns == 0 || qatomic_read(&ctx->notified)) {
        /* GLib skips check() for a ready source: withdraw now. */
        qatomic_and(&ctx->notify_me, ~1u);
        *timeout = 0;
        return TRUE;
    }
    *timeout = qemu_timeout_ns_to_ms(ns);
    return FALSE;
}

static gboolean aio_ctx_check(GSource *source)
{
    AioContext *ctx = (AioContext *)source;

    qatomic_and(&ctx->notify_me, ~1u);
    aio_notify_accept(ctx);
    return bh_work_pending(ctx) || aio_pending(ctx) ||
           aio_compute_timeout(ctx) == 0;
}

static gboolean aio_ctx_dispatch(GSource *source, GSourceFunc callback,
                                 gpointer user_data)
{
    AioContext *ctx = (AioContext *)source;

    assert(callback == NULL);
    aio_notify_accept(ctx);
    aio_dispatch(ctx);
    return G_SOURCE_CONTINUE;
}

static void aio_ctx_finalize(GSource *source);

static GSourceFuncs aio_source_funcs = {
    .prepare = aio_ctx_prepare,
    .check = aio_ctx_check,
    .dispatch = aio_ctx_dispatch,
    .finalize = aio_ctx_finalize,
};

GSource *aio_get_g_source(AioContext *ctx)
{
    g_source_ref(&ctx->source);
    return &ctx->source;
}

/* ---- life cycle --------------------------------------------------------- */

static void co_schedule_bh_cb(void *opaque);

static void rfifolock_contended(void *opaque)
{
    /* Kick the owner out of aio_poll so it can release the context. */
    aio_notify(opaque);
}

/* The context's own notifier: read side, and its busy-poll pair. */
static void notifier_read(EventNotifier *e)
{
    event_notifier_test_and_clear(e);
}

static bool notifier_poll(void *opaque)
{
    EventNotifier *e = opaque;
    AioContext *ctx = container_of(e, AioContext, notifier);

    return qatomic_load_acquire(&ctx->notified);
}

static void notifier_poll_ready(EventNotifier *e)
{
    /* Nothing: the point was to leave the busy-poll loop. */
}

AioContext *aio_context_try_new(Error **errp)
{
    AioContext *ctx;
    int ret;

    /* g_source_new zeroes; finalize copes with a half-built context. */
    ctx = (AioContext *)g_source_new(&aio_source_funcs, sizeof(AioContext));
    g_source_set_name(&ctx->source, "aio-context");
    ctx->bh_pool = bh_pool_new();
    qemu_mutex_init(&ctx->list_lock);
    qemu_mutex_init(&ctx->bh_lock);
    rfifolock_init(&ctx->lock, rfifolock_contended, ctx);
    QSIMPLEQ_INIT(&ctx->bh_slice_list);
    ctx->dispatching = true;
    ctx->epollfd = -1;

    ret = event_notifier_init(&ctx->notifier, false);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "failed to create event notifier");
        goto fail;
    }
    if (!fdmon_setup(ctx, errp)) {
        goto fail;
    }
    aio_set_event_notifier_poll(ctx, &ctx->notifier, notifier_read,
                                notifier_poll, notifier_poll_ready);
    timerlistgroup_init(&ctx->tlg, aio_timerlist_notify, ctx);
    ctx->co_schedule_bh = aio_bh_new(ctx, co_schedule_bh_cb, ctx);
    /* Registering the notifier notified; nobody needs to see that. */
    qatomic_set(&ctx->notified, false);
    trace_aio_context_new(ctx, aio_context_get_fdmon_name(ctx));
    return ctx;

fail:
    g_source_unref(&ctx->source);
    return NULL;
}

AioContext *aio_context_new(void)
{
    return aio_context_try_new(&error_abort);
}

static void aio_ctx_finalize(GSource *source)
{
    AioContext *ctx = (AioContext *)source;

    if (ctx->thread_pool) {
        thread_pool_free(ctx->thread_pool);
        ctx->thread_pool = NULL;
    }
    bh_free_all(ctx);
    g_free(ctx->bh_pool);
    ctx->bh_pool = NULL;
    if (ctx->tlg.tl[0]) {
        timerlistgroup_deinit(&ctx->tlg);
    }
    aio_handlers_teardown(ctx);
    if (ctx->notifier.initialized) {
        event_notifier_cleanup(&ctx->notifier);
    }
    rfifolock_destroy(&ctx->lock);
    qemu_mutex_destroy(&ctx->bh_lock);
    qemu_mutex_destroy(&ctx->list_lock);
}

void aio_context_ref(AioContext *ctx)
{
    g_source_ref(&ctx->source);
}

void aio_context_unref(AioContext *ctx)
{
    g_source_unref(&ctx->source);
}

void aio_context_acquire(AioContext *ctx)
{
    rfifolock_lock(&ctx->lock);
}

void aio_context_release(AioContext *ctx)
{
    rfifolock_unlock(&ctx->lock);
}

ThreadPool *aio_get_thread_pool(AioContext *ctx)
{
    if (!ctx->thread_pool) {
        ctx->thread_pool = thread_pool_new(ctx);
    }
    return ctx->thread_pool;
}

/* ---- coroutines --------------------------------------------------------- */

static void co_schedule_bh_cb(void *opaque)
{
    AioContext *ctx = opaque;
    QSLIST_HEAD(, Coroutine) lifo, fifo = QSLIST_HEAD_INITIALIZER(fifo);
    Coroutine *co;

    QSLIST_MOVE_ATOMIC(&lifo, &ctx->scheduled_coroutines);
    while ((co = QSLIST_FIRST(&lifo))) {
        QSLIST_REMOVE_HEAD(&lifo, co_scheduled_next);
        QSLIST_INSERT_HEAD(&fifo, co, co_scheduled_next);
    }
    while ((co = QSLIST_FIRST(&fifo))) {
        QSLIST_REMOVE_HEAD(&fifo, co_scheduled_next);
        /* Release pairs with the cmpxchg in aio_co_schedule. */
        qatomic_store_release(&co->scheduled, NULL);
        qemu_aio_coroutine_enter(ctx, co);
    }
}

void aio_co_schedule(AioContext *ctx, Coroutine *co)
{
    const char *was = qatomic_cmpxchg(&co->scheduled, NULL, __func__);

    if (was) {
        fprintf(stderr, "%s: coroutine %p is already scheduled by '%s'\n",
                __func__, (void *)co, was);
        abort();
    }
    trace_aio_co_schedule(ctx, co);
    /* The coroutine may run, and drop the last reference to @ctx, before
     * qemu_bh_schedule returns: keep @ctx alive until then. */
    aio_context_ref(ctx);
    QSLIST_INSERT_HEAD_ATOMIC(&ctx->scheduled_coroutines, co,
                              co_scheduled_next);
    qemu_bh_schedule(ctx->co_schedule_bh);
    aio_context_unref(ctx);
}

typedef struct {
    Coroutine *co;
    AioContext *new_ctx;
} RescheduleData;

static void reschedule_bh(void *opaque)
{
    RescheduleData *data = opaque;

    aio_co_schedule(data->new_ctx, data->co);
}

void coroutine_fn aio_co_reschedule_self(AioContext *new_ctx)
{
    AioContext *old_ctx = qemu_get_current_aio_context();
    RescheduleData data = { qemu_coroutine_self(), new_ctx };

    if (old_ctx == new_ctx) {
        return;
    }
    /*
     * Scheduling ourselves in @new_ctx right away would let its thread
     * enter us before we have yielded here; a BH in the old context runs
     * only after the yield.
     */
    aio_bh_schedule_oneshot(old_ctx, reschedule_bh, &data);
    qemu_coroutine_yield();
}

void aio_co_wake(Coroutine *co)
{
    AioContext *ctx = qatomic_read(&co->ctx);

    assert(ctx != NULL);
    aio_co_enter(ctx, co);
}

void aio_co_enter(AioContext *ctx, Coroutine *co)
{
    if (ctx != qemu_get_current_aio_context()) {
        aio_co_schedule(ctx, co);
        return;
    }
    if (qemu_in_coroutine()) {
        Coroutine *self = qemu_coroutine_self();

        assert(self != co);
        QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, co, co_queue_next);
        return;
    }
    qemu_aio_coroutine_enter(ctx, co);
}

/* ---- AIOCB pool --------------------------------------------------------- */

/*
 * Per-thread free lists, one per 64-byte size class up to 1 KiB; larger
 * AIOCBs use malloc directly.  A released AIOCB goes to the releasing
 * thread's list (memory may migrate between threads; that is fine).
 * Each list keeps at most AIOCB_POOL_MAX entries; lists are freed when
 * the thread exits.
 */
#define AIOCB_CLASS_SHIFT 6
#define AIOCB_CLASSES 16
#define AIOCB_POOL_MAX 256

typedef struct AiocbFree {
    struct AiocbFree *next;
} AiocbFree;

typedef struct AiocbPool {
    AiocbFree *head[AIOCB_CLASSES];
    unsigned count[AIOCB_CLASSES];
} AiocbPool;

static void aiocb_pool_destroy(gpointer p);
static GPrivate aiocb_pool_key = G_PRIVATE_INIT(aiocb_pool_destroy);
static __thread AiocbPool *aiocb_pool;

static void aiocb_pool_destroy(gpointer p)
{
    AiocbPool *pool = p;

    for (int i = 0; i < AIOCB_CLASSES; i++) {
        while (pool->head[i]) {
            AiocbFree *f = pool->head[i];
            pool->head[i] = f->next;
            g_free(f);
        }
    }
    g_free(pool);
    aiocb_pool = NULL;
}

static AiocbPool *aiocb_pool_get(void)
{
    if (unlikely(!aiocb_pool)) {
        aiocb_pool = g_new0(AiocbPool, 1);
        g_private_set(&aiocb_pool_key, aiocb_pool);
    }
    return aiocb_pool;
}

/* Size class of @size, or -1 if too big to pool. */
static int aiocb_class(size_t size)
{
    size_t c = (size - 1) >> AIOCB_CLASS_SHIFT;

    return c < AIOCB_CLASSES ? (int)c : -1;
}

void *qemu_aio_get(const AIOCBInfo *aiocb_info, BlockDriverState *bs,
                   BlockDriverCompletionFunc *cb, void *opaque)
{
    size_t size = aiocb_info->aiocb_size;
    int c = aiocb_class(size);
    BlockDriverAIOCB *acb = NULL;

    assert(size >= sizeof(BlockDriverAIOCB));
    if (c >= 0) {
        AiocbPool *pool = aiocb_pool_get();
        if (pool->head[c]) {
            acb = (BlockDriverAIOCB *)pool->head[c];
            pool->head[c] = pool->head[c]->next;
            pool->count[c]--;
        } else {
            acb = g_malloc((size_t)(c + 1) << AIOCB_CLASS_SHIFT);
        }
    } else {
        acb = g_malloc(size);
    }
    acb->aiocb_info = aiocb_info;
    acb->bs = bs;
    acb->cb = cb;
    acb->opaque = opaque;
    acb->refcnt = 1;
    return acb;
}

void qemu_aio_release(void *p)
{
    BlockDriverAIOCB *acb = p;
    int c = aiocb_class(acb->aiocb_info->aiocb_size);
    AiocbPool *pool;

    if (c < 0) {
        g_free(acb);
        return;
    }
    pool = aiocb_pool_get();
    if (pool->count[c] >= AIOCB_POOL_MAX) {
        g_free(acb);
        return;
    }
    ((AiocbFree *)acb)->next = pool->head[c];
    pool->head[c] = (AiocbFree *)acb;
    pool->count[c]++;
}

void qemu_aio_ref(void *p)
{
    BlockDriverAIOCB *acb = p;

    assert(acb->refcnt > 0);
    acb->refcnt++;
}

void qemu_aio_unref(void *p)
{
    BlockDriverAIOCB *acb = p;

    assert(acb->refcnt > 0);
    if (--acb->refcnt == 0) {
        qemu_aio_release(acb);
    }
}
