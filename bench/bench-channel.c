/*
 * Channel throughput: qio_channel_writev_all / qio_channel_readv_all on a
 * QIOChannelSocket against a plain write()/read() loop (the limit).
 *
 * Each contender owns its own connected pair of fds, either a UNIX
 * socketpair or a TCP loopback connection.  One operation is one message
 * (64 KiB or 4 KiB): a writer thread sends n whole messages while the
 * calling thread receives n whole messages, so both sides loop over
 * partial transfers the same way.  Ours wraps both fds in
 * QIOChannelSocket (blocking), the limit uses the bare fds.
 *
 * A sendmsg/recvmsg column shows how much of any gap is the system call
 * the socket channel uses rather than the channel layer.
 *
 * The relay row puts a forwarder between two UNIX socketpairs (plain
 * write()/read() at both ends): ours is a thread doing qio_channel_read
 * plus qio_channel_write_all with a 64 KiB buffer, the peer is a socat
 * process (-b 65536) between two listening UNIX sockets.  It is skipped
 * when socat is not installed.
 *
 * The TLS rows run the same transfer through QIOChannelTLS on both ends
 * of a UNIX socketpair, with a priority string that allows one cipher
 * (AES-128-GCM over TLS 1.3, or AES-256-GCM over TLS 1.2) and PSK
 * credentials made at start-up.
 * The limit is two bare GnuTLS sessions on the same kind of fds, with
 * the same priority and key, moving data with gnutls_record_send/recv
 * loops: the cost of TLS itself, without our channel and session layers.
 * Handshakes happen before timing.  (Why not gnutls-serv/gnutls-cli:
 * see BENCHMARKS.md.)
 *
 * Key invariant: every batch checks that exactly n * size bytes arrived,
 * so nothing is skipped.
 *
 * Each measurement prints two rows: the harness row (ns per message,
 * ratio = limit / ours) and a MB/s row derived from it, whose ratio is
 * ours / limit (same number; the target is at least 0.95).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "io/channel-socket.h"
#include "io/channel-tls.h"
#include "bench.h"
#include <gnutls/gnutls.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <sys/wait.h>

typedef struct Conn {
    int rfd;
    int wfd;
    QIOChannel *rioc;       /* NULL for the plain-fd contender */
    QIOChannel *wioc;
    bool msg;               /* plain fds through sendmsg/recvmsg */
    gnutls_session_t rsess; /* bare GnuTLS sessions over rfd/wfd, or NULL */
    gnutls_session_t wsess;
    size_t size;
    char *wbuf;
    char *rbuf;
    uint64_t n;             /* messages the writer sends this batch */
} Conn;

static void die(const char *what)
{
    fprintf(stderr, "bench-channel: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void die_err(Error *err)
{
    fprintf(stderr, "bench-channel: %s\n", error_get_pretty(err));
    exit(1);
}

/* One write(), or one sendmsg() as the socket channel issues it. */
static ssize_t put(int fd, bool msg, const char *buf, size_t len)
{
    struct iovec iov = { .iov_base = (char *)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    return msg ? sendmsg(fd, &mh, MSG_NOSIGNAL) : write(fd, buf, len);
}

static ssize_t get(int fd, bool msg, char *buf, size_t len)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    return msg ? recvmsg(fd, &mh, 0) : read(fd, buf, len);
}

static void plain_write(int fd, bool msg, const char *buf, size_t len)
{
    while (len) {
        ssize_t r = put(fd, msg, buf, len);

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("write");
        }
        buf += r;
        len -= r;
    }
}

static void plain_read(int fd, bool msg, char *buf, size_t len)
{
    while (len) {
        ssize_t r = get(fd, msg, buf, len);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            die("read");
        }
        buf += r;
        len -= r;
    }
}

/* The bare-GnuTLS limit: whole messages through record send/recv. */
static void die_tls(const char *what, int ret)
{
    fprintf(stderr, "bench-channel: %s: %s\n", what, gnutls_strerror(ret));
    exit(1);
}

