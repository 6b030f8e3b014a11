/*
 * compress-peer: writes compressed clusters through the library, for the
 * compressed-qcow2 interop tests and throughput measurements (until
 * spindle-img has `convert -c`).
 *
 *   compress-peer [-j N] [-t] IMAGE RAW
 *       write every cluster of the raw file RAW that is not all zeroes
 *       into the existing image IMAGE with bdrv_write_compressed (the
 *       last cluster may be partial), from N coroutines at once
 *       (default 1); -t prints the throughput on stdout.
 *
 * Exits 0 when everything was written, else prints why and exits 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"

typedef struct Job {
    BlockDriverState *bs;
    int fd;
    int64_t cluster_size;
    int64_t length;
    int64_t next;                /* next cluster offset to take */
    int running;
    int ret;
} Job;

static bool all_zero(const uint8_t *buf, size_t len)
{
    return len == 0 || (buf[0] == 0 && !memcmp(buf, buf + 1, len - 1));
}

static void coroutine_fn worker(void *opaque)
{
    Job *j = opaque;
    g_autofree uint8_t *buf = g_malloc(j->cluster_size);

    while (j->ret == 0 && j->next < j->length) {
        int64_t off = j->next;
        size_t n = MIN(j->cluster_size, j->length - off);
        int ret;

        j->next += j->cluster_size;
        if (pread(j->fd, buf, n, off) != (ssize_t)n) {
            j->ret = -EIO;
            break;
        }
        if (all_zero(buf, n)) {
            continue;
        }
        ret = bdrv_write_compressed(j->bs, off >> 9, buf,
                                    DIV_ROUND_UP(n, 512));
        if (ret < 0) {
            fprintf(stderr, "compressed write at %" PRId64 ": %s\n", off,
                    strerror(-ret));
            j->ret = ret;
        }
    }
    j->running--;
}

int main(int argc, char **argv)
{
    BlockDriverInfo bdi;
    Job j = { 0 };
    Error *err = NULL;
    int opt, n = 1;
    bool timing = false;
    int64_t start;

    qemu_init_main_loop(&error_fatal);
    while ((opt = getopt(argc, argv, "j:t")) != -1) {
        switch (opt) {
        case 'j':
            n = atoi(optarg);
            break;
        case 't':
            timing = true;
            break;
        default:
            goto usage;
        }
    }
    if (argc - optind != 2 || n < 1) {
        goto usage;
    }
    j.fd = open(argv[optind + 1], O_RDONLY);
    if (j.fd < 0) {
        perror(argv[optind + 1]);
        return 1;
    }
    j.length = lseek(j.fd, 0, SEEK_END);
    j.bs = bdrv_new("");
    if (bdrv_open(j.bs, argv[optind], BDRV_O_RDWR | BDRV_O_CACHE_WB, NULL,
                  &err) < 0) {
        error_report_err(err);
        return 1;
    }
    if (bdrv_get_info(j.bs, &bdi) < 0 || bdi.cluster_size <= 0) {
        fprintf(stderr, "no cluster size\n");
        return 1;
    }
    j.cluster_size = bdi.cluster_size;

    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    for (int i = 0; i < n; i++) {
        j.running++;
        qemu_coroutine_enter(qemu_coroutine_create(worker, &j));
    }
    while (j.running > 0) {
        aio_poll(qemu_get_aio_context(), true);
    }
    if (j.ret == 0 && bdrv_flush(j.bs) < 0) {
        j.ret = -EIO;
    }
    if (timing) {
        double s = (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start) / 1e9;
        printf("%.1f MiB in %.3f s: %.1f MiB/s\n", j.length / 1048576.0, s,
               j.length / 1048576.0 / s);
    }
    bdrv_unref(j.bs);
    close(j.fd);
    return j.ret < 0 ? 1 : 0;

usage:
    fprintf(stderr, "usage: compress-peer [-j N] [-t] IMAGE RAW\n");
    return 2;
}
