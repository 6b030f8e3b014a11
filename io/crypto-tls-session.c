/*
 * TLS session on GnuTLS.
 *
 * What: a thin, non-blocking driver for one gnutls_session_t.  GnuTLS
 * moves ciphertext through our push/pull functions, which call the
 * owner's transport callbacks; "would block" becomes EAGAIN for GnuTLS
 * and comes back out of every entry point as a status the owner waits
 * on.  A transport failure keeps its Error, so the owner learns the real
 * cause ("connection reset") rather than GnuTLS's generic "push error".
 *
 * What not: no sockets, no waiting, no buffering of our own; GnuTLS keeps
 * the record-layer buffers and reports leftovers through
 * qcrypto_tls_session_check_pending().
 *
 * Invariant: the sending side (write, bye) touches only @werr and the
 * receiving side (read) only @rerr, so one thread may read while another
 * writes; the handshake owns both.  errno, which carries EAGAIN to
 * GnuTLS, is per thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlssession.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct QCryptoTLSSession {
    /* Immutable after creation. */
    QCryptoTLSCreds *creds;
    gnutls_session_t handle;
    QCryptoTLSCredsEndpoint endpoint;
    char *hostname;
    char *aclname;
    bool x509_verify;            /* X.509 credentials that verify the peer */

    /* Set once before the handshake. */
    QCryptoTLSSessionWriteFunc writefunc;
    QCryptoTLSSessionReadFunc readfunc;
    void *opaque;

    /* Transport errors: @werr owned by the sending side, @rerr by the
     * receiving side (both by the handshake). */
    Error *werr;
    Error *rerr;

    /* Owned by the handshake. */
    QCryptoTLSSessionHandshakeStatus status;
    Error *verr;                 /* why the peer's credentials failed */
};

/* ---- transport glue ----------------------------------------------------- */

/*
 * Set when a transport callback reported "would block" during the
 * current GnuTLS call.  GnuTLS also returns GNUTLS_E_AGAIN after it has
 * only processed a post-handshake message (a TLS 1.3 session ticket),
 * even though the transport never blocked; such calls are simply
 * repeated, so a blocking transport never sees "would block".  Per
 * thread, because the reading and writing sides may run concurrently.
 */
static __thread bool transport_blocked;

/* Whether a GnuTLS call that returned @ret should simply be repeated. */
static bool should_retry(int ret)
{
    return ret == GNUTLS_E_INTERRUPTED ||
           (ret == GNUTLS_E_AGAIN && !transport_blocked);
}

/*
 * Turn a transport callback's result into what GnuTLS expects: a would-
 * block becomes EAGAIN, an error is kept in *@slot (replacing an older
 * one) and becomes EIO.
 */
static ssize_t transport_result(ssize_t ret, Error *err, Error **slot)
{
    if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
        transport_blocked = true;
        errno = EAGAIN;
        return -1;
    }
    if (ret < 0) {
        error_free(*slot);
        *slot = err;
        errno = EIO;
        return -1;
    }
    return ret;
}

static ssize_t session_push(gnutls_transport_ptr_t ptr, const void *buf,
                            size_t len)
{
    QCryptoTLSSession *sess = ptr;
    Error *err = NULL;
    ssize_t ret = sess->writefunc(buf, len, sess->opaque, &err);

    return transport_result(ret, err, &sess->werr);
}

static ssize_t session_pull(gnutls_transport_ptr_t ptr, void *buf,
                            size_t len)
{
    QCryptoTLSSession *sess = ptr;
    Error *err = NULL;
    ssize_t ret = sess->readfunc(buf, len, sess->opaque, &err);

    return transport_result(ret, err, &sess->rerr);
}

/*
 * GnuTLS asks this before reads that have a deadline.  We cannot wait
 * here (the owner does that), so claim data may be there: the pull that
 * follows then either reads or reports EAGAIN.
 */
static int session_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    return 1;
}

static void clear_error(Error **err)
{
    error_free(*err);
    *err = NULL;
}

/*
 * Report a failed GnuTLS call @what returning @ret: the transport's own
 * Error in *@terr when there is one, else GnuTLS's reason.
 */
static void report_gnutls_error(QCryptoTLSSession *sess, Error **terr,
                                int ret, const char *what, Error **errp)
{
    if (*terr) {
        error_propagate_prepend(errp, *terr, "%s: ", what);
        *terr = NULL;
    } else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        error_setg(errp, "%s: the peer sent alert '%s'", what,
                   gnutls_alert_get_name(gnutls_alert_get(sess->handle)));
    } else if (ret == GNUTLS_E_PREMATURE_TERMINATION) {
        error_setg(errp, "%s: the peer closed the connection", what);
    } else {
        error_setg(errp, "%s: %s", what, gnutls_strerror(ret));
    }
}

