/*
 * Coroutines: cooperative threads of control with their own stack.
 *
 * A coroutine runs until it yields or returns; it never runs in parallel
 * with the code that entered it, so it needs no locks against its caller.
 * All block-layer I/O runs in coroutines: a request is written as ordinary
 * sequential code that yields where it would block, and the event loop
 * re-enters it when the awaited event happens.
 *
 * Execution context, in the vocabulary of the whole project:
 *   - coroutine_fn functions may only be called from inside a coroutine;
 *   - a coroutine belongs to no thread: it runs on whichever thread enters
 *     it, and may be created on one thread and entered on another, but it
 *     is only ever running on one thread at a time;
 *   - CoMutex, CoQueue and CoRwlock are the coroutine equivalents of
 *     QemuMutex/QemuCond/rwlock: waiting suspends the coroutine rather than
 *     blocking the thread, so the event loop keeps running.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H

#include "qemu/osdep.h"
#include "qemu/queue.h"
#include "qemu/timer.h"

/* ---- Core --------------------------------------------------------------- */

/*
 * The function a coroutine runs.  When it returns, the coroutine has
 * terminated: control goes back to whoever entered it last, and the
 * Coroutine object is recycled (it must not be used again).
 */
typedef void coroutine_fn CoroutineEntry(void *opaque);

/*
 * Create a coroutine that will run @entry(@opaque) when first entered.
 * Nothing runs yet.  Takes a recycled coroutine (and stack) from the calling
 * thread's pool when one is available, so creation is cheap.  Never fails:
 * running out of memory for a new stack aborts.
 * Any thread, in or out of a coroutine.
 */
Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);

/*
 * Switch to @co in AioContext @ctx (recorded as @co's context, see
 * qemu_coroutine_get_aio_context) and return when it next yields or
 * terminates.  The caller becomes @co's caller: @co's next yield comes back
 * here.  May be called from outside any coroutine or from inside one
 * (nesting).  After @co stops, coroutines that @co woke while it ran (its
 * wake-up list) are entered in turn, one at a time, before this returns.
 *
 * Aborts with a message when @co is already running or suspended in a
 * nested enter (re-entry), when it has terminated, or when it sits in a
 * scheduled list (its `scheduled` field names the scheduler).
 * @ctx must be the context the calling thread runs.
 */
void qemu_aio_coroutine_enter(AioContext *ctx, Coroutine *co);

/*
 * As qemu_aio_coroutine_enter() in the calling thread's current AioContext
 * (qemu_get_current_aio_context()).
 */
void qemu_coroutine_enter(Coroutine *co);

/*
 * Enter @co only when it is not already running or suspended in a nested
 * enter (see qemu_coroutine_entered); otherwise do nothing.  Useful for
 * wake-up paths that may race with the coroutine still being active.
 */
void qemu_coroutine_enter_if_inactive(Coroutine *co);

/*
 * Suspend the calling coroutine and resume its caller (the code that
 * entered it).  Returns when some code enters the coroutine again, possibly
 * on another thread.  Coroutine only.
 */
void coroutine_fn qemu_coroutine_yield(void);

/*
 * The coroutine currently running on this thread.  Outside any coroutine it
 * returns the thread's "leader", a Coroutine object that stands for the
 * thread's own stack (never NULL).  Any thread.
 */
Coroutine *qemu_coroutine_self(void);

/* True when called from inside a coroutine (not from a thread's stack). */
bool qemu_in_coroutine(void);

/*
 * True while @co is running or has entered another coroutine that has not
 * yet come back: that is, between being entered and yielding/terminating.
 * A coroutine that is suspended in qemu_coroutine_yield() or never entered
 * returns false.
 */
bool qemu_coroutine_entered(Coroutine *co);

/*
 * The AioContext @co was last entered in (NULL before its first entry).
 * Wake-ups should go there, e.g. with aio_co_wake().
 */
AioContext *qemu_coroutine_get_aio_context(Coroutine *co);

/*
 * Let the coroutine pool keep @additional_pool_size more (or, for dec,
 * fewer) terminated coroutines for reuse.  Each thread keeps up to 64 of
 * its own; this adjusts the shared overflow pool behind them (1024 by
 * default, never below 0), which lets coroutines that terminate in one
 * thread be reused by another.  Useful when many requests are in flight.
 * Any thread.
 */
