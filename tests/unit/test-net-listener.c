/*
 * Tests for io/net-listener.h: several listening addresses, a callback
 * per client in a chosen GMainContext or AioContext (also an IOThread's),
 * wait_client, replacing the callback, disconnect.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/net-listener.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "sysemu/iothread.h"
#include "block/aio.h"
#include <glib/gstdio.h>
#include <netdb.h>
#include "socket-helpers.h"

/* What the client callback saw. */
typedef struct Clients {
    int count;
    int notified;
    QIOChannelSocket *last;     /* referenced */
    GThread *thread;
    QemuSemaphore sem;          /* posted per client (threaded tests) */
} Clients;

static void clients_init(Clients *c)
{
    memset(c, 0, sizeof(*c));
    qemu_sem_init(&c->sem, 0);
}

static void clients_destroy(Clients *c)
{
    if (c->last) {
        object_unref(c->last);
    }
    qemu_sem_destroy(&c->sem);
}

static void on_client(QIONetListener *listener, QIOChannelSocket *sioc,
                      gpointer data)
{
    Clients *c = data;
    char buf[4] = "";

    qio_channel_read_all(QIO_CHANNEL(sioc), buf, 3, &error_abort);
    g_assert_cmpstr(buf, ==, "hi!");
    qio_channel_write_all(QIO_CHANNEL(sioc), "ok", 2, &error_abort);
    if (c->last) {
        object_unref(c->last);
    }
    c->last = QIO_CHANNEL_SOCKET(object_ref(sioc));
    c->thread = g_thread_self();
    c->count++;
    qemu_sem_post(&c->sem);
}

static void on_notify(gpointer data)
{
    Clients *c = data;

    c->notified++;
    qemu_sem_post(&c->sem);
}

/* Open @listener on @str; returns the address of the channel added. */
static SocketAddress *open_on(QIONetListener *listener, const char *str)
{
    g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);
    size_t before = listener->nsioc;

    g_assert_cmpint(qio_net_listener_open_sync(listener, addr, 4,
                                               &error_abort), ==, 0);
    g_assert_cmpuint(listener->nsioc, >, before);
    return qio_channel_socket_get_local_address(listener->sioc[before],
                                                &error_abort);
}

/* Connect, send the greeting; the caller later checks the reply. */
static QIOChannelSocket *client_send(SocketAddress *addr)
{
    QIOChannelSocket *cl = qio_channel_socket_new();

    g_assert_cmpint(qio_channel_socket_connect_sync(cl, addr, &error_abort),
                    ==, 0);
    qio_channel_write_all(QIO_CHANNEL(cl), "hi!", 3, &error_abort);
    return cl;
}

static void client_check_reply(QIOChannelSocket *cl)
{
    char buf[3] = "";

    qio_channel_read_all(QIO_CHANNEL(cl), buf, 2, &error_abort);
    g_assert_cmpstr(buf, ==, "ok");
    object_unref(cl);
}

/* Run @ctx until the callback has seen @n clients in all. */
static void run_until(GMainContext *ctx, Clients *c, int n)
{
    while (c->count < n) {
        g_main_context_iteration(ctx, true);
    }
}

/* ---- tests -------------------------------------------------------------- */

static void test_client_per_connection(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    Clients c;

    clients_init(&c);
    g_assert_false(qio_net_listener_is_connected(listener));
    addr = open_on(listener, "127.0.0.1:0");
    g_assert_true(qio_net_listener_is_connected(listener));
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(listener->sioc[0]),
                                          QIO_CHANNEL_FEATURE_LISTEN));
    qio_net_listener_set_client_func(listener, on_client, &c, NULL);
    for (int i = 1; i <= 3; i++) {
        QIOChannelSocket *cl = client_send(addr);

        run_until(NULL, &c, i);
        client_check_reply(cl);
    }
    g_assert_cmpint(c.count, ==, 3);
    g_assert_true(c.thread == g_thread_self());
    qio_net_listener_disconnect(listener);
    clients_destroy(&c);
}

