/*
 * The common prelude: system headers and small helpers that almost every
 * Spindle file uses.  Public headers include it themselves, so no file
 * needs to include anything before them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <assert.h>
#include <glib.h>

#include "qemu/compiler.h"
#include "qemu/typedefs.h"

/*
 * GLib newer than our floor (2.66): the few later functions we use,
 * provided on older GLib under their own names.
 */
#if !GLIB_CHECK_VERSION(2, 68, 0)
static inline gpointer spindle_g_memdup2(gconstpointer mem, gsize size)
{
    return mem && size ? memcpy(g_malloc(size), mem, size) : NULL;
}
#define g_memdup2 spindle_g_memdup2
#endif
#if !GLIB_CHECK_VERSION(2, 70, 0)
#define g_spawn_check_wait_status g_spawn_check_exit_status
#endif

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Round down/up to a multiple of n; n must be a power of two. */
#define QEMU_ALIGN_DOWN(x, n) ((x) & ~((__typeof__(x))(n) - 1))
#define QEMU_ALIGN_UP(x, n)   QEMU_ALIGN_DOWN((x) + (n) - 1, (n))
#define QEMU_IS_ALIGNED(x, n) (((x) & ((__typeof__(x))(n) - 1)) == 0)
/* Round to a multiple of any positive n. */
#define ROUND_UP(x, n)     (((x) + (n) - 1) / (n) * (n))
#define DIV_ROUND_UP(x, n) (((x) + (n) - 1) / (n))

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define NANOSECONDS_PER_SECOND 1000000000LL
#define SCALE_MS 1000000
#define SCALE_US 1000
#define SCALE_NS 1

/* Retry a system call while it fails with EINTR. */
#define RETRY_ON_EINTR(expr)                            \
    __extension__({                                     \
        __typeof__(expr) ret_;                          \
        do {                                            \
            ret_ = (expr);                              \
        } while (ret_ == -1 && errno == EINTR);         \
        ret_;                                           \
    })

/* Page size of the host, cached after the first call. */
size_t qemu_real_host_page_size(void);

/* Set or clear O_NONBLOCK on @fd. Returns 0 or -errno. */
int qemu_set_blocking(int fd, bool blocking);

/* Set FD_CLOEXEC on @fd. */
void qemu_set_cloexec(int fd);

#endif /* QEMU_OSDEP_H */
