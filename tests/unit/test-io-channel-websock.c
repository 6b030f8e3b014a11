/*
 * Tests for io/channel-websock.h: the accept key and request parser, each
 * handshake refusal with its HTTP status and Error, frames of every
 * length class in both directions, the server's protocol checks (masking,
 * RSV bits, control frames, fragmentation, frame size), ping/pong, the
 * close handshake, byte-at-a-time input, short writes in non-blocking
 * mode, watches, coroutines, and a 1 MiB round trip.
 *
 * The server side is a QIOChannelWebsock on one end of a UNIX socketpair;
 * the test plays the client on the raw other end, with its own small
 * frame encoder and decoder (deliberately not the library's).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-websock.h"
#include "io/channel-socket.h"
#include "io/websock-priv.h"
#include "qapi/error.h"
#include "qemu/atomic.h"
#include "qemu/coroutine.h"
#include "qemu/thread.h"
#include "block/aio.h"
#include <sys/socket.h>

#define FIN 0x80
#define OP_CONT 0x0
#define OP_TEXT 0x1
#define OP_BINARY 0x2
#define OP_CLOSE 0x8
#define OP_PING 0x9
#define OP_PONG 0xa

#define MIB (1024 * 1024)

/* The request of RFC 6455 section 1.2, line by line. */
#define L_GET "GET /chat HTTP/1.1\r\n"
#define L_HOST "Host: server.example.com\r\n"
#define L_UPG "Upgrade: websocket\r\n"
#define L_CONN "Connection: Upgrade\r\n"
#define L_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define L_VER "Sec-WebSocket-Version: 13\r\n"
#define L_END "\r\n"
#define GOOD_REQUEST L_GET L_HOST L_UPG L_CONN L_KEY L_VER L_END

#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static const uint8_t test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- raw client side -------------------------------------------------- */

static void write_exact(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        g_assert_cmpint(n, >, 0);
        p += n;
        len -= n;
    }
}

/* Read @len bytes; returns false on end-of-file before any byte. */
static bool read_exact(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);

        g_assert_cmpint(n, >=, 0);
        if (n == 0) {
            g_assert_cmpuint(got, ==, 0);
            return false;
        }
        got += n;
    }
    return true;
}

/* Our own client-side encoder: a header with the given first byte. */
static GByteArray *client_header(uint8_t b0, bool mask, uint64_t len)
{
    GByteArray *f = g_byte_array_new();
    uint8_t b1 = mask ? 0x80 : 0;
    uint8_t ext[8];
    int i, n = 0;

    if (len < 126) {
        b1 |= len;
    } else if (len <= 0xffff) {
        b1 |= 126;
        n = 2;
    } else {
        b1 |= 127;
        n = 8;
    }
    for (i = 0; i < n; i++) {
        ext[i] = len >> (8 * (n - 1 - i));
    }
    g_byte_array_append(f, &b0, 1);
    g_byte_array_append(f, &b1, 1);
    g_byte_array_append(f, ext, n);
    if (mask) {
        g_byte_array_append(f, test_mask, 4);
    }
    return f;
}

static GByteArray *client_frame(uint8_t b0, bool mask, const void *payload,
                                size_t len)
{
    GByteArray *f = client_header(b0, mask, len);
    size_t off = f->len, i;

    g_byte_array_append(f, payload, len);
    for (i = 0; mask && i < len; i++) {
        f->data[off + i] ^= test_mask[i % 4];
    }
    return f;
}

static void send_frame(int fd, uint8_t b0, bool mask, const void *payload,
                       size_t len)
{
    g_autoptr(GByteArray) f = client_frame(b0, mask, payload, len);

    write_exact(fd, f->data, f->len);
}

/* A frame the server sent, as our own decoder saw it. */
typedef struct ServerFrame {
    uint8_t b0;
    size_t header_len;
    GByteArray *payload;
} ServerFrame;

/* Read one server frame; returns false at end-of-file. */
static bool read_server_frame(int fd, ServerFrame *f)
{
    uint8_t h[10];
    uint64_t len;
    int i, n;

    if (!read_exact(fd, h, 2)) {
        return false;
    }
    g_assert_false(h[1] & 0x80);        /* servers never mask */
    len = h[1] & 0x7f;
    n = len == 126 ? 2 : len == 127 ? 8 : 0;
    g_assert_true(read_exact(fd, h + 2, n));
    if (n) {
        len = 0;
        for (i = 0; i < n; i++) {
            len = (len << 8) | h[2 + i];
        }
    }
    f->b0 = h[0];
    f->header_len = 2 + n;
    f->payload = g_byte_array_sized_new(len);
    g_byte_array_set_size(f->payload, len);
    g_assert_true(len == 0 || read_exact(fd, f->payload->data, len));
    return true;
}

/* Expect a close frame with status @code next on @fd. */
static void expect_close(int fd, uint16_t code)
{
    ServerFrame f;

    g_assert_true(read_server_frame(fd, &f));
    g_assert_cmphex(f.b0, ==, FIN | OP_CLOSE);
    g_assert_cmpuint(f.payload->len, ==, 2);
    g_assert_cmpuint((f.payload->data[0] << 8) | f.payload->data[1], ==,
                     code);
    g_byte_array_unref(f.payload);
}

/* Read an HTTP response header (up to the blank line). */
static char *read_http_response(int fd)
{
    GString *s = g_string_new(NULL);
    char c;

    while (!g_str_has_suffix(s->str, "\r\n\r\n")) {
        g_assert_cmpint(read(fd, &c, 1), ==, 1);
        g_string_append_c(s, c);
    }
    return g_string_free(s, FALSE);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = (i * 31 + seed + (i >> 8)) & 0xff;
    }
}

/* ---- server side ------------------------------------------------------ */

typedef struct WsPair {
    int cfd;                    /* the client's raw end */
    QIOChannelSocket *sioc;     /* the master */
    QIOChannelWebsock *wioc;
    QIOChannel *ioc;            /* == wioc */
} WsPair;

typedef struct HsResult {
    bool done;
    Error *err;
    Object *source;
} HsResult;

static void pair_open(WsPair *p)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    p->cfd = sv[1];
    p->sioc = qio_channel_socket_new_fd(sv[0], &error_abort);
    p->wioc = qio_channel_websock_new_server(QIO_CHANNEL(p->sioc));
    p->ioc = QIO_CHANNEL(p->wioc);
}

static void pair_close(WsPair *p)
{
    object_unref(p->wioc);
    object_unref(p->sioc);
    if (p->cfd >= 0) {
        close(p->cfd);
    }
}

