/*
 * Tests for block/thread-pool.h: submission, completion thread and order,
 * cancellation, coroutine and fire-and-forget forms, thread limits, idle
 * exit, the scheduling policy (runner limit, stalled jobs) and freeing a
 * busy pool.
 *
 * Most tests make their own pool on the main context (thread_pool_new), so
 * limits set by one test do not leak into the next.  Jobs that must stay
 * queued are held back by "blocker" jobs that wait on a QemuEvent.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/thread-pool.h"
#include "block/aio.h"
#include "qemu/atomic.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"
#include "sysemu/iothread.h"
#include "qapi/error.h"

static AioContext *ctx;
static int main_tid;

/* ---- helpers ------------------------------------------------------------ */

typedef struct Job {
    int n;
    int started;        /* atomic: the function began */
    int calls;          /* callback invocations */
    int ret;            /* value the callback got */
    int cb_tid;         /* thread the callback ran in */
    int worker_tid;     /* thread the function ran in (atomic) */
} Job;

static int double_job(void *opaque)
{
    Job *job = opaque;

    qatomic_set(&job->started, 1);
    qatomic_set(&job->worker_tid, qemu_get_thread_id());
    return job->n * 2;
}

static void job_cb(void *opaque, int ret)
{
    Job *job = opaque;

    job->calls++;
    job->ret = ret;
    job->cb_tid = qemu_get_thread_id();
}

/* Holds a worker until the gate opens. */
typedef struct Blocker {
    QemuEvent gate;
    QemuEvent started;
    int calls;
    int ret;
} Blocker;

static int blocker_job(void *opaque)
{
    Blocker *b = opaque;

    qemu_event_set(&b->started);
    qemu_event_wait(&b->gate);
    return 7;
}

static void blocker_cb(void *opaque, int ret)
{
    Blocker *b = opaque;

    b->calls++;
    b->ret = ret;
}

static void blocker_init(Blocker *b)
{
    qemu_event_init(&b->gate, false);
    qemu_event_init(&b->started, false);
    b->calls = 0;
    b->ret = 0;
}

static void blocker_destroy(Blocker *b)
{
    qemu_event_destroy(&b->gate);
    qemu_event_destroy(&b->started);
}

/* Submit @b and wait until a worker runs it. */
static void blocker_start(ThreadPool *pool, Blocker *b)
{
    thread_pool_submit_aio(pool, blocker_job, b, blocker_cb, b);
    qemu_event_wait(&b->started);
}

static void poll_until_calls(int *calls, int want)
{
    while (*calls < want) {
        aio_poll(ctx, true);
    }
}

static ThreadPool *pool_with_max(int max)
{
    ThreadPool *pool = thread_pool_new(ctx);

    g_assert_true(thread_pool_set_minmax_threads(pool, 0, max, &error_abort));
    return pool;
}

/* ---- submit_aio --------------------------------------------------------- */

static void test_submit_aio(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Job job = { .n = 21 };

    thread_pool_submit_aio(pool, double_job, &job, job_cb, &job);
    g_assert_cmpint(job.calls, ==, 0);      /* never from inside submit */

    poll_until_calls(&job.calls, 1);
    g_assert_cmpint(job.ret, ==, 42);
    g_assert_cmpint(job.cb_tid, ==, main_tid);
    g_assert_cmpint(qatomic_read(&job.worker_tid), !=, main_tid);
    thread_pool_free(pool);
}

static void test_aio_get_thread_pool(void)
{
    ThreadPool *pool = aio_get_thread_pool(ctx);
    Job job = { .n = 5 };

    g_assert_true(aio_get_thread_pool(ctx) == pool);
    thread_pool_submit_aio(pool, double_job, &job, job_cb, &job);
    poll_until_calls(&job.calls, 1);
    g_assert_cmpint(job.ret, ==, 10);
}

/* With one worker, jobs finish in submission order, and so do callbacks. */
static int order_next;
static int order_bad;

static void order_cb(void *opaque, int ret)
{
    Job *job = opaque;

    if (job->n != order_next) {
        order_bad++;
    }
    order_next++;
    job_cb(opaque, ret);
}

