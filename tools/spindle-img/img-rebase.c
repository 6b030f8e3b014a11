/*
 * rebase: "rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] [-U]
 * -b backing_file [-F backing_fmt] [--image-opts] filename".
 *
 * Points the image at a new backing file.  Safe mode (the default) keeps
 * what a guest reads unchanged: wherever the image itself has no data,
 * the old chain and the new backing file are read and the sectors that
 * differ are copied from the old chain into the image; then the header
 * changes.  -u (unsafe) changes only the header.  -b "" removes the
 * backing file (safe mode then copies all non-zero data of the old
 * chain).  A new backing file given by a relative name is relative to
 * the image's directory, as it will be when the image is opened.
 *
 * A format that cannot change its backing file is refused before any data
 * is copied, with the message qemu-img gives after copying.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

#define REBASE_CHUNK_SECTORS ((2 << 20) >> BDRV_SECTOR_BITS)

static const char rebase_usage[] =
"Usage: spindle-img rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] "
"[--progress=human|json] [-u] [-U] -b backing_file [-F backing_fmt] [--image-opts] filename\n"
"Change the backing file of an image; without -u the data that differs\n"
"between the old and the new backing file is copied into the image.\n";

typedef struct RebaseArgs {
    ToolOpenSpec spec;
    const char *src_cache;
    const char *filename;
    const char *backing;      /* NULL: remove the backing file */
    const char *backing_fmt;
    bool unsafe;
    bool force_share;         /* -U: for the backing files only */
    ProgressMode progress;
    bool quiet;
} RebaseArgs;

typedef struct RebaseBufs {
    BlockDriverState *bs, *old, *new;
    uint8_t *top;             /* what the old chain reads */
    uint8_t *new_data;        /* what the new backing file reads */
} RebaseBufs;

/* Read @n sectors of @bs at @sector; zeroes past its end or without it. */
static int read_or_zero(BlockDriverState *bs, int64_t sector, int n,
                        uint8_t *buf)
{
    int64_t have = bs ? bs->total_sectors - sector : 0;

    memset(buf, 0, n * BDRV_SECTOR_SIZE);
    if (have <= 0) {
        return 0;
    }
    return bdrv_read(bs, sector, buf, MIN(have, n));
}

/* Write the runs of sectors where @b->top and @b->new_data differ. */
static int write_differences(BlockDriverState *bs, int64_t sector, int n,
                             RebaseBufs *b)
{
    for (int i = 0; i < n;) {
        int len = 0;

        while (i + len < n && memcmp(b->top + (i + len) * BDRV_SECTOR_SIZE,
                                     b->new_data + (i + len) *
                                     BDRV_SECTOR_SIZE,
                                     BDRV_SECTOR_SIZE)) {
            len++;
        }
        if (len) {
            int ret = bdrv_write(bs, sector + i, b->top + i * BDRV_SECTOR_SIZE,
                                 len);
            if (ret < 0) {
                return ret;
            }
        }
        i += MAX(len, 1);
    }
    return 0;
}

/* Safe mode, one extent: where the image has no data of its own, copy
 * into it what would change under it. */
static int copy_extent(void *opaque, int64_t sector, int n, bool allocated)
{
    RebaseBufs *b = opaque;
    int ret;

    if (allocated) {
        return 0;
    }
    ret = read_or_zero(b->old, sector, n, b->top);
    if (ret == 0) {
        ret = read_or_zero(b->new, sector, n, b->new_data);
    }
    return ret < 0 ? ret : write_differences(b->bs, sector, n, b);
}

/* Open the new backing file as the image will find it. */
static BlockDriverState *open_new_backing(BlockDriverState *bs,
                                          const RebaseArgs *a)
{
    ToolOpenSpec spec = { .format = a->backing_fmt, .cache = a->src_cache,
                          .flags = a->force_share ? BDRV_O_FORCE_SHARE : 0 };
    g_autofree char *dir = g_path_get_dirname(bs->filename);
    g_autofree char *path = NULL;
    BlockDriverState *new;
    Error *err = NULL;

    if (g_path_is_absolute(a->backing) || strchr(a->backing, ':')) {
        path = g_strdup(a->backing);
    } else {
        path = g_build_filename(dir, a->backing, NULL);
    }
    new = tool_open_image(path, &spec, &err);
    if (!new) {
        img_error("Could not open new backing file '%s': %s", a->backing,
                  error_get_pretty(err));
        error_free(err);
    }
    return new;
}

/* Safe mode: copy into @bs what would change when @new (NULL: none)
 * replaces its backing chain. */
