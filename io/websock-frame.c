/*
 * RFC 6455 frames (section 5): the header codec (decode what a client
 * sends, check it against the rules a server must enforce, encode what a
 * server sends, apply the XOR mask), and the channel's decoder, which
 * turns the bytes in encin into payload bytes in rawin and answers
 * control frames.
 *
 * What it does not do: extensions (any RSV bit is an error), masking
 * outgoing frames (a server never masks), or keeping message boundaries.
 *
 * Invariant: the decoder consumes encin only up to a frame boundary or
 * within a data frame's payload (whose position it records), and waits
 * for a control frame to be complete before consuming it, so the master
 * may deliver bytes in any chunking, down to one at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "io/websock-priv.h"
#include "io/channel-websock.h"

/* Bits of the first and second header bytes. */
#define WS_FIN          0x80
#define WS_RSV_SHIFT    4
#define WS_RSV_MASK     0x7
#define WS_OPCODE_MASK  0x0f
#define WS_MASKED       0x80
#define WS_LEN7_MASK    0x7f

/* 7-bit length values that announce a longer length field. */
#define WS_LEN_16BIT    126
#define WS_LEN_64BIT    127

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void store_be(uint8_t *p, uint64_t v, size_t n)
{
    size_t i;

    for (i = n; i > 0; i--) {
        p[i - 1] = v & 0xff;
        v >>= 8;
    }
}

size_t qio_websock_frame_header_parse(const uint8_t *buf, size_t len,
                                      QIOWebsockFrameHeader *hdr)
{
    size_t need = 2;
    size_t ext = 0;
    uint8_t len7;

    if (len < need) {
        return 0;
    }
    len7 = buf[1] & WS_LEN7_MASK;
    ext = len7 == WS_LEN_16BIT ? 2 : len7 == WS_LEN_64BIT ? 8 : 0;
    need += ext + ((buf[1] & WS_MASKED) ? 4 : 0);
    if (len < need) {
        return 0;
    }
    hdr->fin = buf[0] & WS_FIN;
    hdr->rsv = (buf[0] >> WS_RSV_SHIFT) & WS_RSV_MASK;
    hdr->opcode = buf[0] & WS_OPCODE_MASK;
    hdr->masked = buf[1] & WS_MASKED;
    hdr->payload_len = ext ? load_be(buf + 2, ext) : len7;
    memset(hdr->mask, 0, sizeof(hdr->mask));
    if (hdr->masked) {
        memcpy(hdr->mask, buf + 2 + ext, 4);
    }
    hdr->header_len = need;
    return need;
}

static bool opcode_known(uint8_t opcode)
{
    switch (opcode) {
    case QIO_WEBSOCK_OP_CONTINUATION:
    case QIO_WEBSOCK_OP_TEXT:
    case QIO_WEBSOCK_OP_BINARY:
    case QIO_WEBSOCK_OP_CLOSE:
    case QIO_WEBSOCK_OP_PING:
    case QIO_WEBSOCK_OP_PONG:
        return true;
    default:
        return false;
    }
}

/* Control frames: final, short (RFC 6455 section 5.5). */
static const char *check_control(const QIOWebsockFrameHeader *hdr)
{
    if (!hdr->fin) {
        return "fragmented control frame";
    }
    if (hdr->payload_len > QIO_WEBSOCK_MAX_CONTROL) {
        return "control frame longer than 125 bytes";
    }
    return NULL;
}

/* Data frames: continuations only inside a message, and vice versa. */
static const char *check_data(const QIOWebsockFrameHeader *hdr,
                              bool in_message)
{
    if (hdr->opcode == QIO_WEBSOCK_OP_CONTINUATION && !in_message) {
        return "continuation frame outside a fragmented message";
    }
    if (hdr->opcode != QIO_WEBSOCK_OP_CONTINUATION && in_message) {
        return "new data frame inside a fragmented message";
    }
    return NULL;
}

/* The first protocol rule @hdr breaks, or NULL. */
static const char *protocol_violation(const QIOWebsockFrameHeader *hdr,
                                      bool in_message)
{
    if (hdr->rsv) {
        return "reserved bits set without a negotiated extension";
    }
    if (!opcode_known(hdr->opcode)) {
        return "reserved opcode";
    }
    if (!hdr->masked) {
        return "unmasked client frame";
    }
    if (hdr->payload_len >> 63) {
        return "payload length has its most significant bit set";
    }
    if (hdr->opcode & 0x8) {
        return check_control(hdr);
    }
    return check_data(hdr, in_message);
}

