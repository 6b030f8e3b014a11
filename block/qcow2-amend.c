/*
 * qcow2 amend: changing creation options of an existing image in place
 * (qemu-img amend), with qemu-img 7.2's rules and messages.
 *
 * What it does: compat=1.1 on a version 2 image rewrites the header as
 * version 3; compat=0.10 on a version 3 image, when no version 3 feature
 * is in use, makes zero clusters plain data (version 2 has no zero flag)
 * and rewrites the header as version 2; lazy_refcounts switches the
 * compatible bit (turning it off first writes every refcount back and
 * clears the dirty bit); refcount_bits builds a refcount structure of
 * the new width (qcow2-amend-refcount.c); size resizes; data_file renames
 * an existing external data file and data_file_raw=off clears its bit.
 * The steps run in QEMU's order: upgrade first, downgrade last, so that
 * one call can both leave and enter version 2.
 *
 * What it deliberately does not: change the backing file (QEMU 7.2 also
 * refuses: that is rebase's job; giving the current values is accepted),
 * change options fixed at creation (cluster size, encryption,
 * preallocation, extended L2, compression type), amend LUKS key slots, or
 * downgrade an image with persistent bitmaps (QEMU does, and leaks the
 * bitmaps' clusters).
 *
 * Key invariant: every option is validated before the first change is
 * written, except where QEMU validates late (a backing file change after
 * an upgrade); each change leaves a consistent image, switched by one
 * header write.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "qcow2.h"

/* What the user asked for; fields start as the image is. */
typedef struct AmendRequest {
    int version;
    uint64_t size;               /* 0: unchanged */
    const char *backing_file;    /* NULL: not given */
    const char *backing_fmt;
    bool lazy_refcounts;
    int refcount_bits;
    const char *data_file;       /* NULL: not given */
    bool data_file_raw;
} AmendRequest;

/* Options only image creation takes, named as QEMU's amend lists them. */
static bool creation_only(const char *name)
{
    static const char *const amendable[] = {
        BLOCK_OPT_SIZE, "compat", BLOCK_OPT_BACKING_FILE,
        BLOCK_OPT_BACKING_FMT, "lazy_refcounts", "refcount_bits",
        "data_file", "data_file_raw", "encrypt.iter-time",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(amendable); i++) {
        if (!strcmp(name, amendable[i])) {
            return false;
        }
    }
    return true;
}

static int parse_compat(const char *compat, int *version, Error **errp)
{
    if (!strcmp(compat, "0.10") || !strcmp(compat, "v2")) {
        *version = 2;
    } else if (!strcmp(compat, "1.1") || !strcmp(compat, "v3")) {
        *version = 3;
    } else {
        error_setg(errp, "Unknown compatibility level %s", compat);
        return -EINVAL;
    }
    return 0;
}

/* Take one assigned option @o into @req. 0 or -errno. */
static int take_option(BlockDriverState *bs, QEMUOptionParameter *o,
                       AmendRequest *req, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = o->value.n;

    if (!strcmp(o->name, "compat")) {
        return o->value.s ? parse_compat(o->value.s, &req->version, errp) : 0;
    } else if (!strcmp(o->name, BLOCK_OPT_SIZE)) {
        req->size = n;
    } else if (!strcmp(o->name, BLOCK_OPT_BACKING_FILE)) {
        req->backing_file = o->value.s;
    } else if (!strcmp(o->name, BLOCK_OPT_BACKING_FMT)) {
        req->backing_fmt = o->value.s;
    } else if (!strcmp(o->name, "lazy_refcounts")) {
        req->lazy_refcounts = n;
    } else if (!strcmp(o->name, "refcount_bits")) {
        if (n == 0 || n > 64 || (n & (n - 1))) {
            error_setg(errp, "Refcount width must be a power of two and may "
                       "not exceed 64 bits");
            return -EINVAL;
        }
        req->refcount_bits = n;
    } else if (!strcmp(o->name, "data_file")) {
        if (o->value.s && !has_data_file(bs)) {
            error_setg(errp, "data-file can only be set for images that use "
                       "an external data file");
            return -EINVAL;
        }
        req->data_file = o->value.s;
    } else if (!strcmp(o->name, "data_file_raw")) {
        if (n && !data_file_is_raw(bs)) {
            error_setg(errp, "data-file-raw cannot be set on existing images");
            return -EINVAL;
        }
        req->data_file_raw = n;
    } else if (g_str_has_prefix(o->name, "encrypt.")) {
        if (!s->crypto) {
            error_setg(errp, "Can't amend encryption options - encryption "
                       "not present");
            return -EINVAL;
        }
        error_setg(errp, "Amending LUKS key slots is not supported");
        return -ENOTSUP;
    }
    return 0;
}

