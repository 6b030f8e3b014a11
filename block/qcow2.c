/*
 * qcow2: the image format driver's front: probing, opening (header,
 * header extensions, feature bits, cache options), closing, rewriting the
 * header, corruption handling, and the node-level calls (info, truncate,
 * make_empty, change_backing_file).
 *
 * What it does: validates every header field before trusting it (sizes
 * bounded, tables cluster aligned and inside the file, extension lengths
 * inside the header cluster), refuses incompatible features it does not
 * implement naming them (from the image's feature table, our own, or by
 * bit number), keeps header extensions and header fields it does not
 * know so rewriting the header preserves them, clears unknown autoclear
 * bits before writing, handles the dirty bit of lazy refcounts and the
 * corrupt bit (a corrupt image opens read-only, with a warning).
 *
 * Extended L2 entries only change the geometry set here (16-byte entries,
 * 32 subclusters); an external data file is opened here as a second
 * child (s->data_file), named by its header extension or the
 * "data-file" option.
 *
 * What it deliberately does not: repair a corrupt image (it opens
 * read-only until a check repairs it; a dirty one is repaired on a
 * writable open by qcow2-check.c, as QEMU does); encryption lives in
 * qcow2-crypto.c (called from open), snapshots
 * live in qcow2-snapshot.c, subclusters in qcow2-subcluster.c, bitmaps in
 * qcow2-bitmap.c.
 *
 * Key invariant: the in-memory state mirrors the header on disk; every
 * header change is one write of the header cluster or of the few
 * adjacent fields that change together.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/aio-wait.h"
#include "block/internal.h"
#include "qcow2.h"

#define DEFAULT_L2_CACHE_MAX    (32 * 1024 * 1024)
#define MAX_REFCOUNT_CACHE      (32 * 1024 * 1024)
#define MIN_L2_CACHE_ENTRIES    2
#define MIN_REFCOUNT_CACHE_ENTRIES 4
#define DEFAULT_L2_ENTRY_SIZE   4096

G_STATIC_ASSERT(sizeof(QCowHeader) == 112);
G_STATIC_ASSERT(offsetof(QCowHeader, incompatible_features) == 72);
G_STATIC_ASSERT(offsetof(QCowHeader, header_length) == 100);
G_STATIC_ASSERT(offsetof(QCowHeader, l1_size) == 36);
G_STATIC_ASSERT(offsetof(QCowHeader, refcount_table_offset) == 48);
G_STATIC_ASSERT(sizeof(Qcow2Feature) == 48);

/* The features we know, as written into every header we produce. */
static const Qcow2Feature feature_table[] = {
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 0, "dirty bit" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 1, "corrupt bit" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 2, "external data file" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 3, "compression type" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 4, "extended L2 entries" },
    { QCOW2_FEAT_TYPE_COMPATIBLE, 0, "lazy refcounts" },
    { QCOW2_FEAT_TYPE_AUTOCLEAR, 0, "bitmaps" },
    { QCOW2_FEAT_TYPE_AUTOCLEAR, 1, "raw external data" },
};

/* ---- small helpers ----------------------------------------------------- */

typedef struct RunCo {
    int coroutine_fn (*fn)(void *);
    void *opaque;
    int ret;
} RunCo;

static void coroutine_fn run_co_entry(void *opaque)
{
    RunCo *rc = opaque;

    rc->ret = rc->fn(rc->opaque);
}

int qcow2_run_co(BlockDriverState *bs, int coroutine_fn (*fn)(void *),
                 void *opaque)
{
    RunCo rc = { .fn = fn, .opaque = opaque };

    bdrv_run_co(bs, run_co_entry, &rc);
    return rc.ret;
}

static int write_incompat_field(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t buf[8];
    int ret;

    be64_store(buf, s->incompatible_features);
    ret = bdrv_pwrite(bs->file, offsetof(QCowHeader, incompatible_features),
                      buf, sizeof(buf));
    if (ret < 0) {
        return ret;
    }
    return bdrv_flush(bs->file);
}

void qcow2_signal_corruption(BlockDriverState *bs, bool fatal,
                             int64_t offset, int64_t size,
                             const char *fmt, ...)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    if (fatal && s->writable &&
        !(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        error_report("qcow2: marking '%s' as corrupt: %s; further "
                     "corruption prevented", bs->filename, msg);
        s->incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
        if (s->qcow_version >= 3 && write_incompat_field(bs) < 0) {
            error_report("qcow2: could not set the corrupt bit of '%s'",
                         bs->filename);
        }
        s->corrupt_signalled = true;
    } else if (!s->corrupt_signalled) {
        error_report("qcow2: '%s' is corrupt: %s", bs->filename, msg);
        s->corrupt_signalled = true;
    }
}