/* ---- peer credentials --------------------------------------------------- */

/* Why a certificate failed verification, as a readable list. */
static char *describe_verify_status(unsigned int status)
{
    static const struct {
        unsigned int bit;
        const char *text;
    } reasons[] = {
        { GNUTLS_CERT_SIGNER_NOT_FOUND, "it is not signed by a trusted CA" },
        { GNUTLS_CERT_SIGNER_NOT_CA, "its issuer is not a CA" },
        { GNUTLS_CERT_REVOKED, "it has been revoked" },
        { GNUTLS_CERT_EXPIRED, "it has expired" },
        { GNUTLS_CERT_NOT_ACTIVATED, "it is not yet active" },
        { GNUTLS_CERT_INSECURE_ALGORITHM, "it uses an insecure algorithm" },
        { GNUTLS_CERT_SIGNATURE_FAILURE, "its signature is invalid" },
        { GNUTLS_CERT_UNEXPECTED_OWNER, "it names another host" },
        { GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
          "its issuer's constraints forbid it" },
    };
    GString *out = g_string_new(NULL);

    for (size_t i = 0; i < ARRAY_SIZE(reasons); i++) {
        if (status & reasons[i].bit) {
            g_string_append_printf(out, "%s%s", out->len ? ", " : "",
                                   reasons[i].text);
        }
    }
    if (!out->len) {
        g_string_append_printf(out, "verification status 0x%x", status);
    }
    return g_string_free(out, false);
}

static gnutls_x509_crt_t peer_certificate(QCryptoTLSSession *sess)
{
    unsigned int n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(sess->handle,
                                                               &n);
    gnutls_x509_crt_t cert;

    if (!certs || n == 0 || gnutls_x509_crt_init(&cert) < 0) {
        return NULL;
    }
    if (gnutls_x509_crt_import(cert, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(cert);
        return NULL;
    }
    return cert;
}

static int check_x509(QCryptoTLSSession *sess, Error **errp)
{
    g_autofree char *why = NULL;
    gnutls_x509_crt_t cert;
    unsigned int status = 0;
    bool name_ok;
    int ret = gnutls_certificate_verify_peers2(sess->handle, &status);

    if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND) {
        error_setg(errp, "the TLS peer sent no certificate");
        return -1;
    }
    if (ret < 0) {
        error_setg(errp, "cannot verify the TLS peer's certificate: %s",
                   gnutls_strerror(ret));
        return -1;
    }
    if (status) {
        why = describe_verify_status(status);
        error_setg(errp, "the TLS peer's certificate does not verify: %s",
                   why);
        return -1;
    }
    cert = peer_certificate(sess);
    if (!cert) {
        error_setg(errp, "the TLS peer sent no usable certificate");
        return -1;
    }
    name_ok = !sess->hostname ||
              gnutls_x509_crt_check_hostname(cert, sess->hostname);
    gnutls_x509_crt_deinit(cert);
    if (!name_ok) {
        error_setg(errp, "the TLS peer's certificate does not match "
                   "hostname '%s'", sess->hostname);
        return -1;
    }
    return 0;
}

static int check_acl(QCryptoTLSSession *sess, Error **errp)
{
    g_autofree char *name = NULL;

    if (!sess->aclname) {
        return 0;
    }
    name = qcrypto_tls_session_get_peer_name(sess);
    if (!name) {
        error_setg(errp, "the TLS peer has no identity to check against "
                   "'%s'", sess->aclname);
        return -1;
    }
    if (!g_pattern_match_simple(sess->aclname, name)) {
        error_setg(errp, "TLS peer '%s' is not allowed by '%s'", name,
                   sess->aclname);
        return -1;
    }
    return 0;
}

int qcrypto_tls_session_check_credentials(QCryptoTLSSession *sess,
                                          Error **errp)
{
    if (sess->x509_verify && check_x509(sess, errp) < 0) {
        return -1;
    }
    return check_acl(sess, errp);
}

/* GnuTLS calls this once the peer's certificate has arrived. */
static int session_verify_peer(gnutls_session_t handle)
{
    QCryptoTLSSession *sess = gnutls_session_get_ptr(handle);

    clear_error(&sess->verr);
    return qcrypto_tls_session_check_credentials(sess, &sess->verr) < 0
           ? GNUTLS_E_CERTIFICATE_ERROR : 0;
}

