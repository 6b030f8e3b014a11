/*
 * convert: copy one or more images (concatenated) into a new or existing
 * image, with qemu-img 7.2's options, messages and exit codes (0 or 1).
 *
 * This file parses the command line, opens the sources, creates and
 * opens the target and reports progress; the copying is convert-copy.c.
 * The target is created with the output driver's create_options, filled
 * from -o, the sources' total size and -B/-F.  If creating or opening a
 * target that did not exist fails, the file is removed again.
 *
 * Defaults as in qemu-img: output format raw, target cache unsafe (no
 * flush until the end), source cache writeback, 8 coroutines, in-order
 * writes, 4 KiB sparse detection.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "img.h"
#include "convert.h"
#include "progress.h"
#include <getopt.h>

static const char convert_usage[] =
"Usage: spindle-img convert [--image-opts] [--target-image-opts] "
"[--target-is-zero] [-U] [-c] [-p] [--progress=human|json] [-q] [-n] "
"[-f fmt] [-t cache] [-T src_cache] [-O output_fmt] "
"[-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] "
"[-C] [--aio=auto|threads|io_uring] "
"[-s snapshot] [-S sparse_size] [-m num_coroutines] [-W] "
"filename [filename2 [...]] output_filename\n"
"Convert (and concatenate) the source images into output_filename.\n"
"  -c              write compressed clusters (format must support it)\n"
"  -C              offload the copy of data (copy_file_range); data is\n"
"                  not read, so zeroes in it stay allocated; fails if the\n"
"                  images cannot offload\n"
"  -p              show progress; --progress=json prints one JSON line\n"
"                  per percent on stderr (also SPINDLE_PROGRESS=json)\n"
"  -n              do not create the target; it must exist\n"
"  -m N            N coroutines in parallel (1..16, default 8)\n"
"  -W              allow out-of-order writes\n"
"  -S size         zero runs of at least size bytes become holes\n"
"                  (default 4k; 0 writes everything)\n"
"  -t / -T cache   target (default unsafe) / source (default writeback)\n"
"  --aio=mode      file I/O of source and target: auto (default: io_uring\n"
"                  where the kernel has it, else threads), threads or\n"
"                  io_uring\n";

typedef struct ConvertArgs {
    ToolOpenSpec src_spec;
    const char *out_fmt, *out_cache, *options;
    const char *backing, *backing_fmt, *snapshot;
    bool compressed, quiet, no_create, out_of_order, target_is_zero;
    bool copy_range;            /* -C */
    bool target_image_opts;
    ProgressMode progress;
    int num_coroutines;
    int64_t min_sparse;
    char **files;               /* sources, then the target */
    int nfiles;
} ConvertArgs;

enum {
    OPT_IMAGE_OPTS = 256, OPT_TARGET_IMAGE_OPTS, OPT_TARGET_IS_ZERO,
    OPT_OBJECT, OPT_PROGRESS, OPT_AIO,
};

static const struct option convert_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "target-image-opts", no_argument, NULL, OPT_TARGET_IMAGE_OPTS },
    { "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
    { "object", required_argument, NULL, OPT_OBJECT },
    { "progress", required_argument, NULL, OPT_PROGRESS },
    { "aio", required_argument, NULL, OPT_AIO },
    { "force-share", no_argument, NULL, 'U' },
    { NULL },
};

/* ---- command line --------------------------------------------------- */

static bool parse_coroutines(ConvertArgs *a, const char *arg)
{
    int64_t n = cvtnum(arg);

    if (n < 1 || n > CONVERT_MAX_COROUTINES) {
        img_error("Invalid number of coroutines. Allowed number of "
                  "coroutines is between 1 and %d", CONVERT_MAX_COROUTINES);
        return false;
    }
    a->num_coroutines = n;
    return true;
}

static bool parse_sparse(ConvertArgs *a, const char *arg)
{
    int64_t n = cvtnum(arg);

    if (n < 0 || n % BDRV_SECTOR_SIZE || n > CONVERT_MAX_SPARSE) {
        img_error("Invalid buffer size for sparse output specified. Valid "
                  "sizes are multiples of %llu up to %d. Select 0 to "
                  "disable sparse detection (fully allocates output).",
                  BDRV_SECTOR_SIZE, CONVERT_MAX_SPARSE);
        return false;
    }
    a->min_sparse = n;
    return true;
}

