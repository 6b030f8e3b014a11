/*
 * TLS credentials: what one endpoint of a TLS session proves about itself
 * and how it judges its peer, loaded from a directory of files as QEMU's
 * tls-creds-x509 / tls-creds-psk / tls-creds-anon objects do.
 *
 * A credentials object is immutable once created and reference counted
 * (it is an Object of the small object model, so object_ref/unref work
 * too), so any number of TLS sessions, in any threads, can share it.
 *
 * Files looked up in the directory (QEMU's names):
 *
 *   X.509   ca-cert.pem      CA certificate(s) that sign the peers (always)
 *           ca-crl.pem       revocation list (optional)
 *           server-cert.pem  server certificate (server; required)
 *           server-key.pem   its private key (server; required)
 *           client-cert.pem  client certificate (client; optional, but a
 *                            server that verifies its peers requires it)
 *           client-key.pem   its private key (with client-cert.pem)
 *           dh-params.pem    PKCS#3 DH parameters (server; optional, the
 *                            built-in RFC 7919 groups are used otherwise)
 *   PSK     keys.psk         one "username:hexkey" per line
 *           dh-params.pem    as above
 *   anon    dh-params.pem    as above; the directory itself is optional
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QCRYPTO_TLSCREDS_H
#define QCRYPTO_TLSCREDS_H

#include "qemu/osdep.h"
#include "qom/object.h"

/* gnutls_session_t without including <gnutls/gnutls.h>. */
struct gnutls_session_int;

/* File names inside the credentials directory. */
#define QCRYPTO_TLS_CREDS_X509_CA_CERT "ca-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_CA_CRL "ca-crl.pem"
#define QCRYPTO_TLS_CREDS_X509_SERVER_CERT "server-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_SERVER_KEY "server-key.pem"
#define QCRYPTO_TLS_CREDS_X509_CLIENT_CERT "client-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_CLIENT_KEY "client-key.pem"
#define QCRYPTO_TLS_CREDS_DH_PARAMS "dh-params.pem"
#define QCRYPTO_TLS_CREDS_PSKFILE "keys.psk"

/* GnuTLS priority string used when the caller passes NULL. */
#define QCRYPTO_TLS_CREDS_DEFAULT_PRIORITY "NORMAL"

/* PSK identity a client uses when the caller passes no username. */
#define QCRYPTO_TLS_CREDS_DEFAULT_PSK_USERNAME "qemu"

/* Which side of the connection the credentials are for. */
typedef enum QCryptoTLSCredsEndpoint {
    QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT,
    QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
} QCryptoTLSCredsEndpoint;

/* The abstract base type and its three concrete kinds. */
#define TYPE_QCRYPTO_TLS_CREDS "tls-creds"
#define TYPE_QCRYPTO_TLS_CREDS_X509 "tls-creds-x509"
#define TYPE_QCRYPTO_TLS_CREDS_PSK "tls-creds-psk"
#define TYPE_QCRYPTO_TLS_CREDS_ANON "tls-creds-anon"

OBJECT_DECLARE_SIMPLE_TYPE(QCryptoTLSCreds, QCRYPTO_TLS_CREDS)

/*
 * qcrypto_tls_creds_x509_new: load X.509 credentials for @endpoint from
 * the files in @dir (see the table at the top).  @verify_peer: a server
 * requests and verifies client certificates; a client verifies the
 * server's certificate (and, when the session has a hostname, that the
 * certificate names it).  @priority: GnuTLS priority string, NULL for
 * QCRYPTO_TLS_CREDS_DEFAULT_PRIORITY; a string GnuTLS cannot parse
 * fails here with an Error quoting the offending part.
 *
 * Every file is read and checked now: a missing or unreadable file, a
 * certificate that does not parse, is expired or not yet active, does
 * not match its key or is not signed by the CA fails with an Error
 * naming the file and the reason.  Returns a new object with one
 * reference, or NULL.  Any thread.
 */
