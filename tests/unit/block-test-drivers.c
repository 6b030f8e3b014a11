/*
 * Test drivers for the generic block layer (see block-test-drivers.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block-test-drivers.h"

int mem_calls[3];
MemAioMembers mem_aio;

/* ---- shared buffers ------------------------------------------------- */

typedef struct MemBuf {
    uint8_t *data;
    size_t size;
    int fail_next_write;        /* errno, or 0 */
} MemBuf;

static GHashTable *mem_buffers;
static GString *op_log;

static void membuf_free(gpointer p)
{
    MemBuf *m = p;

    g_free(m->data);
    g_free(m);
}

void mem_reset(void)
{
    if (mem_buffers) {
        g_hash_table_remove_all(mem_buffers);
    }
    memset(&mem_aio, 0, sizeof(mem_aio));
    if (op_log) {
        g_string_truncate(op_log, 0);
    }
}

static void log_op(char op)
{
    if (!op_log) {
        op_log = g_string_new(NULL);
    }
    g_string_append_c(op_log, op);
}

const char *mem_op_log(void)
{
    return op_log ? op_log->str : "";
}

static MemBuf *membuf_get(const char *name, size_t size)
{
    MemBuf *m;

    if (!mem_buffers) {
        mem_buffers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            membuf_free);
    }
    m = g_hash_table_lookup(mem_buffers, name);
    if (!m) {
        m = g_new0(MemBuf, 1);
        m->data = g_malloc0(size);
        m->size = size;
        g_hash_table_insert(mem_buffers, g_strdup(name), m);
    }
    return m;
}

static MemBuf *membuf_find(const char *name)
{
    return mem_buffers ? g_hash_table_lookup(mem_buffers, name) : NULL;
}

uint8_t *mem_buffer(const char *name, size_t *size)
{
    MemBuf *m = membuf_find(name);

    if (size) {
        *size = m ? m->size : 0;
    }
    return m ? m->data : NULL;
}

void mem_fail_next_write(const char *name, int err)
{
    MemBuf *m = membuf_find(name);

    g_assert_nonnull(m);
    m->fail_next_write = err;
}

/* ---- mem drivers ---------------------------------------------------- */

typedef struct MemState {
    MemBuf *buf;
    bool hold;
} MemState;

static CoQueue hold_queue;
static int held;

int mem_held_count(void)
{
    return held;
}

void mem_release_held(void)
{
    qemu_co_queue_restart_all(&hold_queue);
}

void mem_release_one(void)
{
    qemu_co_queue_next(&hold_queue);
}

static int mem_open(BlockDriverState *bs, const char *filename, int flags)
{
    MemState *s = bs->opaque;
    const char *name = strchr(filename, ':') + 1;
    uint64_t size, align;

    if (!bdrv_opt_take_size(bs, "size", 1 << 20, &size) ||
        !bdrv_opt_take_size(bs, "align", 0, &align) ||
        !bdrv_opt_take_bool(bs, "hold", false, &s->hold)) {
        return -EINVAL;
    }
    if (!*name) {
        error_setg(bdrv_driver_errp(), "mem driver needs a buffer name");
        return -EINVAL;
    }
    s->buf = membuf_get(name, size);
    if (align) {
        bs->request_alignment = align;
    }
    return 0;
}

static int64_t mem_getlength(BlockDriverState *bs)
{
    MemState *s = bs->opaque;

    return s->buf->size;
}

static int mem_rw(BlockDriverState *bs, int64_t sector, QEMUIOVector *qiov,
                  bool is_write)
{
    MemState *s = bs->opaque;
    size_t off = sector << BDRV_SECTOR_BITS;

    if (off + qiov->size > s->buf->size) {
        return -EIO;
    }
    if (is_write && s->buf->fail_next_write) {
        int err = s->buf->fail_next_write;

        s->buf->fail_next_write = 0;
        return -err;
    }
    if (is_write) {
        qemu_iovec_to_buf(qiov, 0, s->buf->data + off, qiov->size);
    } else {
        qemu_iovec_from_buf(qiov, 0, s->buf->data + off, qiov->size);
    }
    return 0;
}

static void coroutine_fn mem_maybe_hold(BlockDriverState *bs)
{
    MemState *s = bs->opaque;

    if (s->hold) {
        held++;
        qemu_co_queue_wait(&hold_queue, NULL);
        held--;
    }
}

static int coroutine_fn mem_co_readv(BlockDriverState *bs, int64_t sector,
                                     int nb, QEMUIOVector *qiov)
{
    mem_calls[0]++;
    mem_maybe_hold(bs);
    log_op('r');
    return mem_rw(bs, sector, qiov, false);
}