static void handshake_done(QIOTask *task, gpointer opaque)
{
    HsResult *r = opaque;

    r->source = qio_task_get_source(task);
    qio_task_propagate_error(task, &r->err);
    r->done = true;
}

/* Run the handshake in the default GMainContext until it completes. */
static void run_handshake(WsPair *p, HsResult *r)
{
    qio_channel_websock_handshake(p->wioc, handshake_done, r, NULL);
    while (!r->done) {
        g_main_context_iteration(NULL, TRUE);
    }
}

/* Handshake with the RFC's request; check the 101 reply. */
static void pair_handshake(WsPair *p)
{
    HsResult r = { 0 };
    g_autofree char *resp = NULL;

    write_exact(p->cfd, GOOD_REQUEST, strlen(GOOD_REQUEST));
    run_handshake(p, &r);
    g_assert_null(r.err);
    resp = read_http_response(p->cfd);
    g_assert_true(g_str_has_prefix(resp, "HTTP/1.1 101 "));
}

static void pair_open_ready(WsPair *p)
{
    pair_open(p);
    pair_handshake(p);
}

/* ---- pure parts --------------------------------------------------------- */

static void test_accept_key(void)
{
    /* The worked example of RFC 6455 section 1.3. */
    g_autofree char *accept =
        qio_websock_accept_key("dGhlIHNhbXBsZSBub25jZQ==");

    g_assert_cmpstr(accept, ==, RFC_ACCEPT);
}

static void test_parse_request(void)
{
    static const char req[] = "GET / HTTP/1.1\r\n" "host: h\r\n"
        "UPGRADE: WebSocket\r\n" "connection: keep-alive, upgrade\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: chat\r\n"
        "Sec-WebSocket-Protocol: binary\r\n"
        "sec-websocket-version:13\r\n" "\r\n";
    QIOWebsockHandshake hs;
    g_autofree char *resp = NULL;

    g_assert_cmpuint(qio_websock_header_end(req, sizeof(req) - 1), ==,
                     sizeof(req) - 1);
    g_assert_cmpuint(qio_websock_header_end(req, sizeof(req) - 2), ==, 0);
    g_assert_true(qio_websock_parse_request(req, sizeof(req) - 1, &hs,
                                            &error_abort));
    g_assert_cmpint(hs.status, ==, 101);
    g_assert_cmpstr(hs.accept, ==, RFC_ACCEPT);
    g_assert_true(hs.binary_protocol);
    resp = qio_websock_response(&hs);
    g_assert_true(g_str_has_prefix(resp, "HTTP/1.1 101 Switching "
                                   "Protocols\r\n"));
    g_assert_nonnull(strstr(resp, "Sec-WebSocket-Accept: " RFC_ACCEPT
                            "\r\n"));
    g_assert_nonnull(strstr(resp, "Sec-WebSocket-Protocol: binary\r\n"));
    g_free(hs.accept);
}

static void test_frame_header_codec(void)
{
    static const uint64_t lens[] = { 0, 1, 125, 126, 65535, 65536,
                                     1ULL << 32 };
    static const size_t hlens[] = { 2, 2, 2, 4, 4, 10, 10 };
    uint8_t buf[QIO_WEBSOCK_MAX_FRAME_HEADER];
    QIOWebsockFrameHeader hdr;
    size_t i, n, cut;

    for (i = 0; i < ARRAY_SIZE(lens); i++) {
        n = qio_websock_frame_header_encode(buf, QIO_WEBSOCK_OP_BINARY,
                                            true, lens[i]);
        g_assert_cmpuint(n, ==, hlens[i]);
        for (cut = 0; cut < n; cut++) {
            g_assert_cmpuint(qio_websock_frame_header_parse(buf, cut, &hdr),
                             ==, 0);
        }
        g_assert_cmpuint(qio_websock_frame_header_parse(buf, n, &hdr), ==, n);
        g_assert_true(hdr.fin);
        g_assert_false(hdr.masked);
        g_assert_cmpuint(hdr.opcode, ==, QIO_WEBSOCK_OP_BINARY);
        g_assert_cmpuint(hdr.payload_len, ==, lens[i]);
    }
}

static void test_frame_header_check(void)
{
    g_autoptr(GByteArray) f = client_header(FIN | OP_BINARY, false, 5);
    QIOWebsockFrameHeader hdr;
    uint16_t code = 0;
    Error *err = NULL;

    g_assert_cmpuint(qio_websock_frame_header_parse(f->data, f->len, &hdr),
                     ==, 2);
    g_assert_false(qio_websock_frame_header_check(&hdr, false, 100, &code,
                                                  &err));
    g_assert_cmpuint(code, ==, 1002);
    g_assert_cmpstr(error_get_pretty(err), ==, "websocket protocol error: "
                    "unmasked client frame (opcode 0x2)");
    error_free_or_abort(&err);

    hdr.masked = true;
    hdr.payload_len = 101;
    g_assert_false(qio_websock_frame_header_check(&hdr, false, 100, &code,
                                                  &err));
    g_assert_cmpuint(code, ==, 1009);
    error_free_or_abort(&err);

    hdr.payload_len = 100;
    g_assert_true(qio_websock_frame_header_check(&hdr, false, 100, &code,
                                                 &error_abort));
}

static void test_mask_pieces(void)
{
    uint8_t whole[37], pieces[37];
    size_t i;

    fill_pattern(whole, sizeof(whole), 7);
    memcpy(pieces, whole, sizeof(whole));
    qio_websock_mask(whole, sizeof(whole), test_mask, 0);
    for (i = 0; i < sizeof(whole); i++) {
        g_assert_cmpuint(whole[i] ^ pieces[i], ==, test_mask[i % 4]);
    }
    /* Unmasking in odd-sized pieces gives the same bytes. */
    qio_websock_mask(pieces, 3, test_mask, 0);
    qio_websock_mask(pieces + 3, 21, test_mask, 3);
    qio_websock_mask(pieces + 24, 13, test_mask, 24);
    g_assert_cmpmem(whole, sizeof(whole), pieces, sizeof(pieces));
}

/* ---- handshake through the channel ------------------------------------ */

