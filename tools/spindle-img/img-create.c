/*
 * create: make a new image, "create [-q] [-f fmt] [-o options] file [size]".
 *
 * Prints qemu-img's "Formatting 'file', fmt=raw size=N" line first.  The
 * -o list is parsed here into a copy of the driver's create_options (a
 * stand-in until util/qemu-option.c's parse_option_parameters is in
 * every build); "-o help" lists what the format accepts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

static const char create_usage[] =
"Usage: spindle-img create [-q] [-f fmt] [-o options] filename [size]\n"
"Create a new image of format fmt (default raw) and the given size\n"
"(bytes, or with a k, M, G, T, P or E suffix).\n"
"  -o options   comma-separated key=value options; '-o help' lists them\n"
"  -q           quiet: print nothing on success\n";

static const char *const type_names[] = {
    [OPT_FLAG] = "on/off", [OPT_NUMBER] = "num",
    [OPT_SIZE] = "size", [OPT_STRING] = "str",
};

static void list_options(const char *fmt, QEMUOptionParameter *opts)
{
    printf("Supported %s options:\n", fmt);
    for (QEMUOptionParameter *o = opts; o && o->name; o++) {
        g_autofree char *key = g_strdup_printf("%s=<%s>", o->name,
                                               type_names[o->type]);
        printf("  %-22s - %s\n", key, o->help ? o->help : "");
    }
    printf("\nThe protocol level may support further options.\n"
           "Specify the target filename to include those options.\n");
}

/* A copy of @list, terminator included, with no values assigned. */
static QEMUOptionParameter *copy_options(const QEMUOptionParameter *list)
{
    int n = 0;

    while (list && list[n].name) {
        n++;
    }
    return g_memdup2(list ? list : &(QEMUOptionParameter){ 0 },
                     sizeof(*list) * (n + 1));
}

static bool set_option(QEMUOptionParameter *list, const char *key,
                       const char *value)
{
    for (QEMUOptionParameter *o = list; o->name; o++) {
        int64_t n;

        if (strcmp(o->name, key)) {
            continue;
        }
        switch (o->type) {
        case OPT_STRING:
            o->value.s = g_strdup(value);
            break;
        case OPT_FLAG:
            o->value.n = !strcmp(value, "on") || !strcmp(value, "yes") ||
                         !strcmp(value, "true") || !*value;
            break;
        default:
            n = cvtnum(value);
            if (n < 0) {
                img_error("Parameter '%s' expects a size", key);
                return false;
            }
            o->value.n = n;
        }
        o->assigned = true;
        return true;
    }
    img_error("Invalid parameter '%s'", key);
    return false;
}

static bool parse_create_options(QEMUOptionParameter *list, const char *str)
{
    Error *err = NULL;
    g_autoptr(GHashTable) kv = tool_parse_keyval(str, &err);
    GHashTableIter it;
    gpointer k, v;

    if (!kv) {
        img_error("%s", error_get_pretty(err));
        error_free(err);
        return false;
    }
    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (!set_option(list, k, v)) {
            return false;
        }
    }
    return true;
}

static void free_options(QEMUOptionParameter *list)
{
    for (QEMUOptionParameter *o = list; o->name; o++) {
        if (o->type == OPT_STRING) {
            g_free(o->value.s);
        }
    }
    g_free(list);
}

static void print_formatting(const char *file, const char *fmt,
                             QEMUOptionParameter *list)
{
    printf("Formatting '%s', fmt=%s", file, fmt);
    for (QEMUOptionParameter *o = list; o->name; o++) {
        if (!o->assigned) {
            continue;
        }
        if (o->type == OPT_STRING) {
            printf(" %s=%s", o->name, o->value.s);
        } else if (o->type == OPT_FLAG) {
            printf(" %s=%s", o->name, o->value.n ? "on" : "off");
        } else {
            printf(" %s=%" PRIu64, o->name, o->value.n);
        }
    }
    printf("\n");
}

static int do_create(BlockDriver *drv, const char *file,
                     QEMUOptionParameter *list, bool quiet)
{
    Error *err = NULL;

    QEMUOptionParameter *size = NULL;

    for (QEMUOptionParameter *o = list; o->name; o++) {
        if (!strcmp(o->name, BLOCK_OPT_SIZE) && o->assigned) {
            size = o;
        }
    }
    if (!size) {
        img_error("Image creation needs a size parameter");
        return EXIT_FAILURE;
    }
    if (!quiet) {
        print_formatting(file, drv->format_name, list);
        fflush(stdout);
    }
    if (bdrv_create(drv, file, list, &err) < 0) {
        img_error("%s: %s", file, error_get_pretty(err));
        error_free(err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static const struct option create_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL },
};

int img_create(int argc, char **argv)
{
    const char *fmt = "raw", *options = NULL;
    QEMUOptionParameter *list;
    BlockDriver *drv;
    bool quiet = false;
    int c, ret;

    while ((c = getopt_long(argc, argv, "+hqf:o:", create_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(create_usage);
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 'o': options = optarg; break;
        default:
            img_error("Invalid option; try 'spindle-img create --help'");
            return EXIT_FAILURE;
        }
    }
    drv = bdrv_find_format(fmt);
    if (!drv) {
        img_error("Unknown file format '%s'", fmt);
        return EXIT_FAILURE;
    }
    if (options && (!strcmp(options, "help") || !strcmp(options, "?"))) {
        list_options(fmt, drv->create_options);
        return EXIT_SUCCESS;
    }
    if (optind >= argc || argc - optind > 2) {
        img_error("Expecting a filename and an optional size; try "
                  "'spindle-img create --help'");
        return EXIT_FAILURE;
    }
    list = copy_options(drv->create_options);
    if (options && !parse_create_options(list, options)) {
        free_options(list);
        return EXIT_FAILURE;
    }
    if (optind + 1 < argc) {
        int64_t size = cvtnum(argv[optind + 1]);
        if (size < 0) {
            img_error("Invalid image size specified. You may use k, M, G, "
                      "T, P or E suffixes for kilobytes, megabytes, "
                      "gigabytes, terabytes, petabytes and exabytes.");
            free_options(list);
            return EXIT_FAILURE;
        }
        set_option(list, BLOCK_OPT_SIZE, argv[optind + 1]);
    }
    ret = do_create(drv, argv[optind], list, quiet);
    free_options(list);
    return ret;
}
