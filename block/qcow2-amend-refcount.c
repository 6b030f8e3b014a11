/*
 * qcow2 amend, refcount_bits: giving the image a refcount structure of
 * another entry width.
 *
 * What it does: reads the refcount of every cluster through the current
 * structure, refuses a width too narrow for one of them (QEMU's
 * message), then writes a complete new structure (refcount blocks and
 * table) past the end of the file, in which the old table and blocks
 * count zero and the new ones one, and switches to it with one write of
 * the header (refcount_order and the table's place together).
 *
 * What it deliberately does not: convert the blocks in place, or free
 * the old structure cluster by cluster: once the header names the new
 * table the old clusters are simply free space.
 *
 * Key invariant: until the header write the image on disk is the old
 * one, untouched apart from clusters past its end; after it, the new
 * structure is complete and flushed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

/* The new structure, built in memory. */
typedef struct NewRefcounts {
    BDRVQcow2State geo;          /* only the refcount_* width fields */
    uint64_t *refs;              /* refcount of each cluster */
    uint64_t nb_refs;            /* clusters described by @refs */
    uint64_t per_block;          /* entries of one refcount block */
    uint64_t blocks;             /* refcount blocks to write */
    uint64_t table_clusters;
    uint64_t start;              /* first cluster of the new structure */
} NewRefcounts;

static void set_width(BDRVQcow2State *geo, int order, int cluster_bits)
{
    geo->refcount_order = order;
    geo->refcount_bits = 1 << order;
    geo->refcount_max = order == 6 ? UINT64_MAX
                                   : (1ULL << geo->refcount_bits) - 1;
    geo->refcount_block_bits = cluster_bits - (order - 3);
    geo->refcount_block_size = 1 << geo->refcount_block_bits;
}

/* Read every refcount; the old structure's own clusters count zero. */
static int coroutine_fn read_refcounts(BlockDriverState *bs,
                                       NewRefcounts *nr)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_len = bdrv_getlength(bs->file);
    uint64_t covered = (uint64_t)s->refcount_table_used <<
                       s->refcount_block_bits;
    uint64_t table = s->refcount_table_offset >> s->cluster_bits;

    if (file_len < 0) {
        return file_len;
    }
    nr->nb_refs = MAX(size_to_clusters(s, file_len), covered);
    nr->refs = g_try_new0(uint64_t, nr->nb_refs);
    if (!nr->refs) {
        return -ENOMEM;
    }
    for (uint64_t c = 0; c < nr->nb_refs; c++) {
        int ret = qcow2_get_refcount(bs, c, &nr->refs[c]);

        if (ret < 0) {
            return ret;
        }
    }
    for (uint64_t c = table; c < table + size_to_clusters(s,
             (uint64_t)s->refcount_table_size * 8) && c < nr->nb_refs; c++) {
        nr->refs[c] = 0;
    }
    for (uint32_t i = 0; i < s->refcount_table_used; i++) {
        uint64_t c = (s->refcount_table[i] & REFT_OFFSET_MASK) >>
                     s->cluster_bits;

        if (c && c < nr->nb_refs) {
            nr->refs[c] = 0;
        }
    }
    /* The new structure goes right after the file or the last cluster
     * in use, not after all the old blocks could describe. */
    while (nr->nb_refs > (uint64_t)size_to_clusters(s, file_len) &&
           !nr->refs[nr->nb_refs - 1]) {
        nr->nb_refs--;
    }
    return 0;
}

/* The first cluster whose refcount does not fit the new width, or -1. */
static int64_t too_wide(const NewRefcounts *nr)
{
    for (uint64_t c = 0; c < nr->nb_refs; c++) {
        if (nr->refs[c] > nr->geo.refcount_max) {
            return c;
        }
    }
    return -1;
}

/* Blocks and table clusters to count [0, start) and themselves. */
static void plan_structure(BDRVQcow2State *s, NewRefcounts *nr)
{
    uint64_t blocks = 0, tables = 0, more_blocks, more_tables;

    nr->start = nr->nb_refs;
    for (;;) {
        more_blocks = DIV_ROUND_UP(nr->start + blocks + tables,
                                   nr->per_block);
        more_tables = size_to_clusters(s, more_blocks * 8);
        if (more_blocks == blocks && more_tables == tables) {
            break;
        }
        blocks = more_blocks;
        tables = more_tables;
    }
    nr->blocks = blocks;
    nr->table_clusters = tables;
}

