/*
 * Waiting, from the main thread, for a condition that another thread's
 * AioContext makes true.
 *
 * AIO_WAIT_WHILE(ctx, cond) evaluates @cond and, while it holds, runs an
 * event loop so that the work that will falsify it can progress:
 *  - in @ctx's home thread it simply runs
 *    aio_poll(ctx, true);
 *  - elsewhere (the main thread waiting on an IOThread's context) it polls
 *    the main context, and relies on whoever changes @cond in the other
 *    thread to call aio_wait_kick() afterwards, which wakes the main loop.
 * AIO_WAIT_WHILE expects the caller to hold @ctx (aio_context_acquire) and
 * releases it while waiting in the main context, so the home thread can
 * take it; AIO_WAIT_WHILE_UNLOCKED is for callers that do not hold it.
 * @ctx may be NULL: wait in the main context.  Both evaluate to true if
 * they had to wait at all.  Not for coroutines (use CoQueue there).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_AIO_WAIT_H
#define QEMU_AIO_WAIT_H

#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"

/* Shared waiter count; only aio-wait.c and the macros below touch it. */
typedef struct AioWait {
    /* Threads inside AIO_WAIT_WHILE now (atomic). */
    unsigned num_waiters;
} AioWait;

extern AioWait global_aio_wait;

#define AIO_WAIT_WHILE_INTERNAL(ctx, cond, unlock) ({                     \
    bool waited_ = false;                                               \
    AioWait *wait_ = &global_aio_wait;                                  \
    AioContext *ctx_ = (ctx);                                           \
    /* Count ourselves before the first look at cond; see aio-wait.c. */ \
    qatomic_inc(&wait_->num_waiters);                                   \
    if (ctx_ && in_aio_context_home_thread(ctx_)) {                     \
        while ((cond)) {                                                \
            aio_poll(ctx_, true);                                       \
            waited_ = true;                                             \
        }                                                               \
    } else {                                                            \
        assert(qemu_in_main_thread());                                  \
        if (ctx_ && (unlock)) {                                         \
            aio_context_release(ctx_);                                  \
        }                                                               \
        while ((cond)) {                                                \
            aio_poll(qemu_get_aio_context(), true);                     \
            waited_ = true;                                             \
        }                                                               \
        if (ctx_ && (unlock)) {                                         \
            aio_context_acquire(ctx_);                                  \
        }                                                               \
    }                                                                   \
    qatomic_dec(&wait_->num_waiters);                                   \
    waited_; })

/* Wait while @cond; the caller holds @ctx (released while waiting). */
#define AIO_WAIT_WHILE(ctx, cond) \
    AIO_WAIT_WHILE_INTERNAL(ctx, cond, true)

/* Wait while @cond; the caller does not hold @ctx. */
#define AIO_WAIT_WHILE_UNLOCKED(ctx, cond) \
    AIO_WAIT_WHILE_INTERNAL(ctx, cond, false)

/*
 * aio_wait_kick: wake the main thread if it is in AIO_WAIT_WHILE so that
 * it re-evaluates its condition.  Call it after changing state that such
 * a condition reads.  Any thread; cheap (one atomic read) when nobody
 * waits.
 */
void aio_wait_kick(void);

/*
 * Run @cb(@opaque) in @ctx's home thread and wait, from the main thread,
 * until it has returned.  The caller must not hold @ctx.
 */
void aio_wait_bh_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque);

#endif /* QEMU_AIO_WAIT_H */
