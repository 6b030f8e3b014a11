/*
 * The synchronous and sector-based faces of the request path.
 *
 * A synchronous call made outside a coroutine starts a coroutine in the
 * node's AioContext and polls until it has finished: from the node's home
 * thread by running that context, from the main thread for a node in an
 * IOThread by waiting with AIO_WAIT_WHILE while the IOThread runs it.
 * Called from inside a coroutine, the same functions just call the
 * coroutine path.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/aio-wait.h"
#include "block/internal.h"

/* The coroutine bdrv_run_co starts: the caller's entry, then the signal
 * its waiter polls for (published for waiters in other threads). */
typedef struct RunCo {
    CoroutineEntry *entry;
    void *opaque;
    bool done;
} RunCo;

static void coroutine_fn run_co_entry(void *opaque)
{
    RunCo *r = opaque;

    r->entry(r->opaque);
    qatomic_store_release(&r->done, true);
    aio_wait_kick();
}

void bdrv_run_co(BlockDriverState *bs, CoroutineEntry *entry, void *opaque)
{
    AioContext *ctx = bdrv_get_aio_context(bs);
    RunCo r = { .entry = entry, .opaque = opaque };
    Coroutine *co;

    if (qemu_in_coroutine()) {
        entry(opaque);
        return;
    }
    co = qemu_coroutine_create(run_co_entry, &r);
    if (in_aio_context_home_thread(ctx)) {
        qemu_aio_coroutine_enter(ctx, co);
    } else {
        aio_co_schedule(ctx, co);
    }
    AIO_WAIT_WHILE_UNLOCKED(ctx, !qatomic_load_acquire(&r.done));
}

/* One byte-granular request, run synchronously. */
typedef struct RwCo {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    BdrvRequestFlags flags;
    bool is_write;
    int ret;
} RwCo;

static void coroutine_fn rw_co_entry(void *opaque)
{
    RwCo *rw = opaque;

    if (rw->is_write) {
        rw->ret = bdrv_co_pwritev(rw->bs, rw->offset, rw->bytes, rw->qiov,
                                  rw->flags);
    } else {
        rw->ret = bdrv_co_preadv(rw->bs, rw->offset, rw->bytes, rw->qiov,
                                 rw->flags);
    }
}

static int prw(BlockDriverState *bs, int64_t offset, int64_t bytes,
               QEMUIOVector *qiov, bool is_write, BdrvRequestFlags flags)
{
    RwCo rw = {
        .bs = bs, .offset = offset, .bytes = bytes, .qiov = qiov,
        .flags = flags, .is_write = is_write,
    };

    bdrv_run_co(bs, rw_co_entry, &rw);
    return rw.ret;
}

static int prw_buf(BlockDriverState *bs, int64_t offset, void *buf,
                   int64_t bytes, bool is_write)
{
    QEMUIOVector qiov;

    if (bytes < 0) {
        return -EINVAL;
    }
    qemu_iovec_init_buf(&qiov, buf, bytes);
    return prw(bs, offset, bytes, &qiov, is_write, 0);
}

int bdrv_read(BlockDriverState *bs, int64_t sector_num, uint8_t *buf,
              int nb_sectors)
{
    return prw_buf(bs, sectors_to_offset(sector_num), buf,
                   sectors_to_offset(nb_sectors), false);
}

int bdrv_write(BlockDriverState *bs, int64_t sector_num, const uint8_t *buf,
               int nb_sectors)
{
    return prw_buf(bs, sectors_to_offset(sector_num), (void *)buf,
                   sectors_to_offset(nb_sectors), true);
}

int bdrv_pread(BlockDriverState *bs, int64_t offset, void *buf, int count)
{
    int ret = prw_buf(bs, offset, buf, count, false);

    return ret < 0 ? ret : count;
}

int bdrv_pwrite(BlockDriverState *bs, int64_t offset, const void *buf,
                int count)
{
    int ret = prw_buf(bs, offset, (void *)buf, count, true);

    return ret < 0 ? ret : count;
}

int bdrv_pwrite_sync(BlockDriverState *bs, int64_t offset, const void *buf,
                     int count)
{
    int ret = bdrv_pwrite(bs, offset, buf, count);

    if (ret < 0) {
        return ret;
    }
    return bdrv_flush(bs);
}

int bdrv_write_zeroes(BlockDriverState *bs, int64_t sector_num,
                      int nb_sectors)
{
    return prw(bs, sectors_to_offset(sector_num),
               sectors_to_offset(nb_sectors), NULL, true,
               BDRV_REQ_ZERO_WRITE);
}

/* ---- sector-based coroutine API -------------------------------------- */

static int sectors_to_bytes(int64_t sector_num, int nb_sectors,
                            int64_t *offset, int64_t *bytes)
{
    if (sector_num < 0 || nb_sectors < 0 ||
        sector_num > INT64_MAX >> BDRV_SECTOR_BITS) {
        return -EIO;
    }
    *offset = sectors_to_offset(sector_num);
    *bytes = sectors_to_offset(nb_sectors);
    return 0;
}

int coroutine_fn bdrv_co_readv(BlockDriverState *bs, int64_t sector_num,
                               int nb_sectors, QEMUIOVector *qiov)
{
    int64_t offset, bytes;
    int ret = sectors_to_bytes(sector_num, nb_sectors, &offset, &bytes);

    return ret < 0 ? ret : bdrv_co_preadv(bs, offset, bytes, qiov, 0);
}

int coroutine_fn bdrv_co_copy_on_readv(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors,
                                       QEMUIOVector *qiov)
{
    int64_t offset, bytes;
    int ret = sectors_to_bytes(sector_num, nb_sectors, &offset, &bytes);

    return ret < 0 ? ret : bdrv_co_preadv(bs, offset, bytes, qiov,
                                          BDRV_REQ_COPY_ON_READ);
}

int coroutine_fn bdrv_co_writev(BlockDriverState *bs, int64_t sector_num,
                                int nb_sectors, QEMUIOVector *qiov)
{
    int64_t offset, bytes;
    int ret = sectors_to_bytes(sector_num, nb_sectors, &offset, &bytes);

    return ret < 0 ? ret : bdrv_co_pwritev(bs, offset, bytes, qiov, 0);
}

int coroutine_fn bdrv_co_write_zeroes(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors)
{
    int64_t offset, bytes;
    int ret = sectors_to_bytes(sector_num, nb_sectors, &offset, &bytes);

    return ret < 0 ? ret : bdrv_co_pwrite_zeroes(bs, offset, bytes, 0);
}

int coroutine_fn bdrv_co_discard(BlockDriverState *bs, int64_t sector_num,
                                 int nb_sectors)
{
    int64_t offset, bytes;
    int ret = sectors_to_bytes(sector_num, nb_sectors, &offset, &bytes);

    return ret < 0 ? ret : bdrv_co_pdiscard(bs, offset, bytes);
}