static void tls_write(gnutls_session_t s, const char *buf, size_t len)
{
    while (len) {
        ssize_t r = gnutls_record_send(s, buf, len);

        if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN) {
            continue;
        }
        if (r < 0) {
            die_tls("gnutls_record_send", r);
        }
        buf += r;
        len -= r;
    }
}

static void tls_read(gnutls_session_t s, char *buf, size_t len)
{
    while (len) {
        ssize_t r = gnutls_record_recv(s, buf, len);

        if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN) {
            continue;
        }
        if (r <= 0) {
            die_tls("gnutls_record_recv",
                    r ? r : GNUTLS_E_PREMATURE_TERMINATION);
        }
        buf += r;
        len -= r;
    }
}

static void *writer_thread(void *opaque)
{
    Conn *c = opaque;
    struct iovec iov = { .iov_base = c->wbuf, .iov_len = c->size };
    Error *err = NULL;

    for (uint64_t i = 0; i < c->n; i++) {
        if (c->wsess) {
            tls_write(c->wsess, c->wbuf, c->size);
        } else if (!c->wioc) {
            plain_write(c->wfd, c->msg, c->wbuf, c->size);
        } else if (qio_channel_writev_all(c->wioc, &iov, 1, &err) < 0) {
            die_err(err);
        }
    }
    return NULL;
}

/* BenchFn: move @n messages from the writer thread to this thread. */
static uint64_t transfer(void *opaque, uint64_t n)
{
    Conn *c = opaque;
    struct iovec iov = { .iov_base = c->rbuf, .iov_len = c->size };
    Error *err = NULL;
    QemuThread th;
    uint64_t bytes = 0;

    c->n = n;
    qemu_thread_create(&th, "bench-writer", writer_thread, c,
                       QEMU_THREAD_JOINABLE);
    for (uint64_t i = 0; i < n; i++) {
        if (c->rsess) {
            tls_read(c->rsess, c->rbuf, c->size);
        } else if (!c->rioc) {
            plain_read(c->rfd, c->msg, c->rbuf, c->size);
        } else if (qio_channel_readv_all(c->rioc, &iov, 1, &err) < 0) {
            die_err(err);
        }
        bytes += c->size;
    }
    qemu_thread_join(&th);
    bench_expect("bytes received", bytes, n * c->size);
    return n;
}

static void make_unix_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
        die("socketpair");
    }
}

/*
 * A TCP loopback connection: fds[0] the accepted end, fds[1] the client.
 */
static void make_tcp_pair(int fds[2])
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
        die("tcp listen");
    }
    fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[1] < 0 || connect(fds[1], (struct sockaddr *)&sa, len) < 0) {
        die("tcp connect");
    }
    fds[0] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fds[0] < 0) {
        die("tcp accept");
    }
    close(lfd);
    /* No Nagle on either end (as NBD sets it), for both contenders. */
    for (int i = 0; i < 2; i++) {
        int one = 1;

        if (setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one,
                       sizeof(one)) < 0) {
            die("TCP_NODELAY");
        }
    }
}

static QIOChannel *wrap(int fd)
{
    Error *err = NULL;
    QIOChannelSocket *sioc = qio_channel_socket_new_fd(fd, &err);

    if (!sioc) {
        die_err(err);
    }
    return QIO_CHANNEL(sioc);
}

typedef enum { PLAIN_RW, PLAIN_MSG, CHANNEL } Mode;

static void conn_open(Conn *c, bool tcp, Mode mode, size_t size)
{
    int fds[2];

    memset(c, 0, sizeof(*c));
    if (tcp) {
        make_tcp_pair(fds);
    } else {
        make_unix_pair(fds);
    }
    c->rfd = fds[0];
    c->wfd = fds[1];
    c->size = size;
    c->wbuf = g_malloc(size);
    c->rbuf = g_malloc(size);
    memset(c->wbuf, 0x5a, size);
    c->msg = mode == PLAIN_MSG;
    if (mode == CHANNEL) {
        c->rioc = wrap(c->rfd);
        c->wioc = wrap(c->wfd);
    }
}

