/*
 * Tests for io/channel-command.h: a round trip through cat (small, large
 * with a reader thread, and from a coroutine on a non-blocking channel),
 * one-directional channels, exit status and signals reported on close, a
 * missing program, a child that ignores end-of-input, an externally
 * spawned child (new_pid), watches, and no SIGPIPE on a dead child.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-command.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include <poll.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

static QIOChannel *spawn(int flags, const char *const argv[])
{
    return QIO_CHANNEL(qio_channel_command_new_spawn(argv, flags,
                                                     &error_abort));
}

static void test_cat_round_trip(void)
{
    const char *argv[] = { "cat", NULL };
    QIOChannel *ioc = spawn(O_RDWR, argv);
    char buf[6];

    g_assert_cmpint(QIO_CHANNEL_COMMAND(ioc)->pid, >, 0);
    qio_channel_write_all(ioc, "hello\n", 6, &error_abort);
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 6, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 6, "hello\n", 6);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_cmpint(QIO_CHANNEL_COMMAND(ioc)->pid, ==, -1);
    object_unref(ioc);
}

#define BIG (1024 * 1024)

static void *read_big(void *opaque)
{
    QIOChannel *ioc = opaque;
    char *buf = g_malloc(BIG);

    qio_channel_read_all(ioc, buf, BIG, &error_abort);
    return buf;
}

/* More than the pipes hold: cat only progresses while we also read. */
static void test_cat_large(void)
{
    const char *argv[] = { "cat", NULL };
    QIOChannel *ioc = spawn(O_RDWR, argv);
    g_autofree char *want = g_malloc(BIG);
    g_autofree char *got = NULL;
    QemuThread t;

    for (size_t i = 0; i < BIG; i++) {
        want[i] = i % 251;
    }
    qemu_thread_create(&t, "reader", read_big, ioc, QEMU_THREAD_JOINABLE);
    qio_channel_write_all(ioc, want, BIG, &error_abort);
    got = qemu_thread_join(&t);
    g_assert_true(memcmp(got, want, BIG) == 0);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    object_unref(ioc);
}

typedef struct CoRead {
    QIOChannel *ioc;
    char buf[5];
    bool done;
} CoRead;

static void coroutine_fn co_read(void *opaque)
{
    CoRead *r = opaque;

    qio_channel_read_all(r->ioc, r->buf, 5, &error_abort);
    r->done = true;
}

/* Non-blocking: reads say ERR_BLOCK, and a coroutine yields for data. */
static void test_nonblocking_coroutine(void)
{
    const char *argv[] = { "cat", NULL };
    QIOChannel *ioc = spawn(O_RDWR | O_NONBLOCK, argv);
    CoRead r = { .ioc = ioc };
    Error *err = NULL;
    char c;

    g_assert_cmpint(qio_channel_read(ioc, &c, 1, &err), ==,
                    QIO_CHANNEL_ERR_BLOCK);
    g_assert_null(err);
    qemu_coroutine_enter(qemu_coroutine_create(co_read, &r));
    g_assert_false(r.done);
    qio_channel_write_all(ioc, "world", 5, &error_abort);
    while (!r.done) {
        aio_poll(qemu_get_aio_context(), true);
    }
    g_assert_cmpmem(r.buf, 5, "world", 5);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    object_unref(ioc);
}

static void test_read_only(void)
{
    const char *argv[] = { "echo", "from child", NULL };
    QIOChannel *ioc = spawn(O_RDONLY, argv);
    char buf[32];
    Error *err = NULL;

    g_assert_cmpint(QIO_CHANNEL_COMMAND(ioc)->writefd, ==, -1);
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 11, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 11, "from child\n", 11);
    g_assert_cmpint(qio_channel_write(ioc, "x", 1, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "no write side"));
    error_free(err);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    object_unref(ioc);
}

