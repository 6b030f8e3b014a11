/*
 * Internal interface between the files behind qemu/sockets.h:
 * socket-address.c (the text and sockaddr forms of SocketAddress),
 * socket-inet.c (TCP and UDP over IPv4/IPv6) and sockets.c (descriptor
 * helpers, UNIX and FD sockets, and the socket_listen/connect/dgram
 * dispatch).  Nothing here is for use outside io/.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef IO_SOCKETS_PRIV_H
#define IO_SOCKETS_PRIV_H

#include "qemu/sockets.h"
#include <sys/un.h>

/* Longest UNIX name: sun_path less the NUL (file) or the leading NUL. */
#define SOCKET_UNIX_NAME_MAX \
    (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/*
 * Parse a decimal number in [0, @max] with nothing around it (no sign,
 * no blanks).  Returns true and sets *@out, or false.
 */
bool socket_parse_uint(const char *s, unsigned long max, unsigned long *out);

/*
 * connect(2) that survives EINTR: an interrupted blocking connect goes on
 * in the kernel, so wait for it to finish and read its outcome.
 * Returns 0 or -errno.
 */
int socket_connect_retry(int fd, const struct sockaddr *sa, socklen_t len);

/* socket_listen() for one TCP address (@num already at least 1). */
int inet_listen_saddr(InetSocketAddress *in, int num, Error **errp);

/* socket_dgram() for INET (UDP) addresses; @local may be NULL. */
int inet_dgram_saddr(InetSocketAddress *remote, InetSocketAddress *local,
                     Error **errp);

#endif /* IO_SOCKETS_PRIV_H */
