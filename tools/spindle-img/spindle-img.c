/*
 * spindle-img: create, inspect, check, compare, map, copy, resize, commit,
 * rebase, snapshot, measure, amend and benchmark disk images.
 *
 * The subcommands, their options, output (human and --output=json) and
 * exit codes follow qemu-img 7.2, so scripts written for it keep working.
 * This file only dispatches; each subcommand has a file of its own.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

static const struct {
    const char *name;
    ImgCmdFunc *fn;
    const char *synopsis;
} img_cmds[] = {
    { "amend", img_amend,
      "amend [-p] [-q] [-f fmt] [-t cache] [--force] [--image-opts] "
      "-o options filename" },
    { "bench", img_bench,
      "bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [-n] "
      "[--no-drain] [-o offset] [--pattern=N] [-q] [-s size] [-S step] "
      "[-t cache] [-i aio] [-w] [-U] [--image-opts] filename" },
    { "check", img_check,
      "check [-q] [-f fmt] [--output=human|json] [-r [leaks | all]] "
      "[-T src_cache] [-U] [--image-opts] filename" },
    { "commit", img_commit,
      "commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] [--image-opts] "
      "filename" },
    { "compare", img_compare,
      "compare [-f fmt] [-F fmt] [-q] [-s] [-U] filename1 filename2" },
    { "convert", img_convert,
      "convert [--image-opts] [--target-image-opts] [--target-is-zero] "
      "[-U] [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] "
      "[-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] "
      "[-l snapshot_param] [-S sparse_size] [-m num_coroutines] [-W] "
      "filename [filename2 [...]] output_filename" },
    { "create", img_create,
      "create [-q] [-f fmt] [-o options] filename [size]" },
    { "dd", img_dd,
      "dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size] "
      "[count=blocks] [skip=blocks] if=input of=output" },
    { "info", img_info,
      "info [-f fmt] [--output=human|json] [-U] [--image-opts] filename" },
    { "map", img_map,
      "map [-f fmt] [--output=human|json] [-U] [--image-opts] filename" },
    { "measure", img_measure,
      "measure [--output=human|json] [-O output_fmt] [-o options] "
      "[--size N | [-f fmt] [-l snapshot_param] [--image-opts] filename]" },
    { "snapshot", img_snapshot,
      "snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] [-U] "
      "[--image-opts] filename" },
    { "rebase", img_rebase,
      "rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] [-U] "
      "-b backing_file [-F backing_fmt] [--image-opts] filename" },
    { "resize", img_resize,
      "resize [-f fmt] [--shrink] [-q] [--image-opts] filename "
      "[+ | -]size" },
};

void img_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
}

BlockDriverState *img_open(const char *name, const ToolOpenSpec *spec)
{
    Error *err = NULL;
    BlockDriverState *bs = tool_open_image(name, spec, &err);

    if (!bs) {
        img_error("%s", error_get_pretty(err));
        error_free(err);
    }
    return bs;
}

void img_qprintf(bool quiet, const char *fmt, ...)
{
    va_list ap;

    if (!quiet) {
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }
}

BlockDriverState *img_open_one(int argc, char **argv, const ToolOpenSpec *spec)
{
    if (argc - optind != 1) {
        img_error("Expecting one image file name");
        return NULL;
    }
    return img_open(argv[optind], spec);
}

int img_walk_extents(BlockDriverState *top, BlockDriverState *base,
                     int chunk, ImgExtentFunc *fn, void *opaque)
{
    int64_t total = top->total_sectors;

    for (int64_t sector = 0; sector < total;) {
        int n = MIN(total - sector, chunk), pnum;
        int ret = bdrv_is_allocated_above(top, base, sector, n, &pnum);

        if (ret >= 0) {
            pnum = MAX(pnum, 1);
            ret = fn(opaque, sector, pnum, ret);
        }
        if (ret < 0) {
            return ret;
        }
        sector += pnum;
        progress_set(sector * BDRV_SECTOR_SIZE);
    }
    return 0;
}

bool img_parse_progress(const char *arg, ProgressMode *mode)
{
    if (!progress_parse_mode(arg, mode)) {
        img_error("--progress must be human, json or off");
        return false;
    }
    return true;
}

void img_print_create_options(BlockDriver *drv)
{
    printf("Supported %s options:\n", drv->format_name);
    print_option_help(stdout, drv->create_options);
    printf("\nThe protocol level may support further options.\n"
           "Specify the target filename to include those options.\n");
}

int img_help(const char *text)
{
    printf("%s", text);
    return EXIT_SUCCESS;
}

/* The first key of @str not in @list ("a=1,b,c=x,,y": a, b, c), or
 * NULL.  g_free it. */
