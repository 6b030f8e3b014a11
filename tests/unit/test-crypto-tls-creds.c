/*
 * Tests for crypto/tlscreds.h and crypto/tlssession.h: loading X.509,
 * PSK and anonymous credentials from a directory, and driving TLS
 * sessions against each other over an in-memory transport.
 *
 * The throw-away PKI (tls-cert-helpers.h) is made with certtool at
 * start-up; without certtool the X.509 tests skip.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlscreds.h"
#include "crypto/tlssession.h"
#include "tls-cert-helpers.h"

#define SERVER QCRYPTO_TLS_CREDS_ENDPOINT_SERVER
#define CLIENT QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT

/* ---- X.509 credentials -------------------------------------------------- */

static void test_x509_server(void)
{
    g_autofree char *dir = NULL;
    QCryptoTLSCreds *creds;

    if (tls_test_skip_without_pki()) {
        return;
    }
    dir = tls_test_server_dir();
    creds = qcrypto_tls_creds_x509_new(SERVER, dir, true, NULL,
                                       &error_abort);
    g_assert_true(object_dynamic_cast(OBJECT(creds),
                                      TYPE_QCRYPTO_TLS_CREDS_X509));
    g_assert_cmpint(qcrypto_tls_creds_get_endpoint(creds), ==, SERVER);
    g_assert_cmpstr(qcrypto_tls_creds_get_dir(creds), ==, dir);
    g_assert_cmpstr(qcrypto_tls_creds_get_priority(creds), ==, "NORMAL");
    g_assert_true(qcrypto_tls_creds_get_verify_peer(creds));
    g_assert_null(qcrypto_tls_creds_get_username(creds));
    g_assert_true(qcrypto_tls_creds_check_endpoint(creds, SERVER, NULL));
    qcrypto_tls_creds_unref(creds);
}

static void test_x509_client(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *bare = NULL;
    QCryptoTLSCreds *creds;

    if (tls_test_skip_without_pki()) {
        return;
    }
    dir = tls_test_client_dir();
    creds = qcrypto_tls_creds_x509_new(CLIENT, dir, false, "SECURE256",
                                       &error_abort);
    g_assert_cmpstr(qcrypto_tls_creds_get_priority(creds), ==, "SECURE256");
    g_assert_false(qcrypto_tls_creds_get_verify_peer(creds));
    qcrypto_tls_creds_unref(creds);

    /* A client certificate is optional. */
    bare = tls_test_make_dir("client-bare", "ca-cert.pem=ca-cert.pem", NULL);
    creds = qcrypto_tls_creds_x509_new(CLIENT, bare, true, NULL,
                                       &error_abort);
    qcrypto_tls_creds_unref(creds);
}

static void test_x509_missing_files(void)
{
    g_autofree char *nokey = NULL;
    g_autofree char *noca = NULL;
    g_autofree char *halfclient = NULL;
    Error *err = NULL;

    if (tls_test_skip_without_pki()) {
        return;
    }
    nokey = tls_test_make_dir("nokey", "ca-cert.pem=ca-cert.pem",
                              "server-cert.pem=server-cert.pem", NULL);
    g_assert_null(qcrypto_tls_creds_x509_new(SERVER, nokey, true, NULL,
                                             &err));
    tls_test_assert_error(err, "server-key.pem': No such file or directory");

    noca = tls_test_make_dir("noca", "client-cert.pem=client-cert.pem",
                             "client-key.pem=client-key.pem", NULL);
    err = NULL;
    g_assert_null(qcrypto_tls_creds_x509_new(CLIENT, noca, true, NULL,
                                             &err));
    tls_test_assert_error(err, "ca-cert.pem");

    /* A client certificate without its key is a mistake. */
    halfclient = tls_test_make_dir("halfclient", "ca-cert.pem=ca-cert.pem",
                                   "client-cert.pem=client-cert.pem", NULL);
    err = NULL;
    g_assert_null(qcrypto_tls_creds_x509_new(CLIENT, halfclient, true, NULL,
                                             &err));
    tls_test_assert_error(err, "client-key.pem");

    err = NULL;
    g_assert_null(qcrypto_tls_creds_x509_new(SERVER, NULL, true, NULL,
                                             &err));
    tls_test_assert_error(err, "directory");
}