/* ---- life cycle --------------------------------------------------------- */

static bool session_setup(QCryptoTLSSession *sess, Error **errp)
{
    bool server = sess->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    int ret = gnutls_init(&sess->handle, server ? GNUTLS_SERVER
                                                : GNUTLS_CLIENT);

    if (ret < 0) {
        sess->handle = NULL;
        error_setg(errp, "cannot create TLS session: %s",
                   gnutls_strerror(ret));
        return false;
    }
    if (!qcrypto_tls_creds_setup_session(sess->creds, sess->handle, errp)) {
        return false;
    }
    if (sess->hostname && !g_hostname_is_ip_address(sess->hostname)) {
        /* SNI lets a server with several names pick the right one. */
        gnutls_server_name_set(sess->handle, GNUTLS_NAME_DNS, sess->hostname,
                               strlen(sess->hostname));
    }
    gnutls_session_set_ptr(sess->handle, sess);
    if (sess->x509_verify || sess->aclname) {
        gnutls_session_set_verify_function(sess->handle, session_verify_peer);
    }
    gnutls_transport_set_ptr(sess->handle, sess);
    gnutls_transport_set_push_function(sess->handle, session_push);
    gnutls_transport_set_pull_function(sess->handle, session_pull);
    gnutls_transport_set_pull_timeout_function(sess->handle,
                                               session_pull_timeout);
    return true;
}

QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname,
                                           const char *aclname,
                                           QCryptoTLSCredsEndpoint endpoint,
                                           Error **errp)
{
    QCryptoTLSSession *sess;

    if (!qcrypto_tls_creds_check_endpoint(creds, endpoint, errp)) {
        return NULL;
    }
    if (hostname && endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        error_setg(errp, "a TLS server session takes no hostname");
        return NULL;
    }
    sess = g_new0(QCryptoTLSSession, 1);
    sess->creds = qcrypto_tls_creds_ref(creds);
    sess->endpoint = endpoint;
    sess->hostname = g_strdup(hostname);
    sess->aclname = g_strdup(aclname);
    sess->x509_verify = qcrypto_tls_creds_get_verify_peer(creds) &&
        object_dynamic_cast(OBJECT(creds), TYPE_QCRYPTO_TLS_CREDS_X509);
    sess->status = endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER
                   ? QCRYPTO_TLS_HANDSHAKE_RECVING
                   : QCRYPTO_TLS_HANDSHAKE_SENDING;
    if (!session_setup(sess, errp)) {
        qcrypto_tls_session_free(sess);
        return NULL;
    }
    return sess;
}

void qcrypto_tls_session_free(QCryptoTLSSession *sess)
{
    if (!sess) {
        return;
    }
    if (sess->handle) {
        gnutls_deinit(sess->handle);
    }
    qcrypto_tls_creds_unref(sess->creds);
    error_free(sess->werr);
    error_free(sess->rerr);
    error_free(sess->verr);
    g_free(sess->hostname);
    g_free(sess->aclname);
    g_free(sess);
}

void qcrypto_tls_session_set_callbacks(QCryptoTLSSession *sess,
                                       QCryptoTLSSessionWriteFunc writefunc,
                                       QCryptoTLSSessionReadFunc readfunc,
                                       void *opaque)
{
    sess->writefunc = writefunc;
    sess->readfunc = readfunc;
    sess->opaque = opaque;
}

/* ---- handshake and shutdown --------------------------------------------- */

/* The direction a call that returned GNUTLS_E_AGAIN is waiting in. */
static bool blocked_sending(QCryptoTLSSession *sess)
{
    return gnutls_record_get_direction(sess->handle) == 1;
}

int qcrypto_tls_session_handshake(QCryptoTLSSession *sess,
                                  Error **errp)
{
    int ret;

    clear_error(&sess->rerr);
    clear_error(&sess->werr);
    do {
        transport_blocked = false;
        ret = gnutls_handshake(sess->handle);
    } while (should_retry(ret));

    if (ret == GNUTLS_E_AGAIN) {
        sess->status = blocked_sending(sess) ? QCRYPTO_TLS_HANDSHAKE_SENDING
                                             : QCRYPTO_TLS_HANDSHAKE_RECVING;
        return sess->status;
    }
    if (ret < 0) {
        if (sess->verr) {
            error_propagate(errp, sess->verr);
            sess->verr = NULL;
        } else {
            report_gnutls_error(sess, sess->rerr ? &sess->rerr : &sess->werr,
                                ret, "TLS handshake failed", errp);
        }
        return -1;
    }
    /* The verify hook has run if a certificate came; PSK and anonymous
     * peers are checked against the ACL here. */
    if (qcrypto_tls_session_check_credentials(sess, errp) < 0) {
        return -1;
    }
    sess->status = QCRYPTO_TLS_HANDSHAKE_COMPLETE;
    return sess->status;
}

