/*
 * A minimal progress line for -p, as qemu-img prints it: "    (P/100%)"
 * redrawn in place with a carriage return, a newline at the end.  Kept
 * behind three calls so the shared tools/common/progress module can take
 * its place without touching the subcommands.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "img.h"

static bool progress_on;
static double last_shown = -1;

void img_progress_init(bool enabled)
{
    progress_on = enabled;
    last_shown = -1;
    img_progress_print(0, 1);
}

void img_progress_print(int64_t done, int64_t total)
{
    double pct = total > 0 ? done * 100.0 / total : 100.0;

    /* Redraw only on a visible change: a copy loop calls this often. */
    if (!progress_on || pct - last_shown < 0.01) {
        return;
    }
    last_shown = pct;
    printf("    (%3.2f/100%%)\r", pct);
    fflush(stdout);
}

void img_progress_end(void)
{
    if (progress_on) {
        img_progress_print(1, 1);
        printf("\n");
        progress_on = false;
    }
}
