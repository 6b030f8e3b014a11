/*
 * qcow2 persistent dirty bitmaps: the bitmaps header extension, the
 * bitmap directory and the bitmap tables.
 *
 * What it does: on open, every usable bitmap of the directory becomes a
 * named dirty bitmap of the node (same name and granularity, enabled when
 * its "auto" flag is set), filled from its bitmap table; an image opened
 * writable then gets the "in use" flag on those bitmaps, since from now
 * on the node, not the file, holds their truth.  On close of a writable
 * image, every named bitmap of the node is stored: its data clusters
 * (all-clean clusters take none), its table and a new directory are
 * written, the header extension is switched to them, and only then are
 * the old tables, data clusters and directory freed.  So in this
 * library a named bitmap on a qcow2 node is persistent; releasing it
 * before the close removes it from the image.
 *
 * What it deliberately does not: store on flush (only close writes the
 * bitmaps, as QEMU does; a crash leaves them "in use", hence
 * inconsistent), or interpret bitmaps it cannot use (in use, another
 * type, extra data not marked compatible): their directory entries are
 * carried over unchanged and no node bitmap is made for them.
 *
 * Key invariant: the header extension points to a directory whose
 * tables and data clusters are all written and refcounted; nothing the
 * extension points to is freed before the extension moved away from it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/hbitmap.h"
#include "block/internal.h"
#include "qcow2.h"

#define BME_FLAG_IN_USE         (1U << 0)
#define BME_FLAG_AUTO           (1U << 1)
#define BME_FLAG_EXTRA_COMPAT   (1U << 2)
#define BME_RESERVED_FLAGS      (~7U)
#define BME_TYPE_DIRTY_TRACKING 1
#define BME_MIN_GRAN_BITS       9
#define BME_MAX_GRAN_BITS       31
#define BME_MAX_NAME_SIZE       1023
#define BME_MAX_BITMAPS         65535
#define BME_MAX_TABLE_SIZE      0x8000000U
#define BME_MAX_DIR_SIZE        (64 * 1024 * 1024)
#define BME_ENTRY_FIXED         24
#define BME_TABLE_OFFSET_MASK   0x00fffffffffffe00ULL
#define BME_TABLE_RESERVED_MASK 0xff000000000001feULL
#define BME_TABLE_ALL_ONES      1ULL

/* One directory entry, as read (raw keeps its bytes for write-back). */
typedef struct Qcow2Bitmap {
    char *name;
    uint64_t table_offset;
    uint32_t table_size;
    uint32_t flags;
    uint8_t granularity_bits;
    bool loaded;                 /* a node bitmap was made from it */
    uint8_t *raw;                /* the whole entry, padding included */
    size_t raw_len;
} Qcow2Bitmap;

static void bitmap_entry_free(gpointer p)
{
    Qcow2Bitmap *bm = p;

    g_free(bm->name);
    g_free(bm->raw);
    g_free(bm);
}

void qcow2_free_bitmaps(BDRVQcow2State *s)
{
    if (s->bitmaps) {
        g_ptr_array_free(s->bitmaps, true);
        s->bitmaps = NULL;
    }
}

/* ---- header extension ------------------------------------------------- */

int qcow2_read_bitmaps_ext(BlockDriverState *bs, const uint8_t *data,
                           uint32_t len)
{
    BDRVQcow2State *s = bs->opaque;

    if (len != 24) {
        error_setg(bdrv_driver_errp(), "bitmaps extension has %u bytes, "
                   "not 24", len);
        return -EINVAL;
    }
    s->nb_bitmaps = be32_load(data);
    s->bitmap_directory_size = be64_load(data + 8);
    s->bitmap_directory_offset = be64_load(data + 16);
    return 0;
}

void qcow2_bitmaps_ext_data(BDRVQcow2State *s, uint8_t *data)
{
    memset(data, 0, 24);
    be32_store(data, s->nb_bitmaps);
    be64_store(data + 8, s->bitmap_directory_size);
    be64_store(data + 16, s->bitmap_directory_offset);
}

/* ---- reading the directory -------------------------------------------- */

/* Bytes of bitmap data for a disk of @size with 2^@gran_bits chunks. */
static uint64_t data_bytes(uint64_t size, int gran_bits)
{
    return DIV_ROUND_UP(DIV_ROUND_UP(size, 1ULL << gran_bits), 8);
}

