/*
 * Tests for io/channel-socket.h: TCP (v4, v6), UNIX (path, abstract) and
 * fd: sockets; sync and async set-up; accept; blocking modes; large and
 * trickling transfers; descriptor passing; shutdown; peers that vanish.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-socket.h"
#include "qapi/error.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "block/aio.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gstdio.h>
#include "socket-helpers.h"

#define BIG_SIZE (8 * 1024 * 1024)

/* ---- helpers ------------------------------------------------------------ */

static QIOChannelSocket *listen_on(const char *str)
{
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);
    QIOChannelSocket *lioc = qio_channel_socket_new();

    g_assert_cmpint(qio_channel_socket_listen_sync(lioc, addr, 4,
                                                   &error_abort), ==, 0);
    return lioc;
}

/* Connect a client to listener @lioc and accept it. */
static void connect_to(QIOChannelSocket *lioc, QIOChannelSocket **client,
                       QIOChannelSocket **server)
{
    g_autoptr(SocketAddress) addr =
        qio_channel_socket_get_local_address(lioc, &error_abort);

    *client = qio_channel_socket_new();
    g_assert_cmpint(qio_channel_socket_connect_sync(*client, addr,
                                                    &error_abort), ==, 0);
    *server = qio_channel_socket_accept(lioc, &error_abort);
    g_assert_nonnull(*server);
}

/* A connected pair through a listener on @str; the listener is freed. */
static void make_pair(const char *str, QIOChannelSocket **client,
                      QIOChannelSocket **server)
{
    g_autoptr(QIOChannelSocket) lioc = listen_on(str);

    connect_to(lioc, client, server);
}

/* A UNIX socketpair, for tests that need no address. */
static void make_unix_pair(QIOChannelSocket **a, QIOChannelSocket **b)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    *a = qio_channel_socket_new_fd(sv[0], &error_abort);
    *b = qio_channel_socket_new_fd(sv[1], &error_abort);
}

static void assert_echo(QIOChannelSocket *from, QIOChannelSocket *to)
{
    char buf[6] = "";

    qio_channel_write_all(QIO_CHANNEL(from), "hello", 5, &error_abort);
    qio_channel_read_all(QIO_CHANNEL(to), buf, 5, &error_abort);
    g_assert_cmpstr(buf, ==, "hello");
}

static char *pattern_new(size_t len, unsigned seed)
{
    char *buf = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        buf[i] = (char)((i * 31 + seed + (i >> 12)) & 0xff);
    }
    return buf;
}

/* ---- connections by address type --------------------------------------- */

static void check_tcp(const char *listen_str, const char *host)
{
    g_autoptr(QIOChannelSocket) lioc = listen_on(listen_str);
    g_autoptr(QIOChannelSocket) client = NULL;
    g_autoptr(QIOChannelSocket) server = NULL;
    g_autoptr(SocketAddress) laddr = NULL;
    g_autoptr(SocketAddress) raddr = NULL;
    g_autoptr(SocketAddress) caddr = NULL;

    connect_to(lioc, &client, &server);
    laddr = qio_channel_socket_get_local_address(lioc, &error_abort);
    raddr = qio_channel_socket_get_remote_address(client, &error_abort);
    caddr = qio_channel_socket_get_local_address(client, &error_abort);
    g_assert_cmpstr(laddr->u.inet.host, ==, host);
    g_assert_cmpstr(raddr->u.inet.port, ==, laddr->u.inet.port);
    {
        g_autoptr(SocketAddress) speer =
            qio_channel_socket_get_remote_address(server, &error_abort);

        g_assert_cmpstr(speer->u.inet.port, ==, caddr->u.inet.port);
    }
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(lioc),
                                          QIO_CHANNEL_FEATURE_LISTEN));
    g_assert_false(qio_channel_has_feature(QIO_CHANNEL(client),
                                           QIO_CHANNEL_FEATURE_LISTEN));
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(client),
                                          QIO_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_false(qio_channel_has_feature(QIO_CHANNEL(server),
                                           QIO_CHANNEL_FEATURE_FD_PASS));
    assert_echo(client, server);
    assert_echo(server, client);
}

static void test_tcp_v4(void)
{
    check_tcp("127.0.0.1:0", "127.0.0.1");
}

static void test_tcp_v6(void)
{
    if (!test_have_ipv6()) {
        g_test_skip("no IPv6 loopback");
        return;
    }
    check_tcp("[::1]:0", "::1");
}

