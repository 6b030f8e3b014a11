/*
 * TCP and UDP over IPv4 and IPv6: resolving a host and port into the
 * addresses to bind or connect, and the blocking listen and connect
 * calls on them.
 *
 * What this file does not do: event-loop integration or asynchronous DNS
 * (callers run these calls in a QIOTask worker thread), or keeping
 * several sockets: socket_listen() makes one descriptor, and the net
 * listener opens one per address socket_address_resolve_listen() gives.
 *
 * Key invariant: every descriptor is close-on-exec from the start, and no
 * function leaves a half-made descriptor open on failure.  A v6 socket is
 * v6-only unless it is the one wildcard socket meant to take IPv4 too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include "sockets-priv.h"
#include <netdb.h>
#include <netinet/in.h>

/* ---- resolving ---------------------------------------------------------- */

/* The address family @addr's ipv4/ipv6 flags allow, or -1 with an error. */
static int inet_family(const InetSocketAddress *addr, Error **errp)
{
    bool v4 = !addr->has_ipv4 || addr->ipv4;
    bool v6 = !addr->has_ipv6 || addr->ipv6;

    /* Naming just one family ("ipv4=on") means only that one. */
    if (addr->has_ipv4 && addr->ipv4 && !addr->has_ipv6) {
        v6 = false;
    }
    if (addr->has_ipv6 && addr->ipv6 && !addr->has_ipv4) {
        v4 = false;
    }
    if (!v4 && !v6) {
        error_setg(errp, "address '%s' turns off both IPv4 and IPv6",
                   addr->host);
        return -1;
    }
    return v4 && v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;
}

static char *inet_name(const InetSocketAddress *in)
{
    return g_strdup_printf(strchr(in->host, ':') ? "[%s]:%s" : "%s:%s",
                           in->host, in->port);
}

/* One address a listener may bind, without its port. */
typedef struct BindCandidate {
    struct sockaddr_storage ss;
    socklen_t len;
    bool v6only;
} BindCandidate;

static void set_port(BindCandidate *c, uint16_t port)
{
    if (c->ss.ss_family == AF_INET) {
        ((struct sockaddr_in *)&c->ss)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)&c->ss)->sin6_port = htons(port);
    }
}

static void add_wildcard(GArray *out, int family, bool v6only)
{
    BindCandidate c = { .v6only = v6only };

    c.ss.ss_family = family;
    if (family == AF_INET) {
        ((struct sockaddr_in *)&c.ss)->sin_addr.s_addr = htonl(INADDR_ANY);
        c.len = sizeof(struct sockaddr_in);
    } else {
        ((struct sockaddr_in6 *)&c.ss)->sin6_addr = in6addr_any;
        c.len = sizeof(struct sockaddr_in6);
    }
    g_array_append_val(out, c);
}

/* getaddrinfo() of @in's host for binding, in @family; false with an error. */
static bool lookup_passive(const InetSocketAddress *in, int family,
                           struct addrinfo **res, Error **errp)
{
    struct addrinfo hints = {
        .ai_family = family,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | (in->numeric ? AI_NUMERICHOST : 0),
    };
    int rc = getaddrinfo(in->host, NULL, &hints, res);

    if (rc != 0) {
        error_setg(errp, "could not resolve host '%s': %s", in->host,
                   gai_strerror(rc));
        return false;
    }
    return true;
}

/*
 * The addresses @host resolves to, in resolver order.  A v6 wildcard
 * ("::") also takes IPv4 connections unless IPv4 is turned off; other
 * v6 addresses are v6-only.  Returns false with an error.
 */
static bool resolve_bind(const InetSocketAddress *in, int family,
                         GArray *out, Error **errp)
{
    struct addrinfo *res;

    if (!in->host[0]) {
        if (family != AF_INET) {
            add_wildcard(out, AF_INET6, family == AF_INET6);
        }
        if (family != AF_INET6) {
            add_wildcard(out, AF_INET, false);
        }
        return true;
    }
    if (!lookup_passive(in, family, &res, errp)) {
        return false;
    }
    for (struct addrinfo *e = res; e; e = e->ai_next) {
        BindCandidate c = { .len = e->ai_addrlen };
        const struct sockaddr_in6 *s6 = (void *)e->ai_addr;

        memcpy(&c.ss, e->ai_addr, e->ai_addrlen);
        c.v6only = e->ai_family == AF_INET6 && (family == AF_INET6 ||
                   !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
        g_array_append_val(out, c);
    }
    freeaddrinfo(res);
    return true;
}

/* A numeric port, or a service name looked up in /etc/services. */
static bool resolve_port(const char *port, uint16_t *out, Error **errp)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res;
    unsigned long v;

    if (socket_parse_uint(port, 65535, &v)) {
        *out = v;
        return true;
    }
    if (getaddrinfo(NULL, port, &hints, &res) != 0) {
        error_setg(errp, "port '%s' is not a number or a known service",
                   port);
        return false;
    }
    *out = ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port);
    freeaddrinfo(res);
    return true;
}

