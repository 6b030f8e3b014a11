/*
 * fd monitor backend: poll(2).
 *
 * Keeps no kernel state: each wait() walks the handler list, fills a
 * GPollFD array (reused across calls) and calls ppoll with a nanosecond
 * timeout.  It works everywhere and is the fallback of every other
 * backend.  It does not scale to thousands of fds (O(n) per wait); that
 * is what epoll and io_uring are for.
 *
 * Invariant: ctx->pollfds and ctx->pollfds_nodes have the same length
 * and matching entries during one wait(); they are only touched by the
 * thread running the context.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <poll.h>
#include "block/aio.h"
#include "aio-posix.h"

/* GPollFD is passed to ppoll as struct pollfd. */
QEMU_BUILD_BUG_ON(sizeof(GPollFD) != sizeof(struct pollfd));
QEMU_BUILD_BUG_ON(offsetof(GPollFD, revents) !=
                  offsetof(struct pollfd, revents));

static void fdmon_poll_update(AioContext *ctx, AioHandler *old_node,
                              AioHandler *new_node)
{
    /* Nothing to do: wait() reads the handler list itself. */
}

/* Fill the arrays from the live handlers; returns how many. */
static guint fill_pollfds(AioContext *ctx)
{
    AioHandler *node;

    if (!ctx->pollfds) {
        ctx->pollfds = g_array_new(FALSE, FALSE, sizeof(GPollFD));
        ctx->pollfds_nodes = g_array_new(FALSE, FALSE, sizeof(AioHandler *));
    }
    g_array_set_size(ctx->pollfds, 0);
    g_array_set_size(ctx->pollfds_nodes, 0);
    QLIST_FOREACH_RCU(node, &ctx->aio_handlers, node) {
        GPollFD pfd = { .fd = node->pfd.fd, .events = node->pfd.events };

        if (!pfd.events || qatomic_read(&node->deleted)) {
            continue;
        }
        g_array_append_val(ctx->pollfds, pfd);
        g_array_append_val(ctx->pollfds_nodes, node);
    }
    return ctx->pollfds->len;
}

/* ppoll with a timeout in ns (-1 = forever).  Returns count or -errno. */
static int poll_ns(GPollFD *fds, guint nfds, int64_t timeout)
{
    struct timespec ts, *tsp = NULL;
    int ret;

    if (timeout >= 0) {
        ts.tv_sec = timeout / NANOSECONDS_PER_SECOND;
        ts.tv_nsec = timeout % NANOSECONDS_PER_SECOND;
        tsp = &ts;
    }
    ret = ppoll((struct pollfd *)fds, nfds, tsp, NULL);
    return ret < 0 ? -errno : ret;
}

static int fdmon_poll_wait(AioContext *ctx, AioHandlerList *ready_list,
                           int64_t timeout)
{
    guint n = fill_pollfds(ctx);
    GPollFD *fds = (GPollFD *)ctx->pollfds->data;
    AioHandler **nodes = (AioHandler **)ctx->pollfds_nodes->data;
    int ret = poll_ns(fds, n, timeout);
    int ready = 0;

    if (ret <= 0) {
        return ret;
    }
    for (guint i = 0; i < n; i++) {
        if (fds[i].revents) {
            aio_add_ready_handler(ready_list, nodes[i], fds[i].revents);
            ready++;
        }
    }
    return ready;
}

static bool fdmon_poll_need_wait(AioContext *ctx)
{
    return aio_poll_disabled(ctx);
}

const FDMonOps fdmon_poll_ops = {
    .name = "poll",
    .update = fdmon_poll_update,
    .wait = fdmon_poll_wait,
    .need_wait = fdmon_poll_need_wait,
};
