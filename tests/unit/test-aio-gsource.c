/*
 * Tests for the AioContext as a GSource (aio_get_g_source, aio_prepare,
 * aio_pending, aio_dispatch), including an io_uring context driven only
 * by GLib, and for the main loop built on it (qemu/main-loop.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "util/aio-posix.h"

typedef struct {
    GMainContext *gctx;
    AioContext *ctx;
    GSource *src;
} Loop;

static void loop_init(Loop *l)
{
    l->gctx = g_main_context_new();
    l->ctx = aio_context_new();
    l->src = aio_get_g_source(l->ctx);
    g_source_attach(l->src, l->gctx);
}

static void loop_destroy(Loop *l)
{
    g_source_destroy(l->src);
    g_source_unref(l->src);
    aio_context_unref(l->ctx);
    g_main_context_unref(l->gctx);
}

static void count_cb(void *opaque)
{
    int *n = opaque;

    qatomic_inc(n);
}

/* Iterate without blocking until nothing more is dispatched. */
static void settle(GMainContext *gctx)
{
    while (g_main_context_iteration(gctx, FALSE)) {
        /* keep going */
    }
}

static void test_bh(void)
{
    Loop l;
    int n = 0;
    QEMUBH *bh;

    loop_init(&l);
    bh = aio_bh_new(l.ctx, count_cb, &n);
    settle(l.gctx);
    qemu_bh_schedule(bh);
    g_assert_true(g_main_context_iteration(l.gctx, FALSE));
    g_assert_cmpint(n, ==, 1);
    settle(l.gctx);
    g_assert_cmpint(n, ==, 1);
    qemu_bh_delete(bh);
    loop_destroy(&l);
}

typedef struct {
    int fd;
    int reads;
} ReadState;

static void read_cb(void *opaque)
{
    ReadState *s = opaque;
    char c;

    g_assert_cmpint(read(s->fd, &c, 1), ==, 1);
    s->reads++;
}

static void test_fd(void)
{
    Loop l;
    int fds[2];
    ReadState s = { 0 };

    loop_init(&l);
    g_assert_cmpint(pipe(fds), ==, 0);
    s.fd = fds[0];
    aio_set_fd_handler(l.ctx, fds[0], read_cb, NULL, &s);
    settle(l.gctx);
    g_assert_cmpint(s.reads, ==, 0);
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    while (s.reads == 0) {
        g_main_context_iteration(l.gctx, TRUE);
    }
    g_assert_cmpint(s.reads, ==, 1);
    aio_set_fd_handler(l.ctx, fds[0], NULL, NULL, NULL);
    settle(l.gctx);
    close(fds[0]);
    close(fds[1]);
    loop_destroy(&l);
}

static void test_timer(void)
{
    Loop l;
    int n = 0;
    QEMUTimer t;

    loop_init(&l);
    aio_timer_init(l.ctx, &t, QEMU_CLOCK_REALTIME, SCALE_US, count_cb, &n);
    timer_mod(&t, qemu_clock_get_us(QEMU_CLOCK_REALTIME) + 300);
    while (n == 0) {
        g_main_context_iteration(l.gctx, TRUE);
    }
    g_assert_cmpint(n, ==, 1);
    g_assert_false(timer_pending(&t));
    timer_deinit(&t);
    loop_destroy(&l);
}

static int notifier_runs;

static void notifier_cb(EventNotifier *e)
{
    event_notifier_test_and_clear(e);
    notifier_runs++;
}

static void test_event_notifier(void)
{
    Loop l;
    EventNotifier e;

    loop_init(&l);
    notifier_runs = 0;
    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    aio_set_event_notifier(l.ctx, &e, notifier_cb);
    settle(l.gctx);
    event_notifier_set(&e);
    while (notifier_runs == 0) {
        g_main_context_iteration(l.gctx, TRUE);
    }
    g_assert_cmpint(notifier_runs, ==, 1);
    aio_set_event_notifier(l.ctx, &e, NULL);
    event_notifier_cleanup(&e);
    loop_destroy(&l);
}

