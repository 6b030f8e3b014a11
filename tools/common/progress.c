/*
 * Progress reporting (see progress.h).
 *
 * The state is one static struct because SIGUSR1 has one handler per
 * process.  The handler only sets a flag; the line is printed by the
 * next progress_add/progress_set from normal code, so nothing unsafe
 * runs in signal context (qemu-img does the same).  Percentages are
 * computed from byte counts, never accumulated as floats, so the last
 * line is exactly 100.00 however the job was split.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "progress.h"
#include <signal.h>

static struct {
    ProgressMode mode;
    uint64_t total;
    uint64_t done;
    int last_percent;           /* whole percent printed last, -1: none */
    bool active;
} prog;

static volatile sig_atomic_t usr1_pending;

static void usr1_handler(int sig)
{
    usr1_pending = 1;
}

bool progress_parse_mode(const char *name, ProgressMode *mode)
{
    static const char *const names[] = {
        [PROGRESS_OFF] = "off", [PROGRESS_HUMAN] = "human",
        [PROGRESS_JSON] = "json",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!strcmp(name, names[i])) {
            *mode = i;
            return true;
        }
    }
    return false;
}

ProgressMode progress_choose_mode(ProgressMode requested, bool quiet)
{
    const char *env = g_getenv("SPINDLE_PROGRESS");
    ProgressMode mode = requested;

    if (env && *env && !progress_parse_mode(env, &mode)) {
        mode = requested;
    }
    return quiet ? PROGRESS_OFF : mode;
}

static double percent_done(void)
{
    return prog.total ? 100.0 * prog.done / prog.total : 100.0;
}

static void print_human(FILE *out, const char *end)
{
    fprintf(out, "    (%3.2f/100%%)%s", percent_done(), end);
    fflush(out);
}

static void print_json(void)
{
    fprintf(stderr, "{\"progress\": %d, \"bytes\": %" PRIu64
            ", \"total\": %" PRIu64 "}\n",
            (int)percent_done(), prog.done, prog.total);
    fflush(stderr);
}

/* Print the current line in the mode's own format. */
static void print_line(void)
{
    switch (prog.mode) {
    case PROGRESS_HUMAN:
        print_human(stdout, "\r");
        break;
    case PROGRESS_JSON:
        print_json();
        break;
    case PROGRESS_OFF:
        break;
    }
}

/* SIGUSR1 asked for the line: stderr, one line, whatever the mode. */
static void print_requested(void)
{
    usr1_pending = 0;
    if (prog.mode == PROGRESS_JSON) {
        print_json();
    } else if (prog.mode == PROGRESS_OFF) {
        print_human(stderr, "\n");
    }
}

static void report(void)
{
    int percent = (int)percent_done();

    if (usr1_pending) {
        print_requested();
    }
    if (percent != prog.last_percent) {
        prog.last_percent = percent;
        print_line();
    }
}

void progress_start(ProgressMode mode, uint64_t total)
{
    struct sigaction sa = { .sa_handler = usr1_handler };

    prog.mode = mode;
    prog.total = total;
    prog.done = 0;
    prog.last_percent = -1;
    prog.active = true;
    usr1_pending = 0;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    report();
}

void progress_set(uint64_t bytes)
{
    if (!prog.active) {
        return;
    }
    prog.done = MIN(bytes, prog.total);
    report();
}

void progress_add(uint64_t bytes)
{
    progress_set(prog.done + bytes);
}

void progress_finish(bool success)
{
    if (!prog.active) {
        return;
    }
    if (success) {
        progress_set(prog.total);
    }
    if (prog.mode == PROGRESS_HUMAN) {
        printf("\n");
        fflush(stdout);
    }
    prog.active = false;
    signal(SIGUSR1, SIG_DFL);
}
