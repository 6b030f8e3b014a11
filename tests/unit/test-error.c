/*
 * Tests for qapi/error.h: the error contract.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include <sys/wait.h>

static bool fail_with(int value, Error **errp)
{
    if (value < 0) {
        error_setg(errp, "value %d is negative", value);
        return false;
    }
    return true;
}

static void test_setg(void)
{
    Error *err = NULL;

    g_assert_true(fail_with(1, &err));
    g_assert_null(err);
    g_assert_false(fail_with(-3, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "value -3 is negative");
    error_free(err);
}

static void test_null_errp(void)
{
    /* A NULL errp means the caller ignores the message; nothing leaks. */
    g_assert_false(fail_with(-1, NULL));
}

static void test_setg_errno(void)
{
    Error *err = NULL;

    error_setg_errno(&err, ENOENT, "could not open '%s'", "x.img");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "could not open 'x.img': No such file or directory");
    error_free(err);
    err = NULL;

    /* A negative errno (as the data path returns) reads the same. */
    error_setg_errno(&err, -EIO, "read failed");
    g_assert_cmpstr(error_get_pretty(err), ==, "read failed: Input/output error");
    error_free(err);
}

static void test_propagate(void)
{
    Error *local = NULL;
    Error *dst = NULL;

    error_setg(&local, "inner");
    error_propagate(&dst, local);
    g_assert_cmpstr(error_get_pretty(dst), ==, "inner");

    /* The first error wins; a second propagated one is freed. */
    local = NULL;
    error_setg(&local, "second");
    error_propagate(&dst, local);
    g_assert_cmpstr(error_get_pretty(dst), ==, "inner");
    error_free(dst);

    /* Propagating NULL changes nothing; propagating to NULL frees. */
    dst = NULL;
    error_propagate(&dst, NULL);
    g_assert_null(dst);
    local = NULL;
    error_setg(&local, "dropped");
    error_propagate(NULL, local);
}

static void test_prepend(void)
{
    Error *err = NULL;
    Error *dst = NULL;

    error_prepend(&err, "nothing to prepend to: ");
    g_assert_null(err);

    error_setg(&err, "disk full");
    error_prepend(&err, "writing '%s': ", "a.img");
    g_assert_cmpstr(error_get_pretty(err), ==, "writing 'a.img': disk full");

    error_propagate_prepend(&dst, err, "job %d: ", 7);
    g_assert_cmpstr(error_get_pretty(dst), ==,
                    "job 7: writing 'a.img': disk full");
    error_free(dst);
}

static void test_hint_and_copy(void)
{
    Error *err = NULL;
    Error *copy;

    error_setg(&err, "bad option");
    error_append_hint(&err, "valid options are %s\n", "a, b");
    copy = error_copy(err);
    g_assert_cmpstr(error_get_pretty(copy), ==, "bad option");
    /* The hint is not part of the message. */
    g_assert_null(strstr(error_get_pretty(err), "valid"));
    error_free(err);
    error_free_or_abort(&copy);
    g_assert_null(copy);

    /* Hints on special destinations are ignored, not a crash. */
    error_append_hint(&error_fatal, "ignored\n");
    error_append_hint(NULL, "ignored\n");
}

static void test_report_err_prints(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;

        error_set_progname("spindle-test");
        error_setg(&err, "something broke");
        error_append_hint(&err, "try again\n");
        error_report_err(err);
        error_report("plain %s", "report");
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("spindle-test: something broke\ntry again\n"
                              "spindle-test: plain report\n");
}

static void test_error_fatal_exits(void)
{
    if (g_test_subprocess()) {
        error_set_progname("spindle-test");
        fail_with(-9, &error_fatal);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("spindle-test: value -9 is negative\n");
}

static void test_error_abort_aborts(void)
{
    if (g_test_subprocess()) {
        fail_with(-2, &error_abort);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*unexpected error in fail_with()*"
                              "value -2 is negative*");
}

static void test_set_twice_aborts(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;

        error_setg(&err, "first");
        error_setg(&err, "second");
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*error set twice*first*second*");
}

static void test_autoptr(void)
{
    g_autoptr(Error) err = NULL;

    error_setg(&err, "freed at end of scope");
    g_assert_nonnull(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/setg", test_setg);
    g_test_add_func("/error/null-errp", test_null_errp);
    g_test_add_func("/error/setg-errno", test_setg_errno);
    g_test_add_func("/error/propagate", test_propagate);
    g_test_add_func("/error/prepend", test_prepend);
    g_test_add_func("/error/hint-and-copy", test_hint_and_copy);
    g_test_add_func("/error/report-err", test_report_err_prints);
    g_test_add_func("/error/fatal-exits", test_error_fatal_exits);
    g_test_add_func("/error/abort-aborts", test_error_abort_aborts);
    g_test_add_func("/error/set-twice-aborts", test_set_twice_aborts);
    g_test_add_func("/error/autoptr", test_autoptr);
    return g_test_run();
}
