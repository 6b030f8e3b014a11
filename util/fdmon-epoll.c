/*
 * fd monitor backend on epoll(7).
 *
 * What it does: keeps one epoll instance per AioContext in step with the
 * context's fd handlers.  update() turns "handler added / replaced /
 * removed" into EPOLL_CTL_ADD / MOD / DEL, so wait() costs O(ready fds)
 * instead of poll's O(registered fds).  Each registration carries its
 * AioHandler in data.ptr, so a ready event needs no lookup.
 *
 * What it deliberately does not do:
 * - edge-triggered, one-shot or exclusive modes: handlers are
 *   level-triggered (one that leaves data unread runs again next time),
 *   exactly as with poll;
 * - watch fds that epoll refuses (regular files and directories fail
 *   EPOLL_CTL_ADD with EPERM).  Any failed epoll_ctl switches the context
 *   to the poll backend for good (fdmon_epoll_disable), since poll
 *   handles every fd; the context then reports "poll".
 * - cope with an fd closed while its handler is registered and kept
 *   open elsewhere (dup, fork): epoll keys on the open file, not on the
 *   number, so such a file would keep reporting a stale handler.  Remove
 *   the handler before closing; closing a file's last descriptor is fine
 *   (the kernel drops the registration, and a later handler for a reused
 *   number is added afresh).
 *
 * Key invariant: every live handler's fd is registered with data.ptr
 * pointing at that handler, and no removed handler is registered.
 * update() keeps it, under ctx->list_lock, before the core links or
 * unlinks the node.  A concurrent wait() may still harvest an event for
 * a node removed meanwhile; the core keeps such a node allocated while
 * walking_handlers is raised and flags it node->deleted, and wait()
 * skips it.
 *
 * Test hook: SPINDLE_FDMON_EPOLL_FAIL=1 in the environment makes
 * fdmon_epoll_setup() fail, so the fallback to poll can be tested.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <sys/epoll.h>
#include "aio-posix.h"

/* Events harvested per epoll_wait; more stay pending for the next call. */
#define EPOLL_BATCH 128

/* epoll_pwait2 (ns timeouts) is in glibc from 2.35 and Linux from 5.11. */
#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define HAVE_EPOLL_PWAIT2 1
#endif

static const FDMonOps fdmon_epoll_ops;

#ifdef HAVE_EPOLL_PWAIT2
/* Set once the running kernel turned epoll_pwait2 down. */
static bool pwait2_unavailable;
#endif

static bool test_hook_set(const char *name)
{
    const char *value = getenv(name);

    return value && *value && strcmp(value, "0") != 0;
}

static uint32_t epoll_events_from_pfd(int events)
{
    return (events & G_IO_IN ? EPOLLIN : 0) |
           (events & G_IO_OUT ? EPOLLOUT : 0) |
           (events & G_IO_PRI ? EPOLLPRI : 0) |
           (events & G_IO_ERR ? EPOLLERR : 0) |
           (events & G_IO_HUP ? EPOLLHUP : 0);
}

static int pfd_events_from_epoll(uint32_t events)
{
    return (events & EPOLLIN ? G_IO_IN : 0) |
           (events & EPOLLOUT ? G_IO_OUT : 0) |
           (events & EPOLLPRI ? G_IO_PRI : 0) |
           (events & EPOLLERR ? G_IO_ERR : 0) |
           (events & EPOLLHUP ? G_IO_HUP : 0);
}

/* epoll_ctl for @node's fd and events.  Returns 0 or -errno. */
static int epoll_ctl_node(int epfd, int op, AioHandler *node)
{
    struct epoll_event event = {
        .events = epoll_events_from_pfd(node->pfd.events),
        .data.ptr = node,
    };

    if (epoll_ctl(epfd, op, node->pfd.fd, &event) < 0) {
        return -errno;
    }
    return 0;
}

/*
 * Point the registration of @new_node's fd at @new_node (it replaces the
 * old handler of the same fd).  If the old registration is gone because
 * the fd was closed (and the number reused), there is nothing to modify:
 * add instead.
 */
static int epoll_replace(int epfd, AioHandler *new_node)
{
    int ret = epoll_ctl_node(epfd, EPOLL_CTL_MOD, new_node);

    if (ret == -ENOENT) {
        ret = epoll_ctl_node(epfd, EPOLL_CTL_ADD, new_node);
    }
    return ret;
}

static void fdmon_epoll_update(AioContext *ctx, AioHandler *old_node,
                               AioHandler *new_node)
{
    int epfd = ctx->epollfd;
    int ret;

    if (!new_node) {
        /*
         * ENOENT/EBADF: the fd was closed first, and with it the
         * registration; the handler is gone either way.
         */
        epoll_ctl(epfd, EPOLL_CTL_DEL, old_node->pfd.fd, NULL);
        return;
    }
    if (old_node) {
        ret = epoll_replace(epfd, new_node);
    } else {
        ret = epoll_ctl_node(epfd, EPOLL_CTL_ADD, new_node);
    }
    if (ret < 0) {
        /* e.g. EPERM for a regular file: poll watches anything. */
        fdmon_epoll_disable(ctx);
    }
}

