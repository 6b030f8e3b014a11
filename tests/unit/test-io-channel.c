/*
 * Tests for io/channel.h: the QIOChannel base class, driven through
 * QIOChannelFile on pipes and socketpairs.  Blocking and non-blocking
 * I/O, the "_all" loops under partial transfers (threads and
 * coroutines), the three readv_all_eof outcomes, refused fd passing,
 * watches in a chosen GMainContext, qio_channel_yield with external
 * re-entry, moving a waiting coroutine between IOThreads, and shutdown
 * waking a reader blocked in another thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-file.h"
#include "io/channel-null.h"
#include "io/channel-socket.h"
#include "io/channel-util.h"
#include "block/aio.h"
#include "qemu/atomic.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"
#include "sysemu/iothread.h"
#include "qapi/error.h"
#include <signal.h>
#include <sys/socket.h>

/* ---- helpers ------------------------------------------------------------ */

/* A pipe as two channels: [0] reads, [1] writes. */
static void make_pipe(QIOChannel *ch[2], bool blocking)
{
    int fds[2];

    g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
    for (int i = 0; i < 2; i++) {
        ch[i] = QIO_CHANNEL(qio_channel_file_new_fd(fds[i]));
        qio_channel_set_blocking(ch[i], blocking, &error_abort);
    }
}

static void make_socketpair(QIOChannel *ch[2])
{
    int fds[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
                    ==, 0);
    ch[0] = QIO_CHANNEL(qio_channel_file_new_fd(fds[0]));
    ch[1] = QIO_CHANNEL(qio_channel_file_new_fd(fds[1]));
}

static void unref_pair(QIOChannel *ch[2])
{
    object_unref(ch[0]);
    object_unref(ch[1]);
}

static int pipe_capacity(QIOChannel *ioc)
{
    return fcntl(QIO_CHANNEL_FILE(ioc)->fd, F_GETPIPE_SZ);
}

static guint8 *pattern(size_t len)
{
    guint8 *buf = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        buf[i] = (i * 7 + i / 251) & 0xff;
    }
    return buf;
}

/* ---- features and names ------------------------------------------------- */

static void test_features(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());

    g_assert_false(qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_FD_PASS));
    g_assert_false(qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_LISTEN));
    qio_channel_set_feature(ioc, QIO_CHANNEL_FEATURE_LISTEN);
    g_assert_true(qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_LISTEN));
    g_assert_false(qio_channel_has_feature(ioc,
                                           QIO_CHANNEL_FEATURE_SHUTDOWN));
    object_unref(ioc);
}

static void test_name_on_watch(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());
    GSource *src;

    qio_channel_set_name(ioc, "first");
    qio_channel_set_name(ioc, "backup-target");
    g_assert_cmpstr(ioc->name, ==, "backup-target");
    src = qio_channel_create_watch(ioc, G_IO_IN);
    g_assert_cmpstr(g_source_get_name(src), ==, "backup-target");
    g_source_unref(src);
    qio_channel_set_name(ioc, NULL);
    g_assert_null(ioc->name);
    object_unref(ioc);
}

/* ---- blocking and non-blocking ------------------------------------------ */

static void test_nonblocking_read_blocks(void)
{
    QIOChannel *ch[2];
    Error *err = NULL;
    char buf[8];

    make_pipe(ch, false);
    g_assert_cmpint(qio_channel_read(ch[0], buf, sizeof(buf), &err), ==,
                    QIO_CHANNEL_ERR_BLOCK);
    g_assert_null(err);

    g_assert_cmpint(qio_channel_write(ch[1], "hi", 2, &error_abort), ==, 2);
    g_assert_cmpint(qio_channel_read(ch[0], buf, sizeof(buf), &err), ==, 2);
    g_assert_null(err);
    g_assert_cmpmem(buf, 2, "hi", 2);
    unref_pair(ch);
}

static void test_nonblocking_write_blocks(void)
{
    QIOChannel *ch[2];
    size_t cap, len;
    g_autofree guint8 *buf = NULL;
    Error *err = NULL;

    make_pipe(ch, false);
    cap = pipe_capacity(ch[1]);
    len = cap * 2;
    buf = pattern(len);
    /* A partial write fills the pipe; then nothing more fits. */
    g_assert_cmpint(qio_channel_write(ch[1], (char *)buf, len, &err), ==,
                    cap);
    g_assert_cmpint(qio_channel_write(ch[1], (char *)buf, len, &err), ==,
                    QIO_CHANNEL_ERR_BLOCK);
    g_assert_null(err);
    unref_pair(ch);
}

/* A blocking read waits for the writer thread and returns what came. */
static void *write_late(void *opaque)
{
    QIOChannel *ioc = opaque;

    g_usleep(20 * 1000);
    qio_channel_write_all(ioc, "late", 4, &error_abort);
    return NULL;
}

static void test_blocking_read_waits(void)
{
    QIOChannel *ch[2];
    QemuThread thread;
    char buf[16];

    make_pipe(ch, true);
    qemu_thread_create(&thread, "writer", write_late, ch[1],
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_read(ch[0], buf, sizeof(buf), &error_abort),
                    ==, 4);
    g_assert_cmpmem(buf, 4, "late", 4);
    qemu_thread_join(&thread);
    unref_pair(ch);
}

