/*
 * raw: the image format with no metadata, over any protocol node.
 *
 * Every request passes to bs->file at the same offset, or shifted by the
 * `offset` option; `size` limits the node to a window of the file.  With a
 * window, requests past its end fail and truncation is refused, so the
 * bytes outside the window are never touched.  raw scores lowest when
 * probing: it is what an image is when nothing else recognises it.
Offloaded copies (bdrv_co_copy_range) pass through shifted the same way.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"

typedef struct BDRVRawState {
    uint64_t offset;
    uint64_t size;
    bool has_size;
} BDRVRawState;

static int raw_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    return 1;
}

static int raw_open(BlockDriverState *bs, int flags)
{
    BDRVRawState *s = bs->opaque;
    int64_t file_len = bdrv_getlength(bs->file);
    g_autofree char *size_str = bdrv_opt_take(bs, "size");

    if (!bdrv_opt_take_size(bs, "offset", 0, &s->offset)) {
        return -EINVAL;
    }
    if (size_str && parse_option_size("size", size_str, &s->size,
                                      bdrv_driver_errp()) < 0) {
        return -EINVAL;
    }
    s->has_size = size_str != NULL;
    if (file_len < 0) {
        return file_len;
    }
    if (!QEMU_IS_ALIGNED(s->offset | s->size, BDRV_SECTOR_SIZE)) {
        error_setg(bdrv_driver_errp(),
                   "offset and size must be multiples of 512");
        return -EINVAL;
    }
    if (s->offset > (uint64_t)file_len ||
        (s->has_size && s->size > (uint64_t)file_len - s->offset)) {
        error_setg(bdrv_driver_errp(), "offset %" PRIu64 " + size %" PRIu64
                   " lies beyond the end of the file (%" PRId64 " bytes)",
                   s->offset, s->size, file_len);
        return -EINVAL;
    }
    bs->sg = bs->file->sg;
    return 0;
}

static int64_t raw_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int64_t len;

    if (s->has_size) {
        return s->size;
    }
    len = bdrv_getlength(bs->file);
    if (len < 0) {
        return len;
    }
    return MAX(0, len - (int64_t)s->offset);
}

static int64_t shifted(BlockDriverState *bs, int64_t sector_num)
{
    BDRVRawState *s = bs->opaque;

    return (sector_num << BDRV_SECTOR_BITS) + s->offset;
}

static int coroutine_fn raw_co_readv(BlockDriverState *bs, int64_t sector_num,
                                     int nb_sectors, QEMUIOVector *qiov)
{
    BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
    return bdrv_co_preadv(bs->file, shifted(bs, sector_num),
                          (int64_t)nb_sectors << BDRV_SECTOR_BITS, qiov, 0);
}

static int coroutine_fn raw_co_writev(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors,
                                      QEMUIOVector *qiov)
{
    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    return bdrv_co_pwritev(bs->file, shifted(bs, sector_num),
                           (int64_t)nb_sectors << BDRV_SECTOR_BITS, qiov, 0);
}

static int coroutine_fn raw_co_write_zeroes(BlockDriverState *bs,
                                            int64_t sector_num,
                                            int nb_sectors)
{
    return bdrv_co_pwrite_zeroes(bs->file, shifted(bs, sector_num),
                                 (int64_t)nb_sectors << BDRV_SECTOR_BITS,
                                 BDRV_REQ_MAY_UNMAP);
}

static int coroutine_fn raw_co_discard(BlockDriverState *bs,
                                       int64_t sector_num, int nb_sectors)
{
    return bdrv_co_pdiscard(bs->file, shifted(bs, sector_num),
                            (int64_t)nb_sectors << BDRV_SECTOR_BITS);
}

static int coroutine_fn raw_co_is_allocated(BlockDriverState *bs,
                                            int64_t sector_num,
                                            int nb_sectors, int *pnum)
{
    BDRVRawState *s = bs->opaque;

    return bdrv_co_is_allocated(bs->file,
                                sector_num + (s->offset >> BDRV_SECTOR_BITS),
                                nb_sectors, pnum);
}

/* The file's status at the shifted offset: holes stay zero, the map is
 * the identity plus the window's offset. */
static int coroutine_fn raw_co_block_status(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map,
                                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;
    int ret = bdrv_co_block_status(bs->file, offset + s->offset, bytes, pnum,
                                   map, file);

    if (ret < 0) {
        return ret;
    }
    if (*pnum == 0) {            /* past the file's end: reads as zeroes */
        *pnum = bytes;
        *map = offset + s->offset;
        *file = bs->file;
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
    }
    return ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID);
}

