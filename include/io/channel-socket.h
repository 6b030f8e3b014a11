/*
 * QIOChannelSocket: a channel over a stream (or datagram) socket: TCP over
 * IPv4 and IPv6, UNIX sockets in the file system or Linux's abstract
 * namespace, and sockets inherited as "fd:" addresses.
 *
 * Each read or write is one system call on the fd: recvmsg/sendmsg when
 * descriptors are passed (or asked for), recv/readv and send/sendmsg
 * otherwise.  Writes use MSG_NOSIGNAL, so a peer that has gone away gives
 * an Error ("unable to write to socket: Broken pipe"), never SIGPIPE.  A
 * non-blocking socket that cannot make progress returns
 * QIO_CHANNEL_ERR_BLOCK.
 *
 * Features:
 *   QIO_CHANNEL_FEATURE_SHUTDOWN  always (shutdown(2): thread-safe,
 *                                 wakes a reader blocked in another thread)
 *   QIO_CHANNEL_FEATURE_FD_PASS   on UNIX sockets: SCM_RIGHTS, up to
 *                                 SOCKET_MAX_FDS descriptors per message
 *   QIO_CHANNEL_FEATURE_LISTEN    on listening sockets (accept only)
 *
 * Received descriptors are close-on-exec.  They keep their file status
 * flags (O_NONBLOCK included), which they share with the sender's copy.
 * A message that carries descriptors the reader did not ask for (@fds
 * NULL) has them closed by the kernel; the data still arrives.
 *
 * qio_channel_set_delay(false) sets TCP_NODELAY, qio_channel_set_cork()
 * sets TCP_CORK; both are ignored on UNIX sockets.  Watches and AioContext
 * handlers poll the socket fd.
 *
 * Threads: a channel is used by one thread at a time (the *_async
 * functions hand it to a worker thread until their callback runs), except
 * for qio_channel_shutdown, which any thread may call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_SOCKET_H
#define QIO_CHANNEL_SOCKET_H

#include "io/channel.h"
#include "io/task.h"
#include "qemu/sockets.h"

#define TYPE_QIO_CHANNEL_SOCKET "qio-channel-socket"
OBJECT_DECLARE_SIMPLE_TYPE(QIOChannelSocket, QIO_CHANNEL_SOCKET)

/* Most descriptors one message may carry (Linux's SCM_MAX_FD). */
#define SOCKET_MAX_FDS 253

/*
 * QIOChannelSocket: @fd is owned by the channel (-1 before connect/listen
 * and after close).  @localAddr/@remoteAddr are the addresses the socket
 * had when it was set up (getsockname/getpeername); @remoteAddrLen is 0
 * while the socket has no peer (listeners, unconnected sockets).
 * Written only while the channel is being set up, read-only afterwards.
 */
struct QIOChannelSocket {
    QIOChannel parent;
    int fd;
    struct sockaddr_storage localAddr;
    socklen_t localAddrLen;
    struct sockaddr_storage remoteAddr;
    socklen_t remoteAddrLen;
};

/*
 * qio_channel_socket_new: a channel with no socket yet, to be given one by
 * a connect, listen or dgram function.  I/O on it fails with an Error
 * until then.  Any thread.
 */
QIOChannelSocket *qio_channel_socket_new(void);

/*
 * qio_channel_socket_new_fd: wrap the open socket @fd (ownership passes
 * to the channel on success; on failure the caller keeps it).  The fd's
 * blocking mode is kept; its features follow from what it is (UNIX: fd
 * passing, listening: LISTEN).  Returns NULL with @errp set when @fd is
 * not a socket.  Any thread.
 */
QIOChannelSocket *qio_channel_socket_new_fd(int fd,
                                            Error **errp);

/*
 * qio_channel_socket_connect_sync: connect the new channel @ioc to @addr
 * (see socket_connect: DNS and connect block the caller).  The socket is
 * in blocking mode.  Returns 0, or -1 with @errp set.  Not in an event
 * loop callback that must not stall: use the async variant there.
 */
int qio_channel_socket_connect_sync(QIOChannelSocket *ioc,
                                    SocketAddress *addr,
                                    Error **errp);

