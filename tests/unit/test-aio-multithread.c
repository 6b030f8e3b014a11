/*
 * Tests for the cross-thread parts of the event loop: aio_co_schedule,
 * aio_co_wake, aio_co_enter, aio_co_reschedule_self, AIO_WAIT_WHILE,
 * aio_wait_bh_oneshot, aio_context_acquire against a sleeping poller, and
 * concurrent BH scheduling.  Workers are plain threads, each running its
 * own AioContext.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "block/aio-wait.h"
#include "qemu/main-loop.h"
#include "qemu/coroutine.h"
#include "util/aio-posix.h"

/* ---- worker threads ----------------------------------------------------- */

typedef struct {
    AioContext *ctx;
    QemuThread thread;
    QemuSemaphore started;
    bool stop;
    bool hold_lock;     /* poll with the context acquired */
} Worker;

static void *worker_fn(void *opaque)
{
    Worker *w = opaque;

    qemu_set_current_aio_context(w->ctx);
    qemu_sem_post(&w->started);
    while (!qatomic_read(&w->stop)) {
        if (w->hold_lock) {
            aio_context_acquire(w->ctx);
        }
        aio_poll(w->ctx, true);
        if (w->hold_lock) {
            aio_context_release(w->ctx);
        }
    }
    qemu_set_current_aio_context(NULL);
    return NULL;
}

static void worker_start(Worker *w, bool hold_lock)
{
    *w = (Worker) { .ctx = aio_context_new(),
                    .hold_lock = hold_lock };
    qemu_sem_init(&w->started, 0);
    qemu_thread_create(&w->thread, "worker", worker_fn, w,
                       QEMU_THREAD_JOINABLE);
    qemu_sem_wait(&w->started);
}

static void stop_cb(void *opaque)
{
    Worker *w = opaque;

    qatomic_set(&w->stop, true);
}

/* Stop and join the worker; its context stays alive. */
static void worker_join(Worker *w)
{
    aio_bh_schedule_oneshot(w->ctx, stop_cb, w);
    qemu_thread_join(&w->thread);
    qemu_sem_destroy(&w->started);
}

static void worker_stop(Worker *w)
{
    worker_join(w);
    aio_context_unref(w->ctx);
}

/* ---- coroutines --------------------------------------------------------- */

typedef struct {
    AioContext *ran_in[2];
    bool done;
} CoRecord;

static void coroutine_fn record_and_finish(void *opaque)
{
    CoRecord *r = opaque;

    r->ran_in[0] = qemu_get_current_aio_context();
    qatomic_store_release(&r->done, true);
    aio_wait_kick();
}

static void test_co_schedule_same_thread(void)
{
    AioContext *ctx = qemu_get_aio_context();
    CoRecord r = { 0 };
    Coroutine *co = qemu_coroutine_create(record_and_finish, &r);

    aio_co_schedule(ctx, co);
    g_assert_false(r.done);          /* not entered synchronously */
    while (!r.done) {
        aio_poll(ctx, true);
    }
    g_assert_true(r.ran_in[0] == ctx);
}

static void test_co_schedule_other_thread(void)
{
    Worker w;
    CoRecord r = { 0 };
    Coroutine *co;

    worker_start(&w, false);
    co = qemu_coroutine_create(record_and_finish, &r);
    aio_co_schedule(w.ctx, co);
    AIO_WAIT_WHILE_UNLOCKED(w.ctx, !qatomic_load_acquire(&r.done));
    g_assert_true(r.ran_in[0] == w.ctx);
    worker_stop(&w);
}

typedef struct {
    Coroutine *co;
    AioContext *ran_in[2];
    bool yielded;
    bool done;
} WakeRecord;

static void coroutine_fn yield_then_record(void *opaque)
{
    WakeRecord *r = opaque;

    r->ran_in[0] = qemu_get_current_aio_context();
    qatomic_store_release(&r->yielded, true);
    aio_wait_kick();
    qemu_coroutine_yield();
    r->ran_in[1] = qemu_get_current_aio_context();
    qatomic_store_release(&r->done, true);
    aio_wait_kick();
}

static void test_co_wake_same_thread(void)
{
    WakeRecord r = { 0 };

    r.co = qemu_coroutine_create(yield_then_record, &r);
    qemu_coroutine_enter(r.co);
    g_assert_true(r.yielded);
    g_assert_false(r.done);
    /* Its context is the caller's: entered synchronously. */
    aio_co_wake(r.co);
    g_assert_true(r.done);
    g_assert_true(r.ran_in[1] == qemu_get_aio_context());
}

