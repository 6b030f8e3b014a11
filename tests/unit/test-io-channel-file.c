/*
 * Tests for io/channel-file.h: regular files opened by path (with the
 * error naming the path), pipes (no seeking, no SIGPIPE), FIFOs opened by
 * path from two threads, /dev/null, blocking mode as O_NONBLOCK, and the
 * descriptor's ownership.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-file.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include <glib/gstdio.h>

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void test_path_round_trip(void)
{
    g_autofree char *path = tmp_path("round-trip");
    QIOChannelFile *fioc;
    QIOChannel *ioc;
    struct stat st;
    char buf[32];

    fioc = qio_channel_file_new_path(path, O_CREAT | O_TRUNC | O_WRONLY,
                                     0600, &error_abort);
    ioc = QIO_CHANNEL(fioc);
    g_assert_cmpint(qio_channel_write_all(ioc, "spindle data", 12,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_cmpint(fioc->fd, ==, -1);
    object_unref(ioc);

    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    g_assert_cmpint(st.st_size, ==, 12);

    ioc = QIO_CHANNEL(qio_channel_file_new_path(path, O_RDONLY, 0,
                                                &error_abort));
    g_assert_cmpint(qio_channel_read(ioc, buf, sizeof(buf), &error_abort),
                    ==, 12);
    g_assert_cmpmem(buf, 12, "spindle data", 12);
    g_assert_cmpint(qio_channel_read(ioc, buf, sizeof(buf), &error_abort),
                    ==, 0);
    object_unref(ioc);
    g_unlink(path);
}

static void test_path_missing(void)
{
    g_autofree char *path = tmp_path("no/such/file");
    g_autofree char *want = g_strdup_printf("unable to open file '%s': "
                                            "No such file or directory",
                                            path);
    Error *err = NULL;

    g_assert_null(qio_channel_file_new_path(path, O_RDONLY, 0, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
}

static void test_file_seek(void)
{
    g_autofree char *path = tmp_path("seek");
    QIOChannel *ioc;
    char buf[4];

    ioc = QIO_CHANNEL(qio_channel_file_new_path(path, O_CREAT | O_RDWR, 0600,
                                                &error_abort));
    qio_channel_write_all(ioc, "0123456789", 10, &error_abort);
    g_assert_cmpint(qio_channel_io_seek(ioc, 3, SEEK_SET, &error_abort), ==,
                    3);
    qio_channel_read_all(ioc, buf, 2, &error_abort);
    g_assert_cmpmem(buf, 2, "34", 2);
    g_assert_cmpint(qio_channel_io_seek(ioc, 1, SEEK_CUR, &error_abort), ==,
                    6);
    g_assert_cmpint(qio_channel_io_seek(ioc, -1, SEEK_END, &error_abort), ==,
                    9);
    qio_channel_read_all(ioc, buf, 1, &error_abort);
    g_assert_cmpint(buf[0], ==, '9');
    object_unref(ioc);
    g_unlink(path);
}

static void make_pipe(QIOChannel *ch[2])
{
    int fds[2];

    g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
    ch[0] = QIO_CHANNEL(qio_channel_file_new_fd(fds[0]));
    ch[1] = QIO_CHANNEL(qio_channel_file_new_fd(fds[1]));
}

static void test_pipe_no_seek(void)
{
    QIOChannel *ch[2];
    Error *err = NULL;

    make_pipe(ch);
    g_assert_cmpint(qio_channel_io_seek(ch[0], 0, SEEK_SET, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "Illegal seek"));
    error_free(err);
    object_unref(ch[0]);
    object_unref(ch[1]);
}

/* A write to a pipe without reader fails; the process lives on. */
static void test_pipe_no_sigpipe(void)
{
    QIOChannel *ch[2];
    Error *err = NULL;

    make_pipe(ch);
    object_unref(ch[0]);
    g_assert_cmpint(qio_channel_write(ch[1], "x", 1, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "Broken pipe"));
    error_free(err);
    object_unref(ch[1]);
}

static void test_blocking_flag(void)
{
    QIOChannel *ch[2];
    int fd;

    make_pipe(ch);
    fd = QIO_CHANNEL_FILE(ch[0])->fd;
    g_assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    qio_channel_set_blocking(ch[0], false, &error_abort);
    g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    qio_channel_set_blocking(ch[0], true, &error_abort);
    g_assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    object_unref(ch[0]);
    object_unref(ch[1]);
}

/* The channel owns its fd: dropping the last reference closes it. */
static void test_fd_ownership(void)
{
    QIOChannel *ch[2];
    int fd;

    make_pipe(ch);
    fd = QIO_CHANNEL_FILE(ch[1])->fd;
    object_unref(ch[1]);
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
    g_assert_cmpint(errno, ==, EBADF);
    object_unref(ch[0]);
}

static void test_devnull(void)
{
    QIOChannel *ioc;
    char buf[8];

    ioc = QIO_CHANNEL(qio_channel_file_new_path("/dev/null", O_RDWR, 0,
                                                &error_abort));
    g_assert_cmpint(qio_channel_write(ioc, "dropped", 7, &error_abort), ==,
                    7);
    g_assert_cmpint(qio_channel_read(ioc, buf, 8, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all_eof(ioc, buf, 8, &error_abort), ==,
                    0);
    g_assert_false(qio_channel_has_feature(ioc,
                                           QIO_CHANNEL_FEATURE_SHUTDOWN));
    object_unref(ioc);
}

/* A FIFO opened by path in two threads carries data between them. */
static void *fifo_writer(void *opaque)
{
    QIOChannel *ioc;

    ioc = QIO_CHANNEL(qio_channel_file_new_path(opaque, O_WRONLY, 0,
                                                &error_abort));
    for (int i = 0; i < 100; i++) {
        qio_channel_write_all(ioc, "0123456789", 10, &error_abort);
    }
    object_unref(ioc);
    return NULL;
}

static void test_fifo(void)
{
    g_autofree char *path = tmp_path("fifo");
    g_autofree char *buf = g_malloc(1000);
    QemuThread t;
    QIOChannel *ioc;
    char c;

    g_assert_cmpint(mkfifo(path, 0600), ==, 0);
    qemu_thread_create(&t, "fifo-writer", fifo_writer, path,
                       QEMU_THREAD_JOINABLE);
    ioc = QIO_CHANNEL(qio_channel_file_new_path(path, O_RDONLY, 0,
                                                &error_abort));
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 1000, &error_abort), ==,
                    0);
    g_assert_cmpmem(buf + 990, 10, "0123456789", 10);
    g_assert_cmpint(qio_channel_read_all_eof(ioc, &c, 1, &error_abort), ==,
                    0);
    qemu_thread_join(&t);
    object_unref(ioc);
    g_unlink(path);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-io-channel-file-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);

    g_test_add_func("/io/channel/file/path", test_path_round_trip);
    g_test_add_func("/io/channel/file/path-missing", test_path_missing);
    g_test_add_func("/io/channel/file/seek", test_file_seek);
    g_test_add_func("/io/channel/file/pipe-no-seek", test_pipe_no_seek);
    g_test_add_func("/io/channel/file/pipe-no-sigpipe", test_pipe_no_sigpipe);
    g_test_add_func("/io/channel/file/blocking", test_blocking_flag);
    g_test_add_func("/io/channel/file/fd-ownership", test_fd_ownership);
    g_test_add_func("/io/channel/file/devnull", test_devnull);
    g_test_add_func("/io/channel/file/fifo", test_fifo);
    ret = g_test_run();
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
