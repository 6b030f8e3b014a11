/*
 * crash-writer: the Spindle side of the qcow2 crash-consistency test
 * (qcow2-crash.sh), which kills it with SIGKILL at random moments.
 *
 *   crash-writer run IMAGE JOURNAL SEED BLOCKS CLUSTER
 *       open IMAGE read-write and, forever, do random writes of whole
 *       4 KiB blocks (below BLOCKS), discards of whole CLUSTER-byte
 *       clusters and flushes.  Before each write or discard a line
 *       "W BLOCK COUNT GEN" or "D BLOCK COUNT" is appended to JOURNAL;
 *       after each completed flush a line "F", and JOURNAL is fsync'ed.
 *   crash-writer verify IMAGE JOURNAL BLOCKS
 *       replay JOURNAL: what was written or discarded before the last
 *       "F" is durable and must read back; blocks touched after it may
 *       hold anything.  Exits 0 if every durable block matches.
 *
 * Block contents derive from (block, generation): verify needs nothing
 * but the journal.  Generation 0 means zeroes (discarded, never written).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

#define BLOCK_SIZE  4096
#define MAX_RUN     16

static void fill_block(uint8_t *buf, uint64_t block, uint64_t gen)
{
    if (gen == 0) {
        memset(buf, 0, BLOCK_SIZE);
        return;
    }
    memset(buf, (int)((block * 31 + gen * 7) & 0xff) | 1, BLOCK_SIZE);
    memcpy(buf, &block, sizeof(block));
    memcpy(buf + 8, &gen, sizeof(gen));
}

static BlockDriverState *open_image(const char *path, int flags)
{
    BlockDriverState *bs = bdrv_new("");
    Error *err = NULL;

    if (bdrv_open(bs, path, flags, NULL, &err) < 0) {
        error_report_err(err);
        exit(1);
    }
    return bs;
}

static void journal(int fd, const char *line, bool sync)
{
    size_t len = strlen(line);

    if (write(fd, line, len) != (ssize_t)len || (sync && fsync(fd) < 0)) {
        perror("journal");
        exit(1);
    }
}

/* One random write; *@gen counts generations. */
static int random_write(BlockDriverState *bs, int fd, GRand *r,
                        uint64_t blocks, uint64_t *gen)
{
    uint64_t b = g_rand_int_range(r, 0, blocks);
    uint64_t n = g_rand_int_range(r, 1, MIN(MAX_RUN, blocks - b) + 1);
    g_autofree uint8_t *buf = g_malloc(n * BLOCK_SIZE);
    char line[80];

    (*gen)++;
    for (uint64_t i = 0; i < n; i++) {
        fill_block(buf + i * BLOCK_SIZE, b + i, *gen);
    }
    snprintf(line, sizeof(line), "W %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
             b, n, *gen);
    journal(fd, line, false);
    return bdrv_pwrite(bs, b * BLOCK_SIZE, buf, n * BLOCK_SIZE);
}

static int random_discard(BlockDriverState *bs, int fd, GRand *r,
                          uint64_t blocks, uint64_t cluster)
{
    uint64_t per = cluster / BLOCK_SIZE, clusters = blocks / per;
    uint64_t c = g_rand_int_range(r, 0, clusters);
    uint64_t n = g_rand_int_range(r, 1, MIN(4, clusters - c) + 1);
    char line[80];

    snprintf(line, sizeof(line), "D %" PRIu64 " %" PRIu64 "\n", c * per,
             n * per);
    journal(fd, line, false);
    return bdrv_discard(bs, c * cluster >> 9, n * cluster >> 9);
}

