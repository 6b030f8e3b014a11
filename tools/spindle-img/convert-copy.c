/*
 * The copy engine of spindle-img convert (see convert.h).
 *
 * What it does: hands out chunks in offset order from one cursor (under
 * a CoMutex, because the allocation query that classifies the next
 * extent yields); each worker reads its chunk straight into its own
 * buffer and writes from that buffer, so data is copied by the kernel
 * only.  Zero detection walks each data chunk once, in min_sparse blocks
 * aligned to the image offset, and stops at the first non-zero word of
 * each block, so random data costs almost nothing to scan.
 *
 * What it deliberately does not: merge chunks across workers, or detect
 * zeroes in compressed mode at any granularity below a whole cluster
 * (compressed clusters are written whole, as qemu-img does).
 *
 * Key invariant: with wr_in_order, wr_offset is the end of the last
 * chunk whose writes are issued, and a worker issues its writes only once
 * wr_offset equals its chunk's offset; chunks are handed out in
 * increasing order, so the worker holding the lowest unissued chunk never
 * waits and the queue always advances.
 *
 * Copy offloading (ConvertParams.offload, -C only): a data chunk is
 * handed to bdrv_co_copy_range instead of being read, so no zeroes are
 * detected inside it.  It is not used for -S 0 on its own: on ext4 (the
 * kernel copies through the page cache) it measured slower than reading
 * and writing through io_uring, and reading the data for zero detection
 * before offloading its non-zero runs copies it twice.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "convert.h"
#include "progress.h"

typedef enum {
    CHUNK_DATA,         /* allocated: read and write (or detect zeroes) */
    CHUNK_ZERO,         /* unallocated in the whole chain: reads as zero */
    CHUNK_BACKING,      /* unallocated in the top: the backing shows */
} ChunkKind;

typedef struct Chunk {
    int64_t offset;     /* in the concatenated image */
    int64_t len;
    int src;            /* index of the source holding it */
    ChunkKind kind;
} Chunk;

typedef struct ConvertState {
    /* Immutable while the copy runs. */
    const ConvertParams *p;
    int64_t total;
    size_t buf_align;

    /* The cursor: protected by lock. */
    CoMutex lock;
    int64_t next_offset;        /* start of the next chunk to hand out */
    int src_cur;                /* source holding next_offset */
    int64_t src_start;          /* offset of src_cur in the image */
    int64_t status_end;         /* cached classification is valid ... */
    ChunkKind status;           /* ... up to here (image offset) */

    /* Main-context coroutines only; no lock needed (no yield between
     * reading and updating them). */
    int64_t wr_offset;          /* in-order writes: end of last written */
    CoQueue wr_queue;           /* workers waiting for their turn */
    int ret;                    /* first error, 0 while all is well */
    int running;                /* workers not finished yet */
} ConvertState;

int64_t convert_total_size(const ConvertParams *p)
{
    int64_t total = 0;

    for (int i = 0; i < p->nsrc; i++) {
        total += p->src[i].len;
    }
    return total;
}

/* ---- classification ------------------------------------------------- */

/* Move the cursor's source to the one holding next_offset. */
static void advance_source(ConvertState *s)
{
    while (s->next_offset >= s->src_start + s->p->src[s->src_cur].len) {
        s->src_start += s->p->src[s->src_cur].len;
        s->src_cur++;
    }
}

/* Classify the extent at next_offset and cache it up to status_end. */
static int coroutine_fn query_status(ConvertState *s)
{
    const ConvertSource *src = &s->p->src[s->src_cur];
    BlockDriverState *base = s->p->target_has_backing ? bdrv_backing(src->bs)
                                                      : NULL;
    int64_t rel = s->next_offset - s->src_start;
    int64_t sector = rel >> BDRV_SECTOR_BITS;
    int64_t left = DIV_ROUND_UP(src->len, BDRV_SECTOR_SIZE) - sector;
    int pnum = 0;
    int ret = bdrv_co_is_allocated_above(src->bs, base, sector,
                                         MIN(left, BDRV_REQUEST_MAX_SECTORS),
                                         &pnum);

    if (ret < 0) {
        return ret;
    }
    if (ret) {
        s->status = CHUNK_DATA;
    } else {
        s->status = base ? CHUNK_BACKING : CHUNK_ZERO;
    }
    s->status_end = s->src_start +
                    MIN(src->len, (sector + MAX(pnum, 1)) * BDRV_SECTOR_SIZE);
    return 0;
}

