/*
 * Socket descriptors: the small helpers every socket user needs
 * (close-on-exec socket and accept, TCP options), descriptors named by
 * "fd:" addresses, UNIX sockets (file and abstract), and the
 * socket_listen/socket_connect/socket_dgram calls that dispatch on the
 * address type (TCP itself is socket-inet.c).
 *
 * What this file does not do: any event-loop integration (that is the
 * socket channel and the net listener).  VSOCK addresses parse but every
 * socket call rejects them.
 *
 * Key invariant: every descriptor created here is close-on-exec from the
 * start, and no function leaves a half-made descriptor open on failure.
 * Descriptors handed in through "fd:" addresses are taken over only on
 * success.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include "qemu/atomic.h"
#include "sockets-priv.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

static SocketNamedFdFunc *named_fd_func;

/* ---- descriptor helpers ------------------------------------------------- */

bool fd_is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int qemu_socket(int domain, int type, int protocol)
{
    return socket(domain, type | SOCK_CLOEXEC, protocol);
}

int qemu_accept(int s, struct sockaddr *addr, socklen_t *addrlen)
{
    return accept4(s, addr, addrlen, SOCK_CLOEXEC);
}

int socket_set_cork(int fd, int v)
{
    return setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
}

int socket_set_nodelay(int fd)
{
    int v = 1;

    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
}

int socket_set_fast_reuse(int fd)
{
    int v = 1;

    return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
}

int socket_connect_retry(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    socklen_t elen = sizeof(int);
    int err = 0;

    if (connect(fd, sa, len) == 0) {
        return 0;
    }
    if (errno != EINTR && errno != EINPROGRESS) {
        return -errno;
    }
    if (RETRY_ON_EINTR(poll(&pfd, 1, -1)) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
        return -errno;
    }
    return -err;
}

void socket_set_named_fd_func(SocketNamedFdFunc *fn)
{
    qatomic_set(&named_fd_func, fn);
}

/* Ask the named-fd hook for the fd called @name; -1 with an error. */
static int named_fd(const char *name, Error **errp)
{
    SocketNamedFdFunc *fn = qatomic_read(&named_fd_func);

    if (!fn) {
        error_setg(errp, "no descriptor named '%s' (named descriptors need "
                   "a control socket that received them)", name);
        return -1;
    }
    return fn(name, errp);
}

/* The fd an FD address names, checked to be a socket; -1 with an error. */
static int socket_get_fd(const char *str, bool *owned, Error **errp)
{
    unsigned long v;
    int fd;

    *owned = false;
    if (socket_parse_uint(str, INT_MAX, &v)) {
        fd = v;
        if (fcntl(fd, F_GETFD) < 0) {
            error_setg(errp, "fd %d is not open", fd);
            return -1;
        }
    } else if ((fd = named_fd(str, errp)) < 0) {
        return -1;
    } else {
        *owned = true;
    }
    if (!fd_is_socket(fd)) {
        error_setg(errp, "fd %s is not a socket", str);
        if (*owned) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

int socket_address_parse_named_fd(SocketAddress *addr, Error **errp)
{
    unsigned long v;
    int fd;

    if (addr->type != SOCKET_ADDRESS_TYPE_FD ||
        socket_parse_uint(addr->u.fd.str, INT_MAX, &v)) {
        return 0;
    }
    fd = named_fd(addr->u.fd.str, errp);
    if (fd < 0) {
        return -1;
    }
    g_free(addr->u.fd.str);
    addr->u.fd.str = g_strdup_printf("%d", fd);
    return 0;
}

/* ---- UNIX --------------------------------------------------------------- */

static bool unix_sockaddr(const UnixSocketAddress *u, struct sockaddr_un *un,
                          socklen_t *len, Error **errp)
{
    bool abstract = u->has_abstract && u->abstract;
    bool tight = !u->has_tight || u->tight;
    size_t n = strlen(u->path);

    if (n > SOCKET_UNIX_NAME_MAX) {
        error_setg(errp, "UNIX socket path '%s' is too long (at most %zu "
                   "bytes)", u->path, SOCKET_UNIX_NAME_MAX);
        return false;
    }
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path + abstract, u->path, n);
    *len = offsetof(struct sockaddr_un, sun_path) + abstract + n;
    if (!abstract) {
        *len += 1;      /* the terminating NUL */
    } else if (!tight) {
        *len = sizeof(*un);
    }
    return true;
}

/* A fresh, unused path in $TMPDIR for a listener given an empty path. */
static char *unix_temp_path(Error **errp)
{
    char *path = g_build_filename(g_get_tmp_dir(), "spindle-socket-XXXXXX",
                                  NULL);
    int fd = g_mkstemp(path);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not make a socket path in '%s'",
                         g_get_tmp_dir());
        g_free(path);
        return NULL;
    }
    close(fd);
    unlink(path);
    return path;
}

/* Remove a socket file left behind by an earlier listener at @path. */
static void unlink_stale(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path);
    }
}

static int unix_listen_saddr(UnixSocketAddress *u, int num, Error **errp)
{
    UnixSocketAddress tmp = *u;
    g_autofree char *temp_path = NULL;
    struct sockaddr_un un;
    socklen_t len;
    int fd, err;

    if (!u->path[0] && !(u->has_abstract && u->abstract)) {
        temp_path = unix_temp_path(errp);
        if (!temp_path) {
            return -1;
        }
        tmp.path = temp_path;
    }
    if (!unix_sockaddr(&tmp, &un, &len, errp)) {
        return -1;
    }
    if (!(tmp.has_abstract && tmp.abstract)) {
        unlink_stale(tmp.path);
    }
    fd = qemu_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&un, len) < 0 ||
        listen(fd, num) < 0) {
        err = errno;
        if (fd >= 0) {
            close(fd);
        }
        error_setg_errno(errp, err, "could not listen on UNIX socket '%s%s'",
                         tmp.has_abstract && tmp.abstract ? "@" : "",
                         tmp.path);
        return -1;
    }
    return fd;
}

