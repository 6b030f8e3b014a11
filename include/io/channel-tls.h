/*
 * QIOChannelTLS: a channel that runs TLS over another channel.
 *
 * The TLS channel wraps a "master" channel (normally a QIOChannelSocket)
 * that carries the ciphertext; reads and writes on the TLS channel carry
 * plaintext.  Create it with qio_channel_tls_new_server() or
 * qio_channel_tls_new_client(), run qio_channel_tls_handshake(), and
 * only use it for data once the handshake has completed successfully.
 *
 * Blocking: the TLS channel has no mode of its own; it follows the
 * master's (qio_channel_set_blocking forwards).  For an asynchronous
 * handshake put the master in non-blocking mode first.
 *
 * Data buffered inside TLS: a TLS record is decrypted whole, so a read
 * with a small buffer can leave decrypted bytes inside the session while
 * the socket itself has nothing more to read.  The channel's watches and
 * coroutine waits (qio_channel_yield) account for that: they report
 * G_IO_IN at once while such data is pending.
 *
 * Ending a session: qio_channel_shutdown(WRITE or BOTH) and
 * qio_channel_close() send TLS close_notify, so the peer reads a clean
 * end of file, when the handshake is done, no write is in progress and
 * the master can take the alert at once (it is skipped rather than
 * waited for, so neither call blocks on a peer that stopped reading).  A
 * master end-of-file without close_notify is reported as an Error on
 * read (possible truncation), unless this side has shut down reading.
 *
 * Threads: as for every channel, one thread at a time, except that
 * qio_channel_shutdown() may be called from any thread; one thread may
 * read while another writes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_TLS_H
#define QIO_CHANNEL_TLS_H

#include "io/channel.h"
#include "io/task.h"
#include "qemu/thread.h"
#include "crypto/tlssession.h"

#define TYPE_QIO_CHANNEL_TLS "qio-channel-tls"
OBJECT_DECLARE_SIMPLE_TYPE(QIOChannelTLS, QIO_CHANNEL_TLS)

/*
 * QIOChannelTLS: the public fields follow QEMU's layout.
 * @master: the channel carrying ciphertext (a reference is held).
 * @session: the TLS state; see crypto/tlssession.h.
 * @shutdown: QIOChannelShutdown bits requested so far (atomic).
 * The remaining fields are private.
 */
struct QIOChannelTLS {
    QIOChannel parent;
    QIOChannel *master;
    QCryptoTLSSession *session;
    QIOChannelShutdown shutdown;

    /* private: */
    /* Handshake in progress: its task and the master watch driving it
     * (owner thread only). */
    QIOTask *hs_task;
    GSource *hs_source;
    /* Serialises the sending side: writes, and close_notify. */
    QemuMutex write_lock;
    bool bye_sent;           /* under @write_lock */
    /* Bumped by each io_set_aio_fd_handler call (atomic). */
    unsigned int aio_gen;
};

/*
 * qio_channel_tls_new_server: a TLS channel for the server side of a
 * connection carried by @master.  @creds must be server credentials;
 * @aclname (may be NULL) is a glob pattern the client's identity must
 * match (see qcrypto_tls_session_new).  The channel takes a reference
 * on @master and the session one on @creds.  Returns the channel, or
 * NULL with an Error.  Nothing is sent until qio_channel_tls_handshake().
 */
QIOChannelTLS *qio_channel_tls_new_server(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *aclname,
                                          Error **errp);

/*
 * qio_channel_tls_new_client: as qio_channel_tls_new_server, for the
 * client side.  @hostname (may be NULL) is the name the server's
 * certificate must carry when @creds verify the peer.
 */
QIOChannelTLS *qio_channel_tls_new_client(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *hostname,
                                          Error **errp);

/*
 * qio_channel_tls_handshake: perform the TLS handshake as a QIOTask.
 * The first step runs at once in the calling thread; each further step
 * runs from a watch on the master channel attached to @context (NULL =
 * the default GMainContext), which the caller must run.  When the
 * handshake completes or fails, @func(task, @opaque) is called (from
 * that context, or directly from this call if the handshake finished or
 * failed in its first step); qio_task_propagate_error() tells the
 * outcome, including a peer certificate that did not verify.  @destroy
 * (may be NULL) frees @opaque afterwards.  The task holds a reference on
 * @ioc until then.  Closing the channel while the handshake runs ends it
 * with an Error.  One handshake per channel.
 */
void qio_channel_tls_handshake(QIOChannelTLS *ioc,
                               QIOTaskFunc func,
                               gpointer opaque,
                               GDestroyNotify destroy,
                               GMainContext *context);

/*
 * qio_channel_tls_get_session: the channel's TLS session (owned by the
 * channel), e.g. for qcrypto_tls_session_get_peer_name().
 */
QCryptoTLSSession *qio_channel_tls_get_session(QIOChannelTLS *ioc);

#endif /* QIO_CHANNEL_TLS_H */
