/*
 * qcow2 consistency check and repair (qemu-img check, and the automatic
 * repair of images left dirty by lazy refcounts).
 *
 * What it does: rebuilds in memory the refcount every host cluster
 * should have, by walking everything that references clusters (the
 * header cluster, the active L1 table and its L2 tables and data
 * clusters, the snapshot table with each snapshot's L1 table and the L2
 * tables and data below it, compressed clusters by the host range their
 * descriptor covers, the persistent bitmaps' directory, tables and data
 * clusters, the refcount table and refcount blocks; guest data in an
 * external data file has no refcount and is not counted); compares
 * it with the refcounts on disk and reports each difference as a
 * corruption (on-disk refcount too low: a write could reuse a cluster
 * still in use) or a leak (too high: space lost); checks the COPIED flag
 * of L1 and L2 entries against the refcounts.  With BDRV_FIX_LEAKS,
 * leaked refcounts are lowered; with BDRV_FIX_ERRORS, refcounts too low
 * are raised and COPIED flags corrected, and a refcount structure that
 * cannot be trusted (blocks misaligned, outside the file or shared with
 * other metadata) is rebuilt from scratch past the end of the file
 * (qcow2-check-rebuild.c).  A full repair clears the dirty and corrupt
 * bits.
 *
 * What it deliberately does not: repair L1/L2 entries that point outside
 * the file or at misaligned offsets (reported only: the data they stood
 * for is lost either way), or interpret snapshot extra data.
 *
 * Key invariant: while repairing, new clusters (refcount blocks) are
 * taken only past every cluster the walk found referenced, so a repair
 * never hands out a cluster whose on-disk refcount is wrongly zero.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"
#include "qcow2-check.h"

/* Fixed part of one snapshot table entry (variable data follows). */
#define SNAPSHOT_ENTRY_FIXED    40
#define MAX_SNAPSHOT_TABLE      (64 * 1024 * 1024)

/* ---- counting references ------------------------------------------------ */

static void grow_refs(Qcow2CheckState *cs, uint64_t nb)
{
    if (nb <= cs->nb_refs) {
        return;
    }
    cs->refs = g_renew(uint64_t, cs->refs, nb);
    memset(cs->refs + cs->nb_refs, 0, (nb - cs->nb_refs) * sizeof(uint64_t));
    cs->nb_refs = nb;
}

void qcow2_check_inc_refs(Qcow2CheckState *cs, uint64_t offset,
                          uint64_t size)
{
    BDRVQcow2State *s = cs->s;
    uint64_t end = offset + size;

    if (size == 0) {
        return;
    }
    /* The last cluster of a file need not be complete; past that, the
     * reference points at nothing. */
    if (end < offset || end > QCOW_MAX_HOST_OFFSET ||
        (end > (uint64_t)cs->file_len &&
         end - cs->file_len >= (uint64_t)s->cluster_size)) {
        fprintf(stderr, "ERROR: counting reference for region exceeding "
                "the end of the file by one cluster or more: offset 0x%"
                PRIx64 " size 0x%" PRIx64 "\n", offset, size);
        cs->res->corruptions++;
        return;
    }
    grow_refs(cs, ((end - 1) >> s->cluster_bits) + 1);
    for (uint64_t c = offset >> s->cluster_bits;
         c <= (end - 1) >> s->cluster_bits; c++) {
        if (cs->refs[c] < UINT64_MAX) {
            cs->refs[c]++;
        }
    }
}

static void count_compressed(Qcow2CheckState *cs, uint64_t entry,
                             uint64_t bitmap, bool active)
{
    BDRVQcow2State *s = cs->s;
    uint64_t coff = entry & s->cluster_offset_mask;
    uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;

    if (entry & QCOW_OFLAG_COPIED) {
        fprintf(stderr, "ERROR: compressed cluster at 0x%" PRIx64 " has "
                "the COPIED flag set\n", coff);
        cs->res->corruptions++;
    }
    /* As QEMU: such an entry is not followed (nor counted). */
    if (has_data_file(cs->bs)) {
        fprintf(stderr, "ERROR compressed cluster at 0x%" PRIx64 " in an "
                "image with an external data file\n", coff);
        cs->res->corruptions++;
        return;
    }
    if (bitmap) {
        fprintf(stderr, "ERROR compressed cluster at 0x%" PRIx64 " with a "
                "non-zero subcluster bitmap 0x%" PRIx64 "\n", coff, bitmap);
        cs->res->corruptions++;
        return;
    }
    if (active) {
        cs->res->allocated_clusters++;
        cs->res->compressed_clusters++;
        cs->res->fragmented_clusters++;   /* never contiguous by nature */
        cs->next_contiguous = 0;
    }
    /* The descriptor names 512-byte sectors; count every host cluster
     * the range touches, as freeing does. */
    qcow2_check_inc_refs(cs, coff & ~511ULL, sectors * 512);
}

