/*
 * Node life cycle: new, open (protocol, format probing, backing chain),
 * close, references.
 *
 * Opening a format node opens its protocol node first (bs->file), reads
 * the first bytes to probe the format unless one was given, then calls
 * the format driver, and finally opens the backing file the image names.
 * A protocol driver (one with bdrv_file_open) is opened directly on the
 * filename.  Every failure unwinds completely: the node is left empty and
 * the message names the file.
 *
 * Backing chains are opened recursively, each backing node with the
 * "backing."-prefixed options of the node above (kept in
 * bs->backing_options, prefix removed); the canonical names of the
 * images being opened on this thread are remembered, so an image that is
 * (directly or indirectly) its own backing file is refused instead of
 * recursing forever.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/internal.h"
#include "util/trace.h"

#define PROBE_BUF_SIZE   2048
#define MAX_CHAIN_DEPTH  256

/* Canonical names of the images whose open is in progress (a chain). */
static __thread GSList *opening_chain;

BlockDriverState *bdrv_new(const char *device_name)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    g_strlcpy(bs->device_name, device_name ? device_name : "",
              sizeof(bs->device_name));
    bs->refcnt = 1;
    bs->aio_context = qemu_get_aio_context();
    bs->request_alignment = BDRV_SECTOR_SIZE;
    bs->buffer_alignment = BDRV_SECTOR_SIZE;
    bs->enable_write_cache = 1;
    bs->account_latency = true;
    QLIST_INIT(&bs->dirty_bitmaps);
    bdrv_init_request_queues(bs);
    bdrv_all_add(bs);
    return bs;
}

GHashTable *bdrv_options_take_prefixed(GHashTable *options,
                                       const char *prefix)
{
    GHashTable *sub = g_hash_table_new_full(g_str_hash, g_str_equal,
                                            g_free, g_free);
    GHashTableIter it;
    gpointer k, v;
    size_t len = strlen(prefix);

    if (!options) {
        return sub;
    }
    g_hash_table_iter_init(&it, options);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (!strncmp(k, prefix, len)) {
            g_hash_table_insert(sub, g_strdup((char *)k + len), g_strdup(v));
            g_hash_table_iter_remove(&it);
        }
    }
    return sub;
}

static GHashTable *copy_options(GHashTable *options)
{
    GHashTable *copy = g_hash_table_new_full(g_str_hash, g_str_equal,
                                             g_free, g_free);
    GHashTableIter it;
    gpointer k, v;

    if (options) {
        g_hash_table_iter_init(&it, options);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            g_hash_table_insert(copy, g_strdup(k), g_strdup(v));
        }
    }
    return copy;
}

/* Options the generic layer understands itself, turned into flags. */
static bool take_generic_options(GHashTable *options, int *flags,
                                 Error **errp)
{
    const char *v;

    if ((v = g_hash_table_lookup(options, "cache"))) {
        if (bdrv_parse_cache_flags(v, flags) < 0) {
            error_setg(errp, "invalid cache mode '%s'", v);
            return false;
        }
        g_hash_table_remove(options, "cache");
    }
    if ((v = g_hash_table_lookup(options, "aio"))) {
        if (bdrv_parse_aio_flags(v, flags) < 0) {
            error_setg(errp, "invalid aio mode '%s' (threads, native, auto, "
                       "io_uring)", v);
            return false;
        }
        g_hash_table_remove(options, "aio");
    }
    static const struct {
        const char *key;
        int flag;
        bool invert;
    } bools[] = {
        { "read-only", BDRV_O_RDWR, true },
        { "force-share", BDRV_O_FORCE_SHARE, false },
        { "cache.direct", BDRV_O_NOCACHE, false },
        { "cache.no-flush", BDRV_O_NO_FLUSH, false },
        { "copy-on-read", BDRV_O_COPY_ON_READ, false },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bools); i++) {
        bool on;
        if (!(v = g_hash_table_lookup(options, bools[i].key))) {
            continue;
        }
        if (parse_option_bool(bools[i].key, v, &on, errp) < 0) {
            return false;
        }
        if (on != bools[i].invert) {
            *flags |= bools[i].flag;
        } else {
            *flags &= ~bools[i].flag;
        }
        g_hash_table_remove(options, bools[i].key);
    }
    return true;
}

