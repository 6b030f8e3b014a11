/*
 * What the WebSocket channel's three files share, and what its unit test
 * reaches into: the pure protocol functions (the HTTP upgrade request
 * parser in websock-handshake.c, the frame header codec in
 * websock-frame.c), which work on plain memory and can be tested alone;
 * then the channel's state and the internal functions each file provides
 * to the others.  All of the channel functions run in the thread that
 * owns the channel.
 *
 * Private to libspindle: not installed, not part of the public API.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef IO_WEBSOCK_PRIV_H
#define IO_WEBSOCK_PRIV_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-websock.h"

/* ---- limits ---------------------------------------------------------- */

/* Largest upgrade request header (request line + fields + blank line). */
#define QIO_WEBSOCK_MAX_HEADER 4096

/* Largest payload of one incoming frame; beyond it we close with 1009. */
#define QIO_WEBSOCK_MAX_FRAME (16 * 1024 * 1024)

/* Largest payload of one outgoing data frame (longer writes are cut). */
#define QIO_WEBSOCK_MAX_OUT_FRAME (256 * 1024)

/* Control frames carry at most this many payload bytes (RFC 6455 5.5). */
#define QIO_WEBSOCK_MAX_CONTROL 125

/* Longest frame header: 2 bytes + 8-byte length + 4-byte mask key. */
#define QIO_WEBSOCK_MAX_FRAME_HEADER 14

/* ---- protocol constants ------------------------------------------------ */

enum {
    QIO_WEBSOCK_OP_CONTINUATION = 0x0,
    QIO_WEBSOCK_OP_TEXT = 0x1,
    QIO_WEBSOCK_OP_BINARY = 0x2,
    QIO_WEBSOCK_OP_CLOSE = 0x8,
    QIO_WEBSOCK_OP_PING = 0x9,
    QIO_WEBSOCK_OP_PONG = 0xa,
};

/* Close status codes we send (RFC 6455 7.4.1). */
enum {
    QIO_WEBSOCK_CLOSE_NORMAL = 1000,
    QIO_WEBSOCK_CLOSE_PROTOCOL_ERROR = 1002,
    QIO_WEBSOCK_CLOSE_BAD_DATA = 1007,
    QIO_WEBSOCK_CLOSE_TOO_BIG = 1009,
};

/* ---- handshake --------------------------------------------------------- */

/*
 * The outcome of parsing one upgrade request.  On success @status is 101
 * and @accept holds the Sec-WebSocket-Accept value; @binary_protocol says
 * the client offered the "binary" subprotocol, which the reply must then
 * name.  On failure @status is the HTTP error status to answer with.
 */
typedef struct QIOWebsockHandshake {
    int status;
    char *accept;
    bool binary_protocol;
} QIOWebsockHandshake;

/*
 * qio_websock_accept_key: the Sec-WebSocket-Accept value for @key (the
 * client's Sec-WebSocket-Key, as sent): base64(SHA-1(key + GUID)).
 * Returns a newly allocated string.  Pure; any thread.
 */
char *qio_websock_accept_key(const char *key);

/*
 * qio_websock_header_end: the length of the request header in @buf up to
 * and including the blank line ("\r\n\r\n"), or 0 when @buf does not yet
 * hold a complete header.  Pure; any thread.
 */
size_t qio_websock_header_end(const char *buf, size_t len);

/*
 * qio_websock_parse_request: check the complete upgrade request header
 * @buf (@len bytes, as measured by qio_websock_header_end) against RFC
 * 6455 section 4.2.1.  Fills @hs.  Returns true when the upgrade may go
 * ahead; otherwise false with @hs->status set to the HTTP status to reply
 * with (400, 403, 405 or 426) and @errp set to a message naming the
 * problem.  The caller frees @hs->accept.  Pure; any thread.
 */
bool qio_websock_parse_request(const char *buf, size_t len,
                               QIOWebsockHandshake *hs, Error **errp);

/*
 * qio_websock_response: the HTTP response for @hs: "101 Switching
 * Protocols" with the accept key (and the subprotocol, if chosen), or the
 * error status with "Connection: close".  Returns a newly allocated,
 * NUL-terminated string.  Pure; any thread.
 */
char *qio_websock_response(const QIOWebsockHandshake *hs);

/* The reason phrase for an HTTP @status we use ("Bad Request", ...). */
const char *qio_websock_status_text(int status);

/* ---- frames ------------------------------------------------------------- */

/* A decoded frame header, as it was on the wire. */
typedef struct QIOWebsockFrameHeader {
    bool fin;
    uint8_t rsv;            /* the three RSV bits, as bits 2..0 */
    uint8_t opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t payload_len;
    size_t header_len;      /* bytes the header took on the wire */
} QIOWebsockFrameHeader;

/*
 * qio_websock_frame_header_parse: decode the frame header at the start of
 * @buf (@len bytes available).  Returns the header length (2..14) with
 * @hdr filled, or 0 when @buf is too short to hold the whole header.  No
 * validation beyond the wire format; see qio_websock_frame_header_check.
 * Pure; any thread.
 */
size_t qio_websock_frame_header_parse(const uint8_t *buf, size_t len,
                                      QIOWebsockFrameHeader *hdr);

/*
 * qio_websock_frame_header_check: apply the server's rules to a frame a
 * client sent: RSV bits clear, a known opcode, masked, control frames
 * final and at most 125 bytes, payload at most @max_payload, and
 * continuation frames only inside a fragmented message (@in_message says
 * one is open; a new data frame may not start while it is).  Returns
 * true when the frame is acceptable; otherwise false with *@close_code set
 * to the close status to send (1002 or 1009) and @errp set.  Pure.
 */
