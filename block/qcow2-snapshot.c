/*
 * qcow2 internal snapshots: the snapshot table, and creating, reverting
 * to, deleting, listing and temporarily loading snapshots.
 *
 * What it does: a snapshot is a copy of the active L1 table plus one more
 * reference on every cluster reachable from it (L2 tables and data).  The
 * table of snapshots is read and checked on open (bounded counts, sizes
 * and offsets, so a hostile image costs neither a crash nor a huge
 * allocation) and rewritten whole on every change: new table, then the
 * header fields naming it, then the old table is freed.  After every
 * refcount change the COPIED flags of the active L1 and L2 entries are
 * recomputed (set exactly where the refcount is 1), so the data path
 * copies shared L2 tables and clusters before writing them.
 *
 * Images with an external data file get no snapshots (-ENOTSUP, as
 * QEMU): their guest clusters sit at fixed offsets there, so they cannot
 * be shared and copied on write.  Persistent bitmaps and extended L2
 * bitmaps are left as they are: bitmaps belong to the node, not to a
 * snapshot, and subcluster bitmaps travel with the L2 tables.
 *
 * What it deliberately does not: repair a damaged table (check/repair's
 * job), or keep the COPIED flags of inactive tables exact (the format
 * does not require it; they are recomputed when a snapshot is loaded).
 *
 * Key invariant: every reference is counted before anything on disk
 * (snapshot table, active L1) starts using it, and dropped only after
 * nothing on disk uses it any more: a crash leaks clusters at worst.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

/* Fixed part of a table entry; the known extra data after it. */
#define SN_HEADER_SIZE          40
#define SN_EXTRA_KNOWN          24     /* vm state size, disk size, icount */
#define SN_MAX_EXTRA            1024   /* same limit as QEMU */
#define SN_MAX_TABLE_SIZE       ((uint64_t)QCOW_MAX_SNAPSHOTS * 1024)
#define SN_READ_CHUNK           (128 * 1024)

/* The snapshot table and the snapshots' L1 tables must share no byte with
 * any other metadata: the header, the active L1 and refcount tables, the
 * active L2 tables and refcount blocks (all loaded before the snapshots)
 * and bitmap metadata.  The overlap check ignores only their own kinds. */
#define SN_OWN_KINDS  (QCOW2_OL_SNAPSHOT_TABLE | QCOW2_OL_INACTIVE_L1)

/* ---- the in-memory table ----------------------------------------------- */

static void snapshot_clear(QCowSnapshot *sn)
{
    g_free(sn->id_str);
    g_free(sn->name);
    g_free(sn->unknown_extra);
    memset(sn, 0, sizeof(*sn));
}

void qcow2_free_snapshots(BDRVQcow2State *s)
{
    if (s->snapshots) {
        for (uint32_t i = 0; i < s->nb_snapshots; i++) {
            snapshot_clear(&s->snapshots[i]);
        }
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
}

/* Index of the snapshot with id @id, else of the first named @id; -1. */
static int find_snapshot(BDRVQcow2State *s, const char *id)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].id_str, id)) {
            return i;
        }
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].name, id)) {
            return i;
        }
    }
    return -1;
}

/* ---- reading the table (open) ------------------------------------------ */

/* Sequential reads of the table through one buffer, bounded by @end. */
typedef struct TableReader {
    BlockDriverState *bs;
    uint64_t pos;                /* next byte to hand out */
    uint64_t end;                /* nothing at or past it may be read */
    uint8_t *buf;
    uint64_t buf_start;
    uint64_t buf_len;
} TableReader;

/* Copy @len bytes at the reader's position to @dst (NULL: skip them). */
static int reader_get(TableReader *r, void *dst, uint64_t len)
{
    int ret;

    if (r->pos > r->end || len > r->end - r->pos) {
        return -ERANGE;
    }
    if (r->pos < r->buf_start || r->pos + len > r->buf_start + r->buf_len) {
        r->buf_start = r->pos;
        r->buf_len = MIN((uint64_t)SN_READ_CHUNK, r->end - r->pos);
        ret = bdrv_pread(r->bs->file, r->buf_start, r->buf, r->buf_len);
        if (ret < 0) {
            return ret;
        }
    }
    if (dst) {
        memcpy(dst, r->buf + (r->pos - r->buf_start), len);
    }
    r->pos += len;
    return 0;
}

