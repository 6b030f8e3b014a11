/*
 * qcow2 reference counts: the refcount table, refcount blocks, allocating
 * host clusters from free space, freeing them, and the overlap check that
 * guards every metadata write.
 *
 * What it does: counts users of every host cluster (1..64-bit counts,
 * refcount_order 0..6), allocates runs of free clusters (first fit from
 * a moving hint), creates refcount blocks on demand (a block may describe
 * itself) and grows the refcount table by building a new one, with the
 * blocks that describe it, past everything in use and switching the
 * header to it in one write.  Freed clusters may be discarded in the
 * file.
 *
 * What it deliberately does not: check or repair refcounts (qcow2-check.c
 * does, through the helpers at the end), or look into the L2 tables of
 * snapshots in the overlap check (it covers the snapshot table and the
 * snapshots' L1 tables, the bitmap directory and the bitmap tables;
 * snapshot L2 tables and bitmap data clusters would cost a read each).
 *
 * Key invariant: a cluster's refcount is raised (in the refcount cache)
 * before any L2 table that points to it can reach the disk (the L2 cache
 * depends on the refcount cache), and lowered only after the L2 tables
 * that stopped pointing to it were written (the refcount cache depends on
 * the L2 cache): metadata on disk is at worst leaky, never dangling.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

/* ---- refcount entries of any width ------------------------------------- */

static uint64_t refblock_get(BDRVQcow2State *s, const void *block,
                             uint64_t idx)
{
    const uint8_t *b = block;

    switch (s->refcount_order) {
    case 0: case 1: case 2: {
        uint64_t bit = idx << s->refcount_order;
        return (b[bit / 8] >> (bit % 8)) & ((1u << s->refcount_bits) - 1);
    }
    case 3:
        return b[idx];
    case 4:
        return GUINT16_FROM_BE(((const uint16_t *)block)[idx]);
    case 5:
        return GUINT32_FROM_BE(((const uint32_t *)block)[idx]);
    default:
        return GUINT64_FROM_BE(((const uint64_t *)block)[idx]);
    }
}

static void refblock_set(BDRVQcow2State *s, void *block, uint64_t idx,
                         uint64_t value)
{
    uint8_t *b = block;

    assert(value <= s->refcount_max);
    switch (s->refcount_order) {
    case 0: case 1: case 2: {
        uint64_t bit = idx << s->refcount_order;
        uint8_t mask = ((1u << s->refcount_bits) - 1) << (bit % 8);
        b[bit / 8] = (b[bit / 8] & ~mask) | ((value << (bit % 8)) & mask);
        break;
    }
    case 3:
        b[idx] = value;
        break;
    case 4:
        ((uint16_t *)block)[idx] = GUINT16_TO_BE(value);
        break;
    case 5:
        ((uint32_t *)block)[idx] = GUINT32_TO_BE(value);
        break;
    default:
        ((uint64_t *)block)[idx] = GUINT64_TO_BE(value);
        break;
    }
}

/* ---- the table --------------------------------------------------------- */

int qcow2_refcount_init(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t bytes = (size_t)s->refcount_table_size * sizeof(uint64_t);
    int ret;

    s->refcount_table = g_try_malloc0(MAX(bytes, 1));
    if (!s->refcount_table) {
        error_setg(bdrv_driver_errp(), "could not allocate the refcount "
                   "table (%zu bytes)", bytes);
        return -ENOMEM;
    }
    if (bytes) {
        BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_LOAD);
        ret = bdrv_pread(bs->file, s->refcount_table_offset,
                         s->refcount_table, bytes);
        if (ret < 0) {
            error_setg_errno(bdrv_driver_errp(), -ret,
                             "could not read the refcount table");
            return ret;
        }
    }
    for (uint32_t i = 0; i < s->refcount_table_size; i++) {
        s->refcount_table[i] = GUINT64_FROM_BE(s->refcount_table[i]);
    }
    qcow2_refcount_table_note(s);
    return 0;
}

void qcow2_refcount_table_note(BDRVQcow2State *s)
{
    uint32_t used = s->refcount_table_size;

    while (used > 0 && !s->refcount_table[used - 1]) {
        used--;
    }
    s->refcount_table_used = used;
}

