/*
 * Tests for block/aio.h: the AioContext event loop driven by aio_poll.
 *
 * Run once per fd monitor: SPINDLE_FDMON=poll|epoll|io_uring selects the
 * backend (an unavailable one skips the whole binary).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "util/aio-posix.h"
#include <poll.h>
#include <sys/socket.h>

static AioContext *ctx_new(void)
{
    return aio_context_new();
}

/* Run aio_poll(ctx, false) until it reports no progress; count the calls. */
static int drain(AioContext *ctx)
{
    int n = 0;

    while (aio_poll(ctx, false)) {
        n++;
    }
    return n;
}

/* ---- context life cycle ------------------------------------------------ */

static void test_context_new(void)
{
    AioContext *ctx = ctx_new();
    const char *want = g_getenv("SPINDLE_FDMON");

    g_assert_nonnull(aio_context_get_fdmon_name(ctx));
    if (want && *want) {
        g_assert_cmpstr(aio_context_get_fdmon_name(ctx), ==, want);
    }
    g_assert_false(aio_poll(ctx, false));
    aio_context_unref(ctx);
}

static void test_context_bad_fdmon(void)
{
    g_autofree char *saved = g_strdup(g_getenv("SPINDLE_FDMON"));
    Error *err = NULL;
    AioContext *ctx;

    g_setenv("SPINDLE_FDMON", "carrier-pigeon", TRUE);
    ctx = aio_context_try_new(&err);
    if (saved) {
        g_setenv("SPINDLE_FDMON", saved, TRUE);
    } else {
        g_unsetenv("SPINDLE_FDMON");
    }
    g_assert_null(ctx);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "carrier-pigeon"));
    error_free(err);
}

/* The seed's aio_context_new() cannot report failure: it says why and aborts. */
static void test_context_new_aborts(void)
{
    if (g_test_subprocess()) {
        g_setenv("SPINDLE_FDMON", "carrier-pigeon", TRUE);
        aio_context_new();
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*carrier-pigeon*");
}

static void count_cb(void *opaque)
{
    int *counter = opaque;

    (*counter)++;
}

static void test_context_ref(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUBH *bh;

    aio_context_ref(ctx);
    aio_context_unref(ctx);
    /* Still alive after dropping the extra reference. */
    bh = aio_bh_new(ctx, count_cb, &n);
    qemu_bh_schedule(bh);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);
    qemu_bh_delete(bh);
    aio_context_unref(ctx);
}

static void test_context_acquire_recursive(void)
{
    AioContext *ctx = ctx_new();

    aio_context_acquire(ctx);
    aio_context_acquire(ctx);
    g_assert_true(rfifolock_held_by_self(&ctx->lock));
    aio_context_release(ctx);
    g_assert_true(rfifolock_held_by_self(&ctx->lock));
    aio_context_release(ctx);
    g_assert_false(rfifolock_held_by_self(&ctx->lock));
    aio_context_unref(ctx);
}

static void test_context_thread_pool(void)
{
    AioContext *ctx = ctx_new();
    ThreadPool *pool = aio_get_thread_pool(ctx);

    g_assert_nonnull(pool);
    g_assert_true(aio_get_thread_pool(ctx) == pool);
    aio_context_unref(ctx);   /* frees the pool too (ASan checks) */
}

/* ---- notify ------------------------------------------------------------- */

static void test_poll_nothing(void)
{
    AioContext *ctx = ctx_new();

    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(aio_compute_timeout(ctx), ==, -1);
    aio_context_unref(ctx);
}

static void *notify_when_sleeping(void *opaque)
{
    AioContext *ctx = opaque;

    /* Wait until the loop announced it may sleep, then wake it. */
    while (qatomic_read(&ctx->notify_me) < 2) {
        g_usleep(100);
    }
    aio_notify(ctx);
    return NULL;
}

static void test_notify_from_thread(void)
{
    AioContext *ctx = ctx_new();
    QemuThread thread;

    qemu_thread_create(&thread, "notifier", notify_when_sleeping, ctx,
                       QEMU_THREAD_JOINABLE);
    /* Woken with nothing to do: returns, without progress. */
    g_assert_false(aio_poll(ctx, true));
    qemu_thread_join(&thread);
    aio_context_unref(ctx);
}

static void test_notify_before_poll(void)
{
    AioContext *ctx = ctx_new();

    /* A notification that nobody saw yet ends the next wait at once. */
    aio_notify(ctx);
    g_assert_false(aio_poll(ctx, true));
    g_assert_false(aio_poll(ctx, false));
    aio_context_unref(ctx);
}

static void test_notify_accept(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_US,
                                 count_cb, &n);

    timer_mod(t, qemu_clock_get_us(QEMU_CLOCK_REALTIME) + 1000);
    aio_notify(ctx);
    aio_notify_accept(ctx);
    /* The notification was consumed: the wait lasts until the timer. */
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(n, ==, 1);
    timer_free(t);
    aio_context_unref(ctx);
}

