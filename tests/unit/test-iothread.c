/*
 * Tests for sysemu/iothread.h: life cycle, naming rules, work running in
 * the IOThread, coroutines moving between IOThreads, waiting from the main
 * thread, and the optional GMainContext.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "sysemu/iothread.h"
#include "block/aio.h"
#include "block/aio-wait.h"
#include "qemu/atomic.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"
#include "qapi/error.h"

/* What a callback saw about where it ran. */
typedef struct WhereRan {
    int tid;
    AioContext *ctx;
    QemuEvent done;
} WhereRan;

static void where_init(WhereRan *w)
{
    w->tid = 0;
    w->ctx = NULL;
    qemu_event_init(&w->done, false);
}

static void where_record(WhereRan *w)
{
    w->tid = qemu_get_thread_id();
    w->ctx = qemu_get_current_aio_context();
    qemu_event_set(&w->done);
}

static void where_bh(void *opaque)
{
    where_record(opaque);
}

/* ---- life cycle and names ----------------------------------------------- */

static void test_create_destroy(void)
{
    Error *err = NULL;
    IOThread *iot = iothread_create("alpha", &err);

    g_assert_null(err);
    g_assert_nonnull(iot);
    g_assert_cmpstr(iothread_get_name(iot), ==, "alpha");
    g_assert_nonnull(iothread_get_aio_context(iot));
    g_assert_true(iothread_get_aio_context(iot) != qemu_get_aio_context());
    g_assert_cmpint(iothread_get_thread_id(iot), >, 0);
    g_assert_cmpint(iothread_get_thread_id(iot), !=, qemu_get_thread_id());
    iothread_destroy(iot);
    iothread_destroy(NULL);
}