/* ---- readv_all_eof outcomes --------------------------------------------- */

static void test_read_all_eof_complete(void)
{
    QIOChannel *ch[2];
    char a[3], b[4];
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

    make_pipe(ch, true);
    qio_channel_write_all(ch[1], "abcdefgXYZ", 10, &error_abort);
    g_assert_cmpint(qio_channel_readv_all_eof(ch[0], iov, 2, &error_abort),
                    ==, 1);
    g_assert_cmpmem(a, 3, "abc", 3);
    g_assert_cmpmem(b, 4, "defg", 4);
    /* The rest stays for the next reader. */
    g_assert_cmpint(qio_channel_read(ch[0], a, 3, &error_abort), ==, 3);
    g_assert_cmpmem(a, 3, "XYZ", 3);
    unref_pair(ch);
}

static void test_read_all_eof_clean(void)
{
    QIOChannel *ch[2];
    Error *err = NULL;
    char buf[4];

    make_pipe(ch, true);
    qio_channel_close(ch[1], &error_abort);
    g_assert_cmpint(qio_channel_read_all_eof(ch[0], buf, 4, &err), ==, 0);
    g_assert_null(err);
    unref_pair(ch);
}

static void test_read_all_eof_partial(void)
{
    QIOChannel *ch[2];
    Error *err = NULL;
    char buf[4];

    make_pipe(ch, true);
    qio_channel_write_all(ch[1], "ab", 2, &error_abort);
    qio_channel_close(ch[1], &error_abort);
    g_assert_cmpint(qio_channel_read_all_eof(ch[0], buf, 4, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "unexpected end-of-file before all data were read");
    error_free(err);
    g_assert_cmpmem(buf, 2, "ab", 2);
    unref_pair(ch);
}

/* read_all treats even a clean end-of-file as an error. */
static void test_read_all_eof_is_error(void)
{
    QIOChannel *ch[2];
    Error *err = NULL;
    char buf[4];

    make_pipe(ch, true);
    qio_channel_write_all(ch[1], "abcd", 4, &error_abort);
    qio_channel_close(ch[1], &error_abort);
    g_assert_cmpint(qio_channel_read_all(ch[0], buf, 4, &err), ==, 0);
    g_assert_null(err);
    g_assert_cmpint(qio_channel_read_all(ch[0], buf, 4, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "end-of-file"));
    error_free(err);
    unref_pair(ch);
}

/* ---- partial I/O in the _all loops -------------------------------------- */

#define BIG (1024 * 1024)

/* Reads @len bytes in small, slow pieces: the writer sees partial writes. */
typedef struct Drain {
    QIOChannel *ioc;
    guint8 *got;
    size_t len;
} Drain;

static void *drain_slowly(void *opaque)
{
    Drain *d = opaque;
    size_t done = 0;

    while (done < d->len) {
        ssize_t n = qio_channel_read(d->ioc, (char *)d->got + done,
                                     MIN(d->len - done, 3000), NULL);

        if (n == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(d->ioc, G_IO_IN);
            continue;
        }
        g_assert_cmpint(n, >, 0);
        done += n;
        if (done % 7 == 0) {
            g_usleep(100);
        }
    }
    return NULL;
}

static void start_drain(QemuThread *t, Drain *d, QIOChannel *ioc)
{
    d->ioc = ioc;
    d->len = BIG;
    d->got = g_malloc0(BIG);
    qemu_thread_create(t, "drain", drain_slowly, d, QEMU_THREAD_JOINABLE);
}

static void finish_drain(QemuThread *t, Drain *d, const guint8 *want)
{
    qemu_thread_join(t);
    g_assert_true(memcmp(d->got, want, BIG) == 0);
    g_free(d->got);
}

/* Several iovec elements whose boundaries fall inside partial writes. */
static void split_iov(struct iovec *iov, guint8 *buf)
{
    size_t cuts[] = { 0, 1, 4097, 65536 * 3 + 5, BIG - 10, BIG };

    for (int i = 0; i < 5; i++) {
        iov[i].iov_base = buf + cuts[i];
        iov[i].iov_len = cuts[i + 1] - cuts[i];
    }
}

static void test_writev_all_partial(gconstpointer blocking)
{
    g_autofree guint8 *buf = pattern(BIG);
    struct iovec iov[5];
    QIOChannel *ch[2];
    QemuThread t;
    Drain d;

    make_pipe(ch, GPOINTER_TO_INT(blocking));
    split_iov(iov, buf);
    start_drain(&t, &d, ch[0]);
    g_assert_cmpint(qio_channel_writev_all(ch[1], iov, 5, &error_abort), ==,
                    0);
    finish_drain(&t, &d, buf);
    unref_pair(ch);
}

/*
 * More elements than the cursor keeps on the stack, empty ones among
 * them (first, middle, last), cut inside partial writes: everything
 * arrives in order and the caller's array is left as it was.
 */
#define MANY_IOV 40

static void many_iov(struct iovec *iov, guint8 *buf)
{
    size_t step = BIG / (MANY_IOV - 4), off = 0;

    for (int i = 0; i < MANY_IOV; i++) {
        size_t len = (i == 0 || i == 9 || i == MANY_IOV - 1) ? 0 :
                     MIN(step, BIG - off);

        if (i == MANY_IOV - 2) {
            len = BIG - off;
        }
        iov[i].iov_base = buf + off;
        iov[i].iov_len = len;
        off += len;
    }
    g_assert_cmpuint(off, ==, BIG);
}

static void test_writev_all_many(void)
{
    g_autofree guint8 *buf = pattern(BIG);
    struct iovec iov[MANY_IOV], orig[MANY_IOV];
    QIOChannel *ch[2];
    QemuThread t;
    Drain d;

    make_pipe(ch, true);
    many_iov(iov, buf);
    memcpy(orig, iov, sizeof(iov));
    start_drain(&t, &d, ch[0]);
    g_assert_cmpint(qio_channel_writev_all(ch[1], iov, MANY_IOV,
                                           &error_abort), ==, 0);
    finish_drain(&t, &d, buf);
    g_assert_true(memcmp(orig, iov, sizeof(iov)) == 0);
    unref_pair(ch);
}

/* Nothing to read is not end-of-file, and reads nothing. */
static void test_readv_all_empty(void)
{
    char byte = 'x';
    struct iovec iov[3] = { { &byte, 0 }, { &byte, 0 }, { &byte, 0 } };
    QIOChannel *ch[2];

    make_pipe(ch, false);
    g_assert_cmpint(qio_channel_readv_all_eof(ch[0], iov, 3, &error_abort),
                    ==, 1);
    g_assert_cmpint(qio_channel_readv_all(ch[0], iov, 3, &error_abort),
                    ==, 0);
    g_assert_cmpint(qio_channel_writev_all(ch[1], iov, 3, &error_abort),
                    ==, 0);
    unref_pair(ch);
}

/* The writer feeds small pieces; readv_all collects them all. */
static void *feed_slowly(void *opaque)
{
    QIOChannel *ioc = opaque;
    g_autofree guint8 *buf = pattern(BIG);

    for (size_t off = 0; off < BIG; off += 5000) {
        qio_channel_write_all(ioc, (char *)buf + off, MIN(5000, BIG - off),
                              &error_abort);
    }
    return NULL;
}

static void test_readv_all_partial(gconstpointer blocking)
{
    g_autofree guint8 *want = pattern(BIG);
    g_autofree guint8 *got = g_malloc0(BIG);
    struct iovec iov[5];
    QIOChannel *ch[2];
    QemuThread t;

    make_pipe(ch, GPOINTER_TO_INT(blocking));
    split_iov(iov, got);
    qemu_thread_create(&t, "feed", feed_slowly, ch[1], QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_readv_all(ch[0], iov, 5, &error_abort), ==,
                    0);
    qemu_thread_join(&t);
    g_assert_true(memcmp(got, want, BIG) == 0);
    unref_pair(ch);
}

/* Coroutine variant: writev_all yields on a full pipe instead of blocking. */
typedef struct CoWrite {
    QIOChannel *ioc;
    const guint8 *buf;
    int ret;
    bool done;
} CoWrite;

static void coroutine_fn co_write_all(void *opaque)
{
    CoWrite *w = opaque;

    w->ret = qio_channel_write_all(w->ioc, (const char *)w->buf, BIG,
                                   &error_abort);
    w->done = true;
}

static void test_writev_all_coroutine(void)
{
    g_autofree guint8 *buf = pattern(BIG);
    AioContext *ctx = qemu_get_aio_context();
    CoWrite w = { .buf = buf };
    QIOChannel *ch[2];
    QemuThread t;
    Drain d;

    make_pipe(ch, false);
    w.ioc = ch[1];
    qemu_coroutine_enter(qemu_coroutine_create(co_write_all, &w));
    /* 1 MiB does not fit the pipe: the coroutine must have yielded. */
    g_assert_false(w.done);
    g_assert_true(ch[1]->write_coroutine != NULL);

    start_drain(&t, &d, ch[0]);
    while (!w.done) {
        aio_poll(ctx, true);
    }
    finish_drain(&t, &d, buf);
    g_assert_cmpint(w.ret, ==, 0);
    g_assert_null(ch[1]->write_coroutine);
    unref_pair(ch);
}

typedef struct CoRead {
    QIOChannel *ioc;
    guint8 *buf;
    size_t len;
    int ret;
    bool done;
} CoRead;

static void coroutine_fn co_read_all_eof(void *opaque)
{
    CoRead *r = opaque;

    r->ret = qio_channel_read_all_eof(r->ioc, (char *)r->buf, r->len,
                                      &error_abort);
    r->done = true;
}

static void test_readv_all_coroutine(void)
{
    g_autofree guint8 *want = pattern(BIG);
    AioContext *ctx = qemu_get_aio_context();
    CoRead r = { .len = BIG };
    QIOChannel *ch[2];
    QemuThread t;

    make_pipe(ch, false);
    r.ioc = ch[0];
    r.buf = g_malloc0(BIG);
    qemu_coroutine_enter(qemu_coroutine_create(co_read_all_eof, &r));
    g_assert_false(r.done);
    g_assert_true(ch[0]->read_coroutine != NULL);

    qemu_thread_create(&t, "feed", feed_slowly, ch[1], QEMU_THREAD_JOINABLE);
    while (!r.done) {
        aio_poll(ctx, true);
    }
    qemu_thread_join(&t);
    g_assert_cmpint(r.ret, ==, 1);
    g_assert_true(memcmp(r.buf, want, BIG) == 0);
    g_free(r.buf);
    unref_pair(ch);
}

/* ---- qio_channel_wait --------------------------------------------------- */

static void *close_late(void *opaque)
{
    g_usleep(20 * 1000);
    qio_channel_close(opaque, &error_abort);
    return NULL;
}

/* Waiting for input also ends when the writer hangs up. */
static void test_wait_hangup(void)
{
    QIOChannel *ch[2];
    QemuThread t;
    char c;

    make_pipe(ch, false);
    qemu_thread_create(&t, "closer", close_late, ch[1],
                       QEMU_THREAD_JOINABLE);
    qio_channel_wait(ch[0], G_IO_IN);
    g_assert_cmpint(qio_channel_read(ch[0], &c, 1, &error_abort), ==, 0);
    qemu_thread_join(&t);
    unref_pair(ch);
}

static void test_wait_data(void)
{
    QIOChannel *ch[2];
    QemuThread t;
    char buf[8];

    make_pipe(ch, false);
    qemu_thread_create(&t, "writer", write_late, ch[1],
                       QEMU_THREAD_JOINABLE);
    qio_channel_wait(ch[0], G_IO_IN);
    qemu_thread_join(&t);
    g_assert_cmpint(qio_channel_read(ch[0], buf, 8, &error_abort), ==, 4);
    unref_pair(ch);
}

/* ---- fd passing refused ------------------------------------------------- */

static void assert_fd_pass_error(Error *err)
{
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "channel does not support file descriptor passing");
    error_free(err);
}

