/*
 * spindle-io's command table and dispatcher: split a line into words,
 * find the command, check that an image is open, the argument count and
 * (for writing commands) that the image is writable, then call it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io-cmds.h"

/* name, alias, function, operands min/max, needs an image, writes,
 * usage, one line; the counts and aliases are qemu-io's. */
const IOCmd io_cmds[] = {
    { "read", "r", io_cmd_read, 2, -1, true, false,
      "[-qv] [-P pattern] off len", "reads a number of bytes at an offset" },
    { "readv", NULL, io_cmd_readv, 2, -1, true, false,
      "[-qv] [-P pattern] off len [len..]",
      "reads into several buffers at an offset" },
    { "write", "w", io_cmd_write, 2, -1, true, true,
      "[-fquz] [-P pattern] off len", "writes a number of bytes at an offset" },
    { "writev", NULL, io_cmd_writev, 2, -1, true, true,
      "[-fq] [-P pattern] off len [len..]",
      "writes from several buffers at an offset" },
    { "aio_read", NULL, io_cmd_aio_read, 2, -1, true, false,
      "[-qv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes" },
    { "aio_write", NULL, io_cmd_aio_write, 2, -1, true, true,
      "[-fquz] [-P pattern] off len [len..]",
      "asynchronously writes a number of bytes" },
    { "aio_flush", NULL, io_cmd_aio_flush, 0, 0, true, false, "",
      "completes all outstanding aio requests, then flushes" },
    { "discard", "d", io_cmd_discard, 2, -1, true, true, "[-q] off len",
      "discards a number of bytes at an offset" },
    { "flush", "f", io_cmd_flush, 0, 0, true, false, "",
      "flush all in-core file state to disk" },
    { "map", NULL, io_cmd_map, 0, 0, true, false, "",
      "prints the allocation state of the whole image" },
    { "alloc", NULL, io_cmd_alloc, 1, 2, true, false, "offset [count]",
      "checks if offset is allocated in the file" },
    { "info", "i", io_cmd_info, 0, 0, true, false, "",
      "prints information about the current file" },
    { "length", "l", io_cmd_length, 0, 0, true, false, "",
      "gets the length of the current file" },
    { "truncate", "t", io_cmd_truncate, 1, 3, true, true,
      "[-m off] size", "truncates the current file at the given size" },
    { "sleep", NULL, io_cmd_sleep, 1, 1, false, false, "milliseconds",
      "waits for the given value in milliseconds" },
    { "open", "o", io_cmd_open, 1, -1, false, false,
      "[-rnU] [-f fmt] [-t cache] [-i aio] file",
      "open the file specified by path" },
    { "close", "c", io_cmd_close, 0, 0, true, false, "",
      "close the current open file" },
    { "help", "?", io_cmd_help, 0, 1, false, false, "[command]",
      "help for one or all commands" },
    { "quit", "q", io_cmd_quit, 0, -1, false, false, "", "exit the program" },
    { NULL },
};

const IOCmd *io_find_cmd(const char *name)
{
    for (const IOCmd *c = io_cmds; c->name; c++) {
        if (!strcmp(name, c->name) ||
            (c->altname && !strcmp(name, c->altname))) {
            return c;
        }
    }
    return NULL;
}

/* The checks qemu-io makes before any command runs, with its messages
 * on stderr: an open image, the operand count, write permission. */
static int dispatch(IOState *s, const IOCmd *c, int argc, char **argv)
{
    int n = argc - 1;

    if (c->needs_image && !s->bs) {
        fprintf(stderr, "no file open, try 'help open'\n");
        return -EINVAL;
    }
    if (n < c->argmin || (c->argmax >= 0 && n > c->argmax)) {
        if (c->argmax < 0) {
            fprintf(stderr, "bad argument count %d to %s, expected at least "
                    "%d arguments\n", n, argv[0], c->argmin);
        } else if (c->argmin == c->argmax) {
            fprintf(stderr, "bad argument count %d to %s, expected %d "
                    "arguments\n", n, argv[0], c->argmin);
        } else {
            fprintf(stderr, "bad argument count %d to %s, expected between "
                    "%d and %d arguments\n", n, argv[0], c->argmin,
                    c->argmax);
        }
        return -EINVAL;
    }
    if (c->writes && bdrv_is_read_only(s->bs)) {
        io_error("Block node is read-only");
        return -EACCES;
    }
    return c->fn(s, argc, argv);
}

int io_run_command(IOState *s, const char *line)
{
    g_auto(GStrv) argv = NULL;
    const IOCmd *c;
    int argc;

    argv = g_strsplit_set(line, " \t\r\n", -1);
    /* Drop the empty words runs of blanks leave. */
    argc = 0;
    for (int i = 0; argv[i]; i++) {
        if (*argv[i]) {
            argv[argc++] = argv[i];
        } else {
            g_free(argv[i]);
        }
    }
    argv[argc] = NULL;
    if (argc == 0) {
        return 0;
    }
    c = io_find_cmd(argv[0]);
    if (!c) {
        fprintf(stderr, "command \"%s\" not found\n", argv[0]);
        return -EINVAL;
    }
    return dispatch(s, c, argc, argv);
}
