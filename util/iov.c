/*
 * Scatter/gather vectors: plain iovec helpers, QEMUIOVector and
 * buffer_is_zero.
 *
 * Everything here walks descriptors and copies bytes; nothing allocates
 * except growing an owned QEMUIOVector.  No I/O system calls live here.
 *
 * Key invariant: for every QEMUIOVector, size equals the sum of the
 * lengths of its niov elements.  size is stored in the same bytes as
 * local_iov.iov_len, so a single-buffer vector keeps it for free and every
 * function that edits element lengths must assign size afterwards rather
 * than adjust it (an edit of local_iov has already changed it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/iov.h"
#include <ctype.h>

/* ---- buffer_is_zero ----------------------------------------------------- */

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static bool small_is_zero(const unsigned char *p, size_t len)
{
    size_t i;

    if (len < 8) {
        for (i = 0; i < len; i++) {
            if (p[i]) {
                return false;
            }
        }
        return true;
    }
    for (i = 0; i + 8 <= len; i += 8) {
        if (load64(p + i)) {
            return false;
        }
    }
    return load64(p + len - 8) == 0;
}

/*
 * Large buffers: the unaligned first and last eight bytes are checked with
 * unaligned loads (they also cover the parts outside the aligned middle),
 * then the aligned middle is OR-ed 64 bytes at a time, which the compiler
 * turns into vector code.
 */
bool buffer_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    const uint64_t *w, *end;

    if (len < 64) {
        return small_is_zero(p, len);
    }
    if (load64(p) | load64(p + len - 8)) {
        return false;
    }
    w = (const uint64_t *)QEMU_ALIGN_UP((uintptr_t)p, 8);
    end = (const uint64_t *)QEMU_ALIGN_DOWN((uintptr_t)(p + len), 8);
    for (; end - w >= 8; w += 8) {
        if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) {
            return false;
        }
    }
    for (; w < end; w++) {
        if (*w) {
            return false;
        }
    }
    return true;
}

/* ---- plain iovec arrays ------------------------------------------------- */