static void test_several_addresses(void)
{
    g_autofree char *dir = g_dir_make_tmp("spindle-nl-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autofree char *ustr = g_strdup_printf("unix:%s", path);
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) tcp = NULL;
    g_autoptr(SocketAddress) unx = NULL;
    QIOChannelSocket *c1, *c2;
    Clients c;

    clients_init(&c);
    tcp = open_on(listener, "127.0.0.1:0");
    unx = open_on(listener, ustr);
    g_assert_cmpuint(listener->nsioc, ==, 2);
    qio_net_listener_set_client_func(listener, on_client, &c, NULL);
    c1 = client_send(tcp);
    c2 = client_send(unx);
    run_until(NULL, &c, 2);
    client_check_reply(c1);
    client_check_reply(c2);

    /* Disconnect closes both and removes the UNIX socket file. */
    qio_net_listener_disconnect(listener);
    g_assert_false(qio_net_listener_is_connected(listener));
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpint(listener->sioc[0]->fd, ==, -1);
    qio_net_listener_disconnect(listener);      /* idempotent */
    clients_destroy(&c);
    g_rmdir(dir);
}

/* The local address of each of @listener's channels, in order. */
static GPtrArray *local_addresses(QIONetListener *listener)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qapi_free_SocketAddress);

    for (size_t i = 0; i < listener->nsioc; i++) {
        g_ptr_array_add(out, qio_channel_socket_get_local_address(
                            listener->sioc[i], &error_abort));
    }
    return out;
}

/* One client per "host" of @hosts, on @port; each must be served. */
static void check_served_on(QIONetListener *listener, const char *port,
                            const char *const *hosts)
{
    Clients c;
    int n = 0;

    clients_init(&c);
    qio_net_listener_set_client_func(listener, on_client, &c, NULL);
    for (; *hosts; hosts++) {
        g_autofree char *str = g_strdup_printf(
            strchr(*hosts, ':') ? "[%s]:%s" : "%s:%s", *hosts, port);
        g_autoptr(SocketAddress) addr = socket_parse(str, &error_abort);
        QIOChannelSocket *cl = client_send(addr);

        run_until(NULL, &c, ++n);
        client_check_reply(cl);
    }
    qio_net_listener_set_client_func(listener, NULL, NULL, NULL);
    clients_destroy(&c);
}

/* Whether "localhost" resolves to both an IPv4 and an IPv6 address. */
static bool localhost_is_dual(void)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    struct addrinfo *res;
    bool v4 = false, v6 = false;

    if (getaddrinfo("localhost", NULL, &hints, &res) != 0) {
        return false;
    }
    for (struct addrinfo *e = res; e; e = e->ai_next) {
        v4 |= e->ai_family == AF_INET;
        v6 |= e->ai_family == AF_INET6;
    }
    freeaddrinfo(res);
    return v4 && v6;
}

/*
 * A host name gets one socket per address, all on the port the first
 * picked, each serving clients; with both families, one of each.
 */
static void test_host_name(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) first = open_on(listener, "localhost:0");
    g_autoptr(GPtrArray) locals = local_addresses(listener);
    g_autoptr(GPtrArray) hosts = g_ptr_array_new();
    bool v4 = false, v6 = false;

    g_assert_cmpstr(first->u.inet.port, !=, "0");
    for (guint i = 0; i < locals->len; i++) {
        SocketAddress *a = locals->pdata[i];

        g_assert_cmpstr(a->u.inet.port, ==, first->u.inet.port);
        v4 |= a->u.inet.has_ipv4;
        v6 |= a->u.inet.has_ipv6;
        g_ptr_array_add(hosts, a->u.inet.host);
    }
    g_ptr_array_add(hosts, NULL);
    g_assert_true(v4 && v6 ? localhost_is_dual() : !localhost_is_dual());
    check_served_on(listener, first->u.inet.port,
                    (const char *const *)hosts->pdata);
    qio_net_listener_disconnect(listener);
}