static void test_co_wake_from_other_thread(void)
{
    Worker w;
    WakeRecord r = { 0 };

    worker_start(&w, false);
    r.co = qemu_coroutine_create(yield_then_record, &r);
    aio_co_schedule(w.ctx, r.co);
    AIO_WAIT_WHILE_UNLOCKED(w.ctx, !qatomic_load_acquire(&r.yielded));
    /* The main thread wakes it; it resumes in its own context. */
    aio_co_wake(r.co);
    AIO_WAIT_WHILE_UNLOCKED(w.ctx, !qatomic_load_acquire(&r.done));
    g_assert_true(r.ran_in[0] == w.ctx);
    g_assert_true(r.ran_in[1] == w.ctx);
    worker_stop(&w);
}

typedef struct {
    GString *log;
    Coroutine *other;
} EnterLog;

static void coroutine_fn log_b(void *opaque)
{
    EnterLog *l = opaque;

    g_string_append(l->log, "B");
}

static void coroutine_fn log_a_and_enter_b(void *opaque)
{
    EnterLog *l = opaque;

    g_string_append(l->log, "A1");
    /* From inside a coroutine: deferred until we yield or finish. */
    aio_co_enter(qemu_get_current_aio_context(), l->other);
    g_string_append(l->log, "A2");
}

static void test_co_enter_from_coroutine_defers(void)
{
    g_autoptr(GString) log = g_string_new("");
    EnterLog l = { log, NULL };
    Coroutine *a = qemu_coroutine_create(log_a_and_enter_b, &l);

    l.other = qemu_coroutine_create(log_b, &l);
    /* Outside a coroutine, in the current context: entered at once. */
    aio_co_enter(qemu_get_current_aio_context(), a);
    g_assert_cmpstr(log->str, ==, "A1A2B");
}

static void test_co_enter_other_context_schedules(void)
{
    Worker w;
    CoRecord r = { 0 };

    worker_start(&w, false);
    aio_co_enter(w.ctx, qemu_coroutine_create(record_and_finish, &r));
    AIO_WAIT_WHILE_UNLOCKED(w.ctx, !qatomic_load_acquire(&r.done));
    g_assert_true(r.ran_in[0] == w.ctx);
    worker_stop(&w);
}

#define HOPS 200

typedef struct {
    AioContext *ctx[2];
    int hops;
    int wrong;
    bool done;
} PingPong;

static void coroutine_fn ping_pong(void *opaque)
{
    PingPong *p = opaque;

    for (int i = 0; i < HOPS; i++) {
        AioContext *target = p->ctx[i & 1];

        aio_co_reschedule_self(target);
        if (qemu_get_current_aio_context() != target) {
            p->wrong++;
        }
        p->hops++;
    }
    aio_co_reschedule_self(qemu_get_aio_context());
    qatomic_store_release(&p->done, true);
}

static void test_co_reschedule_self_ping_pong(void)
{
    Worker w[2];
    PingPong p = { 0 };

    worker_start(&w[0], false);
    worker_start(&w[1], false);
    p.ctx[0] = w[0].ctx;
    p.ctx[1] = w[1].ctx;
    qemu_coroutine_enter(qemu_coroutine_create(ping_pong, &p));
    AIO_WAIT_WHILE_UNLOCKED(NULL, !qatomic_load_acquire(&p.done));
    g_assert_cmpint(p.hops, ==, HOPS);
    g_assert_cmpint(p.wrong, ==, 0);
    worker_stop(&w[0]);
    worker_stop(&w[1]);
}

static void coroutine_fn reschedule_to_current(void *opaque)
{
    int *steps = opaque;

    (*steps)++;
    aio_co_reschedule_self(qemu_get_current_aio_context());
    (*steps)++;     /* no yield happened in between */
}

static void test_co_reschedule_self_same_context(void)
{
    int steps = 0;

    qemu_coroutine_enter(qemu_coroutine_create(reschedule_to_current,
                                               &steps));
    g_assert_cmpint(steps, ==, 2);
}

static void coroutine_fn nothing(void *opaque)
{
}

