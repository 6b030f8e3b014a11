/*
 * block-open-peer: the Spindle side of the image-locking interop tests.
 *
 *   block-open-peer [-r] [-U] [-w] IMAGE
 *
 * Opens IMAGE as raw over the file driver, read-write unless -r (-U:
 * force-share, i.e. ignore other users' locks; -w: write one sector
 * first, to prove the node works).  On success prints "opened IMAGE" on
 * stdout and keeps the image open, with its locks, until stdin reaches
 * end-of-file; then closes it and exits 0.  On failure prints the error
 * on stderr and exits 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

static void wait_for_stdin_eof(void)
{
    char buf[256];

    while (RETRY_ON_EINTR(read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
        /* discard */
    }
}

static int write_sector(BlockDriverState *bs)
{
    uint8_t buf[512];

    memset(buf, 0x5a, sizeof(buf));
    return bdrv_pwrite(bs, 0, buf, sizeof(buf)) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    int flags = BDRV_O_RDWR;
    bool do_write = false;
    BlockDriverState *bs;
    Error *err = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "rUw")) != -1) {
        switch (opt) {
        case 'r':
            flags &= ~BDRV_O_RDWR;
            break;
        case 'U':
            flags |= BDRV_O_FORCE_SHARE;
            break;
        case 'w':
            do_write = true;
            break;
        default:
            fprintf(stderr, "usage: %s [-r] [-U] [-w] IMAGE\n", argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: %s [-r] [-U] [-w] IMAGE\n", argv[0]);
        return 2;
    }
    qemu_init_main_loop(&error_fatal);
    bs = bdrv_new("");
    if (bdrv_open(bs, argv[optind], flags, bdrv_find_format("raw"),
                  &err) < 0) {
        error_report_err(err);
        bdrv_unref(bs);
        return 1;
    }
    if (do_write && write_sector(bs) < 0) {
        fprintf(stderr, "write to %s failed\n", argv[optind]);
        bdrv_unref(bs);
        return 1;
    }
    printf("opened %s\n", argv[optind]);
    fflush(stdout);
    wait_for_stdin_eof();
    bdrv_unref(bs);
    return 0;
}