static void test_completion_order(void)
{
    ThreadPool *pool = pool_with_max(1);
    Job jobs[200] = { 0 };

    order_next = 0;
    order_bad = 0;
    for (int i = 0; i < 200; i++) {
        jobs[i].n = i;
        thread_pool_submit_aio(pool, double_job, &jobs[i], order_cb, &jobs[i]);
    }
    poll_until_calls(&order_next, 200);
    g_assert_cmpint(order_bad, ==, 0);
    thread_pool_free(pool);
}

/* ---- cancellation ------------------------------------------------------- */

/* Jobs queued behind a busy worker: every cancelled one gets -ECANCELED. */
static void test_cancel_queued(void)
{
    ThreadPool *pool = pool_with_max(1);
    enum { N = 300 };
    g_autofree Job *jobs = g_new0(Job, N);
    BlockDriverAIOCB *acbs[N];
    Blocker b;

    blocker_init(&b);
    blocker_start(pool, &b);
    for (int i = 0; i < N; i++) {
        jobs[i].n = i;
        acbs[i] = thread_pool_submit_aio(pool, double_job, &jobs[i],
                                         job_cb, &jobs[i]);
    }
    for (int i = 0; i < N; i += 3) {
        thread_pool_cancel_aio(acbs[i]);
        g_assert_cmpint(jobs[i].calls, ==, 0);  /* delivered later */
    }
    qemu_event_set(&b.gate);

    poll_until_calls(&jobs[N - 1].calls, 1);
    poll_until_calls(&b.calls, 1);
    for (int i = 0; i < N; i++) {
        g_assert_cmpint(jobs[i].calls, ==, 1);
        g_assert_cmpint(jobs[i].ret, ==, i % 3 ? 2 * i : -ECANCELED);
        g_assert_cmpint(qatomic_read(&jobs[i].started), ==, i % 3 != 0);
    }
    thread_pool_free(pool);
    blocker_destroy(&b);
}

/* Cancelling a running job changes nothing: its real result arrives. */
static void test_cancel_running(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    BlockDriverAIOCB *acb;
    Blocker b;

    blocker_init(&b);
    acb = thread_pool_submit_aio(pool, blocker_job, &b, blocker_cb, &b);
    qemu_event_wait(&b.started);
    thread_pool_cancel_aio(acb);
    qemu_event_set(&b.gate);

    poll_until_calls(&b.calls, 1);
    g_assert_cmpint(b.ret, ==, 7);
    thread_pool_free(pool);
    blocker_destroy(&b);
}

/* The AIOCBInfo.cancel hook returns only once the callback has run. */
static void test_cancel_sync_hook(void)
{
    ThreadPool *pool = pool_with_max(1);
    BlockDriverAIOCB *acb;
    Job job = { .n = 3 };
    Blocker b;

    blocker_init(&b);
    blocker_start(pool, &b);
    acb = thread_pool_submit_aio(pool, double_job, &job, job_cb, &job);
    g_assert_nonnull(acb->aiocb_info->cancel);
    g_assert_true(acb->aiocb_info->get_aio_context(acb) == ctx);

    acb->aiocb_info->cancel(acb);
    g_assert_cmpint(job.calls, ==, 1);
    g_assert_cmpint(job.ret, ==, -ECANCELED);
    g_assert_cmpint(qatomic_read(&job.started), ==, 0);

    qemu_event_set(&b.gate);
    poll_until_calls(&b.calls, 1);
    thread_pool_free(pool);
    blocker_destroy(&b);
}

static int slow_double_job(void *opaque)
{
    g_usleep(20);
    return double_job(opaque);
}

/*
 * Many jobs with cancels racing the workers: each callback runs once, and
 * a job got -ECANCELED exactly when it never started.  Slowish jobs on a
 * few workers let a queue build up, so usually both outcomes occur.
 */
