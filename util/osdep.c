/*
 * Small host helpers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>

size_t qemu_real_host_page_size(void)
{
    static size_t page_size;

    if (!page_size) {
        page_size = (size_t)sysconf(_SC_PAGESIZE);
    }
    return page_size;
}

int qemu_set_blocking(int fd, bool blocking)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0) {
        return -errno;
    }
    flags = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
    if (fcntl(fd, F_SETFL, flags) < 0) {
        return -errno;
    }
    return 0;
}

void qemu_set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags >= 0) {
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}
