/*
 * read, write, readv and writev: synchronous byte-granular requests with
 * pattern fill and verification, as qemu-io's commands of those names.
 *
 * Requests of any alignment are accepted; the block layer aligns them
 * (read-modify-write for unaligned writes).  A pattern mismatch prints
 * qemu-io's message, still prints the report, and fails the command.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "block/block_int.h"
#include "io-cmds.h"
#include <getopt.h>

bool io_parse_rw_opts(int argc, char **argv, const char *optstr,
                      RWOpts *o, int *first)
{
    int c;

    io_getopt_reset();
    while ((c = getopt(argc, argv, optstr)) != -1) {
        switch (c) {
        case 'P':
            if (!io_parse_pattern(optarg, &o->pattern)) {
                return false;
            }
            o->has_pattern = true;
            break;
        case 'q': o->quiet = true; break;
        case 'v': o->verbose = true; break;
        case 'z': o->zero = true; break;
        case 'u': o->unmap = true; break;
        case 'f': o->fua = true; break;
        default:        /* getopt has said which option */
            io_usage(argv[0]);
            return false;
        }
    }
    *first = optind;
    return true;
}

bool io_parse_range(int argc, char **argv, int first, bool many,
                    int64_t *offset, GArray *lens)
{
    int64_t v, total = 0;

    if (!io_check_operands(argc, argv, first, many) ||
        !io_parse_num(argv[first], offset)) {
        return false;
    }
    if (!many) {
        if (!io_parse_length(argv[first + 1], &v)) {
            return false;
        }
        g_array_append_val(lens, v);
        return true;
    }
    for (int i = first + 1; i < argc; i++) {
        if (!io_parse_num(argv[i], &v)) {
            return false;
        }
        if (v > BDRV_REQUEST_MAX_BYTES) {
            printf("Argument '%s' exceeds maximum size %" PRIu64 "\n",
                   argv[i], (uint64_t)BDRV_REQUEST_MAX_BYTES);
            return false;
        }
        if (total > BDRV_REQUEST_MAX_BYTES - v) {
            printf("The total number of bytes exceed the maximum size %"
                   PRIu64 "\n", (uint64_t)BDRV_REQUEST_MAX_BYTES);
            return false;
        }
        total += v;
        g_array_append_val(lens, v);
    }
    return true;
}

uint8_t *io_build_qiov(BlockDriverState *bs, QEMUIOVector *qiov,
                           GArray *lens, int fill, int64_t *total)
{
    uint8_t *buf, *p;

    *total = 0;
    for (guint i = 0; i < lens->len; i++) {
        *total += g_array_index(lens, int64_t, i);
    }
    if (fill < 0) {             /* a zero write: no data to carry */
        qemu_iovec_init(qiov, 0);
        return NULL;
    }
    buf = qemu_blockalign(bs, *total);
    memset(buf, fill, *total);
    qemu_iovec_init(qiov, lens->len);
    p = buf;
    for (guint i = 0; i < lens->len; i++) {
        int64_t len = g_array_index(lens, int64_t, i);
        qemu_iovec_add(qiov, p, len);
        p += len;
    }
    return buf;
}

static int do_read(IOState *s, int argc, char **argv, bool vectored)
{
    RWOpts o = { 0 };
    g_autoptr(GArray) lens = g_array_new(false, false, sizeof(int64_t));
    QEMUIOVector qiov;
    int64_t offset, total, start;
    uint8_t *buf;
    int first, ret;

    if (!io_parse_rw_opts(argc, argv, "P:qv", &o, &first) ||
        !io_parse_range(argc, argv, first, vectored, &offset, lens)) {
        return -EINVAL;
    }
    buf = io_build_qiov(s->bs, &qiov, lens, 0xab, &total);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    ret = io_request(s->bs, IO_REQ_READ, offset, total, &qiov, 0);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start;
    if (ret < 0) {
        printf("%s failed: %s\n", argv[0], strerror(-ret));
    } else {
        if (o.has_pattern &&
            !io_verify_pattern(buf, o.pattern, offset, total)) {
            ret = -EINVAL;
        }
        if (o.verbose) {
            io_dump_buffer(buf, offset, total);
        }
        if (!o.quiet) {
            io_print_report("read", start, offset, total, total, 1);
        }
    }
    qemu_iovec_destroy(&qiov);
    qemu_vfree(buf);
    return ret;
}

static int do_write(IOState *s, int argc, char **argv, bool vectored)
{
    RWOpts o = { .pattern = IO_WRITE_DEFAULT_PATTERN };
    g_autoptr(GArray) lens = g_array_new(false, false, sizeof(int64_t));
    QEMUIOVector qiov;
    BdrvRequestFlags flags = 0;
    int64_t offset, total, start;
    uint8_t *buf;
    int first, ret;

    if (!io_parse_rw_opts(argc, argv, vectored ? "P:qf" : "P:qzuf", &o,
                          &first) ||
        !io_check_operands(argc, argv, first, vectored)) {
        return -EINVAL;
    }
    if (o.unmap && !o.zero) {
        printf("-u requires -z to be specified\n");
        return -EINVAL;
    }
    if (o.zero && o.has_pattern) {
        printf("Only one of -z, -P, and -s can be specified at the same "
               "time\n");
        return -EINVAL;
    }
    if (!io_parse_range(argc, argv, first, vectored, &offset, lens)) {
        return -EINVAL;
    }
    flags = (o.fua ? BDRV_REQ_FUA : 0) | (o.unmap ? BDRV_REQ_MAY_UNMAP : 0);
    buf = io_build_qiov(s->bs, &qiov, lens, o.zero ? -1 : o.pattern, &total);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    ret = io_request(s->bs, o.zero ? IO_REQ_ZERO : IO_REQ_WRITE, offset,
                     total, o.zero ? NULL : &qiov, flags);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start;
    if (ret < 0) {
        printf("%s failed: %s\n", argv[0], strerror(-ret));
    } else if (!o.quiet) {
        io_print_report("wrote", start, offset, total, total, 1);
    }
    qemu_iovec_destroy(&qiov);
    qemu_vfree(buf);
    return ret;
}

int io_cmd_read(IOState *s, int argc, char **argv)
{
    return do_read(s, argc, argv, false);
}

int io_cmd_readv(IOState *s, int argc, char **argv)
{
    return do_read(s, argc, argv, true);
}

int io_cmd_write(IOState *s, int argc, char **argv)
{
    return do_write(s, argc, argv, false);
}

int io_cmd_writev(IOState *s, int argc, char **argv)
{
    return do_write(s, argc, argv, true);
}