QCryptoTLSCreds *qcrypto_tls_creds_x509_new(QCryptoTLSCredsEndpoint endpoint,
                                            const char *dir,
                                            bool verify_peer,
                                            const char *priority,
                                            Error **errp);

/*
 * qcrypto_tls_creds_psk_new: load pre-shared-key credentials from
 * @dir/keys.psk.  The file holds one "username:hexkey" per line (empty
 * lines are skipped; the key is an even number of hex digits).  A server
 * looks the client's identity up in the file at each handshake (so keys
 * can be rotated by editing it); a client sends @username (NULL for
 * QCRYPTO_TLS_CREDS_DEFAULT_PSK_USERNAME) with that user's key, which
 * must be in the file.  The whole file is validated now: a malformed
 * line fails with an Error naming the file and line number.  @priority
 * as for X.509 (the PSK key exchanges are added to it).  Returns a new
 * object with one reference, or NULL.  Any thread.
 */
QCryptoTLSCreds *qcrypto_tls_creds_psk_new(QCryptoTLSCredsEndpoint endpoint,
                                           const char *dir,
                                           const char *username,
                                           const char *priority,
                                           Error **errp);

/*
 * qcrypto_tls_creds_anon_new: anonymous (unauthenticated, TLS 1.2
 * anonymous Diffie-Hellman) credentials.  @dir may be NULL; if given, a
 * server loads dh-params.pem from it when present.  Encrypts but proves
 * nothing about either side: for tests and trusted networks only.
 * Returns a new object with one reference, or NULL.  Any thread.
 */
QCryptoTLSCreds *qcrypto_tls_creds_anon_new(QCryptoTLSCredsEndpoint endpoint,
                                            const char *dir,
                                            const char *priority,
                                            Error **errp);

/* qcrypto_tls_creds_ref: take a reference; returns @creds.  Any thread. */
QCryptoTLSCreds *qcrypto_tls_creds_ref(QCryptoTLSCreds *creds);

/*
 * qcrypto_tls_creds_unref: drop a reference; the last one frees the
 * credentials.  NULL is ignored.  Any thread.
 */
void qcrypto_tls_creds_unref(QCryptoTLSCreds *creds);

/*
 * qcrypto_tls_creds_check_endpoint: true when @creds were made for
 * @endpoint; otherwise false with an Error saying which side they are
 * for.  Any thread.
 */
bool qcrypto_tls_creds_check_endpoint(QCryptoTLSCreds *creds,
                                      QCryptoTLSCredsEndpoint endpoint,
                                      Error **errp);

/* Read-only accessors; strings are owned by @creds.  Any thread. */
QCryptoTLSCredsEndpoint qcrypto_tls_creds_get_endpoint(QCryptoTLSCreds *creds);
/* The directory given at creation, or NULL (anonymous credentials). */
const char *qcrypto_tls_creds_get_dir(QCryptoTLSCreds *creds);
/* The priority string as given (or the default), without additions. */
const char *qcrypto_tls_creds_get_priority(QCryptoTLSCreds *creds);
/* X.509: the verify_peer flag; always false for PSK and anon. */
bool qcrypto_tls_creds_get_verify_peer(QCryptoTLSCreds *creds);
/* PSK client: the identity it sends; NULL otherwise. */
const char *qcrypto_tls_creds_get_username(QCryptoTLSCreds *creds);

/*
 * qcrypto_tls_creds_setup_session: for the TLS session code: install the
 * credentials and the effective priority string on a GnuTLS session
 * (gnutls_session_t) created for the same endpoint.  A server with
 * X.509 credentials and verify_peer set requires a client certificate.
 * Returns true, or false with an Error (GnuTLS refused; the priority
 * string itself was already checked by the constructor).  Any thread.
 */
bool qcrypto_tls_creds_setup_session(QCryptoTLSCreds *creds,
                                     struct gnutls_session_int *session,
                                     Error **errp);

#endif /* QCRYPTO_TLSCREDS_H */
