/*
 * Tests for qemu/thread.h and the lock guards of qemu/lockable.h.
 *
 * Blocking is never checked with a timeout: where a test needs another
 * thread to be asleep in a wait, it watches that thread's scheduler state
 * in /proc until it reads 'S', which can only make the test slower, never
 * wrong.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/lockable.h"
#include "qemu/atomic.h"
#include <signal.h>

/* Run @fn(@arg) in a new joinable thread and return what it returned. */
static void *run_in_thread(void *(*fn)(void *), void *arg)
{
    QemuThread t;

    qemu_thread_create(&t, "test-helper", fn, arg, QEMU_THREAD_JOINABLE);
    return qemu_thread_join(&t);
}

/* The scheduler state letter of thread @tid ('R', 'S', ...). */
static char thread_state(int tid)
{
    g_autofree char *path = g_strdup_printf("/proc/self/task/%d/stat", tid);
    g_autofree char *stat = NULL;
    const char *p;

    if (!g_file_get_contents(path, &stat, NULL, NULL)) {
        return '?';
    }
    p = strrchr(stat, ')');     /* the name may contain spaces */
    return p && p[1] == ' ' ? p[2] : '?';
}

/* Wait until thread @tid (whose id is published in *@tidp) sleeps. */
static void wait_until_sleeping(int *tidp)
{
    int tid;

    while ((tid = qatomic_load_acquire(tidp)) == 0) {
        g_usleep(1000);
    }
    while (thread_state(tid) != 'S') {
        g_usleep(1000);
    }
}

/* ---- QemuMutex / QemuRecMutex ------------------------------------------- */

static void *mutex_trylock_fn(void *opaque)
{
    QemuMutex *m = opaque;
    int ret = qemu_mutex_trylock(m);

    if (ret == 0) {
        qemu_mutex_unlock(m);
    }
    return GINT_TO_POINTER(ret);
}

static void test_mutex_trylock_busy(void)
{
    QemuMutex m;

    qemu_mutex_init(&m);
    qemu_mutex_lock(&m);
    g_assert_cmpint(GPOINTER_TO_INT(run_in_thread(mutex_trylock_fn, &m)),
                    ==, -EBUSY);
    qemu_mutex_unlock(&m);
    g_assert_cmpint(GPOINTER_TO_INT(run_in_thread(mutex_trylock_fn, &m)),
                    ==, 0);
    g_assert_cmpint(qemu_mutex_trylock(&m), ==, 0);
    qemu_mutex_unlock(&m);
    qemu_mutex_destroy(&m);
}

#define N_THREADS 4
#define N_INCREMENTS 20000

typedef struct Counter {
    QemuMutex lock;
    long value;         /* under lock */
} Counter;

static void *counter_fn(void *opaque)
{
    Counter *c = opaque;
    int i;

    for (i = 0; i < N_INCREMENTS; i++) {
        qemu_mutex_lock(&c->lock);
        c->value++;
        qemu_mutex_unlock(&c->lock);
    }
    return NULL;
}

static void test_mutex_exclusion(void)
{
    Counter c = { .value = 0 };
    QemuThread t[N_THREADS];
    int i;

    qemu_mutex_init(&c.lock);
    for (i = 0; i < N_THREADS; i++) {
        qemu_thread_create(&t[i], "counter", counter_fn, &c,
                           QEMU_THREAD_JOINABLE);
    }
    for (i = 0; i < N_THREADS; i++) {
        qemu_thread_join(&t[i]);
    }
    g_assert_cmpint(c.value, ==, N_THREADS * N_INCREMENTS);
    qemu_mutex_destroy(&c.lock);
}

static void *rec_trylock_fn(void *opaque)
{
    QemuRecMutex *m = opaque;
    int ret = qemu_rec_mutex_trylock(m);

    if (ret == 0) {
        qemu_rec_mutex_unlock(m);
    }
    return GINT_TO_POINTER(ret);
}

static int rec_trylock_elsewhere(QemuRecMutex *m)
{
    return GPOINTER_TO_INT(run_in_thread(rec_trylock_fn, m));
}

