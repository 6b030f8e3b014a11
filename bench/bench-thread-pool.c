/*
 * Thread pool: hand a trivial job to a worker thread and get its
 * completion back in the event loop's thread.
 *
 * Rows:
 *   thread-pool round trip     one job at a time: submit, then run the
 *                              loop (blocking) until its completion
 *                              callback has run
 *   thread-pool 64 in flight   64 jobs outstanding; each completion
 *                              submits the next; reported per job
 *
 * Spindle: thread_pool_submit_aio() on aio_get_thread_pool(ctx) of a
 * private AioContext, completions dispatched by aio_poll(ctx, true).
 * Peers:
 *   glib GThreadPool   g_thread_pool_push() (up to 64 shared threads,
 *                      like our pool's default maximum); the job sends its
 *                      completion back with g_main_context_invoke() on a
 *                      private GMainContext that the main thread iterates
 *                      (g_main_context_iteration(ctx, TRUE))
 *   libuv uv_queue_work  libuv's own pool (UV_THREADPOOL_SIZE, default 4
 *                      threads); completion via uv_run(UV_RUN_ONCE)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <uv.h>
#include "bench.h"
#include "block/aio.h"
#include "block/thread-pool.h"
#include "qapi/error.h"

#define IN_FLIGHT 64

/*
 * Progress of one batch; touched only by the loop thread (completion
 * callbacks run there), so plain fields suffice.
 */
typedef struct Batch {
    uint64_t want;       /* jobs to complete in this batch */
    uint64_t submitted;
    uint64_t done;
} Batch;

static Batch batch;

static void batch_start(uint64_t n)
{
    batch = (Batch) { .want = n };
}

/* The job itself: nothing but a value the compiler must keep. */
static int trivial_job(void *opaque)
{
    bench_sink(opaque);
    return 0;
}

/* ---- Spindle ---------------------------------------------------------- */

static AioContext *spindle_ctx;
static ThreadPool *spindle_pool;

static void spindle_submit(void);

static void spindle_done(void *opaque, int ret)
{
    batch.done++;
    if (batch.submitted < batch.want) {
        spindle_submit();
    }
}

static void spindle_submit(void)
{
    batch.submitted++;
    thread_pool_submit_aio(spindle_pool, trivial_job, &batch,
                           spindle_done, NULL);
}

static uint64_t spindle_run(void *opaque, uint64_t n)
{
    uint64_t depth = (uintptr_t)opaque;

    batch_start(n);
    for (uint64_t i = 0; i < depth && i < n; i++) {
        spindle_submit();
    }
    while (batch.done < n) {
        aio_poll(spindle_ctx, true);
    }
    bench_expect(__func__, batch.done, n);
    return n;
}

static void spindle_setup(void)
{
    spindle_ctx = aio_context_new();
    qemu_set_current_aio_context(spindle_ctx);
    spindle_pool = aio_get_thread_pool(spindle_ctx);
    printf("# spindle fd monitor: %s\n",
           aio_context_get_fdmon_name(spindle_ctx));
}

static void spindle_cleanup(void)
{
    qemu_set_current_aio_context(NULL);
    aio_context_unref(spindle_ctx);
}

/* ---- GLib ------------------------------------------------------------- */

static GMainContext *glib_ctx;
static GThreadPool *glib_pool;

static gboolean glib_done(gpointer data)
{
    batch.done++;
    if (batch.submitted < batch.want) {
        batch.submitted++;
        g_thread_pool_push(glib_pool, &batch, NULL);
    }
    return G_SOURCE_REMOVE;
}

static void glib_job(gpointer data, gpointer user_data)
{
    trivial_job(data);
    g_main_context_invoke(glib_ctx, glib_done, NULL);
}

static uint64_t glib_run(void *opaque, uint64_t n)
{
    uint64_t depth = (uintptr_t)opaque;

    batch_start(n);
    for (uint64_t i = 0; i < depth && i < n; i++) {
        batch.submitted++;
        g_thread_pool_push(glib_pool, &batch, NULL);
    }
    while (batch.done < n) {
        g_main_context_iteration(glib_ctx, TRUE);
    }
    bench_expect(__func__, batch.done, n);
    return n;
}

static void glib_setup(void)
{
    glib_ctx = g_main_context_new();
    glib_pool = g_thread_pool_new(glib_job, NULL, IN_FLIGHT, FALSE, NULL);
}

static void glib_cleanup(void)
{
    g_thread_pool_free(glib_pool, FALSE, TRUE);
    g_main_context_unref(glib_ctx);
}

/* ---- libuv ------------------------------------------------------------ */

static uv_loop_t loop;
static uv_work_t reqs[IN_FLIGHT];

static void libuv_job(uv_work_t *req)
{
    trivial_job(req);
}

static void libuv_done(uv_work_t *req, int status)
{
    batch.done++;
    if (batch.submitted < batch.want) {
        batch.submitted++;
        uv_queue_work(&loop, req, libuv_job, libuv_done);
    }
}

static uint64_t libuv_run(void *opaque, uint64_t n)
{
    uint64_t depth = (uintptr_t)opaque;

    batch_start(n);
    for (uint64_t i = 0; i < depth && i < n; i++) {
        batch.submitted++;
        uv_queue_work(&loop, &reqs[i], libuv_job, libuv_done);
    }
    while (batch.done < n) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    bench_expect(__func__, batch.done, n);
    return n;
}

/* ---- rows ------------------------------------------------------------- */

static void compare(const char *name, uintptr_t depth)
{
    void *d = (void *)depth;

    bench_compare(name, (BenchImpl[]) {
        { "spindle", spindle_run, d, 0 },
        { "glib GThreadPool", glib_run, d, 0 },
        { "libuv uv_queue_work", libuv_run, d, 0 },
    }, 3);
}

int main(void)
{
    bench_header("bench-thread-pool");
    spindle_setup();
    glib_setup();
    uv_loop_init(&loop);

    compare("thread-pool round trip", 1);
    compare("thread-pool 64 in flight", IN_FLIGHT);

    uv_loop_close(&loop);
    glib_cleanup();
    spindle_cleanup();
    return 0;
}