static void test_x509_bad_files(void)
{
    g_autofree char *garbage = NULL;
    g_autofree char *path = NULL;
    Error *err = NULL;

    if (tls_test_skip_without_pki()) {
        return;
    }
    garbage = tls_test_make_dir("garbage", "ca-cert.pem=ca.tmpl",
                                "server-cert.pem=server-cert.pem",
                                "server-key.pem=server-key.pem", NULL);
    g_assert_null(qcrypto_tls_creds_x509_new(SERVER, garbage, true, NULL,
                                             &err));
    tls_test_assert_error(err, "ca-cert.pem");

    /* A directory where a file should be cannot be read as one. */
    path = g_build_filename(tls_test_workdir(), "dirca", "ca-cert.pem",
                            NULL);
    g_assert_cmpint(g_mkdir_with_parents(path, 0700), ==, 0);
    g_free(path);
    path = g_build_filename(tls_test_workdir(), "dirca", NULL);
    err = NULL;
    g_assert_null(qcrypto_tls_creds_x509_new(CLIENT, path, true, NULL,
                                             &err));
    tls_test_assert_error(err, "ca-cert.pem");
}

static void test_x509_bad_certs(void)
{
    g_autofree char *expired = NULL;
    g_autofree char *rogue = NULL;
    g_autofree char *mismatch = NULL;
    Error *err = NULL;

    if (tls_test_skip_without_pki()) {
        return;
    }
    expired = tls_test_make_dir("expired", "ca-cert.pem=ca-cert.pem",
                                "server-cert.pem=expired-cert.pem",
                                "server-key.pem=expired-key.pem", NULL);
    g_assert_null(qcrypto_tls_creds_x509_new(SERVER, expired, true, NULL,
                                             &err));
    tls_test_assert_error(err, "server-cert.pem' has expired");

    rogue = tls_test_make_dir("rogue", "ca-cert.pem=ca-cert.pem",
                              "server-cert.pem=rogue-server-cert.pem",
                              "server-key.pem=rogue-server-key.pem", NULL);
    err = NULL;
    g_assert_null(qcrypto_tls_creds_x509_new(SERVER, rogue, true, NULL,
                                             &err));
    tls_test_assert_error(err, "is not signed by the CA");

    mismatch = tls_test_make_dir("mismatch", "ca-cert.pem=ca-cert.pem",
                                 "server-cert.pem=server-cert.pem",
                                 "server-key.pem=client-key.pem", NULL);
    err = NULL;
    g_assert_null(qcrypto_tls_creds_x509_new(SERVER, mismatch, true, NULL,
                                             &err));
    tls_test_assert_error(err, "server-key.pem");
}

static void test_x509_optional_files(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *bad = NULL;
    QCryptoTLSCreds *creds;
    Error *err = NULL;

    if (tls_test_skip_without_pki()) {
        return;
    }
    dir = tls_test_make_dir("dh", "ca-cert.pem=ca-cert.pem",
                            "server-cert.pem=server-cert.pem",
                            "server-key.pem=server-key.pem",
                            "dh-params.pem=dh-params.pem", NULL);
    creds = qcrypto_tls_creds_x509_new(SERVER, dir, false, NULL,
                                       &error_abort);
    qcrypto_tls_creds_unref(creds);

    bad = tls_test_make_dir("baddh", "ca-cert.pem=ca-cert.pem",
                            "server-cert.pem=server-cert.pem",
                            "server-key.pem=server-key.pem",
                            "dh-params.pem=ca.tmpl", "ca-crl.pem=ca.tmpl",
                            NULL);
    g_assert_null(qcrypto_tls_creds_x509_new(SERVER, bad, false, NULL,
                                             &err));
    /* The CRL is loaded first and is garbage too. */
    tls_test_assert_error(err, "ca-crl.pem");
}

static void test_bad_priority(void)
{
    Error *err = NULL;

    g_assert_null(qcrypto_tls_creds_anon_new(SERVER, NULL,
                                             "NORMAL:+NO-SUCH-THING", &err));
    tls_test_assert_error(err, "NO-SUCH-THING");
}

