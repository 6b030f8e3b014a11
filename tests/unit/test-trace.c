/*
 * Tests for qemu/trace.h: enabling events by pattern and the line format.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/trace.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "io/channel-buffer.h"
#include "block/block.h"

/* Run @fn with trace output captured into a string. */
static char *capture(void (*fn)(void))
{
    FILE *out = tmpfile();
    GString *text = g_string_new(NULL);
    char line[512];

    g_assert_nonnull(out);
    trace_set_output(out);
    fn();
    trace_set_output(NULL);
    rewind(out);
    while (fgets(line, sizeof(line), out)) {
        g_string_append(text, line);
    }
    fclose(out);
    return g_string_free(text, false);
}

static void run_one_bh(void)
{
    AioContext *ctx = aio_context_new();
    int ran = 0;

    aio_bh_schedule_oneshot(ctx, (QEMUBHFunc *)(void (*)(void *))g_free,
                            g_malloc(1));
    while (aio_poll(ctx, false)) {
        ran++;
    }
    g_assert_cmpint(ran, >=, 1);
    aio_context_unref(ctx);
}

static void test_disabled_by_default(void)
{
    g_autofree char *out = NULL;

    g_assert_true(trace_enable_events("-*", &error_abort));
    out = capture(run_one_bh);
    g_assert_cmpstr(out, ==, "");
}

static void test_pattern_enables(void)
{
    g_autofree char *out = NULL;

    g_assert_true(trace_enable_events("-*,aio_bh_*", &error_abort));
    g_assert_true(trace_event_get_state("aio_bh_run"));
    g_assert_true(trace_event_get_state("aio_bh_schedule"));
    g_assert_false(trace_event_get_state("aio_poll_begin"));
    out = capture(run_one_bh);
    /* "<secs> <tid> aio_bh_schedule ctx 0x... bh 0x..." then the run. */
    g_assert_nonnull(strstr(out, " aio_bh_schedule ctx "));
    g_assert_nonnull(strstr(out, " aio_bh_run ctx "));
    g_assert_null(strstr(out, "aio_poll_begin"));
    g_assert_true(strstr(out, "aio_bh_schedule") < strstr(out, "aio_bh_run"));
    g_assert_true(trace_enable_events("-*", &error_abort));
}

static void co_body(void *opaque)
{
    qemu_coroutine_yield();
}

static void run_coroutine(void)
{
    Coroutine *co = qemu_coroutine_create(co_body, NULL);

    qemu_coroutine_enter(co);
    qemu_coroutine_enter(co);
}

static void test_coroutine_events(void)
{
    g_autofree char *out = NULL;

    g_assert_true(trace_enable_events("-*,qemu_co_*", &error_abort));
    out = capture(run_coroutine);
    g_assert_nonnull(strstr(out, " qemu_co_enter from "));
    g_assert_nonnull(strstr(out, " qemu_co_yield self "));
    g_assert_nonnull(strstr(out, " qemu_co_terminate co "));
    g_assert_true(trace_enable_events("-*", &error_abort));
}

static void close_buffer_channel(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(16);

    qio_channel_set_name(QIO_CHANNEL(bioc), "traced-buffer");
    qio_channel_close(QIO_CHANNEL(bioc), &error_abort);
    object_unref(OBJECT(bioc));
}

static void test_channel_events(void)
{
    g_autofree char *out = NULL;

    g_assert_true(trace_enable_events("-*,qio_channel_*", &error_abort));
    out = capture(close_buffer_channel);
    g_assert_nonnull(strstr(out, " qio_channel_close ioc "));
    g_assert_nonnull(strstr(out, " name traced-buffer\n"));
    g_assert_true(trace_enable_events("-*", &error_abort));
}

static void read_null_node(void)
{
    BlockDriverState *bs = bdrv_new("");
    uint8_t buf[512];

    g_assert_cmpint(bdrv_open(bs, "null-co://", 0, NULL, &error_abort), ==,
                    0);
    g_assert_cmpint(bdrv_pread(bs, 512, buf, sizeof(buf)), ==, 512);
    bdrv_drained_begin(bs);
    bdrv_drained_end(bs);
    bdrv_unref(bs);
}

static void test_block_events(void)
{
    g_autofree char *out = NULL;

    g_assert_true(trace_enable_events("-*,bdrv_*", &error_abort));
    out = capture(read_null_node);
    g_assert_nonnull(strstr(out, " bdrv_open bs "));
    g_assert_nonnull(strstr(out, " read offset 512 bytes 512\n"));
    g_assert_nonnull(strstr(out, " bdrv_request_complete bs "));
    g_assert_nonnull(strstr(out, " bdrv_drained_begin bs "));
    g_assert_nonnull(strstr(out, " bdrv_close bs "));
    g_assert_true(trace_enable_events("-*", &error_abort));
}

static void test_line_format(void)
{
    g_autofree char *out = NULL;
    double secs;
    int tid;
    char name[64];

    g_assert_true(trace_enable_events("-*,aio_bh_run", &error_abort));
    out = capture(run_one_bh);
    g_assert_cmpint(sscanf(out, "%lf %d %63s", &secs, &tid, name), ==, 3);
    g_assert_cmpfloat(secs, >=, 0.0);
    g_assert_cmpint(tid, ==, qemu_get_thread_id());
    g_assert_cmpstr(name, ==, "aio_bh_run");
    g_assert_true(trace_enable_events("-*", &error_abort));
}

static void test_unknown_pattern(void)
{
    Error *err = NULL;

    g_assert_false(trace_enable_events("aio_bh_run,no_such_event*", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "no trace event matches 'no_such_event*'");
    error_free(err);
    /* The pattern that did match was still applied. */
    g_assert_true(trace_event_get_state("aio_bh_run"));
    g_assert_true(trace_enable_events("-*", &error_abort));
}

static void test_list(void)
{
    const TraceEvent *ev;
    int n = 0;

    for (ev = trace_events(); ev->name; ev++) {
        n++;
    }
    g_assert_cmpint(n, >=, 10);
    g_assert_false(trace_event_get_state("not-an-event"));
}

static void test_env_variable(void)
{
    if (g_test_subprocess()) {
        /* The variable is read at program start: check its effect here. */
        g_assert_true(trace_event_get_state("aio_bh_run"));
        g_assert_false(trace_event_get_state("aio_poll_begin"));
        return;
    }
    g_setenv("SPINDLE_TRACE", "aio_bh_run", TRUE);
    g_test_trap_subprocess(NULL, 0, 0);
    g_unsetenv("SPINDLE_TRACE");
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/trace/disabled", test_disabled_by_default);
    g_test_add_func("/trace/pattern", test_pattern_enables);
    g_test_add_func("/trace/coroutine", test_coroutine_events);
    g_test_add_func("/trace/channel", test_channel_events);
    g_test_add_func("/trace/block", test_block_events);
    g_test_add_func("/trace/line-format", test_line_format);
    g_test_add_func("/trace/unknown-pattern", test_unknown_pattern);
    g_test_add_func("/trace/list", test_list);
    g_test_add_func("/trace/env", test_env_variable);
    return g_test_run();
}