typedef struct {
    QEMUBH *bh;
    AioContext *ctx;
} Wake;

static void *schedule_when_sleeping(void *opaque)
{
    Wake *w = opaque;

    /* Bit 0 of notify_me: the GSource is between prepare and check. */
    while (!(qatomic_read(&w->ctx->notify_me) & 1)) {
        g_usleep(100);
    }
    qemu_bh_schedule(w->bh);
    return NULL;
}

static void test_wakeup_from_thread(void)
{
    Loop l;
    int n = 0;
    Wake w;
    QemuThread thread;

    loop_init(&l);
    settle(l.gctx);
    w = (Wake) { aio_bh_new(l.ctx, count_cb, &n), l.ctx };
    qemu_thread_create(&thread, "waker", schedule_when_sleeping, &w,
                       QEMU_THREAD_JOINABLE);
    while (qatomic_read(&n) == 0) {
        g_main_context_iteration(l.gctx, TRUE);
    }
    qemu_thread_join(&thread);
    qemu_bh_delete(w.bh);
    loop_destroy(&l);
}

/* ---- an io_uring context driven only by GLib --------------------------- */

#define CHURN_ROUNDS 10000

/* A context on io_uring, or NULL (test skipped) where it is unavailable. */
static AioContext *ctx_new_io_uring(void)
{
    g_autofree char *saved = g_strdup(g_getenv("SPINDLE_FDMON"));
    Error *err = NULL;
    AioContext *ctx;

    g_setenv("SPINDLE_FDMON", "io_uring", TRUE);
    ctx = aio_context_try_new(&err);
    if (saved) {
        g_setenv("SPINDLE_FDMON", saved, TRUE);
    } else {
        g_unsetenv("SPINDLE_FDMON");
    }
    if (!ctx) {
        g_test_skip("io_uring not available in this build or kernel");
        error_free(err);
    }
    return ctx;
}

static unsigned io_uring_backlog(AioContext *ctx)
{
    return MAX(fdmon_io_uring_queued_changes(ctx),
               fdmon_io_uring_held_handlers(ctx));
}

/* Register and unregister a handler CHURN_ROUNDS times; GLib only. */
static unsigned churn(Loop *l, int fd, ReadState *s)
{
    unsigned worst = 0;

    for (int i = 0; i < CHURN_ROUNDS; i++) {
        aio_set_fd_handler(l->ctx, fd, read_cb, NULL, s);
        worst = MAX(worst, io_uring_backlog(l->ctx));
        g_main_context_iteration(l->gctx, FALSE);
        aio_set_fd_handler(l->ctx, fd, NULL, NULL, NULL);
        worst = MAX(worst, io_uring_backlog(l->ctx));
        g_main_context_iteration(l->gctx, FALSE);
        worst = MAX(worst, io_uring_backlog(l->ctx));
    }
    return worst;
}

static void set_flag_cb(void *opaque)
{
    *(bool *)opaque = true;
}

/*
 * Without aio_poll, io_uring's queue of handler changes used to grow by
 * two records (and one removed handler) per round.  The GSource's prepare
 * step must keep it bounded, and leave the context usable by both GLib
 * and aio_poll afterwards.
 */
