/*
 * crash-writer: the Spindle side of the qcow2 crash-consistency test
 * (qcow2-crash.sh), which kills it with SIGKILL at random moments.
 *
 *   crash-writer run IMAGE JOURNAL SEED BLOCKS CLUSTER [DEPTH]
 *       open IMAGE read-write and, forever, issue random writes of whole
 *       4 KiB blocks (below BLOCKS), discards of whole CLUSTER-byte
 *       clusters and flushes, as callback (AIO) requests with up to DEPTH
 *       (default 1, at most 64) in flight at once.  Requests in flight
 *       never share a block, but may share a cluster: concurrent
 *       allocations in one cluster and in neighbouring ones, with
 *       flushes among them, are what a DEPTH above 1 exercises.
 *   crash-writer verify IMAGE JOURNAL BLOCKS
 *       replay JOURNAL and read IMAGE: every block whose state was
 *       acknowledged before the last completed flush must read back.
 *       Exits 0 if every such block matches.
 *
 * JOURNAL, one line an event, each appended (one write) in the order the
 * writer saw the events:
 *   W ID BLOCK COUNT GEN   write ID submitted (logged before submitting)
 *   D ID BLOCK COUNT       discard ID submitted (idem)
 *   C ID                   request ID completed successfully
 *   f K                    flush K submitted (logged before submitting)
 *   F K                    flush K completed; JOURNAL is fsync'ed
 * A write or discard is acknowledged once its "C" line is seen; flush K
 * makes durable exactly what was acknowledged before its "f K" line.  A
 * block is then checked if, at that "f K", it had no request in flight
 * and none was submitted for it afterwards: it must hold the generation
 * of its last acknowledged write (zeroes after a discard).
 *
 * Block contents derive from (block, generation): verify needs nothing
 * but the journal.  Generation 0 means zeroes (discarded, never written).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/block.h"
#include "block/block_int.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"

#define BLOCK_SIZE  4096
#define MAX_RUN     16
#define MAX_DEPTH   64
#define MAX_FLUSHES 2           /* flushes in flight at once */
#define SECTORS_PER_BLOCK (BLOCK_SIZE / BDRV_SECTOR_SIZE)

static void fill_block(uint8_t *buf, uint64_t block, uint64_t gen)
{
    if (gen == 0) {
        memset(buf, 0, BLOCK_SIZE);
        return;
    }
    memset(buf, (int)((block * 31 + gen * 7) & 0xff) | 1, BLOCK_SIZE);
    memcpy(buf, &block, sizeof(block));
    memcpy(buf + 8, &gen, sizeof(gen));
}

static BlockDriverState *open_image(const char *path, int flags)
{
    BlockDriverState *bs = bdrv_new("");
    Error *err = NULL;

    if (bdrv_open(bs, path, flags, NULL, &err) < 0) {
        error_report_err(err);
        exit(1);
    }
    return bs;
}

/* ---- run ----------------------------------------------------------------- */

typedef struct Writer {
    BlockDriverState *bs;
    GRand *rand;
    int fd;                     /* the journal */
    uint64_t blocks, cluster;
    int depth, in_flight, flushes;
    uint64_t next_id, gen;
    bool *busy;                 /* blocks with a request in flight */
} Writer;

typedef struct Request {
    Writer *w;
    uint64_t id, block, count;  /* count 0: a flush */
    uint8_t *buf;
    QEMUIOVector qiov;
} Request;

