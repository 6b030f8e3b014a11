/*
 * The drivers built into the library, in the order probing sees them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "block/internal.h"

BlockDriver *const bdrv_builtin_drivers[] = {
    &bdrv_null_co,
    &bdrv_null_aio,
    &bdrv_qcow2,
    &bdrv_raw,
    &bdrv_file,
    &bdrv_host_device,
    &bdrv_blkdebug,
    NULL,
};