static void test_fd_pass_refused(void)
{
    QIOChannel *ch[2];
    struct iovec iov = { (char *)"x", 1 };
    int *fds = NULL, sendfd = 0;
    size_t nfds = 0;
    Error *err = NULL;
    char c;
    struct iovec riov = { &c, 1 };

    make_socketpair(ch);
    g_assert_cmpint(qio_channel_writev_full(ch[0], &iov, 1, &sendfd, 1, &err),
                    ==, -1);
    assert_fd_pass_error(err);
    err = NULL;
    g_assert_cmpint(qio_channel_writev_full_all(ch[0], &iov, 1, &sendfd, 1,
                                                &err), ==, -1);
    assert_fd_pass_error(err);
    err = NULL;
    g_assert_cmpint(qio_channel_readv_full(ch[1], &riov, 1, &fds, &nfds,
                                           &err), ==, -1);
    assert_fd_pass_error(err);
    err = NULL;
    g_assert_cmpint(qio_channel_readv_full_all(ch[1], &riov, 1, &fds, &nfds,
                                               &err), ==, -1);
    assert_fd_pass_error(err);
    g_assert_null(fds);

    /* Nothing was sent: the channel still works without descriptors. */
    g_assert_cmpint(qio_channel_writev_full(ch[0], &iov, 1, NULL, 0,
                                            &error_abort), ==, 1);
    g_assert_cmpint(qio_channel_read(ch[1], &c, 1, &error_abort), ==, 1);
    unref_pair(ch);
}