static void test_handshake_ok(void)
{
    WsPair p;
    HsResult r = { 0 };
    g_autofree char *resp = NULL;

    pair_open(&p);
    write_exact(p.cfd, GOOD_REQUEST, strlen(GOOD_REQUEST));
    run_handshake(&p, &r);
    g_assert_null(r.err);
    g_assert_true(r.source == OBJECT(p.wioc));
    resp = read_http_response(p.cfd);
    g_assert_true(g_str_has_prefix(resp, "HTTP/1.1 101 Switching "
                                   "Protocols\r\n"));
    g_assert_nonnull(strstr(resp, "\r\nUpgrade: websocket\r\n"));
    g_assert_nonnull(strstr(resp, "\r\nConnection: Upgrade\r\n"));
    g_assert_nonnull(strstr(resp, "\r\nSec-WebSocket-Accept: " RFC_ACCEPT
                            "\r\n"));
    g_assert_null(strstr(resp, "Sec-WebSocket-Protocol"));
    pair_close(&p);
}

static void test_handshake_binary_protocol(void)
{
    static const char req[] = L_GET L_HOST L_UPG L_CONN L_KEY L_VER
        "Sec-WebSocket-Protocol: binary, base64\r\n" L_END;
    WsPair p;
    HsResult r = { 0 };
    g_autofree char *resp = NULL;

    pair_open(&p);
    write_exact(p.cfd, req, strlen(req));
    run_handshake(&p, &r);
    g_assert_null(r.err);
    resp = read_http_response(p.cfd);
    g_assert_nonnull(strstr(resp, "\r\nSec-WebSocket-Protocol: binary\r\n"));
    pair_close(&p);
}

/* A frame the client sent right behind its request is not lost. */
static void test_handshake_pipelined_frame(void)
{
    g_autoptr(GByteArray) f = client_frame(FIN | OP_BINARY, true, "early", 5);
    WsPair p;
    HsResult r = { 0 };
    char buf[5];

    pair_open(&p);
    g_byte_array_prepend(f, (const guint8 *)GOOD_REQUEST,
                         strlen(GOOD_REQUEST));
    write_exact(p.cfd, f->data, f->len);
    run_handshake(&p, &r);
    g_assert_null(r.err);
    g_free(read_http_response(p.cfd));
    g_assert_cmpint(qio_channel_read_all(p.ioc, buf, 5, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 5, "early", 5);
    pair_close(&p);
}

typedef enum {
    SEND_AS_IS,     /* write the request */
    SEND_THEN_EOF,  /* write it, then shut down the client's write side */
    SEND_OVERSIZED, /* a request with a header past the limit */
} SendMode;

typedef struct HandshakeCase {
    const char *path;
    const char *request;
    SendMode mode;
    int status;
    const char *message;
    const char *extra;      /* a line the response must also hold */
} HandshakeCase;

static const HandshakeCase handshake_cases[] = {
    { "missing-upgrade", L_GET L_HOST L_CONN L_KEY L_VER L_END, SEND_AS_IS,
      426, "websocket handshake: missing 'Upgrade: websocket' header",
      "Upgrade: websocket" },
    { "wrong-upgrade", L_GET L_HOST "Upgrade: h2c\r\n" L_CONN L_KEY L_VER
      L_END, SEND_AS_IS, 426,
      "websocket handshake: missing 'Upgrade: websocket' header", NULL },
    { "missing-connection", L_GET L_HOST L_UPG L_KEY L_VER L_END,
      SEND_AS_IS, 426,
      "websocket handshake: missing 'Connection: Upgrade' header", NULL },
    { "missing-key", L_GET L_HOST L_UPG L_CONN L_VER L_END, SEND_AS_IS, 400,
      "websocket handshake: missing Sec-WebSocket-Key header", NULL },
    { "bad-key-length", L_GET L_HOST L_UPG L_CONN
      "Sec-WebSocket-Key: c2hvcnQ=\r\n" L_VER L_END, SEND_AS_IS, 400,
      "websocket handshake: Sec-WebSocket-Key 'c2hvcnQ=' is not 16 bytes "
      "in base64", NULL },
    { "missing-version", L_GET L_HOST L_UPG L_CONN L_KEY L_END, SEND_AS_IS,
      400, "websocket handshake: missing Sec-WebSocket-Version header",
      NULL },
    { "wrong-version", L_GET L_HOST L_UPG L_CONN L_KEY
      "Sec-WebSocket-Version: 8\r\n" L_END, SEND_AS_IS, 426,
      "websocket handshake: unsupported protocol version '8' (need 13)",
      "Sec-WebSocket-Version: 13" },
    { "missing-host", L_GET L_UPG L_CONN L_KEY L_VER L_END, SEND_AS_IS, 400,
      "websocket handshake: missing Host header", NULL },
    { "not-get", "POST /chat HTTP/1.1\r\n" L_HOST L_UPG L_CONN L_KEY L_VER
      L_END, SEND_AS_IS, 405,
      "websocket handshake: method 'POST' is not allowed (only GET)", NULL },
    { "http-1.0", "GET /chat HTTP/1.0\r\n" L_HOST L_UPG L_CONN L_KEY L_VER
      L_END, SEND_AS_IS, 400,
      "websocket handshake: unsupported HTTP version 'HTTP/1.0' (need "
      "HTTP/1.1)", NULL },
    { "bad-request-line", "GET\r\n" L_HOST L_END, SEND_AS_IS, 400,
      "websocket handshake: malformed request line", NULL },
    { "bad-field-line", L_GET L_HOST "no colon here\r\n" L_END, SEND_AS_IS,
      400, "websocket handshake: malformed header line", NULL },
    { "unknown-protocol", L_GET L_HOST L_UPG L_CONN L_KEY L_VER
      "Sec-WebSocket-Protocol: chat\r\n" L_END, SEND_AS_IS, 403,
      "websocket handshake: none of the offered subprotocols 'chat' is "
      "supported (only 'binary')", NULL },
    { "oversized", NULL, SEND_OVERSIZED, 400,
      "websocket handshake: request header exceeds 4096 bytes", NULL },
    { "unterminated", L_GET L_HOST L_UPG, SEND_THEN_EOF, 400,
      "websocket handshake: connection closed before the request header "
      "was terminated", NULL },
};

static void send_case_request(int fd, const HandshakeCase *c)
{
    if (c->mode == SEND_OVERSIZED) {
        g_autoptr(GString) s = g_string_new(L_GET L_HOST);

        while (s->len <= QIO_WEBSOCK_MAX_HEADER) {
            g_string_append(s, "X-Padding: 0123456789abcdef\r\n");
        }
        g_string_append(s, L_UPG L_CONN L_KEY L_VER L_END);
        write_exact(fd, s->str, s->len);
        return;
    }
    write_exact(fd, c->request, strlen(c->request));
    if (c->mode == SEND_THEN_EOF) {
        g_assert_cmpint(shutdown(fd, SHUT_WR), ==, 0);
    }
}

static void test_handshake_error(gconstpointer opaque)
{
    const HandshakeCase *c = opaque;
    g_autofree char *status_line = NULL;
    g_autofree char *resp = NULL;
    HsResult r = { 0 };
    WsPair p;
    char buf[1];

    pair_open(&p);
    send_case_request(p.cfd, c);
    run_handshake(&p, &r);
    g_assert_nonnull(r.err);
    g_assert_cmpstr(error_get_pretty(r.err), ==, c->message);
    error_free(r.err);

    resp = read_http_response(p.cfd);
    status_line = g_strdup_printf("HTTP/1.1 %d %s\r\n", c->status,
                                  qio_websock_status_text(c->status));
    g_assert_true(g_str_has_prefix(resp, status_line));
    g_assert_nonnull(strstr(resp, "\r\nConnection: close\r\n"));
    if (c->extra) {
        g_assert_nonnull(strstr(resp, c->extra));
    }
    /* The channel carries no data after a refusal. */
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 1, NULL), ==, -1);
    pair_close(&p);
}

