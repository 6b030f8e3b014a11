/*
 * The request path when things go wrong, and the stages that depend on
 * the kind of request: every test drives real requests through opened
 * nodes (mostly raw over blkdebug over mem-co) and fails them with
 * blkdebug or the test drivers.
 *
 *   limits     reads and writes are metered, flushes and discards pass
 *   rmw        the read half of a read-modify-write fails
 *   cor        copy-on-read whose backing read or top write fails
 *   waiters    a request others wait on fails; they go on
 *   multiwrite a merged write fails; every request in it hears so
 *   throttled  a request that waited at the limits fails
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

/* ---- rmw --------------------------------------------------------------- */

/* The read half of an unaligned write (or zero write) fails: the write
 * fails with that errno and nothing reaches the image. */
static void test_rmw_read_fails(void)
{
    BlockDriverState *bs;
    uint8_t buf[300], model[16384], *mem;
    size_t logged;

    setup();
    bs = test_open_opts("blkdebug::mem-co:rmw", BDRV_O_RDWR, NULL,
                        "file.image.file.size=16384",
                        "file.image.file.align=4096", NULL);
    g_assert_cmpint(bs->request_alignment, ==, 4096);
    mem = mem_buffer("rmw", NULL);
    test_fill(mem, sizeof(model), 1);
    memcpy(model, mem, sizeof(model));
    test_fill(buf, sizeof(buf), 99);
    add_rules(bs, "[inject-error]\nevent = read_aio\nerrno = 61\n");

    logged = strlen(mem_op_log());
    g_assert_cmpint(bdrv_pwrite(bs, 4000, buf, sizeof(buf)), ==, -61);
    g_assert_cmpint(bdrv_write_zeroes(bs, 9, 2), ==, -61);
    g_assert_null(strchr(mem_op_log() + logged, 'w'));
    g_assert_cmpmem(mem, sizeof(model), model, sizeof(model));
    g_assert_cmpuint(bs->failed_ops[BDRV_ACCT_WRITE], ==, 2);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_WRITE], ==, 0);

    /* nothing was left behind: the same write works once reads do */
    g_assert_cmpint(blkdebug_remove_rules(bs, BLKDBG_EVENT_MAX), ==, 1);
    g_assert_cmpint(bdrv_pwrite(bs, 4000, buf, sizeof(buf)), ==,
                    sizeof(buf));
    memcpy(model + 4000, buf, sizeof(buf));
    g_assert_cmpmem(mem, sizeof(model), model, sizeof(model));
    g_assert_true(QLIST_EMPTY(&bs->tracked_requests));
    g_assert_cmpint(bs->serialising_in_flight, ==, 0);
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

/* ---- waiters ----------------------------------------------------------- */

/*
 * An unaligned write (serialising) fails after a delay; an overlapping
 * write and an overlapping read wait for it meanwhile, then proceed.
 */
static void test_failed_request_releases_waiters(void)
{
    BlockDriverState *bs;
    uint8_t b1[100], b2[512], rb[512], *mem;
    Req w1, w2, r;

    setup();
    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
    bs = test_open_opts("blkdebug::mem-co:waiters", BDRV_O_RDWR, NULL,
                        "file.clock=virtual", NULL);
    add_rules(bs, "[inject-error]\nevent = write_aio\nerrno = 5\n"
                  "once = on\ndelay-ns = 1000\n");
    test_fill(b1, sizeof(b1), 1);
    test_fill(b2, sizeof(b2), 2);
    w1 = (Req) { bs, R_WRITE, 100, sizeof(b1), b1 };
    w2 = (Req) { bs, R_WRITE, 0, sizeof(b2), b2 };
    r = (Req) { bs, R_READ, 0, sizeof(rb), rb };

    start(&w1);
    run_ready();
    g_assert_false(w1.done);            /* failing, after the delay */
    start(&w2);
    start(&r);
    run_ready();
    g_assert_false(w2.done || r.done);

    run_virtual_until(&w1.done);
    g_assert_cmpint(w1.ret, ==, -EIO);
    run_ready();
    g_assert_true(w2.done && r.done);
    g_assert_cmpint(w2.ret | r.ret, ==, 0);
    mem = mem_buffer("waiters", NULL);
    g_assert_cmpmem(mem, sizeof(b2), b2, sizeof(b2));
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 1);
    g_assert_true(QLIST_EMPTY(&bs->tracked_requests));
    g_assert_cmpint(bs->serialising_in_flight, ==, 0);
    g_assert_cmpuint(bs->in_flight, ==, 0);
    bdrv_unref(bs);
}

/* ---- multiwrite -------------------------------------------------------- */

typedef struct MwResult {
    int ret;
    int calls;
} MwResult;