static char *reader_get_string(TableReader *r, uint16_t len, int *ret)
{
    char *str = g_malloc(len + 1);

    *ret = reader_get(r, str, len);
    str[len] = '\0';
    return str;
}

/* Take the extra data of @sn (@len bytes) from the reader. */
static int read_extra(BDRVQcow2State *s, TableReader *r, QCowSnapshot *sn,
                      uint32_t len)
{
    uint8_t extra[SN_EXTRA_KNOWN] = { 0 };
    int ret = reader_get(r, extra, MIN(len, SN_EXTRA_KNOWN));

    if (ret < 0) {
        return ret;
    }
    if (len >= 8) {
        sn->vm_state_size = be64_load(extra);
    }
    sn->disk_size = len >= 16 ? be64_load(extra + 8) : s->size;
    sn->icount = len >= 24 ? be64_load(extra + 16) : UINT64_MAX;
    if (len > SN_EXTRA_KNOWN) {
        sn->unknown_extra_size = len - SN_EXTRA_KNOWN;
        sn->unknown_extra = g_malloc(sn->unknown_extra_size);
        ret = reader_get(r, sn->unknown_extra, sn->unknown_extra_size);
    }
    return ret;
}

/* Does snapshot @sn make sense for this file? Message on failure. */
static int check_snapshot(BDRVQcow2State *s, const QCowSnapshot *sn,
                          uint32_t i, int64_t file_len)
{
    Error **errp = bdrv_driver_errp();
    uint64_t bytes = (uint64_t)sn->l1_size * sizeof(uint64_t);
    const char *what;

    if (bytes > QCOW_MAX_L1_BYTES) {
        error_setg(errp, "snapshot %u ('%s'): L1 table too large (%u "
                   "entries)", i, sn->id_str, sn->l1_size);
        return -EFBIG;
    }
    if (offset_into_cluster(s, sn->l1_table_offset) ||
        (bytes && (sn->l1_table_offset < (uint64_t)s->cluster_size ||
                   sn->l1_table_offset > (uint64_t)file_len ||
                   bytes > (uint64_t)file_len - sn->l1_table_offset))) {
        error_setg(errp, "snapshot %u ('%s'): L1 table offset 0x%" PRIx64
                   " is unaligned or outside the image file", i,
                   sn->id_str, sn->l1_table_offset);
        return -EINVAL;
    }
    what = bytes ? qcow2_metadata_overlap(s, SN_OWN_KINDS,
                                          sn->l1_table_offset, bytes) : NULL;
    if (what) {
        error_setg(errp, "snapshot %u ('%s'): L1 table (0x%" PRIx64 ", %"
                   PRIu64 " bytes) overlaps %s", i, sn->id_str,
                   sn->l1_table_offset, bytes, what);
        return -EINVAL;
    }
    if (sn->disk_size > (uint64_t)INT64_MAX - s->cluster_size ||
        size_to_l1(s, sn->disk_size) > sn->l1_size) {
        error_setg(errp, "snapshot %u ('%s'): L1 table of %u entries "
                   "cannot describe a disk of %" PRIu64 " bytes", i,
                   sn->id_str, sn->l1_size, sn->disk_size);
        return -EINVAL;
    }
    return 0;
}

/* Parse entry @i at the reader's position into @sn. */
static int read_entry(BlockDriverState *bs, TableReader *r, uint32_t i,
                      QCowSnapshot *sn)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t h[SN_HEADER_SIZE];
    uint32_t extra_size;
    int ret;

    r->pos = s->snapshots_offset +
             ROUND_UP(r->pos - s->snapshots_offset, 8);
    ret = reader_get(r, h, sizeof(h));
    if (ret < 0) {
        return ret;
    }
    sn->l1_table_offset = be64_load(h);
    sn->l1_size = be32_load(h + 8);
    sn->date_sec = be32_load(h + 16);
    sn->date_nsec = be32_load(h + 20);
    sn->vm_clock_nsec = be64_load(h + 24);
    sn->vm_state_size = be32_load(h + 32);
    extra_size = be32_load(h + 36);
    if (extra_size > SN_MAX_EXTRA) {
        error_setg(bdrv_driver_errp(), "snapshot %u has too much extra "
                   "data (%u bytes, at most %d)", i, extra_size,
                   SN_MAX_EXTRA);
        return -EFBIG;
    }
    ret = read_extra(s, r, sn, extra_size);
    if (ret == 0) {
        sn->id_str = reader_get_string(r, (h[12] << 8) | h[13], &ret);
    }
    if (ret == 0) {
        sn->name = reader_get_string(r, (h[14] << 8) | h[15], &ret);
    }
    return ret;
}

