/*
 * The generic block layer: opening and probing, backing chains, the three
 * I/O styles in every combination, alignment and read-modify-write,
 * serialisation of overlapping requests, copy-on-read (alone, against
 * concurrent requests, its reference count), drain (of one node, of all,
 * with FUA writes in flight), AIO cancellation and merged write batches,
 * bdrv_pwrite_sync, bdrv_iterate, IOThread homes, bdrv_append.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "sysemu/iothread.h"
#include "block/block_int.h"
#include "block/blkdebug.h"
#include "block-test-drivers.h"

static AioContext *main_ctx(void)
{
    return qemu_get_aio_context();
}

static void setup(void)
{
    test_drivers_register();
    mem_reset();
    memset(mem_calls, 0, sizeof(mem_calls));
}

/* ---- open ------------------------------------------------------------ */

static void test_open_null_probe(void)
{
    BlockDriverState *bs = test_open_opts("null-co://", BDRV_O_RDWR, NULL,
                                          "file.size=1048576", NULL);
    uint8_t buf[512];

    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "raw");
    g_assert_cmpstr(bdrv_get_format_name(bs->file), ==, "null-co");
    g_assert_cmpint(bdrv_getlength(bs), ==, 1 << 20);
    memset(buf, 0xaa, sizeof(buf));
    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, sizeof(buf));
    g_assert_true(buffer_is_zero(buf, sizeof(buf)));
    bdrv_unref(bs);
}

static void test_open_errors(void)
{
    BlockDriverState *bs = bdrv_new("");
    g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash, g_str_equal);
    Error *err = NULL;

    g_assert_cmpint(bdrv_open(bs, "nosuch://x", 0, NULL, &err), <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "unknown protocol"));
    error_free(err);
    err = NULL;

    g_hash_table_insert(opts, "frobnicate", "1");
    g_assert_cmpint(bdrv_open_options(bs, "null-co://", opts, 0, NULL,
                                      &err), <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "'frobnicate'"));
    error_free(err);
    err = NULL;

    g_hash_table_remove_all(opts);
    g_hash_table_insert(opts, "cache", "sometimes");
    g_assert_cmpint(bdrv_open_options(bs, "null-co://", opts, 0, NULL,
                                      &err), <, 0);
    g_assert_nonnull(strstr(error_get_pretty(err), "cache mode"));
    error_free(err);
    g_assert_null(bs->drv);
    bdrv_unref(bs);
}

static void test_named_nodes(void)
{
    BlockDriverState *a = bdrv_new("disk0");
    BlockDriverState *b = bdrv_new("disk1");
    int n = 0;

    g_assert_true(bdrv_find("disk0") == a);
    g_assert_true(bdrv_find("disk1") == b);
    g_assert_null(bdrv_find("disk2"));
    for (BlockDriverState *bs = bdrv_next(NULL); bs; bs = bdrv_next(bs)) {
        n++;
    }
    g_assert_cmpint(n, ==, 2);
    bdrv_ref(a);
    bdrv_unref(a);
    g_assert_true(bdrv_find("disk0") == a);
    bdrv_delete(a);
    g_assert_null(bdrv_find("disk0"));
    bdrv_delete(b);
}

static void test_cache_flags(void)
{
    int flags = BDRV_O_RDWR;

    g_assert_cmpint(bdrv_parse_cache_flags("none", &flags), ==, 0);
    g_assert_cmpint(flags, ==, BDRV_O_RDWR | BDRV_O_NOCACHE |
                    BDRV_O_CACHE_WB);
    g_assert_cmpint(bdrv_parse_cache_flags("unsafe", &flags), ==, 0);
    g_assert_cmpint(flags, ==, BDRV_O_RDWR | BDRV_O_CACHE_WB |
                    BDRV_O_NO_FLUSH);
    g_assert_cmpint(bdrv_parse_cache_flags("bogus", &flags), ==, -1);
    g_assert_cmpint(bdrv_parse_aio_flags("io_uring", &flags), ==, 0);
    g_assert_true(flags & BDRV_O_NATIVE_AIO);
    g_assert_false(flags & BDRV_O_AIO_AUTO);
    g_assert_cmpint(bdrv_parse_aio_flags("auto", &flags), ==, 0);
    g_assert_true(flags & BDRV_O_NATIVE_AIO);
    g_assert_true(flags & BDRV_O_AIO_AUTO);
    g_assert_cmpint(bdrv_parse_aio_flags("bogus", &flags), ==, -1);
    g_assert_true(flags & BDRV_O_AIO_AUTO);       /* left alone */
    g_assert_cmpint(bdrv_parse_aio_flags("threads", &flags), ==, 0);
    g_assert_false(flags & (BDRV_O_NATIVE_AIO | BDRV_O_AIO_AUTO));
    g_assert_cmpint(flags, ==, BDRV_O_RDWR | BDRV_O_CACHE_WB |
                    BDRV_O_NO_FLUSH);
}

/* ---- the three styles ------------------------------------------------- */

typedef enum { API_SYNC, API_AIO, API_CO } Api;

typedef struct IoReq {
    BlockDriverState *bs;
    int64_t sector;
    int nb;
    uint8_t *buf;
    bool is_write;
    int ret;
    bool done;
} IoReq;

static void io_cb(void *opaque, int ret)
{
    IoReq *r = opaque;

    r->ret = ret;
    r->done = true;
}