int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->qcow_version < 3 ||
        (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = bdrv_co_flush(bs->file);
    if (ret < 0) {
        return ret;
    }
    s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    ret = write_incompat_field(bs);
    if (ret < 0) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

int qcow2_mark_clean(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = bdrv_flush(bs->file);
    if (ret < 0) {
        return ret;
    }
    s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
    ret = write_incompat_field(bs);
    if (ret < 0) {
        s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

/* ---- probe ------------------------------------------------------------- */

/* Any version from 2 up, as QEMU: open then names an unsupported one,
 * where probing it as raw would hand qcow2 metadata to the guest. */
static int qcow2_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    if (buf_size >= 8 && be32_load(buf) == QCOW_MAGIC &&
        be32_load(buf + 4) >= 2) {
        return 100;
    }
    return 0;
}

/* ---- header extensions ------------------------------------------------- */

static void free_unknown_exts(BDRVQcow2State *s)
{
    Qcow2UnknownExt *e, *next;

    QLIST_FOREACH_SAFE(e, &s->unknown_exts, next, next) {
        QLIST_REMOVE(e, next);
        g_free(e);
    }
}

/* Append "name" of incompatible bit @bit to @str, from @table if it has
 * the name, else from ours, else by number. */
static void describe_incompat_bit(GString *str, int bit,
                                  const uint8_t *table, size_t table_len)
{
    const char *sep = str->len ? ", " : "";

    for (size_t i = 0; i + 48 <= table_len; i += 48) {
        if (table[i] == QCOW2_FEAT_TYPE_INCOMPATIBLE && table[i + 1] == bit) {
            g_string_append_printf(str, "%s%.46s", sep,
                                   (const char *)table + i + 2);
            return;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(feature_table); i++) {
        if (feature_table[i].type == QCOW2_FEAT_TYPE_INCOMPATIBLE &&
            feature_table[i].bit == bit) {
            g_string_append_printf(str, "%s%s", sep, feature_table[i].name);
            return;
        }
    }
    g_string_append_printf(str, "%sunknown incompatible feature bit %d", sep,
                           bit);
}

static int report_unsupported(uint64_t mask, const uint8_t *table,
                              size_t table_len)
{
    g_autoptr(GString) str = g_string_new("");

    for (int bit = 0; bit < 64; bit++) {
        if (mask & (1ULL << bit)) {
            describe_incompat_bit(str, bit, table, table_len);
        }
    }
    error_setg(bdrv_driver_errp(), "unsupported qcow2 feature(s): %s",
               str->str);
    return -ENOTSUP;
}

/*
 * Parse the extensions in @hdr[@start, @end).  The feature name table is
 * returned (pointing into @hdr) for error messages.
 */
static int read_extensions(BlockDriverState *bs, const uint8_t *hdr,
                           uint64_t start, uint64_t end,
                           const uint8_t **ftable, size_t *ftable_len)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = start;

    while (off + 8 <= end) {
        uint32_t type = be32_load(hdr + off);
        uint32_t len = be32_load(hdr + off + 4);
        const uint8_t *data = hdr + off + 8;

        if (type == QCOW2_EXT_END) {
            return 0;
        }
        if (len > end - off - 8) {
            error_setg(bdrv_driver_errp(), "header extension 0x%08x at "
                       "offset %" PRIu64 " claims %u bytes, more than the "
                       "header cluster holds", type, off, len);
            return -EINVAL;
        }
        switch (type) {
        case QCOW2_EXT_BACKING_FORMAT:
            if (len >= sizeof(bs->backing_format)) {
                error_setg(bdrv_driver_errp(), "backing format name is too "
                           "long (%u bytes)", len);
                return -EINVAL;
            }
            memcpy(bs->backing_format, data, len);
            bs->backing_format[len] = '\0';
            break;
        case QCOW2_EXT_FEATURE_TABLE:
            *ftable = data;
            *ftable_len = len;
            break;
        case QCOW2_EXT_DATA_FILE:
            g_free(s->data_file_name);
            s->data_file_name = g_strndup((const char *)data, len);
            break;
        case QCOW2_EXT_BITMAPS: {
            int ret = qcow2_read_bitmaps_ext(bs, data, len);
            if (ret < 0) {
                return ret;
            }
            break;
        }
        default: {
            Qcow2UnknownExt *e = g_malloc(sizeof(*e) + len);
            e->magic = type;
            e->len = len;
            memcpy(e->data, data, len);
            QLIST_INSERT_HEAD(&s->unknown_exts, e, next);
            break;
        }
        }
        off += 8 + ROUND_UP((uint64_t)len, 8);
    }
    return 0;
}

/* ---- header ------------------------------------------------------------ */

static void header_from_be(QCowHeader *h, const uint8_t *buf, size_t len)
{
    memset(h, 0, sizeof(*h));
    memcpy(h, buf, MIN(len, sizeof(*h)));
    h->magic = GUINT32_FROM_BE(h->magic);
    h->version = GUINT32_FROM_BE(h->version);
    h->backing_file_offset = GUINT64_FROM_BE(h->backing_file_offset);
    h->backing_file_size = GUINT32_FROM_BE(h->backing_file_size);
    h->cluster_bits = GUINT32_FROM_BE(h->cluster_bits);
    h->size = GUINT64_FROM_BE(h->size);
    h->crypt_method = GUINT32_FROM_BE(h->crypt_method);
    h->l1_size = GUINT32_FROM_BE(h->l1_size);
    h->l1_table_offset = GUINT64_FROM_BE(h->l1_table_offset);
    h->refcount_table_offset = GUINT64_FROM_BE(h->refcount_table_offset);
    h->refcount_table_clusters = GUINT32_FROM_BE(h->refcount_table_clusters);
    h->nb_snapshots = GUINT32_FROM_BE(h->nb_snapshots);
    h->snapshots_offset = GUINT64_FROM_BE(h->snapshots_offset);
    h->incompatible_features = GUINT64_FROM_BE(h->incompatible_features);
    h->compatible_features = GUINT64_FROM_BE(h->compatible_features);
    h->autoclear_features = GUINT64_FROM_BE(h->autoclear_features);
    h->refcount_order = GUINT32_FROM_BE(h->refcount_order);
    h->header_length = GUINT32_FROM_BE(h->header_length);
}

static void header_to_be(QCowHeader *h)
{
    h->magic = GUINT32_TO_BE(h->magic);
    h->version = GUINT32_TO_BE(h->version);
    h->backing_file_offset = GUINT64_TO_BE(h->backing_file_offset);
    h->backing_file_size = GUINT32_TO_BE(h->backing_file_size);
    h->cluster_bits = GUINT32_TO_BE(h->cluster_bits);
    h->size = GUINT64_TO_BE(h->size);
    h->crypt_method = GUINT32_TO_BE(h->crypt_method);
    h->l1_size = GUINT32_TO_BE(h->l1_size);
    h->l1_table_offset = GUINT64_TO_BE(h->l1_table_offset);
    h->refcount_table_offset = GUINT64_TO_BE(h->refcount_table_offset);
    h->refcount_table_clusters = GUINT32_TO_BE(h->refcount_table_clusters);
    h->nb_snapshots = GUINT32_TO_BE(h->nb_snapshots);
    h->snapshots_offset = GUINT64_TO_BE(h->snapshots_offset);
    h->incompatible_features = GUINT64_TO_BE(h->incompatible_features);
    h->compatible_features = GUINT64_TO_BE(h->compatible_features);
    h->autoclear_features = GUINT64_TO_BE(h->autoclear_features);
    h->refcount_order = GUINT32_TO_BE(h->refcount_order);
    h->header_length = GUINT32_TO_BE(h->header_length);
}

/* Append extension @type with @len bytes of @data at *@pos, if it fits. */
static bool put_ext(uint8_t *buf, size_t size, size_t *pos, uint32_t type,
                    const void *data, uint32_t len)
{
    size_t need = 8 + ROUND_UP((size_t)len, 8);

    if (*pos + need > size) {
        return false;
    }
    be32_store(buf + *pos, type);
    be32_store(buf + *pos + 4, len);
    memcpy(buf + *pos + 8, data, len);
    *pos += need;
    return true;
}

int qcow2_update_header(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t size = s->cluster_size, pos, name_len, ftable_len;
    g_autofree uint8_t *buf = g_malloc0(size);
    g_autofree uint8_t *ftable = NULL;
    QCowHeader h = {
        .magic = QCOW_MAGIC,
        .version = s->qcow_version,
        .cluster_bits = s->cluster_bits,
        .size = s->size,
        .crypt_method = s->crypt_method_header,
        .l1_size = s->l1_size,
        .l1_table_offset = s->l1_table_offset,
        .refcount_table_offset = s->refcount_table_offset,
        .refcount_table_clusters = (s->refcount_table_size * 8) >>
                                   s->cluster_bits,
        .nb_snapshots = s->nb_snapshots,
        .snapshots_offset = s->snapshots_offset,
    };
    bool v3 = s->qcow_version >= 3;
    Qcow2UnknownExt *e;
    int ret;

    if (v3) {
        if (s->compression_type != QCOW2_COMPRESSION_ZLIB) {
            s->incompatible_features |= QCOW2_INCOMPAT_COMPRESSION;
        } else {
            s->incompatible_features &= ~QCOW2_INCOMPAT_COMPRESSION;
        }
        h.incompatible_features = s->incompatible_features;
        h.compatible_features = s->compatible_features;
        h.autoclear_features = s->autoclear_features;
        h.refcount_order = s->refcount_order;
        h.header_length = sizeof(h) + s->unknown_header_fields_size;
        h.compression_type = s->compression_type;
    }
    header_to_be(&h);
    pos = v3 ? sizeof(h) : QCOW2_V2_HEADER_SIZE;
    memcpy(buf, &h, pos);
    if (v3 && s->unknown_header_fields_size) {
        memcpy(buf + pos, s->unknown_header_fields,
               s->unknown_header_fields_size);
        pos += s->unknown_header_fields_size;
    }

    name_len = bs->backing_file[0] ? strlen(bs->backing_file) : 0;
    size -= name_len + 8;    /* room for the backing name and end marker */
    if (pos > size ||
        (name_len && bs->backing_format[0] &&
         !put_ext(buf, size, &pos, QCOW2_EXT_BACKING_FORMAT,
                  bs->backing_format, strlen(bs->backing_format)))) {
        goto too_big;
    }
    if (s->data_file_name &&
        !put_ext(buf, size, &pos, QCOW2_EXT_DATA_FILE, s->data_file_name,
                 strlen(s->data_file_name))) {
        goto too_big;
    }
    if (v3 && s->nb_bitmaps) {
        uint8_t ext[24];

        qcow2_bitmaps_ext_data(s, ext);
        if (!put_ext(buf, size, &pos, QCOW2_EXT_BITMAPS, ext, sizeof(ext))) {
            goto too_big;
        }
    }
    QLIST_FOREACH(e, &s->unknown_exts, next) {
        if (!put_ext(buf, size, &pos, e->magic, e->data, e->len)) {
            goto too_big;
        }
    }
    if (v3) {
        /* Optional: only when there is room left. */
        ftable_len = sizeof(feature_table);
        ftable = g_malloc0(ftable_len);
        for (size_t i = 0; i < G_N_ELEMENTS(feature_table); i++) {
            memcpy(ftable + i * 48, &feature_table[i], 48);
        }
        put_ext(buf, size, &pos, QCOW2_EXT_FEATURE_TABLE, ftable, ftable_len);
    }
    be32_store(buf + pos, QCOW2_EXT_END);
    be32_store(buf + pos + 4, 0);
    pos += 8;
    if (name_len) {
        memcpy(buf + pos, bs->backing_file, name_len);
        be64_store(buf + offsetof(QCowHeader, backing_file_offset), pos);
        be32_store(buf + offsetof(QCowHeader, backing_file_size), name_len);
    }

    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_MAIN_HEADER, 0,
                                        s->cluster_size);
    if (ret == 0) {
        ret = bdrv_pwrite(bs->file, 0, buf, s->cluster_size);
    }
    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    return ret < 0 ? ret : 0;

too_big:
    error_setg(bdrv_driver_errp(), "the header, its extensions and the "
               "backing file name do not fit in one cluster");
    return -ENOSPC;
}

/* ---- open -------------------------------------------------------------- */

/* Check the fixed header fields; fill the immutable geometry of @s. */
static int check_header(BlockDriverState *bs, QCowHeader *h,
                        int64_t file_len)
{
    BDRVQcow2State *s = bs->opaque;
    Error **errp = bdrv_driver_errp();
    uint64_t cs;

    if (h->magic != QCOW_MAGIC) {
        error_setg(errp, "image is not in qcow2 format (bad magic)");
        return -EINVAL;
    }
    if (h->version < 2 || h->version > 3) {
        error_setg(errp, "unsupported qcow2 version %u", h->version);
        return -ENOTSUP;
    }
    if (h->cluster_bits < QCOW_MIN_CLUSTER_BITS ||
        h->cluster_bits > QCOW_MAX_CLUSTER_BITS) {
        error_setg(errp, "unsupported cluster size: 2^%u bytes (must be "
                   "512 B to 2 MiB)", h->cluster_bits);
        return -EINVAL;
    }
    cs = 1ULL << h->cluster_bits;
    if (h->version == 2) {
        h->refcount_order = 4;
        h->header_length = QCOW2_V2_HEADER_SIZE;
        h->incompatible_features = h->compatible_features =
            h->autoclear_features = 0;
        h->compression_type = 0;
    } else {
        if (h->header_length < QCOW2_V3_MIN_HEADER_SIZE ||
            h->header_length % 8 || h->header_length > cs) {
            error_setg(errp, "invalid qcow2 header length %u",
                       h->header_length);
            return -EINVAL;
        }
        if (h->header_length <= offsetof(QCowHeader, compression_type)) {
            h->compression_type = 0;
        }
    }
    if (h->refcount_order > 6) {
        error_setg(errp, "invalid refcount order %u (at most 6, i.e. "
                   "64-bit refcounts)", h->refcount_order);
        return -EINVAL;
    }
    if (h->size > (uint64_t)INT64_MAX - cs) {
        error_setg(errp, "invalid virtual size %" PRIu64, h->size);
        return -EINVAL;
    }
    if (h->backing_file_offset) {
        if (h->backing_file_size > QCOW_MAX_BACKING_NAME) {
            error_setg(errp, "backing file name too long (%u bytes, at most "
                       "%d)", h->backing_file_size, QCOW_MAX_BACKING_NAME);
            return -EINVAL;
        }
        if (h->backing_file_offset > cs ||
            h->backing_file_size > cs - h->backing_file_offset) {
            error_setg(errp, "backing file name lies outside the header "
                       "cluster (offset %" PRIu64 ")",
                       h->backing_file_offset);
            return -EINVAL;
        }
    }
    s->qcow_version = h->version;
    s->cluster_bits = h->cluster_bits;
    s->cluster_size = cs;
    if (h->incompatible_features & QCOW2_INCOMPAT_EXTL2) {
        if (h->cluster_bits < QCOW_MIN_EXTL2_CLUSTER_BITS) {
            error_setg(errp, "extended L2 entries need clusters of at least "
                       "%d KiB", 1 << (QCOW_MIN_EXTL2_CLUSTER_BITS - 10));
            return -EINVAL;
        }
        s->l2_entry_size = 2 * sizeof(uint64_t);
        s->subclusters_per_cluster = QCOW_MAX_SUBCLUSTERS;
    } else {
        s->l2_entry_size = sizeof(uint64_t);
        s->subclusters_per_cluster = 1;
    }
    s->subcluster_bits = s->cluster_bits - ctz32(s->subclusters_per_cluster);
    s->subcluster_size = 1 << s->subcluster_bits;
    s->l2_bits = s->cluster_bits - ctz32(s->l2_entry_size);
    s->l2_size = 1 << s->l2_bits;
    s->refcount_order = h->refcount_order;
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX
                      : (1ULL << s->refcount_bits) - 1;
    s->refcount_block_bits = s->cluster_bits - (s->refcount_order - 3);
    s->refcount_block_size = 1 << s->refcount_block_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ULL << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ULL << s->csize_shift) - 1;
    s->size = h->size;
    s->file_length_hint = file_len;
    return 0;
}