/* Does the snapshot table's first @bytes share a byte with other
 * metadata?  Checked on its first entry before parsing (so that a table
 * laid over, say, the L1 table is named as such rather than as garbage
 * entries), and whole once read. */
static int check_table_apart(BDRVQcow2State *s, uint64_t bytes)
{
    const char *what = qcow2_metadata_overlap(s, SN_OWN_KINDS,
                                              s->snapshots_offset, bytes);

    if (what) {
        error_setg(bdrv_driver_errp(), "snapshot table (0x%" PRIx64 ", %"
                   PRIu64 " bytes) overlaps %s", s->snapshots_offset, bytes,
                   what);
        return -EINVAL;
    }
    return 0;
}

int qcow2_read_snapshots(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_len = bdrv_getlength(bs->file);
    g_autofree uint8_t *buf = NULL;
    TableReader r = { .bs = bs };
    int ret = 0;

    s->snapshots_size = 0;
    if (!s->nb_snapshots) {
        return 0;
    }
    if (file_len < 0) {
        return file_len;
    }
    ret = check_table_apart(s, SN_HEADER_SIZE);
    if (ret < 0) {
        return ret;
    }
    buf = g_malloc(SN_READ_CHUNK);
    r.buf = buf;
    r.pos = s->snapshots_offset;
    r.end = MIN((uint64_t)file_len, s->snapshots_offset + SN_MAX_TABLE_SIZE);
    r.buf_start = r.pos;         /* empty buffer */
    s->snapshots = g_new0(QCowSnapshot, s->nb_snapshots);
    for (uint32_t i = 0; i < s->nb_snapshots && ret == 0; i++) {
        ret = read_entry(bs, &r, i, &s->snapshots[i]);
        if (ret == -ERANGE) {
            error_setg(bdrv_driver_errp(), "snapshot table (%u entries at "
                       "0x%" PRIx64 ") runs past the end of the image file "
                       "or past %" PRIu64 " MiB", s->nb_snapshots,
                       s->snapshots_offset, SN_MAX_TABLE_SIZE >> 20);
            ret = -EINVAL;
        } else if (ret < 0 && ret != -EFBIG) {
            error_setg_errno(bdrv_driver_errp(), -ret, "could not read "
                             "the snapshot table");
        } else if (ret == 0) {
            ret = check_snapshot(s, &s->snapshots[i], i, file_len);
        }
    }
    if (ret == 0) {
        ret = check_table_apart(s, r.pos - s->snapshots_offset);
    }
    if (ret < 0) {
        qcow2_free_snapshots(s);
        return ret;
    }
    s->snapshots_size = r.pos - s->snapshots_offset;
    return 0;
}

/* ---- writing the table -------------------------------------------------- */

static uint64_t entry_size(const QCowSnapshot *sn)
{
    return ROUND_UP(SN_HEADER_SIZE + SN_EXTRA_KNOWN + sn->unknown_extra_size
                    + strlen(sn->id_str) + strlen(sn->name), 8);
}