/* A cluster with a host cluster (data, or preallocated zeroes). */
static void count_data(Qcow2CheckState *cs, uint64_t entry,
                       uint64_t bitmap, bool active)
{
    BDRVQcow2State *s = cs->s;
    uint64_t off = entry & L2E_OFFSET_MASK;

    if ((bitmap >> 32) & bitmap) {
        fprintf(stderr, "ERROR offset=%" PRIx64 ": Allocated cluster has "
                "corrupted subcluster allocation bitmap\n", off);
        cs->res->corruptions++;
    }
    if (offset_into_cluster(s, off)) {
        fprintf(stderr, "ERROR offset=%" PRIx64 ": %s cluster is not "
                "properly aligned; L2 entry corrupted.\n", off,
                entry & QCOW_OFLAG_ZERO ? "Preallocated zero" : "Data");
        cs->res->corruptions++;
    }
    if (active) {
        cs->res->allocated_clusters++;
        if (cs->next_contiguous && off != cs->next_contiguous) {
            cs->res->fragmented_clusters++;
        }
        cs->next_contiguous = off + s->cluster_size;
    }
    /* Clusters of an external data file have no refcount. */
    if (!has_data_file(cs->bs)) {
        qcow2_check_inc_refs(cs, off, s->cluster_size);
    }
}

