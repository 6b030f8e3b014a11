/*
 * bench: qemu-img bench's request loop on Spindle's callback API.
 *
 * Keeps @depth requests in flight with bdrv_aio_readv/writev; each
 * completion callback submits the next request at offset + step
 * (wrapping at the end of the image), and, with --flush-interval, issues
 * a flush every N requests: after draining the queue, or alongside the
 * requests with --no-drain.  The header and closing lines are qemu-img
 * 7.2's.  Unlike qemu-img, offset, size and step must be multiples of
 * 512 (the callback API counts sectors), and -d 0 is refused (qemu-img
 * hangs on it).  All requests share one buffer, as in qemu-img.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "img.h"
#include <getopt.h>

static const char bench_usage[] =
"Usage: spindle-img bench [-c count] [-d depth] [-f fmt] "
"[--flush-interval=N] [-n] [--no-drain] [-o offset] [--pattern=N] [-q] "
"[-s size] [-S step] [-t cache] [-i aio] [-w] [-U] [--image-opts] "
"filename\n"
"Run a simple sequential I/O benchmark (default: 75000 4 KiB reads, 64 in "
"parallel).\n";

typedef struct BenchData {
    BlockDriverState *bs;
    uint64_t image_size;
    bool write;
    int bufsize;
    int step;
    int nrreq;               /* queue depth */
    int n;                   /* requests not yet completed */
    int flush_interval;
    bool drain_on_flush;
    int in_flight;
    bool in_flush;
    uint64_t offset;         /* of the next request */
    QEMUIOVector qiov;
    uint8_t *buf;
} BenchData;

static void bench_fail(const char *what, int ret)
{
    img_error("%s: %s", what, strerror(-ret));
    exit(EXIT_FAILURE);
}

static void bench_undrained_flush_cb(void *opaque, int ret)
{
    if (ret < 0) {
        bench_fail("Failed flush request", ret);
    }
}

static void bench_cb(void *opaque, int ret);

static void bench_submit(BenchData *b)
{
    while (b->n > b->in_flight && b->in_flight < b->nrreq) {
        int64_t sector = b->offset / BDRV_SECTOR_SIZE;
        int nb = b->bufsize / BDRV_SECTOR_SIZE;
        BlockDriverAIOCB *acb;

        /* Count it first: the call may find completed work and re-enter. */
        b->in_flight++;
        b->offset += b->step;
        b->offset %= b->image_size;
        acb = b->write
            ? bdrv_aio_writev(b->bs, sector, &b->qiov, nb, bench_cb, b)
            : bdrv_aio_readv(b->bs, sector, &b->qiov, nb, bench_cb, b);
        if (!acb) {
            bench_fail("Failed to issue request", -EIO);
        }
    }
}

/* A request finished; returns true when the caller must wait for a
 * draining flush before submitting more. */
static bool bench_account(BenchData *b)
{
    int remaining = b->n - b->in_flight;

    b->n--;
    b->in_flight--;
    if (!b->flush_interval || remaining % b->flush_interval != 0) {
        return false;
    }
    if (!b->in_flight || !b->drain_on_flush) {
        b->in_flush = b->drain_on_flush;
        if (!bdrv_aio_flush(b->bs, b->drain_on_flush ? bench_cb
                                                     : bench_undrained_flush_cb,
                            b)) {
            bench_fail("Failed to issue flush request", -EIO);
        }
    }
    return b->drain_on_flush;
}

static void bench_cb(void *opaque, int ret)
{
    BenchData *b = opaque;

    if (ret < 0) {
        bench_fail("Failed request", ret);
    }
    if (b->in_flush) {
        b->in_flush = false;    /* the drained flush is done: go on */
    } else if (b->in_flight > 0 && bench_account(b)) {
        return;
    }
    bench_submit(b);
}

typedef struct BenchArgs {
    ToolOpenSpec spec;
    int count, depth, bufsize, step, pattern, flush_interval;
    int64_t offset;
    bool write, quiet, no_drain;
} BenchArgs;

enum { OPT_PATTERN = 256, OPT_FLUSH_INTERVAL, OPT_NO_DRAIN, OPT_IMAGE_OPTS };

static const struct option bench_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "pattern", required_argument, NULL, OPT_PATTERN },
    { "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
    { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "force-share", no_argument, NULL, 'U' },
    { NULL },
};

/* Parse a positive (or, with @zero_ok, non-negative) int; -1 if bad. */
static int parse_int(const char *arg, bool zero_ok, int64_t max)
{
    int64_t v = cvtnum(arg);

    return v < 0 || (!zero_ok && v == 0) || v > max ? -1 : (int)v;
}