static void test_rec_mutex_recursion(void)
{
    QemuRecMutex m;

    qemu_rec_mutex_init(&m);
    qemu_rec_mutex_lock(&m);
    qemu_rec_mutex_lock(&m);
    g_assert_cmpint(qemu_rec_mutex_trylock(&m), ==, 0);  /* owner: ok */
    g_assert_cmpint(rec_trylock_elsewhere(&m), ==, -EBUSY);
    qemu_rec_mutex_unlock(&m);
    qemu_rec_mutex_unlock(&m);
    /* Still held once: release count must match. */
    g_assert_cmpint(rec_trylock_elsewhere(&m), ==, -EBUSY);
    qemu_rec_mutex_unlock(&m);
    g_assert_cmpint(rec_trylock_elsewhere(&m), ==, 0);
    qemu_rec_mutex_destroy(&m);
}

/* ---- QemuCond ----------------------------------------------------------- */

typedef struct CondState {
    QemuMutex lock;
    QemuCond cond;
    int ready;          /* under lock */
    int woken;          /* under lock */
    int waiting;        /* under lock: waiters that have checked ready */
} CondState;

static void cond_state_init(CondState *s)
{
    memset(s, 0, sizeof(*s));
    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->cond);
}

static void cond_state_destroy(CondState *s)
{
    qemu_cond_destroy(&s->cond);
    qemu_mutex_destroy(&s->lock);
}

static void *cond_waiter_fn(void *opaque)
{
    CondState *s = opaque;

    qemu_mutex_lock(&s->lock);
    s->waiting++;
    while (!s->ready) {
        qemu_cond_wait(&s->cond, &s->lock);
    }
    s->ready--;
    s->woken++;
    qemu_mutex_unlock(&s->lock);
    return NULL;
}

static void test_cond_signal(void)
{
    CondState s;
    QemuThread t;

    cond_state_init(&s);
    qemu_thread_create(&t, "cond-waiter", cond_waiter_fn, &s,
                       QEMU_THREAD_JOINABLE);
    qemu_mutex_lock(&s.lock);
    s.ready = 1;
    qemu_cond_signal(&s.cond);
    qemu_mutex_unlock(&s.lock);
    qemu_thread_join(&t);
    g_assert_cmpint(s.woken, ==, 1);
    cond_state_destroy(&s);
}

static void test_cond_broadcast(void)
{
    CondState s;
    QemuThread t[N_THREADS];
    int i;

    cond_state_init(&s);
    for (i = 0; i < N_THREADS; i++) {
        qemu_thread_create(&t[i], "cond-waiter", cond_waiter_fn, &s,
                           QEMU_THREAD_JOINABLE);
    }
    /* Wait until every waiter holds its place, then wake all at once. */
    qemu_mutex_lock(&s.lock);
    while (s.waiting < N_THREADS) {
        qemu_mutex_unlock(&s.lock);
        g_usleep(1000);
        qemu_mutex_lock(&s.lock);
    }
    s.ready = N_THREADS;
    qemu_cond_broadcast(&s.cond);
    qemu_mutex_unlock(&s.lock);
    for (i = 0; i < N_THREADS; i++) {
        qemu_thread_join(&t[i]);
    }
    g_assert_cmpint(s.woken, ==, N_THREADS);
    cond_state_destroy(&s);
}

static void test_cond_timedwait_timeout(void)
{
    CondState s;

    cond_state_init(&s);
    qemu_mutex_lock(&s.lock);
    /* Nobody signals: the wait must time out and return with the lock. */
    g_assert_false(qemu_cond_timedwait(&s.cond, &s.lock, 10));
    g_assert_cmpint(qemu_mutex_trylock(&s.lock), ==, -EBUSY);
    g_assert_false(qemu_cond_timedwait(&s.cond, &s.lock, 0));
    qemu_mutex_unlock(&s.lock);
    cond_state_destroy(&s);
}