void qemu_coroutine_inc_pool_size(unsigned int additional_pool_size);
void qemu_coroutine_dec_pool_size(unsigned int removing_pool_size);

/* ---- QemuLockable plumbing -------------------------------------------------
 *
 * qemu/lockable.h includes this header, so this header includes lockable.h
 * only at its very end (after CoMutex is declared).  The wrappers below
 * need the complete QemuLockable only where they are expanded.
 */
typedef struct QemuLockable QemuLockable;

/* ---- CoMutex ---------------------------------------------------------------
 *
 * A mutex for coroutines.  Contended lock() suspends the coroutine.  It is
 * fair: unlock() hands ownership straight to the longest waiter, so a
 * newcomer never overtakes a queued coroutine.  Holders and waiters may run
 * in different AioContexts (threads); a waiter is resumed in its own
 * context.  Uncontended lock and unlock are one atomic operation each.
 *
 * Zero-filled memory is a valid unlocked CoMutex.
 */
typedef struct CoMutex {
    /* Atomic: the holder plus every coroutine in lock() waiting for it. */
    unsigned locked;
    /* Spin lock (atomic) guarding @handoff and @waiters. */
    int queue_lock;
    /* Unlocks that found no queued waiter yet (see the .c file). */
    unsigned handoff;
    /* Atomic: the owning coroutine, for checks; NULL when free. */
    Coroutine *holder;
    /* FIFO of suspended waiters by co_queue_next; set up on first use. */
    QSIMPLEQ_HEAD(, Coroutine) waiters;
} CoMutex;

/* Initialise @mutex as unlocked.  Not while anyone uses it. */
void qemu_co_mutex_init(CoMutex *mutex);

/*
 * Take @mutex, suspending the calling coroutine until it is available.
 * Not recursive: taking a mutex the coroutine already holds deadlocks.
 * Coroutine only.
 */
void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);

/*
 * Release @mutex, which the calling coroutine must hold; the longest waiter
 * (if any) becomes the owner and is woken in its own AioContext.
 * Coroutine only.
 */
void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);

/* Abort unless the calling coroutine holds @mutex.  Coroutine only. */
void coroutine_fn qemu_co_mutex_assert_locked(CoMutex *mutex);

/* ---- CoQueue ---------------------------------------------------------------
 *
 * A queue of suspended coroutines, the coroutine analogue of a condition
 * variable.  The queue itself has no lock: it is protected by the lock the
 * callers pass to qemu_co_queue_wait() (or, with NULL, by all its users
 * running in one AioContext).
 */
typedef struct CoQueue {
    QSIMPLEQ_HEAD(, Coroutine) entries;
} CoQueue;

/* Initialise @queue as empty.  Zero-filled memory is NOT a valid CoQueue. */
void qemu_co_queue_init(CoQueue *queue);

/*
 * Add the calling coroutine to the tail of @queue, release @lock, suspend,
 * and take @lock again once woken.  @lock is NULL, a QemuMutex *, a
 * QemuRecMutex *, a CoMutex * or a QemuLockable *; the macro converts it.
 * Wake-ups are not spurious: the coroutine resumes only when a next /
 * restart_all / enter_next call picked it.  Coroutine only.
 */
void coroutine_fn qemu_co_queue_wait_impl(CoQueue *queue, QemuLockable *lock);
#define qemu_co_queue_wait(queue, lock) \
    qemu_co_queue_wait_impl((queue), QEMU_CO_LOCKABLE_(lock))

/*
 * Wake the coroutine at the head of @queue.  From inside a coroutine in the
 * same AioContext the woken one is entered after the caller yields or
 * terminates; otherwise it is resumed in its own context (aio_co_wake).
 * Returns true when a coroutine was woken, false if @queue was empty.
 * The caller holds the lock that protects @queue.
 */
bool qemu_co_queue_next(CoQueue *queue);

/* Wake every coroutine in @queue, as qemu_co_queue_next does for one. */
void qemu_co_queue_restart_all(CoQueue *queue);

/*
 * Remove the head of @queue and enter it right now (qemu_coroutine_enter),
 * with @lock (same conversions as qemu_co_queue_wait; may be NULL) released
 * around the entry.  Returns true when a coroutine was entered.  Meant for
 * callers outside coroutines, e.g. completion callbacks.
 */
