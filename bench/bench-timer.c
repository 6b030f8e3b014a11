/*
 * Timers: arm a timer that is already due and run the loop until it fires;
 * and 10,000 timers armed at random deadlines, then all fired.
 *
 * Rows:
 *   timer mod+fire          one timer, armed at "now", then non-blocking
 *                           loop passes until its callback ran
 *   timer 10k random        10,000 timers armed at random deadlines spread
 *                           over the second before now (so the timer
 *                           structure sees keys in random order but nobody
 *                           sleeps), then loop passes until all fired;
 *                           reported per timer
 *
 * Spindle: QEMUTimer on QEMU_CLOCK_REALTIME in a private AioContext,
 * timer_mod_ns() + aio_poll(ctx, false).
 * Peers:
 *   glib g_timeout_add(0)    a new timeout GSource per arm, dispatched by
 *                            g_main_context_iteration(ctx, FALSE).  For
 *                            the 10k row: a new GSource per timer with
 *                            g_source_set_ready_time() set before
 *                            g_source_attach() (GLib timeouts take
 *                            intervals only, never a past deadline).
 *   libuv uv_timer_start(0)  a persistent uv_timer_t + uv_run(NOWAIT).
 *                            For the 10k row the loop's cached time
 *                            (uv_loop_t.time, read by uv_timer_start) is
 *                            moved one second back before arming, so the
 *                            random timeouts land in the past exactly as
 *                            for the others; the next uv_run restores it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <uv.h>
#include "bench.h"
#include "block/aio.h"
#include "qemu/timer.h"
#include "qapi/error.h"

#define MANY 10000
#define SPREAD_NS 1000000000LL   /* random deadlines within 1 s before now */

static volatile uint64_t calls;
static int64_t offset_ns[MANY];  /* the same random offsets for everyone */

static void make_offsets(void)
{
    GRand *rand = g_rand_new_with_seed(42);

    for (int i = 0; i < MANY; i++) {
        offset_ns[i] = g_rand_int_range(rand, 0, SPREAD_NS);
    }
    g_rand_free(rand);
}

/* Round @n up to whole batches of MANY timers. */
static uint64_t many_rounds(uint64_t n)
{
    return (n + MANY - 1) / MANY;
}

/* ---- Spindle ---------------------------------------------------------- */

static AioContext *spindle_ctx;
static QEMUTimer spindle_one;
static QEMUTimer *spindle_many;

static void spindle_cb(void *opaque)
{
    calls++;
}

