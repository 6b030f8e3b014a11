/*
 * QIOChannelTLS: TLS over another channel.
 *
 * What: the channel moves plaintext through a QCryptoTLSSession whose
 * transport callbacks read and write the master channel, so "would
 * block" on the master surfaces as QIO_CHANNEL_ERR_BLOCK here.  The
 * handshake is a QIOTask stepped by one-shot watches on the master.
 * Watches and fd handlers are the master's, with one addition: GnuTLS
 * decrypts whole records, so bytes can wait inside the session while
 * the master is not readable.  Our watch source is ready while such
 * bytes are pending, and a read handler installed while they are pending
 * is called from a bottom half, so nobody waits for data we already have.
 *
 * What not: no renegotiation, no fd passing, no seeking; no buffering of
 * our own beyond what GnuTLS keeps.
 *
 * Invariant: the sending side (writes and close_notify) runs under
 * @write_lock, and everything else only touches the receiving side, so
 * shutdown from another thread never races a writer inside GnuTLS.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "util/trace.h"
#include "qapi/error.h"
#include "qemu/atomic.h"
#include "io/channel-tls.h"

/* ---- transport callbacks for the session -------------------------------- */

static ssize_t master_write(const char *buf, size_t len, void *opaque,
                            Error **errp)
{
    QIOChannelTLS *tioc = opaque;

    return qio_channel_write(tioc->master, buf, len, errp);
}

static ssize_t master_read(char *buf, size_t len, void *opaque,
                           Error **errp)
{
    QIOChannelTLS *tioc = opaque;

    return qio_channel_read(tioc->master, buf, len, errp);
}

/* ---- construction ------------------------------------------------------- */

