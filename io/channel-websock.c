/*
 * QIOChannelWebsock: a WebSocket server (RFC 6455) as a byte-stream
 * channel over a master channel.  This file holds the channel class: the
 * output queue, the read and write paths, the watches and fd handlers
 * that keep buffered output moving, and close/shutdown.  The handshake
 * (parser and its state machine) is in websock-handshake.c; the frame
 * codec and the decoder that feeds readers are in websock-frame.c; the
 * state they share is declared in websock-priv.h.
 *
 * What it does not do: the client side, extensions, or message
 * boundaries (readers see one byte stream).
 *
 * Data flows through three buffers:
 *   encin   bytes read from the master and not yet decoded (at most one
 *           partial frame header or control frame, or the header of the
 *           handshake while it runs);
 *   rawin   decoded payload bytes waiting for a reader;
 *   encout  encoded frames (and the handshake reply) not yet written to
 *           the master.
 * Key invariant: encout only ever grows by whole frames, and a frame is
 * appended whole before any of it is written, so a short write on the
 * master can never split or interleave frames; a write is reported as
 * accepted once its frame is in encout.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-websock.h"
#include "io/websock-priv.h"
#include "qapi/error.h"
#include "qemu/iov.h"

/* How much to ask the master for per read once framing is on. */
#define WS_READ_CHUNK (64 * 1024)

/* ---- state helpers ------------------------------------------------- */

static bool at_eof(QIOChannelWebsock *wioc)
{
    return wioc->close_received || wioc->master_eof;
}

/* Record the first failure; later ones are dropped. */
void qio_websock_set_error(QIOChannelWebsock *wioc, Error *err)
{
    if (wioc->io_err) {
        error_free(err);
    } else {
        wioc->io_err = err;
    }
}

static int report_io_err(QIOChannelWebsock *wioc, Error **errp)
{
    error_propagate(errp, error_copy(wioc->io_err));
    return -1;
}

/* Queue one whole unmasked frame. */
void qio_websock_queue_frame(QIOChannelWebsock *wioc, uint8_t opcode,
                             const void *payload, size_t len)
{
    uint8_t hdr[QIO_WEBSOCK_MAX_FRAME_HEADER];
    size_t hlen = qio_websock_frame_header_encode(hdr, opcode, true, len);

    wsbuf_append(&wioc->encout, hdr, hlen);
    wsbuf_append(&wioc->encout, payload, len);
}

/* Queue our close frame with @code (0: no status), once. */
void qio_websock_queue_close(QIOChannelWebsock *wioc, uint16_t code)
{
    uint8_t payload[2] = { code >> 8, code & 0xff };

    if (wioc->close_sent) {
        return;
    }
    qio_websock_queue_frame(wioc, QIO_WEBSOCK_OP_CLOSE, payload, code ? 2 : 0);
    wioc->close_sent = true;
}

/*
 * Write encout to the master.  Returns 0 once it is empty,
 * QIO_CHANNEL_ERR_BLOCK if the master would block first, -1 on error
 * (the queued output is then dropped: the connection is broken).
 */