/* A client that goes away mid-header: the reason is reported, no crash. */
static void test_handshake_client_vanishes(void)
{
    HsResult r = { 0 };
    WsPair p;

    pair_open(&p);
    write_exact(p.cfd, L_GET L_HOST, strlen(L_GET L_HOST));
    close(p.cfd);
    p.cfd = -1;
    run_handshake(&p, &r);
    g_assert_cmpstr(error_get_pretty(r.err), ==, "websocket handshake: "
                    "connection closed before the request header was "
                    "terminated");
    error_free(r.err);
    pair_close(&p);
}

static void test_not_ready(void)
{
    WsPair p;
    Error *err = NULL;
    char buf[1] = { 0 };

    pair_open(&p);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "websocket handshake has not completed");
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_write(p.ioc, buf, 1, &err), ==, -1);
    error_free_or_abort(&err);
    pair_close(&p);
}

static void test_close_during_handshake(void)
{
    WsPair p;
    HsResult r = { 0 };

    pair_open(&p);
    qio_channel_websock_handshake(p.wioc, handshake_done, &r, NULL);
    g_assert_false(r.done);
    g_assert_cmpint(qio_channel_close(p.ioc, &error_abort), ==, 0);
    g_assert_true(r.done);
    g_assert_cmpstr(error_get_pretty(r.err), ==,
                    "websocket handshake cancelled: channel closed");
    error_free(r.err);
    pair_close(&p);
}

/* ---- frames ----------------------------------------------------------- */

static const size_t length_classes[] = { 1, 125, 126, 65535, 65536, 100000 };

static size_t header_len_for(size_t len)
{
    return len < 126 ? 2 : len <= 0xffff ? 4 : 10;
}

static void test_frames_client_to_server(void)
{
    WsPair p;
    size_t i;

    pair_open_ready(&p);
    for (i = 0; i < ARRAY_SIZE(length_classes); i++) {
        size_t len = length_classes[i];
        g_autofree uint8_t *out = g_malloc(len);
        g_autofree uint8_t *in = g_malloc(len);

        fill_pattern(out, len, i);
        send_frame(p.cfd, FIN | OP_BINARY, true, out, len);
        g_assert_cmpint(qio_channel_read_all(p.ioc, (char *)in, len,
                                             &error_abort), ==, 0);
        g_assert_cmpmem(in, len, out, len);
    }
    pair_close(&p);
}

static void test_frames_server_to_client(void)
{
    WsPair p;
    size_t i;

    pair_open_ready(&p);
    for (i = 0; i < ARRAY_SIZE(length_classes); i++) {
        size_t len = length_classes[i];
        g_autofree uint8_t *out = g_malloc(len);
        ServerFrame f;

        fill_pattern(out, len, i);
        g_assert_cmpint(qio_channel_write(p.ioc, (char *)out, len,
                                          &error_abort), ==, len);
        g_assert_true(read_server_frame(p.cfd, &f));
        g_assert_cmphex(f.b0, ==, FIN | OP_BINARY);
        g_assert_cmpuint(f.header_len, ==, header_len_for(len));
        g_assert_cmpmem(f.payload->data, f.payload->len, out, len);
        g_byte_array_unref(f.payload);
    }
    pair_close(&p);
}

/* Text frames are delivered as bytes, like binary ones. */
static void test_frames_text(void)
{
    WsPair p;
    char buf[6];

    pair_open_ready(&p);
    send_frame(p.cfd, FIN | OP_TEXT, true, "h\xc3\xa9llo", 6);
    g_assert_cmpint(qio_channel_read_all(p.ioc, buf, 6, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 6, "h\xc3\xa9llo", 6);
    pair_close(&p);
}

static void test_frames_fragmented_with_ping(void)
{
    WsPair p;
    ServerFrame f;
    char buf[15];

    pair_open_ready(&p);
    send_frame(p.cfd, OP_BINARY, true, "Hello ", 6);
    send_frame(p.cfd, FIN | OP_PING, true, "p!", 2);
    send_frame(p.cfd, OP_CONT, true, "Web", 3);
    send_frame(p.cfd, FIN | OP_PONG, true, "x", 1);   /* ignored */
    send_frame(p.cfd, FIN | OP_CONT, true, "Socket", 6);
    send_frame(p.cfd, FIN | OP_BINARY, true, "!", 1);  /* next message */
    g_assert_cmpint(qio_channel_read_all(p.ioc, buf, 15, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 15, "Hello WebSocket", 15);
    g_assert_cmpint(qio_channel_read_all(p.ioc, buf, 1, &error_abort), ==, 0);
    g_assert_cmpint(buf[0], ==, '!');

    g_assert_true(read_server_frame(p.cfd, &f));
    g_assert_cmphex(f.b0, ==, FIN | OP_PONG);
    g_assert_cmpmem(f.payload->data, f.payload->len, "p!", 2);
    g_byte_array_unref(f.payload);
    pair_close(&p);
}

static void test_close_from_client(void)
{
    static const char close_payload[] = "\x03\xe8" "bye";
    WsPair p;
    Error *err = NULL;
    char buf[4];

    pair_open_ready(&p);
    send_frame(p.cfd, FIN | OP_BINARY, true, "data", 4);
    send_frame(p.cfd, FIN | OP_CLOSE, true, close_payload, 5);
    g_assert_cmpint(qio_channel_read_all_eof(p.ioc, buf, 4, &error_abort),
                    ==, 1);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 4, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 4, &error_abort), ==, 0);
    expect_close(p.cfd, 1000);

    g_assert_cmpint(qio_channel_write(p.ioc, "late", 4, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "websocket connection is "
                    "closing: no more data may be sent");
    error_free(err);
    pair_close(&p);
}

/* An empty close is answered by an empty close; a bad reason by 1007. */
static void test_close_payloads(void)
{
    WsPair p;
    ServerFrame f;
    Error *err = NULL;
    char buf[4];

    pair_open_ready(&p);
    send_frame(p.cfd, FIN | OP_CLOSE, true, "", 0);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 4, &error_abort), ==, 0);
    g_assert_true(read_server_frame(p.cfd, &f));
    g_assert_cmphex(f.b0, ==, FIN | OP_CLOSE);
    g_assert_cmpuint(f.payload->len, ==, 0);
    g_byte_array_unref(f.payload);
    pair_close(&p);

    pair_open_ready(&p);
    send_frame(p.cfd, FIN | OP_CLOSE, true, "\x03\xe8\xff\xfe", 4);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 4, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "websocket close reason is not valid UTF-8");
    error_free(err);
    expect_close(p.cfd, 1007);
    pair_close(&p);
}