static void test_cancel_many(void)
{
    ThreadPool *pool = pool_with_max(4);
    enum { N = 10000 };
    g_autofree Job *jobs = g_new0(Job, N);
    g_autofree BlockDriverAIOCB **acbs = g_new0(BlockDriverAIOCB *, N);
    int cancelled = 0;

    for (int i = 0; i < N; i++) {
        jobs[i].n = i;
        acbs[i] = thread_pool_submit_aio(pool, slow_double_job, &jobs[i],
                                         job_cb, &jobs[i]);
    }
    for (int i = 0; i < N; i += 4) {
        thread_pool_cancel_aio(acbs[i]);
    }
    for (int i = 0; i < N; i++) {
        poll_until_calls(&jobs[i].calls, 1);
    }
    for (int i = 0; i < N; i++) {
        bool started = qatomic_read(&jobs[i].started);

        g_assert_cmpint(jobs[i].calls, ==, 1);
        g_assert_cmpint(jobs[i].ret, ==, started ? 2 * i : -ECANCELED);
        g_assert_true(started || i % 4 == 0);
        cancelled += !started;
    }
    g_test_message("%d of %d jobs cancelled before they started",
                   cancelled, N / 4);
    thread_pool_free(pool);
}

/* ---- coroutine and fire-and-forget -------------------------------------- */

typedef struct CoData {
    ThreadPool *pool;
    Job job;
    int result;
    bool done;
    AioContext *resumed_in;
} CoData;

static void coroutine_fn submit_co_entry(void *opaque)
{
    CoData *d = opaque;

    d->result = thread_pool_submit_co(d->pool, double_job, &d->job);
    d->resumed_in = qemu_get_current_aio_context();
    d->done = true;
}

static void test_submit_co(void)
{
    CoData d = { .pool = thread_pool_new(ctx), .job = { .n = 50 } };
    Coroutine *co = qemu_coroutine_create(submit_co_entry, &d);

    qemu_coroutine_enter(co);
    g_assert_false(d.done);                 /* it yielded */
    while (!d.done) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(d.result, ==, 100);
    g_assert_true(d.resumed_in == ctx);
    thread_pool_free(d.pool);
}

static int ff_count;

static int count_job(void *opaque)
{
    qatomic_inc(&ff_count);
    return 0;
}

static void test_submit_fire_and_forget(void)
{
    ThreadPool *pool = thread_pool_new(ctx);

    qatomic_set(&ff_count, 0);
    for (int i = 0; i < 100; i++) {
        thread_pool_submit(pool, count_job, NULL);
    }
    while (qatomic_read(&ff_count) < 100) {
        aio_poll(ctx, true);
    }
    thread_pool_free(pool);
    g_assert_cmpint(qatomic_read(&ff_count), ==, 100);
}

/* ---- limits ------------------------------------------------------------- */

static int running;
static int max_running;

static int concurrency_job(void *opaque)
{
    int now = qatomic_inc_fetch(&running);
    int seen = qatomic_read(&max_running);

    while (now > seen) {
        int old = qatomic_cmpxchg(&max_running, seen, now);
        if (old == seen) {
            break;
        }
        seen = old;
    }
    g_usleep(200);
    qatomic_dec(&running);
    return 0;
}

static void test_max_threads(void)
{
    ThreadPool *pool = pool_with_max(3);
    Job done = { 0 };

    qatomic_set(&running, 0);
    qatomic_set(&max_running, 0);
    for (int i = 0; i < 300; i++) {
        thread_pool_submit(pool, concurrency_job, NULL);
        g_assert_cmpint(thread_pool_get_num_threads(pool), <=, 3);
    }
    thread_pool_submit_aio(pool, double_job, &done, job_cb, &done);
    poll_until_calls(&done.calls, 1);
    thread_pool_free(pool);

    g_assert_cmpint(qatomic_read(&max_running), <=, 3);
    g_assert_cmpint(qatomic_read(&max_running), >=, 1);
}

static void test_minmax_errors(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Error *err = NULL;

    g_assert_false(thread_pool_set_minmax_threads(pool, 2, 1, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "min=2 max=1"));
    error_free_or_abort(&err);
    g_assert_false(thread_pool_set_minmax_threads(pool, -1, 4, &err));
    error_free_or_abort(&err);
    g_assert_false(thread_pool_set_minmax_threads(pool, 0, 0, &err));
    error_free_or_abort(&err);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 0);
    thread_pool_free(pool);
    thread_pool_free(NULL);
}