bool qio_websock_frame_header_check(const QIOWebsockFrameHeader *hdr,
                                    bool in_message, uint64_t max_payload,
                                    uint16_t *close_code, Error **errp)
{
    const char *why = protocol_violation(hdr, in_message);

    if (why) {
        *close_code = QIO_WEBSOCK_CLOSE_PROTOCOL_ERROR;
        error_setg(errp, "websocket protocol error: %s (opcode 0x%x)", why,
                   hdr->opcode);
        return false;
    }
    if (hdr->payload_len > max_payload) {
        *close_code = QIO_WEBSOCK_CLOSE_TOO_BIG;
        error_setg(errp, "websocket frame of %" PRIu64 " bytes exceeds the "
                   "limit of %" PRIu64 " bytes", hdr->payload_len,
                   max_payload);
        return false;
    }
    return true;
}

size_t qio_websock_frame_header_encode(uint8_t *buf, uint8_t opcode,
                                       bool fin, uint64_t payload_len)
{
    buf[0] = (fin ? WS_FIN : 0) | (opcode & WS_OPCODE_MASK);
    if (payload_len < WS_LEN_16BIT) {
        buf[1] = payload_len;
        return 2;
    }
    if (payload_len <= UINT16_MAX) {
        buf[1] = WS_LEN_16BIT;
        store_be(buf + 2, payload_len, 2);
        return 4;
    }
    buf[1] = WS_LEN_64BIT;
    store_be(buf + 2, payload_len, 8);
    return 10;
}

void qio_websock_mask(uint8_t *buf, size_t len, const uint8_t mask[4],
                      uint64_t offset)
{
    uint8_t pattern[8];
    uint64_t word, key;
    size_t i = 0;

    /* Byte at payload offset o is XORed with mask[o % 4]. */
    for (i = 0; i < 8; i++) {
        pattern[i] = mask[(offset + i) % 4];
    }
    memcpy(&key, pattern, 8);
    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&word, buf + i, 8);
        word ^= key;
        memcpy(buf + i, &word, 8);
    }
    for (; i < len; i++) {
        buf[i] ^= pattern[i % 8];
    }
}

/* ---- the channel's decoder ---------------------------------------- */

/* Queued output beyond which pings go unanswered (see handle_control). */
#define PONG_QUEUE_LIMIT (QIO_WEBSOCK_MAX_OUT_FRAME + 64 * 1024)

/* A protocol violation: tell the client (close @code) and stop. */
static void fail_protocol(QIOChannelWebsock *wioc, uint16_t code,
                          Error *err)
{
    qio_websock_queue_close(wioc, code);
    qio_websock_set_error(wioc, err);
    qio_websock_flush_quietly(wioc);
}

/* Close status codes a peer may send (RFC 6455 7.4, IANA registry). */
static bool close_code_valid(uint16_t code)
{
    return (code >= 1000 && code <= 1003) ||
        (code >= 1007 && code <= 1014) ||
        (code >= 3000 && code <= 4999);
}

/* The client's close frame: check it, answer it, and end the input. */
static void handle_close(QIOChannelWebsock *wioc, const uint8_t *p,
                         size_t len)
{
    uint16_t code = len >= 2 ? (p[0] << 8) | p[1] : 0;

    if (len == 1 || (len >= 2 && !close_code_valid(code))) {
        Error *err = NULL;

        error_setg(&err, "websocket protocol error: invalid close frame");
        fail_protocol(wioc, QIO_WEBSOCK_CLOSE_PROTOCOL_ERROR, err);
        return;
    }
    if (len > 2 && !g_utf8_validate((const char *)p + 2, len - 2, NULL)) {
        Error *err = NULL;

        error_setg(&err, "websocket close reason is not valid UTF-8");
        fail_protocol(wioc, QIO_WEBSOCK_CLOSE_BAD_DATA, err);
        return;
    }
    qio_websock_queue_close(wioc, code);
    wioc->close_received = true;
}