bool qemu_co_enter_next_impl(CoQueue *queue, QemuLockable *lock);
#define qemu_co_enter_next(queue, lock) \
    qemu_co_enter_next_impl((queue), QEMU_CO_LOCKABLE_(lock))

/* True when no coroutine waits in @queue.  Caller holds the queue's lock. */
bool qemu_co_queue_empty(CoQueue *queue);

/* ---- CoRwlock --------------------------------------------------------------
 *
 * A readers-writer lock for coroutines.  Fair: requests are granted in
 * arrival order, so once a writer waits no new reader gets in ahead of it,
 * and a batch of readers that queued behind a writer enters together when
 * the writer leaves.
 */
typedef struct CoRwTicket CoRwTicket;

typedef struct CoRwlock {
    CoMutex mutex;      /* guards the fields below; never held across yield */
    int owners;         /* > 0: that many readers; -1: a writer; 0: free */
    QSIMPLEQ_HEAD(, CoRwTicket) tickets;    /* waiting requests, FIFO */
} CoRwlock;

/* Initialise @lock as free. */
void qemu_co_rwlock_init(CoRwlock *lock);

/*
 * Take @lock shared.  Suspends while a writer holds it or any request
 * waits ahead.  Coroutine only.
 */
void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock);

/* Take @lock exclusively, suspending until it is free.  Coroutine only. */
void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock);

/*
 * Release @lock (shared or exclusive, whichever the caller holds) and grant
 * it to the waiters at the head of the queue.  Coroutine only.
 */
void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock);

/*
 * The caller holds @lock shared; turn that into exclusive ownership.
 * Immediate when the caller is the only reader and nobody waits; otherwise
 * the read hold is given up and the caller queues as a writer (so data read
 * before the upgrade may have changed).  Coroutine only.
 */
void coroutine_fn qemu_co_rwlock_upgrade(CoRwlock *lock);

/*
 * The caller holds @lock exclusively; turn that into a shared hold without
 * letting a writer in between.  Queued readers at the head come in too.
 * Coroutine only.
 */
void coroutine_fn qemu_co_rwlock_downgrade(CoRwlock *lock);

/* ---- Sleeping ------------------------------------------------------------*/

/*
 * A sleep that another party may cut short.  @to_wake is the sleeping
 * coroutine, or NULL when nobody sleeps on it.  Zero-initialise it.
 */
typedef struct QemuCoSleep {
    Coroutine *to_wake;
} QemuCoSleep;

/*
 * Suspend the calling coroutine for @ns nanoseconds of clock @type, or until
 * qemu_co_sleep_wake(@w), whichever comes first.  The timer runs in the
 * current AioContext, so that context's event loop must be running.  While
 * asleep the coroutine counts as scheduled: entering it by any other means
 * aborts.  Coroutine only.
 */
void coroutine_fn qemu_co_sleep_ns_wakeable(QemuCoSleep *w,
                                            QEMUClockType type, int64_t ns);

/* As qemu_co_sleep_ns_wakeable() with nobody able to wake it early. */
void coroutine_fn qemu_co_sleep_ns(QEMUClockType type, int64_t ns);

/*
 * Wake the coroutine sleeping on @w now (in its own AioContext).  Does
 * nothing when nobody sleeps on @w.  Call from the thread running the
 * sleeper's AioContext (as the timer does), in or out of a coroutine.
 */
void qemu_co_sleep_wake(QemuCoSleep *w);

/* ---- Lockable conversion used by the wait/enter_next macros ----------------
 *
 * Turns NULL into a NULL QemuLockable *, passes a QemuLockable * through and
 * wraps anything QEMU_MAKE_LOCKABLE accepts in a temporary that lives until
 * the end of the caller's enclosing block.  The inner _Generic keeps the
 * unselected branch well-typed when @x is NULL or already a QemuLockable *.
 */
#define QEMU_CO_LOCKABLE_(x)                                               \
    _Generic((x),                                                          \
        void *: (QemuLockable *)NULL,                                      \
        QemuLockable *: (x),                                               \
        default: (QemuLockable[1]) { QEMU_MAKE_LOCKABLE(                   \
            _Generic((x),                                                  \
                void *: (QemuMutex *)NULL,                                 \
                QemuLockable *: (QemuMutex *)NULL,                         \
                default: (x))) })

#include "qemu/lockable.h"

#endif /* QEMU_COROUTINE_H */
