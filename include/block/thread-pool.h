/*
 * Thread pool: run blocking functions on worker threads and deliver their
 * results back to an AioContext.
 *
 * A ThreadPool belongs to one AioContext (see aio_get_thread_pool()).  Work
 * is submitted from that context's thread; each job runs on some worker
 * thread; its completion callback runs later in the context's thread, from
 * a bottom half, never from inside the submitting call.
 *
 * Workers are started on demand, up to the pool's maximum (64 unless
 * changed).  A worker that found nothing to do for the idle timeout (10 s
 * unless changed) exits while more than the pool's minimum (0 unless
 * changed) are running.
 *
 * How many run at once: no more workers run jobs than there are CPUs
 * (the pool's "concurrency"), except that a job still running after the
 * stall time (50 us unless changed) is presumed blocked and no longer
 * counts, so another worker may start.  Blocking jobs therefore still get
 * a thread each, up to the maximum, and short CPU-bound jobs are run by a
 * few workers that stay busy instead of by many that take turns sleeping.
 *
 * Cost per job: one lock round trip to queue it, one to hand back the
 * result.  A submit wakes a sleeping worker only when the queued jobs
 * outnumber the awake workers and fewer than "concurrency" run; a worker
 * that runs dry polls the queue for a few microseconds before sleeping
 * when recent jobs came in quick succession; so under steady load submits
 * wake nobody.  The completion bottom half is scheduled once per batch of
 * results, and delivers them in the order they finished.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef BLOCK_THREAD_POOL_H
#define BLOCK_THREAD_POOL_H

#include "qemu/osdep.h"

/*
 * The AIOCB types come from block/aio.h; repeating an identical typedef is
 * valid C11 and lets this header stand alone (block/aio.h includes it).
 */
typedef struct BlockDriverAIOCB BlockDriverAIOCB;
typedef void BlockDriverCompletionFunc(void *opaque, int ret);

/*
 * A job: runs on a worker thread, may block, and returns an int (by
 * convention 0 or -errno) that is handed to the completion callback.
 */
typedef int ThreadPoolFunc(void *opaque);

/* Defaults of a new pool; the idle timeout is in milliseconds. */
#define THREAD_POOL_DEFAULT_MIN_THREADS     0
#define THREAD_POOL_DEFAULT_MAX_THREADS     64
#define THREAD_POOL_DEFAULT_IDLE_TIMEOUT_MS 10000

/* A job running longer than this, in microseconds, is presumed blocked. */
#define THREAD_POOL_DEFAULT_STALL_US        50

/*
 * Create a pool whose completions are delivered in @ctx.  No worker thread
 * is started yet.  Normally called only by aio_get_thread_pool(), which
 * creates one pool per context on first use; everyone else should use that.
 * Never fails.
 */
ThreadPool *thread_pool_new(AioContext *ctx);

/*
 * Destroy @pool (NULL is allowed).  Jobs still queued are cancelled, jobs
 * already running are waited for, every worker thread is stopped, and the
 * completion callbacks still owed are invoked before this returns (queued
 * jobs with -ECANCELED), each exactly once, in the calling thread.
 * Call it from the thread that runs the pool's AioContext, or when no
 * thread runs it any more (context teardown).  Blocks until running jobs
 * finish.
 */
void thread_pool_free(ThreadPool *pool);

/*
 * Queue @func(@arg) to run on a worker thread.  When it has returned,
 * @cb(@opaque, ret) is called in the pool's AioContext thread, with ret the
 * value @func returned.  @cb may be NULL (nobody wants the result).
 *
 * The returned AIOCB (from qemu_aio_get(), so pooled) stays valid until the
 * callback has run; it can be cancelled with thread_pool_cancel_aio() or
 * through its AIOCBInfo.cancel hook (see there).
 *
 * Call from the pool's AioContext thread (any thread that holds that
 * context would do).  Never fails; never blocks (it may start a thread).
 */
BlockDriverAIOCB *thread_pool_submit_aio(ThreadPool *pool,
                                         ThreadPoolFunc *func, void *arg,
                                         BlockDriverCompletionFunc *cb,
                                         void *opaque);

