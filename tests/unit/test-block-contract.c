/*
 * The BlockDriver contract: the generic layer calls every member a driver
 * provides (and applies the documented fallback where it does not), and
 * the node-level features built on the request path (raw windows, null
 * options, I/O limits, dirty bitmaps, statistics, error policy) work
 * end to end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "block-test-drivers.h"

/* ---- a driver that records every member called ------------------------ */

enum {
    C_SET_KEY, C_MAKE_EMPTY, C_INVALIDATE, C_FLUSH_OS, C_FLUSH_DISK,
    C_TRUNCATE, C_ALLOC_SIZE, C_COMPRESSED, C_SN_CREATE, C_SN_GOTO,
    C_SN_DELETE, C_SN_LIST, C_SN_LOAD_TMP, C_INFO, C_SAVE_VM, C_LOAD_VM,
    C_CHANGE_BACKING, C_INSERTED, C_CHANGED, C_EJECT, C_LOCK, C_IOCTL,
    C_CHECK, C_DEBUG, C_ZERO_INIT, C_WRITE_ZEROES, C_DISCARD, C_PROBE_DEV,
    C_CLOSE, C_COUNT
};

static int calls[C_COUNT];
static int64_t rec_length = 1 << 20;

static int rec_open(BlockDriverState *bs, const char *filename, int flags)
{
    bs->encrypted = strstr(filename, "enc") != NULL;
    return 0;
}

static void rec_close(BlockDriverState *bs) { calls[C_CLOSE]++; }
static int64_t rec_getlength(BlockDriverState *bs) { return rec_length; }

static int coroutine_fn rec_co_rw(BlockDriverState *bs, int64_t sector,
                                  int nb, QEMUIOVector *qiov)
{
    return 0;
}

static int rec_set_key(BlockDriverState *bs, const char *key)
{
    calls[C_SET_KEY]++;
    return strcmp(key, "secret") ? -EINVAL : 0;
}

static int rec_make_empty(BlockDriverState *bs)
{
    calls[C_MAKE_EMPTY]++;
    return 0;
}

static void rec_invalidate(BlockDriverState *bs) { calls[C_INVALIDATE]++; }

static int coroutine_fn rec_flush_os(BlockDriverState *bs)
{
    calls[C_FLUSH_OS]++;
    return 0;
}

static int coroutine_fn rec_flush_disk(BlockDriverState *bs)
{
    calls[C_FLUSH_DISK]++;
    return 0;
}

static int rec_truncate(BlockDriverState *bs, int64_t offset)
{
    calls[C_TRUNCATE]++;
    rec_length = offset;
    return 0;
}

static int64_t rec_alloc_size(BlockDriverState *bs)
{
    calls[C_ALLOC_SIZE]++;
    return 4242;
}

static int rec_compressed(BlockDriverState *bs, int64_t sector,
                          const uint8_t *buf, int nb)
{
    calls[C_COMPRESSED]++;
    return 0;
}

static int rec_sn_create(BlockDriverState *bs, QEMUSnapshotInfo *sn)
{
    calls[C_SN_CREATE]++;
    return 0;
}

static int rec_sn_goto(BlockDriverState *bs, const char *id)
{
    calls[C_SN_GOTO]++;
    return 0;
}

static int rec_sn_delete(BlockDriverState *bs, const char *id)
{
    calls[C_SN_DELETE]++;
    return 0;
}

static int rec_sn_list(BlockDriverState *bs, QEMUSnapshotInfo **psn)
{
    calls[C_SN_LIST]++;
    *psn = g_new0(QEMUSnapshotInfo, 2);
    g_strlcpy((*psn)[0].name, "one", sizeof((*psn)[0].name));
    g_strlcpy((*psn)[1].name, "two", sizeof((*psn)[1].name));
    return 2;
}

static int rec_sn_load_tmp(BlockDriverState *bs, const char *name)
{
    calls[C_SN_LOAD_TMP]++;
    return 0;
}

static int rec_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    calls[C_INFO]++;
    bdi->cluster_size = 65536;
    return 0;
}

static int rec_save_vm(BlockDriverState *bs, const uint8_t *buf,
                       int64_t pos, int size)
{
    calls[C_SAVE_VM]++;
    return size;
}

static int rec_load_vm(BlockDriverState *bs, uint8_t *buf, int64_t pos,
                       int size)
{
    calls[C_LOAD_VM]++;
    return size;
}

static int rec_change_backing(BlockDriverState *bs, const char *file,
                              const char *fmt)
{
    calls[C_CHANGE_BACKING]++;
    return 0;
}

static int rec_inserted(BlockDriverState *bs)
{
    calls[C_INSERTED]++;
    return 0;
}

static int rec_changed(BlockDriverState *bs)
{
    calls[C_CHANGED]++;
    return 1;
}