static void test_co_schedule_twice_aborts(void)
{
    if (g_test_subprocess()) {
        AioContext *ctx = qemu_get_aio_context();
        Coroutine *co = qemu_coroutine_create(nothing, NULL);

        aio_co_schedule(ctx, co);
        aio_co_schedule(ctx, co);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*already scheduled*aio_co_schedule*");
}

/* ---- AIO_WAIT_WHILE ----------------------------------------------------- */

static void set_flag_and_kick(void *opaque)
{
    bool *flag = opaque;

    qatomic_store_release(flag, true);
    aio_wait_kick();
}

static void test_aio_wait_while_other_thread(void)
{
    Worker w;
    bool flag = false;
    bool waited;

    worker_start(&w, false);
    aio_context_acquire(w.ctx);
    aio_bh_schedule_oneshot(w.ctx, set_flag_and_kick, &flag);
    /* Releases w.ctx while it waits in the main context. */
    waited = AIO_WAIT_WHILE(w.ctx, !qatomic_load_acquire(&flag));
    g_assert_true(rfifolock_held_by_self(&w.ctx->lock));
    aio_context_release(w.ctx);
    g_assert_true(flag);
    (void)waited;
    /* Nothing to wait for: returns false at once. */
    g_assert_false(AIO_WAIT_WHILE_UNLOCKED(w.ctx, false));
    worker_stop(&w);
}

typedef struct {
    AioContext *ctx;
    bool inner;
    bool waited;
    bool done;
} HomeWait;

static void set_inner(void *opaque)
{
    HomeWait *h = opaque;

    h->inner = true;
}

static void wait_in_home_thread(void *opaque)
{
    HomeWait *h = opaque;

    /* In the context's own thread: polls that context (nested). */
    aio_bh_schedule_oneshot(h->ctx, set_inner, h);
    h->waited = AIO_WAIT_WHILE_UNLOCKED(h->ctx, !h->inner);
    qatomic_store_release(&h->done, true);
    aio_wait_kick();
}

static void test_aio_wait_while_home_thread(void)
{
    Worker w;
    HomeWait h = { 0 };

    worker_start(&w, false);
    h.ctx = w.ctx;
    aio_bh_schedule_oneshot(w.ctx, wait_in_home_thread, &h);
    AIO_WAIT_WHILE_UNLOCKED(w.ctx, !qatomic_load_acquire(&h.done));
    g_assert_true(h.inner);
    g_assert_true(h.waited);
    worker_stop(&w);
}

typedef struct {
    AioContext *ran_in;
    int runs;
} OneshotRecord;

static void record_ctx(void *opaque)
{
    OneshotRecord *r = opaque;

    r->ran_in = qemu_get_current_aio_context();
    r->runs++;
}

static void test_aio_wait_bh_oneshot(void)
{
    Worker w;
    OneshotRecord r = { 0 };

    worker_start(&w, false);
    aio_wait_bh_oneshot(w.ctx, record_ctx, &r);
    /* Returned only after the callback ran, in the worker's context. */
    g_assert_cmpint(r.runs, ==, 1);
    g_assert_true(r.ran_in == w.ctx);
    worker_stop(&w);
}

/* ---- acquire against a sleeping poller ---------------------------------- */

static void test_acquire_wakes_poller(void)
{
    Worker w;

    /* The worker sleeps in aio_poll holding its context; acquiring it
     * must wake it (contention callback) so that it releases. */
    worker_start(&w, true);
    for (int i = 0; i < 20; i++) {
        aio_context_acquire(w.ctx);
        g_assert_false(aio_poll(w.ctx, false));  /* allowed: we hold it */
        aio_context_release(w.ctx);
    }
    worker_stop(&w);
}

/* ---- concurrent BH scheduling ------------------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 5000

typedef struct {
    AioContext *ctx;
    int count;          /* atomic */
    QEMUBH *shared;
    int shared_runs;    /* only touched by the worker */
} Stress;

static void count_one(void *opaque)
{
    Stress *s = opaque;

    if (qatomic_inc_fetch(&s->count) == PRODUCERS * PER_PRODUCER) {
        aio_wait_kick();
    }
}

static void shared_cb(void *opaque)
{
    Stress *s = opaque;

    s->shared_runs++;
}

static void *produce(void *opaque)
{
    Stress *s = opaque;

    for (int i = 0; i < PER_PRODUCER; i++) {
        aio_bh_schedule_oneshot(s->ctx, count_one, s);
        qemu_bh_schedule(s->shared);
    }
    return NULL;
}

static void read_shared_runs(void *opaque)
{
    Stress *s = opaque;

    g_assert_cmpint(s->shared_runs, >=, 1);
    g_assert_cmpint(s->shared_runs, <=, PRODUCERS * PER_PRODUCER);
}

