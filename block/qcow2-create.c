/*
 * qcow2 image creation.
 *
 * What it does: validates the creation options, writes a minimal image
 * (header, a one-cluster refcount table, one refcount block counting the
 * first three clusters, no L1 table), then opens it with the driver and
 * uses the driver's own operations to grow it to its size, record the
 * backing file and preallocate: the layout of a new image is made by the
 * same code that maintains it.
 *
 * With data_file=NAME the skeleton also names the external data file
 * (created empty next to the image), and data_file_raw=on keeps every
 * guest cluster mapped so the data file reads as a raw disk by itself.
 *
 * What it deliberately does not: legacy AES encryption (refused; LUKS is
 * set up by qcow2-crypto.c once the image exists), compress anything (the
 * compression type is recorded in the header, zstd with its incompatible
 * bit, and refused when this build has no libzstd).
 *
 * Key invariant: the three clusters written first form a valid, empty
 * image of size 0 on their own.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

#define PREALLOC_CHUNK (1024 * 1024)

extern BlockDriver bdrv_qcow2;

typedef enum {
    PREALLOC_OFF,
    PREALLOC_METADATA,
    PREALLOC_FALLOC,
    PREALLOC_FULL,
} PreallocMode;

typedef struct CreateOpts {
    uint64_t size;
    bool has_size;
    int version;
    int cluster_bits;
    int refcount_order;
    bool lazy_refcounts;
    const char *backing_file;
    const char *backing_fmt;
    PreallocMode prealloc;
    uint8_t compression_type;
    bool extended_l2;
    const char *data_file;       /* as recorded in the header */
    bool data_file_raw;
    bool encrypt;                /* encrypt.format=luks (qcow2-crypto.c) */
} CreateOpts;

static QEMUOptionParameter *opt(QEMUOptionParameter *options,
                                const char *name)
{
    QEMUOptionParameter *p = get_option_parameter(options, name);

    return p && p->assigned ? p : NULL;
}

static int parse_version(QEMUOptionParameter *p, CreateOpts *o)
{
    const char *v = p && p->value.s ? p->value.s : "1.1";

    if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
        o->version = 2;
    } else if (!strcmp(v, "1.1") || !strcmp(v, "v3")) {
        o->version = 3;
    } else {
        error_setg(bdrv_driver_errp(), "invalid compat level '%s' (0.10 or "
                   "1.1)", v);
        return -EINVAL;
    }
    return 0;
}

static int parse_cluster_size(QEMUOptionParameter *p, CreateOpts *o)
{
    uint64_t cs = p ? p->value.n : QCOW_DEFAULT_CLUSTER_SIZE;

    if (!is_power_of_2(cs) || cs < (1u << QCOW_MIN_CLUSTER_BITS) ||
        cs > (1u << QCOW_MAX_CLUSTER_BITS)) {
        error_setg(bdrv_driver_errp(), "cluster size must be a power of two "
                   "between 512 and 2M (got %" PRIu64 ")", cs);
        return -EINVAL;
    }
    o->cluster_bits = ctz64(cs);
    return 0;
}

static int parse_refcount_bits(QEMUOptionParameter *p, CreateOpts *o)
{
    uint64_t bits = p ? p->value.n : 16;

    if (!is_power_of_2(bits) || bits > 64) {
        error_setg(bdrv_driver_errp(), "refcount_bits must be a power of two "
                   "between 1 and 64 (got %" PRIu64 ")", bits);
        return -EINVAL;
    }
    if (o->version < 3 && bits != 16) {
        error_setg(bdrv_driver_errp(), "compat=0.10 images need "
                   "refcount_bits=16");
        return -EINVAL;
    }
    o->refcount_order = ctz64(bits);
    return 0;
}

static int parse_prealloc(QEMUOptionParameter *p, CreateOpts *o)
{
    static const char *const names[] = {
        [PREALLOC_OFF] = "off", [PREALLOC_METADATA] = "metadata",
        [PREALLOC_FALLOC] = "falloc", [PREALLOC_FULL] = "full",
    };
    const char *v = p && p->value.s ? p->value.s : "off";

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!strcmp(v, names[i])) {
            o->prealloc = i;
            return 0;
        }
    }
    error_setg(bdrv_driver_errp(), "invalid preallocation mode '%s' (off, "
               "metadata, falloc, full)", v);
    return -EINVAL;
}

