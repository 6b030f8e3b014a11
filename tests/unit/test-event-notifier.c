/*
 * Tests for qemu/event_notifier.h.  Every behaviour test runs twice: once
 * on the eventfd backend and once with SPINDLE_EVENT_NOTIFIER=pipe.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/event_notifier.h"
#include "qemu/thread.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>

typedef enum { MODE_EVENTFD, MODE_PIPE } Mode;

static const Mode mode_eventfd = MODE_EVENTFD;
static const Mode mode_pipe = MODE_PIPE;

/* Initialise @e on the backend @data names, and check it got that one. */
static void init_in_mode(EventNotifier *e, const void *data, int active)
{
    Mode mode = *(const Mode *)data;

    if (mode == MODE_PIPE) {
        g_setenv("SPINDLE_EVENT_NOTIFIER", "pipe", true);
    } else {
        g_unsetenv("SPINDLE_EVENT_NOTIFIER");
    }
    g_assert_cmpint(event_notifier_init(e, active), ==, 0);
    g_unsetenv("SPINDLE_EVENT_NOTIFIER");
    g_assert_true(e->initialized);
    if (mode == MODE_PIPE) {
        g_assert_cmpint(event_notifier_get_fd(e), !=,
                        event_notifier_get_wfd(e));
    } else {
        g_assert_cmpint(event_notifier_get_fd(e), ==,
                        event_notifier_get_wfd(e));
    }
}

/* Whether @fd polls readable right now. */
static bool fd_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* The kernel's name for what @fd is ("anon_inode:[eventfd]", "pipe:[N]"). */
static char *fd_kind(int fd)
{
    g_autofree char *link = g_strdup_printf("/proc/self/fd/%d", fd);

    return g_file_read_link(link, NULL);
}

static void test_backend_kind(const void *data)
{
    EventNotifier e;
    g_autofree char *kind = NULL;

    init_in_mode(&e, data, 0);
    kind = fd_kind(event_notifier_get_fd(&e));
    if (*(const Mode *)data == MODE_PIPE) {
        g_assert_true(g_str_has_prefix(kind, "pipe:"));
    } else {
        g_assert_cmpstr(kind, ==, "anon_inode:[eventfd]");
    }
    event_notifier_cleanup(&e);
}

static void assert_nonblock_cloexec(int fd)
{
    g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static void test_fd_flags(const void *data)
{
    EventNotifier e;

    init_in_mode(&e, data, 0);
    assert_nonblock_cloexec(event_notifier_get_fd(&e));
    assert_nonblock_cloexec(event_notifier_get_wfd(&e));
    event_notifier_cleanup(&e);
}

static void test_set_and_clear(const void *data)
{
    EventNotifier e;

    init_in_mode(&e, data, 0);
    g_assert_false(event_notifier_test_and_clear(&e));
    g_assert_cmpint(event_notifier_set(&e), ==, 0);
    g_assert_true(event_notifier_test_and_clear(&e));
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
}

static void test_init_active(const void *data)
{
    EventNotifier e;

    init_in_mode(&e, data, 1);
    g_assert_true(fd_readable(event_notifier_get_fd(&e)));
    g_assert_true(event_notifier_test_and_clear(&e));
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
}

static void test_sets_coalesce(const void *data)
{
    EventNotifier e;
    int i;

    init_in_mode(&e, data, 0);
    /* More sets than a pipe buffer holds: a full pipe still succeeds. */
    for (i = 0; i < 70000; i++) {
        g_assert_cmpint(event_notifier_set(&e), ==, 0);
    }
    /* One clear drains them all. */
    g_assert_true(event_notifier_test_and_clear(&e));
    g_assert_false(fd_readable(event_notifier_get_fd(&e)));
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);
}

static void test_fd_readable(const void *data)
{
    EventNotifier e;
    int fd;

    init_in_mode(&e, data, 0);
    fd = event_notifier_get_fd(&e);
    g_assert_false(fd_readable(fd));
    event_notifier_set(&e);
    g_assert_true(fd_readable(fd));
    event_notifier_set(&e);
    g_assert_true(fd_readable(fd));
    event_notifier_test_and_clear(&e);
    g_assert_false(fd_readable(fd));
    event_notifier_cleanup(&e);
}

typedef struct Waker {
    EventNotifier *e;
    int poller_tid;
} Waker;

/* The scheduler state letter of thread @tid ('R', 'S', ...). */
static char thread_state(int tid)
{
    g_autofree char *path = g_strdup_printf("/proc/self/task/%d/stat", tid);
    g_autofree char *stat = NULL;
    const char *p;

    if (!g_file_get_contents(path, &stat, NULL, NULL)) {
        return '?';
    }
    p = strrchr(stat, ')');     /* the name may contain spaces */
    return p && p[1] == ' ' ? p[2] : '?';
}

