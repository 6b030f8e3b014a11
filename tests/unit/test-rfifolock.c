/*
 * Tests for qemu/rfifolock.h: recursion, FIFO fairness, the contention
 * callback and mutual exclusion.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/rfifolock.h"

static void test_recursive(void)
{
    RFifoLock r;

    rfifolock_init(&r, NULL, NULL);
    g_assert_false(rfifolock_held_by_self(&r));
    rfifolock_lock(&r);
    rfifolock_lock(&r);
    g_assert_true(rfifolock_held_by_self(&r));
    rfifolock_unlock(&r);
    g_assert_true(rfifolock_held_by_self(&r));
    rfifolock_unlock(&r);
    g_assert_false(rfifolock_held_by_self(&r));
    rfifolock_destroy(&r);
}

/* ---- FIFO order --------------------------------------------------------- */

#define NWAITERS 6

typedef struct {
    RFifoLock lock;
    QemuSemaphore ticket_drawn;  /* posted by the contention callback */
    int order[NWAITERS];
    int next;                    /* protected by lock */
} FifoTest;

typedef struct {
    FifoTest *t;
    int id;
} Waiter;

static void fifo_contended(void *opaque)
{
    FifoTest *t = opaque;

    qemu_sem_post(&t->ticket_drawn);
}

static void *fifo_waiter(void *opaque)
{
    Waiter *w = opaque;

    rfifolock_lock(&w->t->lock);
    w->t->order[w->t->next++] = w->id;
    rfifolock_unlock(&w->t->lock);
    return NULL;
}

static void test_fifo_order(void)
{
    FifoTest t = { .next = 0 };
    QemuThread threads[NWAITERS];
    Waiter waiters[NWAITERS];

    rfifolock_init(&t.lock, fifo_contended, &t);
    qemu_sem_init(&t.ticket_drawn, 0);
    rfifolock_lock(&t.lock);
    /* Start each waiter only after the previous one drew its ticket. */
    for (int i = 0; i < NWAITERS; i++) {
        waiters[i] = (Waiter) { &t, i };
        qemu_thread_create(&threads[i], "waiter", fifo_waiter, &waiters[i],
                           QEMU_THREAD_JOINABLE);
        qemu_sem_wait(&t.ticket_drawn);
    }
    rfifolock_unlock(&t.lock);
    for (int i = 0; i < NWAITERS; i++) {
        qemu_thread_join(&threads[i]);
    }
    for (int i = 0; i < NWAITERS; i++) {
        g_assert_cmpint(t.order[i], ==, i);
    }
    rfifolock_destroy(&t.lock);
    qemu_sem_destroy(&t.ticket_drawn);
}

/* ---- contention callback ------------------------------------------------ */

static int contended_calls;

static void count_contended(void *opaque)
{
    qatomic_inc(&contended_calls);
}

static void *lock_once(void *opaque)
{
    RFifoLock *r = opaque;

    rfifolock_lock(r);
    rfifolock_unlock(r);
    return NULL;
}

static void test_contention_callback(void)
{
    RFifoLock r;
    QemuThread thread;

    contended_calls = 0;
    rfifolock_init(&r, count_contended, NULL);
    /* Free lock, and recursion by the owner: no contention. */
    rfifolock_lock(&r);
    rfifolock_lock(&r);
    rfifolock_unlock(&r);
    g_assert_cmpint(qatomic_read(&contended_calls), ==, 0);

    qemu_thread_create(&thread, "contender", lock_once, &r,
                       QEMU_THREAD_JOINABLE);
    while (qatomic_read(&contended_calls) == 0) {
        g_usleep(100);
    }
    rfifolock_unlock(&r);
    qemu_thread_join(&thread);
    g_assert_cmpint(qatomic_read(&contended_calls), >=, 1);
    rfifolock_destroy(&r);
}

/* ---- mutual exclusion --------------------------------------------------- */

#define NCOUNTERS 4
#define NINCREMENTS 20000

typedef struct {
    RFifoLock lock;
    long counter;   /* protected by lock, deliberately not atomic */
} Shared;

static void *increment_many(void *opaque)
{
    Shared *s = opaque;

    for (int i = 0; i < NINCREMENTS; i++) {
        rfifolock_lock(&s->lock);
        rfifolock_lock(&s->lock);     /* nested inside: still exclusive */
        s->counter++;
        rfifolock_unlock(&s->lock);
        rfifolock_unlock(&s->lock);
    }
    return NULL;
}

static void test_mutual_exclusion(void)
{
    Shared s = { .counter = 0 };
    QemuThread threads[NCOUNTERS];

    rfifolock_init(&s.lock, NULL, NULL);
    for (int i = 0; i < NCOUNTERS; i++) {
        qemu_thread_create(&threads[i], "inc", increment_many, &s,
                           QEMU_THREAD_JOINABLE);
    }
    for (int i = 0; i < NCOUNTERS; i++) {
        qemu_thread_join(&threads[i]);
    }
    g_assert_cmpint(s.counter, ==, (long)NCOUNTERS * NINCREMENTS);
    rfifolock_destroy(&s.lock);
}

/* ---- misuse ------------------------------------------------------------- */

static void test_unlock_not_owner_aborts(void)
{
    if (g_test_subprocess()) {
        RFifoLock r;

        rfifolock_init(&r, NULL, NULL);
        rfifolock_unlock(&r);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*not held by caller*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rfifolock/recursive", test_recursive);
    g_test_add_func("/rfifolock/fifo-order", test_fifo_order);
    g_test_add_func("/rfifolock/contention-callback",
                    test_contention_callback);
    g_test_add_func("/rfifolock/mutual-exclusion", test_mutual_exclusion);
    g_test_add_func("/rfifolock/unlock-not-owner-aborts",
                    test_unlock_not_owner_aborts);
    return g_test_run();
}