/* Checked here, before the target is created. */
static bool parse_aio(ConvertArgs *a, const char *arg)
{
    int flags = 0;

    if (bdrv_parse_aio_flags(arg, &flags) < 0) {
        img_error("Invalid aio option: %s", arg);
        return false;
    }
    a->src_spec.aio = arg;
    return true;
}

/* -l takes "snapshot.name=X", "snapshot.id=X" or "X". */
static bool parse_snapshot_param(ConvertArgs *a, const char *arg)
{
    const char *v = arg;

    if (g_str_has_prefix(arg, "snapshot.name=")) {
        v = arg + strlen("snapshot.name=");
    } else if (g_str_has_prefix(arg, "snapshot.id=")) {
        v = arg + strlen("snapshot.id=");
    } else if (strchr(arg, '=')) {
        img_error("Invalid snapshot parameter '%s'", arg);
        return false;
    }
    a->snapshot = v;
    return true;
}

static bool convert_option(ConvertArgs *a, int c)
{
    switch (c) {
    case 'f': a->src_spec.format = optarg; return true;
    case 'O': a->out_fmt = optarg; return true;
    case 'B': a->backing = optarg; return true;
    case 'F': a->backing_fmt = optarg; return true;
    case 'o': a->options = optarg; return true;
    case 't': a->out_cache = optarg; return true;
    case 'T': a->src_spec.cache = optarg; return true;
    case 'c': a->compressed = true; return true;
    case 'C': a->copy_range = true; return true;
    case 'p': a->progress = PROGRESS_HUMAN; return true;
    case 'q': a->quiet = true; return true;
    case 'n': a->no_create = true; return true;
    case 'W': a->out_of_order = true; return true;
    case 'U': a->src_spec.flags |= BDRV_O_FORCE_SHARE; return true;
    case 'm': return parse_coroutines(a, optarg);
    case 'S': return parse_sparse(a, optarg);
    case 's': a->snapshot = optarg; return true;
    case 'l': return parse_snapshot_param(a, optarg);
    case OPT_IMAGE_OPTS: a->src_spec.image_opts = true; return true;
    case OPT_TARGET_IMAGE_OPTS: a->target_image_opts = true; return true;
    case OPT_TARGET_IS_ZERO: a->target_is_zero = true; return true;
    case OPT_PROGRESS: return img_parse_progress(optarg, &a->progress);
    case OPT_AIO: return parse_aio(a, optarg);
    case OPT_OBJECT:
        img_error("--object is not supported");
        return false;
    default:
        img_error("Invalid option; try 'spindle-img convert --help'");
        return false;
    }
}

/* Combinations qemu-img refuses, with its messages. */
static bool check_args(const ConvertArgs *a)
{
    const char *msg = NULL;

    if (a->nfiles < 2) {
        msg = "Must specify image file name";
    } else if (a->target_is_zero && !a->no_create) {
        msg = "--target-is-zero requires use of -n flag";
    } else if (a->target_is_zero && a->backing) {
        msg = "--target-is-zero cannot be used with a backing file";
    } else if (a->target_image_opts && !a->no_create) {
        msg = "--target-image-opts requires use of -n flag";
    } else if (a->backing_fmt && !a->backing) {
        msg = "-F requires -B";
    } else if (a->backing && a->no_create) {
        msg = "-B makes no sense when concatenating multiple input images "
              "or with -n";
    } else if (a->copy_range && a->compressed) {
        msg = "-C and -c are mutually exclusive";
    } else if (a->snapshot && a->nfiles > 2) {
        msg = "No support for concatenating multiple snapshot";
    }
    if (msg) {
        img_error("%s", msg);
    }
    return !msg;
}

/* ---- sources -------------------------------------------------------- */