/* An empty host is one socket serving IPv4 and IPv6 clients alike. */
static void test_dual_stack_any(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    const char *const hosts[] = { "127.0.0.1", "::1", NULL };

    if (!test_have_ipv6()) {
        g_test_skip("no IPv6 loopback");
        return;
    }
    addr = open_on(listener, ":0");
    g_assert_cmpuint(listener->nsioc, ==, 1);
    check_served_on(listener, addr->u.inet.port, hosts);
    qio_net_listener_disconnect(listener);
}

/*
 * The sockets a name with both kinds of address gets: a v6-only IPv6
 * one and an IPv4 one on the same port, side by side (without
 * IPV6_V6ONLY the second bind would fail with EADDRINUSE).  Each
 * family's clients reach their own socket.
 */
static void test_dual_stack_pair(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) v6 = NULL;
    g_autoptr(SocketAddress) v4 = NULL;
    g_autofree char *v4str = NULL;
    const char *const hosts[] = { "::1", "127.0.0.1", NULL };

    if (!test_have_ipv6()) {
        g_test_skip("no IPv6 loopback");
        return;
    }
    v6 = open_on(listener, "[::]:0,ipv4=off,ipv6=on,numeric");
    v4str = g_strdup_printf("0.0.0.0:%s,ipv4=on,ipv6=off,numeric",
                            v6->u.inet.port);
    v4 = open_on(listener, v4str);
    g_assert_cmpuint(listener->nsioc, ==, 2);
    g_assert_cmpstr(v4->u.inet.port, ==, v6->u.inet.port);
    g_assert_true(v6->u.inet.has_ipv6 && v4->u.inet.has_ipv4);
    check_served_on(listener, v6->u.inet.port, hosts);
    qio_net_listener_disconnect(listener);
}

static void test_open_errors(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) bad = socket_parse("no-such-host:0,numeric",
                                                &error_abort);
    g_autoptr(SocketAddress) nodir =
        socket_parse("unix:/nonexistent-dir/sock", &error_abort);
    g_autoptr(SocketAddress) v6only = socket_parse("127.0.0.1:0,ipv6=on",
                                                   &error_abort);
    Error *err = NULL;

    g_assert_cmpint(qio_net_listener_open_sync(listener, bad, 1, &err), ==,
                    -1);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "could not resolve host 'no-such-host'"));
    error_free_or_abort(&err);
    g_assert_cmpint(qio_net_listener_open_sync(listener, nodir, 1, &err),
                    ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "could not listen on UNIX socket '/nonexistent-dir/sock'"
                    ": No such file or directory");
    error_free_or_abort(&err);
    g_assert_cmpint(qio_net_listener_open_sync(listener, v6only, 1, &err),
                    ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "host '127.0.0.1' has no "
                    "address of the allowed family");
    error_free(err);
    g_assert_cmpuint(listener->nsioc, ==, 0);
    g_assert_false(qio_net_listener_is_connected(listener));
}

static void test_name(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;

    qio_net_listener_set_name(listener, "nbd");
    addr = open_on(listener, "127.0.0.1:0");
    g_assert_cmpstr(listener->name, ==, "nbd");
    g_assert_cmpstr(QIO_CHANNEL(listener->sioc[0])->name, ==, "nbd-listen");
}

static void test_wait_client(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    g_autoptr(QIOChannelSocket) server = NULL;
    QIOChannelSocket *cl;
    Clients c;

    clients_init(&c);
    addr = open_on(listener, "127.0.0.1:0");
    qio_net_listener_set_client_func(listener, on_client, &c, NULL);

    /* wait_client takes the next client itself; no callback. */
    cl = client_send(addr);
    server = qio_net_listener_wait_client(listener);
    g_assert_nonnull(server);
    g_assert_cmpint(c.count, ==, 0);
    qio_channel_write_all(QIO_CHANNEL(server), "ok", 2, &error_abort);
    client_check_reply(cl);

    /* Afterwards the callback's watches are back. */
    cl = client_send(addr);
    run_until(NULL, &c, 1);
    client_check_reply(cl);
    qio_net_listener_disconnect(listener);

    /* With no open channel there is nothing to wait for. */
    g_assert_null(qio_net_listener_wait_client(listener));
    clients_destroy(&c);
}

