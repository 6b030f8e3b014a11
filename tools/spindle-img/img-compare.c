/*
 * compare: "compare [-f fmt] [-F fmt] [-q] [-s] [-U] [--image-opts] file1
 * file2" (--image-opts: both names are option strings).
 *
 * Compares what a guest would read: the common length byte by byte (in
 * 512-byte sectors, reporting the first sector that differs, as qemu-img
 * does), then checks that the longer image reads as zeroes past the end
 * of the shorter.  -s (strict) also fails on a size difference or where
 * the block status of the two chains differs (data, zero, allocation,
 * host offset known, compressed, reaching the end), as qemu-img does.
 * Exit status: 0 identical, 1 different, 2 error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

#define CMP_CHUNK (1 << 20)

enum { CMP_SAME = 0, CMP_DIFFERENT = 1, CMP_ERROR = 2 };

static const char compare_usage[] =
"Usage: spindle-img compare [-f fmt] [-F fmt] [-q] [-s] [-U] [--image-opts] "
"filename1 filename2\n"
"Check whether two images have the same content.\n"
"Exit status: 0 identical, 1 different, 2 error.\n";

typedef struct CmpImage {
    const char *name;
    BlockDriverState *bs;
    int64_t len;
} CmpImage;

static bool quiet;

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;

    if (!quiet) {
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }
}

static int read_chunk(CmpImage *img, int64_t offset, uint8_t *buf, int len)
{
    int ret = bdrv_pread(img->bs, offset, buf, len);

    if (ret < 0) {
        img_error("Error while reading offset %" PRId64 " of %s: %s",
                  offset, img->name, strerror(-ret));
    }
    return ret;
}

/* Offset within @len of the first 512-byte sector where @a and @b differ
 * (@b NULL: where @a is not zero), or -1. */
static int64_t first_difference(const uint8_t *a, const uint8_t *b, int len)
{
    static const uint8_t zeroes[BDRV_SECTOR_SIZE];

    for (int i = 0; i < len; i += BDRV_SECTOR_SIZE) {
        int n = MIN(len - i, (int)BDRV_SECTOR_SIZE);
        if (memcmp(a + i, b ? b + i : zeroes, n)) {
            return i;
        }
    }
    return -1;
}

/* qemu's BDRV_BLOCK_EOF: the status run reaches the end of the image. */
#define CMP_STATUS_EOF 0x20
#define CMP_STATUS_MASK (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO | \
                         BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED | \
                         BDRV_BLOCK_COMPRESSED)

/*
 * The block status of @img's whole chain at @offset, as qemu-img's
 * bdrv_block_status_above gives it: the first node from the top that
 * holds the range decides (past the end of a shorter backing file the
 * range reads as allocated zeroes), and the run that reaches the end of
 * the image is marked CMP_STATUS_EOF.  Sets *@pnum; flags or -errno.
 */
static int chain_status(CmpImage *img, int64_t offset, int64_t *pnum)
{
    BlockDriverState *bs = img->bs;
    int64_t bytes = img->len - offset;
    int ret;

    for (;;) {
        ret = bdrv_block_status(bs, offset, bytes, pnum, NULL, NULL);
        if (ret < 0) {
            return ret;
        }
        if (!*pnum) {
            *pnum = bytes;
            ret = BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
            break;
        }
        if ((ret & BDRV_BLOCK_ALLOCATED) || !bdrv_backing(bs)) {
            break;
        }
        bytes = *pnum;
        bs = bdrv_backing(bs);
    }
    ret &= CMP_STATUS_MASK;
    return offset + *pnum == img->len ? ret | CMP_STATUS_EOF : ret;
}

/*
 * Strict mode: where in [@offset, +@len) does the two images' block
 * status first differ (the whole flags, not only the allocation, as
 * qemu-img compares them)?  CMP_SAME, CMP_DIFFERENT with *@where set,
 * or CMP_ERROR after a message.
 */
static int status_difference(CmpImage *a, CmpImage *b, int64_t offset,
                             int len, int64_t *where)
{
    for (int64_t end = offset + len; offset < end; ) {
        int64_t na, nb;
        int ra = chain_status(a, offset, &na);
        int rb = chain_status(b, offset, &nb);

        if (ra < 0 || rb < 0) {
            img_error("Could not get the allocation status: %s",
                      strerror(-(ra < 0 ? ra : rb)));
            return CMP_ERROR;
        }
        if (ra != rb) {
            *where = offset;
            return CMP_DIFFERENT;
        }
        offset += MIN(na, nb);
    }
    return CMP_SAME;
}

