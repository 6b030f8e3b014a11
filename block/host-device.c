/*
 * host_device: the protocol driver for host block devices (/dev/sdX,
 * /dev/loopN, /dev/srN...).
 *
 * What it does: everything the file driver does for reads, writes,
 * flush, locking and the aio modes (it shares file-posix.c's code and
 * state), plus what only devices have: the size from BLKGETSIZE64,
 * discard as BLKDISCARD, write-zeroes as BLKZEROOUT, ioctl pass-through
 * (synchronous, and in the thread pool for bdrv_aio_ioctl), and
 * removable media through the CD-ROM ioctls when the device answers
 * them (tray status, media change, eject, door lock).
 *
 * What it deliberately does not: create or grow devices, SCSI generic
 * (/dev/sg*) command translation, or floppy drives.  Devices that are no
 * CD-ROM report media always inserted and never changed, and ignore
 * eject and lock requests.
 *
 * Key invariant: the device is opened with O_NONBLOCK (so an empty
 * CD-ROM drive can be opened) and the flag is cleared again before any
 * I/O, so reads and writes never return -EAGAIN.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include <linux/cdrom.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "qapi/error.h"
#include "block/thread-pool.h"
#include "block/internal.h"
#include "file-posix.h"

#define HOST_DEVICE_PREFIX "host_device:"

static const char *device_path(const char *filename)
{
    if (g_str_has_prefix(filename, HOST_DEVICE_PREFIX)) {
        return filename + strlen(HOST_DEVICE_PREFIX);
    }
    return filename;
}

static int hdev_probe_device(const char *filename)
{
    struct stat st;

    if (!g_str_has_prefix(filename, "/dev/")) {
        return 0;
    }
    return stat(filename, &st) == 0 && S_ISBLK(st.st_mode) ? 100 : 0;
}

static int hdev_open(BlockDriverState *bs, const char *filename, int flags)
{
    BDRVRawState *s = bs->opaque;
    const char *path = device_path(filename);
    int ret = file_posix_open(bs, path, flags, O_NONBLOCK);

    if (ret < 0) {
        return ret;
    }
    if (!s->is_bdev) {
        error_setg(bdrv_driver_errp(), "'%s' is not a block device", path);
        file_posix_close(bs);
        return -ENOTBLK;
    }
    if (fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        ret = -errno;
        file_posix_close(bs);
        return ret;
    }
    s->is_cdrom = ioctl(s->fd, CDROM_GET_CAPABILITY, 0) >= 0;
    return 0;
}

/* ---- discard and zeroes ---------------------------------------------- */

typedef struct RangeIoctlJob {
    int fd;
    unsigned long req;
    uint64_t range[2];           /* offset, length in bytes */
} RangeIoctlJob;

static int range_ioctl_job(void *opaque)
{
    RangeIoctlJob *j = opaque;

    return ioctl(j->fd, j->req, j->range) < 0 ? -errno : 0;
}

static int coroutine_fn co_range_ioctl(BlockDriverState *bs,
                                       unsigned long req, int64_t sector_num,
                                       int nb_sectors)
{
    BDRVRawState *s = bs->opaque;
    RangeIoctlJob j = {
        .fd = s->fd, .req = req,
        .range = { sector_num << BDRV_SECTOR_BITS,
                   (uint64_t)nb_sectors << BDRV_SECTOR_BITS },
    };
    int ret = file_posix_run_blocking(bs, range_ioctl_job, &j);

    if (ret == 0) {
        file_posix_changed(s);
    }
    return ret;
}

static int coroutine_fn hdev_co_discard(BlockDriverState *bs,
                                        int64_t sector_num, int nb_sectors)
{
    int ret = co_range_ioctl(bs, BLKDISCARD, sector_num, nb_sectors);

    /* Advisory: devices without discard keep their data. */
    return ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EINVAL ? 0 : ret;
}

static int coroutine_fn hdev_co_write_zeroes(BlockDriverState *bs,
                                             int64_t sector_num,
                                             int nb_sectors)
{
    int ret = co_range_ioctl(bs, BLKZEROOUT, sector_num, nb_sectors);

    return ret == -EOPNOTSUPP || ret == -ENOTTY ? -ENOTSUP : ret;
}