static void test_unix_path(void)
{
    g_autofree char *dir = g_dir_make_tmp("spindle-ioc-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autofree char *str = g_strdup_printf("unix:%s", path);
    QIOChannelSocket *lioc = listen_on(str);
    g_autoptr(QIOChannelSocket) client = NULL;
    g_autoptr(QIOChannelSocket) server = NULL;
    g_autoptr(SocketAddress) raddr = NULL;

    connect_to(lioc, &client, &server);
    raddr = qio_channel_socket_get_remote_address(client, &error_abort);
    g_assert_cmpstr(raddr->u.q_unix.path, ==, path);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(client),
                                          QIO_CHANNEL_FEATURE_FD_PASS));
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(server),
                                          QIO_CHANNEL_FEATURE_FD_PASS));
    assert_echo(client, server);
    /* Dropping the listener removes its socket file. */
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    object_unref(lioc);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_rmdir(dir);
}

static void test_unix_abstract(void)
{
    g_autofree char *str = g_strdup_printf("unix:@spindle-ioc-%d",
                                           (int)getpid());
    g_autoptr(QIOChannelSocket) client = NULL;
    g_autoptr(QIOChannelSocket) server = NULL;
    g_autoptr(SocketAddress) raddr = NULL;

    make_pair(str, &client, &server);
    raddr = qio_channel_socket_get_remote_address(client, &error_abort);
    g_assert_true(raddr->u.q_unix.abstract);
    g_assert_cmpstr(raddr->u.q_unix.path, ==, str + 6);
    assert_echo(server, client);
}

static void test_fd_addresses(void)
{
    g_autoptr(QIOChannelSocket) lioc = NULL;
    g_autoptr(QIOChannelSocket) client = qio_channel_socket_new();
    g_autoptr(QIOChannelSocket) server = NULL;
    g_autoptr(SocketAddress) laddr = NULL;
    g_autofree char *str = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int sv[2];

    /* Listen through an inherited, bound socket... */
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    str = g_strdup_printf("fd:%d", fd);
    lioc = listen_on(str);
    g_assert_cmpint(lioc->fd, ==, fd);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(lioc),
                                          QIO_CHANNEL_FEATURE_LISTEN));
    laddr = qio_channel_socket_get_local_address(lioc, &error_abort);
    g_assert_cmpstr(laddr->u.inet.host, ==, "127.0.0.1");

    /* ...and "connect" through an inherited, connected one. */
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    g_free(str);
    str = g_strdup_printf("fd:%d", sv[0]);
    {
        g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);

        g_assert_cmpint(qio_channel_socket_connect_sync(client, addr,
                                                        &error_abort), ==, 0);
    }
    server = qio_channel_socket_new_fd(sv[1], &error_abort);
    assert_echo(client, server);
}

static void test_new_fd_errors(void)
{
    g_autoptr(QIOChannelSocket) sioc = NULL;
    Error *err = NULL;
    int fds[2];
    g_autofree char *msg = NULL;

    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_null(qio_channel_socket_new_fd(fds[0], &err));
    msg = g_strdup_printf("fd %d is not a socket", fds[0]);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    /* The caller still owns the descriptor. */
    g_assert_cmpint(fcntl(fds[0], F_GETFD), >=, 0);
    close(fds[0]);
    close(fds[1]);
}

static void test_connect_errors(void)
{
    g_autoptr(QIOChannelSocket) lioc = listen_on("127.0.0.1:0");
    g_autoptr(SocketAddress) addr =
        qio_channel_socket_get_local_address(lioc, &error_abort);
    g_autoptr(QIOChannelSocket) sioc = qio_channel_socket_new();
    Error *err = NULL;

    /* A listening channel cannot be given a second socket. */
    g_assert_cmpint(qio_channel_socket_connect_sync(lioc, addr, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "socket channel already has a socket");
    error_free_or_abort(&err);

    /* A channel without a socket refuses I/O and address queries. */
    g_assert_null(qio_channel_socket_get_local_address(sioc, &err));
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_write(QIO_CHANNEL(sioc), "x", 1, &err), ==,
                    -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "socket channel has no open socket");
    error_free_or_abort(&err);
    g_assert_null(qio_channel_socket_get_remote_address(lioc, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "socket is not connected");
    error_free_or_abort(&err);

    qio_channel_close(QIO_CHANNEL(lioc), &error_abort);
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, addr, &err), ==, -1);
    g_assert_true(strstr(error_get_pretty(err), "Connection refused"));
    error_free(err);
}

