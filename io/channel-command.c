/*
 * QIOChannelCommand: a channel to a child process's stdin and stdout.
 *
 * What it does: spawns the child with posix_spawnp (so a missing program
 * is reported by the spawn call itself, with its errno), keeps the
 * parent's ends of two pipes, reads from one and writes to the other,
 * and on close reaps the child and turns a failure exit into an Error.
 * What it does not: capture stderr, seek, pass descriptors or shut down.
 * Key invariant: pid > 0 until the child is reaped, exactly once, by
 * close or finalize; readfd/writefd are -1 once closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-command.h"
#include "io/channel-util.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

/* How long close waits for the child before SIGTERM, then SIGKILL. */
#define REAP_GRACE_US (1000 * 1000)

QIOChannelCommand *qio_channel_command_new_pid(int writefd,
                                               int readfd,
                                               pid_t pid)
{
    QIOChannelCommand *cioc;

    cioc = QIO_CHANNEL_COMMAND(object_new(TYPE_QIO_CHANNEL_COMMAND));
    cioc->writefd = writefd;
    cioc->readfd = readfd;
    cioc->pid = pid;
    return cioc;
}

static int command_set_blocking(QIOChannel *ioc, bool enabled,
                                Error **errp);

/* ---- spawning ----------------------------------------------------------- */

/* The child's end of one standard stream: a pipe, or /dev/null. */
static void child_stream(posix_spawn_file_actions_t *fa, int child_fd,
                         int pipe_end, int null_flags)
{
    if (pipe_end >= 0) {
        posix_spawn_file_actions_adddup2(fa, pipe_end, child_fd);
    } else {
        posix_spawn_file_actions_addopen(fa, child_fd, "/dev/null",
                                         null_flags, 0);
    }
}

/* Spawn @argv with stdin from @in_fd and stdout to @out_fd (-1: null). */
static int spawn(const char *const argv[], int in_fd, int out_fd,
                 pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t sigs;
    int ret;

    posix_spawn_file_actions_init(&fa);
    child_stream(&fa, STDIN_FILENO, in_fd, O_RDONLY);
    child_stream(&fa, STDOUT_FILENO, out_fd, O_WRONLY);

    /* Our threads block every signal; the child starts with none. */
    posix_spawnattr_init(&attr);
    sigemptyset(&sigs);
    posix_spawnattr_setsigmask(&attr, &sigs);
    sigaddset(&sigs, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &sigs);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);

    ret = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv,
                       environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return ret;
}

static void close_pipe(int p[2])
{
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 0) {
            close(p[i]);
            p[i] = -1;
        }
    }
}

QIOChannelCommand *qio_channel_command_new_spawn(const char *const argv[],
                                                 int flags,
                                                 Error **errp)
{
    int accmode = flags & O_ACCMODE;
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    QIOChannelCommand *cioc;
    pid_t pid;
    int ret;

    if ((accmode != O_RDONLY && pipe2(in, O_CLOEXEC) < 0) ||
        (accmode != O_WRONLY && pipe2(out, O_CLOEXEC) < 0)) {
        error_setg_errno(errp, errno, "cannot create pipes for '%s'",
                         argv[0]);
        goto fail;
    }
    ret = spawn(argv, in[0], out[1], &pid);
    if (ret != 0) {
        error_setg_errno(errp, ret, "cannot run '%s'", argv[0]);
        goto fail;
    }
    close(in[0]);
    close(out[1]);
    cioc = qio_channel_command_new_pid(in[1], out[0], pid);
    if (flags & O_NONBLOCK) {
        command_set_blocking(QIO_CHANNEL(cioc), false, &error_abort);
    }
    cioc->progname = g_strdup(argv[0]);
    return cioc;

fail:
    close_pipe(in);
    close_pipe(out);
    return NULL;
}

/* ---- reaping ------------------------------------------------------------ */

/* waitpid for up to @budget_us; true once the child is gone. */
static bool wait_exit(pid_t pid, int *status, long budget_us)
{
    long step = 1000;

    for (;;) {
        pid_t r = RETRY_ON_EINTR(waitpid(pid, status, WNOHANG));

        if (r == pid || (r < 0 && errno == ECHILD)) {
            if (r < 0) {
                *status = 0;    /* someone else reaped it */
            }
            return true;
        }
        if (budget_us <= 0) {
            return false;
        }
        g_usleep(step);
        budget_us -= step;
        step = MIN(step * 2, 50 * 1000);
    }
}

/*
 * Reap the child; true (and its status) when it ended by itself, false
 * when it had to be killed.
 */
static bool reap(pid_t pid, int *status)
{
    if (wait_exit(pid, status, REAP_GRACE_US)) {
        return true;
    }
    kill(pid, SIGTERM);
    if (!wait_exit(pid, status, REAP_GRACE_US)) {
        kill(pid, SIGKILL);
        RETRY_ON_EINTR(waitpid(pid, status, 0));
    }
    return false;
}

