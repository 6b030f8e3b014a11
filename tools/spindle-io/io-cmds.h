/*
 * spindle-io's commands: the state they share and the command table.
 *
 * Each command is one function taking the tool state and its argv (argv[0]
 * is the command name), returning 0 or -errno.  Commands print their own
 * results and errors on stdout, as qemu-io does, so that a script reading
 * one stream sees both; the checks qemu-io makes around a command (no
 * image, argument count, read-only, getopt) and its error_report()
 * messages (io_error) go to stderr.  A failed command makes the tool
 * exit 1 at the end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SPINDLE_IO_CMDS_H
#define SPINDLE_IO_CMDS_H

#include "qemu/osdep.h"
#include "block/block.h"
#include "tool-common.h"

typedef struct IOState {
    BlockDriverState *bs;     /* the open image, or NULL */
    ToolOpenSpec spec;        /* how the command line opens images */
    int aio_in_flight;        /* aio_read/aio_write not yet completed */
    bool quit;
} IOState;

typedef int IOCmdFunc(IOState *s, int argc, char **argv);

typedef struct IOCmd {
    const char *name;
    const char *altname;      /* short alias, or NULL */
    IOCmdFunc *fn;
    int argmin;               /* arguments after the name, options included */
    int argmax;               /* -1: no limit */
    bool needs_image;
    bool writes;              /* refused on a read-only image */
    const char *args;         /* "" when it takes none */
    const char *oneline;
} IOCmd;

/* Run one command line; 0 or -errno (the error was printed). */
int io_run_command(IOState *s, const char *line);

/* The command table, terminated by an entry with name NULL. */
extern const IOCmd io_cmds[];
/* The command called @name or aliased so, or NULL. */
const IOCmd *io_find_cmd(const char *name);

/* Open @name into @s; false (message printed) on failure. */
bool io_open_image(IOState *s, const char *name, int extra_flags);

/* Wait until every aio_read/aio_write has completed. */
void io_wait_aio(IOState *s);

/* ---- helpers shared by the command files (io-util.c) ---- */

/* "spindle-io: " and the message on stderr, as qemu-io's error_report. */
void io_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "@name usage -- one line" for command @c (help prints it under the
 * name it was asked for). */
void io_print_usage(const char *name, const IOCmd *c);
/* Print the usage line of command @name ("read [-qv] ... -- reads ...")
 * and return -EINVAL: qemu-io's answer to bad options or operands. */
int io_usage(const char *name);
/* Check that @argv has two operands from @first on (or more when @many);
 * prints the usage line otherwise. */
bool io_check_operands(int argc, char **argv, int first, bool many);

/* Parse a number argument; prints qemu-io's parsing error on failure. */
bool io_parse_num(const char *arg, int64_t *value);
/* Parse the length of one plain request (read, write, discard), at most
 * BDRV_REQUEST_MAX_BYTES; prints qemu-io's message otherwise. */
bool io_parse_length(const char *arg, int64_t *value);
/* Parse a -P pattern byte (0..255, any base). */
bool io_parse_pattern(const char *arg, int *pattern);
/* The two report lines: "read N/N bytes at offset O" and the timing. */
void io_print_report(const char *op, int64_t elapsed_ns, int64_t offset,
                     int64_t count, int64_t total, int ops);
/* Hex and ASCII dump of @len bytes of @buf, addressed from @offset. */
void io_dump_buffer(const void *buf, int64_t offset, int64_t len);
/* Compare @buf with @pattern; print qemu-io's message on mismatch. */
bool io_verify_pattern(const uint8_t *buf, int pattern, int64_t offset,
                       int64_t len);
#define IO_WRITE_DEFAULT_PATTERN 0xcd

/* Options of read/write and their vectored and aio forms. */
typedef struct RWOpts {
    int pattern;
    bool has_pattern;
    bool quiet;
    bool verbose;
    bool zero;
    bool unmap;
    bool fua;
} RWOpts;

/* Parse the options of @argv with getopt string @optstr into @o; the
 * index of the first argument after them goes to *@first.  (io-cmd-rw.c) */
bool io_parse_rw_opts(int argc, char **argv, const char *optstr,
                      RWOpts *o, int *first);
/* Parse "offset len" (or "offset len len..." when @many) into @offset and
 * the int64_t array @lens, checking the request size limit.  (io-cmd-rw.c) */
bool io_parse_range(int argc, char **argv, int first, bool many,
                    int64_t *offset, GArray *lens);
/* Allocate one buffer for all @lens, filled with @fill, and a qiov over
 * it with one element per length; *@total gets the sum.  A negative
 * @fill (zero writes) allocates nothing: NULL and an empty qiov.
 * (io-cmd-rw.c) */
uint8_t *io_build_qiov(BlockDriverState *bs, QEMUIOVector *qiov,
                       GArray *lens, int fill, int64_t *total);
/* Reset getopt for a command's argv. */
void io_getopt_reset(void);

/* ---- commands, one file per group ---- */

/* io-cmd-rw.c */
IOCmdFunc io_cmd_read, io_cmd_write, io_cmd_readv, io_cmd_writev;
/* io-cmd-aio.c */
IOCmdFunc io_cmd_aio_read, io_cmd_aio_write, io_cmd_aio_flush;
/* io-cmd-map.c */
IOCmdFunc io_cmd_map, io_cmd_alloc;
/* io-cmd-misc.c */
IOCmdFunc io_cmd_discard, io_cmd_flush, io_cmd_info, io_cmd_length,
          io_cmd_truncate, io_cmd_sleep, io_cmd_open, io_cmd_close,
          io_cmd_help, io_cmd_quit;

/* ---- the request layer the commands share (io-request.c) ---- */

typedef enum {
    IO_REQ_READ,
    IO_REQ_WRITE,
    IO_REQ_ZERO,
    IO_REQ_DISCARD,
} IOReqKind;

/*
 * Run one byte-granular request to completion in a coroutine.  @qiov is
 * NULL for zero writes and discards.  Returns 0 or -errno.
 */
int io_request(BlockDriverState *bs, IOReqKind kind, int64_t offset,
               int64_t bytes, QEMUIOVector *qiov, BdrvRequestFlags flags);

#endif /* SPINDLE_IO_CMDS_H */