static void conn_close(Conn *c)
{
    if (c->rioc) {
        object_unref(OBJECT(c->rioc));  /* closes the fds */
        object_unref(OBJECT(c->wioc));
    } else {
        close(c->rfd);
        close(c->wfd);
    }
    g_free(c->wbuf);
    g_free(c->rbuf);
}

static double mb_s(size_t size, double ns_op)
{
    return ns_op > 0 ? (double)size * 1000.0 / ns_op : 0;
}

/*
 * Measure @impls (ours first, the limit second) on messages of @size
 * bytes and print the harness row "ROW msg", then "ROW MB/s" with the
 * ratio ours / limit.
 */
static void compare_mb_s(const char *row, size_t size, BenchImpl *impls,
                         int n)
{
    char name[64];
    double ours, limit;

    snprintf(name, sizeof(name), "%s msg", row);
    bench_compare(name, impls, n);
    ours = mb_s(size, impls[0].ns_op);
    limit = mb_s(size, impls[1].ns_op);
    snprintf(name, sizeof(name), "%s MB/s", row);
    printf("%-30s spindle %.0f MB/s | %s %.0f MB/s (ours/limit %.2f)", name,
           ours, impls[1].label, limit, limit > 0 ? ours / limit : 0);
    for (int i = 2; i < n; i++) {
        printf(" | %s %.0f MB/s", impls[i].label, mb_s(size, impls[i].ns_op));
    }
    printf("\n");
    fflush(stdout);
}

static void run(const char *kind, bool tcp, size_t size)
{
    Conn ours, limit, msg;
    BenchImpl impls[3] = {
        { .label = "spindle writev_all/readv_all", .fn = transfer,
          .opaque = &ours },
        { .label = "write/read", .fn = transfer, .opaque = &limit },
        { .label = "sendmsg/recvmsg", .fn = transfer, .opaque = &msg },
    };
    char row[64];

    conn_open(&ours, tcp, CHANNEL, size);
    conn_open(&limit, tcp, PLAIN_RW, size);
    conn_open(&msg, tcp, PLAIN_MSG, size);
    snprintf(row, sizeof(row), "channel %s %zuK", kind, size / 1024);
    compare_mb_s(row, size, impls, 3);
    conn_close(&ours);
    conn_close(&limit);
    conn_close(&msg);
}

/* Our relay: a thread copying from in to out until in reaches EOF. */
typedef struct Relay {
    QIOChannel *in;
    QIOChannel *out;
    QemuThread th;
} Relay;

static void *relay_thread(void *opaque)
{
    Relay *r = opaque;
    size_t len = 64 * 1024;
    char *buf = g_malloc(len);
    Error *err = NULL;
    ssize_t got;

    while ((got = qio_channel_read(r->in, buf, len, &err)) > 0) {
        if (qio_channel_write_all(r->out, buf, got, &err) < 0) {
            die_err(err);
        }
    }
    if (got < 0) {
        die_err(err);
    }
    g_free(buf);
    return NULL;
}

/* @c's writer -> a -> relay thread -> b -> @c's reader. */
static void relay_open(Conn *c, Relay *r, size_t size)
{
    int a[2], b[2];

    conn_open(c, false, PLAIN_RW, size);
    close(c->rfd);
    close(c->wfd);
    make_unix_pair(a);
    make_unix_pair(b);
    c->wfd = a[0];
    r->in = wrap(a[1]);
    r->out = wrap(b[0]);
    c->rfd = b[1];
    qemu_thread_create(&r->th, "bench-relay", relay_thread, r,
                       QEMU_THREAD_JOINABLE);
}