static bool reject_leftover_options(BlockDriverState *bs, Error **errp)
{
    GHashTableIter it;
    gpointer k;

    if (!bs->options || g_hash_table_size(bs->options) == 0) {
        return true;
    }
    g_hash_table_iter_init(&it, bs->options);
    g_hash_table_iter_next(&it, &k, NULL);
    error_setg(errp, "block driver '%s' does not support the option '%s'",
               bs->drv->format_name, (char *)k);
    return false;
}

int bdrv_refresh_total_sectors(BlockDriverState *bs, int64_t hint)
{
    BlockDriver *drv = bs->drv;

    if (drv && drv->bdrv_getlength) {
        int64_t len = drv->bdrv_getlength(bs);
        if (len < 0) {
            return len;
        }
        hint = DIV_ROUND_UP(len, BDRV_SECTOR_SIZE);
    }
    bs->total_sectors = hint;
    return 0;
}

static void free_driver_state(BlockDriverState *bs)
{
    g_free(bs->opaque);
    bs->opaque = NULL;
    bs->drv = NULL;
}

/* Call the driver's open with bs->options in place. */
static int call_driver_open(BlockDriverState *bs, BlockDriver *drv,
                            const char *filename, int flags, Error **errp)
{
    int ret;

    trace_bdrv_open(bs, filename, drv->format_name);
    bs->drv = drv;
    bs->opaque = g_malloc0(drv->instance_size ? drv->instance_size : 1);
    bs->open_flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->enable_write_cache = !!(flags & BDRV_O_CACHE_WB);
    g_strlcpy(bs->filename, filename, sizeof(bs->filename));

    bdrv_discard_driver_error();
    if (drv->bdrv_file_open) {
        ret = drv->bdrv_file_open(bs, filename, flags);
    } else if (drv->bdrv_open) {
        ret = drv->bdrv_open(bs, flags);
    } else {
        error_setg(bdrv_driver_errp(), "driver cannot open images");
        ret = -ENOTSUP;
    }
    if (ret < 0) {
        bdrv_take_driver_error(errp, ret, "could not open '%s'", filename);
        free_driver_state(bs);
        return ret;
    }
    if (!reject_leftover_options(bs, errp)) {
        if (drv->bdrv_close) {
            drv->bdrv_close(bs);
        }
        free_driver_state(bs);
        return -EINVAL;
    }
    return 0;
}

/* Run the driver's open with @options in place, then learn the size.
 * On failure the node is left without a medium. */
static int open_with_driver(BlockDriverState *bs, BlockDriver *drv,
                            const char *filename, GHashTable *options,
                            int flags, Error **errp)
{
    int ret;

    bs->options = options;
    ret = call_driver_open(bs, drv, filename, flags, errp);
    bs->options = NULL;
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_refresh_total_sectors(bs, bs->total_sectors);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "could not get the size of '%s'",
                         filename);
        bdrv_close(bs);
    }
    return ret;
}

/* Alignment and sizes a format node inherits from its protocol node. */
static void inherit_from_file(BlockDriverState *bs)
{
    if (!bs->file) {
        return;
    }
    bs->request_alignment = MAX(bs->request_alignment,
                                bs->file->request_alignment);
    bs->buffer_alignment = MAX(bs->buffer_alignment,
                               bs->file->buffer_alignment);
}

static int open_protocol(BlockDriverState *bs, const char *filename,
                         GHashTable *options, int flags, BlockDriver *drv,
                         Error **errp)
{
    if (!drv) {
        drv = bdrv_find_protocol(filename, errp);
        if (!drv) {
            return -ENOENT;
        }
    }
    return open_with_driver(bs, drv, filename, options, flags, errp);
}

static BlockDriver *probe_image(BlockDriverState *file, const char *filename,
                                Error **errp)
{
    uint8_t buf[PROBE_BUF_SIZE] = { 0 };
    int64_t len = bdrv_getlength(file);
    int n = MIN(len < 0 ? 0 : len, PROBE_BUF_SIZE);
    BlockDriver *drv;

    n &= ~(int)(BDRV_SECTOR_SIZE - 1);
    if (n > 0 && bdrv_pread(file, 0, buf, n) < 0) {
        error_setg(errp, "could not read '%s' to probe its format",
                   filename);
        return NULL;
    }
    drv = bdrv_probe_format(buf, n, filename);
    if (!drv) {
        error_setg(errp, "could not determine the image format of '%s'",
                   filename);
    }
    return drv;
}

