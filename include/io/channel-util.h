/*
 * Helpers that pick the right channel class for a caller, and small
 * building blocks shared by fd-based channel classes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_UTIL_H
#define QIO_CHANNEL_UTIL_H

#include "io/channel.h"

/*
 * qio_channel_new_fd: wrap the open descriptor @fd in a channel of the
 * fitting class: a QIOChannelSocket when @fd is a socket, otherwise a
 * QIOChannelFile.  On success the channel owns @fd.  Returns NULL with
 * @errp set when @fd is not an open descriptor or cannot be wrapped (the
 * caller then still owns @fd).  Any thread.
 */
QIOChannel *qio_channel_new_fd(int fd, Error **errp);

/*
 * qio_channel_util_writev_fd: writev(2) of at most IOV_MAX elements of
 * @iov on @fd, retried on EINTR, that never raises SIGPIPE: when the
 * reading end is gone it fails with errno EPIPE instead of killing the
 * process (SIGPIPE is blocked in the calling thread for the duration of
 * the call, and a SIGPIPE it caused is consumed).  Returns what writev
 * returns (-1 with errno set on failure).  For channel classes writing to
 * pipes or FIFOs (sockets use send(MSG_NOSIGNAL) instead).  Not in
 * QEMU's tree.  Any thread.
 */
ssize_t qio_channel_util_writev_fd(int fd, const struct iovec *iov,
                                   size_t niov);

#endif /* QIO_CHANNEL_UTIL_H */