/* ---- ioctl pass-through ---------------------------------------------- */

static int hdev_ioctl(BlockDriverState *bs, unsigned long req, void *buf)
{
    BDRVRawState *s = bs->opaque;
    int ret = ioctl(s->fd, req, buf);

    return ret < 0 ? -errno : ret;
}

typedef struct IoctlJob {
    int fd;
    unsigned long req;
    void *buf;
    BlockDriverCompletionFunc *cb;
    void *opaque;
} IoctlJob;

static int ioctl_job(void *opaque)
{
    IoctlJob *j = opaque;
    int ret = ioctl(j->fd, j->req, j->buf);

    return ret < 0 ? -errno : ret;
}

static void ioctl_job_done(void *opaque, int ret)
{
    IoctlJob *j = opaque;

    j->cb(j->opaque, ret);
    g_free(j);
}

static BlockDriverAIOCB *hdev_aio_ioctl(BlockDriverState *bs,
                                        unsigned long req, void *buf,
                                        BlockDriverCompletionFunc *cb,
                                        void *opaque)
{
    BDRVRawState *s = bs->opaque;
    IoctlJob *j = g_new(IoctlJob, 1);

    *j = (IoctlJob) {
        .fd = s->fd, .req = req, .buf = buf, .cb = cb, .opaque = opaque,
    };
    return thread_pool_submit_aio(aio_get_thread_pool(
                                      bdrv_get_aio_context(bs)),
                                  ioctl_job, j, ioctl_job_done, j);
}

/* ---- removable media (CD-ROM) ---------------------------------------- */

static int hdev_is_inserted(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    if (!s->is_cdrom) {
        return 1;
    }
    return ioctl(s->fd, CDROM_DRIVE_STATUS, CDSL_CURRENT) == CDS_DISC_OK;
}

static int hdev_media_changed(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int ret;

    if (!s->is_cdrom) {
        return 0;
    }
    ret = ioctl(s->fd, CDROM_MEDIA_CHANGED, CDSL_CURRENT);
    return ret < 0 ? -errno : ret == 1;
}

static void hdev_eject(BlockDriverState *bs, bool eject_flag)
{
    BDRVRawState *s = bs->opaque;

    if (s->is_cdrom &&
        ioctl(s->fd, eject_flag ? CDROMEJECT : CDROMCLOSETRAY, NULL) < 0) {
        warn_report("%s: could not %s the tray: %s", bs->filename,
                    eject_flag ? "open" : "close", g_strerror(errno));
    }
}

static void hdev_lock_medium(BlockDriverState *bs, bool locked)
{
    BDRVRawState *s = bs->opaque;

    if (s->is_cdrom && ioctl(s->fd, CDROM_LOCKDOOR, locked ? 1 : 0) < 0) {
        warn_report("%s: could not %s the door: %s", bs->filename,
                    locked ? "lock" : "unlock", g_strerror(errno));
    }
}

BlockDriver bdrv_host_device = {
    .format_name = "host_device",
    .protocol_name = "host_device",
    .instance_size = sizeof(BDRVRawState),
    .bdrv_probe_device = hdev_probe_device,
    .bdrv_file_open = hdev_open,
    .bdrv_close = file_posix_close,
    .bdrv_co_readv = file_posix_co_readv,
    .bdrv_co_writev = file_posix_co_writev,
    .bdrv_co_flush_to_disk = file_posix_co_flush,
    .bdrv_co_discard = hdev_co_discard,
    .bdrv_co_write_zeroes = hdev_co_write_zeroes,
    .bdrv_getlength = file_posix_getlength,
    .bdrv_ioctl = hdev_ioctl,
    .bdrv_aio_ioctl = hdev_aio_ioctl,
    .bdrv_is_inserted = hdev_is_inserted,
    .bdrv_media_changed = hdev_media_changed,
    .bdrv_eject = hdev_eject,
    .bdrv_lock_medium = hdev_lock_medium,
    .bdrv_detach_aio_context = file_posix_detach_aio_context,
    .bdrv_attach_aio_context = file_posix_attach_aio_context,
};
