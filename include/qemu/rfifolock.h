/*
 * RFifoLock: a recursive lock that hands itself out in arrival order.
 *
 * Every thread that wants the lock draws a ticket; tickets are served
 * strictly in the order they were drawn, so no thread can be overtaken
 * forever (a plain mutex gives no such promise).  The thread that holds
 * the lock may take it again without a ticket; it must unlock as many
 * times as it locked.
 *
 * An optional contention callback is called, with the internal mutex
 * released, each time a thread finds the lock held by another thread and
 * is about to sleep.  AioContext uses it to aio_notify() the holder, so
 * that a holder blocked in aio_poll() wakes up and gets a chance to
 * release the lock.
 *
 * Not for use inside coroutines that may yield while holding it: the
 * owner is a thread, not a coroutine.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_RFIFOLOCK_H
#define QEMU_RFIFOLOCK_H

#include "qemu/osdep.h"
#include "qemu/thread.h"

/* Called (without any lock held) when a thread must wait for the lock. */
typedef void RFifoLockContentionFunc(void *opaque);

/*
 * All fields are private.  head, tail, nesting and owner are protected by
 * @mutex; cb and cb_opaque are fixed by rfifolock_init.
 */
typedef struct RFifoLock {
    QemuMutex mutex;
    QemuCond cond;
    unsigned head;      /* ticket currently being served */
    unsigned tail;      /* next ticket to hand out */
    unsigned nesting;   /* recursion depth of the owner; 0 = free */
    QemuThread owner;   /* valid while nesting > 0 */
    RFifoLockContentionFunc *cb;
    void *cb_opaque;
} RFifoLock;

/*
 * Initialise @r, unlocked.  @cb (may be NULL) is the contention callback,
 * called with @opaque.  Any thread.
 */
void rfifolock_init(RFifoLock *r, RFifoLockContentionFunc *cb, void *opaque);

/* Free @r's resources.  @r must be unlocked and have no waiters. */
void rfifolock_destroy(RFifoLock *r);

/*
 * Take @r.  If the calling thread already holds it, only the nesting
 * count grows.  Otherwise the caller draws a ticket and sleeps (calling
 * the contention callback first) until every earlier ticket has been
 * served and released.  Any thread; never from a coroutine that could
 * yield before unlocking.
 */
void rfifolock_lock(RFifoLock *r);

/*
 * Undo one rfifolock_lock.  Only the owning thread may call it; the last
 * unlock passes the lock to the next ticket holder.
 */
void rfifolock_unlock(RFifoLock *r);

/* True if the calling thread currently holds @r.  Any thread. */
bool rfifolock_held_by_self(RFifoLock *r);

#endif /* QEMU_RFIFOLOCK_H */
