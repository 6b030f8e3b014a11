/*
 * Coroutine core: create, enter, yield, terminate.
 *
 * Everything here is backend-neutral; the stack switch itself is
 * qemu_coroutine_switch() in one coroutine-<backend>.c, and recycling is
 * coroutine-pool.c.  The fast path (pool hit, enter, yield or terminate)
 * performs no system call, takes no lock and allocates nothing.
 *
 * Key invariants:
 *   - co->caller != NULL exactly while @co is entered (running, or
 *     suspended inside a nested enter); yield clears it before switching,
 *     and termination clears it when control is back in the enter.
 *   - co->entry == NULL once @co has terminated and until it is recycled.
 *   - coroutines woken while @co ran (co->co_queue_wakeup) are entered by
 *     the enter call that ran @co, one after another in a loop, so wake-ups
 *     never nest more than one level deep.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "trace.h"
#include "qemu/coroutine_int.h"
#include "block/aio.h"

typedef QSIMPLEQ_HEAD(CoWakeList, Coroutine) CoWakeList;

Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque)
{
    Coroutine *co = qemu_coroutine_pool_get();

    if (unlikely(!co)) {
        co = qemu_coroutine_new();
    }
    co->entry = entry;
    co->entry_arg = opaque;
    co->ctx = NULL;
    return co;
}

static QEMU_NORETURN void enter_abort(Coroutine *co, const char *why)
{
    fprintf(stderr, "coroutine %p: cannot enter: %s\n", (void *)co, why);
    abort();
}

/* The cold checks of qemu_aio_coroutine_enter, out of the hot path. */
static QEMU_NOINLINE QEMU_NORETURN void enter_refused(Coroutine *co)
{
    const char *scheduled = qatomic_read(&co->scheduled);
    g_autofree char *msg = NULL;

    if (scheduled) {
        msg = g_strdup_printf("it is already scheduled (scheduled by %s)",
                              scheduled);
        enter_abort(co, msg);
    }
    if (co->caller) {
        enter_abort(co, "it is already running (re-entered recursively)");
    }
    enter_abort(co, "it has terminated");
}

static inline bool enterable(Coroutine *co)
{
    return likely(!co->caller && co->entry && !qatomic_read(&co->scheduled));
}

/* @co has returned from its entry function: recycle it. */
static void terminated(Coroutine *co)
{
    if (co->locks_held) {
        fprintf(stderr, "coroutine %p: terminated holding %zu CoMutex(es)\n",
                (void *)co, co->locks_held);
        abort();
    }
    co->caller = NULL;
    co->entry = NULL;
    qemu_coroutine_pool_put(co);
}

/*
 * Run @to until it yields or terminates; returns how it stopped.  Any
 * coroutine it woke meanwhile stays on to->co_queue_wakeup.
 */
static inline CoroutineAction run(Coroutine *self, AioContext *ctx,
                                  Coroutine *to)
{
    if (!enterable(to)) {
        enter_refused(to);
    }
    to->caller = self;
    trace_qemu_co_enter(self, to);
    /* Read by wakers in other threads (aio_co_wake) once we are queued. */
    qatomic_set(&to->ctx, ctx);
    smp_wmb();
    return qemu_coroutine_switch(self, to, COROUTINE_ENTER);
}

/* After @to stopped: queue its wake-ups on @pending, recycle it if done. */
static void stopped(Coroutine *to, CoroutineAction ret, CoWakeList *pending)
{
    QSIMPLEQ_CONCAT(pending, &to->co_queue_wakeup);
    if (ret == COROUTINE_TERMINATE) {
        trace_qemu_co_terminate(to);
        terminated(to);
    } else {
        assert(ret == COROUTINE_YIELD);
    }
}

/* The uncommon tail of an enter: termination and the wake-up loop. */
static QEMU_NOINLINE void enter_finish(Coroutine *self, AioContext *ctx,
                                       Coroutine *co, CoroutineAction ret)
{
    CoWakeList pending = QSIMPLEQ_HEAD_INITIALIZER(pending);
    Coroutine *next;

    stopped(co, ret, &pending);
    while ((next = QSIMPLEQ_FIRST(&pending))) {
        QSIMPLEQ_REMOVE_HEAD(&pending, co_queue_next);
        stopped(next, run(self, ctx, next), &pending);
    }
}

void qemu_aio_coroutine_enter(AioContext *ctx, Coroutine *co)
{
    Coroutine *self = qemu_coroutine_current();
    CoroutineAction ret = run(self, ctx, co);

    if (likely(ret == COROUTINE_YIELD &&
               QSIMPLEQ_EMPTY(&co->co_queue_wakeup))) {
        return;
    }
    enter_finish(self, ctx, co, ret);
}

void qemu_coroutine_enter(Coroutine *co)
{
    qemu_aio_coroutine_enter(qemu_get_current_aio_context(), co);
}

void qemu_coroutine_enter_if_inactive(Coroutine *co)
{
    if (!qemu_coroutine_entered(co)) {
        qemu_coroutine_enter(co);
    }
}

void coroutine_fn qemu_coroutine_yield(void)
{
    Coroutine *self = qemu_coroutine_current();
    Coroutine *to = self->caller;

    if (unlikely(!to)) {
        fprintf(stderr, "qemu_coroutine_yield: called outside a coroutine\n");
        abort();
    }
    self->caller = NULL;
    trace_qemu_co_yield(self, to);
    qemu_coroutine_switch(self, to, COROUTINE_YIELD);
}

bool qemu_coroutine_entered(Coroutine *co)
{
    return co->caller != NULL;
}

AioContext *qemu_coroutine_get_aio_context(Coroutine *co)
{
    return co->ctx;
}

void qemu_co_queue_run_restart(Coroutine *co)
{
    Coroutine *next;

    while ((next = QSIMPLEQ_FIRST(&co->co_queue_wakeup))) {
        QSIMPLEQ_REMOVE_HEAD(&co->co_queue_wakeup, co_queue_next);
        qemu_coroutine_enter(next);
    }
}

Coroutine *qemu_coroutine_self(void)
{
    Coroutine *self = qemu_co_current;

    if (unlikely(!self)) {
        self = qemu_coroutine_leader_init();
    }
    return self;
}

bool qemu_in_coroutine(void)
{
    Coroutine *self = qemu_co_current;

    /* The leader is the only coroutine that is current without a caller. */
    return self && self->caller;
}
