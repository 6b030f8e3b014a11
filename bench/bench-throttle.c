/*
 * I/O limits: the rate a throttled node really achieves, against QEMU's
 * throttle driver doing the same work in the same run.
 *
 * For each configuration, `count` reads of `size` bytes, one at a time, go to
 * a null-co node (read-zeroes off, so the storage costs nothing and the
 * limit alone sets the pace); the figure is bytes (or requests) per
 * second of wall time, and its ratio to the configured limit.  The peer is
 * `qemu-io` over QEMU's throttle filter with the same limit (qemu-img
 * bench takes no --object), timed around the whole process (its start-up,
 * ~20 ms, is included, which is why each run lasts a few seconds).  Both start with an idle bucket, so
 * both get the same initial allowance of a tenth of a second.
 *
 * Not a speed race: closer to 1.00 is better on both sides.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include <sys/wait.h>
#include "bench.h"

#define DEPTH 1

typedef struct Config {
    const char *name;
    int64_t bps_read;        /* 0: not limited */
    int64_t iops_read;
    int64_t size;            /* bytes per request */
    int64_t count;
} Config;

static const Config configs[] = {
    { "bps 100 MiB/s, 64 KiB reads", 100 << 20, 0, 65536, 4800 },
    { "iops 5000, 4 KiB reads", 0, 5000, 4096, 15000 },
};

typedef struct Run {
    BlockDriverState *bs;
    QEMUIOVector qiov;
    int64_t left;
    int64_t in_flight;
    int64_t next_sector;
} Run;

static void read_done(void *opaque, int ret);

static void submit(Run *r)
{
    int nb = r->qiov.size >> BDRV_SECTOR_BITS;

    r->left--;
    r->in_flight++;
    bdrv_aio_readv(r->bs, r->next_sector, &r->qiov, nb, read_done, r);
    r->next_sector = (r->next_sector + nb) % (1 << 20);
}

static void read_done(void *opaque, int ret)
{
    Run *r = opaque;

    assert(ret == 0);
    r->in_flight--;
    if (r->left > 0) {
        submit(r);
    }
}

static double run_ours(const Config *c)
{
    g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash, g_str_equal);
    BlockIOLimit limits = {
        .bps[BLOCK_IO_LIMIT_READ] = c->bps_read,
        .iops[BLOCK_IO_LIMIT_READ] = c->iops_read,
    };
    g_autofree void *buf = g_malloc(c->size);
    Run r = { .left = c->count };
    uint64_t start;

    g_hash_table_insert(opts, "file.read-zeroes", "off");
    g_hash_table_insert(opts, "file.size", "4G");
    r.bs = bdrv_new("");
    if (bdrv_open_options(r.bs, "null-co://", opts, 0, NULL,
                          &error_fatal) < 0) {
        exit(1);
    }
    bdrv_io_limits_apply(r.bs, &limits, &error_fatal);
    qemu_iovec_init_buf(&r.qiov, buf, c->size);
    start = bench_now_ns();
    for (int i = 0; i < DEPTH && r.left > 0; i++) {
        submit(&r);
    }
    while (r.in_flight > 0) {
        aio_poll(qemu_get_aio_context(), true);
    }
    bdrv_unref(r.bs);
    return (bench_now_ns() - start) / 1e9;
}

/* qemu-io with QEMU's throttle filter, one read command after another.
 * (Queuing them all with aio_read does not work as a peer: the closing
 * aio_flush drains the node, and QEMU lets throttled requests through
 * unthrottled when it drains.) */
static double run_qemu(const Config *c)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    int status;
    uint64_t start;

    g_ptr_array_add(argv, g_strdup("qemu-io"));
    g_ptr_array_add(argv, g_strdup("--object"));
    g_ptr_array_add(argv, g_strdup_printf(
        "throttle-group,id=tg0,x-bps-read=%" PRId64 ",x-iops-read=%" PRId64,
        c->bps_read, c->iops_read));
    g_ptr_array_add(argv, g_strdup("--image-opts"));
    g_ptr_array_add(argv, g_strdup(
        "driver=throttle,throttle-group=tg0,file.driver=null-co,"
        "file.size=4G,file.read-zeroes=off"));
    for (int64_t i = 0; i < c->count; i++) {
        g_ptr_array_add(argv, g_strdup("-c"));
        g_ptr_array_add(argv, g_strdup_printf(
            "read -q %" PRId64 " %" PRId64,
            (int64_t)((i * c->size) % (1LL << 31)), c->size));
    }
    g_ptr_array_add(argv, NULL);

    start = bench_now_ns();
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, NULL, &status, NULL) ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return -1;
    }
    return (bench_now_ns() - start) / 1e9;
}

static void report(const Config *c, const char *who, double secs)
{
    double limit = c->bps_read ? c->bps_read : c->iops_read;
    double amount = c->bps_read ? (double)c->count * c->size : c->count;
    double rate = amount / secs;

    if (secs < 0) {
        printf("  %-9s n/a (qemu-io missing or failed)\n", who);
        return;
    }
    printf("  %-9s %.2f s, achieved %.0f %s (%.3f of the limit)\n", who,
           secs, c->bps_read ? rate / (1 << 20) : rate,
           c->bps_read ? "MiB/s" : "IOPS", rate / limit);
}

int main(void)
{
    qemu_init_main_loop(&error_fatal);
    printf("# I/O limits: achieved rate vs configured, null-co, depth %d\n",
           DEPTH);
    for (size_t i = 0; i < G_N_ELEMENTS(configs); i++) {
        const Config *c = &configs[i];

        printf("%s (%" PRId64 " requests)\n", c->name, c->count);
        report(c, "spindle", run_ours(c));
        report(c, "qemu-io", run_qemu(c));
    }
    return 0;
}