static void test_dgram(void)
{
    g_autoptr(QIOChannelSocket) a = qio_channel_socket_new();
    g_autoptr(QIOChannelSocket) b = qio_channel_socket_new();
    g_autoptr(SocketAddress) any = socket_parse("127.0.0.1:0", &error_abort);
    g_autoptr(SocketAddress) aaddr = NULL;
    g_autoptr(SocketAddress) baddr = NULL;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    g_autofree char *str = NULL;
    char buf[16] = "";

    /* b: a plain UDP socket whose port a connects to, then vice versa. */
    bind(fd, (struct sockaddr *)&sa, len);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    str = g_strdup_printf("127.0.0.1:%d", ntohs(sa.sin_port));
    baddr = socket_parse(str, &error_abort);
    g_assert_cmpint(qio_channel_socket_dgram_sync(a, any, baddr,
                                                  &error_abort), ==, 0);
    aaddr = qio_channel_socket_get_local_address(a, &error_abort);
    close(fd);
    g_assert_cmpint(qio_channel_socket_dgram_sync(b, baddr, aaddr,
                                                  &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_write(QIO_CHANNEL(a), "datagram", 8,
                                      &error_abort), ==, 8);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), buf, sizeof(buf),
                                     &error_abort), ==, 8);
    g_assert_cmpstr(buf, ==, "datagram");
}

/* ---- asynchronous set-up ------------------------------------------------ */

typedef struct AsyncResult {
    bool done;
    Error *err;
    GThread *thread;
    bool *destroyed;
} AsyncResult;

static void async_done(QIOTask *task, gpointer opaque)
{
    AsyncResult *res = opaque;

    res->done = true;
    res->thread = g_thread_self();
    qio_task_propagate_error(task, &res->err);
}

static void wait_async(GMainContext *ctx, AsyncResult *res)
{
    while (!res->done) {
        g_main_context_iteration(ctx, true);
    }
}

static void test_connect_async(void)
{
    g_autoptr(QIOChannelSocket) lioc = listen_on("127.0.0.1:0");
    g_autoptr(SocketAddress) addr =
        qio_channel_socket_get_local_address(lioc, &error_abort);
    g_autoptr(QIOChannelSocket) client = qio_channel_socket_new();
    g_autoptr(QIOChannelSocket) server = NULL;
    GMainContext *ctx = g_main_context_new();
    AsyncResult res = { 0 };

    qio_channel_socket_connect_async(client, addr, async_done, &res, NULL,
                                     ctx);
    /* The default context never delivers it: only the chosen one does. */
    while (g_main_context_iteration(NULL, false)) {
        /* drain */
    }
    g_assert_false(res.done);
    wait_async(ctx, &res);
    g_assert_null(res.err);
    g_assert_true(res.thread == g_thread_self());
    server = qio_channel_socket_accept(lioc, &error_abort);
    assert_echo(client, server);
    g_main_context_unref(ctx);
}

static void test_connect_async_error(void)
{
    g_autoptr(QIOChannelSocket) lioc = listen_on("127.0.0.1:0");
    g_autoptr(SocketAddress) addr =
        qio_channel_socket_get_local_address(lioc, &error_abort);
    g_autoptr(QIOChannelSocket) client = qio_channel_socket_new();
    GMainContext *ctx = g_main_context_new();
    AsyncResult res = { 0 };

    qio_channel_close(QIO_CHANNEL(lioc), &error_abort);
    qio_channel_socket_connect_async(client, addr, async_done, &res, NULL,
                                     ctx);
    wait_async(ctx, &res);
    g_assert_nonnull(res.err);
    g_assert_true(strstr(error_get_pretty(res.err), "Connection refused"));
    error_free(res.err);
    g_main_context_unref(ctx);
}

static void mark_destroyed(gpointer opaque)
{
    AsyncResult *res = opaque;

    g_assert_true(res->done);   /* destroy runs after the callback */
    *res->destroyed = true;
}

static void test_listen_async(void)
{
    g_autoptr(QIOChannelSocket) lioc = qio_channel_socket_new();
    g_autoptr(QIOChannelSocket) client = NULL;
    g_autoptr(QIOChannelSocket) server = NULL;
    SocketAddress *addr = socket_parse("127.0.0.1:0", &error_abort);
    AsyncResult res = { 0 };

    qio_channel_socket_listen_async(lioc, addr, 2, async_done, &res, NULL,
                                    NULL);
    qapi_free_SocketAddress(addr);      /* the call made its own copy */
    wait_async(NULL, &res);
    g_assert_null(res.err);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(lioc),
                                          QIO_CHANNEL_FEATURE_LISTEN));
    connect_to(lioc, &client, &server);
    assert_echo(client, server);
}

/* A UDP port that was free a moment ago, as an address. */
static SocketAddress *free_udp_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    g_autofree char *str = NULL;

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, len), ==, 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    str = g_strdup_printf("127.0.0.1:%d", ntohs(sa.sin_port));
    return socket_parse(str, &error_abort);
}

