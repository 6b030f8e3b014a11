/*
 * Socket addresses and the socket system calls behind them.
 *
 * SocketAddress is QEMU's QAPI union written as plain C: one of a TCP
 * host and port (INET), a UNIX socket path or abstract name (UNIX), a
 * vsock CID and port (VSOCK, declared for completeness but not
 * implemented: every function rejects it with an error) or an already
 * open socket file descriptor given by number or name (FD).
 *
 * The text form users type is what socket_parse() reads:
 *
 *     host:port          TCP; host is a name, an IPv4 address or empty
 *     [v6addr]:port      TCP over IPv6 (brackets are required)
 *     :port              TCP on every local address (listen only)
 *     tcp:ADDR           the same as ADDR
 *     unix:/path         UNIX socket in the file system
 *     unix:@name         UNIX socket in Linux's abstract namespace
 *     fd:N / fd:name     an inherited socket, by number or by name
 *
 * TCP addresses take options after a comma: ",to=PORT" (listen on the
 * first free port of PORT..to), ",ipv4[=on|off]", ",ipv6[=on|off]",
 * ",keep-alive[=on|off]", ",numeric[=on|off]" (the host is a literal
 * address: no DNS).  UNIX addresses take ",abstract[=on|off]" and
 * ",tight[=on|off]".  Option values are on/off, yes/no or true/false; a
 * bare option name means on.  An explicit ",abstract=off" keeps a path
 * that starts with '@' in the file system.
 *
 * All functions are thread-safe (they keep no state besides the named-fd
 * hook, which is set once at start-up) and may block: listen and connect
 * resolve host names and connect synchronously.  Call them from a worker
 * thread (QIOTask) or at start-up, never from an event loop callback
 * that must not stall.  Every descriptor they create has FD_CLOEXEC set.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QEMU_SOCKETS_H
#define QEMU_SOCKETS_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include <sys/socket.h>

typedef enum SocketAddressType {
    SOCKET_ADDRESS_TYPE_INET,
    SOCKET_ADDRESS_TYPE_UNIX,
    SOCKET_ADDRESS_TYPE_VSOCK,
    SOCKET_ADDRESS_TYPE_FD,
    SOCKET_ADDRESS_TYPE__MAX,
} SocketAddressType;

/*
 * A TCP address.  @host may be a name or a numeric address (IPv6 without
 * brackets); empty means "any address" for listening.  @port is a number
 * or a service name.  Each optional member has a has_ flag that says
 * whether it was given; an absent member takes the default noted here.
 */
typedef struct InetSocketAddress {
    char *host;
    char *port;
    bool has_numeric;
    bool numeric;       /* host is a literal address (default off) */
    bool has_to;
    uint16_t to;        /* listen: highest port to try (default: port) */
    bool has_ipv4;
    bool ipv4;          /* allow IPv4 (default: both families) */
    bool has_ipv6;
    bool ipv6;          /* allow IPv6 (default: both families) */
    bool has_keep_alive;
    bool keep_alive;    /* connect: set SO_KEEPALIVE (default off) */
} InetSocketAddress;

/*
 * A UNIX socket.  With @abstract, @path is a name in Linux's abstract
 * namespace (no file); @tight (default on) makes the address length
 * cover just the name, as most programs expect, while tight=off pads it
 * to the whole sun_path array.
 */
typedef struct UnixSocketAddress {
    char *path;
    bool has_abstract;
    bool abstract;
    bool has_tight;
    bool tight;
} UnixSocketAddress;

/* A vsock address (not supported by this build; see above). */
typedef struct VsockSocketAddress {
    char *cid;
    char *port;
} VsockSocketAddress;

/* QAPI's boxed string: the number or name of an FD address. */
typedef struct String {
    char *str;
} String;

typedef struct SocketAddress {
    SocketAddressType type;
    union {
        InetSocketAddress inet;
        UnixSocketAddress q_unix;
        VsockSocketAddress vsock;
        String fd;
    } u;
} SocketAddress;