/* Wait (bounded, 5 s) until the pool has @want threads; return the count. */
static int wait_num_threads(ThreadPool *pool, int want)
{
    for (int i = 0; i < 5000; i++) {
        if (thread_pool_get_num_threads(pool) == want) {
            break;
        }
        g_usleep(1000);
    }
    return thread_pool_get_num_threads(pool);
}

static void test_min_threads(void)
{
    ThreadPool *pool = thread_pool_new(ctx);

    thread_pool_set_idle_timeout_ms(pool, 10);
    g_assert_true(thread_pool_set_minmax_threads(pool, 2, 4, &error_abort));
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 2);

    /* Idle for many timeouts: the minimum stays alive. */
    g_usleep(50 * 1000);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 2);
    thread_pool_update_params(pool, ctx);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 2);
    thread_pool_free(pool);
}

/* Blocked jobs force @n workers to exist at once. */
static void start_n_workers(ThreadPool *pool, Blocker *b, int n)
{
    for (int i = 0; i < n; i++) {
        blocker_init(&b[i]);
        blocker_start(pool, &b[i]);
    }
}

static void finish_blockers(Blocker *b, int n)
{
    for (int i = 0; i < n; i++) {
        qemu_event_set(&b[i].gate);
    }
    for (int i = 0; i < n; i++) {
        poll_until_calls(&b[i].calls, 1);
        blocker_destroy(&b[i]);
    }
}

static void test_idle_exit(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Blocker b[6];

    thread_pool_set_idle_timeout_ms(pool, 10);
    g_assert_true(thread_pool_set_minmax_threads(pool, 1, 8, &error_abort));
    start_n_workers(pool, b, 6);
    g_assert_cmpint(thread_pool_get_num_threads(pool), >=, 6);
    finish_blockers(b, 6);

    g_assert_cmpint(wait_num_threads(pool, 1), ==, 1);
    g_assert_true(thread_pool_set_minmax_threads(pool, 0, 8, &error_abort));
    g_assert_cmpint(wait_num_threads(pool, 0), ==, 0);
    thread_pool_free(pool);
}

static void test_lower_max(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Blocker b[4];

    start_n_workers(pool, b, 4);
    finish_blockers(b, 4);
    /* Idle workers above the new maximum leave without waiting 10 s. */
    g_assert_true(thread_pool_set_minmax_threads(pool, 0, 2, &error_abort));
    g_assert_cmpint(wait_num_threads(pool, 2), <=, 2);
    thread_pool_free(pool);
}

/* ---- scheduling policy -------------------------------------------------- */

/* Poll (bounded, 5 s) until *@counter reaches @want; return its value. */
static int wait_counter(int *counter, int want)
{
    for (int i = 0; i < 5000 && qatomic_read(counter) < want; i++) {
        g_usleep(1000);
    }
    return qatomic_read(counter);
}

/* Spins (CPU-bound) until @arrived reaches 2, for at most 5 s. */
static int spin_pair_job(void *opaque)
{
    int *arrived = opaque;
    gint64 give_up = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    qatomic_inc(arrived);
    while (qatomic_read(arrived) < 2) {
        if (g_get_monotonic_time() > give_up) {
            return -ETIMEDOUT;
        }
    }
    return 0;
}

static void run_spin_pair(ThreadPool *pool)
{
    int arrived = 0;
    Job a = { 0 }, b = { 0 };

    thread_pool_submit_aio(pool, spin_pair_job, &arrived, job_cb, &a);
    thread_pool_submit_aio(pool, spin_pair_job, &arrived, job_cb, &b);
    poll_until_calls(&a.calls, 1);
    poll_until_calls(&b.calls, 1);
    g_assert_cmpint(a.ret, ==, 0);
    g_assert_cmpint(b.ret, ==, 0);
}

/* Two CPU-bound jobs submitted at once both run and complete. */
static void test_policy_cpu_pair(void)
{
    ThreadPool *pool = thread_pool_new(ctx);

    run_spin_pair(pool);
    thread_pool_free(pool);
}

/*
 * Even with room for one runner, a CPU-bound job that runs past the stall
 * time lets a second worker start: jobs that need each other finish.
 */
static void test_policy_stalled_cpu_job(void)
{
    ThreadPool *pool = thread_pool_new(ctx);

    thread_pool_set_concurrency(pool, 1);
    run_spin_pair(pool);
    thread_pool_free(pool);
}

