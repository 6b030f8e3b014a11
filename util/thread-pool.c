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
 * Policy, in short: run no more jobs at once than there are CPUs, unless
 * some of them seem blocked; wake a worker only when the queue outgrows
 * the workers already awake; keep one worker briefly spinning instead of
 * sleeping when jobs arrive in quick succession.
 *
 * Runners.  A job may compute or may sleep in the kernel (pread on a slow
 * disk), and the pool cannot tell which, so it guesses from time.  A
 * "runner" is a worker that is awake (running a job, or about to look at
 * the queue) and not presumed blocked.  At most `concurrency` runners
 * exist (default: the CPUs this process may use).  More would only
 * time-slice the same CPUs, and with short jobs they would keep running
 * dry and sleeping, so that every job paid a futex wake-up and a thread
 * switch (64 workers on 2 CPUs made a trivial job cost ~12 us).  A job
 * still running after stall_ns (50 us) is presumed blocked: its worker is
 * marked "stalled" and stops counting, so another worker may start, up to
 * max_threads alive.  Blocking jobs thus still get a thread each (jobs
 * that wait for one another cannot deadlock while fewer than max_threads
 * run), just not all in the same instant.  A worker whose job ran that
 * long stays stalled for its next job too (the load is evidently
 * blocking, so it need not queue for a runner slot again); one short job
 * makes it a runner again, and a worker that sleeps or exits never is.
 *
 * Watcher.  No other thread is sure to run (the context's thread may
 * itself be waiting for the jobs), so while some queued job waits for a
 * busy worker, one sleeping worker is the "watcher": it sleeps for
 * watch_ns instead of the idle timeout.  When that runs out it marks
 * every worker whose current job has run for stall_ns as stalled, then
 * wakes workers for the slots that freed (it may take one itself).  A
 * worker reads the clock once per job: when it finished one is when it
 * starts the next.  watch_ns starts at stall_ns and doubles (to 16x)
 * after each watch that found no new stall, so a standing backlog of
 * short jobs costs a timer wake-up every ~0.8 ms, and an idle pool none.
 *
 * Wake-ups.  A submit wakes (or, if none sleeps, starts) a worker only
 * while queued jobs outnumber the runners and fewer than `concurrency`
 * run; a busy runner will come back for the queue anyway.  Otherwise it
 * at most arms a watcher.  Each sleeper waits on its own condition
 * variable on a LIFO stack: the waker picks exactly one thread and counts
 * it awake at once (no signal lost or counted twice), the most recently
 * busy thread is reused, the others age out after the idle timeout.
 * Signals, thread creation and the BH schedule are issued after the lock
 * is dropped (unlock_and_kick), so a woken worker does not wake only to
 * block on its waker's lock.  A worker about to sleep with an empty queue
 * first spins for spin_ns, which adapts to how soon sleepers get woken
 * (see spin_locked()); at steady load runners then never sleep.  Taking
 * pool->lock also tries briefly before blocking (pool_lock()), since the
 * context thread and the runners each take it once per job.
 *
 * Completions: a worker files its result under the lock it takes anyway
 * to pick its next job; the bottom half is scheduled only when the
 * completed list goes from empty to non-empty, and delivers the batch.
 *
 * Known costs: a CPU-bound job longer than stall_ns looks blocked, so long
 * computations still spread over up to max_threads threads (the OS then
 * time-slices them); a burst of blocking jobs gains about `concurrency`
 * threads per stall_ns rather than all at once; the first blocked job in
 * a long CPU-bound backlog is noticed after up to 16 x stall_ns;
 * while jobs come in quick succession one worker may burn up to 20 us of
 * CPU per dry spell polling for the next one.
 *
 * Key invariant: a request is on exactly one of request_list (QUEUED),
 * a worker's hands (RUNNING) or completed/delivering (DONE), and moves
 * between them only under pool->lock; its callback runs exactly once,
 * from the bottom half (or from thread_pool_free), after which the pool
 * drops its reference to the AIOCB.  Every live worker is exactly one of:
 * awake (counted in pool->awake), on pool->idle, or pool->watcher.
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

/* Why a sleeping (or not yet started) worker was woken. */
typedef enum WakeReason {
    WAKE_NONE,          /* still asleep */
    WAKE_RUN,           /* look at the queue; already counted awake */
    WAKE_WATCH,         /* become the watcher; already pool->watcher */
} WakeReason;

