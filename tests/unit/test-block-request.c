/*
 * The request path when things go wrong, and the stages that depend on
 * the kind of request: every test drives real requests through opened
 * nodes (mostly raw over blkdebug over mem-co) and fails them with
 * blkdebug or the test drivers.
 *
 *   limits     reads and writes are metered, flushes and discards pass
 *   cor        copy-on-read whose backing read or top write fails
 *   fua        a write's own flush fails under the stop policy
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "block/blkdebug.h"
#include "block-test-drivers.h"

static AioContext *ctx;

static void setup(void)
{
    test_drivers_register();
    mem_reset();
}

static void add_rules(BlockDriverState *bs, const char *rules)
{
    g_assert_true(blkdebug_add_rules(bs, rules, "test", &error_abort));
}

static void run_ready(void)
{
    while (aio_poll(ctx, false)) {
        /* everything that is ready */
    }
}

/* Move the manual virtual clock to each deadline until @done is set. */
static void run_virtual_until(bool *done)
{
    while (!*done) {
        int64_t next = timerlist_deadline_ns(ctx->tlg.tl[QEMU_CLOCK_VIRTUAL]);

        g_assert_cmpint(next, >=, 0);      /* a timer must be pending */
        qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, next);
        run_ready();
    }
}

/* One request of any kind, in a coroutine of its own. */
typedef enum { R_READ, R_WRITE, R_FLUSH, R_DISCARD } ReqKind;

typedef struct Req {
    BlockDriverState *bs;
    ReqKind kind;
    int64_t offset;
    int64_t bytes;
    uint8_t *buf;
    BdrvRequestFlags flags;
    int ret;
    bool done;
} Req;

static void coroutine_fn req_co(void *opaque)
{
    Req *r = opaque;
    QEMUIOVector qiov;

    switch (r->kind) {
    case R_READ:
    case R_WRITE:
        qemu_iovec_init_buf(&qiov, r->buf, r->bytes);
        r->ret = r->kind == R_READ
                 ? bdrv_co_preadv(r->bs, r->offset, r->bytes, &qiov, r->flags)
                 : bdrv_co_pwritev(r->bs, r->offset, r->bytes, &qiov,
                                   r->flags);
        break;
    case R_FLUSH:
        r->ret = bdrv_co_flush(r->bs);
        break;
    case R_DISCARD:
        r->ret = bdrv_co_pdiscard(r->bs, r->offset, r->bytes);
        break;
    }
    r->done = true;
}

static void start(Req *r)
{
    qemu_coroutine_enter(qemu_coroutine_create(req_co, r));
}

/* ---- limits ------------------------------------------------------------ */

/*
 * As in QEMU, I/O limits meter reads and writes only: with the write
 * budget spent and a write queued, a flush and a discard still go at once.
 */
static void test_limits_pass_flush_discard(void)
{
    BlockIOLimit limits = { .iops[BLOCK_IO_LIMIT_TOTAL] = 1 };
    uint8_t buf[2][512] = { { 0 } };
    BlockDriverState *bs;
    Req w1, w2, f, d;

    setup();
    bs = test_open_opts("mem-co:limits", BDRV_O_RDWR, NULL, NULL);
    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
    bdrv_io_limits_set_clock(bs, QEMU_CLOCK_VIRTUAL);
    g_assert_true(bdrv_io_limits_apply(bs, &limits, &error_abort));
    w1 = (Req) { bs, R_WRITE, 0, 512, buf[0] };
    w2 = (Req) { bs, R_WRITE, 512, 512, buf[1] };
    f = (Req) { bs, R_FLUSH };
    d = (Req) { bs, R_DISCARD, 4096, 4096 };

    start(&w1);
    start(&w2);
    run_ready();
    g_assert_true(w1.done);
    g_assert_false(w2.done);            /* the budget is spent */
    start(&f);
    start(&d);
    run_ready();
    g_assert_true(f.done && d.done);
    g_assert_cmpint(f.ret | d.ret, ==, 0);
    g_assert_false(w2.done);

    run_virtual_until(&w2.done);
    g_assert_cmpint(w2.ret, ==, 0);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_FLUSH], ==, 1);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_DISCARD], ==, 1);
    bdrv_io_limits_disable(bs);
    bdrv_io_limits_set_clock(bs, QEMU_CLOCK_REALTIME);
    bdrv_unref(bs);
}

/* ---- cor --------------------------------------------------------------- */

/* cowtest on mem-co:cor-top, copy-on-read on; its backing node is raw
 * over blkdebug over mem-co:cor-base (a pattern). */
static BlockDriverState *open_cor_chain(void)
{
    BlockDriverState *bs = test_open_opts("mem-co:cor-base", BDRV_O_RDWR,
                                          NULL, NULL);

    bdrv_unref(bs);
    test_fill(mem_buffer("cor-base", NULL), 65536, 11);
    cowtest_format("mem-co:cor-top", 65536, "blkdebug::mem-co:cor-base",
                   NULL);
    bs = test_open_opts("mem-co:cor-top", BDRV_O_RDWR | BDRV_O_COPY_ON_READ,
                        NULL, NULL);
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "cowtest");
    g_assert_nonnull(blkdebug_find(bs->backing_hd));
    return bs;
}

