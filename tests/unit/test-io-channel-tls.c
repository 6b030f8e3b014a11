/*
 * Tests for io/channel-tls.h: handshakes over UNIX socketpairs (X.509
 * with and without client certificates, hostname checks, untrusted,
 * expired and revoked certificates, PSK), bulk data in blocking and
 * coroutine modes, data buffered inside the TLS session, and peers that
 * misbehave (garbage instead of TLS, closing mid-transfer).
 *
 * The throw-away PKI (tls-cert-helpers.h) is made with certtool at
 * start-up; without certtool the X.509 tests skip.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-tls.h"
#include "io/channel-socket.h"
#include "io/channel-null.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "block/aio.h"
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include "tls-cert-helpers.h"

#define SERVER QCRYPTO_TLS_CREDS_ENDPOINT_SERVER
#define CLIENT QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT
#define BIG_SIZE (4 * 1024 * 1024)
#define KEY "00112233445566778899aabbccddeeff"

/* ---- credentials -------------------------------------------------------- */

static QCryptoTLSCreds *server_creds(bool verify)
{
    g_autofree char *dir = tls_test_server_dir();

    return qcrypto_tls_creds_x509_new(SERVER, dir, verify, NULL,
                                      &error_abort);
}

static QCryptoTLSCreds *client_creds(bool with_cert)
{
    g_autofree char *dir = with_cert
        ? tls_test_client_dir()
        : tls_test_make_dir("client-bare", "ca-cert.pem=ca-cert.pem", NULL);

    return qcrypto_tls_creds_x509_new(CLIENT, dir, true, NULL,
                                      &error_abort);
}

static QCryptoTLSCreds *psk_creds(QCryptoTLSCredsEndpoint ep,
                                  const char *key)
{
    g_autofree char *line = g_strdup_printf("alice:%s\n", key);
    g_autofree char *dir = tls_test_psk_dir(ep == SERVER ? "psk-s" : "psk-c",
                                                     line);

    return qcrypto_tls_creds_psk_new(ep, dir, "alice", NULL, &error_abort);
}

/* ---- a TLS connection over a socketpair --------------------------------- */

typedef struct Side {
    QIOChannelSocket *sock;
    QIOChannelTLS *tls;
    bool done;
    Error *err;
} Side;

typedef struct Conn {
    Side server, client;
} Conn;

static QIOChannel *chan(Side *side)
{
    return QIO_CHANNEL(side->tls);
}

/*
 * Open the two sides over non-blocking sockets.  The credentials are
 * consumed (the channels hold their own references).
 */
static void conn_open(Conn *c, QCryptoTLSCreds *screds,
                      QCryptoTLSCreds *ccreds, const char *hostname,
                      const char *aclname)
{
    int sv[2];

    memset(c, 0, sizeof(*c));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    c->server.sock = qio_channel_socket_new_fd(sv[0], &error_abort);
    c->client.sock = qio_channel_socket_new_fd(sv[1], &error_abort);
    qio_channel_set_blocking(QIO_CHANNEL(c->server.sock), false,
                             &error_abort);
    qio_channel_set_blocking(QIO_CHANNEL(c->client.sock), false,
                             &error_abort);
    c->server.tls = qio_channel_tls_new_server(QIO_CHANNEL(c->server.sock),
                                               screds, aclname,
                                               &error_abort);
    c->client.tls = qio_channel_tls_new_client(QIO_CHANNEL(c->client.sock),
                                               ccreds, hostname,
                                               &error_abort);
    qcrypto_tls_creds_unref(screds);
    qcrypto_tls_creds_unref(ccreds);
}

static void conn_close(Conn *c)
{
    object_unref(c->server.tls);
    object_unref(c->client.tls);
    object_unref(c->server.sock);
    object_unref(c->client.sock);
    error_free(c->server.err);
    error_free(c->client.err);
}

