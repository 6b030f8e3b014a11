/*
 * Named dirty bitmaps: which chunks of a node were written since the
 * bitmap was created or last cleared.
 *
 * Design: each bitmap is an HBitmap whose items are the node's bytes,
 * with log2(granularity) as the HBitmap granularity.  So every offset in
 * this API goes to HBitmap unchanged, one HBitmap bit stands for one
 * chunk, and a node whose size is not a multiple of the granularity just
 * has a short last chunk.  The bitmaps of a node sit in bs->dirty_bitmaps
 * in creation order; the request path marks every enabled one after each
 * write, zero write or discard that reached the driver, even a failed one
 * (bdrv_set_dirty).
 *
 * Everything runs in the node's home thread; there is no lock.
 *
 * Clearing never loses a write: bdrv_reset_dirty_bitmap cleans only the
 * chunks wholly inside the range it is given, so a caller that copied
 * bytes [a, b) cannot clean data outside it by accident.
 *
 * Invariant: bitmap->size is the size of its HBitmap in items (bytes),
 * and a bitmap is neither freed nor resized while an iterator on it is
 * alive (asserted).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/hbitmap.h"
#include "qemu/host-utils.h"
#include "qapi/error.h"
#include "block/block_int.h"

struct BdrvDirtyBitmap {
    /* Immutable after creation. */
    char *name;                  /* NULL: anonymous */
    uint32_t granularity;        /* bytes per chunk, a power of two */

    /* Home thread of the node. */
    HBitmap *hbitmap;            /* items are bytes of the node */
    int64_t size;                /* bytes covered; changed by truncate */
    bool enabled;                /* bdrv_set_dirty marks it */
    int active_iterators;
    QLIST_ENTRY(BdrvDirtyBitmap) list;
};

struct BdrvDirtyBitmapIter {
    BdrvDirtyBitmap *bitmap;
    HBitmapIter hbi;
    bool at_end;                 /* started at or past the end */
};

/* ---- naming and lookup ----------------------------------------------- */

static const char *display_name(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->name ? bitmap->name : "(anonymous)";
}

BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name)
{
    BdrvDirtyBitmap *bm;

    if (!name) {
        return NULL;
    }
    QLIST_FOREACH(bm, &bs->dirty_bitmaps, list) {
        if (bm->name && !strcmp(bm->name, name)) {
            return bm;
        }
    }
    return NULL;
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BlockDriverState *bs,
                                        BdrvDirtyBitmap *prev)
{
    return prev ? QLIST_NEXT(prev, list) : QLIST_FIRST(&bs->dirty_bitmaps);
}

const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->name;
}

uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->granularity;
}

int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->size;
}

HBitmap *bdrv_dirty_bitmap_hbitmap(BdrvDirtyBitmap *bitmap)
{
    return bitmap->hbitmap;
}

/* ---- creation and release -------------------------------------------- */

/* The node's size in bytes (bdrv_getlength once the open path exists). */
static int64_t node_bytes(BlockDriverState *bs)
{
    return bs->total_sectors > 0 ?
           bs->total_sectors * (int64_t)BDRV_SECTOR_SIZE : 0;
}

static bool check_granularity(uint32_t granularity, Error **errp)
{
    if (granularity < BDRV_SECTOR_SIZE) {
        error_setg(errp, "dirty bitmap granularity %" PRIu32
                   " is below the minimum of %llu bytes",
                   granularity, BDRV_SECTOR_SIZE);
        return false;
    }
    if (granularity & (granularity - 1)) {
        error_setg(errp, "dirty bitmap granularity %" PRIu32
                   " is not a power of two", granularity);
        return false;
    }
    return true;
}

static bool check_name(BlockDriverState *bs, const char *name, Error **errp)
{
    if (name && !*name) {
        error_setg(errp, "dirty bitmap name must not be empty");
        return false;
    }
    if (bdrv_find_dirty_bitmap(bs, name)) {
        if (bs->device_name[0]) {
            error_setg(errp, "node '%s' already has a dirty bitmap "
                       "named '%s'", bs->device_name, name);
        } else {
            error_setg(errp, "the node already has a dirty bitmap "
                       "named '%s'", name);
        }
        return false;
    }
    return true;
}

/* HBitmap holds at most 2^HBITMAP_LOG_MAX_SIZE chunks. */
static bool check_chunks(int64_t bytes, int log2_gran, Error **errp)
{
    uint64_t chunks = DIV_ROUND_UP((uint64_t)bytes, 1ULL << log2_gran);

    if (chunks > (1ULL << HBITMAP_LOG_MAX_SIZE)) {
        error_setg(errp, "node of %" PRId64 " bytes is too large for a "
                   "dirty bitmap of granularity %llu", bytes,
                   1ULL << log2_gran);
        return false;
    }
    return true;
}

static void append_bitmap(BlockDriverState *bs, BdrvDirtyBitmap *bitmap)
{
    BdrvDirtyBitmap *last = QLIST_FIRST(&bs->dirty_bitmaps);

    if (!last) {
        QLIST_INSERT_HEAD(&bs->dirty_bitmaps, bitmap, list);
        return;
    }
    while (QLIST_NEXT(last, list)) {
        last = QLIST_NEXT(last, list);
    }
    QLIST_INSERT_AFTER(last, bitmap, list);
}

BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp)
{
    int64_t bytes = node_bytes(bs);
    int log2_gran = ctz32(granularity);
    BdrvDirtyBitmap *bitmap;

    if (!check_granularity(granularity, errp) ||
        !check_name(bs, name, errp) ||
        !check_chunks(bytes, log2_gran, errp)) {
        return NULL;
    }
    bitmap = g_new0(BdrvDirtyBitmap, 1);
    bitmap->name = g_strdup(name);
    bitmap->granularity = granularity;
    bitmap->hbitmap = hbitmap_alloc(bytes, log2_gran);
    bitmap->size = bytes;
    bitmap->enabled = true;
    append_bitmap(bs, bitmap);
    return bitmap;
}

void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    assert(!bitmap->active_iterators);
    QLIST_REMOVE(bitmap, list);
    hbitmap_free(bitmap->hbitmap);
    g_free(bitmap->name);
    g_free(bitmap);
}

void bdrv_release_all_dirty_bitmaps(BlockDriverState *bs)
{
    BdrvDirtyBitmap *bm, *next;

    QLIST_FOREACH_SAFE(bm, &bs->dirty_bitmaps, list, next) {
        bdrv_release_dirty_bitmap(bm);
    }
}

/* ---- state ----------------------------------------------------------- */

void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    bitmap->enabled = true;
}

void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    bitmap->enabled = false;
}

bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->enabled;
}

void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    hbitmap_reset_all(bitmap->hbitmap);
}

bool bdrv_merge_dirty_bitmap(BdrvDirtyBitmap *dest,
                             const BdrvDirtyBitmap *src, Error **errp)
{
    if (dest->granularity != src->granularity) {
        error_setg(errp, "cannot merge dirty bitmap '%s' into '%s': "
                   "granularity %" PRIu32 " differs from %" PRIu32,
                   display_name(src), display_name(dest),
                   src->granularity, dest->granularity);
        return false;
    }
    if (dest->size != src->size) {
        error_setg(errp, "cannot merge dirty bitmap '%s' into '%s': "
                   "size %" PRId64 " differs from %" PRId64,
                   display_name(src), display_name(dest),
                   src->size, dest->size);
        return false;
    }
    if (!hbitmap_merge(dest->hbitmap, src->hbitmap, dest->hbitmap)) {
        g_assert_not_reached();      /* sizes were checked above */
    }
    return true;
}

/* ---- bits ------------------------------------------------------------ */

static void assert_range(const BdrvDirtyBitmap *bitmap, int64_t offset,
                         int64_t bytes)
{
    assert(offset >= 0 && bytes >= 0);
    assert(offset <= bitmap->size && bytes <= bitmap->size - offset);
}

bool bdrv_dirty_bitmap_get(BdrvDirtyBitmap *bitmap, int64_t offset)
{
    assert(offset >= 0 && offset < bitmap->size);
    return hbitmap_get(bitmap->hbitmap, offset);
}

void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                           int64_t bytes)
{
    assert_range(bitmap, offset, bytes);
    hbitmap_set(bitmap->hbitmap, offset, bytes);
}

void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                             int64_t bytes)
{
    int64_t end = offset + bytes;
    int64_t start;

    assert_range(bitmap, offset, bytes);
    /* Shrink to whole chunks; a range reaching the end owns the short
     * last chunk entirely. */
    start = QEMU_ALIGN_UP(offset, (int64_t)bitmap->granularity);
    if (end != bitmap->size) {
        end = QEMU_ALIGN_DOWN(end, (int64_t)bitmap->granularity);
    }
    if (start < end) {
        hbitmap_reset(bitmap->hbitmap, start, end - start);
    }
}

int64_t bdrv_get_dirty_count(BdrvDirtyBitmap *bitmap)
{
    return hbitmap_count(bitmap->hbitmap);
}

/* ---- iteration ------------------------------------------------------- */

BdrvDirtyBitmapIter *bdrv_dirty_iter_new(BdrvDirtyBitmap *bitmap,
                                         int64_t offset)
{
    BdrvDirtyBitmapIter *iter = g_new0(BdrvDirtyBitmapIter, 1);

    assert(offset >= 0);
    iter->bitmap = bitmap;
    iter->at_end = offset >= bitmap->size;
    if (!iter->at_end) {
        hbitmap_iter_init(&iter->hbi, bitmap->hbitmap, offset);
    }
    bitmap->active_iterators++;
    return iter;
}

int64_t bdrv_dirty_iter_next(BdrvDirtyBitmapIter *iter)
{
    return iter->at_end ? -1 : hbitmap_iter_next(&iter->hbi);
}

void bdrv_dirty_iter_free(BdrvDirtyBitmapIter *iter)
{
    if (iter) {
        assert(iter->bitmap->active_iterators > 0);
        iter->bitmap->active_iterators--;
        g_free(iter);
    }
}

/* ---- hooks for the request path and the open path ------------------- */

void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BdrvDirtyBitmap *bm;

    assert(offset >= 0);
    QLIST_FOREACH(bm, &bs->dirty_bitmaps, list) {
        /* A write past a bitmap's end (a growing node not yet truncated
         * to its new size) marks only the part the bitmap covers. */
        int64_t n = MIN(bytes, bm->size - MIN(offset, bm->size));

        if (bm->enabled && n > 0) {
            hbitmap_set(bm->hbitmap, offset, n);
        }
    }
}

void bdrv_dirty_bitmaps_truncate(BlockDriverState *bs, int64_t bytes)
{
    BdrvDirtyBitmap *bm;

    assert(bytes >= 0);
    QLIST_FOREACH(bm, &bs->dirty_bitmaps, list) {
        assert(!bm->active_iterators);
        hbitmap_truncate(bm->hbitmap, bytes);
        bm->size = bytes;
    }
}