static bool fd_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, 0) == 1;
}

static void test_notify_skips_syscall(void)
{
    AioContext *ctx = ctx_new();
    int fd = event_notifier_get_fd(&ctx->notifier);

    /* Nobody may be sleeping: the notifier is not written. */
    aio_notify(ctx);
    g_assert_false(fd_readable(fd));
    /* aio_set_dispatching(false) announces a sleeper: now it is. */
    aio_set_dispatching(ctx, false);
    aio_notify(ctx);
    g_assert_true(fd_readable(fd));
    aio_set_dispatching(ctx, true);
    aio_poll(ctx, false);
    aio_context_unref(ctx);
}

/* ---- bottom halves --------------------------------------------------- */

static void test_bh_schedule(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_cb, &n);

    qemu_bh_schedule(bh);
    g_assert_cmpint(aio_compute_timeout(ctx), ==, 0);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);
    qemu_bh_delete(bh);
    aio_context_unref(ctx);
}

static void test_bh_schedule_twice(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_cb, &n);

    qemu_bh_schedule(bh);
    qemu_bh_schedule(bh);
    drain(ctx);
    g_assert_cmpint(n, ==, 1);
    qemu_bh_delete(bh);
    aio_context_unref(ctx);
}

static void test_bh_cancel(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_cb, &n);

    qemu_bh_schedule(bh);
    qemu_bh_cancel(bh);
    g_assert_cmpint(aio_compute_timeout(ctx), ==, -1);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 0);
    /* Still usable after cancel. */
    qemu_bh_schedule(bh);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);
    qemu_bh_delete(bh);
    aio_context_unref(ctx);
}

static void test_bh_delete_scheduled(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_cb, &n);

    qemu_bh_schedule(bh);
    qemu_bh_delete(bh);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 0);
    aio_context_unref(ctx);
}

typedef struct {
    QEMUBH *bh;
    int runs;
    int max;
} SelfBH;

static void delete_self_cb(void *opaque)
{
    SelfBH *s = opaque;

    s->runs++;
    qemu_bh_delete(s->bh);
}

static void test_bh_delete_from_cb(void)
{
    AioContext *ctx = ctx_new();
    SelfBH s = { 0 };

    s.bh = aio_bh_new(ctx, delete_self_cb, &s);
    qemu_bh_schedule(s.bh);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.runs, ==, 1);
    drain(ctx);
    g_assert_cmpint(s.runs, ==, 1);
    aio_context_unref(ctx);   /* ASan: freed exactly once */
}

static void test_bh_oneshot(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;

    aio_bh_schedule_oneshot(ctx, count_cb, &n);
    aio_bh_schedule_oneshot(ctx, count_cb, &n);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 2);
    g_assert_false(aio_poll(ctx, false));
    aio_context_unref(ctx);
}

/* One-shot BHs come from the context's pool and go back after running. */
static void test_bh_oneshot_pool_recycles(void)
{
    AioContext *ctx = ctx_new();
    unsigned cap = aio_bh_pool_free_count(ctx);
    int n = 0;

    g_assert_cmpuint(cap, >=, 3);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3; i++) {
            aio_bh_schedule_oneshot(ctx, count_cb, &n);
        }
        g_assert_cmpuint(aio_bh_pool_free_count(ctx), ==, cap - 3);
        g_assert_true(aio_poll(ctx, false));
        g_assert_cmpuint(aio_bh_pool_free_count(ctx), ==, cap);
    }
    g_assert_cmpint(n, ==, 9);
    aio_context_unref(ctx);
}

typedef struct {
    int *log;
    int *len;
    int id;
} SeqBH;

static void seq_cb(void *opaque)
{
    SeqBH *b = opaque;

    b->log[(*b->len)++] = b->id;
}

/* More pending one-shots than the pool holds: malloc, same behaviour. */
static void test_bh_oneshot_pool_overflow(void)
{
    AioContext *ctx = ctx_new();
    unsigned cap = aio_bh_pool_free_count(ctx);
    int total = cap * 3;
    g_autofree SeqBH *bhs = g_new0(SeqBH, total);
    g_autofree int *log = g_new0(int, total);
    int len = 0;

    for (int i = 0; i < total; i++) {
        bhs[i] = (SeqBH) { log, &len, i };
        aio_bh_schedule_oneshot(ctx, seq_cb, &bhs[i]);
    }
    g_assert_cmpuint(aio_bh_pool_free_count(ctx), ==, 0);
    aio_bh_poll(ctx);
    g_assert_cmpint(len, ==, total);
    for (int i = 0; i < total; i++) {
        g_assert_cmpint(log[i], ==, i);     /* FIFO, each once */
    }
    /* Bounded: the heap ones were freed, the pool is whole again. */
    g_assert_cmpuint(aio_bh_pool_free_count(ctx), ==, cap);
    aio_context_unref(ctx);
}