/* Fill @req from @opts; no change to the image. 0 or -errno. */
static int parse_request(BlockDriverState *bs, QEMUOptionParameter *opts,
                         AmendRequest *req, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    *req = (AmendRequest) {
        .version = s->qcow_version,
        .lazy_refcounts = s->use_lazy_refcounts,
        .refcount_bits = s->refcount_bits,
        .data_file_raw = data_file_is_raw(bs),
    };
    for (QEMUOptionParameter *o = opts; o && o->name; o++) {
        if (o->assigned && creation_only(o->name)) {
            error_setg(errp, "Invalid parameter '%s'", o->name);
            error_append_hint(errp, "This option is only supported for "
                              "image creation\n");
            return -EINVAL;
        }
    }
    for (QEMUOptionParameter *o = opts; o && o->name; o++) {
        int ret = o->assigned ? take_option(bs, o, req, errp) : 0;

        if (ret < 0) {
            return ret;
        }
    }
    if (req->size % BDRV_SECTOR_SIZE) {
        error_setg(errp, "The new size must be a multiple of 512");
        return -EINVAL;
    }
    return 0;
}

/* ---- version changes ---------------------------------------------------- */

static int write_header(BlockDriverState *bs, Error **errp)
{
    int ret = qcow2_update_header(bs);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image header");
    }
    return ret;
}

static int upgrade(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    s->qcow_version = 3;
    s->refcount_order = 4;
    ret = write_header(bs, errp);
    if (ret < 0) {
        s->qcow_version = 2;
    }
    return ret;
}

/* Write every cached table back (the node's flush does) and clear the
 * dirty bit. */
static int make_clean(BlockDriverState *bs, Error **errp)
{
    int ret = bdrv_flush(bs);

    if (ret == 0) {
        ret = qcow2_mark_clean(bs);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to make the image clean");
    }
    return ret;
}