static int coroutine_fn mem_co_writev(BlockDriverState *bs, int64_t sector,
                                      int nb, QEMUIOVector *qiov)
{
    mem_calls[0]++;
    mem_maybe_hold(bs);
    log_op('w');
    return mem_rw(bs, sector, qiov, true);
}

static int coroutine_fn mem_co_flush(BlockDriverState *bs)
{
    log_op('f');
    return 0;
}

BlockDriver test_mem_co = {
    .format_name = "mem-co",
    .protocol_name = "mem-co",
    .instance_size = sizeof(MemState),
    .bdrv_file_open = mem_open,
    .bdrv_getlength = mem_getlength,
    .bdrv_co_readv = mem_co_readv,
    .bdrv_co_writev = mem_co_writev,
    .bdrv_co_flush_to_disk = mem_co_flush,
};

typedef struct MemAIOCB {
    BlockDriverAIOCB common;
    int ret;
} MemAIOCB;

static const AIOCBInfo mem_aiocb_info = {
    .aiocb_size = sizeof(MemAIOCB),
};

static void mem_aio_bh(void *opaque)
{
    MemAIOCB *acb = opaque;

    acb->common.cb(acb->common.opaque, acb->ret);
    qemu_aio_unref(acb);
}

static BlockDriverAIOCB *mem_aio_rw(BlockDriverState *bs, int64_t sector,
                                    QEMUIOVector *qiov, int nb,
                                    BlockDriverCompletionFunc *cb,
                                    void *opaque, bool is_write)
{
    MemAIOCB *acb = qemu_aio_get(&mem_aiocb_info, bs, cb, opaque);

    mem_calls[1]++;
    acb->ret = mem_rw(bs, sector, qiov, is_write);
    aio_bh_schedule_oneshot(bdrv_get_aio_context(bs), mem_aio_bh, acb);
    return &acb->common;
}

static BlockDriverAIOCB *mem_aio_readv(BlockDriverState *bs, int64_t sector,
                                       QEMUIOVector *qiov, int nb,
                                       BlockDriverCompletionFunc *cb,
                                       void *opaque)
{
    return mem_aio_rw(bs, sector, qiov, nb, cb, opaque, false);
}

static BlockDriverAIOCB *mem_aio_writev(BlockDriverState *bs, int64_t sector,
                                        QEMUIOVector *qiov, int nb,
                                        BlockDriverCompletionFunc *cb,
                                        void *opaque)
{
    return mem_aio_rw(bs, sector, qiov, nb, cb, opaque, true);
}

/* Complete a flush, discard or ioctl with the result the test chose. */
static BlockDriverAIOCB *mem_aio_other(BlockDriverState *bs,
                                       BlockDriverCompletionFunc *cb,
                                       void *opaque)
{
    MemAIOCB *acb = qemu_aio_get(&mem_aiocb_info, bs, cb, opaque);

    acb->ret = mem_aio.result;
    aio_bh_schedule_oneshot(bdrv_get_aio_context(bs), mem_aio_bh, acb);
    return &acb->common;
}

static BlockDriverAIOCB *mem_aio_flush(BlockDriverState *bs,
                                       BlockDriverCompletionFunc *cb,
                                       void *opaque)
{
    mem_aio.flushes++;
    return mem_aio_other(bs, cb, opaque);
}

/* Discarded sectors read as zeroes (unless the discard fails). */
static BlockDriverAIOCB *mem_aio_discard(BlockDriverState *bs,
                                         int64_t sector, int nb,
                                         BlockDriverCompletionFunc *cb,
                                         void *opaque)
{
    MemState *s = bs->opaque;
    size_t off = sector << BDRV_SECTOR_BITS;
    size_t len = (size_t)nb << BDRV_SECTOR_BITS;

    mem_aio.discards++;
    mem_aio.discarded += len;
    if (!mem_aio.result && off + len <= s->buf->size) {
        memset(s->buf->data + off, 0, len);
    }
    return mem_aio_other(bs, cb, opaque);
}

/* Stores @req in the int @buf points to. */
static BlockDriverAIOCB *mem_aio_ioctl(BlockDriverState *bs,
                                       unsigned long req, void *buf,
                                       BlockDriverCompletionFunc *cb,
                                       void *opaque)
{
    mem_aio.ioctls++;
    *(int *)buf = (int)req;
    return mem_aio_other(bs, cb, opaque);
}

BlockDriver test_mem_aio = {
    .format_name = "mem-aio",
    .protocol_name = "mem-aio",
    .instance_size = sizeof(MemState),
    .bdrv_file_open = mem_open,
    .bdrv_getlength = mem_getlength,
    .bdrv_aio_readv = mem_aio_readv,
    .bdrv_aio_writev = mem_aio_writev,
    .bdrv_aio_flush = mem_aio_flush,
    .bdrv_aio_discard = mem_aio_discard,
    .bdrv_aio_ioctl = mem_aio_ioctl,
};