/* Serialise @sn at @p (zeroed, entry_size(sn) bytes). */
static void put_entry(uint8_t *p, const QCowSnapshot *sn)
{
    size_t id_len = strlen(sn->id_str), name_len = strlen(sn->name);
    uint32_t extra = SN_EXTRA_KNOWN + sn->unknown_extra_size;

    be64_store(p, sn->l1_table_offset);
    be32_store(p + 8, sn->l1_size);
    p[12] = id_len >> 8;
    p[13] = id_len;
    p[14] = name_len >> 8;
    p[15] = name_len;
    be32_store(p + 16, sn->date_sec);
    be32_store(p + 20, sn->date_nsec);
    be64_store(p + 24, sn->vm_clock_nsec);
    /* too big for 32 bits: old readers see a disk-only snapshot */
    be32_store(p + 32, sn->vm_state_size <= UINT32_MAX ?
                       sn->vm_state_size : 0);
    be32_store(p + 36, extra);
    p += SN_HEADER_SIZE;
    be64_store(p, sn->vm_state_size);
    be64_store(p + 8, sn->disk_size);
    be64_store(p + 16, sn->icount);
    if (sn->unknown_extra_size) {
        memcpy(p + SN_EXTRA_KNOWN, sn->unknown_extra,
               sn->unknown_extra_size);
    }
    p += extra;
    memcpy(p, sn->id_str, id_len);
    memcpy(p + id_len, sn->name, name_len);
}

/* Write a new table of @n entries @snaps and switch the header to it. */
static int coroutine_fn write_new_table(BlockDriverState *bs,
                                        const QCowSnapshot *snaps,
                                        uint32_t n, int64_t *offset,
                                        uint64_t *size)
{
    g_autofree uint8_t *buf = NULL;
    uint64_t pos = 0;
    int ret;

    *offset = 0;
    *size = 0;
    for (uint32_t i = 0; i < n; i++) {
        *size += entry_size(&snaps[i]);
    }
    if (!n) {
        return 0;
    }
    if (*size > SN_MAX_TABLE_SIZE) {
        return -EFBIG;
    }
    buf = g_try_malloc0(*size);
    if (!buf) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        put_entry(buf + pos, &snaps[i]);
        pos += entry_size(&snaps[i]);
    }
    *offset = qcow2_alloc_clusters(bs, *size);
    if (*offset < 0) {
        return *offset;
    }
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_NONE, *offset, *size);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, *offset, *size, buf);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, *offset, *size, false);
    }
    return ret;
}

/*
 * Make @snaps (@n entries, a g_malloc'd array taking over the strings of
 * the entries it keeps) the snapshot table: on disk, then in memory.  On
 * failure nothing changed and @snaps is still the caller's.
 */
static int coroutine_fn set_table(BlockDriverState *bs, QCowSnapshot *snaps,
                                  uint32_t n)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_offset = s->snapshots_offset, old_size = s->snapshots_size;
    uint32_t old_n = s->nb_snapshots;
    uint64_t size;
    int64_t offset;
    uint8_t hdr[12];
    int ret;

    ret = write_new_table(bs, snaps, n, &offset, &size);
    if (ret == 0) {
        /* the table and its refcounts are stable before the header */
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    }
    if (ret == 0) {
        be32_store(hdr, n);              /* nb_snapshots, then the offset */
        be64_store(hdr + 4, offset);
        ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader, nb_snapshots),
                             sizeof(hdr), hdr);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    if (ret < 0) {
        if (offset > 0) {
            qcow2_free_clusters(bs, offset, size, false);
        }
        return ret;
    }
    g_free(s->snapshots);
    s->snapshots = snaps;
    s->nb_snapshots = n;
    s->snapshots_offset = offset;
    s->snapshots_size = size;
    if (old_n) {
        qcow2_free_clusters(bs, old_offset, old_size, false);
    }
    return 0;
}

/* ---- reference counting through an L1 table ---------------------------- */

/* Add @addend (+1, -1, or 0 for none) to the refcount of [@off, +@len). */
static int coroutine_fn adjust(BlockDriverState *bs, uint64_t off,
                               uint64_t len, int addend)
{
    if (addend > 0) {
        return qcow2_ref_clusters(bs, off, len);
    }
    if (addend < 0) {
        qcow2_free_clusters(bs, off, len, false);
    }
    return 0;
}

/* @entry with COPIED set exactly when host cluster @off has refcount 1. */
static int coroutine_fn with_copied(BlockDriverState *bs, uint64_t off,
                                    uint64_t entry, uint64_t *out)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t rc;
    int ret = qcow2_get_refcount(bs, off >> s->cluster_bits, &rc);

    *out = rc == 1 ? entry | QCOW_OFLAG_COPIED : entry & ~QCOW_OFLAG_COPIED;
    return ret;
}

