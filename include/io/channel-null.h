/*
 * QIOChannelNull: a channel connected to nothing, like /dev/null.
 *
 * Writes succeed and are counted as written in full (the data is
 * dropped); reads return end-of-file; watches are always ready for
 * whatever they ask.  After qio_channel_close() every read or write
 * fails with an Error.  Useful as a sink in tests and for discarding
 * output.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QIO_CHANNEL_NULL_H
#define QIO_CHANNEL_NULL_H

#include "io/channel.h"

#define TYPE_QIO_CHANNEL_NULL "qio-channel-null"
OBJECT_DECLARE_SIMPLE_TYPE(QIOChannelNull, QIO_CHANNEL_NULL)

struct QIOChannelNull {
    QIOChannel parent;
    bool closed;    /* set by qio_channel_close() */
};

/*
 * qio_channel_null_new: a new null channel named "null" (one reference).
 * Any thread.
 */
QIOChannelNull *qio_channel_null_new(void);

#endif /* QIO_CHANNEL_NULL_H */
