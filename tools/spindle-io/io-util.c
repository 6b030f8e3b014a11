/*
 * Helpers the spindle-io commands share: argument parsing, the report
 * lines, buffer dumps, pattern checks, and running one request to
 * completion.  The output formats are qemu-io's, byte for byte apart
 * from the measured times.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "io-cmds.h"
#include <getopt.h>

bool io_parse_num(const char *arg, int64_t *value)
{
    int64_t v = cvtnum(arg);

    if (v == -EINVAL) {
        printf("Parsing error: non-numeric argument, or extraneous/"
               "unrecognized suffix -- %s\n", arg);
        return false;
    }
    if (v < 0) {
        printf("Parsing error: argument too large -- %s\n", arg);
        return false;
    }
    *value = v;
    return true;
}

bool io_parse_length(const char *arg, int64_t *value)
{
    if (!io_parse_num(arg, value)) {
        return false;
    }
    if (*value > BDRV_REQUEST_MAX_BYTES) {
        printf("length cannot exceed %" PRIu64 ", given %s\n",
               (uint64_t)BDRV_REQUEST_MAX_BYTES, arg);
        return false;
    }
    return true;
}

bool io_parse_pattern(const char *arg, int *pattern)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 0);
    if (errno || *end || end == arg || v < 0 || v > 255) {
        printf("%s is not a valid pattern byte\n", arg);
        return false;
    }
    *pattern = (int)v;
    return true;
}

void io_error(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);             /* keep stdout and stderr in order */
    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
}

void io_print_usage(const char *name, const IOCmd *c)
{
    printf("%s%s%s -- %s\n", name, *c->args ? " " : "", c->args, c->oneline);
}

int io_usage(const char *name)
{
    const IOCmd *c = io_find_cmd(name);

    if (c) {
        io_print_usage(c->name, c);
    }
    return -EINVAL;
}

bool io_check_operands(int argc, char **argv, int first, bool many)
{
    if (argc - first < 2 || (!many && argc - first != 2)) {
        io_usage(argv[0]);
        return false;
    }
    return true;
}

/* "00.12 sec" under a second, else "H:MM:SS.ss", as qemu-io prints times. */
static void timestr(int64_t ns, char *buf, size_t size)
{
    uint64_t sec = ns / 1000000000;
    double frac = (ns % 1000000000) / 1e9;

    if (sec == 0) {
        snprintf(buf, size, "%05.2f sec", frac);
    } else {
        snprintf(buf, size, "%u:%02u:%05.2f", (unsigned)(sec / 3600),
                 (unsigned)(sec / 60 % 60), (unsigned)(sec % 60) + frac);
    }
}

void io_print_report(const char *op, int64_t elapsed_ns, int64_t offset,
                     int64_t count, int64_t total, int ops)
{
    double secs = MAX(elapsed_ns, 1) / 1e9;
    char s1[64], s2[64], ts[64];

    timestr(elapsed_ns, ts, sizeof(ts));
    cvtstr((double)total, s1, sizeof(s1));
    cvtstr(total / secs, s2, sizeof(s2));
    printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n",
           op, total, count, offset);
    printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n",
           s1, ops, ts, s2, ops / secs);
}

void io_dump_buffer(const void *buf, int64_t offset, int64_t len)
{
    const uint8_t *p = buf;

    for (int64_t i = 0; i < len; i += 16) {
        int64_t n = MIN(16, len - i);

        printf("%08" PRIx64 ":  ", (uint64_t)(offset + i));
        for (int64_t j = 0; j < n; j++) {
            printf("%02x ", p[i + j]);
        }
        printf(" ");
        for (int64_t j = 0; j < n; j++) {
            putchar(g_ascii_isalnum(p[i + j]) ? p[i + j] : '.');
        }
        printf("\n");
    }
}

bool io_verify_pattern(const uint8_t *buf, int pattern, int64_t offset,
                       int64_t len)
{
    for (int64_t i = 0; i < len; i++) {
        if (buf[i] != pattern) {
            /* qemu-io names the whole request, not the first bad byte. */
            printf("Pattern verification failed at offset %" PRId64
                   ", %" PRId64 " bytes\n", offset, len);
            return false;
        }
    }
    return true;
}

void io_getopt_reset(void)
{
    optind = 0;     /* glibc: 0 also resets its internal state */
    opterr = 1;     /* "read: invalid option -- 'x'" on stderr, as qemu-io */
}

typedef struct IOReq {
    BlockDriverState *bs;
    IOReqKind kind;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    BdrvRequestFlags flags;
    int ret;
    bool done;
} IOReq;

static void coroutine_fn io_request_entry(void *opaque)
{
    IOReq *r = opaque;

    switch (r->kind) {
    case IO_REQ_READ:
        r->ret = bdrv_co_preadv(r->bs, r->offset, r->bytes, r->qiov,
                                r->flags);
        break;
    case IO_REQ_WRITE:
        r->ret = bdrv_co_pwritev(r->bs, r->offset, r->bytes, r->qiov,
                                 r->flags);
        break;
    case IO_REQ_ZERO:
        r->ret = bdrv_co_pwrite_zeroes(r->bs, r->offset, r->bytes,
                                       r->flags);
        break;
    case IO_REQ_DISCARD:
        r->ret = bdrv_co_pdiscard(r->bs, r->offset, r->bytes);
        break;
    }
    r->done = true;
}

int io_request(BlockDriverState *bs, IOReqKind kind, int64_t offset,
               int64_t bytes, QEMUIOVector *qiov, BdrvRequestFlags flags)
{
    IOReq r = { .bs = bs, .kind = kind, .offset = offset, .bytes = bytes,
                .qiov = qiov, .flags = flags };

    tool_run_co(io_request_entry, &r, &r.done);
    return r.ret;
}
