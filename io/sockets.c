/*
 * Socket addresses: parsing the strings users type, printing them back,
 * and the blocking listen/connect calls that turn them into descriptors.
 *
 * What this file does not do: any event-loop integration (that is the
 * socket channel and the net listener) or asynchronous DNS (callers run
 * the blocking calls in a QIOTask worker thread).  VSOCK addresses parse
 * but every socket call rejects them.
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
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

/* Longest UNIX name: sun_path less the NUL (file) or the leading NUL. */
#define UNIX_NAME_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static SocketNamedFdFunc *named_fd_func;

/* ---- allocation --------------------------------------------------------- */

static void free_members(SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        g_free(addr->u.inet.host);
        g_free(addr->u.inet.port);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        g_free(addr->u.q_unix.path);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        g_free(addr->u.vsock.cid);
        g_free(addr->u.vsock.port);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        g_free(addr->u.fd.str);
        break;
    default:
        break;
    }
}

void qapi_free_SocketAddress(SocketAddress *addr)
{
    if (addr) {
        free_members(addr);
        g_free(addr);
    }
}

SocketAddress *socket_address_clone(const SocketAddress *addr)
{
    SocketAddress *copy = g_new(SocketAddress, 1);

    *copy = *addr;

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        copy->u.inet.host = g_strdup(addr->u.inet.host);
        copy->u.inet.port = g_strdup(addr->u.inet.port);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        copy->u.q_unix.path = g_strdup(addr->u.q_unix.path);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        copy->u.vsock.cid = g_strdup(addr->u.vsock.cid);
        copy->u.vsock.port = g_strdup(addr->u.vsock.port);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        copy->u.fd.str = g_strdup(addr->u.fd.str);
        break;
    default:
        break;
    }
    return copy;
}

const char *SocketAddressType_str(SocketAddressType type)
{
    static const char *const names[] = {
        [SOCKET_ADDRESS_TYPE_INET] = "inet",
        [SOCKET_ADDRESS_TYPE_UNIX] = "unix",
        [SOCKET_ADDRESS_TYPE_VSOCK] = "vsock",
        [SOCKET_ADDRESS_TYPE_FD] = "fd",
    };

    if ((unsigned)type >= ARRAY_SIZE(names)) {
        return "invalid";
    }
    return names[type];
}

/* ---- parsing ------------------------------------------------------------ */

/* Parse a decimal number in [0, max] with nothing around it. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    if (!g_ascii_isdigit(s[0])) {
        return false;
    }
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *out <= max;
}

static bool parse_port(const char *whole, const char *port, uint16_t *out,
                       Error **errp)
{
    unsigned long v;

    if (!port[0]) {
        error_setg(errp, "address '%s' is missing a port", whole);
        return false;
    }
    if (!g_ascii_isdigit(port[0]) || port[strspn(port, "0123456789")]) {
        error_setg(errp, "port '%s' is not a number", port);
        return false;
    }
    if (!parse_uint(port, 65535, &v)) {
        error_setg(errp, "port '%s' is out of range (0-65535)", port);
        return false;
    }
    *out = v;
    return true;
}

/* On/off option values; @val NULL (a bare option name) means on. */
static bool parse_onoff(const char *whole, const char *key, const char *val,
                        bool *out, Error **errp)
{
    static const char *const on[] = { "on", "yes", "true" };
    static const char *const off[] = { "off", "no", "false" };

    if (!val) {
        *out = true;
        return true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
        if (!strcmp(val, on[i]) || !strcmp(val, off[i])) {
            *out = !strcmp(val, on[i]);
            return true;
        }
    }
    error_setg(errp, "option '%s' in address '%s' must be on or off, not '%s'",
               key, whole, val);
    return false;
}

static bool inet_option(InetSocketAddress *addr, const char *whole,
                        const char *key, const char *val, Error **errp)
{
    if (!strcmp(key, "to")) {
        unsigned long to;

        if (!val || !parse_uint(val, 65535, &to)) {
            error_setg(errp, "option 'to' in address '%s' needs a port "
                       "number (0-65535)", whole);
            return false;
        }
        addr->has_to = true;
        addr->to = to;
        return true;
    }
    if (!strcmp(key, "ipv4")) {
        addr->has_ipv4 = true;
        return parse_onoff(whole, key, val, &addr->ipv4, errp);
    }
    if (!strcmp(key, "ipv6")) {
        addr->has_ipv6 = true;
        return parse_onoff(whole, key, val, &addr->ipv6, errp);
    }
    if (!strcmp(key, "keep-alive")) {
        addr->has_keep_alive = true;
        return parse_onoff(whole, key, val, &addr->keep_alive, errp);
    }
    if (!strcmp(key, "numeric")) {
        addr->has_numeric = true;
        return parse_onoff(whole, key, val, &addr->numeric, errp);
    }
    error_setg(errp, "unknown option '%s' in address '%s'", key, whole);
    return false;
}

