/*
 * socket-peer: the Spindle side of the socket interop tests.
 *
 *   socket-peer listen ADDR    listen (QIONetListener), print the bound
 *                              address on stdout, accept one client and
 *                              echo its bytes back until it shuts down
 *                              its sending side; then exit
 *   socket-peer connect ADDR   connect (QIOChannelSocket), send stdin
 *                              (then shut down the sending side) while
 *                              copying everything received to stdout
 *   socket-peer free-port      print a TCP port on 127.0.0.1 that was
 *                              free a moment ago
 *
 * ADDR is any string socket_parse() accepts.  Exit status 0 on success,
 * 1 with a message on stderr otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/net-listener.h"
#include "qapi/error.h"

#define CHUNK (64 * 1024)

static bool write_fd_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = RETRY_ON_EINTR(write(fd, buf, len));

        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= n;
    }
    return true;
}

/* Echo @ioc's input back to it until end-of-file. */
static bool echo(QIOChannel *ioc, Error **errp)
{
    g_autofree char *buf = g_malloc(CHUNK);

    for (;;) {
        ssize_t n = qio_channel_read(ioc, buf, CHUNK, errp);

        if (n < 0) {
            return false;
        }
        if (n == 0) {
            return qio_channel_shutdown(ioc, QIO_CHANNEL_SHUTDOWN_WRITE,
                                        errp) == 0;
        }
        if (qio_channel_write_all(ioc, buf, n, errp) < 0) {
            return false;
        }
    }
}

static int do_listen(const char *str)
{
    g_autoptr(SocketAddress) addr = NULL;
    g_autoptr(SocketAddress) local = NULL;
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(QIOChannelSocket) client = NULL;
    g_autofree char *text = NULL;
    Error *err = NULL;

    addr = socket_parse(str, &err);
    if (!addr || qio_net_listener_open_sync(listener, addr, 1, &err) < 0) {
        error_report_err(err);
        return 1;
    }
    local = qio_channel_socket_get_local_address(listener->sioc[0],
                                                 &error_abort);
    text = socket_address_to_string(local);
    printf("%s\n", text);
    fflush(stdout);
    client = qio_net_listener_wait_client(listener);
    qio_net_listener_disconnect(listener);
    if (!client) {
        error_report("no client");
        return 1;
    }
    if (!echo(QIO_CHANNEL(client), &err)) {
        error_report_err(err);
        return 1;
    }
    return 0;
}

/* Copy stdin to the channel, then shut down its sending side. */
static gpointer send_stdin(gpointer opaque)
{
    QIOChannel *ioc = opaque;
    g_autofree char *buf = g_malloc(CHUNK);
    Error *err = NULL;
    ssize_t n;

    while ((n = RETRY_ON_EINTR(read(STDIN_FILENO, buf, CHUNK))) > 0) {
        if (qio_channel_write_all(ioc, buf, n, &err) < 0) {
            error_report_err(err);
            return GINT_TO_POINTER(1);
        }
    }
    if (qio_channel_shutdown(ioc, QIO_CHANNEL_SHUTDOWN_WRITE, &err) < 0) {
        error_report_err(err);
        return GINT_TO_POINTER(1);
    }
    return GINT_TO_POINTER(n < 0);
}

/* Copy the channel to stdout until end-of-file. */
static bool receive_stdout(QIOChannel *ioc, Error **errp)
{
    g_autofree char *buf = g_malloc(CHUNK);
    ssize_t n;

    while ((n = qio_channel_read(ioc, buf, CHUNK, errp)) > 0) {
        if (!write_fd_all(STDOUT_FILENO, buf, n)) {
            error_setg_errno(errp, errno, "cannot write to stdout");
            return false;
        }
    }
    return n == 0;
}

static int do_connect(const char *str)
{
    g_autoptr(SocketAddress) addr = NULL;
    g_autoptr(QIOChannelSocket) sioc = qio_channel_socket_new();
    Error *err = NULL;
    GThread *sender;
    bool ok;
    int rc;

    addr = socket_parse(str, &err);
    if (!addr || qio_channel_socket_connect_sync(sioc, addr, &err) < 0) {
        error_report_err(err);
        return 1;
    }
    sender = g_thread_new("send", send_stdin, QIO_CHANNEL(sioc));
    ok = receive_stdout(QIO_CHANNEL(sioc), &err);
    rc = GPOINTER_TO_INT(g_thread_join(sender));
    if (!ok) {
        error_report_err(err);
        return 1;
    }
    return rc;
}

static int do_free_port(void)
{
    g_autoptr(SocketAddress) addr = socket_parse("127.0.0.1:0",
                                                 &error_abort);
    g_autoptr(SocketAddress) local = NULL;
    int fd = socket_listen(addr, 1, &error_fatal);

    local = socket_local_address(fd, &error_fatal);
    close(fd);
    printf("%s\n", local->u.inet.port);
    return 0;
}

int main(int argc, char **argv)
{
    error_set_progname("socket-peer");
    if (argc == 3 && !strcmp(argv[1], "listen")) {
        return do_listen(argv[2]);
    }
    if (argc == 3 && !strcmp(argv[1], "connect")) {
        return do_connect(argv[2]);
    }
    if (argc == 2 && !strcmp(argv[1], "free-port")) {
        return do_free_port();
    }
    fprintf(stderr, "usage: socket-peer listen ADDR | connect ADDR | "
            "free-port\n");
    return 2;
}
