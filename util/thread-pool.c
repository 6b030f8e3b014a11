/*
 * Thread pool: blocking jobs on worker threads, results back in an
 * AioContext.
 *
 * What it does: a FIFO of queued jobs, drained by worker threads that are
 * started on demand (up to max_threads) and exit after idling for
 * idle_timeout_ms while more than min_threads are alive.  A finished job
 * goes on the pool's "completed" list; one bottom half in the pool's
 * AioContext drains that list and calls the callbacks in the order the
 * jobs finished (or were cancelled).
 *
 * What it does not: interrupt a running job (cancel only catches queued
 * ones), or run callbacks anywhere but the pool's context.
 *
 * Wake-ups.  Idle workers sleep on request_cond.  A submit signals one only
 * when some sleeper has not been signalled yet (idle_threads >
 * pending_wakeups); a worker that is already awake, or about to wake, finds
 * the job itself, because a worker drains the queue before it ever sleeps.
 * So a burst of submits costs one signal per sleeping worker, not one per
 * job, and a pool at its maximum with every worker busy takes new jobs
 * with no wake-up at all.
 * Similarly the completion bottom half is scheduled only when the
 * completed list goes from empty to non-empty.
 *
 * Key invariant: a request is on exactly one of request_list (QUEUED),
 * a worker's hands (RUNNING) or completed/delivering (DONE), and moves
 * between them only under pool->lock; its callback runs exactly once,
 * from the bottom half (or from thread_pool_free), after which the pool
 * drops its reference to the AIOCB.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/thread-pool.h"
#include "block/aio.h"
#include "qemu/atomic.h"
#include "qemu/coroutine.h"
#include "qemu/queue.h"
#include "qemu/thread.h"
#include "qapi/error.h"

typedef enum ThreadState {
    THREAD_QUEUED,
    THREAD_RUNNING,
    THREAD_DONE,
} ThreadState;

typedef struct ThreadPoolElement {
    BlockDriverAIOCB common;            /* first: qemu_aio_get() needs it */

    /* Immutable after submit. */
    ThreadPool *pool;
    ThreadPoolFunc *func;
    void *arg;

    /* Protected by pool->lock until DONE, then owned by the context. */
    ThreadState state;
    int ret;
    QTAILQ_ENTRY(ThreadPoolElement) reqs;       /* while QUEUED */
    QSIMPLEQ_ENTRY(ThreadPoolElement) done;     /* while DONE */
} ThreadPoolElement;

typedef QSIMPLEQ_HEAD(, ThreadPoolElement) ThreadPoolDoneList;

struct ThreadPool {
    /* Immutable after thread_pool_new(). */
    AioContext *ctx;
    QEMUBH *completion_bh;

    /* Only touched by the context's thread (the bottom half). */
    ThreadPoolDoneList delivering;

    QemuMutex lock;
    QemuCond request_cond;      /* idle workers sleep here */
    QemuCond worker_stopped;    /* thread_pool_free waits here */

    /* Protected by lock. */
    QTAILQ_HEAD(, ThreadPoolElement) request_list;
    ThreadPoolDoneList completed;
    int cur_threads;            /* alive, including ones still starting */
    int idle_threads;           /* sleeping on request_cond */
    int pending_wakeups;        /* signals/spawns not yet seen by a worker */
    int min_threads;
    int max_threads;
    int idle_timeout_ms;
    bool stopping;
};

static void cancel_sync(BlockDriverAIOCB *acb);
static AioContext *element_get_aio_context(BlockDriverAIOCB *acb);

static const AIOCBInfo thread_pool_aiocb_info = {
    .aiocb_size = sizeof(ThreadPoolElement),
    .cancel = cancel_sync,
    .cancel_async = thread_pool_cancel_aio,
    .get_aio_context = element_get_aio_context,
};

/* ---- worker side -------------------------------------------------------- */