/* Is the table [@offset, +@bytes) cluster aligned, past the header
 * cluster and inside the file? */
static int check_table(BDRVQcow2State *s, const char *what, uint64_t offset,
                       uint64_t bytes, uint64_t max, int64_t file_len)
{
    Error **errp = bdrv_driver_errp();

    if (bytes > max) {
        error_setg(errp, "%s is too large (%" PRIu64 " bytes, at most %"
                   PRIu64 ")", what, bytes, max);
        return -EFBIG;
    }
    if (offset_into_cluster(s, offset)) {
        error_setg(errp, "%s offset 0x%" PRIx64 " is not cluster aligned",
                   what, offset);
        return -EINVAL;
    }
    if (bytes && offset < (uint64_t)s->cluster_size) {
        error_setg(errp, "%s (0x%" PRIx64 ", %" PRIu64 " bytes) overlaps "
                   "the image header", what, offset, bytes);
        return -EINVAL;
    }
    if (bytes && (offset > (uint64_t)file_len ||
                  bytes > (uint64_t)file_len - offset)) {
        error_setg(errp, "%s (0x%" PRIx64 ", %" PRIu64 " bytes) lies "
                   "outside the image file", what, offset, bytes);
        return -EINVAL;
    }
    return 0;
}

/* The refcount and L1 tables as the header places them; the snapshot
 * table, whose size is known once read, is checked as it is read. */
