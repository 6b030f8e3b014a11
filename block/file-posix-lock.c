/*
 * Image locking with open file description (OFD) byte-range locks.
 *
 * What it does: every user of an image holds a shared lock on one byte
 * per permission it uses (PERM_BASE + bit) and on one byte per
 * permission it refuses to share with others (SHARED_BASE + bit).  A
 * user may open when nobody refuses to share what it uses and nobody
 * uses what it refuses to share.  The byte offsets and permission bits
 * are the ones QEMU uses, so Spindle and a running qemu-io or QEMU see
 * each other's locks.  OFD locks belong to the open file description, so
 * two opens in one process conflict just as two processes do.
 *
 * What it deliberately does not: wait for a lock (a conflict fails the
 * open at once), or fall back to process-wide POSIX locks (which another
 * fd of the same process would silently drop on close).
 *
 * Key invariant: bytes are taken before the conflict check, never after,
 * so of two users opening at once at least one sees the other: both may
 * fail, but both never succeed with conflicting permissions.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "qapi/error.h"
#include "file-posix.h"

#define PERM_BASE    100   /* byte PERM_BASE + i: "I use permission i" */
#define SHARED_BASE  200   /* byte SHARED_BASE + i: "I do not share i" */
#define PERM_COUNT   4

static const char *const perm_names[PERM_COUNT] = {
    "consistent read", "write", "write unchanged", "resize",
};

/* F_OFD_SETLK of one byte; @type F_RDLCK or F_UNLCK.  0 or -errno. */
static int set_byte(int fd, off_t byte, short type)
{
    struct flock fl = {
        .l_whence = SEEK_SET, .l_start = byte, .l_len = 1, .l_type = type,
    };

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Does another open file description hold a lock on @byte?  1, 0 or
 * -errno. */
static int byte_held_elsewhere(int fd, off_t byte)
{
    struct flock fl = {
        .l_whence = SEEK_SET, .l_start = byte, .l_len = 1,
        .l_type = F_WRLCK,
    };

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return -errno;
    }
    return fl.l_type != F_UNLCK;
}

int file_lock_supported(int fd)
{
    int ret = byte_held_elsewhere(fd, PERM_BASE);

    if (ret == -EINVAL) {
        return 0;
    }
    return ret < 0 ? ret : 1;
}

/* Take the bytes for @perm and !@shared; drop the others. */
static int apply_bytes(int fd, unsigned perm, unsigned shared)
{
    for (int i = 0; i < PERM_COUNT; i++) {
        unsigned bit = 1u << i;
        int ret = set_byte(fd, PERM_BASE + i,
                           (perm & bit) ? F_RDLCK : F_UNLCK);

        if (ret == 0) {
            ret = set_byte(fd, SHARED_BASE + i,
                           (shared & bit) ? F_UNLCK : F_RDLCK);
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* Someone else refuses to share what we use, or uses what we refuse to
 * share: set @errp naming the permission. */
static int check_bytes(int fd, const char *filename, unsigned perm,
                       unsigned shared, Error **errp)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < PERM_COUNT; i++) {
            unsigned bit = 1u << i;
            bool wanted = pass == 0 ? (perm & bit) : !(shared & bit);
            int ret;

            if (!wanted) {
                continue;
            }
            ret = byte_held_elsewhere(fd, (pass == 0 ? SHARED_BASE
                                                     : PERM_BASE) + i);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "could not test the image "
                                 "locks of '%s'", filename);
                return ret;
            }
            if (ret > 0) {
                error_setg(errp, "Failed to get %s\"%s\" lock: is another "
                           "process using the image '%s'?",
                           pass == 0 ? "" : "shared ", perm_names[i],
                           filename);
                return -EAGAIN;
            }
        }
    }
    return 0;
}

int file_lock_acquire(int fd, const char *filename, unsigned perm,
                      unsigned shared, Error **errp)
{
    int ret = apply_bytes(fd, perm, shared);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "could not lock '%s'", filename);
    } else {
        ret = check_bytes(fd, filename, perm, shared, errp);
    }
    if (ret < 0) {
        file_lock_release(fd);
    }
    return ret;
}

void file_lock_release(int fd)
{
    struct flock fl = {
        .l_whence = SEEK_SET, .l_start = PERM_BASE,
        .l_len = SHARED_BASE + PERM_COUNT - PERM_BASE, .l_type = F_UNLCK,
    };

    fcntl(fd, F_OFD_SETLK, &fl);
}