/* N jobs that each block until all N run at once. */
typedef struct Gang {
    int n;
    int running;            /* atomic */
    int calls;
    QemuSemaphore release;
} Gang;

static int gang_job(void *opaque)
{
    Gang *g = opaque;

    qatomic_inc(&g->running);
    qemu_sem_wait(&g->release);
    return 0;
}

static void gang_cb(void *opaque, int ret)
{
    Gang *g = opaque;

    g->calls++;
}

/* Submit the gang, check all run at once, then release it. */
static void run_gang(ThreadPool *pool, Gang *g)
{
    qemu_sem_init(&g->release, 0);
    for (int i = 0; i < g->n; i++) {
        thread_pool_submit_aio(pool, gang_job, g, gang_cb, g);
    }
    g_assert_cmpint(wait_counter(&g->running, g->n), ==, g->n);
    g_assert_cmpint(thread_pool_get_num_threads(pool), >=, g->n);
    g_assert_cmpint(thread_pool_get_num_threads(pool), <=,
                    THREAD_POOL_DEFAULT_MAX_THREADS);
    for (int i = 0; i < g->n; i++) {
        qemu_sem_post(&g->release);
    }
    poll_until_calls(&g->calls, g->n);
    qemu_sem_destroy(&g->release);
}

/*
 * Blocking jobs still get a thread each: with two runner slots, sixteen
 * jobs that wait for one another all end up running, so no deadlock.
 */
static void test_policy_blocking_grows(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Gang g = { .n = 16 };

    thread_pool_set_concurrency(pool, 2);
    run_gang(pool, &g);
    thread_pool_free(pool);
}

/* Growth past the runner limit stops at the maximum thread count. */
static void test_policy_blocking_max(void)
{
    ThreadPool *pool = pool_with_max(6);
    Gang g = { .n = 6 };
    Job extra = { .n = 1 };

    thread_pool_set_concurrency(pool, 1);
    run_gang(pool, &g);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 6);
    thread_pool_submit_aio(pool, double_job, &extra, job_cb, &extra);
    poll_until_calls(&extra.calls, 1);
    g_assert_cmpint(thread_pool_get_num_threads(pool), <=, 6);
    thread_pool_free(pool);
}

/*
 * With a stall time no job reaches, the runner limit holds exactly: at
 * most two jobs at once, and at most one more (sleeping) thread, although
 * the pool may have 64.
 */
static void test_policy_concurrency_cap(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Job done = { 0 };

    thread_pool_set_concurrency(pool, 2);
    thread_pool_set_stall_us(pool, 60 * 1000 * 1000);
    qatomic_set(&running, 0);
    qatomic_set(&max_running, 0);
    for (int i = 0; i < 100; i++) {
        thread_pool_submit(pool, concurrency_job, NULL);
        g_assert_cmpint(thread_pool_get_num_threads(pool), <=, 3);
    }
    thread_pool_submit_aio(pool, double_job, &done, job_cb, &done);
    poll_until_calls(&done.calls, 1);
    g_assert_cmpint(thread_pool_get_num_threads(pool), <=, 3);
    thread_pool_free(pool);

    g_assert_cmpint(qatomic_read(&max_running), ==, 2);
}

/* Short jobs with a backlog, then idleness: every worker still exits. */
static void test_policy_idle_exit_after_backlog(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Gang g = { .n = 4 };

    thread_pool_set_idle_timeout_ms(pool, 10);
    thread_pool_set_concurrency(pool, 1);
    qatomic_set(&ff_count, 0);
    for (int i = 0; i < 1000; i++) {
        thread_pool_submit(pool, count_job, NULL);
    }
    run_gang(pool, &g);
    g_assert_cmpint(wait_counter(&ff_count, 1000), ==, 1000);
    g_assert_cmpint(wait_num_threads(pool, 0), ==, 0);
    thread_pool_free(pool);
}

/* ---- free --------------------------------------------------------------- */

static int release_later(void *opaque)
{
    Blocker *b = opaque;

    g_usleep(20 * 1000);
    qemu_event_set(&b->gate);
    return 0;
}