/* Absolute deadlines: past ones time out at once, near ones expire. */
static void test_cond_timedwait_until_ns(void)
{
    CondState s;
    struct timespec now;
    int64_t now_ns;

    cond_state_init(&s);
    clock_gettime(CLOCK_MONOTONIC, &now);
    now_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
    qemu_mutex_lock(&s.lock);
    g_assert_false(qemu_cond_timedwait_until_ns(&s.cond, &s.lock, 0));
    g_assert_false(qemu_cond_timedwait_until_ns(&s.cond, &s.lock,
                                                now_ns - 1000));
    /* 200 us ahead, nobody signals: times out, lock held on return. */
    g_assert_false(qemu_cond_timedwait_until_ns(&s.cond, &s.lock,
                                                now_ns + 200000));
    g_assert_cmpint(qemu_mutex_trylock(&s.lock), ==, -EBUSY);
    qemu_mutex_unlock(&s.lock);
    cond_state_destroy(&s);
}

static void *cond_signaller_fn(void *opaque)
{
    CondState *s = opaque;

    qemu_mutex_lock(&s->lock);
    s->ready = 1;
    qemu_cond_signal(&s->cond);
    qemu_mutex_unlock(&s->lock);
    return NULL;
}

static void test_cond_timedwait_signalled(void)
{
    CondState s;
    QemuThread t;
    bool signalled = false;

    cond_state_init(&s);
    qemu_mutex_lock(&s.lock);
    qemu_thread_create(&t, "signaller", cond_signaller_fn, &s,
                       QEMU_THREAD_JOINABLE);
    /* The signaller needs the lock, so ready can only change in a wait. */
    while (!s.ready) {
        signalled = qemu_cond_timedwait(&s.cond, &s.lock, 60000);
    }
    g_assert_true(signalled);
    qemu_mutex_unlock(&s.lock);
    qemu_thread_join(&t);
    cond_state_destroy(&s);
}

/* ---- QemuSemaphore ------------------------------------------------------ */

static void test_sem_counts(void)
{
    QemuSemaphore sem;

    qemu_sem_init(&sem, 2);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, 0);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, 0);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, -1);
    qemu_sem_post(&sem);
    qemu_sem_post(&sem);
    qemu_sem_post(&sem);
    qemu_sem_wait(&sem);
    qemu_sem_wait(&sem);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 10), ==, 0);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 10), ==, -1);
    qemu_sem_destroy(&sem);
}

static void *sem_poster_fn(void *opaque)
{
    QemuSemaphore *sem = opaque;
    int i;

    for (i = 0; i < 100; i++) {
        qemu_sem_post(sem);
    }
    return NULL;
}

static void test_sem_cross_thread(void)
{
    QemuSemaphore sem;
    QemuThread t;
    int i;

    qemu_sem_init(&sem, 0);
    qemu_thread_create(&t, "sem-poster", sem_poster_fn, &sem,
                       QEMU_THREAD_JOINABLE);
    for (i = 0; i < 100; i++) {
        qemu_sem_wait(&sem);
    }
    qemu_thread_join(&t);
    /* Exactly 100 were posted and consumed. */
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, -1);
    qemu_sem_destroy(&sem);
}

/* ---- QemuEvent ---------------------------------------------------------- */

typedef struct EventWaiter {
    QemuEvent *ev;
    int tid;            /* atomic: published when the thread runs */
    bool done;          /* atomic */
} EventWaiter;

static void *event_waiter_fn(void *opaque)
{
    EventWaiter *w = opaque;

    qatomic_store_release(&w->tid, qemu_get_thread_id());
    qemu_event_wait(w->ev);
    qatomic_store_release(&w->done, true);
    return NULL;
}

static void test_event_initially_set(void)
{
    QemuEvent ev;

    qemu_event_init(&ev, true);
    qemu_event_wait(&ev);           /* returns at once */
    qemu_event_set(&ev);            /* setting twice is harmless */
    qemu_event_wait(&ev);
    qemu_event_destroy(&ev);
}