static void test_io_uring_gsource_churn(void)
{
    Loop l;
    int fds[2];
    ReadState s = { 0 };
    bool timed_out = false;
    QEMUTimer t;

    l.ctx = ctx_new_io_uring();
    if (!l.ctx) {
        return;
    }
    l.gctx = g_main_context_new();
    l.src = aio_get_g_source(l.ctx);
    g_source_attach(l.src, l.gctx);
    g_assert_cmpint(pipe(fds), ==, 0);
    s.fd = fds[0];

    g_assert_cmpuint(churn(&l, fds[0], &s), <=, 2);
    g_assert_cmpuint(fdmon_io_uring_held_handlers(l.ctx), ==, 0);

    /* GLib still dispatches the fd... */
    aio_set_fd_handler(l.ctx, fds[0], read_cb, NULL, &s);
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    while (s.reads == 0) {
        g_main_context_iteration(l.gctx, TRUE);
    }
    /* ...and so does aio_poll, whose ring must watch it again (a timer
     * ends the wait if it does not). */
    aio_timer_init(l.ctx, &t, QEMU_CLOCK_REALTIME, SCALE_MS, set_flag_cb,
                   &timed_out);
    timer_mod(&t, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 10000);
    g_assert_cmpint(write(fds[1], "y", 1), ==, 1);
    while (s.reads == 1 && !timed_out) {
        aio_poll(l.ctx, true);
    }
    g_assert_false(timed_out);
    g_assert_cmpint(s.reads, ==, 2);
    timer_del(&t);
    timer_deinit(&t);

    aio_set_fd_handler(l.ctx, fds[0], NULL, NULL, NULL);
    settle(l.gctx);
    g_assert_cmpuint(io_uring_backlog(l.ctx), ==, 0);
    close(fds[0]);
    close(fds[1]);
    loop_destroy(&l);
}

/* ---- aio_prepare / aio_pending / aio_dispatch called directly ---------- */

static bool poll_ready_flag;
static int poll_ready_runs;

static bool flag_poll(void *opaque)
{
    return poll_ready_flag;
}

static void flag_poll_ready(void *opaque)
{
    poll_ready_flag = false;
    poll_ready_runs++;
}

static void test_prepare_pending_dispatch(void)
{
    AioContext *ctx = aio_context_new();
    int fds[2];
    int n = 0;

    g_assert_cmpint(pipe(fds), ==, 0);
    aio_set_fd_handler_poll(ctx, fds[0], NULL, NULL, flag_poll,
                            flag_poll_ready, NULL);
    poll_ready_flag = false;
    poll_ready_runs = 0;
    g_assert_false(aio_prepare(ctx));
    g_assert_false(aio_pending(ctx));

    poll_ready_flag = true;
    g_assert_true(aio_prepare(ctx));
    g_assert_true(aio_pending(ctx));
    g_assert_true(aio_dispatch(ctx));
    g_assert_cmpint(poll_ready_runs, ==, 1);
    g_assert_false(aio_pending(ctx));

    /* aio_dispatch also runs BHs. */
    aio_bh_schedule_oneshot(ctx, count_cb, &n);
    g_assert_true(aio_dispatch(ctx));
    g_assert_cmpint(n, ==, 1);
    g_assert_false(aio_dispatch(ctx));

    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    close(fds[0]);
    close(fds[1]);
    aio_context_unref(ctx);
}

static void test_source_keeps_ctx_alive(void)
{
    AioContext *ctx = aio_context_new();
    GSource *src = aio_get_g_source(ctx);
    int n = 0;

    /* The source's reference keeps the context usable. */
    aio_context_unref(ctx);
    aio_bh_schedule_oneshot(ctx, count_cb, &n);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);
    g_source_unref(src);
}

/* ---- the main loop ------------------------------------------------------ */

static void test_main_loop_init(void)
{
    g_assert_true(qemu_init_main_loop(&error_abort));
    g_assert_true(qemu_init_main_loop(&error_abort));   /* idempotent */
    g_assert_nonnull(qemu_get_aio_context());
    g_assert_true(qemu_get_current_aio_context() == qemu_get_aio_context());
    g_assert_true(qemu_in_main_thread());
    g_assert_true(in_aio_context_home_thread(qemu_get_aio_context()));
}

static void test_main_loop_init_failure(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;

        /* A fresh process: the main context does not exist yet. */
        g_setenv("SPINDLE_FDMON", "no-such-backend", TRUE);
        g_assert_false(qemu_init_main_loop(&err));
        g_assert_nonnull(err);
        fprintf(stderr, "%s\n", error_get_pretty(err));
        error_free(err);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*no-such-backend*");
}

