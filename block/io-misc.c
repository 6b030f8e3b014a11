/*
 * The rest of the data path: allocation and block status, flush and discard from
 * outside coroutines, size and truncation, buffers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/aio-wait.h"
#include "block/internal.h"

/* ---- allocation status ----------------------------------------------- */

int coroutine_fn bdrv_co_is_allocated(BlockDriverState *bs,
                                      int64_t sector_num, int nb_sectors,
                                      int *pnum)
{
    int64_t n;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (sector_num < 0 || nb_sectors < 0) {
        return -EINVAL;
    }
    if (sector_num >= bs->total_sectors) {
        *pnum = 0;
        return 0;
    }
    n = MIN(nb_sectors, bs->total_sectors - sector_num);
    if (!bs->drv->bdrv_co_is_allocated) {
        *pnum = n;
        return 1;
    }
    return bs->drv->bdrv_co_is_allocated(bs, sector_num, n, pnum);
}

int coroutine_fn bdrv_co_is_allocated_above(BlockDriverState *top,
                                            BlockDriverState *base,
                                            int64_t sector_num,
                                            int nb_sectors, int *pnum)
{
    int n = nb_sectors;

    for (BlockDriverState *bs = top; bs && bs != base; bs = bs->backing_hd) {
        int pnum_inter;
        int ret = bdrv_co_is_allocated(bs, sector_num, n, &pnum_inter);

        if (ret < 0) {
            return ret;
        }
        if (ret > 0) {
            *pnum = pnum_inter;
            return 1;
        }
        /* Unallocated here: the answer below holds for at most as many
         * sectors, unless this node ends first (then zeroes follow). */
        if (pnum_inter > 0 && pnum_inter < n) {
            n = pnum_inter;
        }
    }
    *pnum = n;
    return 0;
}

typedef struct AllocCo {
    BlockDriverState *bs;
    BlockDriverState *base;
    int64_t sector_num;
    int nb_sectors;
    int *pnum;
    bool above;
    int ret;
} AllocCo;

static void coroutine_fn alloc_co_entry(void *opaque)
{
    AllocCo *a = opaque;

    if (a->above) {
        a->ret = bdrv_co_is_allocated_above(a->bs, a->base, a->sector_num,
                                            a->nb_sectors, a->pnum);
    } else {
        a->ret = bdrv_co_is_allocated(a->bs, a->sector_num, a->nb_sectors,
                                      a->pnum);
    }
}

int bdrv_is_allocated(BlockDriverState *bs, int64_t sector_num,
                      int nb_sectors, int *pnum)
{
    AllocCo a = { .bs = bs, .sector_num = sector_num,
                  .nb_sectors = nb_sectors, .pnum = pnum };

    bdrv_run_co(bs, alloc_co_entry, &a);
    return a.ret;
}

int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            int64_t sector_num, int nb_sectors, int *pnum)
{
    AllocCo a = { .bs = top, .base = base, .sector_num = sector_num,
                  .nb_sectors = nb_sectors, .pnum = pnum, .above = true };

    bdrv_run_co(top, alloc_co_entry, &a);
    return a.ret;
}

/* ---- block status ----------------------------------------------------- */

/* For drivers without bdrv_co_block_status: ask bdrv_co_is_allocated. */
static int coroutine_fn status_from_allocation(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               int64_t *pnum, int64_t *map,
                                               BlockDriverState **file)
{
    int64_t sector = offset >> BDRV_SECTOR_BITS;
    int64_t end = DIV_ROUND_UP(offset + bytes, BDRV_SECTOR_SIZE);
    int sectors;
    int ret = bdrv_co_is_allocated(bs, sector,
                                   MIN(end - sector, BDRV_REQUEST_MAX_SECTORS),
                                   &sectors);

    if (ret < 0) {
        return ret;
    }
    *pnum = MIN(bytes, ((sector + MAX(sectors, 1)) << BDRV_SECTOR_BITS) -
                       offset);
    if (bs->file) {
        return ret ? BDRV_BLOCK_DATA : 0;
    }
    /* A protocol: a hole is still its own (zero) content. */
    *map = offset;
    *file = bs;
    return (ret ? BDRV_BLOCK_DATA : BDRV_BLOCK_ZERO) | BDRV_BLOCK_OFFSET_VALID;
}

/*
 * RECURSE: does the file read as zeroes at [@map, +*@pnum)?  ZERO or 0;
 * *@pnum shrinks to the file's run unless that run ends the file (past
 * the end reads as zeroes too).  Errors only cost the extra detail.
 */
static int coroutine_fn file_zero(BlockDriverState *file, int64_t map,
                                  int64_t *pnum)
{
    int64_t file_pnum;
    int ret = bdrv_co_block_status(file, map, *pnum, &file_pnum, NULL, NULL);

    if (ret < 0) {
        return 0;
    }
    /* the length (an fstat) only when the answer depends on it */
    if (!file_pnum || ((ret & BDRV_BLOCK_ZERO) &&
                       map + file_pnum >= bdrv_getlength(file))) {
        return BDRV_BLOCK_ZERO;
    }
    *pnum = file_pnum;
    return ret & BDRV_BLOCK_ZERO;
}

