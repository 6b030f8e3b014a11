/*
 * ws-peer: a WebSocket echo server on QIOChannelWebsock, for the interop
 * tests that drive it with real clients (Python's websockets library).
 *
 *   ws-peer [--port N | --unix PATH] [--clients K]
 *
 * Listens on 127.0.0.1:N (0, the default, picks a free port) or on the
 * UNIX socket PATH, prints "port N" (or "unix PATH") on stdout once it
 * listens, and serves any number of clients at once from one GLib main
 * loop: each gets the WebSocket handshake, then every byte it sends comes
 * back as the payload of binary frames (message boundaries are not kept:
 * the channel is a byte stream).  Each client's channel runs in
 * non-blocking mode on watches, with back-pressure: while echoed bytes
 * wait to be written, no more are read.  With --clients K the program
 * exits after K clients have gone; SIGTERM or SIGINT make it end every
 * client and exit with status 0 (so sanitizer builds check for leaks).
 * Errors of one client are reported on stderr and end that client only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-socket.h"
#include "io/channel-websock.h"
#include "qapi/error.h"
#include <glib-unix.h>

#define ECHO_CHUNK (64 * 1024)

typedef struct Client {
    QIOChannel *ioc;        /* the WebSocket channel */
    GByteArray *pending;    /* read, not yet echoed */
    unsigned id;
    bool ending;            /* client_end runs: ignore late callbacks */
} Client;

static GMainLoop *loop;
static GList *clients;          /* every Client still connected */
static unsigned clients_started;
static unsigned clients_done;
static unsigned clients_limit;  /* 0: serve forever */

static void client_watch(Client *c);

static void client_end(Client *c, Error *err)
{
    if (err) {
        fprintf(stderr, "ws-peer: client %u: %s\n", c->id,
                error_get_pretty(err));
        error_free(err);
    }
    c->ending = true;
    clients = g_list_remove(clients, c);
    g_source_remove_by_user_data(c);
    qio_channel_close(c->ioc, NULL);
    object_unref(c->ioc);
    g_byte_array_unref(c->pending);
    g_free(c);
    clients_done++;
    if (clients_limit && clients_done >= clients_limit) {
        g_main_loop_quit(loop);
    }
}

/* Write what is pending; returns false when the client is finished. */
static bool client_flush(Client *c)
{
    Error *err = NULL;

    while (c->pending->len) {
        ssize_t n = qio_channel_write(c->ioc, (char *)c->pending->data,
                                      c->pending->len, &err);
        if (n == QIO_CHANNEL_ERR_BLOCK) {
            return true;
        }
        if (n < 0) {
            client_end(c, err);
            return false;
        }
        g_byte_array_remove_range(c->pending, 0, n);
    }
    return true;
}

/* Read one chunk; returns false when the client is finished. */
static bool client_read(Client *c)
{
    uint8_t buf[ECHO_CHUNK];
    Error *err = NULL;
    ssize_t n = qio_channel_read(c->ioc, (char *)buf, sizeof(buf), &err);

    if (n == QIO_CHANNEL_ERR_BLOCK) {
        return true;
    }
    if (n <= 0) {
        client_end(c, err);
        return false;
    }
    g_byte_array_append(c->pending, buf, n);
    return client_flush(c);
}

static gboolean client_ready(QIOChannel *ioc, GIOCondition cond,
                             gpointer opaque)
{
    Client *c = opaque;

    if (c->pending->len ? client_flush(c) : client_read(c)) {
        client_watch(c);
    }
    return G_SOURCE_REMOVE;
}

/* Wait for output room while echoes are pending, else for input. */
static void client_watch(Client *c)
{
    GIOCondition cond = c->pending->len ? G_IO_OUT : G_IO_IN;

    qio_channel_add_watch(c->ioc, cond | G_IO_HUP | G_IO_ERR, client_ready,
                          c, NULL);
}

static void handshake_done(QIOTask *task, gpointer opaque)
{
    Client *c = opaque;
    Error *err = NULL;

    if (c->ending) {
        return;     /* cancelled by client_end closing the channel */
    }
    if (qio_task_propagate_error(task, &err)) {
        client_end(c, err);
        return;
    }
    qio_channel_set_blocking(c->ioc, false, &error_abort);
    client_watch(c);
}

static gboolean accept_ready(QIOChannel *ioc, GIOCondition cond,
                             gpointer opaque)
{
    QIOChannelSocket *lioc = QIO_CHANNEL_SOCKET(ioc);
    QIOChannelSocket *sioc = qio_channel_socket_accept(lioc, NULL);
    Client *c;

    if (!sioc) {
        return G_SOURCE_CONTINUE;
    }
    c = g_new0(Client, 1);
    c->id = ++clients_started;
    c->pending = g_byte_array_new();
    clients = g_list_prepend(clients, c);
    c->ioc = QIO_CHANNEL(qio_channel_websock_new_server(QIO_CHANNEL(sioc)));
    object_unref(sioc);
    qio_channel_websock_handshake(QIO_CHANNEL_WEBSOCK(c->ioc),
                                  handshake_done, c, NULL);
    return G_SOURCE_CONTINUE;
}

static void print_address(QIOChannelSocket *lioc)
{
    g_autoptr(SocketAddress) addr =
        qio_channel_socket_get_local_address(lioc, &error_fatal);

    if (addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        printf("unix %s\n", addr->u.q_unix.path);
    } else {
        printf("port %s\n", addr->u.inet.port);
    }
    fflush(stdout);
}

static gboolean on_signal(gpointer opaque)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    int port = 0, max_clients = 0;
    char *unix_path = NULL;
    GOptionEntry entries[] = {
        { "port", 0, 0, G_OPTION_ARG_INT, &port,
          "TCP port on 127.0.0.1 (0: any free one)", "N" },
        { "unix", 0, 0, G_OPTION_ARG_FILENAME, &unix_path,
          "listen on a UNIX socket instead", "PATH" },
        { "clients", 0, 0, G_OPTION_ARG_INT, &max_clients,
          "exit after serving K clients (default: never)", "K" },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("- WebSocket "
                                                          "echo server");
    g_autoptr(SocketAddress) addr = NULL;
    g_autofree char *addr_str = NULL;
    QIOChannelSocket *lioc;
    GError *gerr = NULL;

    error_set_progname("ws-peer");
    g_option_context_add_main_entries(octx, entries, NULL);
    if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
        fprintf(stderr, "ws-peer: %s\n", gerr->message);
        return 2;
    }
    clients_limit = max_clients;
    addr_str = unix_path ? g_strdup_printf("unix:%s", unix_path)
                         : g_strdup_printf("127.0.0.1:%d", port);
    addr = socket_parse(addr_str, &error_fatal);
    lioc = qio_channel_socket_new();
    qio_channel_socket_listen_sync(lioc, addr, 16, &error_fatal);
    qio_channel_set_blocking(QIO_CHANNEL(lioc), false, &error_fatal);
    print_address(lioc);

    loop = g_main_loop_new(NULL, FALSE);
    qio_channel_add_watch(QIO_CHANNEL(lioc), G_IO_IN, accept_ready, NULL,
                          NULL);
    g_unix_signal_add(SIGTERM, on_signal, NULL);
    g_unix_signal_add(SIGINT, on_signal, NULL);
    g_main_loop_run(loop);
    while (clients) {
        client_end(clients->data, NULL);
    }
    g_main_loop_unref(loop);
    qio_channel_close(QIO_CHANNEL(lioc), NULL);
    object_unref(lioc);
    g_free(unix_path);
    return 0;
}