static void coroutine_fn io_co(void *opaque)
{
    IoReq *r = opaque;
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, r->buf, (size_t)r->nb << BDRV_SECTOR_BITS);
    r->ret = r->is_write ? bdrv_co_writev(r->bs, r->sector, r->nb, &qiov)
                         : bdrv_co_readv(r->bs, r->sector, r->nb, &qiov);
    r->done = true;
}

static int do_io(Api api, BlockDriverState *bs, int64_t sector, uint8_t *buf,
                 int nb, bool is_write)
{
    IoReq r = { .bs = bs, .sector = sector, .nb = nb, .buf = buf,
                .is_write = is_write };
    QEMUIOVector qiov;

    switch (api) {
    case API_SYNC:
        return is_write ? bdrv_write(bs, sector, buf, nb)
                        : bdrv_read(bs, sector, buf, nb);
    case API_AIO:
        qemu_iovec_init_buf(&qiov, buf, (size_t)nb << BDRV_SECTOR_BITS);
        if (is_write) {
            bdrv_aio_writev(bs, sector, &qiov, nb, io_cb, &r);
        } else {
            bdrv_aio_readv(bs, sector, &qiov, nb, io_cb, &r);
        }
        /* never before the call returned */
        g_assert_false(r.done);
        break;
    case API_CO:
        qemu_coroutine_enter(qemu_coroutine_create(io_co, &r));
        break;
    }
    while (!r.done) {
        aio_poll(main_ctx(), true);
    }
    return r.ret;
}

typedef struct StyleCase {
    const char *proto;
    int style;
    Api write_api;
    Api read_api;
} StyleCase;

static void test_style(gconstpointer opaque)
{
    const StyleCase *c = opaque;
    g_autofree char *name = g_strdup_printf("%s:style", c->proto);
    BlockDriverState *bs;
    uint8_t wbuf[8192], rbuf[8192];

    setup();
    bs = test_open_opts(name, BDRV_O_RDWR, "raw", NULL);
    test_fill(wbuf, sizeof(wbuf), 3);
    g_assert_cmpint(do_io(c->write_api, bs, 5, wbuf, 16, true), ==, 0);
    memset(rbuf, 0, sizeof(rbuf));
    g_assert_cmpint(do_io(c->read_api, bs, 5, rbuf, 16, false), ==, 0);
    g_assert_cmpmem(wbuf, sizeof(wbuf), rbuf, sizeof(rbuf));
    /* the driver served both requests in its own style */
    g_assert_cmpint(mem_calls[c->style], >=, 2);
    for (int i = 0; i < 3; i++) {
        if (i != c->style) {
            g_assert_cmpint(mem_calls[i], ==, 0);
        }
    }
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_READ], ==, 1);
    g_assert_cmpuint(bs->nr_ops[BDRV_ACCT_WRITE], ==, 1);
    g_assert_cmpuint(bs->nr_bytes[BDRV_ACCT_WRITE], ==, 8192);
    bdrv_unref(bs);
}

/* ---- alignment -------------------------------------------------------- */

static void test_rmw_unaligned(void)
{
    BlockDriverState *bs;
    uint8_t *mem, model[16384], buf[300];
    size_t size;

    setup();
    bs = test_open_opts("mem-co:rmw", BDRV_O_RDWR, "raw", "file.size=16384",
                        "file.align=4096", NULL);
    g_assert_cmpint(bs->request_alignment, ==, 4096);
    mem = mem_buffer("rmw", &size);
    test_fill(mem, size, 1);
    memcpy(model, mem, size);

    test_fill(buf, sizeof(buf), 99);
    g_assert_cmpint(bdrv_pwrite(bs, 4000, buf, 300), ==, 300);
    memcpy(model + 4000, buf, 300);
    g_assert_cmpmem(mem, size, model, size);
    /* the driver only ever saw aligned requests: 2 reads + 1 write */
    g_assert_cmpint(mem_calls[0], ==, 3);

    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(bdrv_pread(bs, 4001, buf, 299), ==, 299);
    g_assert_cmpmem(buf, 299, model + 4001, 299);

    /* zero write of an unaligned range */
    g_assert_cmpint(bdrv_co_pwrite_zeroes == NULL, ==, 0);
    g_assert_cmpint(bdrv_write_zeroes(bs, 1, 2), ==, 0);
    memset(model + 512, 0, 1024);
    g_assert_cmpmem(mem, size, model, size);
    bdrv_unref(bs);
}

/* ---- serialisation of overlapping requests ---------------------------- */

/* One byte-granular request in a coroutine of its own. */
typedef struct PrwCo {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    uint8_t *buf;
    int ret;
    bool done;
    bool is_read;
} PrwCo;

static void coroutine_fn prw_co(void *opaque)
{
    PrwCo *p = opaque;

    p->ret = p->is_read ? bdrv_co_pread(p->bs, p->offset, p->bytes, p->buf)
                        : bdrv_co_pwrite(p->bs, p->offset, p->bytes, p->buf);
    p->done = true;
}

static void start_prw(PrwCo *p)
{
    qemu_coroutine_enter(qemu_coroutine_create(prw_co, p));
}

static void drain_main(void)
{
    while (aio_poll(main_ctx(), false)) {
        /* run everything that is ready */
    }
}