static int parse_compression(QEMUOptionParameter *p, CreateOpts *o)
{
    const char *v = p && p->value.s ? p->value.s : "zlib";

    if (!strcmp(v, "zlib")) {
        o->compression_type = QCOW2_COMPRESSION_ZLIB;
    } else if (!strcmp(v, "zstd")) {
        o->compression_type = QCOW2_COMPRESSION_ZSTD;
    } else {
        error_setg(bdrv_driver_errp(), "invalid compression type '%s' (zlib "
                   "or zstd)", v);
        return -EINVAL;
    }
    if (qcow2_compression_type_usable(o->compression_type,
                                      bdrv_driver_errp()) < 0) {
        return -ENOTSUP;
    }
    if (o->compression_type && o->version < 3) {
        error_setg(bdrv_driver_errp(), "compression_type=zstd needs "
                   "compat=1.1");
        return -EINVAL;
    }
    return 0;
}

static int parse_flags(QEMUOptionParameter *options, CreateOpts *o)
{
    Error **errp = bdrv_driver_errp();
    QEMUOptionParameter *p;

    o->lazy_refcounts = (p = opt(options, "lazy_refcounts")) && p->value.n;
    if (o->lazy_refcounts && o->version < 3) {
        error_setg(errp, "lazy_refcounts need compat=1.1");
        return -EINVAL;
    }
    o->extended_l2 = (p = opt(options, "extended_l2")) && p->value.n;
    if (o->extended_l2 && o->version < 3) {
        error_setg(errp, "extended_l2 needs compat=1.1");
        return -EINVAL;
    }
    if (o->extended_l2 && o->cluster_bits < QCOW_MIN_EXTL2_CLUSTER_BITS) {
        error_setg(errp, "extended_l2 needs a cluster size of at least "
                   "%d KiB", 1 << (QCOW_MIN_EXTL2_CLUSTER_BITS - 10));
        return -EINVAL;
    }
    o->data_file = (p = opt(options, "data_file")) ? p->value.s : NULL;
    o->data_file_raw = (p = opt(options, "data_file_raw")) && p->value.n;
    return qcow2_crypto_check_create(options, o->prealloc != PREALLOC_OFF,
                                     &o->encrypt);
}

static int parse_create_opts(QEMUOptionParameter *options, CreateOpts *o)
{
    QEMUOptionParameter *p;
    int ret;

    memset(o, 0, sizeof(*o));
    if ((p = opt(options, BLOCK_OPT_SIZE))) {
        o->size = p->value.n;
        o->has_size = true;
    }
    if ((p = opt(options, BLOCK_OPT_BACKING_FILE))) {
        o->backing_file = p->value.s;
    }
    if ((p = opt(options, BLOCK_OPT_BACKING_FMT))) {
        o->backing_fmt = p->value.s;
    }
    ret = parse_version(opt(options, "compat"), o);
    if (ret == 0) {
        ret = parse_cluster_size(opt(options, BLOCK_OPT_CLUSTER_SIZE), o);
    }
    if (ret == 0) {
        ret = parse_refcount_bits(opt(options, "refcount_bits"), o);
    }
    if (ret == 0) {
        ret = parse_prealloc(opt(options, BLOCK_OPT_PREALLOC), o);
    }
    if (ret == 0) {
        ret = parse_compression(opt(options, "compression_type"), o);
    }
    if (ret == 0) {
        ret = parse_flags(options, o);
    }
    return ret;
}

static int check_data_file_opts(CreateOpts *o)
{
    Error **errp = bdrv_driver_errp();

    if (!o->data_file) {
        if (o->data_file_raw) {
            error_setg(errp, "data_file_raw needs data_file");
            return -EINVAL;
        }
        return 0;
    }
    if (o->version < 3) {
        error_setg(errp, "an external data file needs compat=1.1");
        return -EINVAL;
    }
    if (!o->data_file[0] || strlen(o->data_file) > QCOW_MAX_BACKING_NAME) {
        error_setg(errp, "invalid data_file name");
        return -EINVAL;
    }
    if (o->data_file_raw && o->backing_file) {
        error_setg(errp, "data_file_raw cannot be combined with a backing "
                   "file");
        return -EINVAL;
    }
    if (o->data_file_raw && o->prealloc == PREALLOC_OFF) {
        o->prealloc = PREALLOC_METADATA;   /* every cluster mapped */
    }
    return 0;
}