static void test_dgram_async(void)
{
    g_autoptr(QIOChannelSocket) a = qio_channel_socket_new();
    g_autoptr(QIOChannelSocket) b = qio_channel_socket_new();
    g_autoptr(SocketAddress) any = socket_parse("127.0.0.1:0", &error_abort);
    g_autoptr(SocketAddress) baddr = free_udp_port();
    g_autoptr(SocketAddress) aaddr = NULL;
    AsyncResult res = { 0 };
    char buf[8] = "";

    /* a talks to b's future port; b is then set up in a worker thread. */
    g_assert_cmpint(qio_channel_socket_dgram_sync(a, any, baddr,
                                                  &error_abort), ==, 0);
    aaddr = qio_channel_socket_get_local_address(a, &error_abort);
    qio_channel_socket_dgram_async(b, baddr, aaddr, async_done, &res, NULL,
                                   NULL);
    wait_async(NULL, &res);
    g_assert_null(res.err);
    qio_channel_write_all(QIO_CHANNEL(b), "udp", 3, &error_abort);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(a), buf, sizeof(buf),
                                     &error_abort), ==, 3);
    g_assert_cmpstr(buf, ==, "udp");
    qio_channel_write_all(QIO_CHANNEL(a), "back", 4, &error_abort);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), buf, sizeof(buf),
                                     &error_abort), ==, 4);
    g_assert_cmpstr(buf, ==, "back");
}

static void test_async_destroy(void)
{
    g_autoptr(QIOChannelSocket) lioc = listen_on("127.0.0.1:0");
    g_autoptr(SocketAddress) addr =
        qio_channel_socket_get_local_address(lioc, &error_abort);
    g_autoptr(QIOChannelSocket) client = qio_channel_socket_new();
    GMainContext *ctx = g_main_context_new();
    bool destroyed = false;
    AsyncResult res = { .destroyed = &destroyed };

    qio_channel_socket_connect_async(client, addr, async_done, &res,
                                     mark_destroyed, ctx);
    while (!destroyed) {
        g_main_context_iteration(ctx, true);
    }
    g_assert_null(res.err);
    g_assert_cmpint(client->fd, >=, 0);
    g_main_context_unref(ctx);
}

/* ---- accept and blocking modes ------------------------------------------ */

static gboolean note_ready(QIOChannel *ioc, GIOCondition cond, gpointer data)
{
    *(GIOCondition *)data = cond;
    return G_SOURCE_REMOVE;
}

static void test_accept_nonblocking(void)
{
    g_autoptr(QIOChannelSocket) lioc = listen_on("127.0.0.1:0");
    g_autoptr(SocketAddress) addr =
        qio_channel_socket_get_local_address(lioc, &error_abort);
    g_autoptr(QIOChannelSocket) client = qio_channel_socket_new();
    g_autoptr(QIOChannelSocket) server = NULL;
    GMainContext *ctx = g_main_context_new();
    GIOCondition ready = 0;
    Error *err = NULL;

    qio_channel_set_blocking(QIO_CHANNEL(lioc), false, &error_abort);
    g_assert_null(qio_channel_socket_accept(lioc, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "unable to accept connection: "
                    "Resource temporarily unavailable");
    error_free(err);

    /* A watch on the listener fires in the chosen context once a client
     * is waiting; accept then succeeds and gives a blocking channel. */
    qio_channel_add_watch_full(QIO_CHANNEL(lioc), G_IO_IN, note_ready,
                               &ready, NULL, ctx);
    qio_channel_socket_connect_sync(client, addr, &error_abort);
    while (!ready) {
        g_main_context_iteration(ctx, true);
    }
    g_assert_cmpint(ready, ==, G_IO_IN);
    server = qio_channel_socket_accept(lioc, &error_abort);
    g_assert_cmpint(fcntl(server->fd, F_GETFL) & O_NONBLOCK, ==, 0);
    g_assert_cmpint(fcntl(server->fd, F_GETFD) & FD_CLOEXEC, !=, 0);
    assert_echo(server, client);
    g_main_context_unref(ctx);
}

static void test_nonblocking_err_block(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    g_autofree char *buf = g_malloc0(65536);
    size_t total = 0;
    ssize_t n;

    make_pair("127.0.0.1:0", &a, &b);
    qio_channel_set_blocking(QIO_CHANNEL(b), false, &error_abort);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), buf, 16, &error_abort),
                    ==, QIO_CHANNEL_ERR_BLOCK);

    /* Fill the socket buffers until the writer would block. */
    qio_channel_set_blocking(QIO_CHANNEL(a), false, &error_abort);
    while ((n = qio_channel_write(QIO_CHANNEL(a), buf, 65536,
                                  &error_abort)) > 0) {
        total += n;
    }
    g_assert_cmpint(n, ==, QIO_CHANNEL_ERR_BLOCK);
    g_assert_cmpuint(total, >, 0);

    /* Back in blocking mode a read waits for (and gets) data. */
    qio_channel_set_blocking(QIO_CHANNEL(b), true, &error_abort);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), buf, 16, &error_abort),
                    >, 0);
}