static void journal(Writer *w, bool sync, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void journal(Writer *w, bool sync, const char *fmt, ...)
{
    char line[96];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* one write a line: a kill leaves at worst the last line cut short */
    if (write(w->fd, line, len) != len || (sync && fsync(w->fd) < 0)) {
        perror("journal");
        exit(1);
    }
}

static void request_done(void *opaque, int ret)
{
    Request *r = opaque;
    Writer *w = r->w;

    if (ret < 0) {
        fprintf(stderr, "%s %" PRIu64 " failed: %s\n",
                r->count ? "request" : "flush", r->id, strerror(-ret));
        exit(1);
    }
    if (r->count) {
        journal(w, false, "C %" PRIu64 "\n", r->id);
        memset(w->busy + r->block, 0, r->count * sizeof(bool));
    } else {
        journal(w, true, "F %" PRIu64 "\n", r->id);
        w->flushes--;
    }
    w->in_flight--;
    if (r->buf) {
        qemu_iovec_destroy(&r->qiov);
        qemu_vfree(r->buf);
    }
    g_free(r);
}

/* Is [@b, @b + @n) free of requests in flight? */
static bool range_free(Writer *w, uint64_t b, uint64_t n)
{
    for (uint64_t i = b; i < b + n; i++) {
        if (w->busy[i]) {
            return false;
        }
    }
    return true;
}

static Request *new_request(Writer *w, uint64_t block, uint64_t count)
{
    Request *r = g_new0(Request, 1);

    r->w = w;
    r->id = ++w->next_id;
    r->block = block;
    r->count = count;
    memset(w->busy + block, 1, count * sizeof(bool));
    w->in_flight++;
    return r;
}

static bool submit_write(Writer *w)
{
    uint64_t b = g_rand_int_range(w->rand, 0, w->blocks);
    uint64_t n = g_rand_int_range(w->rand, 1,
                                  MIN(MAX_RUN, w->blocks - b) + 1);
    Request *r;

    if (!range_free(w, b, n)) {
        return false;
    }
    r = new_request(w, b, n);
    w->gen++;
    r->buf = qemu_blockalign(w->bs, n * BLOCK_SIZE);
    for (uint64_t i = 0; i < n; i++) {
        fill_block(r->buf + i * BLOCK_SIZE, b + i, w->gen);
    }
    qemu_iovec_init(&r->qiov, 1);
    qemu_iovec_add(&r->qiov, r->buf, n * BLOCK_SIZE);
    journal(w, false, "W %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
            r->id, b, n, w->gen);
    if (!bdrv_aio_writev(w->bs, b * SECTORS_PER_BLOCK, &r->qiov,
                         n * SECTORS_PER_BLOCK, request_done, r)) {
        fprintf(stderr, "could not submit a write\n");
        exit(1);
    }
    return true;
}

static bool submit_discard(Writer *w)
{
    uint64_t per = w->cluster / BLOCK_SIZE, clusters = w->blocks / per;
    uint64_t c = g_rand_int_range(w->rand, 0, clusters);
    uint64_t n = g_rand_int_range(w->rand, 1, MIN(4, clusters - c) + 1);
    Request *r;

    if (!range_free(w, c * per, n * per)) {
        return false;
    }
    r = new_request(w, c * per, n * per);
    journal(w, false, "D %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", r->id,
            c * per, n * per);
    if (!bdrv_aio_discard(w->bs, c * w->cluster >> BDRV_SECTOR_BITS,
                          n * w->cluster >> BDRV_SECTOR_BITS, request_done,
                          r)) {
        fprintf(stderr, "could not submit a discard\n");
        exit(1);
    }
    return true;
}

static bool submit_flush(Writer *w)
{
    Request *r;

    if (w->flushes >= MAX_FLUSHES) {
        return false;
    }
    r = new_request(w, 0, 0);
    w->flushes++;
    journal(w, false, "f %" PRIu64 "\n", r->id);
    if (!bdrv_aio_flush(w->bs, request_done, r)) {
        fprintf(stderr, "could not submit a flush\n");
        exit(1);
    }
    return true;
}

static int do_run(int argc, char **argv)
{
    Writer w = {
        .blocks = g_ascii_strtoull(argv[5], NULL, 0),
        .cluster = g_ascii_strtoull(argv[6], NULL, 0),
        .depth = argc > 7 ? atoi(argv[7]) : 1,
    };
    g_autoptr(GRand) r = g_rand_new_with_seed(atoi(argv[4]));

    if (w.cluster < BLOCK_SIZE || w.cluster % BLOCK_SIZE ||
        w.blocks < w.cluster / BLOCK_SIZE ||
        w.depth < 1 || w.depth > MAX_DEPTH) {
        fprintf(stderr, "bad block count, cluster size or depth\n");
        return 1;
    }
    w.fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (w.fd < 0) {
        perror(argv[3]);
        return 1;
    }
    w.rand = r;
    w.busy = g_new0(bool, w.blocks);
    w.bs = open_image(argv[2], BDRV_O_RDWR | BDRV_O_CACHE_WB);
    for (;;) {
        /* fill the queue; a pick that collides with a request in flight
         * waits for a completion instead */
        while (w.in_flight < w.depth) {
            int op = g_rand_int_range(w.rand, 0, 100);
            bool sent = op < 65 ? submit_write(&w)
                      : op < 80 ? submit_discard(&w)
                      : submit_flush(&w);

            if (!sent) {
                break;
            }
        }
        aio_poll(bdrv_get_aio_context(w.bs), true);
    }
}

/* ---- verify -------------------------------------------------------------- */

/* The acknowledged state of every block when a flush was submitted. */
typedef struct Snapshot {
    uint64_t flush;             /* its id */
    size_t line;                /* of its "f" in the journal */
    uint64_t *gen;              /* per block */
    bool *unsure;               /* a request was in flight */
} Snapshot;

typedef struct Replay {
    uint64_t blocks;
    uint64_t *gen;              /* last acknowledged generation */
    uint64_t *inflight;         /* id of the request in flight, or 0 */
    size_t *last_submit;        /* journal line of the last submission */
    GHashTable *pending;        /* id -> Pending, submitted, not done */
    GList *flushes;             /* Snapshots of flushes in flight */
    Snapshot *durable;          /* of the last completed flush, or NULL */
} Replay;

typedef struct Pending {
    uint64_t block, count, gen;
} Pending;

static void snapshot_free(Snapshot *sn)
{
    if (sn) {
        g_free(sn->gen);
        g_free(sn->unsure);
        g_free(sn);
    }
}

static void replay_line(Replay *rp, const char *line, size_t lineno)
{
    uint64_t id = 0, b = 0, n = 0, gen = 0;
    Pending *p;

    switch (line[0]) {
    case 'W':
    case 'D':
        if (sscanf(line + 1, "%" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64, &id, &b, &n, &gen) < 3 ||
            b >= rp->blocks || n > rp->blocks - b) {
            return;
        }
        p = g_new(Pending, 1);
        *p = (Pending) { b, n, line[0] == 'W' ? gen : 0 };
        g_hash_table_insert(rp->pending, GSIZE_TO_POINTER(id), p);
        for (uint64_t k = b; k < b + n; k++) {
            rp->inflight[k] = id;
            rp->last_submit[k] = lineno;
        }
        return;
    case 'C':
        if (sscanf(line + 1, "%" SCNu64, &id) != 1) {
            return;
        }
        p = g_hash_table_lookup(rp->pending, GSIZE_TO_POINTER(id));
        if (!p) {
            return;
        }
        for (uint64_t k = p->block; k < p->block + p->count; k++) {
            rp->gen[k] = p->gen;
            rp->inflight[k] = 0;
        }
        g_hash_table_remove(rp->pending, GSIZE_TO_POINTER(id));
        return;
    case 'f': {
        Snapshot *sn = g_new0(Snapshot, 1);

        if (sscanf(line + 1, "%" SCNu64, &sn->flush) != 1) {
            g_free(sn);
            return;
        }
        sn->line = lineno;
        sn->gen = g_memdup2(rp->gen, rp->blocks * sizeof(uint64_t));
        sn->unsure = g_new(bool, rp->blocks);
        for (uint64_t k = 0; k < rp->blocks; k++) {
            sn->unsure[k] = rp->inflight[k] != 0;
        }
        rp->flushes = g_list_append(rp->flushes, sn);
        return;
    }
    case 'F':
        if (sscanf(line + 1, "%" SCNu64, &id) != 1) {
            return;
        }
        /* flush @id and every flush submitted before it are now covered */
        while (rp->flushes) {
            Snapshot *sn = rp->flushes->data;

            if (sn->flush > id) {
                break;
            }
            rp->flushes = g_list_delete_link(rp->flushes, rp->flushes);
            if (sn->flush == id) {
                snapshot_free(rp->durable);
                rp->durable = sn;
            } else {
                snapshot_free(sn);
            }
        }
        return;
    }
}

/* Replay @path into @want (generation each block must hold) and @check
 * (whether to read it). */
static void replay(const char *path, uint64_t *want, bool *check,
                   uint64_t blocks)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    Replay rp = {
        .blocks = blocks,
        .gen = g_new0(uint64_t, blocks),
        .inflight = g_new0(uint64_t, blocks),
        .last_submit = g_new0(size_t, blocks),
        .pending = g_hash_table_new_full(NULL, NULL, NULL, g_free),
    };

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        text = g_strdup("");
    }
    lines = g_strsplit(text, "\n", -1);
    /* a line without its newline was cut short by the kill: ignored */
    for (size_t i = 0; lines[i] && lines[i + 1]; i++) {
        replay_line(&rp, lines[i], i + 1);
    }
    for (uint64_t k = 0; k < blocks; k++) {
        if (!rp.durable) {
            /* no flush completed: only never-touched blocks are known */
            want[k] = 0;
            check[k] = rp.last_submit[k] == 0;
        } else {
            want[k] = rp.durable->gen[k];
            check[k] = !rp.durable->unsure[k] &&
                       rp.last_submit[k] < rp.durable->line;
        }
    }
    snapshot_free(rp.durable);
    g_list_free_full(rp.flushes, (GDestroyNotify)snapshot_free);
    g_hash_table_destroy(rp.pending);
    g_free(rp.gen);
    g_free(rp.inflight);
    g_free(rp.last_submit);
}

