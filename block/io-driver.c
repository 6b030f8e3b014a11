/*
 * The bottom of the request path: call the driver in the one I/O style
 * it implements.
 *
 * The generic layer works in byte offsets; the seed's driver members work
 * in 512-byte sectors and an int sector count, so requests arrive here
 * sector-aligned (the request path guarantees it) and are split into
 * pieces a driver can take.  A driver with coroutine members is called
 * directly; one with callback members is called and the coroutine yields
 * until the callback; one with only synchronous members is called with a
 * flat buffer (bounced when the vector has several pieces).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"

/* Largest piece passed down at once, in sectors (fits the int count). */
#define MAX_PIECE_SECTORS  ((int)(BDRV_REQUEST_MAX_BYTES >> BDRV_SECTOR_BITS))

/* Where a coroutine waits for a driver's callback. */
typedef struct CoAioWait {
    Coroutine *co;
    int ret;
    bool done;
    bool yielded;
} CoAioWait;

static void co_aio_complete(void *opaque, int ret)
{
    CoAioWait *w = opaque;

    w->ret = ret;
    w->done = true;
    if (w->yielded) {
        aio_co_wake(w->co);
    }
}

static int coroutine_fn co_aio_wait(CoAioWait *w, BlockDriverAIOCB *acb)
{
    if (!acb) {
        return -EIO;
    }
    if (!w->done) {
        w->yielded = true;
        qemu_coroutine_yield();
    }
    return w->ret;
}

#define CO_AIO_WAIT_INIT { .co = qemu_coroutine_self() }

static int coroutine_fn sync_rw(BlockDriverState *bs, int64_t sector,
                                int nb, QEMUIOVector *qiov, bool is_write)
{
    BlockDriver *drv = bs->drv;
    size_t len = (size_t)nb << BDRV_SECTOR_BITS;
    uint8_t *buf;
    int ret;

    if (qiov->niov == 1) {
        buf = qiov->iov[0].iov_base;
        return is_write ? drv->bdrv_write(bs, sector, buf, nb)
                        : drv->bdrv_read(bs, sector, buf, nb);
    }
    buf = qemu_blockalign(bs, len);
    if (is_write) {
        qemu_iovec_to_buf(qiov, 0, buf, len);
        ret = drv->bdrv_write(bs, sector, buf, nb);
    } else {
        ret = drv->bdrv_read(bs, sector, buf, nb);
        if (ret >= 0) {
            qemu_iovec_from_buf(qiov, 0, buf, len);
        }
    }
    qemu_vfree(buf);
    return ret;
}

/* One piece of at most MAX_PIECE_SECTORS, in the driver's style. */
static int coroutine_fn driver_rw_piece(BlockDriverState *bs, int64_t sector,
                                        int nb, QEMUIOVector *qiov,
                                        bool is_write)
{
    BlockDriver *drv = bs->drv;

    if (!drv) {
        return -ENOMEDIUM;
    }
    if (is_write ? drv->bdrv_co_writev != NULL : drv->bdrv_co_readv != NULL) {
        return is_write ? drv->bdrv_co_writev(bs, sector, nb, qiov)
                        : drv->bdrv_co_readv(bs, sector, nb, qiov);
    }
    if (is_write ? drv->bdrv_aio_writev != NULL
                 : drv->bdrv_aio_readv != NULL) {
        CoAioWait w = CO_AIO_WAIT_INIT;
        BlockDriverAIOCB *acb =
            is_write ? drv->bdrv_aio_writev(bs, sector, qiov, nb,
                                            co_aio_complete, &w)
                     : drv->bdrv_aio_readv(bs, sector, qiov, nb,
                                           co_aio_complete, &w);
        return co_aio_wait(&w, acb);
    }
    if (is_write ? drv->bdrv_write != NULL : drv->bdrv_read != NULL) {
        return sync_rw(bs, sector, nb, qiov, is_write);
    }
    return -ENOTSUP;
}

static int coroutine_fn driver_rw(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, QEMUIOVector *qiov,
                                  bool is_write)
{
    int64_t sector = offset >> BDRV_SECTOR_BITS;
    int64_t left = bytes >> BDRV_SECTOR_BITS;
    size_t done = 0;

    assert(QEMU_IS_ALIGNED(offset | bytes, BDRV_SECTOR_SIZE));
    if (left <= MAX_PIECE_SECTORS && qiov->size == (size_t)bytes) {
        return driver_rw_piece(bs, sector, left, qiov, is_write);
    }
    while (left > 0) {
        int nb = MIN(left, MAX_PIECE_SECTORS);
        size_t len = (size_t)nb << BDRV_SECTOR_BITS;
        QEMUIOVector piece;
        int ret;

        qemu_iovec_init_slice(&piece, qiov, done, len);
        ret = driver_rw_piece(bs, sector, nb, &piece, is_write);
        qemu_iovec_destroy(&piece);
        if (ret < 0) {
            return ret;
        }
        sector += nb;
        left -= nb;
        done += len;
    }
    return 0;
}

