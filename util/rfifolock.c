/*
 * RFifoLock: recursive, FIFO-fair lock built on a mutex, a condition
 * variable and two ticket counters.
 *
 * Design: rfifolock_lock draws ticket `tail++` and sleeps until `head`
 * reaches it; the final unlock of the owner advances `head` and wakes all
 * sleepers, of which exactly one finds its ticket served.  The owner's
 * nested locks draw no ticket.  Not a reader/writer lock and not
 * coroutine-aware.
 *
 * Invariant (under r->mutex): nesting > 0 iff some thread owns the lock,
 * and then head is the owner's ticket; tail - head is the number of
 * threads owning or waiting.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/rfifolock.h"

void rfifolock_init(RFifoLock *r, RFifoLockContentionFunc *cb, void *opaque)
{
    qemu_mutex_init(&r->mutex);
    qemu_cond_init(&r->cond);
    r->head = 0;
    r->tail = 0;
    r->nesting = 0;
    r->cb = cb;
    r->cb_opaque = opaque;
}

void rfifolock_destroy(RFifoLock *r)
{
    assert(r->nesting == 0 && r->head == r->tail);
    qemu_cond_destroy(&r->cond);
    qemu_mutex_destroy(&r->mutex);
}

static bool owned_by_self(RFifoLock *r)
{
    return r->nesting > 0 && qemu_thread_is_self(&r->owner);
}

/*
 * Sleep until @ticket is served.  The contention callback runs without
 * the mutex, so it may take other locks; the ticket is re-checked after
 * it because the owner may have released meanwhile.
 */
static void wait_for_ticket(RFifoLock *r, unsigned ticket)
{
    while (ticket != r->head) {
        if (r->cb) {
            qemu_mutex_unlock(&r->mutex);
            r->cb(r->cb_opaque);
            qemu_mutex_lock(&r->mutex);
            if (ticket == r->head) {
                break;
            }
        }
        qemu_cond_wait(&r->cond, &r->mutex);
    }
}

void rfifolock_lock(RFifoLock *r)
{
    qemu_mutex_lock(&r->mutex);
    if (owned_by_self(r)) {
        r->nesting++;
    } else {
        wait_for_ticket(r, r->tail++);
        r->nesting = 1;
        qemu_thread_get_self(&r->owner);
    }
    qemu_mutex_unlock(&r->mutex);
}

void rfifolock_unlock(RFifoLock *r)
{
    qemu_mutex_lock(&r->mutex);
    if (!owned_by_self(r)) {
        fprintf(stderr, "rfifolock_unlock: lock %p not held by caller\n",
                (void *)r);
        abort();
    }
    if (--r->nesting == 0) {
        r->head++;
        qemu_cond_broadcast(&r->cond);
    }
    qemu_mutex_unlock(&r->mutex);
}

bool rfifolock_held_by_self(RFifoLock *r)
{
    bool held;

    qemu_mutex_lock(&r->mutex);
    held = owned_by_self(r);
    qemu_mutex_unlock(&r->mutex);
    return held;
}
