/*
 * QIOChannelFile: a channel over a file descriptor that is not driven as
 * a socket: regular files, pipes, FIFOs and character devices.
 *
 * I/O maps to readv/writev on the fd; qio_channel_io_seek() to lseek, so
 * it works where the fd supports it and fails with an Error (ESPIPE) on
 * pipes.  Blocking mode is the fd's O_NONBLOCK flag.  Watches poll the fd
 * (regular files are always ready, as poll(2) says).  When the fd is a
 * socket (e.g. one end of a socketpair), the channel also supports
 * qio_channel_shutdown() via shutdown(2) and advertises
 * QIO_CHANNEL_FEATURE_SHUTDOWN.  No descriptor passing.  Writing to a pipe
 * whose reader has gone fails with EPIPE; it never raises SIGPIPE.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_FILE_H
#define QIO_CHANNEL_FILE_H

#include "io/channel.h"
#include <sys/stat.h>
#include <fcntl.h>

#define TYPE_QIO_CHANNEL_FILE "qio-channel-file"
OBJECT_DECLARE_SIMPLE_TYPE(QIOChannelFile, QIO_CHANNEL_FILE)

struct QIOChannelFile {
    QIOChannel parent;
    int fd;     /* owned by the channel; -1 after close */

    /* private: */
    bool may_sigpipe;   /* pipe or socket: guard writes against SIGPIPE */
};

/*
 * qio_channel_file_new_fd: wrap the open descriptor @fd, whose ownership
 * passes to the channel (it is closed by qio_channel_close() or when the
 * last reference goes).  The fd's blocking mode is kept.  Any thread.
 */
QIOChannelFile *qio_channel_file_new_fd(int fd);

/*
 * qio_channel_file_new_path: open(@path, @flags | O_CLOEXEC, @mode) and
 * wrap the result.  Returns NULL with @errp set ("unable to open file
 * '<path>': <reason>") on failure.  Any thread (it blocks in open).
 */
QIOChannelFile *qio_channel_file_new_path(const char *path,
                                          int flags,
                                          mode_t mode,
                                          Error **errp);

#endif /* QIO_CHANNEL_FILE_H */