static void test_event_set_wakes_all(void)
{
    QemuEvent ev;
    EventWaiter w[N_THREADS];
    QemuThread t[N_THREADS];
    int i;

    qemu_event_init(&ev, false);
    for (i = 0; i < N_THREADS; i++) {
        w[i] = (EventWaiter) { .ev = &ev };
        qemu_thread_create(&t[i], "ev-waiter", event_waiter_fn, &w[i],
                           QEMU_THREAD_JOINABLE);
    }
    for (i = 0; i < N_THREADS; i++) {
        wait_until_sleeping(&w[i].tid);
        g_assert_false(qatomic_load_acquire(&w[i].done));
    }
    qemu_event_set(&ev);
    for (i = 0; i < N_THREADS; i++) {
        qemu_thread_join(&t[i]);
        g_assert_true(w[i].done);
    }
    qemu_event_destroy(&ev);
}

static void test_event_reset_blocks_again(void)
{
    QemuEvent ev;
    EventWaiter w = { .ev = &ev };
    QemuThread t;

    qemu_event_init(&ev, true);
    qemu_event_reset(&ev);
    qemu_thread_create(&t, "ev-waiter", event_waiter_fn, &w,
                       QEMU_THREAD_JOINABLE);
    wait_until_sleeping(&w.tid);
    g_assert_false(qatomic_load_acquire(&w.done));
    qemu_event_set(&ev);
    qemu_thread_join(&t);
    g_assert_true(w.done);
    qemu_event_destroy(&ev);
}

/*
 * Ping-pong over two events with the documented "reset; check; wait"
 * pattern.  A lost wakeup (a set that misses a concurrent reset) would
 * leave both threads waiting forever, so the test would hang, not pass.
 */
#define PINGPONGS 10000

typedef struct PingPong {
    QemuEvent to_pong, to_ping;
    int ping;           /* atomic: last round the pinger started */
    int pong;           /* atomic: last round the ponger answered */
} PingPong;

/* Wait until *@counter reaches @round, following the documented pattern. */
static void event_await(QemuEvent *ev, int *counter, int round)
{
    for (;;) {
        qemu_event_reset(ev);
        if (qatomic_read(counter) >= round) {
            return;
        }
        qemu_event_wait(ev);
    }
}

static void *ponger_fn(void *opaque)
{
    PingPong *pp = opaque;
    int i;

    for (i = 1; i <= PINGPONGS; i++) {
        event_await(&pp->to_pong, &pp->ping, i);
        qatomic_set(&pp->pong, i);
        qemu_event_set(&pp->to_ping);
    }
    return NULL;
}

static void test_event_no_lost_wakeup(void)
{
    PingPong pp = { .ping = 0, .pong = 0 };
    QemuThread t;
    int i;

    qemu_event_init(&pp.to_pong, false);
    qemu_event_init(&pp.to_ping, false);
    qemu_thread_create(&t, "ponger", ponger_fn, &pp, QEMU_THREAD_JOINABLE);
    for (i = 1; i <= PINGPONGS; i++) {
        qatomic_set(&pp.ping, i);
        qemu_event_set(&pp.to_pong);
        event_await(&pp.to_ping, &pp.pong, i);
    }
    qemu_thread_join(&t);
    g_assert_cmpint(qatomic_read(&pp.pong), ==, PINGPONGS);
    qemu_event_destroy(&pp.to_pong);
    qemu_event_destroy(&pp.to_ping);
}

/* ---- QemuThread --------------------------------------------------------- */

static void *read_own_comm_fn(void *opaque)
{
    g_autofree char *path = g_strdup_printf("/proc/self/task/%d/comm",
                                            qemu_get_thread_id());
    char *comm = NULL;

    g_assert_true(g_file_get_contents(path, &comm, NULL, NULL));
    g_strchomp(comm);
    return comm;
}

static char *comm_of_thread_named(const char *name)
{
    QemuThread t;

    qemu_thread_create(&t, name, read_own_comm_fn, NULL,
                       QEMU_THREAD_JOINABLE);
    return qemu_thread_join(&t);
}

static void test_thread_name(void)
{
    g_autofree char *shortname = comm_of_thread_named("worker-7");
    g_autofree char *longname =
        comm_of_thread_named("a-very-long-thread-name-indeed");

    g_assert_cmpstr(shortname, ==, "worker-7");
    /* The kernel keeps 15 bytes; the start of the name survives. */
    g_assert_cmpstr(longname, ==, "a-very-long-thr");
}

static void *return_arg_fn(void *opaque)
{
    return opaque;
}