static void test_endpoint_and_refs(void)
{
    QCryptoTLSCreds *creds = qcrypto_tls_creds_anon_new(CLIENT, NULL, NULL,
                                                        &error_abort);
    Error *err = NULL;

    g_assert_true(object_dynamic_cast(OBJECT(creds),
                                      TYPE_QCRYPTO_TLS_CREDS_ANON));
    g_assert_false(qcrypto_tls_creds_check_endpoint(creds, SERVER, &err));
    tls_test_assert_error(err, "client side");
    g_assert_true(qcrypto_tls_creds_ref(creds) == creds);
    qcrypto_tls_creds_unref(creds);
    /* Still alive after dropping the extra reference. */
    g_assert_true(qcrypto_tls_creds_check_endpoint(creds, CLIENT, NULL));
    qcrypto_tls_creds_unref(creds);
    qcrypto_tls_creds_unref(NULL);
}

/* ---- PSK credentials ---------------------------------------------------- */

static void test_psk_load(void)
{
    g_autofree char *dir = tls_test_psk_dir("psk",
                                            "alice:0123456789abcdef\r\n\n"
                                            "bob:DEADBEEF\n");
    QCryptoTLSCreds *creds;
    Error *err = NULL;

    creds = qcrypto_tls_creds_psk_new(SERVER, dir, NULL, NULL, &error_abort);
    g_assert_true(object_dynamic_cast(OBJECT(creds),
                                      TYPE_QCRYPTO_TLS_CREDS_PSK));
    g_assert_null(qcrypto_tls_creds_get_username(creds));
    qcrypto_tls_creds_unref(creds);

    creds = qcrypto_tls_creds_psk_new(CLIENT, dir, "bob", NULL, &error_abort);
    g_assert_cmpstr(qcrypto_tls_creds_get_username(creds), ==, "bob");
    qcrypto_tls_creds_unref(creds);

    /* The default identity is "qemu", which this file lacks. */
    g_assert_null(qcrypto_tls_creds_psk_new(CLIENT, dir, NULL, NULL, &err));
    tls_test_assert_error(err, "no key for user 'qemu'");
}

static void check_malformed(const char *contents, const char *needle)
{
    g_autofree char *dir = tls_test_psk_dir("badpsk", contents);
    Error *err = NULL;

    g_assert_null(qcrypto_tls_creds_psk_new(SERVER, dir, NULL, NULL, &err));
    tls_test_assert_error(err, needle);
}

static void test_psk_malformed(void)
{
    check_malformed("alice:00\nnocolon\n", "keys.psk' line 2: expected");
    check_malformed(":00ff\n", "line 1: expected 'username:hexkey'");
    check_malformed("alice:abc\n", "line 1: the key of user 'alice'");
    check_malformed("alice:zz\n", "is not an even number of hex digits");
    check_malformed("alice:\n", "the key of user 'alice'");
    check_malformed("\n\n", "holds no keys");
}

static void test_psk_missing(void)
{
    g_autofree char *dir = g_build_filename(tls_test_workdir(), "nopsk",
                                            NULL);
    Error *err = NULL;

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_null(qcrypto_tls_creds_psk_new(CLIENT, dir, "x", NULL, &err));
    tls_test_assert_error(err, "keys.psk': No such file or directory");
}

/* ---- sessions over an in-memory transport ------------------------------- */

/* One direction of the in-memory wire. */
typedef struct Wire {
    GByteArray *data;
    bool closed;       /* writer is gone: reads see end of file */
    bool fail;         /* the next transfer fails with an Error */
} Wire;

/* One end: writes go to @out, reads come from @in. */
typedef struct End {
    Wire *in;
    Wire *out;
} End;

typedef struct Pair {
    Wire c2s, s2c;
    End client_end, server_end;
    QCryptoTLSSession *client, *server;
} Pair;

static ssize_t wire_write(const char *buf, size_t len, void *opaque,
                          Error **errp)
{
    End *end = opaque;

    if (end->out->fail) {
        error_setg(errp, "wire cut");
        return -1;
    }
    g_byte_array_append(end->out->data, (const guint8 *)buf, len);
    return len;
}