static int check_tables(BlockDriverState *bs, QCowHeader *h, int64_t file_len)
{
    BDRVQcow2State *s = bs->opaque;
    Error **errp = bdrv_driver_errp();
    uint64_t rt_bytes = (uint64_t)h->refcount_table_clusters <<
                        s->cluster_bits;
    uint64_t l1_bytes = (uint64_t)h->l1_size * sizeof(uint64_t);
    int ret;

    if (h->refcount_table_clusters == 0) {
        error_setg(errp, "image has no refcount table");
        return -EINVAL;
    }
    ret = check_table(s, "refcount table", h->refcount_table_offset,
                      rt_bytes, QCOW_MAX_REFTABLE_BYTES, file_len);
    if (ret < 0) {
        return ret;
    }
    ret = check_table(s, "L1 table", h->l1_table_offset, l1_bytes,
                      QCOW_MAX_L1_BYTES, file_len);
    if (ret < 0) {
        return ret;
    }
    if (l1_bytes && qcow2_ranges_overlap(h->l1_table_offset, l1_bytes,
                                         h->refcount_table_offset,
                                         rt_bytes)) {
        error_setg(errp, "L1 table (0x%" PRIx64 ", %" PRIu64 " bytes) "
                   "overlaps the refcount table (0x%" PRIx64 ", %" PRIu64
                   " bytes)", h->l1_table_offset, l1_bytes,
                   h->refcount_table_offset, rt_bytes);
        return -EINVAL;
    }
    if (h->l1_size < size_to_l1(s, h->size)) {
        error_setg(errp, "L1 table is too small (%u entries) for a virtual "
                   "size of %" PRIu64 " bytes", h->l1_size, h->size);
        return -EINVAL;
    }
    if (h->nb_snapshots > QCOW_MAX_SNAPSHOTS) {
        error_setg(errp, "too many snapshots (%u)", h->nb_snapshots);
        return -EINVAL;
    }
    if (h->nb_snapshots &&
        (offset_into_cluster(s, h->snapshots_offset) ||
         h->snapshots_offset >= (uint64_t)file_len)) {
        error_setg(errp, "snapshot table offset 0x%" PRIx64 " is invalid",
                   h->snapshots_offset);
        return -EINVAL;
    }
    return 0;
}