/* Parse the entry at @p (at most @left bytes); NULL with a message. */
static Qcow2Bitmap *parse_entry(BDRVQcow2State *s, const uint8_t *p,
                                size_t left)
{
    Error **errp = bdrv_driver_errp();
    uint32_t name_size, extra_size;
    g_autofree Qcow2Bitmap *bm = g_new0(Qcow2Bitmap, 1);
    size_t len;

    if (left < BME_ENTRY_FIXED) {
        error_setg(errp, "bitmap directory ends inside an entry");
        return NULL;
    }
    name_size = p[18] << 8 | p[19];
    extra_size = be32_load(p + 20);
    len = ROUND_UP((size_t)BME_ENTRY_FIXED + extra_size + name_size, 8);
    if (extra_size > left || len > left || name_size == 0 ||
        name_size > BME_MAX_NAME_SIZE) {
        error_setg(errp, "invalid bitmap directory entry (name %u bytes, "
                   "extra data %u bytes)", name_size, extra_size);
        return NULL;
    }
    bm->table_offset = be64_load(p);
    bm->table_size = be32_load(p + 8);
    bm->flags = be32_load(p + 12);
    bm->granularity_bits = p[17];
    bm->name = g_strndup((const char *)p + BME_ENTRY_FIXED + extra_size,
                         name_size);
    bm->raw = g_memdup2(p, len);
    bm->raw_len = len;
    if (p[16] == BME_TYPE_DIRTY_TRACKING &&
        (offset_into_cluster(s, bm->table_offset) ||
         bm->table_size > BME_MAX_TABLE_SIZE ||
         bm->granularity_bits < BME_MIN_GRAN_BITS ||
         bm->granularity_bits > BME_MAX_GRAN_BITS ||
         (bm->flags & BME_RESERVED_FLAGS) ||
         bm->table_size != DIV_ROUND_UP(data_bytes(s->size,
                                                   bm->granularity_bits),
                                        s->cluster_size))) {
        error_setg(errp, "bitmap '%s' has an invalid directory entry",
                   bm->name);
        g_free(bm->name);
        g_free(bm->raw);
        return NULL;
    }
    return g_steal_pointer(&bm);
}

/* Can we turn this entry into a node bitmap? */
static bool usable(const Qcow2Bitmap *bm)
{
    const uint8_t *p = bm->raw;

    return p[16] == BME_TYPE_DIRTY_TRACKING &&
           !(bm->flags & BME_FLAG_IN_USE) &&
           (be32_load(p + 20) == 0 || (bm->flags & BME_FLAG_EXTRA_COMPAT));
}

static int read_directory(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    Error **errp = bdrv_driver_errp();
    g_autofree uint8_t *dir = NULL;
    size_t pos = 0;
    int ret;

    if (s->nb_bitmaps > BME_MAX_BITMAPS ||
        s->bitmap_directory_size > BME_MAX_DIR_SIZE ||
        s->bitmap_directory_size < BME_ENTRY_FIXED ||
        offset_into_cluster(s, s->bitmap_directory_offset)) {
        error_setg(errp, "invalid bitmaps extension (%u bitmaps, directory "
                   "of %" PRIu64 " bytes at 0x%" PRIx64 ")", s->nb_bitmaps,
                   s->bitmap_directory_size, s->bitmap_directory_offset);
        return -EINVAL;
    }
    dir = g_malloc(s->bitmap_directory_size);
    ret = bdrv_pread(bs->file, s->bitmap_directory_offset, dir,
                     s->bitmap_directory_size);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "could not read the bitmap directory");
        return ret;
    }
    s->bitmaps = g_ptr_array_new_with_free_func(bitmap_entry_free);
    for (uint32_t i = 0; i < s->nb_bitmaps; i++) {
        Qcow2Bitmap *bm = parse_entry(s, dir + pos,
                                      s->bitmap_directory_size - pos);
        if (!bm) {
            return -EINVAL;
        }
        pos += bm->raw_len;
        g_ptr_array_add(s->bitmaps, bm);
    }
    return 0;
}

/* ---- loading ---------------------------------------------------------- */