QCryptoTLSSessionHandshakeStatus
qcrypto_tls_session_get_handshake_status(QCryptoTLSSession *sess)
{
    return sess->status;
}

int qcrypto_tls_session_bye(QCryptoTLSSession *sess, Error **errp)
{
    int ret;

    clear_error(&sess->werr);
    do {
        transport_blocked = false;
        ret = gnutls_bye(sess->handle, GNUTLS_SHUT_WR);
    } while (should_retry(ret));

    if (ret == GNUTLS_E_AGAIN) {
        return blocked_sending(sess) ? QCRYPTO_TLS_BYE_SENDING
                                     : QCRYPTO_TLS_BYE_RECVING;
    }
    if (ret < 0) {
        report_gnutls_error(sess, &sess->werr, ret,
                            "cannot end the TLS session", errp);
        return -1;
    }
    return QCRYPTO_TLS_BYE_COMPLETE;
}

/* ---- data --------------------------------------------------------------- */

ssize_t qcrypto_tls_session_write(QCryptoTLSSession *sess,
                                  const char *buf,
                                  size_t len,
                                  Error **errp)
{
    ssize_t ret;

    clear_error(&sess->werr);
    do {
        transport_blocked = false;
        ret = gnutls_record_send(sess->handle, buf, len);
    } while (should_retry(ret));

    if (ret == GNUTLS_E_AGAIN) {
        return QCRYPTO_TLS_SESSION_ERR_BLOCK;
    }
    if (ret < 0) {
        report_gnutls_error(sess, &sess->werr, ret,
                            "cannot write to TLS session", errp);
        return -1;
    }
    return ret;
}

ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess,
                                 char *buf,
                                 size_t len,
                                 bool gracefulTermination,
                                 Error **errp)
{
    ssize_t ret;

    clear_error(&sess->rerr);
    do {
        transport_blocked = false;
        ret = gnutls_record_recv(sess->handle, buf, len);
    } while (should_retry(ret));

    if (ret >= 0) {
        return ret;
    }
    if (ret == GNUTLS_E_AGAIN) {
        return QCRYPTO_TLS_SESSION_ERR_BLOCK;
    }
    if (ret == GNUTLS_E_PREMATURE_TERMINATION) {
        if (gracefulTermination) {
            return 0;
        }
        error_setg(errp, "cannot read from TLS session: the peer closed "
                   "the connection without close_notify (data may be "
                   "truncated)");
        return -1;
    }
    report_gnutls_error(sess, &sess->rerr, ret,
                        "cannot read from TLS session", errp);
    return -1;
}

size_t qcrypto_tls_session_check_pending(QCryptoTLSSession *sess)
{
    return gnutls_record_check_pending(sess->handle);
}

/* ---- information -------------------------------------------------------- */

int qcrypto_tls_session_get_key_size(QCryptoTLSSession *sess,
                                     Error **errp)
{
    size_t size = gnutls_cipher_get_key_size(gnutls_cipher_get(sess->handle));

    if (size == 0) {
        error_setg(errp, "the TLS session has no cipher negotiated");
        return -1;
    }
    return size;
}

static char *certificate_peer_name(QCryptoTLSSession *sess)
{
    gnutls_x509_crt_t cert = peer_certificate(sess);
    gnutls_datum_t dn = { NULL, 0 };
    char *name = NULL;

    if (!cert) {
        return NULL;
    }
    if (gnutls_x509_crt_get_dn3(cert, &dn, 0) >= 0) {
        name = g_strndup((const char *)dn.data, dn.size);
        gnutls_free(dn.data);
    }
    gnutls_x509_crt_deinit(cert);
    return name;
}

char *qcrypto_tls_session_get_peer_name(QCryptoTLSSession *sess)
{
    const char *user;

    switch (gnutls_auth_get_type(sess->handle)) {
    case GNUTLS_CRD_CERTIFICATE:
        return certificate_peer_name(sess);
    case GNUTLS_CRD_PSK:
        if (sess->endpoint != QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
            return NULL;
        }
        user = gnutls_psk_server_get_username(sess->handle);
        return user ? g_strdup(user) : NULL;
    default:
        return NULL;
    }
}
