/*
 * Tests for the coroutine locks and sleeps of qemu/coroutine.h: CoMutex,
 * CoQueue, CoRwlock, qemu_co_sleep_ns.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"
#include "qemu/lockable.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

/* Let the main context's loop run other work, then come back. */
static void coroutine_fn reschedule_self(void)
{
    aio_co_schedule(qemu_get_current_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
}

/* Poll the main context until *@flag becomes true. */
static void poll_until(bool *flag)
{
    while (!qatomic_read(flag)) {
        aio_poll(qemu_get_aio_context(), true);
    }
}

/* A coroutine that takes @mutex, logs its tag, yields, unlocks. */
typedef struct Locker {
    CoMutex *mutex;
    int tag;
    GString *log;
} Locker;

static void coroutine_fn lock_log_yield_unlock(void *opaque)
{
    Locker *l = opaque;

    qemu_co_mutex_lock(l->mutex);
    g_string_append_printf(l->log, "%d ", l->tag);
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(l->mutex);
}

static void coroutine_fn lock_log_unlock(void *opaque)
{
    Locker *l = opaque;

    qemu_co_mutex_lock(l->mutex);
    qemu_co_mutex_assert_locked(l->mutex);
    g_string_append_printf(l->log, "%d ", l->tag);
    qemu_co_mutex_unlock(l->mutex);
}

/* ---- CoMutex, one thread ------------------------------------------------ */

static void test_mutex_fifo(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoMutex mutex;
    Locker holder = { &mutex, 0, log };
    Locker waiters[5];
    Coroutine *co_holder;

    qemu_co_mutex_init(&mutex);
    co_holder = qemu_coroutine_create(lock_log_yield_unlock, &holder);
    qemu_coroutine_enter(co_holder);            /* holds the mutex */
    for (int i = 0; i < 5; i++) {
        waiters[i] = (Locker) { &mutex, i + 1, log };
        qemu_coroutine_enter(qemu_coroutine_create(lock_log_unlock,
                                                   &waiters[i]));
    }
    g_assert_cmpstr(log->str, ==, "0 ");        /* all five blocked */

    qemu_coroutine_enter(co_holder);            /* unlock: hand-offs */
    g_assert_cmpstr(log->str, ==, "0 1 2 3 4 5 ");
    g_assert_cmpuint(mutex.locked, ==, 0);
}

static void test_mutex_zero_init(void)
{
    g_autoptr(GString) log = g_string_new("");
    g_autofree CoMutex *mutex = g_new0(CoMutex, 1);    /* no init call */
    Locker a = { mutex, 1, log }, b = { mutex, 2, log };
    Coroutine *co_a = qemu_coroutine_create(lock_log_yield_unlock, &a);

    qemu_coroutine_enter(co_a);
    qemu_coroutine_enter(qemu_coroutine_create(lock_log_unlock, &b));
    qemu_coroutine_enter(co_a);
    g_assert_cmpstr(log->str, ==, "1 2 ");
}

enum { EXCL_COROUTINES = 8, EXCL_ROUNDS = 50 };

typedef struct Excl {
    CoMutex mutex;
    int inside;             /* coroutines in the critical section */
    int max_inside;
    int total;
    int running;
    bool done;
} Excl;

static void coroutine_fn excl_entry(void *opaque)
{
    Excl *e = opaque;

    for (int i = 0; i < EXCL_ROUNDS; i++) {
        qemu_co_mutex_lock(&e->mutex);
        e->inside++;
        e->max_inside = MAX(e->max_inside, e->inside);
        reschedule_self();                  /* others run meanwhile */
        e->total++;
        e->inside--;
        qemu_co_mutex_unlock(&e->mutex);
        if (i % 3 == 0) {
            reschedule_self();
        }
    }
    if (--e->running == 0) {
        e->done = true;
    }
}

static void test_mutex_exclusion(void)
{
    Excl e = { .running = EXCL_COROUTINES };

    qemu_co_mutex_init(&e.mutex);
    for (int i = 0; i < EXCL_COROUTINES; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(excl_entry, &e));
    }
    poll_until(&e.done);
    g_assert_cmpint(e.max_inside, ==, 1);
    g_assert_cmpint(e.total, ==, EXCL_COROUTINES * EXCL_ROUNDS);
}