static int check_create_opts(CreateOpts *o)
{
    Error **errp = bdrv_driver_errp();

    if (o->backing_file && strlen(o->backing_file) > QCOW_MAX_BACKING_NAME) {
        error_setg(errp, "backing file name is too long (at most %d bytes)",
                   QCOW_MAX_BACKING_NAME);
        return -EINVAL;
    }
    if (o->backing_fmt && !o->backing_file) {
        error_setg(errp, "backing_fmt given without backing_file");
        return -EINVAL;
    }
    if (o->backing_fmt && !bdrv_find_format(o->backing_fmt)) {
        error_setg(errp, "unknown backing format '%s'", o->backing_fmt);
        return -EINVAL;
    }
    if (o->backing_file && o->prealloc != PREALLOC_OFF) {
        error_setg(errp, "preallocation and a backing file cannot be "
                   "combined");
        return -EINVAL;
    }
    if (o->size % BDRV_SECTOR_SIZE) {
        error_setg(errp, "image size must be a multiple of 512 bytes");
        return -EINVAL;
    }
    return check_data_file_opts(o);
}

/* Without a size, the image takes its backing file's. */
static int size_from_backing(const char *filename, CreateOpts *o)
{
    BlockDriverState *bs;
    Error *err = NULL;
    g_autofree char *dir = NULL, *path = NULL;
    int64_t len;

    if (o->has_size) {
        return 0;
    }
    if (!o->backing_file) {
        error_setg(bdrv_driver_errp(), "image size is required");
        return -EINVAL;
    }
    dir = g_path_get_dirname(filename);
    path = g_path_is_absolute(o->backing_file)
           ? g_strdup(o->backing_file)
           : g_build_filename(dir, o->backing_file, NULL);
    bs = bdrv_new("");
    if (bdrv_open(bs, path, BDRV_O_NO_BACKING,
                  o->backing_fmt ? bdrv_find_format(o->backing_fmt) : NULL,
                  &err) < 0) {
        error_propagate(bdrv_driver_errp(), err);
        bdrv_unref(bs);
        return -EINVAL;
    }
    len = bdrv_getlength(bs);
    bdrv_unref(bs);
    if (len < 0) {
        return len;
    }
    o->size = ROUND_UP(len, BDRV_SECTOR_SIZE);
    return 0;
}

/* Refcount 1 for entry @idx of a zeroed block of 2^@order-bit entries. */
static void set_refcount_one(uint8_t *block, int order, int idx)
{
    int bits = 1 << order;

    if (bits < 8) {
        block[idx * bits / 8] |= 1 << ((idx * bits) % 8);
    } else {
        block[(idx + 1) * (bits / 8) - 1] = 1;
    }
}

/* Header, refcount table and refcount block of an empty image. */
static int write_skeleton(BlockDriverState *file, CreateOpts *o)
{
    size_t cs = 1u << o->cluster_bits;
    g_autofree uint8_t *buf = g_malloc0(3 * cs);
    uint8_t *h = buf;
    uint64_t incompat = o->compression_type ? QCOW2_INCOMPAT_COMPRESSION : 0;

    be32_store(h + offsetof(QCowHeader, magic), QCOW_MAGIC);
    be32_store(h + offsetof(QCowHeader, version), o->version);
    be32_store(h + offsetof(QCowHeader, cluster_bits), o->cluster_bits);
    be64_store(h + offsetof(QCowHeader, refcount_table_offset), cs);
    be32_store(h + offsetof(QCowHeader, refcount_table_clusters), 1);
    if (o->version >= 3) {
        incompat |= o->extended_l2 ? QCOW2_INCOMPAT_EXTL2 : 0;
        incompat |= o->data_file ? QCOW2_INCOMPAT_DATA_FILE : 0;
        be64_store(h + offsetof(QCowHeader, incompatible_features),
                   incompat);
        be64_store(h + offsetof(QCowHeader, autoclear_features),
                   o->data_file_raw ? QCOW2_AUTOCLEAR_DATA_RAW : 0);
        be64_store(h + offsetof(QCowHeader, compatible_features),
                   o->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
        be32_store(h + offsetof(QCowHeader, refcount_order),
                   o->refcount_order);
        be32_store(h + offsetof(QCowHeader, header_length),
                   sizeof(QCowHeader));
        h[offsetof(QCowHeader, compression_type)] = o->compression_type;
        if (o->data_file) {
            /* The name extension, so that the driver can open it. */
            size_t len = strlen(o->data_file);

            if (sizeof(QCowHeader) + 16 + len > cs) {
                return -ENOSPC;
            }
            be32_store(h + sizeof(QCowHeader), QCOW2_EXT_DATA_FILE);
            be32_store(h + sizeof(QCowHeader) + 4, len);
            memcpy(h + sizeof(QCowHeader) + 8, o->data_file, len);
        }
    }
    be64_store(buf + cs, 2 * cs);
    for (int i = 0; i < 3; i++) {
        set_refcount_one(buf + 2 * cs, o->refcount_order, i);
    }
    return bdrv_pwrite(file, 0, buf, 3 * cs) < 0 ? -EIO : 0;
}

/* Write zeroes (full) or allocate (falloc) the data clusters. */
static int coroutine_fn fill_data_clusters(BlockDriverState *bs, bool full)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *zeroes = full ? g_malloc0(PREALLOC_CHUNK) : NULL;
    uint64_t offset = 0;

    while (offset < s->size) {
        uint64_t n = s->size - offset, host;
        QCow2ClusterType type;
        int ret;

        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_get_host_offset(bs, offset, &n, &host, &type);
        qemu_co_mutex_unlock(&s->lock);
        for (uint64_t done = 0; ret == 0 && done < n &&
             type == QCOW2_CLUSTER_NORMAL; ) {
            uint64_t len = MIN(n - done, PREALLOC_CHUNK);
            ret = full ? bdrv_co_pwrite(s->data_file, host + done, len,
                                        zeroes)
                       : bdrv_co_pwrite_zeroes(s->data_file, host + done, len,
                                               0);
            done += len;
        }
        if (ret < 0) {
            return ret;
        }
        offset += n;
    }
    return 0;
}