static void rec_eject(BlockDriverState *bs, bool f) { calls[C_EJECT]++; }
static void rec_lock(BlockDriverState *bs, bool l) { calls[C_LOCK]++; }

static int rec_ioctl(BlockDriverState *bs, unsigned long req, void *buf)
{
    calls[C_IOCTL]++;
    *(int *)buf = (int)req;
    return 0;
}

static int rec_check(BlockDriverState *bs, BdrvCheckResult *res)
{
    calls[C_CHECK]++;
    res->leaks = 3;
    return 0;
}

static void rec_debug(BlockDriverState *bs, BlkDebugEvent e)
{
    calls[C_DEBUG]++;
}

static int rec_zero_init(BlockDriverState *bs)
{
    calls[C_ZERO_INIT]++;
    return 1;
}

static int coroutine_fn rec_write_zeroes(BlockDriverState *bs, int64_t s,
                                         int nb)
{
    calls[C_WRITE_ZEROES]++;
    return 0;
}

static int coroutine_fn rec_discard(BlockDriverState *bs, int64_t s, int nb)
{
    calls[C_DISCARD]++;
    return 0;
}

static int rec_probe_device(const char *filename)
{
    calls[C_PROBE_DEV]++;
    return g_str_has_prefix(filename, "/dev/rec") ? 100 : 0;
}

static BlockDriver rec_driver = {
    .format_name = "rec",
    .protocol_name = "rec",
    .bdrv_file_open = rec_open,
    .bdrv_close = rec_close,
    .bdrv_getlength = rec_getlength,
    .bdrv_co_readv = rec_co_rw,
    .bdrv_co_writev = rec_co_rw,
    .bdrv_set_key = rec_set_key,
    .bdrv_make_empty = rec_make_empty,
    .bdrv_invalidate_cache = rec_invalidate,
    .bdrv_co_flush_to_os = rec_flush_os,
    .bdrv_co_flush_to_disk = rec_flush_disk,
    .bdrv_truncate = rec_truncate,
    .bdrv_get_allocated_file_size = rec_alloc_size,
    .bdrv_write_compressed = rec_compressed,
    .bdrv_snapshot_create = rec_sn_create,
    .bdrv_snapshot_goto = rec_sn_goto,
    .bdrv_snapshot_delete = rec_sn_delete,
    .bdrv_snapshot_list = rec_sn_list,
    .bdrv_snapshot_load_tmp = rec_sn_load_tmp,
    .bdrv_get_info = rec_info,
    .bdrv_save_vmstate = rec_save_vm,
    .bdrv_load_vmstate = rec_load_vm,
    .bdrv_change_backing_file = rec_change_backing,
    .bdrv_is_inserted = rec_inserted,
    .bdrv_media_changed = rec_changed,
    .bdrv_eject = rec_eject,
    .bdrv_lock_medium = rec_lock,
    .bdrv_ioctl = rec_ioctl,
    .bdrv_check = rec_check,
    .bdrv_debug_event = rec_debug,
    .bdrv_has_zero_init = rec_zero_init,
    .bdrv_co_write_zeroes = rec_write_zeroes,
    .bdrv_co_discard = rec_discard,
    .bdrv_probe_device = rec_probe_device,
};

static BlockDriverState *open_rec(const char *name, int flags)
{
    BlockDriverState *bs = bdrv_new("");

    memset(calls, 0, sizeof(calls));
    rec_length = 1 << 20;
    g_assert_cmpint(bdrv_open(bs, name, flags | BDRV_O_PROTOCOL, NULL,
                              &error_abort), ==, 0);
    return bs;
}