/*
 * Cancel a job submitted with thread_pool_submit_aio() whose callback has
 * not run yet, without waiting.  This is also the job's
 * AIOCBInfo.cancel_async hook.
 *
 * - Job still queued (no worker has picked it up): it will never run; its
 *   callback is called with -ECANCELED.
 * - Job already running or finished: nothing changes; its callback gets
 *   @func's real return value.
 *
 * Either way the callback is called exactly once, later, from the pool's
 * bottom half: never from inside this call.  Never blocks.  Call from the
 * pool's AioContext thread, before the callback has run (afterwards the
 * pool drops its reference and the AIOCB is freed unless the caller took
 * one with qemu_aio_ref()).
 *
 * The job's AIOCBInfo.cancel hook (the blocking form, for a generic
 * bdrv_aio_cancel()) does the same and then runs aio_poll() on the pool's
 * context until the callback has been called, so when it returns the
 * callback has run exactly once, with -ECANCELED if the job never started.
 * The AIOCB's get_aio_context hook returns the pool's context.
 */
void thread_pool_cancel_aio(BlockDriverAIOCB *acb);

/*
 * Run @func(@arg) on a worker thread and return its result.  The calling
 * coroutine yields until the job has finished, so its AioContext keeps
 * running meanwhile; it is resumed in the context it ran in (through
 * aio_co_wake()).  Coroutine only.
 */
int coroutine_fn thread_pool_submit_co(ThreadPool *pool,
                                       ThreadPoolFunc *func, void *arg);

/*
 * Fire and forget: run @func(@arg) on a worker thread and drop its result.
 * Same calling rules as thread_pool_submit_aio().  thread_pool_free() still
 * waits for the job if it is running (or cancels it if it is queued).
 */
void thread_pool_submit(ThreadPool *pool, ThreadPoolFunc *func, void *arg);

/*
 * Keep at least @min worker threads alive (started at once if fewer run)
 * and run at most @max jobs at the same time.  Requires
 * 0 <= @min <= @max and @max >= 1; otherwise sets @errp and returns false,
 * leaving the pool unchanged.  Lowering @max makes idle workers above it
 * exit now and busy ones exit after their current job, so for a short
 * while more than the new @max jobs may still be running.
 * Call from the pool's AioContext thread.
 */
bool thread_pool_set_minmax_threads(ThreadPool *pool, int min, int max,
                                    Error **errp);

/*
 * Re-apply @pool's limits; @ctx must be the pool's context.  In QEMU this
 * reads limits stored in the AioContext; a Spindle AioContext keeps none
 * (the pool holds its own, see thread_pool_set_minmax_threads), so this
 * only starts workers up to the minimum and lets idle workers above the
 * maximum exit.  Kept so QEMU code ports over.  Call from @ctx's thread.
 */
void thread_pool_update_params(ThreadPool *pool, AioContext *ctx);

/*
 * Test only: how long, in milliseconds (> 0), an idle worker waits for
 * work before it may exit.  Applies to waits that start after the call.
 */
void thread_pool_set_idle_timeout_ms(ThreadPool *pool, int ms);

/*
 * Test only: how long, in microseconds (> 0), a job may run before the
 * pool presumes its worker blocked and lets another worker start (see the
 * top of this file).  Takes effect at the next check.  Call from the
 * pool's AioContext thread.
 */
void thread_pool_set_stall_us(ThreadPool *pool, int us);

/*
 * Let at most @n (> 0) workers run jobs at once, not counting workers
 * whose job has run past the stall time (presumed blocked).  The default
 * is the number of CPUs this process may use; the maximum thread count
 * still applies on top.  Meant for tests and tuning; call from the pool's
 * AioContext thread.
 */
void thread_pool_set_concurrency(ThreadPool *pool, int n);

/*
 * Number of worker threads alive right now (busy or idle).  A snapshot,
 * for tests and statistics; any thread may call it.
 */
int thread_pool_get_num_threads(ThreadPool *pool);

#endif /* BLOCK_THREAD_POOL_H */