/* Pending one-shots at unref are freed with the context (ASan checks). */
static void test_bh_oneshot_pending_at_unref(void)
{
    AioContext *ctx = ctx_new();
    unsigned cap = aio_bh_pool_free_count(ctx);
    int n = 0;

    for (unsigned i = 0; i < cap + 5; i++) {
        aio_bh_schedule_oneshot(ctx, count_cb, &n);
    }
    aio_context_unref(ctx);
    g_assert_cmpint(n, ==, 0);
}

typedef struct {
    AioContext *ctx;
    int left;
    int runs;
} OneshotChain;

static void oneshot_chain_cb(void *opaque)
{
    OneshotChain *c = opaque;

    c->runs++;
    if (--c->left > 0) {
        aio_bh_schedule_oneshot(c->ctx, oneshot_chain_cb, c);
    }
}

/*
 * A one-shot scheduled by a one-shot runs in the same call, even when it
 * reuses the slot of one that already ran in that call.
 */
static void test_bh_oneshot_chain_same_call(void)
{
    AioContext *ctx = ctx_new();
    OneshotChain c = { ctx, 10, 0 };

    aio_bh_schedule_oneshot(ctx, oneshot_chain_cb, &c);
    g_assert_cmpint(aio_bh_poll(ctx), ==, 1);
    g_assert_cmpint(c.runs, ==, 10);
    g_assert_cmpint(aio_bh_poll(ctx), ==, 0);
    aio_context_unref(ctx);
}

typedef struct {
    QEMUBH *next;
    GString *log;
    char name;
    AioContext *ctx;
} ChainBH;

static void chain_cb(void *opaque)
{
    ChainBH *c = opaque;

    g_string_append_c(c->log, c->name);
    if (c->next) {
        qemu_bh_schedule(c->next);
    }
}

static void test_bh_from_bh(void)
{
    AioContext *ctx = ctx_new();
    g_autoptr(GString) log = g_string_new("");
    ChainBH b = { NULL, log, 'b' };
    ChainBH a = { aio_bh_new(ctx, chain_cb, &b), log, 'a' };
    QEMUBH *bh_a = aio_bh_new(ctx, chain_cb, &a);

    qemu_bh_schedule(bh_a);
    /* One call runs a and the b that a scheduled. */
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpstr(log->str, ==, "ab");
    g_assert_false(aio_poll(ctx, false));
    qemu_bh_delete(bh_a);
    qemu_bh_delete(a.next);
    aio_context_unref(ctx);
}

static void test_bh_fifo(void)
{
    AioContext *ctx = ctx_new();
    g_autoptr(GString) log = g_string_new("");
    ChainBH c[3] = { { NULL, log, 'x' }, { NULL, log, 'y' },
                     { NULL, log, 'z' } };
    QEMUBH *bh[3];

    for (int i = 0; i < 3; i++) {
        bh[i] = aio_bh_new(ctx, chain_cb, &c[i]);
    }
    qemu_bh_schedule(bh[1]);
    qemu_bh_schedule(bh[0]);
    qemu_bh_schedule(bh[2]);
    aio_bh_poll(ctx);
    g_assert_cmpstr(log->str, ==, "yxz");
    for (int i = 0; i < 3; i++) {
        qemu_bh_delete(bh[i]);
    }
    aio_context_unref(ctx);
}

static void reschedule_self_cb(void *opaque)
{
    SelfBH *s = opaque;

    if (++s->runs < s->max) {
        qemu_bh_schedule(s->bh);
    }
}

static void test_bh_self_reschedule_is_fair(void)
{
    AioContext *ctx = ctx_new();
    SelfBH s = { .max = 5 };

    s.bh = aio_bh_new(ctx, reschedule_self_cb, &s);
    qemu_bh_schedule(s.bh);
    /* At most one run per aio_bh_poll call, so fds and timers get turns. */
    g_assert_cmpint(aio_bh_poll(ctx), ==, 1);
    g_assert_cmpint(s.runs, ==, 1);
    g_assert_cmpint(aio_compute_timeout(ctx), ==, 0);
    g_assert_cmpint(drain(ctx), ==, 4);
    g_assert_cmpint(s.runs, ==, 5);
    qemu_bh_delete(s.bh);
    aio_context_unref(ctx);
}

typedef struct {
    AioContext *ctx;
    int *later_runs;
    int seen_in_nested;
} NestedBH;

static void nested_poll_cb(void *opaque)
{
    NestedBH *nb = opaque;

    /* The BH queued after us in the same slice runs in the nested poll. */
    aio_poll(nb->ctx, false);
    nb->seen_in_nested = *nb->later_runs;
}