static void test_free_with_work(void)
{
    ThreadPool *pool = pool_with_max(1);
    ThreadPool *helper = thread_pool_new(ctx);
    Job jobs[50] = { 0 };
    Blocker b;

    blocker_init(&b);
    blocker_start(pool, &b);
    for (int i = 0; i < 50; i++) {
        jobs[i].n = i;
        thread_pool_submit_aio(pool, double_job, &jobs[i], job_cb, &jobs[i]);
    }
    /* Opens the gate from elsewhere while free waits for the blocker. */
    thread_pool_submit(helper, release_later, &b);
    thread_pool_free(pool);

    g_assert_cmpint(b.calls, ==, 1);
    g_assert_cmpint(b.ret, ==, 7);
    for (int i = 0; i < 50; i++) {
        g_assert_cmpint(jobs[i].calls, ==, 1);
        g_assert_cmpint(jobs[i].ret, ==, -ECANCELED);
    }
    thread_pool_free(helper);
    blocker_destroy(&b);
}

/* ---- a pool in an IOThread ---------------------------------------------- */

typedef struct IOThreadJob {
    Job job;
    ThreadPool *pool;
    QemuEvent done;
} IOThreadJob;

static void iothread_job_cb(void *opaque, int ret)
{
    IOThreadJob *j = opaque;

    job_cb(&j->job, ret);
    qemu_event_set(&j->done);
}

static void iothread_submit_bh(void *opaque)
{
    IOThreadJob *j = opaque;

    j->pool = aio_get_thread_pool(qemu_get_current_aio_context());
    thread_pool_submit_aio(j->pool, double_job, &j->job, iothread_job_cb, j);
}

static void test_iothread_pool(void)
{
    IOThread *iot = iothread_create("pool-test", &error_abort);
    IOThreadJob j = { .job = { .n = 4 } };

    qemu_event_init(&j.done, false);
    aio_bh_schedule_oneshot(iothread_get_aio_context(iot),
                            iothread_submit_bh, &j);
    qemu_event_wait(&j.done);

    g_assert_cmpint(j.job.ret, ==, 8);
    g_assert_cmpint(j.job.cb_tid, ==, iothread_get_thread_id(iot));
    iothread_destroy(iot);
    qemu_event_destroy(&j.done);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();
    main_tid = qemu_get_thread_id();

    g_test_add_func("/thread-pool/submit-aio", test_submit_aio);
    g_test_add_func("/thread-pool/aio-get-thread-pool",
                    test_aio_get_thread_pool);
    g_test_add_func("/thread-pool/completion-order", test_completion_order);
    g_test_add_func("/thread-pool/cancel/queued", test_cancel_queued);
    g_test_add_func("/thread-pool/cancel/running", test_cancel_running);
    g_test_add_func("/thread-pool/cancel/sync-hook", test_cancel_sync_hook);
    g_test_add_func("/thread-pool/cancel/many", test_cancel_many);
    g_test_add_func("/thread-pool/submit-co", test_submit_co);
    g_test_add_func("/thread-pool/submit", test_submit_fire_and_forget);
    g_test_add_func("/thread-pool/limits/max", test_max_threads);
    g_test_add_func("/thread-pool/limits/errors", test_minmax_errors);
    g_test_add_func("/thread-pool/limits/min", test_min_threads);
    g_test_add_func("/thread-pool/limits/lower-max", test_lower_max);
    g_test_add_func("/thread-pool/idle-exit", test_idle_exit);
    g_test_add_func("/thread-pool/policy/cpu-pair", test_policy_cpu_pair);
    g_test_add_func("/thread-pool/policy/stalled-cpu-job",
                    test_policy_stalled_cpu_job);
    g_test_add_func("/thread-pool/policy/blocking-grows",
                    test_policy_blocking_grows);
    g_test_add_func("/thread-pool/policy/blocking-max",
                    test_policy_blocking_max);
    g_test_add_func("/thread-pool/policy/concurrency-cap",
                    test_policy_concurrency_cap);
    g_test_add_func("/thread-pool/policy/idle-exit-after-backlog",
                    test_policy_idle_exit_after_backlog);
    g_test_add_func("/thread-pool/free/with-work", test_free_with_work);
    g_test_add_func("/thread-pool/iothread", test_iothread_pool);
    return g_test_run();
}