void qcow2_refcount_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    g_free(s->refcount_table);
    s->refcount_table = NULL;
}

/* Offset of the refcount block for table index @ti, 0 if none; -EIO if
 * the table entry is invalid. */
static int64_t refblock_offset(BlockDriverState *bs, uint64_t ti)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t entry;

    if (ti >= s->refcount_table_size) {
        return 0;
    }
    entry = s->refcount_table[ti];
    if ((entry & REFT_RESERVED_MASK) ||
        offset_into_cluster(s, entry & REFT_OFFSET_MASK)) {
        qcow2_signal_corruption(bs, true, -1, -1, "refcount table entry %"
                                PRIu64 " is invalid (0x%" PRIx64 ")", ti,
                                entry);
        return -EIO;
    }
    return entry & REFT_OFFSET_MASK;
}

int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index,
                                    uint64_t *refcount)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t off = refblock_offset(bs, cluster_index >> s->refcount_block_bits);
    void *block;
    int ret;

    if (off <= 0) {
        *refcount = 0;
        return off;
    }
    ret = qcow2_cache_get(bs, s->refcount_block_cache, off, &block);
    if (ret < 0) {
        return ret;
    }
    *refcount = refblock_get(s, block, cluster_index &
                             (s->refcount_block_size - 1));
    qcow2_cache_put(s->refcount_block_cache, &block);
    return 0;
}

/* First index of @n free clusters at or after the hint. */
static int64_t coroutine_fn find_free(BlockDriverState *bs, uint64_t n)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t limit = QCOW_MAX_HOST_OFFSET >> s->cluster_bits;
    uint64_t start = s->free_cluster_index;
    uint64_t covered = (uint64_t)s->refcount_table_size <<
                       s->refcount_block_bits;

    for (uint64_t i = start; i < start + n; i++) {
        uint64_t rc;
        int ret;

        if (start + n > limit) {
            return -EFBIG;
        }
        if (i >= covered) {
            break;             /* nothing past the table is in use */
        }
        ret = qcow2_get_refcount(bs, i, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc) {
            start = i + 1;
        }
    }
    return start;
}

/* ---- growing the table ------------------------------------------------- */

/*
 * Build a bigger refcount table (and the refcount blocks describing the
 * new area) at the first refcount-block boundary past everything in use
 * and past @needed, then switch the header to it.
 */
static int coroutine_fn grow_refcount_table(BlockDriverState *bs,
                                            uint64_t needed)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t rb = s->refcount_block_size;
    uint64_t covered = (uint64_t)s->refcount_table_size <<
                       s->refcount_block_bits;
    uint64_t area = ROUND_UP(MAX(MAX(covered, s->free_cluster_index),
                                 needed + 1), rb);
    uint64_t blocks = 1, table_clusters = 1, entries;
    uint64_t old_offset = s->refcount_table_offset;
    uint64_t old_size = s->refcount_table_size;
    uint64_t blocks_offset, table_offset;
    g_autofree uint64_t *table = NULL;
    g_autofree uint8_t *blockbuf = NULL;
    uint8_t hdr[12];
    int ret;

    for (;;) {
        uint64_t nb;

        entries = MAX((area / rb) + blocks, old_size + old_size / 2);
        table_clusters = size_to_clusters(s, entries * sizeof(uint64_t));
        nb = DIV_ROUND_UP(blocks + table_clusters, rb);
        if (nb <= blocks) {
            break;
        }
        blocks = nb;
    }
    entries = (table_clusters << s->cluster_bits) / sizeof(uint64_t);
    if ((table_clusters << s->cluster_bits) > QCOW_MAX_REFTABLE_BYTES ||
        ((area + blocks + table_clusters) << s->cluster_bits) >
        QCOW_MAX_HOST_OFFSET) {
        return -EFBIG;
    }
    blocks_offset = area << s->cluster_bits;
    table_offset = blocks_offset + (blocks << s->cluster_bits);

    table = g_try_new0(uint64_t, entries);
    blockbuf = g_try_malloc0(blocks << s->cluster_bits);
    if (!table || !blockbuf) {
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < old_size; i++) {
        table[i] = GUINT64_TO_BE(s->refcount_table[i]);
    }
    for (uint64_t b = 0; b < blocks; b++) {
        table[area / rb + b] =
            GUINT64_TO_BE(blocks_offset + (b << s->cluster_bits));
    }
    for (uint64_t k = 0; k < blocks + table_clusters; k++) {
        refblock_set(s, blockbuf + ((k / rb) << s->cluster_bits), k % rb, 1);
    }

    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, blocks_offset,
                                        (blocks + table_clusters) <<
                                        s->cluster_bits);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, blocks_offset,
                             blocks << s->cluster_bits, blockbuf);
    }
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, table_offset,
                             table_clusters << s->cluster_bits, table);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    if (ret < 0) {
        return ret;
    }

    /* Switch: refcount_table_offset and _clusters are adjacent. */
    be64_store(hdr, table_offset);
    be32_store(hdr + 8, table_clusters);
    ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader,
                                            refcount_table_offset),
                         sizeof(hdr), hdr);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    if (ret < 0) {
        return ret;
    }
    for (uint64_t i = 0; i < entries; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    g_free(s->refcount_table);
    s->refcount_table = g_steal_pointer(&table);
    s->refcount_table_size = entries;
    s->refcount_table_offset = table_offset;
    qcow2_refcount_table_note(s);

    /* The old table's clusters leak if this fails; nothing dangles. */
    qcow2_free_clusters(bs, old_offset, old_size * sizeof(uint64_t), false);
    return 0;
}

