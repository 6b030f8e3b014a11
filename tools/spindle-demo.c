/*
 * spindle-demo: a guided tour of the event loop, printed as it happens.
 *
 * What it does: on the main AioContext it arms a 50 ms timer, schedules a
 * bottom half, runs a coroutine that sleeps and yields, hands a checksum
 * to the thread pool and gets the result back in the loop, and moves the
 * coroutine into an IOThread and back; then it shuts everything down.
 * What it does not: any I/O on disk or network (the real tools do that).
 * Key invariant: the main loop runs until every step has reported in, so
 * the program ends by itself in well under a second.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/thread-pool.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "sysemu/iothread.h"
#include "qapi/error.h"

#define BUF_SIZE (4 * 1024 * 1024)
#define TIMER_MS 50
#define SLEEP_MS 20

typedef struct Demo {
    int64_t start_ns;
    AioContext *main_ctx;
    IOThread *iothread;
    Coroutine *co;
    uint8_t *buf;
    bool timer_fired;
    bool bh_ran;
    bool co_done;
    bool pool_done;
} Demo;

static Demo demo;

static void say(const char *fmt, ...) QEMU_PRINTF(1, 2);

static void say(const char *fmt, ...)
{
    int64_t ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - demo.start_ns;
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* One printf per line, so lines from different threads never mix. */
    printf("[%3d.%03d s] %s\n", (int)(ns / NANOSECONDS_PER_SECOND),
           (int)(ns / SCALE_MS % 1000), msg);
    fflush(stdout);
}

/* ---- timer and bottom half ---------------------------------------------- */

static void timer_cb(void *opaque)
{
    say("timer fired on main loop (armed for %d ms)", TIMER_MS);
    demo.timer_fired = true;
}

static void bh_cb(void *opaque)
{
    say("bottom half ran on main loop");
    demo.bh_ran = true;
}

/* ---- thread pool -------------------------------------------------------- */

/* FNV-1a, 32 bits: small and good enough to show a result travelling. */
static int checksum_job(void *opaque)
{
    uint32_t hash = 2166136261u;

    say("thread pool: worker computing checksum of %d MiB",
        BUF_SIZE / (1024 * 1024));
    for (size_t i = 0; i < BUF_SIZE; i++) {
        hash = (hash ^ demo.buf[i]) * 16777619u;
    }
    return (int)(hash & INT_MAX);
}

static void checksum_done(void *opaque, int ret)
{
    say("thread pool: checksum 0x%08x delivered to main loop", ret);
    demo.pool_done = true;
}

static void fill_buffer(void)
{
    demo.buf = g_malloc(BUF_SIZE);
    for (size_t i = 0; i < BUF_SIZE; i++) {
        demo.buf[i] = (uint8_t)(i * 7 + (i >> 12));
    }
}

static void start_pool_job(void)
{
    thread_pool_submit_aio(aio_get_thread_pool(demo.main_ctx),
                           checksum_job, NULL, checksum_done, NULL);
    say("thread pool: job submitted");
}

/* ---- coroutine ---------------------------------------------------------- */

static const char *where(void)
{
    AioContext *ctx = qemu_get_current_aio_context();

    if (ctx == demo.main_ctx) {
        return "main loop";
    }
    return iothread_get_name(demo.iothread);
}

/* Runs on the main loop once the coroutine has yielded. */
static void move_to_iothread_bh(void *opaque)
{
    say("main loop: moving coroutine to IOThread '%s' with aio_co_schedule",
        iothread_get_name(demo.iothread));
    aio_co_schedule(iothread_get_aio_context(demo.iothread), demo.co);
}

static void coroutine_fn demo_co(void *opaque)
{
    say("coroutine started on %s; sleeping %d ms", where(), SLEEP_MS);
    qemu_co_sleep_ns(QEMU_CLOCK_REALTIME, SLEEP_MS * SCALE_MS);
    say("coroutine woke up on %s; yielding", where());

    aio_bh_schedule_oneshot(demo.main_ctx, move_to_iothread_bh, NULL);
    qemu_coroutine_yield();
    say("coroutine now running in IOThread '%s'", where());

    aio_co_reschedule_self(demo.main_ctx);
    say("coroutine back on %s; done", where());
    demo.co_done = true;
}

/* ---- main --------------------------------------------------------------- */

static bool all_done(void)
{
    return demo.timer_fired && demo.bh_ran && demo.co_done &&
           demo.pool_done;
}

static void run(void)
{
    QEMUTimer *timer;

    demo.iothread = iothread_create("demo-io", &error_fatal);
    say("IOThread '%s' started", iothread_get_name(demo.iothread));

    timer = aio_timer_new(demo.main_ctx, QEMU_CLOCK_REALTIME, SCALE_MS,
                          timer_cb, NULL);
    timer_mod(timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + TIMER_MS);
    aio_bh_schedule_oneshot(demo.main_ctx, bh_cb, NULL);
    demo.co = qemu_coroutine_create(demo_co, NULL);
    qemu_coroutine_enter(demo.co);
    start_pool_job();

    while (!all_done()) {
        aio_poll(demo.main_ctx, true);
    }

    timer_free(timer);
    iothread_destroy(demo.iothread);
    say("IOThread stopped");
    g_free(demo.buf);
}

static void usage(const char *prog)
{
    printf("Usage: %s [--help]\n\n"
           "Show Spindle's event loop at work: a timer, a bottom half, a\n"
           "sleeping coroutine, a thread-pool job and an IOThread, each\n"
           "reporting with a timestamp, then a clean shutdown.\n", prog);
}

int main(int argc, char **argv)
{
    error_set_progname("spindle-demo");
    if (argc > 1) {
        if (argc == 2 && (!strcmp(argv[1], "--help") ||
                          !strcmp(argv[1], "-h"))) {
            usage(argv[0]);
            return 0;
        }
        error_report("unknown argument '%s' (try --help)", argv[1]);
        return 1;
    }

    qemu_init_main_loop(&error_fatal);
    fill_buffer();
    demo.main_ctx = qemu_get_aio_context();
    demo.start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    say("demo started: main loop uses the %s fd monitor",
        aio_context_get_fdmon_name(demo.main_ctx));
    run();
    say("demo finished");
    return 0;
}