#define VERIFY_CHUNK 64       /* blocks read at once */

static int do_verify(char **argv)
{
    uint64_t blocks = g_ascii_strtoull(argv[4], NULL, 0);
    g_autofree uint64_t *want = g_new0(uint64_t, blocks);
    g_autofree bool *check = g_new0(bool, blocks);
    g_autofree uint8_t *got = g_malloc(VERIFY_CHUNK * BLOCK_SIZE);
    uint8_t expect[BLOCK_SIZE];
    BlockDriverState *bs;
    uint64_t checked = 0, bad = 0;

    replay(argv[3], want, check, blocks);
    bs = open_image(argv[2], 0);
    for (uint64_t c = 0; c < blocks; c += VERIFY_CHUNK) {
        uint64_t n = MIN(VERIFY_CHUNK, blocks - c);
        int ret = bdrv_pread(bs, c * BLOCK_SIZE, got, n * BLOCK_SIZE);

        for (uint64_t b = c; b < c + n; b++) {
            const uint8_t *blk = got + (b - c) * BLOCK_SIZE;
            uint64_t gb, gg;

            if (!check[b]) {
                continue;
            }
            checked++;
            fill_block(expect, b, want[b]);
            if (ret >= 0 && !memcmp(expect, blk, BLOCK_SIZE)) {
                continue;
            }
            memcpy(&gb, blk, 8);
            memcpy(&gg, blk + 8, 8);
            if (bad++ < 10) {
                fprintf(stderr, "block %" PRIu64 ": expected generation %"
                        PRIu64 ", read %sblock %" PRIu64 " generation %"
                        PRIu64 "\n", b, want[b],
                        ret < 0 ? "(failed) " : "", gb, gg);
            }
        }
    }
    bdrv_unref(bs);
    printf("%" PRIu64 " durable blocks checked, %" PRIu64 " bad\n",
           checked, bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    qemu_init_main_loop(&error_fatal);
    if ((argc == 7 || argc == 8) && !strcmp(argv[1], "run")) {
        return do_run(argc, argv);
    }
    if (argc == 5 && !strcmp(argv[1], "verify")) {
        return do_verify(argv);
    }
    fprintf(stderr, "usage: crash-writer run IMAGE JOURNAL SEED BLOCKS "
            "CLUSTER [DEPTH]\n       crash-writer verify IMAGE JOURNAL "
            "BLOCKS\n");
    return 2;
}
