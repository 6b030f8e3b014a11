/*
 * null-co and null-aio: protocol drivers with no storage.
 *
 * Writes are dropped; reads return zeroes, or leave the buffer untouched
 * with read-zeroes=off (which makes them cost nothing, the baseline for
 * measuring the request path alone).  latency-ns delays every request.
 * null-co implements the coroutine style, null-aio the callback style
 * (completing from a bottom half, or a timer when a latency is set), so
 * together they exercise both ways a driver can meet the generic layer.
 *
 * Options: size (default 1 GiB), read-zeroes (default on), latency-ns.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"

#define NULL_DEFAULT_SIZE (1ULL << 30)

typedef struct BDRVNullState {
    int64_t length;
    int64_t latency_ns;
    bool read_zeroes;
} BDRVNullState;

static int null_file_open(BlockDriverState *bs, const char *filename,
                          int flags)
{
    BDRVNullState *s = bs->opaque;
    uint64_t size, latency;

    if (!bdrv_opt_take_size(bs, "size", NULL_DEFAULT_SIZE, &size) ||
        !bdrv_opt_take_size(bs, "latency-ns", 0, &latency) ||
        !bdrv_opt_take_bool(bs, "read-zeroes", true, &s->read_zeroes)) {
        return -EINVAL;
    }
    if (size > INT64_MAX / 2 || latency > INT64_MAX / 2) {
        error_setg(bdrv_driver_errp(), "size or latency-ns out of range");
        return -EINVAL;
    }
    s->length = size;
    s->latency_ns = latency;
    bs->total_sectors = DIV_ROUND_UP(size, BDRV_SECTOR_SIZE);
    return 0;
}

static int64_t null_getlength(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;

    return s->length;
}

static int null_has_zero_init(BlockDriverState *bs)
{
    return 1;
}

/* ---- null-co ------------------------------------------------------- */

static int coroutine_fn null_co_common(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;

    if (s->latency_ns) {
        qemu_co_sleep_ns(QEMU_CLOCK_REALTIME, s->latency_ns);
    }
    return 0;
}

static int coroutine_fn null_co_readv(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors,
                                      QEMUIOVector *qiov)
{
    BDRVNullState *s = bs->opaque;

    if (s->read_zeroes) {
        qemu_iovec_memset(qiov, 0, 0,
                          (size_t)nb_sectors << BDRV_SECTOR_BITS);
    }
    return null_co_common(bs);
}

static int coroutine_fn null_co_writev(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors,
                                       QEMUIOVector *qiov)
{
    return null_co_common(bs);
}

static int coroutine_fn null_co_flush(BlockDriverState *bs)
{
    return null_co_common(bs);
}

BlockDriver bdrv_null_co = {
    .format_name = "null-co",
    .protocol_name = "null-co",
    .instance_size = sizeof(BDRVNullState),
    .bdrv_file_open = null_file_open,
    .bdrv_getlength = null_getlength,
    .bdrv_has_zero_init = null_has_zero_init,
    .bdrv_co_readv = null_co_readv,
    .bdrv_co_writev = null_co_writev,
    .bdrv_co_flush_to_disk = null_co_flush,
};

/* ---- null-aio ------------------------------------------------------ */

typedef struct NullAIOCB {
    BlockDriverAIOCB common;
    QEMUTimer timer;
} NullAIOCB;

static const AIOCBInfo null_aiocb_info = {
    .aiocb_size = sizeof(NullAIOCB),
};

static void null_aio_complete(void *opaque)
{
    NullAIOCB *acb = opaque;

    acb->common.cb(acb->common.opaque, 0);
    qemu_aio_unref(acb);
}

static void null_aio_timer_cb(void *opaque)
{
    NullAIOCB *acb = opaque;

    timer_del(&acb->timer);
    null_aio_complete(acb);
}

static BlockDriverAIOCB *null_aio_common(BlockDriverState *bs,
                                         BlockDriverCompletionFunc *cb,
                                         void *opaque)
{
    BDRVNullState *s = bs->opaque;
    NullAIOCB *acb = qemu_aio_get(&null_aiocb_info, bs, cb, opaque);
    AioContext *ctx = bdrv_get_aio_context(bs);

    if (s->latency_ns) {
        aio_timer_init(ctx, &acb->timer, QEMU_CLOCK_REALTIME, SCALE_NS,
                       null_aio_timer_cb, acb);
        timer_mod_ns(&acb->timer,
                     qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + s->latency_ns);
    } else {
        aio_bh_schedule_oneshot(ctx, null_aio_complete, acb);
    }
    return &acb->common;
}

static BlockDriverAIOCB *null_aio_readv(BlockDriverState *bs,
                                        int64_t sector_num,
                                        QEMUIOVector *qiov, int nb_sectors,
                                        BlockDriverCompletionFunc *cb,
                                        void *opaque)
{
    BDRVNullState *s = bs->opaque;

    if (s->read_zeroes) {
        qemu_iovec_memset(qiov, 0, 0,
                          (size_t)nb_sectors << BDRV_SECTOR_BITS);
    }
    return null_aio_common(bs, cb, opaque);
}

static BlockDriverAIOCB *null_aio_writev(BlockDriverState *bs,
                                         int64_t sector_num,
                                         QEMUIOVector *qiov, int nb_sectors,
                                         BlockDriverCompletionFunc *cb,
                                         void *opaque)
{
    return null_aio_common(bs, cb, opaque);
}

static BlockDriverAIOCB *null_aio_flush(BlockDriverState *bs,
                                        BlockDriverCompletionFunc *cb,
                                        void *opaque)
{
    return null_aio_common(bs, cb, opaque);
}

BlockDriver bdrv_null_aio = {
    .format_name = "null-aio",
    .protocol_name = "null-aio",
    .instance_size = sizeof(BDRVNullState),
    .bdrv_file_open = null_file_open,
    .bdrv_getlength = null_getlength,
    .bdrv_has_zero_init = null_has_zero_init,
    .bdrv_aio_readv = null_aio_readv,
    .bdrv_aio_writev = null_aio_writev,
    .bdrv_aio_flush = null_aio_flush,
};
