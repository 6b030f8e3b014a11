/*
 * QIOChannelSocket: the channel class for sockets.  I/O is one system
 * call per call: recvmsg/sendmsg with SCM_RIGHTS control messages when
 * descriptors are passed (UNIX sockets), recv/send or readv/sendmsg
 * otherwise.  Connect, listen and datagram
 * set-up use the blocking helpers of qemu/sockets.h, directly (_sync) or
 * from a QIOTask worker thread (_async).
 *
 * Not here: resolving several addresses into several listeners (that is
 * QIONetListener) and any buffering: a short read or write is returned
 * as is and the base class's _all helpers loop.
 *
 * Key invariant: sioc->fd is -1 or a socket owned by the channel; it is
 * set once during set-up and cleared once by close.  Shutdown reads it
 * atomically so that it may run from any thread while another thread is
 * blocked in I/O on the same channel.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "util/trace.h"
#include "io/channel-socket.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "qemu/atomic.h"
#include <netinet/in.h>
#include <netinet/tcp.h>

/* Room for the largest SCM_RIGHTS message, aligned for cmsghdr. */
typedef union FdControl {
    char buf[CMSG_SPACE(sizeof(int) * SOCKET_MAX_FDS)];
    struct cmsghdr align;
} FdControl;

/* ---- set-up ------------------------------------------------------------- */

QIOChannelSocket *qio_channel_socket_new(void)
{
    return QIO_CHANNEL_SOCKET(object_new(TYPE_QIO_CHANNEL_SOCKET));
}

/* Record the addresses of @fd, then adopt it; false leaves @fd alone. */
static bool socket_set_fd(QIOChannelSocket *sioc, int fd, Error **errp)
{
    QIOChannel *ioc = QIO_CHANNEL(sioc);
    socklen_t ilen = sizeof(int);
    int listening = 0;

    if (!fd_is_socket(fd)) {
        error_setg(errp, "fd %d is not a socket", fd);
        return false;
    }
    sioc->remoteAddrLen = sizeof(sioc->remoteAddr);
    if (getpeername(fd, (struct sockaddr *)&sioc->remoteAddr,
                    &sioc->remoteAddrLen) < 0) {
        if (errno != ENOTCONN) {
            error_setg_errno(errp, errno, "unable to query remote socket "
                             "address");
            return false;
        }
        sioc->remoteAddrLen = 0;
    }
    sioc->localAddrLen = sizeof(sioc->localAddr);
    if (getsockname(fd, (struct sockaddr *)&sioc->localAddr,
                    &sioc->localAddrLen) < 0) {
        error_setg_errno(errp, errno, "unable to query local socket address");
        return false;
    }
    if (sioc->localAddr.ss_family == AF_UNIX) {
        qio_channel_set_feature(ioc, QIO_CHANNEL_FEATURE_FD_PASS);
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) == 0 &&
        listening) {
        qio_channel_set_feature(ioc, QIO_CHANNEL_FEATURE_LISTEN);
    }
    qatomic_set(&sioc->fd, fd);
    return true;
}

QIOChannelSocket *qio_channel_socket_new_fd(int fd, Error **errp)
{
    QIOChannelSocket *sioc = qio_channel_socket_new();

    if (!socket_set_fd(sioc, fd, errp)) {
        object_unref(sioc);
        return NULL;
    }
    return sioc;
}

static bool check_unset(QIOChannelSocket *sioc, Error **errp)
{
    if (sioc->fd >= 0) {
        error_setg(errp, "socket channel already has a socket");
        return false;
    }
    return true;
}

/* Adopt @fd (from a sockets.h helper), closing it if that fails. */
static int adopt_fd(QIOChannelSocket *sioc, int fd, Error **errp)
{
    if (fd < 0) {
        return -1;
    }
    if (!socket_set_fd(sioc, fd, errp)) {
        close(fd);
        return -1;
    }
    return 0;
}

int qio_channel_socket_connect_sync(QIOChannelSocket *ioc,
                                    SocketAddress *addr,
                                    Error **errp)
{
    if (!check_unset(ioc, errp)) {
        return -1;
    }
    int ret;

    ret = adopt_fd(ioc, socket_connect(addr, errp), errp);
    trace_qio_channel_socket_connect(ioc, ret);
    return ret;
}

