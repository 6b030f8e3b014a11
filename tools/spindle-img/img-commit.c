/*
 * commit: "commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p]
 * [--image-opts] filename".
 *
 * Writes the data allocated in the image (and in the images between it
 * and base) into base — its backing file by default, or the image named
 * by -b further down the chain — then empties the image unless -d.  As
 * in qemu-img 7.2, -b implies -d (the image still names its old backing
 * file, whose data would otherwise go missing from under it), a base
 * shorter than the image grows, and a format that cannot be emptied is
 * left as it is.
 *
 * The backing chain is opened read-only; base is closed and reopened
 * read-write in its node, so the chain above it keeps pointing at it and
 * only one handle (and one set of image locks) per file exists.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

#define COMMIT_CHUNK_SECTORS ((2 << 20) >> BDRV_SECTOR_BITS)

static const char commit_usage[] =
"Usage: spindle-img commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] "
"[--progress=human|json] [--image-opts] filename\n"
"Write the image's data into its backing file (or into base, further\n"
"down the chain; -b implies -d) and empty the image unless -d.\n";

/* Does @name name @bs's file (as given, or the same file on disk)? */
static bool names_node(BlockDriverState *bs, const char *name)
{
    g_autofree char *a = NULL, *b = NULL;

    if (!strcmp(bs->filename, name)) {
        return true;
    }
    a = realpath(bs->filename, NULL);
    b = realpath(name, NULL);
    return a && b && !strcmp(a, b);
}

/* The node of the chain below @top named @base, or the backing node. */
static BlockDriverState *find_base(BlockDriverState *top, const char *file,
                                   const char *base)
{
    if (!base) {
        if (!top->backing_hd) {
            img_error("Image does not have a backing file");
        }
        return top->backing_hd;
    }
    for (BlockDriverState *bs = top->backing_hd; bs; bs = bs->backing_hd) {
        if (names_node(bs, base)) {
            return bs;
        }
    }
    img_error("Did not find '%s' in the backing chain of '%s'", base, file);
    return NULL;
}

/* Close the read-only @bs and open the same file read-write in it. */
static bool reopen_rw(BlockDriverState *bs)
{
    g_autofree char *filename = g_strdup(bs->filename);
    BlockDriver *drv = bs->drv;
    int flags = (bs->open_flags | BDRV_O_RDWR) & ~BDRV_O_FORCE_SHARE;
    Error *err = NULL;

    bdrv_close(bs);
    if (bdrv_open(bs, filename, flags, drv, &err) < 0) {
        img_error("Could not reopen '%s' read-write: %s", filename,
                  error_get_pretty(err));
        error_free(err);
        return false;
    }
    return true;
}

typedef struct CommitCopy {
    BlockDriverState *top, *base;
    uint8_t *buf;
} CommitCopy;

/* Copy one extent allocated above base into base. */
static int copy_extent(void *opaque, int64_t sector, int n, bool allocated)
{
    CommitCopy *c = opaque;
    int ret;

    if (!allocated) {
        return 0;
    }
    ret = bdrv_read(c->top, sector, c->buf, n);
    return ret < 0 ? ret : bdrv_write(c->base, sector, c->buf, n);
}

static int commit_to(BlockDriverState *top, BlockDriverState *base)
{
    int64_t top_len = bdrv_getlength(top);
    int64_t base_len = bdrv_getlength(base);
    CommitCopy c = { top, base };
    int ret;

    if (top_len < 0 || base_len < 0) {
        return top_len < 0 ? top_len : base_len;
    }
    if (base_len < top_len) {
        ret = bdrv_truncate(base, top_len);
        if (ret < 0) {
            return ret;
        }
    }
    c.buf = qemu_blockalign(top, COMMIT_CHUNK_SECTORS * BDRV_SECTOR_SIZE);
    ret = img_walk_extents(top, base, COMMIT_CHUNK_SECTORS, copy_extent, &c);
    qemu_vfree(c.buf);
    return ret < 0 ? ret : bdrv_flush(base);
}

static int do_commit(BlockDriverState *top, const char *file,
                     const char *base_name, bool drop, ProgressMode progress)
{
    BlockDriverState *base = find_base(top, file, base_name);
    int ret;

    if (!base || !reopen_rw(base)) {
        return EXIT_FAILURE;
    }
    progress_start(progress, bdrv_getlength(top));
    ret = commit_to(top, base);
    progress_finish(ret >= 0);
    if (ret < 0) {
        img_error("Error while committing image: %s", strerror(-ret));
        return EXIT_FAILURE;
    }
    if (!drop) {
        ret = bdrv_make_empty(top);
        if (ret < 0 && ret != -ENOTSUP) {
            img_error("Could not empty %s: %s", file, strerror(-ret));
            return EXIT_FAILURE;
        }
    }
    return EXIT_SUCCESS;
}

enum { OPT_IMAGE_OPTS = 256, OPT_PROGRESS };

static const struct option commit_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "progress", required_argument, NULL, OPT_PROGRESS },
    { NULL },
};

int img_commit(int argc, char **argv)
{
    ToolOpenSpec spec = { .flags = BDRV_O_RDWR };
    const char *base = NULL;
    ProgressMode progress = PROGRESS_OFF;
    bool quiet = false, drop = false;
    BlockDriverState *bs;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:t:b:dpqr:", commit_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(commit_usage);
        case 'f': spec.format = optarg; break;
        case 't': spec.cache = optarg; break;
        case 'b': base = optarg; drop = true; break;
        case 'd': drop = true; break;
        case 'p': progress = PROGRESS_HUMAN; break;
        case 'q': quiet = true; break;
        case 'r': break;    /* rate limit: a one-shot copy ignores it */
        case OPT_IMAGE_OPTS: spec.image_opts = true; break;
        case OPT_PROGRESS:
            if (!img_parse_progress(optarg, &progress)) {
                return EXIT_FAILURE;
            }
            break;
        default:
            img_error("Invalid option; try 'spindle-img commit --help'");
            return EXIT_FAILURE;
        }
    }
    bs = img_open_one(argc, argv, &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    ret = do_commit(bs, argv[optind], base, drop,
                    progress_choose_mode(progress, quiet));
    if (ret == EXIT_SUCCESS) {
        img_qprintf(quiet, "Image committed.\n");
    }
    bdrv_unref(bs);
    return ret;
}