static ssize_t wire_read(char *buf, size_t len, void *opaque, Error **errp)
{
    End *end = opaque;
    size_t n = MIN(len, end->in->data->len);

    if (end->in->fail) {
        error_setg(errp, "wire cut");
        return -1;
    }
    if (n == 0) {
        return end->in->closed ? 0 : QCRYPTO_TLS_SESSION_ERR_BLOCK;
    }
    memcpy(buf, end->in->data->data, n);
    g_byte_array_remove_range(end->in->data, 0, n);
    return n;
}

static void pair_init(Pair *p, QCryptoTLSCreds *screds,
                      QCryptoTLSCreds *ccreds, const char *hostname,
                      const char *aclname)
{
    memset(p, 0, sizeof(*p));
    p->c2s.data = g_byte_array_new();
    p->s2c.data = g_byte_array_new();
    p->client_end = (End) { &p->s2c, &p->c2s };
    p->server_end = (End) { &p->c2s, &p->s2c };
    p->server = qcrypto_tls_session_new(screds, NULL, aclname, SERVER,
                                        &error_abort);
    p->client = qcrypto_tls_session_new(ccreds, hostname, NULL, CLIENT,
                                        &error_abort);
    qcrypto_tls_session_set_callbacks(p->server, wire_write, wire_read,
                                      &p->server_end);
    qcrypto_tls_session_set_callbacks(p->client, wire_write, wire_read,
                                      &p->client_end);
}

static void pair_destroy(Pair *p)
{
    qcrypto_tls_session_free(p->client);
    qcrypto_tls_session_free(p->server);
    g_byte_array_unref(p->c2s.data);
    g_byte_array_unref(p->s2c.data);
}

/*
 * Alternate handshake steps until both ends complete or one fails.
 * Returns true on success; otherwise the failing end's error goes to
 * *@cerr or *@serr.
 */
static bool pair_handshake(Pair *p, Error **cerr, Error **serr)
{
    int c = QCRYPTO_TLS_HANDSHAKE_SENDING, s = QCRYPTO_TLS_HANDSHAKE_RECVING;

    for (int i = 0; i < 50; i++) {
        if (c != QCRYPTO_TLS_HANDSHAKE_COMPLETE) {
            c = qcrypto_tls_session_handshake(p->client, cerr);
        }
        if (c < 0) {
            return false;
        }
        if (s != QCRYPTO_TLS_HANDSHAKE_COMPLETE) {
            s = qcrypto_tls_session_handshake(p->server, serr);
        }
        if (s < 0) {
            return false;
        }
        if (c == QCRYPTO_TLS_HANDSHAKE_COMPLETE &&
            s == QCRYPTO_TLS_HANDSHAKE_COMPLETE) {
            return true;
        }
    }
    g_assert_not_reached();
}

static QCryptoTLSCreds *x509(QCryptoTLSCredsEndpoint ep, const char *dir,
                             bool verify)
{
    return qcrypto_tls_creds_x509_new(ep, dir, verify, NULL, &error_abort);
}

static void test_session_x509(void)
{
    g_autofree char *sdir = NULL, *cdir = NULL;
    g_autofree char *sname = NULL, *cname = NULL;
    QCryptoTLSCreds *screds, *ccreds;
    Pair p;

    if (tls_test_skip_without_pki()) {
        return;
    }
    sdir = tls_test_server_dir();
    cdir = tls_test_client_dir();
    screds = x509(SERVER, sdir, true);
    ccreds = x509(CLIENT, cdir, true);
    pair_init(&p, screds, ccreds, "localhost", "*CN=spindle-client*");
    qcrypto_tls_creds_unref(screds);
    qcrypto_tls_creds_unref(ccreds);

    g_assert_cmpint(qcrypto_tls_session_get_handshake_status(p.client), ==,
                    QCRYPTO_TLS_HANDSHAKE_SENDING);
    g_assert_cmpint(qcrypto_tls_session_get_handshake_status(p.server), ==,
                    QCRYPTO_TLS_HANDSHAKE_RECVING);
    /* The client's hello goes out, then it waits for the server. */
    g_assert_cmpint(qcrypto_tls_session_handshake(p.client, &error_abort),
                    ==, QCRYPTO_TLS_HANDSHAKE_RECVING);
    g_assert_true(pair_handshake(&p, &error_abort, &error_abort));
    g_assert_cmpint(qcrypto_tls_session_get_handshake_status(p.client), ==,
                    QCRYPTO_TLS_HANDSHAKE_COMPLETE);
    g_assert_cmpint(qcrypto_tls_session_check_credentials(p.client,
                                                          &error_abort),
                    ==, 0);
    g_assert_cmpint(qcrypto_tls_session_get_key_size(p.client, &error_abort),
                    >=, 16);
    sname = qcrypto_tls_session_get_peer_name(p.server);
    cname = qcrypto_tls_session_get_peer_name(p.client);
    g_assert_nonnull(strstr(sname, "CN=spindle-client"));
    g_assert_nonnull(strstr(cname, "CN=localhost"));
    pair_destroy(&p);
}