static int coroutine_fn update_refcount(BlockDriverState *bs,
                                        uint64_t offset, uint64_t length,
                                        uint64_t addend, bool decrease,
                                        bool pass_discard);

/*
 * Pin the refcount block for cluster @cluster_index into *@block,
 * creating it (and growing the table) when there is none.
 */
static int coroutine_fn get_refblock_for_update(BlockDriverState *bs,
                                                uint64_t cluster_index,
                                                void **block)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t ti = cluster_index >> s->refcount_block_bits;
    int64_t off, idx;
    uint64_t new_block;
    uint8_t be[8];
    int ret;

    while (ti >= s->refcount_table_size) {
        ret = grow_refcount_table(bs, cluster_index);
        if (ret < 0) {
            return ret;
        }
    }
    off = refblock_offset(bs, ti);
    if (off < 0) {
        return off;
    }
    if (off > 0) {
        return qcow2_cache_get(bs, s->refcount_block_cache, off, block);
    }

    idx = find_free(bs, 1);
    if (idx < 0) {
        return idx;
    }
    new_block = (uint64_t)idx << s->cluster_bits;
    s->free_cluster_index = idx + 1;
    if ((uint64_t)idx >> s->refcount_block_bits != ti) {
        /* Counted by another block (which may itself be created). */
        ret = update_refcount(bs, new_block, s->cluster_size, 1, false,
                              false);
        if (ret < 0) {
            return ret;
        }
    }
    ret = qcow2_cache_get_empty(bs, s->refcount_block_cache, new_block,
                                block);
    if (ret < 0) {
        return ret;
    }
    memset(*block, 0, s->cluster_size);
    if ((uint64_t)idx >> s->refcount_block_bits == ti) {
        refblock_set(s, *block, idx & (s->refcount_block_size - 1), 1);
    }
    qcow2_cache_entry_mark_dirty(s->refcount_block_cache, *block);

    /* The block reaches the disk before the table entry naming it. */
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret == 0) {
        ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_REFCOUNT_TABLE,
                                            s->refcount_table_offset +
                                            ti * 8, 8);
    }
    if (ret == 0) {
        be64_store(be, new_block);
        ret = bdrv_co_pwrite(bs->file, s->refcount_table_offset + ti * 8,
                             8, be);
    }
    if (ret < 0) {
        qcow2_cache_put(s->refcount_block_cache, block);
        return ret;
    }
    s->refcount_table[ti] = new_block;
    s->refcount_table_used = MAX(s->refcount_table_used, ti + 1);
    return 0;
}

