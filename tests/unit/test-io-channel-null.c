/*
 * Tests for io/channel-null.h: writes counted and dropped, reads at
 * end-of-file, always-ready watches, I/O failing after close.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-null.h"
#include "qapi/error.h"

static void test_write_discards(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());
    char a[10] = "0123456789", b[5] = "abcde";
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

    g_assert_cmpint(qio_channel_writev(ioc, iov, 2, &error_abort), ==, 15);
    g_assert_cmpint(qio_channel_write(ioc, "", 0, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_writev_all(ioc, iov, 2, &error_abort), ==, 0);
    object_unref(ioc);
}

static void test_read_eof(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());
    Error *err = NULL;
    char buf[4];

    g_assert_cmpint(qio_channel_read(ioc, buf, 4, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all_eof(ioc, buf, 4, &err), ==, 0);
    g_assert_null(err);
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 4, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    object_unref(ioc);
}

static void test_blocking_modes(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());
    char c;

    g_assert_cmpint(qio_channel_set_blocking(ioc, false, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read(ioc, &c, 1, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_set_blocking(ioc, true, &error_abort), ==, 0);
    object_unref(ioc);
}

static gboolean count_cb(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    *(GIOCondition *)opaque = cond;
    return G_SOURCE_REMOVE;
}

static void test_watch_ready(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());
    GMainContext *gctx = g_main_context_new();
    GIOCondition seen = 0;

    qio_channel_add_watch_full(ioc, G_IO_IN | G_IO_OUT, count_cb, &seen,
                               NULL, gctx);
    g_assert_true(g_main_context_iteration(gctx, FALSE));
    g_assert_cmpint(seen, ==, G_IO_IN | G_IO_OUT);
    g_main_context_unref(gctx);
    object_unref(ioc);
}

static void test_close(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());
    Error *err = NULL;
    char c;

    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_true(QIO_CHANNEL_NULL(ioc)->closed);
    g_assert_cmpint(qio_channel_write(ioc, "x", 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "null channel is closed");
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_read(ioc, &c, 1, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    object_unref(ioc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/null/write", test_write_discards);
    g_test_add_func("/io/channel/null/read", test_read_eof);
    g_test_add_func("/io/channel/null/blocking", test_blocking_modes);
    g_test_add_func("/io/channel/null/watch", test_watch_ready);
    g_test_add_func("/io/channel/null/close", test_close);
    return g_test_run();
}
