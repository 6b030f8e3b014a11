/*
 * The callback-style face of the request path: bdrv_aio_*.
 *
 * Each call takes a pooled AIOCB, starts a coroutine that runs the
 * coroutine path, and returns.  The completion callback runs in the
 * node's AioContext: directly from the coroutine when the request
 * finished after the submitting call returned, from a bottom half when it
 * finished before (a callback must never run inside the call that
 * submitted it).  The request counts as in flight until its callback has
 * run, so a drain also waits for callbacks -- except while the error
 * policy holds it stopped.
 *
 * Cancellation waits for the request to stop and then suppresses the
 * callback; a request cannot be pulled back once the driver has it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/aio-wait.h"
#include "block/internal.h"

typedef enum {
    AIO_READ,
    AIO_WRITE,
    AIO_FLUSH,
    AIO_DISCARD,
    AIO_IOCTL,
} AioKind;

typedef struct BlockAIOCBCoroutine {
    BlockDriverAIOCB common;
    AioKind kind;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    unsigned long ioctl_req;
    void *ioctl_buf;
    int ret;
    bool submitting;    /* still inside the bdrv_aio_* call */
    bool done;          /* the coroutine path has returned */
    bool completed;     /* the callback ran (or was suppressed) */
    bool cancelled;
} BlockAIOCBCoroutine;

static AioContext *co_aiocb_get_aio_context(BlockDriverAIOCB *acb)
{
    return bdrv_get_aio_context(acb->bs);
}

static void co_aiocb_cancel(BlockDriverAIOCB *common)
{
    bdrv_aio_cancel(common);
}

static const AIOCBInfo co_aiocb_info = {
    .aiocb_size = sizeof(BlockAIOCBCoroutine),
    .cancel = co_aiocb_cancel,
    .get_aio_context = co_aiocb_get_aio_context,
};

static void aiocb_complete(BlockAIOCBCoroutine *acb)
{
    BlockDriverState *bs = acb->common.bs;

    if (!acb->cancelled) {
        acb->common.cb(acb->common.opaque, acb->ret);
    }
    acb->completed = true;
    bdrv_dec_in_flight(bs);
    qemu_aio_unref(acb);
}

static void aiocb_complete_bh(void *opaque)
{
    aiocb_complete(opaque);
}

static int coroutine_fn run_ioctl(BlockAIOCBCoroutine *acb)
{
    BlockDriverState *bs = acb->common.bs;

    if (!bs->drv || !bs->drv->bdrv_ioctl) {
        return -ENOTSUP;
    }
    return bs->drv->bdrv_ioctl(bs, acb->ioctl_req, acb->ioctl_buf);
}

static void coroutine_fn aiocb_entry(void *opaque)
{
    BlockAIOCBCoroutine *acb = opaque;
    BlockDriverState *bs = acb->common.bs;

    switch (acb->kind) {
    case AIO_READ:
        acb->ret = bdrv_co_preadv(bs, acb->offset, acb->bytes, acb->qiov, 0);
        break;
    case AIO_WRITE:
        acb->ret = bdrv_co_pwritev(bs, acb->offset, acb->bytes, acb->qiov, 0);
        break;
    case AIO_FLUSH:
        acb->ret = bdrv_co_flush(bs);
        break;
    case AIO_DISCARD:
        acb->ret = bdrv_co_pdiscard(bs, acb->offset, acb->bytes);
        break;
    case AIO_IOCTL:
        acb->ret = run_ioctl(acb);
        break;
    }
    /* In flight again until the callback has run (see aiocb_start). */
    bdrv_inc_in_flight(bs);
    acb->done = true;
    if (!acb->submitting) {
        aiocb_complete(acb);
    }
}

static BlockAIOCBCoroutine *aiocb_new(BlockDriverState *bs, AioKind kind,
                                      int64_t offset, int64_t bytes,
                                      QEMUIOVector *qiov,
                                      BlockDriverCompletionFunc *cb,
                                      void *opaque)
{
    BlockAIOCBCoroutine *acb = qemu_aio_get(&co_aiocb_info, bs, cb, opaque);

    acb->kind = kind;
    acb->offset = offset;
    acb->bytes = bytes;
    acb->qiov = qiov;
    acb->ret = 0;
    acb->submitting = true;
    acb->done = acb->completed = acb->cancelled = false;
    return acb;
}