/* A worker took a wake-up (a signal or its own start); lock held. */
static void consume_wakeup(ThreadPool *pool)
{
    if (pool->pending_wakeups > 0) {
        pool->pending_wakeups--;
    }
}

/* Sleep until signalled; false on timeout.  Lock held. */
static bool wait_for_work(ThreadPool *pool)
{
    bool woken;

    pool->idle_threads++;
    woken = qemu_cond_timedwait(&pool->request_cond, &pool->lock,
                                pool->idle_timeout_ms);
    pool->idle_threads--;
    consume_wakeup(pool);
    return woken;
}

/*
 * Take the next queued job, sleeping while there is none.  Returns NULL
 * when this worker should exit: the pool stops, there are more workers
 * than max_threads, or it idled out while more than min_threads are alive.
 * Lock held.
 */
static ThreadPoolElement *next_request(ThreadPool *pool)
{
    bool timed_out = false;
    ThreadPoolElement *req;

    for (;;) {
        if (pool->stopping || pool->cur_threads > pool->max_threads) {
            return NULL;
        }
        req = QTAILQ_FIRST(&pool->request_list);
        if (req) {
            QTAILQ_REMOVE(&pool->request_list, req, reqs);
            req->state = THREAD_RUNNING;
            return req;
        }
        if (timed_out && pool->cur_threads > pool->min_threads) {
            return NULL;
        }
        timed_out = !wait_for_work(pool);
    }
}

/* Move @req to the completed list and make sure the BH will see it. */
static void complete_locked(ThreadPool *pool, ThreadPoolElement *req,
                            int ret)
{
    bool was_empty = QSIMPLEQ_EMPTY(&pool->completed);

    req->ret = ret;
    req->state = THREAD_DONE;
    QSIMPLEQ_INSERT_TAIL(&pool->completed, req, done);
    if (was_empty) {
        qemu_bh_schedule(pool->completion_bh);
    }
}

static void *worker_thread(void *opaque)
{
    ThreadPool *pool = opaque;
    ThreadPoolElement *req;
    int ret;

    qemu_mutex_lock(&pool->lock);
    consume_wakeup(pool);
    while ((req = next_request(pool))) {
        qemu_mutex_unlock(&pool->lock);
        ret = req->func(req->arg);
        qemu_mutex_lock(&pool->lock);
        complete_locked(pool, req, ret);
    }
    pool->cur_threads--;
    qemu_cond_signal(&pool->worker_stopped);
    qemu_mutex_unlock(&pool->lock);
    return NULL;
}

/*
 * Reserve @n new workers under the lock; the caller starts them with
 * start_workers() once the lock is dropped.  Each counts as a pending
 * wake-up until it runs, since a new worker looks at the queue first.
 */
static void reserve_workers_locked(ThreadPool *pool, int n)
{
    pool->cur_threads += n;
    pool->pending_wakeups += n;
}

static void start_workers(ThreadPool *pool, int n)
{
    QemuThread thread;

    while (n-- > 0) {
        qemu_thread_create(&thread, "pool worker", worker_thread, pool,
                           QEMU_THREAD_DETACHED);
    }
}

/*
 * Make sure someone will pick up a newly queued job: signal a sleeper
 * nobody has signalled yet, else reserve a new worker if allowed, else
 * leave it to the busy workers.  Returns the number of workers to start.
 */
static int kick_worker_locked(ThreadPool *pool)
{
    if (pool->idle_threads > pool->pending_wakeups) {
        pool->pending_wakeups++;
        qemu_cond_signal(&pool->request_cond);
        return 0;
    }
    if (pool->cur_threads < pool->max_threads) {
        reserve_workers_locked(pool, 1);
        return 1;
    }
    return 0;
}

/* ---- context side ------------------------------------------------------- */

/*
 * Deliver finished jobs in completion order.  The batch is moved to
 * pool->delivering, owned by this thread, so that a callback that polls
 * the context (and so re-enters this function) keeps the order.
 */
