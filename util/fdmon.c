/*
 * fd monitor selection: which FDMonOps backend a new AioContext uses.
 *
 * SPINDLE_FDMON=io_uring|epoll|poll forces one backend (an unavailable or
 * unknown name makes aio_context_new fail, so a test run per backend
 * never silently tests another).  Without it the order is io_uring,
 * epoll, poll: each setup function returns false when its backend cannot
 * be used here, and poll always works.  Nothing else in the tree chooses
 * a backend.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "aio-posix.h"

static bool poll_setup(AioContext *ctx)
{
    ctx->fdmon_ops = &fdmon_poll_ops;
    return true;
}

typedef struct FDMonChoice {
    const char *name;
    bool (*setup)(AioContext *ctx);
} FDMonChoice;

/* In order of preference. */
static const FDMonChoice choices[] = {
    { "io_uring", fdmon_io_uring_setup },
    { "epoll", fdmon_epoll_setup },
    { "poll", poll_setup },
};

static bool setup_forced(AioContext *ctx, const char *want, Error **errp)
{
    for (size_t i = 0; i < ARRAY_SIZE(choices); i++) {
        if (strcmp(want, choices[i].name) != 0) {
            continue;
        }
        if (!choices[i].setup(ctx)) {
            error_setg(errp, "SPINDLE_FDMON=%s: fd monitor not available",
                       want);
            return false;
        }
        return true;
    }
    error_setg(errp, "SPINDLE_FDMON=%s: unknown fd monitor "
               "(expected io_uring, epoll or poll)", want);
    return false;
}

bool fdmon_setup(AioContext *ctx, Error **errp)
{
    const char *want = getenv("SPINDLE_FDMON");

    ctx->fdmon_ops = &fdmon_poll_ops;
    if (want && *want) {
        return setup_forced(ctx, want, errp);
    }
    for (size_t i = 0; i < ARRAY_SIZE(choices); i++) {
        if (choices[i].setup(ctx)) {
            break;
        }
    }
    return true;
}

void fdmon_teardown(AioContext *ctx)
{
    fdmon_io_uring_destroy(ctx);
    fdmon_epoll_disable(ctx);
    ctx->fdmon_ops = &fdmon_poll_ops;
    if (ctx->pollfds) {
        g_array_free(ctx->pollfds, TRUE);
        g_array_free(ctx->pollfds_nodes, TRUE);
        ctx->pollfds = NULL;
        ctx->pollfds_nodes = NULL;
    }
}
