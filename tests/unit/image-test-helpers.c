/*
 * Helpers shared by the tests that make image files (see the header).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/block_int.h"
#include "image-test-helpers.h"

char *test_dir;

char *image_path(const char *name)
{
    char *path = g_build_filename(test_dir, name, NULL);

    unlink(path);
    return path;
}

int create_qcow2(const char *path, int64_t size, const char *opts,
                 Error **errp)
{
    BlockDriver *drv = bdrv_find_format("qcow2");
    QEMUOptionParameter *list;
    int ret;

    list = parse_option_parameters(opts ? opts : "", drv->create_options,
                                   NULL, NULL, errp);
    if (!list) {
        return -EINVAL;
    }
    if (size >= 0) {
        set_option_parameter_int(list, BLOCK_OPT_SIZE, size, &error_abort);
    }
    ret = bdrv_create(drv, path, list, errp);
    free_option_parameters(list);
    return ret;
}
