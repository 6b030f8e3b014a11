/*
 * image-peer: the Spindle side of the image-format interop tests, for any
 * format the library has (it does not depend on spindle-img/spindle-io).
 *
 *   image-peer [--object SECRET]... create FMT IMAGE SIZE [OPTIONS]
 *       create IMAGE (OPTIONS as `-o` takes them: "cluster_size=4k,...")
 *   image-peer check [-r leaks|all] IMAGE
 *       check IMAGE (repairing leaks, or everything), print the result
 *       as "name=value" lines (after a repair: what a second check still
 *       finds, with the *_fixed counts of the repair) and exit as
 *       qemu-img check does: 0 clean, 2 corruptions, 3 leaks only,
 *       1 the check failed
 *   image-peer [--object SECRET]... [-r] [-f FMT] [-o OPTS] IMAGE CMD...
 *       open IMAGE (read-write unless -r; format probed unless -f; OPTS
 *       "key=value,..." are driver options such as encrypt.key-secret)
 *       and run each COMMAND, one argument each:
 *         "write OFF LEN BYTE"   fill with BYTE
 *         "read OFF LEN BYTE"    verify every byte is BYTE
 *         "zero OFF LEN"         write zeroes
 *         "discard OFF LEN"      discard
 *         "flush"
 *         "truncate SIZE"
 *         "setkey PASSWORD"     bdrv_set_key
 *       and, on the node's dirty bitmaps (persistent ones in qcow2):
 *         "bitmap-add NAME GRAN"            create one
 *         "bitmap-remove NAME" / "bitmap-disable NAME"
 *         "bitmap-dirty NAME OFF LEN"       mark a range dirty
 *         "bitmap-expect NAME OFF LEN 0|1"  every chunk clean / dirty
 *         "bitmap-count NAME BYTES"         the dirty byte count
 *         "bitmap-enabled NAME 0|1" / "bitmap-granularity NAME BYTES"
 *         "bitmap-absent NAME"
 *       SECRET is "secret,id=ID,data=PASSWORD" or "secret,id=ID,file=PATH".
 *       OFF, LEN, SIZE, GRAN and BYTES take the size suffixes k, M, G.
 *
 * Exits 0 when everything worked; otherwise prints what failed (for a
 * read, the first mismatching offset) on stderr and exits 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "crypto/secret.h"

static bool parse_size(const char *s, uint64_t *v)
{
    Error *err = NULL;

    if (parse_option_size("number", s, v, &err) < 0) {
        error_report_err(err);
        return false;
    }
    return true;
}

static int do_create(int argc, char **argv)
{
    BlockDriver *drv;
    QEMUOptionParameter *opts;
    Error *err = NULL;
    uint64_t size;
    int ret;

    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: image-peer create FMT IMAGE SIZE [OPTS]\n");
        return 2;
    }
    drv = bdrv_find_format(argv[2]);
    if (!drv || !parse_size(argv[4], &size)) {
        fprintf(stderr, "bad format or size\n");
        return 2;
    }
    opts = parse_option_parameters(argc == 6 ? argv[5] : "",
                                   drv->create_options, NULL, NULL, &err);
    if (!opts || set_option_parameter_int(opts, BLOCK_OPT_SIZE, size,
                                          &err) < 0) {
        error_report_err(err);
        free_option_parameters(opts);
        return 1;
    }
    ret = bdrv_create(drv, argv[3], opts, &err);
    free_option_parameters(opts);
    if (ret < 0) {
        error_report_err(err);
        return 1;
    }
    return 0;
}

static void print_check(const BdrvCheckResult *r)
{
    printf("corruptions=%d\nleaks=%d\ncheck_errors=%d\n"
           "corruptions_fixed=%d\nleaks_fixed=%d\n"
           "image_end_offset=%" PRId64 "\ntotal_clusters=%" PRId64 "\n"
           "allocated_clusters=%" PRId64 "\nfragmented_clusters=%" PRId64
           "\ncompressed_clusters=%" PRId64 "\n",
           r->corruptions, r->leaks, r->check_errors, r->corruptions_fixed,
           r->leaks_fixed, r->image_end_offset, r->total_clusters,
           r->allocated_clusters, r->fragmented_clusters,
           r->compressed_clusters);
}

static int do_check(int argc, char **argv)
{
    BdrvCheckMode fix = 0;
    BdrvCheckResult res, again;
    BlockDriverState *bs;
    Error *err = NULL;
    int ret;

    if (argc == 5 && !strcmp(argv[2], "-r")) {
        fix = !strcmp(argv[3], "all") ? BDRV_FIX_LEAKS | BDRV_FIX_ERRORS
                                      : BDRV_FIX_LEAKS;
    } else if (argc != 3) {
        fprintf(stderr, "usage: image-peer check [-r leaks|all] IMAGE\n");
        return 2;
    }
    bs = bdrv_new("");
    if (bdrv_open(bs, argv[argc - 1], fix ? BDRV_O_RDWR : 0, NULL,
                  &err) < 0) {
        error_report_err(err);
        bdrv_unref(bs);
        return 1;
    }
    ret = bdrv_check(bs, &res, fix);
    if (ret == 0 && fix) {
        ret = bdrv_check(bs, &again, 0);
        again.corruptions_fixed = res.corruptions_fixed;
        again.leaks_fixed = res.leaks_fixed;
        res = again;
    }
    bdrv_unref(bs);
    if (ret < 0) {
        fprintf(stderr, "check failed: %s\n", strerror(-ret));
        return 1;
    }
    print_check(&res);
    return res.check_errors ? 1 : res.corruptions ? 2 : res.leaks ? 3 : 0;
}

/* Read [off, +len) and compare every byte with @byte. */
static int verify(BlockDriverState *bs, uint64_t off, uint64_t len,
                  uint8_t byte)
{
    g_autofree uint8_t *buf = g_malloc(len);

    if (bdrv_pread(bs, off, buf, len) < 0) {
        fprintf(stderr, "read %" PRIu64 " +%" PRIu64 " failed\n", off, len);
        return -1;
    }
    for (uint64_t i = 0; i < len; i++) {
        if (buf[i] != byte) {
            fprintf(stderr, "mismatch at %" PRIu64 ": 0x%02x, expected "
                    "0x%02x\n", off + i, buf[i], byte);
            return -1;
        }
    }
    return 0;
}

