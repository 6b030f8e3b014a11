/*
 * The server half of the WebSocket opening handshake (RFC 6455 section 4):
 * parse the client's HTTP upgrade request, compute Sec-WebSocket-Accept,
 * build the "101 Switching Protocols" or HTTP error response (pure
 * functions), and the channel's handshake state machine, which reads the
 * request and writes the reply from watches on the master.
 *
 * What it does not do: extensions (none are accepted: we never answer
 * with Sec-WebSocket-Extensions, so a client must not use any), routing
 * by request path (every path is accepted), or a timeout (a caller that
 * wants one closes the channel, which cancels the handshake).
 *
 * Invariant: the parser only ever looks at the @len bytes it is given and
 * never needs a NUL terminator, so a header read straight off the wire is
 * parsed as is; at most QIO_WEBSOCK_MAX_HEADER bytes are ever read
 * before the header is judged.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "util/trace.h"
#include "io/websock-priv.h"
#include "io/channel-websock.h"

/* Appended to the client's key before hashing (RFC 6455 section 1.3). */
#define WEBSOCK_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The one subprotocol we know: raw bytes, as QEMU's VNC server uses. */
#define WEBSOCK_PROTOCOL_BINARY "binary"

/* The only protocol version RFC 6455 defines. */
#define WEBSOCK_VERSION "13"

/* The header fields the handshake looks at, as found in the request. */
typedef struct RequestFields {
    char *host;
    char *upgrade;
    char *connection;
    char *key;
    char *version;
    char *protocols;        /* every Sec-WebSocket-Protocol, comma-joined */
} RequestFields;

static void fields_clear(RequestFields *f)
{
    g_free(f->host);
    g_free(f->upgrade);
    g_free(f->connection);
    g_free(f->key);
    g_free(f->version);
    g_free(f->protocols);
}

char *qio_websock_accept_key(const char *key)
{
    g_autoptr(GChecksum) sha1 = g_checksum_new(G_CHECKSUM_SHA1);
    guint8 digest[20];
    gsize digest_len = sizeof(digest);

    g_checksum_update(sha1, (const guchar *)key, strlen(key));
    g_checksum_update(sha1, (const guchar *)WEBSOCK_GUID,
                      strlen(WEBSOCK_GUID));
    g_checksum_get_digest(sha1, digest, &digest_len);
    return g_base64_encode(digest, digest_len);
}

size_t qio_websock_header_end(const char *buf, size_t len)
{
    size_t i;

    for (i = 3; i < len; i++) {
        if (buf[i - 3] == '\r' && buf[i - 2] == '\n' &&
            buf[i - 1] == '\r' && buf[i] == '\n') {
            return i + 1;
        }
    }
    return 0;
}

const char *qio_websock_status_text(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 405:
        return "Method Not Allowed";
    case 426:
        return "Upgrade Required";
    default:
        return "Internal Server Error";
    }
}

/* ---- small string helpers -------------------------------------------- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A copy of @s[0..@len) with optional white space trimmed at both ends. */
static char *dup_trimmed(const char *s, size_t len)
{
    while (len && is_ows(*s)) {
        s++;
        len--;
    }
    while (len && is_ows(s[len - 1])) {
        len--;
    }
    return g_strndup(s, len);
}

/* True when the comma-separated @list holds @token (case-insensitive). */
static bool list_has_token(const char *list, const char *token)
{
    g_auto(GStrv) items = NULL;
    size_t i;

    if (!list) {
        return false;
    }
    items = g_strsplit(list, ",", -1);
    for (i = 0; items[i]; i++) {
        g_autofree char *item = dup_trimmed(items[i], strlen(items[i]));

        if (g_ascii_strcasecmp(item, token) == 0) {
            return true;
        }
    }
    return false;
}