/* A cluster became free: forget cached tables that lived in it. */
static void forget_freed_cluster(BlockDriverState *bs, uint64_t off)
{
    BDRVQcow2State *s = bs->opaque;
    int slice = qcow2_cache_table_size(s->l2_table_cache);

    for (int i = 0; i < s->cluster_size; i += slice) {
        qcow2_cache_discard(s->l2_table_cache, off + i);
    }
    qcow2_cache_discard(s->refcount_block_cache, off);
    if (s->free_byte_offset &&
        start_of_cluster(s, s->free_byte_offset) == off) {
        s->free_byte_offset = 0;     /* no more packing into it */
    }
}

static int coroutine_fn update_refcount(BlockDriverState *bs,
                                        uint64_t offset, uint64_t length,
                                        uint64_t addend, bool decrease,
                                        bool pass_discard)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + length - 1) >> s->cluster_bits;
    uint64_t block_ti = UINT64_MAX;
    uint64_t discard_start = 0, discard_len = 0;
    void *block = NULL;
    int ret = 0;

    if (length == 0) {
        return 0;
    }
    if (decrease && !s->use_lazy_refcounts) {
        ret = qcow2_cache_set_dependency(bs, s->refcount_block_cache,
                                         s->l2_table_cache);
        if (ret < 0) {
            return ret;
        }
    }
    for (uint64_t c = first; c <= last; c++) {
        uint64_t ti = c >> s->refcount_block_bits;
        uint64_t idx = c & (s->refcount_block_size - 1);
        uint64_t rc;

        if (ti != block_ti) {
            if (block) {
                qcow2_cache_put(s->refcount_block_cache, &block);
            }
            ret = get_refblock_for_update(bs, c, &block);
            if (ret < 0) {
                break;
            }
            block_ti = ti;
        }
        rc = refblock_get(s, block, idx);
        if (decrease ? rc < addend : s->refcount_max - rc < addend) {
            ret = -EINVAL;
            qcow2_signal_corruption(bs, decrease, c << s->cluster_bits,
                                    s->cluster_size, "refcount of cluster %"
                                    PRIu64 " would %s", c,
                                    decrease ? "drop below 0" : "overflow");
            break;
        }
        rc = decrease ? rc - addend : rc + addend;
        refblock_set(s, block, idx, rc);
        qcow2_cache_entry_mark_dirty(s->refcount_block_cache, block);
        if (rc == 0) {
            forget_freed_cluster(bs, c << s->cluster_bits);
            if (discard_len && discard_start + discard_len ==
                c << s->cluster_bits) {
                discard_len += s->cluster_size;
            } else {
                if (discard_len && pass_discard) {
                    bdrv_co_pdiscard(bs->file, discard_start, discard_len);
                }
                discard_start = c << s->cluster_bits;
                discard_len = s->cluster_size;
            }
        }
    }
    if (block) {
        qcow2_cache_put(s->refcount_block_cache, &block);
    }
    if (discard_len && pass_discard && ret == 0) {
        bdrv_co_pdiscard(bs->file, discard_start, discard_len);
    }
    return ret;
}

/* ---- allocation -------------------------------------------------------- */

int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = size_to_clusters(s, size);
    int64_t idx;
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC);
    idx = find_free(bs, n);
    if (idx < 0) {
        return idx;
    }
    s->free_cluster_index = idx + n;
    ret = update_refcount(bs, (uint64_t)idx << s->cluster_bits,
                          n << s->cluster_bits, 1, false, false);
    if (ret < 0) {
        return ret;
    }
    return (uint64_t)idx << s->cluster_bits;
}

void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, uint64_t offset,
                                      uint64_t size, bool pass_discard)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = update_refcount(bs, offset, size, 1, true, pass_discard);

    if (ret < 0) {
        error_report("qcow2: could not free clusters at 0x%" PRIx64
                     " (%s): they leak", offset, strerror(-ret));
        return;
    }
    s->free_cluster_index = MIN(s->free_cluster_index,
                                offset >> s->cluster_bits);
}

int coroutine_fn qcow2_ref_clusters(BlockDriverState *bs, uint64_t offset,
                                    uint64_t size)
{
    return update_refcount(bs, offset, size, 1, false, false);
}

