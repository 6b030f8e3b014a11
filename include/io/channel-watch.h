/*
 * GSource watches on file descriptors for channel classes.
 *
 * Channel classes use these to implement io_create_watch: each returns a
 * new, unattached GSource that polls one or two fds and, when any of the
 * requested conditions holds, calls a QIOChannelFunc with the channel,
 * the ready conditions (only those requested) and the callback data.
 * The source holds a reference on the channel until it is finalized.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_WATCH_H
#define QIO_CHANNEL_WATCH_H

#include "io/channel.h"

/*
 * qio_channel_create_fd_watch: a GSource that is ready when @fd satisfies
 * any of @condition.  @fd stays owned by the channel and must stay open
 * while the source is attached.  Any thread.
 */
GSource *qio_channel_create_fd_watch(QIOChannel *ioc,
                                     int fd,
                                     GIOCondition condition);

/*
 * qio_channel_create_socket_watch: as qio_channel_create_fd_watch, for a
 * socket (on POSIX hosts the two are the same).
 */
GSource *qio_channel_create_socket_watch(QIOChannel *ioc,
                                         int sockfd,
                                         GIOCondition condition);

/*
 * qio_channel_create_fd_pair_watch: for channels that read from one fd
 * and write to another (pipes to a child process).  Input conditions
 * (G_IO_IN, G_IO_PRI) are polled on @fdread, G_IO_OUT on @fdwrite,
 * G_IO_HUP/G_IO_ERR/G_IO_NVAL on both; the callback gets the union of
 * what is ready, restricted to @condition.  Either fd may be -1 when the
 * channel has no such direction.  Any thread.
 */
GSource *qio_channel_create_fd_pair_watch(QIOChannel *ioc,
                                          int fdread,
                                          int fdwrite,
                                          GIOCondition condition);

/*
 * qio_channel_create_ready_watch: a GSource that is ready at once, every
 * loop iteration, reporting all of @condition; for channels that never
 * block (null, memory buffer).  Not in QEMU's tree (QEMU writes one per
 * class).  Any thread.
 */
GSource *qio_channel_create_ready_watch(QIOChannel *ioc,
                                        GIOCondition condition);

#endif /* QIO_CHANNEL_WATCH_H */