int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum,
                                      int64_t *map, BlockDriverState **file)
{
    int64_t total, local_map = 0;
    BlockDriverState *local_file = NULL;
    int ret;

    *pnum = 0;
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (offset < 0 || bytes < 0) {
        return -EINVAL;
    }
    total = bs->total_sectors << BDRV_SECTOR_BITS;
    if (offset >= total || !bytes) {
        return 0;
    }
    bytes = MIN(bytes, total - offset);
    if (bs->drv->bdrv_co_block_status) {
        ret = bs->drv->bdrv_co_block_status(bs, offset, bytes, pnum,
                                             &local_map, &local_file);
    } else {
        ret = status_from_allocation(bs, offset, bytes, pnum, &local_map,
                                     &local_file);
    }
    if (ret < 0) {
        return ret;
    }
    assert(*pnum > 0 && *pnum <= bytes);
    if ((ret & (BDRV_BLOCK_RECURSE | BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO |
                BDRV_BLOCK_OFFSET_VALID)) ==
        (BDRV_BLOCK_RECURSE | BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID) &&
        local_file && local_file != bs) {
        ret |= file_zero(local_file, local_map, pnum);
    }
    ret &= ~BDRV_BLOCK_RECURSE;
    if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
        ret |= BDRV_BLOCK_ALLOCATED;
    } else if (!bs->backing_hd ||
               offset >= bdrv_getlength(bs->backing_hd)) {
        ret |= BDRV_BLOCK_ZERO;      /* nothing below shows through */
    }
    if (map) {
        *map = local_map;
    }
    if (file) {
        *file = local_file;
    }
    return ret;
}

typedef struct StatusCo {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    int64_t *pnum;
    int64_t *map;
    BlockDriverState **file;
    int ret;
} StatusCo;

static void coroutine_fn status_co_entry(void *opaque)
{
    StatusCo *c = opaque;

    c->ret = bdrv_co_block_status(c->bs, c->offset, c->bytes, c->pnum,
                                  c->map, c->file);
}

int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum, int64_t *map, BlockDriverState **file)
{
    StatusCo c = { .bs = bs, .offset = offset, .bytes = bytes, .pnum = pnum,
                   .map = map, .file = file };

    bdrv_run_co(bs, status_co_entry, &c);
    return c.ret;
}

/* ---- flush and discard, synchronously --------------------------------- */

typedef struct SimpleCo {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    bool discard;
    int ret;
} SimpleCo;

static void coroutine_fn simple_co_entry(void *opaque)
{
    SimpleCo *s = opaque;

    s->ret = s->discard ? bdrv_co_pdiscard(s->bs, s->offset, s->bytes)
                        : bdrv_co_flush(s->bs);
}

int bdrv_flush(BlockDriverState *bs)
{
    SimpleCo s = { .bs = bs };

    if (!bs->drv) {
        return 0;
    }
    bdrv_run_co(bs, simple_co_entry, &s);
    return s.ret;
}

int bdrv_flush_all(void)
{
    int result = 0;

    for (BlockDriverState *bs = bdrv_all_next(NULL); bs;
         bs = bdrv_all_next(bs)) {
        int ret = bdrv_flush(bs);
        if (ret < 0 && result == 0) {
            result = ret;
        }
    }
    return result;
}

int bdrv_discard(BlockDriverState *bs, int64_t sector_num, int nb_sectors)
{
    SimpleCo s = { .bs = bs, .discard = true,
                   .offset = sectors_to_offset(sector_num),
                   .bytes = sectors_to_offset(nb_sectors) };

    if (sector_num < 0 || nb_sectors < 0) {
        return -EIO;
    }
    bdrv_run_co(bs, simple_co_entry, &s);
    return s.ret;
}

/* ---- size ------------------------------------------------------------ */

int64_t bdrv_getlength(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;

    if (!drv) {
        return -ENOMEDIUM;
    }
    if (bs->growable && drv->bdrv_getlength) {
        return drv->bdrv_getlength(bs);
    }
    return bs->total_sectors << BDRV_SECTOR_BITS;
}

void bdrv_get_geometry(BlockDriverState *bs, uint64_t *nb_sectors_ptr)
{
    int64_t len = bdrv_getlength(bs);

    *nb_sectors_ptr = len < 0 ? 0 : len >> BDRV_SECTOR_BITS;
}

int64_t bdrv_get_allocated_file_size(BlockDriverState *bs)
{
    BlockDriver *drv = bs->drv;

    if (!drv) {
        return -ENOMEDIUM;
    }
    if (drv->bdrv_get_allocated_file_size) {
        return drv->bdrv_get_allocated_file_size(bs);
    }
    if (bs->file) {
        return bdrv_get_allocated_file_size(bs->file);
    }
    return -ENOTSUP;
}

int bdrv_truncate(BlockDriverState *bs, int64_t offset)
{
    BlockDriver *drv = bs->drv;
    int ret;

    if (!drv) {
        return -ENOMEDIUM;
    }
    if (!drv->bdrv_truncate) {
        return -ENOTSUP;
    }
    if (bs->read_only) {
        return -EACCES;
    }
    if (offset < 0) {
        return -EINVAL;
    }
    if (bdrv_in_use(bs)) {
        return -EBUSY;
    }
    bdrv_drain(bs);
    ret = drv->bdrv_truncate(bs, offset);
    bdrv_discard_driver_error();
    if (ret == 0) {
        ret = bdrv_refresh_total_sectors(bs, DIV_ROUND_UP(offset,
                                                         BDRV_SECTOR_SIZE));
        bdrv_dirty_bitmaps_truncate(bs, bdrv_getlength(bs));
        if (bs->dev_ops && bs->dev_ops->resize_cb) {
            bs->dev_ops->resize_cb(bs->dev_opaque);
        }
    }
    return ret;
}

/* ---- buffers ---------------------------------------------------------- */

void *qemu_blockalign(BlockDriverState *bs, size_t size)
{
    size_t align = bs && bs->buffer_alignment > 0 ? bs->buffer_alignment
                                                  : BDRV_SECTOR_SIZE;
    void *ptr;

    align = MAX(align, sizeof(void *));
    if (posix_memalign(&ptr, align, size ? size : align) != 0) {
        abort();
    }
    return ptr;
}

void qemu_vfree(void *ptr)
{
    free(ptr);
}
