/*
 * EventNotifier on POSIX: an eventfd, or a non-blocking pipe where eventfd
 * is missing (or when SPINDLE_EVENT_NOTIFIER=pipe asks for it).
 *
 * No locking: set is a single write(2), which the kernel serialises; clear
 * is a read(2) loop run by the consumer.  Not handled here: registering
 * the descriptor with an event loop (that is aio_set_event_notifier).
 *
 * Key invariant: the notifier is set exactly when rfd is readable.  An
 * eventfd's counter is reset by one read; a pipe is read until EAGAIN, so
 * after a clear neither backend leaves the descriptor readable.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/event_notifier.h"
#include "config-host.h"
#include <fcntl.h>
#ifdef CONFIG_EVENTFD
#include <sys/eventfd.h>
#endif

static bool pipe_forced(void)
{
    const char *mode = getenv("SPINDLE_EVENT_NOTIFIER");

    return mode && !strcmp(mode, "pipe");
}

/* Open an eventfd into @e; returns 0 or -errno. */
static int open_eventfd(EventNotifier *e)
{
#ifdef CONFIG_EVENTFD
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    e->rfd = e->wfd = fd;
    return 0;
#else
    return -ENOSYS;
#endif
}

static int open_pipe(EventNotifier *e)
{
    int fds[2];

    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        return -errno;
    }
    e->rfd = fds[0];
    e->wfd = fds[1];
    return 0;
}

int event_notifier_init(EventNotifier *e, int active)
{
    int ret = -ENOSYS;

    e->rfd = e->wfd = -1;
    e->initialized = false;
    if (!pipe_forced()) {
        ret = open_eventfd(e);
    }
    if (ret < 0) {
        /* If eventfd failed for lack of descriptors, so will this. */
        ret = open_pipe(e);
    }
    if (ret < 0) {
        return ret;
    }
    e->initialized = true;
    if (active) {
        event_notifier_set(e);
    }
    return 0;
}

void event_notifier_cleanup(EventNotifier *e)
{
    if (!e->initialized) {
        return;
    }
    if (e->rfd != e->wfd) {
        close(e->rfd);
    }
    close(e->wfd);
    e->rfd = e->wfd = -1;
    e->initialized = false;
}

int event_notifier_set(EventNotifier *e)
{
    static const uint64_t one = 1;
    /* An eventfd takes exactly eight bytes; for a pipe one is enough. */
    size_t len = e->rfd == e->wfd ? sizeof(one) : 1;
    ssize_t ret;

    if (!e->initialized) {
        return -EBADF;
    }
    ret = RETRY_ON_EINTR(write(e->wfd, &one, len));
    if (ret < 0 && errno != EAGAIN) {
        return -errno;
    }
    return 0;
}

static bool drain_pipe(int fd)
{
    char buf[512];
    bool was_set = false;
    ssize_t len;

    do {
        len = RETRY_ON_EINTR(read(fd, buf, sizeof(buf)));
        was_set |= len > 0;
    } while (len == sizeof(buf));
    return was_set;
}

int event_notifier_test_and_clear(EventNotifier *e)
{
    uint64_t value;

    if (!e->initialized) {
        return 0;
    }
    if (e->rfd != e->wfd) {
        return drain_pipe(e->rfd);
    }
    return RETRY_ON_EINTR(read(e->rfd, &value, sizeof(value))) ==
           sizeof(value);
}

int event_notifier_get_fd(const EventNotifier *e)
{
    return e->rfd;
}

int event_notifier_get_wfd(const EventNotifier *e)
{
    return e->wfd;
}