/* Open @bs as format @drv (probed when NULL) over a new protocol node. */
static int open_format(BlockDriverState *bs, const char *filename,
                       GHashTable *options, int flags, BlockDriver *drv,
                       Error **errp)
{
    BlockDriverState *file = bdrv_new("");
    GHashTable *file_opts = bdrv_options_take_prefixed(options, "file.");
    int ret;

    bdrv_set_account_latency(file, false);
    ret = open_protocol(file, filename, file_opts, flags, NULL, errp);
    g_hash_table_unref(file_opts);
    if (ret < 0) {
        bdrv_unref(file);
        return ret;
    }
    if (!drv) {
        drv = probe_image(file, filename, errp);
        if (!drv) {
            bdrv_unref(file);
            return -EINVAL;
        }
    }
    bs->file = file;
    file->growable = 1;     /* formats may append to their file */
    inherit_from_file(bs);
    ret = open_with_driver(bs, drv, filename, options, flags, errp);
    if (ret < 0 && bs->file) {
        /* the driver failed before the node was complete */
        bs->file = NULL;
        bdrv_unref(file);
    }
    return ret;
}

static bool in_opening_chain(const char *canon)
{
    for (GSList *l = opening_chain; l; l = l->next) {
        if (!strcmp(l->data, canon)) {
            return true;
        }
    }
    return false;
}

static char *canonical_name(const char *filename)
{
    char *real = realpath(filename, NULL);
    char *ret = g_strdup(real ? real : filename);

    free(real);
    return ret;
}

char *bdrv_path_combine(const char *image, const char *name)
{
    const char *slash = strrchr(image, '/');

    if (g_path_is_absolute(name) || strchr(name, ':') || !slash) {
        return g_strdup(name);
    }
    return g_strdup_printf("%.*s%s", (int)(slash - image + 1), image, name);
}

char *bdrv_get_full_backing_filename(BlockDriverState *bs)
{
    if (!bs->backing_file[0]) {
        return NULL;
    }
    return bdrv_path_combine(bs->filename, bs->backing_file);
}

int bdrv_open_backing_file(BlockDriverState *bs, Error **errp)
{
    g_autofree char *path = NULL;
    BlockDriver *fmt = NULL;
    BlockDriverState *backing;
    int flags, ret;

    if (bs->backing_hd) {
        bdrv_unref(bs->backing_hd);
        bs->backing_hd = NULL;
    }
    if (!bs->backing_file[0]) {
        return 0;
    }
    path = bdrv_get_full_backing_filename(bs);
    if (bs->backing_format[0]) {
        fmt = bdrv_find_format(bs->backing_format);
        if (!fmt) {
            error_setg(errp, "unknown backing format '%s' of '%s'",
                       bs->backing_format, bs->filename);
            return -EINVAL;
        }
    }
    flags = bs->open_flags & ~(BDRV_O_RDWR | BDRV_O_SNAPSHOT |
                               BDRV_O_COPY_ON_READ);
    backing = bdrv_new("");
    bdrv_set_account_latency(backing, false);
    bdrv_set_aio_context(backing, bs->aio_context);
    ret = bdrv_open_options(backing, path, bs->backing_options, flags, fmt,
                            errp);
    if (ret < 0) {
        error_prepend(errp, "could not open backing file of '%s': ",
                      bs->filename);
        bdrv_unref(backing);
        return ret;
    }
    bs->backing_hd = backing;
    return 0;
}

static int open_node(BlockDriverState *bs, const char *filename,
                     GHashTable *options, int flags, BlockDriver *drv,
                     Error **errp)
{
    GHashTable *backing_opts = bdrv_options_take_prefixed(options,
                                                          "backing.");
    int ret;

    if (flags & BDRV_O_SNAPSHOT) {
        g_hash_table_unref(backing_opts);
        error_setg(errp, "snapshot mode needs the qcow2 driver, which this "
                   "build does not have yet");
        return -ENOTSUP;
    }
    if ((drv && drv->bdrv_file_open) || (flags & BDRV_O_PROTOCOL)) {
        ret = open_protocol(bs, filename, options, flags, drv, errp);
    } else {
        ret = open_format(bs, filename, options, flags, drv, errp);
    }
    if (ret < 0) {
        g_hash_table_unref(backing_opts);
        return ret;
    }
    /* Kept for reopening the chain; as in QEMU, they need a backing file. */
    bs->backing_options = backing_opts;
    if (g_hash_table_size(backing_opts) && !bs->backing_file[0] &&
        !(flags & BDRV_O_NO_BACKING)) {
        error_setg(errp, "backing options were given, but '%s' has no "
                   "backing file", filename);
        bdrv_close(bs);
        return -EINVAL;
    }
    if (!(flags & BDRV_O_NO_BACKING)) {
        ret = bdrv_open_backing_file(bs, errp);
        if (ret < 0) {
            bdrv_close(bs);
            return ret;
        }
    }
    if (flags & BDRV_O_COPY_ON_READ) {
        bdrv_enable_copy_on_read(bs);
    }
    return 0;
}

