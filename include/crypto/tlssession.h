/*
 * TLS session: the TLS protocol state of one connection, independent of
 * how its bytes travel.
 *
 * The session never touches a socket.  The owner supplies two transport
 * callbacks (qcrypto_tls_session_set_callbacks) that move ciphertext, and
 * then drives the session: qcrypto_tls_session_handshake() until it
 * reports completion, then qcrypto_tls_session_read()/_write() for
 * plaintext, and qcrypto_tls_session_bye() to end it cleanly.  When the
 * transport would block, each of these returns a "try again" status
 * instead of blocking itself, so the owner can wait in whatever event
 * loop it uses.  QIOChannelTLS (io/channel-tls.h) is the usual owner.
 *
 * Verification: with X.509 credentials that verify the peer, the peer's
 * certificate is checked during the handshake (chain to the CA, validity
 * dates, revocation, and for a client the expected hostname), so a bad
 * certificate makes the handshake itself fail with an Error saying why,
 * and the peer receives a TLS alert.
 *
 * Threads: one thread may read while another writes (GnuTLS allows one
 * sender and one receiver at a time); otherwise a session is used by one
 * thread at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QCRYPTO_TLSSESSION_H
#define QCRYPTO_TLSSESSION_H

#include "qemu/osdep.h"
#include "crypto/tlscreds.h"

typedef struct QCryptoTLSSession QCryptoTLSSession;

/*
 * Returned by the transport callbacks and by qcrypto_tls_session_read()
 * and _write() when the transport cannot move data right now.  Same
 * value as QIO_CHANNEL_ERR_BLOCK.
 */
#define QCRYPTO_TLS_SESSION_ERR_BLOCK -2

/* Progress of qcrypto_tls_session_handshake(). */
typedef enum QCryptoTLSSessionHandshakeStatus {
    QCRYPTO_TLS_HANDSHAKE_COMPLETE,  /* done; data may flow */
    QCRYPTO_TLS_HANDSHAKE_SENDING,   /* call again once writable */
    QCRYPTO_TLS_HANDSHAKE_RECVING,   /* call again once readable */
} QCryptoTLSSessionHandshakeStatus;

/* Progress of qcrypto_tls_session_bye(). */
typedef enum QCryptoTLSSessionByeStatus {
    QCRYPTO_TLS_BYE_COMPLETE,        /* close_notify sent */
    QCRYPTO_TLS_BYE_SENDING,         /* call again once writable */
    QCRYPTO_TLS_BYE_RECVING,         /* call again once readable */
} QCryptoTLSSessionByeStatus;

/*
 * Transport callbacks.  Write up to @len bytes of ciphertext from @buf /
 * read up to @len bytes into @buf.  Return the number of bytes moved
 * (a read returns 0 at end of file), QCRYPTO_TLS_SESSION_ERR_BLOCK when
 * nothing can move now (without an Error), or -1 with @errp set.  They
 * run inside the session calls, in the caller's thread.
 */
typedef ssize_t (*QCryptoTLSSessionWriteFunc)(const char *buf,
                                              size_t len,
                                              void *opaque,
                                              Error **errp);
typedef ssize_t (*QCryptoTLSSessionReadFunc)(char *buf,
                                             size_t len,
                                             void *opaque,
                                             Error **errp);

/*
 * qcrypto_tls_session_new: a session for @endpoint using @creds (which
 * must have been made for the same endpoint; the session keeps a
 * reference).  @hostname: for a client, the name the server certificate
 * must carry (checked only when the credentials verify the peer; also
 * sent as SNI unless it is an IP address); NULL skips the name check.
 * Must be NULL for a server.  @aclname: optional; when set, the peer's
 * name (see qcrypto_tls_session_get_peer_name) must match this glob
 * pattern (g_pattern_match_simple) or the handshake fails.  Spindle has
 * no authorization objects, so this pattern stands in for QEMU's authz
 * id.  Returns the session, or NULL with an Error.  Any thread.
 */
QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname,
                                           const char *aclname,
                                           QCryptoTLSCredsEndpoint endpoint,
                                           Error **errp);

/*
 * qcrypto_tls_session_free: end the session without sending anything
 * and free it, dropping its credentials reference.  NULL is ignored.
 */
void qcrypto_tls_session_free(QCryptoTLSSession *sess);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QCryptoTLSSession, qcrypto_tls_session_free)

