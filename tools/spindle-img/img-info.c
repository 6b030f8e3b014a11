/*
 * info: "info [-f fmt] [--output=human|json] [--backing-chain] [-U]
 * [--image-opts] file".
 *
 * The fields, their order and their conditions are qemu-img 7.2's
 * (qcow2 encryption included: the node's own encrypted flag, and the
 * LUKS header's parameters, which need no key).  One JSON tree per
 * image is built in the order qemu-img's JSON prints its keys; the
 * human form prints the fixed lines of bdrv_image_info_dump from the
 * same facts and dumps the "format-specific" subtree.
 * actual-size is left out when the protocol cannot tell it.  dirty-flag
 * is given when the driver chain answers bdrv_get_info, as qemu-img does:
 * a raw image over a file has it, one over null-co has not.
 *
 * Without --backing-chain the backing file is not opened (as qemu-img);
 * with it, every image of the chain follows, top first, as separate
 * human blocks or a JSON array.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block_int.h"
#include "crypto/luks.h"
#include "img.h"
#include "img-json.h"

static const char info_usage[] =
"Usage: spindle-img info [-f fmt] [--output=human|json] [--backing-chain]"
" [-U] [--image-opts] filename\n"
"Show the format, size, disk usage, backing file, snapshots and format\n"
"features of an image (--backing-chain: of every image of its chain).\n";

static ImgJson *snapshot_json(const QEMUSnapshotInfo *sn)
{
    ImgJson *o = img_json_object();

    if (sn->icount != UINT64_MAX) {
        img_json_add_int(o, "icount", sn->icount);
    }
    img_json_add_int(o, "vm-clock-nsec", sn->vm_clock_nsec % 1000000000);
    img_json_add_str(o, "name", sn->name);
    img_json_add_int(o, "date-sec", sn->date_sec);
    img_json_add_int(o, "date-nsec", sn->date_nsec);
    img_json_add_int(o, "vm-clock-sec", sn->vm_clock_nsec / 1000000000);
    img_json_add_str(o, "id", sn->id_str);
    img_json_add_int(o, "vm-state-size", sn->vm_state_size);
    return o;
}

static void add_snapshots(ImgJson *o, BlockDriverState *bs)
{
    g_autofree QEMUSnapshotInfo *sns = NULL;
    int n = bdrv_snapshot_list(bs, &sns);
    ImgJson *list;

    if (n <= 0) {
        return;
    }
    list = img_json_add(o, "snapshots", img_json_array());
    for (int i = 0; i < n; i++) {
        img_json_add(list, NULL, snapshot_json(&sns[i]));
    }
}

static ImgJson *bitmap_json(const BdrvBitmapInfo *bm)
{
    ImgJson *o = img_json_object();
    ImgJson *flags = img_json_add(o, "flags", img_json_array());

    if (bm->in_use) {
        img_json_add_str(flags, NULL, "in-use");
    }
    if (bm->autoload) {
        img_json_add_str(flags, NULL, "auto");
    }
    img_json_add_str(o, "name", bm->name);
    img_json_add_int(o, "granularity", bm->granularity);
    return o;
}

/* A LUKS key slot: iterations and stripes only for active slots. */
static ImgJson *slot_json(const QCryptoLUKSSlotInfo *si)
{
    ImgJson *o = img_json_object();

    img_json_add_bool(o, "active", si->active);
    if (si->active) {
        img_json_add_int(o, "iters", si->iters);
    }
    img_json_add_int(o, "key-offset", si->key_offset);
    if (si->active) {
        img_json_add_int(o, "stripes", si->stripes);
    }
    return o;
}

/*
 * "encrypt": the method, and for LUKS the header's parameters around
 * it; only the method when the LUKS header could not be decoded.
 */
static ImgJson *encrypt_json(const BdrvSpecificInfoQcow2 *q)
{
    const QCryptoLUKSInfo *l = q->luks;
    ImgJson *o = img_json_object();
    ImgJson *slots;

    if (!l) {
        img_json_add_str(o, "format", q->encrypt_format);
        return o;
    }
    img_json_add_str(o, "ivgen-alg", l->ivgen_alg);
    img_json_add_str(o, "hash-alg", l->hash_alg);
    img_json_add_str(o, "cipher-alg", l->cipher_alg);
    img_json_add_str(o, "uuid", l->uuid);
    img_json_add_str(o, "format", q->encrypt_format);
    img_json_add_str(o, "cipher-mode", l->cipher_mode);
    slots = img_json_add(o, "slots", img_json_array());
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        img_json_add(slots, NULL, slot_json(&l->slots[i]));
    }
    img_json_add_int(o, "payload-offset", l->payload_offset);
    img_json_add_int(o, "master-key-iters", l->master_key_iters);
    return o;
}

static ImgJson *qcow2_json(const BdrvSpecificInfoQcow2 *q)
{
    ImgJson *o = img_json_object();
    bool v3 = !strcmp(q->compat, "1.1");

    img_json_add_str(o, "compat", q->compat);
    img_json_add_str(o, "compression-type", q->compression_type);
    if (v3) {
        img_json_add_bool(o, "lazy-refcounts", q->lazy_refcounts);
    }
    if (q->nb_bitmaps) {
        ImgJson *list = img_json_add(o, "bitmaps", img_json_array());

        for (int i = 0; i < q->nb_bitmaps; i++) {
            img_json_add(list, NULL, bitmap_json(&q->bitmaps[i]));
        }
    }
    img_json_add_int(o, "refcount-bits", q->refcount_bits);
    if (q->data_file) {
        img_json_add_str(o, "data-file", q->data_file);
    }
    if (q->encrypt_format) {
        img_json_add(o, "encrypt", encrypt_json(q));
    }
    if (q->data_file) {
        img_json_add_bool(o, "data-file-raw", q->data_file_raw);
    }
    if (v3) {
        img_json_add_bool(o, "corrupt", q->corrupt);
        img_json_add_bool(o, "extended-l2", q->extended_l2);
    }
    return o;
}

