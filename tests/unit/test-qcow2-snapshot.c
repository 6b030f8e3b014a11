/*
 * Tests for qcow2 internal snapshots and VM state, through the block
 * layer: create, list, goto and delete with data changed in between;
 * copy-on-write after a snapshot (whole and partial clusters, shared L2
 * tables); space given back on delete; load_tmp; VM state round trips
 * and their capture in snapshots; many snapshots; resizing and emptying
 * an image that has snapshots; damaged snapshot tables, which must fail
 * to open with a clear message.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

#define KiB 1024
#define MiB (1024 * 1024)

static char *test_dir;

/* ---- helpers ---------------------------------------------------------- */

/* A new qcow2 image @name of @size with "k=v,..." @opts; its path. */
static char *new_image(const char *name, int64_t size, const char *opts)
{
    char *path = g_build_filename(test_dir, name, NULL);
    BlockDriver *drv = bdrv_find_format("qcow2");
    QEMUOptionParameter *list;

    unlink(path);
    list = parse_option_parameters(opts, drv->create_options, NULL, NULL,
                                   &error_abort);
    set_option_parameter_int(list, BLOCK_OPT_SIZE, size, &error_abort);
    g_assert_cmpint(bdrv_create(drv, path, list, &error_abort), ==, 0);
    free_option_parameters(list);
    return path;
}

static BlockDriverState *open_rw(const char *path, bool writable)
{
    BlockDriverState *bs = bdrv_new("");

    g_assert_cmpint(bdrv_open(bs, path, writable ? BDRV_O_RDWR : 0,
                              bdrv_find_format("qcow2"), &error_abort),
                    ==, 0);
    return bs;
}

static void fill(BlockDriverState *bs, int64_t off, size_t len, uint8_t v)
{
    g_autofree uint8_t *buf = g_malloc(len);

    memset(buf, v, len);
    g_assert_cmpint(bdrv_pwrite(bs, off, buf, len), ==, len);
}

static void expect(BlockDriverState *bs, int64_t off, size_t len, uint8_t v)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, off, buf, len), ==, len);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != v) {
            g_error("byte %" PRId64 " is 0x%02x, expected 0x%02x",
                    off + (int64_t)i, buf[i], v);
        }
    }
}

/* Take snapshot @name (id chosen by the driver); its id. */
static char *take(BlockDriverState *bs, const char *name, uint64_t vm_size)
{
    QEMUSnapshotInfo sn = { .vm_state_size = vm_size, .date_sec = 1700000000,
                            .date_nsec = 123456789,
                            .vm_clock_nsec = 5 * 1000000000ULL + 42,
                            .icount = UINT64_MAX };

    g_strlcpy(sn.name, name, sizeof(sn.name));
    g_assert_cmpint(bdrv_snapshot_create(bs, &sn), ==, 0);
    g_assert_cmpstr(sn.id_str, !=, "");
    return g_strdup(sn.id_str);
}

static int count_snapshots(BlockDriverState *bs)
{
    QEMUSnapshotInfo *list;
    int n = bdrv_snapshot_list(bs, &list);

    g_free(list);
    return n;
}

static int64_t file_length(BlockDriverState *bs)
{
    return bdrv_getlength(bs->file);
}

/* ---- create, list, goto, delete -------------------------------------- */