static QIOChannelTLS *tls_new(QIOChannel *master, QCryptoTLSCreds *creds,
                              const char *hostname, const char *aclname,
                              QCryptoTLSCredsEndpoint endpoint, Error **errp)
{
    QCryptoTLSSession *session;
    QIOChannelTLS *tioc;

    session = qcrypto_tls_session_new(creds, hostname, aclname, endpoint,
                                      errp);
    if (!session) {
        return NULL;
    }
    tioc = QIO_CHANNEL_TLS(object_new(TYPE_QIO_CHANNEL_TLS));
    tioc->master = QIO_CHANNEL(object_ref(master));
    tioc->session = session;
    if (qio_channel_has_feature(master, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        qio_channel_set_feature(QIO_CHANNEL(tioc),
                                QIO_CHANNEL_FEATURE_SHUTDOWN);
    }
    qcrypto_tls_session_set_callbacks(session, master_write, master_read,
                                      tioc);
    return tioc;
}

QIOChannelTLS *qio_channel_tls_new_server(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *aclname,
                                          Error **errp)
{
    return tls_new(master, creds, NULL, aclname,
                   QCRYPTO_TLS_CREDS_ENDPOINT_SERVER, errp);
}

QIOChannelTLS *qio_channel_tls_new_client(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *hostname,
                                          Error **errp)
{
    return tls_new(master, creds, hostname, NULL,
                   QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT, errp);
}

QCryptoTLSSession *qio_channel_tls_get_session(QIOChannelTLS *ioc)
{
    return ioc->session;
}

/* ---- handshake ---------------------------------------------------------- */

static void handshake_finish(QIOChannelTLS *tioc, Error *err)
{
    QIOTask *task = tioc->hs_task;

    tioc->hs_task = NULL;
    trace_qio_channel_tls_handshake_done(tioc, err == NULL);
    qio_task_set_error(task, err);
    qio_task_complete(task);
}

static void handshake_step(QIOChannelTLS *tioc, GMainContext *context);

static gboolean handshake_io(QIOChannel *master, GIOCondition condition,
                             gpointer opaque)
{
    QIOChannelTLS *tioc = opaque;
    GMainContext *context = g_source_get_context(tioc->hs_source);

    g_source_unref(tioc->hs_source);
    tioc->hs_source = NULL;
    handshake_step(tioc, context);
    return G_SOURCE_REMOVE;
}

static void handshake_step(QIOChannelTLS *tioc, GMainContext *context)
{
    Error *err = NULL;
    int status = qcrypto_tls_session_handshake(tioc->session, &err);
    GIOCondition cond;

    if (status < 0) {
        handshake_finish(tioc, err);
        return;
    }
    if (status == QCRYPTO_TLS_HANDSHAKE_COMPLETE) {
        handshake_finish(tioc, NULL);
        return;
    }
    cond = status == QCRYPTO_TLS_HANDSHAKE_SENDING ? G_IO_OUT : G_IO_IN;
    tioc->hs_source = qio_channel_add_watch_source(tioc->master, cond,
                                                   handshake_io, tioc, NULL,
                                                   context);
}

void qio_channel_tls_handshake(QIOChannelTLS *ioc,
                               QIOTaskFunc func,
                               gpointer opaque,
                               GDestroyNotify destroy,
                               GMainContext *context)
{
    assert(!ioc->hs_task);
    ioc->hs_task = qio_task_new(OBJECT(ioc), func, opaque, destroy);
    handshake_step(ioc, context);
}

/* Close while the handshake waits: stop it and report why. */
static void handshake_abort(QIOChannelTLS *tioc)
{
    Error *err = NULL;

    if (!tioc->hs_task) {
        return;
    }
    if (tioc->hs_source) {
        g_source_destroy(tioc->hs_source);
        g_source_unref(tioc->hs_source);
        tioc->hs_source = NULL;
    }
    error_setg(&err, "TLS channel closed during the handshake");
    handshake_finish(tioc, err);
}

/* ---- data --------------------------------------------------------------- */

static ssize_t tls_readv(QIOChannel *ioc, const struct iovec *iov,
                         size_t niov, int **fds, size_t *nfds, Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);
    bool graceful = qatomic_read(&tioc->shutdown) & QIO_CHANNEL_SHUTDOWN_READ;
    ssize_t got = 0;

    for (size_t i = 0; i < niov; i++) {
        ssize_t ret;

        /* Once we have data, take more only if it needs no waiting. */
        if (got && !qcrypto_tls_session_check_pending(tioc->session)) {
            break;
        }
        if (!iov[i].iov_len) {
            continue;
        }
        ret = qcrypto_tls_session_read(tioc->session, iov[i].iov_base,
                                       iov[i].iov_len, graceful, errp);
        if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
            return got ? got : QIO_CHANNEL_ERR_BLOCK;
        }
        if (ret < 0) {
            return -1;
        }
        got += ret;
        if (ret < iov[i].iov_len) {
            break;
        }
    }
    return got;
}

/* Send @len bytes of @buf, or as many as go without blocking. */
static ssize_t write_buf(QIOChannelTLS *tioc, const char *buf, size_t len,
                         Error **errp)
{
    size_t done = 0;

    while (done < len) {
        ssize_t ret = qcrypto_tls_session_write(tioc->session, buf + done,
                                                len - done, errp);
        if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
            return done ? done : QIO_CHANNEL_ERR_BLOCK;
        }
        if (ret < 0) {
            return -1;
        }
        done += ret;
    }
    return done;
}

static ssize_t tls_writev(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, int *fds, size_t nfds, Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);
    ssize_t got = 0;

    qemu_mutex_lock(&tioc->write_lock);
    for (size_t i = 0; i < niov; i++) {
        ssize_t ret = write_buf(tioc, iov[i].iov_base, iov[i].iov_len, errp);

        if (ret == QIO_CHANNEL_ERR_BLOCK || ret < 0) {
            got = got && ret == QIO_CHANNEL_ERR_BLOCK ? got : ret;
            break;
        }
        got += ret;
        if (ret < iov[i].iov_len) {
            break;
        }
    }
    qemu_mutex_unlock(&tioc->write_lock);
    return got;
}

/* ---- ending the session ------------------------------------------------- */