size_t iov_size(const struct iovec *iov, const unsigned int iov_cnt)
{
    size_t len = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

/*
 * Find the element holding byte @offset.  Returns its index (== @iov_cnt
 * when @offset is exactly the size) and sets *@skip to the offset inside
 * it.  Asserts that @offset is inside the vector or at its end.
 */
static unsigned int iov_seek(const struct iovec *iov, unsigned int iov_cnt,
                             size_t offset, size_t *skip)
{
    unsigned int i;

    for (i = 0; i < iov_cnt && offset >= iov[i].iov_len; i++) {
        offset -= iov[i].iov_len;
    }
    assert(offset == 0 || i < iov_cnt);
    *skip = offset;
    return i;
}

/*
 * Visit the chunks of bytes [@offset, @offset + @bytes), calling
 * @fn(chunk, len, done, opaque) for each, where @done counts the bytes
 * visited before it.  Returns the bytes visited.
 */
typedef void IovChunkFunc(void *chunk, size_t len, size_t done, void *opaque);

static size_t iov_walk(const struct iovec *iov, unsigned int iov_cnt,
                       size_t offset, size_t bytes,
                       IovChunkFunc *fn, void *opaque)
{
    size_t skip, done = 0;
    unsigned int i = iov_seek(iov, iov_cnt, offset, &skip);

    for (; i < iov_cnt && done < bytes; i++, skip = 0) {
        size_t len = MIN(iov[i].iov_len - skip, bytes - done);

        if (len) {
            fn((char *)iov[i].iov_base + skip, len, done, opaque);
            done += len;
        }
    }
    return done;
}

static void chunk_from_buf(void *chunk, size_t len, size_t done, void *buf)
{
    memcpy(chunk, (const char *)buf + done, len);
}

static void chunk_to_buf(void *chunk, size_t len, size_t done, void *buf)
{
    memcpy((char *)buf + done, chunk, len);
}

static void chunk_memset(void *chunk, size_t len, size_t done, void *fill)
{
    memset(chunk, *(int *)fill, len);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes)
{
    return iov_walk(iov, iov_cnt, offset, bytes, chunk_from_buf,
                    (void *)buf);
}

size_t iov_to_buf(const struct iovec *iov, const unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes)
{
    return iov_walk(iov, iov_cnt, offset, bytes, chunk_to_buf, buf);
}

size_t iov_memset(const struct iovec *iov, const unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes)
{
    return iov_walk(iov, iov_cnt, offset, bytes, chunk_memset, &fillc);
}

unsigned iov_copy(struct iovec *dst_iov, unsigned int dst_iov_cnt,
                  const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, size_t bytes)
{
    size_t skip;
    unsigned int i = iov_seek(iov, iov_cnt, offset, &skip);
    unsigned int n = 0;

    for (; i < iov_cnt && bytes && n < dst_iov_cnt; i++, skip = 0) {
        size_t len = MIN(iov[i].iov_len - skip, bytes);

        if (!len) {
            continue;       /* empty elements are not worth a slot */
        }
        dst_iov[n].iov_base = (char *)iov[i].iov_base + skip;
        dst_iov[n].iov_len = len;
        n++;
        bytes -= len;
    }
    return n;
}

size_t iov_discard_front(struct iovec **iov, unsigned int *iov_cnt,
                         size_t bytes)
{
    size_t done = 0;
    struct iovec *cur = *iov;

    while (*iov_cnt > 0 && done + cur->iov_len <= bytes) {
        done += cur->iov_len;
        cur++;
        (*iov_cnt)--;
    }
    if (*iov_cnt > 0 && done < bytes) {
        size_t part = bytes - done;

        cur->iov_base = (char *)cur->iov_base + part;
        cur->iov_len -= part;
        done = bytes;
    }
    *iov = cur;
    return done;
}

size_t iov_discard_back(struct iovec *iov, unsigned int *iov_cnt,
                        size_t bytes)
{
    size_t done = 0;

    while (*iov_cnt > 0 && done + iov[*iov_cnt - 1].iov_len <= bytes) {
        done += iov[*iov_cnt - 1].iov_len;
        (*iov_cnt)--;
    }
    if (*iov_cnt > 0 && done < bytes) {
        iov[*iov_cnt - 1].iov_len -= bytes - done;
        done = bytes;
    }
    return done;
}

/* ---- hexdump ------------------------------------------------------------ */

static void hexdump_line(FILE *fp, const char *prefix, size_t addr,
                         const unsigned char *p, size_t len)
{
    size_t i;

    fprintf(fp, "%s: %04zx:", prefix, addr);
    for (i = 0; i < 16; i++) {
        if (i < len) {
            fprintf(fp, " %02x", p[i]);
        } else {
            fputs("   ", fp);
        }
    }
    fputs("  ", fp);
    for (i = 0; i < len; i++) {
        fputc(isprint(p[i]) ? p[i] : '.', fp);
    }
    fputc('\n', fp);
}

void iov_hexdump(const struct iovec *iov, const unsigned int iov_cnt,
                 FILE *fp, const char *prefix, size_t limit)
{
    size_t total = MIN(iov_size(iov, iov_cnt), limit);
    g_autofree unsigned char *buf = g_malloc(total ? total : 1);
    size_t addr;

    iov_to_buf(iov, iov_cnt, 0, buf, total);
    for (addr = 0; addr < total; addr += 16) {
        hexdump_line(fp, prefix, addr, buf + addr, MIN(16, total - addr));
    }
}

/* ---- QEMUIOVector: set-up and growth ------------------------------------ */

void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint)
{
    assert(alloc_hint >= 0);
    qiov->iov = g_new(struct iovec, alloc_hint);
    qiov->niov = 0;
    qiov->nalloc = alloc_hint;
    qiov->size = 0;
}

void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov,
                              int niov)
{
    assert(niov >= 0);
    qiov->iov = iov;
    qiov->niov = niov;
    qiov->nalloc = -1;
    qiov->size = iov_size(iov, niov);
}