static uint64_t spindle_mod_fire(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        timer_mod_ns(&spindle_one, qemu_clock_get_ns(QEMU_CLOCK_REALTIME));
        while (calls - start == i) {
            aio_poll(spindle_ctx, false);
        }
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static uint64_t spindle_many_fire(void *opaque, uint64_t n)
{
    uint64_t start = calls, r, rounds = many_rounds(n);

    for (r = 0; r < rounds; r++) {
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

        for (int i = 0; i < MANY; i++) {
            timer_mod_ns(&spindle_many[i], now - offset_ns[i]);
        }
        while (calls - start < (r + 1) * MANY) {
            aio_poll(spindle_ctx, false);
        }
    }
    bench_expect(__func__, calls - start, rounds * MANY);
    return rounds * MANY;
}

static void spindle_setup(void)
{
    spindle_ctx = aio_context_new();
    aio_timer_init(spindle_ctx, &spindle_one, QEMU_CLOCK_REALTIME, SCALE_NS,
                   spindle_cb, NULL);
    printf("# spindle fd monitor: %s\n",
           aio_context_get_fdmon_name(spindle_ctx));
    spindle_many = g_new0(QEMUTimer, MANY);
    for (int i = 0; i < MANY; i++) {
        aio_timer_init(spindle_ctx, &spindle_many[i], QEMU_CLOCK_REALTIME,
                       SCALE_NS, spindle_cb, NULL);
    }
}

static void spindle_cleanup(void)
{
    timer_del(&spindle_one);
    for (int i = 0; i < MANY; i++) {
        timer_del(&spindle_many[i]);
    }
    g_free(spindle_many);
    aio_context_unref(spindle_ctx);
}

/* ---- GLib ------------------------------------------------------------- */

static GMainContext *glib_ctx;

static gboolean glib_timeout_cb(gpointer data)
{
    calls++;
    return G_SOURCE_REMOVE;
}

static uint64_t glib_mod_fire(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        GSource *src = g_timeout_source_new(0);

        g_source_set_callback(src, glib_timeout_cb, NULL, NULL);
        g_source_attach(src, glib_ctx);
        g_source_unref(src);
        while (calls - start == i) {
            g_main_context_iteration(glib_ctx, FALSE);
        }
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static gboolean deadline_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    calls++;
    return G_SOURCE_REMOVE;
}

static GSourceFuncs deadline_funcs = {
    .dispatch = deadline_dispatch,
};

static uint64_t glib_many_fire(void *opaque, uint64_t n)
{
    uint64_t start = calls, r, rounds = many_rounds(n);

    for (r = 0; r < rounds; r++) {
        int64_t now_us = g_get_monotonic_time();

        for (int i = 0; i < MANY; i++) {
            GSource *src = g_source_new(&deadline_funcs, sizeof(GSource));

            g_source_set_ready_time(src, now_us - offset_ns[i] / 1000);
            g_source_attach(src, glib_ctx);
            g_source_unref(src);
        }
        while (calls - start < (r + 1) * MANY) {
            g_main_context_iteration(glib_ctx, FALSE);
        }
    }
    bench_expect(__func__, calls - start, rounds * MANY);
    return rounds * MANY;
}

/* ---- libuv ------------------------------------------------------------ */

static uv_loop_t loop;
static uv_timer_t uv_one;
static uv_timer_t *uv_many;

static void libuv_cb(uv_timer_t *handle)
{
    calls++;
}

static uint64_t libuv_mod_fire(void *opaque, uint64_t n)
{
    uint64_t start = calls;

    for (uint64_t i = 0; i < n; i++) {
        uv_timer_start(&uv_one, libuv_cb, 0, 0);
        while (calls - start == i) {
            uv_run(&loop, UV_RUN_NOWAIT);
        }
    }
    bench_expect(__func__, calls - start, n);
    return n;
}

static uint64_t libuv_many_fire(void *opaque, uint64_t n)
{
    uint64_t start = calls, r, rounds = many_rounds(n);

    for (r = 0; r < rounds; r++) {
        uv_update_time(&loop);
        loop.time -= SPREAD_NS / 1000000;     /* see the top of the file */
        for (int i = 0; i < MANY; i++) {
            uint64_t ms = (SPREAD_NS - offset_ns[i]) / 1000000;

            uv_timer_start(&uv_many[i], libuv_cb, ms, 0);
        }
        while (calls - start < (r + 1) * MANY) {
            uv_run(&loop, UV_RUN_NOWAIT);
        }
    }
    bench_expect(__func__, calls - start, rounds * MANY);
    return rounds * MANY;
}

static void libuv_setup(void)
{
    uv_loop_init(&loop);
    uv_timer_init(&loop, &uv_one);
    uv_many = g_new0(uv_timer_t, MANY);
    for (int i = 0; i < MANY; i++) {
        uv_timer_init(&loop, &uv_many[i]);
    }
}

static void libuv_cleanup(void)
{
    uv_close((uv_handle_t *)&uv_one, NULL);
    for (int i = 0; i < MANY; i++) {
        uv_close((uv_handle_t *)&uv_many[i], NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    g_free(uv_many);
}

/* ---- rows ------------------------------------------------------------- */

int main(void)
{
    bench_header("bench-timer");
    make_offsets();
    spindle_setup();
    glib_ctx = g_main_context_new();
    libuv_setup();

    bench_compare("timer mod+fire", (BenchImpl[]) {
        { "spindle", spindle_mod_fire, NULL, 0 },
        { "glib g_timeout_add(0)", glib_mod_fire, NULL, 0 },
        { "libuv uv_timer_start(0)", libuv_mod_fire, NULL, 0 },
    }, 3);
    bench_compare("timer 10k random, per timer", (BenchImpl[]) {
        { "spindle", spindle_many_fire, NULL, 0 },
        { "glib ready_time sources", glib_many_fire, NULL, 0 },
        { "libuv uv_timer_start", libuv_many_fire, NULL, 0 },
    }, 3);

    libuv_cleanup();
    g_main_context_unref(glib_ctx);
    spindle_cleanup();
    return 0;
}