/* @addr with the numeric @host and, if @only, just @family allowed. */
static SocketAddress *inet_variant(const SocketAddress *addr,
                                   const char *host, int family, bool only)
{
    SocketAddress *res = socket_address_clone(addr);
    InetSocketAddress *in = &res->u.inet;

    g_free(in->host);
    in->host = g_strdup(host);
    in->has_numeric = in->numeric = true;
    if (only) {
        in->has_ipv4 = in->has_ipv6 = true;
        in->ipv4 = family == AF_INET;
        in->ipv6 = family == AF_INET6;
    }
    return res;
}

/*
 * The distinct numeric addresses @in's host resolves to, of the families
 * it allows, in resolver order; each one's family goes to @families.
 */
static GPtrArray *resolve_hosts(const InetSocketAddress *in, GArray *families,
                                Error **errp)
{
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(g_free);
    int family = inet_family(in, errp);
    struct addrinfo *res;

    /* All families, filtered below: so a wrong family is told as such. */
    if (family < 0 || !lookup_passive(in, AF_UNSPEC, &res, errp)) {
        return NULL;
    }
    for (struct addrinfo *e = res; e; e = e->ai_next) {
        char host[NI_MAXHOST];

        if ((family != AF_UNSPEC && e->ai_family != family) ||
            getnameinfo(e->ai_addr, e->ai_addrlen, host, sizeof(host),
                        NULL, 0, NI_NUMERICHOST) != 0 ||
            g_ptr_array_find_with_equal_func(hosts, host, g_str_equal,
                                             NULL)) {
            continue;
        }
        g_ptr_array_add(hosts, g_strdup(host));
        g_array_append_val(families, e->ai_family);
    }
    freeaddrinfo(res);
    if (!hosts->len) {
        error_setg(errp, "host '%s' has no address of the allowed family",
                   in->host);
        return NULL;
    }
    return g_steal_pointer(&hosts);
}

GPtrArray *socket_address_resolve_listen(const SocketAddress *addr,
                                         Error **errp)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qapi_free_SocketAddress);
    g_autoptr(GArray) families = g_array_new(false, false, sizeof(int));
    g_autoptr(GPtrArray) hosts = NULL;
    bool mixed = false;

    if (addr->type != SOCKET_ADDRESS_TYPE_INET || !addr->u.inet.host[0]) {
        g_ptr_array_add(out, socket_address_clone(addr));
        return out;
    }
    hosts = resolve_hosts(&addr->u.inet, families, errp);
    if (!hosts) {
        g_ptr_array_unref(out);
        return NULL;
    }
    for (guint i = 1; i < families->len; i++) {
        mixed |= g_array_index(families, int, i) !=
                 g_array_index(families, int, 0);
    }
    /* Both families: each socket keeps to its own, so v6 is v6-only. */
    for (guint i = 0; i < hosts->len; i++) {
        g_ptr_array_add(out, inet_variant(addr, hosts->pdata[i],
                                          g_array_index(families, int, i),
                                          mixed));
    }
    return out;
}

/* ---- listening ---------------------------------------------------------- */

/* Bind and listen on @c; returns the fd or -errno. */
static int try_bind(BindCandidate *c, int num)
{
    int v6only = c->v6only;
    int fd = qemu_socket(c->ss.ss_family, SOCK_STREAM, 0);
    int err;

    if (fd < 0) {
        return -errno;
    }
    socket_set_fast_reuse(fd);
    if (c->ss.ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                   sizeof(v6only)) < 0) {
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&c->ss, c->len) < 0 ||
        listen(fd, num) < 0) {
        goto fail;
    }
    return fd;

fail:
    err = errno;
    close(fd);
    return -err;
}