static void test_main_loop_bh(void)
{
    int n = 0;
    QEMUBH *bh = qemu_bh_new(count_cb, &n);

    qemu_bh_schedule(bh);
    main_loop_wait(false);
    g_assert_cmpint(n, ==, 1);
    main_loop_wait(true);
    g_assert_cmpint(n, ==, 1);
    qemu_bh_delete(bh);
    main_loop_wait(true);
}

static void test_main_loop_timer(void)
{
    int n = 0;
    /* timer_new_* without a context lands on main_loop_tlg. */
    QEMUTimer *t = timer_new_us(QEMU_CLOCK_REALTIME, count_cb, &n);

    timer_mod(t, qemu_clock_get_us(QEMU_CLOCK_REALTIME) + 300);
    while (n == 0) {
        main_loop_wait(false);
    }
    g_assert_cmpint(n, ==, 1);
    /* aio_poll on the main context runs them too. */
    timer_mod(t, qemu_clock_get_us(QEMU_CLOCK_REALTIME) + 300);
    while (n == 1) {
        aio_poll(qemu_get_aio_context(), true);
    }
    timer_free(t);
}

static void *notify_main(void *opaque)
{
    AioContext *ctx = opaque;

    while (!(qatomic_read(&ctx->notify_me) & 1)) {
        g_usleep(100);
    }
    qemu_notify_event();
    return NULL;
}

static void test_main_loop_notify(void)
{
    QemuThread thread;

    main_loop_wait(true);
    qemu_thread_create(&thread, "notify", notify_main,
                       qemu_get_aio_context(), QEMU_THREAD_JOINABLE);
    main_loop_wait(false);      /* returns once notified */
    qemu_thread_join(&thread);
}

static void *in_other_thread(void *opaque)
{
    AioContext *ctx = opaque;
    bool *results = g_new0(bool, 4);

    results[0] = qemu_in_main_thread();
    qemu_set_current_aio_context(ctx);
    results[1] = qemu_in_main_thread();
    results[2] = in_aio_context_home_thread(ctx);
    results[3] = in_aio_context_home_thread(qemu_get_aio_context());
    qemu_set_current_aio_context(NULL);
    return results;
}

static void test_current_context_per_thread(void)
{
    AioContext *ctx = aio_context_new();
    QemuThread thread;
    g_autofree bool *results = NULL;

    qemu_thread_create(&thread, "other", in_other_thread, ctx,
                       QEMU_THREAD_JOINABLE);
    results = qemu_thread_join(&thread);
    g_assert_true(results[0]);    /* a plain thread counts as main */
    g_assert_false(results[1]);   /* one running its own context not */
    g_assert_true(results[2]);
    g_assert_false(results[3]);
    g_assert_false(in_aio_context_home_thread(ctx));
    g_assert_true(qemu_get_current_aio_context() == qemu_get_aio_context());
    aio_context_unref(ctx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/aio-gsource/bh", test_bh);
    g_test_add_func("/aio-gsource/fd", test_fd);
    g_test_add_func("/aio-gsource/timer", test_timer);
    g_test_add_func("/aio-gsource/event-notifier", test_event_notifier);
    g_test_add_func("/aio-gsource/wakeup-from-thread",
                    test_wakeup_from_thread);
    g_test_add_func("/aio-gsource/io_uring-churn",
                    test_io_uring_gsource_churn);
    g_test_add_func("/aio-gsource/prepare-pending-dispatch",
                    test_prepare_pending_dispatch);
    g_test_add_func("/aio-gsource/source-keeps-ctx-alive",
                    test_source_keeps_ctx_alive);
    g_test_add_func("/main-loop/init-failure", test_main_loop_init_failure);
    g_test_add_func("/main-loop/init", test_main_loop_init);
    g_test_add_func("/main-loop/bh", test_main_loop_bh);
    g_test_add_func("/main-loop/timer", test_main_loop_timer);
    g_test_add_func("/main-loop/notify", test_main_loop_notify);
    g_test_add_func("/main-loop/current-context-per-thread",
                    test_current_context_per_thread);
    return g_test_run();
}
