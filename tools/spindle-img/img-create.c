/*
 * create: make a new image,
 *   create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u]
 *          [-o options] filename [size]
 *
 * Prints qemu-img's "Formatting 'file', fmt=F ..." line first (with the
 * options the user set, where qemu-img also lists defaults).  The -o list
 * goes through the library's option-list parser into a copy of the
 * driver's create_options; "-o help" lists what the format accepts.
 * As in qemu-img, a backing file needs its format named, and unless -u
 * it is opened (relative to the new image's folder) and must open; an
 * image without a size takes the backing file's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

static const char create_usage[] =
"Usage: spindle-img create [-q] [-f fmt] [-b backing_file [-F backing_fmt]]\n"
"                          [-u] [-o options] filename [size]\n"
"Create a new image of format fmt (default raw) and the given size\n"
"(bytes, or with a k, M, G, T, P or E suffix).\n"
"  -b file      backing file (formats that support one)\n"
"  -F fmt       format of the backing file\n"
"  -u           do not open the backing file (size must be given)\n"
"  -o options   comma-separated key=value options; '-o help' lists them\n"
"  -q           quiet: print nothing on success\n";

typedef struct CreateArgs {
    const char *fmt;
    const char *options;
    const char *backing;
    const char *backing_fmt;
    const char *file;
    const char *size;
    bool unsafe;
    bool quiet;
} CreateArgs;

/* Set @name from the command line, failing if the format lacks it. */
static bool set_param(QEMUOptionParameter *list, const char *name,
                      const char *value, const char *fmt)
{
    Error *err = NULL;

    if (!get_option_parameter(list, name)) {
        img_error("Format '%s' does not support the option '%s'", fmt, name);
        return false;
    }
    if (set_option_parameter(list, name, value, &err) < 0) {
        img_error("%s", error_get_pretty(err));
        error_free(err);
        return false;
    }
    return true;
}

/* The string value of option @name in @list, or NULL when unset. */
static const char *param_string(QEMUOptionParameter *list, const char *name)
{
    QEMUOptionParameter *p = get_option_parameter(list, name);

    return p && p->assigned ? p->value.s : NULL;
}

/*
 * The length of the backing file @name of the new image (a relative name
 * is relative to the image's folder, as the image will find it), or -1
 * with qemu-img's message.
 */
static int64_t backing_size(const CreateArgs *a, const char *name,
                            const char *fmt)
{
    g_autofree char *path = NULL;
    BlockDriver *drv = fmt ? bdrv_find_format(fmt) : NULL;
    BlockDriverState *bs;
    Error *err = NULL;
    int64_t size = -1;

    if (fmt && !drv) {
        img_error("%s: Unknown driver '%s'", a->file, fmt);
        return -1;
    }
    path = bdrv_path_combine(a->file, name);
    bs = bdrv_new("");
    if (bdrv_open(bs, path, BDRV_O_NO_BACKING | BDRV_O_FORCE_SHARE, drv,
                  &err) < 0) {
        img_error("%s: %s", a->file, error_get_pretty(err));
        error_free(err);
    } else if ((size = bdrv_getlength(bs)) < 0) {
        img_error("%s: Could not get size of '%s': %s", a->file, name,
                  strerror(-size));
    }
    bdrv_unref(bs);
    return size;
}

/*
 * qemu-img's checks of the backing file in @list, if any: a name other
 * than the image's own, a backing format, and (unless -u) a file that
 * opens, whose length goes to *@size.  False after a message.
 */
static bool check_backing(QEMUOptionParameter *list, const CreateArgs *a,
                          int64_t *size)
{
    const char *name = param_string(list, BLOCK_OPT_BACKING_FILE);
    const char *fmt = param_string(list, BLOCK_OPT_BACKING_FMT);
    const char *msg = NULL;

    if (!name) {
        return true;
    }
    if (!strcmp(name, a->file)) {
        msg = "Error: Trying to create an image with the same filename as "
              "the backing file";
    } else if (!*name) {
        msg = "Expected backing file name, got empty string";
    } else if (!a->unsafe && (*size = backing_size(a, name, fmt)) < 0) {
        return false;
    } else if (!fmt) {
        msg = "Backing file specified without backing format";
    }
    if (msg) {
        img_error("%s: %s", a->file, msg);
        return false;
    }
    return true;
}

