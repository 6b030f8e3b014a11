/*
 * Progress reporting for long-running tool commands (spindle-img
 * convert, and commit, rebase, dd as they arrive), compatible with
 * qemu-img's -p output.
 *
 * Modes:
 *   PROGRESS_OFF    nothing, except that SIGUSR1 prints the current line
 *                   once on stderr ("    (12.34/100%)\n"), as qemu-img
 *                   does without -p;
 *   PROGRESS_HUMAN  qemu-img -p: "    (12.34/100%)\r" on stdout, redrawn
 *                   in place whenever a whole percent more is done, and a
 *                   newline at the end;
 *   PROGRESS_JSON   one line per whole percent on stderr,
 *                   {"progress": 12, "bytes": N, "total": M}, from 0 to
 *                   100; SIGUSR1 prints the current line at once.
 * The machine-readable mode is chosen with --progress=json on the
 * command line or SPINDLE_PROGRESS=json in the environment.
 *
 * One reporter per process (SIGUSR1 has one handler).  Main thread only;
 * progress_update may be called from coroutines of the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef TOOLS_PROGRESS_H
#define TOOLS_PROGRESS_H

#include "qemu/osdep.h"

typedef enum ProgressMode {
    PROGRESS_OFF,
    PROGRESS_HUMAN,
    PROGRESS_JSON,
} ProgressMode;

/*
 * Parse a mode name: "off", "human" (qemu-img -p) or "json".  Returns
 * true and sets *@mode, or false for an unknown name.
 */
bool progress_parse_mode(const char *name, ProgressMode *mode);

/*
 * The mode a command should use: @requested (PROGRESS_HUMAN after -p,
 * PROGRESS_JSON after --progress=json, else PROGRESS_OFF), overridden by
 * SPINDLE_PROGRESS=json|human|off when set.  @quiet (-q) forces
 * PROGRESS_OFF, as in qemu-img.
 */
ProgressMode progress_choose_mode(ProgressMode requested, bool quiet);

/*
 * Start reporting a job of @total bytes (0 is allowed: it is done at
 * once) and install the SIGUSR1 handler.  Prints the 0 % line in the
 * human and JSON modes.
 */
void progress_start(ProgressMode mode, uint64_t total);

/* @bytes more are done; prints when the whole percent changed or a
 * SIGUSR1 arrived since the last call. */
void progress_add(uint64_t bytes);

/* Set the amount done to @bytes (for jobs that know their position). */
void progress_set(uint64_t bytes);

/*
 * The job is over (@success: all @total bytes are done): prints the final
 * line (100 % on success) and the human mode's newline, restores the
 * default SIGUSR1 action.
 */
void progress_finish(bool success);

#endif /* TOOLS_PROGRESS_H */