/* Apply @addend to what one L2 entry references; *@out: updated entry. */
static int coroutine_fn update_l2_entry(BlockDriverState *bs,
                                        uint64_t entry, int addend,
                                        uint64_t *out)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = entry & L2E_OFFSET_MASK;
    int ret;

    *out = entry;
    switch (qcow2_get_cluster_type(entry)) {
    case QCOW2_CLUSTER_COMPRESSED: {
        uint64_t coff = entry & s->cluster_offset_mask;
        uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;

        return adjust(bs, coff & ~511ULL, sectors * 512, addend);
    }
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        if (offset_into_cluster(s, off)) {
            qcow2_signal_corruption(bs, true, -1, -1, "L2 entry 0x%" PRIx64
                                    " has an unaligned cluster offset",
                                    entry);
            return -EIO;
        }
        ret = adjust(bs, off, s->cluster_size, addend);
        return ret < 0 ? ret : with_copied(bs, off, entry, out);
    default:
        return 0;
    }
}

static int coroutine_fn update_l2(BlockDriverState *bs, uint64_t l2_offset,
                                  int addend)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    for (int start = 0; start < s->l2_size && ret == 0;
         start += s->l2_slice_size) {
        uint64_t *slice = NULL;

        ret = qcow2_cache_get(bs, s->l2_table_cache,
                              l2_offset + (uint64_t)start * s->l2_entry_size,
                              (void **)&slice);
        for (int i = 0; ret == 0 && i < s->l2_slice_size; i++) {
            uint64_t old = l2_entry_get(s, slice, i), new;

            ret = update_l2_entry(bs, old, addend, &new);
            if (ret == 0 && new != old) {
                l2_entry_set(s, slice, i, new);
                qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
            }
        }
        if (slice) {
            qcow2_cache_put(s->l2_table_cache, (void **)&slice);
        }
    }
    return ret;
}

/*
 * Apply @addend to every cluster reachable from @l1 (@l1_size entries,
 * host order), then recompute the COPIED flags of the L2 entries and of
 * @l1 itself; *@changed tells whether @l1 changed.  Lock held.
 */
static int coroutine_fn update_l1(BlockDriverState *bs, uint64_t *l1,
                                  uint32_t l1_size, int addend,
                                  bool *changed)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_len = bdrv_getlength(bs->file);
    int ret = file_len < 0 ? file_len : 0;

    *changed = false;
    for (uint32_t i = 0; i < l1_size && ret == 0; i++) {
        uint64_t l2 = l1[i] & L1E_OFFSET_MASK, new;

        if (!l2) {
            continue;
        }
        if (offset_into_cluster(s, l2) || l2 < (uint64_t)s->cluster_size ||
            l2 + s->cluster_size > (uint64_t)file_len) {
            qcow2_signal_corruption(bs, true, l2, s->cluster_size, "L1 "
                                    "entry %u names an invalid L2 table "
                                    "offset 0x%" PRIx64, i, l2);
            return -EIO;
        }
        ret = update_l2(bs, l2, addend);
        if (ret == 0) {
            ret = adjust(bs, l2, s->cluster_size, addend);
        }
        if (ret == 0) {
            ret = with_copied(bs, l2, l1[i], &new);
        }
        if (ret == 0 && new != l1[i]) {
            l1[i] = new;
            *changed = true;
        }
    }
    return ret;
}

/* Write @n entries of @l1 (host order) at @offset. */
static int coroutine_fn write_l1(BlockDriverState *bs, uint64_t offset,
                                 const uint64_t *l1, uint32_t n,
                                 Qcow2MetadataOverlap ign)
{
    size_t bytes = (size_t)n * sizeof(uint64_t);
    g_autofree uint64_t *be = g_try_malloc(MAX(bytes, 1));
    int ret;

    if (!be) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        be[i] = GUINT64_TO_BE(l1[i]);
    }
    ret = qcow2_pre_write_overlap_check(bs, ign, offset, bytes);
    if (ret == 0 && bytes) {
        BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
        ret = bdrv_co_pwrite(bs->file, offset, bytes, be);
    }
    return ret;
}