static int load_l1_table(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t bytes = (size_t)s->l1_size * sizeof(uint64_t);
    int ret;

    s->l1_table = g_try_malloc0(ROUND_UP(MAX(bytes, 1), 512));
    if (!s->l1_table) {
        error_setg(bdrv_driver_errp(), "could not allocate the L1 table");
        return -ENOMEM;
    }
    if (bytes) {
        ret = bdrv_pread(bs->file, s->l1_table_offset, s->l1_table, bytes);
        if (ret < 0) {
            error_setg_errno(bdrv_driver_errp(), -ret,
                             "could not read the L1 table");
            return ret;
        }
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        s->l1_table[i] = GUINT64_FROM_BE(s->l1_table[i]);
    }
    return 0;
}

/* The header fields, extensions and backing file name. */
static int read_header(BlockDriverState *bs, int64_t file_len)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *buf = NULL;
    const uint8_t *ftable = NULL;
    size_t ftable_len = 0, len;
    QCowHeader h;
    uint64_t ext_end;
    int ret;

    len = MIN(file_len, 1 << QCOW_MAX_CLUSTER_BITS);
    if (len < QCOW2_V2_HEADER_SIZE) {
        error_setg(bdrv_driver_errp(), "image file is too short for a qcow2 "
                   "header (%zu bytes)", len);
        return -EINVAL;
    }
    buf = g_malloc0(1 << QCOW_MAX_CLUSTER_BITS);
    ret = bdrv_pread(bs->file, 0, buf, len);
    if (ret < 0) {
        error_setg_errno(bdrv_driver_errp(), -ret, "could not read the "
                         "qcow2 header");
        return ret;
    }
    header_from_be(&h, buf, len);
    if (h.magic == QCOW_MAGIC && h.version == 3 &&
        len < QCOW2_V3_MIN_HEADER_SIZE) {
        error_setg(bdrv_driver_errp(), "image file is too short for a qcow2 "
                   "version 3 header");
        return -EINVAL;
    }
    ret = check_header(bs, &h, file_len);
    if (ret == 0) {
        ret = check_tables(bs, &h, file_len);
    }
    if (ret < 0) {
        return ret;
    }

    if (h.header_length > sizeof(QCowHeader)) {
        s->unknown_header_fields_size = h.header_length - sizeof(QCowHeader);
        s->unknown_header_fields = g_memdup2(buf + sizeof(QCowHeader),
                                             s->unknown_header_fields_size);
    }
    ext_end = s->cluster_size;
    if (h.backing_file_offset && h.backing_file_offset < ext_end) {
        ext_end = h.backing_file_offset;
    }
    if (ext_end > h.header_length) {
        ret = read_extensions(bs, buf, h.header_length, ext_end, &ftable,
                              &ftable_len);
        if (ret < 0) {
            return ret;
        }
    }
    if (h.incompatible_features & ~QCOW2_INCOMPAT_SUPPORTED) {
        return report_unsupported(h.incompatible_features &
                                  ~QCOW2_INCOMPAT_SUPPORTED,
                                  ftable, ftable_len);
    }
    if ((h.incompatible_features & QCOW2_INCOMPAT_COMPRESSION) ?
        h.compression_type != QCOW2_COMPRESSION_ZSTD :
        h.compression_type != QCOW2_COMPRESSION_ZLIB) {
        error_setg(bdrv_driver_errp(), "invalid compression type %u",
                   h.compression_type);
        return -EINVAL;
    }
    ret = qcow2_compression_type_usable(h.compression_type,
                                        bdrv_driver_errp());
    if (ret < 0) {
        return ret;
    }
    if (h.backing_file_offset) {
        memcpy(bs->backing_file, buf + h.backing_file_offset,
               h.backing_file_size);
        bs->backing_file[h.backing_file_size] = '\0';
    } else {
        bs->backing_format[0] = '\0';
    }

    s->incompatible_features = h.incompatible_features;
    s->compatible_features = h.compatible_features;
    s->autoclear_features = h.autoclear_features;
    s->header_length = h.header_length;
    s->compression_type = h.compression_type;
    s->crypt_method_header = h.crypt_method;
    s->l1_size = h.l1_size;
    s->l1_table_offset = h.l1_table_offset;
    s->l1_vm_state_index = size_to_l1(s, h.size);
    s->refcount_table_offset = h.refcount_table_offset;
    s->refcount_table_size = ((uint64_t)h.refcount_table_clusters <<
                              s->cluster_bits) / sizeof(uint64_t);
    s->nb_snapshots = h.nb_snapshots;
    s->snapshots_offset = h.snapshots_offset;
    return 0;
}

/* ---- cache options ----------------------------------------------------- */