static void test_wait_client_without_func(void)
{
    g_autoptr(QIONetListener) empty = qio_net_listener_new();
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) a1 = NULL;
    g_autoptr(SocketAddress) a2 = NULL;
    g_autoptr(QIOChannelSocket) server = NULL;
    g_autoptr(SocketAddress) peer = NULL;
    g_autoptr(SocketAddress) cl_local = NULL;
    QIOChannelSocket *cl;

    g_assert_null(qio_net_listener_wait_client(empty));
    a1 = open_on(listener, "127.0.0.1:0");
    a2 = open_on(listener, "127.0.0.1:0");
    cl = client_send(a2);
    server = qio_net_listener_wait_client(listener);
    peer = qio_channel_socket_get_remote_address(server, &error_abort);
    cl_local = qio_channel_socket_get_local_address(cl, &error_abort);
    g_assert_cmpstr(peer->u.inet.port, ==, cl_local->u.inet.port);
    object_unref(cl);
    qio_net_listener_disconnect(listener);
}

static void test_replace_func(void)
{
    QIONetListener *listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    QIOChannelSocket *cl;
    Clients a, b;

    clients_init(&a);
    clients_init(&b);
    addr = open_on(listener, "127.0.0.1:0");
    qio_net_listener_set_client_func(listener, on_client, &a, on_notify);
    qio_net_listener_set_client_func(listener, on_client, &b, on_notify);
    g_assert_cmpint(a.notified, ==, 1);
    cl = client_send(addr);
    run_until(NULL, &b, 1);
    client_check_reply(cl);
    g_assert_cmpint(a.count, ==, 0);

    /* Without a callback nobody accepts: nothing is dispatched. */
    qio_net_listener_set_client_func(listener, NULL, NULL, NULL);
    g_assert_cmpint(b.notified, ==, 1);
    cl = client_send(addr);
    while (g_main_context_iteration(NULL, false)) {
        /* drain */
    }
    g_assert_cmpint(b.count, ==, 1);

    /* The client waits in the backlog until a callback is set again. */
    qio_net_listener_set_client_func(listener, on_client, &a, on_notify);
    run_until(NULL, &a, 1);
    client_check_reply(cl);

    /* The last reference (after disconnect) runs the current notify. */
    qio_net_listener_disconnect(listener);
    object_unref(listener);
    g_assert_cmpint(a.notified, ==, 2);
    clients_destroy(&a);
    clients_destroy(&b);
}

static void on_client_then_stop(QIONetListener *listener,
                                QIOChannelSocket *sioc, gpointer data)
{
    on_client(listener, sioc, data);
    /* A server at its client limit: stop accepting from inside. */
    qio_net_listener_set_client_func(listener, NULL, NULL, NULL);
}

static void test_stop_from_callback(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    QIOChannelSocket *c1, *c2;
    Clients c;

    clients_init(&c);
    addr = open_on(listener, "127.0.0.1:0");
    qio_net_listener_set_client_func(listener, on_client_then_stop, &c,
                                     NULL);
    c1 = client_send(addr);
    c2 = client_send(addr);
    run_until(NULL, &c, 1);
    while (g_main_context_iteration(NULL, false)) {
        /* drain */
    }
    g_assert_cmpint(c.count, ==, 1);
    client_check_reply(c1);
    object_unref(c2);
    qio_net_listener_disconnect(listener);
    clients_destroy(&c);
}

static void test_chosen_context(void)
{
    g_autoptr(QIONetListener) listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    GMainContext *ctx = g_main_context_new();
    QIOChannelSocket *cl;
    Clients c;

    clients_init(&c);
    addr = open_on(listener, "127.0.0.1:0");
    qio_net_listener_set_client_func_full(listener, on_client, &c, NULL,
                                          ctx);
    cl = client_send(addr);
    while (g_main_context_iteration(NULL, false)) {
        /* the default context never sees the watch */
    }
    g_assert_cmpint(c.count, ==, 0);
    run_until(ctx, &c, 1);
    client_check_reply(cl);
    qio_net_listener_disconnect(listener);
    g_main_context_unref(ctx);
    clients_destroy(&c);
}

