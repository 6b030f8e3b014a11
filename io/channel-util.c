/*
 * Channel helpers: wrapping an inherited fd in the right class, and a
 * SIGPIPE-free writev for pipe-backed classes.
 *
 * Why SIGPIPE needs care: a library must not decide the process's signal
 * dispositions, yet writing to a pipe whose reader has exited raises
 * SIGPIPE, whose default action kills the process.  We block the signal
 * in the writing thread for the call, so the write fails with EPIPE, and
 * consume the (thread-directed) signal it left pending before unblocking.
 * If the signal was already blocked by the caller, we leave whatever is
 * pending alone: it may not be ours.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-util.h"
#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "qapi/error.h"
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

QIOChannel *qio_channel_new_fd(int fd, Error **errp)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "unable to stat file descriptor %d",
                         fd);
        return NULL;
    }
    if (S_ISSOCK(st.st_mode)) {
        return QIO_CHANNEL(qio_channel_socket_new_fd(fd, errp));
    }
    return QIO_CHANNEL(qio_channel_file_new_fd(fd));
}

ssize_t qio_channel_util_writev_fd(int fd, const struct iovec *iov,
                                   size_t niov)
{
    static const struct timespec no_wait = { 0, 0 };
    sigset_t pipe_set, old_set;
    ssize_t ret;
    int saved_errno;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

    ret = RETRY_ON_EINTR(writev(fd, iov, MIN(niov, IOV_MAX)));
    saved_errno = errno;
    if (ret < 0 && errno == EPIPE && !sigismember(&old_set, SIGPIPE)) {
        RETRY_ON_EINTR(sigtimedwait(&pipe_set, NULL, &no_wait));
    }

    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    errno = saved_errno;
    return ret;
}