typedef struct CacheOpts {
    uint64_t l2_size;            /* bytes */
    uint64_t refcount_size;
    uint64_t entry_size;
    uint64_t clean_interval;     /* seconds */
} CacheOpts;

#define OPT_UNSET UINT64_MAX

static int take_cache_opts(BlockDriverState *bs, CacheOpts *o)
{
    BDRVQcow2State *s = bs->opaque;
    Error **errp = bdrv_driver_errp();
    uint64_t l2 = OPT_UNSET, rc = OPT_UNSET, total = OPT_UNSET, entry;
    uint64_t l2_needed = ROUND_UP(size_to_clusters(s, s->size) *
                                  s->l2_entry_size,
                                  (uint64_t)s->cluster_size);

    if (!bdrv_opt_take_size(bs, "l2-cache-size", OPT_UNSET, &l2) ||
        !bdrv_opt_take_size(bs, "refcount-cache-size", OPT_UNSET, &rc) ||
        !bdrv_opt_take_size(bs, "cache-size", OPT_UNSET, &total) ||
        !bdrv_opt_take_size(bs, "l2-cache-entry-size",
                            MIN(s->cluster_size, DEFAULT_L2_ENTRY_SIZE),
                            &entry) ||
        !bdrv_opt_take_size(bs, "cache-clean-interval", 0,
                            &o->clean_interval)) {
        return -EINVAL;
    }
    if (l2 != OPT_UNSET && rc != OPT_UNSET && total != OPT_UNSET) {
        error_setg(errp, "l2-cache-size, refcount-cache-size and cache-size "
                   "may not all be set");
        return -EINVAL;
    }
    if (entry < 512 || entry > (uint64_t)s->cluster_size ||
        !is_power_of_2(entry)) {
        error_setg(errp, "l2-cache-entry-size must be a power of two "
                   "between 512 and the cluster size (%d)", s->cluster_size);
        return -EINVAL;
    }
    if (o->clean_interval > UINT32_MAX) {
        error_setg(errp, "cache-clean-interval is too large");
        return -EINVAL;
    }
    if (total != OPT_UNSET) {
        uint64_t rc_min = (uint64_t)MIN_REFCOUNT_CACHE_ENTRIES *
                          s->cluster_size;
        if (l2 == OPT_UNSET && rc == OPT_UNSET) {
            l2 = MIN(l2_needed, total > rc_min ? total - rc_min : 0);
            rc = total - MIN(total, l2);
        } else if (l2 == OPT_UNSET) {
            l2 = total > rc ? total - rc : 0;
        } else {
            rc = total > l2 ? total - l2 : 0;
        }
        if (l2 + rc > total) {
            error_setg(errp, "l2-cache-size and refcount-cache-size exceed "
                       "cache-size");
            return -EINVAL;
        }
    }
    if (l2 == OPT_UNSET) {
        l2 = DEFAULT_L2_CACHE_MAX;
    }
    if (rc == OPT_UNSET) {
        rc = (uint64_t)MIN_REFCOUNT_CACHE_ENTRIES * s->cluster_size;
    }
    o->l2_size = MIN(l2, MAX(l2_needed, entry));
    o->refcount_size = MIN(rc, MAX_REFCOUNT_CACHE);
    o->entry_size = entry;
    return 0;
}

static void cache_clean_timer_cb(void *opaque)
{
    BlockDriverState *bs = opaque;
    BDRVQcow2State *s = bs->opaque;

    qcow2_cache_clean_unused(s->l2_table_cache);
    qcow2_cache_clean_unused(s->refcount_block_cache);
    timer_mod(s->cache_clean_timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
              (int64_t)s->cache_clean_interval * 1000);
}

static int init_caches(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    CacheOpts o;
    int ret = take_cache_opts(bs, &o);

    if (ret < 0) {
        return ret;
    }
    s->l2_slice_size = o.entry_size / s->l2_entry_size;
    s->l2_table_cache = qcow2_cache_create(
        bs, MAX(o.l2_size / o.entry_size, MIN_L2_CACHE_ENTRIES),
        o.entry_size, QCOW2_OL_ACTIVE_L2);
    s->refcount_block_cache = qcow2_cache_create(
        bs, MAX(o.refcount_size / s->cluster_size, MIN_REFCOUNT_CACHE_ENTRIES),
        s->cluster_size, QCOW2_OL_REFCOUNT_BLOCK);
    s->cache_clean_interval = o.clean_interval;
    if (s->cache_clean_interval) {
        s->cache_clean_timer = aio_timer_new(bdrv_get_aio_context(bs),
                                             QEMU_CLOCK_REALTIME, SCALE_MS,
                                             cache_clean_timer_cb, bs);
        timer_mod(s->cache_clean_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                  (int64_t)s->cache_clean_interval * 1000);
    }
    return 0;
}

/* ---- open and close ---------------------------------------------------- */

static void free_state(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    timer_free(s->cache_clean_timer);
    s->cache_clean_timer = NULL;
    qcow2_cache_destroy(s->l2_table_cache);
    qcow2_cache_destroy(s->refcount_block_cache);
    s->l2_table_cache = s->refcount_block_cache = NULL;
    g_free(s->l1_table);
    s->l1_table = NULL;
    g_free(s->refcount_table);
    s->refcount_table = NULL;
    g_free(s->unknown_header_fields);
    s->unknown_header_fields = NULL;
    free_unknown_exts(s);
    qcow2_free_snapshots(s);
    qcow2_compress_close(s);
    if (s->data_file && s->data_file != bs->file) {
        bdrv_unref(s->data_file);
    }
    s->data_file = NULL;
    g_free(s->data_file_name);
    s->data_file_name = NULL;
    qcow2_free_bitmaps(s);
    qcow2_crypto_close(s);
}

/*
 * The external data file: named by the "data-file" option or else the
 * header extension (relative to the image's folder), opened as a second
 * protocol child with the node's flags.  Without the incompatible bit
 * guest data stays in bs->file.
 */