static void test_serialise_overlapping(void)
{
    BlockDriverState *bs;
    uint8_t a[4096], b[100], c[4096], *mem;
    PrwCo w1, w2, w3;

    setup();
    bs = test_open_opts("mem-co:ser", BDRV_O_RDWR, "raw", "file.size=65536",
                        "file.align=4096", "file.hold=on", NULL);
    test_fill(a, sizeof(a), 1);
    test_fill(b, sizeof(b), 50);
    test_fill(c, sizeof(c), 90);
    w1 = (PrwCo) { bs, 0, 4096, a };
    w2 = (PrwCo) { bs, 100, 100, b };
    w3 = (PrwCo) { bs, 8192, 4096, c };

    start_prw(&w1);
    g_assert_cmpint(mem_held_count(), ==, 1);
    /* the unaligned write overlaps w1: it must not read-modify-write yet */
    start_prw(&w2);
    drain_main();
    g_assert_cmpint(mem_held_count(), ==, 1);
    /* an unrelated write is not held up by the waiting one */
    start_prw(&w3);
    g_assert_cmpint(mem_held_count(), ==, 2);

    while (!(w1.done && w2.done && w3.done)) {
        mem_release_held();
        drain_main();
    }
    g_assert_cmpint(w1.ret | w2.ret | w3.ret, ==, 0);
    mem = mem_buffer("ser", NULL);
    g_assert_cmpmem(mem, 100, a, 100);
    g_assert_cmpmem(mem + 100, 100, b, 100);
    g_assert_cmpmem(mem + 200, 4096 - 200, a + 200, 4096 - 200);
    g_assert_cmpmem(mem + 8192, 4096, c, 4096);
    g_assert_true(QLIST_EMPTY(&bs->tracked_requests));
    g_assert_cmpint(bs->serialising_in_flight, ==, 0);
    bdrv_unref(bs);
}

/* ---- backing chains and copy-on-read ---------------------------------- */

/* base: raw 64 KiB of pattern; top: cowtest on it. */
static BlockDriverState *make_chain(int flags)
{
    uint8_t *base;
    size_t size;
    BlockDriverState *bs;

    bs = test_open_opts("mem-co:base", BDRV_O_RDWR, "raw", "file.size=65536",
                        NULL);
    bdrv_unref(bs);
    base = mem_buffer("base", &size);
    test_fill(base, size, 11);
    cowtest_format("mem-co:top", 65536, "mem-co:base", "raw");
    return test_open_opts("mem-co:top", flags, NULL, NULL);
}

static void test_backing_chain(void)
{
    BlockDriverState *top;
    uint8_t buf[4096], *base;
    int pnum;

    setup();
    top = make_chain(BDRV_O_RDWR);
    g_assert_cmpstr(bdrv_get_format_name(top), ==, "cowtest");
    g_assert_nonnull(top->backing_hd);
    g_assert_true(top->backing_hd->read_only);
    base = mem_buffer("base", NULL);

    g_assert_cmpint(bdrv_pread(top, 8192, buf, 4096), ==, 4096);
    g_assert_cmpmem(buf, 4096, base + 8192, 4096);
    g_assert_cmpint(bdrv_is_allocated(top, 16, 8, &pnum), ==, 0);

    test_fill(buf, sizeof(buf), 77);
    g_assert_cmpint(bdrv_pwrite(top, 4096, buf, 4096), ==, 4096);
    g_assert_cmpint(bdrv_is_allocated(top, 8, 8, &pnum), ==, 1);
    g_assert_cmpint(pnum, ==, 8);
    g_assert_cmpint(bdrv_is_allocated(top, 0, 24, &pnum), ==, 0);
    g_assert_cmpint(pnum, ==, 8);
    /* above the base: allocated; above top itself: nothing is */
    g_assert_cmpint(bdrv_is_allocated_above(top, NULL, 0, 8, &pnum), ==, 1);
    g_assert_cmpint(bdrv_is_allocated_above(top, top->backing_hd, 0, 8,
                                            &pnum), ==, 0);
    g_assert_cmpint(bdrv_is_allocated_above(top, top->backing_hd, 8, 8,
                                            &pnum), ==, 1);
    /* the base is untouched */
    g_assert_cmpint(bdrv_pread(top->backing_hd, 4096, buf, 4096), ==, 4096);
    g_assert_cmpmem(buf, 4096, base + 4096, 4096);
    bdrv_unref(top);
}

static void test_backing_loop(void)
{
    BlockDriverState *bs = bdrv_new("");
    Error *err = NULL;

    setup();
    cowtest_format("mem-co:loop-a", 65536, "mem-co:loop-b", NULL);
    cowtest_format("mem-co:loop-b", 65536, "mem-co:loop-a", NULL);
    g_assert_cmpint(bdrv_open(bs, "mem-co:loop-a", 0, NULL, &err), ==,
                    -ELOOP);
    g_assert_nonnull(strstr(error_get_pretty(err), "loops"));
    error_free(err);
    g_assert_null(bs->drv);
    bdrv_unref(bs);
}

static void test_copy_on_read(void)
{
    BlockDriverState *top;
    uint8_t buf[1000], *base;
    int pnum;

    setup();
    top = make_chain(BDRV_O_RDWR | BDRV_O_COPY_ON_READ);
    base = mem_buffer("base", NULL);
    g_assert_cmpint(top->copy_on_read, ==, 1);
    g_assert_cmpint(bdrv_is_allocated(top, 8, 8, &pnum), ==, 0);

    /* an unaligned read inside cluster 1 copies the whole cluster */
    g_assert_cmpint(bdrv_pread(top, 5000, buf, sizeof(buf)), ==,
                    sizeof(buf));
    g_assert_cmpmem(buf, sizeof(buf), base + 5000, sizeof(buf));
    g_assert_cmpint(bdrv_is_allocated(top, 8, 8, &pnum), ==, 1);
    g_assert_cmpint(bdrv_is_allocated(top, 16, 8, &pnum), ==, 0);
    g_assert_cmpint(top->copy_on_read_in_flight, ==, 0);

    /* the copy survives the base changing underneath */
    memset(base + 4096, 0, 4096);
    g_assert_cmpint(bdrv_pread(top, 4096, buf, 512), ==, 512);
    g_assert_false(buffer_is_zero(buf, 512));

    bdrv_disable_copy_on_read(top);
    g_assert_cmpint(bdrv_pread(top, 20000, buf, 100), ==, 100);
    g_assert_cmpint(bdrv_is_allocated(top, 32, 8, &pnum), ==, 0);
    bdrv_unref(top);
}

