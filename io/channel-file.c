/*
 * QIOChannelFile: a channel over a plain file descriptor (file, pipe,
 * FIFO, character device, or a socket used as a byte stream).
 *
 * What it does: maps reads, writes and seeks to readv/writev/lseek,
 * EAGAIN to QIO_CHANNEL_ERR_BLOCK, and errno to Error messages; watches
 * poll the fd, fd handlers go straight to aio_set_fd_handler.  When the
 * fd is a socket, shutdown(2) implements qio_channel_shutdown.  Writes to
 * pipes go through qio_channel_util_writev_fd so they never raise
 * SIGPIPE.
 * What it does not: pass descriptors, or buffer anything.
 * Key invariant: fd is -1 exactly when the channel is closed; every I/O
 * call checks that first.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-file.h"
#include "io/channel-util.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include <sys/socket.h>

QIOChannelFile *qio_channel_file_new_fd(int fd)
{
    QIOChannelFile *fioc;
    struct stat st;

    fioc = QIO_CHANNEL_FILE(object_new(TYPE_QIO_CHANNEL_FILE));
    fioc->fd = fd;
    if (fstat(fd, &st) < 0) {
        return fioc;    /* not open: every call will report it */
    }
    if (S_ISSOCK(st.st_mode)) {
        qio_channel_set_feature(QIO_CHANNEL(fioc),
                                QIO_CHANNEL_FEATURE_SHUTDOWN);
    }
    fioc->may_sigpipe = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
    return fioc;
}

QIOChannelFile *qio_channel_file_new_path(const char *path,
                                          int flags,
                                          mode_t mode,
                                          Error **errp)
{
    int fd = RETRY_ON_EINTR(open(path, flags | O_CLOEXEC, mode));

    if (fd < 0) {
        error_setg_errno(errp, errno, "unable to open file '%s'", path);
        return NULL;
    }
    return qio_channel_file_new_fd(fd);
}

static bool check_open(QIOChannelFile *fioc, Error **errp)
{
    if (fioc->fd < 0) {
        error_setg(errp, "file channel is closed");
        return false;
    }
    return true;
}

static ssize_t file_readv(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, int **fds, size_t *nfds,
                          Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    ssize_t ret;

    if (!check_open(fioc, errp)) {
        return -1;
    }
    ret = RETRY_ON_EINTR(readv(fioc->fd, iov, MIN(niov, IOV_MAX)));
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "unable to read from file");
        return -1;
    }
    return ret;
}

static ssize_t file_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, int *fds, size_t nfds,
                           Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    ssize_t ret;

    if (!check_open(fioc, errp)) {
        return -1;
    }
    if (fioc->may_sigpipe) {
        ret = qio_channel_util_writev_fd(fioc->fd, iov, niov);
    } else {
        ret = RETRY_ON_EINTR(writev(fioc->fd, iov, MIN(niov, IOV_MAX)));
    }
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "unable to write to file");
        return -1;
    }
    return ret;
}

static int file_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    int ret;

    if (!check_open(fioc, errp)) {
        return -1;
    }
    ret = qemu_set_blocking(fioc->fd, enabled);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "unable to make file %sblocking",
                         enabled ? "" : "non-");
        return -1;
    }
    return 0;
}

static off_t file_seek(QIOChannel *ioc, off_t offset, int whence,
                       Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    off_t ret;

    if (!check_open(fioc, errp)) {
        return (off_t)-1;
    }
    ret = lseek(fioc->fd, offset, whence);
    if (ret == (off_t)-1) {
        error_setg_errno(errp, errno, "unable to seek to offset %lld "
                         "whence %d in file", (long long)offset, whence);
    }
    return ret;
}

static int file_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                         Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    int sockhow = how == QIO_CHANNEL_SHUTDOWN_READ ? SHUT_RD :
                  how == QIO_CHANNEL_SHUTDOWN_WRITE ? SHUT_WR : SHUT_RDWR;

    if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        error_setg(errp, "file channel is not a socket: cannot shut it "
                   "down");
        return -1;
    }
    if (shutdown(fioc->fd, sockhow) < 0) {
        error_setg_errno(errp, errno, "unable to shut down socket");
        return -1;
    }
    return 0;
}

static int file_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    int fd = fioc->fd;

    if (!check_open(fioc, errp)) {
        return -1;
    }
    fioc->fd = -1;
    /* Linux frees the descriptor even when close fails: never retry. */
    if (close(fd) < 0 && errno != EINTR) {
        error_setg_errno(errp, errno, "unable to close file");
        return -1;
    }
    return 0;
}

static GSource *file_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    return qio_channel_create_fd_watch(ioc, QIO_CHANNEL_FILE(ioc)->fd,
                                       condition);
}

static void file_set_aio_fd_handler(QIOChannel *ioc, AioContext *ctx,
                                    IOHandler *io_read, IOHandler *io_write,
                                    void *opaque)
{
    aio_set_fd_handler(ctx, QIO_CHANNEL_FILE(ioc)->fd, io_read, io_write,
                       opaque);
}

/* ---- type --------------------------------------------------------------- */

static void file_init(Object *obj)
{
    QIO_CHANNEL_FILE(obj)->fd = -1;
}

static void file_finalize(Object *obj)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(obj);

    if (fioc->fd >= 0) {
        close(fioc->fd);
        fioc->fd = -1;
    }
}

static void file_class_init(ObjectClass *klass, void *data)
{
    QIOChannelClass *ioc_klass = QIO_CHANNEL_CLASS(klass);

    ioc_klass->io_readv = file_readv;
    ioc_klass->io_writev = file_writev;
    ioc_klass->io_close = file_close;
    ioc_klass->io_create_watch = file_create_watch;
    ioc_klass->io_set_blocking = file_set_blocking;
    ioc_klass->io_seek = file_seek;
    ioc_klass->io_shutdown = file_shutdown;
    ioc_klass->io_set_aio_fd_handler = file_set_aio_fd_handler;
}

static const TypeInfo file_info = {
    .name = TYPE_QIO_CHANNEL_FILE,
    .parent = TYPE_QIO_CHANNEL,
    .instance_size = sizeof(QIOChannelFile),
    .instance_init = file_init,
    .instance_finalize = file_finalize,
    .class_init = file_class_init,
};

static void file_register_types(void)
{
    type_register_static(&file_info);
}

type_init(file_register_types);