static void test_create_goto(const void *opaque)
{
    g_autofree char *path = new_image("basic.qcow2", 8 * MiB, opaque);
    BlockDriverState *bs = open_rw(path, true);
    QEMUSnapshotInfo *list;
    g_autofree char *id1 = NULL, *id2 = NULL;

    fill(bs, 0, 128 * KiB, 0xa1);
    fill(bs, 5 * MiB, 4 * KiB, 0xa2);
    id1 = take(bs, "first", 0);
    fill(bs, 0, 64 * KiB, 0xb1);           /* whole clusters */
    fill(bs, 5 * MiB + 512, 512, 0xb2);    /* part of one */
    id2 = take(bs, "second", 0);
    fill(bs, 0, 128 * KiB, 0xc1);
    g_assert_cmpstr(id1, ==, "1");
    g_assert_cmpstr(id2, ==, "2");

    g_assert_cmpint(bdrv_snapshot_list(bs, &list), ==, 2);
    g_assert_cmpstr(list[0].name, ==, "first");
    g_assert_cmpstr(list[1].name, ==, "second");
    g_assert_cmpuint(list[1].date_sec, ==, 1700000000);
    g_assert_cmpuint(list[1].date_nsec, ==, 123456789);
    g_assert_cmpuint(list[1].vm_clock_nsec, ==, 5 * 1000000000ULL + 42);
    g_free(list);

    g_assert_cmpint(bdrv_snapshot_goto(bs, "first"), ==, 0);
    expect(bs, 0, 128 * KiB, 0xa1);
    expect(bs, 5 * MiB, 4 * KiB, 0xa2);
    g_assert_cmpint(bdrv_snapshot_goto(bs, id2), ==, 0);
    expect(bs, 0, 64 * KiB, 0xb1);
    expect(bs, 64 * KiB, 64 * KiB, 0xa1);
    expect(bs, 5 * MiB, 512, 0xa2);
    expect(bs, 5 * MiB + 512, 512, 0xb2);
    expect(bs, 5 * MiB + 1024, 3 * KiB, 0xa2);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "nonesuch"), ==, -ENOENT);

    /* writing after a goto must not change the snapshot */
    fill(bs, 0, 4 * KiB, 0xd1);
    bdrv_unref(bs);
    bs = open_rw(path, true);
    g_assert_cmpint(count_snapshots(bs), ==, 2);
    expect(bs, 0, 4 * KiB, 0xd1);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "second"), ==, 0);
    expect(bs, 0, 64 * KiB, 0xb1);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "first"), ==, 0);
    expect(bs, 0, 128 * KiB, 0xa1);
    bdrv_unref(bs);
    unlink(path);
}

static void test_duplicate_id(void)
{
    g_autofree char *path = new_image("dup.qcow2", MiB, "");
    BlockDriverState *bs = open_rw(path, true);
    QEMUSnapshotInfo sn = { .id_str = "7", .name = "x" };

    g_assert_cmpint(bdrv_snapshot_create(bs, &sn), ==, 0);
    g_assert_cmpint(bdrv_snapshot_create(bs, &sn), ==, -EEXIST);
    sn.id_str[0] = '\0';
    g_assert_cmpint(bdrv_snapshot_create(bs, &sn), ==, 0);
    g_assert_cmpstr(sn.id_str, ==, "8");
    bdrv_unref(bs);
    unlink(path);
}

static void test_delete(const void *opaque)
{
    g_autofree char *path = new_image("delete.qcow2", 16 * MiB, opaque);
    BlockDriverState *bs = open_rw(path, true);
    g_autofree char *id = NULL;
    int64_t len;

    fill(bs, 0, 4 * MiB, 0x11);
    id = take(bs, "gone", 0);
    fill(bs, 0, 4 * MiB, 0x22);            /* copies every cluster */
    len = file_length(bs);
    g_assert_cmpint(bdrv_snapshot_delete(bs, "gone"), ==, 0);
    g_assert_cmpint(bdrv_snapshot_delete(bs, id), ==, -ENOENT);
    g_assert_cmpint(count_snapshots(bs), ==, 0);
    expect(bs, 0, 4 * MiB, 0x22);

    /* the old clusters are free again: new data fits inside the file */
    fill(bs, 8 * MiB, 3 * MiB, 0x33);
    g_assert_cmpint(file_length(bs), <=, len);
    /* and the active clusters are writable in place again */
    fill(bs, 0, 4 * MiB, 0x44);
    g_assert_cmpint(file_length(bs), <=, len);
    bdrv_unref(bs);

    bs = open_rw(path, false);
    g_assert_cmpint(count_snapshots(bs), ==, 0);
    expect(bs, 0, 4 * MiB, 0x44);
    expect(bs, 8 * MiB, 3 * MiB, 0x33);
    bdrv_unref(bs);
    unlink(path);
}