/* Read the data of @bm into @buf (table_size clusters). */
static int read_bitmap_data(BlockDriverState *bs, Qcow2Bitmap *bm,
                            uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;
    size_t table_bytes = (size_t)bm->table_size * sizeof(uint64_t);
    g_autofree uint64_t *table = g_try_malloc(MAX(table_bytes, 1));
    int ret;

    if (!table) {
        return -ENOMEM;
    }
    ret = bdrv_pread(bs->file, bm->table_offset, table, table_bytes);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < bm->table_size; i++) {
        uint64_t e = GUINT64_FROM_BE(table[i]);
        uint64_t off = e & BME_TABLE_OFFSET_MASK;
        uint8_t *dst = buf + (size_t)i * s->cluster_size;

        if ((e & BME_TABLE_RESERVED_MASK) ||
            (off && (e & BME_TABLE_ALL_ONES))) {
            error_setg(bdrv_driver_errp(), "bitmap '%s' has an invalid "
                       "table entry 0x%" PRIx64, bm->name, e);
            return -EINVAL;
        }
        if (off) {
            ret = bdrv_pread(bs->file, off, dst, s->cluster_size);
            if (ret < 0) {
                return ret;
            }
        } else {
            memset(dst, (e & BME_TABLE_ALL_ONES) ? 0xff : 0, s->cluster_size);
        }
    }
    return 0;
}

static int load_one(BlockDriverState *bs, Qcow2Bitmap *bm)
{
    BDRVQcow2State *s = bs->opaque;
    size_t len = (size_t)bm->table_size * s->cluster_size;
    /* Slack: the node may end a little past s->size (whole sectors). */
    g_autofree uint8_t *buf = g_try_malloc0(len + 16);
    BdrvDirtyBitmap *dbm;
    HBitmap *hb;
    int ret;

    if (!buf) {
        return -ENOMEM;
    }
    if (bdrv_find_dirty_bitmap(bs, bm->name)) {
        return 0;                /* the node's copy is newer (reopen) */
    }
    ret = read_bitmap_data(bs, bm, buf);
    if (ret < 0) {
        if (ret != -EINVAL) {
            error_setg_errno(bdrv_driver_errp(), -ret, "could not read "
                             "bitmap '%s'", bm->name);
        }
        return ret;
    }
    dbm = bdrv_create_dirty_bitmap(bs, 1U << bm->granularity_bits, bm->name,
                                   bdrv_driver_errp());
    if (!dbm) {
        return -EINVAL;
    }
    hb = bdrv_dirty_bitmap_hbitmap(dbm);
    hbitmap_deserialize_part(hb, buf, 0, bdrv_dirty_bitmap_size(dbm), true);
    if (!(bm->flags & BME_FLAG_AUTO)) {
        bdrv_disable_dirty_bitmap(dbm);
    }
    bm->loaded = true;
    return 0;
}

/* Rewrite the directory in place with the current flags. */
static int write_directory_in_place(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *dir = g_malloc(s->bitmap_directory_size);
    size_t pos = 0;
    int ret;

    for (guint i = 0; i < s->bitmaps->len; i++) {
        Qcow2Bitmap *bm = g_ptr_array_index(s->bitmaps, i);

        be32_store(bm->raw + 12, bm->flags);
        memcpy(dir + pos, bm->raw, bm->raw_len);
        pos += bm->raw_len;
    }
    ret = bdrv_pwrite(bs->file, s->bitmap_directory_offset, dir, pos);
    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    return ret < 0 ? ret : 0;
}

int qcow2_load_bitmaps(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    bool marked = false;
    int ret;

    if (!(s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS) ||
        !s->nb_bitmaps) {
        /* No extension, or one left inconsistent by an older writer. */
        s->nb_bitmaps = 0;
        s->bitmap_directory_size = s->bitmap_directory_offset = 0;
        s->autoclear_features &= ~QCOW2_AUTOCLEAR_BITMAPS;
        return 0;
    }
    ret = read_directory(bs);
    for (guint i = 0; ret == 0 && i < s->bitmaps->len; i++) {
        Qcow2Bitmap *bm = g_ptr_array_index(s->bitmaps, i);

        if (!usable(bm)) {
            warn_report("qcow2: bitmap '%s' of '%s' is inconsistent or of "
                        "an unknown kind: not loaded", bm->name,
                        bs->filename);
            continue;
        }
        ret = load_one(bs, bm);
        if (ret == 0 && bm->loaded && s->writable) {
            bm->flags |= BME_FLAG_IN_USE;
            marked = true;
        }
    }
    if (ret == 0 && marked) {
        ret = write_directory_in_place(bs);
        if (ret < 0) {
            error_setg_errno(bdrv_driver_errp(), -ret, "could not mark the "
                             "bitmaps in use");
        }
    }
    if (ret < 0) {
        qcow2_release_loaded_bitmaps(bs);
        qcow2_free_bitmaps(s);
    }
    return ret;
}