static void test_close_from_server(void)
{
    WsPair p;
    char c;

    pair_open_ready(&p);
    g_assert_cmpint(qio_channel_close(p.ioc, &error_abort), ==, 0);
    expect_close(p.cfd, 1000);
    g_assert_cmpint(read(p.cfd, &c, 1), ==, 0);
    pair_close(&p);
}

/* The master ending the stream between frames reads as end-of-file. */
static void test_master_eof(void)
{
    WsPair p;
    char buf[8];

    pair_open_ready(&p);
    send_frame(p.cfd, FIN | OP_BINARY, true, "ab", 2);
    shutdown(p.cfd, SHUT_WR);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 8, &error_abort), ==, 2);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 8, &error_abort), ==, 0);
    pair_close(&p);
}

/* ... but in the middle of a frame it is an error. */
static void test_master_eof_mid_frame(void)
{
    g_autoptr(GByteArray) f = client_frame(FIN | OP_BINARY, true,
                                           "abcdef", 6);
    WsPair p;
    Error *err = NULL;
    char buf[8];

    pair_open_ready(&p);
    write_exact(p.cfd, f->data, f->len - 2);
    shutdown(p.cfd, SHUT_WR);
    g_assert_cmpint(qio_channel_read_all(p.ioc, buf, 6, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "websocket connection closed "
                    "in the middle of a frame");
    error_free(err);
    pair_close(&p);
}

/* ---- protocol errors ---------------------------------------------------- */

typedef struct BadFrameCase {
    const char *path;
    uint8_t b0;
    bool mask;
    size_t len;             /* payload bytes to send */
    uint64_t claimed;       /* length in the header if != len */
    bool open_message;      /* send an unfinished message first */
    uint16_t code;
    const char *message;
} BadFrameCase;

static const BadFrameCase bad_frames[] = {
    { "unmasked", FIN | OP_BINARY, false, 4, 0, false, 1002,
      "websocket protocol error: unmasked client frame (opcode 0x2)" },
    { "rsv1", FIN | 0x40 | OP_BINARY, true, 4, 0, false, 1002,
      "websocket protocol error: reserved bits set without a negotiated "
      "extension (opcode 0x2)" },
    { "rsv3", FIN | 0x10 | OP_BINARY, true, 4, 0, false, 1002,
      "websocket protocol error: reserved bits set without a negotiated "
      "extension (opcode 0x2)" },
    { "reserved-opcode", FIN | 0x3, true, 4, 0, false, 1002,
      "websocket protocol error: reserved opcode (opcode 0x3)" },
    { "long-ping", FIN | OP_PING, true, 126, 0, false, 1002,
      "websocket protocol error: control frame longer than 125 bytes "
      "(opcode 0x9)" },
    { "fragmented-ping", OP_PING, true, 4, 0, false, 1002,
      "websocket protocol error: fragmented control frame (opcode 0x9)" },
    { "stray-continuation", FIN | OP_CONT, true, 4, 0, false, 1002,
      "websocket protocol error: continuation frame outside a fragmented "
      "message (opcode 0x0)" },
    { "data-inside-message", FIN | OP_BINARY, true, 4, 0, true, 1002,
      "websocket protocol error: new data frame inside a fragmented "
      "message (opcode 0x2)" },
    { "oversized", FIN | OP_BINARY, true, 0, QIO_WEBSOCK_MAX_FRAME + 1,
      false, 1009, "websocket frame of 16777217 bytes exceeds the limit of "
      "16777216 bytes" },
    { "bad-close-code", FIN | OP_CLOSE, true, 2, 0, false, 1002,
      "websocket protocol error: invalid close frame" },
};

static void test_bad_frame(gconstpointer opaque)
{
    const BadFrameCase *c = opaque;
    g_autofree uint8_t *payload = g_malloc0(MAX(c->len, 1));
    g_autoptr(GByteArray) f = NULL;
    Error *err = NULL;
    WsPair p;
    char buf[16];

    pair_open_ready(&p);
    if (c->open_message) {
        send_frame(p.cfd, OP_BINARY, true, "part", 4);
    }
    if (c->claimed) {
        f = client_header(c->b0, c->mask, c->claimed);
    } else {
        f = client_frame(c->b0, c->mask, payload, c->len);
    }
    write_exact(p.cfd, f->data, f->len);
    if (c->open_message) {
        g_assert_cmpint(qio_channel_read_all(p.ioc, buf, 4, &error_abort),
                        ==, 0);
    }
    g_assert_cmpint(qio_channel_read(p.ioc, buf, sizeof(buf), &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, c->message);
    error_free_or_abort(&err);
    expect_close(p.cfd, c->code);

    /* The failure is sticky, for readers and writers alike. */
    g_assert_cmpint(qio_channel_read(p.ioc, buf, sizeof(buf), &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, c->message);
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_write(p.ioc, "x", 1, &err), ==, -1);
    error_free_or_abort(&err);
    pair_close(&p);
}

/* ---- byte at a time ------------------------------------------------- */

/* Non-blocking: every byte short of a payload byte gives ERR_BLOCK. */
static void test_byte_at_a_time_nonblocking(void)
{
    uint8_t data[300];
    g_autoptr(GByteArray) f = NULL;
    WsPair p;
    size_t i, got = 0;
    uint8_t in[300];

    fill_pattern(data, sizeof(data), 3);
    f = client_frame(FIN | OP_BINARY, true, data, sizeof(data));
    pair_open_ready(&p);
    qio_channel_set_blocking(p.ioc, false, &error_abort);
    g_assert_cmpint(qio_channel_read(p.ioc, (char *)in, 1, NULL), ==,
                    QIO_CHANNEL_ERR_BLOCK);
    for (i = 0; i < f->len; i++) {
        ssize_t n;

        write_exact(p.cfd, f->data + i, 1);
        n = qio_channel_read(p.ioc, (char *)in + got, sizeof(in) - got,
                             &error_abort);
        if (i < 8) {    /* 2 + 2 length + 4 mask bytes of header */
            g_assert_cmpint(n, ==, QIO_CHANNEL_ERR_BLOCK);
        } else {
            g_assert_cmpint(n, ==, 1);
            got++;
        }
    }
    g_assert_cmpmem(in, got, data, sizeof(data));
    pair_close(&p);
}

typedef struct Trickle {
    int fd;
    GByteArray *bytes;
} Trickle;

static void *trickle_thread(void *opaque)
{
    Trickle *t = opaque;
    size_t i;

    for (i = 0; i < t->bytes->len; i++) {
        write_exact(t->fd, t->bytes->data + i, 1);
        if (i % 16 == 0) {
            g_thread_yield();
        }
    }
    return NULL;
}

static void *bulk_write_thread(void *opaque)
{
    Trickle *t = opaque;

    write_exact(t->fd, t->bytes->data, t->bytes->len);
    return NULL;
}

/* Blocking: a writer thread feeds a message and a ping byte by byte. */
static void test_byte_at_a_time_thread(void)
{
    uint8_t data[1000], in[1000];
    g_autoptr(GByteArray) a = NULL;
    g_autoptr(GByteArray) b = NULL;
    g_autoptr(GByteArray) ping = client_frame(FIN | OP_PING, true, "hi", 2);
    Trickle t;
    QemuThread th;
    ServerFrame f;
    WsPair p;

    fill_pattern(data, sizeof(data), 5);
    a = client_frame(OP_BINARY, true, data, 400);
    b = client_frame(FIN | OP_CONT, true, data + 400, 600);
    g_byte_array_append(a, ping->data, ping->len);
    g_byte_array_append(a, b->data, b->len);
    pair_open_ready(&p);
    t = (Trickle) { .fd = p.cfd, .bytes = a };
    qemu_thread_create(&th, "trickle", trickle_thread, &t,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_read_all(p.ioc, (char *)in, sizeof(in),
                                         &error_abort), ==, 0);
    qemu_thread_join(&th);
    g_assert_cmpmem(in, sizeof(in), data, sizeof(data));
    g_assert_true(read_server_frame(p.cfd, &f));
    g_assert_cmphex(f.b0, ==, FIN | OP_PONG);
    g_assert_cmpmem(f.payload->data, f.payload->len, "hi", 2);
    g_byte_array_unref(f.payload);
    pair_close(&p);
}

/* ---- non-blocking writes and watches ------------------------------------ */

typedef struct Drain {
    int fd;
    size_t want;            /* payload bytes to read */
    size_t got;
    unsigned frames;
    size_t max_frame;
    uint8_t *data;
} Drain;

/* Read server data frames until @want payload bytes have arrived. */
static void *drain_thread(void *opaque)
{
    Drain *d = opaque;
    ServerFrame f;

    while (d->got < d->want) {
        g_assert_true(read_server_frame(d->fd, &f));
        if (f.b0 == (FIN | OP_BINARY)) {
            g_assert_cmpuint(d->got + f.payload->len, <=, d->want);
            memcpy(d->data + d->got, f.payload->data, f.payload->len);
            d->got += f.payload->len;
            d->frames++;
            d->max_frame = MAX(d->max_frame, f.payload->len);
        }
        g_byte_array_unref(f.payload);
    }
    return NULL;
}

static gboolean set_flag(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    GIOCondition *seen = opaque;

    *seen = cond;
    return G_SOURCE_REMOVE;
}

static void wait_watch(QIOChannel *ioc, GIOCondition cond, GIOCondition *seen)
{
    *seen = 0;
    qio_channel_add_watch(ioc, cond, set_flag, seen, NULL);
    while (!*seen) {
        g_main_context_iteration(NULL, TRUE);
    }
}

/*
 * A write the master cannot take at once is still accepted whole; the
 * next one says ERR_BLOCK; a G_IO_OUT watch drains the rest.
 */
static void test_short_write(void)
{
    size_t len = QIO_WEBSOCK_MAX_OUT_FRAME;
    g_autofree uint8_t *out = g_malloc(len);
    g_autofree uint8_t *in = g_malloc(len);
    Drain d = { 0 };
    GIOCondition seen;
    QemuThread th;
    WsPair p;
    int sndbuf = 16384;

    fill_pattern(out, len, 9);
    pair_open_ready(&p);
    setsockopt(p.sioc->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    qio_channel_set_blocking(p.ioc, false, &error_abort);
    g_assert_cmpint(qio_channel_write(p.ioc, (char *)out, len, &error_abort),
                    ==, len);
    g_assert_cmpint(qio_channel_write(p.ioc, "x", 1, &error_abort), ==,
                    QIO_CHANNEL_ERR_BLOCK);

    d = (Drain) { .fd = p.cfd, .want = len, .data = in };
    qemu_thread_create(&th, "drain", drain_thread, &d, QEMU_THREAD_JOINABLE);
    wait_watch(p.ioc, G_IO_OUT, &seen);
    g_assert_cmpint(seen, ==, G_IO_OUT);
    qemu_thread_join(&th);
    g_assert_cmpuint(d.frames, ==, 1);
    g_assert_cmpmem(in, len, out, len);
    pair_close(&p);
}

/* A G_IO_IN watch fires for data, not for a ping alone, and pongs. */
static void test_watch_in(void)
{
    WsPair p;
    GIOCondition seen;
    ServerFrame f;
    char buf[4];

    pair_open_ready(&p);
    qio_channel_set_blocking(p.ioc, false, &error_abort);
    send_frame(p.cfd, FIN | OP_PING, true, "pp", 2);
    send_frame(p.cfd, OP_BINARY, true, "da", 2);
    wait_watch(p.ioc, G_IO_IN, &seen);
    g_assert_cmpint(seen, ==, G_IO_IN);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 4, &error_abort), ==, 2);
    g_assert_cmpmem(buf, 2, "da", 2);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 4, &error_abort), ==,
                    QIO_CHANNEL_ERR_BLOCK);
    g_assert_true(read_server_frame(p.cfd, &f));
    g_assert_cmphex(f.b0, ==, FIN | OP_PONG);
    g_byte_array_unref(f.payload);

    send_frame(p.cfd, FIN | OP_CLOSE, true, "", 0);
    wait_watch(p.ioc, G_IO_IN | G_IO_HUP, &seen);
    g_assert_cmpint(seen, ==, G_IO_IN | G_IO_HUP);
    g_assert_cmpint(qio_channel_read(p.ioc, buf, 4, &error_abort), ==, 0);
    pair_close(&p);
}