static void test_forwarding(void)
{
    BlockDriverState *bs = open_rec("rec:x", BDRV_O_RDWR);
    QEMUSnapshotInfo sn = { 0 }, *list;
    BlockDriverInfo bdi;
    BdrvCheckResult res;
    uint8_t buf[512] = { 0 };
    int io = 0;

    g_assert_cmpint(bdrv_make_empty(bs), ==, 0);
    bdrv_invalidate_cache(bs);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    g_assert_cmpint(calls[C_FLUSH_OS], ==, 1);
    g_assert_cmpint(calls[C_FLUSH_DISK], ==, 1);
    g_assert_cmpint(bdrv_truncate(bs, 2 << 20), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 2 << 20);
    g_assert_cmpint(bdrv_get_allocated_file_size(bs), ==, 4242);
    g_assert_cmpint(bdrv_write_compressed(bs, 0, buf, 1), ==, 0);
    g_assert_cmpint(bdrv_snapshot_create(bs, &sn), ==, 0);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "1"), ==, 0);
    g_assert_cmpint(bdrv_snapshot_delete(bs, "1"), ==, 0);
    g_assert_cmpint(bdrv_snapshot_list(bs, &list), ==, 2);
    g_assert_cmpstr(list[1].name, ==, "two");
    g_free(list);
    g_assert_cmpint(bdrv_snapshot_load_tmp(bs, "one"), ==, -EINVAL);
    g_assert_cmpint(bdrv_get_info(bs, &bdi), ==, 0);
    g_assert_cmpint(bdi.cluster_size, ==, 65536);
    g_assert_cmpint(bdrv_save_vmstate(bs, buf, 0, 512), ==, 512);
    g_assert_cmpint(bdrv_load_vmstate(bs, buf, 0, 512), ==, 512);
    g_assert_cmpint(bdrv_change_backing_file(bs, "b.img", "raw"), ==, 0);
    g_assert_cmpstr(bs->backing_file, ==, "b.img");
    g_assert_cmpstr(bs->backing_format, ==, "raw");
    g_assert_false(bdrv_is_inserted(bs));
    g_assert_cmpint(bdrv_media_changed(bs), ==, 1);
    bdrv_eject(bs, true);
    bdrv_lock_medium(bs, true);
    g_assert_cmpint(bdrv_ioctl(bs, 77, &io), ==, 0);
    g_assert_cmpint(io, ==, 77);
    g_assert_cmpint(bdrv_check(bs, &res, 0), ==, 0);
    g_assert_cmpint(res.leaks, ==, 3);
    /* the seed's bdrv_check cannot repair */
    g_assert_cmpint(bdrv_check(bs, &res, BDRV_FIX_LEAKS), ==, -ENOTSUP);
    BLKDBG_EVENT(bs, BLKDBG_L2_LOAD);
    g_assert_cmpint(bdrv_has_zero_init(bs), ==, 1);
    g_assert_cmpint(bdrv_write_zeroes(bs, 0, 8), ==, 0);
    g_assert_cmpint(bdrv_discard(bs, 0, 8), ==, 0);

    for (int i = 0; i < C_COUNT; i++) {
        if (i == C_SET_KEY || i == C_SN_LOAD_TMP || i == C_PROBE_DEV ||
            i == C_CLOSE) {
            continue;
        }
        g_assert_cmpint(calls[i], >=, 1);
    }
    g_assert_cmpint(calls[C_SN_LOAD_TMP], ==, 0);   /* refused: writable */
    bdrv_unref(bs);
    g_assert_cmpint(calls[C_CLOSE], ==, 1);
}

static void test_unsafe_skips_disk_flush(void)
{
    BlockDriverState *bs = open_rec("rec:x", BDRV_O_RDWR | BDRV_O_NO_FLUSH);

    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    g_assert_cmpint(calls[C_FLUSH_OS], ==, 1);
    g_assert_cmpint(calls[C_FLUSH_DISK], ==, 0);
    bdrv_unref(bs);
}

static void test_keys(void)
{
    BlockDriverState *bs = open_rec("rec:enc", BDRV_O_RDWR);

    g_assert_true(bdrv_is_encrypted(bs));
    g_assert_true(bdrv_key_required(bs));
    g_assert_cmpint(bdrv_set_key(bs, "wrong"), ==, -EINVAL);
    g_assert_false(bs->valid_key);
    g_assert_cmpint(bdrv_set_key(bs, "secret"), ==, 0);
    g_assert_true(bs->valid_key);
    g_assert_false(bdrv_key_required(bs));
    bdrv_unref(bs);

    bs = open_rec("rec:plain", BDRV_O_RDWR);
    g_assert_cmpint(bdrv_set_key(bs, "secret"), ==, -EINVAL);
    bdrv_unref(bs);
}

static void test_probe_device(void)
{
    Error *err = NULL;

    memset(calls, 0, sizeof(calls));
    g_assert_true(bdrv_find_protocol("/dev/rec0", &err) == &rec_driver);
    g_assert_cmpint(calls[C_PROBE_DEV], >=, 1);
    g_assert_true(bdrv_find_protocol("plain.img", &err) ==
                  bdrv_find_format("file"));
}

/* Drivers that implement none of the optional members get the fallbacks. */
static void test_fallbacks(void)
{
    BlockDriverState *bs;
    BlockDriverInfo bdi;
    BdrvCheckResult res;
    QEMUSnapshotInfo *sn;
    int pnum;

    mem_reset();
    bs = bdrv_new("");
    g_assert_cmpint(bdrv_open(bs, "mem-co:fb", BDRV_O_RDWR | BDRV_O_PROTOCOL,
                              NULL, &error_abort), ==, 0);
    g_assert_cmpint(bdrv_is_allocated(bs, 0, 16, &pnum), ==, 1);
    g_assert_cmpint(pnum, ==, 16);
    g_assert_cmpint(bdrv_has_zero_init(bs), ==, 0);
    g_assert_cmpint(bdrv_get_info(bs, &bdi), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_check(bs, &res, 0), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_snapshot_list(bs, &sn), ==, -ENOTSUP);
    g_assert_false(bdrv_can_snapshot(bs));
    g_assert_cmpint(bdrv_truncate(bs, 4096), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_make_empty(bs), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_media_changed(bs), ==, -ENOTSUP);
    g_assert_true(bdrv_is_inserted(bs));
    g_assert_cmpint(bdrv_write_compressed(bs, 0, NULL, 0), ==, -ENOTSUP);
    g_assert_cmpint(bdrv_ioctl(bs, 1, NULL), ==, -ENOTSUP);
    bdrv_unref(bs);
}