/*
 * qcrypto_tls_session_set_callbacks: set the transport (see the typedefs
 * above) and the @opaque they receive.  Call before the handshake.
 */
void qcrypto_tls_session_set_callbacks(QCryptoTLSSession *sess,
                                       QCryptoTLSSessionWriteFunc writefunc,
                                       QCryptoTLSSessionReadFunc readfunc,
                                       void *opaque);

/*
 * qcrypto_tls_session_handshake: advance the handshake as far as the
 * transport allows.  Returns QCRYPTO_TLS_HANDSHAKE_COMPLETE when done
 * (the peer's credentials have then been checked), _SENDING or _RECVING
 * when the transport blocked in that direction (wait for it, then call
 * again), or -1 with an Error that says why: a transport error, a TLS
 * protocol error (e.g. the peer does not speak TLS), an alert from the
 * peer, or a certificate that does not verify.
 */
int qcrypto_tls_session_handshake(QCryptoTLSSession *sess,
                                  Error **errp);

/*
 * qcrypto_tls_session_get_handshake_status: the status the last
 * successful qcrypto_tls_session_handshake() call returned; before the
 * first call, the direction the session starts in (_SENDING for a
 * client, which speaks first; _RECVING for a server).
 */
QCryptoTLSSessionHandshakeStatus
qcrypto_tls_session_get_handshake_status(QCryptoTLSSession *sess);

/*
 * qcrypto_tls_session_check_credentials: check the peer's credentials
 * against what @sess requires: for X.509 with peer verification, the
 * certificate chain, its dates and (client) the hostname; and the
 * @aclname pattern.  The handshake already does this; calling it again
 * after completion is cheap and returns the same verdict.  Returns 0, or
 * -1 with an Error naming the reason.  Only after a completed handshake.
 */
int qcrypto_tls_session_check_credentials(QCryptoTLSSession *sess,
                                          Error **errp);

/*
 * qcrypto_tls_session_write: encrypt and send up to @len bytes of @buf.
 * Returns how many were accepted (> 0), QCRYPTO_TLS_SESSION_ERR_BLOCK if
 * the transport blocked (call again later with the same buffer: GnuTLS
 * may already hold part of it), or -1 with an Error.  After the
 * handshake only.
 */
ssize_t qcrypto_tls_session_write(QCryptoTLSSession *sess,
                                  const char *buf,
                                  size_t len,
                                  Error **errp);

/*
 * qcrypto_tls_session_read: receive and decrypt up to @len bytes into
 * @buf.  Returns the count (> 0), 0 when the peer ended the session with
 * close_notify, QCRYPTO_TLS_SESSION_ERR_BLOCK if the transport has
 * nothing now, or -1 with an Error.  A transport end-of-file without
 * close_notify (possible truncation) is an Error unless
 * @gracefulTermination is true, when it reads as 0.  After the
 * handshake only.
 */
ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess,
                                 char *buf,
                                 size_t len,
                                 bool gracefulTermination,
                                 Error **errp);

/*
 * qcrypto_tls_session_check_pending: how many decrypted bytes the
 * session holds that the next read returns without touching the
 * transport.  Callers that wait for the transport to become readable
 * must check this first, or they may wait for data already received.
 */
size_t qcrypto_tls_session_check_pending(QCryptoTLSSession *sess);

/*
 * qcrypto_tls_session_bye: send close_notify, ending our direction of
 * the session (the peer's reads then see a clean end of file).  Returns
 * QCRYPTO_TLS_BYE_COMPLETE, _SENDING/_RECVING when the transport blocked
 * (call again), or -1 with an Error.  After the handshake only.
 */
int qcrypto_tls_session_bye(QCryptoTLSSession *sess,
                            Error **errp);

/*
 * qcrypto_tls_session_get_key_size: the size in bytes of the negotiated
 * cipher's key, or -1 with an Error if none is negotiated yet.
 */
int qcrypto_tls_session_get_key_size(QCryptoTLSSession *sess,
                                     Error **errp);

/*
 * qcrypto_tls_session_get_peer_name: a new string naming the peer (the
 * distinguished name of its X.509 certificate, or on a PSK server the
 * client's username), or NULL if the peer presented no identity.  After
 * the handshake.  Caller frees with g_free.
 */
char *qcrypto_tls_session_get_peer_name(QCryptoTLSSession *sess);

#endif /* QCRYPTO_TLSSESSION_H */