/* Free @addr and the strings it owns; NULL is ignored. */
void qapi_free_SocketAddress(SocketAddress *addr);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SocketAddress, qapi_free_SocketAddress)

/* A deep copy of @addr (QEMU spells this QAPI_CLONE(SocketAddress, a)). */
SocketAddress *socket_address_clone(const SocketAddress *addr);

/* The lower-case name of @type ("inet", "unix", "vsock", "fd"). */
const char *SocketAddressType_str(SocketAddressType type);

/* ---- text forms --------------------------------------------------------- */

/*
 * Parse @str in one of the forms listed at the top of this file.
 * Returns a new address (free with qapi_free_SocketAddress), or NULL with
 * a one-line error naming what is wrong ("address 'x' is missing a
 * port", "port 'abc' is not a number", ...).  Purely syntactic: nothing
 * is resolved and no fd is checked.
 */
SocketAddress *socket_parse(const char *str, Error **errp);

/*
 * Parse the TCP part of an address (everything after an optional "tcp:"
 * prefix) into @addr, which the caller provides zeroed and later frees
 * the members of.  Returns 0, or -1 with an error (then @addr holds
 * nothing that needs freeing).
 */
int inet_parse(InetSocketAddress *addr, const char *str, Error **errp);

/*
 * @addr in the form socket_parse() reads back to an equal address:
 * "host:port" ("[v6]:port"), "unix:/path", "unix:@name", "fd:N", with
 * the options that were set and are not implied by the host literal.
 * Returns a new string (g_free).
 */
char *socket_address_to_string(const SocketAddress *addr);

/*
 * A short URI-like description of @addr for messages, as QEMU prints it:
 * "tcp:host:port", "unix:path", "fd:N", "vsock:cid:port".  Options are
 * left out.  Returns a new string (g_free).
 */
char *socket_uri(SocketAddress *addr);

/* ---- descriptors -------------------------------------------------------- */

/* Whether @fd is an open descriptor that refers to a socket. */
bool fd_is_socket(int fd);

/*
 * socket(2) with FD_CLOEXEC set atomically.  Returns the fd, or -1 with
 * errno set.
 */
int qemu_socket(int domain, int type, int protocol);

/*
 * accept(2) of one connection from listening socket @s, with FD_CLOEXEC
 * set on the new fd.  Does not retry EINTR.  Returns the fd, or -1 with
 * errno set (EAGAIN when @s is non-blocking and no client is waiting).
 */
int qemu_accept(int s, struct sockaddr *addr, socklen_t *addrlen);

/* Set (@v != 0) or clear TCP_CORK on @fd.  Returns 0, or -1 with errno. */
int socket_set_cork(int fd, int v);

/* Set TCP_NODELAY on @fd.  Returns 0, or -1 with errno. */
int socket_set_nodelay(int fd);

/* Set SO_REUSEADDR on @fd so a restarted server can bind at once. */
int socket_set_fast_reuse(int fd);

/*
 * The named-fd hook: resolves the name in an "fd:name" address to an open
 * descriptor that the caller then owns (the daemon's control socket
 * installs one that hands out fds received with its getfd command).
 * Returns the fd, or -1 with an error.
 */
typedef int SocketNamedFdFunc(const char *name, Error **errp);

/*
 * Install @fn as the named-fd hook (NULL removes it).  Call it at
 * start-up, before any thread may parse an "fd:name" address.
 */
void socket_set_named_fd_func(SocketNamedFdFunc *fn);

/*
 * Turn an FD address that names its descriptor into one that gives the
 * number, by asking the named-fd hook (which hands the fd over to the
 * address: the socket function that uses it takes ownership).  Other
 * addresses and numeric fds are left alone.  Returns 0, or -1 with an
 * error (no hook installed, unknown name).
 */
int socket_address_parse_named_fd(SocketAddress *addr, Error **errp);