/*
 * Outside coroutines, the _all helpers of a non-blocking channel wait
 * with qio_channel_wait, i.e. on our watch in a private GMainContext.
 */
static void test_wait_private_context(void)
{
    uint8_t req[3000], in[3000];
    g_autofree uint8_t *out = g_malloc(MIB);
    g_autofree uint8_t *back = g_malloc(MIB);
    g_autoptr(GByteArray) f = NULL;
    Trickle t;
    Drain d;
    QemuThread th;
    WsPair p;

    fill_pattern(req, sizeof(req), 21);
    fill_pattern(out, MIB, 22);
    f = client_frame(FIN | OP_BINARY, true, req, sizeof(req));
    pair_open_ready(&p);
    qio_channel_set_blocking(p.ioc, false, &error_abort);

    t = (Trickle) { .fd = p.cfd, .bytes = f };
    qemu_thread_create(&th, "trickle", trickle_thread, &t,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_read_all(p.ioc, (char *)in, sizeof(in),
                                         &error_abort), ==, 0);
    qemu_thread_join(&th);
    g_assert_cmpmem(in, sizeof(in), req, sizeof(req));

    d = (Drain) { .fd = p.cfd, .want = MIB, .data = back };
    qemu_thread_create(&th, "drain", drain_thread, &d, QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_write_all(p.ioc, (char *)out, MIB,
                                          &error_abort), ==, 0);
    /* The last frame may still be queued: a watch drains it. */
    {
        GIOCondition seen;

        wait_watch(p.ioc, G_IO_OUT, &seen);
    }
    qemu_thread_join(&th);
    g_assert_cmpmem(back, MIB, out, MIB);
    pair_close(&p);
}