/* Read the L1 table of @sn into a new array of @n >= l1_size entries. */
static int coroutine_fn read_l1(BlockDriverState *bs, const QCowSnapshot *sn,
                                uint32_t n, uint64_t **l1)
{
    size_t bytes = (size_t)sn->l1_size * sizeof(uint64_t);
    int ret = 0;

    assert(n >= sn->l1_size);
    *l1 = g_try_new0(uint64_t, MAX(n, 1));
    if (!*l1) {
        return -ENOMEM;
    }
    if (bytes) {
        ret = bdrv_co_pread(bs->file, sn->l1_table_offset, bytes, *l1);
    }
    if (ret < 0) {
        g_free(*l1);
        *l1 = NULL;
        return ret;
    }
    for (uint32_t i = 0; i < sn->l1_size; i++) {
        (*l1)[i] = GUINT64_FROM_BE((*l1)[i]);
    }
    return 0;
}

/* Write back both caches (L2 first, for the COPIED flags) and flush. */
static int coroutine_fn flush_metadata(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_cache_flush(bs, s->l2_table_cache);

    return ret < 0 ? ret : qcow2_cache_flush(bs, s->refcount_block_cache);
}

/* Recompute the COPIED flags of the active tables and write its L1. */
static int coroutine_fn fix_active_flags(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    bool changed;
    int ret = update_l1(bs, s->l1_table, s->l1_size, 0, &changed);

    if (ret == 0 && changed) {
        ret = write_l1(bs, s->l1_table_offset, s->l1_table, s->l1_size,
                       QCOW2_OL_ACTIVE_L1);
    }
    return ret < 0 ? ret : flush_metadata(bs);
}

/* ---- the operations ---------------------------------------------------- */

typedef struct SnapOp {
    BlockDriverState *bs;
    int coroutine_fn (*fn)(struct SnapOp *op);
    QEMUSnapshotInfo *info;      /* create */
    const char *id;              /* goto, delete */
} SnapOp;

/* One past the largest numeric id, as QEMU numbers snapshots. */
static void new_snapshot_id(BDRVQcow2State *s, char *id, size_t size)
{
    unsigned long max = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        max = MAX(max, strtoul(s->snapshots[i].id_str, NULL, 10));
    }
    snprintf(id, size, "%lu", max + 1);
}

/* The entry for a new snapshot of the active state described by @info. */
static void describe_new(BDRVQcow2State *s, const QEMUSnapshotInfo *info,
                         QCowSnapshot *sn)
{
    memset(sn, 0, sizeof(*sn));
    sn->id_str = g_strdup(info->id_str);
    sn->name = g_strdup(info->name);
    sn->l1_size = s->l1_size;
    sn->disk_size = s->size;
    sn->vm_state_size = info->vm_state_size;
    sn->date_sec = info->date_sec;
    sn->date_nsec = info->date_nsec;
    sn->vm_clock_nsec = info->vm_clock_nsec;
    sn->icount = info->icount;
}

/* Count the new references, then write the active L1 and the copy. */
static int coroutine_fn copy_active_l1(BlockDriverState *bs,
                                       uint64_t copy_offset)
{
    BDRVQcow2State *s = bs->opaque;
    bool changed;
    int ret = update_l1(bs, s->l1_table, s->l1_size, 1, &changed);

    if (ret == 0) {
        ret = flush_metadata(bs);
    }
    if (ret == 0 && changed) {
        ret = write_l1(bs, s->l1_table_offset, s->l1_table, s->l1_size,
                       QCOW2_OL_ACTIVE_L1);
    }
    if (ret == 0) {
        ret = write_l1(bs, copy_offset, s->l1_table, s->l1_size,
                       QCOW2_OL_NONE);
    }
    return ret < 0 ? ret : bdrv_co_flush(bs->file);
}

