/*
 * Scatter/gather I/O vectors.
 *
 * Two layers:
 *   iov_*          helpers over a plain (struct iovec *, count) array: size,
 *                  copy data in and out at a byte offset, fill, slice,
 *                  trim from either end.
 *   qemu_iovec_*   QEMUIOVector, a growable or borrowed iovec array that
 *                  also tracks its total byte count; the type the block
 *                  layer passes down its request path.
 *
 * Offsets and byte counts address the vector's concatenated data.  Every
 * function that takes an offset requires it to be at most the total size
 * (asserted); a byte count that runs past the end is cut short, and the
 * function says how many bytes it really handled.  None of these functions
 * take locks: a vector belongs to one thread or coroutine at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_IOV_H
#define QEMU_IOV_H

#include "qemu/osdep.h"

/* ---- plain iovec arrays ------------------------------------------------- */

/* Total bytes described by the @iov_cnt elements of @iov. */
size_t iov_size(const struct iovec *iov, const unsigned int iov_cnt);

/*
 * Copy @bytes bytes from @buf into the vector's data starting at byte
 * @offset.  Returns the number of bytes copied, less than @bytes only when
 * the vector ends first.  @offset must not exceed iov_size().
 */
size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes);

/*
 * Copy @bytes bytes of the vector's data starting at byte @offset into
 * @buf.  Returns the number of bytes copied, less than @bytes only when the
 * vector ends first.  @offset must not exceed iov_size().
 */
size_t iov_to_buf(const struct iovec *iov, const unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes);

/*
 * Set @bytes bytes of the vector's data starting at @offset to @fillc.
 * Returns the number of bytes set (short only at the vector's end).
 * @offset must not exceed iov_size().
 */
size_t iov_memset(const struct iovec *iov, const unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes);

/*
 * Describe bytes [@offset, @offset + @bytes) of (@iov, @iov_cnt) in
 * @dst_iov, which has room for @dst_iov_cnt elements.  Only the iovec
 * descriptors are written; the data is shared, not copied.  Stops early
 * when @dst_iov is full or the source ends.  Returns the number of
 * elements written.  @offset must not exceed iov_size(@iov, @iov_cnt).
 */
unsigned iov_copy(struct iovec *dst_iov, unsigned int dst_iov_cnt,
                  const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, size_t bytes);

/*
 * Drop the first @bytes bytes of the vector by editing it in place:
 * *@iov advances past the consumed elements, *@iov_cnt shrinks and the new
 * first element is trimmed.  Returns the number of bytes dropped (less
 * than @bytes only if the vector was shorter).
 */
size_t iov_discard_front(struct iovec **iov, unsigned int *iov_cnt,
                         size_t bytes);

/*
 * Drop the last @bytes bytes of the vector: *@iov_cnt shrinks and the new
 * last element is trimmed in place.  Returns the number of bytes dropped
 * (less than @bytes only if the vector was shorter).
 */
size_t iov_discard_back(struct iovec *iov, unsigned int *iov_cnt,
                        size_t bytes);

/*
 * Write a hex and ASCII dump of at most @limit bytes of the vector to @fp,
 * 16 bytes a line, each line starting with @prefix.  For debugging.
 */
void iov_hexdump(const struct iovec *iov, const unsigned int iov_cnt,
                 FILE *fp, const char *prefix, size_t limit);

/*
 * True when all @len bytes at @buf are zero (true for @len == 0).  Reads
 * only inside the buffer; fast on large buffers (word-at-a-time).
 */
bool buffer_is_zero(const void *buf, size_t len);

/* ---- QEMUIOVector ------------------------------------------------------- */

/*
 * QEMUIOVector: @iov points at @niov elements holding @size bytes in all.
 *
 * Three kinds, told apart by @nalloc:
 *   - owned (qemu_iovec_init): @iov is heap memory with room for @nalloc
 *     elements, grown by qemu_iovec_add; freed by qemu_iovec_destroy.
 *   - external (qemu_iovec_init_external): @iov is the caller's array;
 *     @nalloc is -1 and the vector cannot grow.
 *   - single buffer (qemu_iovec_init_buf / QEMU_IOVEC_INIT_BUF): @iov points
 *     at the embedded @local_iov; @nalloc is -1.
 * In every kind @size shares its storage with local_iov.iov_len (which is
 * why a single-buffer vector needs no separate size), so a vector must not
 * be copied by value unless it is an owned or external one.
 */
struct QEMUIOVector {
    struct iovec *iov;
    int niov;
    union {
        struct {
            int nalloc;
            struct iovec local_iov;
        };
        struct {
            char size_offset_[sizeof(int) + offsetof(struct iovec, iov_len)];
            size_t size;
        };
    };
};

QEMU_BUILD_BUG_ON(offsetof(QEMUIOVector, size) !=
                  offsetof(QEMUIOVector, local_iov.iov_len));

/*
 * Static initialiser of a single-buffer vector over @len bytes at @buf:
 *     QEMUIOVector qiov = QEMU_IOVEC_INIT_BUF(qiov, buf, len);
 * @self must name the variable being initialised.
 */