static void *waker_thread(void *opaque)
{
    Waker *w = opaque;
    int i;

    /*
     * Set only once the poller sleeps, so the set really has to wake it.
     * If it never seems to sleep, set anyway: the test then only checks
     * that the set is seen.
     */
    for (i = 0; i < 5000 && thread_state(w->poller_tid) != 'S'; i++) {
        g_usleep(1000);
    }
    g_assert_cmpint(event_notifier_set(w->e), ==, 0);
    return NULL;
}

static void test_wakes_poller(const void *data)
{
    EventNotifier e;
    Waker w = { .e = &e, .poller_tid = qemu_get_thread_id() };
    QemuThread thread;
    struct pollfd pfd = { .events = POLLIN };
    int ret;

    init_in_mode(&e, data, 0);
    pfd.fd = event_notifier_get_fd(&e);
    qemu_thread_create(&thread, "en-waker", waker_thread, &w,
                       QEMU_THREAD_JOINABLE);
    /* Blocks until the other thread sets; the bound only avoids a hang. */
    ret = RETRY_ON_EINTR(poll(&pfd, 1, 30000));
    g_assert_cmpint(ret, ==, 1);
    g_assert_true(pfd.revents & POLLIN);
    g_assert_true(event_notifier_test_and_clear(&e));
    qemu_thread_join(&thread);
    event_notifier_cleanup(&e);
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void test_cleanup(const void *data)
{
    EventNotifier e;
    int rfd, wfd;

    init_in_mode(&e, data, 1);
    rfd = event_notifier_get_fd(&e);
    wfd = event_notifier_get_wfd(&e);
    event_notifier_cleanup(&e);
    g_assert_false(e.initialized);
    g_assert_false(fd_is_open(rfd));
    g_assert_false(fd_is_open(wfd));
    g_assert_cmpint(event_notifier_get_fd(&e), ==, -1);
    /* A cleaned-up notifier refuses sets and is never set. */
    g_assert_cmpint(event_notifier_set(&e), ==, -EBADF);
    g_assert_false(event_notifier_test_and_clear(&e));
    event_notifier_cleanup(&e);     /* twice is harmless */
}

static void test_init_out_of_fds(const void *data)
{
    EventNotifier e;
    struct rlimit old, low;
    int lowest_free = dup(2);
    int ret;

    /* Cap descriptors so that no new one can be opened. */
    g_assert_cmpint(lowest_free, >=, 0);
    close(lowest_free);
    g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
    low = old;
    low.rlim_cur = lowest_free;
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &low), ==, 0);
    if (*(const Mode *)data == MODE_PIPE) {
        g_setenv("SPINDLE_EVENT_NOTIFIER", "pipe", true);
    }
    ret = event_notifier_init(&e, 1);
    g_unsetenv("SPINDLE_EVENT_NOTIFIER");
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);

    g_assert_cmpint(ret, ==, -EMFILE);
    g_assert_false(e.initialized);
    event_notifier_cleanup(&e);     /* allowed on a failed init */
}

static int handled;

static void clear_handler(EventNotifier *e)
{
    if (event_notifier_test_and_clear(e)) {
        handled++;
    }
}

static void test_handler_dispatch(const void *data)
{
    EventNotifier e;
    EventNotifierHandler *handler = clear_handler;

    /* What an event loop does: call the handler when the fd is readable. */
    init_in_mode(&e, data, 0);
    handled = 0;
    event_notifier_set(&e);
    event_notifier_set(&e);
    while (fd_readable(event_notifier_get_fd(&e))) {
        handler(&e);
    }
    g_assert_cmpint(handled, ==, 1);
    event_notifier_cleanup(&e);
}

static void add_both(const char *name, GTestDataFunc fn)
{
    g_autofree char *a = g_strdup_printf("/event-notifier/eventfd/%s", name);
    g_autofree char *b = g_strdup_printf("/event-notifier/pipe/%s", name);

    g_test_add_data_func(a, &mode_eventfd, fn);
    g_test_add_data_func(b, &mode_pipe, fn);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    add_both("backend-kind", test_backend_kind);
    add_both("fd-flags", test_fd_flags);
    add_both("set-and-clear", test_set_and_clear);
    add_both("init-active", test_init_active);
    add_both("sets-coalesce", test_sets_coalesce);
    add_both("fd-readable", test_fd_readable);
    add_both("wakes-poller", test_wakes_poller);
    add_both("cleanup", test_cleanup);
    add_both("init-out-of-fds", test_init_out_of_fds);
    add_both("handler-dispatch", test_handler_dispatch);
    return g_test_run();
}