/* Cut the chunk at @c->offset to the size its kind allows. */
static void size_chunk(ConvertState *s, Chunk *c)
{
    const ConvertParams *p = s->p;
    int64_t src_end = s->src_start + p->src[c->src].len;
    bool read = c->kind == CHUNK_DATA ||
                (c->kind == CHUNK_ZERO && !p->min_sparse);

    c->len = s->status_end - c->offset;
    if (read) {
        /* Stop at the next buf_size boundary: chunks stay aligned. */
        c->len = MIN(c->len, p->buf_size - c->offset % p->buf_size);
        c->kind = CHUNK_DATA;
    }
    if (p->compressed) {
        if (c->len < p->buf_size) {
            /* Clusters are written whole: take all of it as data. */
            c->len = MIN(p->buf_size, src_end - c->offset);
            c->kind = CHUNK_DATA;
        } else {
            c->len -= c->len % p->buf_size;
        }
    }
}

/* Hand out the next chunk; false when there is none (or an error). */
static bool coroutine_fn next_chunk(ConvertState *s, Chunk *c)
{
    int ret;

    if (s->ret || s->next_offset >= s->total) {
        return false;
    }
    advance_source(s);
    if (s->status_end <= s->next_offset) {
        ret = query_status(s);
        if (ret < 0) {
            s->ret = ret;
            return false;
        }
    }
    c->offset = s->next_offset;
    c->src = s->src_cur;
    c->kind = s->status;
    size_chunk(s, c);
    s->next_offset += c->len;
    return true;
}

/* ---- writing -------------------------------------------------------- */

static int coroutine_fn write_zeroes(ConvertState *s, int64_t offset,
                                     int64_t len)
{
    if (s->p->has_zero_init) {
        return 0;
    }
    return bdrv_co_pwrite_zeroes(s->p->target, offset, len,
                                 BDRV_REQ_MAY_UNMAP);
}

static int coroutine_fn write_buf(ConvertState *s, int64_t offset,
                                  int64_t len, uint8_t *buf)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, len);
    return bdrv_co_pwritev(s->p->target, offset, len, &qiov, 0);
}

/*
 * Writes issued by one chunk in in-order mode, each in a coroutine of
 * its own: entered at once, it runs into the block layer until its first
 * wait, so the chunk can pass the turn as soon as all its writes are
 * issued, and the next chunk's writes queue behind them while they run.
 */
typedef struct WriteBatch {
    ConvertState *s;
    int inflight;
    int ret;                    /* first error of the batch */
    CoQueue idle;               /* the worker, waiting for inflight == 0 */
} WriteBatch;

typedef struct IssuedWrite {
    WriteBatch *batch;
    int64_t offset, len;
    uint8_t *buf;               /* NULL: write zeroes */
} IssuedWrite;

static void coroutine_fn issued_write_co(void *opaque)
{
    IssuedWrite *w = opaque;
    WriteBatch *b = w->batch;
    int ret = w->buf ? write_buf(b->s, w->offset, w->len, w->buf)
                     : write_zeroes(b->s, w->offset, w->len);

    if (ret < 0 && !b->ret) {
        b->ret = ret;
    }
    g_free(w);
    if (--b->inflight == 0) {
        qemu_co_queue_restart_all(&b->idle);
    }
}

/* Write data (@buf) or zeroes (@buf NULL): issued into @b, or right here
 * when there is no batch. */
static int coroutine_fn issue_write(ConvertState *s, WriteBatch *b,
                                    int64_t offset, int64_t len,
                                    uint8_t *buf)
{
    IssuedWrite *w;

    if (!b) {
        return buf ? write_buf(s, offset, len, buf)
                   : write_zeroes(s, offset, len);
    }
    if (!buf && s->p->has_zero_init) {
        return 0;       /* nothing to issue */
    }
    w = g_new(IssuedWrite, 1);
    *w = (IssuedWrite){ .batch = b, .offset = offset, .len = len, .buf = buf };
    b->inflight++;
    qemu_coroutine_enter(qemu_coroutine_create(issued_write_co, w));
    return b->ret;
}