static int open_data_file(BlockDriverState *bs, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree char *opt = bdrv_opt_take(bs, "data-file");
    g_autofree char *dir = NULL, *path = NULL;
    BlockDriverState *df;
    Error *err = NULL;
    int ret;

    s->data_file = bs->file;
    if (!(s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE)) {
        if (opt) {
            error_setg(bdrv_driver_errp(), "'data-file' given for an image "
                       "without an external data file");
            return -EINVAL;
        }
        g_free(s->data_file_name);
        s->data_file_name = NULL;
        return 0;
    }
    if (opt) {
        g_free(s->data_file_name);
        s->data_file_name = g_strdup(opt);
    }
    if (!s->data_file_name || !s->data_file_name[0]) {
        error_setg(bdrv_driver_errp(), "the image uses an external data "
                   "file but names none: give the 'data-file' option");
        return -EINVAL;
    }
    dir = g_path_get_dirname(bs->filename);
    path = g_path_is_absolute(s->data_file_name)
           ? g_strdup(s->data_file_name)
           : g_build_filename(dir, s->data_file_name, NULL);
    df = bdrv_new("");
    bdrv_set_aio_context(df, bdrv_get_aio_context(bs));
    ret = bdrv_open(df, path, (flags & ~BDRV_O_NO_BACKING) | BDRV_O_PROTOCOL,
                    NULL, &err);
    if (ret < 0) {
        error_propagate_prepend(bdrv_driver_errp(), err, "could not open the "
                                "external data file: ");
        bdrv_unref(df);
        return ret;
    }
    df->growable = 1;
    s->data_file = df;
    return 0;
}

/* Images we may read but must not write: corrupt ones (dirty ones are
 * repaired once writable, below). */
static void downgrade_to_read_only(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (bs->read_only ||
        !(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        return;
    }
    warn_report("qcow2: '%s' is marked corrupt: opening it read-only "
                "(repair it with a check first)", bs->filename);
    bs->read_only = 1;
}

/* The autoclear bits we keep: those we maintain and that make sense. */
static uint64_t autoclear_kept(BlockDriverState *bs)
{
    uint64_t kept = QCOW2_AUTOCLEAR_SUPPORTED;

    if (!has_data_file(bs)) {
        kept &= ~QCOW2_AUTOCLEAR_DATA_RAW;    /* needs an external file */
    }
    return kept;
}

static int qcow2_open(BlockDriverState *bs, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_len = bdrv_getlength(bs->file);
    int ret;

    qemu_co_mutex_init(&s->lock);
    QLIST_INIT(&s->unknown_exts);
    QLIST_INIT(&s->cluster_allocs);
    if (file_len < 0) {
        error_setg_errno(bdrv_driver_errp(), -file_len,
                         "could not get the size of the image file");
        return file_len;
    }
    ret = read_header(bs, file_len);
    if (ret == 0) {
        ret = init_caches(bs);
    }
    if (ret == 0) {
        ret = load_l1_table(bs);
    }
    if (ret == 0) {
        ret = qcow2_refcount_init(bs);
    }
    if (ret == 0) {
        ret = open_data_file(bs, flags);
    }
    if (ret == 0) {
        ret = qcow2_read_snapshots(bs);
    }
    if (ret == 0) {
        ret = qcow2_crypto_open(bs);
    }
    if (ret < 0) {
        free_state(bs);
        return ret;
    }

    downgrade_to_read_only(bs);
    s->writable = !bs->read_only;
    s->use_lazy_refcounts = s->writable &&
        (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS);
    bs->total_sectors = DIV_ROUND_UP(s->size, BDRV_SECTOR_SIZE);
    ret = qcow2_load_bitmaps(bs);
    if (ret < 0) {
        free_state(bs);
        return ret;
    }
    if (s->writable && (s->autoclear_features & ~autoclear_kept(bs))) {
        /* We cannot keep what those bits promise consistent: drop them. */
        s->autoclear_features &= autoclear_kept(bs);
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg_errno(bdrv_driver_errp(), -ret,
                             "could not clear autoclear feature bits");
            qcow2_release_loaded_bitmaps(bs);
            free_state(bs);
            return ret;
        }
    }
    if (s->writable && (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        /* Lazy refcounts were not written back: recount them. */
        ret = qcow2_repair_dirty(bs);
        if (ret < 0) {
            free_state(bs);
            return ret;
        }
    }
    return 0;
}

static int coroutine_fn flush_caches_co(void *opaque)
{
    BlockDriverState *bs = opaque;
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret == 0) {
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->writable) {
        int ret;

        if (!(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
            qcow2_store_bitmaps(bs);        /* failures are logged */
        }
        ret = qcow2_run_co(bs, flush_caches_co, bs);

        if (ret == 0 && !(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
            qcow2_mark_clean(bs);
        } else if (ret < 0) {
            error_report("qcow2: could not write back metadata of '%s': %s",
                         bs->filename, strerror(-ret));
        }
    }
    free_state(bs);
}

/* ---- node-level calls ------------------------------------------------ */

static int64_t qcow2_getlength(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->size;
}

static int qcow2_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BDRVQcow2State *s = bs->opaque;

    bdi->cluster_size = s->cluster_size;
    bdi->vm_state_offset = (int64_t)s->l1_vm_state_index <<
                           (s->cluster_bits + s->l2_bits);
    bdi->is_dirty = !!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY);
    bdi->can_write_zeroes_with_unmap = s->qcow_version >= 3;
    return 0;
}

static int qcow2_has_zero_init(BlockDriverState *bs)
{
    return !bs->backing_hd;
}

static int64_t qcow2_get_allocated_file_size(BlockDriverState *bs)
{
    return bdrv_get_allocated_file_size(bs->file);
}