static int mem_sync_read(BlockDriverState *bs, int64_t sector, uint8_t *buf,
                         int nb)
{
    QEMUIOVector qiov;

    mem_calls[2]++;
    qemu_iovec_init_buf(&qiov, buf, (size_t)nb << BDRV_SECTOR_BITS);
    return mem_rw(bs, sector, &qiov, false);
}

static int mem_sync_write(BlockDriverState *bs, int64_t sector,
                          const uint8_t *buf, int nb)
{
    QEMUIOVector qiov;

    mem_calls[2]++;
    qemu_iovec_init_buf(&qiov, (void *)buf, (size_t)nb << BDRV_SECTOR_BITS);
    return mem_rw(bs, sector, &qiov, true);
}

BlockDriver test_mem_sync = {
    .format_name = "mem-sync",
    .protocol_name = "mem-sync",
    .instance_size = sizeof(MemState),
    .bdrv_file_open = mem_open,
    .bdrv_getlength = mem_getlength,
    .bdrv_read = mem_sync_read,
    .bdrv_write = mem_sync_write,
};

/* ---- cowtest format ------------------------------------------------- */

#define COWTEST_MAGIC      "COWTEST!"
#define COWTEST_BITMAP_OFF 4096

typedef struct CowHeader {
    char magic[8];
    uint64_t size;
    char backing[1000];
    char backing_fmt[16];
} CowHeader;

typedef struct CowState {
    uint64_t size;
    uint8_t bitmap[COWTEST_MAX_CLUSTERS];
} CowState;

static int cow_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    return buf_size >= 8 && !memcmp(buf, COWTEST_MAGIC, 8) ? 100 : 0;
}

static int cow_open(BlockDriverState *bs, int flags)
{
    CowState *s = bs->opaque;
    CowHeader h;
    int ret = bdrv_pread(bs->file, 0, &h, sizeof(h));

    if (ret < 0) {
        return ret;
    }
    if (memcmp(h.magic, COWTEST_MAGIC, 8)) {
        error_setg(bdrv_driver_errp(), "not a cowtest image");
        return -EINVAL;
    }
    ret = bdrv_pread(bs->file, COWTEST_BITMAP_OFF, s->bitmap,
                     sizeof(s->bitmap));
    if (ret < 0) {
        return ret;
    }
    s->size = h.size;
    bs->total_sectors = h.size >> BDRV_SECTOR_BITS;
    g_strlcpy(bs->backing_file, h.backing, sizeof(bs->backing_file));
    g_strlcpy(bs->backing_format, h.backing_fmt,
              sizeof(bs->backing_format));
    return 0;
}

/* Read cluster @c (whole) as the node shows it. */
static int coroutine_fn cow_read_cluster(BlockDriverState *bs, int64_t c,
                                         uint8_t *buf)
{
    CowState *s = bs->opaque;
    int64_t off = c * COWTEST_CLUSTER;

    if (s->bitmap[c]) {
        return bdrv_co_pread(bs->file, COWTEST_DATA_OFF + off,
                             COWTEST_CLUSTER, buf);
    }
    if (bs->backing_hd &&
        off < (int64_t)(bs->backing_hd->total_sectors << BDRV_SECTOR_BITS)) {
        return bdrv_co_pread(bs->backing_hd, off, COWTEST_CLUSTER, buf);
    }
    memset(buf, 0, COWTEST_CLUSTER);
    return 0;
}

static int coroutine_fn cow_co_readv(BlockDriverState *bs, int64_t sector,
                                     int nb, QEMUIOVector *qiov)
{
    int64_t off = sector << BDRV_SECTOR_BITS;
    int64_t end = off + ((int64_t)nb << BDRV_SECTOR_BITS);
    g_autofree uint8_t *buf = g_malloc(COWTEST_CLUSTER);
    size_t done = 0;

    while (off < end) {
        int64_t c = off / COWTEST_CLUSTER;
        int64_t in = off % COWTEST_CLUSTER;
        int64_t n = MIN(end - off, COWTEST_CLUSTER - in);
        int ret = cow_read_cluster(bs, c, buf);

        if (ret < 0) {
            return ret;
        }
        qemu_iovec_from_buf(qiov, done, buf + in, n);
        done += n;
        off += n;
    }
    return 0;
}