int qio_websock_flush(QIOChannelWebsock *wioc, Error **errp)
{
    while (wsbuf_len(&wioc->encout)) {
        ssize_t n = qio_channel_write(wioc->master,
                                      (char *)wsbuf_head(&wioc->encout),
                                      wsbuf_len(&wioc->encout), errp);
        if (n == QIO_CHANNEL_ERR_BLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        if (n < 0) {
            wsbuf_consume(&wioc->encout, wsbuf_len(&wioc->encout));
            return -1;
        }
        wsbuf_consume(&wioc->encout, n);
    }
    return 0;
}

/* As qio_websock_flush, but a failure is recorded rather than returned. */
void qio_websock_flush_quietly(QIOChannelWebsock *wioc)
{
    Error *err = NULL;

    if (qio_websock_flush(wioc, &err) < 0) {
        qio_websock_set_error(wioc, err);
    }
}

/*
 * Read once from the master into encin and decode.  Returns what the
 * master read returned: bytes read, 0 at end-of-file, ERR_BLOCK, or -1
 * with @errp set.
 */
static ssize_t fill_input(QIOChannelWebsock *wioc, Error **errp)
{
    uint8_t *dst = wsbuf_reserve(&wioc->encin, WS_READ_CHUNK);
    ssize_t n = qio_channel_read(wioc->master, (char *)dst, WS_READ_CHUNK,
                                 errp);

    if (n > 0) {
        wioc->encin.end += n;
        qio_websock_decode_input(wioc);
    } else if (n == 0) {
        qio_websock_note_master_eof(wioc);
    }
    return n;
}

/* ---- fd handler forwarding (coroutines) ---------------------------- */

static void update_aio_handlers(QIOChannelWebsock *wioc);

static void aio_read_ready(void *opaque)
{
    QIOChannelWebsock *wioc = opaque;

    if (wioc->aio_read) {
        wioc->aio_read(wioc->aio_opaque);
    }
}

/* The master can take output: drain ours, then wake a waiting writer. */
static void aio_write_ready(void *opaque)
{
    QIOChannelWebsock *wioc = opaque;

    if (wsbuf_len(&wioc->encout)) {
        qio_websock_flush_quietly(wioc);
    }
    if (!wsbuf_len(&wioc->encout) || wioc->io_err) {
        if (wioc->aio_write) {
            wioc->aio_write(wioc->aio_opaque);
        } else {
            update_aio_handlers(wioc);
        }
    }
}

/*
 * Install on the master what the yielding coroutines asked for, plus our
 * own write handler while output is queued.
 */
static void update_aio_handlers(QIOChannelWebsock *wioc)
{
    bool flush = wsbuf_len(&wioc->encout) && !wioc->io_err;
    IOHandler *rd = wioc->aio_read ? aio_read_ready : NULL;
    IOHandler *wr = (wioc->aio_write || flush) ? aio_write_ready : NULL;

    if (!wioc->aio_ctx) {
        return;
    }
    wioc->aio_flushing = flush;
    qio_channel_set_aio_fd_handler(wioc->master, wioc->aio_ctx, rd, wr,
                                   (rd || wr) ? wioc : NULL);
    if (!rd && !wr) {
        wioc->aio_ctx = NULL;
    }
}

/*
 * Output stayed queued after a write: make sure an event loop drains it
 * even if no one waits on the channel.  In a coroutine that is the fd
 * handler in its AioContext; GLib users drain through their watches.
 */
static void arm_background_flush(QIOChannelWebsock *wioc)
{
    if (wioc->aio_flushing || !wsbuf_len(&wioc->encout)) {
        return;
    }
    if (!wioc->aio_ctx && qemu_in_coroutine()) {
        wioc->aio_ctx = wioc->parent.ctx ? wioc->parent.ctx :
            qemu_get_current_aio_context();
    }
    update_aio_handlers(wioc);
}

static void websock_set_aio_fd_handler(QIOChannel *ioc, AioContext *ctx,
                                       IOHandler *io_read,
                                       IOHandler *io_write, void *opaque)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(ioc);

    if (wioc->aio_ctx && wioc->aio_ctx != ctx) {
        qio_channel_set_aio_fd_handler(wioc->master, wioc->aio_ctx,
                                       NULL, NULL, NULL);
    }
    wioc->aio_ctx = ctx;
    wioc->aio_read = io_read;
    wioc->aio_write = io_write;
    wioc->aio_opaque = opaque;
    update_aio_handlers(wioc);
}

/* ---- data path ----------------------------------------------------- */

static bool check_ready(QIOChannelWebsock *wioc, Error **errp)
{
    if (!wioc->hs_done) {
        error_setg(errp, "websocket handshake has not completed");
        return false;
    }
    return true;
}

