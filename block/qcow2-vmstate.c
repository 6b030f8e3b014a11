/*
 * qcow2 VM state: the saved device and memory state of a VM, kept with
 * the disk so a snapshot can resume a running guest.
 *
 * What it does: stores the state like guest data, in normal clusters, at
 * virtual offsets from the first L1 entry past the guest disk
 * (vm_state_offset in bdrv_get_info); a snapshot taken afterwards keeps
 * it, and reverting to the snapshot brings it back into view.  Byte
 * granular: partial sectors are read, merged and written back.
 *
 * What it deliberately does not: bound the state's size beyond what the
 * L1 table can grow to, or expose it to guest reads (the disk ends
 * before it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"
#include "qcow2.h"

typedef struct VmStateIO {
    BlockDriverState *bs;
    uint8_t *buf;
    int64_t pos;
    int size;
    bool write;
} VmStateIO;

/* Read or write whole sectors [@start, +@len) of the VM state area. */
static int coroutine_fn sectors_rw(BlockDriverState *bs, uint64_t start,
                                   uint64_t len, uint8_t *buf, bool write)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, len);
    if (write) {
        return qcow2_co_writev(bs, start >> BDRV_SECTOR_BITS,
                               len >> BDRV_SECTOR_BITS, &qiov);
    }
    return qcow2_co_readv(bs, start >> BDRV_SECTOR_BITS,
                          len >> BDRV_SECTOR_BITS, &qiov);
}

static int coroutine_fn vmstate_co(void *opaque)
{
    VmStateIO *v = opaque;
    BlockDriverState *bs = v->bs;
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = ((uint64_t)s->l1_vm_state_index <<
                    (s->cluster_bits + s->l2_bits)) + v->pos;
    uint64_t start = off & ~(uint64_t)(BDRV_SECTOR_SIZE - 1);
    uint64_t end = ROUND_UP(off + v->size, BDRV_SECTOR_SIZE);
    uint64_t last = end - BDRV_SECTOR_SIZE;
    uint8_t *bounce = qemu_blockalign(bs, end - start);
    int ret = 0;

    if (!v->write) {
        ret = sectors_rw(bs, start, end - start, bounce, false);
        if (ret == 0) {
            memcpy(v->buf, bounce + (off - start), v->size);
        }
        goto out;
    }
    /* Keep the bytes around the request in its first and last sector. */
    if (start < off) {
        ret = sectors_rw(bs, start, BDRV_SECTOR_SIZE, bounce, false);
    }
    if (ret == 0 && end > off + v->size && (last != start || start == off)) {
        ret = sectors_rw(bs, last, BDRV_SECTOR_SIZE,
                         bounce + (last - start), false);
    }
    if (ret == 0) {
        memcpy(bounce + (off - start), v->buf, v->size);
        ret = sectors_rw(bs, start, end - start, bounce, true);
    }
out:
    qemu_vfree(bounce);
    return ret;
}

static int vmstate_rw(BlockDriverState *bs, uint8_t *buf, int64_t pos,
                      int size, bool write)
{
    BDRVQcow2State *s = bs->opaque;
    VmStateIO v = { .bs = bs, .buf = buf, .pos = pos, .size = size,
                    .write = write };
    int ret;

    if (pos < 0 || size < 0) {
        return -EINVAL;
    }
    if (write && !s->writable) {
        return -EACCES;
    }
    if (size == 0) {
        return 0;
    }
    ret = qcow2_run_co(bs, vmstate_co, &v);
    return ret < 0 ? ret : size;
}

int qcow2_save_vmstate(BlockDriverState *bs, const uint8_t *buf,
                       int64_t pos, int size)
{
    return vmstate_rw(bs, (uint8_t *)buf, pos, size, true);
}

int qcow2_load_vmstate(BlockDriverState *bs, uint8_t *buf, int64_t pos,
                       int size)
{
    return vmstate_rw(bs, buf, pos, size, false);
}