/*
 * qio_channel_socket_connect_async: connect @ioc to @addr in a worker
 * thread (@addr is copied; the caller may free it at once), then call
 * @callback(task, @opaque) from @context (NULL = default GMainContext),
 * where qio_task_propagate_error() tells the outcome.  @destroy (may be
 * NULL) frees @opaque after the callback.  The caller must leave @ioc
 * alone until the callback runs (the task holds a reference to it).
 */
void qio_channel_socket_connect_async(QIOChannelSocket *ioc,
                                      SocketAddress *addr,
                                      QIOTaskFunc callback,
                                      gpointer opaque,
                                      GDestroyNotify destroy,
                                      GMainContext *context);

/*
 * qio_channel_socket_listen_sync: make @ioc a listening socket on @addr
 * with a backlog of @num (see socket_listen), and set
 * QIO_CHANNEL_FEATURE_LISTEN.  Port 0 picks a free port: read it back
 * with qio_channel_socket_get_local_address.  Closing the channel removes
 * the socket file of a UNIX listener.  Returns 0, or -1 with @errp set.
 */
int qio_channel_socket_listen_sync(QIOChannelSocket *ioc,
                                   SocketAddress *addr,
                                   int num,
                                   Error **errp);

/*
 * qio_channel_socket_listen_async: qio_channel_socket_listen_sync in a
 * worker thread, completing as qio_channel_socket_connect_async does.
 */
void qio_channel_socket_listen_async(QIOChannelSocket *ioc,
                                     SocketAddress *addr,
                                     int num,
                                     QIOTaskFunc callback,
                                     gpointer opaque,
                                     GDestroyNotify destroy,
                                     GMainContext *context);

/*
 * qio_channel_socket_dgram_sync: make @ioc a datagram socket bound to
 * @localAddr (may be NULL: any) and connected to @remoteAddr (see
 * socket_dgram).  Each write sends one datagram, each read receives one.
 * Returns 0, or -1 with @errp set.
 */
int qio_channel_socket_dgram_sync(QIOChannelSocket *ioc,
                                  SocketAddress *localAddr,
                                  SocketAddress *remoteAddr,
                                  Error **errp);

/*
 * qio_channel_socket_dgram_async: qio_channel_socket_dgram_sync in a
 * worker thread, completing as qio_channel_socket_connect_async does.
 */
void qio_channel_socket_dgram_async(QIOChannelSocket *ioc,
                                    SocketAddress *localAddr,
                                    SocketAddress *remoteAddr,
                                    QIOTaskFunc callback,
                                    gpointer opaque,
                                    GDestroyNotify destroy,
                                    GMainContext *context);

/*
 * qio_channel_socket_get_local_address: the address @ioc is bound to,
 * queried now (so a port picked by the kernel shows).  Returns a new
 * SocketAddress, or NULL with @errp set (e.g. no socket).
 */
SocketAddress *qio_channel_socket_get_local_address(QIOChannelSocket *ioc,
                                                    Error **errp);

/*
 * qio_channel_socket_get_remote_address: the address of @ioc's peer, as
 * recorded when the connection was set up.  Returns a new SocketAddress,
 * or NULL with @errp set ("socket is not connected" for listeners and
 * unconnected sockets).
 */
SocketAddress *qio_channel_socket_get_remote_address(QIOChannelSocket *ioc,
                                                     Error **errp);

/*
 * qio_channel_socket_accept: accept one client on the listening channel
 * @ioc.  Blocks when @ioc is in blocking mode; when @ioc is non-blocking
 * and no client is waiting it fails at once (as QEMU's does) with
 * "unable to accept connection: Resource temporarily unavailable", so
 * wait for G_IO_IN on a watch first.  EINTR is retried.  The new channel
 * is in blocking mode, with FD_PASS when it is a UNIX socket.  Returns it
 * (one reference for the caller), or NULL with @errp set.  The thread
 * that owns @ioc.
 */
QIOChannelSocket *qio_channel_socket_accept(QIOChannelSocket *ioc,
                                            Error **errp);

#endif /* QIO_CHANNEL_SOCKET_H */