int qio_channel_socket_listen_sync(QIOChannelSocket *ioc,
                                   SocketAddress *addr,
                                   int num,
                                   Error **errp)
{
    if (!check_unset(ioc, errp)) {
        return -1;
    }
    if (adopt_fd(ioc, socket_listen(addr, num, errp), errp) < 0) {
        trace_qio_channel_socket_listen(ioc, -1);
        return -1;
    }
    trace_qio_channel_socket_listen(ioc, 0);
    /* An "fd:" listener may have been a plain socket a moment ago. */
    qio_channel_set_feature(QIO_CHANNEL(ioc), QIO_CHANNEL_FEATURE_LISTEN);
    return 0;
}

int qio_channel_socket_dgram_sync(QIOChannelSocket *ioc,
                                  SocketAddress *localAddr,
                                  SocketAddress *remoteAddr,
                                  Error **errp)
{
    if (!check_unset(ioc, errp)) {
        return -1;
    }
    return adopt_fd(ioc, socket_dgram(remoteAddr, localAddr, errp), errp);
}

/* ---- asynchronous set-up ------------------------------------------------ */

/* What a worker thread needs; freed once the worker has returned. */
typedef struct SocketWorkerData {
    SocketAddress *addr;        /* connect/listen address, dgram remote */
    SocketAddress *local;       /* dgram only; may be NULL */
    int num;                    /* listen backlog */
} SocketWorkerData;

static void worker_data_free(gpointer opaque)
{
    SocketWorkerData *data = opaque;

    qapi_free_SocketAddress(data->addr);
    qapi_free_SocketAddress(data->local);
    g_free(data);
}

static SocketWorkerData *worker_data_new(SocketAddress *addr,
                                         SocketAddress *local, int num)
{
    SocketWorkerData *data = g_new0(SocketWorkerData, 1);

    data->addr = socket_address_clone(addr);
    data->local = local ? socket_address_clone(local) : NULL;
    data->num = num;
    return data;
}

static void connect_worker(QIOTask *task, gpointer opaque)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(qio_task_get_source(task));
    SocketWorkerData *data = opaque;
    Error *err = NULL;

    qio_channel_socket_connect_sync(sioc, data->addr, &err);
    qio_task_set_error(task, err);
}

static void listen_worker(QIOTask *task, gpointer opaque)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(qio_task_get_source(task));
    SocketWorkerData *data = opaque;
    Error *err = NULL;

    qio_channel_socket_listen_sync(sioc, data->addr, data->num, &err);
    qio_task_set_error(task, err);
}

static void dgram_worker(QIOTask *task, gpointer opaque)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(qio_task_get_source(task));
    SocketWorkerData *data = opaque;
    Error *err = NULL;

    qio_channel_socket_dgram_sync(sioc, data->local, data->addr, &err);
    qio_task_set_error(task, err);
}

static void run_worker(QIOChannelSocket *ioc, QIOTaskWorker worker,
                       SocketWorkerData *data, QIOTaskFunc callback,
                       gpointer opaque, GDestroyNotify destroy,
                       GMainContext *context)
{
    QIOTask *task = qio_task_new(OBJECT(ioc), callback, opaque, destroy);

    qio_task_run_in_thread(task, worker, data, worker_data_free, context);
}

void qio_channel_socket_connect_async(QIOChannelSocket *ioc,
                                      SocketAddress *addr,
                                      QIOTaskFunc callback,
                                      gpointer opaque,
                                      GDestroyNotify destroy,
                                      GMainContext *context)
{
    run_worker(ioc, connect_worker, worker_data_new(addr, NULL, 0),
               callback, opaque, destroy, context);
}

void qio_channel_socket_listen_async(QIOChannelSocket *ioc,
                                     SocketAddress *addr,
                                     int num,
                                     QIOTaskFunc callback,
                                     gpointer opaque,
                                     GDestroyNotify destroy,
                                     GMainContext *context)
{
    run_worker(ioc, listen_worker, worker_data_new(addr, NULL, num),
               callback, opaque, destroy, context);
}

void qio_channel_socket_dgram_async(QIOChannelSocket *ioc,
                                    SocketAddress *localAddr,
                                    SocketAddress *remoteAddr,
                                    QIOTaskFunc callback,
                                    gpointer opaque,
                                    GDestroyNotify destroy,
                                    GMainContext *context)
{
    run_worker(ioc, dgram_worker, worker_data_new(remoteAddr, localAddr, 0),
               callback, opaque, destroy, context);
}

/* ---- addresses and accept ----------------------------------------------- */

static bool check_open(QIOChannelSocket *sioc, Error **errp)
{
    if (sioc->fd < 0) {
        error_setg(errp, "socket channel has no open socket");
        return false;
    }
    return true;
}

SocketAddress *qio_channel_socket_get_local_address(QIOChannelSocket *ioc,
                                                    Error **errp)
{
    if (!check_open(ioc, errp)) {
        return NULL;
    }
    return socket_local_address(ioc->fd, errp);
}

