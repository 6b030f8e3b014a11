/*
 * tls-peer: a small TLS endpoint built on QIOChannelTLS, for the interop
 * tests against gnutls-serv and gnutls-cli (tls-gnutls.sh).
 *
 *   tls-peer serve --creds DIR [--port N] [--psk] [--verify-peer]
 *       Listen on 127.0.0.1:N (0, the default, picks a free port; the
 *       port is printed as "port N" once listening), accept one client,
 *       echo what it sends until it ends the session, then close.
 *   tls-peer connect HOST:PORT --creds DIR [--psk] [--username U]
 *                    [--hostname H]
 *       Connect, send standard input, end our direction with
 *       close_notify, and print what the server sends until it closes.
 *       X.509 servers are always verified, against --hostname (default:
 *       HOST).
 *
 * Both take --priority STR.  Exit status 0 on success; 1 with a message
 * on standard error otherwise.  Blocking I/O throughout; the client reads
 * in a second thread so large echoes cannot deadlock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-tls.h"
#include "io/channel-socket.h"

static char *opt_creds;
static char *opt_port = (char *)"0";
static char *opt_username;
static char *opt_hostname;
static char *opt_priority;
static gboolean opt_psk;
static gboolean opt_verify_peer;

static GOptionEntry options[] = {
    { "creds", 0, 0, G_OPTION_ARG_FILENAME, &opt_creds,
      "credentials directory", "DIR" },
    { "port", 0, 0, G_OPTION_ARG_STRING, &opt_port,
      "serve: port on 127.0.0.1 (0: any)", "N" },
    { "psk", 0, 0, G_OPTION_ARG_NONE, &opt_psk,
      "use keys.psk instead of X.509", NULL },
    { "username", 0, 0, G_OPTION_ARG_STRING, &opt_username,
      "connect: PSK identity", "U" },
    { "hostname", 0, 0, G_OPTION_ARG_STRING, &opt_hostname,
      "connect: name the server certificate must carry", "H" },
    { "verify-peer", 0, 0, G_OPTION_ARG_NONE, &opt_verify_peer,
      "serve: require and verify client certificates", NULL },
    { "priority", 0, 0, G_OPTION_ARG_STRING, &opt_priority,
      "GnuTLS priority string", "STR" },
    { NULL },
};

static QCryptoTLSCreds *load_creds(QCryptoTLSCredsEndpoint endpoint,
                                   Error **errp)
{
    bool server = endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;

    if (opt_psk) {
        return qcrypto_tls_creds_psk_new(endpoint, opt_creds, opt_username,
                                         opt_priority, errp);
    }
    return qcrypto_tls_creds_x509_new(endpoint, opt_creds,
                                      server ? opt_verify_peer : true,
                                      opt_priority, errp);
}

typedef struct Handshake {
    bool done;
    Error *err;
} Handshake;

static void handshake_done(QIOTask *task, gpointer opaque)
{
    Handshake *hs = opaque;

    qio_task_propagate_error(task, &hs->err);
    hs->done = true;
}

/* Run the handshake on a blocking master: it completes in the call. */
static bool handshake(QIOChannelTLS *tioc, Error **errp)
{
    Handshake hs = { false, NULL };

    qio_channel_tls_handshake(tioc, handshake_done, &hs, NULL, NULL);
    while (!hs.done) {
        g_main_context_iteration(NULL, TRUE);
    }
    if (hs.err) {
        error_propagate(errp, hs.err);
        return false;
    }
    return true;
}

/* ---- serve -------------------------------------------------------------- */

static QIOChannelSocket *listen_loopback(Error **errp)
{
    g_autofree char *where = g_strdup_printf("127.0.0.1:%s", opt_port);
    g_autoptr(SocketAddress) addr = socket_parse(where, errp);
    g_autoptr(SocketAddress) local = NULL;
    QIOChannelSocket *lioc;

    if (!addr) {
        return NULL;
    }
    lioc = qio_channel_socket_new();
    if (qio_channel_socket_listen_sync(lioc, addr, 1, errp) < 0) {
        object_unref(lioc);
        return NULL;
    }
    local = qio_channel_socket_get_local_address(lioc, errp);
    if (!local) {
        object_unref(lioc);
        return NULL;
    }
    printf("port %s\n", local->u.inet.port);
    fflush(stdout);
    return lioc;
}

static bool echo(QIOChannel *ioc, Error **errp)
{
    g_autofree char *buf = g_malloc(65536);

    for (;;) {
        ssize_t n = qio_channel_read(ioc, buf, 65536, errp);

        if (n < 0) {
            return false;
        }
        if (n == 0) {
            return true;
        }
        if (qio_channel_write_all(ioc, buf, n, errp) < 0) {
            return false;
        }
    }
}

