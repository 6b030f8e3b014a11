/*
 * Tests for the fd monitor backends (util/fdmon-*.c) behind aio_poll.
 *
 * Every behaviour test runs once per backend (/fdmon/<backend>/...): the
 * backend is forced with SPINDLE_FDMON before aio_context_new, and the
 * test checks aio_context_get_fdmon_name.  io_uring tests are skipped
 * only when the build or the kernel lacks io_uring.  /fdmon/fallback/...
 * covers the choice of backend, using the test hooks
 * SPINDLE_FDMON_IO_URING_FAIL and SPINDLE_FDMON_EPOLL_FAIL.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "util/aio-posix.h"
#include "config-host.h"
#ifdef CONFIG_IO_URING
#include <liburing.h>
#endif
#include <fcntl.h>
#include <sys/resource.h>

/* Pipes in the many-fds test (fewer if RLIMIT_NOFILE is low). */
#define MANY_PIPES 500
/* A thread test that is still waiting after this long has failed. */
#define WATCHDOG_NS (20 * NANOSECONDS_PER_SECOND)

static int max_pipes = MANY_PIPES;

typedef struct TestPipe {
    int rfd;
    int wfd;
    int reads;              /* io_read calls */
    int writes;             /* io_write calls */
    AioContext *ctx;
    struct TestPipe *peer;  /* another pipe a callback acts on */
} TestPipe;

/* ---- helpers ------------------------------------------------------------ */

static bool io_uring_usable(void)
{
#ifdef CONFIG_IO_URING
    struct io_uring ring;

    if (io_uring_queue_init(4, &ring, 0) == 0) {
        io_uring_queue_exit(&ring);
        return true;
    }
#endif
    return false;
}

static void env_restore(const char *name, const char *saved)
{
    if (saved) {
        g_setenv(name, saved, TRUE);
    } else {
        g_unsetenv(name);
    }
}

/* A context on @backend (NULL: the default choice); NULL + skip if absent. */
static AioContext *ctx_new_on(const char *backend)
{
    g_autofree char *saved = g_strdup(g_getenv("SPINDLE_FDMON"));
    AioContext *ctx;

    if (backend && !strcmp(backend, "io_uring") && !io_uring_usable()) {
        g_test_skip("io_uring not available in this build or kernel");
        return NULL;
    }
    env_restore("SPINDLE_FDMON", backend);
    ctx = aio_context_new();
    env_restore("SPINDLE_FDMON", saved);
    if (backend) {
        g_assert_cmpstr(aio_context_get_fdmon_name(ctx), ==, backend);
    }
    return ctx;
}

/* aio_poll(false) until no progress (bounded), then once more. */
static void settle(AioContext *ctx)
{
    for (int i = 0; i < 1000 && aio_poll(ctx, false); i++) {
        /* keep going */
    }
    aio_poll(ctx, false);
}

/* End of a test: the backend did not fall back behind our back. */
static void ctx_finish(AioContext *ctx, const void *backend)
{
    g_assert_cmpstr(aio_context_get_fdmon_name(ctx), ==, backend);
    aio_context_unref(ctx);
}

static void pipe_open(TestPipe *p, AioContext *ctx)
{
    int fds[2];

    g_assert_cmpint(pipe2(fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
    *p = (TestPipe){ .rfd = fds[0], .wfd = fds[1], .ctx = ctx };
}

static void pipe_close(TestPipe *p)
{
    close(p->rfd);
    close(p->wfd);
    p->rfd = p->wfd = -1;
}

static void pipe_poke(TestPipe *p, int nbytes)
{
    static const char data[8] = "abcdefg";

    g_assert_cmpint(write(p->wfd, data, nbytes), ==, nbytes);
}

static void drain_fd(int fd)
{
    char buf[4096];

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* empty it */
    }
}

/* io_read: consume everything. */
static void read_all_cb(void *opaque)
{
    TestPipe *p = opaque;

    drain_fd(p->rfd);
    p->reads++;
}

/* io_read: consume one byte, leaving the rest for the next iteration. */
static void read_one_cb(void *opaque)
{
    TestPipe *p = opaque;
    char c;

    g_assert_cmpint(read(p->rfd, &c, 1), ==, 1);
    p->reads++;
}

static void set_reader(TestPipe *p, IOHandler *cb)
{
    aio_set_fd_handler(p->ctx, p->rfd, cb, NULL, p);
}

static void clear_reader(TestPipe *p)
{
    aio_set_fd_handler(p->ctx, p->rfd, NULL, NULL, NULL);
}

static void watchdog_cb(void *opaque)
{
    g_error("watchdog: the loop was not woken");
}

/* Turn "aio_poll never returns" into a failure. */
static QEMUTimer *watchdog_new(AioContext *ctx)
{
    QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS,
                                 watchdog_cb, NULL);

    timer_mod(t, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + WATCHDOG_NS);
    return t;
}

