/*
 * QIOChannelCommand: a channel to a child process.
 *
 * Bytes written to the channel go to the child's standard input, bytes
 * read come from its standard output (its standard error is inherited).
 * qio_channel_close() closes both pipes and reaps the child: it fails
 * with an Error naming the program when the child exited with a non-zero
 * status or was killed by a signal.  If the child is still running after
 * its pipes are closed, close waits for it (up to a second) and then
 * kills it with SIGTERM, then SIGKILL; that is not reported as an error,
 * since the caller asked for the end.  Finalizing an unclosed channel does the
 * same without reporting.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_COMMAND_H
#define QIO_CHANNEL_COMMAND_H

#include "io/channel.h"
#include <fcntl.h>

#define TYPE_QIO_CHANNEL_COMMAND "qio-channel-command"
OBJECT_DECLARE_SIMPLE_TYPE(QIOChannelCommand, QIO_CHANNEL_COMMAND)

struct QIOChannelCommand {
    QIOChannel parent;
    int writefd;    /* child's stdin, or -1 */
    int readfd;     /* child's stdout, or -1 */
    pid_t pid;      /* the child, or -1 once reaped (or never had one) */
    char *progname; /* for error messages; NULL for _new_pid */
};

/*
 * qio_channel_command_new_pid: wrap a child @pid that the caller already
 * started, writing to it on @writefd and reading from it on @readfd
 * (either may be -1; the channel owns both, and reaps @pid on close).
 * Any thread.
 */
QIOChannelCommand *qio_channel_command_new_pid(int writefd,
                                               int readfd,
                                               pid_t pid);

/*
 * qio_channel_command_new_spawn: start @argv[0] (looked up in PATH) with
 * the NULL-terminated arguments @argv.  @flags (O_RDONLY, O_WRONLY or
 * O_RDWR, possibly with O_NONBLOCK) says which pipes the channel gets:
 * O_RDONLY reads the child's stdout (its stdin is /dev/null), O_WRONLY
 * writes its stdin (stdout is /dev/null), O_RDWR both.  Returns NULL with
 * @errp set when the program cannot be started (the message names it,
 * e.g. "cannot run 'nosuchprog': No such file or directory").  Any
 * thread.
 */
QIOChannelCommand *qio_channel_command_new_spawn(const char *const argv[],
                                                 int flags,
                                                 Error **errp);

#endif /* QIO_CHANNEL_COMMAND_H */
