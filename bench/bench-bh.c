/*
 * Bottom halves: schedule a callback on an event loop and run one
 * non-blocking loop pass that dispatches it, all in one thread.
 *
 * Spindle: qemu_bh_schedule(bh) + aio_poll(ctx, false) on a persistent BH,
 * and aio_bh_schedule_oneshot() + aio_poll(ctx, false).
 * Peers, in the same rows:
 *   glib g_idle_add       a fresh idle GSource per call (allocates) +
 *                         g_main_context_iteration(NULL, FALSE)
 *   glib ready_time       a persistent GSource made ready with
 *                         g_source_set_ready_time(src, 0): GLib's closest
 *                         analogue of a re-armable BH
 *   libuv uv_async_send   uv_async_send + uv_run(UV_RUN_NOWAIT); goes
 *                         through the loop's eventfd, as a cross-thread
 *                         wakeup would
 *   libuv uv_idle         uv_idle_start + uv_run(UV_RUN_NOWAIT), the
 *                         callback stops the handle: libuv's closest
 *                         analogue of a same-thread BH (no syscall)
 * Each contender uses its own loop so that none polls another's fds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <uv.h>
#include "bench.h"
#include "block/aio.h"
#include "qapi/error.h"

static volatile uint64_t calls;

static void count_call(void)
{
    calls++;
}

/* ---- Spindle ---------------------------------------------------------- */

static AioContext *spindle_ctx;
static QEMUBH *spindle_bh;

static void spindle_bh_cb(void *opaque)
{
    count_call();
}

static uint64_t spindle_schedule(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        qemu_bh_schedule(spindle_bh);
        aio_poll(spindle_ctx, false);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static uint64_t spindle_oneshot(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        aio_bh_schedule_oneshot(spindle_ctx, spindle_bh_cb, NULL);
        aio_poll(spindle_ctx, false);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static void spindle_setup(void)
{
    spindle_ctx = aio_context_new();
    spindle_bh = aio_bh_new(spindle_ctx, spindle_bh_cb, NULL);
    printf("# spindle fd monitor: %s\n",
           aio_context_get_fdmon_name(spindle_ctx));
}

static void spindle_cleanup(void)
{
    qemu_bh_delete(spindle_bh);
    aio_context_unref(spindle_ctx);
}

/* ---- GLib ------------------------------------------------------------- */

static gboolean glib_idle_cb(gpointer data)
{
    count_call();
    return G_SOURCE_REMOVE;
}

static uint64_t glib_idle(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        g_idle_add(glib_idle_cb, NULL);
        g_main_context_iteration(NULL, FALSE);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static GMainContext *glib_ctx;
static GSource *glib_src;

static gboolean ready_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    g_source_set_ready_time(src, -1);
    count_call();
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs ready_funcs = {
    .dispatch = ready_dispatch,
};

static uint64_t glib_ready(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        g_source_set_ready_time(glib_src, 0);
        g_main_context_iteration(glib_ctx, FALSE);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static void glib_setup(void)
{
    glib_ctx = g_main_context_new();
    glib_src = g_source_new(&ready_funcs, sizeof(GSource));
    g_source_set_ready_time(glib_src, -1);
    g_source_attach(glib_src, glib_ctx);
}

static void glib_cleanup(void)
{
    g_source_destroy(glib_src);
    g_source_unref(glib_src);
    g_main_context_unref(glib_ctx);
}

/* ---- libuv ------------------------------------------------------------ */

static uv_loop_t async_loop, idle_loop;
static uv_async_t async_handle;
static uv_idle_t idle_handle;

static void async_cb(uv_async_t *handle)
{
    count_call();
}

static uint64_t libuv_async(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        uv_async_send(&async_handle);
        uv_run(&async_loop, UV_RUN_NOWAIT);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static void idle_cb(uv_idle_t *handle)
{
    uv_idle_stop(handle);
    count_call();
}

static uint64_t libuv_idle(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        uv_idle_start(&idle_handle, idle_cb);
        uv_run(&idle_loop, UV_RUN_NOWAIT);
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static void libuv_setup(void)
{
    uv_loop_init(&async_loop);
    uv_async_init(&async_loop, &async_handle, async_cb);
    uv_loop_init(&idle_loop);
    uv_idle_init(&idle_loop, &idle_handle);
}

static void libuv_cleanup(void)
{
    uv_close((uv_handle_t *)&async_handle, NULL);
    uv_run(&async_loop, UV_RUN_DEFAULT);
    uv_loop_close(&async_loop);
    uv_close((uv_handle_t *)&idle_handle, NULL);
    uv_run(&idle_loop, UV_RUN_DEFAULT);
    uv_loop_close(&idle_loop);
}

/* ---- rows ------------------------------------------------------------- */

static void compare(const char *name, const char *ours_label, BenchFn *ours)
{
    BenchImpl impls[] = {
        { ours_label, ours, NULL, 0 },
        { "glib g_idle_add", glib_idle, NULL, 0 },
        { "glib ready_time", glib_ready, NULL, 0 },
        { "libuv uv_async_send", libuv_async, NULL, 0 },
        { "libuv uv_idle", libuv_idle, NULL, 0 },
    };

    bench_compare(name, impls, ARRAY_SIZE(impls));
}

int main(void)
{
    bench_header("bench-bh");
    spindle_setup();
    glib_setup();
    libuv_setup();

    compare("bh schedule+dispatch", "spindle", spindle_schedule);
    compare("bh oneshot+dispatch", "spindle oneshot", spindle_oneshot);

    libuv_cleanup();
    glib_cleanup();
    spindle_cleanup();
    return 0;
}