typedef struct PreallocCo {
    BlockDriverState *bs;
    PreallocMode mode;
    uint64_t host_end;
} PreallocCo;

static int coroutine_fn preallocate_co(void *opaque)
{
    PreallocCo *p = opaque;
    BDRVQcow2State *s = p->bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_preallocate_range(p->bs, 0, s->size, &p->host_end);
    if (ret == 0) {
        ret = qcow2_cache_flush(p->bs, s->l2_table_cache);
    }
    if (ret == 0) {
        ret = qcow2_cache_flush(p->bs, s->refcount_block_cache);
    }
    qemu_co_mutex_unlock(&s->lock);
    if (ret == 0 && p->mode != PREALLOC_METADATA) {
        ret = fill_data_clusters(p->bs, p->mode == PREALLOC_FULL);
    }
    return ret;
}

/* Open the skeleton and let the driver build the rest. */
static int finish_image(const char *filename, CreateOpts *o,
                        QEMUOptionParameter *options)
{
    BlockDriverState *bs = bdrv_new("");
    Error *err = NULL;
    int ret;

    ret = bdrv_open(bs, filename, BDRV_O_RDWR | BDRV_O_NO_BACKING,
                    &bdrv_qcow2, &err);
    if (ret < 0) {
        error_propagate(bdrv_driver_errp(), err);
        bdrv_unref(bs);
        return ret;
    }
    ret = bdrv_truncate(bs, o->size);
    if (ret < 0) {
        error_setg_errno(bdrv_driver_errp(), -ret, "could not set the image "
                         "size to %" PRIu64, o->size);
    }
    if (ret == 0 && o->encrypt) {
        ret = qcow2_crypto_create(bs, options);
    }
    if (ret == 0 && o->backing_file) {
        ret = bdrv_change_backing_file(bs, o->backing_file, o->backing_fmt);
        if (ret < 0) {
            error_setg_errno(bdrv_driver_errp(), -ret, "could not record the "
                             "backing file");
        }
    }
    if (ret == 0 && o->prealloc != PREALLOC_OFF) {
        PreallocCo p = { .bs = bs, .mode = o->prealloc };
        BlockDriverState *data = ((BDRVQcow2State *)bs->opaque)->data_file;

        ret = qcow2_run_co(bs, preallocate_co, &p);
        /* Data clusters past the end of the file exist in full. */
        if (ret == 0 && bdrv_getlength(data) < (int64_t)p.host_end) {
            ret = bdrv_truncate(data, p.host_end);
        }
        if (ret < 0) {
            error_setg_errno(bdrv_driver_errp(), -ret, "could not "
                             "preallocate");
        }
    }
    bdrv_unref(bs);
    return ret;
}

/* Create the external data file, empty, where the driver will look for
 * it: relative names are relative to the image's folder. */
