/*
 * Coroutine synchronisation: CoQueue, CoMutex, CoRwlock.
 *
 * Waking: a coroutine woken from inside another coroutine of the same
 * AioContext is deferred into the waker's co_queue_wakeup list (entered
 * once the waker yields or ends, never nested inside it); every other
 * wake-up goes through aio_co_wake(), which resumes the waiter in its own
 * context, scheduling it there if that context belongs to another thread.
 *
 * CoMutex design.  @locked counts the holder plus every coroutine inside
 * lock() that has not got the mutex yet, so lock() and unlock() without
 * contention are one atomic add each.  When unlock() sees other lockers
 * counted, it hands the mutex over instead of freeing it: it pops the
 * oldest queued waiter and wakes it as the new owner.  A locker that has
 * counted itself but not yet queued (it is between its atomic add and the
 * queue lock) would be missed, so when the queue is empty unlock() leaves
 * a "hand-off" credit instead, which that locker claims under the queue
 * lock rather than queueing.  Because the count never drops to zero while
 * anyone waits, a newcomer cannot barge ahead of queued waiters: the
 * mutex is FIFO-fair.  The queue lock is a spin lock held for a few
 * instructions only (never across a yield).
 *
 * CoRwlock design.  A CoMutex guards a count of owners and a FIFO of
 * tickets, one per waiting request, living on the waiter's stack.  Whoever
 * releases the lock grants it to the head of the queue (one writer, or
 * every reader up to the next writer) and wakes them as owners, so woken
 * coroutines never retry.
 *
 * Not done: spinning before sleeping on a contended CoMutex.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <sched.h>
#include "qemu/coroutine_int.h"
#include "qemu/lockable.h"
#include "block/aio.h"

/* Resume @co (suspended, removed from every wait list) as described above. */
static void co_wake(Coroutine *co)
{
    Coroutine *self = qemu_coroutine_current();

    if (self->caller && qatomic_read(&co->ctx) == self->ctx) {
        QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, co, co_queue_next);
    } else {
        aio_co_wake(co);
    }
}

/* ---- CoQueue ------------------------------------------------------------ */

void qemu_co_queue_init(CoQueue *queue)
{
    QSIMPLEQ_INIT(&queue->entries);
}

void coroutine_fn qemu_co_queue_wait_impl(CoQueue *queue, QemuLockable *lock)
{
    Coroutine *self = qemu_coroutine_current();

    assert(self->caller);       /* in a coroutine */
    QSIMPLEQ_INSERT_TAIL(&queue->entries, self, co_queue_next);
    if (lock) {
        qemu_lockable_unlock(lock);
    }
    qemu_coroutine_yield();
    if (lock) {
        qemu_lockable_lock(lock);
    }
}

static Coroutine *queue_pop(CoQueue *queue)
{
    Coroutine *co = QSIMPLEQ_FIRST(&queue->entries);

    if (co) {
        QSIMPLEQ_REMOVE_HEAD(&queue->entries, co_queue_next);
    }
    return co;
}

bool qemu_co_queue_next(CoQueue *queue)
{
    Coroutine *co = queue_pop(queue);

    if (!co) {
        return false;
    }
    co_wake(co);
    return true;
}

void qemu_co_queue_restart_all(CoQueue *queue)
{
    while (qemu_co_queue_next(queue)) {
        /* wake them all */
    }
}

bool qemu_co_enter_next_impl(CoQueue *queue, QemuLockable *lock)
{
    Coroutine *co = queue_pop(queue);

    if (!co) {
        return false;
    }
    if (lock) {
        qemu_lockable_unlock(lock);
    }
    qemu_coroutine_enter(co);
    if (lock) {
        qemu_lockable_lock(lock);
    }
    return true;
}

bool qemu_co_queue_empty(CoQueue *queue)
{
    return QSIMPLEQ_FIRST(&queue->entries) == NULL;
}

/* ---- CoMutex ------------------------------------------------------------ */

static void queue_lock(CoMutex *mutex)
{
    unsigned spins = 0;

    while (qatomic_xchg(&mutex->queue_lock, 1)) {
        while (qatomic_read(&mutex->queue_lock)) {
            if (++spins % 1024 == 0) {
                sched_yield();      /* the holder may be preempted */
            }
        }
    }
}

static void queue_unlock(CoMutex *mutex)
{
    qatomic_store_release(&mutex->queue_lock, 0);
}

/* Zero-filled memory is a valid CoMutex: its queue starts lazily. */
static void waiters_push(CoMutex *mutex, Coroutine *co)
{
    if (!mutex->waiters.sqh_last) {
        QSIMPLEQ_INIT(&mutex->waiters);
    }
    QSIMPLEQ_INSERT_TAIL(&mutex->waiters, co, co_queue_next);
}

static Coroutine *waiters_pop(CoMutex *mutex)
{
    Coroutine *co = QSIMPLEQ_FIRST(&mutex->waiters);

    if (co) {
        QSIMPLEQ_REMOVE_HEAD(&mutex->waiters, co_queue_next);
    }
    return co;
}

void qemu_co_mutex_init(CoMutex *mutex)
{
    memset(mutex, 0, sizeof(*mutex));
    QSIMPLEQ_INIT(&mutex->waiters);
}

static void mutex_acquired(CoMutex *mutex, Coroutine *self)
{
    qatomic_set(&mutex->holder, self);
    self->locks_held++;
}