void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len)
{
    assert(qiov->nalloc != -1);
    if (qiov->niov == qiov->nalloc) {
        qiov->nalloc = 2 * qiov->nalloc + 1;
        qiov->iov = g_renew(struct iovec, qiov->iov, qiov->nalloc);
    }
    qiov->iov[qiov->niov].iov_base = base;
    qiov->iov[qiov->niov].iov_len = len;
    qiov->size += len;
    qiov->niov++;
}

size_t qemu_iovec_concat_iov(QEMUIOVector *dst,
                             struct iovec *src_iov, unsigned int src_cnt,
                             size_t soffset, size_t sbytes)
{
    size_t skip, done = 0;
    unsigned int i = iov_seek(src_iov, src_cnt, soffset, &skip);

    for (; i < src_cnt && done < sbytes; i++, skip = 0) {
        size_t len = MIN(src_iov[i].iov_len - skip, sbytes - done);

        if (len) {
            qemu_iovec_add(dst, (char *)src_iov[i].iov_base + skip, len);
            done += len;
        }
    }
    return done;
}

void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src,
                       size_t soffset, size_t sbytes)
{
    qemu_iovec_concat_iov(dst, src->iov, src->niov, soffset, sbytes);
}

void qemu_iovec_destroy(QEMUIOVector *qiov)
{
    if (qiov->nalloc != -1) {
        g_free(qiov->iov);
    }
    memset(qiov, 0, sizeof(*qiov));
}

void qemu_iovec_reset(QEMUIOVector *qiov)
{
    assert(qiov->nalloc != -1);
    qiov->niov = 0;
    qiov->size = 0;
}

void qemu_iovec_clone(QEMUIOVector *dest, const QEMUIOVector *src,
                      void *buf)
{
    size_t done = 0;
    int i;

    qemu_iovec_reset(dest);
    for (i = 0; i < src->niov; i++) {
        qemu_iovec_add(dest, (char *)buf + done, src->iov[i].iov_len);
        done += src->iov[i].iov_len;
    }
}

void qemu_iovec_discard_back(QEMUIOVector *qiov, size_t bytes)
{
    unsigned int niov = qiov->niov;
    size_t new_size;

    assert(bytes <= qiov->size);
    new_size = qiov->size - bytes;
    if (iov_discard_back(qiov->iov, &niov, bytes) != bytes) {
        g_assert_not_reached();     /* size disagreed with the elements */
    }
    qiov->niov = niov;
    qiov->size = new_size;          /* assign: see the invariant above */
}

/* ---- QEMUIOVector: slices ----------------------------------------------- */

struct iovec *qemu_iovec_slice(QEMUIOVector *qiov, size_t offset,
                               size_t len, size_t *head, size_t *tail,
                               int *niov)
{
    size_t skip, last_skip;
    unsigned int first, last;

    assert(offset <= qiov->size && len <= qiov->size - offset);
    first = iov_seek(qiov->iov, qiov->niov, offset, &skip);
    if (len == 0) {
        *head = *tail = 0;
        *niov = 0;
        return qiov->iov + first;
    }
    /* The element holding the range's last byte. */
    last = first + iov_seek(qiov->iov + first, qiov->niov - first,
                            skip + len - 1, &last_skip);
    *head = skip;
    *tail = qiov->iov[last].iov_len - last_skip - 1;
    *niov = last - first + 1;
    return qiov->iov + first;
}

int qemu_iovec_subvec_niov(QEMUIOVector *qiov, size_t offset, size_t len)
{
    size_t head, tail;
    int niov;

    qemu_iovec_slice(qiov, offset, len, &head, &tail, &niov);
    return niov;
}

/* Point @qiov at @niov fresh elements holding @size bytes; return them. */
static struct iovec *qiov_prepare(QEMUIOVector *qiov, int niov, size_t size)
{
    if (niov == 1) {
        qemu_iovec_init_buf(qiov, NULL, size);
        return &qiov->local_iov;
    }
    qiov->iov = g_new(struct iovec, niov);
    qiov->niov = qiov->nalloc = niov;
    qiov->size = size;
    return qiov->iov;
}

