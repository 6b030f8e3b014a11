/*
 * spindle-io: run I/O commands against one image, from the command line
 * (-c, in order) or from an interactive prompt on stdin.
 *
 * Follows qemu-io 7.2: the same options, commands and output lines, and
 * the same exit status: 1 if opening failed or any command failed
 * (qemu-io keeps going after a failed command and remembers it), else 0.
 * It deliberately has no readline: the prompt reads plain lines.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io-cmds.h"
#include <getopt.h>

#define PROMPT "spindle-io> "

static void usage(FILE *out)
{
    fprintf(out,
"Usage: spindle-io [OPTIONS]... [-c STRING]... [file]\n"
"Run I/O commands against an image, from -c or from a prompt on stdin.\n"
"\n"
"  -c, --cmd STRING     run command STRING (repeatable, in order)\n"
"  -f, --format FMT     image format (default: probed)\n"
"  -r, --read-only      open read-only\n"
"  -n, --nocache        cache=none (O_DIRECT)\n"
"  -t, --cache MODE     writeback|none|directsync|writethrough|unsafe\n"
"  -i, --aio MODE       threads|native|io_uring\n"
"  -U, --force-share    open read-only ignoring other users' locks\n"
"      --image-opts     file is driver options: driver=raw,file.filename=x\n"
"  -h, --help           show this help\n"
"  -V, --version        print the version\n"
"\n"
"Type 'help' at the prompt for the commands.\n");
}

bool io_open_image(IOState *s, const char *name, int extra_flags)
{
    ToolOpenSpec spec = s->spec;
    Error *err = NULL;

    spec.flags |= extra_flags;
    s->bs = tool_open_image(name, &spec, &err);
    if (!s->bs) {
        fprintf(stderr, "spindle-io: can't open device %s: %s\n", name,
                error_get_pretty(err));
        error_free(err);
        return false;
    }
    return true;
}

static int prompt_loop(IOState *s)
{
    char line[4096];
    int last_error = 0;

    while (!s->quit) {
        printf("%s", PROMPT);
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin)) {
            break;
        }
        if (io_run_command(s, line) < 0) {
            last_error = -1;
        }
        fflush(stdout);
    }
    return last_error;
}

static int command_loop(IOState *s, GPtrArray *cmds)
{
    int last_error = 0;

    if (cmds->len == 0) {
        return prompt_loop(s);
    }
    for (guint i = 0; i < cmds->len && !s->quit; i++) {
        if (io_run_command(s, g_ptr_array_index(cmds, i)) < 0) {
            last_error = -1;
        }
        fflush(stdout);
    }
    return last_error;
}

enum { OPT_IMAGE_OPTS = 256 };

static const struct option long_opts[] = {
    { "cmd", required_argument, NULL, 'c' },
    { "format", required_argument, NULL, 'f' },
    { "read-only", no_argument, NULL, 'r' },
    { "nocache", no_argument, NULL, 'n' },
    { "cache", required_argument, NULL, 't' },
    { "aio", required_argument, NULL, 'i' },
    { "force-share", no_argument, NULL, 'U' },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL },
};

/* Parse the command line into @s and @cmds; exits on bad usage. */
static void parse_args(int argc, char **argv, IOState *s, GPtrArray *cmds)
{
    int c;

    s->spec.flags = BDRV_O_RDWR;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:f:rnt:i:UhV", long_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'c': g_ptr_array_add(cmds, optarg); break;
        case 'f': s->spec.format = optarg; break;
        case 'r': s->spec.flags &= ~BDRV_O_RDWR; break;
        case 'n': s->spec.cache = "none"; break;
        case 't': s->spec.cache = optarg; break;
        case 'i': s->spec.aio = optarg; break;
        case 'U': s->spec.flags |= BDRV_O_FORCE_SHARE; break;
        case OPT_IMAGE_OPTS: s->spec.image_opts = true; break;
        case 'h': usage(stdout); exit(EXIT_SUCCESS);
        case 'V': printf("spindle-io version 0.1.0\n"); exit(EXIT_SUCCESS);
        default:
            fprintf(stderr, "spindle-io: invalid option -- '%s'; try "
                    "'spindle-io --help'\n", argv[optind - 1]);
            exit(EXIT_FAILURE);
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "spindle-io: too many arguments; try "
                "'spindle-io --help'\n");
        exit(EXIT_FAILURE);
    }
    if (s->spec.format && s->spec.image_opts) {
        fprintf(stderr, "spindle-io: --image-opts and --format are "
                "mutually exclusive\n");
        exit(EXIT_FAILURE);
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) cmds = g_ptr_array_new();
    IOState s = { 0 };
    int ret;

    tool_init("spindle-io");
    if (!tool_take_objects(&argc, argv)) {
        return EXIT_FAILURE;
    }
    parse_args(argc, argv, &s, cmds);
    if (optind < argc && !io_open_image(&s, argv[optind], 0)) {
        return EXIT_FAILURE;
    }
    ret = command_loop(&s, cmds);
    io_wait_aio(&s);
    if (s.bs) {
        bdrv_unref(s.bs);
    }
    fflush(stdout);
    return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