static ssize_t copy_out(QIOChannelWebsock *wioc, const struct iovec *iov,
                        size_t niov)
{
    size_t n = iov_from_buf(iov, niov, 0, wsbuf_head(&wioc->rawin),
                            wsbuf_len(&wioc->rawin));

    wsbuf_consume(&wioc->rawin, n);
    return n;
}

static ssize_t websock_readv(QIOChannel *ioc, const struct iovec *iov,
                             size_t niov, int **fds, size_t *nfds,
                             Error **errp)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(ioc);

    if (!check_ready(wioc, errp)) {
        return -1;
    }
    if (wsbuf_len(&wioc->encout) && !wioc->io_err) {
        qio_websock_flush_quietly(wioc);
    }
    for (;;) {
        ssize_t n;

        if (wsbuf_len(&wioc->rawin) || iov_size(iov, niov) == 0) {
            return copy_out(wioc, iov, niov);
        }
        if (wioc->io_err) {
            return report_io_err(wioc, errp);
        }
        if (at_eof(wioc)) {
            return 0;
        }
        n = fill_input(wioc, errp);
        if (n < 0) {
            return n;
        }
    }
}

/* Encode up to one frame's worth of @iov into encout; returns its size. */
static size_t encode_frame(QIOChannelWebsock *wioc, const struct iovec *iov,
                           size_t niov)
{
    size_t len = MIN(iov_size(iov, niov), QIO_WEBSOCK_MAX_OUT_FRAME);
    uint8_t hdr[QIO_WEBSOCK_MAX_FRAME_HEADER];
    size_t hlen = qio_websock_frame_header_encode(hdr, QIO_WEBSOCK_OP_BINARY,
                                                  true, len);
    uint8_t *dst;

    wsbuf_append(&wioc->encout, hdr, hlen);
    dst = wsbuf_reserve(&wioc->encout, len);
    iov_to_buf(iov, niov, 0, dst, len);
    wioc->encout.end += len;
    return len;
}

static bool check_writable(QIOChannelWebsock *wioc, Error **errp)
{
    if (!check_ready(wioc, errp)) {
        return false;
    }
    if (wioc->io_err) {
        report_io_err(wioc, errp);
        return false;
    }
    if (wioc->close_sent) {
        error_setg(errp, "websocket connection is closing: no more data "
                   "may be sent");
        return false;
    }
    return true;
}

static ssize_t websock_writev(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, int *fds, size_t nfds,
                              Error **errp)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(ioc);
    size_t done;
    int ret;

    if (!check_writable(wioc, errp)) {
        return -1;
    }
    ret = qio_websock_flush(wioc, errp);
    if (ret < 0) {
        return ret;     /* ERR_BLOCK: the previous frame is still queued */
    }
    if (iov_size(iov, niov) == 0) {
        return 0;
    }
    done = encode_frame(wioc, iov, niov);
    ret = qio_websock_flush(wioc, errp);
    if (ret == -1) {
        return -1;
    }
    if (ret == QIO_CHANNEL_ERR_BLOCK) {
        arm_background_flush(wioc);
    }
    return done;
}

/* ---- watches ------------------------------------------------------- */

/*
 * A watch on the WebSocket channel.  Its readiness comes from the
 * channel's buffers; a child watch on the master (for the conditions
 * that would change them) pumps bytes in and out.  The child's
 * conditions are recomputed from dispatch whenever they go stale.
 */
typedef struct WebsockSource {
    GSource source;
    QIOChannelWebsock *wioc;    /* referenced */
    GIOCondition condition;     /* what the user waits for */
    GSource *child;             /* watch on the master, or NULL */
    GIOCondition child_cond;    /* what @child polls for */
} WebsockSource;