/* True when @c may appear in an HTTP token (a method or a field name). */
static bool is_tchar(char c)
{
    return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* ---- request line ---------------------------------------------------- */

/* Parse "GET /path HTTP/1.1" (@len bytes, no CRLF); sets status/errp. */
static bool parse_request_line(const char *line, size_t len,
                               QIOWebsockHandshake *hs, Error **errp)
{
    g_autofree char *copy = g_strndup(line, len);
    g_auto(GStrv) parts = g_strsplit(copy, " ", -1);
    size_t i;

    hs->status = 400;
    if (g_strv_length(parts) != 3 || !parts[0][0] || !parts[1][0]) {
        error_setg(errp, "websocket handshake: malformed request line");
        return false;
    }
    for (i = 0; parts[0][i]; i++) {
        if (!is_tchar(parts[0][i])) {
            error_setg(errp, "websocket handshake: malformed request line");
            return false;
        }
    }
    if (!g_str_has_prefix(parts[2], "HTTP/1.") ||
        !g_ascii_isdigit(parts[2][7]) || parts[2][8] ||
        parts[2][7] == '0') {
        error_setg(errp, "websocket handshake: unsupported HTTP version "
                   "'%s' (need HTTP/1.1)", parts[2]);
        return false;
    }
    if (parts[1][0] != '/') {
        error_setg(errp, "websocket handshake: request target '%s' is not "
                   "an absolute path", parts[1]);
        return false;
    }
    if (strcmp(parts[0], "GET") != 0) {
        hs->status = 405;
        error_setg(errp, "websocket handshake: method '%s' is not allowed "
                   "(only GET)", parts[0]);
        return false;
    }
    return true;
}

/* ---- header fields --------------------------------------------------- */

/* Store a field that may appear once; a repeat is an error. */
static bool store_single(char **slot, const char *name, char *value,
                         Error **errp)
{
    if (*slot) {
        g_free(value);
        error_setg(errp, "websocket handshake: repeated %s header", name);
        return false;
    }
    *slot = value;
    return true;
}

/* Join a repeatable list field onto what earlier lines gave. */
static void store_list(char **slot, char *value)
{
    if (*slot) {
        char *joined = g_strconcat(*slot, ",", value, NULL);

        g_free(*slot);
        g_free(value);
        *slot = joined;
    } else {
        *slot = value;
    }
}

static bool store_field(RequestFields *f, const char *name, char *value,
                        Error **errp)
{
    if (g_ascii_strcasecmp(name, "Host") == 0) {
        return store_single(&f->host, "Host", value, errp);
    } else if (g_ascii_strcasecmp(name, "Sec-WebSocket-Key") == 0) {
        return store_single(&f->key, "Sec-WebSocket-Key", value, errp);
    } else if (g_ascii_strcasecmp(name, "Sec-WebSocket-Version") == 0) {
        return store_single(&f->version, "Sec-WebSocket-Version", value,
                            errp);
    } else if (g_ascii_strcasecmp(name, "Upgrade") == 0) {
        store_list(&f->upgrade, value);
    } else if (g_ascii_strcasecmp(name, "Connection") == 0) {
        store_list(&f->connection, value);
    } else if (g_ascii_strcasecmp(name, "Sec-WebSocket-Protocol") == 0) {
        store_list(&f->protocols, value);
    } else {
        g_free(value);
    }
    return true;
}

/* Parse one "Name: value" line (@len bytes, no CRLF) into @f. */
static bool parse_field_line(const char *line, size_t len, RequestFields *f,
                             Error **errp)
{
    const char *colon = memchr(line, ':', len);
    g_autofree char *name = NULL;
    size_t i;

    if (!colon || colon == line) {
        error_setg(errp, "websocket handshake: malformed header line");
        return false;
    }
    for (i = 0; line + i < colon; i++) {
        if (!is_tchar(line[i])) {
            error_setg(errp, "websocket handshake: malformed header line");
            return false;
        }
    }
    name = g_strndup(line, colon - line);
    return store_field(f, name,
                       dup_trimmed(colon + 1, line + len - colon - 1), errp);
}

/* Split the header into lines; the request line, then each field. */
static bool parse_lines(const char *buf, size_t len, RequestFields *f,
                        QIOWebsockHandshake *hs, Error **errp)
{
    const char *end = buf + len - 2;    /* drop the final blank line */
    const char *p = buf;
    bool first = true;

    while (p < end) {
        const char *eol = g_strstr_len(p, end - p, "\r\n");
        size_t n = eol - p;

        if (memchr(p, '\r', n) || memchr(p, '\n', n)) {
            hs->status = 400;
            error_setg(errp, "websocket handshake: stray line break in "
                       "request header");
            return false;
        }
        if (first) {
            if (!parse_request_line(p, n, hs, errp)) {
                return false;
            }
            first = false;
        } else if (!parse_field_line(p, n, f, errp)) {
            hs->status = 400;
            return false;
        }
        p = eol + 2;
    }
    return true;
}

/* ---- RFC 6455 checks ------------------------------------------------- */

/* A key is 16 random bytes in base64: 22 digits and "==". */
static bool key_valid(const char *key)
{
    g_autofree guchar *raw = NULL;
    gsize raw_len = 0;
    size_t i;

    if (strlen(key) != 24 || strcmp(key + 22, "==") != 0) {
        return false;
    }
    for (i = 0; i < 22; i++) {
        if (!g_ascii_isalnum(key[i]) && key[i] != '+' && key[i] != '/') {
            return false;
        }
    }
    raw = g_base64_decode(key, &raw_len);
    return raw_len == 16;
}

static bool check_upgrade(const RequestFields *f, QIOWebsockHandshake *hs,
                          Error **errp)
{
    hs->status = 426;
    if (!list_has_token(f->upgrade, "websocket")) {
        error_setg(errp, "websocket handshake: missing 'Upgrade: websocket' "
                   "header");
        return false;
    }
    if (!list_has_token(f->connection, "Upgrade")) {
        error_setg(errp, "websocket handshake: missing 'Connection: Upgrade' "
                   "header");
        return false;
    }
    return true;
}

static bool check_version(const RequestFields *f, QIOWebsockHandshake *hs,
                          Error **errp)
{
    if (!f->version) {
        hs->status = 400;
        error_setg(errp, "websocket handshake: missing Sec-WebSocket-Version "
                   "header");
        return false;
    }
    if (strcmp(f->version, WEBSOCK_VERSION) != 0) {
        hs->status = 426;
        error_setg(errp, "websocket handshake: unsupported protocol version "
                   "'%s' (need " WEBSOCK_VERSION ")", f->version);
        return false;
    }
    return true;
}

static bool check_key(const RequestFields *f, QIOWebsockHandshake *hs,
                      Error **errp)
{
    hs->status = 400;
    if (!f->key) {
        error_setg(errp, "websocket handshake: missing Sec-WebSocket-Key "
                   "header");
        return false;
    }
    if (!key_valid(f->key)) {
        error_setg(errp, "websocket handshake: Sec-WebSocket-Key '%s' is not "
                   "16 bytes in base64", f->key);
        return false;
    }
    return true;
}

static bool check_protocol(const RequestFields *f, QIOWebsockHandshake *hs,
                           Error **errp)
{
    if (!f->protocols) {
        return true;
    }
    if (!list_has_token(f->protocols, WEBSOCK_PROTOCOL_BINARY)) {
        hs->status = 403;
        error_setg(errp, "websocket handshake: none of the offered "
                   "subprotocols '%s' is supported (only '"
                   WEBSOCK_PROTOCOL_BINARY "')", f->protocols);
        return false;
    }
    hs->binary_protocol = true;
    return true;
}

static bool check_fields(const RequestFields *f, QIOWebsockHandshake *hs,
                         Error **errp)
{
    if (!f->host) {
        hs->status = 400;
        error_setg(errp, "websocket handshake: missing Host header");
        return false;
    }
    return check_upgrade(f, hs, errp) && check_version(f, hs, errp) &&
        check_key(f, hs, errp) && check_protocol(f, hs, errp);
}

bool qio_websock_parse_request(const char *buf, size_t len,
                               QIOWebsockHandshake *hs, Error **errp)
{
    RequestFields f = { 0 };
    bool ok;

    memset(hs, 0, sizeof(*hs));
    hs->status = 400;
    if (len < 4 || qio_websock_header_end(buf, len) != len) {
        error_setg(errp, "websocket handshake: request header is not "
                   "terminated");
        return false;
    }
    if (memchr(buf, '\0', len)) {
        error_setg(errp, "websocket handshake: NUL byte in request header");
        return false;
    }
    ok = parse_lines(buf, len, &f, hs, errp) && check_fields(&f, hs, errp);
    if (ok) {
        hs->status = 101;
        hs->accept = qio_websock_accept_key(f.key);
    }
    fields_clear(&f);
    return ok;
}

/* ---- response -------------------------------------------------------- */

char *qio_websock_response(const QIOWebsockHandshake *hs)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "HTTP/1.1 %d %s\r\n", hs->status,
                           qio_websock_status_text(hs->status));
    g_string_append(s, "Server: spindle\r\n");
    if (hs->status == 101) {
        g_string_append(s, "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n");
        g_string_append_printf(s, "Sec-WebSocket-Accept: %s\r\n", hs->accept);
        if (hs->binary_protocol) {
            g_string_append(s, "Sec-WebSocket-Protocol: "
                            WEBSOCK_PROTOCOL_BINARY "\r\n");
        }
    } else {
        if (hs->status == 426) {
            g_string_append(s, "Upgrade: websocket\r\n"
                            "Sec-WebSocket-Version: " WEBSOCK_VERSION "\r\n");
        }
        g_string_append(s, "Connection: close\r\n"
                        "Content-Length: 0\r\n");
    }
    g_string_append(s, "\r\n");
    return g_string_free(s, FALSE);
}