/* From a helper thread: wait until @ctx's poller announces it may sleep. */
static void wait_for_sleeper(AioContext *ctx)
{
    while (qatomic_read(&ctx->notify_me) < 2) {
        g_usleep(100);
    }
    g_usleep(2000);
}

/* ---- basics ------------------------------------------------------------- */

static void test_name(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);

    if (!ctx) {
        return;
    }
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpstr(aio_context_get_fdmon_name(ctx), ==, backend);
    ctx_finish(ctx, backend);
}

/* Readiness of a subset of many fds dispatches exactly that subset. */
static void poke_subset_and_check(TestPipe *pipes, int n, int mod, int rem,
                                  int *expect)
{
    for (int i = 0; i < n; i++) {
        if (i % mod == rem) {
            pipe_poke(&pipes[i], 1);
            expect[i]++;
        }
    }
    settle(pipes[0].ctx);
    for (int i = 0; i < n; i++) {
        g_assert_cmpint(pipes[i].reads, ==, expect[i]);
    }
}

static void test_many_fds(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    g_autofree TestPipe *pipes = g_new0(TestPipe, max_pipes);
    g_autofree int *expect = g_new0(int, max_pipes);

    if (!ctx) {
        return;
    }
    for (int i = 0; i < max_pipes; i++) {
        pipe_open(&pipes[i], ctx);
        set_reader(&pipes[i], read_all_cb);
    }
    settle(ctx);
    poke_subset_and_check(pipes, max_pipes, 1000, 999, expect);
    poke_subset_and_check(pipes, max_pipes, 7, 3, expect);
    poke_subset_and_check(pipes, max_pipes, 5, 1, expect);
    poke_subset_and_check(pipes, max_pipes, 1, 0, expect);
    for (int i = 0; i < max_pipes; i++) {
        clear_reader(&pipes[i]);
        pipe_close(&pipes[i]);
    }
    settle(ctx);
    ctx_finish(ctx, backend);
}

/* A handler that leaves data unread runs again (level-triggered). */
static void test_level_triggered(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe p;

    if (!ctx) {
        return;
    }
    pipe_open(&p, ctx);
    set_reader(&p, read_one_cb);
    settle(ctx);
    pipe_poke(&p, 3);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(p.reads, ==, 1);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(p.reads, ==, 2);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(p.reads, ==, 3);
    settle(ctx);
    g_assert_cmpint(p.reads, ==, 3);
    clear_reader(&p);
    pipe_close(&p);
    ctx_finish(ctx, backend);
}

/* io_write: count, and stop watching after the first call. */
static void write_once_cb(void *opaque)
{
    TestPipe *p = opaque;

    p->writes++;
    aio_set_fd_handler(p->ctx, p->wfd, NULL, NULL, NULL);
}

static void fill_pipe(TestPipe *p)
{
    char buf[4096] = { 0 };

    while (write(p->wfd, buf, sizeof(buf)) > 0) {
        /* until EAGAIN */
    }
}

/* A write handler runs when its fd becomes writable, not before. */
static void test_write_handler(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe p;

    if (!ctx) {
        return;
    }
    pipe_open(&p, ctx);
    fill_pipe(&p);
    aio_set_fd_handler(ctx, p.wfd, NULL, write_once_cb, &p);
    settle(ctx);
    g_assert_cmpint(p.writes, ==, 0);

    drain_fd(p.rfd);
    settle(ctx);
    g_assert_cmpint(p.writes, ==, 1);
    pipe_close(&p);
    ctx_finish(ctx, backend);
}

/* ---- removing handlers -------------------------------------------------- */