SocketAddress *qio_channel_socket_get_remote_address(QIOChannelSocket *ioc,
                                                     Error **errp)
{
    if (!ioc->remoteAddrLen) {
        error_setg(errp, "socket is not connected");
        return NULL;
    }
    return socket_sockaddr_to_address(&ioc->remoteAddr, ioc->remoteAddrLen,
                                      errp);
}

QIOChannelSocket *qio_channel_socket_accept(QIOChannelSocket *ioc,
                                            Error **errp)
{
    QIOChannelSocket *cioc;
    int fd;

    if (!check_open(ioc, errp)) {
        return NULL;
    }
    fd = RETRY_ON_EINTR(qemu_accept(ioc->fd, NULL, NULL));
    if (fd < 0) {
        error_setg_errno(errp, errno, "unable to accept connection");
        return NULL;
    }
    cioc = qio_channel_socket_new_fd(fd, errp);
    if (!cioc) {
        close(fd);
    }
    trace_qio_channel_socket_accept(ioc, cioc);
    return cioc;
}

/* ---- I/O ---------------------------------------------------------------- */

/* Append the descriptors of every SCM_RIGHTS message in @msg. */
static void collect_fds(struct msghdr *msg, int **fds, size_t *nfds)
{
    struct cmsghdr *cmsg;

    *fds = NULL;
    *nfds = 0;
    for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
        size_t n;

        if (cmsg->cmsg_level != SOL_SOCKET ||
            cmsg->cmsg_type != SCM_RIGHTS ||
            cmsg->cmsg_len < CMSG_LEN(0)) {
            continue;
        }
        n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        *fds = g_renew(int, *fds, *nfds + n);
        memcpy(*fds + *nfds, CMSG_DATA(cmsg), n * sizeof(int));
        *nfds += n;
    }
}

/*
 * One receive.  Without somewhere to put descriptors, recvmsg() would
 * get no control buffer, and the kernel then drops any descriptors that
 * arrive (as it does for read()); so plain recv()/readv() do the same
 * job with less work per call.  recvmsg() is kept for callers that take
 * descriptors.
 */
static ssize_t socket_recv(int fd, const struct iovec *iov, size_t niov,
                           struct msghdr *msg, FdControl *control,
                           bool want_fds)
{
    if (want_fds) {
        *msg = (struct msghdr) {
            .msg_iov = (struct iovec *)iov,
            .msg_iovlen = MIN(niov, IOV_MAX),
            .msg_control = control->buf,
            .msg_controllen = sizeof(control->buf),
        };
        return recvmsg(fd, msg, MSG_CMSG_CLOEXEC);
    }
    if (niov == 1) {
        return recv(fd, iov[0].iov_base, iov[0].iov_len, 0);
    }
    return readv(fd, iov, MIN(niov, IOV_MAX));
}

static ssize_t socket_readv(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, int **fds, size_t *nfds,
                            Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    bool want_fds = fds && nfds;
    FdControl control;
    struct msghdr msg;
    ssize_t ret;

    if (!check_open(sioc, errp)) {
        return -1;
    }
    ret = RETRY_ON_EINTR(socket_recv(sioc->fd, iov, niov, &msg, &control,
                                     want_fds));
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "unable to read from socket");
        return -1;
    }
    if (want_fds) {
        /* The buffer fits SCM_MAX_FD descriptors, so none are cut off. */
        collect_fds(&msg, fds, nfds);
    }
    return ret;
}

static ssize_t socket_writev(QIOChannel *ioc, const struct iovec *iov,
                             size_t niov, int *fds, size_t nfds,
                             Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    FdControl control;
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = MIN(niov, IOV_MAX),
    };
    ssize_t ret;

    if (!check_open(sioc, errp)) {
        return -1;
    }
    if (nfds > SOCKET_MAX_FDS) {
        error_setg(errp, "cannot pass more than %d file descriptors at once",
                   SOCKET_MAX_FDS);
        return -1;
    }
    if (nfds) {
        struct cmsghdr *cmsg;

        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }
    /*
     * One buffer and no descriptors: send() is the same operation with
     * less to copy in.  Not write()/writev(), which raise SIGPIPE.
     */
    if (niov == 1 && !nfds) {
        ret = RETRY_ON_EINTR(send(sioc->fd, iov[0].iov_base, iov[0].iov_len,
                                  MSG_NOSIGNAL));
    } else {
        ret = RETRY_ON_EINTR(sendmsg(sioc->fd, &msg, MSG_NOSIGNAL));
    }
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "unable to write to socket");
        return -1;
    }
    return ret;
}

