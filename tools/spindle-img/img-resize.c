/*
 * resize: "resize [-f fmt] [--shrink] [-q] [--image-opts] filename
 * [+|-]size".
 *
 * Grows or shrinks the image's virtual size with bdrv_truncate.  As in
 * qemu-img, a size with a sign is relative to the current size, and
 * shrinking needs --shrink because the data past the new end is lost.
 * The size is taken off the end of argv before option parsing, so that
 * "-1G" is not read as an option.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "img.h"
#include <getopt.h>

static const char resize_usage[] =
"Usage: spindle-img resize [-f fmt] [--shrink] [-q] [--image-opts] "
"filename [+|-]size\n"
"Change the virtual size of an image: an absolute size, or one relative\n"
"to the current size with + or -.  Shrinking needs --shrink.\n";

enum { OPT_SHRINK = 256, OPT_IMAGE_OPTS, OPT_PREALLOC };

static const struct option resize_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "format", required_argument, NULL, 'f' },
    { "shrink", no_argument, NULL, OPT_SHRINK },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "preallocation", required_argument, NULL, OPT_PREALLOC },
    { NULL },
};

/* Parse "[+|-]size" against @current into *@total; false after an error
 * message. */
static bool parse_new_size(const char *arg, int64_t current, int64_t *total)
{
    int sign = 0;
    int64_t n;

    if (*arg == '+' || *arg == '-') {
        sign = *arg == '+' ? 1 : -1;
        arg++;
    }
    n = cvtnum(arg);
    if (n < 0) {
        img_error("Parameter 'size' expects a non-negative number below "
                  "2^64");
        return false;
    }
    *total = sign ? current + sign * n : n;
    if (*total <= 0) {
        img_error("New image size must be positive");
        return false;
    }
    return true;
}

static int do_resize(BlockDriverState *bs, const char *size_arg,
                     bool shrink, bool quiet)
{
    int64_t current = bdrv_getlength(bs), total;
    int ret;

    if (current < 0) {
        img_error("Could not get the image size: %s", strerror(-current));
        return EXIT_FAILURE;
    }
    if (!parse_new_size(size_arg, current, &total)) {
        return EXIT_FAILURE;
    }
    if (total < current && !shrink) {
        img_error("Use the --shrink option to perform a shrink operation.");
        return EXIT_FAILURE;
    }
    ret = bdrv_truncate(bs, total);
    if (ret == -ENOTSUP) {
        img_error("Image format driver does not support resize");
        return EXIT_FAILURE;
    }
    if (ret < 0) {
        img_error("Error resizing image: %s", strerror(-ret));
        return EXIT_FAILURE;
    }
    img_qprintf(quiet, "Image resized.\n");
    return EXIT_SUCCESS;
}

int img_resize(int argc, char **argv)
{
    ToolOpenSpec spec = { .flags = BDRV_O_RDWR };
    bool shrink = false, quiet = false;
    const char *size_arg;
    BlockDriverState *bs;
    int c, ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            return img_help(resize_usage);
        }
    }
    if (argc < 3) {
        img_error("Not enough arguments");
        return EXIT_FAILURE;
    }
    size_arg = argv[--argc];
    while ((c = getopt_long(argc, argv, "+hf:q", resize_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'f': spec.format = optarg; break;
        case 'q': quiet = true; break;
        case OPT_SHRINK: shrink = true; break;
        case OPT_IMAGE_OPTS: spec.image_opts = true; break;
        case OPT_PREALLOC:
            if (strcmp(optarg, "off")) {
                img_error("Preallocation mode '%s' is not supported",
                          optarg);
                return EXIT_FAILURE;
            }
            break;
        default:
            img_error("Invalid option; try 'spindle-img resize --help'");
            return EXIT_FAILURE;
        }
    }
    if (argc - optind != 1) {
        img_error("Expecting image file name and size");
        return EXIT_FAILURE;
    }
    bs = img_open(argv[optind], &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    ret = do_resize(bs, size_arg, shrink, quiet);
    bdrv_unref(bs);
    return ret;
}