static char *unknown_key(const char *str, QEMUOptionParameter *list)
{
    const char *p = str;

    while (*p) {
        size_t len = strcspn(p, "=,");
        g_autofree char *key = g_strndup(p, len);

        if (!get_option_parameter(list, key)) {
            return g_steal_pointer(&key);
        }
        p += len;
        while (*p == '=' || (*p && *p != ',') || (p[0] == ',' &&
                                                  p[1] == ',')) {
            p += p[0] == ',' ? 2 : 1;
        }
        p += *p == ',';
    }
    return NULL;
}

QEMUOptionParameter *img_parse_options(const char *str,
                                       QEMUOptionParameter *list,
                                       bool *help)
{
    g_autofree char *bad = NULL;
    QEMUOptionParameter *parsed;
    Error *err = NULL;

    *help = !strcmp(str, "help") || !strcmp(str, "?");
    if (*help) {
        return NULL;
    }
    bad = unknown_key(str, list);
    if (bad) {
        img_error("Invalid parameter '%s'", bad);
        return NULL;
    }
    parsed = parse_option_parameters(str, list, NULL, NULL, &err);
    if (!parsed) {
        img_error("%s", error_get_pretty(err));
        error_free(err);
    }
    return parsed;
}

void img_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

enum { OPT_OUTPUT = 256, OPT_IMAGE_OPTS, OPT_BACKING_CHAIN };

static const struct option query_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "force-share", no_argument, NULL, 'U' },
    { "format", required_argument, NULL, 'f' },
    { "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
    { NULL },
};

const char *img_parse_query_args(int argc, char **argv, const char *usage,
                                 ToolOpenSpec *spec, bool *json,
                                 bool *backing_chain, int *status)
{
    const char *output = "human";
    int c;

    *status = EXIT_FAILURE;
    while ((c = getopt_long(argc, argv, "hf:U", query_opts, NULL)) != -1) {
        switch (c) {
        case 'h': *status = img_help(usage); return NULL;
        case 'f': spec->format = optarg; break;
        case 'U': spec->flags |= BDRV_O_FORCE_SHARE; break;
        case OPT_OUTPUT: output = optarg; break;
        case OPT_IMAGE_OPTS: spec->image_opts = true; break;
        case OPT_BACKING_CHAIN:
            if (backing_chain) {
                *backing_chain = true;
                break;
            }
            /* fall through */
        default:
            img_error("Invalid option; try 'spindle-img %s --help'", argv[0]);
            return NULL;
        }
    }
    if (strcmp(output, "human") && strcmp(output, "json")) {
        img_error("--output must be used with human or json as argument.");
        return NULL;
    }
    if (argc - optind != 1) {
        img_error("Expecting one image file name");
        return NULL;
    }
    *json = !strcmp(output, "json");
    return argv[optind];
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: spindle-img [-h|--help] [-V|--version] "
            "command [command options]\n"
            "Disk image utility, command-line compatible with qemu-img.\n\n"
            "Commands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(img_cmds); i++) {
        fprintf(out, "  %s\n", img_cmds[i].synopsis);
    }
    fprintf(out, "\n'spindle-img COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    const char *cmd;

    tool_init("spindle-img");
    if (!tool_take_objects(&argc, argv)) {
        return EXIT_FAILURE;
    }
    opterr = 0;     /* subcommands print their own one-line errors */
    if (argc < 2) {
        img_error("Not enough arguments; try 'spindle-img --help'");
        return EXIT_FAILURE;
    }
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("spindle-img version 0.1.0\n");
        return EXIT_SUCCESS;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(img_cmds); i++) {
        if (!strcmp(cmd, img_cmds[i].name)) {
            return img_cmds[i].fn(argc - 1, argv + 1);
        }
    }
    img_error("Command not found: %s", cmd);
    return EXIT_FAILURE;
}
