/*
 * libFuzzer target: open arbitrary bytes as a disk image, with format
 * probing, then read it and check it.
 *
 * The input becomes the contents of a memory file (memfd), opened through
 * /proc/self/fd like any image path, read-only and without backing files
 * (a fuzzed image naming /etc/passwd as its backing file teaches nothing).
 * Every format the library has is reachable, so one target covers the
 * probe functions, each format's header parsing, its mapping code on
 * reads, what "info" asks (format-specific information: bitmaps, the
 * LUKS header of encrypted qcow2) and bdrv_check.  What counts as a
 * finding: a crash, a sanitizer report, a hang (libFuzzer's -timeout) or
 * an allocation beyond -rss_limit_mb / -malloc_limit_mb.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd_with(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-image", 0);

    if (fd < 0) {
        abort();
    }
    if (size && write(fd, data, size) != (ssize_t)size) {
        abort();
    }
    return fd;
}

/* Read a few places: the start, the end and the middle. */
static void read_some(BlockDriverState *bs)
{
    int64_t len = bdrv_getlength(bs);
    uint8_t buf[65536];
    int64_t offsets[3];

    if (len <= 0) {
        return;
    }
    offsets[0] = 0;
    offsets[1] = len / 2;
    offsets[2] = len > (int64_t)sizeof(buf) ? len - sizeof(buf) : 0;
    for (int i = 0; i < 3; i++) {
        int n = MIN(len - offsets[i], (int64_t)sizeof(buf));
        bdrv_pread(bs, offsets[i], buf, n);
    }
}

static void look_around(BlockDriverState *bs)
{
    BdrvCheckResult result;
    BlockDriverInfo bdi;
    QEMUSnapshotInfo *sn = NULL;
    int pnum;

    read_some(bs);
    bdrv_is_allocated(bs, 0, 1 << 16, &pnum);
    bdrv_get_info(bs, &bdi);
    bdrv_specific_info_free(bdrv_get_specific_info(bs));
    if (bdrv_snapshot_list(bs, &sn) >= 0) {
        g_free(sn);
    }
    bdrv_check(bs, &result, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialised;
    int fd = memfd_with(data, size);
    g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", fd);
    BlockDriverState *bs;
    Error *err = NULL;

    if (!initialised) {
        qemu_init_main_loop(&error_abort);
        initialised = true;
    }
    bs = bdrv_new("");
    if (bdrv_open(bs, path, BDRV_O_NO_BACKING | BDRV_O_FORCE_SHARE, NULL,
                  &err) == 0) {
        look_around(bs);
    } else {
        error_free(err);
    }
    bdrv_unref(bs);
    close(fd);
    return 0;
}
