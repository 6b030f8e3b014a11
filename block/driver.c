/*
 * The driver registry: which drivers exist, which one handles a
 * filename's protocol prefix, and which format the first bytes of an
 * image look like.
 *
 * Drivers are registered explicitly by bdrv_init_builtin_drivers() rather
 * than by constructors in their own files, because a program linked with
 * the static library would otherwise silently lose every driver it does
 * not name.  The list is built once, before any lookup.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <sys/stat.h>
#include "qapi/error.h"
#include "block/block_int.h"
#include "block/internal.h"

static QLIST_HEAD(, BlockDriver) bdrv_drivers =
    QLIST_HEAD_INITIALIZER(bdrv_drivers);
static GOnce builtin_once = G_ONCE_INIT;

void bdrv_register(BlockDriver *bdrv)
{
    QLIST_INSERT_HEAD(&bdrv_drivers, bdrv, list);
}

static gpointer register_builtin(gpointer unused)
{
    for (BlockDriver *const *d = bdrv_builtin_drivers; *d; d++) {
        bdrv_register(*d);
    }
    return NULL;
}

static void ensure_builtin_drivers(void)
{
    g_once(&builtin_once, register_builtin, NULL);
}

BlockDriver *bdrv_find_format(const char *format_name)
{
    BlockDriver *drv;

    ensure_builtin_drivers();
    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        if (!strcmp(drv->format_name, format_name)) {
            return drv;
        }
    }
    return NULL;
}

void bdrv_iterate_format(void (*it)(void *opaque, const char *name),
                         void *opaque)
{
    BlockDriver *drv;

    ensure_builtin_drivers();
    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        it(opaque, drv->format_name);
    }
}

/* Length of the protocol prefix of @filename ("null-co" in
 * "null-co://x"), or 0 when it is a plain path. */
static size_t protocol_prefix_len(const char *filename)
{
    const char *colon = strchr(filename, ':');
    const char *slash = strchr(filename, '/');

    if (!colon || (slash && slash < colon) || colon == filename) {
        return 0;
    }
    return colon - filename;
}

static BlockDriver *find_by_protocol(const char *name, size_t len)
{
    BlockDriver *drv;

    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        if (drv->protocol_name && strlen(drv->protocol_name) == len &&
            !strncmp(drv->protocol_name, name, len)) {
            return drv;
        }
    }
    return NULL;
}

/* The driver whose bdrv_probe_device scores @filename highest. */
static BlockDriver *find_device_driver(const char *filename)
{
    BlockDriver *drv, *best = NULL;
    int best_score = 0;

    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        if (drv->bdrv_probe_device) {
            int score = drv->bdrv_probe_device(filename);
            if (score > best_score) {
                best_score = score;
                best = drv;
            }
        }
    }
    return best;
}

BlockDriver *bdrv_find_protocol(const char *filename, Error **errp)
{
    size_t len;
    BlockDriver *drv;

    ensure_builtin_drivers();
    drv = find_device_driver(filename);
    if (drv) {
        return drv;
    }
    len = protocol_prefix_len(filename);
    if (len == 0) {
        drv = bdrv_find_format("file");
        if (!drv) {
            error_setg(errp, "no driver for plain files is built in");
        }
        return drv;
    }
    drv = find_by_protocol(filename, len);
    if (!drv) {
        error_setg(errp, "unknown protocol '%.*s' in '%s'", (int)len,
                   filename, filename);
    }
    return drv;
}

BlockDriver *bdrv_probe_format(const uint8_t *buf, int buf_size,
                               const char *filename)
{
    BlockDriver *drv, *best = NULL;
    int best_score = 0;

    ensure_builtin_drivers();
    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        if (drv->bdrv_probe) {
            int score = drv->bdrv_probe(buf, buf_size, filename);
            if (score > best_score) {
                best_score = score;
                best = drv;
            }
        }
    }
    return best;
}

static const char *const debug_event_names[BLKDBG_EVENT_MAX] = {
    [BLKDBG_READ] = "read",
    [BLKDBG_READ_AIO] = "read_aio",
    [BLKDBG_WRITE] = "write",
    [BLKDBG_WRITE_AIO] = "write_aio",
    [BLKDBG_FLUSH] = "flush",
    [BLKDBG_FLUSH_TO_OS] = "flush_to_os",
    [BLKDBG_FLUSH_TO_DISK] = "flush_to_disk",
    [BLKDBG_DISCARD] = "discard",
    [BLKDBG_WRITE_ZEROES] = "write_zeroes",
    [BLKDBG_L1_UPDATE] = "l1_update",
    [BLKDBG_L2_LOAD] = "l2_load",
    [BLKDBG_L2_UPDATE] = "l2_update",
    [BLKDBG_L2_ALLOC] = "l2_alloc",
    [BLKDBG_REFTABLE_LOAD] = "reftable_load",
    [BLKDBG_REFBLOCK_LOAD] = "refblock_load",
    [BLKDBG_REFBLOCK_UPDATE] = "refblock_update",
    [BLKDBG_CLUSTER_ALLOC] = "cluster_alloc",
    [BLKDBG_COW_READ] = "cow_read",
    [BLKDBG_COW_WRITE] = "cow_write",
};

const char *bdrv_debug_event_name(BlkDebugEvent event)
{
    if ((unsigned)event >= BLKDBG_EVENT_MAX) {
        return NULL;
    }
    return debug_event_names[event];
}

int bdrv_debug_event_from_name(const char *name)
{
    for (int i = 0; i < BLKDBG_EVENT_MAX; i++) {
        if (!strcmp(debug_event_names[i], name)) {
            return i;
        }
    }
    return -1;
}

void bdrv_debug_event(BlockDriverState *bs, BlkDebugEvent evt)
{
    if (bs && bs->drv && bs->drv->bdrv_debug_event) {
        bs->drv->bdrv_debug_event(bs, evt);
    }
}
