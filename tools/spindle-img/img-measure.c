/*
 * measure: "measure [--output=human|json] [-O output_fmt] [-o options]
 * [--size N | [-f fmt] [-l snapshot_param] [--image-opts] filename]".
 *
 * How big a new image of format output_fmt would be: "required" for the
 * data of the given image (or none, with --size), "fully allocated" when
 * every cluster is written.  The arithmetic of each output format is one
 * function in the table below; it needs no driver, so qcow2 can be
 * measured before this build can write qcow2.  The formulas are
 * qemu-img 7.2's, so the numbers are the same.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

typedef struct MeasureInfo {
    int64_t required;
    int64_t fully_allocated;
    bool has_bitmaps;         /* source and output both keep bitmaps */
    int64_t bitmaps;          /* bytes for the source's bitmaps */
} MeasureInfo;

/*
 * One output format: the options it takes (a template, copied for each
 * parse) and its arithmetic.  @in is the image to measure, or NULL when
 * only the size option (--size) is known.  False after an error message.
 */
typedef struct MeasureFormat {
    const char *name;
    QEMUOptionParameter *options;
    bool (*measure)(QEMUOptionParameter *opts, BlockDriverState *in,
                    MeasureInfo *info);
} MeasureFormat;

static const char measure_usage[] =
"Usage: spindle-img measure [--output=human|json] [-O output_fmt] "
"[-o options] [--size N | [-f fmt] [-l snapshot_param] [--image-opts] "
"filename]\n"
"Print the size a new image of output_fmt (default raw) needs to hold\n"
"the given image's data, or an empty image of N bytes.\n";

static uint64_t opt_num(QEMUOptionParameter *opts, const char *name,
                        uint64_t def)
{
    QEMUOptionParameter *o = get_option_parameter(opts, name);

    return o && o->assigned ? o->value.n : def;
}

static const char *opt_str(QEMUOptionParameter *opts, const char *name)
{
    QEMUOptionParameter *o = get_option_parameter(opts, name);

    return o && o->assigned ? o->value.s : NULL;
}

/* ---- raw ------------------------------------------------------------- */

static QEMUOptionParameter raw_measure_options[] = {
    { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE, .help = "Virtual disk size" },
    { .name = BLOCK_OPT_PREALLOC, .type = OPT_STRING,
      .help = "Preallocation mode (allowed values: off)" },
    { NULL }
};

static bool raw_measure(QEMUOptionParameter *opts, BlockDriverState *in,
                        MeasureInfo *info)
{
    int64_t size;

    if (in) {
        size = bdrv_getlength(in);
        if (size < 0) {
            img_error("Unable to get image virtual_size");
            return false;
        }
    } else {
        size = ROUND_UP(opt_num(opts, BLOCK_OPT_SIZE, 0), BDRV_SECTOR_SIZE);
    }
    info->required = info->fully_allocated = size;
    return true;
}

/* ---- qcow2 ----------------------------------------------------------- */

#define QCOW2_L1E_SIZE 8
#define QCOW2_REFTABLE_ENTRY_SIZE 8

static QEMUOptionParameter qcow2_measure_options[] = {
    { .name = BLOCK_OPT_SIZE, .type = OPT_SIZE, .help = "Virtual disk size" },
    { .name = "compat", .type = OPT_STRING,
      .help = "Compatibility level (v2 [0.10] or v3 [1.1])" },
    { .name = BLOCK_OPT_BACKING_FILE, .type = OPT_STRING,
      .help = "File name of a base image" },
    { .name = BLOCK_OPT_BACKING_FMT, .type = OPT_STRING,
      .help = "Image format of the base image" },
    { .name = BLOCK_OPT_CLUSTER_SIZE, .type = OPT_SIZE,
      .help = "qcow2 cluster size" },
    { .name = BLOCK_OPT_PREALLOC, .type = OPT_STRING,
      .help = "Preallocation mode (allowed values: off, metadata, falloc, "
              "full)" },
    { .name = "lazy_refcounts", .type = OPT_FLAG,
      .help = "Postpone refcount updates" },
    { .name = "refcount_bits", .type = OPT_NUMBER,
      .help = "Width of a reference count entry in bits" },
    { .name = "extended_l2", .type = OPT_FLAG,
      .help = "Extended L2 tables" },
    { .name = "compression_type", .type = OPT_STRING,
      .help = "Compression method used for image cluster compression" },
    { NULL }
};