static int coroutine_fn walk_l2(Qcow2CheckState *cs, uint64_t l2_offset,
                                bool active)
{
    BDRVQcow2State *s = cs->s;
    g_autofree uint64_t *l2 = g_try_malloc(s->cluster_size);
    int ret = l2 ? bdrv_co_pread(cs->bs->file, l2_offset, s->cluster_size,
                                 l2) : -ENOMEM;

    if (ret < 0) {
        fprintf(stderr, "ERROR: could not read the L2 table at 0x%" PRIx64
                ": %s\n", l2_offset, strerror(-ret));
        cs->res->check_errors++;
        return ret;
    }
    cs->next_contiguous = 0;    /* as QEMU: fragmentation within a table */
    for (int i = 0; i < s->l2_size; i++) {
        uint64_t entry = l2_entry_get(s, l2, i);
        uint64_t bitmap = l2_bitmap_get(s, l2, i);

        switch (qcow2_entry_type(cs->bs, entry)) {
        case QCOW2_CLUSTER_COMPRESSED:
            count_compressed(cs, entry, bitmap, active);
            break;
        case QCOW2_CLUSTER_NORMAL:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            count_data(cs, entry, bitmap, active);
            break;
        case QCOW2_CLUSTER_UNALLOCATED:
            if (bitmap & QCOW_L2_BITMAP_ALL_ALLOC) {
                fprintf(stderr, "ERROR unallocated cluster %d of the L2 "
                        "table at 0x%" PRIx64 " has allocated subclusters "
                        "0x%" PRIx64 "\n", i, l2_offset, bitmap);
                cs->res->corruptions++;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

/* Count one L1 entry's L2 table and what it references. */
static void coroutine_fn walk_l1_entry(Qcow2CheckState *cs, int i,
                                       uint64_t entry, bool active)
{
    BDRVQcow2State *s = cs->s;
    uint64_t l2 = entry & L1E_OFFSET_MASK;

    if (entry & L1E_RESERVED_MASK) {
        fprintf(stderr, "ERROR found L1 entry with reserved bits set: %"
                PRIx64 "\n", entry);
        cs->res->corruptions++;
    }
    if (!l2) {
        return;
    }
    qcow2_check_inc_refs(cs, l2, s->cluster_size);
    if (offset_into_cluster(s, l2)) {
        fprintf(stderr, "ERROR l2_offset=%" PRIx64 ": Table is not "
                "cluster aligned; L1 entry corrupted\n", l2);
        cs->res->corruptions++;
        return;
    }
    /* As QEMU: a table the end of the file cuts short reads as zeroes
     * past it (unallocated entries); the references that remain are
     * counted, and those past the end reported as such. */
    if (l2 < (uint64_t)cs->file_len) {
        walk_l2(cs, l2, active);
    }
}

/* Count an L1 table at @offset of @size entries (@active: host order in
 * s->l1_table; else read from the file) and everything below it. */
static int coroutine_fn walk_l1(Qcow2CheckState *cs, uint64_t offset,
                                uint32_t size, bool active)
{
    BDRVQcow2State *s = cs->s;
    g_autofree uint64_t *l1 = NULL;

    qcow2_check_inc_refs(cs, offset, (uint64_t)size * 8);
    if (!active && size) {
        int ret;

        l1 = g_try_new(uint64_t, size);
        ret = l1 ? bdrv_co_pread(cs->bs->file, offset, size * 8, l1)
                 : -ENOMEM;
        if (ret < 0) {
            fprintf(stderr, "ERROR: could not read the L1 table at 0x%"
                    PRIx64 ": %s\n", offset, strerror(-ret));
            cs->res->check_errors++;
            return ret;
        }
    }
    for (uint32_t i = 0; i < size; i++) {
        walk_l1_entry(cs, i, active ? s->l1_table[i]
                                    : GUINT64_FROM_BE(l1[i]), active);
    }
    return 0;
}

/* Count one snapshot entry at @off and its L1 tree; its length in *@len. */
static int coroutine_fn walk_snapshot(Qcow2CheckState *cs, uint32_t i,
                                      uint64_t off, uint64_t *len)
{
    uint8_t h[SNAPSHOT_ENTRY_FIXED];
    uint64_t l1_offset;
    uint32_t l1_size;
    uint16_t id_len, name_len;
    int ret = bdrv_co_pread(cs->bs->file, off, sizeof(h), h);

    if (ret < 0) {
        fprintf(stderr, "ERROR: could not read snapshot %u: %s\n", i,
                strerror(-ret));
        cs->res->check_errors++;
        return ret;
    }
    l1_offset = be64_load(h);
    l1_size = be32_load(h + 8);
    id_len = be32_load(h + 12) >> 16;
    name_len = be32_load(h + 12) & 0xffff;
    *len = ROUND_UP(SNAPSHOT_ENTRY_FIXED + (uint64_t)be32_load(h + 36) +
                    id_len + name_len, 8);
    if (offset_into_cluster(cs->s, l1_offset) ||
        l1_size > QCOW_MAX_L1_BYTES / 8) {
        fprintf(stderr, "ERROR: snapshot %u has an invalid L1 table (0x%"
                PRIx64 ", %u entries)\n", i, l1_offset, l1_size);
        cs->res->corruptions++;
        return 0;
    }
    return walk_l1(cs, l1_offset, l1_size, false);
}

/* The snapshot table and, through each snapshot's L1, what it keeps. */
static void coroutine_fn walk_snapshots(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->s;
    uint64_t off = s->snapshots_offset;

    if (!s->nb_snapshots) {
        return;
    }
    if (offset_into_cluster(s, off) || off >= (uint64_t)cs->file_len) {
        fprintf(stderr, "ERROR: the snapshot table offset 0x%" PRIx64
                " is invalid\n", off);
        cs->res->corruptions++;
        return;
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint64_t len;

        if (off - s->snapshots_offset > MAX_SNAPSHOT_TABLE ||
            walk_snapshot(cs, i, off, &len) < 0) {
            cs->res->check_errors++;
            return;
        }
        off += len;
    }
    qcow2_check_inc_refs(cs, s->snapshots_offset, off - s->snapshots_offset);
}

static void inc_refs_cb(void *opaque, uint64_t offset, uint64_t size)
{
    qcow2_check_inc_refs(opaque, offset, size);
}

/* The persistent bitmaps: directory, tables and data clusters (a bitmap
 * "in use" keeps its clusters until it is stored or removed). */
static void coroutine_fn walk_bitmaps(Qcow2CheckState *cs)
{
    int bad = 0;
    int ret = qcow2_bitmaps_walk(cs->bs, inc_refs_cb, cs, &bad);

    cs->res->corruptions += bad;
    if (ret < 0) {
        fprintf(stderr, "ERROR: could not read a bitmap table: %s\n",
                strerror(-ret));
        cs->res->check_errors++;
    }
}

/* The refcount table and blocks; a block that cannot be trusted marks
 * the structure for rebuilding. */
static void count_refcount_structure(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->s;

    qcow2_check_inc_refs(cs, s->refcount_table_offset,
                         (uint64_t)s->refcount_table_size * 8);
    cs->bad_refblock = g_new0(bool, s->refcount_table_size);
    cs->nb_bad_refblock = s->refcount_table_size;
    for (uint32_t ti = 0; ti < s->refcount_table_size; ti++) {
        uint64_t entry = s->refcount_table[ti];
        uint64_t off = entry & REFT_OFFSET_MASK;
        const char *why = NULL;

        if (!off) {
            continue;
        }
        if ((entry & REFT_RESERVED_MASK) || offset_into_cluster(s, off)) {
            why = "is not cluster aligned; refcount table entry corrupted";
        } else if (off >= (uint64_t)cs->file_len) {
            /* As QEMU: a block that the end of the file only cuts short
             * is used, reading as zeroes past the end; one that starts
             * there or later is reported. */
            why = "is outside image";
        } else {
            qcow2_check_inc_refs(cs, off, s->cluster_size);
            if (cs->refs[off >> s->cluster_bits] != 1) {
                fprintf(stderr, "ERROR refcount block %u refcount=%" PRIu64
                        "\n", ti, cs->refs[off >> s->cluster_bits]);
                cs->res->corruptions++;
                cs->rebuild = true;
            }
            continue;
        }
        fprintf(stderr, "ERROR refcount block %u %s\n", ti, why);
        cs->res->corruptions++;
        /* As QEMU: a misaligned block cannot be read; one past the end
         * of the file reads as zeroes (refcounts of 0). */
        cs->bad_refblock[ti] = off < (uint64_t)cs->file_len;
        cs->rebuild = true;
    }
}

/* Every reference: fills cs->refs (and cs->meta_refs, the same without
 * the refcount structure, for a rebuild). */
static void coroutine_fn count_all(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->s;
    uint64_t area_offset, area_length;

    /* Every cluster of the file is compared, referenced or not. */
    grow_refs(cs, size_to_clusters(s, cs->file_len));
    qcow2_check_inc_refs(cs, 0, s->cluster_size);
    if (qcow2_crypto_area(s, &area_offset, &area_length)) {
        qcow2_check_inc_refs(cs, area_offset, area_length);
    }
    walk_l1(cs, s->l1_table_offset, s->l1_size, true);
    walk_snapshots(cs);
    walk_bitmaps(cs);
    g_free(cs->meta_refs);
    cs->meta_refs = g_memdup2(cs->refs, cs->nb_refs * sizeof(uint64_t));
    cs->nb_meta_refs = cs->nb_refs;
    count_refcount_structure(cs);
}

/* ---- comparing with the refcounts on disk ------------------------------- */

int coroutine_fn qcow2_check_get_refcount(Qcow2CheckState *cs,
                                          uint64_t cluster,
                                          uint64_t *refcount)
{
    uint64_t ti = cluster >> cs->s->refcount_block_bits;

    if (ti < cs->nb_bad_refblock && cs->bad_refblock[ti]) {
        return -EIO;
    }
    return qcow2_get_refcount(cs->bs, cluster, refcount);
}

/* Report (and per @fix, repair) the difference for one cluster. */
static void coroutine_fn compare_one(Qcow2CheckState *cs, uint64_t i,
                                     uint64_t have, BdrvCheckMode fix)
{
    uint64_t want = cs->refs[i];
    bool low = have < want;
    bool repair = fix & (low ? BDRV_FIX_ERRORS : BDRV_FIX_LEAKS);
    int ret;

    fprintf(stderr, "%s cluster %" PRIu64 " refcount=%" PRIu64
            " reference=%" PRIu64 "\n",
            repair ? "Repairing" : low ? "ERROR" : "Leaked", i, have, want);
    if (repair) {
        want = MIN(want, cs->s->refcount_max);
        ret = qcow2_update_cluster_refcount(cs->bs, i,
                                            low ? want - have : have - want,
                                            !low);
        if (ret == 0) {
            if (low) {
                cs->res->corruptions_fixed++;
            } else {
                cs->res->leaks_fixed++;
            }
            return;
        }
        fprintf(stderr, "ERROR could not repair the refcount of cluster %"
                PRIu64 ": %s\n", i, strerror(-ret));
        cs->res->check_errors++;
    }
    if (low) {
        cs->res->corruptions++;
    } else {
        cs->res->leaks++;
    }
}

void coroutine_fn qcow2_check_compare(Qcow2CheckState *cs, BdrvCheckMode fix)
{
    BDRVQcow2State *s = cs->s;
    uint64_t saved_free_index = s->free_cluster_index;

    /* New refcount blocks must come from past everything referenced. */
    s->free_cluster_index = MAX(s->free_cluster_index, cs->nb_refs);
    cs->highest_cluster = 0;
    for (uint64_t i = 0; i < cs->nb_refs; i++) {
        uint64_t have;

        if (qcow2_check_get_refcount(cs, i, &have) < 0) {
            fprintf(stderr, "Can't get refcount for cluster %" PRIu64 "\n",
                    i);
            cs->res->check_errors++;
            continue;
        }
        /* As QEMU: the image ends after the last cluster in use, be it
         * referenced or only counted (a leak); an unreadable refcount
         * does not count. */
        if (have || cs->refs[i]) {
            cs->highest_cluster = i;
        }
        if (have != cs->refs[i]) {
            compare_one(cs, i, have, fix);
        }
    }
    s->free_cluster_index = fix ? 0 : saved_free_index;
}

/* ---- COPIED flags ------------------------------------------------------- */

/* Is @entry's COPIED flag right for a cluster with refcount @rc?  Prints
 * the finding; returns the corrected entry, or @entry when it is right. */
static uint64_t check_copied_flag(uint64_t entry, uint64_t rc,
                                  const char *prefix, bool repair)
{
    if ((rc == 1) == !!(entry & QCOW_OFLAG_COPIED)) {
        return entry;
    }
    fprintf(stderr, "%s OFLAG_COPIED %s%" PRIx64 " refcount=%" PRIu64 "\n",
            repair ? "Repairing" : "ERROR", prefix, entry, rc);
    return rc == 1 ? entry | QCOW_OFLAG_COPIED : entry & ~QCOW_OFLAG_COPIED;
}

static void count_copied_finding(Qcow2CheckState *cs, bool repaired)
{
    if (repaired) {
        cs->res->corruptions_fixed++;
    } else {
        cs->res->corruptions++;
    }
}

/* The data clusters of the active L2 table at @l2_offset. */
static int coroutine_fn check_copied_l2(Qcow2CheckState *cs,
                                        uint64_t l2_offset, bool repair)
{
    BDRVQcow2State *s = cs->s;
    g_autofree uint64_t *l2 = g_try_malloc(s->cluster_size);
    int slice = qcow2_cache_table_size(s->l2_table_cache);
    bool dirty = false;
    int ret = l2 ? bdrv_co_pread(cs->bs->file, l2_offset, s->cluster_size,
                                 l2) : -ENOMEM;

    for (int i = 0; ret == 0 && i < s->l2_size; i++) {
        uint64_t entry = l2_entry_get(s, l2, i), rc = 1, fixed;
        QCow2ClusterType type = qcow2_entry_type(cs->bs, entry);
        uint64_t off = entry & L2E_OFFSET_MASK;

        /* As QEMU: data in an external data file counts as refcount 1,
         * and its preallocated zero clusters are not checked. */
        if (type != QCOW2_CLUSTER_NORMAL &&
            (type != QCOW2_CLUSTER_ZERO_ALLOC || has_data_file(cs->bs))) {
            continue;
        }
        if (!has_data_file(cs->bs) &&
            (offset_into_cluster(s, off) ||
             qcow2_check_get_refcount(cs, off >> s->cluster_bits,
                                      &rc) < 0)) {
            continue;
        }
        fixed = check_copied_flag(entry, rc, "data cluster: l2_entry=",
                                  repair);
        if (fixed != entry) {
            if (repair) {
                l2_entry_set(s, l2, i, fixed);
                dirty = true;
            }
            count_copied_finding(cs, repair);
        }
    }
    if (ret == 0 && dirty) {
        for (int i = 0; i < s->cluster_size; i += slice) {
            qcow2_cache_discard(s->l2_table_cache, l2_offset + i);
        }
        ret = qcow2_pre_write_overlap_check(cs->bs, QCOW2_OL_ACTIVE_L2,
                                            l2_offset, s->cluster_size);
        if (ret == 0) {
            ret = bdrv_co_pwrite(cs->bs->file, l2_offset, s->cluster_size,
                                 l2);
        }
    }
    if (ret < 0) {
        fprintf(stderr, "ERROR: could not check the COPIED flags of the L2 "
                "table at 0x%" PRIx64 ": %s\n", l2_offset, strerror(-ret));
        cs->res->check_errors++;
    }
    return ret;
}

static int coroutine_fn write_l1_table(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->s;
    g_autofree uint64_t *be = g_new(uint64_t, s->l1_size);
    int ret;

    for (uint32_t i = 0; i < s->l1_size; i++) {
        be[i] = GUINT64_TO_BE(s->l1_table[i]);
    }
    ret = qcow2_pre_write_overlap_check(cs->bs, QCOW2_OL_ACTIVE_L1,
                                        s->l1_table_offset, s->l1_size * 8);
    if (ret == 0) {
        ret = bdrv_co_pwrite(cs->bs->file, s->l1_table_offset,
                             s->l1_size * 8, be);
    }
    if (ret < 0) {
        fprintf(stderr, "ERROR: could not write the L1 table: %s\n",
                strerror(-ret));
        cs->res->check_errors++;
    }
    return ret;
}

void coroutine_fn qcow2_check_copied(Qcow2CheckState *cs, bool repair)
{
    BDRVQcow2State *s = cs->s;
    bool l1_dirty = false;

    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t entry = s->l1_table[i], rc, fixed;
        uint64_t l2 = entry & L1E_OFFSET_MASK;
        char prefix[64];

        /* As QEMU, also for a table at or past the end of the file: its
         * flag against its refcount, then its entries (zeroes there). */
        if (!l2 || offset_into_cluster(s, l2) ||
            qcow2_check_get_refcount(cs, l2 >> s->cluster_bits, &rc) < 0) {
            continue;
        }
        snprintf(prefix, sizeof(prefix), "L2 cluster: l1_index=%u "
                 "l1_entry=", i);
        fixed = check_copied_flag(entry, rc, prefix, repair);
        if (fixed != entry) {
            if (repair) {
                s->l1_table[i] = fixed;
                l1_dirty = true;
            }
            count_copied_finding(cs, repair);
        }
        check_copied_l2(cs, l2, repair);
    }
    if (l1_dirty) {
        write_l1_table(cs);
    }
}

/* ---- the whole check ---------------------------------------------------- */

static void check_state_reset(Qcow2CheckState *cs)
{
    g_free(cs->refs);
    g_free(cs->meta_refs);
    g_free(cs->bad_refblock);
    cs->refs = cs->meta_refs = NULL;
    cs->bad_refblock = NULL;
    cs->nb_refs = cs->nb_meta_refs = cs->nb_bad_refblock = 0;
    cs->rebuild = false;
}

/* Count and compare again after a rebuild: what is left is what the
 * rebuild did not fix. */
static void coroutine_fn recheck_after_rebuild(Qcow2CheckState *cs)
{
    BdrvCheckResult *res = cs->res;
    BdrvCheckResult before = *res;

    check_state_reset(cs);
    cs->file_len = bdrv_getlength(cs->bs->file);
    res->corruptions = res->leaks = 0;
    res->allocated_clusters = res->fragmented_clusters = 0;
    res->compressed_clusters = 0;
    count_all(cs);
    qcow2_check_compare(cs, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
    res->corruptions_fixed += MAX(before.corruptions - res->corruptions, 0);
    res->leaks_fixed += MAX(before.leaks - res->leaks, 0);
}

/* As QEMU: COPIED flags are repaired with FIX_ERRORS, or with FIX_LEAKS
 * when nothing else is wrong. */
static bool may_repair_copied(Qcow2CheckState *cs)
{
    if (cs->fix & BDRV_FIX_ERRORS) {
        return true;
    }
    return (cs->fix & BDRV_FIX_LEAKS) && !cs->res->check_errors &&
           !cs->res->corruptions && !cs->res->leaks;
}

static int coroutine_fn check_locked(Qcow2CheckState *cs)
{
    BDRVQcow2State *s = cs->s;
    int ret = 0;

    if (s->writable) {
        /* The walk reads tables from the file: make it current. */
        ret = qcow2_cache_write(cs->bs, s->l2_table_cache);
        if (ret == 0) {
            ret = qcow2_cache_write(cs->bs, s->refcount_block_cache);
        }
        if (ret < 0) {
            return ret;
        }
    }
    cs->file_len = bdrv_getlength(cs->bs->file);
    if (cs->file_len < 0) {
        return cs->file_len;
    }
    cs->res->total_clusters = size_to_clusters(s, s->size);
    count_all(cs);
    if (cs->rebuild && (cs->fix & BDRV_FIX_ERRORS)) {
        qcow2_check_compare(cs, 0);
        ret = qcow2_check_rebuild_refcounts(cs);
        if (ret < 0) {
            cs->res->check_errors++;
            return ret;
        }
        recheck_after_rebuild(cs);
    } else {
        qcow2_check_compare(cs, cs->fix);
    }
    cs->res->image_end_offset = (cs->highest_cluster + 1) << s->cluster_bits;
    qcow2_check_copied(cs, may_repair_copied(cs));
    if (s->writable) {
        ret = qcow2_cache_flush(cs->bs, s->refcount_block_cache);
        if (ret == 0) {
            ret = qcow2_cache_flush(cs->bs, s->l2_table_cache);
        }
    }
    return ret;
}

static int coroutine_fn check_co(void *opaque)
{
    Qcow2CheckState *cs = opaque;
    int ret;

    qemu_co_mutex_lock(&cs->s->lock);
    ret = check_locked(cs);
    qemu_co_mutex_unlock(&cs->s->lock);
    return ret;
}

/* After a complete repair: the image is consistent again. */
static int mark_consistent(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_mark_clean(bs);

    if (ret == 0 && (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
        ret = qcow2_update_header(bs);
        if (ret == 0) {
            s->corrupt_signalled = false;
            bs->read_only = 0;
            s->use_lazy_refcounts =
                !!(s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS);
        }
    }
    return ret;
}

/* A repair needs write access; an image opened read-write that was
 * downgraded only because it is marked corrupt may be repaired. */
static bool can_repair(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->writable) {
        return true;
    }
    if ((s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) &&
        (bs->open_flags & BDRV_O_RDWR)) {
        s->writable = true;
        return true;
    }
    return false;
}

int qcow2_check_fix(BlockDriverState *bs, BdrvCheckResult *res,
                    BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CheckState cs = {
        .bs = bs, .s = s, .res = res, .fix = fix, .highest_cluster = 0,
    };
    int ret;

    memset(res, 0, sizeof(*res));
    if (fix && !can_repair(bs)) {
        return -EACCES;
    }
    ret = qcow2_run_co(bs, check_co, &cs);
    check_state_reset(&cs);
    if (ret == 0 && fix && !res->corruptions && !res->check_errors) {
        ret = mark_consistent(bs);
    }
    if (bs->read_only) {
        s->writable = false;    /* a repair that did not finish */
    }
    return ret;
}

int qcow2_repair_dirty(BlockDriverState *bs)
{
    BdrvCheckResult res;
    int ret;

    ret = qcow2_check_fix(bs, &res, BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
    if (ret < 0 || res.check_errors) {
        error_setg_errno(bdrv_driver_errp(), ret < 0 ? -ret : EIO,
                         "could not repair the dirty image");
        return ret < 0 ? ret : -EIO;
    }
    if (res.corruptions) {
        warn_report("qcow2: '%s' was not closed cleanly and has %d "
                    "corruptions a repair cannot fix: opening it read-only",
                    bs->filename, res.corruptions);
        bs->read_only = 1;
        ((BDRVQcow2State *)bs->opaque)->writable = false;
        ((BDRVQcow2State *)bs->opaque)->use_lazy_refcounts = false;
    }
    return 0;
}
