/*
 * QIOChannelWebsock: the server side of the WebSocket protocol (RFC 6455)
 * as a byte-stream channel layered on another channel (the "master",
 * normally a QIOChannelSocket or a QIOChannelTLS).
 *
 * Life cycle: qio_channel_websock_new_server() wraps an accepted
 * connection; qio_channel_websock_handshake() then answers the client's
 * HTTP upgrade request.  Only once that has completed successfully do
 * reads and writes carry data; before it they fail with an Error.
 *
 * The opening handshake accepts a GET request for any path with Host,
 * "Upgrade: websocket", "Connection: Upgrade", a Sec-WebSocket-Key of 16
 * bytes in base64 and "Sec-WebSocket-Version: 13".  Subprotocols: a
 * request without Sec-WebSocket-Protocol is accepted as is; one that
 * offers "binary" is accepted and answered with "binary"; one that offers
 * only other subprotocols is refused.  No extension is ever accepted.  A
 * request that does not qualify gets an HTTP error reply before the task
 * fails: 400 Bad Request (malformed or unterminated header, a header
 * longer than 4096 bytes, HTTP older than 1.1, missing Host, missing or
 * invalid key, missing version), 405 Method Not Allowed (not GET), 426
 * Upgrade Required (missing Upgrade/Connection tokens, or a version other
 * than 13; the reply names version 13) or 403 Forbidden (no acceptable
 * subprotocol).
 *
 * Data: reads return the payload bytes of the client's data frames as one
 * byte stream; message boundaries are not preserved, fragmented messages
 * are joined, and text frames are delivered as raw bytes like binary ones
 * (their UTF-8 is not checked).  Each write sends one unmasked binary
 * frame of up to 256 KiB (a longer write sends a 256 KiB frame and
 * reports a short count).  Pings are answered with pongs carrying the
 * same payload, except while more than 320 KiB of output is queued (a
 * client flooding pings without reading); pongs are ignored.
 *
 * Protocol errors fail the read with an Error after a close frame has
 * been queued for the client: status 1002 for an unmasked frame, RSV bits
 * set, a reserved opcode, a fragmented or over-long (> 125 bytes) control
 * frame, a continuation frame out of place, or an invalid close status;
 * 1009 for a frame whose payload exceeds 16 MiB; 1007 for a close reason
 * that is not UTF-8.  The failure is sticky: later reads and writes fail
 * with the same Error.  A close frame from the client is answered with a
 * close frame carrying the same status and reads then return end-of-file
 * (0); later writes fail.
 * The master closing the connection between frames also reads as
 * end-of-file; closing it in the middle of a frame is an error.
 * qio_channel_close() queues a close frame (status 1000) unless one was
 * sent, makes one attempt to write the queued output (which blocks when
 * the master is in blocking mode and the client does not read), then
 * closes the master.  qio_channel_shutdown(), set_delay and set_cork are
 * passed to the master.
 *
 * Threads and event loops: like every channel, used by one thread at a
 * time.  The handshake is driven by watches on the master attached to
 * the global default GMainContext (as QEMU does): someone must run it.
 * Encoded output that the master could not take at once is kept inside
 * the channel and drained by the next read or write, by any watch on the
 * channel (whatever GMainContext it runs in), and, for coroutines, by an
 * fd handler on the master in the AioContext the coroutine runs in.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_WEBSOCK_H
#define QIO_CHANNEL_WEBSOCK_H

#include "io/channel.h"
#include "io/task.h"

#define TYPE_QIO_CHANNEL_WEBSOCK "qio-channel-websock"
OBJECT_DECLARE_SIMPLE_TYPE(QIOChannelWebsock, QIO_CHANNEL_WEBSOCK)

/*
 * qio_channel_websock_new_server: a WebSocket server channel on @master,
 * which carries the client's connection and on which nothing has been
 * read yet.  Takes its own reference on @master; closing or finalizing
 * the WebSocket channel closes or releases the master too.  The channel
 * has QIO_CHANNEL_FEATURE_SHUTDOWN when @master has it (shutdown is
 * forwarded).  Returns a new channel with one reference.  Any thread.
 */
QIOChannelWebsock *qio_channel_websock_new_server(QIOChannel *master);

/*
 * qio_channel_websock_handshake: answer the client's HTTP upgrade
 * request.  Returns at once; the request is read and the reply written
 * from watches on the master in the default GMainContext, in whatever
 * mode (blocking or not) the master is in.  When the reply has been
 * written, the task completes: @func(task, @opaque) is called in the
 * thread running the default GMainContext, with qio_task_get_source()
 * being @ioc.  qio_task_propagate_error() then gives the reason the
 * upgrade was refused, or the I/O error that stopped it; on success the
 * channel is ready for data.  @destroy (may be NULL) frees @opaque after
 * @func has run.  The task holds a reference on @ioc until it completes.
 * Closing @ioc before then fails the task from inside
 * qio_channel_close().  Call at most once per channel; the thread that
 * owns @ioc.
 */
void qio_channel_websock_handshake(QIOChannelWebsock *ioc,
                                   QIOTaskFunc func,
                                   gpointer opaque,
                                   GDestroyNotify destroy);

#endif /* QIO_CHANNEL_WEBSOCK_H */