void qcow2_release_loaded_bitmaps(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    for (guint i = 0; s->bitmaps && i < s->bitmaps->len; i++) {
        Qcow2Bitmap *bm = g_ptr_array_index(s->bitmaps, i);
        BdrvDirtyBitmap *dbm = bm->loaded ? bdrv_find_dirty_bitmap(bs,
                                                                  bm->name)
                                          : NULL;
        if (dbm) {
            bdrv_release_dirty_bitmap(dbm);
        }
        bm->loaded = false;
    }
}

/* ---- for the overlap check and check/repair ------------------------- */

const char *qcow2_bitmaps_overlap(BDRVQcow2State *s,
                                  Qcow2MetadataOverlap ign,
                                  int64_t offset, int64_t size)
{
    if (!s->nb_bitmaps) {
        return NULL;
    }
    if (!(ign & QCOW2_OL_BITMAP_DIRECTORY) &&
        qcow2_ranges_overlap(offset, size, s->bitmap_directory_offset,
                       s->bitmap_directory_size)) {
        return "the bitmap directory";
    }
    for (guint i = 0; !(ign & QCOW2_OL_BITMAP_TABLE) && s->bitmaps &&
                      i < s->bitmaps->len; i++) {
        Qcow2Bitmap *bm = g_ptr_array_index(s->bitmaps, i);

        if (qcow2_ranges_overlap(offset, size, bm->table_offset,
                           MAX((int64_t)bm->table_size * 8, 1))) {
            return "a bitmap table";
        }
    }
    return NULL;
}

/* The table and data clusters of one bitmap, for qcow2_bitmaps_walk. */
static int coroutine_fn walk_one(BlockDriverState *bs, Qcow2Bitmap *bm,
                                 void (*fn)(void *, uint64_t, uint64_t),
                                 void *opaque, int *bad)
{
    BDRVQcow2State *s = bs->opaque;
    size_t bytes = (size_t)bm->table_size * sizeof(uint64_t);
    g_autofree uint64_t *table = NULL;
    int ret;

    if (!bytes) {
        return 0;
    }
    fn(opaque, bm->table_offset, bytes);
    table = g_try_malloc(bytes);
    if (!table) {
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, bm->table_offset, bytes, table);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < bm->table_size; i++) {
        uint64_t e = GUINT64_FROM_BE(table[i]);
        uint64_t off = e & BME_TABLE_OFFSET_MASK;

        if ((e & BME_TABLE_RESERVED_MASK) ||
            (off && (e & BME_TABLE_ALL_ONES)) ||
            offset_into_cluster(s, off)) {
            fprintf(stderr, "ERROR bitmap '%s' has an invalid table "
                    "entry 0x%" PRIx64 "\n", bm->name, e);
            (*bad)++;
        } else if (off) {
            fn(opaque, off, s->cluster_size);
        }
    }
    return 0;
}

int coroutine_fn qcow2_bitmaps_walk(BlockDriverState *bs,
                                    void (*fn)(void *opaque, uint64_t off,
                                               uint64_t size),
                                    void *opaque, int *bad)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    if (!s->nb_bitmaps) {
        return 0;
    }
    fn(opaque, s->bitmap_directory_offset, s->bitmap_directory_size);
    for (guint i = 0; s->bitmaps && i < s->bitmaps->len && ret == 0; i++) {
        ret = walk_one(bs, g_ptr_array_index(s->bitmaps, i), fn, opaque,
                       bad);
    }
    return ret;
}

/* ---- storing ---------------------------------------------------------- */

/*
 * Write the data of node bitmap @dbm (clean clusters take no space) and
 * its table; fill the directory entry @bm.  Lock held.
 */