/*
 * Open a listening stream socket on @addr with a backlog of @num (values
 * below 1 become 1).  May block in DNS.
 *
 * INET: the host is resolved and the addresses are tried in order until
 * one binds (one socket: to listen on every address a name resolves to,
 * use a QIONetListener or socket_address_resolve_listen()); with ",to="
 * each port of the range is tried in turn.  An
 * empty host or "::" makes one dual-stack socket (IPv6 with IPv4-mapped
 * addresses), or an IPv4 socket where IPv6 is missing or ipv6=off.
 * Port 0 picks a free port: ask socket_local_address() which.
 * UNIX: a stale socket file left at the path is removed first (any other
 * kind of file is left alone and the bind fails); an empty path picks a
 * fresh name in $TMPDIR.
 * FD: the descriptor is taken over (closed when the caller closes the
 * result) and put in listening mode; it must be a stream socket.
 *
 * Returns the listening fd (blocking, close-on-exec), or -1 with an
 * error that names the address.
 */
int socket_listen(SocketAddress *addr, int num, Error **errp);

/*
 * The addresses a service listening on @addr opens one socket each for
 * (QEMU's DNS resolver does this for its net listener).  A TCP address
 * with a host gives one copy per distinct address the host resolves to,
 * in resolver order, with a numeric host and only the families its
 * ipv4/ipv6 flags allow.  When both IPv4 and IPv6 addresses come, each
 * copy allows just its own family, so the IPv6 sockets are v6-only and
 * can share a port with the IPv4 ones.  Any other address (an empty
 * host, UNIX, FD) gives a single copy.  May block in DNS.
 *
 * Returns an array of SocketAddress (it frees them; g_ptr_array_unref),
 * or NULL with an error (the host does not resolve, or to no address of
 * an allowed family).
 */
GPtrArray *socket_address_resolve_listen(const SocketAddress *addr,
                                         Error **errp);

/*
 * Connect a stream socket to @addr, blocking until connected.  INET tries
 * every address the host resolves to, in order, and sets SO_KEEPALIVE
 * with keep-alive=on; an empty host is an error.  FD hands back the
 * descriptor itself (taken over as in socket_listen) once it is checked
 * to be a socket.  Returns the connected fd (blocking), or -1 with an
 * error that names the address.
 */
int socket_connect(SocketAddress *addr, Error **errp);

/*
 * A datagram socket bound to @local (if not NULL) and connected to
 * @remote.  INET and UNIX only.  Returns the fd or -1 with an error.
 */
int socket_dgram(SocketAddress *remote, SocketAddress *local, Error **errp);

/* socket_connect() for one TCP address. */
int inet_connect_saddr(InetSocketAddress *saddr, Error **errp);

/* Parse @str with inet_parse() and connect to it. */
int inet_connect(const char *str, Error **errp);

/* socket_listen() / socket_connect() for the UNIX socket at @path. */
int unix_listen(const char *path, Error **errp);
int unix_connect(const char *path, Error **errp);

/*
 * If @fd is a listening UNIX socket bound to a file system path, remove
 * that file (call it before closing the listener).  Any other socket is
 * left alone.  Returns true, or false with an error if the file could
 * not be removed (a file already gone is not an error).
 */
bool socket_listen_cleanup(int fd, Error **errp);

/* ---- addresses of open sockets ----------------------------------------- */

/*
 * Describe the socket address @sa (@salen bytes) as a SocketAddress:
 * INET with a numeric host and port (and the ipv4 or ipv6 flag set to
 * say which family), or UNIX with the path or abstract name (an unnamed
 * UNIX socket gives an empty path).  Returns a new address, or NULL with
 * an error for other families.
 */
SocketAddress *socket_sockaddr_to_address(struct sockaddr_storage *sa,
                                          socklen_t salen,
                                          Error **errp);

/* The address @fd is bound to, or NULL with an error. */
SocketAddress *socket_local_address(int fd, Error **errp);

/* The address of @fd's peer, or NULL with an error (e.g. not connected). */
SocketAddress *socket_remote_address(int fd, Error **errp);

#endif /* QEMU_SOCKETS_H */