void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         bool pass_discard)
{
    BDRVQcow2State *s = bs->opaque;

    if (has_data_file(bs)) {
        return;        /* guest data in a data file is not refcounted */
    }
    switch (qcow2_get_cluster_type(l2_entry)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        qcow2_free_clusters(bs, l2_entry & L2E_OFFSET_MASK, s->cluster_size,
                            pass_discard);
        break;
    case QCOW2_CLUSTER_COMPRESSED: {
        uint64_t off = l2_entry & s->cluster_offset_mask;
        uint64_t sectors = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;

        qcow2_free_clusters(bs, off & ~511ULL, sectors * 512, false);
        break;
    }
    default:
        break;
    }
}

/* ---- overlap check ----------------------------------------------------- */

const char *qcow2_metadata_overlap(BDRVQcow2State *s,
                                   Qcow2MetadataOverlap ign,
                                   int64_t offset, int64_t size)
{
    if (!(ign & QCOW2_OL_MAIN_HEADER) && offset < s->cluster_size) {
        return "the image header";
    }
    if (!(ign & QCOW2_OL_ACTIVE_L1) && s->l1_size &&
        qcow2_ranges_overlap(offset, size, s->l1_table_offset,
                             (int64_t)s->l1_size * 8)) {
        return "the active L1 table";
    }
    if (!(ign & QCOW2_OL_REFCOUNT_TABLE) &&
        qcow2_ranges_overlap(offset, size, s->refcount_table_offset,
                             (int64_t)s->refcount_table_size * 8)) {
        return "the refcount table";
    }
    if (!(ign & QCOW2_OL_SNAPSHOT_TABLE) && s->nb_snapshots &&
        qcow2_ranges_overlap(offset, size, s->snapshots_offset,
                             MAX(s->snapshots_size, 1))) {
        return "the snapshot table";
    }
    if (!(ign & QCOW2_OL_INACTIVE_L1) && s->snapshots) {
        for (uint32_t i = 0; i < s->nb_snapshots; i++) {
            const QCowSnapshot *sn = &s->snapshots[i];

            if (sn->l1_size &&
                qcow2_ranges_overlap(offset, size, sn->l1_table_offset,
                                     (int64_t)sn->l1_size * 8)) {
                return "the L1 table of a snapshot";
            }
        }
    }
    if (!(ign & QCOW2_OL_ACTIVE_L2)) {
        for (uint32_t i = 0; i < s->l1_size; i++) {
            uint64_t l2 = s->l1_table[i] & L1E_OFFSET_MASK;
            if (l2 && qcow2_ranges_overlap(offset, size, l2, s->cluster_size)) {
                return "an active L2 table";
            }
        }
    }
    if (!(ign & QCOW2_OL_REFCOUNT_BLOCK)) {
        for (uint32_t i = 0; i < s->refcount_table_used; i++) {
            uint64_t rb = s->refcount_table[i] & REFT_OFFSET_MASK;
            if (rb && qcow2_ranges_overlap(offset, size, rb, s->cluster_size)) {
                return "a refcount block";
            }
        }
    }
    return qcow2_bitmaps_overlap(s, ign, offset, size);
}

int qcow2_pre_write_overlap_check(BlockDriverState *bs,
                                  Qcow2MetadataOverlap ign,
                                  int64_t offset, int64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    const char *what;

    if (size <= 0) {
        return 0;
    }
    what = qcow2_metadata_overlap(s, ign, offset, size);
    if (!what) {
        return 0;
    }
    qcow2_signal_corruption(bs, true, offset, size, "preventing a write "
                            "that would overwrite %s", what);
    return -EIO;
}

/* ---- for check/repair -------------------------------------------------- */

void qcow2_refblock_set(BDRVQcow2State *s, void *block, uint64_t idx,
                        uint64_t value)
{
    refblock_set(s, block, idx, value);
}

int coroutine_fn qcow2_update_cluster_refcount(BlockDriverState *bs,
                                               uint64_t cluster_index,
                                               uint64_t addend,
                                               bool decrease)
{
    BDRVQcow2State *s = bs->opaque;

    return update_refcount(bs, cluster_index << s->cluster_bits,
                           s->cluster_size, addend, decrease, false);
}
