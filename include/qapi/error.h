/*
 * Error reporting: the one contract every Spindle function follows.
 *
 * 1. A function that can fail with a message takes `Error **errp` as its
 *    last parameter and also tells failure through its return value:
 *    false for bool, NULL for pointers, a negative number for int.  On
 *    success it leaves *errp untouched; on failure it sets *errp exactly
 *    once (unless errp is NULL, which means "caller does not care").
 * 2. Never both report and return an error: either set *errp and let the
 *    caller decide, or handle it completely (report and recover).
 * 3. *errp must be NULL on entry.  Setting an error twice aborts.
 * 4. The data path (block I/O, channel reads and writes) returns -errno
 *    instead; it does not build messages per request.
 * 5. Two special destinations:
 *      &error_abort  the caller asserts this cannot fail; a failure prints
 *                    the message with its source location and aborts.
 *      &error_fatal  for start-up code only: a failure prints the message
 *                    and exits with status 1.
 * 6. Messages are one line, start lower-case, have no trailing full stop
 *    and name the object they are about ("could not open 'x.img': ...").
 *    Hints (error_append_hint) add further lines for humans.
 *
 * Typical use:
 *
 *     bool frob(Thing *t, Error **errp)
 *     {
 *         if (!thing_ready(t)) {
 *             error_setg(errp, "thing '%s' is not ready", t->name);
 *             return false;
 *         }
 *         ...
 *     }
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QAPI_ERROR_H
#define QAPI_ERROR_H

#include "qemu/osdep.h"

/* Where error_abort and error_fatal point; never dereferenced by callers. */
extern Error *error_abort;
extern Error *error_fatal;

/* Set *errp to a new error made from the printf-style format. */
#define error_setg(errp, fmt, ...)                                      \
    error_setg_internal((errp), __FILE__, __LINE__, __func__,           \
                        (fmt), ##__VA_ARGS__)

/* As error_setg, appending ": " and strerror(os_errno) to the message. */
#define error_setg_errno(errp, os_errno, fmt, ...)                      \
    error_setg_errno_internal((errp), __FILE__, __LINE__, __func__,     \
                              (os_errno), (fmt), ##__VA_ARGS__)

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *func, const char *fmt, ...)
    QEMU_PRINTF(5, 6);
void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno,
                               const char *fmt, ...)
    QEMU_PRINTF(6, 7);

/*
 * Move @local_err into *dst_errp.  If dst_errp is NULL, or *dst_errp is
 * already set, @local_err is freed instead.  &error_abort and &error_fatal
 * take effect here.  @local_err may be NULL (nothing happens).
 */
void error_propagate(Error **dst_errp, Error *local_err);

/* As error_propagate, then prepend a formatted prefix to the message. */
void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...) QEMU_PRINTF(3, 4);

/* Prepend a formatted prefix to the message of *errp, if errp is set. */
void error_prepend(Error *const *errp, const char *fmt, ...)
    QEMU_PRINTF(2, 3);

/*
 * Append a line of advice for humans, shown after the message by
 * error_report_err.  Does nothing when errp is NULL, &error_abort or
 * &error_fatal (the hint would never be shown).
 */
void error_append_hint(Error *const *errp, const char *fmt, ...)
    QEMU_PRINTF(2, 3);

/* The message, without hints.  Owned by @err. */
const char *error_get_pretty(const Error *err);

/* A deep copy of @err. */
Error *error_copy(const Error *err);

/* Free @err; NULL is allowed. */
void error_free(Error *err);

/* Free *errp and set it to NULL. */
void error_free_or_abort(Error **errp);

/* Print "<prog>: <message>" and hints to stderr, then free @err. */
void error_report_err(Error *err);

/* As error_report_err, with a formatted prefix before the message. */
void error_reportf_err(Error *err, const char *fmt, ...) QEMU_PRINTF(2, 3);

/* Print one formatted line "<prog>: <message>" to stderr. */
void error_report(const char *fmt, ...) QEMU_PRINTF(1, 2);
void error_vreport(const char *fmt, va_list ap) QEMU_PRINTF(1, 0);
void warn_report(const char *fmt, ...) QEMU_PRINTF(1, 2);

/* The program name used as the prefix of reports (default: g_get_prgname). */
void error_set_progname(const char *progname);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Error, error_free)

#endif /* QAPI_ERROR_H */
