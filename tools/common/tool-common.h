/*
 * Helpers shared by spindle-img and spindle-io: size parsing and
 * printing in the peers' formats, opening an image from the command
 * line's options, and running a coroutine to completion from main().
 *
 * Everything here runs in the main thread, outside coroutines unless
 * said otherwise.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef TOOLS_TOOL_COMMON_H
#define TOOLS_TOOL_COMMON_H

#include "qemu/osdep.h"
#include "block/block.h"

/*
 * Parse a byte count: decimal or 0x hex, with an optional suffix b, k, M,
 * G, T, P, E (powers of 1024, case-insensitive).  Returns the value, or
 * -EINVAL (malformed) or -ERANGE (too large).
 */
int64_t cvtnum(const char *s);

/* "4 KiB", "1.500 KiB", "512 bytes": qemu-io's number format. */
void cvtstr(double value, char *buf, size_t size);

/* "1 GiB", "16 KiB", "512 B": qemu-img's size format.  g_free it. */
char *size_to_str(uint64_t value);

/* How the command line asks for an image to be opened. */
typedef struct ToolOpenSpec {
    const char *format;      /* -f, or NULL to probe */
    bool image_opts;         /* the name is key=value,... (--image-opts) */
    const char *cache;       /* -t, or NULL for the tool's default */
    const char *aio;         /* -i, or NULL */
    int flags;               /* BDRV_O_* on top of cache and aio */
    GHashTable *options;     /* more open options ("key" -> "value"), or
                              * NULL; copied, not consumed */
} ToolOpenSpec;

/*
 * Open @name as @spec says in a new anonymous node.  Returns the node,
 * or NULL with @errp set ("Could not open 'x': reason").
 */
BlockDriverState *tool_open_image(const char *name, const ToolOpenSpec *spec,
                                  Error **errp);

/*
 * Split "key=value,key=value" (",," for a literal comma) into a new
 * table.  NULL with @errp set on a key without a value.
 */
GHashTable *tool_parse_keyval(const char *str, Error **errp);

/*
 * Run @entry(@opaque) in a new coroutine and poll the main context until
 * *@done becomes true.  The entry sets *@done when it finishes.
 */
void tool_run_co(CoroutineEntry *entry, void *opaque, bool *done);

/* Initialise the main loop once; exits with a message on failure. */
void tool_init(const char *progname);

/*
 * Take every "--object SPEC" (or "--object=SPEC") out of argv, wherever
 * it stands, registering each as a secret (QEMU's "secret,id=ID,data=..."
 * or "file=PATH" syntax; the only object kind the tools need), and
 * shorten *@argc.  Returns false after printing a one-line error.
 */
bool tool_take_objects(int *argc, char **argv);

#endif /* TOOLS_TOOL_COMMON_H */
