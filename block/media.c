/*
 * Removable media and attached device models.
 *
 * A node without a driver callback for a media call answers as a fixed
 * disk would: always inserted, never changed, eject and lock do nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"

bool bdrv_is_inserted(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;

    if (!drv) {
        return false;
    }
    if (!drv->bdrv_is_inserted) {
        return true;
    }
    return drv->bdrv_is_inserted(bs);
}

int bdrv_media_changed(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;

    if (drv && drv->bdrv_media_changed) {
        return drv->bdrv_media_changed(bs);
    }
    return -ENOTSUP;
}

void bdrv_eject(BlockDriverState *bs, bool eject_flag)
{
    BlockDriver *drv = bs->drv;

    if (drv && drv->bdrv_eject) {
        drv->bdrv_eject(bs, eject_flag);
    }
}

void bdrv_lock_medium(BlockDriverState *bs, bool locked)
{
    BlockDriver *drv = bs->drv;

    if (drv && drv->bdrv_lock_medium) {
        drv->bdrv_lock_medium(bs, locked);
    }
}

bool bdrv_is_removable(BlockDriverState *bs)
{
    return !bs->dev || (bs->dev_ops && bs->dev_ops->change_media_cb);
}

int bdrv_attach_dev(BlockDriverState *bs, void *dev)
{
    if (bs->dev) {
        return -EBUSY;
    }
    bs->dev = dev;
    return 0;
}

void bdrv_detach_dev(BlockDriverState *bs, void *dev)
{
    assert(bs->dev == dev);
    bs->dev = NULL;
    bs->dev_ops = NULL;
    bs->dev_opaque = NULL;
}

void *bdrv_get_attached_dev(BlockDriverState *bs)
{
    return bs->dev;
}

void bdrv_set_dev_ops(BlockDriverState *bs, const BlockDevOps *ops,
                      void *opaque)
{
    bs->dev_ops = ops;
    bs->dev_opaque = opaque;
}

int bdrv_ioctl(BlockDriverState *bs, unsigned long req, void *buf)
{
    BlockDriver *drv = bs->drv;

    if (drv && drv->bdrv_ioctl) {
        return drv->bdrv_ioctl(bs, req, buf);
    }
    return -ENOTSUP;
}
