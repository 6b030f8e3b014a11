/*
 * spindle-io's command table and dispatcher: split a line into words,
 * find the command, check its argument count and that an image is open,
 * then call it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io-cmds.h"

const IOCmd io_cmds[] = {
    { "read", "r", io_cmd_read, 2, -1, true,
      "[-qv] [-P pattern] off len", "reads a number of bytes at an offset" },
    { "readv", NULL, io_cmd_readv, 2, -1, true,
      "[-qv] [-P pattern] off len [len..]",
      "reads into several buffers at an offset" },
    { "write", "w", io_cmd_write, 2, -1, true,
      "[-fquz] [-P pattern] off len", "writes a number of bytes at an offset" },
    { "writev", NULL, io_cmd_writev, 2, -1, true,
      "[-fq] [-P pattern] off len [len..]",
      "writes from several buffers at an offset" },
    { "aio_read", NULL, io_cmd_aio_read, 2, -1, true,
      "[-qv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes" },
    { "aio_write", NULL, io_cmd_aio_write, 2, -1, true,
      "[-fquz] [-P pattern] off len [len..]",
      "asynchronously writes a number of bytes" },
    { "aio_flush", NULL, io_cmd_aio_flush, 0, 0, true, "",
      "completes all outstanding aio requests, then flushes" },
    { "discard", "d", io_cmd_discard, 2, -1, true, "[-q] off len",
      "discards a number of bytes at an offset" },
    { "flush", "f", io_cmd_flush, 0, 0, true, "",
      "flush all in-core file state to disk" },
    { "map", NULL, io_cmd_map, 0, 0, true, "",
      "prints the allocation state of the whole image" },
    { "alloc", NULL, io_cmd_alloc, 1, 2, true, "offset [count]",
      "checks if offset is allocated in the file" },
    { "info", "i", io_cmd_info, 0, 0, true, "",
      "prints information about the current file" },
    { "length", "l", io_cmd_length, 0, 0, true, "",
      "gets the length of the current file" },
    { "truncate", "t", io_cmd_truncate, 1, 1, true, "size",
      "truncates the current file at the given size" },
    { "sleep", NULL, io_cmd_sleep, 1, 1, false, "milliseconds",
      "waits for the given value in milliseconds" },
    { "open", "o", io_cmd_open, 1, -1, false,
      "[-rnU] [-f fmt] [-t cache] [-i aio] file",
      "open the file specified by path" },
    { "close", "c", io_cmd_close, 0, 0, true, "", "close the current open file" },
    { "help", "?", io_cmd_help, 0, 1, false, "[command]",
      "help for one or all commands" },
    { "quit", "q", io_cmd_quit, 0, 0, false, "", "exit the program" },
    { NULL },
};

static const IOCmd *find_cmd(const char *name)
{
    for (const IOCmd *c = io_cmds; c->name; c++) {
        if (!strcmp(name, c->name) ||
            (c->altname && !strcmp(name, c->altname))) {
            return c;
        }
    }
    return NULL;
}

static int dispatch(IOState *s, const IOCmd *c, int argc, char **argv)
{
    if (argc - 1 < c->argmin || (c->argmax >= 0 && argc - 1 > c->argmax)) {
        printf("bad argument count %d to %s, expected %s%d arguments\n",
               argc - 1, argv[0], c->argmax < 0 ? "at least " : "",
               c->argmin);
        return -EINVAL;
    }
    if (c->needs_image && !s->bs) {
        printf("no file open, try 'help open'\n");
        return -EINVAL;
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
    c = find_cmd(argv[0]);
    if (!c) {
        fprintf(stderr, "command \"%s\" not found\n", argv[0]);
        return -EINVAL;
    }
    return dispatch(s, c, argc, argv);
}