/* Every chunk of @bm in [off, +len) is dirty (@dirty) or clean. */
static int bitmap_expect(BdrvDirtyBitmap *bm, uint64_t off, uint64_t len,
                         bool dirty)
{
    uint32_t gran = bdrv_dirty_bitmap_granularity(bm);

    for (uint64_t pos = off; pos < off + len; pos += gran) {
        if (bdrv_dirty_bitmap_get(bm, pos) != dirty) {
            fprintf(stderr, "byte %" PRIu64 " is %s\n", pos,
                    dirty ? "clean" : "dirty");
            return -1;
        }
    }
    return 0;
}

/* "bitmap-VERB NAME [A [B [C]]]" with the numbers in @v[2..4]. */
static int run_bitmap_command(BlockDriverState *bs, const char *verb,
                              const char *name, guint n, const uint64_t *v)
{
    BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, name);
    Error *err = NULL;

    if (!strcmp(verb, "add") && n == 3) {
        bm = bdrv_create_dirty_bitmap(bs, v[2], name, &err);
        if (!bm) {
            error_report_err(err);
        }
        return bm ? 0 : -1;
    }
    if (!strcmp(verb, "absent") && n == 2) {
        return bm ? -1 : 0;
    }
    if (!bm) {
        fprintf(stderr, "no bitmap '%s'\n", name);
        return -1;
    }
    if (!strcmp(verb, "remove") && n == 2) {
        bdrv_release_dirty_bitmap(bm);
    } else if (!strcmp(verb, "disable") && n == 2) {
        bdrv_disable_dirty_bitmap(bm);
    } else if (!strcmp(verb, "dirty") && n == 4) {
        bdrv_set_dirty_bitmap(bm, v[2], v[3]);
    } else if (!strcmp(verb, "expect") && n == 5) {
        return bitmap_expect(bm, v[2], v[3], v[4]);
    } else if (!strcmp(verb, "count") && n == 3) {
        return (uint64_t)bdrv_get_dirty_count(bm) == v[2] ? 0 : -1;
    } else if (!strcmp(verb, "enabled") && n == 3) {
        return bdrv_dirty_bitmap_enabled(bm) == !!v[2] ? 0 : -1;
    } else if (!strcmp(verb, "granularity") && n == 3) {
        return bdrv_dirty_bitmap_granularity(bm) == v[2] ? 0 : -1;
    } else {
        fprintf(stderr, "unknown bitmap command '%s'\n", verb);
        return -1;
    }
    return 0;
}

