/*
 * QIOChannelBuffer: a channel over a growable in-memory byte array.
 *
 * Reads and writes share one position (@offset).  A write stores its data
 * at @offset, growing the array as needed and moving @usage (the end of
 * valid data) when it writes past it; a read copies from @offset up to
 * @usage and returns end-of-file at @usage.  qio_channel_io_seek() moves
 * the position (SEEK_SET, SEEK_CUR, SEEK_END relative to @usage); seeking
 * past @usage and then writing leaves a zero-filled gap.  The channel
 * never blocks and its watches are always ready.  After
 * qio_channel_close() the data is freed and I/O fails with an Error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_BUFFER_H
#define QIO_CHANNEL_BUFFER_H

#include "io/channel.h"

#define TYPE_QIO_CHANNEL_BUFFER "qio-channel-buffer"
OBJECT_DECLARE_SIMPLE_TYPE(QIOChannelBuffer, QIO_CHANNEL_BUFFER)

/*
 * The fields may be read by the channel's owner (e.g. to look at what was
 * written: @data[0 .. @usage)), never changed behind the channel's back.
 */
struct QIOChannelBuffer {
    QIOChannel parent;
    size_t capacity;    /* bytes allocated at @data */
    size_t usage;       /* bytes of valid data at @data */
    size_t offset;      /* current read/write position */
    uint8_t *data;      /* NULL while @capacity is 0, and after close */
    bool closed;        /* set by qio_channel_close() */
};

/*
 * qio_channel_buffer_new: an empty buffer channel with room for @capacity
 * bytes before it needs to grow (0 is fine), named "buffer".  One
 * reference.  Any thread.
 */
QIOChannelBuffer *qio_channel_buffer_new(size_t capacity);

#endif /* QIO_CHANNEL_BUFFER_H */