static int do_run(char **argv)
{
    uint64_t blocks = g_ascii_strtoull(argv[5], NULL, 0);
    uint64_t cluster = g_ascii_strtoull(argv[6], NULL, 0);
    g_autoptr(GRand) r = g_rand_new_with_seed(atoi(argv[4]));
    BlockDriverState *bs = open_image(argv[2], BDRV_O_RDWR |
                                      BDRV_O_CACHE_WB);
    int fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
    uint64_t gen = 0;

    if (fd < 0 || cluster < BLOCK_SIZE || blocks < cluster / BLOCK_SIZE) {
        fprintf(stderr, "bad journal, block count or cluster size\n");
        return 1;
    }
    for (;;) {
        int op = g_rand_int_range(r, 0, 100), ret;

        if (op < 65) {
            ret = random_write(bs, fd, r, blocks, &gen);
        } else if (op < 80) {
            ret = random_discard(bs, fd, r, blocks, cluster);
        } else {
            ret = bdrv_flush(bs);
            if (ret == 0) {
                journal(fd, "F\n", true);
            }
        }
        if (ret < 0) {
            fprintf(stderr, "operation failed: %s\n", strerror(-ret));
            return 1;
        }
    }
}

/* Replay @path: durable generation of each block in @durable, blocks
 * touched after the last flush in @touched. */
static void replay(const char *path, uint64_t *durable, bool *touched,
                   uint64_t blocks)
{
    g_autofree char *text = NULL;
    g_autofree uint64_t *pending = g_new(uint64_t, blocks);
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        text = g_strdup("");
    }
    memcpy(pending, durable, blocks * sizeof(uint64_t));
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i] && lines[i][0]; i++) {
        uint64_t b = 0, n = 0, gen = 0;

        if (lines[i][0] == 'F') {
            memcpy(durable, pending, blocks * sizeof(uint64_t));
            memset(touched, 0, blocks * sizeof(bool));
            continue;
        }
        if (sscanf(lines[i] + 1, "%" SCNu64 " %" SCNu64 " %" SCNu64, &b, &n,
                   &gen) < 2 || !lines[i + 1]) {
            continue;       /* the line being written when killed */
        }
        for (uint64_t k = b; k < b + n && k < blocks; k++) {
            pending[k] = lines[i][0] == 'W' ? gen : 0;
            touched[k] = true;
        }
    }
}

static int do_verify(char **argv)
{
    uint64_t blocks = g_ascii_strtoull(argv[4], NULL, 0);
    g_autofree uint64_t *durable = g_new0(uint64_t, blocks);
    g_autofree bool *touched = g_new0(bool, blocks);
    uint8_t want[BLOCK_SIZE], got[BLOCK_SIZE];
    BlockDriverState *bs;
    uint64_t checked = 0, bad = 0;

    replay(argv[3], durable, touched, blocks);
    bs = open_image(argv[2], 0);
    for (uint64_t b = 0; b < blocks; b++) {
        if (touched[b]) {
            continue;
        }
        fill_block(want, b, durable[b]);
        if (bdrv_pread(bs, b * BLOCK_SIZE, got, BLOCK_SIZE) < 0 ||
            memcmp(want, got, BLOCK_SIZE)) {
            uint64_t gb, gg;

            memcpy(&gb, got, 8);
            memcpy(&gg, got + 8, 8);
            if (bad++ < 10) {
                fprintf(stderr, "block %" PRIu64 ": expected generation %"
                        PRIu64 ", read block %" PRIu64 " generation %"
                        PRIu64 "\n", b, durable[b], gb, gg);
            }
        }
        checked++;
    }
    bdrv_unref(bs);
    printf("%" PRIu64 " durable blocks checked, %" PRIu64 " bad\n",
           checked, bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    qemu_init_main_loop(&error_fatal);
    if (argc == 7 && !strcmp(argv[1], "run")) {
        return do_run(argv);
    }
    if (argc == 5 && !strcmp(argv[1], "verify")) {
        return do_verify(argv);
    }
    fprintf(stderr, "usage: crash-writer run IMAGE JOURNAL SEED BLOCKS "
            "CLUSTER\n       crash-writer verify IMAGE JOURNAL BLOCKS\n");
    return 2;
}
