/*
 * QIOChannelNull: writes vanish, reads see end-of-file.
 *
 * What it does: accepts every write in full, answers every read with 0,
 * and offers a watch that is ready at once for any condition asked.
 * What it does not: block, pass descriptors, seek, or shut down.
 * Key invariant: once `closed` is set every read and write fails.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-null.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "qemu/iov.h"

QIOChannelNull *qio_channel_null_new(void)
{
    QIOChannelNull *nioc = QIO_CHANNEL_NULL(object_new(TYPE_QIO_CHANNEL_NULL));

    /*
     * A default debugging name; the call also makes a static link keep
     * io/channel.o, which registers our parent type from a constructor.
     */
    qio_channel_set_name(QIO_CHANNEL(nioc), "null");
    return nioc;
}

static bool check_open(QIOChannelNull *nioc, Error **errp)
{
    if (nioc->closed) {
        error_setg(errp, "null channel is closed");
        return false;
    }
    return true;
}

static ssize_t null_readv(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, int **fds, size_t *nfds,
                          Error **errp)
{
    if (!check_open(QIO_CHANNEL_NULL(ioc), errp)) {
        return -1;
    }
    return 0;
}

static ssize_t null_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, int *fds, size_t nfds,
                           Error **errp)
{
    if (!check_open(QIO_CHANNEL_NULL(ioc), errp)) {
        return -1;
    }
    return iov_size(iov, niov);
}

static int null_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    return 0;   /* never blocks either way */
}

static int null_close(QIOChannel *ioc, Error **errp)
{
    QIO_CHANNEL_NULL(ioc)->closed = true;
    return 0;
}

/* ---- type --------------------------------------------------------------- */

static void null_class_init(ObjectClass *klass, void *data)
{
    QIOChannelClass *ioc_klass = QIO_CHANNEL_CLASS(klass);

    ioc_klass->io_readv = null_readv;
    ioc_klass->io_writev = null_writev;
    ioc_klass->io_close = null_close;
    ioc_klass->io_create_watch = qio_channel_create_ready_watch;
    ioc_klass->io_set_blocking = null_set_blocking;
}

static const TypeInfo null_info = {
    .name = TYPE_QIO_CHANNEL_NULL,
    .parent = TYPE_QIO_CHANNEL,
    .instance_size = sizeof(QIOChannelNull),
    .class_init = null_class_init,
};

static void null_register_types(void)
{
    type_register_static(&null_info);
}

type_init(null_register_types);
