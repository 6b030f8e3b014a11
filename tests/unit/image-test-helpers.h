/*
 * Helpers shared by the tests that make image files: a scratch folder,
 * paths in it, and qcow2 creation from an option string.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef TESTS_IMAGE_TEST_HELPERS_H
#define TESTS_IMAGE_TEST_HELPERS_H

#include "qemu/osdep.h"

/* The scratch folder of the running test program (the test sets it). */
extern char *test_dir;

/* @name inside test_dir, removed if it exists (g_free the result). */
char *image_path(const char *name);

/*
 * Create @path as qcow2 with the "key=value,..." create options @opts
 * (NULL: defaults), of @size bytes (negative: taken from @opts, e.g. a
 * backing file).  0 or -errno with @errp set.
 */
int create_qcow2(const char *path, int64_t size, const char *opts,
                 Error **errp);

#endif
