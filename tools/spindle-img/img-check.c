/*
 * check: "check [-q] [-f fmt] [--output=human|json] [-r leaks|all]
 * [-T src_cache] [-U] [--image-opts] filename".
 *
 * Runs the format's consistency check (bdrv_check), repairing leaks or
 * everything with -r, and reports as qemu-img 7.2 does: the same
 * sentences, the same JSON keys (left out when zero, in qemu-img's
 * order), the same exit status: 0 clean, 1 the check could not be
 * completed, 2 corruptions, 3 leaks only, 63 the format has no check.
 * After a repair the image is checked again and that result is shown,
 * with the repaired counts kept.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "img.h"
#include <getopt.h>

enum {
    CHECK_CLEAN = 0,
    CHECK_FAILED = 1,
    CHECK_CORRUPT = 2,
    CHECK_LEAKS = 3,
    CHECK_UNSUPPORTED = 63,
};

static const char check_usage[] =
"Usage: spindle-img check [-q] [-f fmt] [--output=human|json] "
"[-r leaks|all] [-T src_cache] [-U] [--image-opts] filename\n"
"Check an image for consistency; -r leaks or -r all also repairs.\n"
"Exit status: 0 no errors, 1 check not completed, 2 corruptions,\n"
"3 leaked clusters only, 63 the format does not support checks.\n";

typedef struct CheckReport {
    const char *filename;
    const char *format;
    BdrvCheckResult res;
} CheckReport;

static void print_human(const CheckReport *r, bool quiet)
{
    const BdrvCheckResult *res = &r->res;

    if (!res->corruptions && !res->leaks && !res->check_errors) {
        img_qprintf(quiet, "No errors were found on the image.\n");
    }
    if (res->corruptions) {
        img_qprintf(quiet, "\n%d errors were found on the image.\n"
                    "Data may be corrupted, or further writes to the image "
                    "may corrupt it.\n", res->corruptions);
    }
    if (res->leaks) {
        img_qprintf(quiet, "\n%d leaked clusters were found on the image.\n"
                    "This means waste of disk space, but no harm to "
                    "data.\n", res->leaks);
    }
    if (res->check_errors) {
        img_qprintf(quiet, "\n%d internal errors have occurred during the "
                    "check.\n", res->check_errors);
    }
    if (res->total_clusters && res->allocated_clusters) {
        img_qprintf(quiet, "%" PRId64 "/%" PRId64 " = %0.2f%% allocated, "
                    "%0.2f%% fragmented, %0.2f%% compressed clusters\n",
                    res->allocated_clusters, res->total_clusters,
                    res->allocated_clusters * 100.0 / res->total_clusters,
                    res->fragmented_clusters * 100.0 /
                    res->allocated_clusters,
                    res->compressed_clusters * 100.0 /
                    res->allocated_clusters);
    }
    if (res->image_end_offset) {
        img_qprintf(quiet, "Image end offset: %" PRId64 "\n",
                    res->image_end_offset);
    }
}

/*
 * qemu-img prints the members of its ImageCheck dictionary in hash
 * order; this is that order.  Optional members are left out when zero;
 * check-errors, filename and format are always there.
 */
static void print_json(const CheckReport *r, bool quiet)
{
    const BdrvCheckResult *res = &r->res;
    const struct {
        const char *key;
        int64_t value;
        bool always;
    } nums[] = {
        { "image-end-offset", res->image_end_offset },
        { "compressed-clusters", res->compressed_clusters },
        { "total-clusters", res->total_clusters },
        { "corruptions", res->corruptions },
        { "corruptions-fixed", res->corruptions_fixed },
        { "check-errors", res->check_errors, true },
        { "leaks", res->leaks },
        { "leaks-fixed", res->leaks_fixed },
        { "allocated-clusters", res->allocated_clusters },
    };
    const char *sep = "{\n";

    if (quiet) {
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(nums); i++) {
        if (nums[i].value || nums[i].always) {
            printf("%s    \"%s\": %" PRId64, sep, nums[i].key,
                   nums[i].value);
            sep = ",\n";
        }
    }
    printf("%s    \"filename\": ", sep);
    img_json_string(r->filename);
    printf(",\n    \"format\": ");
    img_json_string(r->format);
    if (res->fragmented_clusters) {
        printf(",\n    \"fragmented-clusters\": %" PRId64,
               res->fragmented_clusters);
    }
    printf("\n}\n");
}