/*
 * One worker thread's record.  Records outlive their threads (they go on
 * pool->spare and are reused, freed only with the pool), so a waker may
 * signal one after dropping the lock: at worst a later thread using the
 * same record sees a spurious wake-up.
 */
typedef struct Worker {
    /* Immutable after creation. */
    ThreadPool *pool;
    QemuCond wake;                      /* this worker sleeps here */

    /* Protected by pool->lock. */
    QLIST_ENTRY(Worker) all;            /* pool->workers */
    QLIST_ENTRY(Worker) idle;           /* pool->idle while asleep */
    QSLIST_ENTRY(Worker) start;         /* pool->to_start, or pool->spare */
    QSLIST_ENTRY(Worker) signal;        /* pool->to_signal */
    WakeReason woken;
    bool busy;                          /* running a job */
    bool stalled;                       /* presumed blocked */
    int64_t job_start;                  /* when its job began (ns) */
    int64_t idle_since;                 /* when it last ran dry (ns) */
} Worker;

struct ThreadPool {
    /* Immutable after thread_pool_new(). */
    AioContext *ctx;
    QEMUBH *completion_bh;
    int lock_spins;             /* see pool_lock() */

    /* Only touched by the context's thread (the bottom half). */
    ThreadPoolDoneList delivering;

    QemuMutex lock;
    QemuCond worker_stopped;    /* thread_pool_free waits here */

    /* Protected by lock: the work. */
    QTAILQ_HEAD(, ThreadPoolElement) request_list;
    int queued;                 /* length of request_list; written with
                                   qatomic_set so spinners may peek */
    ThreadPoolDoneList completed;

    /* Protected by lock: the workers. */
    QLIST_HEAD(, Worker) workers;       /* every live worker */
    QLIST_HEAD(, Worker) idle;          /* asleep, most recent first */
    QSLIST_HEAD(, Worker) to_start;     /* reserved, thread not created */
    QSLIST_HEAD(, Worker) to_signal;    /* woken, not signalled yet */
    QSLIST_HEAD(, Worker) spare;        /* records of exited workers */
    bool bh_pending;            /* completed list became non-empty */
    Worker *watcher;            /* asleep for watch_ns, or NULL */
    bool spinning;              /* a worker polls `queued` unlocked */
    int64_t spin_ns;            /* how long to poll; see spin_locked() */
    int cur_threads;            /* alive, including ones still starting */
    int awake;                  /* neither idle nor the watcher */
    int busy;                   /* running a job */
    int stalled;                /* awake and presumed blocked */