/* io_read: remove the peer's handler, then drain our own fd. */
static void remove_peer_cb(void *opaque)
{
    TestPipe *p = opaque;

    if (p->peer) {
        clear_reader(p->peer);
        p->peer->peer = NULL;
        p->peer = NULL;
    }
    read_all_cb(p);
}

/* Two ready handlers, each removing the other: only the first one runs. */
static void test_remove_ready_peer(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe a, b;

    if (!ctx) {
        return;
    }
    pipe_open(&a, ctx);
    pipe_open(&b, ctx);
    a.peer = &b;
    b.peer = &a;
    set_reader(&a, remove_peer_cb);
    set_reader(&b, remove_peer_cb);
    settle(ctx);
    pipe_poke(&a, 1);
    pipe_poke(&b, 1);
    settle(ctx);
    g_assert_cmpint(a.reads + b.reads, ==, 1);

    /* The survivor still works, the removed one stays silent. */
    pipe_poke(&a, 1);
    pipe_poke(&b, 1);
    settle(ctx);
    g_assert_true((a.reads == 2 && b.reads == 0) ||
                  (a.reads == 0 && b.reads == 2));
    clear_reader(a.reads ? &a : &b);
    pipe_close(&a);
    pipe_close(&b);
    ctx_finish(ctx, backend);
}

/* io_read: make the peer ready, then remove its handler. */
static void poke_and_remove_peer_cb(void *opaque)
{
    TestPipe *p = opaque;

    pipe_poke(p->peer, 1);
    clear_reader(p->peer);
    read_all_cb(p);
}

/*
 * The peer's fd becomes ready while its handler is being removed (for
 * io_uring: its poll completes while the removal is still queued).
 */
static void test_remove_while_completing(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe a, b;

    if (!ctx) {
        return;
    }
    pipe_open(&a, ctx);
    pipe_open(&b, ctx);
    a.peer = &b;
    set_reader(&a, poke_and_remove_peer_cb);
    set_reader(&b, read_all_cb);
    settle(ctx);
    pipe_poke(&a, 1);
    settle(ctx);
    g_assert_cmpint(a.reads, ==, 1);
    g_assert_cmpint(b.reads, ==, 0);
    clear_reader(&a);
    pipe_close(&a);
    pipe_close(&b);
    ctx_finish(ctx, backend);
}

/* A handler removed after its fd became ready, before polling, never runs. */
static void test_remove_ready(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe p;

    if (!ctx) {
        return;
    }
    pipe_open(&p, ctx);
    set_reader(&p, read_all_cb);
    settle(ctx);
    pipe_poke(&p, 1);
    clear_reader(&p);
    settle(ctx);
    g_assert_cmpint(p.reads, ==, 0);
    pipe_close(&p);
    ctx_finish(ctx, backend);
}

/* Handlers whose polls are in flight, removed just before the context
 * goes away: teardown must cancel and free them (ASan checks). */
static void test_remove_then_unref(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe pipes[32];

    if (!ctx) {
        return;
    }
    for (int i = 0; i < ARRAY_SIZE(pipes); i++) {
        pipe_open(&pipes[i], ctx);
        set_reader(&pipes[i], read_all_cb);
    }
    settle(ctx);
    for (int i = 0; i < ARRAY_SIZE(pipes); i++) {
        pipe_poke(&pipes[i], i % 2);
        clear_reader(&pipes[i]);
    }
    ctx_finish(ctx, backend);
    for (int i = 0; i < ARRAY_SIZE(pipes); i++) {
        g_assert_cmpint(pipes[i].reads, ==, 0);
        pipe_close(&pipes[i]);
    }
}

/* ---- the same fd again -------------------------------------------------- */

/* Removed and re-added in one iteration: only the new callback runs. */
static void test_readd_same_fd(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe old_p, new_p;

    if (!ctx) {
        return;
    }
    pipe_open(&old_p, ctx);
    new_p = old_p;
    set_reader(&old_p, read_all_cb);
    settle(ctx);
    clear_reader(&old_p);
    set_reader(&new_p, read_all_cb);
    pipe_poke(&new_p, 1);
    settle(ctx);
    g_assert_cmpint(old_p.reads, ==, 0);
    g_assert_cmpint(new_p.reads, ==, 1);
    clear_reader(&new_p);
    pipe_close(&new_p);
    ctx_finish(ctx, backend);
}