/*
 * Bytes of refcount table and blocks needed to count @clusters clusters
 * and themselves: iterate to the fixed point where one more round adds no
 * block or table cluster.
 */
static int64_t qcow2_refcount_size(int64_t clusters, int64_t cluster_size,
                                   int refcount_bits)
{
    int64_t per_block = cluster_size * 8 / refcount_bits;
    int64_t per_table_cluster = cluster_size / QCOW2_REFTABLE_ENTRY_SIZE;
    int64_t blocks = 0, table = 0, n = 0, last;

    do {
        last = n;
        blocks = DIV_ROUND_UP(clusters + table + blocks, per_block);
        table = DIV_ROUND_UP(blocks, per_table_cluster);
        n = clusters + blocks + table;
    } while (n != last);
    return (blocks + table) * cluster_size;
}

/* Header, L1, L2 and refcount metadata plus data of a fully allocated
 * image of @size bytes. */
static int64_t qcow2_full_size(int64_t size, int64_t cluster_size,
                               int refcount_bits, bool extended_l2)
{
    int64_t l2e_size = extended_l2 ? 16 : 8;
    int64_t aligned = ROUND_UP(size, cluster_size);
    int64_t meta = cluster_size;                          /* header */
    int64_t nl2e = ROUND_UP(aligned / cluster_size, cluster_size / l2e_size);
    int64_t nl1e = ROUND_UP(nl2e * l2e_size / cluster_size,
                            cluster_size / QCOW2_L1E_SIZE);

    meta += nl2e * l2e_size + nl1e * QCOW2_L1E_SIZE;
    meta += qcow2_refcount_size((meta + aligned) / cluster_size,
                                cluster_size, refcount_bits);
    return meta + aligned;
}

/* Bytes of @in's data rounded out to whole clusters. */
static int64_t qcow2_data_size(BlockDriverState *in, int64_t size,
                               int64_t cluster_size)
{
    int64_t sectors = DIV_ROUND_UP(size, BDRV_SECTOR_SIZE);
    int64_t offset = 0, required = 0;

    while (offset < size) {
        int64_t sector = offset / BDRV_SECTOR_SIZE;
        int pnum;
        int ret = bdrv_is_allocated_above(in, NULL, sector,
                                          MIN(sectors - sector, INT_MAX),
                                          &pnum);
        int64_t bytes = (int64_t)MAX(pnum, 1) * BDRV_SECTOR_SIZE;

        if (ret < 0) {
            img_error("Unable to get block status: %s", strerror(-ret));
            return ret;
        }
        if (ret) {
            /* Count up to the end of the last cluster touched. */
            bytes = ROUND_UP(offset + bytes, cluster_size) - offset;
            required += offset % cluster_size + bytes;
        }
        offset += bytes;
    }
    return required;
}

static bool qcow2_check_options(int64_t cluster_size, uint64_t refcount_bits,
                                const char *prealloc)
{
    if (cluster_size < 512 || cluster_size > 2 * 1024 * 1024 ||
        !is_power_of_2(cluster_size)) {
        img_error("Cluster size must be a power of two between 512 and "
                  "2048k");
        return false;
    }
    if (!refcount_bits || refcount_bits > 64 ||
        !is_power_of_2(refcount_bits)) {
        img_error("Refcount width must be a power of two and may be at "
                  "most 64 bits");
        return false;
    }
    if (prealloc && strcmp(prealloc, "off") && strcmp(prealloc, "metadata")
        && strcmp(prealloc, "falloc") && strcmp(prealloc, "full")) {
        img_error("Invalid parameter '%s'", prealloc);
        return false;
    }
    return true;
}