static bool load_snapshot(BlockDriverState *bs, const char *name)
{
    int ret = bdrv_snapshot_load_tmp(bs, name);

    if (ret == -ENOTSUP || ret == -ENOMEDIUM) {
        img_error("Failed to load snapshot: Block format '%s' does not "
                  "support internal snapshots", bdrv_get_format_name(bs));
    } else if (ret == -ENOENT) {
        img_error("Failed to load snapshot: Can't find snapshot");
    } else if (ret < 0) {
        img_error("Failed to load snapshot '%s': %s", name, strerror(-ret));
    }
    return ret >= 0;
}

static bool open_source(const ConvertArgs *a, const char *name,
                        ConvertSource *src)
{
    src->bs = img_open(name, &a->src_spec);
    if (!src->bs) {
        return false;
    }
    if (a->snapshot && !load_snapshot(src->bs, a->snapshot)) {
        return false;
    }
    src->len = bdrv_getlength(src->bs);
    if (src->len < 0) {
        img_error("Could not get size of %s: %s", name,
                  strerror(-src->len));
        return false;
    }
    return true;
}

static void close_sources(ConvertParams *p)
{
    for (int i = 0; i < p->nsrc; i++) {
        if (p->src[i].bs) {
            bdrv_unref(p->src[i].bs);
        }
    }
    g_free(p->src);
}

static bool open_sources(const ConvertArgs *a, ConvertParams *p)
{
    p->nsrc = a->nfiles - 1;
    p->src = g_new0(ConvertSource, p->nsrc);
    for (int i = 0; i < p->nsrc; i++) {
        if (!open_source(a, a->files[i], &p->src[i])) {
            return false;
        }
    }
    return true;
}

/* ---- target --------------------------------------------------------- */

/* Does -o ask for the option list ("help" or "?" among the keys)? */
static bool wants_help(const char *options, BlockDriver *drv)
{
    bool help = false;
    QEMUOptionParameter *list =
        parse_option_parameters(options, drv->create_options, NULL, &help,
                                NULL);

    free_option_parameters(list);
    return help;
}

static bool set_backing(QEMUOptionParameter *list, const ConvertArgs *a,
                        BlockDriver *drv)
{
    if (!get_option_parameter(list, BLOCK_OPT_BACKING_FILE)) {
        img_error("Backing file not supported for file format '%s'",
                  drv->format_name);
        return false;
    }
    set_option_parameter(list, BLOCK_OPT_BACKING_FILE, a->backing, NULL);
    if (a->backing_fmt &&
        set_option_parameter(list, BLOCK_OPT_BACKING_FMT, a->backing_fmt,
                             NULL) < 0) {
        img_error("Backing file format not supported for file format '%s'",
                  drv->format_name);
        return false;
    }
    return true;
}

/* Was option @name given (with -o, -B or -F)? */
static bool option_set(QEMUOptionParameter *list, const char *name)
{
    QEMUOptionParameter *p = get_option_parameter(list, name);

    return p && p->assigned;
}

/* The create options: -o, then the size and backing file; a backing
 * file needs its format, as in qemu-img. */
static QEMUOptionParameter *target_options(const ConvertArgs *a,
                                           BlockDriver *drv, int64_t size)
{
    Error *err = NULL;
    QEMUOptionParameter *list =
        parse_option_parameters(a->options, drv->create_options, NULL,
                                NULL, &err);

    if (!list) {
        img_error("%s", error_get_pretty(err));
        error_free(err);
        return NULL;
    }
    if (set_option_parameter_int(list, BLOCK_OPT_SIZE, size, &err) < 0) {
        img_error("%s", error_get_pretty(err));
        error_free(err);
        free_option_parameters(list);
        return NULL;
    }
    if (a->backing && !set_backing(list, a, drv)) {
        free_option_parameters(list);
        return NULL;
    }
    if (option_set(list, BLOCK_OPT_BACKING_FILE) &&
        !option_set(list, BLOCK_OPT_BACKING_FMT)) {
        img_error("Use of backing file requires explicit backing format");
        free_option_parameters(list);
        return NULL;
    }
    return list;
}