/* io_read: hand the fd over to the peer's callback, reading nothing. */
static void swap_to_peer_cb(void *opaque)
{
    TestPipe *p = opaque;

    p->reads++;
    clear_reader(p);
    set_reader(p->peer, read_all_cb);
}

/* Removed and re-added from inside its own callback. */
static void test_readd_in_callback(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe first, second;

    if (!ctx) {
        return;
    }
    pipe_open(&first, ctx);
    second = first;
    first.peer = &second;
    set_reader(&first, swap_to_peer_cb);
    settle(ctx);
    pipe_poke(&first, 1);
    settle(ctx);
    g_assert_cmpint(first.reads, ==, 1);
    g_assert_cmpint(second.reads, ==, 1);

    pipe_poke(&second, 1);
    settle(ctx);
    g_assert_cmpint(first.reads, ==, 1);
    g_assert_cmpint(second.reads, ==, 2);
    clear_reader(&second);
    pipe_close(&second);
    ctx_finish(ctx, backend);
}

/*
 * An fd is closed (its handler still registered, or removed first), and
 * a new pipe gets the same number: the new handler sees the new pipe.
 */
static void check_fd_reuse(const void *backend, bool remove_first)
{
    AioContext *ctx = ctx_new_on(backend);
    TestPipe old_p, new_p;
    int old_rfd;

    if (!ctx) {
        return;
    }
    pipe_open(&old_p, ctx);
    old_rfd = old_p.rfd;
    set_reader(&old_p, read_all_cb);
    settle(ctx);
    if (remove_first) {
        clear_reader(&old_p);
    }
    pipe_close(&old_p);
    pipe_open(&new_p, ctx);
    g_assert_cmpint(new_p.rfd, ==, old_rfd);
    set_reader(&new_p, read_all_cb);
    pipe_poke(&new_p, 1);
    settle(ctx);
    g_assert_cmpint(old_p.reads, ==, 0);
    g_assert_cmpint(new_p.reads, ==, 1);
    clear_reader(&new_p);
    pipe_close(&new_p);
    ctx_finish(ctx, backend);
}

static void test_fd_reuse_closed(const void *backend)
{
    check_fd_reuse(backend, false);
}

static void test_fd_reuse_removed(const void *backend)
{
    check_fd_reuse(backend, true);
}

/* A regular file is always ready; epoll cannot watch it and gives way. */
static void test_regular_file(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    char path[] = "/tmp/test-fdmon-XXXXXX";
    TestPipe p = { 0 };

    if (!ctx) {
        return;
    }
    p.rfd = mkstemp(path);
    g_assert_cmpint(p.rfd, >=, 0);
    unlink(path);
    p.ctx = ctx;
    p.wfd = p.rfd;
    aio_set_fd_handler(ctx, p.rfd, NULL, write_once_cb, &p);
    settle(ctx);
    g_assert_cmpint(p.writes, ==, 1);
    g_assert_cmpstr(aio_context_get_fdmon_name(ctx), ==,
                    !strcmp(backend, "epoll") ? "poll" : backend);
    close(p.rfd);
    aio_context_unref(ctx);
}

/* ---- timeouts ----------------------------------------------------------- */

static void timer_cb(void *opaque)
{
    int *fired = opaque;

    (*fired)++;
}

/* A blocking aio_poll with only a timer sleeps until the timer is due. */
static void check_timer_wait(AioContext *ctx, int64_t delay_ns)
{
    int fired = 0;
    QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS,
                                 timer_cb, &fired);
    int64_t deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + delay_ns;

    timer_mod(t, deadline);
    /* timer_mod may have notified the context: consume that first. */
    while (aio_poll(ctx, false) && !fired) {
        /* keep going */
    }
    if (!fired) {
        g_assert_true(aio_poll(ctx, true));
    }
    g_assert_cmpint(fired, ==, 1);
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_REALTIME), >=, deadline);
    timer_free(t);
}

static void test_timer_only(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);

    if (!ctx) {
        return;
    }
    settle(ctx);
    /* Not whole milliseconds: a wait rounded down would wake too early. */
    check_timer_wait(ctx, 2500 * SCALE_US);
    check_timer_wait(ctx, 10500 * SCALE_US);
    check_timer_wait(ctx, 700 * SCALE_US);
    ctx_finish(ctx, backend);
}