static void *exit_with_arg_fn(void *opaque)
{
    qemu_thread_exit(opaque);
}

static void test_thread_join_value(void)
{
    int token;

    g_assert_true(run_in_thread(return_arg_fn, &token) == &token);
    g_assert_true(run_in_thread(exit_with_arg_fn, &token) == &token);
}

static void *is_self_fn(void *opaque)
{
    QemuThread *main_thread = opaque;
    QemuThread me;

    qemu_thread_get_self(&me);
    g_assert_true(qemu_thread_is_self(&me));
    g_assert_false(qemu_thread_is_self(main_thread));
    return GINT_TO_POINTER(qemu_get_thread_id());
}

static void test_thread_self_and_id(void)
{
    QemuThread main_thread;
    int other_tid;

    qemu_thread_get_self(&main_thread);
    g_assert_true(qemu_thread_is_self(&main_thread));
    other_tid = GPOINTER_TO_INT(run_in_thread(is_self_fn, &main_thread));
    g_assert_cmpint(other_tid, >, 0);
    g_assert_cmpint(other_tid, !=, qemu_get_thread_id());
    /* The main thread's id is the process id. */
    g_assert_cmpint(qemu_get_thread_id(), ==, getpid());
}

static void *signal_mask_fn(void *opaque)
{
    sigset_t mask;

    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    return GINT_TO_POINTER(sigismember(&mask, SIGINT) &&
                           sigismember(&mask, SIGTERM) &&
                           sigismember(&mask, SIGUSR1));
}

static void test_thread_signals_blocked(void)
{
    sigset_t mask;

    g_assert_true(GPOINTER_TO_INT(run_in_thread(signal_mask_fn, NULL)));
    /* The creating thread's own mask is left as it was. */
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    g_assert_false(sigismember(&mask, SIGUSR1));
}

static void *detached_fn(void *opaque)
{
    qemu_sem_post(opaque);
    return NULL;
}

static void test_thread_detached(void)
{
    QemuSemaphore sem;
    QemuThread t;

    qemu_sem_init(&sem, 0);
    qemu_thread_create(&t, "detached", detached_fn, &sem,
                       QEMU_THREAD_DETACHED);
    qemu_sem_wait(&sem);
    qemu_sem_destroy(&sem);
}

/* ---- lock guards -------------------------------------------------------- */

/* True if @m is held (by anyone, including the caller). */
static bool mutex_is_held(QemuMutex *m)
{
    if (qemu_mutex_trylock(m) == -EBUSY) {
        return true;
    }
    qemu_mutex_unlock(m);
    return false;
}

static int guard_early_return(QemuMutex *m, bool early)
{
    QEMU_LOCK_GUARD(m);

    g_assert_true(mutex_is_held(m));
    if (early) {
        return 1;
    }
    return 2;
}

static void test_guard_scope_exit(void)
{
    QemuMutex m;

    qemu_mutex_init(&m);
    g_assert_cmpint(guard_early_return(&m, true), ==, 1);
    g_assert_false(mutex_is_held(&m));
    g_assert_cmpint(guard_early_return(&m, false), ==, 2);
    g_assert_false(mutex_is_held(&m));
    {
        QEMU_LOCK_GUARD(&m);
        g_assert_true(mutex_is_held(&m));
    }
    g_assert_false(mutex_is_held(&m));
    qemu_mutex_destroy(&m);
}

static void test_with_guard_block(void)
{
    QemuMutex m;
    int runs = 0;

    qemu_mutex_init(&m);
    WITH_QEMU_LOCK_GUARD(&m) {
        g_assert_true(mutex_is_held(&m));
        runs++;
    }
    g_assert_cmpint(runs, ==, 1);
    g_assert_false(mutex_is_held(&m));
    qemu_mutex_destroy(&m);
}