static void test_aio_context(void)
{
    QIONetListener *listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    AioContext *ctx = qemu_get_aio_context();
    QIOChannelSocket *cl;
    Clients c;

    clients_init(&c);
    addr = open_on(listener, "127.0.0.1:0");
    qio_net_listener_set_client_aio_func(listener, on_client, &c, on_notify,
                                         NULL);
    cl = client_send(addr);
    while (c.count < 1) {
        aio_poll(ctx, true);
    }
    client_check_reply(cl);
    g_assert_true(c.thread == g_thread_self());
    qio_net_listener_disconnect(listener);
    object_unref(listener);
    /* The handler's reference goes from a bottom half in @ctx. */
    while (!c.notified) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(c.notified, ==, 1);
    clients_destroy(&c);
}

/* The callback runs in an IOThread; the main thread connects and stops. */
static void check_iothread(bool aio)
{
    IOThread *iothread = iothread_create("listener", &error_abort);
    AioContext *ctx = iothread_get_aio_context(iothread);
    QIONetListener *listener = qio_net_listener_new();
    g_autoptr(SocketAddress) addr = NULL;
    Clients c;

    clients_init(&c);
    addr = open_on(listener, "127.0.0.1:0");
    if (aio) {
        qio_net_listener_set_client_aio_func(listener, on_client, &c,
                                             on_notify, ctx);
    } else {
        /* Holding the context orders GLib's internals for TSan. */
        aio_context_acquire(ctx);
        qio_net_listener_set_client_func_full(
            listener, on_client, &c, on_notify,
            iothread_get_g_main_context(iothread));
        aio_context_release(ctx);
    }
    for (int i = 0; i < 3; i++) {
        QIOChannelSocket *cl = client_send(addr);

        qemu_sem_wait(&c.sem);
        client_check_reply(cl);
    }
    aio_context_acquire(ctx);
    qio_net_listener_disconnect(listener);
    aio_context_release(ctx);
    object_unref(listener);
    qemu_sem_wait(&c.sem);      /* notify: the listener is finalized */
    iothread_destroy(iothread);
    g_assert_cmpint(c.count, ==, 3);
    g_assert_cmpint(c.notified, ==, 1);
    g_assert_true(c.thread != g_thread_self());
    clients_destroy(&c);
}

static void test_iothread_gsource(void)
{
    check_iothread(false);
}

static void test_iothread_aio(void)
{
    check_iothread(true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/net-listener/client-per-connection",
                    test_client_per_connection);
    g_test_add_func("/io/net-listener/several-addresses",
                    test_several_addresses);
    g_test_add_func("/io/net-listener/host-name", test_host_name);
    g_test_add_func("/io/net-listener/dual-stack/any-host",
                    test_dual_stack_any);
    g_test_add_func("/io/net-listener/dual-stack/v6only-pair",
                    test_dual_stack_pair);
    g_test_add_func("/io/net-listener/open-errors", test_open_errors);
    g_test_add_func("/io/net-listener/name", test_name);
    g_test_add_func("/io/net-listener/wait-client", test_wait_client);
    g_test_add_func("/io/net-listener/wait-client-without-func",
                    test_wait_client_without_func);
    g_test_add_func("/io/net-listener/replace-func", test_replace_func);
    g_test_add_func("/io/net-listener/stop-from-callback",
                    test_stop_from_callback);
    g_test_add_func("/io/net-listener/chosen-context", test_chosen_context);
    g_test_add_func("/io/net-listener/aio-context", test_aio_context);
    g_test_add_func("/io/net-listener/iothread-gsource",
                    test_iothread_gsource);
    g_test_add_func("/io/net-listener/iothread-aio", test_iothread_aio);
    return g_test_run();
}
