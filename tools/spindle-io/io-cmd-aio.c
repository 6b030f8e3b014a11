/*
 * aio_read, aio_write and aio_flush: requests that run in the background.
 *
 * Each aio_read/aio_write starts a coroutine on the main context and
 * returns at once; the request makes progress whenever the event loop
 * runs (a later synchronous command, sleep, aio_flush, or exit) and
 * prints its report when it completes.  aio_flush waits for all of them,
 * then flushes the image.  Any alignment is accepted, as in qemu-io 7.2.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "io-cmds.h"

typedef struct AioCmd {
    IOState *s;
    bool write;
    RWOpts o;
    int64_t offset;
    int64_t total;
    int64_t start_ns;
    QEMUIOVector qiov;
    uint8_t *buf;
} AioCmd;

static void aio_cmd_complete(AioCmd *a, int ret)
{
    int64_t elapsed = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - a->start_ns;

    /* The command succeeded when the request was submitted: neither a
     * failure nor a pattern mismatch changes the exit status (qemu-io). */
    if (ret < 0) {
        /* qemu-io 7.2 names a failed aio_read "readv" */
        printf("%s failed: %s\n", a->write ? "aio_write" : "readv",
               strerror(-ret));
    } else {
        if (!a->write && a->o.has_pattern) {
            io_verify_pattern(a->buf, a->o.pattern, a->offset, a->total);
        }
        if (a->o.verbose) {
            io_dump_buffer(a->buf, a->offset, a->total);
        }
        if (!a->o.quiet) {
            io_print_report(a->write ? "wrote" : "read", elapsed, a->offset,
                            a->total, a->total, 1);
        }
    }
    fflush(stdout);
    a->s->aio_in_flight--;
    qemu_iovec_destroy(&a->qiov);
    qemu_vfree(a->buf);
    g_free(a);
}

static void coroutine_fn aio_cmd_entry(void *opaque)
{
    AioCmd *a = opaque;
    BlockDriverState *bs = a->s->bs;
    int ret;

    if (!a->write) {
        ret = bdrv_co_preadv(bs, a->offset, a->total, &a->qiov, 0);
    } else if (a->o.zero) {
        ret = bdrv_co_pwrite_zeroes(bs, a->offset, a->total,
                                    a->o.unmap ? BDRV_REQ_MAY_UNMAP : 0);
    } else {
        ret = bdrv_co_pwritev(bs, a->offset, a->total, &a->qiov,
                              a->o.fua ? BDRV_REQ_FUA : 0);
    }
    aio_cmd_complete(a, ret);
}

/* aio_write's flag checks, in qemu-io's order and words.  (Unlike
 * qemu-io 7.2, whose check of -z with -P never fires, -P is refused.) */
static bool aio_write_flags_ok(const RWOpts *o, int nr_lens)
{
    if (o->zero && nr_lens != 1) {
        printf("-z supports only a single length parameter\n");
        return false;
    }
    if (o->unmap && !o->zero) {
        printf("-u requires -z to be specified\n");
        return false;
    }
    if (o->zero && o->has_pattern) {
        printf("-z and -P cannot be specified at the same time\n");
        return false;
    }
    return true;
}

static int aio_cmd_start(IOState *s, int argc, char **argv, bool write)
{
    g_autoptr(GArray) lens = g_array_new(false, false, sizeof(int64_t));
    AioCmd *a = g_new0(AioCmd, 1);
    int first;

    a->s = s;
    a->write = write;
    a->o.pattern = write ? IO_WRITE_DEFAULT_PATTERN : 0;
    if (!io_parse_rw_opts(argc, argv, write ? "P:qzuf" : "P:qv", &a->o,
                          &first) ||
        !io_check_operands(argc, argv, first, true) ||
        !aio_write_flags_ok(&a->o, argc - first - 1) ||
        !io_parse_range(argc, argv, first, true, &a->offset, lens)) {
        g_free(a);
        return -EINVAL;
    }
    a->buf = io_build_qiov(s->bs, &a->qiov, lens,
                           write && a->o.zero ? -1 : a->o.pattern, &a->total);
    s->aio_in_flight++;
    a->start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    qemu_coroutine_enter(qemu_coroutine_create(aio_cmd_entry, a));
    return 0;
}

int io_cmd_aio_read(IOState *s, int argc, char **argv)
{
    return aio_cmd_start(s, argc, argv, false);
}

int io_cmd_aio_write(IOState *s, int argc, char **argv)
{
    return aio_cmd_start(s, argc, argv, true);
}

void io_wait_aio(IOState *s)
{
    while (s->aio_in_flight > 0) {
        aio_poll(qemu_get_aio_context(), true);
    }
}

int io_cmd_aio_flush(IOState *s, int argc, char **argv)
{
    int ret;

    io_wait_aio(s);
    ret = bdrv_flush(s->bs);
    if (ret < 0) {
        printf("aio_flush failed: %s\n", strerror(-ret));
    }
    return ret;
}