static int report_status(QIOChannelCommand *cioc, pid_t pid, int status,
                         Error **errp)
{
    g_autofree char *who = cioc->progname ?
        g_strdup_printf("command '%s'", cioc->progname) :
        g_strdup_printf("child process %d", (int)pid);

    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        error_setg(errp, "%s exited with status %d", who,
                   WEXITSTATUS(status));
        return -1;
    }
    if (WIFSIGNALED(status)) {
        error_setg(errp, "%s was killed by signal %d (%s)", who,
                   WTERMSIG(status), strsignal(WTERMSIG(status)));
        return -1;
    }
    return 0;
}

static void close_fds(QIOChannelCommand *cioc)
{
    if (cioc->writefd >= 0) {
        close(cioc->writefd);
    }
    if (cioc->readfd >= 0 && cioc->readfd != cioc->writefd) {
        close(cioc->readfd);
    }
    cioc->writefd = cioc->readfd = -1;
}

/* ---- I/O ---------------------------------------------------------------- */

static bool check_fd(QIOChannelCommand *cioc, int fd, const char *what,
                     Error **errp)
{
    if (fd < 0) {
        error_setg(errp, "command channel is closed or has no %s side",
                   what);
        return false;
    }
    return true;
}

static ssize_t command_readv(QIOChannel *ioc, const struct iovec *iov,
                             size_t niov, int **fds, size_t *nfds,
                             Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);
    ssize_t ret;

    if (!check_fd(cioc, cioc->readfd, "read", errp)) {
        return -1;
    }
    ret = RETRY_ON_EINTR(readv(cioc->readfd, iov, MIN(niov, IOV_MAX)));
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "unable to read from command");
        return -1;
    }
    return ret;
}

static ssize_t command_writev(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, int *fds, size_t nfds,
                              Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);
    ssize_t ret;

    if (!check_fd(cioc, cioc->writefd, "write", errp)) {
        return -1;
    }
    ret = qio_channel_util_writev_fd(cioc->writefd, iov, niov);
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "unable to write to command");
        return -1;
    }
    return ret;
}

static int command_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);
    int fds[2] = { cioc->writefd, cioc->readfd };

    for (int i = 0; i < 2; i++) {
        int ret = fds[i] >= 0 ? qemu_set_blocking(fds[i], enabled) : 0;

        if (ret < 0) {
            error_setg_errno(errp, -ret, "unable to change blocking mode "
                             "of command pipe");
            return -1;
        }
    }
    return 0;
}

static int command_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);
    pid_t pid = cioc->pid;
    int status;

    if (cioc->readfd < 0 && cioc->writefd < 0 && pid <= 0) {
        error_setg(errp, "command channel is already closed");
        return -1;
    }
    close_fds(cioc);
    if (pid <= 0) {
        return 0;
    }
    cioc->pid = -1;
    if (!reap(pid, &status)) {
        return 0;   /* we killed it ourselves: nothing to report */
    }
    return report_status(cioc, pid, status, errp);
}

static GSource *command_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);

    return qio_channel_create_fd_pair_watch(ioc, cioc->readfd,
                                            cioc->writefd, condition);
}

static void command_set_aio_fd_handler(QIOChannel *ioc, AioContext *ctx,
                                       IOHandler *io_read,
                                       IOHandler *io_write, void *opaque)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);

    if (cioc->readfd == cioc->writefd && cioc->readfd >= 0) {
        aio_set_fd_handler(ctx, cioc->readfd, io_read, io_write, opaque);
        return;
    }
    if (cioc->readfd >= 0) {
        aio_set_fd_handler(ctx, cioc->readfd, io_read, NULL, opaque);
    }
    if (cioc->writefd >= 0) {
        aio_set_fd_handler(ctx, cioc->writefd, NULL, io_write, opaque);
    }
}

/* ---- type --------------------------------------------------------------- */

static void command_init(Object *obj)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(obj);

    cioc->writefd = cioc->readfd = -1;
    cioc->pid = -1;
}

static void command_finalize(Object *obj)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(obj);
    int status;

    close_fds(cioc);
    if (cioc->pid > 0) {
        reap(cioc->pid, &status);
    }
    g_free(cioc->progname);
}

static void command_class_init(ObjectClass *klass, void *data)
{
    QIOChannelClass *ioc_klass = QIO_CHANNEL_CLASS(klass);

    ioc_klass->io_readv = command_readv;
    ioc_klass->io_writev = command_writev;
    ioc_klass->io_close = command_close;
    ioc_klass->io_create_watch = command_create_watch;
    ioc_klass->io_set_blocking = command_set_blocking;
    ioc_klass->io_set_aio_fd_handler = command_set_aio_fd_handler;
}

static const TypeInfo command_info = {
    .name = TYPE_QIO_CHANNEL_COMMAND,
    .parent = TYPE_QIO_CHANNEL,
    .instance_size = sizeof(QIOChannelCommand),
    .instance_init = command_init,
    .instance_finalize = command_finalize,
    .class_init = command_class_init,
};

static void command_register_types(void)
{
    type_register_static(&command_info);
}

type_init(command_register_types);