/* ---- the channel's handshake ---------------------------------------- */

static gboolean handshake_write_ready(QIOChannel *master,
                                      GIOCondition cond, gpointer opaque);

/* End the handshake: report @err (may be NULL) through the task. */
static void handshake_finish(QIOChannelWebsock *wioc, Error *err)
{
    QIOTask *task = wioc->hs_task;

    wioc->hs_task = NULL;
    wioc->hs_watch = 0;
    trace_qio_channel_websock_handshake_done(wioc, err == NULL);
    if (err) {
        qio_task_set_error(task, err);
    } else {
        wioc->hs_done = true;
        qio_websock_decode_input(wioc);     /* frames the client sent early */
    }
    qio_task_complete(task);
}

/* Queue the reply to @hs and start writing it. */
static void handshake_reply(QIOChannelWebsock *wioc,
                            const QIOWebsockHandshake *hs, Error *refusal)
{
    g_autofree char *reply = qio_websock_response(hs);

    wsbuf_append(&wioc->encout, reply, strlen(reply));
    wioc->hs_err = refusal;
    wioc->hs_watch = qio_channel_add_watch(wioc->master, G_IO_OUT,
                                           handshake_write_ready, wioc,
                                           NULL);
}

/* Refuse with @status before a complete request was parsed. */
static void handshake_refuse(QIOChannelWebsock *wioc, int status,
                             Error *err)
{
    QIOWebsockHandshake hs = { .status = status };

    handshake_reply(wioc, &hs, err);
}

