/*
 * qcow2 repair: replacing a refcount structure that cannot be trusted.
 *
 * What it does: from the references the check counted (everything but
 * the old refcount table and blocks), builds a new refcount table and
 * new refcount blocks in a fresh area at the end of the file, sized so
 * that the blocks also count themselves and the table; writes and
 * flushes them, then points the header at the new table in one write.
 *
 * What it deliberately does not: reuse or fix the old structure in
 * place (it may overlap anything), or free its clusters one by one: they
 * simply get refcount 0 in the new structure.
 *
 * Key invariant: until the single header write, the image on disk is the
 * old one, untouched; after it, the new structure is complete.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "qcow2.h"
#include "qcow2-check.h"

/* Refcount blocks and table clusters needed to describe @start clusters
 * plus themselves. */
static void size_structure(BDRVQcow2State *s, uint64_t start,
                           uint64_t *blocks, uint64_t *table_clusters)
{
    uint64_t b = 0, t = 0;

    for (;;) {
        uint64_t nb = DIV_ROUND_UP(start + b + t,
                                   (uint64_t)s->refcount_block_size);
        uint64_t nt = size_to_clusters(s, nb * sizeof(uint64_t));

        if (nb == b && nt == t) {
            break;
        }
        b = nb;
        t = nt;
    }
    *blocks = b;
    *table_clusters = t;
}

/* Fill the new blocks (@blocks clusters at @buf) for @total clusters. */
static void fill_blocks(Qcow2CheckState *cs, uint8_t *buf, uint64_t start,
                        uint64_t total)
{
    BDRVQcow2State *s = cs->s;
    uint64_t rb = s->refcount_block_size;

    for (uint64_t c = 0; c < total; c++) {
        uint64_t rc = c < start ? (c < cs->nb_meta_refs ? cs->meta_refs[c]
                                                         : 0)
                                : 1;

        if (rc) {
            qcow2_refblock_set(s, buf + ((c / rb) << s->cluster_bits),
                               c % rb, MIN(rc, s->refcount_max));
        }
    }
}

/* Forget the old structure in memory: cached blocks and the table. */
static void switch_in_memory(Qcow2CheckState *cs, uint64_t *table,
                             uint64_t entries, uint64_t table_offset)
{
    BDRVQcow2State *s = cs->s;

    for (uint32_t ti = 0; ti < s->refcount_table_size; ti++) {
        uint64_t off = s->refcount_table[ti] & REFT_OFFSET_MASK;

        if (off && !offset_into_cluster(s, off)) {
            qcow2_cache_discard(s->refcount_block_cache, off);
        }
    }
    for (uint64_t i = 0; i < entries; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    g_free(s->refcount_table);
    s->refcount_table = table;
    s->refcount_table_size = entries;
    s->refcount_table_offset = table_offset;
    qcow2_refcount_table_note(s);
    s->free_cluster_index = 0;
}

/* Write @blocks + @table_clusters at @start, then switch the header. */
static int coroutine_fn write_structure(Qcow2CheckState *cs, uint8_t *buf,
                                        uint64_t *table, uint64_t blocks,
                                        uint64_t table_clusters,
                                        uint64_t start)
{
    BDRVQcow2State *s = cs->s;
    BlockDriverState *file = cs->bs->file;
    uint64_t blocks_offset = start << s->cluster_bits;
    uint64_t table_offset = blocks_offset + (blocks << s->cluster_bits);
    uint8_t hdr[12];
    int ret;

    ret = bdrv_co_pwrite(file, blocks_offset, blocks << s->cluster_bits,
                         buf);
    if (ret == 0) {
        ret = bdrv_co_pwrite(file, table_offset,
                             table_clusters << s->cluster_bits, table);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(file);
    }
    if (ret == 0) {
        /* refcount_table_offset and _clusters are adjacent. */
        be64_store(hdr, table_offset);
        be32_store(hdr + 8, table_clusters);
        ret = bdrv_co_pwrite(file, offsetof(QCowHeader,
                                            refcount_table_offset),
                             sizeof(hdr), hdr);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(file);
    }
    return ret;
}

int coroutine_fn qcow2_check_rebuild_refcounts(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->s;
    uint64_t start = MAX(cs->nb_meta_refs,
                         (uint64_t)size_to_clusters(s, cs->file_len));
    uint64_t blocks, table_clusters, entries, total;
    g_autofree uint8_t *buf = NULL;
    uint64_t *table;
    int ret;

    fprintf(stderr, "Rebuilding refcount structure\n");
    size_structure(s, start, &blocks, &table_clusters);
    total = start + blocks + table_clusters;
    entries = (table_clusters << s->cluster_bits) / sizeof(uint64_t);
    if ((table_clusters << s->cluster_bits) > QCOW_MAX_REFTABLE_BYTES ||
        (total << s->cluster_bits) > QCOW_MAX_HOST_OFFSET) {
        return -EFBIG;
    }
    buf = g_try_malloc0(blocks << s->cluster_bits);
    table = g_try_new0(uint64_t, entries);
    if (!buf || !table) {
        g_free(table);
        return -ENOMEM;
    }
    fill_blocks(cs, buf, start, total);
    for (uint64_t b = 0; b < blocks; b++) {
        table[b] = GUINT64_TO_BE((start + b) << s->cluster_bits);
    }
    ret = write_structure(cs, buf, table, blocks, table_clusters, start);
    if (ret < 0) {
        fprintf(stderr, "ERROR: could not write the new refcount "
                "structure: %s\n", strerror(-ret));
        g_free(table);
        return ret;
    }
    switch_in_memory(cs, table, entries,
                     (start + blocks) << s->cluster_bits);
    return 0;
}