static QEMU_NOINLINE void coroutine_fn lock_slow(CoMutex *mutex,
                                                 Coroutine *self)
{
    queue_lock(mutex);
    if (mutex->handoff) {
        mutex->handoff--;
        queue_unlock(mutex);
        mutex_acquired(mutex, self);
        return;
    }
    waiters_push(mutex, self);
    queue_unlock(mutex);

    qemu_coroutine_yield();
    /* unlock() made us the owner before waking us. */
    mutex_acquired(mutex, self);
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_current();

    assert(self->caller);       /* in a coroutine */
    if (likely(qatomic_fetch_inc(&mutex->locked) == 0)) {
        mutex_acquired(mutex, self);
        return;
    }
    lock_slow(mutex, self);
}

static QEMU_NOINLINE void unlock_slow(CoMutex *mutex)
{
    Coroutine *next;

    queue_lock(mutex);
    next = waiters_pop(mutex);
    if (!next) {
        mutex->handoff++;   /* a counted locker has not queued yet */
    }
    queue_unlock(mutex);
    if (next) {
        co_wake(next);
    }
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_current();

    if (unlikely(qatomic_read(&mutex->holder) != self)) {
        fprintf(stderr, "qemu_co_mutex_unlock: CoMutex %p is not held by "
                "the calling coroutine\n", (void *)mutex);
        abort();
    }
    qatomic_set(&mutex->holder, NULL);
    self->locks_held--;
    if (likely(qatomic_fetch_dec(&mutex->locked) == 1)) {
        return;
    }
    unlock_slow(mutex);
}

void coroutine_fn qemu_co_mutex_assert_locked(CoMutex *mutex)
{
    assert(qatomic_read(&mutex->locked) &&
           qatomic_read(&mutex->holder) == qemu_coroutine_self());
}

/* ---- CoRwlock ----------------------------------------------------------- */

struct CoRwTicket {
    bool read;
    Coroutine *co;
    QSIMPLEQ_ENTRY(CoRwTicket) next;
};

void qemu_co_rwlock_init(CoRwlock *lock)
{
    qemu_co_mutex_init(&lock->mutex);
    lock->owners = 0;
    QSIMPLEQ_INIT(&lock->tickets);
}

/* Remove the head ticket and wake its coroutine; the ticket dies then. */
static void ticket_grant(CoRwlock *lock, CoRwTicket *ticket)
{
    Coroutine *co = ticket->co;

    QSIMPLEQ_REMOVE_HEAD(&lock->tickets, next);
    co_wake(co);
}

/* Under lock->mutex: give the lock to whoever waits first, if possible. */
static void grant_waiters(CoRwlock *lock)
{
    CoRwTicket *t = QSIMPLEQ_FIRST(&lock->tickets);

    if (t && !t->read) {
        if (lock->owners == 0) {
            lock->owners = -1;
            ticket_grant(lock, t);
        }
        return;
    }
    while (t && t->read && lock->owners >= 0) {
        lock->owners++;
        ticket_grant(lock, t);
        t = QSIMPLEQ_FIRST(&lock->tickets);
    }
}

/* Under lock->mutex: queue and sleep until granted; releases the mutex. */
static void coroutine_fn wait_for_grant(CoRwlock *lock, bool read)
{
    CoRwTicket ticket = { .read = read, .co = qemu_coroutine_self() };

    QSIMPLEQ_INSERT_TAIL(&lock->tickets, &ticket, next);
    qemu_co_mutex_unlock(&lock->mutex);
    qemu_coroutine_yield();
}

void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock)
{
    qemu_co_mutex_lock(&lock->mutex);
    if (lock->owners >= 0 && QSIMPLEQ_EMPTY(&lock->tickets)) {
        lock->owners++;
        qemu_co_mutex_unlock(&lock->mutex);
        return;
    }
    wait_for_grant(lock, true);
}

void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock)
{
    qemu_co_mutex_lock(&lock->mutex);
    if (lock->owners == 0 && QSIMPLEQ_EMPTY(&lock->tickets)) {
        lock->owners = -1;
        qemu_co_mutex_unlock(&lock->mutex);
        return;
    }
    wait_for_grant(lock, false);
}

void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock)
{
    qemu_co_mutex_lock(&lock->mutex);
    if (lock->owners == -1) {
        lock->owners = 0;
    } else {
        assert(lock->owners > 0);
        lock->owners--;
    }
    grant_waiters(lock);
    qemu_co_mutex_unlock(&lock->mutex);
}

void coroutine_fn qemu_co_rwlock_upgrade(CoRwlock *lock)
{
    qemu_co_mutex_lock(&lock->mutex);
    assert(lock->owners > 0);
    if (lock->owners == 1 && QSIMPLEQ_EMPTY(&lock->tickets)) {
        lock->owners = -1;
        qemu_co_mutex_unlock(&lock->mutex);
        return;
    }
    /*
     * Give up the read hold and queue as a writer.  A waiting head is a
     * writer (readers never wait while readers own), so it goes first.
     */
    lock->owners--;
    grant_waiters(lock);
    wait_for_grant(lock, false);
}

void coroutine_fn qemu_co_rwlock_downgrade(CoRwlock *lock)
{
    qemu_co_mutex_lock(&lock->mutex);
    assert(lock->owners == -1);
    lock->owners = 1;
    grant_waiters(lock);
    qemu_co_mutex_unlock(&lock->mutex);
}