/* ---- raw windows and null options ---------------------------------- */

static BlockDriverState *open_kv(const char *filename, int flags,
                                 const char *const *kv, Error **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash, g_str_equal);
    BlockDriverState *bs = bdrv_new("");

    for (; kv && *kv; kv += 2) {
        g_hash_table_insert(opts, (char *)kv[0], (char *)kv[1]);
    }
    if (bdrv_open_options(bs, filename, opts, flags, NULL, errp) < 0) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

/* ---- callback-style members: flush, discard, ioctl ------------------- */

typedef struct AioResult {
    int ret;
    bool done;
} AioResult;

static void aio_result_cb(void *opaque, int ret)
{
    AioResult *r = opaque;

    g_assert_false(r->done);
    r->ret = ret;
    r->done = true;
}

/* @acb was just submitted: its callback must not have run yet. */
static int wait_aio(BlockDriverAIOCB *acb, AioResult *r)
{
    g_assert_nonnull(acb);
    g_assert_false(r->done);
    while (!r->done) {
        aio_poll(qemu_get_aio_context(), true);
    }
    return r->ret;
}

typedef struct DiscardCo {
    BlockDriverState *bs;
    int64_t offset, bytes;
    int ret;
    bool done;
} DiscardCo;

static void coroutine_fn discard_co(void *opaque)
{
    DiscardCo *d = opaque;

    d->ret = bdrv_co_pdiscard(d->bs, d->offset, d->bytes);
    d->done = true;
}

static int co_discard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    DiscardCo d = { .bs = bs, .offset = offset, .bytes = bytes };

    qemu_coroutine_enter(qemu_coroutine_create(discard_co, &d));
    while (!d.done) {
        aio_poll(qemu_get_aio_context(), true);
    }
    return d.ret;
}

/* A callback-style driver's bdrv_aio_discard serves every discard API. */
static void test_aio_discard_member(void)
{
    BlockDriverState *bs;
    AioResult r = { 0 };
    BlockAcctStats st;
    uint8_t *mem;
    size_t size;

    mem_reset();
    bs = open_kv("mem-aio:disc", BDRV_O_RDWR, NULL, &error_abort);
    mem = mem_buffer("disc", &size);
    memset(mem, 0xff, size);

    /* callback API, through raw: sectors [8, 24) */
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_discard(bs, 8, 16, aio_result_cb, &r),
                             &r), ==, 0);
    g_assert_cmpint(mem_aio.discards, ==, 1);
    g_assert_cmpint(mem_aio.discarded, ==, 16 * 512);
    g_assert_true(buffer_is_zero(mem + 8 * 512, 16 * 512));
    g_assert_cmpint(mem[8 * 512 - 1], ==, 0xff);
    g_assert_cmpint(mem[24 * 512], ==, 0xff);

    /* coroutine API on the protocol node itself */
    g_assert_cmpint(co_discard(bs->file, 64 * 1024, 4096), ==, 0);
    g_assert_cmpint(mem_aio.discards, ==, 2);
    g_assert_true(buffer_is_zero(mem + 64 * 1024, 4096));
    g_assert_cmpint(mem[68 * 1024], ==, 0xff);

    /* the driver's result is the request's result, in every API */
    mem_aio.result = -EIO;
    g_assert_cmpint(co_discard(bs, 128 * 1024, 4096), ==, -EIO);
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_discard(bs, 0, 8, aio_result_cb, &r),
                             &r), ==, -EIO);
    mem_aio.result = -ENOSPC;
    g_assert_cmpint(bdrv_discard(bs, 0, 8), ==, -ENOSPC);
    g_assert_cmpint(mem_aio.discards, ==, 5);
    g_assert_cmpint(mem[0], ==, 0xff);
    bdrv_get_stats(bs, &st);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_DISCARD], ==, 1);
    g_assert_cmpuint(st.failed_ops[BDRV_ACCT_DISCARD], ==, 3);
    bdrv_unref(bs);
}