/* Apply "key[=value],..." from @opts (NULL: none). */
static bool inet_options(InetSocketAddress *addr, const char *whole,
                         const char *opts, Error **errp)
{
    g_auto(GStrv) list = NULL;

    if (!opts) {
        return true;
    }
    list = g_strsplit(opts, ",", -1);
    for (char **p = list; *p || p == list; p++) {
        char *eq = *p ? strchr(*p, '=') : NULL;

        if (eq) {
            *eq = '\0';
        }
        if (!*p || !**p) {
            error_setg(errp, "address '%s' has an empty option", whole);
            return false;
        }
        if (!inet_option(addr, whole, *p, eq ? eq + 1 : NULL, errp)) {
            return false;
        }
    }
    return true;
}

/* Split "host:port" or "[v6]:port" into freshly allocated parts. */
static bool split_host_port(const char *whole, const char *hp, char **host,
                            char **port, Error **errp)
{
    const char *colon;

    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');

        if (!close) {
            error_setg(errp, "address '%s' is missing ']' after the IPv6 "
                       "host", whole);
            return false;
        }
        if (close == hp + 1) {
            error_setg(errp, "address '%s' has an empty IPv6 host", whole);
            return false;
        }
        if (close[1] != ':') {
            error_setg(errp, close[1] ? "address '%s' needs ':' after ']'"
                       : "address '%s' is missing a port", whole);
            return false;
        }
        *host = g_strndup(hp + 1, close - hp - 1);
        *port = g_strdup(close + 2);
        return true;
    }
    colon = strrchr(hp, ':');
    if (!colon) {
        error_setg(errp, "address '%s' is missing a port", whole);
        return false;
    }
    if (memchr(hp, ':', colon - hp)) {
        error_setg(errp, "address '%s' has an IPv6 host without brackets; "
                   "write it as [host]:port", whole);
        return false;
    }
    *host = g_strndup(hp, colon - hp);
    *port = g_strdup(colon + 1);
    return true;
}

int inet_parse(InetSocketAddress *addr, const char *str, Error **errp)
{
    const char *comma = strchr(str, ',');
    g_autofree char *hp = g_strndup(str, comma ? comma - str : strlen(str));
    g_autofree char *host = NULL;
    g_autofree char *port = NULL;
    InetSocketAddress res = { 0 };
    uint16_t portnum;

    if (!split_host_port(str, hp, &host, &port, errp) ||
        !parse_port(str, port, &portnum, errp) ||
        !inet_options(&res, str, comma ? comma + 1 : NULL, errp)) {
        return -1;
    }
    if (res.has_to && res.to < portnum) {
        error_setg(errp, "option 'to=%u' in address '%s' is below the port",
                   res.to, str);
        return -1;
    }
    if (res.has_ipv4 && !res.ipv4 && res.has_ipv6 && !res.ipv6) {
        error_setg(errp, "address '%s' turns off both IPv4 and IPv6", str);
        return -1;
    }
    res.host = g_steal_pointer(&host);
    res.port = g_steal_pointer(&port);
    *addr = res;
    return 0;
}

/* If @s ends in ",abstract[=..]" or ",tight[=..]", return that comma. */
static char *trailing_unix_option(char *s)
{
    char *comma = strrchr(s, ',');
    size_t klen;

    if (!comma) {
        return NULL;
    }
    klen = strcspn(comma + 1, "=");
    if ((klen == 8 && !strncmp(comma + 1, "abstract", 8)) ||
        (klen == 5 && !strncmp(comma + 1, "tight", 5))) {
        return comma;
    }
    return NULL;
}