/*
 * Copy-on-read with other requests in flight.  The top is a cowtest image
 * whose backing node is raw over mem-co with hold=on (put under it with
 * bdrv_append), so every read of the backing node waits until the test
 * releases it, and a copy-on-read stays in flight as long as the test
 * wants.  Cluster 5 of the top is allocated.
 */
static BlockDriverState *make_held_chain(void)
{
    BlockDriverState *top, *overlay;
    uint8_t cluster[COWTEST_CLUSTER];

    top = test_open_opts("mem-co:cor-base", BDRV_O_RDWR, "raw", "file.hold=on",
                         NULL);
    test_fill(mem_buffer("cor-base", NULL), 65536, 11);
    cowtest_format("mem-co:cor-top", 65536, NULL, NULL);
    overlay = test_open_opts("mem-co:cor-top", BDRV_O_RDWR | BDRV_O_NO_BACKING,
                             NULL, NULL);
    test_fill(cluster, sizeof(cluster), 55);
    g_assert_cmpint(bdrv_pwrite(overlay, 5 * COWTEST_CLUSTER, cluster,
                                sizeof(cluster)), ==, sizeof(cluster));
    bdrv_append(overlay, top);
    g_assert_cmpstr(bdrv_get_format_name(top), ==, "cowtest");
    bdrv_enable_copy_on_read(top);
    return top;
}

static void release_until_done(PrwCo **reqs, int n)
{
    for (int i = 0; i < n; i++) {
        while (!reqs[i]->done) {
            mem_release_held();
            drain_main();
        }
    }
}

/* A write that starts while a copy-on-read of its cluster waits for the
 * backing node waits in turn; its data lands over the copy, not under. */
static void test_cor_then_write(void)
{
    BlockDriverState *top;
    uint8_t rbuf[1024], wbuf[512], ubuf[COWTEST_CLUSTER];
    uint8_t model[COWTEST_CLUSTER], got[COWTEST_CLUSTER];
    uint8_t *base;
    PrwCo r, w, u;
    int pnum;

    setup();
    top = make_held_chain();
    base = mem_buffer("cor-base", NULL);
    test_fill(wbuf, sizeof(wbuf), 200);
    r = (PrwCo) { top, 4096 + 512, sizeof(rbuf), rbuf, .is_read = true };
    w = (PrwCo) { top, 4096 + 1024, sizeof(wbuf), wbuf };
    u = (PrwCo) { top, 5 * 4096, sizeof(ubuf), ubuf, .is_read = true };

    start_prw(&r);
    g_assert_cmpint(mem_held_count(), ==, 1);
    start_prw(&w);
    drain_main();
    /* the write waits for the copy: it did not even read the backing */
    g_assert_cmpint(mem_held_count(), ==, 1);
    g_assert_false(w.done);
    /* a read elsewhere is not held up by either */
    start_prw(&u);
    drain_main();
    g_assert_true(u.done);
    g_assert_cmpint(u.ret, ==, 0);
    test_fill(model, sizeof(model), 55);
    g_assert_cmpmem(ubuf, sizeof(ubuf), model, sizeof(model));
    g_assert_false(r.done);

    release_until_done((PrwCo *[]) { &r, &w }, 2);
    g_assert_cmpint(r.ret, ==, 0);
    g_assert_cmpint(w.ret, ==, 0);
    g_assert_cmpmem(rbuf, sizeof(rbuf), base + 4096 + 512, sizeof(rbuf));
    memcpy(model, base + 4096, sizeof(model));
    memcpy(model + 1024, wbuf, sizeof(wbuf));
    g_assert_cmpint(bdrv_pread(top, 4096, got, sizeof(got)), ==,
                    sizeof(got));
    g_assert_cmpmem(got, sizeof(got), model, sizeof(model));
    g_assert_cmpint(bdrv_is_allocated(top, 8, 8, &pnum), ==, 1);
    g_assert_true(QLIST_EMPTY(&top->tracked_requests));
    g_assert_cmpint(top->copy_on_read_in_flight, ==, 0);
    bdrv_unref(top);
}

/* A copy-on-read that starts while a write of its cluster is in flight
 * waits for it, then finds the cluster allocated and reads the write's
 * data instead of copying stale data over it. */
