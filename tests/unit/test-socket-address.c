/*
 * Tests for qemu/sockets.h: parsing and printing socket addresses, and
 * the blocking listen/connect/dgram calls behind them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gstdio.h>
#include "socket-helpers.h"

/* ---- helpers ------------------------------------------------------------ */

static SocketAddress *parse_ok(const char *str)
{
    SocketAddress *addr = socket_parse(str, &error_abort);

    g_assert_nonnull(addr);
    return addr;
}

static void assert_parse_error(const char *str, const char *msg)
{
    Error *err = NULL;

    g_assert_null(socket_parse(str, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

/* Listen on @str and return the fd; *@local gets the bound address. */
static int listen_on(const char *str, SocketAddress **local)
{
    g_autoptr(SocketAddress) addr = parse_ok(str);
    int fd = socket_listen(addr, 5, &error_abort);

    g_assert_cmpint(fd, >=, 0);
    *local = socket_local_address(fd, &error_abort);
    return fd;
}

/* Connect to the listener @lfd through @addr and accept; returns both. */
static void connect_pair(int lfd, SocketAddress *addr, int *cfd, int *sfd)
{
    *cfd = socket_connect(addr, &error_abort);
    g_assert_cmpint(*cfd, >=, 0);
    *sfd = qemu_accept(lfd, NULL, NULL);
    g_assert_cmpint(*sfd, >=, 0);
}

static void assert_bytes_flow(int a, int b)
{
    char c = 0;

    g_assert_cmpint(write(a, "x", 1), ==, 1);
    g_assert_cmpint(read(b, &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'x');
}

/* ---- parsing ------------------------------------------------------------ */

static void test_parse_inet(void)
{
    g_autoptr(SocketAddress) a = parse_ok("example.org:1234");
    g_autoptr(SocketAddress) b = parse_ok("127.0.0.1:0");
    g_autoptr(SocketAddress) c = parse_ok("tcp:localhost:80");

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(a->u.inet.host, ==, "example.org");
    g_assert_cmpstr(a->u.inet.port, ==, "1234");
    g_assert_false(a->u.inet.has_to || a->u.inet.has_ipv4 ||
                   a->u.inet.has_ipv6 || a->u.inet.has_keep_alive ||
                   a->u.inet.has_numeric);
    g_assert_cmpstr(b->u.inet.host, ==, "127.0.0.1");
    g_assert_cmpstr(b->u.inet.port, ==, "0");
    g_assert_cmpstr(c->u.inet.host, ==, "localhost");
    g_assert_cmpstr(c->u.inet.port, ==, "80");
}

static void test_parse_inet6(void)
{
    g_autoptr(SocketAddress) a = parse_ok("[::1]:5000");
    g_autoptr(SocketAddress) b = parse_ok("[fe80::1%lo]:22");

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(a->u.inet.host, ==, "::1");
    g_assert_cmpstr(a->u.inet.port, ==, "5000");
    g_assert_cmpstr(b->u.inet.host, ==, "fe80::1%lo");
}

static void test_parse_any_host(void)
{
    g_autoptr(SocketAddress) a = parse_ok(":8080");

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(a->u.inet.host, ==, "");
    g_assert_cmpstr(a->u.inet.port, ==, "8080");
}

static void test_parse_inet_options(void)
{
    g_autoptr(SocketAddress) a =
        parse_ok("h:100,to=110,ipv4,ipv6=off,keep-alive=yes,numeric=false");
    g_autoptr(SocketAddress) b = parse_ok("h:1,ipv4=no,ipv6=true");
    InetSocketAddress *in = &a->u.inet;

    g_assert_true(in->has_to);
    g_assert_cmpuint(in->to, ==, 110);
    g_assert_true(in->has_ipv4 && in->ipv4);
    g_assert_true(in->has_ipv6 && !in->ipv6);
    g_assert_true(in->has_keep_alive && in->keep_alive);
    g_assert_true(in->has_numeric && !in->numeric);
    g_assert_true(b->u.inet.has_ipv4 && !b->u.inet.ipv4);
    g_assert_true(b->u.inet.has_ipv6 && b->u.inet.ipv6);
}

static void test_parse_unix(void)
{
    g_autoptr(SocketAddress) a = parse_ok("unix:/run/x.sock");
    g_autoptr(SocketAddress) b = parse_ok("unix:rel/x.sock,tight=off");
    g_autoptr(SocketAddress) c = parse_ok("unix:/tmp/a,b");

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(a->u.q_unix.path, ==, "/run/x.sock");
    g_assert_false(a->u.q_unix.has_abstract || a->u.q_unix.has_tight);
    g_assert_cmpstr(b->u.q_unix.path, ==, "rel/x.sock");
    g_assert_true(b->u.q_unix.has_tight && !b->u.q_unix.tight);
    /* A comma that does not start a known option belongs to the path. */
    g_assert_cmpstr(c->u.q_unix.path, ==, "/tmp/a,b");
}

static void test_parse_unix_abstract(void)
{
    g_autoptr(SocketAddress) a = parse_ok("unix:@spindle");
    g_autoptr(SocketAddress) b = parse_ok("unix:spindle,abstract=on");
    g_autoptr(SocketAddress) c = parse_ok("unix:@file,abstract=off");

    g_assert_cmpstr(a->u.q_unix.path, ==, "spindle");
    g_assert_true(a->u.q_unix.has_abstract && a->u.q_unix.abstract);
    g_assert_cmpstr(b->u.q_unix.path, ==, "spindle");
    g_assert_true(b->u.q_unix.abstract);
    /* abstract=off keeps a path that starts with '@' in the file system. */
    g_assert_cmpstr(c->u.q_unix.path, ==, "@file");
    g_assert_true(c->u.q_unix.has_abstract && !c->u.q_unix.abstract);
}

static void test_parse_fd_vsock(void)
{
    g_autoptr(SocketAddress) a = parse_ok("fd:3");
    g_autoptr(SocketAddress) b = parse_ok("fd:monitor-sock");
    g_autoptr(SocketAddress) c = parse_ok("vsock:2:1024");

    g_assert_cmpint(a->type, ==, SOCKET_ADDRESS_TYPE_FD);
    g_assert_cmpstr(a->u.fd.str, ==, "3");
    g_assert_cmpstr(b->u.fd.str, ==, "monitor-sock");
    g_assert_cmpint(c->type, ==, SOCKET_ADDRESS_TYPE_VSOCK);
    g_assert_cmpstr(c->u.vsock.cid, ==, "2");
    g_assert_cmpstr(c->u.vsock.port, ==, "1024");
}

static void test_parse_errors(void)
{
    static const char *const cases[][2] = {
        { "", "socket address is empty" },
        { "localhost", "address 'localhost' is missing a port" },
        { "localhost:", "address 'localhost:' is missing a port" },
        { "localhost:abc", "port 'abc' is not a number" },
        { "localhost:-1", "port '-1' is not a number" },
        { "localhost:12x", "port '12x' is not a number" },
        { "localhost:70000", "port '70000' is out of range (0-65535)" },
        { "[::1:80", "address '[::1:80' is missing ']' after the IPv6 host" },
        { "[]:80", "address '[]:80' has an empty IPv6 host" },
        { "[::1]", "address '[::1]' is missing a port" },
        { "[::1]80", "address '[::1]80' needs ':' after ']'" },
        { "::1:80", "address '::1:80' has an IPv6 host without brackets; "
          "write it as [host]:port" },
        { "h:1,bogus", "unknown option 'bogus' in address 'h:1,bogus'" },
        { "h:1,", "address 'h:1,' has an empty option" },
        { "h:1,ipv4=maybe", "option 'ipv4' in address 'h:1,ipv4=maybe' "
          "must be on or off, not 'maybe'" },
        { "h:1,to", "option 'to' in address 'h:1,to' needs a port number "
          "(0-65535)" },
        { "h:1,to=99999", "option 'to' in address 'h:1,to=99999' needs a "
          "port number (0-65535)" },
        { "h:10,to=5", "option 'to=5' in address 'h:10,to=5' is below the "
          "port" },
        { "h:1,ipv4=off,ipv6=off", "address 'h:1,ipv4=off,ipv6=off' turns "
          "off both IPv4 and IPv6" },
        { "unix:", "address 'unix:' is missing a path" },
        { "unix:@", "address 'unix:@' is missing an abstract name" },
        { "unix:/x,tight=sure", "option 'tight' in address "
          "'unix:/x,tight=sure' must be on or off, not 'sure'" },
        { "fd:", "address 'fd:' is missing a descriptor number or name" },
        { "fd:-1", "'-1' in address 'fd:-1' is not a valid descriptor "
          "number" },
        { "fd:3x", "'3x' in address 'fd:3x' is not a valid descriptor "
          "number" },
        { "fd:99999999999", "'99999999999' in address 'fd:99999999999' is "
          "not a valid descriptor number" },
        { "vsock:2", "address 'vsock:2' must be vsock:CID:PORT" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("parsing '%s'", cases[i][0]);
        assert_parse_error(cases[i][0], cases[i][1]);
    }
}

static void test_parse_unix_too_long(void)
{
    g_autofree char *name = g_strnfill(120, 'a');
    g_autofree char *str = g_strdup_printf("unix:/%s", name);
    g_autofree char *msg = g_strdup_printf(
        "UNIX socket path '/%s' is too long (at most 107 bytes)", name);

    assert_parse_error(str, msg);
}

/* ---- printing ----------------------------------------------------------- */

static void test_to_string_round_trip(void)
{
    static const char *const forms[] = {
        "localhost:80", "[::1]:5000", ":8080", "h:100,to=110",
        "h:1,ipv4=on,ipv6=off", "h:1,keep-alive=on", "h:1,numeric=on",
        "unix:/run/x.sock", "unix:@abs", "unix:@abs,tight=off",
        "unix:@file,abstract=off", "fd:3", "fd:name", "vsock:3:99",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
        g_autoptr(SocketAddress) a = parse_ok(forms[i]);
        g_autofree char *s = socket_address_to_string(a);

        g_assert_cmpstr(s, ==, forms[i]);
    }
}

static void test_to_string_normalises(void)
{
    g_autoptr(SocketAddress) a = parse_ok("tcp:h:1,ipv4=yes");
    g_autoptr(SocketAddress) b = parse_ok("unix:x,abstract");
    g_autofree char *sa = socket_address_to_string(a);
    g_autofree char *sb = socket_address_to_string(b);

    g_assert_cmpstr(sa, ==, "h:1,ipv4=on");
    g_assert_cmpstr(sb, ==, "unix:@x");
}

static void test_uri(void)
{
    static const char *const cases[][2] = {
        { "localhost:80,to=90", "tcp:localhost:80" },
        { "[::1]:7", "tcp:[::1]:7" },
        { "unix:/a/b", "unix:/a/b" },
        { "fd:4", "fd:4" },
        { "vsock:2:5", "vsock:2:5" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(SocketAddress) a = parse_ok(cases[i][0]);
        g_autofree char *s = socket_uri(a);

        g_assert_cmpstr(s, ==, cases[i][1]);
    }
}

static void test_clone_and_type_str(void)
{
    g_autoptr(SocketAddress) a = parse_ok("h:1,to=3");
    g_autoptr(SocketAddress) b = socket_address_clone(a);

    g_assert_true(a->u.inet.host != b->u.inet.host);
    g_assert_cmpstr(b->u.inet.host, ==, "h");
    g_assert_cmpuint(b->u.inet.to, ==, 3);
    g_assert_cmpstr(SocketAddressType_str(SOCKET_ADDRESS_TYPE_INET), ==,
                    "inet");
    g_assert_cmpstr(SocketAddressType_str(SOCKET_ADDRESS_TYPE_UNIX), ==,
                    "unix");
    g_assert_cmpstr(SocketAddressType_str(SOCKET_ADDRESS_TYPE_FD), ==, "fd");
    g_assert_cmpstr(SocketAddressType_str(SOCKET_ADDRESS_TYPE__MAX), ==,
                    "invalid");
    qapi_free_SocketAddress(NULL);
}

/* ---- TCP ---------------------------------------------------------------- */

static void test_tcp_v4(void)
{
    g_autoptr(SocketAddress) local = NULL;
    g_autoptr(SocketAddress) peer = NULL;
    int lfd = listen_on("127.0.0.1:0", &local);
    int cfd, sfd;

    g_assert_cmpstr(local->u.inet.host, ==, "127.0.0.1");
    g_assert_cmpstr(local->u.inet.port, !=, "0");
    g_assert_true(local->u.inet.has_ipv4 && local->u.inet.ipv4);
    connect_pair(lfd, local, &cfd, &sfd);
    assert_bytes_flow(cfd, sfd);
    peer = socket_remote_address(cfd, &error_abort);
    g_assert_cmpstr(peer->u.inet.port, ==, local->u.inet.port);
    g_assert_cmpint(fcntl(cfd, F_GETFD) & FD_CLOEXEC, !=, 0);
    g_assert_cmpint(fcntl(sfd, F_GETFD) & FD_CLOEXEC, !=, 0);
    close(cfd);
    close(sfd);
    close(lfd);
}

static void test_tcp_v6(void)
{
    g_autoptr(SocketAddress) local = NULL;
    int lfd, cfd, sfd;

    if (!test_have_ipv6()) {
        g_test_skip("no IPv6 loopback");
        return;
    }
    lfd = listen_on("[::1]:0", &local);
    g_assert_cmpstr(local->u.inet.host, ==, "::1");
    g_assert_true(local->u.inet.has_ipv6 && local->u.inet.ipv6);
    connect_pair(lfd, local, &cfd, &sfd);
    assert_bytes_flow(sfd, cfd);
    close(cfd);
    close(sfd);
    close(lfd);
}

/* An empty host listens on every address, both families where possible. */
static void test_tcp_dual_stack(void)
{
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *v4 = NULL;
    g_autofree char *v6 = NULL;
    int lfd = listen_on(":0", &local);
    int cfd, sfd;

    v4 = g_strdup_printf("127.0.0.1:%s", local->u.inet.port);
    {
        g_autoptr(SocketAddress) a = parse_ok(v4);

        connect_pair(lfd, a, &cfd, &sfd);
        assert_bytes_flow(cfd, sfd);
        close(cfd);
        close(sfd);
    }
    if (test_have_ipv6()) {
        g_autoptr(SocketAddress) a = NULL;

        v6 = g_strdup_printf("[::1]:%s", local->u.inet.port);
        a = parse_ok(v6);
        connect_pair(lfd, a, &cfd, &sfd);
        assert_bytes_flow(cfd, sfd);
        close(cfd);
        close(sfd);
    }
    close(lfd);
}

static void test_tcp_ipv6_off(void)
{
    g_autoptr(SocketAddress) local = NULL;
    int lfd = listen_on(":0,ipv6=off", &local);

    g_assert_cmpstr(local->u.inet.host, ==, "0.0.0.0");
    close(lfd);
}

/* ",to=" moves on to the next port when the first is taken. */
static void test_tcp_port_range(void)
{
    g_autoptr(SocketAddress) first = NULL;
    g_autoptr(SocketAddress) second = NULL;
    g_autofree char *str = NULL;
    int fd1 = listen_on("127.0.0.1:0", &first);
    int port = atoi(first->u.inet.port);
    int fd2;

    if (port > 65000) {
        close(fd1);
        g_test_skip("ephemeral port too close to the top of the range");
        return;
    }
    str = g_strdup_printf("127.0.0.1:%d,to=%d", port, port + 20);
    fd2 = listen_on(str, &second);
    g_assert_cmpint(atoi(second->u.inet.port), >, port);
    g_assert_cmpint(atoi(second->u.inet.port), <=, port + 20);
    close(fd1);
    close(fd2);
}

static void test_tcp_errors(void)
{
    g_autoptr(SocketAddress) local = NULL;
    g_autoptr(SocketAddress) numeric = parse_ok("not-an-ip:80,numeric");
    g_autoptr(SocketAddress) nohost = parse_ok(":80");
    g_autofree char *msg = NULL;
    Error *err = NULL;
    int lfd = listen_on("127.0.0.1:0", &local);

    /* A port that has just been freed refuses connections. */
    close(lfd);
    g_assert_cmpint(socket_connect(local, &err), ==, -1);
    msg = g_strdup_printf("could not connect to '127.0.0.1:%s': Connection "
                          "refused", local->u.inet.port);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free_or_abort(&err);

    g_assert_cmpint(socket_listen(numeric, 1, &err), ==, -1);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "could not resolve host 'not-an-ip': "));
    error_free_or_abort(&err);

    g_assert_cmpint(socket_connect(nohost, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "address ':80' needs a host to connect to");
    error_free_or_abort(&err);
}

static void test_tcp_both_families_off(void)
{
    SocketAddress addr = {
        .type = SOCKET_ADDRESS_TYPE_INET,
        .u.inet = { .host = (char *)"127.0.0.1", .port = (char *)"0",
                    .has_ipv4 = true, .has_ipv6 = true },
    };
    Error *err = NULL;

    g_assert_cmpint(socket_listen(&addr, 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "address '127.0.0.1' turns off both IPv4 and IPv6");
    error_free(err);
}

static void test_tcp_keep_alive(void)
{
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *str = NULL;
    int lfd = listen_on("127.0.0.1:0", &local);
    int cfd, sfd, on = 0;
    socklen_t len = sizeof(on);

    str = g_strdup_printf("127.0.0.1:%s,keep-alive", local->u.inet.port);
    {
        g_autoptr(SocketAddress) a = parse_ok(str);

        connect_pair(lfd, a, &cfd, &sfd);
    }
    g_assert_cmpint(getsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, &on, &len),
                    ==, 0);
    g_assert_cmpint(on, !=, 0);
    close(cfd);
    close(sfd);
    close(lfd);
}

static void test_inet_connect_str(void)
{
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *str = NULL;
    Error *err = NULL;
    int lfd = listen_on("127.0.0.1:0", &local);
    int cfd;

    str = g_strdup_printf("127.0.0.1:%s", local->u.inet.port);
    cfd = inet_connect(str, &error_abort);
    g_assert_cmpint(cfd, >=, 0);
    close(cfd);
    g_assert_cmpint(inet_connect("nope", &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "address 'nope' is missing a port");
    error_free(err);
    close(lfd);
}

static void test_socket_options(void)
{
    int fd = qemu_socket(AF_INET, SOCK_STREAM, 0);
    int v = 0;
    socklen_t len = sizeof(v);

    g_assert_cmpint(fd, >=, 0);
    g_assert_true(fd_is_socket(fd));
    g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
    g_assert_cmpint(socket_set_nodelay(fd), ==, 0);
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    g_assert_cmpint(v, !=, 0);
    g_assert_cmpint(socket_set_fast_reuse(fd), ==, 0);
    getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &len);
    g_assert_cmpint(v, !=, 0);
    g_assert_cmpint(socket_set_cork(fd, 1), ==, 0);
    getsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, &len);
    g_assert_cmpint(v, !=, 0);
    g_assert_cmpint(socket_set_cork(fd, 0), ==, 0);
    getsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, &len);
    g_assert_cmpint(v, ==, 0);
    close(fd);
    g_assert_false(fd_is_socket(fd));
}

static void test_accept_nonblocking_empty(void)
{
    g_autoptr(SocketAddress) local = NULL;
    int lfd = listen_on("127.0.0.1:0", &local);

    qemu_set_blocking(lfd, false);
    g_assert_cmpint(qemu_accept(lfd, NULL, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EAGAIN);
    close(lfd);
}

/* ---- UNIX --------------------------------------------------------------- */

static void test_unix_path(void)
{
    g_autofree char *dir = g_dir_make_tmp("spindle-sa-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s", NULL);
    g_autofree char *str = g_strdup_printf("unix:%s", path);
    g_autoptr(SocketAddress) local = NULL;
    g_autoptr(SocketAddress) peer = NULL;
    int lfd = listen_on(str, &local);
    int cfd, sfd;

    g_assert_cmpint(local->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(local->u.q_unix.path, ==, path);
    g_assert_false(local->u.q_unix.has_abstract);
    connect_pair(lfd, local, &cfd, &sfd);
    assert_bytes_flow(cfd, sfd);
    peer = socket_remote_address(cfd, &error_abort);
    g_assert_cmpstr(peer->u.q_unix.path, ==, path);
    close(cfd);
    close(sfd);
    g_assert_true(socket_listen_cleanup(lfd, &error_abort));
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    close(lfd);
    g_rmdir(dir);
}

/* A socket file left by a dead listener is replaced; other files stay. */
static void test_unix_stale(void)
{
    g_autofree char *dir = g_dir_make_tmp("spindle-sa-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s", NULL);
    g_autofree char *msg = NULL;
    Error *err = NULL;
    int fd1, fd2;

    fd1 = unix_listen(path, &error_abort);
    close(fd1);     /* no cleanup: the socket file stays behind */
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    fd2 = unix_listen(path, &error_abort);
    g_assert_cmpint(fd2, >=, 0);
    g_assert_true(socket_listen_cleanup(fd2, &error_abort));
    close(fd2);

    g_assert_true(g_file_set_contents(path, "data", -1, NULL));
    g_assert_cmpint(unix_listen(path, &err), ==, -1);
    msg = g_strdup_printf("could not listen on UNIX socket '%s': Address "
                          "already in use", path);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_unlink(path);
    g_rmdir(dir);
}

static void test_unix_connect_missing(void)
{
    Error *err = NULL;

    g_assert_cmpint(unix_connect("/nonexistent/spindle.sock", &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "could not connect to UNIX socket "
                    "'/nonexistent/spindle.sock': No such file or directory");
    error_free(err);
}

static void test_unix_abstract(void)
{
    g_autofree char *str = g_strdup_printf("unix:@spindle-test-%d",
                                           (int)getpid());
    g_autoptr(SocketAddress) local = NULL;
    int lfd = listen_on(str, &local);
    int cfd, sfd;

    g_assert_true(local->u.q_unix.has_abstract && local->u.q_unix.abstract);
    g_assert_true(local->u.q_unix.tight);
    g_assert_cmpstr(local->u.q_unix.path, ==, str + 6);
    connect_pair(lfd, local, &cfd, &sfd);
    assert_bytes_flow(cfd, sfd);
    g_assert_true(socket_listen_cleanup(lfd, &error_abort));
    close(cfd);
    close(sfd);
    close(lfd);
}

static void test_unix_abstract_loose(void)
{
    g_autofree char *str = g_strdup_printf("unix:@spindle-loose-%d,tight=off",
                                           (int)getpid());
    g_autoptr(SocketAddress) local = NULL;
    int lfd = listen_on(str, &local);
    int cfd, sfd;

    g_assert_true(local->u.q_unix.has_tight && !local->u.q_unix.tight);
    g_assert_true(g_str_has_prefix(str + 6, local->u.q_unix.path));
    connect_pair(lfd, local, &cfd, &sfd);
    close(cfd);
    close(sfd);
    close(lfd);
}

static void test_unix_temp_path(void)
{
    SocketAddress addr = {
        .type = SOCKET_ADDRESS_TYPE_UNIX,
        .u.q_unix = { .path = (char *)"" },
    };
    g_autoptr(SocketAddress) local = NULL;
    int lfd = socket_listen(&addr, 1, &error_abort);

    local = socket_local_address(lfd, &error_abort);
    g_assert_cmpstr(local->u.q_unix.path, !=, "");
    g_assert_true(g_file_test(local->u.q_unix.path, G_FILE_TEST_EXISTS));
    socket_listen_cleanup(lfd, &error_abort);
    g_assert_false(g_file_test(local->u.q_unix.path, G_FILE_TEST_EXISTS));
    close(lfd);
}

static void test_unix_too_long(void)
{
    g_autofree char *path = g_strnfill(200, 'p');
    Error *err = NULL;

    g_assert_cmpint(unix_listen(path, &err), ==, -1);
    g_assert_true(strstr(error_get_pretty(err), "is too long") != NULL);
    error_free(err);
}

static void test_listen_cleanup_ignores_others(void)
{
    g_autoptr(SocketAddress) local = NULL;
    int lfd = listen_on("127.0.0.1:0", &local);
    int sv[2];

    g_assert_true(socket_listen_cleanup(lfd, &error_abort));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    g_assert_true(socket_listen_cleanup(sv[0], &error_abort));
    close(sv[0]);
    close(sv[1]);
    close(lfd);
}

/* ---- FD ----------------------------------------------------------------- */

static void test_fd_connect(void)
{
    g_autoptr(SocketAddress) addr = NULL;
    g_autofree char *str = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    str = g_strdup_printf("fd:%d", sv[0]);
    addr = parse_ok(str);
    g_assert_cmpint(socket_connect(addr, &error_abort), ==, sv[0]);
    assert_bytes_flow(sv[0], sv[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_fd_listen(void)
{
    g_autoptr(SocketAddress) addr = NULL;
    g_autoptr(SocketAddress) local = NULL;
    g_autofree char *str = NULL;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int lfd, cfd, sfd;

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    str = g_strdup_printf("fd:%d", fd);
    addr = parse_ok(str);
    lfd = socket_listen(addr, 4, &error_abort);
    g_assert_cmpint(lfd, ==, fd);
    local = socket_local_address(lfd, &error_abort);
    connect_pair(lfd, local, &cfd, &sfd);
    close(cfd);
    close(sfd);
    close(lfd);
}

static void assert_fd_error(const char *str, bool listen, const char *msg)
{
    g_autoptr(SocketAddress) addr = parse_ok(str);
    Error *err = NULL;
    int rc = listen ? socket_listen(addr, 1, &err)
                    : socket_connect(addr, &err);

    g_assert_cmpint(rc, ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_fd_errors(void)
{
    g_autofree char *dir = g_dir_make_tmp("spindle-sa-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "f", NULL);
    int ffd = open(file, O_CREAT | O_RDWR, 0600);
    int ufd = socket(AF_INET, SOCK_DGRAM, 0);
    int closed = dup(ffd);
    g_autofree char *s1 = g_strdup_printf("fd:%d", ffd);
    g_autofree char *m1 = g_strdup_printf("fd %d is not a socket", ffd);
    g_autofree char *s2 = g_strdup_printf("fd:%d", closed);
    g_autofree char *m2 = g_strdup_printf("fd %d is not open", closed);
    g_autofree char *s3 = g_strdup_printf("fd:%d", ufd);
    g_autofree char *m3 = g_strdup_printf("fd %d is not a stream socket", ufd);

    close(closed);
    assert_fd_error(s1, false, m1);
    assert_fd_error(s1, true, m1);
    assert_fd_error(s2, false, m2);
    assert_fd_error(s3, true, m3);
    assert_fd_error("fd:mine", false, "no descriptor named 'mine' (named "
                    "descriptors need a control socket that received them)");
    /* A failed numeric fd stays open: the caller still owns it. */
    g_assert_cmpint(fcntl(ffd, F_GETFD), >=, 0);
    close(ffd);
    close(ufd);
    g_unlink(file);
    g_rmdir(dir);
}

static int named_fd = -1;

static int lookup_named(const char *name, Error **errp)
{
    if (strcmp(name, "mine")) {
        error_setg(errp, "no fd called '%s'", name);
        return -1;
    }
    return named_fd;
}

static void test_fd_named(void)
{
    g_autoptr(SocketAddress) a = parse_ok("fd:mine");
    g_autoptr(SocketAddress) b = parse_ok("fd:other");
    g_autoptr(SocketAddress) c = parse_ok("fd:mine");
    g_autofree char *num = NULL;
    Error *err = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    named_fd = sv[0];
    socket_set_named_fd_func(lookup_named);
    g_assert_cmpint(socket_connect(a, &error_abort), ==, sv[0]);
    g_assert_cmpint(socket_connect(b, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "no fd called 'other'");
    error_free_or_abort(&err);

    g_assert_cmpint(socket_address_parse_named_fd(c, &error_abort), ==, 0);
    num = g_strdup_printf("%d", sv[0]);
    g_assert_cmpstr(c->u.fd.str, ==, num);
    g_assert_cmpint(socket_address_parse_named_fd(b, &err), ==, -1);
    error_free_or_abort(&err);

    socket_set_named_fd_func(NULL);
    g_assert_cmpint(socket_address_parse_named_fd(b, &err), ==, -1);
    g_assert_true(strstr(error_get_pretty(err), "named 'other'") != NULL);
    error_free(err);
    close(sv[0]);
    close(sv[1]);
}

static void test_vsock_rejected(void)
{
    g_autoptr(SocketAddress) a = parse_ok("vsock:2:1234");
    Error *err = NULL;

    g_assert_cmpint(socket_listen(a, 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "vsock address 'vsock:2:1234' is not supported");
    error_free_or_abort(&err);
    g_assert_cmpint(socket_connect(a, &err), ==, -1);
    error_free(err);
}

/* ---- datagrams and addresses -------------------------------------------- */

static void test_dgram_udp(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int rfd = socket(AF_INET, SOCK_DGRAM, 0);
    g_autofree char *str = NULL;
    g_autoptr(SocketAddress) remote = NULL;
    g_autoptr(SocketAddress) local = parse_ok("127.0.0.1:0");
    char buf[8] = "";
    int fd;

    g_assert_cmpint(bind(rfd, (struct sockaddr *)&sa, len), ==, 0);
    getsockname(rfd, (struct sockaddr *)&sa, &len);
    str = g_strdup_printf("127.0.0.1:%d", ntohs(sa.sin_port));
    remote = parse_ok(str);
    fd = socket_dgram(remote, local, &error_abort);
    g_assert_cmpint(write(fd, "dgram", 5), ==, 5);
    g_assert_cmpint(read(rfd, buf, sizeof(buf)), ==, 5);
    g_assert_cmpstr(buf, ==, "dgram");
    close(fd);
    close(rfd);
}

static void test_dgram_unix(void)
{
    g_autofree char *dir = g_dir_make_tmp("spindle-sa-XXXXXX", NULL);
    g_autofree char *rpath = g_build_filename(dir, "r", NULL);
    g_autofree char *lpath = g_build_filename(dir, "l", NULL);
    SocketAddress remote = { .type = SOCKET_ADDRESS_TYPE_UNIX,
                             .u.q_unix.path = rpath };
    SocketAddress local = { .type = SOCKET_ADDRESS_TYPE_UNIX,
                            .u.q_unix.path = lpath };
    SocketAddress fd = { .type = SOCKET_ADDRESS_TYPE_FD,
                         .u.fd.str = (char *)"3" };
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    int rfd = socket(AF_UNIX, SOCK_DGRAM, 0);
    Error *err = NULL;
    char buf[8] = "";
    int cfd;

    g_strlcpy(un.sun_path, rpath, sizeof(un.sun_path));
    g_assert_cmpint(bind(rfd, (struct sockaddr *)&un, sizeof(un)), ==, 0);
    cfd = socket_dgram(&remote, &local, &error_abort);
    g_assert_cmpint(write(cfd, "hi", 2), ==, 2);
    g_assert_cmpint(read(rfd, buf, sizeof(buf)), ==, 2);
    g_assert_cmpstr(buf, ==, "hi");
    g_assert_cmpint(socket_dgram(&fd, NULL, &err), ==, -1);
    error_free_or_abort(&err);
    g_assert_cmpint(socket_dgram(&remote, &fd, &err), ==, -1);
    error_free(err);
    close(cfd);
    close(rfd);
    g_unlink(rpath);
    g_unlink(lpath);
    g_rmdir(dir);
}

/* socket_address_resolve_listen() of @str, which must succeed. */
static GPtrArray *resolve_ok(const char *str)
{
    g_autoptr(SocketAddress) addr = parse_ok(str);

    return socket_address_resolve_listen(addr, &error_abort);
}

static void resolve_fails(const char *str, const char *msg)
{
    g_autoptr(SocketAddress) addr = parse_ok(str);
    Error *err = NULL;

    g_assert_null(socket_address_resolve_listen(addr, &err));
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(error_get_pretty(err), msg));
    error_free(err);
}

/* What socket_address_resolve_listen() gives for addresses it passes. */
static void test_resolve_listen_copies(void)
{
    g_autoptr(GPtrArray) v4 = resolve_ok("127.0.0.1:0,to=5");
    g_autoptr(GPtrArray) any = resolve_ok(":5000");
    g_autoptr(GPtrArray) unx = resolve_ok("unix:/tmp/sock");
    SocketAddress *a = v4->pdata[0];

    g_assert_cmpuint(v4->len, ==, 1);
    g_assert_cmpstr(a->u.inet.host, ==, "127.0.0.1");
    g_assert_cmpstr(a->u.inet.port, ==, "0");
    g_assert_true(a->u.inet.has_to && a->u.inet.to == 5);
    g_assert_true(a->u.inet.has_numeric && a->u.inet.numeric);
    g_assert_false(a->u.inet.has_ipv4 || a->u.inet.has_ipv6);
    g_assert_cmpuint(any->len, ==, 1);
    g_assert_cmpstr(((SocketAddress *)any->pdata[0])->u.inet.host, ==, "");
    g_assert_cmpuint(unx->len, ==, 1);
    g_assert_cmpstr(((SocketAddress *)unx->pdata[0])->u.q_unix.path, ==,
                    "/tmp/sock");
    resolve_fails("[::1]:0,ipv4=on", "host '::1' has no address of the "
                  "allowed family");
    resolve_fails("no-such-host:0,numeric", "could not resolve host");
}

static const InetSocketAddress *inet_at(GPtrArray *addrs, guint i)
{
    return &((SocketAddress *)addrs->pdata[i])->u.inet;
}

/*
 * A name: one numeric address per distinct resolved one; when both
 * families come, each copy allows just its own.
 */
static void test_resolve_listen_name(void)
{
    g_autoptr(GPtrArray) all = resolve_ok("localhost:7");
    g_autoptr(GPtrArray) v4 = resolve_ok("localhost:7,ipv4=on");
    bool seen4 = false, seen6 = false;

    for (guint i = 0; i < all->len; i++) {
        const InetSocketAddress *in = inet_at(all, i);

        g_assert_true(in->numeric);
        g_assert_cmpstr(in->port, ==, "7");
        seen4 |= !strchr(in->host, ':');
        seen6 |= strchr(in->host, ':') != NULL;
    }
    for (guint i = 0; i < all->len && seen4 && seen6; i++) {
        const InetSocketAddress *in = inet_at(all, i);
        bool is6 = strchr(in->host, ':') != NULL;

        g_assert_true(in->has_ipv4 && in->has_ipv6);
        g_assert_true(in->ipv6 == is6 && in->ipv4 == !is6);
    }
    for (guint i = 0; i < v4->len; i++) {
        g_assert_null(strchr(inet_at(v4, i)->host, ':'));
    }
}

static void test_address_errors(void)
{
    struct sockaddr_storage ss = { .ss_family = AF_PACKET };
    int sv[2];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    Error *err = NULL;
    g_autoptr(SocketAddress) unnamed = NULL;

    g_assert_null(socket_sockaddr_to_address(&ss, sizeof(ss), &err));
    g_assert_nonnull(err);
    error_free_or_abort(&err);
    g_assert_null(socket_remote_address(fd, &err));
    g_assert_true(strstr(error_get_pretty(err), "Transport endpoint is not "
                         "connected") != NULL);
    error_free_or_abort(&err);
    close(fd);
    g_assert_null(socket_local_address(fd, &err));
    error_free_or_abort(&err);

    /* A socketpair end is an unnamed UNIX socket: empty path. */
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    unnamed = socket_local_address(sv[0], &error_abort);
    g_assert_cmpint(unnamed->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(unnamed->u.q_unix.path, ==, "");
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/socket-address/parse/inet", test_parse_inet);
    g_test_add_func("/socket-address/parse/inet6", test_parse_inet6);
    g_test_add_func("/socket-address/parse/any-host", test_parse_any_host);
    g_test_add_func("/socket-address/parse/inet-options",
                    test_parse_inet_options);
    g_test_add_func("/socket-address/parse/unix", test_parse_unix);
    g_test_add_func("/socket-address/parse/unix-abstract",
                    test_parse_unix_abstract);
    g_test_add_func("/socket-address/parse/fd-vsock", test_parse_fd_vsock);
    g_test_add_func("/socket-address/parse/errors", test_parse_errors);
    g_test_add_func("/socket-address/parse/unix-too-long",
                    test_parse_unix_too_long);
    g_test_add_func("/socket-address/print/round-trip",
                    test_to_string_round_trip);
    g_test_add_func("/socket-address/print/normalises",
                    test_to_string_normalises);
    g_test_add_func("/socket-address/print/uri", test_uri);
    g_test_add_func("/socket-address/clone", test_clone_and_type_str);
    g_test_add_func("/socket-address/tcp/v4", test_tcp_v4);
    g_test_add_func("/socket-address/tcp/v6", test_tcp_v6);
    g_test_add_func("/socket-address/tcp/dual-stack", test_tcp_dual_stack);
    g_test_add_func("/socket-address/tcp/ipv6-off", test_tcp_ipv6_off);
    g_test_add_func("/socket-address/tcp/port-range", test_tcp_port_range);
    g_test_add_func("/socket-address/tcp/errors", test_tcp_errors);
    g_test_add_func("/socket-address/tcp/both-families-off",
                    test_tcp_both_families_off);
    g_test_add_func("/socket-address/tcp/keep-alive", test_tcp_keep_alive);
    g_test_add_func("/socket-address/tcp/inet-connect",
                    test_inet_connect_str);
    g_test_add_func("/socket-address/socket-options", test_socket_options);
    g_test_add_func("/socket-address/accept-nonblocking",
                    test_accept_nonblocking_empty);
    g_test_add_func("/socket-address/unix/path", test_unix_path);
    g_test_add_func("/socket-address/unix/stale", test_unix_stale);
    g_test_add_func("/socket-address/unix/connect-missing",
                    test_unix_connect_missing);
    g_test_add_func("/socket-address/unix/abstract", test_unix_abstract);
    g_test_add_func("/socket-address/unix/abstract-loose",
                    test_unix_abstract_loose);
    g_test_add_func("/socket-address/unix/temp-path", test_unix_temp_path);
    g_test_add_func("/socket-address/unix/too-long", test_unix_too_long);
    g_test_add_func("/socket-address/unix/cleanup-ignores-others",
                    test_listen_cleanup_ignores_others);
    g_test_add_func("/socket-address/fd/connect", test_fd_connect);
    g_test_add_func("/socket-address/fd/listen", test_fd_listen);
    g_test_add_func("/socket-address/fd/errors", test_fd_errors);
    g_test_add_func("/socket-address/fd/named", test_fd_named);
    g_test_add_func("/socket-address/vsock-rejected", test_vsock_rejected);
    g_test_add_func("/socket-address/dgram/udp", test_dgram_udp);
    g_test_add_func("/socket-address/dgram/unix", test_dgram_unix);
    g_test_add_func("/socket-address/address-errors", test_address_errors);
    g_test_add_func("/socket-address/resolve-listen/copies",
                    test_resolve_listen_copies);
    g_test_add_func("/socket-address/resolve-listen/name",
                    test_resolve_listen_name);
    return g_test_run();
}