static void completion_bh(void *opaque)
{
    ThreadPool *pool = opaque;
    ThreadPoolElement *req;

    qemu_mutex_lock(&pool->lock);
    QSIMPLEQ_CONCAT(&pool->delivering, &pool->completed);
    qemu_mutex_unlock(&pool->lock);

    while ((req = QSIMPLEQ_FIRST(&pool->delivering))) {
        QSIMPLEQ_REMOVE_HEAD(&pool->delivering, done);
        if (req->common.cb) {
            req->common.cb(req->common.opaque, req->ret);
        }
        qemu_aio_unref(req);
    }
}

ThreadPool *thread_pool_new(AioContext *ctx)
{
    ThreadPool *pool = g_new0(ThreadPool, 1);

    pool->ctx = ctx;
    pool->completion_bh = aio_bh_new(ctx, completion_bh, pool);
    QSIMPLEQ_INIT(&pool->delivering);
    qemu_mutex_init(&pool->lock);
    qemu_cond_init(&pool->request_cond);
    qemu_cond_init(&pool->worker_stopped);
    QTAILQ_INIT(&pool->request_list);
    QSIMPLEQ_INIT(&pool->completed);
    pool->min_threads = THREAD_POOL_DEFAULT_MIN_THREADS;
    pool->max_threads = THREAD_POOL_DEFAULT_MAX_THREADS;
    pool->idle_timeout_ms = THREAD_POOL_DEFAULT_IDLE_TIMEOUT_MS;
    return pool;
}

/* Cancel every queued job and wait until all workers have exited. */
static void stop_workers(ThreadPool *pool)
{
    ThreadPoolElement *req;

    qemu_mutex_lock(&pool->lock);
    while ((req = QTAILQ_FIRST(&pool->request_list))) {
        QTAILQ_REMOVE(&pool->request_list, req, reqs);
        complete_locked(pool, req, -ECANCELED);
    }
    pool->stopping = true;
    qemu_cond_broadcast(&pool->request_cond);
    while (pool->cur_threads > 0) {
        qemu_cond_wait(&pool->worker_stopped, &pool->lock);
    }
    qemu_mutex_unlock(&pool->lock);
}

void thread_pool_free(ThreadPool *pool)
{
    if (!pool) {
        return;
    }
    stop_workers(pool);
    completion_bh(pool);
    qemu_bh_delete(pool->completion_bh);
    qemu_cond_destroy(&pool->worker_stopped);
    qemu_cond_destroy(&pool->request_cond);
    qemu_mutex_destroy(&pool->lock);
    g_free(pool);
}

BlockDriverAIOCB *thread_pool_submit_aio(ThreadPool *pool,
                                         ThreadPoolFunc *func, void *arg,
                                         BlockDriverCompletionFunc *cb,
                                         void *opaque)
{
    ThreadPoolElement *req;
    int spawn;

    req = qemu_aio_get(&thread_pool_aiocb_info, NULL, cb, opaque);
    req->pool = pool;
    req->func = func;
    req->arg = arg;
    req->state = THREAD_QUEUED;
    req->ret = -EINPROGRESS;

    qemu_mutex_lock(&pool->lock);
    assert(!pool->stopping);
    QTAILQ_INSERT_TAIL(&pool->request_list, req, reqs);
    spawn = kick_worker_locked(pool);
    qemu_mutex_unlock(&pool->lock);

    start_workers(pool, spawn);
    return &req->common;
}

void thread_pool_cancel_aio(BlockDriverAIOCB *acb)
{
    ThreadPoolElement *req = container_of(acb, ThreadPoolElement, common);
    ThreadPool *pool = req->pool;

    qemu_mutex_lock(&pool->lock);
    if (req->state == THREAD_QUEUED) {
        QTAILQ_REMOVE(&pool->request_list, req, reqs);
        complete_locked(pool, req, -ECANCELED);
    }
    qemu_mutex_unlock(&pool->lock);
}