static void test_write_then_cor(void)
{
    BlockDriverState *top;
    uint8_t rbuf[COWTEST_CLUSTER], wbuf[512], model[COWTEST_CLUSTER];
    uint8_t *base;
    PrwCo r, w;

    setup();
    top = make_held_chain();
    base = mem_buffer("cor-base", NULL);
    test_fill(wbuf, sizeof(wbuf), 150);
    w = (PrwCo) { top, 8192 + 512, sizeof(wbuf), wbuf };
    r = (PrwCo) { top, 8192, sizeof(rbuf), rbuf, .is_read = true };

    start_prw(&w);                  /* cowtest reads the cluster below */
    g_assert_cmpint(mem_held_count(), ==, 1);
    start_prw(&r);
    drain_main();
    g_assert_cmpint(mem_held_count(), ==, 1);
    g_assert_false(r.done);

    release_until_done((PrwCo *[]) { &w, &r }, 2);
    g_assert_cmpint(w.ret, ==, 0);
    g_assert_cmpint(r.ret, ==, 0);
    memcpy(model, base + 8192, sizeof(model));
    memcpy(model + 512, wbuf, sizeof(wbuf));
    g_assert_cmpmem(rbuf, sizeof(rbuf), model, sizeof(model));
    memset(rbuf, 0, sizeof(rbuf));
    g_assert_cmpint(bdrv_pread(top, 8192, rbuf, sizeof(rbuf)), ==,
                    sizeof(rbuf));
    g_assert_cmpmem(rbuf, sizeof(rbuf), model, sizeof(model));
    bdrv_unref(top);
}

/* copy_on_read counts its users: it is on while any of them wants it. */
static void test_cor_refcount(void)
{
    BlockDriverState *top;
    uint8_t buf[512];
    int pnum;

    setup();
    top = make_chain(BDRV_O_RDWR);
    g_assert_cmpint(top->copy_on_read, ==, 0);
    bdrv_enable_copy_on_read(top);
    bdrv_enable_copy_on_read(top);
    bdrv_disable_copy_on_read(top);
    g_assert_cmpint(top->copy_on_read, ==, 1);
    g_assert_cmpint(bdrv_pread(top, 3 * 4096, buf, sizeof(buf)), ==,
                    sizeof(buf));
    g_assert_cmpint(bdrv_is_allocated(top, 3 * 8, 8, &pnum), ==, 1);

    bdrv_disable_copy_on_read(top);
    g_assert_cmpint(top->copy_on_read, ==, 0);
    g_assert_cmpint(bdrv_pread(top, 4 * 4096, buf, sizeof(buf)), ==,
                    sizeof(buf));
    g_assert_cmpint(bdrv_is_allocated(top, 4 * 8, 8, &pnum), ==, 0);
    bdrv_unref(top);
}

/* ---- drain ------------------------------------------------------------ */

static void release_bh(void *opaque)
{
    mem_release_held();
}

static void test_drain_in_flight(void)
{
    BlockDriverState *bs;
    uint8_t buf[3][512];
    IoReq r[3] = { 0 };
    QEMUIOVector qiov[3];

    setup();
    bs = test_open_opts("mem-co:drain", BDRV_O_RDWR, "raw", "file.hold=on",
                        NULL);
    for (int i = 0; i < 2; i++) {
        qemu_iovec_init_buf(&qiov[i], buf[i], 512);
        bdrv_aio_readv(bs, i, &qiov[i], 1, io_cb, &r[i]);
    }
    g_assert_cmpint(mem_held_count(), ==, 2);
    aio_bh_schedule_oneshot(main_ctx(), release_bh, NULL);
    bdrv_drained_begin(bs);
    /* drained: every request has completed, callbacks included */
    g_assert_true(r[0].done && r[1].done);
    g_assert_cmpuint(bs->in_flight, ==, 0);

    /* a request arriving now waits at the gate */
    qemu_iovec_init_buf(&qiov[2], buf[2], 512);
    bdrv_aio_readv(bs, 2, &qiov[2], 1, io_cb, &r[2]);
    drain_main();
    g_assert_cmpint(mem_held_count(), ==, 0);
    g_assert_false(r[2].done);

    bdrv_drained_end(bs);
    while (!r[2].done) {
        mem_release_held();
        drain_main();
    }
    g_assert_cmpint(r[2].ret, ==, 0);
    bdrv_unref(bs);
}

/*
 * A write emulating FUA (cache=writethrough) is in flight when a drained
 * section begins.  Its flush is part of the write: it must not stop at
 * the gate the write has already passed, or the drain waits for a write
 * that waits for the drain to end.
 */
static void test_drain_fua_write(void)
{
    BlockDriverState *bs;
    uint8_t buf[512];
    IoReq r = { 0 };
    QEMUIOVector qiov;
    size_t logged;

    setup();
    bs = test_open_opts("mem-co:fua", BDRV_O_RDWR | BDRV_O_DIRECTSYNC, "raw",
                        "file.hold=on", NULL);
    logged = strlen(mem_op_log());
    test_fill(buf, sizeof(buf), 4);
    qemu_iovec_init_buf(&qiov, buf, sizeof(buf));
    bdrv_aio_writev(bs, 0, &qiov, 1, io_cb, &r);
    g_assert_cmpint(mem_held_count(), ==, 1);
    aio_bh_schedule_oneshot(main_ctx(), release_bh, NULL);
    bdrv_drained_begin(bs);
    g_assert_true(r.done);
    g_assert_cmpint(r.ret, ==, 0);
    g_assert_cmpuint(bs->in_flight, ==, 0);
    /* written, then flushed */
    g_assert_cmpint(mem_op_log()[logged], ==, 'w');
    g_assert_nonnull(strchr(mem_op_log() + logged, 'f'));
    bdrv_drained_end(bs);
    bdrv_unref(bs);
}

/*
 * bdrv_drain_all returns only when the requests of every node are done.
 * The held requests are released one by one, a millisecond apart, so a
 * drain that returned with one node idle would return too early.
 */
typedef struct Releaser {
    QEMUTimer *timer;
    int left;
} Releaser;

static void release_one_cb(void *opaque)
{
    Releaser *rel = opaque;

    mem_release_one();
    if (--rel->left > 0) {
        timer_mod(rel->timer,
                  qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 1000 * 1000);
    }
}