static GIOCondition source_ready(WebsockSource *ws)
{
    QIOChannelWebsock *wioc = ws->wioc;
    GIOCondition ready = 0;

    if (!wioc->hs_done) {
        return 0;
    }
    if (wsbuf_len(&wioc->rawin) || wioc->io_err || at_eof(wioc)) {
        ready |= G_IO_IN;
    }
    if (!wsbuf_len(&wioc->encout) || wioc->io_err) {
        ready |= G_IO_OUT;
    }
    if (wioc->io_err) {
        ready |= G_IO_ERR;
    }
    if (at_eof(wioc)) {
        ready |= G_IO_HUP;
    }
    return ready & ws->condition;
}

/* What the master must be polled for to make progress. */
static GIOCondition source_child_cond(WebsockSource *ws)
{
    QIOChannelWebsock *wioc = ws->wioc;
    GIOCondition cond = 0;

    if (!wioc->hs_done || wioc->io_err) {
        return 0;
    }
    if (wsbuf_len(&wioc->encout)) {
        cond |= G_IO_OUT;
    }
    if ((ws->condition & (G_IO_IN | G_IO_HUP | G_IO_ERR)) &&
        !wsbuf_len(&wioc->rawin) && !at_eof(wioc)) {
        cond |= G_IO_IN;
    }
    return cond;
}

/* The child watch fired: move bytes; the parent judges readiness. */
static gboolean source_pump(QIOChannel *master, GIOCondition cond,
                            gpointer opaque)
{
    WebsockSource *ws = opaque;
    QIOChannelWebsock *wioc = ws->wioc;

    if (wsbuf_len(&wioc->encout) && !wioc->io_err) {
        qio_websock_flush_quietly(wioc);
    }
    if ((ws->child_cond & G_IO_IN) && !wsbuf_len(&wioc->rawin) &&
        !at_eof(wioc) && !wioc->io_err) {
        Error *err = NULL;

        if (fill_input(wioc, &err) == -1) {
            qio_websock_set_error(wioc, err);
        }
    }
    return G_SOURCE_CONTINUE;
}

static void source_refresh_child(WebsockSource *ws)
{
    GIOCondition want = source_child_cond(ws);

    if (want == ws->child_cond) {
        return;
    }
    if (ws->child) {
        g_source_remove_child_source(&ws->source, ws->child);
        g_source_unref(ws->child);
        ws->child = NULL;
    }
    ws->child_cond = want;
    if (want) {
        ws->child = qio_channel_create_watch(ws->wioc->master, want);
        g_source_set_callback(ws->child,
                              (GSourceFunc)(void (*)(void))source_pump,
                              ws, NULL);
        g_source_add_child_source(&ws->source, ws->child);
    }
}

static gboolean source_prepare(GSource *source, gint *timeout)
{
    WebsockSource *ws = (WebsockSource *)source;

    *timeout = -1;
    return source_ready(ws) ||
        source_child_cond(ws) != ws->child_cond;
}

static gboolean source_check(GSource *source)
{
    WebsockSource *ws = (WebsockSource *)source;

    return source_ready(ws) ||
        source_child_cond(ws) != ws->child_cond;
}

static gboolean source_dispatch(GSource *source, GSourceFunc callback,
                                gpointer user_data)
{
    WebsockSource *ws = (WebsockSource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;
    GIOCondition ready;

    source_refresh_child(ws);
    ready = source_ready(ws);
    if (!ready) {
        return G_SOURCE_CONTINUE;
    }
    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(QIO_CHANNEL(ws->wioc), ready, user_data);
}

static void source_finalize(GSource *source)
{
    WebsockSource *ws = (WebsockSource *)source;

    if (ws->child) {
        g_source_unref(ws->child);
    }
    object_unref(ws->wioc);
}

static GSourceFuncs websock_source_funcs = {
    .prepare = source_prepare,
    .check = source_check,
    .dispatch = source_dispatch,
    .finalize = source_finalize,
};

static GSource *websock_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(ioc);
    WebsockSource *ws;

    ws = (WebsockSource *)g_source_new(&websock_source_funcs,
                                       sizeof(WebsockSource));
    ws->wioc = wioc;
    object_ref(wioc);
    ws->condition = condition;
    source_refresh_child(ws);
    return &ws->source;
}