/* ---- watches ------------------------------------------------------------ */

typedef struct WatchSeen {
    int calls;
    GIOCondition cond;
    GMainContext *ran_in;
    int freed;
} WatchSeen;

static gboolean watch_cb(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    WatchSeen *s = opaque;

    s->calls++;
    s->cond = cond;
    s->ran_in = g_source_get_context(g_main_current_source());
    return G_SOURCE_REMOVE;
}

static void watch_freed(gpointer opaque)
{
    ((WatchSeen *)opaque)->freed++;
}

/* A watch attached to a private context fires there and nowhere else. */
static void test_watch_in_context(void)
{
    GMainContext *gctx = g_main_context_new();
    WatchSeen s = { 0 };
    QIOChannel *ch[2];

    make_socketpair(ch);
    qio_channel_add_watch_full(ch[0], G_IO_IN, watch_cb, &s, watch_freed,
                               gctx);

    qio_channel_write_all(ch[1], "x", 1, &error_abort);
    while (g_main_context_iteration(NULL, FALSE)) {
        /* the default context must not run it */
    }
    g_assert_cmpint(s.calls, ==, 0);

    g_main_context_iteration(gctx, TRUE);
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_true(s.ran_in == gctx);
    g_assert_cmpint(s.cond, ==, G_IO_IN);
    g_assert_cmpint(s.freed, ==, 1);    /* removed by returning FALSE */
    g_main_context_unref(gctx);
    unref_pair(ch);
}