/* ---- other threads ------------------------------------------------------ */

static gpointer notify_thread(gpointer opaque)
{
    AioContext *ctx = opaque;

    wait_for_sleeper(ctx);
    aio_notify(ctx);
    return NULL;
}

/* aio_notify from another thread wakes a blocking aio_poll. */
static void test_notify_from_thread(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    QEMUTimer *watchdog;
    GThread *thread;

    if (!ctx) {
        return;
    }
    settle(ctx);
    watchdog = watchdog_new(ctx);
    settle(ctx);
    thread = g_thread_new("notify", notify_thread, ctx);
    aio_poll(ctx, true);
    g_thread_join(thread);
    timer_free(watchdog);
    ctx_finish(ctx, backend);
}

static gpointer poke_thread(gpointer opaque)
{
    TestPipe *p = opaque;

    wait_for_sleeper(p->ctx);
    pipe_poke(p, 1);
    return NULL;
}

/* An fd made ready by another thread wakes a blocking aio_poll. */
static void test_fd_from_thread(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    QEMUTimer *watchdog;
    GThread *thread;
    TestPipe p;

    if (!ctx) {
        return;
    }
    pipe_open(&p, ctx);
    set_reader(&p, read_all_cb);
    watchdog = watchdog_new(ctx);
    settle(ctx);
    thread = g_thread_new("poke", poke_thread, &p);
    while (!p.reads) {
        aio_poll(ctx, true);
    }
    g_thread_join(thread);
    g_assert_cmpint(p.reads, ==, 1);
    timer_free(watchdog);
    clear_reader(&p);
    pipe_close(&p);
    ctx_finish(ctx, backend);
}

static gpointer set_handler_thread(gpointer opaque)
{
    TestPipe *p = opaque;

    wait_for_sleeper(p->ctx);
    set_reader(p, read_all_cb);
    return NULL;
}

/* A handler added by another thread while the loop sleeps takes effect. */
static void test_set_handler_from_thread(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    QEMUTimer *watchdog;
    GThread *thread;
    TestPipe p;

    if (!ctx) {
        return;
    }
    pipe_open(&p, ctx);
    pipe_poke(&p, 1);
    watchdog = watchdog_new(ctx);
    settle(ctx);
    thread = g_thread_new("set-handler", set_handler_thread, &p);
    while (!qatomic_read(&p.reads)) {
        aio_poll(ctx, true);
    }
    g_thread_join(thread);
    g_assert_cmpint(p.reads, ==, 1);
    timer_free(watchdog);
    clear_reader(&p);
    pipe_close(&p);
    ctx_finish(ctx, backend);
}

static gpointer remove_and_poke_thread(gpointer opaque)
{
    TestPipe *p = opaque;

    wait_for_sleeper(p->ctx);
    clear_reader(p);
    pipe_poke(p, 1);
    qatomic_set(&p->writes, 1);     /* done: wake the loop to see it */
    aio_notify(p->ctx);
    return NULL;
}

/*
 * Another thread removes a handler while the loop sleeps, then makes its
 * fd ready: the handler never runs (for io_uring the poll's completion
 * can be reaped while the removal still waits to be submitted).
 */
static void test_remove_from_thread(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    QEMUTimer *watchdog;

    if (!ctx) {
        return;
    }
    watchdog = watchdog_new(ctx);
    for (int i = 0; i < 20; i++) {
        TestPipe p;
        GThread *thread;

        pipe_open(&p, ctx);
        set_reader(&p, read_all_cb);
        settle(ctx);
        thread = g_thread_new("remove", remove_and_poke_thread, &p);
        while (!qatomic_read(&p.writes)) {
            aio_poll(ctx, true);
        }
        g_thread_join(thread);
        settle(ctx);
        g_assert_cmpint(p.reads, ==, 0);
        pipe_close(&p);
    }
    timer_free(watchdog);
    ctx_finish(ctx, backend);
}

static gpointer settle_thread(gpointer opaque)
{
    settle(opaque);
    return NULL;
}

/*
 * Handlers armed while another thread ran the context keep working after
 * that thread exits (the kernel may cancel an exiting thread's io_uring
 * requests).
 */
