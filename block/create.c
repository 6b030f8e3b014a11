/*
 * Creating images and temporary files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"

int bdrv_create(BlockDriver *drv, const char *filename,
                QEMUOptionParameter *options, Error **errp)
{
    int ret;

    if (!drv->bdrv_create) {
        error_setg(errp, "format '%s' does not support image creation",
                   drv->format_name);
        return -ENOTSUP;
    }
    bdrv_discard_driver_error();
    ret = drv->bdrv_create(filename, options);
    if (ret < 0) {
        bdrv_take_driver_error(errp, ret, "could not create '%s'", filename);
    }
    return ret;
}

int bdrv_create_file(const char *filename, QEMUOptionParameter *options,
                     Error **errp)
{
    BlockDriver *drv = bdrv_find_protocol(filename, errp);

    if (!drv) {
        return -ENOENT;
    }
    return bdrv_create(drv, filename, options, errp);
}

void get_tmp_filename(char *filename, int size)
{
    const char *tmpdir = g_getenv("TMPDIR");
    g_autofree char *templ = NULL;
    int fd;

    templ = g_build_filename(tmpdir && *tmpdir ? tmpdir : "/var/tmp",
                             "spindle.XXXXXX", NULL);
    fd = g_mkstemp(templ);
    if (fd >= 0) {
        close(fd);
    }
    g_strlcpy(filename, templ, size);
}
