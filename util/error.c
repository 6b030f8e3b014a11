/*
 * Error objects: a message, an optional list of hints, and where it was set.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"

struct Error {
    char *msg;
    GString *hint;
    const char *src;
    const char *func;
    int line;
};

Error *error_abort;
Error *error_fatal;

static const char *progname;

void error_set_progname(const char *name)
{
    progname = name;
}

static const char *current_progname(void)
{
    if (progname) {
        return progname;
    }
    return g_get_prgname() ? g_get_prgname() : "spindle";
}

static void print_with_hint(const Error *err)
{
    fprintf(stderr, "%s: %s\n", current_progname(), err->msg);
    if (err->hint) {
        fputs(err->hint->str, stderr);
    }
}

/* Act on a destination that is &error_abort or &error_fatal. */
static void handle_special_destination(Error **errp, Error *err)
{
    if (errp == &error_abort) {
        fprintf(stderr, "unexpected error in %s() at %s:%d:\n",
                err->func, err->src, err->line);
        print_with_hint(err);
        abort();
    }
    if (errp == &error_fatal) {
        print_with_hint(err);
        exit(1);
    }
}

static void error_store(Error **errp, Error *err)
{
    if (!errp) {
        error_free(err);
        return;
    }
    handle_special_destination(errp, err);
    if (*errp) {
        fprintf(stderr, "error set twice: first '%s', then '%s' (%s:%d)\n",
                (*errp)->msg, err->msg, err->src, err->line);
        abort();
    }
    *errp = err;
}

static Error *error_new(const char *src, int line, const char *func,
                        char *msg)
{
    Error *err = g_new0(Error, 1);

    err->msg = msg;
    err->src = src;
    err->line = line;
    err->func = func;
    return err;
}

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *func, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_store(errp, error_new(src, line, func, g_strdup_vprintf(fmt, ap)));
    va_end(ap);
}

void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno,
                               const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    int saved_errno = errno;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (os_errno < 0) {
        os_errno = -os_errno;
    }
    error_store(errp, error_new(src, line, func,
                                g_strdup_printf("%s: %s", msg,
                                                g_strerror(os_errno))));
    errno = saved_errno;
}

void error_propagate(Error **dst_errp, Error *local_err)
{
    if (!local_err) {
        return;
    }
    if (dst_errp && *dst_errp && dst_errp != &error_abort &&
        dst_errp != &error_fatal) {
        /* The first error wins; later ones are dropped. */
        error_free(local_err);
        return;
    }
    error_store(dst_errp, local_err);
}

static void error_vprepend(Error *err, const char *fmt, va_list ap)
{
    g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
    char *msg = g_strconcat(prefix, err->msg, NULL);

    g_free(err->msg);
    err->msg = msg;
}

void error_prepend(Error *const *errp, const char *fmt, ...)
{
    va_list ap;

    if (!errp || !*errp) {
        return;
    }
    va_start(ap, fmt);
    error_vprepend(*errp, fmt, ap);
    va_end(ap);
}

void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...)
{
    va_list ap;

    if (!local_err) {
        return;
    }
    if (dst_errp && !*dst_errp) {
        va_start(ap, fmt);
        error_vprepend(local_err, fmt, ap);
        va_end(ap);
    }
    error_propagate(dst_errp, local_err);
}

void error_append_hint(Error *const *errp, const char *fmt, ...)
{
    va_list ap;
    Error *err;

    if (!errp || errp == &error_abort || errp == &error_fatal || !*errp) {
        return;
    }
    err = *errp;
    if (!err->hint) {
        err->hint = g_string_new(NULL);
    }
    va_start(ap, fmt);
    g_string_append_vprintf(err->hint, fmt, ap);
    va_end(ap);
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

Error *error_copy(const Error *err)
{
    Error *copy = error_new(err->src, err->line, err->func,
                            g_strdup(err->msg));

    if (err->hint) {
        copy->hint = g_string_new(err->hint->str);
    }
    return copy;
}

void error_free(Error *err)
{
    if (!err) {
        return;
    }
    g_free(err->msg);
    if (err->hint) {
        g_string_free(err->hint, true);
    }
    g_free(err);
}

void error_free_or_abort(Error **errp)
{
    assert(errp && *errp);
    error_free(*errp);
    *errp = NULL;
}

void error_report_err(Error *err)
{
    print_with_hint(err);
    error_free(err);
}

void error_reportf_err(Error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vprepend(err, fmt, ap);
    va_end(ap);
    error_report_err(err);
}

void error_vreport(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", current_progname());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: warning: ", current_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