/* The refusals of a downgrade that need no image scan, QEMU's order. */
static int check_downgrade(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t incompat;
    int ret;

    if (s->refcount_order != 4) {
        error_setg(errp, "compat=0.10 requires refcount_bits=16");
        return -ENOTSUP;
    }
    if (has_data_file(bs)) {
        error_setg(errp, "Cannot downgrade an image with a data file");
        return -ENOTSUP;
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (s->snapshots[i].vm_state_size > UINT32_MAX ||
            s->snapshots[i].disk_size != s->size) {
            error_setg(errp, "Internal snapshots prevent downgrade of image");
            return -ENOTSUP;
        }
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
        ret = make_clean(bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    incompat = s->incompatible_features & ~QCOW2_INCOMPAT_COMPRESSION;
    if (incompat) {
        error_setg(errp, "Cannot downgrade an image with incompatible "
                   "features 0x%" PRIx64 " set", incompat);
        return -ENOTSUP;
    }
    if (s->nb_bitmaps || !QLIST_EMPTY(&bs->dirty_bitmaps)) {
        error_setg(errp, "Cannot downgrade an image with persistent "
                   "bitmaps");
        return -ENOTSUP;
    }
    return 0;
}

static int downgrade(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t compat = s->compatible_features;
    uint64_t autoclear = s->autoclear_features;
    int ret = check_downgrade(bs, errp);

    if (ret < 0) {
        return ret;
    }
    if (s->compression_type != QCOW2_COMPRESSION_ZLIB) {
        ret = qcow2_amend_has_compressed(bs);
        if (ret != 0) {
            if (ret > 0) {
                error_setg(errp, "Cannot downgrade an image with zstd "
                           "compression type and existing compressed "
                           "clusters");
                return -ENOTSUP;
            }
            error_setg(errp, "Failed to check block status");
            return -EINVAL;
        }
    }
    ret = qcow2_amend_expand_zero_clusters(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to turn zero into data "
                         "clusters");
        return ret;
    }
    s->compatible_features = 0;
    s->autoclear_features = 0;
    s->compression_type = QCOW2_COMPRESSION_ZLIB;
    s->incompatible_features = 0;
    s->qcow_version = 2;
    ret = write_header(bs, errp);
    if (ret < 0) {
        s->qcow_version = 3;
        s->compatible_features = compat;
        s->autoclear_features = autoclear;
        return ret;
    }
    s->use_lazy_refcounts = false;
    return 0;
}

/* ---- the other options -------------------------------------------------- */

static int set_lazy_refcounts(BlockDriverState *bs, bool on, int version,
                              Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (on && version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use compat=1.1 or greater)");
        return -EINVAL;
    }
    if (!on) {
        ret = make_clean(bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    s->compatible_features ^= QCOW2_COMPAT_LAZY_REFCOUNTS;
    ret = write_header(bs, errp);
    if (ret < 0) {
        s->compatible_features ^= QCOW2_COMPAT_LAZY_REFCOUNTS;
        return ret;
    }
    s->use_lazy_refcounts = on;
    return 0;
}

static int set_refcount_bits(BlockDriverState *bs, int bits, int version,
                             Error **errp)
{
    if (version < 3 && bits != 16) {
        error_setg(errp, "Refcount widths other than 16 bits require "
                   "compatibility level 1.1 or above (use compat=1.1 or "
                   "greater)");
        return -EINVAL;
    }
    return qcow2_amend_refcount_order(bs, ctz32(bits), errp);
}

/* data_file and data_file_raw: header fields only. */
static int set_data_file(BlockDriverState *bs, const AmendRequest *req,
                         Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    if (req->data_file_raw) {
        s->autoclear_features |= QCOW2_AUTOCLEAR_DATA_RAW;
    } else {
        s->autoclear_features &= ~QCOW2_AUTOCLEAR_DATA_RAW;
    }
    if (req->data_file) {
        g_free(s->data_file_name);
        s->data_file_name = *req->data_file ? g_strdup(req->data_file)
                                            : NULL;
    }
    return write_header(bs, errp);
}

static int check_backing(BlockDriverState *bs, const AmendRequest *req,
                         Error **errp)
{
    const char *file = bs->backing_file[0] ? bs->backing_file : NULL;
    const char *fmt = bs->backing_format[0] ? bs->backing_format : NULL;

    if ((req->backing_file || req->backing_fmt) &&
        (g_strcmp0(req->backing_file, file) ||
         g_strcmp0(req->backing_fmt, fmt))) {
        error_setg(errp, "Cannot amend the backing file");
        error_append_hint(errp, "You can use 'qemu-img rebase' instead.\n");
        return -EINVAL;
    }
    return 0;
}

static int resize(BlockDriverState *bs, uint64_t size, Error **errp)
{
    int ret = bdrv_truncate(bs, size);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not resize the image");
    }
    return ret;
}

int qcow2_amend_options(BlockDriverState *bs, QEMUOptionParameter *opts,
                        Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    AmendRequest req;
    int old_version = s->qcow_version;
    int ret = parse_request(bs, opts, &req, errp);

    if (ret == 0 && req.version > old_version) {
        ret = upgrade(bs, errp);
    }
    if (ret == 0 && req.refcount_bits != s->refcount_bits) {
        ret = set_refcount_bits(bs, req.refcount_bits, req.version, errp);
    }
    if (ret == 0 && (req.data_file ||
                     req.data_file_raw != data_file_is_raw(bs))) {
        ret = set_data_file(bs, &req, errp);
    }
    if (ret == 0) {
        ret = check_backing(bs, &req, errp);
    }
    if (ret == 0 && req.lazy_refcounts != s->use_lazy_refcounts) {
        ret = set_lazy_refcounts(bs, req.lazy_refcounts, req.version, errp);
    }
    if (ret == 0 && req.size) {
        ret = resize(bs, req.size, errp);
    }
    if (ret == 0 && req.version < old_version) {
        ret = downgrade(bs, errp);
    }
    return ret;
}