/* Write the blocks, then the table (big-endian), then flush. */
static int coroutine_fn write_structure(BlockDriverState *bs,
                                        NewRefcounts *nr, uint64_t *table)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t total = nr->start + nr->blocks + nr->table_clusters;
    g_autofree uint8_t *blocks = g_try_malloc0(nr->blocks << s->cluster_bits);
    int ret;

    if (!blocks) {
        return -ENOMEM;
    }
    for (uint64_t c = 0; c < total; c++) {
        uint64_t rc = c < nr->start ? nr->refs[c] : 1;

        if (rc) {
            qcow2_refblock_set(&nr->geo, blocks + ((c / nr->per_block) <<
                                                   s->cluster_bits),
                               c % nr->per_block, rc);
        }
    }
    for (uint64_t b = 0; b < nr->blocks; b++) {
        table[b] = GUINT64_TO_BE((nr->start + b) << s->cluster_bits);
    }
    ret = bdrv_co_pwrite(bs->file, nr->start << s->cluster_bits,
                         nr->blocks << s->cluster_bits, blocks);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file,
                             (nr->start + nr->blocks) << s->cluster_bits,
                             nr->table_clusters << s->cluster_bits, table);
    }
    return ret < 0 ? ret : bdrv_co_flush(bs->file);
}

/* Make @table (big-endian, @entries long) the in-memory structure. */
static void switch_state(BDRVQcow2State *s, const NewRefcounts *nr,
                         uint64_t *table, uint64_t entries)
{
    for (uint64_t i = 0; i < entries; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    s->refcount_table = table;
    s->refcount_table_size = entries;
    s->refcount_table_offset = (nr->start + nr->blocks) << s->cluster_bits;
    set_width(s, nr->geo.refcount_order, s->cluster_bits);
    qcow2_refcount_table_note(s);
    s->free_cluster_index = 0;
}

typedef struct OrderCo {
    BlockDriverState *bs;
    NewRefcounts nr;
    uint64_t *table;
    uint64_t entries;
    int64_t bad_cluster;         /* too_wide(), for the message */
} OrderCo;

/* Build and write the new structure; the switch is the caller's. */
static int coroutine_fn build_co(void *opaque)
{
    OrderCo *o = opaque;
    BlockDriverState *bs = o->bs;
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret == 0) {
        ret = qcow2_cache_empty(bs, s->refcount_block_cache);
    }
    if (ret == 0) {
        ret = read_refcounts(bs, &o->nr);
    }
    if (ret == 0) {
        o->bad_cluster = too_wide(&o->nr);
        ret = o->bad_cluster >= 0 ? -EINVAL : 0;
    }
    if (ret == 0) {
        plan_structure(s, &o->nr);
        o->entries = (o->nr.table_clusters << s->cluster_bits) / 8;
        o->table = g_try_new0(uint64_t, o->entries);
        ret = o->table ? write_structure(bs, &o->nr, o->table) : -ENOMEM;
    }
    if (ret == 0) {
        ret = qcow2_cache_empty(bs, s->refcount_block_cache);
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int build_error(OrderCo *o, int ret, Error **errp)
{
    if (o->bad_cluster >= 0) {
        error_setg(errp, "Cannot decrease refcount entry width to %i bits: "
                   "Cluster at offset %#" PRIx64 " has a refcount of %"
                   PRIu64, o->nr.geo.refcount_bits,
                   (uint64_t)o->bad_cluster << ((BDRVQcow2State *)
                                                o->bs->opaque)->cluster_bits,
                   o->nr.refs[o->bad_cluster]);
    } else {
        error_setg_errno(errp, -ret, "Failed to build the new refcount "
                         "structure");
    }
    return ret;
}

int qcow2_amend_refcount_order(BlockDriverState *bs, int order, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    OrderCo o = { .bs = bs, .bad_cluster = -1 };
    uint64_t *old_table = s->refcount_table;
    uint32_t old_size = s->refcount_table_size;
    uint64_t old_offset = s->refcount_table_offset;
    int old_order = s->refcount_order;
    int ret;

    set_width(&o.nr.geo, order, s->cluster_bits);
    o.nr.per_block = o.nr.geo.refcount_block_size;
    ret = qcow2_run_co(bs, build_co, &o);
    if (ret < 0) {
        ret = build_error(&o, ret, errp);
        g_free(o.table);
        g_free(o.nr.refs);
        return ret;
    }
    g_free(o.nr.refs);
    switch_state(s, &o.nr, o.table, o.entries);   /* old table kept */
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        /* the old structure is still the one on disk */
        g_free(s->refcount_table);
        s->refcount_table = old_table;
        s->refcount_table_size = old_size;
        s->refcount_table_offset = old_offset;
        set_width(s, old_order, s->cluster_bits);
        qcow2_refcount_table_note(s);
        error_setg_errno(errp, -ret, "Failed to update the image header");
        return ret;
    }
    g_free(old_table);
    return 0;
}