/* ---- large and trickling transfers ------------------------------------- */

typedef struct Transfer {
    QIOChannel *ioc;
    char *buf;
    size_t len;
    size_t chunk;       /* bytes per write; 0 = one writev_all */
} Transfer;

static gpointer writer_thread(gpointer opaque)
{
    Transfer *t = opaque;

    if (!t->chunk) {
        struct iovec iov[3] = {
            { t->buf, 1000 },
            { t->buf + 1000, t->len / 2 - 1000 },
            { t->buf + t->len / 2, t->len - t->len / 2 },
        };

        qio_channel_writev_all(t->ioc, iov, 3, &error_abort);
        return NULL;
    }
    for (size_t off = 0; off < t->len; off += t->chunk) {
        qio_channel_write_all(t->ioc, t->buf + off,
                              MIN(t->chunk, t->len - off), &error_abort);
    }
    return NULL;
}

static void transfer_big(QIOChannelSocket *a, QIOChannelSocket *b)
{
    g_autofree char *src = pattern_new(BIG_SIZE, 7);
    g_autofree char *dst = g_malloc0(BIG_SIZE);
    Transfer t = { QIO_CHANNEL(a), src, BIG_SIZE, 0 };
    struct iovec iov[2] = {
        { dst, 4097 }, { dst + 4097, BIG_SIZE - 4097 },
    };
    GThread *th = g_thread_new("writer", writer_thread, &t);

    g_assert_cmpint(qio_channel_readv_all(QIO_CHANNEL(b), iov, 2,
                                          &error_abort), ==, 0);
    g_thread_join(th);
    g_assert_true(memcmp(src, dst, BIG_SIZE) == 0);
}

static void test_big_blocking(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;

    make_pair("127.0.0.1:0", &a, &b);
    transfer_big(a, b);
}

/* A non-blocking writer sees partial writes and ERR_BLOCK inside _all. */
static void test_big_nonblocking(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;

    make_unix_pair(&a, &b);
    qio_channel_set_blocking(QIO_CHANNEL(a), false, &error_abort);
    qio_channel_set_blocking(QIO_CHANNEL(b), false, &error_abort);
    transfer_big(a, b);
}

static void test_one_byte_writes(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    g_autofree char *src = pattern_new(3000, 3);
    g_autofree char *dst = g_malloc0(3000);
    Transfer t;
    GThread *th;

    make_pair("127.0.0.1:0", &a, &b);
    qio_channel_set_delay(QIO_CHANNEL(a), false);
    t = (Transfer){ QIO_CHANNEL(a), src, 3000, 1 };
    th = g_thread_new("trickle", writer_thread, &t);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(b), dst, 3000,
                                         &error_abort), ==, 0);
    g_thread_join(th);
    g_assert_true(memcmp(src, dst, 3000) == 0);
}

/* ---- peers that go away ------------------------------------------------- */

static void test_eof_outcomes(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    char buf[8];
    Error *err = NULL;

    make_pair("127.0.0.1:0", &a, &b);
    qio_channel_write_all(QIO_CHANNEL(a), "half", 4, &error_abort);
    qio_channel_close(QIO_CHANNEL(a), &error_abort);
    /* Four bytes then end-of-file: an error part-way... */
    g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(b), buf, 8, &err),
                    ==, -1);
    g_assert_nonnull(err);
    error_free_or_abort(&err);
    /* ...and end-of-file before any byte: a clean 0. */
    g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(b), buf, 8, &err),
                    ==, 0);
    g_assert_null(err);
}

/* Writing to a vanished peer is an Error, not SIGPIPE (which would kill
 * this test: its default action stays in place). */
static void test_write_to_closed_peer(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    g_autofree char *buf = g_malloc0(1024 * 1024);
    Error *err = NULL;
    int ret = 0;

    g_assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    make_pair("127.0.0.1:0", &a, &b);
    object_unref(b);
    b = NULL;
    for (int i = 0; i < 64 && ret == 0; i++) {
        ret = qio_channel_write_all(QIO_CHANNEL(a), buf, 1024 * 1024, &err);
    }
    g_assert_cmpint(ret, ==, -1);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "unable to write to socket: "));
    error_free(err);
}