/* bdrv_aio_flush of the driver serves flushes and its error comes back. */
static void test_aio_flush_member(void)
{
    static const char *const unsafe[] = { "cache", "unsafe", NULL };
    BlockDriverState *bs;
    AioResult r = { 0 };

    mem_reset();
    bs = open_kv("mem-aio:fl", BDRV_O_RDWR, NULL, &error_abort);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    g_assert_cmpint(mem_aio.flushes, ==, 1);
    g_assert_cmpint(wait_aio(bdrv_aio_flush(bs, aio_result_cb, &r), &r), ==,
                    0);
    g_assert_cmpint(mem_aio.flushes, ==, 2);

    mem_aio.result = -EIO;
    g_assert_cmpint(bdrv_flush(bs), ==, -EIO);
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_flush(bs, aio_result_cb, &r), &r), ==,
                    -EIO);
    g_assert_cmpint(mem_aio.flushes, ==, 4);
    bdrv_unref(bs);

    /* closing flushes (and fails quietly) */
    g_assert_cmpint(mem_aio.flushes, >, 4);

    /* cache=unsafe: the driver's flush is never called, not even on close */
    mem_aio.flushes = 0;
    bs = open_kv("mem-aio:fl", BDRV_O_RDWR, unsafe, &error_abort);
    g_assert_cmpint(bdrv_flush(bs), ==, 0);
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_flush(bs, aio_result_cb, &r), &r), ==,
                    0);
    bdrv_unref(bs);
    g_assert_cmpint(mem_aio.flushes, ==, 0);
}

/*
 * ioctl: a driver with only the synchronous member gets bdrv_aio_ioctl
 * too (the layer runs it for the callback API); one with bdrv_aio_ioctl
 * gets the request itself; raw passes both kinds to its file; a driver
 * with neither fails with -ENOTSUP.
 */
static void test_aio_ioctl(void)
{
    BlockDriverState *bs;
    AioResult r = { 0 };
    int io = 0;

    /* the fallback: rec has only bdrv_ioctl */
    bs = open_rec("rec:io", BDRV_O_RDWR);
    g_assert_cmpint(wait_aio(bdrv_aio_ioctl(bs, 77, &io, aio_result_cb, &r),
                             &r), ==, 0);
    g_assert_cmpint(io, ==, 77);
    g_assert_cmpint(calls[C_IOCTL], ==, 1);
    bdrv_unref(bs);

    /* raw over rec: both forwarded, the callback one to the fallback */
    bs = bdrv_new("");
    memset(calls, 0, sizeof(calls));
    g_assert_cmpint(bdrv_open(bs, "rec:io", BDRV_O_RDWR,
                              bdrv_find_format("raw"), &error_abort), ==, 0);
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "raw");
    g_assert_cmpint(bdrv_ioctl(bs, 5, &io), ==, 0);
    g_assert_cmpint(io, ==, 5);
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_ioctl(bs, 6, &io, aio_result_cb, &r),
                             &r), ==, 0);
    g_assert_cmpint(io, ==, 6);
    g_assert_cmpint(calls[C_IOCTL], ==, 2);
    bdrv_unref(bs);

    /* raw over mem-aio: the driver's own bdrv_aio_ioctl, and its result */
    mem_reset();
    bs = open_kv("mem-aio:io", BDRV_O_RDWR, NULL, &error_abort);
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_ioctl(bs, 9, &io, aio_result_cb, &r),
                             &r), ==, 0);
    g_assert_cmpint(io, ==, 9);
    g_assert_cmpint(mem_aio.ioctls, ==, 1);
    mem_aio.result = -ENOTTY;
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_ioctl(bs, 10, &io, aio_result_cb, &r),
                             &r), ==, -ENOTTY);
    g_assert_cmpint(mem_aio.ioctls, ==, 2);
    /* no synchronous member: the synchronous call is not emulated */
    g_assert_cmpint(bdrv_ioctl(bs, 11, &io), ==, -ENOTSUP);
    g_assert_cmpint(io, ==, 10);
    bdrv_unref(bs);

    /* neither member */
    bs = open_kv("mem-co:io", BDRV_O_RDWR, NULL, &error_abort);
    r = (AioResult) { 0 };
    g_assert_cmpint(wait_aio(bdrv_aio_ioctl(bs, 12, &io, aio_result_cb, &r),
                             &r), ==, -ENOTSUP);
    bdrv_unref(bs);
}

/* ---- geometry hints -------------------------------------------------- */