/* Strip the trailing UNIX options off @path (modified in place). */
static bool unix_options(UnixSocketAddress *u, const char *whole, char *path,
                         Error **errp)
{
    char *comma;

    while ((comma = trailing_unix_option(path))) {
        char *key = comma + 1;
        char *eq = strchr(key, '=');
        bool *flag = key[0] == 'a' ? &u->abstract : &u->tight;
        bool *has = key[0] == 'a' ? &u->has_abstract : &u->has_tight;

        *comma = '\0';
        if (eq) {
            *eq = '\0';
        }
        if (*has) {
            continue;   /* the last occurrence wins */
        }
        *has = true;
        if (!parse_onoff(whole, key, eq ? eq + 1 : NULL, flag, errp)) {
            return false;
        }
    }
    return true;
}

static bool unix_parse(UnixSocketAddress *u, const char *whole,
                       const char *rest, Error **errp)
{
    g_autofree char *path = g_strdup(rest);
    UnixSocketAddress res = { 0 };

    if (!unix_options(&res, whole, path, errp)) {
        return false;
    }
    if (path[0] == '@' && !(res.has_abstract && !res.abstract)) {
        memmove(path, path + 1, strlen(path));
        res.has_abstract = res.abstract = true;
        if (!path[0]) {
            error_setg(errp, "address '%s' is missing an abstract name",
                       whole);
            return false;
        }
    }
    if (!path[0]) {
        error_setg(errp, "address '%s' is missing a path", whole);
        return false;
    }
    if (strlen(path) > UNIX_NAME_MAX) {
        error_setg(errp, "UNIX socket path '%s' is too long (at most %zu "
                   "bytes)", path, UNIX_NAME_MAX);
        return false;
    }
    res.path = g_steal_pointer(&path);
    *u = res;
    return true;
}

static bool fd_parse(String *fd, const char *whole, const char *rest,
                     Error **errp)
{
    unsigned long v;

    if (!rest[0]) {
        error_setg(errp, "address '%s' is missing a descriptor number or "
                   "name", whole);
        return false;
    }
    if (strchr("+-0123456789", rest[0]) && !parse_uint(rest, INT_MAX, &v)) {
        error_setg(errp, "'%s' in address '%s' is not a valid descriptor "
                   "number", rest, whole);
        return false;
    }
    fd->str = g_strdup(rest);
    return true;
}

static bool vsock_parse(VsockSocketAddress *v, const char *whole,
                        const char *rest, Error **errp)
{
    const char *colon = strchr(rest, ':');

    if (!colon || colon == rest || !colon[1]) {
        error_setg(errp, "address '%s' must be vsock:CID:PORT", whole);
        return false;
    }
    v->cid = g_strndup(rest, colon - rest);
    v->port = g_strdup(colon + 1);
    return true;
}

SocketAddress *socket_parse(const char *str, Error **errp)
{
    g_autoptr(SocketAddress) addr = g_new0(SocketAddress, 1);
    bool ok;

    if (g_str_has_prefix(str, "unix:")) {
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        ok = unix_parse(&addr->u.q_unix, str, str + 5, errp);
    } else if (g_str_has_prefix(str, "fd:")) {
        addr->type = SOCKET_ADDRESS_TYPE_FD;
        ok = fd_parse(&addr->u.fd, str, str + 3, errp);
    } else if (g_str_has_prefix(str, "vsock:")) {
        addr->type = SOCKET_ADDRESS_TYPE_VSOCK;
        ok = vsock_parse(&addr->u.vsock, str, str + 6, errp);
    } else {
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        if (!str[0]) {
            error_setg(errp, "socket address is empty");
            return NULL;
        }
        ok = inet_parse(&addr->u.inet, g_str_has_prefix(str, "tcp:") ?
                        str + 4 : str, errp) == 0;
    }
    return ok ? g_steal_pointer(&addr) : NULL;
}

/* ---- printing ----------------------------------------------------------- */

static void append_flag(GString *s, const char *key, bool has, bool val)
{
    if (has) {
        g_string_append_printf(s, ",%s=%s", key, val ? "on" : "off");
    }
}

static void inet_to_string(GString *s, const InetSocketAddress *in)
{
    bool v6host = strchr(in->host, ':') != NULL;
    struct in_addr a4;
    bool v4host = inet_pton(AF_INET, in->host, &a4) == 1;

    g_string_append_printf(s, v6host ? "[%s]:%s" : "%s:%s",
                           in->host, in->port);
    if (in->has_to) {
        g_string_append_printf(s, ",to=%u", in->to);
    }
    /* "ipv4=on" on an IPv4 literal (ipv6 on a v6 one) says nothing new. */
    append_flag(s, "ipv4", in->has_ipv4 && !(in->ipv4 && v4host), in->ipv4);
    append_flag(s, "ipv6", in->has_ipv6 && !(in->ipv6 && v6host), in->ipv6);
    append_flag(s, "keep-alive", in->has_keep_alive, in->keep_alive);
    append_flag(s, "numeric", in->has_numeric, in->numeric);
}