static void test_with_guard_break(void)
{
    QemuMutex m;
    int i;

    qemu_mutex_init(&m);
    for (i = 0; i < 10; i++) {
        WITH_QEMU_LOCK_GUARD(&m) {
            if (i == 3) {
                break;      /* leaves only the guard's own loop */
            }
        }
        g_assert_false(mutex_is_held(&m));
    }
    g_assert_cmpint(i, ==, 10);

    /* continue, like break, ends the guarded block and unlocks */
    for (i = 0; i < 10; i++) {
        WITH_QEMU_LOCK_GUARD(&m) {
            continue;
        }
    }
    g_assert_false(mutex_is_held(&m));
    qemu_mutex_destroy(&m);
}

static int with_guard_return(QemuMutex *m)
{
    WITH_QEMU_LOCK_GUARD(m) {
        return 42;
    }
    return 0;
}

static void test_with_guard_return(void)
{
    QemuMutex m;

    qemu_mutex_init(&m);
    g_assert_cmpint(with_guard_return(&m), ==, 42);
    g_assert_false(mutex_is_held(&m));
    qemu_mutex_destroy(&m);
}

static void test_guard_rec_mutex(void)
{
    QemuRecMutex m;

    qemu_rec_mutex_init(&m);
    {
        QEMU_LOCK_GUARD(&m);
        WITH_QEMU_LOCK_GUARD(&m) {
            g_assert_cmpint(rec_trylock_elsewhere(&m), ==, -EBUSY);
        }
        g_assert_cmpint(rec_trylock_elsewhere(&m), ==, -EBUSY);
    }
    g_assert_cmpint(rec_trylock_elsewhere(&m), ==, 0);
    qemu_rec_mutex_destroy(&m);
}

static void test_guard_two_in_one_scope(void)
{
    QemuMutex a, b;

    qemu_mutex_init(&a);
    qemu_mutex_init(&b);
    {
        QEMU_LOCK_GUARD(&a);
        QEMU_LOCK_GUARD(&b);
        g_assert_true(mutex_is_held(&a) && mutex_is_held(&b));
    }
    g_assert_false(mutex_is_held(&a) || mutex_is_held(&b));
    qemu_mutex_destroy(&a);
    qemu_mutex_destroy(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/thread/mutex/trylock-busy", test_mutex_trylock_busy);
    g_test_add_func("/thread/mutex/exclusion", test_mutex_exclusion);
    g_test_add_func("/thread/rec-mutex/recursion", test_rec_mutex_recursion);
    g_test_add_func("/thread/cond/signal", test_cond_signal);
    g_test_add_func("/thread/cond/broadcast", test_cond_broadcast);
    g_test_add_func("/thread/cond/timedwait-timeout",
                    test_cond_timedwait_timeout);
    g_test_add_func("/thread/cond/timedwait-until-ns",
                    test_cond_timedwait_until_ns);
    g_test_add_func("/thread/cond/timedwait-signalled",
                    test_cond_timedwait_signalled);
    g_test_add_func("/thread/sem/counts", test_sem_counts);
    g_test_add_func("/thread/sem/cross-thread", test_sem_cross_thread);
    g_test_add_func("/thread/event/initially-set", test_event_initially_set);
    g_test_add_func("/thread/event/set-wakes-all", test_event_set_wakes_all);
    g_test_add_func("/thread/event/reset-blocks-again",
                    test_event_reset_blocks_again);
    g_test_add_func("/thread/event/no-lost-wakeup",
                    test_event_no_lost_wakeup);
    g_test_add_func("/thread/create/name", test_thread_name);
    g_test_add_func("/thread/create/join-value", test_thread_join_value);
    g_test_add_func("/thread/create/self-and-id", test_thread_self_and_id);
    g_test_add_func("/thread/create/signals-blocked",
                    test_thread_signals_blocked);
    g_test_add_func("/thread/create/detached", test_thread_detached);
    g_test_add_func("/thread/guard/scope-exit", test_guard_scope_exit);
    g_test_add_func("/thread/guard/with-block", test_with_guard_block);
    g_test_add_func("/thread/guard/with-break", test_with_guard_break);
    g_test_add_func("/thread/guard/with-return", test_with_guard_return);
    g_test_add_func("/thread/guard/rec-mutex", test_guard_rec_mutex);
    g_test_add_func("/thread/guard/two-in-one-scope",
                    test_guard_two_in_one_scope);
    return g_test_run();
}