static gboolean note_writable(QIOChannel *ioc, GIOCondition condition,
                              gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

/* Whether @master can take a small write right now; never waits. */
static bool master_writable_now(QIOChannel *master)
{
    GMainContext *ctx = g_main_context_new();
    bool writable = false;
    GSource *src = qio_channel_add_watch_source(master, G_IO_OUT,
                                                note_writable, &writable,
                                                NULL, ctx);

    g_main_context_iteration(ctx, FALSE);
    g_source_destroy(src);
    g_source_unref(src);
    g_main_context_unref(ctx);
    return writable;
}

/*
 * Send close_notify once, if the session is up, no write is in progress
 * and it can go out without waiting.  Best effort: a peer that is gone
 * simply does not get it.
 */
static void send_bye(QIOChannelTLS *tioc)
{
    if (qcrypto_tls_session_get_handshake_status(tioc->session) !=
        QCRYPTO_TLS_HANDSHAKE_COMPLETE) {
        return;
    }
    if (qemu_mutex_trylock(&tioc->write_lock) != 0) {
        return;
    }
    if (!tioc->bye_sent && master_writable_now(tioc->master)) {
        tioc->bye_sent = true;
        qcrypto_tls_session_bye(tioc->session, NULL);
    }
    qemu_mutex_unlock(&tioc->write_lock);
}

static int tls_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                        Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);

    if (!qio_channel_has_feature(tioc->master,
                                 QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        error_setg(errp, "the channel under TLS does not support shutdown");
        return -1;
    }
    qatomic_or(&tioc->shutdown, how);
    if (how & QIO_CHANNEL_SHUTDOWN_WRITE) {
        send_bye(tioc);
    }
    return qio_channel_shutdown(tioc->master, how, errp);
}

static int tls_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);

    handshake_abort(tioc);
    if (!(qatomic_read(&tioc->shutdown) & QIO_CHANNEL_SHUTDOWN_WRITE)) {
        send_bye(tioc);
    }
    return qio_channel_close(tioc->master, errp);
}

/* ---- forwarded settings ------------------------------------------------- */

static int tls_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    return qio_channel_set_blocking(QIO_CHANNEL_TLS(ioc)->master, enabled,
                                    errp);
}

static void tls_set_delay(QIOChannel *ioc, bool enabled)
{
    qio_channel_set_delay(QIO_CHANNEL_TLS(ioc)->master, enabled);
}

static void tls_set_cork(QIOChannel *ioc, bool enabled)
{
    qio_channel_set_cork(QIO_CHANNEL_TLS(ioc)->master, enabled);
}

/* ---- watches ------------------------------------------------------------ */

/*
 * A watch on the TLS channel: a child watch on the master records what
 * it saw in @ready; this source dispatches when that is set or when the
 * session holds decrypted input (for G_IO_IN).
 */
typedef struct TLSSource {
    GSource parent;
    QIOChannelTLS *tioc;
    GIOCondition condition;
    GIOCondition ready;
} TLSSource;

static GIOCondition tls_source_ready(TLSSource *s)
{
    GIOCondition cond = s->ready;

    if ((s->condition & G_IO_IN) &&
        qcrypto_tls_session_check_pending(s->tioc->session)) {
        cond |= G_IO_IN;
    }
    return cond & s->condition;
}

static gboolean tls_source_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return tls_source_ready((TLSSource *)source) != 0;
}

static gboolean tls_source_check(GSource *source)
{
    return tls_source_ready((TLSSource *)source) != 0;
}