static int coroutine_fn store_one(BlockDriverState *bs,
                                  BdrvDirtyBitmap *dbm, Qcow2Bitmap *bm)
{
    BDRVQcow2State *s = bs->opaque;
    int gran_bits = ctz32(bdrv_dirty_bitmap_granularity(dbm));
    uint32_t n = DIV_ROUND_UP(data_bytes(s->size, gran_bits),
                              s->cluster_size);
    size_t len = (size_t)n * s->cluster_size;
    g_autofree uint8_t *buf = g_try_malloc0(len + 16);   /* see load_one */
    g_autofree uint64_t *table = g_try_malloc0(MAX(n, 1) * sizeof(uint64_t));
    int64_t off;
    int ret;

    if (!buf || !table) {
        return -ENOMEM;
    }
    /* The node bitmap keeps the size it had when made; the disk may
     * have changed size since (truncate, snapshot goto): store what
     * covers the disk now, as a bitmap resized with it would hold. */
    hbitmap_serialize_part(bdrv_dirty_bitmap_hbitmap(dbm), buf, 0,
                           MIN((uint64_t)bdrv_dirty_bitmap_size(dbm),
                               ROUND_UP(s->size, BDRV_SECTOR_SIZE)));
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *src = buf + (size_t)i * s->cluster_size;

        if (buffer_is_zero(src, s->cluster_size)) {
            continue;
        }
        off = qcow2_alloc_clusters(bs, s->cluster_size);
        if (off < 0) {
            return off;
        }
        table[i] = GUINT64_TO_BE(off);
        ret = bdrv_co_pwrite(bs->file, off, s->cluster_size, src);
        if (ret < 0) {
            return ret;
        }
    }
    off = qcow2_alloc_clusters(bs, MAX(n, 1) * sizeof(uint64_t));
    if (off < 0) {
        return off;
    }
    ret = bdrv_co_pwrite(bs->file, off, n * sizeof(uint64_t), table);
    if (ret < 0) {
        return ret;
    }
    bm->table_offset = off;
    bm->table_size = n;
    bm->granularity_bits = gran_bits;
    bm->flags = bdrv_dirty_bitmap_enabled(dbm) ? BME_FLAG_AUTO : 0;
    bm->name = g_strdup(bdrv_dirty_bitmap_name(dbm));
    return 0;
}

/* Append the directory entry of @bm (stored by store_one) to @dir. */
static void put_entry(GByteArray *dir, const Qcow2Bitmap *bm)
{
    size_t name_len = strlen(bm->name);
    size_t len = ROUND_UP(BME_ENTRY_FIXED + name_len, 8);
    g_autofree uint8_t *e = g_malloc0(len);

    be64_store(e, bm->table_offset);
    be32_store(e + 8, bm->table_size);
    be32_store(e + 12, bm->flags);
    e[16] = BME_TYPE_DIRTY_TRACKING;
    e[17] = bm->granularity_bits;
    e[18] = name_len >> 8;
    e[19] = name_len & 0xff;
    memcpy(e + BME_ENTRY_FIXED, bm->name, name_len);
    g_byte_array_append(dir, e, len);
}

/* Free the table and data clusters of a bitmap we replace. */
static void coroutine_fn free_bitmap_clusters(BlockDriverState *bs,
                                              Qcow2Bitmap *bm)
{
    BDRVQcow2State *s = bs->opaque;
    size_t bytes = (size_t)bm->table_size * sizeof(uint64_t);
    g_autofree uint64_t *table = g_try_malloc(MAX(bytes, 1));

    if (table && bdrv_co_pread(bs->file, bm->table_offset, bytes,
                               table) == 0) {
        for (uint32_t i = 0; i < bm->table_size; i++) {
            uint64_t off = GUINT64_FROM_BE(table[i]) & BME_TABLE_OFFSET_MASK;
            if (off) {
                qcow2_free_clusters(bs, off, s->cluster_size, false);
            }
        }
    }
    qcow2_free_clusters(bs, bm->table_offset, MAX(bytes, 1), false);
}

/* Is @name the name of a node bitmap to store? */
static bool stored_by_node(BlockDriverState *bs, const char *name)
{
    BdrvDirtyBitmap *dbm = bdrv_find_dirty_bitmap(bs, name);

    return dbm != NULL;
}

/*
 * Build the new directory: entries we keep unread (unusable bitmaps the
 * node has no namesake of), then the node's named bitmaps.
 */