/* encin holds a complete request header of @len bytes: judge it. */
static void handshake_process(QIOChannelWebsock *wioc, size_t len)
{
    QIOWebsockHandshake hs;
    Error *err = NULL;

    qio_websock_parse_request((const char *)wsbuf_head(&wioc->encin), len,
                              &hs, &err);
    wsbuf_consume(&wioc->encin, len);
    handshake_reply(wioc, &hs, err);
    g_free(hs.accept);
}

/*
 * After a read: decide whether the header is complete, too long or cut
 * off.  Returns true while more bytes are needed.
 */
static bool handshake_examine(QIOChannelWebsock *wioc, ssize_t n)
{
    size_t have = wsbuf_len(&wioc->encin);
    size_t end = qio_websock_header_end((const char *)wsbuf_head(&wioc->encin),
                                        have);
    Error *err = NULL;

    if (end) {
        handshake_process(wioc, end);
    } else if (n == 0) {
        error_setg(&err, "websocket handshake: connection closed before the "
                   "request header was terminated");
        handshake_refuse(wioc, 400, err);
    } else if (have >= QIO_WEBSOCK_MAX_HEADER) {
        error_setg(&err, "websocket handshake: request header exceeds %d "
                   "bytes", QIO_WEBSOCK_MAX_HEADER);
        handshake_refuse(wioc, 400, err);
    } else {
        return true;
    }
    return false;
}

static gboolean handshake_read_ready(QIOChannel *master, GIOCondition cond,
                                     gpointer opaque)
{
    QIOChannelWebsock *wioc = opaque;
    size_t room = QIO_WEBSOCK_MAX_HEADER - wsbuf_len(&wioc->encin);
    uint8_t *dst = wsbuf_reserve(&wioc->encin, room);
    Error *err = NULL;
    ssize_t n;

    n = qio_channel_read(master, (char *)dst, room, &err);
    if (n == QIO_CHANNEL_ERR_BLOCK) {
        return G_SOURCE_CONTINUE;
    }
    if (n < 0) {
        error_prepend(&err, "websocket handshake: ");
        handshake_finish(wioc, err);
        return G_SOURCE_REMOVE;
    }
    wioc->encin.end += n;
    if (handshake_examine(wioc, n)) {
        return G_SOURCE_CONTINUE;
    }
    return G_SOURCE_REMOVE;
}

static gboolean handshake_write_ready(QIOChannel *master,
                                      GIOCondition cond, gpointer opaque)
{
    QIOChannelWebsock *wioc = opaque;
    Error *err = NULL;
    int ret = qio_websock_flush(wioc, &err);

    if (ret == QIO_CHANNEL_ERR_BLOCK) {
        return G_SOURCE_CONTINUE;
    }
    if (ret < 0 && !wioc->hs_err) {
        error_prepend(&err, "websocket handshake: could not send reply: ");
    } else {
        /* A refusal is the reason to report, sent or not. */
        error_free(err);
        err = wioc->hs_err;
        wioc->hs_err = NULL;
    }
    handshake_finish(wioc, err);
    return G_SOURCE_REMOVE;
}

void qio_channel_websock_handshake(QIOChannelWebsock *ioc,
                                   QIOTaskFunc func,
                                   gpointer opaque,
                                   GDestroyNotify destroy)
{
    g_assert(!ioc->hs_task && !ioc->hs_done);
    ioc->hs_task = qio_task_new(OBJECT(ioc), func, opaque, destroy);
    ioc->hs_watch = qio_channel_add_watch(ioc->master, G_IO_IN,
                                          handshake_read_ready, ioc, NULL);
}

/* qio_channel_close while the handshake runs: stop and fail it. */
void qio_websock_handshake_cancel(QIOChannelWebsock *wioc)
{
    Error *err = NULL;

    if (wioc->hs_watch) {
        g_source_remove(wioc->hs_watch);
    }
    error_free(wioc->hs_err);
    wioc->hs_err = NULL;
    error_setg(&err, "websocket handshake cancelled: channel closed");
    handshake_finish(wioc, err);
}