static void test_drain_all(void)
{
    BlockDriverState *bs[2];
    uint8_t buf[2][512];
    QEMUIOVector qiov[2];

    setup();
    bs[0] = test_open_opts("mem-co:da0", BDRV_O_RDWR, "raw", "file.hold=on",
                           NULL);
    bs[1] = test_open_opts("mem-co:da1", BDRV_O_RDWR, "raw", "file.hold=on",
                           NULL);
    /* each order once, so a drain that skips a node is caught either way */
    for (int first = 0; first < 2; first++) {
        IoReq r[2] = { 0 };
        Releaser rel = { .left = 2 };

        for (int i = 0; i < 2; i++) {
            int n = (first + i) % 2;

            qemu_iovec_init_buf(&qiov[n], buf[n], 512);
            bdrv_aio_readv(bs[n], 0, &qiov[n], 1, io_cb, &r[n]);
        }
        g_assert_cmpint(mem_held_count(), ==, 2);
        rel.timer = aio_timer_new(main_ctx(), QEMU_CLOCK_REALTIME, SCALE_NS,
                                  release_one_cb, &rel);
        timer_mod(rel.timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME));
        bdrv_drain_all();
        timer_free(rel.timer);
        g_assert_true(r[0].done && r[1].done);
        g_assert_cmpint(r[0].ret | r[1].ret, ==, 0);
        g_assert_cmpuint(bs[0]->in_flight + bs[1]->in_flight, ==, 0);
        g_assert_cmpint(mem_held_count(), ==, 0);
    }
    bdrv_unref(bs[0]);
    bdrv_unref(bs[1]);
}

/* ---- AIO cancel and multiwrite ---------------------------------------- */

static void test_aio_cancel(void)
{
    BlockDriverState *bs;
    uint8_t buf[512];
    IoReq r = { 0 };
    QEMUIOVector qiov;
    BlockDriverAIOCB *acb;

    setup();
    bs = test_open_opts("mem-co:cancel", BDRV_O_RDWR, "raw", "file.hold=on",
                        NULL);
    qemu_iovec_init_buf(&qiov, buf, sizeof(buf));
    acb = bdrv_aio_readv(bs, 0, &qiov, 1, io_cb, &r);
    g_assert_cmpint(mem_held_count(), ==, 1);
    aio_bh_schedule_oneshot(main_ctx(), release_bh, NULL);
    bdrv_aio_cancel(acb);
    g_assert_cmpint(mem_held_count(), ==, 0);
    g_assert_false(r.done);
    g_assert_cmpuint(bs->in_flight, ==, 0);
    bdrv_unref(bs);
}

static int mw_calls, mw_errors;

static void mw_cb(void *opaque, int ret)
{
    mw_calls++;
    if (ret < 0) {
        mw_errors++;
    }
}

static void test_multiwrite(void)
{
    BlockDriverState *bs;
    uint8_t a[4096], b[4096], c[4096], *mem;
    QEMUIOVector qa, qb, qc;
    BlockRequest reqs[3];

    setup();
    bs = test_open_opts("mem-co:mw", BDRV_O_RDWR, "raw", NULL);
    test_fill(a, sizeof(a), 1);
    test_fill(b, sizeof(b), 2);
    test_fill(c, sizeof(c), 3);
    qemu_iovec_init_buf(&qa, a, 4096);
    qemu_iovec_init_buf(&qb, b, 4096);
    qemu_iovec_init_buf(&qc, c, 4096);
    /* c is far away; b overlaps the second half of a and wins there */
    reqs[0] = (BlockRequest) { 32, 8, &qc, mw_cb, NULL };
    reqs[1] = (BlockRequest) { 0, 8, &qa, mw_cb, NULL };
    reqs[2] = (BlockRequest) { 4, 8, &qb, mw_cb, NULL };
    mw_calls = mw_errors = 0;
    g_assert_cmpint(bdrv_aio_multiwrite(bs, reqs, 3), ==, 0);
    while (mw_calls < 3) {
        aio_poll(main_ctx(), true);
    }
    g_assert_cmpint(mw_errors, ==, 0);
    g_assert_cmpint(mem_calls[0], ==, 2);
    mem = mem_buffer("mw", NULL);
    g_assert_cmpmem(mem, 2048, a, 2048);
    g_assert_cmpmem(mem + 2048, 4096, b, 4096);
    g_assert_cmpmem(mem + 32 * 512, 4096, c, 4096);

    /* an invalid request fails the batch before anything is submitted */
    reqs[1].nb_sectors = 3;
    g_assert_cmpint(bdrv_aio_multiwrite(bs, reqs, 3), ==, -1);
    g_assert_cmpint(reqs[1].error, ==, -EINVAL);
    g_assert_cmpint(reqs[0].error, ==, 0);
    bdrv_unref(bs);
}

/* ---- misc request behaviour ------------------------------------------- */

static void test_read_only_and_bounds(void)
{
    BlockDriverState *bs;
    uint8_t buf[512] = { 0 };

    setup();
    bs = test_open_opts("mem-co:ro", 0, "raw", NULL);
    g_assert_true(bdrv_is_read_only(bs));
    g_assert_cmpint(bdrv_write(bs, 0, buf, 1), ==, -EACCES);
    g_assert_cmpint(bdrv_discard(bs, 0, 1), ==, -EACCES);
    g_assert_cmpint(bdrv_read(bs, 2048, buf, 1), ==, -EIO);
    g_assert_cmpint(bdrv_read(bs, 2047, buf, 1), ==, 0);
    g_assert_cmpint(bdrv_read(bs, -1, buf, 1), ==, -EIO);
    bdrv_unref(bs);

    bs = bdrv_new("");
    g_assert_cmpint(bdrv_read(bs, 0, buf, 1), ==, -ENOMEDIUM);
    g_assert_cmpint(bdrv_getlength(bs), ==, -ENOMEDIUM);
    bdrv_unref(bs);
}