    /* Protected by lock: the limits. */
    int min_threads;
    int max_threads;
    int concurrency;
    int idle_timeout_ms;
    int64_t stall_ns;
    int64_t watch_ns;           /* next watch's length, >= stall_ns */
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

/* ---- counting ----------------------------------------------------------- */

/* Awake workers not running a job: each will look at the queue soon. */
static int searching(ThreadPool *pool)
{
    return pool->awake - pool->busy;
}

/* Awake workers that count against the concurrency limit. */
static int runners(ThreadPool *pool)
{
    return pool->awake - pool->stalled;
}

static bool may_run(ThreadPool *pool, Worker *w)
{
    return w->stalled || runners(pool) <= pool->concurrency;
}

static void add_queued(ThreadPool *pool, int n)
{
    qatomic_set(&pool->queued, pool->queued + n);
}

static void set_stalled(ThreadPool *pool, Worker *w, bool stalled)
{
    if (w->stalled != stalled) {
        w->stalled = stalled;
        pool->stalled += stalled ? 1 : -1;
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

/* ---- spinning ----------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

/*
 * Take pool->lock, trying a few times before blocking.  Its critical
 * sections last tens of nanoseconds, while a contender that blocks pays
 * a futex wait and a thread switch, and makes the holder pay a futex
 * wake when it unlocks; with the context thread and a few workers all
 * touching the pool per job, that was the largest cost left.  No
 * spinning on a single CPU, where the holder cannot run meanwhile.
 */
#define LOCK_SPINS      100

static void pool_lock(ThreadPool *pool)
{
    for (int i = 0; i < pool->lock_spins; i++) {
        if (qemu_mutex_trylock(&pool->lock) == 0) {
            return;
        }
        cpu_relax();
    }
    qemu_mutex_lock(&pool->lock);
}

/*
 * Spinning.  A producer that queues jobs a little more slowly than the
 * workers run them would have a worker run dry and sleep after nearly
 * every job, and then wake it again; so would a client that submits its
 * next job a few microseconds after the last one completed.  So a worker
 * that runs dry first polls the queue, without the lock, for spin_ns; it
 * stays awake and not busy meanwhile, so submits count it as about to
 * take a job and wake nobody.  spin_ns follows the gaps actually seen:
 * when a worker that ran dry is woken, the time since it ran dry is the
 * spin that would have caught the job; if that is at most SPIN_MAX_NS,
 * spin_ns becomes 1.5 times it, otherwise spin_ns halves (down to zero).
 * Jobs that arrive far apart therefore cost no spinning.  One spinner at
 * a time, and none when only one runner is allowed, since it would take
 * the CPU from the producer.
 */
#define SPIN_MAX_NS     20000
#define SPIN_MIN_NS     1000

static void shrink_spin_locked(ThreadPool *pool)
{
    pool->spin_ns /= 2;
    if (pool->spin_ns < SPIN_MIN_NS) {
        pool->spin_ns = 0;
    }
}

/*
 * Called by the waker of a worker that ran dry at @since: spinning a bit
 * longer than that gap would have caught this job; if the gap is beyond
 * SPIN_MAX_NS, spinning does not pay, so spin less.
 */
static void learn_spin_locked(ThreadPool *pool, int64_t since)
{
    int64_t gap = now_ns() - since;

    if (gap <= SPIN_MAX_NS) {
        pool->spin_ns = MIN(MAX(gap * 3 / 2, SPIN_MIN_NS), SPIN_MAX_NS);
    } else {
        shrink_spin_locked(pool);
    }
}

/*
 * Poll for a queued job before sleeping; false if this worker may not
 * spin now.  A spin that catches nothing leaves spin_ns alone: the wake-up
 * that follows tells learn_spin_locked() how long spinning would have
 * taken.  Lock held on entry and return.
 */
static bool spin_locked(ThreadPool *pool)
{
    int64_t deadline;

    if (pool->spinning || pool->spin_ns == 0 || pool->concurrency < 2) {
        return false;
    }
    pool->spinning = true;
    deadline = now_ns() + pool->spin_ns;
    qemu_mutex_unlock(&pool->lock);
    while (!qatomic_read(&pool->queued) && now_ns() < deadline) {
        cpu_relax();
    }
    pool_lock(pool);
    pool->spinning = false;
    return true;
}

/* ---- waking and starting workers ---------------------------------------- */

static void *worker_thread(void *opaque);

/*
 * Reserve a new worker that starts with @why; the thread itself is
 * created by unlock_and_kick() once the lock is dropped.
 */
static void reserve_worker_locked(ThreadPool *pool, WakeReason why)
{
    Worker *w = QSLIST_FIRST(&pool->spare);

    if (w) {
        QSLIST_REMOVE_HEAD(&pool->spare, start);
    } else {
        w = g_new0(Worker, 1);
        w->pool = pool;
        qemu_cond_init(&w->wake);
    }
    w->woken = why;
    QLIST_INSERT_HEAD(&pool->workers, w, all);
    QSLIST_INSERT_HEAD(&pool->to_start, w, start);
    pool->cur_threads++;
    if (why == WAKE_RUN) {
        pool->awake++;
    } else {
        pool->watcher = w;
    }
}

/* Anything for unlock_and_kick() to do? */
static bool kick_pending(ThreadPool *pool)
{
    return pool->bh_pending || !QSLIST_EMPTY(&pool->to_signal) ||
           !QSLIST_EMPTY(&pool->to_start);
}

/* Signals sent after the lock is dropped; any beyond go out under it. */
#define KICK_BATCH 8

/*
 * Drop the lock, then do what the critical section decided: signal the
 * workers it woke, schedule the completion BH, create reserved threads.
 * Outside the lock, so that a woken worker does not wake up only to block
 * on the lock its waker still holds.  Every path that releases pool->lock
 * after waking a worker or completing a job goes through here.
 */
static void unlock_and_kick(ThreadPool *pool)
{
    Worker *start = QSLIST_FIRST(&pool->to_start);
    Worker *sig[KICK_BATCH];
    bool bh = pool->bh_pending;
    QemuThread thread;
    Worker *w;
    int n = 0;

    while ((w = QSLIST_FIRST(&pool->to_signal))) {
        QSLIST_REMOVE_HEAD(&pool->to_signal, signal);
        if (n < KICK_BATCH) {
            sig[n++] = w;
        } else {
            qemu_cond_signal(&w->wake);
        }
    }
    QSLIST_INIT(&pool->to_start);
    pool->bh_pending = false;
    qemu_mutex_unlock(&pool->lock);

    for (int i = 0; i < n; i++) {
        qemu_cond_signal(&sig[i]->wake);
    }
    if (bh) {
        qemu_bh_schedule(pool->completion_bh);
    }
    while ((w = start)) {
        start = QSLIST_NEXT(w, start);
        qemu_thread_create(&thread, "pool worker", worker_thread, w,
                           QEMU_THREAD_DETACHED);
    }
}

/* Wake the most recently idle worker for @why; false if none sleeps. */
static bool wake_idle_locked(ThreadPool *pool, WakeReason why)
{
    Worker *w = QLIST_FIRST(&pool->idle);

    if (!w) {
        return false;
    }
    QLIST_REMOVE(w, idle);
    w->woken = why;
    if (why == WAKE_RUN) {
        pool->awake++;
        learn_spin_locked(pool, w->idle_since);
    } else {
        pool->watcher = w;
    }
    QSLIST_INSERT_HEAD(&pool->to_signal, w, signal);
    return true;
}

/* Turn the watcher (if any) into an awake worker; false if none. */
static bool wake_watcher_locked(ThreadPool *pool)
{
    Worker *w = pool->watcher;

    if (!w) {
        return false;
    }
    pool->watcher = NULL;
    w->woken = WAKE_RUN;
    pool->awake++;
    QSLIST_INSERT_HEAD(&pool->to_signal, w, signal);
    return true;
}

/* Get one more worker awake: wake a sleeper, else reserve a new one. */
static bool wake_one_locked(ThreadPool *pool)
{
    if (wake_idle_locked(pool, WAKE_RUN) || wake_watcher_locked(pool)) {
        return true;
    }
    if (pool->cur_threads < pool->max_threads) {
        reserve_worker_locked(pool, WAKE_RUN);
        return true;
    }
    return false;
}

/*
 * Wake workers while queued jobs outnumber the runners (each runner will
 * take one), as long as the runner limit allows.
 */
static void wake_runners_locked(ThreadPool *pool)
{
    while (pool->queued > runners(pool) &&
           runners(pool) < pool->concurrency) {
        if (!wake_one_locked(pool)) {
            return;
        }
    }
}

/*
 * Some queued jobs wait for busy runners to finish: make sure a watcher
 * exists to notice if those runners are blocked.
 */
static void ensure_watcher_locked(ThreadPool *pool)
{
    if (pool->watcher || pool->queued <= searching(pool)) {
        return;
    }
    if (!wake_idle_locked(pool, WAKE_WATCH) &&
        pool->cur_threads < pool->max_threads) {
        reserve_worker_locked(pool, WAKE_WATCH);
    }
}

/* Wake every sleeper so it re-reads the limits. */
static void wake_all_locked(ThreadPool *pool)
{
    while (wake_idle_locked(pool, WAKE_RUN)) {
        /* next */
    }
    wake_watcher_locked(pool);
}

/* ---- worker side -------------------------------------------------------- */

/* Has @w's current job run for stall_ns at time @now? */
static bool job_is_long(ThreadPool *pool, Worker *w, int64_t now)
{
    return now - w->job_start >= pool->stall_ns;
}

/*
 * Mark every runner whose job has run for stall_ns as stalled; return how
 * many were newly marked.
 */
static int mark_stalled_locked(ThreadPool *pool)
{
    int64_t now = now_ns();
    int before = pool->stalled;
    Worker *w;

    QLIST_FOREACH(w, &pool->workers, all) {
        if (w->busy && job_is_long(pool, w, now)) {
            set_stalled(pool, w, true);
        }
    }
    return pool->stalled - before;
}

#define WATCH_BACKOFF   16

/*
 * A watch that found no new stall doubles the next watch's length, up to
 * WATCH_BACKOFF times stall_ns; one that found a stall goes back to
 * stall_ns.  Short jobs under a standing backlog thus cost a wake-up
 * every ~0.8 ms rather than every 50 us, at the price of noticing the
 * first blocked job among them later.  What counts as stalled does not
 * change: a job that has run for stall_ns.
 */
static void adapt_watch_locked(ThreadPool *pool, int marked)
{
    if (marked) {
        pool->watch_ns = pool->stall_ns;
    } else {
        pool->watch_ns = MIN(pool->watch_ns * 2,
                             pool->stall_ns * WATCH_BACKOFF);
    }
}

/*
 * Sleep as the watcher (pool->watcher == @w, not counted awake) until
 * woken, or for watch_ns; in the latter case mark stalled runners and
 * wake workers for the freed slots.  Returns awake.  Lock held.
 */
static void watch_locked(ThreadPool *pool, Worker *w)
{
    int64_t deadline = now_ns() + pool->watch_ns;

    while (w->woken == WAKE_NONE) {
        if (!qemu_cond_timedwait_until_ns(&w->wake, &pool->lock, deadline) &&
            w->woken == WAKE_NONE) {
            pool->watcher = NULL;
            pool->awake++;
            adapt_watch_locked(pool, mark_stalled_locked(pool));
            wake_runners_locked(pool);
            return;
        }
    }
    w->woken = WAKE_NONE;               /* WAKE_RUN: counted by the waker */
}

/* Sleep on the idle stack.  False on idle timeout.  Lock held. */
static bool idle_wait_locked(ThreadPool *pool, Worker *w)
{
    int64_t deadline;
    WakeReason why;

    deadline = now_ns() + pool->idle_timeout_ms * (int64_t)SCALE_MS;
    QLIST_INSERT_HEAD(&pool->idle, w, idle);
    while (w->woken == WAKE_NONE) {
        if (!qemu_cond_timedwait_until_ns(&w->wake, &pool->lock, deadline) &&
            w->woken == WAKE_NONE) {
            QLIST_REMOVE(w, idle);
            pool->awake++;
            return false;
        }
    }
    why = w->woken;
    w->woken = WAKE_NONE;
    if (why == WAKE_WATCH) {
        watch_locked(pool, w);
    }
    return true;
}

/*
 * Go to sleep: as the watcher if jobs are queued and nobody watches,
 * otherwise on the idle stack.  @w is awake before and after.  Returns
 * false if the idle timeout ran out.  Lock held.
 */
static bool sleep_locked(ThreadPool *pool, Worker *w)
{
    set_stalled(pool, w, false);
    pool->awake--;
    if (pool->queued > 0 && !pool->watcher) {
        pool->watcher = w;
        watch_locked(pool, w);
        return true;
    }
    return idle_wait_locked(pool, w);
}

static ThreadPoolElement *take_request_locked(ThreadPool *pool, Worker *w,
                                              int64_t now)
{
    ThreadPoolElement *req = QTAILQ_FIRST(&pool->request_list);

    QTAILQ_REMOVE(&pool->request_list, req, reqs);
    add_queued(pool, -1);
    req->state = THREAD_RUNNING;
    w->busy = true;
    w->job_start = now;
    pool->busy++;
    return req;
}

/*
 * Take the next queued job this worker may run, sleeping while there is
 * none; @now is the time, read shortly before.  Returns NULL when this
 * worker should exit: the pool stops, there are more workers than
 * max_threads, or it idled out while more than min_threads are alive.
 * Taking a job may leave queued jobs behind busy runners, so it also
 * makes sure a watcher exists.  Lock held (dropped briefly to kick
 * before sleeping or exiting; the caller kicks after a job is taken).
 */
static ThreadPoolElement *next_request(ThreadPool *pool, Worker *w,
                                       int64_t now)
{
    ThreadPoolElement *req;
    bool timed_out = false;
    bool idle = false;

    for (;;) {
        bool leave = pool->stopping ||
                     pool->cur_threads > pool->max_threads;

        if (!leave && pool->queued > 0 && may_run(pool, w)) {
            req = take_request_locked(pool, w, now);
            ensure_watcher_locked(pool);
            return req;
        }
        if (kick_pending(pool)) {
            unlock_and_kick(pool);
            pool_lock(pool);
            continue;
        }
        if (leave || (timed_out && pool->cur_threads > pool->min_threads)) {
            return NULL;
        }
        if (!idle) {
            idle = true;
            w->idle_since = now;
            if (pool->queued == 0 && spin_locked(pool)) {
                now = now_ns();
                continue;
            }
        }
        timed_out = !sleep_locked(pool, w);
        idle = false;
        now = now_ns();
    }
}

/*
 * Move @req to the completed list and make sure the BH will see it.  If
 * @w ran it (finishing at @now) for stall_ns or longer, @w stays stalled
 * for its next job.
 */
static void complete_locked(ThreadPool *pool, Worker *w,
                            ThreadPoolElement *req, int ret, int64_t now)
{
    bool was_empty = QSIMPLEQ_EMPTY(&pool->completed);

    if (w) {
        w->busy = false;
        pool->busy--;
        set_stalled(pool, w, job_is_long(pool, w, now));
    }
    req->ret = ret;
    req->state = THREAD_DONE;
    QSIMPLEQ_INSERT_TAIL(&pool->completed, req, done);
    if (was_empty) {
        pool->bh_pending = true;        /* unlock_and_kick schedules it */
    }
}

/*
 * Leave the pool's books; lock held, and dropped on return.  Nothing is
 * left to kick (next_request kicked before deciding to exit), so after
 * the unlock this thread no longer touches the pool.
 */
static void worker_exit_locked(ThreadPool *pool, Worker *w)
{
    assert(!kick_pending(pool));
    set_stalled(pool, w, false);
    QLIST_REMOVE(w, all);
    QSLIST_INSERT_HEAD(&pool->spare, w, start);
    pool->awake--;
    pool->cur_threads--;
    qemu_cond_signal(&pool->worker_stopped);
    qemu_mutex_unlock(&pool->lock);
}

static void *worker_thread(void *opaque)
{
    Worker *w = opaque;
    ThreadPool *pool = w->pool;
    ThreadPoolElement *req;
    WakeReason why;
    int64_t now;
    int ret;

    pool_lock(pool);
    why = w->woken;
    w->woken = WAKE_NONE;
    if (why == WAKE_WATCH) {
        watch_locked(pool, w);
    }
    now = now_ns();
    while ((req = next_request(pool, w, now))) {
        unlock_and_kick(pool);
        ret = req->func(req->arg);
        now = now_ns();
        pool_lock(pool);
        complete_locked(pool, w, req, ret, now);
    }
    worker_exit_locked(pool, w);
    return NULL;
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

    pool_lock(pool);
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

/* The CPUs this process may run on (at least 1). */
static int default_concurrency(void)
{
    return MAX((int)g_get_num_processors(), 1);
}

ThreadPool *thread_pool_new(AioContext *ctx)
{
    ThreadPool *pool = g_new0(ThreadPool, 1);

    pool->ctx = ctx;
    pool->completion_bh = aio_bh_new(ctx, completion_bh, pool);
    QSIMPLEQ_INIT(&pool->delivering);
    qemu_mutex_init(&pool->lock);
    qemu_cond_init(&pool->worker_stopped);
    QTAILQ_INIT(&pool->request_list);
    QSIMPLEQ_INIT(&pool->completed);
    QLIST_INIT(&pool->workers);
    QLIST_INIT(&pool->idle);
    QSLIST_INIT(&pool->to_start);
    QSLIST_INIT(&pool->to_signal);
    QSLIST_INIT(&pool->spare);
    pool->min_threads = THREAD_POOL_DEFAULT_MIN_THREADS;
    pool->max_threads = THREAD_POOL_DEFAULT_MAX_THREADS;
    pool->concurrency = default_concurrency();
    pool->lock_spins = pool->concurrency > 1 ? LOCK_SPINS : 0;
    pool->idle_timeout_ms = THREAD_POOL_DEFAULT_IDLE_TIMEOUT_MS;
    pool->stall_ns = THREAD_POOL_DEFAULT_STALL_US * (int64_t)SCALE_US;
    pool->watch_ns = pool->stall_ns;
    return pool;
}

/* Cancel every queued job and wait until all workers have exited. */
static void stop_workers(ThreadPool *pool)
{
    ThreadPoolElement *req;

    pool_lock(pool);
    while ((req = QTAILQ_FIRST(&pool->request_list))) {
        QTAILQ_REMOVE(&pool->request_list, req, reqs);
        add_queued(pool, -1);
        complete_locked(pool, NULL, req, -ECANCELED, 0);
    }
    pool->stopping = true;
    wake_all_locked(pool);
    unlock_and_kick(pool);
    pool_lock(pool);
    while (pool->cur_threads > 0) {
        qemu_cond_wait(&pool->worker_stopped, &pool->lock);
    }
    qemu_mutex_unlock(&pool->lock);
}

/* Free the records of exited workers; none is alive any more. */
static void free_spare_workers(ThreadPool *pool)
{
    Worker *w;

    while ((w = QSLIST_FIRST(&pool->spare))) {
        QSLIST_REMOVE_HEAD(&pool->spare, start);
        qemu_cond_destroy(&w->wake);
        g_free(w);
    }
}

void thread_pool_free(ThreadPool *pool)
{
    if (!pool) {
        return;
    }
    stop_workers(pool);
    free_spare_workers(pool);
    completion_bh(pool);
    qemu_bh_delete(pool->completion_bh);
    qemu_cond_destroy(&pool->worker_stopped);
    qemu_mutex_destroy(&pool->lock);
    g_free(pool);
}

BlockDriverAIOCB *thread_pool_submit_aio(ThreadPool *pool,
                                         ThreadPoolFunc *func, void *arg,
                                         BlockDriverCompletionFunc *cb,
                                         void *opaque)
{
    ThreadPoolElement *req;

    req = qemu_aio_get(&thread_pool_aiocb_info, NULL, cb, opaque);
    req->pool = pool;
    req->func = func;
    req->arg = arg;
    req->state = THREAD_QUEUED;
    req->ret = -EINPROGRESS;

    pool_lock(pool);
    assert(!pool->stopping);
    QTAILQ_INSERT_TAIL(&pool->request_list, req, reqs);
    add_queued(pool, 1);
    wake_runners_locked(pool);
    ensure_watcher_locked(pool);
    unlock_and_kick(pool);
    return &req->common;
}

void thread_pool_cancel_aio(BlockDriverAIOCB *acb)
{
    ThreadPoolElement *req = container_of(acb, ThreadPoolElement, common);
    ThreadPool *pool = req->pool;

    pool_lock(pool);
    if (req->state == THREAD_QUEUED) {
        QTAILQ_REMOVE(&pool->request_list, req, reqs);
        add_queued(pool, -1);
        complete_locked(pool, NULL, req, -ECANCELED, 0);
    }
    unlock_and_kick(pool);
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

/*
 * Apply new limits, start workers up to @min and let every sleeper
 * re-check (those above the new max exit now).  Lock held; dropped on
 * return.
 */
static void unlock_and_apply_limits(ThreadPool *pool, int min, int max)
{
    pool->min_threads = min;
    pool->max_threads = max;
    wake_all_locked(pool);
    while (pool->cur_threads < min) {
        reserve_worker_locked(pool, WAKE_RUN);
    }
    unlock_and_kick(pool);
}

bool thread_pool_set_minmax_threads(ThreadPool *pool, int min, int max,
                                    Error **errp)
{
    if (min < 0 || max < 1 || min > max) {
        error_setg(errp, "invalid thread pool limits min=%d max=%d "
                   "(need 0 <= min <= max and max >= 1)", min, max);
        return false;
    }
    pool_lock(pool);
    unlock_and_apply_limits(pool, min, max);
    return true;
}

void thread_pool_update_params(ThreadPool *pool, AioContext *ctx)
{
    assert(ctx == pool->ctx);
    pool_lock(pool);
    unlock_and_apply_limits(pool, pool->min_threads, pool->max_threads);
}

void thread_pool_set_idle_timeout_ms(ThreadPool *pool, int ms)
{
    assert(ms > 0);
    pool_lock(pool);
    pool->idle_timeout_ms = ms;
    /* Sleepers restart their wait with the new timeout. */
    wake_all_locked(pool);
    unlock_and_kick(pool);
}

void thread_pool_set_stall_us(ThreadPool *pool, int us)
{
    assert(us > 0);
    pool_lock(pool);
    pool->stall_ns = us * (int64_t)SCALE_US;
    pool->watch_ns = pool->stall_ns;
    qemu_mutex_unlock(&pool->lock);
}

void thread_pool_set_concurrency(ThreadPool *pool, int n)
{
    assert(n > 0);
    pool_lock(pool);
    pool->concurrency = n;
    wake_runners_locked(pool);
    unlock_and_kick(pool);
}

int thread_pool_get_num_threads(ThreadPool *pool)
{
    int n;

    pool_lock(pool);
    n = pool->cur_threads;
    qemu_mutex_unlock(&pool->lock);
    return n;
}