static void test_session_key_size_early(void)
{
    QCryptoTLSCreds *creds = qcrypto_tls_creds_anon_new(CLIENT, NULL, NULL,
                                                        &error_abort);
    QCryptoTLSSession *sess = qcrypto_tls_session_new(creds, NULL, NULL,
                                                      CLIENT, &error_abort);
    Error *err = NULL;

    g_assert_cmpint(qcrypto_tls_session_get_key_size(sess, &err), ==, -1);
    tls_test_assert_error(err, "no cipher");
    g_assert_null(qcrypto_tls_session_get_peer_name(sess));
    qcrypto_tls_session_free(sess);
    qcrypto_tls_creds_unref(creds);
}

/* Run a handshake expected to fail; return the error of the given side. */
static Error *failed_handshake(QCryptoTLSCreds *screds,
                               QCryptoTLSCreds *ccreds,
                               const char *hostname, const char *aclname,
                               bool want_client)
{
    Error *cerr = NULL, *serr = NULL;
    Pair p;

    pair_init(&p, screds, ccreds, hostname, aclname);
    g_assert_false(pair_handshake(&p, &cerr, &serr));
    pair_destroy(&p);
    qcrypto_tls_creds_unref(screds);
    qcrypto_tls_creds_unref(ccreds);
    if (want_client) {
        error_free(serr);
        return cerr;
    }
    error_free(cerr);
    return serr;
}

static void test_session_hostname_mismatch(void)
{
    g_autofree char *sdir = NULL, *cdir = NULL;

    if (tls_test_skip_without_pki()) {
        return;
    }
    sdir = tls_test_server_dir();
    cdir = tls_test_client_dir();
    tls_test_assert_error(failed_handshake(x509(SERVER, sdir, false),
                                           x509(CLIENT, cdir, true),
                                           "wrong.example", NULL, true),
                          "does not match hostname 'wrong.example'");
}

static void test_session_untrusted(void)
{
    g_autofree char *sdir = NULL, *cdir = NULL;

    if (tls_test_skip_without_pki()) {
        return;
    }
    /* The server's CA is not the one the client trusts. */
    sdir = tls_test_make_dir("untrusted-server", "ca-cert.pem=rogue-cert.pem",
                             "server-cert.pem=rogue-server-cert.pem",
                             "server-key.pem=rogue-server-key.pem", NULL);
    cdir = tls_test_client_dir();
    tls_test_assert_error(failed_handshake(x509(SERVER, sdir, false),
                                           x509(CLIENT, cdir, true),
                                           "localhost", NULL, true),
                          "does not verify: it is not signed by a trusted CA");
}

static void test_session_acl_denied(void)
{
    g_autofree char *sdir = NULL, *cdir = NULL;

    if (tls_test_skip_without_pki()) {
        return;
    }
    sdir = tls_test_server_dir();
    cdir = tls_test_client_dir();
    tls_test_assert_error(failed_handshake(x509(SERVER, sdir, true),
                                           x509(CLIENT, cdir, true),
                                           "localhost", "*CN=somebody-else*",
                                           false),
                          "is not allowed by '*CN=somebody-else*'");
}