bool qio_websock_frame_header_check(const QIOWebsockFrameHeader *hdr,
                                    bool in_message, uint64_t max_payload,
                                    uint16_t *close_code, Error **errp);

/*
 * qio_websock_frame_header_encode: write the header of an unmasked frame
 * (server to client) with @opcode, the FIN bit @fin and @payload_len
 * payload bytes into @buf, which holds QIO_WEBSOCK_MAX_FRAME_HEADER
 * bytes.  Uses the shortest length form.  Returns the header length
 * (2, 4 or 10).  Pure; any thread.
 */
size_t qio_websock_frame_header_encode(uint8_t *buf, uint8_t opcode,
                                       bool fin, uint64_t payload_len);

/*
 * qio_websock_mask: XOR @len bytes at @buf in place with the masking key
 * @mask, where @buf starts at byte @offset of the frame's payload (so a
 * payload can be unmasked in pieces).  Masking and unmasking are the same
 * operation.  Pure; any thread.
 */
void qio_websock_mask(uint8_t *buf, size_t len, const uint8_t mask[4],
                      uint64_t offset);

/* ---- the channel's state ------------------------------------------------ */

/* A byte queue: valid bytes are data[start .. end). */
typedef struct WsBuf {
    uint8_t *data;
    size_t start;
    size_t end;
    size_t cap;
} WsBuf;

/*
 * The channel.  Every field is used only by the thread that owns the
 * channel; the groups say which stage of its life each belongs to.
 */
struct QIOChannelWebsock {
    QIOChannel parent;

    /* Set at creation, never changed; we hold a reference. */
    QIOChannel *master;

    /* Handshake: default GMainContext, owner thread. */
    QIOTask *hs_task;       /* non-NULL while the handshake runs */
    guint hs_watch;         /* the master watch driving it, or 0 */
    Error *hs_err;          /* refusal to report once the reply is out */
    bool hs_done;           /* succeeded: frames flow from now on */

    /* Buffers: see the opening comment of channel-websock.c. */
    WsBuf encin;
    WsBuf rawin;
    WsBuf encout;

    /* Decoder state for the client's frames. */
    bool in_frame;                  /* reading the payload of @frame */
    QIOWebsockFrameHeader frame;
    uint64_t frame_pos;             /* payload bytes of @frame decoded */
    bool in_message;                /* a fragmented data message is open */

    /* Connection state. */
    bool close_sent;        /* our close frame is queued: no more data */
    bool close_received;    /* the client's close frame arrived */
    bool master_eof;        /* the master returned end-of-file */
    Error *io_err;          /* sticky: protocol or I/O failure */

    /* fd handlers forwarded to the master for qio_channel_yield. */
    AioContext *aio_ctx;
    IOHandler *aio_read;
    IOHandler *aio_write;
    void *aio_opaque;
    bool aio_flushing;      /* our flush handler is installed on master */
};

/* ---- byte queues ---------------------------------------------------- */

static inline size_t wsbuf_len(const WsBuf *b)
{
    return b->end - b->start;
}

static inline uint8_t *wsbuf_head(WsBuf *b)
{
    return b->data + b->start;
}

/* Make room for @n more bytes at the end; returns where they go. */
static inline uint8_t *wsbuf_reserve(WsBuf *b, size_t n)
{
    if (b->start && b->cap - b->end < n) {
        memmove(b->data, b->data + b->start, wsbuf_len(b));
        b->end -= b->start;
        b->start = 0;
    }
    if (b->cap - b->end < n) {
        b->cap = MAX(b->end + n, b->cap * 2);
        b->data = g_realloc(b->data, b->cap);
    }
    return b->data + b->end;
}

static inline void wsbuf_append(WsBuf *b, const void *p, size_t n)
{
    memcpy(wsbuf_reserve(b, n), p, n);
    b->end += n;
}

static inline void wsbuf_consume(WsBuf *b, size_t n)
{
    b->start += n;
    if (b->start == b->end) {
        b->start = b->end = 0;
    }
}

static inline void wsbuf_free(WsBuf *b)
{
    g_free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- provided by channel-websock.c -------------------------------------- */

/* Record @err as the channel's sticky failure, unless one is recorded. */
void qio_websock_set_error(QIOChannelWebsock *wioc, Error *err);

/* Append one whole unmasked frame to encout. */
void qio_websock_queue_frame(QIOChannelWebsock *wioc, uint8_t opcode,
                             const void *payload, size_t len);

/* Queue our close frame with status @code (0: none), once per channel. */
void qio_websock_queue_close(QIOChannelWebsock *wioc, uint16_t code);

/*
 * Write encout to the master.  Returns 0 once it is empty,
 * QIO_CHANNEL_ERR_BLOCK if the master would block first, -1 with @errp
 * set on error (the queued output is then dropped).
 */
int qio_websock_flush(QIOChannelWebsock *wioc, Error **errp);

/* As qio_websock_flush, recording a failure instead of returning it. */
void qio_websock_flush_quietly(QIOChannelWebsock *wioc);

/* ---- provided by websock-frame.c ------------------------------------- */

/*
 * Decode every complete piece of encin: data payload goes to rawin,
 * pings are answered, a close frame is answered and ends the input, a
 * protocol violation queues a close frame and records the error.  Then
 * flush what that queued.  Stops at the client's close frame.
 */
void qio_websock_decode_input(QIOChannelWebsock *wioc);

/* The master returned end-of-file: an error if a frame was cut short. */
void qio_websock_note_master_eof(QIOChannelWebsock *wioc);

/* ---- provided by websock-handshake.c -------------------------------- */

/* Stop a running handshake and fail its task (qio_channel_close). */
void qio_websock_handshake_cancel(QIOChannelWebsock *wioc);

#endif /* IO_WEBSOCK_PRIV_H */