/* Delete a snapshot that the active image still shares everything with. */
static void test_delete_unchanged(void)
{
    g_autofree char *path = new_image("unchanged.qcow2", 4 * MiB, "");
    BlockDriverState *bs = open_rw(path, true);
    int64_t len;

    fill(bs, 0, MiB, 0x55);
    g_free(take(bs, "a", 0));
    g_assert_cmpint(bdrv_snapshot_delete(bs, "a"), ==, 0);
    len = file_length(bs);
    fill(bs, 0, MiB, 0x66);                /* in place: no growth */
    g_assert_cmpint(file_length(bs), ==, len);
    expect(bs, 0, MiB, 0x66);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- copy-on-write after a snapshot ------------------------------------ */

static void test_cow(void)
{
    g_autofree char *path = new_image("cow.qcow2", 4 * MiB,
                                      "cluster_size=4k");
    BlockDriverState *bs = open_rw(path, true);
    g_autofree uint8_t *buf = g_malloc(64 * KiB);

    for (int i = 0; i < 16; i++) {
        fill(bs, i * 4 * KiB, 4 * KiB, i);
    }
    g_free(take(bs, "base", 0));
    /* unaligned, crossing clusters: head and tail must be copied */
    fill(bs, 4 * KiB + 1536, 5 * KiB, 0xee);
    expect(bs, 4 * KiB, 1536, 1);
    expect(bs, 4 * KiB + 1536, 5 * KiB, 0xee);
    expect(bs, 9 * KiB + 1536, 1536, 2);
    expect(bs, 12 * KiB, 4 * KiB, 3);
    /* a second write to the copied cluster goes in place */
    fill(bs, 4 * KiB, 512, 0xef);
    expect(bs, 4 * KiB + 512, 1024, 1);

    g_assert_cmpint(bdrv_snapshot_goto(bs, "base"), ==, 0);
    for (int i = 0; i < 16; i++) {
        expect(bs, i * 4 * KiB, 4 * KiB, i);
    }
    bdrv_unref(bs);
    unlink(path);
}

/* ---- load_tmp ------------------------------------------------------------ */

static void test_load_tmp(void)
{
    g_autofree char *path = new_image("tmp.qcow2", 2 * MiB, "");
    BlockDriverState *bs = open_rw(path, true);

    fill(bs, 0, 256 * KiB, 0x71);
    g_free(take(bs, "then", 0));
    fill(bs, 0, 256 * KiB, 0x72);
    g_assert_cmpint(bdrv_truncate(bs, 8 * MiB), ==, 0);
    g_assert_cmpint(bdrv_snapshot_load_tmp(bs, "then"), ==, -EINVAL);
    bdrv_unref(bs);

    bs = open_rw(path, false);
    expect(bs, 0, 256 * KiB, 0x72);
    g_assert_cmpint(bdrv_snapshot_load_tmp(bs, "nope"), ==, -ENOENT);
    g_assert_cmpint(bdrv_snapshot_load_tmp(bs, "then"), ==, 0);
    expect(bs, 0, 256 * KiB, 0x71);
    g_assert_cmpint(bdrv_getlength(bs), ==, 2 * MiB);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- VM state ------------------------------------------------------------ */

static void test_vmstate(void)
{
    g_autofree char *path = new_image("vm.qcow2", 3 * MiB + 512, "");
    BlockDriverState *bs = open_rw(path, true);
    g_autofree uint8_t *out = g_malloc(100000);
    g_autofree uint8_t *in = g_malloc(100000);
    BlockDriverInfo bdi;

    for (int i = 0; i < 100000; i++) {
        out[i] = i * 13 + (i >> 8);
    }
    fill(bs, 0, 3 * MiB + 512, 0x5a);
    g_assert_cmpint(bdrv_get_info(bs, &bdi), ==, 0);
    g_assert_cmpint(bdi.vm_state_offset, >=, 3 * MiB + 512);
    /* unaligned pieces, out of order */
    g_assert_cmpint(bdrv_save_vmstate(bs, out + 333, 333, 99667), ==, 99667);
    g_assert_cmpint(bdrv_save_vmstate(bs, out, 0, 333), ==, 333);
    memset(in, 0, 100000);
    g_assert_cmpint(bdrv_load_vmstate(bs, in, 0, 100000), ==, 100000);
    g_assert_cmpmem(in, 100000, out, 100000);
    g_assert_cmpint(bdrv_load_vmstate(bs, in, 777, 5), ==, 5);
    g_assert_cmpmem(in, 5, out + 777, 5);
    expect(bs, 0, 3 * MiB + 512, 0x5a);    /* the disk is untouched */

    /* a snapshot keeps the state; the active image lets it go */
    g_free(take(bs, "with-vm", 100000));
    memset(in, 0xff, 100000);
    g_assert_cmpint(bdrv_save_vmstate(bs, in, 0, 4096), ==, 4096);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "with-vm"), ==, 0);
    g_assert_cmpint(bdrv_load_vmstate(bs, in, 0, 100000), ==, 100000);
    g_assert_cmpmem(in, 100000, out, 100000);
    bdrv_unref(bs);

    bs = open_rw(path, true);
    g_assert_cmpint(bdrv_load_vmstate(bs, in, 0, 100000), ==, 100000);
    g_assert_cmpmem(in, 100000, out, 100000);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- many snapshots -------------------------------------------------- */

static void test_many(void)
{
    g_autofree char *path = new_image("many.qcow2", 8 * MiB,
                                      "cluster_size=512");
    BlockDriverState *bs = open_rw(path, true);
    const int n = 200;

    for (int i = 0; i < n; i++) {
        g_autofree char *name = g_strdup_printf("snap-%03d", i);

        fill(bs, (i % 16) * 4096, 4096, i);
        fill(bs, 4 * MiB, 512, i);
        g_free(take(bs, name, 0));
    }
    g_assert_cmpint(count_snapshots(bs), ==, n);
    for (int i = n - 1; i >= 0; i -= 37) {
        g_autofree char *name = g_strdup_printf("snap-%03d", i);

        g_assert_cmpint(bdrv_snapshot_goto(bs, name), ==, 0);
        expect(bs, (i % 16) * 4096, 4096, i);
        expect(bs, 4 * MiB, 512, i);
    }
    for (int i = 0; i < n; i += 2) {
        g_autofree char *id = g_strdup_printf("%d", i + 1);

        g_assert_cmpint(bdrv_snapshot_delete(bs, id), ==, 0);
    }
    bdrv_unref(bs);

    bs = open_rw(path, true);
    g_assert_cmpint(count_snapshots(bs), ==, n / 2);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "snap-151"), ==, 0);
    expect(bs, (151 % 16) * 4096, 4096, 151);
    for (int i = 1; i < n; i += 2) {
        g_autofree char *name = g_strdup_printf("snap-%03d", i);

        g_assert_cmpint(bdrv_snapshot_delete(bs, name), ==, 0);
    }
    g_assert_cmpint(count_snapshots(bs), ==, 0);
    expect(bs, (151 % 16) * 4096, 4096, 151);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- resize and make_empty -------------------------------------------- */