int coroutine_fn bdrv_driver_preadv(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov)
{
    return driver_rw(bs, offset, bytes, qiov, false);
}

int coroutine_fn bdrv_driver_pwritev(BlockDriverState *bs, int64_t offset,
                                     int64_t bytes, QEMUIOVector *qiov,
                                     BdrvRequestFlags flags)
{
    int ret = driver_rw(bs, offset, bytes, qiov, true);

    if (ret >= 0 && (flags & BDRV_REQ_FUA)) {
        ret = bdrv_co_flush_within(bs);
    }
    return ret;
}

/* Zeroes through ordinary writes of a zero buffer, at most 1 MiB each. */
static int coroutine_fn write_zeroes_by_writes(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes)
{
    const int64_t chunk = MIN(bytes, 1 << 20);
    void *zeroes = qemu_blockalign(bs, chunk);
    int ret = 0;

    memset(zeroes, 0, chunk);
    while (bytes > 0 && ret >= 0) {
        int64_t n = MIN(bytes, chunk);
        QEMUIOVector qiov;

        qemu_iovec_init_buf(&qiov, zeroes, n);
        ret = driver_rw(bs, offset, n, &qiov, true);
        offset += n;
        bytes -= n;
    }
    qemu_vfree(zeroes);
    return ret;
}

int coroutine_fn bdrv_driver_pwrite_zeroes(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           BdrvRequestFlags flags)
{
    BlockDriver *drv = bs->drv;
    int ret = -ENOTSUP;

    assert(QEMU_IS_ALIGNED(offset | bytes, BDRV_SECTOR_SIZE));
    if (drv->bdrv_co_write_zeroes) {
        int64_t sector = offset >> BDRV_SECTOR_BITS;
        int64_t left = bytes >> BDRV_SECTOR_BITS;

        do {
            int nb = MIN(left, MAX_PIECE_SECTORS);
            ret = drv->bdrv_co_write_zeroes(bs, sector, nb);
            sector += nb;
            left -= nb;
        } while (ret >= 0 && left > 0);
    }
    if (ret == -ENOTSUP) {
        ret = write_zeroes_by_writes(bs, offset, bytes);
    }
    if (ret >= 0 && (flags & BDRV_REQ_FUA)) {
        ret = bdrv_co_flush_within(bs);
    }
    return ret;
}

int coroutine_fn bdrv_driver_pdiscard(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes)
{
    BlockDriver *drv = bs->drv;
    int64_t sector = offset >> BDRV_SECTOR_BITS;
    int64_t left = bytes >> BDRV_SECTOR_BITS;
    int ret = 0;

    while (left > 0 && ret >= 0) {
        int nb = MIN(left, MAX_PIECE_SECTORS);

        if (drv->bdrv_co_discard) {
            ret = drv->bdrv_co_discard(bs, sector, nb);
        } else if (drv->bdrv_aio_discard) {
            CoAioWait w = CO_AIO_WAIT_INIT;
            ret = co_aio_wait(&w, drv->bdrv_aio_discard(bs, sector, nb,
                                                         co_aio_complete, &w));
        } else {
            return 0;
        }
        sector += nb;
        left -= nb;
    }
    return ret;
}

/* Flush the driver's own layer: to the OS, then (unless unsafe) to disk. */
int coroutine_fn bdrv_driver_flush(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;
    int ret = 0;

    /* Announced whether or not the driver has caches of its own. */
    BLKDBG_EVENT(bs->file, BLKDBG_FLUSH_TO_OS);
    if (drv->bdrv_co_flush_to_os) {
        ret = drv->bdrv_co_flush_to_os(bs);
        if (ret < 0) {
            return ret;
        }
    }
    if (bs->open_flags & BDRV_O_NO_FLUSH) {
        return 0;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_FLUSH_TO_DISK);
    if (drv->bdrv_co_flush_to_disk) {
        ret = drv->bdrv_co_flush_to_disk(bs);
    } else if (drv->bdrv_aio_flush) {
        CoAioWait w = CO_AIO_WAIT_INIT;
        ret = co_aio_wait(&w, drv->bdrv_aio_flush(bs, co_aio_complete, &w));
    }
    return ret;
}