static int safe_copy(BlockDriverState *bs, BlockDriverState *new,
                     const RebaseArgs *a)
{
    RebaseBufs b = { .bs = bs, .old = bs->backing_hd, .new = new };
    int ret;

    b.top = qemu_blockalign(bs, REBASE_CHUNK_SECTORS * BDRV_SECTOR_SIZE);
    b.new_data = qemu_blockalign(bs, REBASE_CHUNK_SECTORS * BDRV_SECTOR_SIZE);
    progress_start(progress_choose_mode(a->progress, a->quiet),
                   bdrv_getlength(bs));
    ret = img_walk_extents(bs, bs->backing_hd, REBASE_CHUNK_SECTORS,
                           copy_extent, &b);
    progress_finish(ret >= 0);
    if (ret < 0) {
        img_error("Error while copying data for the rebase: %s",
                  strerror(-ret));
    }
    qemu_vfree(b.top);
    qemu_vfree(b.new_data);
    return ret;
}

/* Checks in qemu-img's order, then copy (safe mode) and change the
 * header.  @new is the open new backing file in safe mode, or NULL. */
static int change_backing(BlockDriverState *bs, BlockDriverState *new,
                          const RebaseArgs *a)
{
    const char *name = a->backing ? a->backing : "";
    const char *fmt = a->backing_fmt;
    int ret;

    if (!bs->drv->bdrv_change_backing_file) {
        img_error("Could not change the backing file to '%s': %s", name,
                  strerror(ENOTSUP));
        return EXIT_FAILURE;
    }
    if (!fmt && new) {
        fmt = bdrv_get_format_name(new);
    }
    if (a->unsafe && a->backing && !fmt) {
        img_error("Could not change the backing file to '%s': backing "
                  "format must be specified", name);
        return EXIT_FAILURE;
    }
    if (!a->unsafe && safe_copy(bs, new, a) < 0) {
        return EXIT_FAILURE;
    }
    ret = bdrv_change_backing_file(bs, a->backing, a->backing ? fmt : NULL);
    if (ret < 0) {
        img_error("Could not change the backing file to '%s': %s", name,
                  strerror(-ret));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static int do_rebase(BlockDriverState *bs, const RebaseArgs *a)
{
    BlockDriverState *new = NULL;
    int ret;

    if (!a->unsafe && a->backing) {
        new = open_new_backing(bs, a);
        if (!new) {
            return EXIT_FAILURE;
        }
    }
    ret = change_backing(bs, new, a);
    bdrv_unref(new);
    return ret;
}

enum { OPT_IMAGE_OPTS = 256, OPT_PROGRESS };

static const struct option rebase_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "progress", required_argument, NULL, OPT_PROGRESS },
    { "force-share", no_argument, NULL, 'U' },
    { NULL },
};

static bool parse_args(int argc, char **argv, RebaseArgs *a, int *status)
{
    bool have_b = false;
    int c;

    *status = EXIT_FAILURE;
    while ((c = getopt_long(argc, argv, "hf:F:b:upt:T:qU", rebase_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': *status = img_help(rebase_usage); return false;
        case 'f': a->spec.format = optarg; break;
        case 'F': a->backing_fmt = optarg; break;
        case 'b': a->backing = optarg; have_b = true; break;
        case 'u': a->unsafe = true; break;
        case 'p': a->progress = PROGRESS_HUMAN; break;
        case 't': a->spec.cache = optarg; break;
        case 'T': a->src_cache = optarg; break;
        case 'q': a->quiet = true; break;
        case 'U': a->force_share = true; break;
        case OPT_IMAGE_OPTS: a->spec.image_opts = true; break;
        case OPT_PROGRESS:
            if (!img_parse_progress(optarg, &a->progress)) {
                return false;
            }
            break;
        default:
            img_error("Invalid option; try 'spindle-img rebase --help'");
            return false;
        }
    }
    if (argc - optind != 1) {
        img_error("Expecting one image file name");
        return false;
    }
    if (!a->unsafe && !have_b) {
        img_error("Must specify backing file (-b) or use unsafe mode (-u)");
        return false;
    }
    if (a->backing && !*a->backing) {
        a->backing = NULL;
    }
    a->filename = argv[optind];
    return true;
}

int img_rebase(int argc, char **argv)
{
    RebaseArgs a = { .spec.flags = BDRV_O_RDWR };
    BlockDriverState *bs;
    int ret;

    if (!parse_args(argc, argv, &a, &ret)) {
        return ret;
    }
    if (a.unsafe) {
        a.spec.flags |= BDRV_O_NO_BACKING;
    }
    bs = img_open(a.filename, &a.spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    ret = do_rebase(bs, &a);
    bdrv_unref(bs);
    return ret;
}