static bool bench_option(BenchArgs *a, int c)
{
    switch (c) {
    case 'c': return (a->count = parse_int(optarg, true, INT_MAX)) >= 0 ||
                     (img_error("Invalid request count specified"), false);
    case 'd': return (a->depth = parse_int(optarg, false, INT_MAX)) > 0 ||
                     (img_error("Invalid queue depth specified"), false);
    case 's': return (a->bufsize = parse_int(optarg, false, INT_MAX)) > 0 ||
                     (img_error("Invalid buffer size specified"), false);
    case 'S': return (a->step = parse_int(optarg, true, INT_MAX)) >= 0 ||
                     (img_error("Invalid step size specified"), false);
    case 'o': return (a->offset = cvtnum(optarg)) >= 0 ||
                     (img_error("Invalid offset specified"), false);
    case OPT_PATTERN:
        return (a->pattern = parse_int(optarg, true, 0xff)) >= 0 ||
               (img_error("Invalid pattern byte specified"), false);
    case OPT_FLUSH_INTERVAL:
        return (a->flush_interval = parse_int(optarg, true, INT_MAX)) >= 0 ||
               (img_error("Invalid flush interval specified"), false);
    case 'f': a->spec.format = optarg; return true;
    case 'n': a->spec.cache = "none"; return true;
    case 't': a->spec.cache = optarg; return true;
    case 'i': a->spec.aio = optarg; return true;
    case 'w': a->write = true; return true;
    case 'q': a->quiet = true; return true;
    case 'U': a->spec.flags |= BDRV_O_FORCE_SHARE; return true;
    case OPT_NO_DRAIN: a->no_drain = true; return true;
    case OPT_IMAGE_OPTS: a->spec.image_opts = true; return true;
    default:
        img_error("Invalid option; try 'spindle-img bench --help'");
        return false;
    }
}

static bool bench_check(BenchArgs *a)
{
    if (a->flush_interval && !a->write) {
        img_error("--flush-interval is only available in write tests");
        return false;
    }
    if (a->no_drain && !a->flush_interval) {
        img_error("--no-drain requires --flush-interval");
        return false;
    }
    if ((a->offset | a->bufsize | a->step) % BDRV_SECTOR_SIZE) {
        img_error("Offset, size and step must be multiples of 512");
        return false;
    }
    return true;
}

static int bench_run(BenchData *b, const BenchArgs *a)
{
    int64_t start;

    b->buf = qemu_blockalign(b->bs, b->bufsize);
    memset(b->buf, a->pattern, b->bufsize);
    qemu_iovec_init(&b->qiov, 1);
    qemu_iovec_add(&b->qiov, b->buf, b->bufsize);
    if (!a->quiet) {
        printf("Sending %d %s requests, %d bytes each, %d in parallel "
               "(starting at offset %" PRIu64 ", step size %d)\n",
               b->n, b->write ? "write" : "read", b->bufsize, b->nrreq,
               b->offset, b->step);
        if (b->flush_interval) {
            printf("Sending flush every %d requests\n", b->flush_interval);
        }
    }
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    bench_cb(b, 0);
    while (b->n > 0) {
        aio_poll(bdrv_get_aio_context(b->bs), true);
    }
    if (!a->quiet) {
        printf("Run completed in %3.3f seconds.\n",
               (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start) / 1e9);
    }
    qemu_iovec_destroy(&b->qiov);
    qemu_vfree(b->buf);
    return EXIT_SUCCESS;
}

int img_bench(int argc, char **argv)
{
    BenchArgs a = { .count = 75000, .depth = 64, .bufsize = 4096,
                    .step = 0, .spec.cache = "writeback" };
    BenchData b = { 0 };
    int64_t len;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hc:d:f:ni:o:qs:S:t:wU",
                            bench_opts, NULL)) != -1) {
        if (c == 'h') {
            return img_help(bench_usage);
        }
        if (!bench_option(&a, c)) {
            return EXIT_FAILURE;
        }
    }
    if (argc - optind != 1) {
        img_error("Expecting one image file name");
        return EXIT_FAILURE;
    }
    if (!bench_check(&a)) {
        return EXIT_FAILURE;
    }
    a.spec.flags |= a.write ? BDRV_O_RDWR : 0;
    b.bs = img_open(argv[optind], &a.spec);
    if (!b.bs) {
        return EXIT_FAILURE;
    }
    len = bdrv_getlength(b.bs);
    if (len <= 0) {
        img_error("Could not get the size of the image");
        bdrv_unref(b.bs);
        return EXIT_FAILURE;
    }
    b.image_size = len;
    b.write = a.write;
    b.bufsize = a.bufsize;
    b.step = a.step ? a.step : a.bufsize;
    b.nrreq = a.depth;
    b.n = a.count;
    b.flush_interval = a.flush_interval;
    b.drain_on_flush = !a.no_drain;
    b.offset = a.offset;
    ret = bench_run(&b, &a);
    bdrv_unref(b.bs);
    return ret;
}