static void coroutine_fn guard_entry(void *opaque)
{
    Locker *l = opaque;

    WITH_QEMU_LOCK_GUARD(l->mutex) {
        qemu_co_mutex_assert_locked(l->mutex);
        g_string_append_printf(l->log, "%d ", l->tag);
    }
    g_assert_cmpuint(qemu_coroutine_self()->locks_held, ==, 0);
}

static void test_mutex_lock_guard(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoMutex mutex;
    Locker l = { &mutex, 7, log };

    qemu_co_mutex_init(&mutex);
    qemu_coroutine_enter(qemu_coroutine_create(guard_entry, &l));
    g_assert_cmpstr(log->str, ==, "7 ");
    g_assert_cmpuint(mutex.locked, ==, 0);
}

static void coroutine_fn assert_unlocked_entry(void *opaque)
{
    qemu_co_mutex_assert_locked(opaque);
}

static void test_mutex_assert_locked_aborts(void)
{
    if (g_test_subprocess()) {
        CoMutex mutex;

        qemu_co_mutex_init(&mutex);
        qemu_coroutine_enter(qemu_coroutine_create(assert_unlocked_entry,
                                                   &mutex));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
}

static void coroutine_fn unlock_entry(void *opaque)
{
    qemu_co_mutex_unlock(opaque);
}

static void test_mutex_unlock_unheld_aborts(void)
{
    if (g_test_subprocess()) {
        CoMutex mutex;

        qemu_co_mutex_init(&mutex);
        qemu_coroutine_enter(qemu_coroutine_create(unlock_entry, &mutex));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*not held by the calling coroutine*");
}

static void coroutine_fn lock_and_return(void *opaque)
{
    qemu_co_mutex_lock(opaque);
}

static void test_mutex_terminate_holding_aborts(void)
{
    if (g_test_subprocess()) {
        CoMutex mutex;

        qemu_co_mutex_init(&mutex);
        qemu_coroutine_enter(qemu_coroutine_create(lock_and_return, &mutex));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*terminated holding 1 CoMutex*");
}

/* ---- CoMutex across threads --------------------------------------------- */

/* A thread running its own AioContext until told to stop. */
typedef struct LoopThread {
    QemuThread thread;
    AioContext *ctx;
    bool stop;
} LoopThread;

static void *loop_thread_fn(void *opaque)
{
    LoopThread *t = opaque;

    qemu_set_current_aio_context(t->ctx);
    while (!qatomic_read(&t->stop)) {
        aio_poll(t->ctx, true);
    }
    qemu_set_current_aio_context(NULL);
    return NULL;
}

static void loop_thread_start(LoopThread *t, const char *name)
{
    t->ctx = aio_context_new();
    t->stop = false;
    qemu_thread_create(&t->thread, name, loop_thread_fn, t,
                       QEMU_THREAD_JOINABLE);
}

static void stop_bh(void *opaque)
{
    qatomic_set(&((LoopThread *)opaque)->stop, true);
}

static void loop_thread_stop(LoopThread *t)
{
    aio_bh_schedule_oneshot(t->ctx, stop_bh, t);
    qemu_thread_join(&t->thread);
    aio_context_unref(t->ctx);
}

enum { MT_PER_THREAD = 4, MT_ROUNDS = 300 };

typedef struct MtShared {
    CoMutex mutex;
    int inside;             /* plain ints: the mutex must order them */
    int max_inside;
    long total;
    int threads_seen_mask;
    int running;            /* atomic */
    QemuEvent all_done;
} MtShared;

typedef struct MtWorker {
    MtShared *s;
    int thread_bit;
} MtWorker;

static void coroutine_fn mt_entry(void *opaque)
{
    MtWorker *w = opaque;
    MtShared *s = w->s;

    for (int i = 0; i < MT_ROUNDS; i++) {
        qemu_co_mutex_lock(&s->mutex);
        qemu_co_mutex_assert_locked(&s->mutex);
        s->inside++;
        s->max_inside = MAX(s->max_inside, s->inside);
        s->threads_seen_mask |= w->thread_bit;
        if (i % 8 == 0) {
            reschedule_self();      /* hold the mutex across a yield */
        }
        s->total++;
        s->inside--;
        qemu_co_mutex_unlock(&s->mutex);
        if (i % 5 == 0) {
            reschedule_self();
        }
    }
    if (qatomic_dec_fetch(&s->running) == 0) {
        qemu_event_set(&s->all_done);
    }
}

static void test_mutex_mt(void)
{
    LoopThread threads[2];
    MtWorker workers[2] = { { NULL, 1 }, { NULL, 2 } };
    g_autofree MtShared *s = g_new0(MtShared, 1);

    qemu_co_mutex_init(&s->mutex);
    qemu_event_init(&s->all_done, false);
    s->running = 2 * MT_PER_THREAD;
    loop_thread_start(&threads[0], "co-lock-a");
    loop_thread_start(&threads[1], "co-lock-b");
    for (int t = 0; t < 2; t++) {
        workers[t].s = s;
        for (int i = 0; i < MT_PER_THREAD; i++) {
            aio_co_schedule(threads[t].ctx,
                            qemu_coroutine_create(mt_entry, &workers[t]));
        }
    }
    qemu_event_wait(&s->all_done);
    loop_thread_stop(&threads[0]);
    loop_thread_stop(&threads[1]);

    g_assert_cmpint(s->max_inside, ==, 1);
    g_assert_cmpint(s->total, ==, 2 * MT_PER_THREAD * MT_ROUNDS);
    g_assert_cmpint(s->threads_seen_mask, ==, 3);
    qemu_event_destroy(&s->all_done);
}

/* ---- CoQueue ------------------------------------------------------------ */

typedef struct Waiter {
    CoQueue *queue;
    int tag;
    GString *log;
    QemuMutex *qmutex;
    CoMutex *comutex;
} Waiter;

static void coroutine_fn wait_null(void *opaque)
{
    Waiter *w = opaque;

    qemu_co_queue_wait(w->queue, NULL);
    g_string_append_printf(w->log, "w%d ", w->tag);
}

static void test_queue_next(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoQueue queue;
    Waiter w = { &queue, 1, log };

    qemu_co_queue_init(&queue);
    g_assert_true(qemu_co_queue_empty(&queue));
    g_assert_false(qemu_co_queue_next(&queue));     /* nobody to wake */

    qemu_coroutine_enter(qemu_coroutine_create(wait_null, &w));
    g_assert_false(qemu_co_queue_empty(&queue));
    g_assert_cmpstr(log->str, ==, "");

    g_assert_true(qemu_co_queue_next(&queue));      /* runs it now */
    g_assert_cmpstr(log->str, ==, "w1 ");
    g_assert_true(qemu_co_queue_empty(&queue));
}

static void test_queue_restart_all(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoQueue queue;
    Waiter w[3];

    qemu_co_queue_init(&queue);
    for (int i = 0; i < 3; i++) {
        w[i] = (Waiter) { &queue, i + 1, log };
        qemu_coroutine_enter(qemu_coroutine_create(wait_null, &w[i]));
    }
    qemu_co_queue_restart_all(&queue);
    g_assert_cmpstr(log->str, ==, "w1 w2 w3 ");
    g_assert_true(qemu_co_queue_empty(&queue));
    qemu_co_queue_restart_all(&queue);              /* empty: no-op */
}

static void coroutine_fn wait_qmutex(void *opaque)
{
    Waiter *w = opaque;

    qemu_mutex_lock(w->qmutex);
    qemu_co_queue_wait(w->queue, w->qmutex);
    /* Woken with the lock taken again. */
    g_assert_cmpint(qemu_mutex_trylock(w->qmutex), ==, -EBUSY);
    g_string_append_printf(w->log, "w%d ", w->tag);
    qemu_mutex_unlock(w->qmutex);
}

static void test_queue_enter_next(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoQueue queue;
    QemuMutex qmutex;
    Waiter w = { &queue, 1, log, &qmutex };

    qemu_mutex_init(&qmutex);
    qemu_co_queue_init(&queue);
    qemu_coroutine_enter(qemu_coroutine_create(wait_qmutex, &w));
    g_assert_cmpint(qemu_mutex_trylock(&qmutex), ==, 0);  /* released */

    /* Released around the entry, so the waiter can take it. */
    g_assert_true(qemu_co_enter_next(&queue, &qmutex));
    g_assert_cmpstr(log->str, ==, "w1 ");
    g_assert_cmpint(qemu_mutex_trylock(&qmutex), ==, -EBUSY);  /* ours */
    g_assert_false(qemu_co_enter_next(&queue, &qmutex));
    qemu_mutex_unlock(&qmutex);

    qemu_coroutine_enter(qemu_coroutine_create(wait_null, &w));
    g_assert_true(qemu_co_enter_next(&queue, NULL));
    g_assert_cmpstr(log->str, ==, "w1 w1 ");
    qemu_mutex_destroy(&qmutex);
}

static void coroutine_fn wait_comutex(void *opaque)
{
    Waiter *w = opaque;

    qemu_co_mutex_lock(w->comutex);
    qemu_co_queue_wait(w->queue, w->comutex);
    qemu_co_mutex_assert_locked(w->comutex);
    g_string_append_printf(w->log, "w%d ", w->tag);
    qemu_co_mutex_unlock(w->comutex);
}

static void coroutine_fn lock_and_signal(void *opaque)
{
    Waiter *w = opaque;

    qemu_co_mutex_lock(w->comutex);     /* free while the waiter waits */
    g_string_append(w->log, "signal ");
    qemu_co_queue_next(w->queue);
    qemu_co_mutex_unlock(w->comutex);
    g_string_append(w->log, "signaller-done ");
}

static void test_queue_wait_comutex(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoQueue queue;
    CoMutex comutex;
    Waiter w = { &queue, 1, log, NULL, &comutex };

    qemu_co_queue_init(&queue);
    qemu_co_mutex_init(&comutex);
    qemu_coroutine_enter(qemu_coroutine_create(wait_comutex, &w));
    qemu_coroutine_enter(qemu_coroutine_create(lock_and_signal, &w));
    /* Woken from a coroutine: entered after the signaller, not inside. */
    g_assert_cmpstr(log->str, ==, "signal signaller-done w1 ");
    g_assert_cmpuint(comutex.locked, ==, 0);
}

static void coroutine_fn wait_lockable(void *opaque)
{
    Waiter *w = opaque;
    QemuLockable lockable = QEMU_MAKE_LOCKABLE(w->comutex);

    qemu_co_mutex_lock(w->comutex);
    qemu_co_queue_wait(w->queue, &lockable);    /* a QemuLockable * */
    qemu_co_mutex_assert_locked(w->comutex);
    g_string_append_printf(w->log, "w%d ", w->tag);
    qemu_co_mutex_unlock(w->comutex);
}

static void test_queue_wait_lockable(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoQueue queue;
    CoMutex comutex;
    Waiter w = { &queue, 1, log, NULL, &comutex };

    qemu_co_queue_init(&queue);
    qemu_co_mutex_init(&comutex);
    qemu_coroutine_enter(qemu_coroutine_create(wait_lockable, &w));
    g_assert_cmpuint(comutex.locked, ==, 0);    /* released while waiting */
    qemu_coroutine_enter(qemu_coroutine_create(lock_and_signal, &w));
    g_assert_cmpstr(log->str, ==, "signal signaller-done w1 ");
    g_assert_cmpuint(comutex.locked, ==, 0);
}

/* ---- CoRwlock ----------------------------------------------------------- */

typedef enum { RD, WR, UPGRADE, DOWNGRADE } RwOp;

typedef struct RwStep {
    CoRwlock *lock;
    RwOp op;
    const char *name;
    GString *log;
} RwStep;

/* Take the lock as told, log, yield; on re-entry unlock and log again. */
static void coroutine_fn rw_entry(void *opaque)
{
    RwStep *s = opaque;

    if (s->op == RD || s->op == UPGRADE || s->op == DOWNGRADE) {
        s->op == DOWNGRADE ? qemu_co_rwlock_wrlock(s->lock)
                           : qemu_co_rwlock_rdlock(s->lock);
    } else {
        qemu_co_rwlock_wrlock(s->lock);
    }
    g_string_append_printf(s->log, "+%s ", s->name);
    qemu_coroutine_yield();
    if (s->op == UPGRADE) {
        qemu_co_rwlock_upgrade(s->lock);
        g_string_append_printf(s->log, "^%s ", s->name);
        qemu_coroutine_yield();
    } else if (s->op == DOWNGRADE) {
        qemu_co_rwlock_downgrade(s->lock);
        g_string_append_printf(s->log, "v%s ", s->name);
        qemu_coroutine_yield();
    }
    qemu_co_rwlock_unlock(s->lock);
    g_string_append_printf(s->log, "-%s ", s->name);
}

static Coroutine *rw_start(RwStep *s, CoRwlock *lock, RwOp op,
                           const char *name, GString *log)
{
    Coroutine *co;

    *s = (RwStep) { lock, op, name, log };
    co = qemu_coroutine_create(rw_entry, s);
    qemu_coroutine_enter(co);
    return co;
}

static void test_rwlock_readers_share(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoRwlock lock;
    RwStep s[2];
    Coroutine *r1, *r2;

    qemu_co_rwlock_init(&lock);
    r1 = rw_start(&s[0], &lock, RD, "r1", log);
    r2 = rw_start(&s[1], &lock, RD, "r2", log);
    g_assert_cmpstr(log->str, ==, "+r1 +r2 ");      /* both inside */
    qemu_coroutine_enter(r1);
    qemu_coroutine_enter(r2);
    g_assert_cmpstr(log->str, ==, "+r1 +r2 -r1 -r2 ");
    g_assert_cmpint(lock.owners, ==, 0);
}

static void test_rwlock_writer_excludes(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoRwlock lock;
    RwStep s[3];
    Coroutine *w1, *r, *w2;

    qemu_co_rwlock_init(&lock);
    w1 = rw_start(&s[0], &lock, WR, "w1", log);
    r = rw_start(&s[1], &lock, RD, "r", log);
    w2 = rw_start(&s[2], &lock, WR, "w2", log);
    g_assert_cmpstr(log->str, ==, "+w1 ");          /* both wait */

    qemu_coroutine_enter(w1);                       /* hands to r */
    g_assert_cmpstr(log->str, ==, "+w1 -w1 +r ");
    qemu_coroutine_enter(r);                        /* hands to w2 */
    g_assert_cmpstr(log->str, ==, "+w1 -w1 +r -r +w2 ");
    qemu_coroutine_enter(w2);
    g_assert_cmpstr(log->str, ==, "+w1 -w1 +r -r +w2 -w2 ");
    g_assert_cmpint(lock.owners, ==, 0);
}

static void test_rwlock_writer_not_starved(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoRwlock lock;
    RwStep s[3];
    Coroutine *r1, *w, *r2;

    qemu_co_rwlock_init(&lock);
    r1 = rw_start(&s[0], &lock, RD, "r1", log);
    w = rw_start(&s[1], &lock, WR, "w", log);
    r2 = rw_start(&s[2], &lock, RD, "r2", log);    /* queues behind w */
    g_assert_cmpstr(log->str, ==, "+r1 ");

    qemu_coroutine_enter(r1);
    g_assert_cmpstr(log->str, ==, "+r1 -r1 +w ");
    qemu_coroutine_enter(w);
    g_assert_cmpstr(log->str, ==, "+r1 -r1 +w -w +r2 ");
    qemu_coroutine_enter(r2);
    g_assert_cmpint(lock.owners, ==, 0);
}

static void test_rwlock_upgrade_alone(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoRwlock lock;
    RwStep s[2];
    Coroutine *u, *r;

    qemu_co_rwlock_init(&lock);
    u = rw_start(&s[0], &lock, UPGRADE, "u", log);
    qemu_coroutine_enter(u);                        /* upgrades at once */
    g_assert_cmpstr(log->str, ==, "+u ^u ");
    g_assert_cmpint(lock.owners, ==, -1);
    r = rw_start(&s[1], &lock, RD, "r", log);       /* now excluded */
    g_assert_cmpstr(log->str, ==, "+u ^u ");
    qemu_coroutine_enter(u);
    g_assert_cmpstr(log->str, ==, "+u ^u -u +r ");
    qemu_coroutine_enter(r);
    g_assert_cmpint(lock.owners, ==, 0);
}

static void test_rwlock_upgrade_waits_for_reader(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoRwlock lock;
    RwStep s[2];
    Coroutine *u, *r;

    qemu_co_rwlock_init(&lock);
    u = rw_start(&s[0], &lock, UPGRADE, "u", log);
    r = rw_start(&s[1], &lock, RD, "r", log);
    qemu_coroutine_enter(u);                        /* r still reads */
    g_assert_cmpstr(log->str, ==, "+u +r ");
    qemu_coroutine_enter(r);                        /* last reader out */
    g_assert_cmpstr(log->str, ==, "+u +r -r ^u ");
    qemu_coroutine_enter(u);
    g_assert_cmpint(lock.owners, ==, 0);
}

static void test_rwlock_downgrade(void)
{
    g_autoptr(GString) log = g_string_new("");
    CoRwlock lock;
    RwStep s[3];
    Coroutine *d, *r, *w;

    qemu_co_rwlock_init(&lock);
    d = rw_start(&s[0], &lock, DOWNGRADE, "d", log);  /* writes */
    r = rw_start(&s[1], &lock, RD, "r", log);
    w = rw_start(&s[2], &lock, WR, "w", log);
    g_assert_cmpstr(log->str, ==, "+d ");

    qemu_coroutine_enter(d);            /* downgrade lets r in, not w */
    g_assert_cmpstr(log->str, ==, "+d vd +r ");
    g_assert_cmpint(lock.owners, ==, 2);
    qemu_coroutine_enter(d);
    g_assert_cmpstr(log->str, ==, "+d vd +r -d ");
    qemu_coroutine_enter(r);            /* last reader out: w goes */
    g_assert_cmpstr(log->str, ==, "+d vd +r -d -r +w ");
    qemu_coroutine_enter(w);
    g_assert_cmpint(lock.owners, ==, 0);
}

/* ---- sleep -------------------------------------------------------------- */

typedef struct Sleeper {
    QemuCoSleep w;
    int64_t ns;
    bool woke;
} Sleeper;

static void coroutine_fn sleep_entry(void *opaque)
{
    Sleeper *s = opaque;

    qemu_co_sleep_ns_wakeable(&s->w, QEMU_CLOCK_VIRTUAL, s->ns);
    s->woke = true;
}

static void coroutine_fn plain_sleep_entry(void *opaque)
{
    Sleeper *s = opaque;

    qemu_co_sleep_ns(QEMU_CLOCK_VIRTUAL, s->ns);
    s->woke = true;
}

static void drain_main_context(void)
{
    while (aio_poll(qemu_get_aio_context(), false)) {
        /* run everything ready */
    }
}

static void test_sleep_manual_clock(void)
{
    Sleeper s = { .ns = 1000 };

    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
    qemu_coroutine_enter(qemu_coroutine_create(plain_sleep_entry, &s));
    drain_main_context();
    g_assert_false(s.woke);

    qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, 999);
    drain_main_context();
    g_assert_false(s.woke);             /* 1 ns early */

    qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, 1);
    drain_main_context();
    g_assert_true(s.woke);
}

static void test_sleep_wake_early(void)
{
    Sleeper s = { .ns = 1000000000 };
    Coroutine *co;

    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
    qemu_co_sleep_wake(&s.w);           /* nobody asleep: harmless */
    co = qemu_coroutine_create(sleep_entry, &s);
    qemu_coroutine_enter(co);
    g_assert_true(s.w.to_wake == co);
    g_assert_false(s.woke);

    qemu_co_sleep_wake(&s.w);
    drain_main_context();
    g_assert_true(s.woke);
    g_assert_null(s.w.to_wake);
    qemu_co_sleep_wake(&s.w);           /* again: harmless */

    /* The timer went with the sleep: the deadline passing does nothing. */
    qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, 2000000000);
    drain_main_context();
}