static void test_name_errors(void)
{
    Error *err = NULL;
    IOThread *iot;

    g_assert_null(iothread_create(NULL, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "non-empty name"));
    error_free_or_abort(&err);
    g_assert_null(iothread_create("", &err));
    error_free_or_abort(&err);

    iot = iothread_create("dup", &error_abort);
    g_assert_null(iothread_create("dup", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "an IOThread named 'dup' already exists");
    error_free_or_abort(&err);
    iothread_destroy(iot);

    /* Once destroyed, the name is free again. */
    iot = iothread_create("dup", &error_abort);
    iothread_destroy(iot);
}

/* ---- busy polling ----------------------------------------------------- */

static void get_poll(IOThread *iot, int64_t out[3])
{
    aio_context_get_poll_params(iothread_get_aio_context(iot),
                                &out[0], &out[1], &out[2]);
}

/* A fresh IOThread busy-polls with QEMU's defaults. */
static void test_poll_params_default(void)
{
    IOThread *iot = iothread_create("poll-default", &error_abort);
    int64_t p[3];

    get_poll(iot, p);
    g_assert_cmpint(p[0], ==, IOTHREAD_POLL_MAX_NS_DEFAULT);
    g_assert_cmpint(p[0], ==, 32768);
    g_assert_cmpint(p[1], ==, 0);
    g_assert_cmpint(p[2], ==, 0);
    iothread_destroy(iot);
}

static void record_tid(void *opaque)
{
    *(int *)opaque = qemu_get_thread_id();
}

/* Run one BH in @iot and wait for it: the loop still works. */
static void check_runs(IOThread *iot)
{
    int tid = 0;

    aio_wait_bh_oneshot(iothread_get_aio_context(iot), record_tid, &tid);
    g_assert_cmpint(tid, ==, iothread_get_thread_id(iot));
}

static void test_poll_params_set(void)
{
    IOThread *iot = iothread_create("poll-set", &error_abort);
    Error *err = NULL;
    int64_t p[3];

    g_assert_true(iothread_set_poll_params(iot, 1000, 4, 2, &err));
    g_assert_null(err);
    get_poll(iot, p);
    g_assert_cmpint(p[0], ==, 1000);
    g_assert_cmpint(p[1], ==, 4);
    g_assert_cmpint(p[2], ==, 2);
    check_runs(iot);

    /* Negative values are refused and change nothing. */
    g_assert_false(iothread_set_poll_params(iot, -1, 0, 0, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "negative"));
    error_free_or_abort(&err);
    get_poll(iot, p);
    g_assert_cmpint(p[0], ==, 1000);

    /* max_ns 0 turns busy polling off; the thread still works. */
    g_assert_true(iothread_set_poll_params(iot, 0, 0, 0, &error_abort));
    get_poll(iot, p);
    g_assert_cmpint(p[0], ==, 0);
    check_runs(iot);
    iothread_destroy(iot);
}

/* ---- work runs in the IOThread ------------------------------------------ */

static void test_bh_oneshot_runs_in_thread(void)
{
    IOThread *iot = iothread_create("bh1", &error_abort);
    WhereRan w;

    where_init(&w);
    aio_bh_schedule_oneshot(iothread_get_aio_context(iot), where_bh, &w);
    qemu_event_wait(&w.done);

    g_assert_cmpint(w.tid, ==, iothread_get_thread_id(iot));
    g_assert_true(w.ctx == iothread_get_aio_context(iot));
    iothread_destroy(iot);
    qemu_event_destroy(&w.done);
}

static void test_bh_runs_in_thread(void)
{
    IOThread *iot = iothread_create("bh2", &error_abort);
    WhereRan w;
    QEMUBH *bh;

    where_init(&w);
    bh = aio_bh_new(iothread_get_aio_context(iot), where_bh, &w);
    qemu_bh_schedule(bh);
    qemu_event_wait(&w.done);

    g_assert_cmpint(w.tid, ==, iothread_get_thread_id(iot));
    qemu_bh_delete(bh);
    iothread_destroy(iot);
    qemu_event_destroy(&w.done);
}

/* ---- coroutine ping-pong ------------------------------------------------ */

typedef struct PingPong {
    AioContext *ctx[2];
    int tid[2];
    int hops;
    int wrong_ctx;
    int wrong_tid;
    Coroutine *co;
    AioContext *next;
    QemuEvent done;
} PingPong;

/* Runs in the old context after the coroutine yielded there. */
static void send_bh(void *opaque)
{
    PingPong *pp = opaque;

    aio_co_schedule(pp->next, pp->co);
}

/* Yield, then let a BH of the current context schedule us in @target. */
static void coroutine_fn hop_to(PingPong *pp, AioContext *target)
{
    pp->next = target;
    aio_bh_schedule_oneshot(qemu_get_current_aio_context(), send_bh, pp);
    qemu_coroutine_yield();
}

static void coroutine_fn ping_pong_entry(void *opaque)
{
    PingPong *pp = opaque;

    for (int i = 0; i < pp->hops; i++) {
        int side = i % 2;

        hop_to(pp, pp->ctx[side]);
        pp->wrong_ctx += qemu_get_current_aio_context() != pp->ctx[side];
        pp->wrong_tid += qemu_get_thread_id() != pp->tid[side];
    }
    qemu_event_set(&pp->done);
}

/* The main thread's first schedule moves the coroutine into ctx[0]. */
static void coroutine_fn first_hop_entry(void *opaque)
{
    PingPong *pp = opaque;

    pp->wrong_ctx += qemu_get_current_aio_context() != pp->ctx[0];
    ping_pong_entry(pp);
}

static void test_co_ping_pong(void)
{
    IOThread *a = iothread_create("ping", &error_abort);
    IOThread *b = iothread_create("pong", &error_abort);
    PingPong pp = {
        .ctx = { iothread_get_aio_context(a), iothread_get_aio_context(b) },
        .tid = { iothread_get_thread_id(a), iothread_get_thread_id(b) },
        .hops = 1000,
    };

    qemu_event_init(&pp.done, false);
    pp.co = qemu_coroutine_create(first_hop_entry, &pp);
    aio_co_schedule(pp.ctx[0], pp.co);
    qemu_event_wait(&pp.done);

    g_assert_cmpint(pp.wrong_ctx, ==, 0);
    g_assert_cmpint(pp.wrong_tid, ==, 0);
    iothread_destroy(a);
    iothread_destroy(b);
    qemu_event_destroy(&pp.done);
}

/* ---- AIO_WAIT_WHILE from the main thread -------------------------------- */

static bool flag;

static void set_flag_bh(void *opaque)
{
    qatomic_store_release(&flag, true);
    aio_wait_kick();
}

static void test_aio_wait_while(void)
{
    IOThread *iot = iothread_create("waited", &error_abort);
    AioContext *ictx = iothread_get_aio_context(iot);

    qatomic_set(&flag, false);
    aio_context_acquire(ictx);
    aio_bh_schedule_oneshot(ictx, set_flag_bh, NULL);
    /* Releases ictx while it waits, so the IOThread can run the BH. */
    AIO_WAIT_WHILE(ictx, !qatomic_load_acquire(&flag));
    g_assert_true(qatomic_read(&flag));
    aio_context_release(ictx);
    iothread_destroy(iot);
}

/* While the main thread holds the context, the IOThread runs nothing. */
static int held_counter;

static void count_bh(void *opaque)
{
    qatomic_inc(&held_counter);
    aio_wait_kick();
}

static void test_acquire_excludes_thread(void)
{
    IOThread *iot = iothread_create("held", &error_abort);
    AioContext *ictx = iothread_get_aio_context(iot);

    qatomic_set(&held_counter, 0);
    aio_context_acquire(ictx);
    aio_bh_schedule_oneshot(ictx, count_bh, NULL);
    g_usleep(20 * 1000);
    g_assert_cmpint(qatomic_read(&held_counter), ==, 0);
    aio_context_release(ictx);

    AIO_WAIT_WHILE_UNLOCKED(ictx, qatomic_read(&held_counter) == 0);
    g_assert_cmpint(qatomic_read(&held_counter), ==, 1);
    iothread_destroy(iot);
}

/* ---- GMainContext ------------------------------------------------------- */

static gboolean where_source_cb(gpointer opaque)
{
    where_record(opaque);
    return G_SOURCE_REMOVE;
}

static void test_g_main_context(void)
{
    IOThread *iot = iothread_create("glib", &error_abort);
    GMainContext *gctx = iothread_get_g_main_context(iot);
    GSource *idle = g_idle_source_new();
    WhereRan w, wbh;

    g_assert_nonnull(gctx);
    g_assert_true(iothread_get_g_main_context(iot) == gctx);

    where_init(&w);
    g_source_set_callback(idle, where_source_cb, &w, NULL);
    /*
     * GLib orders the attach before the dispatch with its own locks, which
     * ThreadSanitizer cannot see; holding the context (which the IOThread
     * takes around each iteration) gives it an edge it does see.
     */
    aio_context_acquire(iothread_get_aio_context(iot));
    g_source_attach(idle, gctx);
    aio_context_release(iothread_get_aio_context(iot));
    g_source_unref(idle);
    qemu_event_wait(&w.done);
    g_assert_cmpint(w.tid, ==, iothread_get_thread_id(iot));

    /* The AioContext is still served. */
    where_init(&wbh);
    aio_bh_schedule_oneshot(iothread_get_aio_context(iot), where_bh, &wbh);
    qemu_event_wait(&wbh.done);
    g_assert_cmpint(wbh.tid, ==, iothread_get_thread_id(iot));

    iothread_destroy(iot);
    qemu_event_destroy(&w.done);
    qemu_event_destroy(&wbh.done);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);

    g_test_add_func("/iothread/create-destroy", test_create_destroy);
    g_test_add_func("/iothread/name-errors", test_name_errors);
    g_test_add_func("/iothread/poll-params/default",
                    test_poll_params_default);
    g_test_add_func("/iothread/poll-params/set", test_poll_params_set);
    g_test_add_func("/iothread/bh/oneshot", test_bh_oneshot_runs_in_thread);
    g_test_add_func("/iothread/bh/schedule", test_bh_runs_in_thread);
    g_test_add_func("/iothread/co/ping-pong", test_co_ping_pong);
    g_test_add_func("/iothread/aio-wait-while", test_aio_wait_while);
    g_test_add_func("/iothread/acquire-excludes",
                    test_acquire_excludes_thread);
    g_test_add_func("/iothread/g-main-context", test_g_main_context);
    return g_test_run();
}
