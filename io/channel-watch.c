/*
 * GSources that watch one fd, or a read fd and a write fd, on behalf of a
 * channel, and call a QIOChannelFunc when a requested condition holds.
 *
 * What it does: GLib polls the GPollFDs; check() reports readiness when
 * the returned events intersect the requested condition; dispatch()
 * passes only that intersection to the callback.  Each source keeps the
 * channel alive (one reference) until it is finalized.
 *
 * What it does not: read or write anything, or look at channel state
 * (buffered TLS data, for instance, is the class's own business: such a
 * class builds its own source around these).
 *
 * A third kind, the ready watch, polls nothing and is always ready; it
 * serves channels that never block.
 *
 * Key invariant: a pair source never polls a negative fd, so a channel
 * with only one direction can still use it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-watch.h"

/* Conditions that make sense on the read side and on the write side. */
#define READ_SIDE (G_IO_IN | G_IO_PRI | G_IO_HUP | G_IO_ERR | G_IO_NVAL)
#define WRITE_SIDE (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL)

typedef struct FDSource {
    GSource parent;
    QIOChannel *ioc;
    GIOCondition condition;
    GPollFD rfd;        /* the only fd of a single-fd watch */
    GPollFD wfd;        /* pair watches only; fd -1 when unused */
} FDSource;

static GIOCondition ready_conditions(FDSource *s)
{
    GIOCondition ready = s->rfd.revents;

    if (s->wfd.fd >= 0) {
        ready |= s->wfd.revents;
    }
    return ready & s->condition;
}

static gboolean fd_source_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return FALSE;
}

static gboolean fd_source_check(GSource *source)
{
    return ready_conditions((FDSource *)source) != 0;
}

static gboolean fd_source_dispatch(GSource *source, GSourceFunc callback,
                                   gpointer user_data)
{
    FDSource *s = (FDSource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;

    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(s->ioc, ready_conditions(s), user_data);
}

static void fd_source_finalize(GSource *source)
{
    object_unref(((FDSource *)source)->ioc);
}

static GSourceFuncs fd_source_funcs = {
    .prepare = fd_source_prepare,
    .check = fd_source_check,
    .dispatch = fd_source_dispatch,
    .finalize = fd_source_finalize,
};

static FDSource *fd_source_new(QIOChannel *ioc, GIOCondition condition)
{
    FDSource *s = (FDSource *)g_source_new(&fd_source_funcs,
                                           sizeof(FDSource));

    s->ioc = QIO_CHANNEL(object_ref(ioc));
    s->condition = condition;
    s->rfd.fd = -1;
    s->wfd.fd = -1;
    return s;
}

static void add_poll(FDSource *s, GPollFD *pfd, int fd, GIOCondition events)
{
    pfd->fd = fd;
    pfd->events = events;
    pfd->revents = 0;
    if (fd >= 0) {
        g_source_add_poll(&s->parent, pfd);
    }
}

GSource *qio_channel_create_fd_watch(QIOChannel *ioc,
                                     int fd,
                                     GIOCondition condition)
{
    FDSource *s = fd_source_new(ioc, condition);

    add_poll(s, &s->rfd, fd, condition);
    return &s->parent;
}

GSource *qio_channel_create_socket_watch(QIOChannel *ioc,
                                         int sockfd,
                                         GIOCondition condition)
{
    return qio_channel_create_fd_watch(ioc, sockfd, condition);
}

GSource *qio_channel_create_fd_pair_watch(QIOChannel *ioc,
                                          int fdread,
                                          int fdwrite,
                                          GIOCondition condition)
{
    FDSource *s = fd_source_new(ioc, condition);

    if (fdread == fdwrite) {
        add_poll(s, &s->rfd, fdread, condition);
        return &s->parent;
    }
    add_poll(s, &s->rfd, fdread, condition & READ_SIDE);
    add_poll(s, &s->wfd, fdwrite, condition & WRITE_SIDE);
    return &s->parent;
}

/* ---- always ready ------------------------------------------------------- */

static gboolean ready_source_prepare(GSource *source, gint *timeout)
{
    *timeout = 0;
    return TRUE;
}

static gboolean ready_source_check(GSource *source)
{
    return TRUE;
}

static gboolean ready_source_dispatch(GSource *source, GSourceFunc callback,
                                      gpointer user_data)
{
    FDSource *s = (FDSource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;

    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(s->ioc, s->condition, user_data);
}

static GSourceFuncs ready_source_funcs = {
    .prepare = ready_source_prepare,
    .check = ready_source_check,
    .dispatch = ready_source_dispatch,
    .finalize = fd_source_finalize,
};

GSource *qio_channel_create_ready_watch(QIOChannel *ioc,
                                        GIOCondition condition)
{
    FDSource *s = (FDSource *)g_source_new(&ready_source_funcs,
                                           sizeof(FDSource));

    s->ioc = QIO_CHANNEL(object_ref(ioc));
    s->condition = condition;
    s->rfd.fd = -1;
    s->wfd.fd = -1;
    return &s->parent;
}