static void test_resize(void)
{
    g_autofree char *v3 = new_image("resize3.qcow2", 2 * MiB, "");
    g_autofree char *v2 = new_image("resize2.qcow2", 2 * MiB,
                                    "compat=0.10");
    BlockDriverState *bs = open_rw(v3, true);

    fill(bs, MiB, 64 * KiB, 0x91);
    g_free(take(bs, "small", 0));
    g_assert_cmpint(bdrv_truncate(bs, 64 * MiB), ==, 0);
    fill(bs, 60 * MiB, 64 * KiB, 0x92);
    g_free(take(bs, "big", 0));
    g_assert_cmpint(bdrv_snapshot_goto(bs, "small"), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 2 * MiB);
    expect(bs, MiB, 64 * KiB, 0x91);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "big"), ==, 0);
    g_assert_cmpint(bdrv_getlength(bs), ==, 64 * MiB);
    expect(bs, 60 * MiB, 64 * KiB, 0x92);
    bdrv_unref(bs);
    bs = open_rw(v3, false);
    g_assert_cmpint(bdrv_getlength(bs), ==, 64 * MiB);
    bdrv_unref(bs);

    bs = open_rw(v2, true);
    g_free(take(bs, "v2", 0));
    g_assert_cmpint(bdrv_truncate(bs, 4 * MiB), ==, -ENOTSUP);
    bdrv_unref(bs);
    unlink(v3);
    unlink(v2);
}

static void test_make_empty(void)
{
    g_autofree char *path = new_image("empty.qcow2", 4 * MiB, "");
    BlockDriverState *bs = open_rw(path, true);

    fill(bs, 0, 2 * MiB, 0x3c);
    g_free(take(bs, "keep", 0));
    g_assert_cmpint(bdrv_make_empty(bs), ==, 0);
    expect(bs, 0, 2 * MiB, 0);
    g_assert_cmpint(bdrv_snapshot_goto(bs, "keep"), ==, 0);
    expect(bs, 0, 2 * MiB, 0x3c);
    bdrv_unref(bs);
    unlink(path);
}

