/*
 * Coroutine internals shared by the coroutine core, the switch backends and
 * the event loop (which links coroutines into its scheduled lists).  Not for
 * users of the coroutine API.
 *
 * A backend embeds struct Coroutine as the first member of its own
 * structure (stack, saved registers, sanitizer state) and implements the
 * backend functions below, keeping the "current coroutine" and a
 * per-thread "leader" (the thread's own stack) in thread-local storage.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_COROUTINE_INT_H
#define QEMU_COROUTINE_INT_H

#include "qemu/osdep.h"
#include "qemu/queue.h"
#include "qemu/coroutine.h"

typedef enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
} CoroutineAction;

struct Coroutine {
    /*
     * Set by qemu_coroutine_create; read by the backend's trampoline.
     * @entry is NULL once the coroutine has terminated.
     */
    CoroutineEntry *entry;
    void *entry_arg;

    /*
     * Whoever entered us and gets control back when we yield; NULL while
     * we are not entered.  Only the thread running the coroutine touches it.
     */
    Coroutine *caller;

    /* Link in a coroutine pool (only while terminated). */
    QSLIST_ENTRY(Coroutine) pool_next;

    /* Number of CoMutexes held; must be 0 when the coroutine terminates. */
    size_t locks_held;

    /* The AioContext the coroutine was last entered in. */
    AioContext *ctx;

    /*
     * Atomic: non-NULL (the name of the function that queued it) while the
     * coroutine waits in a scheduled list or a timed sleep; entering it
     * meanwhile aborts naming this string.
     */
    const char *scheduled;

    /* Link in an AioContext's list of scheduled coroutines. */
    QSLIST_ENTRY(Coroutine) co_scheduled_next;

    /*
     * Link in one waiting list at a time: a CoQueue, a CoMutex's waiters,
     * or another coroutine's co_queue_wakeup.
     */
    QSIMPLEQ_ENTRY(Coroutine) co_queue_next;

    /*
     * Coroutines woken while this one ran; entered one after another once
     * this one yields or terminates (never nested inside it).
     */
    QSIMPLEQ_HEAD(, Coroutine) co_queue_wakeup;
};

/* ---- Backend (one coroutine-<backend>.c) -------------------------------- */

/*
 * Allocate a coroutine with a fresh stack, not yet started.  The core fills
 * @entry/@entry_arg before entering it.  Aborts when out of memory.
 */
Coroutine *qemu_coroutine_new(void);

/* Free @co and its stack.  @co must have terminated (or never started). */
void qemu_coroutine_delete(Coroutine *co);

/*
 * Save the running state into @from, make @to the current coroutine of the
 * calling thread, and resume @to, passing it @action.  Returns, in @from,
 * the action given by whoever switches back to @from.  @from must be the
 * current coroutine.  A terminated coroutine that is later recycled starts
 * its new @entry when next switched to.
 */
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                      CoroutineAction action);

/*
 * The coroutine running on this thread, owned by the backend: NULL until
 * qemu_coroutine_self() first runs on the thread and sets up its leader.
 * Exported only so the core's hot paths can read it without a call.
 * Never cache its address across a switch: the reader may resume on
 * another thread.
 */
extern __thread Coroutine *qemu_co_current
    __attribute__((tls_model("initial-exec")));

/*
 * Set up the calling thread's leader coroutine (the thread's own stack),
 * make it current and return it.  Called once per thread, by the core,
 * the first time qemu_co_current is found NULL.
 */
Coroutine *qemu_coroutine_leader_init(void);

/* qemu_coroutine_self(), inlined for the common case. */
static inline Coroutine *qemu_coroutine_current(void)
{
    Coroutine *self = qemu_co_current;

    return likely(self) ? self : qemu_coroutine_self();
}

/* ---- Core --------------------------------------------------------------- */

/*
 * Enter, one after another, the coroutines on @co's co_queue_wakeup list
 * (including ones added meanwhile), in the calling thread's current
 * AioContext.  Called by the core after @co yields or terminates.
 */
void qemu_co_queue_run_restart(Coroutine *co);

/* ---- Pool and stacks (coroutine-pool.c) --------------------------------- */

/* Default usable stack size of a coroutine: 1 MiB (plus a guard page). */
#define COROUTINE_STACK_SIZE (1u << 20)

/*
 * Map a stack of COROUTINE_STACK_SIZE bytes with an inaccessible guard page
 * below it.  Returns the lowest usable address and stores the usable size
 * in *@size.  Aborts when the mapping fails.
 */
void *qemu_coroutine_stack_alloc(size_t *size);

/* Unmap a stack returned by qemu_coroutine_stack_alloc. */
void qemu_coroutine_stack_free(void *stack, size_t size);

/*
 * Take a terminated coroutine from the calling thread's pool (refilled from
 * the global overflow pool when empty).  Returns NULL when none is kept.
 */
Coroutine *qemu_coroutine_pool_get(void);

/*
 * Give terminated @co back: kept in the calling thread's pool, moved in a
 * batch to the global pool, or deleted when both are full.
 */
void qemu_coroutine_pool_put(Coroutine *co);

#endif /* QEMU_COROUTINE_INT_H */
