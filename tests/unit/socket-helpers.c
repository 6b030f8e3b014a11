/*
 * Probes of the machine's network stack for the socket tests: a real
 * bind, since an IPv6-capable kernel may still have no ::1 (containers,
 * ipv6.disable=1).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "socket-helpers.h"
#include <netinet/in.h>

bool test_have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

    if (fd >= 0) {
        close(fd);
    }
    return ok;
}
