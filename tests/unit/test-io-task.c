/*
 * Tests for io/task.h: completion with source, error and result; workers
 * in a thread with completion delivered in a chosen GMainContext; and
 * qio_task_wait_thread completing at once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/task.h"
#include "io/channel-null.h"
#include "qemu/thread.h"
#include "qapi/error.h"

typedef struct Seen {
    int calls;
    Object *source;
    Error *err;
    char *result;
    GMainContext *ctx;      /* context whose source ran the completion */
    int tid;                /* thread that ran the completion */
    int worker_tid;
    int freed;
} Seen;

static void complete_cb(QIOTask *task, gpointer opaque)
{
    Seen *s = opaque;
    GSource *cur = g_main_current_source();

    s->calls++;
    s->source = qio_task_get_source(task);
    qio_task_propagate_error(task, &s->err);
    s->result = g_strdup(qio_task_get_result_pointer(task));
    s->ctx = cur ? g_source_get_context(cur) : NULL;
    s->tid = qemu_get_thread_id();
}

static void noop_cb(QIOTask *task, gpointer opaque)
{
    (*(int *)opaque)++;
}

static void count_free(gpointer opaque)
{
    ((Seen *)opaque)->freed++;
}

static void test_complete(void)
{
    Object *src = OBJECT(qio_channel_null_new());
    Seen s = { 0 };
    QIOTask *task = qio_task_new(src, complete_cb, &s, count_free);

    g_assert_cmpint(src->ref, ==, 2);   /* the task holds one */
    g_assert_true(qio_task_get_source(task) == src);
    qio_task_complete(task);
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_true(s.source == src);
    g_assert_null(s.err);
    g_assert_null(s.result);
    g_assert_cmpint(s.freed, ==, 1);
    g_assert_cmpint(src->ref, ==, 1);
    object_unref(src);
}

static void test_no_source(void)
{
    Seen s = { 0 };

    qio_task_complete(qio_task_new(NULL, complete_cb, &s, NULL));
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_null(s.source);
}

static Error *make_error(const char *msg)
{
    Error *err = NULL;

    error_setg(&err, "%s", msg);
    return err;
}

/* The first error wins; propagating hands it over exactly once. */
static void test_errors(void)
{
    int calls = 0;
    QIOTask *task = qio_task_new(NULL, noop_cb, &calls, NULL);
    Error *err = NULL;

    g_assert_false(qio_task_propagate_error(task, &err));
    qio_task_set_error(task, NULL);
    qio_task_set_error(task, make_error("first"));
    qio_task_set_error(task, make_error("second"));
    g_assert_true(qio_task_propagate_error(task, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "first");
    error_free(err);
    err = NULL;
    g_assert_false(qio_task_propagate_error(task, &err));
    g_assert_null(err);

    /* An error still held at the end is freed with the task. */
    qio_task_set_error(task, make_error("unclaimed"));
    qio_task_complete(task);
    g_assert_cmpint(calls, ==, 1);
}

static void free_and_count(gpointer p)
{
    int *count = p;

    (*count)++;
}

static void test_result_pointer(void)
{
    int first = 0, second = 0, calls = 0;
    QIOTask *task = qio_task_new(NULL, noop_cb, &calls, NULL);

    g_assert_null(qio_task_get_result_pointer(task));
    qio_task_set_result_pointer(task, &first, free_and_count);
    g_assert_true(qio_task_get_result_pointer(task) == &first);
    qio_task_set_result_pointer(task, &second, free_and_count);
    g_assert_cmpint(first, ==, 1);     /* replaced: freed */
    g_assert_true(qio_task_get_result_pointer(task) == &second);
    qio_task_complete(task);
    g_assert_cmpint(second, ==, 1);
}

/* ---- workers in threads ------------------------------------------------- */

typedef struct Work {
    Seen *seen;
    bool fail;
    int freed;
} Work;

static void worker(QIOTask *task, gpointer opaque)
{
    Work *w = opaque;

    w->seen->worker_tid = qemu_get_thread_id();
    if (w->fail) {
        qio_task_set_error(task, make_error("worker failed"));
    } else {
        qio_task_set_result_pointer(task, g_strdup("worker result"), g_free);
    }
}

static void work_free(gpointer opaque)
{
    ((Work *)opaque)->freed++;
}

static void run_in_context(bool fail)
{
    GMainContext *gctx = g_main_context_new();
    Seen s = { 0 };
    Work w = { .seen = &s, .fail = fail };
    QIOTask *task = qio_task_new(NULL, complete_cb, &s, NULL);

    qio_task_run_in_thread(task, worker, &w, work_free, gctx);
    while (!s.calls) {
        g_main_context_iteration(gctx, TRUE);
    }
    g_assert_true(s.ctx == gctx);
    g_assert_cmpint(s.tid, ==, qemu_get_thread_id());
    g_assert_cmpint(s.worker_tid, !=, qemu_get_thread_id());
    g_assert_cmpint(w.freed, ==, 1);
    if (fail) {
        g_assert_cmpstr(error_get_pretty(s.err), ==, "worker failed");
        error_free(s.err);
        g_assert_null(s.result);
    } else {
        g_assert_null(s.err);
        g_assert_cmpstr(s.result, ==, "worker result");
    }
    g_free(s.result);
    g_main_context_unref(gctx);
}

static void test_thread_result(void)
{
    run_in_context(false);
}

static void test_thread_error(void)
{
    run_in_context(true);
}

static void test_wait_thread(void)
{
    GMainContext *gctx = g_main_context_new();
    Seen s = { 0 };
    Work w = { .seen = &s };
    QIOTask *task = qio_task_new(NULL, complete_cb, &s, NULL);

    qio_task_run_in_thread(task, worker, &w, work_free, gctx);
    qio_task_wait_thread(task);
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_null(s.ctx);               /* not from a source */
    g_assert_cmpstr(s.result, ==, "worker result");
    g_assert_cmpint(w.freed, ==, 1);
    /* The idle source was withdrawn: nothing runs twice. */
    g_assert_false(g_main_context_iteration(gctx, FALSE));
    g_assert_cmpint(s.calls, ==, 1);
    g_free(s.result);
    g_main_context_unref(gctx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/task/complete", test_complete);
    g_test_add_func("/io/task/no-source", test_no_source);
    g_test_add_func("/io/task/errors", test_errors);
    g_test_add_func("/io/task/result-pointer", test_result_pointer);
    g_test_add_func("/io/task/thread/result", test_thread_result);
    g_test_add_func("/io/task/thread/error", test_thread_error);
    g_test_add_func("/io/task/thread/wait", test_wait_thread);
    return g_test_run();
}