/* ---- control ------------------------------------------------------------ */

static int socket_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    int ret;

    if (!check_open(sioc, errp)) {
        return -1;
    }
    ret = qemu_set_blocking(sioc->fd, enabled);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "unable to make socket %sblocking",
                         enabled ? "" : "non-");
        return -1;
    }
    return 0;
}

static bool is_tcp(QIOChannelSocket *sioc)
{
    return sioc->fd >= 0 && (sioc->localAddr.ss_family == AF_INET ||
                             sioc->localAddr.ss_family == AF_INET6);
}

static void socket_set_delay(QIOChannel *ioc, bool enabled)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    int nodelay = !enabled;

    if (is_tcp(sioc)) {
        setsockopt(sioc->fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
                   sizeof(nodelay));
    }
}

static void socket_set_cork_cb(QIOChannel *ioc, bool enabled)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);

    if (is_tcp(sioc)) {
        socket_set_cork(sioc->fd, enabled);
    }
}

static int socket_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                           Error **errp)
{
    int fd = qatomic_read(&QIO_CHANNEL_SOCKET(ioc)->fd);
    int sockhow = how == QIO_CHANNEL_SHUTDOWN_READ ? SHUT_RD :
                  how == QIO_CHANNEL_SHUTDOWN_WRITE ? SHUT_WR : SHUT_RDWR;

    if (fd < 0) {
        error_setg(errp, "socket channel has no open socket");
        return -1;
    }
    if (shutdown(fd, sockhow) < 0) {
        error_setg_errno(errp, errno, "unable to shut down socket");
        return -1;
    }
    return 0;
}

/* Close the socket, first removing a UNIX listener's file. */
static int close_fd(QIOChannelSocket *sioc, Error **errp)
{
    int fd = sioc->fd;
    bool ok = true;

    if (qio_channel_has_feature(QIO_CHANNEL(sioc),
                                QIO_CHANNEL_FEATURE_LISTEN)) {
        ok = socket_listen_cleanup(fd, errp);
    }
    qatomic_set(&sioc->fd, -1);
    /* Linux frees the descriptor even when close fails: never retry. */
    if (close(fd) < 0 && errno != EINTR && ok) {
        error_setg_errno(errp, errno, "unable to close socket");
        ok = false;
    }
    return ok ? 0 : -1;
}

static int socket_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);

    /* Closing twice (or a channel that never had a socket) is harmless. */
    if (sioc->fd < 0) {
        return 0;
    }
    return close_fd(sioc, errp);
}

static GSource *socket_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    return qio_channel_create_socket_watch(ioc, QIO_CHANNEL_SOCKET(ioc)->fd,
                                           condition);
}

static void socket_set_aio_fd_handler(QIOChannel *ioc, AioContext *ctx,
                                      IOHandler *io_read,
                                      IOHandler *io_write, void *opaque)
{
    int fd = QIO_CHANNEL_SOCKET(ioc)->fd;

    if (fd >= 0) {
        aio_set_fd_handler(ctx, fd, io_read, io_write, opaque);
    }
}

/* ---- type --------------------------------------------------------------- */

static void socket_init(Object *obj)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(obj);

    sioc->fd = -1;
    qio_channel_set_feature(QIO_CHANNEL(obj), QIO_CHANNEL_FEATURE_SHUTDOWN);
}

static void socket_finalize(Object *obj)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(obj);

    if (sioc->fd >= 0) {
        close_fd(sioc, NULL);
    }
}

static void socket_class_init(ObjectClass *klass, void *data)
{
    QIOChannelClass *ioc_klass = QIO_CHANNEL_CLASS(klass);

    ioc_klass->io_readv = socket_readv;
    ioc_klass->io_writev = socket_writev;
    ioc_klass->io_close = socket_close;
    ioc_klass->io_create_watch = socket_create_watch;
    ioc_klass->io_set_blocking = socket_set_blocking;
    ioc_klass->io_shutdown = socket_shutdown;
    ioc_klass->io_set_delay = socket_set_delay;
    ioc_klass->io_set_cork = socket_set_cork_cb;
    ioc_klass->io_set_aio_fd_handler = socket_set_aio_fd_handler;
}

static const TypeInfo socket_info = {
    .name = TYPE_QIO_CHANNEL_SOCKET,
    .parent = TYPE_QIO_CHANNEL,
    .instance_size = sizeof(QIOChannelSocket),
    .instance_init = socket_init,
    .instance_finalize = socket_finalize,
    .class_init = socket_class_init,
};

static void socket_register_types(void)
{
    type_register_static(&socket_info);
}

type_init(socket_register_types);