static gpointer reader_thread(gpointer opaque)
{
    QIOChannel *ioc = opaque;
    char c;

    return GINT_TO_POINTER(qio_channel_read(ioc, &c, 1, &error_abort));
}

static void test_shutdown_wakes_reader(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    GThread *th;

    make_pair("127.0.0.1:0", &a, &b);
    th = g_thread_new("reader", reader_thread, QIO_CHANNEL(b));
    g_usleep(20 * 1000);    /* let it block; the result holds either way */
    g_assert_cmpint(qio_channel_shutdown(QIO_CHANNEL(b),
                                         QIO_CHANNEL_SHUTDOWN_BOTH,
                                         &error_abort), ==, 0);
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(th)), ==, 0);
}

static void test_shutdown_write(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    char c;
    Error *err = NULL;

    make_unix_pair(&a, &b);
    qio_channel_shutdown(QIO_CHANNEL(a), QIO_CHANNEL_SHUTDOWN_WRITE,
                         &error_abort);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), &c, 1, &error_abort),
                    ==, 0);
    g_assert_cmpint(qio_channel_write(QIO_CHANNEL(a), "x", 1, &err), ==, -1);
    error_free_or_abort(&err);
    /* The other direction still works. */
    g_assert_cmpint(qio_channel_write(QIO_CHANNEL(b), "y", 1, &error_abort),
                    ==, 1);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(a), &c, 1, &error_abort),
                    ==, 1);
    g_assert_cmpint(c, ==, 'y');
}

static void test_close(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    char c;
    Error *err = NULL;

    make_unix_pair(&a, &b);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(a), &error_abort), ==, 0);
    g_assert_cmpint(a->fd, ==, -1);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(a), &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(a), &c, 1, &err), ==, -1);
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_shutdown(QIO_CHANNEL(a),
                                         QIO_CHANNEL_SHUTDOWN_BOTH, &err),
                    ==, -1);
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_set_blocking(QIO_CHANNEL(a), false, &err),
                    ==, -1);
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), &c, 1, &error_abort),
                    ==, 0);
}

/* ---- descriptor passing ------------------------------------------------- */

/* Send @n pipe write ends; check each received fd feeds its pipe. */
static void check_fd_round_trip(size_t n)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    int rd[8], wr[8];
    int *got = NULL;
    size_t ngot = 0;
    char buf[4] = "";
    struct iovec iov = { buf, 3 };

    make_unix_pair(&a, &b);
    for (size_t i = 0; i < n; i++) {
        int p[2];

        g_assert_cmpint(pipe(p), ==, 0);
        rd[i] = p[0];
        wr[i] = p[1];
    }
    g_assert_cmpint(qio_channel_writev_full(QIO_CHANNEL(a),
                                            &(struct iovec){ "fds", 3 }, 1,
                                            wr, n, &error_abort), ==, 3);
    g_assert_cmpint(qio_channel_readv_full(QIO_CHANNEL(b), &iov, 1, &got,
                                           &ngot, &error_abort), ==, 3);
    g_assert_cmpstr(buf, ==, "fds");
    g_assert_cmpuint(ngot, ==, n);
    for (size_t i = 0; i < n; i++) {
        char c = 0;
        char want = 'a' + i;

        g_assert_cmpint(fcntl(got[i], F_GETFD) & FD_CLOEXEC, !=, 0);
        g_assert_cmpint(got[i], !=, wr[i]);
        g_assert_cmpint(write(got[i], &want, 1), ==, 1);
        g_assert_cmpint(read(rd[i], &c, 1), ==, 1);
        g_assert_cmpint(c, ==, want);
        close(got[i]);
        close(wr[i]);
        close(rd[i]);
    }
    g_free(got);
}

static void test_fd_pass_one(void)
{
    check_fd_round_trip(1);
}

static void test_fd_pass_several(void)
{
    check_fd_round_trip(5);
}