/* Only requested conditions are reported, only when they hold. */
static void test_watch_conditions(void)
{
    GMainContext *gctx = g_main_context_new();
    WatchSeen s = { 0 };
    QIOChannel *ch[2];
    GSource *src;

    make_socketpair(ch);
    /* Writable but not readable: an IN watch stays quiet. */
    src = qio_channel_add_watch_source(ch[0], G_IO_IN, watch_cb, &s, NULL,
                                       gctx);
    g_assert_false(g_main_context_iteration(gctx, FALSE));
    g_assert_cmpint(s.calls, ==, 0);

    qio_channel_write_all(ch[1], "x", 1, &error_abort);
    g_main_context_iteration(gctx, TRUE);
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_cmpint(s.cond, ==, G_IO_IN);   /* G_IO_OUT was not asked */
    g_assert_true(g_source_is_destroyed(src));
    g_source_unref(src);

    /* Both asked, both ready: both reported. */
    qio_channel_add_watch_full(ch[0], G_IO_IN | G_IO_OUT, watch_cb, &s,
                               NULL, gctx);
    g_main_context_iteration(gctx, TRUE);
    g_assert_cmpint(s.calls, ==, 2);
    g_assert_cmpint(s.cond, ==, G_IO_IN | G_IO_OUT);
    g_main_context_unref(gctx);
    unref_pair(ch);
}

/* add_watch uses the default context; g_source_remove removes it. */
static void test_watch_default_and_remove(void)
{
    WatchSeen s = { 0 };
    QIOChannel *ch[2];
    guint id;

    make_socketpair(ch);
    id = qio_channel_add_watch(ch[0], G_IO_IN, watch_cb, &s, watch_freed);
    g_assert_cmpuint(id, >, 0);
    g_assert_true(g_source_remove(id));
    g_assert_cmpint(s.freed, ==, 1);
    qio_channel_write_all(ch[1], "x", 1, &error_abort);
    while (g_main_context_iteration(NULL, FALSE)) {
        /* drain */
    }
    g_assert_cmpint(s.calls, ==, 0);

    qio_channel_add_watch(ch[0], G_IO_IN, watch_cb, &s, NULL);
    g_main_context_iteration(NULL, TRUE);
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_true(s.ran_in == g_main_context_default());
    unref_pair(ch);
}

/* ---- yield and fd handlers ---------------------------------------------- */

static void count_handler(void *opaque)
{
    (*(int *)opaque)++;
}

static void test_set_aio_fd_handler(void)
{
    AioContext *ctx = qemu_get_aio_context();
    QIOChannel *ch[2];
    int calls = 0;
    char c;

    make_pipe(ch, false);
    while (aio_poll(ctx, false)) {
        /* settle */
    }
    qio_channel_set_aio_fd_handler(ch[0], ctx, count_handler, NULL, &calls);
    qio_channel_write_all(ch[1], "x", 1, &error_abort);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(calls, ==, 1);
    qio_channel_read_all(ch[0], &c, 1, &error_abort);
    qio_channel_set_aio_fd_handler(ch[0], ctx, NULL, NULL, NULL);
    qio_channel_write_all(ch[1], "x", 1, &error_abort);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(calls, ==, 1);
    unref_pair(ch);
}

typedef struct CoYield {
    QIOChannel *ioc;
    bool returned;
} CoYield;

static void coroutine_fn co_yield_in(void *opaque)
{
    CoYield *y = opaque;

    qio_channel_yield(y->ioc, G_IO_IN);
    y->returned = true;
}

/* The fd becoming readable resumes the coroutine. */
static void test_yield_ready(void)
{
    AioContext *ctx = qemu_get_aio_context();
    CoYield y = { 0 };
    QIOChannel *ch[2];

    make_pipe(ch, false);
    y.ioc = ch[0];
    qemu_coroutine_enter(qemu_coroutine_create(co_yield_in, &y));
    g_assert_false(y.returned);
    g_assert_nonnull(ch[0]->read_coroutine);
    qio_channel_write_all(ch[1], "x", 1, &error_abort);
    while (!y.returned) {
        aio_poll(ctx, true);
    }
    g_assert_null(ch[0]->read_coroutine);
    unref_pair(ch);
}

/* Entered by someone else, yield returns early and drops its handler. */
static void test_yield_reenter(void)
{
    AioContext *ctx = qemu_get_aio_context();
    CoYield y = { 0 };
    QIOChannel *ch[2];
    Coroutine *co;

    make_pipe(ch, false);
    y.ioc = ch[0];
    co = qemu_coroutine_create(co_yield_in, &y);
    qemu_coroutine_enter(co);
    g_assert_false(y.returned);

    aio_co_wake(co);
    g_assert_true(y.returned);
    g_assert_null(ch[0]->read_coroutine);
    while (aio_poll(ctx, false)) {
        /* settle */
    }
    /* Readable now, but no handler is left to fire. */
    qio_channel_write_all(ch[1], "x", 1, &error_abort);
    g_assert_false(aio_poll(ctx, false));
    unref_pair(ch);
}