/* A client that floods pings and never reads cannot grow our queue. */
static void test_ping_flood(void)
{
    g_autoptr(GByteArray) flood = g_byte_array_new();
    uint8_t ping[125];
    Trickle t;
    QemuThread th;
    WsPair p;
    int sndbuf = 16384, i;
    char c;

    memset(ping, 'p', sizeof(ping));
    for (i = 0; i < 5000; i++) {
        g_autoptr(GByteArray) f = client_frame(FIN | OP_PING, true, ping,
                                               sizeof(ping));

        g_byte_array_append(flood, f->data, f->len);
    }
    {
        g_autoptr(GByteArray) f = client_frame(FIN | OP_BINARY, true, "z", 1);

        g_byte_array_append(flood, f->data, f->len);
    }
    pair_open_ready(&p);
    setsockopt(p.sioc->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    qio_channel_set_blocking(p.ioc, false, &error_abort);
    t = (Trickle) { .fd = p.cfd, .bytes = flood };
    qemu_thread_create(&th, "flood", bulk_write_thread, &t,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_read_all(p.ioc, &c, 1, &error_abort), ==, 0);
    qemu_thread_join(&th);
    g_assert_cmpint(c, ==, 'z');
    g_assert_cmpuint(wsbuf_len(&p.wioc->encout), <=,
                     QIO_WEBSOCK_MAX_OUT_FRAME + 64 * 1024 + 127);
    pair_close(&p);
}

/* ---- coroutines --------------------------------------------------------- */

#define CO_IN 1000
#define CO_OUT (300 * 1024)

typedef struct CoEcho {
    QIOChannel *ioc;
    uint8_t in[CO_IN];
    uint8_t *out;
    int eof_ret;
    bool done;
} CoEcho;

/* Read a request, send a large reply, then wait for the client's close. */
static void coroutine_fn co_echo(void *opaque)
{
    CoEcho *e = opaque;
    char c;

    g_assert_cmpint(qio_channel_read_all(e->ioc, (char *)e->in, CO_IN,
                                         &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_write_all(e->ioc, (char *)e->out, CO_OUT,
                                          &error_abort), ==, 0);
    e->eof_ret = qio_channel_read_all_eof(e->ioc, &c, 1, &error_abort);
    e->done = true;
}

typedef struct CoClient {
    Trickle trickle;
    Drain drain;
} CoClient;

static void *co_client_thread(void *opaque)
{
    CoClient *c = opaque;

    trickle_thread(&c->trickle);
    drain_thread(&c->drain);
    send_frame(c->trickle.fd, FIN | OP_CLOSE, true, "\x03\xe8", 2);
    return NULL;
}

static void test_coroutine(void)
{
    AioContext *ctx = qemu_get_current_aio_context();
    g_autofree uint8_t *reply = g_malloc(CO_OUT);
    uint8_t req[CO_IN];
    g_autoptr(GByteArray) f = NULL;
    CoEcho e = { 0 };
    CoClient c = { 0 };
    QemuThread th;
    Coroutine *co;
    WsPair p;
    int sndbuf = 16384;

    fill_pattern(req, sizeof(req), 11);
    fill_pattern(reply, CO_OUT, 12);
    f = client_frame(FIN | OP_BINARY, true, req, sizeof(req));
    pair_open_ready(&p);
    /* A small send buffer: the reply must wait for the client. */
    setsockopt(p.sioc->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    qio_channel_set_blocking(p.ioc, false, &error_abort);
    e = (CoEcho) { .ioc = p.ioc, .out = reply };
    c.trickle = (Trickle) { .fd = p.cfd, .bytes = f };
    c.drain = (Drain) { .fd = p.cfd, .want = CO_OUT,
                        .data = g_malloc(CO_OUT) };
    qemu_thread_create(&th, "client", co_client_thread, &c,
                       QEMU_THREAD_JOINABLE);
    co = qemu_coroutine_create(co_echo, &e);
    qemu_coroutine_enter(co);
    while (!e.done) {
        aio_poll(ctx, true);
    }
    qemu_thread_join(&th);
    g_assert_cmpmem(e.in, CO_IN, req, CO_IN);
    g_assert_cmpint(e.eof_ret, ==, 0);
    g_assert_cmpmem(c.drain.data, CO_OUT, reply, CO_OUT);
    g_assert_cmpuint(c.drain.max_frame, <=, QIO_WEBSOCK_MAX_OUT_FRAME);
    g_free(c.drain.data);
    pair_close(&p);
}

/* ---- large transfer --------------------------------------------------- */

typedef struct RoundTrip {
    int fd;
    const uint8_t *data;
    Drain drain;
    bool pong;
} RoundTrip;

/* Send 1 MiB in frames of every length class with a ping among them. */
static void *round_trip_client(void *opaque)
{
    RoundTrip *rt = opaque;
    size_t off = 0, i = 0;

    while (off < MIB) {
        size_t len = length_classes[i++ % ARRAY_SIZE(length_classes)];

        len = MIN(len, MIB - off);

        send_frame(rt->fd, FIN | OP_BINARY, true, rt->data + off, len);
        off += len;
        if (i == 3) {
            send_frame(rt->fd, FIN | OP_PING, true, "rt", 2);
        }
    }
    drain_thread(&rt->drain);
    return NULL;
}

static void test_round_trip_1mib(void)
{
    g_autofree uint8_t *out = g_malloc(MIB);
    g_autofree uint8_t *in = g_malloc(MIB);
    g_autofree uint8_t *back = g_malloc(MIB);
    RoundTrip rt;
    QemuThread th;
    WsPair p;

    fill_pattern(out, MIB, 13);
    pair_open_ready(&p);
    rt = (RoundTrip) { .fd = p.cfd, .data = out,
                       .drain = { .fd = p.cfd, .want = MIB, .data = back } };
    qemu_thread_create(&th, "rt", round_trip_client, &rt,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(qio_channel_read_all(p.ioc, (char *)in, MIB,
                                         &error_abort), ==, 0);
    g_assert_cmpmem(in, MIB, out, MIB);
    g_assert_cmpint(qio_channel_write_all(p.ioc, (char *)in, MIB,
                                          &error_abort), ==, 0);
    qemu_thread_join(&th);
    g_assert_cmpmem(back, MIB, out, MIB);
    /* 1 MiB goes out as four frames of the 256 KiB maximum. */
    g_assert_cmpuint(rt.drain.frames, ==, MIB / QIO_WEBSOCK_MAX_OUT_FRAME);
    pair_close(&p);
}

/* ---- control ------------------------------------------------------------ */

static void test_shutdown(void)
{
    WsPair p;
    char c;

    pair_open_ready(&p);
    g_assert_true(qio_channel_has_feature(p.ioc,
                                          QIO_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_cmpint(qio_channel_shutdown(p.ioc, QIO_CHANNEL_SHUTDOWN_WRITE,
                                         &error_abort), ==, 0);
    g_assert_cmpint(read(p.cfd, &c, 1), ==, 0);
    pair_close(&p);
}

int main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/websock/accept-key", test_accept_key);
    g_test_add_func("/io/channel/websock/parse-request", test_parse_request);
    g_test_add_func("/io/channel/websock/frame/header-codec",
                    test_frame_header_codec);
    g_test_add_func("/io/channel/websock/frame/header-check",
                    test_frame_header_check);
    g_test_add_func("/io/channel/websock/frame/mask", test_mask_pieces);
    g_test_add_func("/io/channel/websock/handshake/ok", test_handshake_ok);
    g_test_add_func("/io/channel/websock/handshake/binary-protocol",
                    test_handshake_binary_protocol);
    g_test_add_func("/io/channel/websock/handshake/pipelined-frame",
                    test_handshake_pipelined_frame);
    for (i = 0; i < ARRAY_SIZE(handshake_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/io/channel/websock/handshake/error/%s",
            handshake_cases[i].path);

        g_test_add_data_func(path, &handshake_cases[i], test_handshake_error);
    }
    g_test_add_func("/io/channel/websock/handshake/not-ready",
                    test_not_ready);
    g_test_add_func("/io/channel/websock/handshake/close-cancels",
                    test_close_during_handshake);
    g_test_add_func("/io/channel/websock/frames/client-to-server",
                    test_frames_client_to_server);
    g_test_add_func("/io/channel/websock/frames/server-to-client",
                    test_frames_server_to_client);
    g_test_add_func("/io/channel/websock/frames/text", test_frames_text);
    g_test_add_func("/io/channel/websock/frames/fragmented-ping",
                    test_frames_fragmented_with_ping);
    g_test_add_func("/io/channel/websock/close/from-client",
                    test_close_from_client);
    g_test_add_func("/io/channel/websock/close/payloads",
                    test_close_payloads);
    g_test_add_func("/io/channel/websock/close/from-server",
                    test_close_from_server);
    g_test_add_func("/io/channel/websock/close/master-eof", test_master_eof);
    g_test_add_func("/io/channel/websock/close/master-eof-mid-frame",
                    test_master_eof_mid_frame);
    for (i = 0; i < ARRAY_SIZE(bad_frames); i++) {
        g_autofree char *path = g_strdup_printf(
            "/io/channel/websock/bad-frame/%s", bad_frames[i].path);

        g_test_add_data_func(path, &bad_frames[i], test_bad_frame);
    }
    g_test_add_func("/io/channel/websock/trickle/nonblocking",
                    test_byte_at_a_time_nonblocking);
    g_test_add_func("/io/channel/websock/trickle/thread",
                    test_byte_at_a_time_thread);
    g_test_add_func("/io/channel/websock/nonblock/short-write",
                    test_short_write);
    g_test_add_func("/io/channel/websock/nonblock/watch-in", test_watch_in);
    g_test_add_func("/io/channel/websock/nonblock/wait",
                    test_wait_private_context);
    g_test_add_func("/io/channel/websock/nonblock/ping-flood",
                    test_ping_flood);
    g_test_add_func("/io/channel/websock/handshake/client-vanishes",
                    test_handshake_client_vanishes);
    g_test_add_func("/io/channel/websock/coroutine", test_coroutine);
    g_test_add_func("/io/channel/websock/round-trip-1mib",
                    test_round_trip_1mib);
    g_test_add_func("/io/channel/websock/shutdown", test_shutdown);
    return g_test_run();
}