static bool create_target(const ConvertArgs *a, BlockDriver *drv,
                          const char *name, int64_t size)
{
    QEMUOptionParameter *list = target_options(a, drv, size);
    Error *err = NULL;
    int ret;

    if (!list) {
        return false;
    }
    ret = bdrv_create(drv, name, list, &err);
    free_option_parameters(list);
    if (ret < 0) {
        img_error("%s: error while converting %s: %s", name,
                  drv->format_name, error_get_pretty(err));
        error_free(err);
    }
    return ret >= 0;
}

/*
 * The open options a new target needs from -o: as qemu-img does, every
 * option named "...key-secret" (encrypt.key-secret of a LUKS target).
 */
static GHashTable *target_key_secrets(const ConvertArgs *a, BlockDriver *drv)
{
    GHashTable *opts = g_hash_table_new_full(g_str_hash, g_str_equal,
                                             g_free, g_free);
    QEMUOptionParameter *list;

    if (a->no_create || !a->options) {
        return opts;
    }
    list = parse_option_parameters(a->options, drv->create_options, NULL,
                                   NULL, NULL);
    for (QEMUOptionParameter *p = list; p && p->name; p++) {
        if (p->type == OPT_STRING && p->value.s &&
            g_str_has_suffix(p->name, "key-secret")) {
            g_hash_table_insert(opts, g_strdup(p->name),
                                g_strdup(p->value.s));
        }
    }
    free_option_parameters(list);
    return opts;
}

static BlockDriverState *open_target(const ConvertArgs *a, BlockDriver *drv,
                                     const char *name)
{
    g_autoptr(GHashTable) secrets = target_key_secrets(a, drv);
    ToolOpenSpec spec = {
        .format = a->target_image_opts ? NULL : a->out_fmt,
        .image_opts = a->target_image_opts,
        .cache = a->out_cache,
        .aio = a->src_spec.aio,
        .flags = BDRV_O_RDWR,
        .options = secrets,
    };

    return img_open(name, &spec);
}

/* -n: the existing target must hold everything. */
static bool check_target_size(BlockDriverState *bs, int64_t total)
{
    int64_t len = bdrv_getlength(bs);

    if (len < 0) {
        img_error("Could not get size of the target: %s", strerror(-len));
        return false;
    }
    if (len < total) {
        img_error("output file is smaller than input file");
        return false;
    }
    return true;
}

/* Create (unless -n) and open the target; NULL after an error message.
 * A file this call created is removed again if opening it fails. */
static BlockDriverState *prepare_target(const ConvertArgs *a,
                                        BlockDriver *drv, int64_t total)
{
    const char *name = a->files[a->nfiles - 1];
    bool existed = a->no_create || g_file_test(name, G_FILE_TEST_EXISTS);
    BlockDriverState *bs = NULL;

    if (a->no_create || create_target(a, drv, name, total)) {
        bs = open_target(a, drv, name);
    }
    if (bs && a->no_create && !check_target_size(bs, total)) {
        bdrv_unref(bs);
        bs = NULL;
    }
    if (!bs && !existed) {
        unlink(name);
    }
    return bs;
}

/* ---- the copy ------------------------------------------------------- */

/* Chunk size and zero-init from the open target. */
static bool fill_params(const ConvertArgs *a, ConvertParams *p)
{
    BlockDriverInfo bdi;
    int cluster = bdrv_get_info(p->target, &bdi) == 0 ? bdi.cluster_size : 0;

    p->num_coroutines = a->num_coroutines;
    p->wr_in_order = !a->out_of_order;
    p->min_sparse = a->min_sparse;
    p->compressed = a->compressed;
    /* -B or -o backing_file: copy only what the source's own top holds */
    p->target_has_backing = !a->no_create && bdrv_backing(p->target);
    p->has_zero_init = a->target_is_zero ||
        (!a->no_create && !p->target_has_backing &&
         bdrv_has_zero_init(p->target));
    p->buf_size = MIN(CONVERT_MAX_SPARSE, MAX(CONVERT_BUF_SIZE, cluster));
    p->offload = a->copy_range;
    if (a->compressed) {
        if (cluster <= 0 || cluster > CONVERT_MAX_SPARSE) {
            img_error("invalid cluster size");
            return false;
        }
        p->buf_size = cluster;
    }
    return true;
}