/* Channels without fd handlers are always ready: yield comes back. */
static void test_yield_always_ready(void)
{
    AioContext *ctx = qemu_get_aio_context();
    CoYield y = { 0 };

    y.ioc = QIO_CHANNEL(qio_channel_null_new());
    qemu_coroutine_enter(qemu_coroutine_create(co_yield_in, &y));
    while (!y.returned) {
        aio_poll(ctx, true);
    }
    object_unref(y.ioc);
}

/* ---- moving a waiting coroutine between IOThreads ----------------------- */

typedef struct Move {
    QIOChannel *ioc;
    AioContext *started_in;
    AioContext *finished_in;
    QemuEvent started;
    QemuEvent finished;
    char buf[2];
    int ret;
} Move;

static void coroutine_fn co_move_reader(void *opaque)
{
    Move *m = opaque;

    m->started_in = qemu_get_current_aio_context();
    qemu_event_set(&m->started);
    m->ret = qio_channel_read_all(m->ioc, m->buf, 2, &error_abort);
    m->finished_in = qemu_get_current_aio_context();
    qemu_event_set(&m->finished);
}

static void test_move_between_iothreads(void)
{
    IOThread *a = iothread_create("io-move-a", &error_abort);
    IOThread *b = iothread_create("io-move-b", &error_abort);
    AioContext *ctx_a = iothread_get_aio_context(a);
    AioContext *ctx_b = iothread_get_aio_context(b);
    QIOChannel *ch[2];
    Coroutine *co;
    Move m = { 0 };

    qemu_event_init(&m.started, false);
    qemu_event_init(&m.finished, false);
    make_pipe(ch, false);
    m.ioc = ch[0];
    qio_channel_attach_aio_context(ch[0], ctx_a);
    co = qemu_coroutine_create(co_move_reader, &m);
    aio_co_schedule(ctx_a, co);
    qemu_event_wait(&m.started);

    /* Holding A means its callbacks are done: the coroutine is waiting. */
    aio_context_acquire(ctx_a);
    g_assert_true(ch[0]->read_coroutine == co);
    qio_channel_detach_aio_context(ch[0]);
    qio_channel_attach_aio_context(ch[0], ctx_b);
    aio_context_release(ctx_a);
    /* Data before the reschedule: no handler may race with it. */
    qio_channel_write_all(ch[1], "ok", 2, &error_abort);
    g_usleep(10 * 1000);
    aio_co_schedule(ctx_b, co);
    qemu_event_wait(&m.finished);
    g_assert_true(m.started_in == ctx_a);
    g_assert_true(m.finished_in == ctx_b);
    g_assert_cmpint(m.ret, ==, 0);
    g_assert_cmpmem(m.buf, 2, "ok", 2);

    aio_context_acquire(ctx_b);
    qio_channel_detach_aio_context(ch[0]);
    aio_context_release(ctx_b);
    iothread_destroy(a);
    iothread_destroy(b);
    unref_pair(ch);
    qemu_event_destroy(&m.started);
    qemu_event_destroy(&m.finished);
}

/* ---- shutdown, close, optional callbacks -------------------------------- */

typedef struct Blocked {
    QIOChannel *ioc;
    ssize_t ret;
    QemuEvent reading;
} Blocked;

static void *read_blocked(void *opaque)
{
    Blocked *b = opaque;
    char c;

    qemu_event_set(&b->reading);
    b->ret = qio_channel_read(b->ioc, &c, 1, &error_abort);
    return NULL;
}

/* Shutdown from another thread wakes a reader blocked in read. */
static void test_shutdown_wakes_reader(void)
{
    QIOChannel *ch[2];
    QemuThread t;
    Blocked b = { .ret = 99 };

    make_socketpair(ch);
    g_assert_true(qio_channel_has_feature(ch[0],
                                          QIO_CHANNEL_FEATURE_SHUTDOWN));
    b.ioc = ch[0];
    qemu_event_init(&b.reading, false);
    qemu_thread_create(&t, "reader", read_blocked, &b, QEMU_THREAD_JOINABLE);
    qemu_event_wait(&b.reading);
    g_usleep(20 * 1000);    /* let it block (not asserted) */
    g_assert_cmpint(qio_channel_shutdown(ch[0], QIO_CHANNEL_SHUTDOWN_BOTH,
                                         &error_abort), ==, 0);
    qemu_thread_join(&t);
    g_assert_cmpint(b.ret, ==, 0);
    qemu_event_destroy(&b.reading);
    unref_pair(ch);
}