static void test_geometry_hints(void)
{
    BlockDriverState *top, *overlay;
    int c = -1, h = -1, sec = -1;

    mem_reset();
    top = open_kv("mem-co:geo", BDRV_O_RDWR, NULL, &error_abort);
    bdrv_get_geometry_hint(top, &c, &h, &sec);
    g_assert_cmpint(c, ==, 0);
    g_assert_cmpint(h, ==, 0);
    g_assert_cmpint(sec, ==, 0);
    g_assert_cmpint(bdrv_get_translation_hint(top), ==,
                    BIOS_ATA_TRANSLATION_AUTO);

    bdrv_set_geometry_hint(top, 1024, 16, 63);
    bdrv_set_translation_hint(top, BIOS_ATA_TRANSLATION_LBA);
    bdrv_get_geometry_hint(top, &c, &h, &sec);
    g_assert_cmpint(c, ==, 1024);
    g_assert_cmpint(h, ==, 16);
    g_assert_cmpint(sec, ==, 63);
    g_assert_cmpint(bdrv_get_translation_hint(top), ==,
                    BIOS_ATA_TRANSLATION_LBA);
    /* hints only: the size is what the image says */
    g_assert_cmpint(bdrv_getlength(top), ==, 1 << 20);

    /* the hints belong to the node users hold, across bdrv_append */
    g_strlcpy(top->device_name, "", sizeof(top->device_name));
    cowtest_format("mem-co:geo-top", 65536, NULL, NULL);
    overlay = bdrv_new("");
    g_assert_cmpint(bdrv_open(overlay, "mem-co:geo-top",
                              BDRV_O_RDWR | BDRV_O_NO_BACKING, NULL,
                              &error_abort), ==, 0);
    bdrv_append(overlay, top);
    g_assert_cmpstr(bdrv_get_format_name(top), ==, "cowtest");
    bdrv_get_geometry_hint(top, &c, &h, &sec);
    g_assert_cmpint(c * 1000000 + h * 1000 + sec, ==, 1024016063);
    g_assert_cmpint(bdrv_get_translation_hint(top), ==,
                    BIOS_ATA_TRANSLATION_LBA);
    bdrv_get_geometry_hint(top->backing_hd, &c, &h, &sec);
    g_assert_cmpint(c | h | sec, ==, 0);
    bdrv_unref(top);
}

static void test_raw_window(void)
{
    static const char *const kv[] = { "offset", "4096", "size", "8192",
                                      "file.size", "65536", NULL };
    static const char *const bad[] = { "offset", "61440", "size", "8192",
                                       "file.size", "65536", NULL };
    static const char *const odd[] = { "offset", "100", NULL };
    BlockDriverState *bs;
    uint8_t buf[512], *mem;
    Error *err = NULL;

    mem_reset();
    bs = open_kv("mem-co:win", BDRV_O_RDWR, kv, &error_abort);
    g_assert_cmpint(bdrv_getlength(bs), ==, 8192);
    memset(buf, 0x33, sizeof(buf));
    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, 512), ==, 512);
    mem = mem_buffer("win", NULL);
    g_assert_cmpint(mem[4095], ==, 0);
    g_assert_cmpint(mem[4096], ==, 0x33);
    g_assert_cmpint(bdrv_pwrite(bs, 8192, buf, 512), ==, -EIO);
    g_assert_cmpint(bdrv_truncate(bs, 4096), ==, -ENOTSUP);
    bdrv_unref(bs);

    g_assert_null(open_kv("mem-co:win", BDRV_O_RDWR, bad, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "beyond the end"));
    error_free(err);
    err = NULL;
    g_assert_null(open_kv("mem-co:win", BDRV_O_RDWR, odd, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "multiples of 512"));
    error_free(err);
}

static void test_null_options(void)
{
    static const char *const nz[] = { "file.read-zeroes", "off",
                                      "file.size", "1M", NULL };
    static const char *const bad[] = { "file.size", "lots", NULL };
    const char *const drivers[] = { "null-co://", "null-aio://" };
    uint8_t buf[512];
    Error *err = NULL;

    for (int i = 0; i < 2; i++) {
        BlockDriverState *bs = open_kv(drivers[i], BDRV_O_RDWR, nz,
                                       &error_abort);
        g_assert_cmpint(bdrv_getlength(bs), ==, 1 << 20);
        memset(buf, 0x77, sizeof(buf));
        g_assert_cmpint(bdrv_pread(bs, 0, buf, 512), ==, 512);
        g_assert_cmpint(buf[0], ==, 0x77);   /* untouched */
        g_assert_cmpint(bdrv_pwrite(bs, 0, buf, 512), ==, 512);
        g_assert_cmpint(bdrv_flush(bs), ==, 0);
        g_assert_cmpint(bdrv_has_zero_init(bs), ==, 1);
        bdrv_unref(bs);
    }
    g_assert_null(open_kv("null-co://", 0, bad, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "size"));
    error_free(err);
}

/*
 * latency-ns delays every request by at least that long.  Both null
 * drivers sleep on QEMU_CLOCK_REALTIME, which the test cannot hold still,
 * so only the lower bound is asserted.
 */
/* At least @ns have passed on QEMU_CLOCK_REALTIME since @start. */
static void assert_took(int64_t start, int64_t ns)
{
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start, >=, ns);
}