static int coroutine_fn build_directory(BlockDriverState *bs,
                                        GByteArray *dir, uint32_t *count)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvDirtyBitmap *dbm = NULL;
    int ret;

    for (guint i = 0; s->bitmaps && i < s->bitmaps->len; i++) {
        Qcow2Bitmap *bm = g_ptr_array_index(s->bitmaps, i);

        if (!bm->loaded && !stored_by_node(bs, bm->name)) {
            g_byte_array_append(dir, bm->raw, bm->raw_len);
            (*count)++;
        }
    }
    while ((dbm = bdrv_dirty_bitmap_next(bs, dbm))) {
        Qcow2Bitmap bm = { 0 };

        if (!bdrv_dirty_bitmap_name(dbm)) {
            continue;            /* anonymous: not persistent */
        }
        if (strlen(bdrv_dirty_bitmap_name(dbm)) > BME_MAX_NAME_SIZE) {
            warn_report("qcow2: bitmap name '%s' is too long to store",
                        bdrv_dirty_bitmap_name(dbm));
            continue;
        }
        ret = store_one(bs, dbm, &bm);
        if (ret == 0) {
            put_entry(dir, &bm);
            (*count)++;
        }
        g_free(bm.name);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int coroutine_fn store_bitmaps_locked(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GByteArray) dir = g_byte_array_new();
    uint64_t old_offset = s->bitmap_directory_offset;
    uint64_t old_size = s->bitmap_directory_size;
    uint32_t count = 0;
    int64_t off = 0;
    int ret;

    ret = build_directory(bs, dir, &count);
    if (ret == 0 && count > BME_MAX_BITMAPS) {
        ret = -EFBIG;
    }
    if (ret == 0 && count) {
        off = qcow2_alloc_clusters(bs, dir->len);
        ret = off < 0 ? off : bdrv_co_pwrite(bs->file, off, dir->len,
                                             dir->data);
    }
    /* Everything new is on disk and counted before the header moves. */
    if (ret == 0) {
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    }
    if (ret < 0) {
        return ret;              /* at worst new clusters leak */
    }
    s->nb_bitmaps = count;
    s->bitmap_directory_offset = count ? off : 0;
    s->bitmap_directory_size = count ? dir->len : 0;
    if (count) {
        s->autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
    } else {
        s->autoclear_features &= ~QCOW2_AUTOCLEAR_BITMAPS;
    }
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        return ret;
    }
    for (guint i = 0; s->bitmaps && i < s->bitmaps->len; i++) {
        Qcow2Bitmap *bm = g_ptr_array_index(s->bitmaps, i);

        if (bm->loaded || stored_by_node(bs, bm->name)) {
            free_bitmap_clusters(bs, bm);
        }
    }
    if (old_size) {
        qcow2_free_clusters(bs, old_offset, old_size, false);
    }
    /* The entries read at open name freed tables now: drop them, so
     * that neither the overlap check nor a check walks them. */
    qcow2_free_bitmaps(s);
    return 0;
}

static int coroutine_fn store_bitmaps_co(void *opaque)
{
    BlockDriverState *bs = opaque;
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = store_bitmaps_locked(bs);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_store_bitmaps(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvDirtyBitmap *dbm = NULL;
    bool any = s->nb_bitmaps > 0;
    int ret;

    while (!any && (dbm = bdrv_dirty_bitmap_next(bs, dbm))) {
        any = bdrv_dirty_bitmap_name(dbm) != NULL;
    }
    if (!any || s->qcow_version < 3) {
        return 0;                /* nothing to store, or nowhere to */
    }
    ret = qcow2_run_co(bs, store_bitmaps_co, bs);
    if (ret < 0) {
        error_report("qcow2: could not store the dirty bitmaps of '%s': %s",
                     bs->filename, strerror(-ret));
    }
    return ret;
}

/* ---- for qcow2-info.c ---------------------------------------------------- */

int qcow2_get_bitmap_info(BlockDriverState *bs, BdrvBitmapInfo **list)
{
    BDRVQcow2State *s = bs->opaque;
    guint n = s->bitmaps ? s->bitmaps->len : 0;

    *list = n ? g_new0(BdrvBitmapInfo, n) : NULL;
    for (guint i = 0; i < n; i++) {
        Qcow2Bitmap *bm = g_ptr_array_index(s->bitmaps, i);

        (*list)[i] = (BdrvBitmapInfo) {
            .name = g_strdup(bm->name),
            .granularity = 1ULL << bm->granularity_bits,
            .in_use = bm->flags & BME_FLAG_IN_USE,
            .autoload = bm->flags & BME_FLAG_AUTO,
        };
    }
    return n;
}