static void unix_to_string(GString *s, const UnixSocketAddress *u)
{
    bool abstract = u->has_abstract && u->abstract;

    g_string_append_printf(s, "unix:%s%s", abstract ? "@" : "", u->path);
    if (!abstract && u->path[0] == '@') {
        g_string_append(s, ",abstract=off");
    }
    append_flag(s, "tight", u->has_tight, u->tight);
}

char *socket_address_to_string(const SocketAddress *addr)
{
    GString *s = g_string_new(NULL);

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        inet_to_string(s, &addr->u.inet);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        unix_to_string(s, &addr->u.q_unix);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        g_string_append_printf(s, "vsock:%s:%s", addr->u.vsock.cid,
                               addr->u.vsock.port);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        g_string_append_printf(s, "fd:%s", addr->u.fd.str);
        break;
    default:
        g_string_append(s, "invalid");
        break;
    }
    return g_string_free(s, false);
}

char *socket_uri(SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return g_strdup_printf(strchr(addr->u.inet.host, ':') ?
                               "tcp:[%s]:%s" : "tcp:%s:%s",
                               addr->u.inet.host, addr->u.inet.port);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return g_strdup_printf("unix:%s", addr->u.q_unix.path);
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return g_strdup_printf("vsock:%s:%s", addr->u.vsock.cid,
                               addr->u.vsock.port);
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strdup_printf("fd:%s", addr->u.fd.str);
    default:
        return g_strdup("invalid");
    }
}

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

/*
 * connect(2) that survives EINTR: an interrupted blocking connect goes on
 * in the kernel, so wait for it to finish and read its outcome.
 * Returns 0 or -errno.
 */
static int connect_retry(int fd, const struct sockaddr *sa, socklen_t len)
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

