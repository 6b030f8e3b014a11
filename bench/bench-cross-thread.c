/*
 * Cross-thread hand-off: work bounces between two event loops in two
 * threads, one round trip (there and back) per op.
 *
 * Spindle: a coroutine started in the main context hops to an IOThread's
 * context and back with aio_co_reschedule_self() (the safe form of
 * aio_co_schedule() on oneself: it schedules only after the coroutine
 * has yielded); the main thread runs aio_poll(main_ctx, true).
 * Peers:
 *   libuv uv_async_send         two loops, each in its own thread, each
 *                               with a uv_async_t; each callback sends
 *                               to the other loop's handle
 *   glib g_main_context_invoke  two GMainContexts, each the thread-default
 *                               of its own thread; each callback invokes
 *                               the next one on the other context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <pthread.h>
#include <uv.h>
#include "bench.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "sysemu/iothread.h"
#include "qapi/error.h"

/* Round trips wanted and done in the current batch (main thread only). */
static uint64_t want, done;

/* ---- Spindle ---------------------------------------------------------- */

static IOThread *iothread;
static AioContext *main_ctx, *io_ctx;
static volatile bool hopper_finished;

static void coroutine_fn hopper(void *opaque)
{
    for (uint64_t i = 0; i < want; i++) {
        aio_co_reschedule_self(io_ctx);
        aio_co_reschedule_self(main_ctx);
        done++;
    }
    hopper_finished = true;
}

static uint64_t spindle_run(void *opaque, uint64_t n)
{
    want = n;
    done = 0;
    hopper_finished = false;
    qemu_coroutine_enter(qemu_coroutine_create(hopper, NULL));
    while (!hopper_finished) {
        aio_poll(main_ctx, true);
    }
    bench_expect(__func__, done, n);
    return n;
}

static void spindle_setup(void)
{
    main_ctx = qemu_get_aio_context();
    iothread = iothread_create("bench", &error_abort);
    io_ctx = iothread_get_aio_context(iothread);
    printf("# spindle fd monitor: %s\n",
           aio_context_get_fdmon_name(main_ctx));
}

static void spindle_cleanup(void)
{
    iothread_destroy(iothread);
}

/* ---- libuv ------------------------------------------------------------ */

static uv_loop_t loop_a, loop_b;           /* main thread, peer thread */
static uv_async_t async_a, async_b, async_stop;
static pthread_t uv_thread;

static void ping_a(uv_async_t *handle)
{
    done++;
    if (done < want) {
        uv_async_send(&async_b);
    } else {
        uv_stop(&loop_a);
    }
}

static void pong_b(uv_async_t *handle)
{
    uv_async_send(&async_a);
}

static void stop_b(uv_async_t *handle)
{
    uv_close((uv_handle_t *)&async_b, NULL);
    uv_close((uv_handle_t *)&async_stop, NULL);
}

static void *uv_thread_fn(void *opaque)
{
    uv_run(&loop_b, UV_RUN_DEFAULT);
    return NULL;
}

static uint64_t libuv_run(void *opaque, uint64_t n)
{
    want = n;
    done = 0;
    uv_async_send(&async_b);
    uv_run(&loop_a, UV_RUN_DEFAULT);
    bench_expect(__func__, done, n);
    return n;
}

static void libuv_setup(void)
{
    uv_loop_init(&loop_a);
    uv_async_init(&loop_a, &async_a, ping_a);
    uv_loop_init(&loop_b);
    uv_async_init(&loop_b, &async_b, pong_b);
    uv_async_init(&loop_b, &async_stop, stop_b);
    pthread_create(&uv_thread, NULL, uv_thread_fn, NULL);
}

static void libuv_cleanup(void)
{
    uv_async_send(&async_stop);
    pthread_join(uv_thread, NULL);
    uv_loop_close(&loop_b);
    uv_close((uv_handle_t *)&async_a, NULL);
    uv_run(&loop_a, UV_RUN_DEFAULT);
    uv_loop_close(&loop_a);
}

/* ---- GLib ------------------------------------------------------------- */

static GMainContext *ctx_a, *ctx_b;
static GMainLoop *gloop_b;
static GThread *glib_thread;
static volatile gboolean glib_finished;

static gboolean pong_ctx_b(gpointer data);

static gboolean ping_ctx_a(gpointer data)
{
    done++;
    if (done < want) {
        g_main_context_invoke(ctx_b, pong_ctx_b, NULL);
    } else {
        glib_finished = TRUE;
    }
    return G_SOURCE_REMOVE;
}

static gboolean pong_ctx_b(gpointer data)
{
    g_main_context_invoke(ctx_a, ping_ctx_a, NULL);
    return G_SOURCE_REMOVE;
}

static gpointer glib_thread_fn(gpointer data)
{
    g_main_context_push_thread_default(ctx_b);
    g_main_loop_run(gloop_b);
    g_main_context_pop_thread_default(ctx_b);
    return NULL;
}

static uint64_t glib_run(void *opaque, uint64_t n)
{
    want = n;
    done = 0;
    glib_finished = FALSE;
    g_main_context_invoke(ctx_b, pong_ctx_b, NULL);
    while (!glib_finished) {
        g_main_context_iteration(ctx_a, TRUE);
    }
    bench_expect(__func__, done, n);
    return n;
}

static gboolean quit_b(gpointer data)
{
    g_main_loop_quit(gloop_b);
    return G_SOURCE_REMOVE;
}

static void glib_setup(void)
{
    ctx_a = g_main_context_new();
    ctx_b = g_main_context_new();
    g_main_context_push_thread_default(ctx_a);
    gloop_b = g_main_loop_new(ctx_b, FALSE);
    glib_thread = g_thread_new("bench-glib", glib_thread_fn, NULL);
}

static void glib_cleanup(void)
{
    g_main_context_invoke(ctx_b, quit_b, NULL);
    g_thread_join(glib_thread);
    g_main_loop_unref(gloop_b);
    g_main_context_pop_thread_default(ctx_a);
    g_main_context_unref(ctx_b);
    g_main_context_unref(ctx_a);
}

/* ---- rows ------------------------------------------------------------- */

int main(void)
{
    bench_header("bench-cross-thread");
    spindle_setup();
    libuv_setup();
    glib_setup();

    bench_compare("cross-thread round trip", (BenchImpl[]) {
        { "spindle aio_co_schedule", spindle_run, NULL, 0 },
        { "libuv uv_async_send", libuv_run, NULL, 0 },
        { "glib g_main_context_invoke", glib_run, NULL, 0 },
    }, 3);

    glib_cleanup();
    libuv_cleanup();
    spindle_cleanup();
    return 0;
}