/* Check, and after a repair that fixed something, check again. */
static int run_check(BlockDriverState *bs, CheckReport *r, BdrvCheckMode fix,
                     bool json, bool quiet)
{
    int ret = bdrv_check(bs, &r->res, fix);
    int leaks_fixed = r->res.leaks_fixed;
    int corruptions_fixed = r->res.corruptions_fixed;

    if (ret < 0 || !(leaks_fixed || corruptions_fixed)) {
        return ret;
    }
    if (!json) {
        img_qprintf(quiet, "The following inconsistencies were found and "
                    "repaired:\n\n    %d leaked clusters\n    %d "
                    "corruptions\n\nDouble checking the fixed image "
                    "now...\n", leaks_fixed, corruptions_fixed);
    }
    ret = bdrv_check(bs, &r->res, 0);
    r->res.leaks_fixed = leaks_fixed;
    r->res.corruptions_fixed = corruptions_fixed;
    return ret;
}

static int exit_status(int ret, const BdrvCheckResult *res)
{
    if (ret < 0) {
        img_error("Check failed: %s", strerror(-ret));
        return CHECK_FAILED;
    }
    if (res->check_errors) {
        img_error("Check failed");
        return CHECK_FAILED;
    }
    if (res->corruptions) {
        return CHECK_CORRUPT;
    }
    return res->leaks ? CHECK_LEAKS : CHECK_CLEAN;
}

enum { OPT_OUTPUT = 256, OPT_IMAGE_OPTS };

static const struct option check_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "format", required_argument, NULL, 'f' },
    { "repair", required_argument, NULL, 'r' },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "force-share", no_argument, NULL, 'U' },
    { NULL },
};

/* -r's argument into a repair mode; false after an error message. */
static bool parse_repair(const char *arg, BdrvCheckMode *fix)
{
    if (!strcmp(arg, "leaks")) {
        *fix = BDRV_FIX_LEAKS;
    } else if (!strcmp(arg, "all")) {
        *fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
    } else {
        img_error("Unknown option value for -r (expecting 'leaks' or "
                  "'all'): %s", arg);
        return false;
    }
    return true;
}

int img_check(int argc, char **argv)
{
    ToolOpenSpec spec = { 0 };
    const char *output = "human";
    BdrvCheckMode fix = 0;
    CheckReport report = { 0 };
    BlockDriverState *bs;
    bool quiet = false, json;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:r:T:qU", check_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'h': return img_help(check_usage);
        case 'f': spec.format = optarg; break;
        case 'T': spec.cache = optarg; break;
        case 'q': quiet = true; break;
        case 'U': spec.flags |= BDRV_O_FORCE_SHARE; break;
        case OPT_OUTPUT: output = optarg; break;
        case OPT_IMAGE_OPTS: spec.image_opts = true; break;
        case 'r':
            if (!parse_repair(optarg, &fix)) {
                return EXIT_FAILURE;
            }
            break;
        default:
            img_error("Invalid option; try 'spindle-img check --help'");
            return EXIT_FAILURE;
        }
    }
    if (strcmp(output, "human") && strcmp(output, "json")) {
        img_error("--output must be used with human or json as argument.");
        return EXIT_FAILURE;
    }
    json = !strcmp(output, "json");
    if (fix) {
        spec.flags |= BDRV_O_RDWR;
    }
    bs = img_open_one(argc, argv, &spec);
    if (!bs) {
        return EXIT_FAILURE;
    }
    report.filename = argv[optind];
    report.format = bdrv_get_format_name(bs);
    ret = run_check(bs, &report, fix, json, quiet);
    if (ret == -ENOTSUP) {
        img_error("This image format does not support checks");
        bdrv_unref(bs);
        return CHECK_UNSUPPORTED;
    }
    if (json) {
        print_json(&report, quiet);
    } else {
        print_human(&report, quiet);
    }
    bdrv_unref(bs);
    return exit_status(ret, &report.res);
}