static int coroutine_fn create_locked(SnapOp *op)
{
    BlockDriverState *bs = op->bs;
    BDRVQcow2State *s = bs->opaque;
    QEMUSnapshotInfo *info = op->info;
    uint64_t l1_bytes = (uint64_t)s->l1_size * sizeof(uint64_t);
    QCowSnapshot *snaps;
    QCowSnapshot sn;
    int64_t l1_offset = 0;
    int ret;

    if (s->nb_snapshots >= QCOW_MAX_SNAPSHOTS) {
        return -EFBIG;
    }
    if (has_data_file(bs)) {
        /* The data file holds one version of each cluster only. */
        return -ENOTSUP;
    }
    if (!info->id_str[0]) {
        new_snapshot_id(s, info->id_str, sizeof(info->id_str));
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].id_str, info->id_str)) {
            return -EEXIST;
        }
    }
    if (l1_bytes) {
        l1_offset = qcow2_alloc_clusters(bs, l1_bytes);
        if (l1_offset < 0) {
            return l1_offset;
        }
    }
    ret = copy_active_l1(bs, l1_offset);
    if (ret < 0) {
        goto free_l1;        /* the references taken leak */
    }
    describe_new(s, info, &sn);
    sn.l1_table_offset = l1_offset;
    snaps = g_new(QCowSnapshot, s->nb_snapshots + 1);
    if (s->nb_snapshots) {
        memcpy(snaps, s->snapshots, s->nb_snapshots * sizeof(*snaps));
    }
    snaps[s->nb_snapshots] = sn;
    ret = set_table(bs, snaps, s->nb_snapshots + 1);
    if (ret < 0) {
        g_free(snaps);
        snapshot_clear(&sn);
        goto free_l1;
    }
    /* The VM state now belongs to the snapshot; the active image need
     * not keep it (it would only cost copies on the next save). */
    if (sn.vm_state_size) {
        uint64_t vm_off = (uint64_t)s->l1_vm_state_index <<
                          (s->cluster_bits + s->l2_bits);
        qcow2_cluster_discard(bs, vm_off, ROUND_UP(sn.vm_state_size,
                              (uint64_t)s->cluster_size), true);
    }
    return flush_metadata(bs);

free_l1:
    if (l1_bytes) {
        qcow2_free_clusters(bs, l1_offset, l1_bytes, false);
    }
    return ret;
}

/* Change the virtual size to @size (a snapshot of another size). */
static int coroutine_fn set_disk_size(BlockDriverState *bs, uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t be[8];
    int ret;

    if (size == s->size) {
        return 0;
    }
    be64_store(be, size);
    ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader, size), 8, be);
    if (ret < 0) {
        return ret;
    }
    s->size = size;
    s->l1_vm_state_index = size_to_l1(s, size);
    bs->total_sectors = DIV_ROUND_UP(size, BDRV_SECTOR_SIZE);
    return 0;
}