static int run_copy(const ConvertArgs *a, ConvertParams *p)
{
    int64_t total = convert_total_size(p);
    int ret;

    progress_start(progress_choose_mode(a->progress, a->quiet), total);
    ret = convert_copy(p);
    if (ret == 0) {
        ret = bdrv_flush(p->target);
    }
    progress_finish(ret == 0);
    if (ret == -ENOTSUP && p->offload) {
        img_error("error while converting: copy offloading is not "
                  "supported between these images");
        return EXIT_FAILURE;
    }
    if (ret < 0) {
        img_error("error while converting: %s", strerror(-ret));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static BlockDriver *output_driver(const ConvertArgs *a)
{
    BlockDriver *drv = bdrv_find_format(a->out_fmt);

    if (!drv) {
        img_error("Unknown file format '%s'", a->out_fmt);
    } else if (a->compressed && !drv->bdrv_write_compressed) {
        img_error("Compression not supported for this file format");
        drv = NULL;
    }
    return drv;
}

/*
 * -c with target options that cannot hold compressed clusters: qemu-img
 * refuses encryption and preallocation (after opening the sources, before
 * creating the target), with these messages.
 */
static bool compress_options_ok(const ConvertArgs *a, BlockDriver *drv)
{
    QEMUOptionParameter *list, *p;
    const char *msg = NULL;

    if (!a->compressed || a->no_create || !a->options) {
        return true;
    }
    list = parse_option_parameters(a->options, drv->create_options, NULL,
                                   NULL, NULL);
    p = get_option_parameter(list, BLOCK_OPT_ENCRYPT);
    if ((p && p->value.n) ||
        ((p = get_option_parameter(list, "encrypt.format")) && p->value.s)) {
        msg = "Compression and encryption not supported at the same time";
    } else if ((p = get_option_parameter(list, BLOCK_OPT_PREALLOC)) &&
               p->value.s && strcmp(p->value.s, "off")) {
        msg = "Compression and preallocation not supported at the same time";
    }
    free_option_parameters(list);
    if (msg) {
        img_error("%s", msg);
    }
    return !msg;
}

static int convert_run(const ConvertArgs *a, BlockDriver *drv)
{
    ConvertParams p = { 0 };
    int ret = EXIT_FAILURE;

    if (open_sources(a, &p) && compress_options_ok(a, drv)) {
        p.target = prepare_target(a, drv, convert_total_size(&p));
    }
    if (p.target && fill_params(a, &p)) {
        ret = run_copy(a, &p);
    }
    if (p.target) {
        bdrv_unref(p.target);
    }
    close_sources(&p);
    return ret;
}

/* Options may follow the file names, as with qemu-img (GNU permutation). */
static bool parse_args(int argc, char **argv, ConvertArgs *a, int *status)
{
    int c;

    *status = EXIT_FAILURE;
    while ((c = getopt_long(argc, argv, "hf:O:B:F:o:t:T:cCpqnWUm:S:s:l:",
                            convert_opts, NULL)) != -1) {
        if (c == 'h') {
            *status = img_help(convert_usage);
            return false;
        }
        if (!convert_option(a, c)) {
            return false;
        }
    }
    a->files = argv + optind;
    a->nfiles = argc - optind;
    return true;
}

int img_convert(int argc, char **argv)
{
    ConvertArgs a = {
        .out_fmt = "raw", .out_cache = "unsafe",
        .src_spec.cache = "writeback",
        .src_spec.aio = "auto",
        .num_coroutines = CONVERT_DEFAULT_COROUTINES,
        .min_sparse = 4096,
    };
    BlockDriver *drv;
    int status;

    if (!parse_args(argc, argv, &a, &status)) {
        return status;
    }
    drv = output_driver(&a);
    if (!drv) {
        return EXIT_FAILURE;
    }
    if (a.options && wants_help(a.options, drv)) {
        img_print_create_options(drv);
        return EXIT_SUCCESS;
    }
    if (!check_args(&a)) {
        return EXIT_FAILURE;
    }
    return convert_run(&a, drv);
}