static int coroutine_fn make_empty_co(void *opaque)
{
    BlockDriverState *bs = opaque;
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_cluster_discard(bs, 0, ROUND_UP(s->size,
                                                (uint64_t)s->cluster_size),
                                true);
    if (ret == 0) {
        ret = qcow2_cache_flush(bs, s->l2_table_cache);
    }
    if (ret == 0) {
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/* With snapshots, the discard copies shared L2 tables and drops one
 * reference of shared clusters: the snapshots keep their data. */
static int qcow2_make_empty(BlockDriverState *bs)
{
    return qcow2_run_co(bs, make_empty_co, bs);
}

typedef struct TruncateCo {
    BlockDriverState *bs;
    int64_t offset;
} TruncateCo;

static int coroutine_fn truncate_co(void *opaque)
{
    TruncateCo *t = opaque;
    BlockDriverState *bs = t->bs;
    BDRVQcow2State *s = bs->opaque;
    uint8_t be[8];
    int ret;

    qemu_co_mutex_lock(&s->lock);
    if ((uint64_t)t->offset < s->size) {
        ret = qcow2_any_allocated_after(bs, t->offset);
        if (ret > 0) {
            error_setg(bdrv_driver_errp(), "cannot shrink the image: data "
                       "is allocated past the new size");
            ret = -ENOTSUP;
        }
    } else {
        ret = qcow2_grow_l1_table(bs, size_to_l1(s, t->offset));
    }
    if (ret == 0) {
        be64_store(be, t->offset);
        ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader, size), 8, be);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file);
    }
    if (ret == 0) {
        s->size = t->offset;
        s->l1_vm_state_index = size_to_l1(s, s->size);
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_truncate(BlockDriverState *bs, int64_t offset)
{
    BDRVQcow2State *s = bs->opaque;
    TruncateCo t = { .bs = bs, .offset = offset };

    if (offset % BDRV_SECTOR_SIZE) {
        error_setg(bdrv_driver_errp(), "the new size must be a multiple of "
                   "512 bytes");
        return -EINVAL;
    }
    if (s->nb_snapshots && s->qcow_version < 3) {
        /* v2 snapshot entries need not record their disk size (as QEMU) */
        error_setg(bdrv_driver_errp(), "cannot resize a version 2 image "
                   "that has snapshots");
        return -ENOTSUP;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
        return -EIO;
    }
    if ((uint64_t)offset > (uint64_t)QCOW_MAX_L1_BYTES / 8 <<
        (s->cluster_bits + s->l2_bits)) {
        error_setg(bdrv_driver_errp(), "size too large for this cluster "
                   "size");
        return -EFBIG;
    }
    return qcow2_run_co(bs, truncate_co, &t);
}

static int qcow2_change_backing_file(BlockDriverState *bs,
                                     const char *backing_file,
                                     const char *backing_fmt)
{
    BDRVQcow2State *s = bs->opaque;
    char old_file[sizeof(bs->backing_file)];
    char old_fmt[sizeof(bs->backing_format)];
    int ret;

    if (backing_file && strlen(backing_file) > QCOW_MAX_BACKING_NAME) {
        return -EINVAL;
    }
    if (backing_fmt && strlen(backing_fmt) >= sizeof(bs->backing_format)) {
        return -EINVAL;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
        return -EIO;
    }
    g_strlcpy(old_file, bs->backing_file, sizeof(old_file));
    g_strlcpy(old_fmt, bs->backing_format, sizeof(old_fmt));
    g_strlcpy(bs->backing_file, backing_file ? backing_file : "",
              sizeof(bs->backing_file));
    g_strlcpy(bs->backing_format, backing_fmt ? backing_fmt : "",
              sizeof(bs->backing_format));
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        g_strlcpy(bs->backing_file, old_file, sizeof(bs->backing_file));
        g_strlcpy(bs->backing_format, old_fmt, sizeof(bs->backing_format));
    }
    return ret;
}

BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .instance_size = sizeof(BDRVQcow2State),
    .bdrv_probe = qcow2_probe,
    .bdrv_open = qcow2_open,
    .bdrv_close = qcow2_close,
    .bdrv_create = qcow2_create,
    .bdrv_make_empty = qcow2_make_empty,
    .bdrv_co_readv = qcow2_co_readv,
    .bdrv_co_writev = qcow2_co_writev,
    .bdrv_co_write_zeroes = qcow2_co_write_zeroes,
    .bdrv_co_discard = qcow2_co_discard,
    .bdrv_co_is_allocated = qcow2_co_is_allocated,
    .bdrv_co_copy_range_from = qcow2_co_copy_range_from,
    .bdrv_co_copy_range_to = qcow2_co_copy_range_to,
    .bdrv_co_flush_to_os = qcow2_co_flush_to_os,
    .bdrv_truncate = qcow2_truncate,
    .bdrv_getlength = qcow2_getlength,
    .bdrv_get_allocated_file_size = qcow2_get_allocated_file_size,
    .bdrv_get_info = qcow2_get_info,
    .bdrv_check_fix = qcow2_check_fix,
    .bdrv_write_compressed = qcow2_write_compressed,
    .bdrv_change_backing_file = qcow2_change_backing_file,
    .bdrv_has_zero_init = qcow2_has_zero_init,
    .bdrv_set_key = qcow2_set_key,
    .create_options = qcow2_create_options,
    .bdrv_amend_options = qcow2_amend_options,   /* qcow2-amend.c */
    /* snapshots and VM state: qcow2-snapshot.c */
    .bdrv_snapshot_create = qcow2_snapshot_create,
    .bdrv_snapshot_goto = qcow2_snapshot_goto,
    .bdrv_snapshot_delete = qcow2_snapshot_delete,
    .bdrv_snapshot_list = qcow2_snapshot_list,
    .bdrv_snapshot_load_tmp = qcow2_snapshot_load_tmp,
    .bdrv_save_vmstate = qcow2_save_vmstate,
    .bdrv_load_vmstate = qcow2_load_vmstate,
    /* what tools query: qcow2-info.c */
    .bdrv_co_block_status = qcow2_co_block_status,
    .bdrv_get_specific_info = qcow2_get_specific_info,
};