static void test_session_psk(void)
{
    g_autofree char *dir = tls_test_psk_dir("psk-ok",
                                            "alice:00112233445566778899\n");
    g_autofree char *name = NULL;
    QCryptoTLSCreds *s = qcrypto_tls_creds_psk_new(SERVER, dir, NULL, NULL,
                                                   &error_abort);
    QCryptoTLSCreds *c = qcrypto_tls_creds_psk_new(CLIENT, dir, "alice",
                                                   NULL, &error_abort);
    Pair p;

    pair_init(&p, s, c, NULL, "alice");
    /* The sessions hold the only references now. */
    qcrypto_tls_creds_unref(s);
    qcrypto_tls_creds_unref(c);
    g_assert_true(pair_handshake(&p, &error_abort, &error_abort));
    name = qcrypto_tls_session_get_peer_name(p.server);
    g_assert_cmpstr(name, ==, "alice");
    g_assert_null(qcrypto_tls_session_get_peer_name(p.client));
    pair_destroy(&p);
}

static void test_session_psk_wrong_key(void)
{
    g_autofree char *sdir = tls_test_psk_dir("psk-s",
                                             "alice:00112233445566778899\n");
    g_autofree char *cdir = tls_test_psk_dir("psk-c",
                                             "alice:99887766554433221100\n");
    Error *err;

    err = failed_handshake(
        qcrypto_tls_creds_psk_new(SERVER, sdir, NULL, NULL, &error_abort),
        qcrypto_tls_creds_psk_new(CLIENT, cdir, "alice", NULL, &error_abort),
        NULL, NULL, false);
    tls_test_assert_error(err, "TLS handshake failed");
}

static QCryptoTLSCreds *anon(QCryptoTLSCredsEndpoint ep)
{
    return qcrypto_tls_creds_anon_new(ep, NULL, NULL, &error_abort);
}

/* A completed anonymous pair, for the data-path tests. */
static void anon_pair(Pair *p)
{
    QCryptoTLSCreds *s = anon(SERVER), *c = anon(CLIENT);

    pair_init(p, s, c, NULL, NULL);
    qcrypto_tls_creds_unref(s);
    qcrypto_tls_creds_unref(c);
    g_assert_true(pair_handshake(p, &error_abort, &error_abort));
}

static void test_session_data_and_pending(void)
{
    char buf[100];
    char msg[100];
    Pair p;

    anon_pair(&p);
    memset(msg, 'x', sizeof(msg));
    g_assert_cmpint(qcrypto_tls_session_write(p.client, msg, sizeof(msg),
                                              &error_abort), ==, 100);
    g_assert_cmpint(qcrypto_tls_session_check_pending(p.server), ==, 0);
    g_assert_cmpint(qcrypto_tls_session_read(p.server, buf, 10, false,
                                             &error_abort), ==, 10);
    /* The rest of the record is decrypted and waiting. */
    g_assert_cmpint(qcrypto_tls_session_check_pending(p.server), ==, 90);
    g_assert_cmpint(p.c2s.data->len, ==, 0);
    g_assert_cmpint(qcrypto_tls_session_read(p.server, buf + 10, 100, false,
                                             &error_abort), ==, 90);
    g_assert_cmpmem(buf, 100, msg, 100);
    g_assert_cmpint(qcrypto_tls_session_read(p.server, buf, 10, false,
                                             &error_abort), ==,
                    QCRYPTO_TLS_SESSION_ERR_BLOCK);
    pair_destroy(&p);
}

static void test_session_bye(void)
{
    char buf[10];
    Pair p;

    anon_pair(&p);
    g_assert_cmpint(qcrypto_tls_session_bye(p.client, &error_abort), ==,
                    QCRYPTO_TLS_BYE_COMPLETE);
    g_assert_cmpint(qcrypto_tls_session_read(p.server, buf, sizeof(buf),
                                             false, &error_abort), ==, 0);
    pair_destroy(&p);
}

static void test_session_truncated(void)
{
    Error *err = NULL;
    char buf[10];
    Pair p;

    anon_pair(&p);
    p.c2s.closed = true;
    g_assert_cmpint(qcrypto_tls_session_read(p.server, buf, sizeof(buf),
                                             false, &err), ==, -1);
    tls_test_assert_error(err, "without close_notify");
    pair_destroy(&p);

    /* A reader that shut down its side accepts the plain end of file. */
    anon_pair(&p);
    p.c2s.closed = true;
    g_assert_cmpint(qcrypto_tls_session_read(p.server, buf, sizeof(buf),
                                             true, &error_abort), ==, 0);
    pair_destroy(&p);
}