/* The "data" of @bs's format-specific information, or NULL if none. */
static ImgJson *specific_data(BlockDriverState *bs)
{
    g_autoptr(BdrvSpecificInfo) info = bdrv_get_specific_info(bs);

    if (!info || strcmp(info->type, "qcow2")) {
        return NULL;
    }
    return qcow2_json(&info->u.qcow2);
}

static void add_specific(ImgJson *o, BlockDriverState *bs)
{
    ImgJson *data = specific_data(bs);
    ImgJson *spec;

    if (data) {
        spec = img_json_add(o, "format-specific", img_json_object());
        img_json_add_str(spec, "type", bdrv_get_format_name(bs));
        img_json_add(spec, "data", data);
    }
}

/* One image's facts, keys in qemu-img 7.2's JSON order. */
static ImgJson *image_json(BlockDriverState *bs, const char *name)
{
    ImgJson *o = img_json_object();
    g_autofree char *full = bdrv_get_full_backing_filename(bs);
    int64_t actual = bdrv_get_allocated_file_size(bs);
    BlockDriverInfo bdi;
    bool has_bdi = bdrv_get_info(bs, &bdi) == 0;

    if (bs->backing_file[0] && bs->backing_format[0]) {
        img_json_add_str(o, "backing-filename-format", bs->backing_format);
    }
    add_snapshots(o, bs);
    img_json_add_int(o, "virtual-size", bdrv_getlength(bs));
    img_json_add_str(o, "filename", name);
    if (has_bdi && bdi.cluster_size) {
        img_json_add_int(o, "cluster-size", bdi.cluster_size);
    }
    img_json_add_str(o, "format", bdrv_get_format_name(bs));
    if (actual >= 0) {
        img_json_add_int(o, "actual-size", actual);
    }
    add_specific(o, bs);
    if (full) {
        img_json_add_str(o, "full-backing-filename", full);
    }
    if (bs->encrypted) {
        img_json_add_bool(o, "encrypted", true);
    }
    if (full) {
        img_json_add_str(o, "backing-filename", bs->backing_file);
    }
    if (has_bdi) {
        img_json_add_bool(o, "dirty-flag", bdi.is_dirty);
    }
    return o;
}

static void print_human(BlockDriverState *bs, const char *name)
{
    g_autofree char *vsize = size_to_str(bdrv_getlength(bs));
    g_autofree char *full = bdrv_get_full_backing_filename(bs);
    int64_t actual = bdrv_get_allocated_file_size(bs);
    g_autoptr(ImgJson) spec = specific_data(bs);
    BlockDriverInfo bdi;

    printf("image: %s\nfile format: %s\n", name, bdrv_get_format_name(bs));
    printf("virtual size: %s (%" PRId64 " bytes)\n", vsize,
           bdrv_getlength(bs));
    if (actual >= 0) {
        g_autofree char *dsize = size_to_str(actual);
        printf("disk size: %s\n", dsize);
    } else {
        printf("disk size: unavailable\n");
    }
    if (bs->encrypted) {
        printf("encrypted: yes\n");
    }
    if (bdrv_get_info(bs, &bdi) == 0) {
        if (bdi.cluster_size) {
            printf("cluster_size: %d\n", bdi.cluster_size);
        }
        if (bdi.is_dirty) {
            printf("cleanly shut down: no\n");
        }
    }
    if (full) {
        printf("backing file: %s", bs->backing_file);
        if (strcmp(full, bs->backing_file)) {
            printf(" (actual path: %s)", full);
        }
        printf("\n");
        if (bs->backing_format[0]) {
            printf("backing file format: %s\n", bs->backing_format);
        }
    }
    img_print_snapshots(bs);
    if (spec) {
        printf("Format specific information:\n");
        img_json_print_human(spec, 1);
    }
}

/*
 * Print @bs (and with @chain its backing images: blank-line separated,
 * or one JSON array).  Each image is named as qemu-img names it: @file,
 * then each full backing file name.
 */
static void print_images(BlockDriverState *bs, const char *file, bool json,
                         bool chain)
{
    g_autoptr(ImgJson) list = img_json_array();
    g_autofree char *name = g_strdup(file);

    for (; bs; bs = chain ? bdrv_backing(bs) : NULL) {
        if (!json) {
            print_human(bs, name);
        } else if (chain) {
            img_json_add(list, NULL, image_json(bs, name));
        } else {
            g_autoptr(ImgJson) one = image_json(bs, name);
            img_json_print(one);
        }
        if (!json && chain && bdrv_backing(bs)) {
            printf("\n");
        }
        g_free(name);
        name = bdrv_get_full_backing_filename(bs);
    }
    if (json && chain) {
        img_json_print(list);
    }
}

int img_info(int argc, char **argv)
{
    ToolOpenSpec spec = { 0 };
    BlockDriverState *bs;
    const char *file;
    bool json, chain = false;
    int status;

    file = img_parse_query_args(argc, argv, info_usage, &spec, &json,
                                &chain, &status);
    if (!file) {
        return status;
    }
    if (!chain) {
        spec.flags |= BDRV_O_NO_BACKING;
    }
    bs = img_open(file, &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    /* --image-opts: the file's name, as qemu-img prints it when the
     * options leave the data as the file has it. */
    print_images(bs, spec.image_opts ? bs->filename : file, json, chain);
    bdrv_unref(bs);
    return EXIT_SUCCESS;
}