static void relay_close(Conn *c, Relay *r)
{
    close(c->wfd);              /* the relay sees EOF and stops */
    qemu_thread_join(&r->th);
    object_unref(OBJECT(r->in));
    object_unref(OBJECT(r->out));
    close(c->rfd);
    g_free(c->wbuf);
    g_free(c->rbuf);
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    for (int i = 0; i < 400; i++) {     /* socat may not listen yet */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            die("socket");
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return fd;
        }
        close(fd);
        g_usleep(5000);
    }
    die("connect to socat");
    return -1;
}

/* @c's writer -> socat -> @c's reader; returns socat's pid, or 0. */
static GPid socat_open(Conn *c, char **dir, size_t size)
{
    char *in, *out, *a1, *a2;
    GPid pid = 0;
    char *argv[] = { (char *)"socat", (char *)"-b", (char *)"65536",
                     NULL, NULL, NULL };

    *dir = g_dir_make_tmp("bench-channel-XXXXXX", NULL);
    if (!*dir) {
        return 0;
    }
    in = g_build_filename(*dir, "in", NULL);
    out = g_build_filename(*dir, "out", NULL);
    a1 = g_strdup_printf("UNIX-LISTEN:%s", in);
    a2 = g_strdup_printf("UNIX-LISTEN:%s", out);
    argv[3] = a1;
    argv[4] = a2;
    if (g_spawn_async(NULL, argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                      G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, NULL)) {
        conn_open(c, false, PLAIN_RW, size);
        close(c->rfd);
        close(c->wfd);
        c->wfd = connect_unix(in);      /* socat opens "in" first */
        c->rfd = connect_unix(out);
    }
    g_free(a1);
    g_free(a2);
    g_free(in);
    g_free(out);
    return pid;
}

static void socat_close(Conn *c, GPid pid, char *dir)
{
    int status;
    char *p;

    close(c->wfd);
    close(c->rfd);
    waitpid(pid, &status, 0);
    g_free(c->wbuf);
    g_free(c->rbuf);
    for (int i = 0; i < 2; i++) {
        p = g_build_filename(dir, i ? "out" : "in", NULL);
        unlink(p);
        g_free(p);
    }
    rmdir(dir);
}

static void run_relay(size_t size)
{
    Conn ours, peer;
    Relay relay;
    BenchImpl impls[2] = {
        { .label = "spindle relay", .fn = transfer, .opaque = &ours },
        { .label = "socat -b 65536", .fn = transfer, .opaque = &peer },
    };
    char name[64];
    char *dir = NULL;
    GPid pid;

    relay_open(&ours, &relay, size);
    pid = socat_open(&peer, &dir, size);
    if (!pid) {
        impls[1].fn = NULL;
    }
    snprintf(name, sizeof(name), "relay unix %zuK msg", size / 1024);
    bench_compare(name, impls, 2);
    snprintf(name, sizeof(name), "relay unix %zuK MB/s", size / 1024);
    printf("%-30s spindle %.0f MB/s | socat %.0f MB/s\n", name,
           mb_s(size, impls[0].ns_op), mb_s(size, impls[1].ns_op));
    fflush(stdout);
    relay_close(&ours, &relay);
    if (pid) {
        socat_close(&peer, pid, dir);
    }
    g_free(dir);
}

/* ---- TLS ---------------------------------------------------------------- */

#define PSK_USER "bench"

static char *psk_dir;           /* holds keys.psk: PSK_USER:psk_hex */
static char psk_hex[65];

static void psk_cleanup(void)
{
    g_autofree char *path = g_build_filename(psk_dir, "keys.psk", NULL);

    unlink(path);
    rmdir(psk_dir);
    g_free(psk_dir);
}