static void mw_cb(void *opaque, int ret)
{
    MwResult *res = opaque;

    res->ret = ret;
    res->calls++;
}

/*
 * Five requests in three merged writes: {a, b}, {c, d} and {e}.  The
 * write covering sector 40 fails: c and d both get its error, a, b and e
 * succeed, each callback runs once.
 */
static void test_multiwrite_error(void)
{
    static const int64_t sectors[5] = { 0, 4, 40, 48, 100 };
    BlockDriverState *bs;
    uint8_t data[5][4096], *mem;
    QEMUIOVector qiov[5];
    BlockRequest reqs[5];
    MwResult res[5] = { { 0 } };

    setup();
    bs = test_open_opts("blkdebug::mem-co:mw", BDRV_O_RDWR, NULL, NULL);
    add_rules(bs, "[inject-error]\nevent = write_aio\nsector = 40\n"
                  "errno = 28\n");
    for (int i = 0; i < 5; i++) {
        test_fill(data[i], sizeof(data[i]), i + 1);
        qemu_iovec_init_buf(&qiov[i], data[i], sizeof(data[i]));
        /* submitted out of order: the batch sorts them */
        reqs[4 - i] = (BlockRequest) { sectors[i], 8, &qiov[i], mw_cb,
                                       &res[i] };
    }
    g_assert_cmpint(bdrv_aio_multiwrite(bs, reqs, 5), ==, 0);
    bdrv_drain(bs);                     /* callbacks included */
    run_ready();
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(res[i].calls, ==, 1);
        g_assert_cmpint(res[i].ret, ==, i == 2 || i == 3 ? -ENOSPC : 0);
        g_assert_cmpint(reqs[i].error, ==, 0);
    }
    /* one failure for the one merged write */
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 1);
    mem = mem_buffer("mw", NULL);
    g_assert_cmpmem(mem, 2048, data[0], 2048);
    g_assert_cmpmem(mem + 2048, 4096, data[1], 4096);
    g_assert_true(buffer_is_zero(mem + 40 * 512, 16 * 512));
    g_assert_cmpmem(mem + 100 * 512, 4096, data[4], 4096);
    bdrv_unref(bs);
}

/* ---- throttled --------------------------------------------------------- */

/* A write that waited at the limits fails in the driver: its error is
 * reported, and the requests queued behind it still run. */
static void test_throttled_request_fails(void)
{
    BlockIOLimit limits = { .iops[BLOCK_IO_LIMIT_WRITE] = 1 };
    uint8_t buf[3][512] = { { 0 } };
    BlockDriverState *bs;
    Req w[3];

    setup();
    bs = test_open_opts("blkdebug::mem-co:thr", BDRV_O_RDWR, NULL, NULL);
    add_rules(bs, "[inject-error]\nevent = write_aio\nsector = 16\n"
                  "errno = 28\n");
    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
    bdrv_io_limits_set_clock(bs, QEMU_CLOCK_VIRTUAL);
    g_assert_true(bdrv_io_limits_apply(bs, &limits, &error_abort));
    for (int i = 0; i < 3; i++) {
        w[i] = (Req) { bs, R_WRITE, i * 16 * 512, 512, buf[i] };
        start(&w[i]);
    }
    run_ready();
    g_assert_true(w[0].done);
    g_assert_false(w[1].done || w[2].done);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 0);

    run_virtual_until(&w[1].done);
    g_assert_cmpint(w[1].ret, ==, -ENOSPC);
    run_virtual_until(&w[2].done);
    g_assert_cmpint(w[0].ret | w[2].ret, ==, 0);
    g_assert_cmpuint(blkdebug_injected_count(bs), ==, 1);
    g_assert_cmpuint(bs->failed_ops[BDRV_ACCT_WRITE], ==, 1);
    g_assert_cmpuint(bs->in_flight, ==, 0);
    bdrv_drain(bs);
    bdrv_io_limits_disable(bs);
    bdrv_io_limits_set_clock(bs, QEMU_CLOCK_REALTIME);
    bdrv_unref(bs);
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
    g_test_add_func("/block/request/rmw/read-fails", test_rmw_read_fails);
    g_test_add_func("/block/request/cor/backing-read-fails",
                    test_cor_backing_read_fails);
    g_test_add_func("/block/request/cor/top-write-fails",
                    test_cor_top_write_fails);
    g_test_add_func("/block/request/waiters/failed-request",
                    test_failed_request_releases_waiters);
    g_test_add_func("/block/request/multiwrite/error", test_multiwrite_error);
    g_test_add_func("/block/request/throttled/fails",
                    test_throttled_request_fails);
    g_test_add_func("/block/request/fua/flush-fails-stop",
                    test_fua_flush_fails_stop);
    return g_test_run();
}