/* Wait for every write of @b; its first error or 0. */
static int coroutine_fn batch_wait(WriteBatch *b)
{
    while (b->inflight) {
        qemu_co_queue_wait(&b->idle, NULL);
    }
    return b->ret;
}

/* Offset of chunk @c in its source node. */
static int64_t src_offset(ConvertState *s, const Chunk *c)
{
    int64_t start = 0;

    for (int i = 0; i < c->src; i++) {
        start += s->p->src[i].len;
    }
    return c->offset - start;
}

/* Offload data chunk @c; -ENOTSUP when the nodes cannot. */
static int coroutine_fn offload_chunk(ConvertState *s, const Chunk *c)
{
    return bdrv_co_copy_range(s->p->src[c->src].bs, src_offset(s, c),
                              s->p->target, c->offset, c->len, 0, 0);
}

/* Length of the sparse block at @pos of a chunk at @offset. */
static int64_t block_len(ConvertState *s, int64_t offset, int64_t pos,
                         int64_t len)
{
    int64_t g = s->p->min_sparse;

    return MIN(len - pos, g - (offset + pos) % g);
}

/*
 * Length of the run at @pos whose blocks are all zero (*@zero) or all
 * not: one pass, each block tested once.
 */
static int64_t run_len(ConvertState *s, int64_t offset, const uint8_t *buf,
                       int64_t pos, int64_t len, bool *zero)
{
    int64_t start = pos;
    int64_t n = block_len(s, offset, pos, len);

    *zero = buffer_is_zero(buf + pos, n);
    for (pos += n; pos < len; pos += n) {
        n = block_len(s, offset, pos, len);
        if (buffer_is_zero(buf + pos, n) != *zero) {
            break;
        }
    }
    return pos - start;
}

/* Write data, turning zero blocks of min_sparse bytes into zero writes. */
static int coroutine_fn write_sparse(ConvertState *s, const Chunk *c,
                                     uint8_t *buf, WriteBatch *b)
{
    for (int64_t pos = 0; pos < c->len;) {
        bool zero;
        int64_t n = run_len(s, c->offset, buf, pos, c->len, &zero);
        int ret = issue_write(s, b, c->offset + pos, n,
                              zero ? NULL : buf + pos);

        if (ret < 0) {
            return ret;
        }
        pos += n;
    }
    return 0;
}

/* A whole cluster, compressed (or as zeroes when it is all zero). */
static int coroutine_fn write_compressed(ConvertState *s, const Chunk *c,
                                         uint8_t *buf)
{
    if (s->p->min_sparse && buffer_is_zero(buf, c->len)) {
        return write_zeroes(s, c->offset, c->len);
    }
    return bdrv_write_compressed(s->p->target,
                                 c->offset >> BDRV_SECTOR_BITS, buf,
                                 DIV_ROUND_UP(c->len, BDRV_SECTOR_SIZE));
}

/* Write chunk @c: its writes issued into @b, or done here if @b is NULL. */
static int coroutine_fn write_chunk(ConvertState *s, const Chunk *c,
                                    uint8_t *buf, WriteBatch *b)
{
    switch (c->kind) {
    case CHUNK_BACKING:
        return 0;
    case CHUNK_ZERO:
        return issue_write(s, b, c->offset, c->len, NULL);
    case CHUNK_DATA:
        break;
    }
    if (s->p->compressed) {
        return write_compressed(s, c, buf);
    }
    if (!s->p->min_sparse) {
        return issue_write(s, b, c->offset, c->len, buf);
    }
    return write_sparse(s, c, buf, b);
}

/* ---- the workers ---------------------------------------------------- */

static void *alloc_buf(size_t align, size_t size)
{
    void *ptr;

    if (posix_memalign(&ptr, align, size) != 0) {
        abort();
    }
    return ptr;
}

static int coroutine_fn read_chunk(ConvertState *s, const Chunk *c,
                                   uint8_t *buf)
{
    const ConvertSource *src = &s->p->src[c->src];
    int64_t start = c->offset - src_offset(s, c);
    QEMUIOVector qiov;

    /* A compressed cluster may run past a short source's end: pad. */
    if (c->offset + c->len > start + src->len) {
        int64_t have = start + src->len - c->offset;
        memset(buf + have, 0, c->len - have);
        qemu_iovec_init_buf(&qiov, buf, have);
        return bdrv_co_preadv(src->bs, c->offset - start, have, &qiov, 0);
    }
    qemu_iovec_init_buf(&qiov, buf, c->len);
    return bdrv_co_preadv(src->bs, c->offset - start, c->len, &qiov, 0);
}