static void test_sleep_enter_aborts(void)
{
    if (g_test_subprocess()) {
        Sleeper s = { .ns = 1000 };
        Coroutine *co = qemu_coroutine_create(sleep_entry, &s);

        qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
        qemu_coroutine_enter(co);
        qemu_coroutine_enter(co);       /* still asleep */
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*scheduled*qemu_co_sleep_ns*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);

    g_test_add_func("/co-lock/mutex/fifo", test_mutex_fifo);
    g_test_add_func("/co-lock/mutex/zero-init", test_mutex_zero_init);
    g_test_add_func("/co-lock/mutex/exclusion", test_mutex_exclusion);
    g_test_add_func("/co-lock/mutex/lock-guard", test_mutex_lock_guard);
    g_test_add_func("/co-lock/mutex/assert-locked-aborts",
                    test_mutex_assert_locked_aborts);
    g_test_add_func("/co-lock/mutex/unlock-unheld-aborts",
                    test_mutex_unlock_unheld_aborts);
    g_test_add_func("/co-lock/mutex/terminate-holding-aborts",
                    test_mutex_terminate_holding_aborts);
    g_test_add_func("/co-lock/mutex/mt", test_mutex_mt);
    g_test_add_func("/co-lock/queue/next", test_queue_next);
    g_test_add_func("/co-lock/queue/restart-all", test_queue_restart_all);
    g_test_add_func("/co-lock/queue/enter-next", test_queue_enter_next);
    g_test_add_func("/co-lock/queue/wait-comutex", test_queue_wait_comutex);
    g_test_add_func("/co-lock/queue/wait-lockable",
                    test_queue_wait_lockable);
    g_test_add_func("/co-lock/rwlock/readers-share",
                    test_rwlock_readers_share);
    g_test_add_func("/co-lock/rwlock/writer-excludes",
                    test_rwlock_writer_excludes);
    g_test_add_func("/co-lock/rwlock/writer-not-starved",
                    test_rwlock_writer_not_starved);
    g_test_add_func("/co-lock/rwlock/upgrade-alone",
                    test_rwlock_upgrade_alone);
    g_test_add_func("/co-lock/rwlock/upgrade-waits",
                    test_rwlock_upgrade_waits_for_reader);
    g_test_add_func("/co-lock/rwlock/downgrade", test_rwlock_downgrade);
    g_test_add_func("/co-lock/sleep/manual-clock", test_sleep_manual_clock);
    g_test_add_func("/co-lock/sleep/wake-early", test_sleep_wake_early);
    g_test_add_func("/co-lock/sleep/enter-aborts", test_sleep_enter_aborts);
    return g_test_run();
}