static void test_bh_nested_poll(void)
{
    AioContext *ctx = ctx_new();
    int later = 0;
    NestedBH nb = { ctx, &later, -1 };
    QEMUBH *first = aio_bh_new(ctx, nested_poll_cb, &nb);
    QEMUBH *second = aio_bh_new(ctx, count_cb, &later);

    qemu_bh_schedule(first);
    qemu_bh_schedule(second);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(nb.seen_in_nested, ==, 1);
    g_assert_cmpint(later, ==, 1);
    qemu_bh_delete(first);
    qemu_bh_delete(second);
    aio_context_unref(ctx);
}

static void *schedule_from_thread(void *opaque)
{
    QEMUBH *bh = opaque;

    qemu_bh_schedule(bh);
    return NULL;
}

static void test_bh_schedule_from_thread(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_cb, &n);
    QemuThread thread;

    qemu_thread_create(&thread, "bh", schedule_from_thread, bh,
                       QEMU_THREAD_JOINABLE);
    while (qatomic_read(&n) == 0) {
        aio_poll(ctx, true);
    }
    qemu_thread_join(&thread);
    g_assert_cmpint(n, ==, 1);
    qemu_bh_delete(bh);
    aio_context_unref(ctx);
}

/* ---- timers ------------------------------------------------------------- */

static void log_timer_cb(void *opaque)
{
    ChainBH *c = opaque;

    g_string_append_c(c->log, c->name);
}

static void test_timer_order_and_timeout(void)
{
    AioContext *ctx = ctx_new();
    g_autoptr(GString) log = g_string_new("");
    ChainBH late = { NULL, log, 'L' }, early = { NULL, log, 'E' };
    QEMUTimer t_late, t_early;
    int64_t now;

    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 1000 * SCALE_MS);
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    aio_timer_init(ctx, &t_late, QEMU_CLOCK_VIRTUAL, SCALE_NS,
                   log_timer_cb, &late);
    aio_timer_init(ctx, &t_early, QEMU_CLOCK_VIRTUAL, SCALE_NS,
                   log_timer_cb, &early);
    g_assert_cmpint(aio_compute_timeout(ctx), ==, -1);
    timer_mod(&t_late, now + 3 * SCALE_MS);
    timer_mod(&t_early, now + 2 * SCALE_MS);
    g_assert_cmpint(aio_compute_timeout(ctx), ==, 2 * SCALE_MS);
    g_assert_false(aio_poll(ctx, false));

    qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, 5 * SCALE_MS);
    g_assert_cmpint(aio_compute_timeout(ctx), ==, 0);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpstr(log->str, ==, "EL");
    g_assert_cmpint(aio_compute_timeout(ctx), ==, -1);
    timer_deinit(&t_late);
    timer_deinit(&t_early);
    aio_context_unref(ctx);
}

static void test_timer_blocking_wakeup(void)
{
    AioContext *ctx = ctx_new();
    int n = 0;
    QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_US,
                                 count_cb, &n);

    timer_mod(t, qemu_clock_get_us(QEMU_CLOCK_REALTIME) + 500);
    while (n == 0) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(n, ==, 1);
    timer_free(t);
    aio_context_unref(ctx);
}

/* ---- fd handlers -------------------------------------------------------- */

typedef struct {
    AioContext *ctx;
    int fd;
    int reads;
    int writes;
    ssize_t last;
    bool remove_self;
    bool close_on_eof;
} FdState;

