/*
 * dd: "dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size]
 * [count=blocks] [skip=blocks] if=input of=output".
 *
 * Copies an image, or a range of it, into a new image, dd-style, with
 * qemu-img 7.2's arithmetic: count limits the *input* to count blocks
 * from its start, skip then starts that many blocks in, so the output
 * holds min(count * bs, input size) - skip * bs bytes (never less than
 * zero).  The output is created afresh in output_fmt (default raw);
 * --image-opts and -f apply to the input only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

static const char dd_usage[] =
"Usage: spindle-img dd [--image-opts] [-U] [-p] [--progress=human|json] "
"[-f fmt] [-O output_fmt] "
"[bs=block_size] [count=blocks] [skip=blocks] if=input of=output\n"
"Copy input into a new image output of format output_fmt (default\n"
"raw); bs defaults to 512 bytes.\n";

typedef struct DdArgs {
    ToolOpenSpec in_spec;
    const char *out_fmt;
    ProgressMode progress;       /* -p / --progress (SIGUSR1 in any mode) */
    const char *in_name;
    const char *out_name;
    int64_t bs;
    int64_t count;          /* < 0: all */
    int64_t skip;
} DdArgs;

/* "bs", "count" or "skip" = @value; false after an error message. */
static bool parse_number(const char *name, const char *value, int64_t *out)
{
    int64_t n = cvtnum(value);

    if (n < 0) {
        img_error("Invalid %s specified. You may use k, M, G, T, P or E "
                  "suffixes for kilobytes, megabytes, gigabytes, terabytes, "
                  "petabytes and exabytes.", name);
        return false;
    }
    if (!strcmp(name, "bs") && (n < 1 || n > INT_MAX)) {
        img_error("Invalid bs specified. Must be between 1 and %d.",
                  INT_MAX);
        return false;
    }
    *out = n;
    return true;
}

static bool parse_operand(DdArgs *a, const char *arg)
{
    const char *eq = strchr(arg, '=');
    g_autofree char *key = eq ? g_strndup(arg, eq - arg) : NULL;

    if (!key) {
        img_error("unrecognized operand %s", arg);
        return false;
    }
    if (!strcmp(key, "if")) {
        a->in_name = eq + 1;
    } else if (!strcmp(key, "of")) {
        a->out_name = eq + 1;
    } else if (!strcmp(key, "bs") || !strcmp(key, "count") ||
               !strcmp(key, "skip")) {
        int64_t *dst = key[0] == 'b' ? &a->bs
                       : key[0] == 'c' ? &a->count : &a->skip;
        return parse_number(key, eq + 1, dst);
    } else {
        img_error("unrecognized operand %s", key);
        return false;
    }
    return true;
}

/* Bytes of input to read from, and the end of the range. */
static void dd_range(const DdArgs *a, int64_t in_len, int64_t *start,
                     int64_t *end)
{
    *end = in_len;
    if (a->count >= 0 && a->count <= INT64_MAX / a->bs &&
        a->count * a->bs < in_len) {
        *end = a->count * a->bs;
    }
    if (a->skip > INT64_MAX / a->bs || a->skip * a->bs > *end) {
        *start = *end;
    } else {
        *start = a->skip * a->bs;
    }
}

static BlockDriverState *create_output(const DdArgs *a, int64_t size)
{
    BlockDriver *drv = bdrv_find_format(a->out_fmt);
    ToolOpenSpec spec = { .format = a->out_fmt, .flags = BDRV_O_RDWR };
    QEMUOptionParameter *opts;
    Error *err = NULL;
    int ret;

    if (!drv) {
        img_error("Unknown file format");
        return NULL;
    }
    opts = append_option_parameters(NULL, drv->create_options);
    set_option_parameter_int(opts, BLOCK_OPT_SIZE, size, NULL);
    ret = bdrv_create(drv, a->out_name, opts, &err);
    free_option_parameters(opts);
    if (ret < 0) {
        img_error("%s: error while creating output image: %s", a->out_name,
                  error_get_pretty(err));
        error_free(err);
        return NULL;
    }
    return img_open(a->out_name, &spec);
}

static int copy_blocks(const DdArgs *a, BlockDriverState *in,
                       BlockDriverState *out, int64_t start, int64_t end)
{
    uint8_t *buf = qemu_blockalign(in, a->bs);
    int64_t out_pos = 0;
    int ret = 0;

    progress_start(progress_choose_mode(a->progress, false), end - start);
    for (int64_t pos = start; pos < end && ret >= 0; pos += a->bs) {
        int n = MIN(a->bs, end - pos);

        ret = bdrv_pread(in, pos, buf, n);
        if (ret < 0) {
            img_error("error while reading from input image file: %s",
                      strerror(-ret));
            break;
        }
        ret = bdrv_pwrite(out, out_pos, buf, n);
        if (ret < 0) {
            img_error("error while writing to output image file: %s",
                      strerror(-ret));
        }
        out_pos += n;
        progress_add(n);
    }
    progress_finish(ret >= 0);
    qemu_vfree(buf);
    return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int do_dd(const DdArgs *a)
{
    BlockDriverState *in, *out;
    int64_t len, start, end;
    int ret = EXIT_FAILURE;

    in = img_open(a->in_name, &a->in_spec);
    if (!in) {
        return EXIT_FAILURE;
    }
    len = bdrv_getlength(in);
    if (len < 0) {
        img_error("Failed to get size for '%s'", a->in_name);
        goto out_in;
    }
    dd_range(a, len, &start, &end);
    out = create_output(a, end - start);
    if (out) {
        ret = copy_blocks(a, in, out, start, end);
        if (ret == EXIT_SUCCESS && bdrv_flush(out) < 0) {
            img_error("error while flushing the output image");
            ret = EXIT_FAILURE;
        }
        bdrv_unref(out);
    }
out_in:
    bdrv_unref(in);
    return ret;
}

enum { OPT_IMAGE_OPTS = 256, OPT_PROGRESS };

static const struct option dd_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "progress", required_argument, NULL, OPT_PROGRESS },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "force-share", no_argument, NULL, 'U' },
    { NULL },
};

int img_dd(int argc, char **argv)
{
    DdArgs a = { .out_fmt = "raw", .bs = 512, .count = -1 };
    int c;

    while ((c = getopt_long(argc, argv, "hf:O:Up", dd_opts, NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(dd_usage);
        case 'f': a.in_spec.format = optarg; break;
        case 'O': a.out_fmt = optarg; break;
        case 'U': a.in_spec.flags |= BDRV_O_FORCE_SHARE; break;
        case 'p': a.progress = PROGRESS_HUMAN; break;
        case OPT_PROGRESS:
            if (!img_parse_progress(optarg, &a.progress)) {
                return EXIT_FAILURE;
            }
            break;
        case OPT_IMAGE_OPTS: a.in_spec.image_opts = true; break;
        default:
            img_error("Invalid option; try 'spindle-img dd --help'");
            return EXIT_FAILURE;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (!parse_operand(&a, argv[i])) {
            return EXIT_FAILURE;
        }
    }
    if (!a.in_name || !a.out_name) {
        img_error("Must specify both input and output files");
        return EXIT_FAILURE;
    }
    return do_dd(&a);
}