static int coroutine_fn cow_co_writev(BlockDriverState *bs, int64_t sector,
                                      int nb, QEMUIOVector *qiov)
{
    CowState *s = bs->opaque;
    int64_t off = sector << BDRV_SECTOR_BITS;
    int64_t end = off + ((int64_t)nb << BDRV_SECTOR_BITS);
    g_autofree uint8_t *buf = g_malloc(COWTEST_CLUSTER);
    size_t done = 0;

    while (off < end) {
        int64_t c = off / COWTEST_CLUSTER;
        int64_t in = off % COWTEST_CLUSTER;
        int64_t n = MIN(end - off, COWTEST_CLUSTER - in);
        int ret = cow_read_cluster(bs, c, buf);

        qemu_iovec_to_buf(qiov, done, buf + in, n);
        if (ret >= 0) {
            ret = bdrv_co_pwrite(bs->file, COWTEST_DATA_OFF +
                                 c * COWTEST_CLUSTER, COWTEST_CLUSTER, buf);
        }
        if (ret >= 0 && !s->bitmap[c]) {
            s->bitmap[c] = 1;
            ret = bdrv_co_pwrite(bs->file, COWTEST_BITMAP_OFF + c, 1,
                                 &s->bitmap[c]);
        }
        if (ret < 0) {
            return ret;
        }
        done += n;
        off += n;
    }
    return 0;
}

static int coroutine_fn cow_co_is_allocated(BlockDriverState *bs,
                                            int64_t sector, int nb,
                                            int *pnum)
{
    CowState *s = bs->opaque;
    const int per = COWTEST_CLUSTER >> BDRV_SECTOR_BITS;
    int64_t c = sector / per;
    int alloc = s->bitmap[c];
    int64_t end = sector + nb, next = sector;

    while (next < end && s->bitmap[next / per] == alloc) {
        next = (next / per + 1) * per;
    }
    *pnum = MIN(next, end) - sector;
    return alloc;
}

static int cow_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    bdi->cluster_size = COWTEST_CLUSTER;
    return 0;
}

static int cow_change_backing(BlockDriverState *bs, const char *file,
                              const char *fmt)
{
    CowHeader h;
    int ret = bdrv_pread(bs->file, 0, &h, sizeof(h));

    if (ret < 0) {
        return ret;
    }
    g_strlcpy(h.backing, file ? file : "", sizeof(h.backing));
    g_strlcpy(h.backing_fmt, fmt ? fmt : "", sizeof(h.backing_fmt));
    ret = bdrv_pwrite(bs->file, 0, &h, sizeof(h));
    return ret < 0 ? ret : 0;
}

BlockDriver test_cowtest = {
    .format_name = "cowtest",
    .instance_size = sizeof(CowState),
    .bdrv_probe = cow_probe,
    .bdrv_open = cow_open,
    .bdrv_co_readv = cow_co_readv,
    .bdrv_co_writev = cow_co_writev,
    .bdrv_co_is_allocated = cow_co_is_allocated,
    .bdrv_get_info = cow_get_info,
    .bdrv_change_backing_file = cow_change_backing,
};

void cowtest_format(const char *proto, int64_t size, const char *backing,
                    const char *backing_fmt)
{
    const char *name = strchr(proto, ':') + 1;
    MemBuf *m = membuf_get(name, COWTEST_DATA_OFF + size);
    CowHeader *h = (CowHeader *)m->data;

    g_assert_cmpuint(m->size, >=, COWTEST_DATA_OFF + size);
    memset(m->data, 0, COWTEST_DATA_OFF);
    memcpy(h->magic, COWTEST_MAGIC, 8);
    h->size = size;
    g_strlcpy(h->backing, backing ? backing : "", sizeof(h->backing));
    g_strlcpy(h->backing_fmt, backing_fmt ? backing_fmt : "",
              sizeof(h->backing_fmt));
}

/* ---- helpers -------------------------------------------------------- */

BlockDriverState *test_open_opts(const char *filename, int flags,
                                 const char *fmt, ...)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs = bdrv_new("");
    BlockDriver *drv = NULL;
    const char *kv;
    va_list ap;

    if (fmt) {
        drv = bdrv_find_format(fmt);
        g_assert_nonnull(drv);
    }
    va_start(ap, fmt);
    while ((kv = va_arg(ap, const char *)) != NULL) {
        g_auto(GStrv) parts = g_strsplit(kv, "=", 2);
        g_hash_table_insert(opts, g_strdup(parts[0]), g_strdup(parts[1]));
    }
    va_end(ap);
    g_assert_cmpint(bdrv_open_options(bs, filename, opts, flags, drv,
                                      &error_abort), ==, 0);
    return bs;
}

void test_fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7);
    }
}

void test_drivers_register(void)
{
    static bool done;

    if (!done) {
        qemu_co_queue_init(&hold_queue);
        bdrv_register(&test_mem_co);
        bdrv_register(&test_mem_aio);
        bdrv_register(&test_mem_sync);
        bdrv_register(&test_cowtest);
        done = true;
    }
}