static void test_null_latency(void)
{
    static const char *const kv[] = { "file.latency-ns", "20000000", NULL };
    const char *const drivers[] = { "null-co://", "null-aio://" };
    const int64_t latency = 20 * 1000 * 1000;
    uint8_t buf[512] = { 0 };

    for (int i = 0; i < 2; i++) {
        BlockDriverState *bs = open_kv(drivers[i], BDRV_O_RDWR, kv,
                                       &error_abort);
        QEMUIOVector qiov;
        AioResult r = { 0 };
        int64_t start;

        start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        g_assert_cmpint(bdrv_pread(bs, 0, buf, 512), ==, 512);
        assert_took(start, latency);

        start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        g_assert_cmpint(bdrv_pwrite(bs, 0, buf, 512), ==, 512);
        assert_took(start, latency);

        start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        g_assert_cmpint(bdrv_flush(bs), ==, 0);
        assert_took(start, latency);

        /* a callback request completes no earlier either */
        qemu_iovec_init_buf(&qiov, buf, 512);
        start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        g_assert_cmpint(wait_aio(bdrv_aio_readv(bs, 0, &qiov, 1,
                                                aio_result_cb, &r), &r),
                        ==, 0);
        assert_took(start, latency);
        bdrv_unref(bs);
    }
}

/* ---- I/O limits through the request path -------------------------------- */

typedef struct ReadCo {
    BlockDriverState *bs;
    int64_t bytes;
    int ret;
    bool done;
} ReadCo;

static void coroutine_fn read_co(void *opaque)
{
    ReadCo *r = opaque;
    g_autofree uint8_t *buf = g_malloc(64 * 1024);

    for (int64_t off = 0; off < r->bytes && r->ret == 0;
         off += 64 * 1024) {
        r->ret = bdrv_co_pread(r->bs, off, 64 * 1024, buf);
    }
    r->done = true;
}

static void test_io_limits_path(void)
{
    static const char *const kv[] = { "file.size", "64M", NULL };
    BlockDriverState *bs = open_kv("null-co://", BDRV_O_RDWR, kv,
                                   &error_abort);
    BlockIOLimit limits = { .bps[BLOCK_IO_LIMIT_READ] = 1 << 20 };
    ReadCo r = { .bs = bs, .bytes = 4 << 20 };
    int64_t start;

    qemu_clock_set_manual(QEMU_CLOCK_VIRTUAL, 0);
    bdrv_io_limits_set_clock(bs, QEMU_CLOCK_VIRTUAL);
    g_assert_true(bdrv_io_limits_apply(bs, &limits, &error_abort));
    g_assert_true(bs->io_limits_enabled);
    start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    qemu_coroutine_enter(qemu_coroutine_create(read_co, &r));
    while (!r.done) {
        AioContext *ctx = qemu_get_aio_context();
        int64_t next = timerlist_deadline_ns(ctx->tlg.tl[QEMU_CLOCK_VIRTUAL]);

        g_assert_cmpint(next, >=, 0);
        qemu_clock_advance_manual(QEMU_CLOCK_VIRTUAL, next);
        while (aio_poll(ctx, false)) {
        }
    }
    g_assert_cmpint(r.ret, ==, 0);
    /* 4 MiB at 1 MiB/s: the last request is admitted a tenth of a second
     * (the bucket's allowance) before 4 s, never earlier */
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - start, >=,
                    3800 * 1000 * 1000LL);
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - start, <=,
                    4000 * 1000 * 1000LL);
    bdrv_io_limits_disable(bs);
    bdrv_io_limits_set_clock(bs, QEMU_CLOCK_REALTIME);
    bdrv_unref(bs);
}

/* ---- dirty bitmaps and statistics through the request path ------------ */