static void test_fd_pass_file(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    g_autofree char *dir = g_dir_make_tmp("spindle-ioc-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "f", NULL);
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    int *got = NULL;
    size_t ngot = 0;
    char c, buf[8] = "";
    struct iovec iov = { &c, 1 };

    make_unix_pair(&a, &b);
    qio_channel_writev_full_all(QIO_CHANNEL(a), &(struct iovec){ "F", 1 },
                                1, &fd, 1, &error_abort);
    qio_channel_readv_full_all(QIO_CHANNEL(b), &iov, 1, &got, &ngot,
                               &error_abort);
    g_assert_cmpuint(ngot, ==, 1);
    /* Write through the received fd, read through the original. */
    g_assert_cmpint(pwrite(got[0], "shared", 6, 0), ==, 6);
    g_assert_cmpint(pread(fd, buf, 6, 0), ==, 6);
    g_assert_cmpstr(buf, ==, "shared");
    close(got[0]);
    g_free(got);
    close(fd);
    g_unlink(path);
    g_rmdir(dir);
}

/* Descriptors the reader did not ask for are dropped, not leaked. */
static void test_fd_pass_unwanted(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    int p[2];
    char c = 0;

    make_unix_pair(&a, &b);
    g_assert_cmpint(pipe(p), ==, 0);
    qio_channel_writev_full(QIO_CHANNEL(a), &(struct iovec){ "u", 1 }, 1,
                            &p[1], 1, &error_abort);
    close(p[1]);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), &c, 1, &error_abort),
                    ==, 1);
    g_assert_cmpint(c, ==, 'u');
    /* The in-flight copy of the write end is gone: the pipe reads EOF. */
    g_assert_cmpint(read(p[0], &c, 1), ==, 0);
    close(p[0]);
}

static void test_fd_pass_too_many(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    int fds[SOCKET_MAX_FDS + 1];
    Error *err = NULL;

    make_unix_pair(&a, &b);
    for (size_t i = 0; i < G_N_ELEMENTS(fds); i++) {
        fds[i] = STDERR_FILENO;
    }
    g_assert_cmpint(qio_channel_writev_full(QIO_CHANNEL(a),
                                            &(struct iovec){ "x", 1 }, 1,
                                            fds, G_N_ELEMENTS(fds), &err),
                    ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "cannot pass more than 253 file descriptors at once");
    error_free(err);
}

static void test_fd_pass_refused_on_tcp(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    int fd = STDERR_FILENO;
    int *got = NULL;
    size_t ngot = 0;
    char c;
    struct iovec iov = { &c, 1 };
    Error *err = NULL;

    make_pair("127.0.0.1:0", &a, &b);
    g_assert_false(qio_channel_has_feature(QIO_CHANNEL(a),
                                           QIO_CHANNEL_FEATURE_FD_PASS));
    g_assert_cmpint(qio_channel_writev_full(QIO_CHANNEL(a), &iov, 1, &fd, 1,
                                            &err), ==, -1);
    g_assert_nonnull(err);
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_readv_full(QIO_CHANNEL(b), &iov, 1, &got,
                                           &ngot, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
}

/* ---- socket options ----------------------------------------------------- */

static int get_tcp_opt(QIOChannelSocket *sioc, int opt)
{
    int v = -1;
    socklen_t len = sizeof(v);

    g_assert_cmpint(getsockopt(sioc->fd, IPPROTO_TCP, opt, &v, &len), ==, 0);
    return v;
}

static void test_delay_and_cork(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    g_autoptr(QIOChannelSocket) u1 = NULL;
    g_autoptr(QIOChannelSocket) u2 = NULL;

    make_pair("127.0.0.1:0", &a, &b);
    g_assert_cmpint(get_tcp_opt(a, TCP_NODELAY), ==, 0);
    qio_channel_set_delay(QIO_CHANNEL(a), false);
    g_assert_cmpint(get_tcp_opt(a, TCP_NODELAY), !=, 0);
    qio_channel_set_delay(QIO_CHANNEL(a), true);
    g_assert_cmpint(get_tcp_opt(a, TCP_NODELAY), ==, 0);

    qio_channel_set_cork(QIO_CHANNEL(a), true);
    g_assert_cmpint(get_tcp_opt(a, TCP_CORK), !=, 0);
    qio_channel_set_cork(QIO_CHANNEL(a), false);
    g_assert_cmpint(get_tcp_opt(a, TCP_CORK), ==, 0);

    /* UNIX sockets ignore both hints. */
    make_unix_pair(&u1, &u2);
    qio_channel_set_delay(QIO_CHANNEL(u1), false);
    qio_channel_set_cork(QIO_CHANNEL(u1), true);
    assert_echo(u1, u2);
}

/* ---- event loops -------------------------------------------------------- */

static void test_watch_in_context(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    GMainContext *ctx = g_main_context_new();
    GIOCondition ready = 0;
    GSource *src;

    make_unix_pair(&a, &b);
    src = qio_channel_create_watch(QIO_CHANNEL(b), G_IO_IN);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))note_ready,
                          &ready, NULL);
    g_source_attach(src, ctx);
    g_assert_false(g_main_context_iteration(ctx, false));
    g_assert_cmpint(ready, ==, 0);
    qio_channel_write_all(QIO_CHANNEL(a), "!", 1, &error_abort);
    while (!ready) {
        g_main_context_iteration(ctx, true);
    }
    g_assert_cmpint(ready, ==, G_IO_IN);
    g_source_unref(src);
    g_main_context_unref(ctx);
}

