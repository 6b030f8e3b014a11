/*
 * amend: "amend [-p] [-q] [-f fmt] [-t cache] [--force] [--image-opts]
 * -o options filename".
 *
 * Changes format options of an existing image in place through the
 * driver's bdrv_amend_options.  The options are parsed against the
 * format's create options; which of them can change is the driver's
 * call.  Errors are checked in qemu-img 7.2's order: missing -o, the
 * image, a format without amendment, then the options themselves.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

static const char amend_usage[] =
"Usage: spindle-img amend [-p] [--progress=human|json] [-q] [-f fmt] [-t cache] [--force] "
"[--image-opts] -o options filename\n"
"Change format options of an existing image; '-o help' lists them.\n";

enum { OPT_IMAGE_OPTS = 256, OPT_FORCE, OPT_PROGRESS };

static const struct option amend_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "progress", required_argument, NULL, OPT_PROGRESS },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "force", no_argument, NULL, OPT_FORCE },
    { NULL },
};

static int amend_image(BlockDriverState *bs, const char *options,
                       ProgressMode progress)
{
    BlockDriver *drv = bs->drv;
    QEMUOptionParameter *opts;
    Error *err = NULL;
    bool help;
    int ret;

    if (!drv->bdrv_amend_options) {
        img_error("Format driver '%s' does not support option amendment",
                  drv->format_name);
        return EXIT_FAILURE;
    }
    opts = img_parse_options(options, drv->create_options, &help);
    if (help) {
        printf("Amend options for '%s':\n", drv->format_name);
        print_option_help(stdout, drv->create_options);
        return EXIT_SUCCESS;
    }
    if (!opts) {
        return EXIT_FAILURE;
    }
    /* The driver reports no steps: 0 % before, 100 % after. */
    progress_start(progress, 1);
    ret = bdrv_amend_options(bs, opts, &err);
    progress_finish(ret >= 0);
    free_option_parameters(opts);
    if (ret < 0) {
        error_report_err(err);      /* with the driver's hint, as qemu-img */
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

int img_amend(int argc, char **argv)
{
    ToolOpenSpec spec = { .flags = BDRV_O_RDWR };
    const char *options = NULL;
    ProgressMode progress = PROGRESS_OFF;
    bool quiet = false;
    BlockDriverState *bs;
    int c, ret;

    while ((c = getopt_long(argc, argv, "ho:f:t:pq", amend_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(amend_usage);
        case 'o': options = optarg; break;
        case 'f': spec.format = optarg; break;
        case 't': spec.cache = optarg; break;
        case 'p': progress = PROGRESS_HUMAN; break;
        case 'q': quiet = true; break;
        case OPT_IMAGE_OPTS: spec.image_opts = true; break;
        case OPT_FORCE: break;
        case OPT_PROGRESS:
            if (!img_parse_progress(optarg, &progress)) {
                return EXIT_FAILURE;
            }
            break;
        default:
            img_error("Invalid option; try 'spindle-img amend --help'");
            return EXIT_FAILURE;
        }
    }
    if (!options) {
        img_error("Must specify options (-o)");
        return EXIT_FAILURE;
    }
    bs = img_open_one(argc, argv, &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    ret = amend_image(bs, options, progress_choose_mode(progress, quiet));
    bdrv_unref(bs);
    return ret;
}
