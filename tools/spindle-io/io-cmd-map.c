/*
 * map and alloc: the allocation status of the image, in qemu-io 7.2's
 * formats ("64 KiB (0x10000) bytes     allocated at offset 0 bytes (0x0)"
 * and "8192/8192 bytes allocated at offset 0 bytes").
 *
 * Both ask bdrv_is_allocated_above over the whole backing chain, which
 * answers in 512-byte sectors.  Unlike QEMU, Spindle's raw driver passes
 * the protocol's answer through, so holes of a sparse raw file show as
 * "not allocated" here where qemu-io says "allocated".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block_int.h"
#include "io-cmds.h"

#define MAP_CHUNK_SECTORS (BDRV_REQUEST_MAX_SECTORS)

/* Status of the run starting at @sector, at most @nb sectors long,
 * merging consecutive answers that agree.  1/0 or -errno; *pnum set. */
static int allocated_run(BlockDriverState *bs, int64_t sector, int64_t nb,
                         int64_t *pnum)
{
    int first = -1;

    *pnum = 0;
    while (nb > 0) {
        int n;
        int ret = bdrv_is_allocated_above(bs, NULL, sector,
                                          MIN(nb, MAP_CHUNK_SECTORS), &n);
        if (ret < 0) {
            return ret;
        }
        if (n == 0 || (first >= 0 && ret != first)) {
            break;
        }
        first = ret;
        *pnum += n;
        sector += n;
        nb -= n;
    }
    return first < 0 ? 0 : first;
}

int io_cmd_map(IOState *s, int argc, char **argv)
{
    int64_t sectors = bdrv_getlength(s->bs);
    int64_t sector = 0;

    if (sectors < 0) {
        printf("Failed to query image length: %s\n", strerror(-sectors));
        return sectors;
    }
    sectors = DIV_ROUND_UP(sectors, BDRV_SECTOR_SIZE);
    while (sector < sectors) {
        char s1[64], s2[64];
        int64_t num;
        int ret = allocated_run(s->bs, sector, sectors - sector, &num);

        if (ret < 0) {
            printf("Failed to get allocation status: %s\n", strerror(-ret));
            return ret;
        }
        if (num == 0) {
            printf("Unexpected end of image\n");
            return -EIO;
        }
        cvtstr(num * BDRV_SECTOR_SIZE, s1, sizeof(s1));
        cvtstr(sector * BDRV_SECTOR_SIZE, s2, sizeof(s2));
        printf("%s (0x%" PRIx64 ") bytes %s at offset %s (0x%" PRIx64 ")\n",
               s1, (uint64_t)(num * BDRV_SECTOR_SIZE),
               ret ? "    allocated" : "not allocated", s2,
               (uint64_t)(sector * BDRV_SECTOR_SIZE));
        sector += num;
    }
    return 0;
}

/* Bytes of [offset, offset + count) allocated; qemu-io shortens the
 * range to the image's end, so past the end it reports "0/0 bytes". */
int io_cmd_alloc(IOState *s, int argc, char **argv)
{
    int64_t offset, count = BDRV_SECTOR_SIZE, sum = 0, pos, end, length;
    char s1[64];

    if (!io_parse_num(argv[1], &offset) ||
        (argc > 2 && !io_parse_num(argv[2], &count))) {
        return -EINVAL;
    }
    length = bdrv_getlength(s->bs);
    if (length < 0) {
        printf("is_allocated failed: %s\n", strerror(-length));
        return length;
    }
    count = offset >= length ? 0 : MIN(count, length - offset);
    end = offset + count;
    for (pos = offset; pos < end;) {
        int64_t sector = pos / BDRV_SECTOR_SIZE, num, next;
        int ret = allocated_run(s->bs, sector,
                                DIV_ROUND_UP(end, BDRV_SECTOR_SIZE) - sector,
                                &num);
        if (ret < 0) {
            printf("is_allocated failed: %s\n", strerror(-ret));
            return ret;
        }
        if (num == 0) {
            break;
        }
        next = MIN((sector + num) * BDRV_SECTOR_SIZE, end);
        sum += ret ? next - pos : 0;
        pos = next;
    }
    cvtstr(offset, s1, sizeof(s1));
    printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n",
           sum, count, s1);
    return 0;
}