static void test_shutdown_unsupported(void)
{
    QIOChannel *ch[2];
    QIOChannel *null = QIO_CHANNEL(qio_channel_null_new());
    Error *err = NULL;

    make_pipe(ch, true);
    g_assert_false(qio_channel_has_feature(ch[0],
                                           QIO_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_cmpint(qio_channel_shutdown(ch[0], QIO_CHANNEL_SHUTDOWN_READ,
                                         &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "not a socket"));
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_shutdown(null, QIO_CHANNEL_SHUTDOWN_BOTH,
                                         &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "channel of type 'qio-channel-null' does not support "
                    "shutdown");
    error_free(err);
    object_unref(null);
    unref_pair(ch);
}

static void test_close_fails_io(void)
{
    QIOChannel *ch[2];
    Error *err = NULL;
    char c = 'x';

    make_pipe(ch, true);
    g_assert_cmpint(qio_channel_close(ch[1], &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_write(ch[1], &c, 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "file channel is closed");
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_close(ch[1], &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    unref_pair(ch);
}

/* Hints without an implementation are ignored; seek needs one. */
static void test_optional_callbacks(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_null_new());
    Error *err = NULL;

    qio_channel_set_delay(ioc, false);
    qio_channel_set_cork(ioc, true);
    qio_channel_set_cork(ioc, false);
    g_assert_cmpint(qio_channel_write(ioc, "abc", 3, &error_abort), ==, 3);
    g_assert_cmpint(qio_channel_io_seek(ioc, 0, SEEK_SET, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "channel of type 'qio-channel-null' does not support "
                    "seeking");
    error_free(err);
    object_unref(ioc);
}

/* Through the _all loops: fds go out once, with the first chunk. */
typedef struct FdReader {
    QIOChannel *ioc;
    guint8 *got;
    int nfds_total;
    int fds[8];
} FdReader;

static void *read_collecting_fds(void *opaque)
{
    FdReader *r = opaque;
    size_t done = 0;

    while (done < BIG) {
        struct iovec iov = { r->got + done, MIN(BIG - done, 4096) };
        int *fds = NULL;
        size_t nfds = 0;
        ssize_t n = qio_channel_readv_full(r->ioc, &iov, 1, &fds, &nfds,
                                           &error_abort);

        g_assert_cmpint(n, >, 0);
        for (size_t i = 0; i < nfds; i++) {
            g_assert_cmpint(r->nfds_total, <, 8);
            r->fds[r->nfds_total++] = fds[i];
        }
        g_free(fds);
        done += n;
    }
    return NULL;
}

static void socket_pair(QIOChannel *ch[2])
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    for (int i = 0; i < 2; i++) {
        ch[i] = QIO_CHANNEL(qio_channel_socket_new_fd(sv[i], &error_abort));
        g_assert_true(qio_channel_has_feature(ch[i],
                                              QIO_CHANNEL_FEATURE_FD_PASS));
    }
}

static void test_fd_pass_all_once(void)
{
    g_autofree guint8 *buf = pattern(BIG);
    FdReader r = { 0 };
    QIOChannel *ch[2];
    QemuThread t;
    int p[2];
    char c;

    socket_pair(ch);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    qio_channel_set_blocking(ch[0], false, &error_abort);
    r.ioc = ch[1];
    r.got = g_malloc0(BIG);
    qemu_thread_create(&t, "fd-reader", read_collecting_fds, &r,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_writev_full_all(ch[0],
                        &(struct iovec){ buf, BIG }, 1, p, 2, &error_abort),
                    ==, 0);
    qemu_thread_join(&t);

    g_assert_true(memcmp(r.got, buf, BIG) == 0);
    g_assert_cmpint(r.nfds_total, ==, 2);
    /* They are working copies of the pipe's two ends. */
    g_assert_cmpint(write(r.fds[1], "z", 1), ==, 1);
    g_assert_cmpint(read(p[0], &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'z');
    for (int i = 0; i < 2; i++) {
        close(r.fds[i]);
        close(p[i]);
    }
    g_free(r.got);
    unref_pair(ch);
}

static void test_fd_pass_read_all_eof(void)
{
    QIOChannel *ch[2];
    char out[3];
    struct iovec iov = { out, 3 };
    int *fds = NULL, p[2];
    size_t nfds = 0;
    Error *err = NULL;

    socket_pair(ch);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    g_assert_cmpint(qio_channel_writev_full_all(ch[0],
                        &(struct iovec){ (char *)"abc", 3 }, 1, p, 1,
                        &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_readv_full_all_eof(ch[1], &iov, 1, &fds,
                                                   &nfds, &error_abort),
                    ==, 1);
    g_assert_cmpmem(out, 3, "abc", 3);
    g_assert_cmpuint(nfds, ==, 1);
    close(fds[0]);
    g_free(fds);

    /* Part-way end-of-file: an error, and no descriptors handed back. */
    qio_channel_writev_full_all(ch[0], &(struct iovec){ (char *)"d", 1 }, 1,
                                p, 1, &error_abort);
    qio_channel_shutdown(ch[0], QIO_CHANNEL_SHUTDOWN_WRITE, &error_abort);
    g_assert_cmpint(qio_channel_readv_full_all(ch[1], &iov, 1, &fds, &nfds,
                                               &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    g_assert_null(fds);
    g_assert_cmpuint(nfds, ==, 0);
    close(p[0]);
    close(p[1]);
    unref_pair(ch);
}

/* ---- channel-util ------------------------------------------------------- */

static void test_new_fd(void)
{
    int p[2], sv[2];
    QIOChannel *ioc;
    Error *err = NULL;

    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    ioc = qio_channel_new_fd(p[0], &error_abort);
    g_assert_nonnull(object_dynamic_cast(OBJECT(ioc), TYPE_QIO_CHANNEL_FILE));
    object_unref(ioc);
    close(p[1]);

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    ioc = qio_channel_new_fd(sv[0], &error_abort);
    g_assert_nonnull(object_dynamic_cast(OBJECT(ioc),
                                         TYPE_QIO_CHANNEL_SOCKET));
    object_unref(ioc);
    close(sv[1]);

    /* sv[0] is closed now (the channel owned it). */
    g_assert_null(qio_channel_new_fd(sv[0], &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Bad file descriptor"));
    error_free(err);
}

static bool sigpipe_pending(void)
{
    sigset_t pending;

    sigpending(&pending);
    return sigismember(&pending, SIGPIPE);
}

static void test_writev_fd_no_sigpipe(void)
{
    struct iovec iov = { (char *)"x", 1 };
    sigset_t pipe_set, old;
    int p[2];

    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    g_assert_cmpint(qio_channel_util_writev_fd(p[1], &iov, 1), ==, 1);
    close(p[0]);
    errno = 0;
    g_assert_cmpint(qio_channel_util_writev_fd(p[1], &iov, 1), ==, -1);
    g_assert_cmpint(errno, ==, EPIPE);

    /* Caller blocks SIGPIPE itself: the signal is left for it. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    g_assert_false(sigpipe_pending());
    g_assert_cmpint(qio_channel_util_writev_fd(p[1], &iov, 1), ==, -1);
    g_assert_true(sigpipe_pending());
    g_assert_cmpint(sigwaitinfo(&pipe_set, NULL), ==, SIGPIPE);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);

    g_test_add_func("/io/channel/features", test_features);
    g_test_add_func("/io/channel/name", test_name_on_watch);
    g_test_add_func("/io/channel/nonblocking/read",
                    test_nonblocking_read_blocks);
    g_test_add_func("/io/channel/nonblocking/write",
                    test_nonblocking_write_blocks);
    g_test_add_func("/io/channel/blocking/read-waits",
                    test_blocking_read_waits);
    g_test_add_func("/io/channel/read-all-eof/complete",
                    test_read_all_eof_complete);
    g_test_add_func("/io/channel/read-all-eof/clean-eof",
                    test_read_all_eof_clean);
    g_test_add_func("/io/channel/read-all-eof/partial-eof",
                    test_read_all_eof_partial);
    g_test_add_func("/io/channel/read-all/eof-is-error",
                    test_read_all_eof_is_error);
    g_test_add_data_func("/io/channel/writev-all/partial/blocking",
                         GINT_TO_POINTER(true), test_writev_all_partial);
    g_test_add_data_func("/io/channel/writev-all/partial/nonblocking",
                         GINT_TO_POINTER(false), test_writev_all_partial);
    g_test_add_data_func("/io/channel/readv-all/partial/blocking",
                         GINT_TO_POINTER(true), test_readv_all_partial);
    g_test_add_data_func("/io/channel/readv-all/partial/nonblocking",
                         GINT_TO_POINTER(false), test_readv_all_partial);
    g_test_add_func("/io/channel/writev-all/many-iov",
                    test_writev_all_many);
    g_test_add_func("/io/channel/readv-all/empty", test_readv_all_empty);
    g_test_add_func("/io/channel/writev-all/coroutine",
                    test_writev_all_coroutine);
    g_test_add_func("/io/channel/readv-all/coroutine",
                    test_readv_all_coroutine);
    g_test_add_func("/io/channel/wait/data", test_wait_data);
    g_test_add_func("/io/channel/wait/hangup", test_wait_hangup);
    g_test_add_func("/io/channel/fd-pass/refused", test_fd_pass_refused);
    g_test_add_func("/io/channel/fd-pass/all-once", test_fd_pass_all_once);
    g_test_add_func("/io/channel/fd-pass/read-all-eof",
                    test_fd_pass_read_all_eof);
    g_test_add_func("/io/channel/watch/context", test_watch_in_context);
    g_test_add_func("/io/channel/watch/conditions", test_watch_conditions);
    g_test_add_func("/io/channel/watch/default",
                    test_watch_default_and_remove);
    g_test_add_func("/io/channel/aio-fd-handler", test_set_aio_fd_handler);
    g_test_add_func("/io/channel/yield/ready", test_yield_ready);
    g_test_add_func("/io/channel/yield/reenter", test_yield_reenter);
    g_test_add_func("/io/channel/yield/always-ready",
                    test_yield_always_ready);
    g_test_add_func("/io/channel/yield/move-iothreads",
                    test_move_between_iothreads);
    g_test_add_func("/io/channel/shutdown/wakes-reader",
                    test_shutdown_wakes_reader);
    g_test_add_func("/io/channel/shutdown/unsupported",
                    test_shutdown_unsupported);
    g_test_add_func("/io/channel/close", test_close_fails_io);
    g_test_add_func("/io/channel/optional-callbacks", test_optional_callbacks);
    g_test_add_func("/io/channel/util/new-fd", test_new_fd);
    g_test_add_func("/io/channel/util/writev-fd", test_writev_fd_no_sigpipe);
    return g_test_run();
}