static bool qcow2_measure(QEMUOptionParameter *opts, BlockDriverState *in,
                          MeasureInfo *info)
{
    int64_t cluster_size = opt_num(opts, BLOCK_OPT_CLUSTER_SIZE, 65536);
    uint64_t refcount_bits = opt_num(opts, "refcount_bits", 16);
    bool extended_l2 = opt_num(opts, "extended_l2", 0);
    const char *prealloc = opt_str(opts, BLOCK_OPT_PREALLOC);
    int64_t size = opt_num(opts, BLOCK_OPT_SIZE, 0), required = 0;

    if (!qcow2_check_options(cluster_size, refcount_bits, prealloc)) {
        return false;
    }
    if (in) {
        size = bdrv_getlength(in);
        if (size < 0) {
            img_error("Unable to get image virtual_size");
            return false;
        }
        /* With a backing file nobody knows what it shares with @in:
         * count every cluster, as qemu-img does. */
        required = opt_str(opts, BLOCK_OPT_BACKING_FILE)
                   ? ROUND_UP(size, cluster_size)
                   : qcow2_data_size(in, size, cluster_size);
        if (required < 0) {
            return false;
        }
    }
    size = ROUND_UP(size, cluster_size);
    if (prealloc && (!strcmp(prealloc, "full") ||
                     !strcmp(prealloc, "falloc"))) {
        required = size;
    }
    info->fully_allocated = qcow2_full_size(size, cluster_size,
                                            refcount_bits, extended_l2);
    info->required = info->fully_allocated - size + required;
    /* qemu-img shows the bitmap size whenever the source format could
     * have persistent bitmaps; this build copies none, so 0. */
    info->has_bitmaps = in && !strcmp(bdrv_get_format_name(in), "qcow2");
    return true;
}

static const MeasureFormat measure_formats[] = {
    { "raw", raw_measure_options, raw_measure },
    { "qcow2", qcow2_measure_options, qcow2_measure },
};

static const MeasureFormat *find_measure_format(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(measure_formats); i++) {
        if (!strcmp(measure_formats[i].name, name)) {
            return &measure_formats[i];
        }
    }
    if (bdrv_find_format(name)) {
        img_error("Format driver '%s' does not support size measurement",
                  name);
    } else {
        img_error("Unknown file format '%s'", name);
    }
    return NULL;
}

/* ---- the command ----------------------------------------------------- */

typedef struct MeasureArgs {
    ToolOpenSpec spec;
    const char *out_fmt;
    const char *options;
    const char *size;
    const char *snapshot;
    const char *filename;
    bool json;
} MeasureArgs;

static void print_result(const MeasureInfo *info, bool json)
{
    if (json) {
        printf("{\n");
        if (info->has_bitmaps) {
            printf("    \"bitmaps\": %" PRId64 ",\n", info->bitmaps);
        }
        printf("    \"required\": %" PRId64 ",\n    \"fully-allocated\": "
               "%" PRId64 "\n}\n", info->required, info->fully_allocated);
        return;
    }
    printf("required size: %" PRId64 "\nfully allocated size: %" PRId64
           "\n", info->required, info->fully_allocated);
    if (info->has_bitmaps) {
        printf("bitmaps size: %" PRId64 "\n", info->bitmaps);
    }
}

/* "snapshot.name=x", "snapshot.id=x" or plain "x" into the name or id. */
static char *snapshot_name(const char *param)
{
    const char *prefixes[] = { "snapshot.name=", "snapshot.id=" };

    for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
        if (g_str_has_prefix(param, prefixes[i])) {
            return g_strdup(param + strlen(prefixes[i]));
        }
    }
    return g_strdup(param);
}