int inet_listen_saddr(InetSocketAddress *in, int num, Error **errp)
{
    g_autoptr(GArray) cands = g_array_new(false, true, sizeof(BindCandidate));
    g_autofree char *name = inet_name(in);
    int family = inet_family(in, errp);
    uint16_t port, last;
    int fd = -EADDRNOTAVAIL;

    if (family < 0 || !resolve_port(in->port, &port, errp) ||
        !resolve_bind(in, family, cands, errp)) {
        return -1;
    }
    last = in->has_to && in->to > port ? in->to : port;
    for (unsigned p = port; p <= last; p++) {
        for (guint i = 0; i < cands->len; i++) {
            BindCandidate *c = &g_array_index(cands, BindCandidate, i);

            set_port(c, p);
            fd = try_bind(c, num);
            if (fd >= 0) {
                return fd;
            }
        }
    }
    error_setg_errno(errp, -fd, "could not listen on '%s'", name);
    return -1;
}

/* ---- connecting --------------------------------------------------------- */

static void set_keep_alive(int fd, const InetSocketAddress *in)
{
    int on = 1;

    if (in->has_keep_alive && in->keep_alive) {
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    }
}

/* Try each resolved address in turn; returns the fd or -errno. */
static int connect_any(const struct addrinfo *res, int type)
{
    int err = -EHOSTUNREACH;

    for (const struct addrinfo *e = res; e; e = e->ai_next) {
        int fd = qemu_socket(e->ai_family, type, 0);

        if (fd < 0) {
            err = -errno;
            continue;
        }
        err = socket_connect_retry(fd, e->ai_addr, e->ai_addrlen);
        if (err == 0) {
            return fd;
        }
        close(fd);
    }
    return err;
}

static struct addrinfo *resolve_connect(const InetSocketAddress *in,
                                        int type, Error **errp)
{
    struct addrinfo hints = {
        .ai_socktype = type,
        .ai_flags = in->has_numeric && in->numeric ? AI_NUMERICHOST : 0,
    };
    struct addrinfo *res;
    int rc;

    hints.ai_family = inet_family(in, errp);
    if (hints.ai_family < 0) {
        return NULL;
    }
    if (!in->host[0]) {
        error_setg(errp, "address ':%s' needs a host to connect to",
                   in->port);
        return NULL;
    }
    rc = getaddrinfo(in->host, in->port, &hints, &res);
    if (rc != 0) {
        error_setg(errp, "could not resolve '%s:%s': %s", in->host,
                   in->port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

int inet_connect_saddr(InetSocketAddress *saddr, Error **errp)
{
    struct addrinfo *res = resolve_connect(saddr, SOCK_STREAM, errp);
    g_autofree char *name = NULL;
    int fd;

    if (!res) {
        return -1;
    }
    fd = connect_any(res, SOCK_STREAM);
    freeaddrinfo(res);
    if (fd < 0) {
        name = inet_name(saddr);
        error_setg_errno(errp, -fd, "could not connect to '%s'", name);
        return -1;
    }
    set_keep_alive(fd, saddr);
    return fd;
}

int inet_connect(const char *str, Error **errp)
{
    InetSocketAddress in = { 0 };
    int fd;

    if (inet_parse(&in, str, errp) < 0) {
        return -1;
    }
    fd = inet_connect_saddr(&in, errp);
    g_free(in.host);
    g_free(in.port);
    return fd;
}

/* ---- datagrams ---------------------------------------------------------- */

/* Bind @fd to @local (same family as @fd); false with an error. */
static bool dgram_bind_inet(int fd, int family, InetSocketAddress *local,
                            Error **errp)
{
    g_autoptr(GArray) cands = g_array_new(false, true, sizeof(BindCandidate));
    uint16_t port;

    if (!resolve_port(local->port, &port, errp) ||
        !resolve_bind(local, family, cands, errp)) {
        return false;
    }
    for (guint i = 0; i < cands->len; i++) {
        BindCandidate *c = &g_array_index(cands, BindCandidate, i);

        set_port(c, port);
        if (c->ss.ss_family == family &&
            bind(fd, (struct sockaddr *)&c->ss, c->len) == 0) {
            return true;
        }
    }
    error_setg(errp, "could not bind to '%s:%s'", local->host, local->port);
    return false;
}

int inet_dgram_saddr(InetSocketAddress *remote, InetSocketAddress *local,
                     Error **errp)
{
    struct addrinfo *res = resolve_connect(remote, SOCK_DGRAM, errp);
    int fd;

    if (!res) {
        return -1;
    }
    fd = qemu_socket(res->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "could not create UDP socket");
        goto out;
    }
    if (local && !dgram_bind_inet(fd, res->ai_family, local, errp)) {
        goto fail;
    }
    if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        error_setg_errno(errp, errno, "could not connect to '%s:%s'",
                         remote->host, remote->port);
        goto fail;
    }
    goto out;

fail:
    close(fd);
    fd = -1;
out:
    freeaddrinfo(res);
    return fd;
}