static int run_command(BlockDriverState *bs, const char *cmd)
{
    g_auto(GStrv) w = g_strsplit(cmd, " ", -1);
    guint n = g_strv_length(w);
    uint64_t a = 0, b = 0, c = 0;

    if (!strcmp(w[0], "setkey") && n == 2) {
        return bdrv_set_key(bs, w[1]);      /* the argument is no number */
    }
    if (g_str_has_prefix(w[0], "bitmap-") && n >= 2) {
        uint64_t v[5] = { 0 };

        for (guint i = 2; i < n && i < 5; i++) {
            if (!parse_size(w[i], &v[i])) {
                return -1;
            }
        }
        return run_bitmap_command(bs, w[0] + 7, w[1], n, v);
    }
    if ((n > 1 && !parse_size(w[1], &a)) || (n > 2 && !parse_size(w[2], &b))
        || (n > 3 && !parse_size(w[3], &c))) {
        return -1;
    }
    if (!strcmp(w[0], "write") && n == 4) {
        g_autofree uint8_t *buf = g_malloc(b);
        memset(buf, c, b);
        return bdrv_pwrite(bs, a, buf, b) < 0 ? -1 : 0;
    }
    if (!strcmp(w[0], "read") && n == 4) {
        return verify(bs, a, b, c);
    }
    if (!strcmp(w[0], "zero") && n == 3) {
        return bdrv_write_zeroes(bs, a >> 9, b >> 9);
    }
    if (!strcmp(w[0], "discard") && n == 3) {
        return bdrv_discard(bs, a >> 9, b >> 9);
    }
    if (!strcmp(w[0], "flush") && n == 1) {
        return bdrv_flush(bs);
    }
    if (!strcmp(w[0], "truncate") && n == 2) {
        return bdrv_truncate(bs, a);
    }
    fprintf(stderr, "unknown command '%s'\n", cmd);
    return -1;
}

/* "k=v,k=v" into a new table of driver options. */
static GHashTable *parse_open_opts(const char *str)
{
    GHashTable *opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             g_free);
    g_auto(GStrv) pairs = g_strsplit(str, ",", -1);

    for (int i = 0; pairs[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(pairs[i], "=", 2);

        if (kv[0] && kv[1]) {
            g_hash_table_insert(opts, g_strdup(kv[0]), g_strdup(kv[1]));
        }
    }
    return opts;
}

/* Register the leading "--object SECRET" pairs; returns how many words. */
static int take_objects(int argc, char **argv)
{
    Error *err = NULL;
    int i = 1;

    while (i + 1 < argc && !strcmp(argv[i], "--object")) {
        if (!spindle_secret_add_object(argv[i + 1], &err)) {
            error_report_err(err);
            exit(2);
        }
        i += 2;
    }
    return i - 1;
}

int main(int argc, char **argv)
{
    int flags = BDRV_O_RDWR | BDRV_O_CACHE_WB;
    g_autoptr(GHashTable) open_opts = NULL;
    BlockDriver *drv = NULL;
    BlockDriverState *bs;
    Error *err = NULL;
    int opt, ret = 0, skip;

    qemu_init_main_loop(&error_fatal);
    skip = take_objects(argc, argv);
    argv[skip] = argv[0];
    argv += skip;
    argc -= skip;
    if (argc > 1 && !strcmp(argv[1], "create")) {
        return do_create(argc, argv);
    }
    if (argc > 1 && !strcmp(argv[1], "check")) {
        return do_check(argc, argv);
    }
    while ((opt = getopt(argc, argv, "rf:o:")) != -1) {
        switch (opt) {
        case 'r':
            flags &= ~BDRV_O_RDWR;
            break;
        case 'f':
            drv = bdrv_find_format(optarg);
            break;
        case 'o':
            open_opts = parse_open_opts(optarg);
            break;
        default:
            fprintf(stderr, "usage: image-peer [-r] [-f FMT] IMAGE CMD...\n");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: image-peer [-r] [-f FMT] IMAGE CMD...\n");
        return 2;
    }
    bs = bdrv_new("");
    if (bdrv_open_options(bs, argv[optind], open_opts, flags, drv,
                          &err) < 0) {
        error_report_err(err);
        bdrv_unref(bs);
        return 1;
    }
    for (int i = optind + 1; i < argc && ret == 0; i++) {
        ret = run_command(bs, argv[i]);
        if (ret < 0) {
            fprintf(stderr, "'%s' failed\n", argv[i]);
        }
    }
    bdrv_unref(bs);
    return ret < 0 ? 1 : 0;
}