static void handshake_done(QIOTask *task, gpointer opaque)
{
    Side *side = opaque;

    g_assert_true(qio_task_get_source(task) == OBJECT(side->tls));
    side->done = true;
    if (qio_task_propagate_error(task, &side->err)) {
        /* Let the peer see the end rather than wait for us. */
        qio_channel_shutdown(QIO_CHANNEL(side->sock),
                             QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
}

/* Run both handshakes in the default GMainContext until both end. */
static bool conn_handshake(Conn *c)
{
    qio_channel_tls_handshake(c->server.tls, handshake_done, &c->server,
                              NULL, NULL);
    qio_channel_tls_handshake(c->client.tls, handshake_done, &c->client,
                              NULL, NULL);
    while (!c->server.done || !c->client.done) {
        g_main_context_iteration(NULL, TRUE);
    }
    return !c->server.err && !c->client.err;
}

/* A connection with a completed handshake (PSK: needs no certtool). */
static void conn_ready(Conn *c)
{
    conn_open(c, psk_creds(SERVER, "0123456789abcdef"),
              psk_creds(CLIENT, "0123456789abcdef"), NULL, NULL);
    g_assert_true(conn_handshake(c));
}

/* ---- handshakes --------------------------------------------------------- */

static void test_x509_client_cert(void)
{
    g_autofree char *peer = NULL;
    Conn c;

    if (tls_test_skip_without_pki()) {
        return;
    }
    conn_open(&c, server_creds(true), client_creds(true), "localhost",
              "*CN=spindle-client*");
    g_assert_true(qio_channel_has_feature(chan(&c.client),
                                          QIO_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_true(conn_handshake(&c));
    peer = qcrypto_tls_session_get_peer_name(
        qio_channel_tls_get_session(c.server.tls));
    g_assert_nonnull(strstr(peer, "CN=spindle-client"));
    conn_close(&c);
}

static void test_x509_no_client_cert(void)
{
    Conn c;

    if (tls_test_skip_without_pki()) {
        return;
    }
    /* A server that does not verify clients takes one without a cert. */
    conn_open(&c, server_creds(false), client_creds(false), "127.0.0.1",
              NULL);
    g_assert_true(conn_handshake(&c));
    conn_close(&c);

    /* One that does refuses it. */
    conn_open(&c, server_creds(true), client_creds(false), "localhost",
              NULL);
    g_assert_false(conn_handshake(&c));
    g_test_message("server: %s", error_get_pretty(c.server.err));
    g_assert_nonnull(strstr(error_get_pretty(c.server.err),
                            "TLS handshake failed"));
    conn_close(&c);
}

static void test_x509_hostname_mismatch(void)
{
    Conn c;

    if (tls_test_skip_without_pki()) {
        return;
    }
    conn_open(&c, server_creds(false), client_creds(false), "other.example",
              NULL);
    g_assert_false(conn_handshake(&c));
    tls_test_assert_error(g_steal_pointer(&c.client.err),
                          "does not match hostname 'other.example'");
    conn_close(&c);
}

static void test_x509_untrusted(void)
{
    g_autofree char *dir = NULL;
    Conn c;

    if (tls_test_skip_without_pki()) {
        return;
    }
    dir = tls_test_make_dir("rogue", "ca-cert.pem=rogue-cert.pem",
                            "server-cert.pem=rogue-server-cert.pem",
                            "server-key.pem=rogue-server-key.pem", NULL);
    conn_open(&c, qcrypto_tls_creds_x509_new(SERVER, dir, false, NULL,
                                             &error_abort),
              client_creds(false), "localhost", NULL);
    g_assert_false(conn_handshake(&c));
    tls_test_assert_error(g_steal_pointer(&c.client.err),
                          "it is not signed by a trusted CA");
    /* The client's alert tells the server why it was dropped. */
    g_assert_nonnull(c.server.err);
    conn_close(&c);
}

static void test_x509_revoked(void)
{
    g_autofree char *dir = NULL;
    Conn c;

    if (tls_test_skip_without_pki()) {
        return;
    }
    dir = tls_test_make_dir("server-crl", "ca-cert.pem=ca-cert.pem",
                            "server-cert.pem=server-cert.pem",
                            "server-key.pem=server-key.pem",
                            "ca-crl.pem=ca-crl.pem", NULL);
    conn_open(&c, qcrypto_tls_creds_x509_new(SERVER, dir, true, NULL,
                                             &error_abort),
              client_creds(true), "localhost", NULL);
    g_assert_false(conn_handshake(&c));
    tls_test_assert_error(g_steal_pointer(&c.server.err),
                          "it has been revoked");
    conn_close(&c);
}

/*
 * A TLS server played by GnuTLS directly, in a thread, on a blocking
 * fd: for peers our own loader would refuse (an expired certificate) and
 * for behaviour our server does not show (TLS 1.3 session tickets).
 */
typedef struct RawServer {
    int fd;
    const char *name;        /* uses @name-cert.pem and @name-key.pem */
    bool tickets;            /* send session tickets after the handshake */
    const char *greeting;    /* sent after the handshake, if non-NULL */
    GThread *thread;
} RawServer;

static gpointer raw_server_run(gpointer opaque)
{
    RawServer *rs = opaque;
    g_autofree char *c = g_strdup_printf("%s-cert.pem", rs->name);
    g_autofree char *k = g_strdup_printf("%s-key.pem", rs->name);
    g_autofree char *cert = tls_test_pki_file(c), *key = tls_test_pki_file(k);
    gnutls_certificate_credentials_t cred;
    gnutls_datum_t ticket_key = { NULL, 0 };
    gnutls_session_t sess;
    char buf[16];

    g_assert_cmpint(gnutls_certificate_allocate_credentials(&cred), ==, 0);
    g_assert_cmpint(gnutls_certificate_set_x509_key_file(
                        cred, cert, key, GNUTLS_X509_FMT_PEM), ==, 0);
    gnutls_init(&sess, GNUTLS_SERVER);
    gnutls_set_default_priority(sess);
    gnutls_credentials_set(sess, GNUTLS_CRD_CERTIFICATE, cred);
    if (rs->tickets) {
        gnutls_session_ticket_key_generate(&ticket_key);
        gnutls_session_ticket_enable_server(sess, &ticket_key);
    }
    gnutls_transport_set_int(sess, rs->fd);
    /* A failing client may or may not let the handshake finish here;
     * either way we then wait for it to go away. */
    if (gnutls_handshake(sess) == 0) {
        if (rs->greeting) {
            gnutls_record_send(sess, rs->greeting, strlen(rs->greeting));
        }
        while (gnutls_record_recv(sess, buf, sizeof(buf)) > 0) {
            continue;
        }
    }
    gnutls_deinit(sess);
    gnutls_free(ticket_key.data);
    gnutls_certificate_free_credentials(cred);
    close(rs->fd);
    return NULL;
}

/* Start @rs and return our client side, handshake not yet run. */
static Side raw_server_start(RawServer *rs, bool blocking)
{
    QCryptoTLSCreds *creds = client_creds(false);
    Side client = { 0 };
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    rs->fd = sv[0];
    rs->thread = g_thread_new("raw-server", raw_server_run, rs);
    client.sock = qio_channel_socket_new_fd(sv[1], &error_abort);
    qio_channel_set_blocking(QIO_CHANNEL(client.sock), blocking,
                             &error_abort);
    client.tls = qio_channel_tls_new_client(QIO_CHANNEL(client.sock), creds,
                                            "localhost", &error_abort);
    qcrypto_tls_creds_unref(creds);
    qio_channel_tls_handshake(client.tls, handshake_done, &client, NULL,
                              NULL);
    while (!client.done) {
        g_main_context_iteration(NULL, TRUE);
    }
    return client;
}

static void raw_server_stop(RawServer *rs, Side *client)
{
    qio_channel_close(QIO_CHANNEL(client->tls), NULL);
    g_thread_join(rs->thread);
    object_unref(client->tls);
    object_unref(client->sock);
}

static void test_x509_expired_peer(void)
{
    RawServer rs = { .name = "expired" };
    Side client;

    if (tls_test_skip_without_pki()) {
        return;
    }
    client = raw_server_start(&rs, false);
    tls_test_assert_error(client.err, "it has expired");
    raw_server_stop(&rs, &client);
}

/*
 * A TLS 1.3 session ticket arriving before the data makes GnuTLS report
 * "again" once without the socket blocking; a blocking read must not
 * pass that on.
 */
static void test_session_ticket_blocking_read(void)
{
    RawServer rs = { .name = "server", .tickets = true,
                     .greeting = "hello" };
    Side client;
    char buf[16];

    if (tls_test_skip_without_pki()) {
        return;
    }
    client = raw_server_start(&rs, true);
    g_assert_null(client.err);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(client.tls), buf,
                                     sizeof(buf), &error_abort), ==, 5);
    g_assert_cmpmem(buf, 5, "hello", 5);
    raw_server_stop(&rs, &client);
}

static void test_psk(void)
{
    g_autofree char *peer = NULL;
    Conn c;

    conn_open(&c, psk_creds(SERVER, KEY),
              psk_creds(CLIENT, KEY), NULL,
              "alice");
    g_assert_true(conn_handshake(&c));
    peer = qcrypto_tls_session_get_peer_name(
        qio_channel_tls_get_session(c.server.tls));
    g_assert_cmpstr(peer, ==, "alice");
    conn_close(&c);
}

static void test_psk_wrong_key(void)
{
    Conn c;

    conn_open(&c, psk_creds(SERVER, KEY),
              psk_creds(CLIENT, "ffeeddccbbaa99887766554433221100"), NULL,
              NULL);
    g_assert_false(conn_handshake(&c));
    tls_test_assert_error(g_steal_pointer(&c.server.err),
                          "TLS handshake failed");
    conn_close(&c);
}

static void test_garbage(void)
{
    QCryptoTLSCreds *creds;
    QIOChannelSocket *sock;
    Side server = { 0 };
    guint8 junk[1024];
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = g_test_rand_int_range(0, 256);
    }
    /* Whatever the junk looks like, the end of file settles it. */
    g_assert_cmpint(write(sv[1], junk, sizeof(junk)), ==, sizeof(junk));
    shutdown(sv[1], SHUT_WR);
    sock = qio_channel_socket_new_fd(sv[0], &error_abort);
    qio_channel_set_blocking(QIO_CHANNEL(sock), false, &error_abort);
    server.sock = sock;
    creds = psk_creds(SERVER, KEY);
    server.tls = qio_channel_tls_new_server(QIO_CHANNEL(sock), creds, NULL,
                                            &error_abort);
    qcrypto_tls_creds_unref(creds);
    qio_channel_tls_handshake(server.tls, handshake_done, &server, NULL,
                              NULL);
    while (!server.done) {
        g_main_context_iteration(NULL, TRUE);
    }
    tls_test_assert_error(server.err, "TLS handshake failed: ");
    object_unref(server.tls);
    object_unref(sock);
    close(sv[1]);
}

static void test_close_during_handshake(void)
{
    Conn c;

    conn_open(&c, psk_creds(SERVER, KEY), psk_creds(CLIENT, KEY),
              NULL, NULL);
    /* The server waits for a hello that never comes. */
    qio_channel_tls_handshake(c.server.tls, handshake_done, &c.server, NULL,
                              NULL);
    g_assert_false(c.server.done);
    qio_channel_close(chan(&c.server), &error_abort);
    g_assert_true(c.server.done);
    tls_test_assert_error(g_steal_pointer(&c.server.err), "closed during the "
                          "handshake");
    conn_close(&c);
}

static void test_new_wrong_endpoint(void)
{
    QCryptoTLSCreds *creds = psk_creds(CLIENT, KEY);
    QIOChannelSocket *a, *b;
    Error *err = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    a = qio_channel_socket_new_fd(sv[0], &error_abort);
    b = qio_channel_socket_new_fd(sv[1], &error_abort);
    g_assert_null(qio_channel_tls_new_server(QIO_CHANNEL(a), creds, NULL,
                                             &err));
    tls_test_assert_error(err, "client side, not the server");
    qcrypto_tls_creds_unref(creds);
    object_unref(a);
    object_unref(b);
}

/* A master without shutdown: the TLS channel has none either. */
static void test_shutdown_unsupported(void)
{
    QIOChannelNull *null = qio_channel_null_new();
    QCryptoTLSCreds *creds = psk_creds(CLIENT, KEY);
    QIOChannelTLS *tioc = qio_channel_tls_new_client(QIO_CHANNEL(null),
                                                     creds, NULL,
                                                     &error_abort);
    Error *err = NULL;

    g_assert_false(qio_channel_has_feature(QIO_CHANNEL(tioc),
                                           QIO_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_cmpint(qio_channel_shutdown(QIO_CHANNEL(tioc),
                                         QIO_CHANNEL_SHUTDOWN_BOTH, &err),
                    ==, -1);
    tls_test_assert_error(err, "does not support shutdown");
    object_unref(tioc);
    object_unref(null);
    qcrypto_tls_creds_unref(creds);
}

/* ---- bulk data ---------------------------------------------------------- */

static guint8 *pattern(size_t len)
{
    guint8 *buf = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        buf[i] = (i * 7 + i / 4096) & 0xff;
    }
    return buf;
}

/* Four unequal pieces covering @buf. */
static void split_iov(guint8 *buf, size_t len, struct iovec iov[4])
{
    size_t cut[5] = { 0, 1, len / 3, len - 17, len };

    for (int i = 0; i < 4; i++) {
        iov[i].iov_base = buf + cut[i];
        iov[i].iov_len = cut[i + 1] - cut[i];
    }
}

static gpointer bulk_writer(gpointer opaque)
{
    QIOChannel *ioc = opaque;
    g_autofree guint8 *data = pattern(BIG_SIZE);
    struct iovec iov[4];

    split_iov(data, BIG_SIZE, iov);
    g_assert_cmpint(qio_channel_writev_all(ioc, iov, 4, &error_abort), ==,
                    0);
    return NULL;
}

static void test_data_blocking(void)
{
    g_autofree guint8 *want = pattern(BIG_SIZE);
    g_autofree guint8 *got = g_malloc0(BIG_SIZE);
    struct iovec iov[4];
    GThread *writer;
    Conn c;

    conn_ready(&c);
    qio_channel_set_blocking(chan(&c.server), true, &error_abort);
    qio_channel_set_blocking(chan(&c.client), true, &error_abort);
    writer = g_thread_new("writer", bulk_writer, chan(&c.client));
    split_iov(got, BIG_SIZE, iov);
    g_assert_cmpint(qio_channel_readv_all(chan(&c.server), iov, 4,
                                          &error_abort), ==, 0);
    g_thread_join(writer);
    g_assert_cmpmem(got, BIG_SIZE, want, BIG_SIZE);
    conn_close(&c);
}

typedef struct CoData {
    QIOChannel *ioc;
    guint8 *buf;
    int ret;
    bool done;
} CoData;

static void coroutine_fn co_write(void *opaque)
{
    CoData *d = opaque;
    struct iovec iov[4];

    split_iov(d->buf, BIG_SIZE, iov);
    d->ret = qio_channel_writev_all(d->ioc, iov, 4, &error_abort);
    d->done = true;
}

static void coroutine_fn co_read(void *opaque)
{
    CoData *d = opaque;
    struct iovec iov[4];

    split_iov(d->buf, BIG_SIZE, iov);
    d->ret = qio_channel_readv_all(d->ioc, iov, 4, &error_abort);
    d->done = true;
}

static void test_data_coroutine(void)
{
    AioContext *ctx = qemu_get_aio_context();
    g_autofree guint8 *want = pattern(BIG_SIZE);
    CoData w = { .buf = want }, r = { .buf = g_malloc0(BIG_SIZE) };
    Conn c;

    conn_ready(&c);
    w.ioc = chan(&c.client);
    r.ioc = chan(&c.server);
    qemu_coroutine_enter(qemu_coroutine_create(co_read, &r));
    qemu_coroutine_enter(qemu_coroutine_create(co_write, &w));
    while (!w.done || !r.done) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(w.ret, ==, 0);
    g_assert_cmpint(r.ret, ==, 0);
    g_assert_cmpmem(r.buf, BIG_SIZE, want, BIG_SIZE);
    g_free(r.buf);
    conn_close(&c);
}

/* ---- data buffered inside the session ----------------------------------- */

#define RECORDS 64
#define RECORD_SIZE 100
#define CHUNK 7

/* Send RECORDS separate records, then leave the socket idle. */
static guint8 *send_records(Conn *c)
{
    guint8 *data = pattern(RECORDS * RECORD_SIZE);

    for (int i = 0; i < RECORDS; i++) {
        g_assert_cmpint(qio_channel_write_all(chan(&c->client),
                                              (char *)data + i * RECORD_SIZE,
                                              RECORD_SIZE, &error_abort),
                        ==, 0);
    }
    return data;
}

typedef struct Trickle {
    QIOChannel *ioc;
    guint8 buf[RECORDS * RECORD_SIZE];
    size_t got;
} Trickle;

/* Read at most CHUNK bytes; true when everything has arrived. */
static bool trickle_step(Trickle *t)
{
    size_t want = MIN(CHUNK, sizeof(t->buf) - t->got);
    ssize_t n = qio_channel_read(t->ioc, (char *)t->buf + t->got, want,
                                 &error_abort);

    if (n != QIO_CHANNEL_ERR_BLOCK) {
        g_assert_cmpint(n, >, 0);
        t->got += n;
    }
    return t->got == sizeof(t->buf);
}

static void coroutine_fn co_trickle(void *opaque)
{
    Trickle *t = opaque;

    /* Wait first, read after: a wait that ignored the bytes inside
     * the session would hang at the last record. */
    do {
        qio_channel_yield(t->ioc, G_IO_IN);
    } while (!trickle_step(t));
}

static void test_pending_yield(void)
{
    AioContext *ctx = qemu_get_aio_context();
    g_autofree guint8 *want = NULL;
    g_autofree Trickle *t = g_new0(Trickle, 1);
    Coroutine *co;
    Conn c;

    conn_ready(&c);
    want = send_records(&c);
    t->ioc = chan(&c.server);
    co = qemu_coroutine_create(co_trickle, t);
    qemu_coroutine_enter(co);
    while (t->got < sizeof(t->buf)) {
        aio_poll(ctx, true);
    }
    g_assert_cmpmem(t->buf, sizeof(t->buf), want, sizeof(t->buf));
    /* Nothing is left behind: the next read would block. */
    g_assert_cmpint(qcrypto_tls_session_check_pending(
                        qio_channel_tls_get_session(c.server.tls)), ==, 0);
    conn_close(&c);
}

static gboolean trickle_watch(QIOChannel *ioc, GIOCondition cond,
                              gpointer opaque)
{
    Trickle *t = opaque;

    g_assert_true(ioc == t->ioc);
    g_assert_cmpint(cond, ==, G_IO_IN);
    return trickle_step(t) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void test_pending_watch(void)
{
    g_autofree guint8 *want = NULL;
    g_autofree Trickle *t = g_new0(Trickle, 1);
    Conn c;

    conn_ready(&c);
    want = send_records(&c);
    t->ioc = chan(&c.server);
    qio_channel_set_name(t->ioc, "tls-trickle");
    qio_channel_add_watch(t->ioc, G_IO_IN, trickle_watch, t, NULL);
    while (t->got < sizeof(t->buf)) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpmem(t->buf, sizeof(t->buf), want, sizeof(t->buf));
    conn_close(&c);
}

/* ---- ending a connection ------------------------------------------------ */

static void test_clean_close(void)
{
    char buf[16];
    Conn c;

    conn_ready(&c);
    qio_channel_set_blocking(chan(&c.server), true, &error_abort);
    g_assert_cmpint(qio_channel_close(chan(&c.client), &error_abort), ==, 0);
    /* close_notify went out: a clean end of file before any data. */
    g_assert_cmpint(qio_channel_read_all_eof(chan(&c.server), buf,
                                             sizeof(buf), &error_abort),
                    ==, 0);
    conn_close(&c);
}

static void test_half_close(void)
{
    char buf[4];
    Conn c;

    conn_ready(&c);
    qio_channel_set_blocking(chan(&c.server), true, &error_abort);
    qio_channel_set_blocking(chan(&c.client), true, &error_abort);
    g_assert_cmpint(qio_channel_write_all(chan(&c.client), "ping", 4,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_shutdown(chan(&c.client),
                                         QIO_CHANNEL_SHUTDOWN_WRITE,
                                         &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(chan(&c.server), buf, 4,
                                         &error_abort), ==, 0);
    g_assert_cmpmem(buf, 4, "ping", 4);
    g_assert_cmpint(qio_channel_read(chan(&c.server), buf, 4, &error_abort),
                    ==, 0);
    /* The other direction still works. */
    g_assert_cmpint(qio_channel_write_all(chan(&c.server), "pong", 4,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(chan(&c.client), buf, 4,
                                         &error_abort), ==, 0);
    g_assert_cmpmem(buf, 4, "pong", 4);
    conn_close(&c);
}

static void test_peer_closes_mid_transfer(void)
{
    char buf[4096];
    Error *err = NULL;
    Conn c;

    conn_ready(&c);
    qio_channel_set_blocking(chan(&c.server), true, &error_abort);
    qio_channel_set_blocking(chan(&c.client), true, &error_abort);
    memset(buf, 'z', sizeof(buf));
    g_assert_cmpint(qio_channel_write_all(chan(&c.client), buf, 1000,
                                          &error_abort), ==, 0);
    /* The client vanishes without close_notify. */
    qio_channel_close(QIO_CHANNEL(c.client.sock), &error_abort);
    g_assert_cmpint(qio_channel_read_all(chan(&c.server), buf, sizeof(buf),
                                         &err), ==, -1);
    tls_test_assert_error(err, "without close_notify");
    conn_close(&c);
}

static void test_shutdown_read_is_eof(void)
{
    char buf[4];
    Conn c;

    conn_ready(&c);
    qio_channel_set_blocking(chan(&c.server), true, &error_abort);
    g_assert_cmpint(qio_channel_shutdown(chan(&c.server),
                                         QIO_CHANNEL_SHUTDOWN_READ,
                                         &error_abort), ==, 0);
    /* Our own shutdown is a plain end of file, not a truncation. */
    g_assert_cmpint(qio_channel_read(chan(&c.server), buf, 4, &error_abort),
                    ==, 0);
    conn_close(&c);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    tls_test_init("spindle-tls-chan-XXXXXX");

    g_test_add_func("/io/channel/tls/x509/client-cert",
                    test_x509_client_cert);
    g_test_add_func("/io/channel/tls/x509/no-client-cert",
                    test_x509_no_client_cert);
    g_test_add_func("/io/channel/tls/x509/hostname-mismatch",
                    test_x509_hostname_mismatch);
    g_test_add_func("/io/channel/tls/x509/untrusted", test_x509_untrusted);
    g_test_add_func("/io/channel/tls/x509/revoked", test_x509_revoked);
    g_test_add_func("/io/channel/tls/x509/expired-peer",
                    test_x509_expired_peer);
    g_test_add_func("/io/channel/tls/x509/session-ticket",
                    test_session_ticket_blocking_read);
    g_test_add_func("/io/channel/tls/psk/ok", test_psk);
    g_test_add_func("/io/channel/tls/psk/wrong-key", test_psk_wrong_key);
    g_test_add_func("/io/channel/tls/handshake/garbage", test_garbage);
    g_test_add_func("/io/channel/tls/handshake/close",
                    test_close_during_handshake);
    g_test_add_func("/io/channel/tls/new/wrong-endpoint",
                    test_new_wrong_endpoint);
    g_test_add_func("/io/channel/tls/new/shutdown-unsupported",
                    test_shutdown_unsupported);
    g_test_add_func("/io/channel/tls/data/blocking", test_data_blocking);
    g_test_add_func("/io/channel/tls/data/coroutine", test_data_coroutine);
    g_test_add_func("/io/channel/tls/pending/yield", test_pending_yield);
    g_test_add_func("/io/channel/tls/pending/watch", test_pending_watch);
    g_test_add_func("/io/channel/tls/end/clean-close", test_clean_close);
    g_test_add_func("/io/channel/tls/end/half-close", test_half_close);
    g_test_add_func("/io/channel/tls/end/peer-closes-mid-transfer",
                    test_peer_closes_mid_transfer);
    g_test_add_func("/io/channel/tls/end/shutdown-read",
                    test_shutdown_read_is_eof);
    ret = g_test_run();
    tls_test_cleanup();
    return ret;
}
