/*
 * Tests for io/channel-buffer.h: growth on write, reads up to the end of
 * data, seeking from each origin, gaps filled with zeroes, watches and
 * close.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"
#include "qapi/error.h"

static QIOChannel *new_buffer(size_t capacity, QIOChannelBuffer **bioc)
{
    *bioc = qio_channel_buffer_new(capacity);
    return QIO_CHANNEL(*bioc);
}

static void test_new(void)
{
    QIOChannelBuffer *bioc;
    QIOChannel *ioc = new_buffer(100, &bioc);

    g_assert_cmpuint(bioc->capacity, ==, 100);
    g_assert_cmpuint(bioc->usage, ==, 0);
    g_assert_cmpuint(bioc->offset, ==, 0);
    g_assert_nonnull(bioc->data);
    object_unref(ioc);

    ioc = new_buffer(0, &bioc);
    g_assert_cmpuint(bioc->capacity, ==, 0);
    g_assert_null(bioc->data);
    object_unref(ioc);
}

static void test_grow(void)
{
    QIOChannelBuffer *bioc;
    QIOChannel *ioc = new_buffer(4, &bioc);
    g_autofree char *big = g_malloc(100000);

    memset(big, 'q', 100000);
    g_assert_cmpint(qio_channel_write(ioc, "abcdef", 6, &error_abort), ==, 6);
    g_assert_cmpuint(bioc->usage, ==, 6);
    g_assert_cmpuint(bioc->capacity, >=, 6);
    g_assert_cmpmem(bioc->data, 6, "abcdef", 6);
    g_assert_cmpint(qio_channel_write_all(ioc, big, 100000, &error_abort), ==,
                    0);
    g_assert_cmpuint(bioc->usage, ==, 100006);
    g_assert_cmpuint(bioc->offset, ==, 100006);
    g_assert_cmpuint(bioc->capacity, >=, 100006);
    g_assert_cmpmem(bioc->data, 6, "abcdef", 6);
    g_assert_cmpint(bioc->data[100005], ==, 'q');
    object_unref(ioc);
}

/* Reads share the position with writes: seek back before reading. */
static void test_read_to_end(void)
{
    QIOChannelBuffer *bioc;
    QIOChannel *ioc = new_buffer(0, &bioc);
    char buf[16];
    Error *err = NULL;

    qio_channel_write_all(ioc, "hello world", 11, &error_abort);
    g_assert_cmpint(qio_channel_read(ioc, buf, 16, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_io_seek(ioc, 0, SEEK_SET, &error_abort), ==,
                    0);
    g_assert_cmpint(qio_channel_read(ioc, buf, 5, &error_abort), ==, 5);
    g_assert_cmpmem(buf, 5, "hello", 5);
    g_assert_cmpint(qio_channel_read(ioc, buf, 16, &error_abort), ==, 6);
    g_assert_cmpmem(buf, 6, " world", 6);
    g_assert_cmpint(qio_channel_read(ioc, buf, 16, &error_abort), ==, 0);

    /* read_all_eof across the end is a part-way end-of-file. */
    qio_channel_io_seek(ioc, -3, SEEK_END, &error_abort);
    g_assert_cmpint(qio_channel_read_all_eof(ioc, buf, 5, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    object_unref(ioc);
}

static void test_seek(void)
{
    QIOChannelBuffer *bioc;
    QIOChannel *ioc = new_buffer(0, &bioc);
    Error *err = NULL;
    char c;

    qio_channel_write_all(ioc, "0123456789", 10, &error_abort);
    g_assert_cmpint(qio_channel_io_seek(ioc, 2, SEEK_SET, &error_abort), ==,
                    2);
    g_assert_cmpint(qio_channel_io_seek(ioc, 3, SEEK_CUR, &error_abort), ==,
                    5);
    qio_channel_read(ioc, &c, 1, &error_abort);
    g_assert_cmpint(c, ==, '5');
    g_assert_cmpint(qio_channel_io_seek(ioc, -2, SEEK_CUR, &error_abort), ==,
                    4);
    g_assert_cmpint(qio_channel_io_seek(ioc, -1, SEEK_END, &error_abort), ==,
                    9);
    qio_channel_read(ioc, &c, 1, &error_abort);
    g_assert_cmpint(c, ==, '9');

    g_assert_cmpint(qio_channel_io_seek(ioc, -11, SEEK_END, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_io_seek(ioc, 0, 42, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "invalid seek whence 42");
    error_free(err);
    g_assert_cmpuint(bioc->offset, ==, 10);     /* failures move nothing */
    object_unref(ioc);
}

/* Overwrite in the middle; write past the end leaves a zeroed gap. */
static void test_overwrite_and_gap(void)
{
    QIOChannelBuffer *bioc;
    QIOChannel *ioc = new_buffer(0, &bioc);

    qio_channel_write_all(ioc, "abcdef", 6, &error_abort);
    qio_channel_io_seek(ioc, 2, SEEK_SET, &error_abort);
    qio_channel_write_all(ioc, "XY", 2, &error_abort);
    g_assert_cmpuint(bioc->usage, ==, 6);
    g_assert_cmpmem(bioc->data, 6, "abXYef", 6);

    qio_channel_io_seek(ioc, 4, SEEK_END, &error_abort);
    qio_channel_write_all(ioc, "Z", 1, &error_abort);
    g_assert_cmpuint(bioc->usage, ==, 11);
    g_assert_cmpmem(bioc->data, 11, "abXYef\0\0\0\0Z", 11);
    object_unref(ioc);
}

static gboolean ready_cb(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    *(GIOCondition *)opaque = cond;
    return G_SOURCE_REMOVE;
}

static void test_watch_and_blocking(void)
{
    QIOChannelBuffer *bioc;
    QIOChannel *ioc = new_buffer(0, &bioc);
    GMainContext *gctx = g_main_context_new();
    GIOCondition seen = 0;

    g_assert_cmpint(qio_channel_set_blocking(ioc, false, &error_abort), ==, 0);
    qio_channel_add_watch_full(ioc, G_IO_OUT, ready_cb, &seen, NULL, gctx);
    g_assert_true(g_main_context_iteration(gctx, FALSE));
    g_assert_cmpint(seen, ==, G_IO_OUT);
    g_main_context_unref(gctx);
    object_unref(ioc);
}

static void test_close(void)
{
    QIOChannelBuffer *bioc;
    QIOChannel *ioc = new_buffer(16, &bioc);
    Error *err = NULL;
    char c;

    qio_channel_write_all(ioc, "abc", 3, &error_abort);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_null(bioc->data);
    g_assert_cmpuint(bioc->usage, ==, 0);
    g_assert_cmpint(qio_channel_write(ioc, "x", 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "buffer channel is closed");
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
    g_test_add_func("/io/channel/buffer/new", test_new);
    g_test_add_func("/io/channel/buffer/grow", test_grow);
    g_test_add_func("/io/channel/buffer/read-to-end", test_read_to_end);
    g_test_add_func("/io/channel/buffer/seek", test_seek);
    g_test_add_func("/io/channel/buffer/overwrite-gap",
                    test_overwrite_and_gap);
    g_test_add_func("/io/channel/buffer/watch", test_watch_and_blocking);
    g_test_add_func("/io/channel/buffer/close", test_close);
    return g_test_run();
}