static void test_write_only(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-io-command-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "out", NULL);
    g_autofree char *script = g_strdup_printf("cat > '%s'", path);
    const char *argv[] = { "sh", "-c", script, NULL };
    QIOChannel *ioc = spawn(O_WRONLY, argv);
    g_autofree char *contents = NULL;

    g_assert_cmpint(QIO_CHANNEL_COMMAND(ioc)->readfd, ==, -1);
    qio_channel_write_all(ioc, "stored", 6, &error_abort);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "stored");
    object_unref(ioc);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_exit_status(void)
{
    const char *argv[] = { "sh", "-c", "exit 3", NULL };
    QIOChannel *ioc = spawn(O_RDWR, argv);
    Error *err = NULL;

    g_assert_cmpint(qio_channel_close(ioc, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "command 'sh' exited with status 3");
    error_free(err);
    err = NULL;
    /* Closed is closed, even after a failure. */
    g_assert_cmpint(qio_channel_close(ioc, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "command channel is already closed");
    error_free(err);
    object_unref(ioc);
}

static void test_killed_by_signal(void)
{
    const char *argv[] = { "sh", "-c", "kill -KILL $$", NULL };
    QIOChannel *ioc = spawn(O_RDWR, argv);
    Error *err = NULL;
    char c;

    /* Wait for it to die: its stdout reaches end-of-file. */
    g_assert_cmpint(qio_channel_read(ioc, &c, 1, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_close(ioc, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "command 'sh' was killed by signal 9"));
    error_free(err);
    object_unref(ioc);
}

static void test_missing_program(void)
{
    const char *argv[] = { "spindle-no-such-program", "arg", NULL };
    Error *err = NULL;

    g_assert_null(qio_channel_command_new_spawn(argv, O_RDWR, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "cannot run 'spindle-no-such-program': "
                    "No such file or directory");
    error_free(err);
}

/* A child that ignores end-of-input is terminated by close. */
static void test_close_kills_lingering(void)
{
    const char *argv[] = { "sleep", "60", NULL };
    QIOChannel *ioc = spawn(O_RDWR, argv);
    pid_t pid = QIO_CHANNEL_COMMAND(ioc)->pid;

    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    /* Reaped: the pid is no longer our child. */
    g_assert_cmpint(waitpid(pid, NULL, WNOHANG), ==, -1);
    g_assert_cmpint(errno, ==, ECHILD);
    object_unref(ioc);
}

static void test_new_pid(void)
{
    const char *argv[] = { "sh", "-c", "read x; echo got$x; exit 5", NULL };
    g_autofree char *want = NULL;
    int in, out;
    GPid pid;
    QIOChannel *ioc;
    Error *err = NULL;
    char buf[8];

    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                           G_SPAWN_SEARCH_PATH |
                                           G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, &in, &out,
                                           NULL, NULL));
    ioc = QIO_CHANNEL(qio_channel_command_new_pid(in, out, pid));
    qio_channel_write_all(ioc, "42\n", 3, &error_abort);
    qio_channel_read_all(ioc, buf, 6, &error_abort);
    g_assert_cmpmem(buf, 6, "got42\n", 6);
    want = g_strdup_printf("child process %d exited with status 5", pid);
    g_assert_cmpint(qio_channel_close(ioc, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
    object_unref(ioc);
}

static gboolean watch_cb(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    *(GIOCondition *)opaque = cond;
    return G_SOURCE_REMOVE;
}

static void test_watch(void)
{
    const char *argv[] = { "cat", NULL };
    QIOChannel *ioc = spawn(O_RDWR, argv);
    GMainContext *gctx = g_main_context_new();
    GIOCondition seen = 0;

    /* Writable at once (stdin pipe), not yet readable. */
    qio_channel_add_watch_full(ioc, G_IO_OUT, watch_cb, &seen, NULL, gctx);
    g_main_context_iteration(gctx, TRUE);
    g_assert_cmpint(seen, ==, G_IO_OUT);

    seen = 0;
    qio_channel_add_watch_full(ioc, G_IO_IN, watch_cb, &seen, NULL, gctx);
    g_assert_false(g_main_context_iteration(gctx, FALSE));
    qio_channel_write_all(ioc, "x", 1, &error_abort);
    g_main_context_iteration(gctx, TRUE);
    g_assert_cmpint(seen, ==, G_IO_IN);
    g_main_context_unref(gctx);
    qio_channel_close(ioc, &error_abort);
    object_unref(ioc);
}

/* Writing to a child that has gone fails with EPIPE, no SIGPIPE. */
static void test_dead_child_no_sigpipe(void)
{
    const char *argv[] = { "true", NULL };
    QIOChannel *ioc = spawn(O_WRONLY, argv);
    struct pollfd pfd = { .fd = QIO_CHANNEL_COMMAND(ioc)->writefd };
    Error *err = NULL;

    /* The write end reports POLLERR once the reader is gone. */
    while (!(pfd.revents & POLLERR)) {
        g_assert_cmpint(poll(&pfd, 1, -1), ==, 1);
    }
    g_assert_cmpint(qio_channel_write(ioc, "x", 1, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "Broken pipe"));
    error_free(err);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    object_unref(ioc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);

    g_test_add_func("/io/channel/command/cat", test_cat_round_trip);
    g_test_add_func("/io/channel/command/cat-large", test_cat_large);
    g_test_add_func("/io/channel/command/nonblocking-coroutine",
                    test_nonblocking_coroutine);
    g_test_add_func("/io/channel/command/read-only", test_read_only);
    g_test_add_func("/io/channel/command/write-only", test_write_only);
    g_test_add_func("/io/channel/command/exit-status", test_exit_status);
    g_test_add_func("/io/channel/command/signal", test_killed_by_signal);
    g_test_add_func("/io/channel/command/missing", test_missing_program);
    g_test_add_func("/io/channel/command/close-kills",
                    test_close_kills_lingering);
    g_test_add_func("/io/channel/command/new-pid", test_new_pid);
    g_test_add_func("/io/channel/command/watch", test_watch);
    g_test_add_func("/io/channel/command/no-sigpipe",
                    test_dead_child_no_sigpipe);
    return g_test_run();
}