static BlockDriverState *open_source(const MeasureArgs *a)
{
    BlockDriverState *bs = img_open(a->filename, &a->spec);
    g_autofree char *sn = NULL;
    int ret;

    if (!bs || !a->snapshot) {
        return bs;
    }
    sn = snapshot_name(a->snapshot);
    ret = bdrv_snapshot_load_tmp(bs, sn);
    if (ret < 0) {
        img_error("Failed to load snapshot: %s", strerror(-ret));
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static int do_measure(const MeasureArgs *a)
{
    const MeasureFormat *fmt = find_measure_format(a->out_fmt);
    QEMUOptionParameter *opts;
    BlockDriverState *in = NULL;
    MeasureInfo info = { 0 };
    bool help, ok = false;

    if (!fmt) {
        return EXIT_FAILURE;
    }
    opts = img_parse_options(a->options ? a->options : "", fmt->options,
                             &help);
    if (help) {
        print_option_help(stdout, fmt->options);
        return EXIT_SUCCESS;
    }
    if (!opts) {
        return EXIT_FAILURE;
    }
    if (a->size) {
        set_option_parameter_int(opts, BLOCK_OPT_SIZE, cvtnum(a->size), NULL);
    } else {
        in = open_source(a);
    }
    if (a->size || in) {
        ok = fmt->measure(opts, in, &info);
    }
    if (ok) {
        print_result(&info, a->json);
    }
    bdrv_unref(in);
    free_option_parameters(opts);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Argument checks in qemu-img's order; false after an error message. */
static bool check_args(const MeasureArgs *a, const char *output)
{
    if (strcmp(output, "human") && strcmp(output, "json")) {
        img_error("--output must be used with human or json as argument.");
        return false;
    }
    if (a->size && a->filename) {
        img_error("--size N cannot be used together with a filename.");
        return false;
    }
    if (!a->size && !a->filename) {
        img_error("Either --size N or one filename must be specified.");
        return false;
    }
    if (a->size && (a->spec.format || a->spec.image_opts || a->snapshot)) {
        img_error("--image-opts, -f, and -l require a filename argument.");
        return false;
    }
    if (a->size && cvtnum(a->size) < 0) {
        img_error("Invalid image size specified. You may use k, M, G, T, P "
                  "or E suffixes for kilobytes, megabytes, gigabytes, "
                  "terabytes, petabytes and exabytes.");
        return false;
    }
    return true;
}

enum { OPT_OUTPUT = 256, OPT_SIZE_ARG, OPT_IMAGE_OPTS };

static const struct option measure_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "size", required_argument, NULL, OPT_SIZE_ARG },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "force-share", no_argument, NULL, 'U' },
    { NULL },
};

int img_measure(int argc, char **argv)
{
    MeasureArgs a = { .out_fmt = "raw" };
    const char *output = "human";
    int c;

    while ((c = getopt_long(argc, argv, "hf:O:o:l:U", measure_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(measure_usage);
        case 'f': a.spec.format = optarg; break;
        case 'O': a.out_fmt = optarg; break;
        case 'o': a.options = optarg; break;
        case 'l': a.snapshot = optarg; break;
        case 'U': a.spec.flags |= BDRV_O_FORCE_SHARE; break;
        case OPT_OUTPUT: output = optarg; break;
        case OPT_SIZE_ARG: a.size = optarg; break;
        case OPT_IMAGE_OPTS: a.spec.image_opts = true; break;
        default:
            img_error("Invalid option; try 'spindle-img measure --help'");
            return EXIT_FAILURE;
        }
    }
    if (argc - optind > 1) {
        img_error("Expecting at most one image file name");
        return EXIT_FAILURE;
    }
    a.filename = optind < argc ? argv[optind] : NULL;
    if (!check_args(&a, output)) {
        return EXIT_FAILURE;
    }
    a.json = !strcmp(output, "json");
    return do_measure(&a);
}