/* A whole control frame (header + payload) sits at the head of encin. */
static void handle_control(QIOChannelWebsock *wioc,
                           const QIOWebsockFrameHeader *hdr)
{
    uint8_t payload[QIO_WEBSOCK_MAX_CONTROL];
    size_t len = hdr->payload_len;

    memcpy(payload, wsbuf_head(&wioc->encin) + hdr->header_len, len);
    qio_websock_mask(payload, len, hdr->mask, 0);
    wsbuf_consume(&wioc->encin, hdr->header_len + len);

    switch (hdr->opcode) {
    case QIO_WEBSOCK_OP_PING:
        /*
         * A client that pings without reading would grow encout without
         * end; RFC 6455 5.5.3 lets us skip pongs for pings we have not
         * answered yet, so past a bound we do.
         */
        if (!wioc->close_sent &&
            wsbuf_len(&wioc->encout) < PONG_QUEUE_LIMIT) {
            qio_websock_queue_frame(wioc, QIO_WEBSOCK_OP_PONG, payload, len);
        }
        break;
    case QIO_WEBSOCK_OP_CLOSE:
        handle_close(wioc, payload, len);
        break;
    default:
        break;  /* an unsolicited pong needs no answer */
    }
}

/* Start a data frame: its payload follows in later decode steps. */
static void begin_data_frame(QIOChannelWebsock *wioc,
                             const QIOWebsockFrameHeader *hdr)
{
    wsbuf_consume(&wioc->encin, hdr->header_len);
    wioc->frame = *hdr;
    wioc->frame_pos = 0;
    wioc->in_frame = hdr->payload_len > 0;
    wioc->in_message = !hdr->fin;
}

/*
 * Decode the frame header at the head of encin.  Returns false when
 * decoding must stop: more bytes are needed, or the frame was refused.
 */
static bool decode_header(QIOChannelWebsock *wioc)
{
    QIOWebsockFrameHeader hdr;
    uint16_t code;
    Error *err = NULL;

    if (!qio_websock_frame_header_parse(wsbuf_head(&wioc->encin),
                                        wsbuf_len(&wioc->encin), &hdr)) {
        return false;
    }
    if (!qio_websock_frame_header_check(&hdr, wioc->in_message,
                                        QIO_WEBSOCK_MAX_FRAME, &code,
                                        &err)) {
        fail_protocol(wioc, code, err);
        return false;
    }
    if (hdr.opcode & 0x8) {
        if (wsbuf_len(&wioc->encin) < hdr.header_len + hdr.payload_len) {
            return false;
        }
        handle_control(wioc, &hdr);
    } else {
        begin_data_frame(wioc, &hdr);
    }
    return true;
}

/* Move what encin holds of the current data frame's payload to rawin. */
static void decode_payload(QIOChannelWebsock *wioc)
{
    uint64_t left = wioc->frame.payload_len - wioc->frame_pos;
    size_t n = MIN(wsbuf_len(&wioc->encin), left);
    uint8_t *dst = wsbuf_reserve(&wioc->rawin, n);

    memcpy(dst, wsbuf_head(&wioc->encin), n);
    qio_websock_mask(dst, n, wioc->frame.mask, wioc->frame_pos);
    wioc->rawin.end += n;
    wsbuf_consume(&wioc->encin, n);
    wioc->frame_pos += n;
    if (wioc->frame_pos == wioc->frame.payload_len) {
        wioc->in_frame = false;
    }
}

/*
 * Decode everything complete in encin, then send any replies (pongs,
 * close) it produced.  Failures land in io_err.
 */
void qio_websock_decode_input(QIOChannelWebsock *wioc)
{
    while (wsbuf_len(&wioc->encin) && !wioc->io_err &&
           !wioc->close_received) {
        if (wioc->in_frame) {
            decode_payload(wioc);
        } else if (!decode_header(wioc)) {
            break;
        }
    }
    if (wsbuf_len(&wioc->encout) && !wioc->io_err) {
        qio_websock_flush_quietly(wioc);
    }
}

/* The master ended the stream: fine between frames, an error within. */
void qio_websock_note_master_eof(QIOChannelWebsock *wioc)
{
    wioc->master_eof = true;
    if (wioc->in_frame || wsbuf_len(&wioc->encin)) {
        Error *err = NULL;

        error_setg(&err, "websocket connection closed in the middle of a "
                   "frame");
        qio_websock_set_error(wioc, err);
    }
}