static void test_armed_by_exited_thread(const void *backend)
{
    AioContext *ctx = ctx_new_on(backend);
    QEMUTimer *watchdog;
    TestPipe p;

    if (!ctx) {
        return;
    }
    pipe_open(&p, ctx);
    set_reader(&p, read_all_cb);
    watchdog = watchdog_new(ctx);
    g_thread_join(g_thread_new("settle", settle_thread, ctx));
    pipe_poke(&p, 1);
    /* Blocking: the kernel may report the lost poll asynchronously. */
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(p.reads, ==, 1);
    pipe_poke(&p, 1);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(p.reads, ==, 2);
    timer_free(watchdog);
    clear_reader(&p);
    pipe_close(&p);
    ctx_finish(ctx, backend);
}

/* ---- backend internals (util/aio-posix.h) ------------------------------- */

static bool poll_cb(void *opaque)
{
    return false;
}

/* io_uring asks for a wait while handler changes are not yet submitted. */
static void test_io_uring_need_wait(void)
{
    AioContext *ctx = ctx_new_on("io_uring");
    TestPipe p;

    if (!ctx) {
        return;
    }
    settle(ctx);
    /* Only handlers with io_poll: busy polling could skip the wait. */
    g_assert_false(ctx->fdmon_ops->need_wait(ctx));
    pipe_open(&p, ctx);
    aio_set_fd_handler_poll(ctx, p.rfd, read_all_cb, NULL, poll_cb, NULL,
                            &p);
    g_assert_true(ctx->fdmon_ops->need_wait(ctx));
    settle(ctx);
    g_assert_false(ctx->fdmon_ops->need_wait(ctx));
    clear_reader(&p);
    g_assert_true(ctx->fdmon_ops->need_wait(ctx));
    pipe_close(&p);
    aio_context_unref(ctx);
}

/* Destroying the ring at run time leaves a working poll context. */
static void test_io_uring_destroy_live(void)
{
    AioContext *ctx = ctx_new_on("io_uring");
    TestPipe p, gone;

    if (!ctx) {
        return;
    }
    pipe_open(&p, ctx);
    pipe_open(&gone, ctx);
    set_reader(&p, read_all_cb);
    set_reader(&gone, read_all_cb);
    settle(ctx);
    clear_reader(&gone);     /* its poll is still in flight */
    fdmon_io_uring_destroy(ctx);
    g_assert_cmpstr(aio_context_get_fdmon_name(ctx), ==, "poll");
    fdmon_io_uring_destroy(ctx);    /* not in use any more: no-op */

    pipe_poke(&p, 1);
    pipe_poke(&gone, 1);
    settle(ctx);
    g_assert_cmpint(p.reads, ==, 1);
    g_assert_cmpint(gone.reads, ==, 0);
    clear_reader(&p);
    pipe_close(&p);
    pipe_close(&gone);
    aio_context_unref(ctx);
}

/* fdmon_epoll_disable switches a live context to poll. */
static void test_epoll_disable_live(void)
{
    AioContext *ctx = ctx_new_on("epoll");
    TestPipe p;

    pipe_open(&p, ctx);
    set_reader(&p, read_all_cb);
    settle(ctx);
    qemu_mutex_lock(&ctx->list_lock);
    fdmon_epoll_disable(ctx);
    qemu_mutex_unlock(&ctx->list_lock);
    g_assert_cmpstr(aio_context_get_fdmon_name(ctx), ==, "poll");
    g_assert_cmpint(ctx->epollfd, ==, -1);

    pipe_poke(&p, 1);
    settle(ctx);
    g_assert_cmpint(p.reads, ==, 1);
    clear_reader(&p);
    pipe_close(&p);
    aio_context_unref(ctx);
}

/* ---- choosing a backend ------------------------------------------------- */

/* Name of the backend a context gets with the given failure hooks. */
static char *default_backend(bool uring_fails, bool epoll_fails)
{
    g_autofree char *saved = g_strdup(g_getenv("SPINDLE_FDMON"));
    AioContext *ctx;
    char *name;

    g_unsetenv("SPINDLE_FDMON");
    env_restore("SPINDLE_FDMON_IO_URING_FAIL", uring_fails ? "1" : NULL);
    env_restore("SPINDLE_FDMON_EPOLL_FAIL", epoll_fails ? "1" : NULL);
    ctx = aio_context_new();
    g_unsetenv("SPINDLE_FDMON_IO_URING_FAIL");
    g_unsetenv("SPINDLE_FDMON_EPOLL_FAIL");
    env_restore("SPINDLE_FDMON", saved);
    name = g_strdup(aio_context_get_fdmon_name(ctx));
    aio_context_unref(ctx);
    return name;
}