static int create_data_file(const char *filename, CreateOpts *o)
{
    QEMUOptionParameter file_opts[] = {
        { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE, .value.n = 0,
          .assigned = true },
        { .name = NULL },
    };
    g_autofree char *dir = NULL, *path = NULL;
    Error *err = NULL;
    int ret;

    if (!o->data_file) {
        return 0;
    }
    dir = g_path_get_dirname(filename);
    path = g_path_is_absolute(o->data_file)
           ? g_strdup(o->data_file)
           : g_build_filename(dir, o->data_file, NULL);
    ret = bdrv_create_file(path, file_opts, &err);
    if (ret < 0) {
        error_propagate_prepend(bdrv_driver_errp(), err, "could not create "
                                "the data file: ");
    }
    return ret;
}

int qcow2_create(const char *filename, QEMUOptionParameter *options)
{
    QEMUOptionParameter file_opts[] = {
        { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE, .value.n = 0,
          .assigned = true },
        { .name = NULL },
    };
    BlockDriverState *file;
    Error *err = NULL;
    CreateOpts o;
    int ret;

    ret = parse_create_opts(options, &o);
    if (ret == 0) {
        ret = size_from_backing(filename, &o);
    }
    if (ret == 0) {
        ret = check_create_opts(&o);
    }
    if (ret < 0) {
        return ret;
    }
    ret = create_data_file(filename, &o);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_create_file(filename, file_opts, &err);
    if (ret == 0) {
        ret = bdrv_file_open(&file, filename, BDRV_O_RDWR, &err);
    }
    if (ret < 0) {
        error_propagate(bdrv_driver_errp(), err);
        return ret;
    }
    file->growable = 1;
    ret = write_skeleton(file, &o);
    bdrv_unref(file);
    if (ret < 0) {
        error_setg_errno(bdrv_driver_errp(), -ret, "could not write the "
                         "qcow2 header");
        return ret;
    }
    return finish_image(filename, &o, options);
}

QEMUOptionParameter qcow2_create_options[] = {
    { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE,
      .help = "Virtual disk size" },
    { .name = "compat", .type = OPT_STRING,
      .help = "Compatibility level (0.10 or 1.1)" },
    { .name = BLOCK_OPT_BACKING_FILE, .type = OPT_STRING,
      .help = "File name of a base image" },
    { .name = BLOCK_OPT_BACKING_FMT, .type = OPT_STRING,
      .help = "Image format of the base image" },
    { .name = BLOCK_OPT_ENCRYPT, .type = OPT_FLAG,
      .help = "Legacy AES encryption (refused: use encrypt.format)" },
    { .name = "encrypt.format", .type = OPT_STRING,
      .help = "Encrypt the image: luks" },
    { .name = "encrypt.key-secret", .type = OPT_STRING,
      .help = "Id of the secret holding the password" },
    { .name = "encrypt.cipher-alg", .type = OPT_STRING,
      .help = "LUKS cipher: aes-256 (default) or aes-128" },
    { .name = "encrypt.cipher-mode", .type = OPT_STRING,
      .help = "LUKS cipher mode: xts (default) or cbc" },
    { .name = "encrypt.hash-alg", .type = OPT_STRING,
      .help = "LUKS hash: sha256 (default), sha1 or sha512" },
    { .name = "encrypt.iter-time", .type = OPT_NUMBER,
      .help = "LUKS PBKDF2 time in milliseconds (default 2000)" },
    { .name = BLOCK_OPT_CLUSTER_SIZE, .type = OPT_SIZE,
      .help = "qcow2 cluster size (512 B to 2 MiB)" },
    { .name = BLOCK_OPT_PREALLOC, .type = OPT_STRING,
      .help = "Preallocation mode (off, metadata, falloc, full)" },
    { .name = "lazy_refcounts", .type = OPT_FLAG,
      .help = "Postpone refcount updates" },
    { .name = "refcount_bits", .type = OPT_NUMBER,
      .help = "Width of a reference count entry in bits" },
    { .name = "extended_l2", .type = OPT_FLAG,
      .help = "Extended L2 tables: 32 subclusters per cluster" },
    { .name = "data_file", .type = OPT_STRING,
      .help = "File name of an external data file" },
    { .name = "data_file_raw", .type = OPT_FLAG,
      .help = "The external data file must stay valid as a raw image" },
    { .name = "compression_type", .type = OPT_STRING,
      .help = "Compression method for compressed clusters (zlib, zstd)" },
    { .name = NULL }
};