/*
 * In-order mode: wait until every chunk before @c is written.  Compressed
 * output is the exception: compression runs inside the write (on the
 * thread pool), and waiting for our turn before it would put every
 * cluster's compression in one line.  So compressed clusters are written
 * as they come, packed in the order their compression finishes (about
 * the guest order with -m workers); the image is the same, byte for
 * byte, when read.
 */
static void coroutine_fn wait_turn(ConvertState *s, const Chunk *c)
{
    if (s->p->compressed) {
        return;     /* zero chunks allocate nothing: no order to keep */
    }
    while (s->p->wr_in_order && s->wr_offset != c->offset && !s->ret) {
        qemu_co_queue_wait(&s->wr_queue, NULL);
    }
}

static void end_turn(ConvertState *s, const Chunk *c, int ret)
{
    if (ret < 0 && !s->ret) {
        s->ret = ret;
    }
    s->wr_offset = c->offset + c->len;
    qemu_co_queue_restart_all(&s->wr_queue);
}

/*
 * Read @c, wait for its turn, write it.  In in-order mode the turn
 * passes once the writes are issued, not once they are done: the block
 * layer keeps them in issue order (allocation happens under FIFO locks;
 * io_uring runs buffered writes to one file one after another), and the
 * target never idles between two chunks.
 */
static int coroutine_fn copy_chunk(ConvertState *s, const Chunk *c,
                                   uint8_t *buf)
{
    bool offload = c->kind == CHUNK_DATA && s->p->offload;
    int ret = c->kind == CHUNK_DATA && !offload ? read_chunk(s, c, buf) : 0;
    WriteBatch batch = { .s = s };
    WriteBatch *b = s->p->wr_in_order && !s->p->compressed ? &batch : NULL;

    qemu_co_queue_init(&batch.idle);
    if (ret == 0) {
        wait_turn(s, c);
        ret = s->ret ? s->ret
              : offload ? offload_chunk(s, c)
              : write_chunk(s, c, buf, b);
    }
    end_turn(s, c, ret);
    if (b) {
        int wret = batch_wait(b);

        ret = ret < 0 ? ret : wret;
        if (ret < 0 && !s->ret) {
            s->ret = ret;
        }
    }
    return ret;
}

static void coroutine_fn convert_worker(void *opaque)
{
    ConvertState *s = opaque;
    uint8_t *buf = NULL;
    Chunk c;

    for (;;) {
        bool got;

        qemu_co_mutex_lock(&s->lock);
        got = next_chunk(s, &c);
        qemu_co_mutex_unlock(&s->lock);
        if (!got) {
            break;
        }
        if (c.kind == CHUNK_DATA && !buf && !s->p->offload) {
            buf = alloc_buf(s->buf_align, s->p->buf_size);
        }
        if (copy_chunk(s, &c, buf) < 0) {
            break;
        }
        progress_add(c.len);
    }
    qemu_vfree(buf);
    s->running--;
    qemu_co_queue_restart_all(&s->wr_queue);
}

/* The strictest memory alignment any node involved asks for. */
static size_t buffer_alignment(const ConvertParams *p)
{
    size_t align = MAX(p->target->buffer_alignment, 4096);

    for (int i = 0; i < p->nsrc; i++) {
        align = MAX(align, (size_t)p->src[i].bs->buffer_alignment);
    }
    return align;
}

int convert_copy(const ConvertParams *p)
{
    ConvertState s = {
        .p = p,
        .total = convert_total_size(p),
        .buf_align = buffer_alignment(p),
    };

    qemu_co_mutex_init(&s.lock);
    qemu_co_queue_init(&s.wr_queue);
    for (int i = 0; i < p->num_coroutines; i++) {
        s.running++;
        qemu_coroutine_enter(qemu_coroutine_create(convert_worker, &s));
    }
    while (s.running) {
        aio_poll(qemu_get_aio_context(), true);
    }
    return s.ret;
}