static void test_write_zeroes_fallback(void)
{
    BlockDriverState *bs;
    uint8_t *mem;
    size_t size;

    setup();
    bs = test_open_opts("mem-co:wz", BDRV_O_RDWR, "raw", NULL);
    mem = mem_buffer("wz", &size);
    memset(mem, 0xff, size);
    /* mem-co has no write_zeroes: the layer writes zero buffers */
    g_assert_cmpint(bdrv_write_zeroes(bs, 8, 16), ==, 0);
    g_assert_true(buffer_is_zero(mem + 4096, 8192));
    g_assert_cmpint(mem[4095], ==, 0xff);
    g_assert_cmpint(mem[4096 + 8192], ==, 0xff);
    /* no discard member: discard succeeds and changes nothing */
    g_assert_cmpint(bdrv_discard(bs, 0, 8), ==, 0);
    g_assert_cmpint(mem[0], ==, 0xff);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    bdrv_unref(bs);
}

/* bdrv_pwrite_sync: the write, then a flush the driver sees after it. */
static void test_pwrite_sync(void)
{
    BlockDriverState *bs;
    uint8_t buf[3000], *mem;
    size_t logged;

    setup();
    bs = test_open_opts("mem-co:psync", BDRV_O_RDWR, "raw", NULL);
    test_fill(buf, sizeof(buf), 8);
    logged = strlen(mem_op_log());
    g_assert_cmpint(bdrv_pwrite_sync(bs, 1000, buf, sizeof(buf)), ==, 0);
    /* read-modify-write of the two edge sectors, the write, the flush */
    g_assert_cmpstr(mem_op_log() + logged, ==, "rrwf");
    mem = mem_buffer("psync", NULL);
    g_assert_cmpmem(mem + 1000, sizeof(buf), buf, sizeof(buf));
    bdrv_unref(bs);
}

/* A failed flush is returned, after the data was written; a failed write
 * is returned without a flush. */
static void test_pwrite_sync_fails(void)
{
    BlockDriverState *bs;
    uint8_t buf[4096], *mem;
    size_t logged;

    setup();
    bs = test_open_opts("blkdebug::mem-co:psync-err", BDRV_O_RDWR, NULL, NULL);
    g_assert_true(blkdebug_add_rules(bs, "[inject-error]\nevent = flush\n"
                                     "errno = 28\nonce = on\n", "test",
                                     &error_abort));
    test_fill(buf, sizeof(buf), 9);
    g_assert_cmpint(bdrv_pwrite_sync(bs, 4096, buf, sizeof(buf)), ==,
                    -ENOSPC);
    mem = mem_buffer("psync-err", NULL);
    g_assert_cmpmem(mem + 4096, sizeof(buf), buf, sizeof(buf));

    g_assert_true(blkdebug_add_rules(bs, "[inject-error]\n"
                                     "event = write_aio\nonce = on\n",
                                     "test", &error_abort));
    logged = strlen(mem_op_log());
    g_assert_cmpint(bdrv_pwrite_sync(bs, 0, buf, sizeof(buf)), ==, -EIO);
    g_assert_cmpstr(mem_op_log() + logged, ==, "");
    g_assert_cmpint(mem[0], ==, 0);
    bdrv_unref(bs);
}

/* ---- node lists --------------------------------------------------------- */

static void count_visit(void *opaque, BlockDriverState *bs)
{
    GHashTable *seen = opaque;
    int n = GPOINTER_TO_INT(g_hash_table_lookup(seen, bs));

    g_hash_table_insert(seen, bs, GINT_TO_POINTER(n + 1));
}

/* bdrv_iterate visits every named node once, and no other node. */
static void test_iterate(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    BlockDriverState *a, *b, *anon, *opened;
    int named = 0;

    setup();
    a = bdrv_new("it-a");
    b = bdrv_new("it-b");
    anon = bdrv_new("");
    opened = bdrv_new("it-opened");
    g_assert_cmpint(bdrv_open(opened, "mem-co:iter", BDRV_O_RDWR, NULL,
                              &error_abort), ==, 0);

    bdrv_iterate(count_visit, seen);
    for (BlockDriverState *bs = bdrv_next(NULL); bs; bs = bdrv_next(bs)) {
        g_assert_cmpint(GPOINTER_TO_INT(g_hash_table_lookup(seen, bs)), ==,
                        1);
        named++;
    }
    g_assert_cmpint(named, >=, 3);
    g_assert_cmpuint(g_hash_table_size(seen), ==, named);
    g_assert_true(g_hash_table_contains(seen, a));
    g_assert_true(g_hash_table_contains(seen, b));
    g_assert_true(g_hash_table_contains(seen, opened));
    g_assert_false(g_hash_table_contains(seen, anon));
    g_assert_false(g_hash_table_contains(seen, opened->file));
    bdrv_delete(a);
    bdrv_delete(b);
    bdrv_unref(anon);
    bdrv_delete(opened);
}