/* ---- control ------------------------------------------------------- */

/* Take every handler we installed on the master away. */
static void remove_aio_handlers(QIOChannelWebsock *wioc)
{
    if (wioc->aio_ctx) {
        qio_channel_set_aio_fd_handler(wioc->master, wioc->aio_ctx,
                                       NULL, NULL, NULL);
        wioc->aio_ctx = NULL;
    }
    wioc->aio_flushing = false;
}

static int websock_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(ioc);

    if (wioc->hs_task) {
        qio_websock_handshake_cancel(wioc);
    }
    if (wioc->hs_done && !wioc->io_err && !wioc->master_eof) {
        qio_websock_queue_close(wioc, QIO_WEBSOCK_CLOSE_NORMAL);
        qio_websock_flush(wioc, NULL);   /* best effort */
    }
    remove_aio_handlers(wioc);
    wsbuf_consume(&wioc->encout, wsbuf_len(&wioc->encout));
    return qio_channel_close(wioc->master, errp);
}

static int websock_set_blocking(QIOChannel *ioc, bool enabled,
                                Error **errp)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(ioc);

    return qio_channel_set_blocking(wioc->master, enabled, errp);
}

static int websock_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                            Error **errp)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(ioc);

    return qio_channel_shutdown(wioc->master, how, errp);
}

static void websock_set_delay(QIOChannel *ioc, bool enabled)
{
    qio_channel_set_delay(QIO_CHANNEL_WEBSOCK(ioc)->master, enabled);
}

static void websock_set_cork(QIOChannel *ioc, bool enabled)
{
    qio_channel_set_cork(QIO_CHANNEL_WEBSOCK(ioc)->master, enabled);
}

QIOChannelWebsock *qio_channel_websock_new_server(QIOChannel *master)
{
    QIOChannelWebsock *wioc;

    wioc = QIO_CHANNEL_WEBSOCK(object_new(TYPE_QIO_CHANNEL_WEBSOCK));
    wioc->master = QIO_CHANNEL(object_ref(master));
    if (qio_channel_has_feature(master, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        qio_channel_set_feature(QIO_CHANNEL(wioc),
                                QIO_CHANNEL_FEATURE_SHUTDOWN);
    }
    return wioc;
}

/* ---- type ---------------------------------------------------------- */

static void websock_finalize(Object *obj)
{
    QIOChannelWebsock *wioc = QIO_CHANNEL_WEBSOCK(obj);

    remove_aio_handlers(wioc);
    wsbuf_free(&wioc->encin);
    wsbuf_free(&wioc->rawin);
    wsbuf_free(&wioc->encout);
    error_free(wioc->io_err);
    error_free(wioc->hs_err);
    object_unref(wioc->master);
}

static void websock_class_init(ObjectClass *klass, void *data)
{
    QIOChannelClass *ioc_klass = QIO_CHANNEL_CLASS(klass);

    ioc_klass->io_writev = websock_writev;
    ioc_klass->io_readv = websock_readv;
    ioc_klass->io_close = websock_close;
    ioc_klass->io_create_watch = websock_create_watch;
    ioc_klass->io_set_blocking = websock_set_blocking;
    ioc_klass->io_shutdown = websock_shutdown;
    ioc_klass->io_set_delay = websock_set_delay;
    ioc_klass->io_set_cork = websock_set_cork;
    ioc_klass->io_set_aio_fd_handler = websock_set_aio_fd_handler;
}

static const TypeInfo websock_info = {
    .parent = TYPE_QIO_CHANNEL,
    .name = TYPE_QIO_CHANNEL_WEBSOCK,
    .instance_size = sizeof(QIOChannelWebsock),
    .instance_finalize = websock_finalize,
    .class_init = websock_class_init,
};

static void websock_register_types(void)
{
    type_register_static(&websock_info);
}

type_init(websock_register_types)