static BlockDriverAIOCB *aiocb_start(BlockAIOCBCoroutine *acb)
{
    BlockDriverState *bs = acb->common.bs;
    AioContext *ctx = bdrv_get_aio_context(bs);

    /*
     * Not counted in flight here: the request path counts itself from its
     * first step, which runs before the coroutine first yields, and
     * aiocb_entry counts the request again from its end to the callback.
     * A count held across the whole request would keep a request stopped
     * by the error policy (which stops counting itself) in flight, and
     * every drain of the node would hang until the user resumed it.
     */
    qemu_aio_coroutine_enter(ctx, qemu_coroutine_create(aiocb_entry, acb));
    acb->submitting = false;
    if (acb->done) {
        aio_bh_schedule_oneshot(ctx, aiocb_complete_bh, acb);
    }
    return &acb->common;
}

static BlockDriverAIOCB *aiocb_submit(BlockDriverState *bs, AioKind kind,
                                      int64_t offset, int64_t bytes,
                                      QEMUIOVector *qiov,
                                      BlockDriverCompletionFunc *cb,
                                      void *opaque)
{
    return aiocb_start(aiocb_new(bs, kind, offset, bytes, qiov, cb, opaque));
}

static BlockDriverAIOCB *aio_rw(BlockDriverState *bs, int64_t sector_num,
                                QEMUIOVector *qiov, int nb_sectors,
                                BlockDriverCompletionFunc *cb, void *opaque,
                                AioKind kind)
{
    return aiocb_submit(bs, kind, sectors_to_offset(sector_num),
                        sectors_to_offset(nb_sectors), qiov, cb,
                        opaque);
}

BlockDriverAIOCB *bdrv_aio_readv(BlockDriverState *bs, int64_t sector_num,
                                 QEMUIOVector *qiov, int nb_sectors,
                                 BlockDriverCompletionFunc *cb, void *opaque)
{
    return aio_rw(bs, sector_num, qiov, nb_sectors, cb, opaque, AIO_READ);
}

BlockDriverAIOCB *bdrv_aio_writev(BlockDriverState *bs, int64_t sector_num,
                                  QEMUIOVector *qiov, int nb_sectors,
                                  BlockDriverCompletionFunc *cb,
                                  void *opaque)
{
    return aio_rw(bs, sector_num, qiov, nb_sectors, cb, opaque, AIO_WRITE);
}

BlockDriverAIOCB *bdrv_aio_flush(BlockDriverState *bs,
                                 BlockDriverCompletionFunc *cb, void *opaque)
{
    return aiocb_submit(bs, AIO_FLUSH, 0, 0, NULL, cb, opaque);
}

BlockDriverAIOCB *bdrv_aio_discard(BlockDriverState *bs, int64_t sector_num,
                                   int nb_sectors,
                                   BlockDriverCompletionFunc *cb,
                                   void *opaque)
{
    return aio_rw(bs, sector_num, NULL, nb_sectors, cb, opaque, AIO_DISCARD);
}

/* A driver with bdrv_aio_ioctl gets the request directly; otherwise the
 * synchronous bdrv_ioctl runs from a coroutine. */
BlockDriverAIOCB *bdrv_aio_ioctl(BlockDriverState *bs, unsigned long req,
                                 void *buf, BlockDriverCompletionFunc *cb,
                                 void *opaque)
{
    BlockAIOCBCoroutine *acb;

    if (bs->drv && bs->drv->bdrv_aio_ioctl) {
        return bs->drv->bdrv_aio_ioctl(bs, req, buf, cb, opaque);
    }
    acb = aiocb_new(bs, AIO_IOCTL, 0, 0, NULL, cb, opaque);
    acb->ioctl_req = req;
    acb->ioctl_buf = buf;
    return aiocb_start(acb);
}

void bdrv_aio_cancel(BlockDriverAIOCB *common)
{
    BlockAIOCBCoroutine *acb;

    if (common->aiocb_info != &co_aiocb_info) {
        /* A driver's own AIOCB (aio_ioctl passthrough). */
        if (common->aiocb_info->cancel) {
            common->aiocb_info->cancel(common);
        }
        return;
    }
    acb = container_of(common, BlockAIOCBCoroutine, common);
    qemu_aio_ref(acb);
    acb->cancelled = true;
    AIO_WAIT_WHILE_UNLOCKED(bdrv_get_aio_context(common->bs),
                            !acb->completed);
    qemu_aio_unref(acb);
}
