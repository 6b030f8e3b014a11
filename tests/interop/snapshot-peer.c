/*
 * snapshot-peer: the Spindle side of the internal snapshot interop tests
 * (data is written and checked with image-peer; this program only adds
 * what needs snapshots).
 *
 *   snapshot-peer [-r] IMAGE COMMAND...
 *       open IMAGE (read-write unless -r, format probed) and run each
 *       COMMAND, one argument each:
 *         "create NAME [VMSIZE [VMCLOCK_NS]]"  take a snapshot (now)
 *         "list"                 one line per snapshot on stdout:
 *                                ID TAG VMSIZE DATE_SEC DATE_NSEC VMCLOCK
 *         "goto ID|NAME"         revert to a snapshot
 *         "delete ID|NAME"
 *         "load ID|NAME"         load_tmp (needs -r)
 *         "vmsave POS LEN BYTE"  fill VM state with BYTE
 *         "vmload POS LEN BYTE"  expect VM state to be BYTE
 *         "read OFF LEN BYTE"    expect guest data to be BYTE
 *       POS, LEN and OFF take the suffixes k, M and G.
 *
 * Exits 0 when everything worked, else 1 with the failure on stderr.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

/* A number, with an optional suffix k, M or G (binary). */
static uint64_t num(const char *s)
{
    char *end;
    uint64_t v = g_ascii_strtoull(s, &end, 0);
    const char *suffixes = "kMG";
    const char *p = *end ? strchr(suffixes, *end) : NULL;

    return p ? v << (10 * (p - suffixes + 1)) : v;
}

/* Index of the first byte of @buf that is not @byte, or -1. */
static int64_t first_other(const uint8_t *buf, uint64_t len, uint8_t byte)
{
    for (uint64_t i = 0; i < len; i++) {
        if (buf[i] != byte) {
            return i;
        }
    }
    return -1;
}

static int cmd_create(BlockDriverState *bs, char **w, guint n)
{
    QEMUSnapshotInfo sn = { .icount = UINT64_MAX };
    int64_t now = g_get_real_time();
    int ret;

    g_strlcpy(sn.name, w[1], sizeof(sn.name));
    sn.vm_state_size = n > 2 ? num(w[2]) : 0;
    sn.vm_clock_nsec = n > 3 ? num(w[3]) : 0;
    sn.date_sec = now / G_USEC_PER_SEC;
    sn.date_nsec = (now % G_USEC_PER_SEC) * 1000;
    ret = bdrv_snapshot_create(bs, &sn);
    if (ret == 0) {
        printf("%s\n", sn.id_str);
    }
    return ret;
}

static int cmd_list(BlockDriverState *bs)
{
    QEMUSnapshotInfo *sn;
    int n = bdrv_snapshot_list(bs, &sn);

    for (int i = 0; i < n; i++) {
        printf("%s %s %" PRIu64 " %u %u %" PRIu64 "\n", sn[i].id_str,
               sn[i].name, sn[i].vm_state_size, sn[i].date_sec,
               sn[i].date_nsec, sn[i].vm_clock_nsec);
    }
    g_free(sn);
    return n < 0 ? n : 0;
}

/* vmsave, vmload and read: @w = { cmd, pos, len, byte }. */
static int cmd_bytes(BlockDriverState *bs, char **w)
{
    uint64_t pos = num(w[1]), len = num(w[2]);
    g_autofree uint8_t *buf = g_malloc(len);
    uint8_t byte = num(w[3]);
    int64_t bad;
    int ret;

    if (!strcmp(w[0], "vmsave")) {
        memset(buf, byte, len);
        ret = bdrv_save_vmstate(bs, buf, pos, len);
        return ret < 0 ? ret : 0;
    }
    ret = !strcmp(w[0], "vmload") ? bdrv_load_vmstate(bs, buf, pos, len)
                                  : bdrv_pread(bs, pos, buf, len);
    if (ret < 0) {
        return ret;
    }
    bad = first_other(buf, len, byte);
    if (bad >= 0) {
        fprintf(stderr, "%s: byte %" PRIu64 " is 0x%02x, not 0x%02x\n",
                w[0], pos + bad, buf[bad], byte);
        return -EIO;
    }
    return 0;
}

static int run(BlockDriverState *bs, const char *cmd)
{
    g_auto(GStrv) w = g_strsplit(cmd, " ", -1);
    guint n = g_strv_length(w);

    if (n >= 2 && n <= 4 && !strcmp(w[0], "create")) {
        return cmd_create(bs, w, n);
    }
    if (n == 1 && !strcmp(w[0], "list")) {
        return cmd_list(bs);
    }
    if (n == 2 && !strcmp(w[0], "goto")) {
        return bdrv_snapshot_goto(bs, w[1]);
    }
    if (n == 2 && !strcmp(w[0], "delete")) {
        return bdrv_snapshot_delete(bs, w[1]);
    }
    if (n == 2 && !strcmp(w[0], "load")) {
        return bdrv_snapshot_load_tmp(bs, w[1]);
    }
    if (n == 4 && (!strcmp(w[0], "vmsave") || !strcmp(w[0], "vmload") ||
                   !strcmp(w[0], "read"))) {
        return cmd_bytes(bs, w);
    }
    fprintf(stderr, "unknown command '%s'\n", cmd);
    return -EINVAL;
}

int main(int argc, char **argv)
{
    int flags = BDRV_O_RDWR | BDRV_O_CACHE_WB;
    BlockDriverState *bs;
    Error *err = NULL;
    int first = 1, ret = 0;

    qemu_init_main_loop(&error_fatal);
    if (argc > 1 && !strcmp(argv[1], "-r")) {
        flags &= ~BDRV_O_RDWR;
        first++;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: snapshot-peer [-r] IMAGE COMMAND...\n");
        return 2;
    }
    bs = bdrv_new("");
    if (bdrv_open(bs, argv[first], flags, NULL, &err) < 0) {
        error_report_err(err);
        bdrv_unref(bs);
        return 1;
    }
    for (int i = first + 1; i < argc && ret == 0; i++) {
        ret = run(bs, argv[i]);
        if (ret < 0) {
            fprintf(stderr, "'%s' failed: %s\n", argv[i], strerror(-ret));
        }
    }
    bdrv_unref(bs);
    return ret < 0 ? 1 : 0;
}