static int coroutine_fn goto_locked(SnapOp *op)
{
    BlockDriverState *bs = op->bs;
    BDRVQcow2State *s = bs->opaque;
    int idx = find_snapshot(s, op->id);
    g_autofree uint64_t *old = NULL;
    uint64_t *l1 = NULL;
    QCowSnapshot *sn;
    bool changed;
    int ret;

    if (idx < 0) {
        return -ENOENT;
    }
    sn = &s->snapshots[idx];
    ret = qcow2_grow_l1_table(bs, MAX(sn->l1_size,
                                      size_to_l1(s, sn->disk_size)));
    if (ret == 0) {
        ret = read_l1(bs, sn, s->l1_size, &l1);
    }
    if (ret < 0) {
        return ret;
    }
    /* Count the snapshot's clusters once more before the L1 uses them. */
    ret = update_l1(bs, l1, sn->l1_size, 1, &changed);
    if (ret == 0) {
        ret = flush_metadata(bs);
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        l1[i] &= ~QCOW_OFLAG_COPIED;     /* COW everything until fixed */
    }
    if (ret == 0) {
        ret = write_l1(bs, s->l1_table_offset, l1, s->l1_size,
                       QCOW2_OL_ACTIVE_L1);
    }
    if (ret == 0) {
        ret = set_disk_size(bs, sn->disk_size);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    if (ret < 0) {
        g_free(l1);          /* references taken above leak */
        return ret;
    }
    old = s->l1_table;
    s->l1_table = l1;
    /* Nothing on disk uses the old tables: drop their references. */
    update_l1(bs, old, s->l1_size, -1, &changed);
    return fix_active_flags(bs);
}

static int coroutine_fn delete_locked(SnapOp *op)
{
    BlockDriverState *bs = op->bs;
    BDRVQcow2State *s = bs->opaque;
    int idx = find_snapshot(s, op->id);
    g_autofree uint64_t *l1 = NULL;
    QCowSnapshot *snaps, sn;
    bool changed;
    int ret;

    if (idx < 0) {
        return -ENOENT;
    }
    sn = s->snapshots[idx];
    ret = read_l1(bs, &sn, sn.l1_size, &l1);
    if (ret < 0) {
        return ret;
    }
    snaps = g_new(QCowSnapshot, MAX(s->nb_snapshots - 1, 1));
    memcpy(snaps, s->snapshots, idx * sizeof(*snaps));
    memcpy(snaps + idx, s->snapshots + idx + 1,
           (s->nb_snapshots - idx - 1) * sizeof(*snaps));
    ret = set_table(bs, snaps, s->nb_snapshots - 1);
    if (ret < 0) {
        g_free(snaps);
        return ret;
    }
    /* The table no longer names it: its references can go. */
    ret = update_l1(bs, l1, sn.l1_size, -1, &changed);
    if (sn.l1_size) {
        qcow2_free_clusters(bs, sn.l1_table_offset,
                            (uint64_t)sn.l1_size * sizeof(uint64_t), false);
    }
    snapshot_clear(&sn);
    if (ret < 0) {
        return ret;
    }
    return fix_active_flags(bs);
}

static int coroutine_fn load_tmp_locked(SnapOp *op)
{
    BlockDriverState *bs = op->bs;
    BDRVQcow2State *s = bs->opaque;
    int idx = find_snapshot(s, op->id);
    uint64_t *l1;
    QCowSnapshot *sn;
    int ret;

    if (idx < 0) {
        return -ENOENT;
    }
    sn = &s->snapshots[idx];
    ret = read_l1(bs, sn, sn->l1_size, &l1);
    if (ret < 0) {
        return ret;
    }
    g_free(s->l1_table);
    s->l1_table = l1;
    s->l1_size = sn->l1_size;
    s->l1_table_offset = sn->l1_table_offset;
    s->size = sn->disk_size;
    s->l1_vm_state_index = size_to_l1(s, s->size);
    bs->total_sectors = DIV_ROUND_UP(s->size, BDRV_SECTOR_SIZE);
    return 0;
}

static int coroutine_fn snap_op_co(void *opaque)
{
    SnapOp *op = opaque;
    BDRVQcow2State *s = op->bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = op->fn(op);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/* Run @fn under the lock; @writes: it changes the image. */
static int run_op(BlockDriverState *bs, int coroutine_fn (*fn)(SnapOp *),
                  bool writes, QEMUSnapshotInfo *info, const char *id)
{
    BDRVQcow2State *s = bs->opaque;
    SnapOp op = { .bs = bs, .fn = fn, .info = info, .id = id };

    if (writes && !s->writable) {
        return -EACCES;
    }
    if (writes && (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        return -EIO;
    }
    return qcow2_run_co(bs, snap_op_co, &op);
}

int qcow2_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info)
{
    return run_op(bs, create_locked, true, sn_info, NULL);
}

int qcow2_snapshot_goto(BlockDriverState *bs, const char *snapshot_id)
{
    return run_op(bs, goto_locked, true, NULL, snapshot_id);
}

int qcow2_snapshot_delete(BlockDriverState *bs, const char *snapshot_id)
{
    return run_op(bs, delete_locked, true, NULL, snapshot_id);
}

int qcow2_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_id)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->writable) {
        return -EINVAL;      /* the active L1 would be written through */
    }
    return run_op(bs, load_tmp_locked, false, NULL, snapshot_id);
}

int qcow2_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_info)
{
    BDRVQcow2State *s = bs->opaque;
    QEMUSnapshotInfo *list;

    *psn_info = NULL;
    if (!s->nb_snapshots) {
        return 0;
    }
    list = g_new0(QEMUSnapshotInfo, s->nb_snapshots);
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        const QCowSnapshot *sn = &s->snapshots[i];

        g_strlcpy(list[i].id_str, sn->id_str, sizeof(list[i].id_str));
        g_strlcpy(list[i].name, sn->name, sizeof(list[i].name));
        list[i].vm_state_size = sn->vm_state_size;
        list[i].date_sec = sn->date_sec;
        list[i].date_nsec = sn->date_nsec;
        list[i].vm_clock_nsec = sn->vm_clock_nsec;
        list[i].icount = sn->icount;
    }
    *psn_info = list;
    return s->nb_snapshots;
}