static int compare_common(CmpImage *a, CmpImage *b, int64_t len,
                          bool strict, uint8_t *buf1, uint8_t *buf2)
{
    for (int64_t off = 0; off < len; off += CMP_CHUNK) {
        int n = MIN(len - off, CMP_CHUNK);
        int64_t diff, status_at = 0;
        int status = strict ? status_difference(a, b, off, n, &status_at)
                            : CMP_SAME;

        if (status == CMP_ERROR || read_chunk(a, off, buf1, n) < 0 ||
            read_chunk(b, off, buf2, n) < 0) {
            return CMP_ERROR;
        }
        diff = first_difference(buf1, buf2, n);
        /* qemu-img walks status runs: the earlier finding is reported */
        if (status == CMP_DIFFERENT && (diff < 0 || off + diff >= status_at)) {
            say("Strict mode: Offset %" PRId64 " block status mismatch!\n",
                status_at);
            return CMP_DIFFERENT;
        }
        if (diff >= 0) {
            say("Content mismatch at offset %" PRId64 "!\n", off + diff);
            return CMP_DIFFERENT;
        }
    }
    return CMP_SAME;
}

/* The part of @img past @from must read as zeroes. */
static int check_tail_zero(CmpImage *img, int64_t from, uint8_t *buf)
{
    for (int64_t off = from; off < img->len; off += CMP_CHUNK) {
        int n = MIN(img->len - off, CMP_CHUNK);
        int64_t diff;

        if (read_chunk(img, off, buf, n) < 0) {
            return CMP_ERROR;
        }
        diff = first_difference(buf, NULL, n);
        if (diff >= 0) {
            say("Content mismatch at offset %" PRId64 "!\n", off + diff);
            return CMP_DIFFERENT;
        }
    }
    return CMP_SAME;
}

static int compare_images(CmpImage *a, CmpImage *b, bool strict)
{
    int64_t common = MIN(a->len, b->len);
    uint8_t *buf1, *buf2;
    int ret;

    if (strict && a->len != b->len) {
        say("Strict mode: Image size mismatch!\n");
        return CMP_DIFFERENT;
    }
    buf1 = qemu_blockalign(a->bs, CMP_CHUNK);
    buf2 = qemu_blockalign(b->bs, CMP_CHUNK);
    ret = compare_common(a, b, common, strict, buf1, buf2);
    if (ret == CMP_SAME && a->len != b->len) {
        say("Warning: Image size mismatch!\n");
        ret = check_tail_zero(a->len > b->len ? a : b, common, buf1);
    }
    if (ret == CMP_SAME) {
        say("Images are identical.\n");
    }
    qemu_vfree(buf1);
    qemu_vfree(buf2);
    return ret;
}

static bool open_cmp(CmpImage *img, const char *name, const char *fmt,
                     int flags, bool image_opts)
{
    ToolOpenSpec spec = {
        .format = fmt, .flags = flags, .image_opts = image_opts,
    };

    img->name = name;
    img->bs = img_open(name, &spec);
    if (!img->bs) {
        return false;
    }
    img->len = bdrv_getlength(img->bs);
    if (img->len < 0) {
        img_error("Can't get size of %s: %s", name, strerror(-img->len));
        return false;
    }
    return true;
}

enum { OPT_IMAGE_OPTS = 256 };

static const struct option compare_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "force-share", no_argument, NULL, 'U' },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { NULL },
};

int img_compare(int argc, char **argv)
{
    const char *fmt1 = NULL, *fmt2 = NULL;
    CmpImage a = { 0 }, b = { 0 };
    bool strict = false, image_opts = false;
    int flags = 0, c, ret = CMP_ERROR;

    while ((c = getopt_long(argc, argv, "hf:F:qsU", compare_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(compare_usage);
        case 'f': fmt1 = optarg; break;
        case 'F': fmt2 = optarg; break;
        case 'q': quiet = true; break;
        case 's': strict = true; break;
        case 'U': flags |= BDRV_O_FORCE_SHARE; break;
        case OPT_IMAGE_OPTS: image_opts = true; break;
        default:
            img_error("Invalid option; try 'spindle-img compare --help'");
            return CMP_ERROR;
        }
    }
    if (argc - optind != 2) {
        img_error("Expecting two image file names");
        return CMP_ERROR;
    }
    if (image_opts && (fmt1 || fmt2)) {
        img_error("--image-opts and --format are mutually exclusive");
        return CMP_ERROR;
    }
    /* As in qemu-img, -f alone names the format of both images. */
    if (open_cmp(&a, argv[optind], fmt1, flags, image_opts) &&
        open_cmp(&b, argv[optind + 1], fmt2 ? fmt2 : fmt1, flags,
                 image_opts)) {
        ret = compare_images(&a, &b, strict);
    }
    bdrv_unref(a.bs);
    bdrv_unref(b.bs);
    return ret;
}