static void test_create_unsupported(void)
{
    Error *err = NULL;
    QEMUOptionParameter *opts = append_option_parameters(
        NULL, bdrv_find_format("raw")->create_options);

    setup();
    g_assert_cmpint(bdrv_create(bdrv_find_format("raw"), "mem-co:new", opts,
                                &err), ==, -ENOTSUP);
    g_assert_nonnull(strstr(error_get_pretty(err), "does not support"));
    error_free(err);
    free_option_parameters(opts);
}

/* ---- IOThread home ------------------------------------------------------ */

static void test_iothread_home(void)
{
    IOThread *iot = iothread_create("blk-iot", &error_abort);
    AioContext *ctx = iothread_get_aio_context(iot);
    BlockDriverState *bs;
    uint8_t w[4096], r[4096];

    setup();
    bs = test_open_opts("mem-co:iot", BDRV_O_RDWR, "raw", NULL);
    bdrv_set_aio_context(bs, ctx);
    g_assert_true(bdrv_get_aio_context(bs) == ctx);
    g_assert_true(bdrv_get_aio_context(bs->file) == ctx);
    test_fill(w, sizeof(w), 5);
    g_assert_cmpint(bdrv_pwrite(bs, 512, w, sizeof(w)), ==, sizeof(w));
    g_assert_cmpint(bdrv_pread(bs, 512, r, sizeof(r)), ==, sizeof(r));
    g_assert_cmpmem(w, sizeof(w), r, sizeof(r));
    bdrv_set_aio_context(bs, main_ctx());
    g_assert_cmpint(bdrv_pread(bs, 512, r, sizeof(r)), ==, sizeof(r));
    g_assert_cmpmem(w, sizeof(w), r, sizeof(r));
    bdrv_unref(bs);
    iothread_destroy(iot);
}

/* ---- bdrv_append ---------------------------------------------------------- */

static void test_append(void)
{
    BlockDriverState *top, *overlay;
    uint8_t buf[4096], *base;

    setup();
    top = test_open_opts("mem-co:app-base", BDRV_O_RDWR, "raw", NULL);
    g_strlcpy(top->device_name, "", sizeof(top->device_name));
    base = mem_buffer("app-base", NULL);
    test_fill(base, 65536, 21);
    cowtest_format("mem-co:app-top", 65536, NULL, NULL);
    overlay = test_open_opts("mem-co:app-top", BDRV_O_RDWR | BDRV_O_NO_BACKING,
                             NULL, NULL);

    bdrv_append(overlay, top);
    /* users of @top now see the overlay, with the old top below */
    g_assert_cmpstr(bdrv_get_format_name(top), ==, "cowtest");
    g_assert_true(top->backing_hd == overlay);
    g_assert_cmpstr(bdrv_get_format_name(overlay), ==, "raw");
    g_assert_cmpint(bdrv_pread(top, 0, buf, 4096), ==, 4096);
    g_assert_cmpmem(buf, 4096, base, 4096);
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(top, 0, buf, 4096), ==, 4096);
    /* the write landed in the overlay, not the old image */
    g_assert_cmpint(base[0], !=, 0x5a);
    bdrv_unref(top);
}

int main(int argc, char **argv)
{
    static const char *const protos[] = { "mem-co", "mem-aio", "mem-sync" };
    static const char *const api_names[] = { "sync", "aio", "co" };
    static StyleCase cases[27];
    int n = 0;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_drivers_register();

    g_test_add_func("/block/open/null-probe", test_open_null_probe);
    g_test_add_func("/block/open/errors", test_open_errors);
    g_test_add_func("/block/open/named-nodes", test_named_nodes);
    g_test_add_func("/block/open/cache-flags", test_cache_flags);
    for (int s = 0; s < 3; s++) {
        for (int w = 0; w < 3; w++) {
            for (int r = 0; r < 3; r++) {
                g_autofree char *path = g_strdup_printf(
                    "/block/style/%s/write-%s/read-%s", protos[s],
                    api_names[w], api_names[r]);
                cases[n] = (StyleCase) { protos[s], s, w, r };
                g_test_add_data_func(path, &cases[n++], test_style);
            }
        }
    }
    g_test_add_func("/block/align/rmw", test_rmw_unaligned);
    g_test_add_func("/block/tracked/serialise", test_serialise_overlapping);
    g_test_add_func("/block/backing/chain", test_backing_chain);
    g_test_add_func("/block/backing/loop", test_backing_loop);
    g_test_add_func("/block/copy-on-read", test_copy_on_read);
    g_test_add_func("/block/copy-on-read/then-write", test_cor_then_write);
    g_test_add_func("/block/copy-on-read/after-write", test_write_then_cor);
    g_test_add_func("/block/copy-on-read/refcount", test_cor_refcount);
    g_test_add_func("/block/drain/in-flight", test_drain_in_flight);
    g_test_add_func("/block/drain/fua-write", test_drain_fua_write);
    g_test_add_func("/block/drain/all", test_drain_all);
    g_test_add_func("/block/aio/cancel", test_aio_cancel);
    g_test_add_func("/block/aio/multiwrite", test_multiwrite);
    g_test_add_func("/block/request/read-only-bounds",
                    test_read_only_and_bounds);
    g_test_add_func("/block/request/write-zeroes-fallback",
                    test_write_zeroes_fallback);
    g_test_add_func("/block/request/pwrite-sync", test_pwrite_sync);
    g_test_add_func("/block/request/pwrite-sync-fails",
                    test_pwrite_sync_fails);
    g_test_add_func("/block/node/iterate", test_iterate);
    g_test_add_func("/block/create/unsupported", test_create_unsupported);
    g_test_add_func("/block/iothread", test_iothread_home);
    g_test_add_func("/block/append", test_append);
    return g_test_run();
}