static int coroutine_fn raw_co_copy_range_from(BlockDriverState *src,
                                               int64_t src_offset,
                                               BlockDriverState *dst,
                                               int64_t dst_offset,
                                               int64_t bytes,
                                               BdrvRequestFlags read_flags,
                                               BdrvRequestFlags write_flags)
{
    BDRVRawState *s = src->opaque;

    return bdrv_co_copy_range_from(src->file, src_offset + s->offset, dst,
                                   dst_offset, bytes, read_flags,
                                   write_flags);
}

static int coroutine_fn raw_co_copy_range_to(BlockDriverState *src,
                                             int64_t src_offset,
                                             BlockDriverState *dst,
                                             int64_t dst_offset,
                                             int64_t bytes,
                                             BdrvRequestFlags read_flags,
                                             BdrvRequestFlags write_flags)
{
    BDRVRawState *s = dst->opaque;

    return bdrv_co_copy_range_to(src, src_offset, dst->file,
                                 dst_offset + s->offset, bytes, read_flags,
                                 write_flags);
}

static int raw_truncate(BlockDriverState *bs, int64_t offset)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size || s->offset) {
        error_setg(bdrv_driver_errp(),
                   "cannot resize a raw node with an offset or size window");
        return -ENOTSUP;
    }
    return bdrv_truncate(bs->file, offset);
}

static int raw_has_zero_init(BlockDriverState *bs)
{
    return bdrv_has_zero_init(bs->file);
}

/* No facts of its own: whatever the protocol below says, as QEMU. */
static int raw_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return bdrv_get_info(bs->file, bdi);
}

static int raw_create(const char *filename, QEMUOptionParameter *options)
{
    return bdrv_create_file(filename, options, bdrv_driver_errp());
}

static int raw_is_inserted(BlockDriverState *bs)
{
    return bdrv_is_inserted(bs->file);
}

static int raw_media_changed(BlockDriverState *bs)
{
    return bdrv_media_changed(bs->file);
}

static void raw_eject(BlockDriverState *bs, bool eject_flag)
{
    bdrv_eject(bs->file, eject_flag);
}

static void raw_lock_medium(BlockDriverState *bs, bool locked)
{
    bdrv_lock_medium(bs->file, locked);
}

static int raw_ioctl(BlockDriverState *bs, unsigned long req, void *buf)
{
    return bdrv_ioctl(bs->file, req, buf);
}

static BlockDriverAIOCB *raw_aio_ioctl(BlockDriverState *bs,
                                       unsigned long req, void *buf,
                                       BlockDriverCompletionFunc *cb,
                                       void *opaque)
{
    return bdrv_aio_ioctl(bs->file, req, buf, cb, opaque);
}

static QEMUOptionParameter raw_create_options[] = {
    { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE,
      .help = "Virtual disk size" },
    { .name = BLOCK_OPT_PREALLOC, .type = OPT_STRING,
      .help = "Preallocation mode (off, falloc, full)" },
    { .name = NULL }
};

BlockDriver bdrv_raw = {
    .format_name = "raw",
    .instance_size = sizeof(BDRVRawState),
    .bdrv_probe = raw_probe,
    .bdrv_open = raw_open,
    .bdrv_getlength = raw_getlength,
    .bdrv_co_readv = raw_co_readv,
    .bdrv_co_writev = raw_co_writev,
    .bdrv_co_write_zeroes = raw_co_write_zeroes,
    .bdrv_co_discard = raw_co_discard,
    .bdrv_co_is_allocated = raw_co_is_allocated,
    .bdrv_co_block_status = raw_co_block_status,
    .bdrv_co_copy_range_from = raw_co_copy_range_from,
    .bdrv_co_copy_range_to = raw_co_copy_range_to,
    .bdrv_truncate = raw_truncate,
    .bdrv_has_zero_init = raw_has_zero_init,
    .bdrv_get_info = raw_get_info,
    .bdrv_create = raw_create,
    .bdrv_is_inserted = raw_is_inserted,
    .bdrv_media_changed = raw_media_changed,
    .bdrv_eject = raw_eject,
    .bdrv_lock_medium = raw_lock_medium,
    .bdrv_ioctl = raw_ioctl,
    .bdrv_aio_ioctl = raw_aio_ioctl,
    .create_options = raw_create_options,
};