static void test_fallback_default(void)
{
    g_autofree char *name = default_backend(false, false);

    g_assert_cmpstr(name, ==, io_uring_usable() ? "io_uring" : "epoll");
}

static void test_fallback_io_uring_fails(void)
{
    g_autofree char *name = default_backend(true, false);

    g_assert_cmpstr(name, ==, "epoll");
}

static void test_fallback_all_fail(void)
{
    g_autofree char *name = default_backend(true, true);

    g_assert_cmpstr(name, ==, "poll");
}

/* A forced backend that cannot be set up is an error, not a fallback. */
static void test_fallback_forced_unavailable(void)
{
    g_autofree char *saved = g_strdup(g_getenv("SPINDLE_FDMON"));
    Error *err = NULL;
    AioContext *ctx;

    g_setenv("SPINDLE_FDMON", "io_uring", TRUE);
    g_setenv("SPINDLE_FDMON_IO_URING_FAIL", "1", TRUE);
    ctx = aio_context_try_new(&err);
    g_unsetenv("SPINDLE_FDMON_IO_URING_FAIL");
    env_restore("SPINDLE_FDMON", saved);
    g_assert_null(ctx);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "io_uring"));
    error_free(err);
}

/* ---- registration ------------------------------------------------------- */

static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        max_pipes = MIN(MANY_PIPES, ((int)rl.rlim_cur - 64) / 2);
        g_assert_cmpint(max_pipes, >, 0);
    }
}

typedef void TestFn(const void *backend);

static void add_per_backend(const char *name, TestFn *fn)
{
    static const char *const backends[] = { "poll", "epoll", "io_uring" };

    for (int i = 0; i < ARRAY_SIZE(backends); i++) {
        g_autofree char *path = g_strdup_printf("/fdmon/%s/%s",
                                                backends[i], name);

        g_test_add_data_func(path, backends[i], fn);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    raise_fd_limit();
    g_unsetenv("SPINDLE_FDMON_IO_URING_FAIL");
    g_unsetenv("SPINDLE_FDMON_EPOLL_FAIL");

    add_per_backend("name", test_name);
    add_per_backend("many-fds", test_many_fds);
    add_per_backend("level-triggered", test_level_triggered);
    add_per_backend("write-handler", test_write_handler);
    add_per_backend("remove/ready-peer", test_remove_ready_peer);
    add_per_backend("remove/while-completing", test_remove_while_completing);
    add_per_backend("remove/ready", test_remove_ready);
    add_per_backend("remove/then-unref", test_remove_then_unref);
    add_per_backend("same-fd/readd", test_readd_same_fd);
    add_per_backend("same-fd/readd-in-callback", test_readd_in_callback);
    add_per_backend("same-fd/reuse-closed", test_fd_reuse_closed);
    add_per_backend("same-fd/reuse-removed", test_fd_reuse_removed);
    add_per_backend("regular-file", test_regular_file);
    add_per_backend("timer-only", test_timer_only);
    add_per_backend("thread/notify", test_notify_from_thread);
    add_per_backend("thread/fd-ready", test_fd_from_thread);
    add_per_backend("thread/set-handler", test_set_handler_from_thread);
    add_per_backend("thread/remove", test_remove_from_thread);
    add_per_backend("thread/armed-by-exited-thread",
                    test_armed_by_exited_thread);

    g_test_add_func("/fdmon/io_uring/need-wait", test_io_uring_need_wait);
    g_test_add_func("/fdmon/io_uring/destroy-live",
                    test_io_uring_destroy_live);
    g_test_add_func("/fdmon/epoll/disable-live", test_epoll_disable_live);

    g_test_add_func("/fdmon/fallback/default", test_fallback_default);
    g_test_add_func("/fdmon/fallback/io_uring-fails",
                    test_fallback_io_uring_fails);
    g_test_add_func("/fdmon/fallback/all-fail", test_fallback_all_fail);
    g_test_add_func("/fdmon/fallback/forced-unavailable",
                    test_fallback_forced_unavailable);
    return g_test_run();
}