static bool serve(Error **errp)
{
    g_autoptr(QCryptoTLSCreds) creds =
        load_creds(QCRYPTO_TLS_CREDS_ENDPOINT_SERVER, errp);
    g_autoptr(QIOChannelSocket) lioc = NULL;
    g_autoptr(QIOChannelSocket) sioc = NULL;
    g_autoptr(QIOChannelTLS) tioc = NULL;

    if (!creds || !(lioc = listen_loopback(errp))) {
        return false;
    }
    sioc = qio_channel_socket_accept(lioc, errp);
    if (!sioc) {
        return false;
    }
    tioc = qio_channel_tls_new_server(QIO_CHANNEL(sioc), creds, NULL, errp);
    if (!tioc || !handshake(tioc, errp) || !echo(QIO_CHANNEL(tioc), errp)) {
        return false;
    }
    return qio_channel_close(QIO_CHANNEL(tioc), errp) == 0;
}

/* ---- connect ------------------------------------------------------------ */

typedef struct Reader {
    QIOChannel *ioc;
    Error *err;
} Reader;

static gpointer print_replies(gpointer opaque)
{
    Reader *r = opaque;
    char buf[65536];
    ssize_t n;

    while ((n = qio_channel_read(r->ioc, buf, sizeof(buf), &r->err)) > 0) {
        if (fwrite(buf, 1, n, stdout) != (size_t)n) {
            error_setg_errno(&r->err, errno, "cannot write standard output");
            break;
        }
    }
    fflush(stdout);
    return NULL;
}

static bool send_stdin(QIOChannel *ioc, Error **errp)
{
    char buf[65536];
    ssize_t n;

    while ((n = RETRY_ON_EINTR(read(STDIN_FILENO, buf, sizeof(buf)))) > 0) {
        if (qio_channel_write_all(ioc, buf, n, errp) < 0) {
            return false;
        }
    }
    if (n < 0) {
        error_setg_errno(errp, errno, "cannot read standard input");
        return false;
    }
    return qio_channel_shutdown(ioc, QIO_CHANNEL_SHUTDOWN_WRITE, errp) == 0;
}

static bool exchange(QIOChannel *ioc, Error **errp)
{
    Reader reader = { .ioc = ioc };
    GThread *thread = g_thread_new("reader", print_replies, &reader);
    bool ok = send_stdin(ioc, errp);

    if (!ok) {
        /* Wake the reader; its own error would only repeat ours. */
        qio_channel_shutdown(ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
    g_thread_join(thread);
    if (ok && reader.err) {
        error_propagate(errp, reader.err);
        return false;
    }
    error_free(reader.err);
    return ok;
}

static bool connect_to(const char *where, Error **errp)
{
    g_autoptr(QCryptoTLSCreds) creds = NULL;
    g_autoptr(SocketAddress) addr = socket_parse(where, errp);
    g_autoptr(QIOChannelSocket) sioc = NULL;
    g_autoptr(QIOChannelTLS) tioc = NULL;
    const char *hostname;

    if (!addr || addr->type != SOCKET_ADDRESS_TYPE_INET) {
        if (addr) {
            error_setg(errp, "'%s' is not a HOST:PORT address", where);
        }
        return false;
    }
    hostname = opt_hostname ? opt_hostname : addr->u.inet.host;
    creds = load_creds(QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT, errp);
    if (!creds) {
        return false;
    }
    sioc = qio_channel_socket_new();
    if (qio_channel_socket_connect_sync(sioc, addr, errp) < 0) {
        return false;
    }
    tioc = qio_channel_tls_new_client(QIO_CHANNEL(sioc), creds,
                                      opt_psk ? NULL : hostname, errp);
    if (!tioc || !handshake(tioc, errp) ||
        !exchange(QIO_CHANNEL(tioc), errp)) {
        return false;
    }
    return qio_channel_close(QIO_CHANNEL(tioc), errp) == 0;
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("serve | connect HOST:PORT");
    g_autoptr(GError) gerr = NULL;
    Error *err = NULL;
    bool ok;

    error_set_progname("tls-peer");
    g_option_context_add_main_entries(ctx, options, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr)) {
        error_report("%s", gerr->message);
        return 1;
    }
    if (!opt_creds || argc < 2 ||
        (strcmp(argv[1], "serve") == 0) != (argc == 2) ||
        (strcmp(argv[1], "connect") == 0) != (argc == 3)) {
        error_report("usage: tls-peer serve --creds DIR [--port N] | "
                     "connect HOST:PORT --creds DIR");
        return 1;
    }
    ok = argc == 2 ? serve(&err) : connect_to(argv[2], &err);
    if (!ok) {
        error_report_err(err);
        return 1;
    }
    return 0;
}