static int unix_connect_saddr(UnixSocketAddress *u, Error **errp)
{
    struct sockaddr_un un;
    socklen_t len;
    int fd, err;

    if (!unix_sockaddr(u, &un, &len, errp)) {
        return -1;
    }
    fd = qemu_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "could not create UNIX socket");
        return -1;
    }
    err = socket_connect_retry(fd, (struct sockaddr *)&un, len);
    if (err < 0) {
        close(fd);
        error_setg_errno(errp, -err, "could not connect to UNIX socket "
                         "'%s%s'", u->has_abstract && u->abstract ? "@" : "",
                         u->path);
        return -1;
    }
    return fd;
}

int unix_listen(const char *path, Error **errp)
{
    UnixSocketAddress u = { .path = (char *)path };

    return unix_listen_saddr(&u, 1, errp);
}

int unix_connect(const char *path, Error **errp)
{
    UnixSocketAddress u = { .path = (char *)path };

    return unix_connect_saddr(&u, errp);
}

bool socket_listen_cleanup(int fd, Error **errp)
{
    struct sockaddr_un un = { 0 };
    socklen_t len = sizeof(un);
    socklen_t ilen = sizeof(int);
    int listening = 0;

    if (getsockname(fd, (struct sockaddr *)&un, &len) < 0 ||
        un.sun_family != AF_UNIX ||
        len <= offsetof(struct sockaddr_un, sun_path) || !un.sun_path[0] ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) < 0 ||
        !listening) {
        return true;
    }
    if (unlink(un.sun_path) < 0 && errno != ENOENT) {
        error_setg_errno(errp, errno, "could not remove UNIX socket '%s'",
                         un.sun_path);
        return false;
    }
    return true;
}

/* ---- FD, VSOCK and dispatch --------------------------------------------- */

static int fd_listen(const char *str, int num, Error **errp)
{
    int type = 0;
    socklen_t len = sizeof(type);
    bool owned;
    int fd = socket_get_fd(str, &owned, errp);

    if (fd < 0) {
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
        type != SOCK_STREAM) {
        error_setg(errp, "fd %s is not a stream socket", str);
        goto fail;
    }
    if (listen(fd, num) < 0) {
        error_setg_errno(errp, errno, "could not listen on fd %s", str);
        goto fail;
    }
    return fd;

fail:
    if (owned) {
        close(fd);
    }
    return -1;
}

static bool reject_vsock(const SocketAddress *addr, Error **errp)
{
    if (addr->type == SOCKET_ADDRESS_TYPE_VSOCK) {
        error_setg(errp, "vsock address 'vsock:%s:%s' is not supported",
                   addr->u.vsock.cid, addr->u.vsock.port);
        return true;
    }
    if ((unsigned)addr->type >= SOCKET_ADDRESS_TYPE__MAX) {
        error_setg(errp, "invalid socket address type %d", addr->type);
        return true;
    }
    return false;
}

int socket_listen(SocketAddress *addr, int num, Error **errp)
{
    num = MAX(num, 1);
    if (reject_vsock(addr, errp)) {
        return -1;
    }
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return inet_listen_saddr(&addr->u.inet, num, errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return unix_listen_saddr(&addr->u.q_unix, num, errp);
    default:
        return fd_listen(addr->u.fd.str, num, errp);
    }
}

int socket_connect(SocketAddress *addr, Error **errp)
{
    bool owned;

    if (reject_vsock(addr, errp)) {
        return -1;
    }
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return inet_connect_saddr(&addr->u.inet, errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return unix_connect_saddr(&addr->u.q_unix, errp);
    default:
        return socket_get_fd(addr->u.fd.str, &owned, errp);
    }
}

/* ---- datagrams ---------------------------------------------------------- */

static int dgram_unix(UnixSocketAddress *remote, UnixSocketAddress *local,
                      Error **errp)
{
    struct sockaddr_un un;
    socklen_t len;
    int fd = qemu_socket(AF_UNIX, SOCK_DGRAM, 0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not create UNIX socket");
        return -1;
    }
    if (local) {
        if (!unix_sockaddr(local, &un, &len, errp)) {
            goto fail;
        }
        if (!(local->has_abstract && local->abstract)) {
            unlink_stale(local->path);
        }
        if (bind(fd, (struct sockaddr *)&un, len) < 0) {
            error_setg_errno(errp, errno, "could not bind UNIX socket '%s'",
                             local->path);
            goto fail;
        }
    }
    if (!unix_sockaddr(remote, &un, &len, errp)) {
        goto fail;
    }
    if (connect(fd, (struct sockaddr *)&un, len) < 0) {
        error_setg_errno(errp, errno, "could not connect to UNIX socket "
                         "'%s'", remote->path);
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

int socket_dgram(SocketAddress *remote, SocketAddress *local, Error **errp)
{
    if (local && local->type != remote->type) {
        error_setg(errp, "local and remote datagram addresses must be of "
                   "the same type");
        return -1;
    }
    switch (remote->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return inet_dgram_saddr(&remote->u.inet,
                                local ? &local->u.inet : NULL, errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return dgram_unix(&remote->u.q_unix, local ? &local->u.q_unix : NULL,
                          errp);
    default:
        error_setg(errp, "datagram sockets need an inet or unix address, "
                   "not %s", SocketAddressType_str(remote->type));
        return -1;
    }
}