static int timeout_ms_from_ns(int64_t timeout)
{
    if (timeout <= 0) {
        return timeout < 0 ? -1 : 0;
    }
    /* Round up: waking before a timer's deadline would spin. */
    return MIN(DIV_ROUND_UP(timeout, SCALE_MS), (int64_t)INT_MAX);
}

#ifdef HAVE_EPOLL_PWAIT2
/* Returns the epoll_pwait2 result, or -2 if the kernel lacks the call. */
static int epoll_wait_precise(int epfd, struct epoll_event *events,
                              int maxevents, int64_t timeout)
{
    struct timespec ts = {
        .tv_sec = timeout / NANOSECONDS_PER_SECOND,
        .tv_nsec = timeout % NANOSECONDS_PER_SECOND,
    };
    int ret;

    if (qatomic_read(&pwait2_unavailable)) {
        return -2;
    }
    ret = epoll_pwait2(epfd, events, maxevents, &ts, NULL);
    if (ret < 0 && (errno == ENOSYS || errno == EPERM)) {
        /* Old kernel, or a seccomp filter that does not know it. */
        qatomic_set(&pwait2_unavailable, true);
        return -2;
    }
    return ret;
}
#endif

/* epoll_wait with a timeout in ns: exact where possible, else rounded up. */
static int epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents,
                         int64_t timeout)
{
#ifdef HAVE_EPOLL_PWAIT2
    if (timeout > 0) {
        int ret = epoll_wait_precise(epfd, events, maxevents, timeout);

        if (ret != -2) {
            return ret;
        }
    }
#endif
    return epoll_wait(epfd, events, maxevents, timeout_ms_from_ns(timeout));
}

static int fdmon_epoll_wait(AioContext *ctx, AioHandlerList *ready_list,
                            int64_t timeout)
{
    struct epoll_event events[EPOLL_BATCH];
    int epfd = qatomic_read(&ctx->epollfd);
    int count = 0;
    int n;

    if (epfd < 0) {
        /* Another thread fell back to poll meanwhile; the loop retries. */
        return 0;
    }
    n = epoll_wait_ns(epfd, events, EPOLL_BATCH, timeout);
    if (n < 0) {
        return -errno;
    }
    /*
     * A node may have been made and registered by another thread.  It was
     * published in aio_handlers (release) before epoll_ctl; this acquire
     * pairs with that, so its fields are visible here (the kernel orders
     * it too, but neither C nor ThreadSanitizer knows).
     */
    (void)qatomic_load_acquire(&ctx->aio_handlers.lh_first);
    for (int i = 0; i < n; i++) {
        AioHandler *node = events[i].data.ptr;

        if (qatomic_read(&node->deleted)) {
            continue;
        }
        aio_add_ready_handler(ready_list, node,
                              pfd_events_from_epoll(events[i].events));
        count++;
    }
    return count;
}

static bool fdmon_epoll_need_wait(AioContext *ctx)
{
    /* Readiness is only learnt from epoll_wait; skip it only when every
     * handler can be busy-polled instead. */
    return aio_poll_disabled(ctx);
}

static const FDMonOps fdmon_epoll_ops = {
    .name = "epoll",
    .update = fdmon_epoll_update,
    .wait = fdmon_epoll_wait,
    .need_wait = fdmon_epoll_need_wait,
};

/* Register every live handler of @ctx with @epfd.  Returns 0 or -errno. */
static int epoll_add_all(AioContext *ctx, int epfd)
{
    AioHandler *node;
    int ret;

    QLIST_FOREACH(node, &ctx->aio_handlers, node) {
        if (qatomic_read(&node->deleted)) {
            continue;
        }
        ret = epoll_ctl_node(epfd, EPOLL_CTL_ADD, node);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

bool fdmon_epoll_setup(AioContext *ctx)
{
    int epfd;

    if (test_hook_set("SPINDLE_FDMON_EPOLL_FAIL")) {
        return false;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        return false;
    }
    if (epoll_add_all(ctx, epfd) < 0) {
        close(epfd);
        return false;
    }
    qatomic_set(&ctx->epollfd, epfd);
    ctx->epoll_enabled = true;
    qatomic_set(&ctx->fdmon_ops, &fdmon_epoll_ops);
    return true;
}

void fdmon_epoll_disable(AioContext *ctx)
{
    int epfd = ctx->epollfd;

    if (ctx->fdmon_ops == &fdmon_epoll_ops) {
        /* Switch first, so a wait() that starts now uses poll. */
        qatomic_set(&ctx->fdmon_ops, &fdmon_poll_ops);
    }
    if (epfd >= 0) {
        /*
         * A wait() already blocked in epoll_wait keeps the instance alive
         * until it returns; the caller's aio_notify wakes it.
         */
        qatomic_set(&ctx->epollfd, -1);
        close(epfd);
    }
    ctx->epoll_enabled = false;
}