static void read_cb(void *opaque)
{
    FdState *s = opaque;
    char buf[16];

    s->reads++;
    s->last = read(s->fd, buf, sizeof(buf));
    if (s->remove_self || (s->close_on_eof && s->last == 0)) {
        aio_set_fd_handler(s->ctx, s->fd, NULL, NULL, NULL);
    }
    if (s->close_on_eof && s->last == 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void write_cb(void *opaque)
{
    FdState *s = opaque;

    s->writes++;
    if (s->remove_self) {
        aio_set_fd_handler(s->ctx, s->fd, NULL, NULL, NULL);
    }
}

static void make_pipe(int fds[2])
{
    g_assert_cmpint(pipe(fds), ==, 0);
}

static void test_fd_pipe_read(void)
{
    AioContext *ctx = ctx_new();
    int fds[2];
    FdState s = { ctx };

    make_pipe(fds);
    s.fd = fds[0];
    aio_set_fd_handler(ctx, fds[0], read_cb, NULL, &s);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(s.reads, ==, 0);
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(s.reads, ==, 1);
    g_assert_cmpint(s.last, ==, 1);
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    close(fds[0]);
    close(fds[1]);
    aio_context_unref(ctx);
}

static void test_fd_socket_write(void)
{
    AioContext *ctx = ctx_new();
    int sv[2];
    FdState s = { ctx, .remove_self = true };

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    s.fd = sv[0];
    aio_set_fd_handler(ctx, sv[0], NULL, write_cb, &s);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(s.writes, ==, 1);
    /* It removed itself: no further calls although still writable. */
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(s.writes, ==, 1);
    close(sv[0]);
    close(sv[1]);
    aio_context_unref(ctx);
}

static void test_fd_remove_in_callback(void)
{
    AioContext *ctx = ctx_new();
    int fds[2];
    FdState s = { ctx, .remove_self = true };

    make_pipe(fds);
    s.fd = fds[0];
    aio_set_fd_handler(ctx, fds[0], read_cb, NULL, &s);
    g_assert_cmpint(write(fds[1], "xyz", 3), ==, 3);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(write(fds[1], "more", 4), ==, 4);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(s.reads, ==, 1);
    close(fds[0]);
    close(fds[1]);
    aio_context_unref(ctx);
}

static void test_fd_reregister(void)
{
    AioContext *ctx = ctx_new();
    int fds[2];
    FdState first = { ctx }, second = { ctx };

    make_pipe(fds);
    first.fd = second.fd = fds[0];
    aio_set_fd_handler(ctx, fds[0], read_cb, NULL, &first);
    aio_set_fd_handler(ctx, fds[0], read_cb, NULL, &second);
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(first.reads, ==, 0);
    g_assert_cmpint(second.reads, ==, 1);
    /* Removing and adding again works too. */
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    aio_set_fd_handler(ctx, fds[0], read_cb, NULL, &first);
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(first.reads, ==, 1);
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    close(fds[0]);
    close(fds[1]);
    aio_context_unref(ctx);
}

static void test_fd_peer_closed(void)
{
    AioContext *ctx = ctx_new();
    int fds[2];
    FdState s = { ctx, .close_on_eof = true };

    make_pipe(fds);
    s.fd = fds[0];
    aio_set_fd_handler(ctx, fds[0], read_cb, NULL, &s);
    close(fds[1]);
    /* Hang-up wakes the read handler, which sees EOF and cleans up. */
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(s.last, ==, 0);
    g_assert_cmpint(s.fd, ==, -1);
    g_assert_false(aio_poll(ctx, false));
    aio_context_unref(ctx);
}

static void test_fd_remove_after_close(void)
{
    AioContext *ctx = ctx_new();
    int fds[2];
    FdState s = { ctx };

    make_pipe(fds);
    aio_set_fd_handler(ctx, fds[0], read_cb, NULL, &s);
    close(fds[0]);
    close(fds[1]);
    /* Removing the handler of an fd closed meanwhile is fine. */
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(s.reads, ==, 0);
    aio_context_unref(ctx);
}

typedef struct {
    AioContext *ctx;
    FdState *state;
    int fd;
} LateRegister;

static void *register_from_thread(void *opaque)
{
    LateRegister *lr = opaque;

    while (qatomic_read(&lr->ctx->notify_me) < 2) {
        g_usleep(100);
    }
    aio_set_fd_handler(lr->ctx, lr->fd, read_cb, NULL, lr->state);
    return NULL;
}

static void test_fd_set_from_thread(void)
{
    AioContext *ctx = ctx_new();
    int fds[2];
    FdState s = { ctx };
    LateRegister lr = { ctx, &s };
    QemuThread thread;

    make_pipe(fds);
    s.fd = lr.fd = fds[0];
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    qemu_thread_create(&thread, "register", register_from_thread, &lr,
                       QEMU_THREAD_JOINABLE);
    /* The loop sleeps, the thread adds a handler for a readable fd. */
    while (s.reads == 0) {
        aio_poll(ctx, true);
    }
    qemu_thread_join(&thread);
    g_assert_cmpint(s.reads, ==, 1);
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    close(fds[0]);
    close(fds[1]);
    aio_context_unref(ctx);
}

/* ---- event notifiers ---------------------------------------------------- */

static int notifier_runs;

static void notifier_cb(EventNotifier *e)
{
    notifier_runs++;
    event_notifier_test_and_clear(e);
}

static void test_event_notifier(void)
{
    AioContext *ctx = ctx_new();
    EventNotifier e;

    notifier_runs = 0;
    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    aio_set_event_notifier(ctx, &e, notifier_cb);
    g_assert_false(aio_poll(ctx, false));
    event_notifier_set(&e);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(notifier_runs, ==, 1);
    g_assert_false(aio_poll(ctx, false));
    /* Removed: setting it no longer runs anything. */
    aio_set_event_notifier(ctx, &e, NULL);
    event_notifier_set(&e);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(notifier_runs, ==, 1);
    event_notifier_cleanup(&e);
    aio_context_unref(ctx);
}

static EventNotifier *polled_notifier;
static bool notifier_poll_flag;

static bool flag_io_poll(void *opaque)
{
    /* The opaque of an event notifier's callbacks is the notifier. */
    polled_notifier = opaque;
    return notifier_poll_flag;
}

static void flag_poll_ready(EventNotifier *e)
{
    g_assert_true(e == polled_notifier);
    notifier_poll_flag = false;
    notifier_runs++;
}

static void test_event_notifier_poll(void)
{
    AioContext *ctx = ctx_new();
    EventNotifier e;

    notifier_runs = 0;
    notifier_poll_flag = false;
    g_assert_cmpint(event_notifier_init(&e, false), ==, 0);
    aio_set_event_notifier_poll(ctx, &e, notifier_cb, flag_io_poll,
                                flag_poll_ready);
    g_assert_false(aio_poll(ctx, false));
    g_assert_true(polled_notifier == &e);
    /* Reported by io_poll alone, without the fd becoming readable. */
    notifier_poll_flag = true;
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(notifier_runs, ==, 1);
    aio_set_event_notifier(ctx, &e, NULL);
    event_notifier_cleanup(&e);
    aio_context_unref(ctx);
}

/* ---- busy polling ------------------------------------------------------- */

static void test_poll_params_invalid(void)
{
    AioContext *ctx = ctx_new();
    Error *err = NULL;

    g_assert_false(aio_context_set_poll_params(ctx, -1, 0, 0, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_false(aio_context_set_poll_params(ctx, 1000, -2, 0, &err));
    error_free(err);
    err = NULL;
    g_assert_false(aio_context_set_poll_params(ctx, 1000, 0, -2, &err));
    error_free(err);
    g_assert_true(aio_context_set_poll_params(ctx, 50000, 2, 2,
                                              &error_abort));
    aio_context_unref(ctx);
}

/* One blocking aio_poll that ends by a timer @us microseconds away. */
static void poll_until_timer(AioContext *ctx, int64_t us)
{
    int n = 0;
    QEMUTimer *t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_US,
                                 count_cb, &n);

    timer_mod(t, qemu_clock_get_us(QEMU_CLOCK_REALTIME) + us);
    aio_poll(ctx, false);       /* consume the arming's notification */
    while (n == 0) {
        aio_poll(ctx, true);
    }
    timer_free(t);
}

static void test_poll_params_get(void)
{
    AioContext *ctx = ctx_new();
    int64_t max_ns = -1, grow = -1, shrink = -1;
    Error *err = NULL;

    /* A new context does not busy-poll. */
    aio_context_get_poll_params(ctx, &max_ns, &grow, &shrink);
    g_assert_cmpint(max_ns, ==, 0);
    g_assert_cmpint(grow, ==, 0);
    g_assert_cmpint(shrink, ==, 0);

    aio_context_set_poll_params(ctx, 5000, 3, 2, &error_abort);
    aio_context_get_poll_params(ctx, &max_ns, &grow, &shrink);
    g_assert_cmpint(max_ns, ==, 5000);
    g_assert_cmpint(grow, ==, 3);
    g_assert_cmpint(shrink, ==, 2);

    /* A refused set changes nothing; NULL pointers are skipped. */
    g_assert_false(aio_context_set_poll_params(ctx, 1, -1, 1, &err));
    error_free_or_abort(&err);
    max_ns = 0;
    aio_context_get_poll_params(ctx, &max_ns, NULL, NULL);
    g_assert_cmpint(max_ns, ==, 5000);
    aio_context_unref(ctx);
}

static void test_poll_ns_grows(void)
{
    AioContext *ctx = ctx_new();

    /* Blocked longer than poll_ns but well within max: spin longer. */
    aio_context_set_poll_params(ctx, 60 * NANOSECONDS_PER_SECOND, 3, 2,
                                &error_abort);
    g_assert_cmpint(ctx->poll_ns, ==, 4000);
    poll_until_timer(ctx, 2000);
    g_assert_cmpint(ctx->poll_ns, ==, 12000);
    aio_context_unref(ctx);
}

static void test_poll_ns_shrinks(void)
{
    AioContext *ctx = ctx_new();

    /* Blocked longer than max: spinning is a waste. */
    aio_context_set_poll_params(ctx, 1000, 2, 2, &error_abort);
    g_assert_cmpint(ctx->poll_ns, ==, 1000);
    poll_until_timer(ctx, 2000);
    g_assert_cmpint(ctx->poll_ns, ==, 500);
    /* shrink 0 resets to no spinning at all. */
    aio_context_set_poll_params(ctx, 1000, 2, 0, &error_abort);
    poll_until_timer(ctx, 2000);
    g_assert_cmpint(ctx->poll_ns, ==, 0);
    aio_context_unref(ctx);
}

typedef struct {
    int polls;
    int ready_after;
    int ready_calls;
} PollState;

static bool io_poll_cb(void *opaque)
{
    PollState *p = opaque;

    return ++p->polls >= p->ready_after;
}

static void io_poll_ready_cb(void *opaque)
{
    PollState *p = opaque;

    p->ready_calls++;
    p->ready_after = INT_MAX;   /* nothing more to report */
}

static void test_busy_poll_calls_io_poll(void)
{
    AioContext *ctx = ctx_new();
    PollState p = { .ready_after = 3 };
    int fired = 0;
    QEMUTimer *safety = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_MS,
                                      count_cb, &fired);
    int fds[2];

    make_pipe(fds);
    /* Generous budget: only polling can notice this "event" (the pipe
     * stays empty), so a blocking aio_poll returning proves it spun. */
    g_assert_true(aio_context_set_poll_params(ctx, 10000LL * SCALE_MS,
                                              2, 2, &error_abort));
    aio_set_fd_handler_poll(ctx, fds[0], NULL, NULL, io_poll_cb,
                            io_poll_ready_cb, &p);
    /* Safety net so a broken implementation fails instead of hanging. */
    timer_mod(safety, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 5000);
    /* Consume the notifications of the above; one io_poll call. */
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(p.polls, ==, 1);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(fired, ==, 0);
    g_assert_cmpint(p.polls, ==, 3);
    g_assert_cmpint(p.ready_calls, ==, 1);
    timer_free(safety);
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    close(fds[0]);
    close(fds[1]);
    aio_context_unref(ctx);
}

static void test_nonblocking_poll_runs_io_poll(void)
{
    AioContext *ctx = ctx_new();
    PollState p = { .ready_after = 1 };
    int fds[2];

    make_pipe(fds);
    /* Polling disabled (the default), yet a non-blocking pass asks. */
    aio_set_fd_handler_poll(ctx, fds[0], NULL, NULL, io_poll_cb,
                            io_poll_ready_cb, &p);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(p.ready_calls, ==, 1);
    aio_set_fd_handler(ctx, fds[0], NULL, NULL, NULL);
    close(fds[0]);
    close(fds[1]);
    aio_context_unref(ctx);
}

/* ---- home thread -------------------------------------------------------- */

static void *adopt_ctx(void *opaque)
{
    qemu_set_current_aio_context(opaque);
    return NULL;
}

static void test_poll_outside_home_aborts(void)
{
    if (g_test_subprocess()) {
        AioContext *ctx = ctx_new();
        QemuThread thread;

        qemu_thread_create(&thread, "home", adopt_ctx, ctx,
                           QEMU_THREAD_JOINABLE);
        qemu_thread_join(&thread);
        aio_poll(ctx, false);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*outside its home thread*");
}

static void test_poll_outside_home_acquired(void)
{
    AioContext *ctx = ctx_new();
    QemuThread thread;

    qemu_thread_create(&thread, "home", adopt_ctx, ctx,
                       QEMU_THREAD_JOINABLE);
    qemu_thread_join(&thread);
    aio_context_acquire(ctx);
    g_assert_false(aio_poll(ctx, false));
    aio_context_release(ctx);
    aio_context_unref(ctx);
}

/* ---- AIOCBs ------------------------------------------------------------- */

typedef struct {
    BlockDriverAIOCB common;
    int payload;
} TestAIOCB;

static const AIOCBInfo test_aiocb_info = {
    .aiocb_size = sizeof(TestAIOCB),
};

static const AIOCBInfo big_aiocb_info = {
    .aiocb_size = 4096,
};

static void test_aiocb_reuse(void)
{
    int opaque;
    TestAIOCB *a = qemu_aio_get(&test_aiocb_info, NULL, NULL, &opaque);
    TestAIOCB *b;

    g_assert_true(a->common.aiocb_info == &test_aiocb_info);
    g_assert_true(a->common.opaque == &opaque);
    g_assert_cmpint(a->common.refcnt, ==, 1);
    qemu_aio_release(a);
    b = qemu_aio_get(&test_aiocb_info, NULL, NULL, NULL);
    g_assert_true(a == b);   /* came back from the thread's pool */
    qemu_aio_release(b);
}

static void test_aiocb_refcount(void)
{
    TestAIOCB *a = qemu_aio_get(&test_aiocb_info, NULL, NULL, NULL);
    TestAIOCB *b;

    qemu_aio_ref(a);
    g_assert_cmpint(a->common.refcnt, ==, 2);
    qemu_aio_unref(a);
    g_assert_cmpint(a->common.refcnt, ==, 1);
    qemu_aio_unref(a);
    b = qemu_aio_get(&test_aiocb_info, NULL, NULL, NULL);
    g_assert_true(a == b);
    qemu_aio_unref(b);
}

static void test_aiocb_large(void)
{
    BlockDriverAIOCB *a = qemu_aio_get(&big_aiocb_info, NULL, NULL, NULL);

    memset(a + 1, 0xab, 4096 - sizeof(*a));   /* whole object usable */
    qemu_aio_release(a);
}

int main(int argc, char **argv)
{
    AioContext *probe;
    Error *err = NULL;

    g_test_init(&argc, &argv, NULL);
    probe = aio_context_try_new(&err);
    if (!probe) {
        printf("1..0 # SKIP %s\n", error_get_pretty(err));
        error_free(err);
        return 0;
    }
    aio_context_unref(probe);

    g_test_add_func("/aio/context/new", test_context_new);
    g_test_add_func("/aio/context/bad-fdmon", test_context_bad_fdmon);
    g_test_add_func("/aio/context/new-aborts", test_context_new_aborts);
    g_test_add_func("/aio/context/ref", test_context_ref);
    g_test_add_func("/aio/context/acquire-recursive",
                    test_context_acquire_recursive);
    g_test_add_func("/aio/context/thread-pool", test_context_thread_pool);
    g_test_add_func("/aio/notify/nothing", test_poll_nothing);
    g_test_add_func("/aio/notify/from-thread", test_notify_from_thread);
    g_test_add_func("/aio/notify/before-poll", test_notify_before_poll);
    g_test_add_func("/aio/notify/skips-syscall", test_notify_skips_syscall);
    g_test_add_func("/aio/notify/accept", test_notify_accept);
    g_test_add_func("/aio/bh/schedule", test_bh_schedule);
    g_test_add_func("/aio/bh/schedule-twice", test_bh_schedule_twice);
    g_test_add_func("/aio/bh/cancel", test_bh_cancel);
    g_test_add_func("/aio/bh/delete-scheduled", test_bh_delete_scheduled);
    g_test_add_func("/aio/bh/delete-from-cb", test_bh_delete_from_cb);
    g_test_add_func("/aio/bh/oneshot", test_bh_oneshot);
    g_test_add_func("/aio/bh/oneshot/pool-recycles",
                    test_bh_oneshot_pool_recycles);
    g_test_add_func("/aio/bh/oneshot/pool-overflow",
                    test_bh_oneshot_pool_overflow);
    g_test_add_func("/aio/bh/oneshot/pending-at-unref",
                    test_bh_oneshot_pending_at_unref);
    g_test_add_func("/aio/bh/oneshot/chain-same-call",
                    test_bh_oneshot_chain_same_call);
    g_test_add_func("/aio/bh/from-bh", test_bh_from_bh);
    g_test_add_func("/aio/bh/fifo", test_bh_fifo);
    g_test_add_func("/aio/bh/self-reschedule-fair",
                    test_bh_self_reschedule_is_fair);
    g_test_add_func("/aio/bh/nested-poll", test_bh_nested_poll);
    g_test_add_func("/aio/bh/from-thread", test_bh_schedule_from_thread);
    g_test_add_func("/aio/timer/order-and-timeout",
                    test_timer_order_and_timeout);
    g_test_add_func("/aio/timer/blocking-wakeup", test_timer_blocking_wakeup);
    g_test_add_func("/aio/fd/pipe-read", test_fd_pipe_read);
    g_test_add_func("/aio/fd/socket-write", test_fd_socket_write);
    g_test_add_func("/aio/fd/remove-in-callback", test_fd_remove_in_callback);
    g_test_add_func("/aio/fd/reregister", test_fd_reregister);
    g_test_add_func("/aio/fd/peer-closed", test_fd_peer_closed);
    g_test_add_func("/aio/fd/remove-after-close", test_fd_remove_after_close);
    g_test_add_func("/aio/fd/set-from-thread", test_fd_set_from_thread);
    g_test_add_func("/aio/event-notifier/set", test_event_notifier);
    g_test_add_func("/aio/event-notifier/poll", test_event_notifier_poll);
    g_test_add_func("/aio/poll/params-invalid", test_poll_params_invalid);
    g_test_add_func("/aio/poll/params-get", test_poll_params_get);
    g_test_add_func("/aio/poll/poll-ns-grows", test_poll_ns_grows);
    g_test_add_func("/aio/poll/poll-ns-shrinks", test_poll_ns_shrinks);
    g_test_add_func("/aio/poll/busy-poll-calls-io-poll",
                    test_busy_poll_calls_io_poll);
    g_test_add_func("/aio/poll/nonblocking-runs-io-poll",
                    test_nonblocking_poll_runs_io_poll);
    g_test_add_func("/aio/home/poll-outside-aborts",
                    test_poll_outside_home_aborts);
    g_test_add_func("/aio/home/poll-outside-acquired",
                    test_poll_outside_home_acquired);
    g_test_add_func("/aio/aiocb/reuse", test_aiocb_reuse);
    g_test_add_func("/aio/aiocb/refcount", test_aiocb_refcount);
    g_test_add_func("/aio/aiocb/large", test_aiocb_large);
    return g_test_run();
}
