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

typedef int ImgCmdFunc(int argc, char **argv);

ImgCmdFunc img_create, img_info, img_map, img_compare, img_bench, img_convert;

/* Print "spindle-img: <message>" on stderr. */
void img_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Open an image or print the error; NULL on failure. */
BlockDriverState *img_open(const char *name, const ToolOpenSpec *spec);

/* Print a subcommand's usage (@text) on stdout and return 0. */
int img_help(const char *text);

/*
 * Parse the arguments info and map share: [-f fmt] [--output=human|json]
 * [-U] [--image-opts] filename.  Returns the filename, or NULL with
 * *@status the exit status (0 after --help, 1 after an error message).
 */
const char *img_parse_query_args(int argc, char **argv, const char *usage,
                                 ToolOpenSpec *spec, bool *json,
                                 int *status);

/* Write @s as a JSON string literal (quotes and escapes) to stdout. */
void img_json_string(const char *s);

#endif /* SPINDLE_IMG_H */