/*
 * AIOCBInfo.cancel, the blocking form: cancel, then run the context until
 * the callback has been delivered.  The extra reference keeps the AIOCB
 * alive across the callback so its refcnt can be watched.
 */
static void cancel_sync(BlockDriverAIOCB *acb)
{
    ThreadPoolElement *req = container_of(acb, ThreadPoolElement, common);

    qemu_aio_ref(acb);
    thread_pool_cancel_aio(acb);
    while (acb->refcnt > 1) {
        aio_poll(req->pool->ctx, true);
    }
    qemu_aio_unref(acb);
}

static AioContext *element_get_aio_context(BlockDriverAIOCB *acb)
{
    ThreadPoolElement *req = container_of(acb, ThreadPoolElement, common);

    return req->pool->ctx;
}

void thread_pool_submit(ThreadPool *pool, ThreadPoolFunc *func, void *arg)
{
    thread_pool_submit_aio(pool, func, arg, NULL, NULL);
}

/* ---- coroutine wrapper -------------------------------------------------- */

typedef struct ThreadPoolCo {
    Coroutine *co;
    int ret;
} ThreadPoolCo;

static void submit_co_cb(void *opaque, int ret)
{
    ThreadPoolCo *tpc = opaque;

    tpc->ret = ret;
    aio_co_wake(tpc->co);
}

int coroutine_fn thread_pool_submit_co(ThreadPool *pool,
                                       ThreadPoolFunc *func, void *arg)
{
    ThreadPoolCo tpc = { .co = qemu_coroutine_self(), .ret = -EINPROGRESS };

    assert(qemu_in_coroutine());
    thread_pool_submit_aio(pool, func, arg, submit_co_cb, &tpc);
    qemu_coroutine_yield();
    return tpc.ret;
}

/* ---- limits ------------------------------------------------------------- */

/* Apply new limits; lock held.  Returns the number of workers to start. */
static int set_limits_locked(ThreadPool *pool, int min, int max)
{
    int missing;

    pool->min_threads = min;
    pool->max_threads = max;
    /* Idle workers re-check: those above the new max exit now. */
    qemu_cond_broadcast(&pool->request_cond);
    missing = MAX(min - pool->cur_threads, 0);
    reserve_workers_locked(pool, missing);
    return missing;
}

bool thread_pool_set_minmax_threads(ThreadPool *pool, int min, int max,
                                    Error **errp)
{
    int spawn;

    if (min < 0 || max < 1 || min > max) {
        error_setg(errp, "invalid thread pool limits min=%d max=%d "
                   "(need 0 <= min <= max and max >= 1)", min, max);
        return false;
    }
    qemu_mutex_lock(&pool->lock);
    spawn = set_limits_locked(pool, min, max);
    qemu_mutex_unlock(&pool->lock);
    start_workers(pool, spawn);
    return true;
}

void thread_pool_update_params(ThreadPool *pool, AioContext *ctx)
{
    int spawn;

    assert(ctx == pool->ctx);
    qemu_mutex_lock(&pool->lock);
    spawn = set_limits_locked(pool, pool->min_threads, pool->max_threads);
    qemu_mutex_unlock(&pool->lock);
    start_workers(pool, spawn);
}

void thread_pool_set_idle_timeout_ms(ThreadPool *pool, int ms)
{
    assert(ms > 0);
    qemu_mutex_lock(&pool->lock);
    pool->idle_timeout_ms = ms;
    /* Sleepers restart their wait with the new timeout. */
    qemu_cond_broadcast(&pool->request_cond);
    qemu_mutex_unlock(&pool->lock);
}

int thread_pool_get_num_threads(ThreadPool *pool)
{
    int n;

    qemu_mutex_lock(&pool->lock);
    n = pool->cur_threads;
    qemu_mutex_unlock(&pool->lock);
    return n;
}