/* A fresh random key in a temporary keys.psk, removed at exit. */
static void psk_setup(void)
{
    g_autofree char *line = NULL;
    g_autofree char *path = NULL;

    psk_dir = g_dir_make_tmp("bench-channel-psk-XXXXXX", NULL);
    if (!psk_dir) {
        die("mkdtemp");
    }
    atexit(psk_cleanup);
    for (int i = 0; i < 32; i++) {
        snprintf(psk_hex + 2 * i, 3, "%02x", g_random_int_range(0, 256));
    }
    line = g_strdup_printf("%s:%s\n", PSK_USER, psk_hex);
    path = g_build_filename(psk_dir, "keys.psk", NULL);
    if (!g_file_set_contents(path, line, -1, NULL)) {
        die("write keys.psk");
    }
}

/* One side's handshake, run on a thread of its own while the other runs. */
typedef struct Handshake {
    QIOChannelTLS *tioc;        /* ours, or NULL */
    gnutls_session_t sess;      /* the bare session, or NULL */
    bool done;
    Error *err;
} Handshake;

static void handshake_done(QIOTask *task, gpointer opaque)
{
    Handshake *hs = opaque;

    qio_task_propagate_error(task, &hs->err);
    hs->done = true;
}

static void *handshake_thread(void *opaque)
{
    Handshake *hs = opaque;
    GMainContext *ctx;
    int ret;

    if (hs->sess) {
        do {
            ret = gnutls_handshake(hs->sess);
        } while (ret < 0 && !gnutls_error_is_fatal(ret));
        if (ret < 0) {
            die_tls("gnutls_handshake", ret);
        }
        return NULL;
    }
    /* Blocking master: the handshake completes inside the call. */
    ctx = g_main_context_new();
    qio_channel_tls_handshake(hs->tioc, handshake_done, hs, NULL, ctx);
    while (!hs->done) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_main_context_unref(ctx);
    if (hs->err) {
        die_err(hs->err);
    }
    return NULL;
}

static void handshake_pair(Handshake *server, Handshake *client)
{
    QemuThread th;

    qemu_thread_create(&th, "bench-handshake", handshake_thread, server,
                       QEMU_THREAD_JOINABLE);
    handshake_thread(client);
    qemu_thread_join(&th);
}

/* Ours: QIOChannelTLS over QIOChannelSocket on both fds. */
static void tls_open_ours(Conn *c, const char *prio, int key_bytes)
{
    Error *err = NULL;
    QCryptoTLSCreds *screds, *ccreds;
    QIOChannel *rsock = wrap(c->rfd), *wsock = wrap(c->wfd);
    QIOChannelTLS *server, *client;
    Handshake hs_s = { 0 }, hs_c = { 0 };
    int key_size;

    screds = qcrypto_tls_creds_psk_new(QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
                                       psk_dir, NULL, prio, &err);
    ccreds = screds ? qcrypto_tls_creds_psk_new(
                          QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT, psk_dir,
                          PSK_USER, prio, &err) : NULL;
    server = ccreds ? qio_channel_tls_new_server(rsock, screds, NULL, &err)
                    : NULL;
    client = server ? qio_channel_tls_new_client(wsock, ccreds, NULL, &err)
                    : NULL;
    if (!client) {
        die_err(err);
    }
    hs_s.tioc = server;
    hs_c.tioc = client;
    handshake_pair(&hs_s, &hs_c);
    key_size = qcrypto_tls_session_get_key_size(client->session, &err);
    if (key_size < 0) {
        die_err(err);
    }
    bench_expect("our TLS key bytes", key_size, key_bytes);
    c->rioc = QIO_CHANNEL(server);
    c->wioc = QIO_CHANNEL(client);
    object_unref(OBJECT(rsock));        /* the TLS channels hold them */
    object_unref(OBJECT(wsock));
    qcrypto_tls_creds_unref(screds);
    qcrypto_tls_creds_unref(ccreds);
}

