/*
 * spindle-img's subcommands.  Each is one function taking the argv after
 * "spindle-img" (argv[0] is the subcommand name) and returning the exit
 * status.  Errors are one line on stderr: "spindle-img: <message>".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef SPINDLE_IMG_H
#define SPINDLE_IMG_H

#include "qemu/osdep.h"
#include "block/block.h"
#include "tool-common.h"
#include "progress.h"

typedef int ImgCmdFunc(int argc, char **argv);

ImgCmdFunc img_create, img_info, img_map, img_compare, img_bench, img_convert;
ImgCmdFunc img_check, img_commit, img_rebase, img_resize, img_snapshot;
ImgCmdFunc img_measure, img_amend, img_dd;

/* Print "spindle-img: <message>" on stderr. */
void img_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Open an image or print the error; NULL on failure. */
BlockDriverState *img_open(const char *name, const ToolOpenSpec *spec);

/*
 * The last argument after options must be the only one: open it as
 * @spec says.  NULL after an error message ("Expecting one image file
 * name", or the open error).
 */
BlockDriverState *img_open_one(int argc, char **argv, const ToolOpenSpec *spec);

/*
 * Walk @top's sectors in extents of at most @chunk sectors that share
 * one allocation status above @base (bdrv_is_allocated_above), calling
 * @fn for each and setting the progress (progress_set) to the bytes
 * walked.  Stops at the first
 * negative return (of @fn or the status query) and returns it; else 0.
 */
typedef int ImgExtentFunc(void *opaque, int64_t sector, int nb_sectors,
                          bool allocated);
int img_walk_extents(BlockDriverState *top, BlockDriverState *base,
                     int chunk, ImgExtentFunc *fn, void *opaque);

/* Print a subcommand's usage (@text) on stdout and return 0. */
int img_help(const char *text);

/*
 * Parse the arguments info and map share: [-f fmt] [--output=human|json]
 * [-U] [--image-opts] [--backing-chain] filename (--backing-chain only
 * when @backing_chain is not NULL).  Returns the filename, or NULL with
 * *@status the exit status (0 after --help, 1 after an error message).
 */
const char *img_parse_query_args(int argc, char **argv, const char *usage,
                                 ToolOpenSpec *spec, bool *json,
                                 bool *backing_chain, int *status);

/*
 * qemu-img's "Snapshot list:" table of @bs's internal snapshots (nothing
 * when it has none), as snapshot -l and info print it.
 */
void img_print_snapshots(BlockDriverState *bs);

/* printf unless @quiet (qemu-img's -q). */
void img_qprintf(bool quiet, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * --progress=MODE of the copying commands (convert, commit, rebase,
 * amend, dd; -p is PROGRESS_HUMAN): parse @arg into *@mode, or print
 * the error and return false.  The commands then report through
 * tools/common/progress.h with progress_choose_mode(*@mode, quiet).
 */
bool img_parse_progress(const char *arg, ProgressMode *mode);

/* Print what "-o help" prints for creating images of @drv's format. */
void img_print_create_options(BlockDriver *drv);

/*
 * Parse "-o key=value,..." into a new copy of @list (free it with
 * free_option_parameters).  An unknown key fails with qemu-img's
 * "Invalid parameter 'key'".  "help" or "?" sets *@help and returns NULL
 * without a message; any other NULL return follows an error message.
 */
QEMUOptionParameter *img_parse_options(const char *str,
                                       QEMUOptionParameter *list,
                                       bool *help);

/* Write @s as a JSON string literal (quotes and escapes) to stdout. */
void img_json_string(const char *s);

#endif /* SPINDLE_IMG_H */