static void check_cor_retry(BlockDriverState *top, uint8_t *buf)
{
    uint8_t *base = mem_buffer("cor-base", NULL);
    int pnum;

    g_assert_cmpint(bdrv_pread(top, 4096, buf, 4096), ==, 4096);
    g_assert_cmpmem(buf, 4096, base + 4096, 4096);
    g_assert_cmpint(bdrv_is_allocated(top, 8, 8, &pnum), ==, 1);
    g_assert_cmpint(top->copy_on_read_in_flight, ==, 0);
}

/* The backing read fails: so does the read, and nothing is copied. */
static void test_cor_backing_read_fails(void)
{
    BlockDriverState *top;
    uint8_t buf[4096];
    int pnum;

    setup();
    top = open_cor_chain();
    add_rules(top->backing_hd,
              "[inject-error]\nevent = read_aio\nerrno = 5\nonce = on\n");
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(bdrv_pread(top, 4096, buf, 4096), ==, -EIO);
    g_assert_cmpint(bdrv_is_allocated(top, 8, 8, &pnum), ==, 0);
    g_assert_cmpint(top->copy_on_read_in_flight, ==, 0);
    g_assert_cmpuint(top->failed_ops[BDRV_ACCT_READ], ==, 1);
    check_cor_retry(top, buf);
    bdrv_unref(top);
}

/*
 * The write into the top fails after the backing read worked.  QEMU
 * reports the error rather than return the data it read (a deliberate
 * copy-on-read must not silently copy nothing), and so do we: the read
 * fails with the write's errno and the caller's buffer is left alone.
 */
static void test_cor_top_write_fails(void)
{
    BlockDriverState *top;
    uint8_t buf[4096];
    int pnum;

    setup();
    top = open_cor_chain();
    mem_fail_next_write("cor-top", ENOSPC);
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(bdrv_pread(top, 4096, buf, 4096), ==, -ENOSPC);
    g_assert_cmpint(buf[0], ==, 0xaa);
    g_assert_cmpint(bdrv_is_allocated(top, 8, 8, &pnum), ==, 0);
    g_assert_cmpint(top->copy_on_read_in_flight, ==, 0);
    check_cor_retry(top, buf);
    bdrv_unref(top);
}

/* ---- fua --------------------------------------------------------------- */

/*
 * The flush that emulates FUA fails under werror=stop.  It is part of the
 * write, so the write is the request that stops (and leaves the in-flight
 * count, so a drain returns); after a reset the whole write is retried.
 */
static void test_fua_flush_fails_stop(void)
{
    BlockDriverState *bs;
    uint8_t buf[4096], *mem;
    Req w;

    setup();
    bs = test_open_opts("blkdebug::mem-co:fua", BDRV_O_RDWR, NULL, NULL);
    add_rules(bs, "[inject-error]\nevent = flush\nerrno = 5\n");
    bdrv_set_on_error(bs, BLOCK_ERR_REPORT, BLOCK_ERR_STOP_ANY);
    bdrv_iostatus_enable(bs);
    test_fill(buf, sizeof(buf), 3);
    w = (Req) { bs, R_WRITE, 0, sizeof(buf), buf, BDRV_REQ_FUA };

    start(&w);
    while (bdrv_stopped_requests(bs) == 0) {
        aio_poll(ctx, true);
    }
    g_assert_false(w.done);
    g_assert_cmpint(bdrv_iostatus(bs), ==, BLOCK_DEVICE_IO_STATUS_FAILED);
    /* nothing stopped inside the write keeps it in flight */
    g_assert_cmpuint(bs->in_flight, ==, 0);
    bdrv_drain(bs);
    g_assert_false(w.done);

    g_assert_cmpint(blkdebug_remove_rules(bs, BLKDBG_EVENT_MAX), ==, 1);
    bdrv_iostatus_reset(bs);
    while (!w.done) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(w.ret, ==, 0);
    mem = mem_buffer("fua", NULL);
    g_assert_cmpmem(mem, sizeof(buf), buf, sizeof(buf));
    g_assert_cmpint(bdrv_stopped_requests(bs), ==, 0);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();
    test_drivers_register();

    g_test_add_func("/block/request/limits/pass-flush-discard",
                    test_limits_pass_flush_discard);
    g_test_add_func("/block/request/cor/backing-read-fails",
                    test_cor_backing_read_fails);
    g_test_add_func("/block/request/cor/top-write-fails",
                    test_cor_top_write_fails);
    g_test_add_func("/block/request/fua/flush-fails-stop",
                    test_fua_flush_fails_stop);
    return g_test_run();
}