static void test_dirty_and_stats(void)
{
    BlockDriverState *bs;
    BdrvDirtyBitmap *bm;
    BlockAcctStats st;
    uint8_t buf[1000] = { 0 };

    mem_reset();
    bs = open_kv("mem-co:dirty", BDRV_O_RDWR, NULL, &error_abort);
    bm = bdrv_create_dirty_bitmap(bs, 4096, "bm", &error_abort);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 0);
    g_assert_cmpint(bdrv_pwrite(bs, 5000, buf, sizeof(buf)), ==, 1000);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 4096));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 0));
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 4096);
    g_assert_cmpint(bdrv_write_zeroes(bs, 64, 8), ==, 0);
    g_assert_true(bdrv_dirty_bitmap_get(bm, 32768));
    bdrv_disable_dirty_bitmap(bm);
    g_assert_cmpint(bdrv_pwrite(bs, 65536, buf, 512), ==, 512);
    g_assert_false(bdrv_dirty_bitmap_get(bm, 65536));
    /* reads never mark */
    bdrv_enable_dirty_bitmap(bm);
    g_assert_cmpint(bdrv_pread(bs, 131072, buf, 512), ==, 512);
    g_assert_false(bdrv_dirty_bitmap_get(bm, 131072));

    bdrv_get_stats(bs, &st);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_WRITE], ==, 3);
    g_assert_cmpuint(st.nr_bytes[BDRV_ACCT_WRITE], ==, 1000 + 4096 + 512);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_READ], ==, 1);
    g_assert_cmpuint(st.wr_highest_offset, ==, 65536 + 512);
    /* the user's node times requests; the protocol node below only counts */
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_READ], >, 0);
    bdrv_get_stats(bs->file, &st);
    g_assert_cmpuint(st.nr_ops[BDRV_ACCT_WRITE], >=, 3);
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_WRITE], ==, 0);
    for (int i = 0; i < BDRV_LATENCY_BUCKETS; i++) {
        g_assert_cmpuint(st.latency_hist[BDRV_ACCT_WRITE][i], ==, 0);
    }
    bdrv_set_account_latency(bs->file, true);
    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, 512), ==, 512);
    bdrv_get_stats(bs->file, &st);
    g_assert_cmpuint(st.total_time_ns[BDRV_ACCT_WRITE], >, 0);
    g_assert_cmpint(bdrv_read(bs, 1 << 20, buf, 1), ==, -EIO);
    bdrv_release_dirty_bitmap(bm);
    bdrv_unref(bs);
}

/* ---- node housekeeping -------------------------------------------------- */

static void test_flush_and_drain_all(void)
{
    BlockDriverState *a = open_rec("rec:a", BDRV_O_RDWR);
    BlockDriverState *b;

    g_strlcpy(a->device_name, "", sizeof(a->device_name));
    b = bdrv_new("");
    g_assert_cmpint(bdrv_open(b, "rec:b", BDRV_O_RDWR | BDRV_O_PROTOCOL,
                              NULL, &error_abort), ==, 0);
    g_assert_cmpint(bdrv_flush_all(), ==, 0);
    g_assert_cmpint(calls[C_FLUSH_DISK], ==, 2);
    bdrv_drain_all();
    bdrv_invalidate_cache_all();
    g_assert_cmpint(calls[C_INVALIDATE], ==, 2);
    bdrv_unref(a);
    bdrv_unref(b);
}

static void test_tmp_filename(void)
{
    char a[PATH_MAX], b[PATH_MAX];

    get_tmp_filename(a, sizeof(a));
    get_tmp_filename(b, sizeof(b));
    g_assert_cmpstr(a, !=, b);
    g_assert_true(g_file_test(a, G_FILE_TEST_EXISTS));
    unlink(a);
    unlink(b);
}

static void test_create_with_options(void)
{
    g_autofree char *dir = g_dir_make_tmp("spindle-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "new.img", NULL);
    BlockDriver *raw = bdrv_find_format("raw");
    QEMUOptionParameter *opts;
    BlockDriverState *bs;
    bool help = false;

    opts = parse_option_parameters("size=3M", raw->create_options, NULL,
                                   &help, &error_abort);
    g_assert_cmpint(bdrv_create(raw, path, opts, &error_abort), ==, 0);
    free_option_parameters(opts);
    bs = bdrv_new("");
    g_assert_cmpint(bdrv_open(bs, path, 0, NULL, &error_abort), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 3 << 20);
    g_assert_cmpstr(bdrv_get_format_name(bs), ==, "raw");
    bdrv_unref(bs);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_drivers_register();
    bdrv_register(&rec_driver);

    g_test_add_func("/block/contract/forwarding", test_forwarding);
    g_test_add_func("/block/contract/unsafe-flush",
                    test_unsafe_skips_disk_flush);
    g_test_add_func("/block/contract/keys", test_keys);
    g_test_add_func("/block/contract/probe-device", test_probe_device);
    g_test_add_func("/block/contract/fallbacks", test_fallbacks);
    g_test_add_func("/block/contract/aio-discard", test_aio_discard_member);
    g_test_add_func("/block/contract/aio-flush", test_aio_flush_member);
    g_test_add_func("/block/contract/aio-ioctl", test_aio_ioctl);
    g_test_add_func("/block/node/geometry-hints", test_geometry_hints);
    g_test_add_func("/block/raw/window", test_raw_window);
    g_test_add_func("/block/null/options", test_null_options);
    g_test_add_func("/block/null/latency", test_null_latency);
    g_test_add_func("/block/limits/request-path", test_io_limits_path);
    g_test_add_func("/block/dirty-and-stats", test_dirty_and_stats);
    g_test_add_func("/block/node/flush-drain-all", test_flush_and_drain_all);
    g_test_add_func("/block/node/tmp-filename", test_tmp_filename);
    g_test_add_func("/block/create/options", test_create_with_options);
    return g_test_run();
}