/* The fd an FD address names, checked to be a socket; -1 with an error. */
static int socket_get_fd(const char *str, bool *owned, Error **errp)
{
    SocketNamedFdFunc *fn = qatomic_read(&named_fd_func);
    unsigned long v;
    int fd;

    *owned = false;
    if (parse_uint(str, INT_MAX, &v)) {
        fd = v;
        if (fcntl(fd, F_GETFD) < 0) {
            error_setg(errp, "fd %d is not open", fd);
            return -1;
        }
    } else if (!fn) {
        error_setg(errp, "no descriptor named '%s' (named descriptors need "
                   "a control socket that received them)", str);
        return -1;
    } else if ((fd = fn(str, errp)) < 0) {
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
    SocketNamedFdFunc *fn = qatomic_read(&named_fd_func);
    unsigned long v;
    int fd;

    if (addr->type != SOCKET_ADDRESS_TYPE_FD ||
        parse_uint(addr->u.fd.str, INT_MAX, &v)) {
        return 0;
    }
    if (!fn) {
        error_setg(errp, "no descriptor named '%s' (named descriptors need "
                   "a control socket that received them)", addr->u.fd.str);
        return -1;
    }
    fd = fn(addr->u.fd.str, errp);
    if (fd < 0) {
        return -1;
    }
    g_free(addr->u.fd.str);
    addr->u.fd.str = g_strdup_printf("%d", fd);
    return 0;
}

/* ---- INET --------------------------------------------------------------- */

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

/*
 * The addresses @host resolves to, in resolver order.  A v6 wildcard
 * ("::") also takes IPv4 connections unless IPv4 is turned off; other
 * v6 addresses are v6-only.  Returns false with an error.
 */
static bool resolve_bind(const InetSocketAddress *in, int family,
                         GArray *out, Error **errp)
{
    struct addrinfo hints = {
        .ai_family = family,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | (in->numeric ? AI_NUMERICHOST : 0),
    };
    struct addrinfo *res;
    int rc;

    if (!in->host[0]) {
        if (family != AF_INET) {
            add_wildcard(out, AF_INET6, family == AF_INET6);
        }
        if (family != AF_INET6) {
            add_wildcard(out, AF_INET, false);
        }
        return true;
    }
    rc = getaddrinfo(in->host, NULL, &hints, &res);
    if (rc != 0) {
        error_setg(errp, "could not resolve host '%s': %s", in->host,
                   gai_strerror(rc));
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

    if (parse_uint(port, 65535, &v)) {
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

static int inet_listen_saddr(InetSocketAddress *in, int num, Error **errp)
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
        err = connect_retry(fd, e->ai_addr, e->ai_addrlen);
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

/* ---- UNIX --------------------------------------------------------------- */

static bool unix_sockaddr(const UnixSocketAddress *u, struct sockaddr_un *un,
                          socklen_t *len, Error **errp)
{
    bool abstract = u->has_abstract && u->abstract;
    bool tight = !u->has_tight || u->tight;
    size_t n = strlen(u->path);

    if (n > UNIX_NAME_MAX) {
        error_setg(errp, "UNIX socket path '%s' is too long (at most %zu "
                   "bytes)", u->path, UNIX_NAME_MAX);
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
    err = connect_retry(fd, (struct sockaddr *)&un, len);
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

static int dgram_inet(InetSocketAddress *remote, InetSocketAddress *local,
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

int socket_dgram(SocketAddress *remote, SocketAddress *local, Error **errp)
{
    if (local && local->type != remote->type) {
        error_setg(errp, "local and remote datagram addresses must be of "
                   "the same type");
        return -1;
    }
    switch (remote->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return dgram_inet(&remote->u.inet, local ? &local->u.inet : NULL,
                          errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return dgram_unix(&remote->u.q_unix, local ? &local->u.q_unix : NULL,
                          errp);
    default:
        error_setg(errp, "datagram sockets need an inet or unix address, "
                   "not %s", SocketAddressType_str(remote->type));
        return -1;
    }
}

/* ---- addresses of open sockets ----------------------------------------- */

static SocketAddress *inet_from_sockaddr(struct sockaddr_storage *sa,
                                         socklen_t salen, Error **errp)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    SocketAddress *addr;
    int rc = getnameinfo((struct sockaddr *)sa, salen, host, sizeof(host),
                         serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);

    if (rc != 0) {
        error_setg(errp, "could not format socket address: %s",
                   gai_strerror(rc));
        return NULL;
    }
    addr = g_new0(SocketAddress, 1);
    addr->type = SOCKET_ADDRESS_TYPE_INET;
    addr->u.inet.host = g_strdup(host);
    addr->u.inet.port = g_strdup(serv);
    if (sa->ss_family == AF_INET) {
        addr->u.inet.has_ipv4 = addr->u.inet.ipv4 = true;
    } else {
        addr->u.inet.has_ipv6 = addr->u.inet.ipv6 = true;
    }
    return addr;
}

static SocketAddress *unix_from_sockaddr(struct sockaddr_storage *sa,
                                         socklen_t salen)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t n = salen > off ? MIN(salen - off, sizeof(un->sun_path)) : 0;
    SocketAddress *addr = g_new0(SocketAddress, 1);
    UnixSocketAddress *u = &addr->u.q_unix;

    addr->type = SOCKET_ADDRESS_TYPE_UNIX;
    if (n > 0 && un->sun_path[0] == '\0') {
        const char *name = un->sun_path + 1;
        size_t len = n - 1;

        u->has_abstract = u->abstract = true;
        u->has_tight = true;
        u->tight = salen < sizeof(struct sockaddr_un);
        while (!u->tight && len > 0 && name[len - 1] == '\0') {
            len--;
        }
        u->path = g_strndup(name, len);
    } else {
        u->path = g_strndup(un->sun_path, n);
    }
    return addr;
}

SocketAddress *socket_sockaddr_to_address(struct sockaddr_storage *sa,
                                          socklen_t salen,
                                          Error **errp)
{
    switch (sa->ss_family) {
    case AF_INET:
    case AF_INET6:
        return inet_from_sockaddr(sa, salen, errp);
    case AF_UNIX:
        return unix_from_sockaddr(sa, salen);
    default:
        error_setg(errp, "socket family %d is not supported", sa->ss_family);
        return NULL;
    }
}

SocketAddress *socket_local_address(int fd, Error **errp)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "could not query local address of "
                         "fd %d", fd);
        return NULL;
    }
    return socket_sockaddr_to_address(&ss, len, errp);
}

SocketAddress *socket_remote_address(int fd, Error **errp)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "could not query remote address of "
                         "fd %d", fd);
        return NULL;
    }
    return socket_sockaddr_to_address(&ss, len, errp);
}
