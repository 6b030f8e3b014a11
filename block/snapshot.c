/*
 * Internal snapshots and VM state, forwarded to the format driver.
 *
 * Only a format that stores snapshots inside the image (qcow2) implements
 * these; for a format on top of a protocol that does, the request passes
 * down to bs->file, as QEMU does for raw over a snapshot-capable node.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"

/* The node that answers snapshot calls for @bs, or NULL. */
static BlockDriverState *snapshot_node(BlockDriverState *bs,
                                       bool (*has)(BlockDriver *))
{
    while (bs && bs->drv) {
        if (has(bs->drv)) {
            return bs;
        }
        bs = bs->file;
    }
    return NULL;
}

static bool has_create(BlockDriver *d) { return d->bdrv_snapshot_create; }
static bool has_goto(BlockDriver *d) { return d->bdrv_snapshot_goto; }
static bool has_delete(BlockDriver *d) { return d->bdrv_snapshot_delete; }
static bool has_list(BlockDriver *d) { return d->bdrv_snapshot_list; }
static bool has_load_tmp(BlockDriver *d)
{
    return d->bdrv_snapshot_load_tmp;
}
static bool has_save_vm(BlockDriver *d) { return d->bdrv_save_vmstate; }
static bool has_load_vm(BlockDriver *d) { return d->bdrv_load_vmstate; }

int bdrv_can_snapshot(BlockDriverState *bs)
{
    if (!bs->drv || !bdrv_is_inserted(bs) || bs->read_only) {
        return 0;
    }
    return snapshot_node(bs, has_create) != NULL;
}

int bdrv_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info)
{
    BlockDriverState *n = snapshot_node(bs, has_create);

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    return n ? n->drv->bdrv_snapshot_create(n, sn_info) : -ENOTSUP;
}

int bdrv_snapshot_goto(BlockDriverState *bs, const char *snapshot_id)
{
    BlockDriverState *n = snapshot_node(bs, has_goto);

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (!n) {
        return -ENOTSUP;
    }
    /* As QEMU: the disk would change under the bitmaps without marking
     * them dirty, and an incremental backup from them would be wrong. */
    if (!QLIST_EMPTY(&bs->dirty_bitmaps)) {
        return -EBUSY;
    }
    bdrv_drain(bs);
    return n->drv->bdrv_snapshot_goto(n, snapshot_id);
}

int bdrv_snapshot_delete(BlockDriverState *bs, const char *snapshot_id)
{
    BlockDriverState *n = snapshot_node(bs, has_delete);

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    return n ? n->drv->bdrv_snapshot_delete(n, snapshot_id) : -ENOTSUP;
}

int bdrv_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_info)
{
    BlockDriverState *n = snapshot_node(bs, has_list);

    *psn_info = NULL;
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    return n ? n->drv->bdrv_snapshot_list(n, psn_info) : -ENOTSUP;
}

int bdrv_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_name)
{
    BlockDriverState *n = snapshot_node(bs, has_load_tmp);

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (!bs->read_only) {
        return -EINVAL;
    }
    return n ? n->drv->bdrv_snapshot_load_tmp(n, snapshot_name) : -ENOTSUP;
}

int bdrv_save_vmstate(BlockDriverState *bs, const uint8_t *buf,
                      int64_t pos, int size)
{
    BlockDriverState *n = snapshot_node(bs, has_save_vm);

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    return n ? n->drv->bdrv_save_vmstate(n, buf, pos, size) : -ENOTSUP;
}

int bdrv_load_vmstate(BlockDriverState *bs, uint8_t *buf, int64_t pos,
                      int size)
{
    BlockDriverState *n = snapshot_node(bs, has_load_vm);

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    return n ? n->drv->bdrv_load_vmstate(n, buf, pos, size) : -ENOTSUP;
}