typedef struct CoRead {
    QIOChannel *ioc;
    char buf[4096];
    bool done;
} CoRead;

static void coroutine_fn co_reader(void *opaque)
{
    CoRead *cr = opaque;

    qio_channel_read_all(cr->ioc, cr->buf, sizeof(cr->buf), &error_abort);
    cr->done = true;
}

/* In a coroutine, _all yields and resumes through the AioContext. */
static void test_coroutine_read(void)
{
    g_autoptr(QIOChannelSocket) a = NULL;
    g_autoptr(QIOChannelSocket) b = NULL;
    g_autofree char *src = pattern_new(4096, 9);
    CoRead *cr = g_new0(CoRead, 1);
    Transfer t;
    GThread *th;
    AioContext *ctx = qemu_get_aio_context();

    make_pair("127.0.0.1:0", &a, &b);
    qio_channel_set_blocking(QIO_CHANNEL(b), false, &error_abort);
    cr->ioc = QIO_CHANNEL(b);
    qemu_coroutine_enter(qemu_coroutine_create(co_reader, cr));
    g_assert_false(cr->done);
    t = (Transfer){ QIO_CHANNEL(a), src, 4096, 512 };
    th = g_thread_new("co-writer", writer_thread, &t);
    while (!cr->done) {
        aio_poll(ctx, true);
    }
    g_thread_join(th);
    g_assert_true(memcmp(cr->buf, src, 4096) == 0);
    g_free(cr);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/socket/tcp-v4", test_tcp_v4);
    g_test_add_func("/io/channel/socket/tcp-v6", test_tcp_v6);
    g_test_add_func("/io/channel/socket/unix-path", test_unix_path);
    g_test_add_func("/io/channel/socket/unix-abstract", test_unix_abstract);
    g_test_add_func("/io/channel/socket/fd-addresses", test_fd_addresses);
    g_test_add_func("/io/channel/socket/new-fd-errors", test_new_fd_errors);
    g_test_add_func("/io/channel/socket/connect-errors",
                    test_connect_errors);
    g_test_add_func("/io/channel/socket/dgram", test_dgram);
    g_test_add_func("/io/channel/socket/connect-async", test_connect_async);
    g_test_add_func("/io/channel/socket/connect-async-error",
                    test_connect_async_error);
    g_test_add_func("/io/channel/socket/listen-async", test_listen_async);
    g_test_add_func("/io/channel/socket/dgram-async", test_dgram_async);
    g_test_add_func("/io/channel/socket/async-destroy", test_async_destroy);
    g_test_add_func("/io/channel/socket/accept-nonblocking",
                    test_accept_nonblocking);
    g_test_add_func("/io/channel/socket/err-block",
                    test_nonblocking_err_block);
    g_test_add_func("/io/channel/socket/big-blocking", test_big_blocking);
    g_test_add_func("/io/channel/socket/big-nonblocking",
                    test_big_nonblocking);
    g_test_add_func("/io/channel/socket/one-byte-writes",
                    test_one_byte_writes);
    g_test_add_func("/io/channel/socket/eof-outcomes", test_eof_outcomes);
    g_test_add_func("/io/channel/socket/write-to-closed-peer",
                    test_write_to_closed_peer);
    g_test_add_func("/io/channel/socket/shutdown-wakes-reader",
                    test_shutdown_wakes_reader);
    g_test_add_func("/io/channel/socket/shutdown-write",
                    test_shutdown_write);
    g_test_add_func("/io/channel/socket/close", test_close);
    g_test_add_func("/io/channel/socket/fd-pass/one", test_fd_pass_one);
    g_test_add_func("/io/channel/socket/fd-pass/several",
                    test_fd_pass_several);
    g_test_add_func("/io/channel/socket/fd-pass/file", test_fd_pass_file);
    g_test_add_func("/io/channel/socket/fd-pass/unwanted",
                    test_fd_pass_unwanted);
    g_test_add_func("/io/channel/socket/fd-pass/too-many",
                    test_fd_pass_too_many);
    g_test_add_func("/io/channel/socket/fd-pass/refused-on-tcp",
                    test_fd_pass_refused_on_tcp);
    g_test_add_func("/io/channel/socket/delay-and-cork",
                    test_delay_and_cork);
    g_test_add_func("/io/channel/socket/watch-in-context",
                    test_watch_in_context);
    g_test_add_func("/io/channel/socket/coroutine-read",
                    test_coroutine_read);
    return g_test_run();
}
