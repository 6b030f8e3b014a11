/*
 * The small spindle-io commands: discard, flush, info, length, truncate,
 * sleep, open, close, help and quit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "block/block_int.h"
#include "io-cmds.h"
#include <getopt.h>

int io_cmd_discard(IOState *s, int argc, char **argv)
{
    bool quiet = false;
    int64_t offset, bytes, start;
    int c, ret;

    io_getopt_reset();
    while ((c = getopt(argc, argv, "q")) != -1) {
        if (c != 'q') {
            return io_usage(argv[0]);
        }
        quiet = true;
    }
    if (!io_check_operands(argc, argv, optind, false) ||
        !io_parse_num(argv[optind], &offset) ||
        !io_parse_length(argv[optind + 1], &bytes)) {
        return -EINVAL;
    }
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    ret = io_request(s->bs, IO_REQ_DISCARD, offset, bytes, NULL, 0);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start;
    if (ret < 0) {
        printf("discard failed: %s\n", strerror(-ret));
    } else if (!quiet) {
        io_print_report("discard", start, offset, bytes, bytes, 1);
    }
    return ret;
}

int io_cmd_flush(IOState *s, int argc, char **argv)
{
    int ret = bdrv_flush(s->bs);

    if (ret < 0) {
        printf("flush failed: %s\n", strerror(-ret));
    }
    return ret;
}

int io_cmd_info(IOState *s, int argc, char **argv)
{
    BlockDriverInfo bdi;
    char s1[64], s2[64];
    int ret;

    printf("format name: %s\n", bdrv_get_format_name(s->bs));
    ret = bdrv_get_info(s->bs, &bdi);
    if (ret < 0) {
        /* qemu-io stops here too, and counts it a failure. */
        return ret;
    }
    cvtstr(bdi.cluster_size, s1, sizeof(s1));
    cvtstr(bdi.vm_state_offset, s2, sizeof(s2));
    printf("cluster size: %s\n", s1);
    printf("vm state offset: %s\n", s2);
    return 0;
}

int io_cmd_length(IOState *s, int argc, char **argv)
{
    int64_t size = bdrv_getlength(s->bs);
    char s1[64];

    if (size < 0) {
        printf("getlength: %s\n", strerror(-size));
        return size;
    }
    cvtstr(size, s1, sizeof(s1));
    printf("%s\n", s1);
    return 0;
}

/* qemu-io's -m modes; Spindle truncates without preallocating, so only
 * "off" (the default) can be honoured. */
static const char *const prealloc_modes[] = {
    "off", "metadata", "falloc", "full", NULL,
};

int io_cmd_truncate(IOState *s, int argc, char **argv)
{
    int64_t size;
    int c, ret;

    io_getopt_reset();
    while ((c = getopt(argc, argv, "m:")) != -1) {
        if (c != 'm') {
            return io_usage(argv[0]);
        }
        if (!g_strv_contains(prealloc_modes, optarg)) {
            io_error("Invalid preallocation mode '%s'", optarg);
            return -EINVAL;
        }
        if (strcmp(optarg, "off")) {
            io_error("Unsupported preallocation mode '%s'", optarg);
            return -ENOTSUP;
        }
    }
    /* Operands after the size are ignored, as qemu-io does. */
    if (optind >= argc) {
        return io_usage(argv[0]);
    }
    if (!io_parse_num(argv[optind], &size)) {
        return -EINVAL;
    }
    ret = bdrv_truncate(s->bs, size);
    if (ret < 0) {
        io_error("Could not truncate to %" PRId64 " bytes: %s", size,
                 strerror(-ret));
    }
    return ret;
}

static void sleep_done(void *opaque)
{
    *(bool *)opaque = true;
}

int io_cmd_sleep(IOState *s, int argc, char **argv)
{
    AioContext *ctx = qemu_get_aio_context();
    bool done = false;
    QEMUTimer *timer;
    char *end;
    long ms;

    /* A plain number (any base, no size suffix), as qemu-io reads it. */
    ms = strtol(argv[1], &end, 0);
    if (ms < 0 || *end || end == argv[1]) {
        printf("%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    /* Run the event loop meanwhile, so background requests progress. */
    timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_MS, sleep_done,
                          &done);
    timer_mod(timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + ms);
    while (!done) {
        aio_poll(ctx, true);
    }
    timer_free(timer);
    return 0;
}

int io_cmd_open(IOState *s, int argc, char **argv)
{
    ToolOpenSpec saved = s->spec;
    int flags = BDRV_O_RDWR;
    int c;
    bool ok;

    io_getopt_reset();
    while ((c = getopt(argc, argv, "rnUf:t:i:")) != -1) {
        switch (c) {
        case 'r': flags &= ~BDRV_O_RDWR; break;
        case 'n': s->spec.cache = "none"; break;
        case 'U': flags |= BDRV_O_FORCE_SHARE; break;
        case 'f': s->spec.format = optarg; break;
        case 't': s->spec.cache = optarg; break;
        case 'i': s->spec.aio = optarg; break;
        default:
            s->spec = saved;
            return io_usage(argv[0]);
        }
    }
    if (argc - optind != 1) {
        s->spec = saved;
        return io_usage(argv[0]);
    }
    if (s->bs) {
        s->spec = saved;
        io_error("file open already, try 'help close'");
        return -EBUSY;
    }
    s->spec.flags &= ~BDRV_O_RDWR;
    ok = io_open_image(s, argv[optind], flags);
    s->spec = saved;
    return ok ? 0 : -EIO;
}

int io_cmd_close(IOState *s, int argc, char **argv)
{
    io_wait_aio(s);
    bdrv_unref(s->bs);
    s->bs = NULL;
    return 0;
}

int io_cmd_help(IOState *s, int argc, char **argv)
{
    const IOCmd *c;

    if (argc == 1) {
        for (c = io_cmds; c->name; c++) {
            io_print_usage(c->name, c);
        }
        return 0;
    }
    c = io_find_cmd(argv[1]);
    if (!c) {
        printf("command %s not found\n", argv[1]);
        return -EINVAL;
    }
    io_print_usage(argv[1], c);
    return 0;
}

int io_cmd_quit(IOState *s, int argc, char **argv)
{
    s->quit = true;
    return 0;
}
