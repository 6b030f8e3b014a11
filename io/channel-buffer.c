/*
 * QIOChannelBuffer: a channel over a growable byte array in memory.
 *
 * What it does: reads copy out from the shared position up to the end of
 * valid data; writes copy in at the position, zero-filling any gap left by
 * a seek past the end and growing the array geometrically.
 * What it does not: block, pass descriptors or shut down; its watches are
 * always ready.
 * Key invariant: offset may exceed usage (after a seek), but
 * usage <= capacity always, and data[usage, capacity) is never read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "qemu/iov.h"

QIOChannelBuffer *qio_channel_buffer_new(size_t capacity)
{
    QIOChannelBuffer *bioc;

    bioc = QIO_CHANNEL_BUFFER(object_new(TYPE_QIO_CHANNEL_BUFFER));
    /*
     * A default debugging name; the call also makes a static link keep
     * io/channel.o, which registers our parent type from a constructor.
     */
    qio_channel_set_name(QIO_CHANNEL(bioc), "buffer");
    if (capacity) {
        bioc->data = g_malloc(capacity);
        bioc->capacity = capacity;
    }
    return bioc;
}

static bool check_open(QIOChannelBuffer *bioc, Error **errp)
{
    if (bioc->closed) {
        error_setg(errp, "buffer channel is closed");
        return false;
    }
    return true;
}

static ssize_t buffer_readv(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, int **fds, size_t *nfds,
                            Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);
    size_t copied;

    if (!check_open(bioc, errp)) {
        return -1;
    }
    if (bioc->offset >= bioc->usage) {
        return 0;
    }
    copied = iov_from_buf(iov, niov, 0, bioc->data + bioc->offset,
                          bioc->usage - bioc->offset);
    bioc->offset += copied;
    return copied;
}

/* Make room for @end bytes, at least doubling so appends stay O(1). */
static void reserve(QIOChannelBuffer *bioc, size_t end)
{
    size_t capacity;

    if (end <= bioc->capacity) {
        return;
    }
    capacity = MAX(end, MAX(bioc->capacity * 2, 4096));
    bioc->data = g_realloc(bioc->data, capacity);
    bioc->capacity = capacity;
}

static ssize_t buffer_writev(QIOChannel *ioc, const struct iovec *iov,
                             size_t niov, int *fds, size_t nfds,
                             Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);
    size_t len = iov_size(iov, niov);

    if (!check_open(bioc, errp)) {
        return -1;
    }
    if (len > SSIZE_MAX || bioc->offset > SIZE_MAX - len) {
        error_setg(errp, "buffer channel cannot grow past %zu bytes",
                   (size_t)SIZE_MAX);
        return -1;
    }
    reserve(bioc, bioc->offset + len);
    if (bioc->offset > bioc->usage) {
        memset(bioc->data + bioc->usage, 0, bioc->offset - bioc->usage);
    }
    iov_to_buf(iov, niov, 0, bioc->data + bioc->offset, len);
    bioc->offset += len;
    bioc->usage = MAX(bioc->usage, bioc->offset);
    return len;
}

static off_t buffer_seek(QIOChannel *ioc, off_t offset, int whence,
                         Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);
    int64_t base;

    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = bioc->offset;
        break;
    case SEEK_END:
        base = bioc->usage;
        break;
    default:
        error_setg(errp, "invalid seek whence %d", whence);
        return (off_t)-1;
    }
    if ((offset < 0 && base + offset < 0) ||
        (offset > 0 && offset > INT64_MAX - base)) {
        error_setg(errp, "cannot seek buffer channel to %" PRId64
                   " + %" PRId64, base, (int64_t)offset);
        return (off_t)-1;
    }
    bioc->offset = base + offset;
    return bioc->offset;
}

static int buffer_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    return 0;   /* never blocks either way */
}

static void release_data(QIOChannelBuffer *bioc)
{
    g_free(bioc->data);
    bioc->data = NULL;
    bioc->capacity = bioc->usage = bioc->offset = 0;
}

static int buffer_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);

    release_data(bioc);
    bioc->closed = true;
    return 0;
}

static void buffer_finalize(Object *obj)
{
    release_data(QIO_CHANNEL_BUFFER(obj));
}

static void buffer_class_init(ObjectClass *klass, void *data)
{
    QIOChannelClass *ioc_klass = QIO_CHANNEL_CLASS(klass);

    ioc_klass->io_readv = buffer_readv;
    ioc_klass->io_writev = buffer_writev;
    ioc_klass->io_close = buffer_close;
    ioc_klass->io_create_watch = qio_channel_create_ready_watch;
    ioc_klass->io_set_blocking = buffer_set_blocking;
    ioc_klass->io_seek = buffer_seek;
}

static const TypeInfo buffer_info = {
    .name = TYPE_QIO_CHANNEL_BUFFER,
    .parent = TYPE_QIO_CHANNEL,
    .instance_size = sizeof(QIOChannelBuffer),
    .instance_finalize = buffer_finalize,
    .class_init = buffer_class_init,
};

static void buffer_register_types(void)
{
    type_register_static(&buffer_info);
}

type_init(buffer_register_types);