/* ---- damaged tables -------------------------------------------------- */

static void patch(const char *path, off_t off, uint64_t v, int width)
{
    int fd = open(path, O_WRONLY);
    uint8_t be[8];

    for (int i = 0; i < width; i++) {
        be[i] = v >> (8 * (width - 1 - i));
    }
    g_assert_cmpint(pwrite(fd, be, width, off), ==, width);
    close(fd);
}

static uint64_t peek64(const char *path, off_t off)
{
    int fd = open(path, O_RDONLY);
    uint8_t be[8];
    uint64_t v = 0;

    g_assert_cmpint(pread(fd, be, 8, off), ==, 8);
    close(fd);
    for (int i = 0; i < 8; i++) {
        v = v << 8 | be[i];
    }
    return v;
}

static void test_bad_table(void)
{
    /* offset in the entry (-1: in the header), width, value, message */
    static const struct {
        int off;
        int width;
        uint64_t value;
        const char *msg;
    } cases[] = {
        { -60, 4, 5000, "snapshot 1 ('')" },
        { -64, 8, 1ULL << 40, "snapshot table offset" },
        { 0, 8, 65536 + 8, "unaligned or outside" },
        { 0, 8, 1ULL << 40, "unaligned or outside" },
        { 8, 4, 0x7fffffff, "L1 table too large" },
        { 8, 4, 0, "cannot describe a disk" },
        { 36, 4, 5000, "too much extra data" },
        { 36, 4, 0x100000, "too much extra data" },
        { 12, 2, 0xffff, "runs past the end" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = new_image("bad.qcow2", 4 * MiB, "");
        BlockDriverState *bs = open_rw(path, true);
        Error *err = NULL;
        uint64_t table;

        fill(bs, 0, 64 * KiB, 1);
        g_free(take(bs, "victim", 0));
        bdrv_unref(bs);
        table = peek64(path, 64);
        patch(path, cases[i].off < 0 ? -cases[i].off : table + cases[i].off,
              cases[i].value, cases[i].width);
        bs = bdrv_new("");
        g_assert_cmpint(bdrv_open(bs, path, 0, bdrv_find_format("qcow2"),
                                  &err), <, 0);
        if (!strstr(error_get_pretty(err), cases[i].msg)) {
            g_error("case %zu: '%s' lacks '%s'", i, error_get_pretty(err),
                    cases[i].msg);
        }
        error_free(err);
        bdrv_unref(bs);
        unlink(path);
    }
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-q2snap-XXXXXX", NULL);
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);

    g_test_add_data_func("/qcow2-snapshot/goto/v3", "", test_create_goto);
    g_test_add_data_func("/qcow2-snapshot/goto/v2", "compat=0.10",
                         test_create_goto);
    g_test_add_data_func("/qcow2-snapshot/goto/512-rc4",
                         "cluster_size=512,refcount_bits=4",
                         test_create_goto);
    g_test_add_data_func("/qcow2-snapshot/goto/lazy", "lazy_refcounts=on",
                         test_create_goto);
    g_test_add_func("/qcow2-snapshot/duplicate-id", test_duplicate_id);
    g_test_add_data_func("/qcow2-snapshot/delete/64k", "", test_delete);
    g_test_add_data_func("/qcow2-snapshot/delete/4k-rc64",
                         "cluster_size=4k,refcount_bits=64", test_delete);
    g_test_add_func("/qcow2-snapshot/delete/unchanged",
                    test_delete_unchanged);
    g_test_add_func("/qcow2-snapshot/cow", test_cow);
    g_test_add_func("/qcow2-snapshot/load-tmp", test_load_tmp);
    g_test_add_func("/qcow2-snapshot/vmstate", test_vmstate);
    g_test_add_func("/qcow2-snapshot/many", test_many);
    g_test_add_func("/qcow2-snapshot/resize", test_resize);
    g_test_add_func("/qcow2-snapshot/make-empty", test_make_empty);
    g_test_add_func("/qcow2-snapshot/bad-table", test_bad_table);

    ret = g_test_run();
    rmdir(test_dir);
    return ret;
}
