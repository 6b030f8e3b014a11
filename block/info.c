/*
 * Node properties and maintenance calls forwarded to the driver: info
 * (and format-specific info), zero-init, read-only, encryption keys,
 * backing file changes, check, option amendment, cache invalidation,
 * compressed writes, copy-on-read and in-use counts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BlockDriver *drv = bs->drv;

    memset(bdi, 0, sizeof(*bdi));
    if (!drv) {
        return -ENOMEDIUM;
    }
    if (!drv->bdrv_get_info) {
        return -ENOTSUP;
    }
    return drv->bdrv_get_info(bs, bdi);
}

BdrvSpecificInfo *bdrv_get_specific_info(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;

    if (!drv || !drv->bdrv_get_specific_info) {
        return NULL;
    }
    return drv->bdrv_get_specific_info(bs);
}

void bdrv_specific_info_free(BdrvSpecificInfo *info)
{
    if (!info) {
        return;
    }
    if (!strcmp(info->type, "qcow2")) {
        BdrvSpecificInfoQcow2 *q = &info->u.qcow2;

        for (int i = 0; i < q->nb_bitmaps; i++) {
            g_free(q->bitmaps[i].name);
        }
        g_free(q->bitmaps);
        g_free(q->data_file);
        g_free(q->luks);
    }
    g_free(info);
}

int bdrv_has_zero_init(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;

    if (drv && drv->bdrv_has_zero_init) {
        return drv->bdrv_has_zero_init(bs);
    }
    return 0;
}

int bdrv_is_read_only(BlockDriverState *bs)
{
    return bs->read_only;
}

int bdrv_is_sg(BlockDriverState *bs)
{
    return bs->sg;
}

int bdrv_enable_write_cache(BlockDriverState *bs)
{
    return bs->enable_write_cache;
}

void bdrv_set_geometry_hint(BlockDriverState *bs,
                            int cyls, int heads, int secs)
{
    bs->cyls = cyls;
    bs->heads = heads;
    bs->secs = secs;
}

void bdrv_get_geometry_hint(BlockDriverState *bs,
                            int *pcyls, int *pheads, int *psecs)
{
    *pcyls = bs->cyls;
    *pheads = bs->heads;
    *psecs = bs->secs;
}

void bdrv_set_translation_hint(BlockDriverState *bs, int translation)
{
    bs->translation = translation;
}

int bdrv_get_translation_hint(BlockDriverState *bs)
{
    return bs->translation;
}

int bdrv_is_encrypted(BlockDriverState *bs)
{
    if (bs->backing_hd && bs->backing_hd->encrypted) {
        return 1;
    }
    return bs->encrypted;
}

int bdrv_key_required(BlockDriverState *bs)
{
    if (bs->backing_hd && bdrv_key_required(bs->backing_hd)) {
        return 1;
    }
    return bs->encrypted && !bs->valid_key;
}

int bdrv_set_key(BlockDriverState *bs, const char *key)
{
    int ret;

    if (bs->backing_hd && bs->backing_hd->encrypted) {
        ret = bdrv_set_key(bs->backing_hd, key);
        if (ret < 0) {
            return ret;
        }
        if (!bs->encrypted) {
            return 0;
        }
    }
    if (!bs->encrypted) {
        return -EINVAL;
    }
    if (!bs->drv || !bs->drv->bdrv_set_key) {
        return -ENOMEDIUM;
    }
    ret = bs->drv->bdrv_set_key(bs, key);
    bs->valid_key = ret >= 0;
    return ret;
}

int bdrv_make_empty(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;

    if (!drv) {
        return -ENOMEDIUM;
    }
    if (!drv->bdrv_make_empty) {
        return -ENOTSUP;
    }
    if (bs->read_only) {
        return -EACCES;
    }
    bdrv_drain(bs);
    return drv->bdrv_make_empty(bs);
}

int bdrv_change_backing_file(BlockDriverState *bs, const char *backing_file,
                             const char *backing_fmt)
{
    BlockDriver *drv = bs->drv;
    int ret;

    if (!drv) {
        return -ENOMEDIUM;
    }
    if (!drv->bdrv_change_backing_file) {
        return -ENOTSUP;
    }
    ret = drv->bdrv_change_backing_file(bs, backing_file, backing_fmt);
    if (ret == 0) {
        g_strlcpy(bs->backing_file, backing_file ? backing_file : "",
                  sizeof(bs->backing_file));
        g_strlcpy(bs->backing_format, backing_fmt ? backing_fmt : "",
                  sizeof(bs->backing_format));
    }
    return ret;
}

void bdrv_get_backing_filename(BlockDriverState *bs, char *filename,
                               int filename_size)
{
    g_strlcpy(filename, bs->backing_file, filename_size);
}

int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res, BdrvCheckMode fix)
{
    BlockDriver *drv = bs->drv;

    memset(res, 0, sizeof(*res));
    if (!drv) {
        return -ENOMEDIUM;
    }
    if (drv->bdrv_check_fix) {
        return drv->bdrv_check_fix(bs, res, fix);
    }
    if (drv->bdrv_check && !fix) {
        return drv->bdrv_check(bs, res);
    }
    return -ENOTSUP;
}

int bdrv_amend_options(BlockDriverState *bs, QEMUOptionParameter *opts,
                       Error **errp)
{
    BlockDriver *drv = bs->drv;

    if (!drv) {
        error_setg(errp, "No medium");
        return -ENOMEDIUM;
    }
    if (!drv->bdrv_amend_options) {
        error_setg(errp, "Format driver '%s' does not support option "
                   "amendment", drv->format_name);
        return -ENOTSUP;
    }
    if (bs->read_only) {
        error_setg(errp, "Image is read-only");
        return -EACCES;
    }
    bdrv_drain(bs);
    return drv->bdrv_amend_options(bs, opts, errp);
}

void bdrv_invalidate_cache(BlockDriverState *bs)
{
    if (bs->drv && bs->drv->bdrv_invalidate_cache) {
        bs->drv->bdrv_invalidate_cache(bs);
    }
}

void bdrv_invalidate_cache_all(void)
{
    for (BlockDriverState *bs = bdrv_all_next(NULL); bs;
         bs = bdrv_all_next(bs)) {
        bdrv_invalidate_cache(bs);
    }
}

int bdrv_write_compressed(BlockDriverState *bs, int64_t sector_num,
                          const uint8_t *buf, int nb_sectors)
{
    BlockDriver *drv = bs->drv;

    if (!drv) {
        return -ENOMEDIUM;
    }
    if (!drv->bdrv_write_compressed) {
        return -ENOTSUP;
    }
    if (bs->read_only) {
        return -EACCES;
    }
    if (sector_num < 0 || nb_sectors < 0 ||
        sector_num + nb_sectors > bs->total_sectors) {
        return -EIO;
    }
    if (!QLIST_EMPTY(&bs->dirty_bitmaps)) {
        bdrv_set_dirty(bs, sector_num << BDRV_SECTOR_BITS,
                       (int64_t)nb_sectors << BDRV_SECTOR_BITS);
    }
    return drv->bdrv_write_compressed(bs, sector_num, buf, nb_sectors);
}

void bdrv_enable_copy_on_read(BlockDriverState *bs)
{
    bs->copy_on_read++;
}

void bdrv_disable_copy_on_read(BlockDriverState *bs)
{
    assert(bs->copy_on_read > 0);
    bs->copy_on_read--;
}

void bdrv_set_in_use(BlockDriverState *bs, int in_use)
{
    assert(bs->in_use != in_use);
    bs->in_use = in_use;
}

int bdrv_in_use(BlockDriverState *bs)
{
    return bs->in_use;
}