#define QEMU_IOVEC_INIT_BUF(self, buf, len)                             \
    {                                                                   \
        .iov = &(self).local_iov,                                       \
        .niov = 1,                                                      \
        .nalloc = -1,                                                   \
        .local_iov = {                                                  \
            .iov_base = (void *)(buf),                                  \
            .iov_len = (len),                                           \
        },                                                              \
    }

/* Make @qiov a single-buffer vector over @len bytes at @buf. */
static inline void qemu_iovec_init_buf(QEMUIOVector *qiov,
                                       void *buf, size_t len)
{
    *qiov = (QEMUIOVector) QEMU_IOVEC_INIT_BUF(*qiov, buf, len);
}

/* The buffer of a single-buffer vector (asserted to be one). */
static inline void *qemu_iovec_buf(QEMUIOVector *qiov)
{
    assert(qiov->nalloc == -1 && qiov->iov == &qiov->local_iov);
    return qiov->local_iov.iov_base;
}

/* Make @qiov an empty owned vector with room for @alloc_hint elements. */
void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint);

/*
 * Make @qiov an external vector over the caller's @niov elements at @iov,
 * which must outlive it and not change length behind its back.
 */
void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov,
                              int niov);

/*
 * Make @qiov describe, in order: @head_len bytes at @head_buf, bytes
 * [@mid_offset, @mid_offset + @mid_len) of @mid_qiov, and @tail_len bytes
 * at @tail_buf (any part may be empty).  Data is shared, not copied.
 * @qiov becomes an owned vector, or a single-buffer one when one element
 * suffices; release it with qemu_iovec_destroy.  The middle range must lie
 * inside @mid_qiov.  Returns 0, or -EINVAL (with @qiov untouched) when the
 * result would need more than IOV_MAX elements.
 */
int qemu_iovec_init_extended(QEMUIOVector *qiov,
                             void *head_buf, size_t head_len,
                             QEMUIOVector *mid_qiov, size_t mid_offset,
                             size_t mid_len,
                             void *tail_buf, size_t tail_len);

/*
 * Make @qiov describe bytes [@offset, @offset + @len) of @source, sharing
 * its data.  The range must lie inside @source and touch at most IOV_MAX
 * elements.  Release with qemu_iovec_destroy.
 */
void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *source,
                           size_t offset, size_t len);

/*
 * Locate bytes [@offset, @offset + @len) (a range inside @qiov) without
 * building anything: returns the element holding byte @offset and sets
 * *@head to that byte's offset in it, *@tail to the number of bytes of the
 * last element that lie past the range, and *@niov to the number of
 * elements the range touches (0, with *@head and *@tail 0, when @len is 0).
 */
struct iovec *qemu_iovec_slice(QEMUIOVector *qiov, size_t offset,
                               size_t len, size_t *head, size_t *tail,
                               int *niov);

/* Number of elements that bytes [@offset, @offset + @len) touch. */
int qemu_iovec_subvec_niov(QEMUIOVector *qiov, size_t offset, size_t len);

/*
 * Append @len bytes at @base as a new element of owned vector @qiov,
 * growing its array as needed.
 */
void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len);

/*
 * Append to owned vector @dst the elements describing bytes
 * [@soffset, @soffset + @sbytes) of (@src_iov, @src_cnt); data is shared.
 * Returns the number of bytes added (short only when the source ends).
 * @soffset must not exceed the source's size.
 */
size_t qemu_iovec_concat_iov(QEMUIOVector *dst,
                             struct iovec *src_iov, unsigned int src_cnt,
                             size_t soffset, size_t sbytes);

/* qemu_iovec_concat_iov() with a QEMUIOVector as the source. */
void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src,
                       size_t soffset, size_t sbytes);

/*
 * True when bytes [@offset, @offset + @bytes) of @qiov are all zero.  The
 * range must lie inside @qiov.
 */
bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes);

/* Free an owned vector's array; @qiov is zeroed and must be re-initialised
 * before reuse.  Accepts every kind of vector. */
void qemu_iovec_destroy(QEMUIOVector *qiov);

/* Empty owned vector @qiov, keeping its array for reuse. */
void qemu_iovec_reset(QEMUIOVector *qiov);

/* iov_to_buf() over @qiov's elements. */
size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset,
                         void *buf, size_t bytes);

/* iov_from_buf() over @qiov's elements. */
size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset,
                           const void *buf, size_t bytes);

/* iov_memset() over @qiov's elements. */
size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset,
                         int fillc, size_t bytes);

/*
 * Compare the data of @a and @b, which must hold the same number of bytes
 * (their element layouts may differ).  Returns the offset of the first
 * differing byte, or -1 when the data is identical.
 */
ssize_t qemu_iovec_compare(QEMUIOVector *a, QEMUIOVector *b);

/*
 * Reset owned vector @dest and give it @src's element layout, but over the
 * contiguous buffer @buf (at least @src->size bytes).  Data is not copied.
 */
void qemu_iovec_clone(QEMUIOVector *dest, const QEMUIOVector *src,
                      void *buf);

/*
 * Drop the last @bytes bytes (at most its size) of @qiov, of any kind.
 * The last remaining element is trimmed in place, so for an external
 * vector the caller's array is edited.
 */
void qemu_iovec_discard_back(QEMUIOVector *qiov, size_t bytes);

#endif /* QEMU_IOV_H */