int qemu_iovec_init_extended(QEMUIOVector *qiov,
                             void *head_buf, size_t head_len,
                             QEMUIOVector *mid_qiov, size_t mid_offset,
                             size_t mid_len,
                             void *tail_buf, size_t tail_len)
{
    struct iovec *mid_iov = NULL, *p;
    size_t mid_head = 0, mid_tail = 0;
    int mid_niov = 0, total;

    if (mid_len) {
        mid_iov = qemu_iovec_slice(mid_qiov, mid_offset, mid_len,
                                   &mid_head, &mid_tail, &mid_niov);
    }
    total = !!head_len + mid_niov + !!tail_len;
    if (total > IOV_MAX) {
        return -EINVAL;
    }
    p = qiov_prepare(qiov, total, head_len + mid_len + tail_len);
    if (head_len) {
        *p++ = (struct iovec) { .iov_base = head_buf, .iov_len = head_len };
    }
    if (mid_niov) {
        memcpy(p, mid_iov, mid_niov * sizeof(*p));
        p[0].iov_base = (char *)p[0].iov_base + mid_head;
        p[0].iov_len -= mid_head;
        p[mid_niov - 1].iov_len -= mid_tail;
        p += mid_niov;
    }
    if (tail_len) {
        *p = (struct iovec) { .iov_base = tail_buf, .iov_len = tail_len };
    }
    return 0;
}

void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *source,
                           size_t offset, size_t len)
{
    int ret G_GNUC_UNUSED = qemu_iovec_init_extended(qiov, NULL, 0, source, offset, len,
                                       NULL, 0);

    assert(ret == 0);
}

/* ---- QEMUIOVector: data ------------------------------------------------- */

size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset,
                         void *buf, size_t bytes)
{
    return iov_to_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset,
                           const void *buf, size_t bytes)
{
    return iov_from_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset,
                         int fillc, size_t bytes)
{
    return iov_memset(qiov->iov, qiov->niov, offset, fillc, bytes);
}

bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes)
{
    size_t skip;
    unsigned int i;

    assert(offset <= qiov->size && bytes <= qiov->size - offset);
    i = iov_seek(qiov->iov, qiov->niov, offset, &skip);
    for (; bytes; i++, skip = 0) {
        size_t len = MIN(qiov->iov[i].iov_len - skip, bytes);

        if (!buffer_is_zero((char *)qiov->iov[i].iov_base + skip, len)) {
            return false;
        }
        bytes -= len;
    }
    return true;
}

/* Index of the first byte where @a and @b differ, or @len if none. */
static size_t first_difference(const unsigned char *a,
                               const unsigned char *b, size_t len)
{
    size_t i;

    if (!memcmp(a, b, len)) {
        return len;
    }
    for (i = 0; a[i] == b[i]; i++) {
        /* memcmp said a difference exists before len */
    }
    return i;
}

/* A read position inside a QEMUIOVector. */
typedef struct IovCursor {
    const struct iovec *iov;
    size_t skip;
} IovCursor;

/* Bytes available at @c, stepping over exhausted/empty elements. */
static size_t cursor_avail(IovCursor *c)
{
    while (c->skip == c->iov->iov_len) {
        c->iov++;
        c->skip = 0;
    }
    return c->iov->iov_len - c->skip;
}

static const unsigned char *cursor_ptr(const IovCursor *c)
{
    return (const unsigned char *)c->iov->iov_base + c->skip;
}

ssize_t qemu_iovec_compare(QEMUIOVector *a, QEMUIOVector *b)
{
    IovCursor ca = { a->iov, 0 };
    IovCursor cb = { b->iov, 0 };
    size_t pos = 0;

    assert(a->size == b->size);
    while (pos < a->size) {
        size_t len = MIN(cursor_avail(&ca), cursor_avail(&cb));
        size_t same = first_difference(cursor_ptr(&ca), cursor_ptr(&cb), len);

        if (same < len) {
            return pos + same;
        }
        ca.skip += len;
        cb.skip += len;
        pos += len;
    }
    return -1;
}