static void test_session_transport_error(void)
{
    Error *err = NULL;
    char buf[10] = "";
    Pair p;

    anon_pair(&p);
    p.c2s.fail = true;
    g_assert_cmpint(qcrypto_tls_session_write(p.client, buf, sizeof(buf),
                                              &err), ==, -1);
    tls_test_assert_error(err, "cannot write to TLS session: wire cut");
    err = NULL;
    g_assert_cmpint(qcrypto_tls_session_read(p.server, buf, sizeof(buf),
                                             false, &err), ==, -1);
    tls_test_assert_error(err, "cannot read from TLS session: wire cut");
    pair_destroy(&p);
}

static void test_session_garbage(void)
{
    static const char junk[] = "GET / HTTP/1.0\r\n\r\n and some more junk";
    QCryptoTLSCreds *s = anon(SERVER), *c = anon(CLIENT);
    Error *err = NULL;
    Pair p;

    pair_init(&p, s, c, NULL, NULL);
    qcrypto_tls_creds_unref(s);
    qcrypto_tls_creds_unref(c);
    g_byte_array_append(p.c2s.data, (const guint8 *)junk, sizeof(junk));
    g_assert_cmpint(qcrypto_tls_session_handshake(p.server, &err), ==, -1);
    tls_test_assert_error(err, "TLS handshake failed: ");
    pair_destroy(&p);
}

static void test_session_new_errors(void)
{
    QCryptoTLSCreds *creds = anon(SERVER);
    Error *err = NULL;

    g_assert_null(qcrypto_tls_session_new(creds, NULL, NULL, CLIENT, &err));
    tls_test_assert_error(err, "server side, not the client");
    err = NULL;
    g_assert_null(qcrypto_tls_session_new(creds, "host", NULL, SERVER, &err));
    tls_test_assert_error(err, "takes no hostname");
    qcrypto_tls_creds_unref(creds);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tls_test_init("spindle-tls-creds-XXXXXX");

    g_test_add_func("/crypto/tls/creds/x509/server", test_x509_server);
    g_test_add_func("/crypto/tls/creds/x509/client", test_x509_client);
    g_test_add_func("/crypto/tls/creds/x509/missing-files",
                    test_x509_missing_files);
    g_test_add_func("/crypto/tls/creds/x509/bad-files", test_x509_bad_files);
    g_test_add_func("/crypto/tls/creds/x509/bad-certs", test_x509_bad_certs);
    g_test_add_func("/crypto/tls/creds/x509/optional-files",
                    test_x509_optional_files);
    g_test_add_func("/crypto/tls/creds/bad-priority", test_bad_priority);
    g_test_add_func("/crypto/tls/creds/endpoint-and-refs",
                    test_endpoint_and_refs);
    g_test_add_func("/crypto/tls/creds/psk/load", test_psk_load);
    g_test_add_func("/crypto/tls/creds/psk/malformed", test_psk_malformed);
    g_test_add_func("/crypto/tls/creds/psk/missing", test_psk_missing);
    g_test_add_func("/crypto/tls/session/x509", test_session_x509);
    g_test_add_func("/crypto/tls/session/key-size-early",
                    test_session_key_size_early);
    g_test_add_func("/crypto/tls/session/hostname-mismatch",
                    test_session_hostname_mismatch);
    g_test_add_func("/crypto/tls/session/untrusted",
                    test_session_untrusted);
    g_test_add_func("/crypto/tls/session/acl-denied",
                    test_session_acl_denied);
    g_test_add_func("/crypto/tls/session/psk", test_session_psk);
    g_test_add_func("/crypto/tls/session/psk-wrong-key",
                    test_session_psk_wrong_key);
    g_test_add_func("/crypto/tls/session/data-and-pending",
                    test_session_data_and_pending);
    g_test_add_func("/crypto/tls/session/bye", test_session_bye);
    g_test_add_func("/crypto/tls/session/truncated", test_session_truncated);
    g_test_add_func("/crypto/tls/session/transport-error",
                    test_session_transport_error);
    g_test_add_func("/crypto/tls/session/garbage", test_session_garbage);
    g_test_add_func("/crypto/tls/session/new-errors",
                    test_session_new_errors);
    ret = g_test_run();
    tls_test_cleanup();
    return ret;
}