static gnutls_session_t bare_session(int fd, bool server, const char *prio,
                                     void **cred)
{
    g_autofree char *full = g_strdup_printf("%s:+ECDHE-PSK:+DHE-PSK:+PSK",
                                            prio);
    g_autofree char *path = g_build_filename(psk_dir, "keys.psk", NULL);
    gnutls_datum_t key = { (unsigned char *)psk_hex, strlen(psk_hex) };
    gnutls_session_t s;
    int ret;

    ret = gnutls_init(&s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
    if (ret == 0) {
        ret = gnutls_priority_set_direct(s, full, NULL);
    }
    if (ret == 0 && server) {
        gnutls_psk_server_credentials_t sc;

        ret = gnutls_psk_allocate_server_credentials(&sc);
        if (ret == 0) {
            *cred = sc;
            ret = gnutls_psk_set_server_credentials_file(sc, path);
        }
        if (ret == 0) {
            ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, sc);
        }
    } else if (ret == 0) {
        gnutls_psk_client_credentials_t cc;

        ret = gnutls_psk_allocate_client_credentials(&cc);
        if (ret == 0) {
            *cred = cc;
            ret = gnutls_psk_set_client_credentials(cc, PSK_USER, &key,
                                                    GNUTLS_PSK_KEY_HEX);
        }
        if (ret == 0) {
            ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, cc);
        }
    }
    if (ret < 0) {
        die_tls("bare GnuTLS session", ret);
    }
    gnutls_transport_set_int(s, fd);
    return s;
}

/* The limit: bare GnuTLS sessions on the plain fds. */
static void tls_open_bare(Conn *c, const char *prio, int cipher,
                          void *creds[2])
{
    Handshake hs_s = { 0 }, hs_c = { 0 };

    c->rsess = bare_session(c->rfd, true, prio, &creds[0]);
    c->wsess = bare_session(c->wfd, false, prio, &creds[1]);
    hs_s.sess = c->rsess;
    hs_c.sess = c->wsess;
    handshake_pair(&hs_s, &hs_c);
    bench_expect("bare GnuTLS cipher", gnutls_cipher_get(c->wsess), cipher);
}

static void tls_close_bare(Conn *c, void *creds[2])
{
    gnutls_deinit(c->rsess);
    gnutls_deinit(c->wsess);
    gnutls_psk_free_server_credentials(creds[0]);
    gnutls_psk_free_client_credentials(creds[1]);
    c->rsess = c->wsess = NULL;
    conn_close(c);
}

static void run_tls(const char *cipher_name, const char *prio, int cipher,
                    int key_bytes, size_t size)
{
    Conn ours, limit;
    void *creds[2] = { NULL, NULL };
    BenchImpl impls[2] = {
        { .label = "spindle QIOChannelTLS", .fn = transfer, .opaque = &ours },
        { .label = "bare GnuTLS records", .fn = transfer, .opaque = &limit },
    };
    char row[64];

    conn_open(&ours, false, PLAIN_RW, size);
    tls_open_ours(&ours, prio, key_bytes);
    conn_open(&limit, false, PLAIN_RW, size);
    tls_open_bare(&limit, prio, cipher, creds);
    snprintf(row, sizeof(row), "tls %s %zuK", cipher_name, size / 1024);
    compare_mb_s(row, size, impls, 2);
    conn_close(&ours);
    tls_close_bare(&limit, creds);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    bench_header("bench-channel");
    run("unix", false, 64 * 1024);
    run("unix", false, 4 * 1024);
    run("tcp", true, 64 * 1024);
    run("tcp", true, 4 * 1024);
    run_relay(64 * 1024);
    psk_setup();
    run_tls("aes-128-gcm", "NORMAL:-CIPHER-ALL:+AES-128-GCM",
            GNUTLS_CIPHER_AES_128_GCM, 16, 64 * 1024);
    /* TLS 1.2: a TLS 1.3 PSK is tied to SHA-256, AES-256-GCM to SHA-384. */
    run_tls("aes-256-gcm/1.2",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM",
            GNUTLS_CIPHER_AES_256_GCM, 32, 64 * 1024);
    return 0;
}