static bool fill_size(QEMUOptionParameter *list, const CreateArgs *a)
{
    g_autofree char *from_backing = NULL;
    const char *size = a->size;
    QEMUOptionParameter *p = get_option_parameter(list, BLOCK_OPT_SIZE);
    int64_t backing = -1;

    if (!check_backing(list, a, &backing)) {
        return false;
    }
    if (!size && p && p->assigned) {
        return true;
    }
    if (!size && backing >= 0) {
        size = from_backing = g_strdup_printf("%" PRId64, backing);
    }
    if (!size) {
        img_error("%s: Image creation needs a size parameter", a->file);
        return false;
    }
    if (cvtnum(size) < 0) {
        img_error("Invalid image size specified. You may use k, M, G, "
                  "T, P or E suffixes for kilobytes, megabytes, "
                  "gigabytes, terabytes, petabytes and exabytes.");
        return false;
    }
    return set_param(list, BLOCK_OPT_SIZE, size, a->fmt);
}

/* The driver's create options filled from the command line, or NULL. */
static QEMUOptionParameter *build_options(BlockDriver *drv,
                                          const CreateArgs *a)
{
    QEMUOptionParameter *list;
    Error *err = NULL;

    list = append_option_parameters(NULL, drv->create_options);
    if (a->options) {
        list = parse_option_parameters(a->options, drv->create_options, list,
                                       NULL, &err);
        if (!list) {
            img_error("%s", error_get_pretty(err));
            error_free(err);
            return NULL;
        }
    }
    if ((a->backing &&
         !set_param(list, BLOCK_OPT_BACKING_FILE, a->backing, a->fmt)) ||
        (a->backing_fmt &&
         !set_param(list, BLOCK_OPT_BACKING_FMT, a->backing_fmt, a->fmt)) ||
        !fill_size(list, a)) {
        free_option_parameters(list);
        return NULL;
    }
    return list;
}

static int do_create(BlockDriver *drv, const CreateArgs *a,
                     QEMUOptionParameter *list)
{
    Error *err = NULL;

    if (!a->quiet) {
        printf("Formatting '%s', fmt=%s ", a->file, drv->format_name);
        print_option_parameters(stdout, list);
        printf("\n");
        fflush(stdout);
    }
    if (bdrv_create(drv, a->file, list, &err) < 0) {
        img_error("%s: %s", a->file, error_get_pretty(err));
        error_free(err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static const struct option create_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL },
};

/* Parse argv into @a; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, CreateArgs *a)
{
    int c;

    while ((c = getopt_long(argc, argv, "hqf:o:b:F:u", create_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(create_usage);
        case 'q': a->quiet = true; break;
        case 'f': a->fmt = optarg; break;
        case 'o': a->options = optarg; break;
        case 'b': a->backing = optarg; break;
        case 'F': a->backing_fmt = optarg; break;
        case 'u': a->unsafe = true; break;
        default:
            img_error("Invalid option; try 'spindle-img create --help'");
            return EXIT_FAILURE;
        }
    }
    if (a->options && (!strcmp(a->options, "help") ||
                       !strcmp(a->options, "?"))) {
        return -1;
    }
    if (optind >= argc || argc - optind > 2) {
        img_error("Expecting a filename and an optional size; try "
                  "'spindle-img create --help'");
        return EXIT_FAILURE;
    }
    a->file = argv[optind];
    a->size = optind + 1 < argc ? argv[optind + 1] : NULL;
    return -1;
}

int img_create(int argc, char **argv)
{
    CreateArgs a = { .fmt = "raw" };
    QEMUOptionParameter *list;
    BlockDriver *drv;
    int ret = parse_args(argc, argv, &a);

    if (ret >= 0) {
        return ret;
    }
    drv = bdrv_find_format(a.fmt);
    if (!drv) {
        img_error("Unknown file format '%s'", a.fmt);
        return EXIT_FAILURE;
    }
    if (a.options && (!strcmp(a.options, "help") ||
                      !strcmp(a.options, "?"))) {
        img_print_create_options(drv);
        return EXIT_SUCCESS;
    }
    if (!drv->bdrv_create) {
        img_error("Format driver '%s' does not support image creation",
                  a.fmt);
        return EXIT_FAILURE;
    }
    list = build_options(drv, &a);
    if (!list) {
        return EXIT_FAILURE;
    }
    ret = do_create(drv, &a, list);
    free_option_parameters(list);
    return ret;
}