static void test_bh_stress(void)
{
    Worker w;
    Stress s = { 0 };
    QemuThread threads[PRODUCERS];

    worker_start(&w, false);
    s.ctx = w.ctx;
    s.shared = aio_bh_new(w.ctx, shared_cb, &s);
    for (int i = 0; i < PRODUCERS; i++) {
        qemu_thread_create(&threads[i], "producer", produce, &s,
                           QEMU_THREAD_JOINABLE);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        qemu_thread_join(&threads[i]);
    }
    AIO_WAIT_WHILE_UNLOCKED(w.ctx, qatomic_read(&s.count) <
                                   PRODUCERS * PER_PRODUCER);
    g_assert_cmpint(qatomic_read(&s.count), ==, PRODUCERS * PER_PRODUCER);
    aio_wait_bh_oneshot(w.ctx, read_shared_runs, &s);
    qemu_bh_delete(s.shared);
    worker_stop(&w);
}

/*
 * Many threads take one-shot BHs from one context's pool at once (no
 * poller, so only pops race), then from a polled context (pops race with
 * the poller's pushes).  Each BH runs once and the pool ends up whole.
 */
typedef struct {
    AioContext *ctx;
    int count;          /* atomic */
} PoolRace;

static void pool_race_cb(void *opaque)
{
    PoolRace *r = opaque;

    if (qatomic_inc_fetch(&r->count) == PRODUCERS * PER_PRODUCER) {
        aio_wait_kick();
    }
}

static void *pool_race_produce(void *opaque)
{
    PoolRace *r = opaque;

    for (int i = 0; i < PER_PRODUCER; i++) {
        aio_bh_schedule_oneshot(r->ctx, pool_race_cb, r);
    }
    return NULL;
}

static void pool_race_run(PoolRace *r)
{
    QemuThread threads[PRODUCERS];

    for (int i = 0; i < PRODUCERS; i++) {
        qemu_thread_create(&threads[i], "pool-race", pool_race_produce, r,
                           QEMU_THREAD_JOINABLE);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        qemu_thread_join(&threads[i]);
    }
}

static void test_bh_oneshot_pool_race(void)
{
    PoolRace r = { aio_context_new(), 0 };
    unsigned cap = aio_bh_pool_free_count(r.ctx);
    Worker w;

    pool_race_run(&r);
    while (aio_poll(r.ctx, false)) {
        /* run them all */
    }
    g_assert_cmpint(r.count, ==, PRODUCERS * PER_PRODUCER);
    g_assert_cmpuint(aio_bh_pool_free_count(r.ctx), ==, cap);
    aio_context_unref(r.ctx);

    worker_start(&w, false);
    r = (PoolRace) { w.ctx, 0 };
    pool_race_run(&r);
    AIO_WAIT_WHILE_UNLOCKED(w.ctx, qatomic_read(&r.count) <
                                   PRODUCERS * PER_PRODUCER);
    worker_join(&w);
    g_assert_cmpuint(aio_bh_pool_free_count(w.ctx), ==, cap);
    aio_context_unref(w.ctx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    g_test_add_func("/aio-mt/co-schedule/same-thread",
                    test_co_schedule_same_thread);
    g_test_add_func("/aio-mt/co-schedule/other-thread",
                    test_co_schedule_other_thread);
    g_test_add_func("/aio-mt/co-schedule/twice-aborts",
                    test_co_schedule_twice_aborts);
    g_test_add_func("/aio-mt/co-wake/same-thread", test_co_wake_same_thread);
    g_test_add_func("/aio-mt/co-wake/other-thread",
                    test_co_wake_from_other_thread);
    g_test_add_func("/aio-mt/co-enter/from-coroutine-defers",
                    test_co_enter_from_coroutine_defers);
    g_test_add_func("/aio-mt/co-enter/other-context",
                    test_co_enter_other_context_schedules);
    g_test_add_func("/aio-mt/co-reschedule-self/same-context",
                    test_co_reschedule_self_same_context);
    g_test_add_func("/aio-mt/co-reschedule-self/ping-pong",
                    test_co_reschedule_self_ping_pong);
    g_test_add_func("/aio-mt/aio-wait/other-thread",
                    test_aio_wait_while_other_thread);
    g_test_add_func("/aio-mt/aio-wait/home-thread",
                    test_aio_wait_while_home_thread);
    g_test_add_func("/aio-mt/aio-wait/bh-oneshot", test_aio_wait_bh_oneshot);
    g_test_add_func("/aio-mt/acquire/wakes-poller",
                    test_acquire_wakes_poller);
    g_test_add_func("/aio-mt/bh/stress", test_bh_stress);
    g_test_add_func("/aio-mt/bh/oneshot-pool-race",
                    test_bh_oneshot_pool_race);
    return g_test_run();
}