static gboolean tls_source_dispatch(GSource *source, GSourceFunc callback,
                                    gpointer user_data)
{
    TLSSource *s = (TLSSource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;
    GIOCondition cond = tls_source_ready(s);

    s->ready = 0;
    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(QIO_CHANNEL(s->tioc), cond, user_data);
}

static void tls_source_finalize(GSource *source)
{
    object_unref(((TLSSource *)source)->tioc);
}

static GSourceFuncs tls_source_funcs = {
    .prepare = tls_source_prepare,
    .check = tls_source_check,
    .dispatch = tls_source_dispatch,
    .finalize = tls_source_finalize,
};

static gboolean master_ready(QIOChannel *master, GIOCondition condition,
                             gpointer opaque)
{
    ((TLSSource *)opaque)->ready |= condition;
    return G_SOURCE_CONTINUE;
}

static GSource *tls_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);
    GSource *source = g_source_new(&tls_source_funcs, sizeof(TLSSource));
    TLSSource *s = (TLSSource *)source;
    GSource *child = qio_channel_create_watch(tioc->master, condition);

    s->tioc = QIO_CHANNEL_TLS(object_ref(tioc));
    s->condition = condition;
    g_source_set_callback(child, G_SOURCE_FUNC(master_ready), s, NULL);
    g_source_add_child_source(source, child);
    g_source_unref(child);
    if (ioc->name) {
        g_source_set_name(source, ioc->name);
    }
    return source;
}

/* ---- AioContext handlers ------------------------------------------------ */

/* A read handler to call because the session already holds input. */
typedef struct PendingRead {
    QIOChannelTLS *tioc;
    unsigned int gen;
    IOHandler *io_read;
    void *opaque;
} PendingRead;

static void pending_read_bh(void *opaque)
{
    PendingRead *p = opaque;

    /* Only if the handlers have not been changed since. */
    if (qatomic_read(&p->tioc->aio_gen) == p->gen) {
        p->io_read(p->opaque);
    }
    object_unref(p->tioc);
    g_free(p);
}

static void tls_set_aio_fd_handler(QIOChannel *ioc, AioContext *ctx,
                                   IOHandler *io_read, IOHandler *io_write,
                                   void *opaque)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);
    unsigned int gen = qatomic_inc_fetch(&tioc->aio_gen);
    PendingRead *p;

    qio_channel_set_aio_fd_handler(tioc->master, ctx, io_read, io_write,
                                   opaque);
    if (!io_read || !qcrypto_tls_session_check_pending(tioc->session)) {
        return;
    }
    p = g_new(PendingRead, 1);
    *p = (PendingRead) {
        .tioc = QIO_CHANNEL_TLS(object_ref(tioc)),
        .gen = gen,
        .io_read = io_read,
        .opaque = opaque,
    };
    aio_bh_schedule_oneshot(ctx, pending_read_bh, p);
}

/* ---- type --------------------------------------------------------------- */

static void tls_init(Object *obj)
{
    qemu_mutex_init(&QIO_CHANNEL_TLS(obj)->write_lock);
}

static void tls_finalize(Object *obj)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(obj);

    assert(!tioc->hs_task);
    object_unref(tioc->master);
    qcrypto_tls_session_free(tioc->session);
    qemu_mutex_destroy(&tioc->write_lock);
}

static void tls_class_init(ObjectClass *klass, void *data)
{
    QIOChannelClass *ioc_klass = QIO_CHANNEL_CLASS(klass);

    ioc_klass->io_writev = tls_writev;
    ioc_klass->io_readv = tls_readv;
    ioc_klass->io_close = tls_close;
    ioc_klass->io_create_watch = tls_create_watch;
    ioc_klass->io_set_blocking = tls_set_blocking;
    ioc_klass->io_shutdown = tls_shutdown;
    ioc_klass->io_set_delay = tls_set_delay;
    ioc_klass->io_set_cork = tls_set_cork;
    ioc_klass->io_set_aio_fd_handler = tls_set_aio_fd_handler;
}

static const TypeInfo tls_info = {
    .name = TYPE_QIO_CHANNEL_TLS,
    .parent = TYPE_QIO_CHANNEL,
    .instance_size = sizeof(QIOChannelTLS),
    .instance_init = tls_init,
    .instance_finalize = tls_finalize,
    .class_init = tls_class_init,
};

static void register_tls_types(void)
{
    type_register_static(&tls_info);
}

type_init(register_tls_types)
