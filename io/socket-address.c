/*
 * Socket addresses as data: allocating and copying SocketAddress,
 * parsing the strings users type (host:port, [v6]:port, unix:/path,
 * unix:@abstract, fd:N, vsock:CID:PORT), printing them back, and
 * describing the address of an open socket.
 *
 * What this file does not do: resolve names or touch a socket other than
 * to ask its address (socket-inet.c and sockets.c make descriptors).
 * Parsing is purely syntactic.
 *
 * Key invariant: socket_address_to_string() of a parsed address parses
 * back to an equal address, and a failed parse leaves nothing to free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include "sockets-priv.h"
#include <netdb.h>
#include <sys/un.h>
#include <arpa/inet.h>

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

/* Also used for ports and fd numbers outside this file: sockets-priv.h. */
bool socket_parse_uint(const char *s, unsigned long max, unsigned long *out)
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
    if (!socket_parse_uint(port, 65535, &v)) {
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

        if (!val || !socket_parse_uint(val, 65535, &to)) {
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
    if (strlen(path) > SOCKET_UNIX_NAME_MAX) {
        error_setg(errp, "UNIX socket path '%s' is too long (at most %zu "
                   "bytes)", path, SOCKET_UNIX_NAME_MAX);
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
    if (strchr("+-0123456789", rest[0]) &&
        !socket_parse_uint(rest, INT_MAX, &v)) {
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

/* @fd's address as @query (getsockname or getpeername) tells it. */
static SocketAddress *query_address(int fd,
                                    int (*query)(int, struct sockaddr *,
                                                 socklen_t *),
                                    const char *which, Error **errp)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof(ss);

    if (query(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "could not query %s address of fd %d",
                         which, fd);
        return NULL;
    }
    return socket_sockaddr_to_address(&ss, len, errp);
}

SocketAddress *socket_local_address(int fd, Error **errp)
{
    return query_address(fd, getsockname, "local", errp);
}

SocketAddress *socket_remote_address(int fd, Error **errp)
{
    return query_address(fd, getpeername, "remote", errp);
}