int bdrv_open_options(BlockDriverState *bs, const char *filename,
                      GHashTable *options, int flags, BlockDriver *drv,
                      Error **errp)
{
    g_autoptr(GHashTable) opts = copy_options(options);
    g_autofree char *canon = NULL;
    int ret;

    if (bs->drv) {
        error_setg(errp, "node '%s' already has a medium", bs->device_name);
        return -EBUSY;
    }
    if (!take_generic_options(opts, &flags, errp)) {
        return -EINVAL;
    }
    canon = canonical_name(filename);
    if (in_opening_chain(canon)) {
        error_setg(errp, "backing chain of '%s' loops back to itself",
                   filename);
        return -ELOOP;
    }
    if (g_slist_length(opening_chain) >= MAX_CHAIN_DEPTH) {
        error_setg(errp, "backing chain deeper than %d images at '%s'",
                   MAX_CHAIN_DEPTH, filename);
        return -ELOOP;
    }
    opening_chain = g_slist_prepend(opening_chain, canon);
    ret = open_node(bs, filename, opts, flags, drv, errp);
    opening_chain = g_slist_remove(opening_chain, canon);
    return ret;
}

int bdrv_open(BlockDriverState *bs, const char *filename, int flags,
              BlockDriver *drv, Error **errp)
{
    return bdrv_open_options(bs, filename, NULL, flags, drv, errp);
}

int bdrv_file_open(BlockDriverState **pbs, const char *filename, int flags,
                   Error **errp)
{
    BlockDriverState *bs = bdrv_new("");
    int ret = bdrv_open(bs, filename, flags | BDRV_O_PROTOCOL, NULL, errp);

    if (ret < 0) {
        bdrv_unref(bs);
        *pbs = NULL;
        return ret;
    }
    *pbs = bs;
    return 0;
}

void bdrv_close(BlockDriverState *bs)
{
    if (!bs->drv) {
        return;
    }
    trace_bdrv_close(bs);
    bdrv_drain(bs);
    bdrv_flush(bs);
    if (bs->drv->bdrv_close) {
        bs->drv->bdrv_close(bs);
    }
    free_driver_state(bs);
    if (bs->backing_hd) {
        bdrv_unref(bs->backing_hd);
        bs->backing_hd = NULL;
    }
    g_clear_pointer(&bs->backing_options, g_hash_table_unref);
    if (bs->file) {
        bdrv_unref(bs->file);
        bs->file = NULL;
    }
    if (bs->is_temporary) {
        unlink(bs->filename);
        bs->is_temporary = 0;
    }
    bs->copy_on_read = 0;
    bs->total_sectors = 0;
    bs->encrypted = bs->valid_key = 0;
    bs->backing_file[0] = bs->backing_format[0] = '\0';
    bs->request_alignment = bs->buffer_alignment = BDRV_SECTOR_SIZE;
    if (bs->dev_ops && bs->dev_ops->change_media_cb) {
        bs->dev_ops->change_media_cb(bs->dev_opaque, false);
    }
}

void bdrv_ref(BlockDriverState *bs)
{
    bs->refcnt++;
}

void bdrv_unref(BlockDriverState *bs)
{
    if (!bs) {
        return;
    }
    assert(bs->refcnt > 0);
    if (--bs->refcnt > 0) {
        return;
    }
    bdrv_close(bs);
    bdrv_io_limits_disable(bs);
    bdrv_release_all_dirty_bitmaps(bs);
    bdrv_free(bs);
}

void bdrv_delete(BlockDriverState *bs)
{
    assert(!bs->dev);
    assert(!bs->job);
    assert(!bs->in_use);
    bdrv_unref(bs);
}

void bdrv_free(BlockDriverState *bs)
{
    bdrv_all_remove(bs);
    g_free(bs);
}

void bdrv_close_all(void)
{
    for (BlockDriverState *bs = bdrv_all_next(NULL); bs;
         bs = bdrv_all_next(bs)) {
        if (bs->device_name[0]) {
            bdrv_close(bs);
        }
    }
}
