/*
 * blkdebug: a protocol driver that makes requests fail on demand, so that
 * tests can drive every error path of the layers above it.
 *
 * Filename: blkdebug:RULES_FILE:IMAGE, RULES_FILE possibly empty
 * ("blkdebug::null-co://").  Options: config (the rules file), image,
 * clock (realtime, the default, or virtual: the clock delay-ns sleeps on,
 * which a test can put in manual mode) and image.* (options of the
 * image's own open).  With driver=blkdebug and a filename that does not
 * start with "blkdebug:", the filename is the image.  The image is opened
 * with format probing as bs->file; reads, writes, zero writes, discards,
 * flushes, size, truncation, allocation status and info are forwarded to
 * it.
 *
 * Rules file, INI-like; '#' and ';' start comment lines, values may be
 * double-quoted:
 *
 *   [inject-error]             [set-state]
 *   event = read_aio           event = flush
 *   errno = 5        (EIO)     state = 1      (0 or absent: any state)
 *   sector = -1      (any)     new_state = 2
 *   once = off
 *   immediately = off
 *   state = 0        (any)
 *   delay-ns = 0
 *
 * Event names are those of bdrv_debug_event_name(), but for read and
 * write, which nothing announces (QEMU's "read" belonged to a synchronous
 * qcow2 path long gone): rules on them are refused rather than left to
 * never fire.  A malformed file is refused with one message naming
 * FILE:LINE.
 *
 * Semantics.  The node has a state, 1 at open.  When an event is
 * announced on the node (bdrv_debug_event: raw announces read_aio and
 * write_aio on its file before each request; the generic layer announces
 * flush, write_zeroes and discard on the node a request reaches, and
 * flush_to_os and (unless cache=unsafe) flush_to_disk on the file of the
 * node it flushes, as QEMU does), every rule of that
 * event whose state is 0 or the current state fires: an inject-error
 * rule becomes armed; a set-state rule moves the state to its new_state
 * once all rules of the event have been matched against the old state.
 *
 * The next request the node serves -- read, write, zero write, discard or
 * flush -- disarms every armed rule, and fails if one of them matches it
 * (the first in order of addition).  Sector -1 matches every request;
 * another sector matches the requests whose range covers it (a flush
 * covers no sector).  So one event fails at most one request, and an
 * armed rule that did not match does not linger to fail some later,
 * unrelated request.  A once rule is removed when it fails a request;
 * other rules fail again at each new event.
 *
 * How the request fails, without reaching the image: with delay-ns,
 * after sleeping that long on the node's clock; else with immediately=on,
 * at once, inside the driver call, so the layers above see a failure that
 * completes before anything else runs; else (the default) after one trip
 * through the event loop, as a device's error completion arrives.
 *
 * Deliberately not: no rules that suspend and resume requests (QEMU's
 * break/resume), and no events of its own: a blkdebug node opened on its
 * own, with nothing announcing read_aio/write_aio, only sees the events
 * the generic layer announces.
 *
 * Invariant: the rules, the state and the counters are used only in the
 * node's home thread (events and requests both run there), so they need
 * no lock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/blkdebug.h"
#include "block/internal.h"

#define PROTOCOL_PREFIX "blkdebug:"
#define MAX_ERRNO 4095

typedef enum {
    RULE_INJECT_ERROR,
    RULE_SET_STATE,
} RuleKind;

typedef struct BlkdebugRule {
    RuleKind kind;
    BlkDebugEvent event;
    int state;                    /* fires only in this state; 0: any */
    BlkdebugInjectError inject;   /* RULE_INJECT_ERROR */
    int new_state;                /* RULE_SET_STATE */
    bool armed;                   /* fired; fails the next request */
    QTAILQ_ENTRY(BlkdebugRule) next;
} BlkdebugRule;

typedef QTAILQ_HEAD(, BlkdebugRule) RuleList;

typedef struct BDRVBlkdebugState {
    /* immutable after open */
    QEMUClockType clock;

    /* home thread only */
    RuleList rules;
    int state;
    uint64_t injected;
} BDRVBlkdebugState;

/* ---- rules ----------------------------------------------------------- */

static void rules_free(RuleList *rules)
{
    BlkdebugRule *r, *next;

    QTAILQ_FOREACH_SAFE(r, rules, next, next) {
        QTAILQ_REMOVE(rules, r, next);
        g_free(r);
    }
}

/* Events nothing announces (see BlkDebugEvent): a rule could never fire. */
static bool never_announced(BlkDebugEvent event)
{
    return event == BLKDBG_READ || event == BLKDBG_WRITE;
}

/* Why @r cannot be injected, or NULL when it is valid. */
static const char *inject_invalid(const BlkdebugInjectError *r)
{
    if ((unsigned)r->event >= BLKDBG_EVENT_MAX) {
        return "no valid event";
    }
    if (never_announced(r->event)) {
        return "events read and write are never announced "
               "(use read_aio, write_aio)";
    }
    if (r->error <= 0 || r->error > MAX_ERRNO) {
        return "errno must lie in 1..4095";
    }
    if (r->sector < -1) {
        return "sector must be -1 (any) or a sector number";
    }
    if (r->state < 0) {
        return "state must be 0 (any) or a state number";
    }
    if (r->delay_ns < 0) {
        return "delay-ns must not be negative";
    }
    return NULL;
}

static BlkdebugRule *inject_rule_new(const BlkdebugInjectError *inject)
{
    BlkdebugRule *r = g_new0(BlkdebugRule, 1);

    r->kind = RULE_INJECT_ERROR;
    r->event = inject->event;
    r->state = inject->state;
    r->inject = *inject;
    return r;
}

/* ---- rules file parser ----------------------------------------------- */

/* Parser state: the section being filled and what it has seen so far. */
typedef struct RuleParser {
    const char *name;        /* the text's name in messages */
    int line;                /* current line, from 1 */
    BlkdebugRule *cur;       /* section being filled, or NULL */
    int cur_line;            /* line of its header */
    GHashTable *seen;        /* keys given in the current section */
    RuleList rules;          /* finished sections */
} RuleParser;

static void G_GNUC_PRINTF(4, 5) parse_error(RuleParser *p, int line,
                                            Error **errp,
                                            const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "%s:%d: %s", p->name, line, msg);
}

static bool parse_int(RuleParser *p, const char *key, const char *value,
                      int64_t min, int64_t max, int64_t *out, Error **errp)
{
    if (!g_ascii_string_to_signed(value, 10, min, max, out, NULL)) {
        parse_error(p, p->line, errp, "%s: '%s' is not an integer in "
                    "%" PRId64 "..%" PRId64, key, value, min, max);
        return false;
    }
    return true;
}

static bool parse_onoff(RuleParser *p, const char *key, const char *value,
                        bool *out, Error **errp)
{
    static const char *const yes[] = { "on", "true", "yes", "1" };
    static const char *const no[] = { "off", "false", "no", "0" };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (!strcmp(value, yes[i]) || !strcmp(value, no[i])) {
            *out = !strcmp(value, yes[i]);
            return true;
        }
    }
    parse_error(p, p->line, errp, "%s: '%s' is not on or off", key, value);
    return false;
}

static bool parse_event(RuleParser *p, const char *value, Error **errp)
{
    int event = bdrv_debug_event_from_name(value);

    if (event < 0) {
        parse_error(p, p->line, errp, "unknown event '%s'", value);
        return false;
    }
    if (never_announced(event)) {
        parse_error(p, p->line, errp, "event '%s' is never announced, so "
                    "the rule could never fire (use %s_aio)", value, value);
        return false;
    }
    p->cur->event = p->cur->inject.event = event;
    return true;
}

/* Keys both sections share: event and state. */
static bool set_common_key(RuleParser *p, const char *key, const char *value,
                           bool *known, Error **errp)
{
    int64_t v;

    *known = true;
    if (!strcmp(key, "event")) {
        return parse_event(p, value, errp);
    }
    if (!strcmp(key, "state")) {
        if (!parse_int(p, key, value, 0, INT_MAX, &v, errp)) {
            return false;
        }
        p->cur->state = p->cur->inject.state = v;
        return true;
    }
    *known = false;
    return true;
}

static bool set_inject_key(RuleParser *p, const char *key, const char *value,
                           bool *known, Error **errp)
{
    BlkdebugInjectError *in = &p->cur->inject;
    int64_t v;

    *known = true;
    if (!strcmp(key, "errno")) {
        if (!parse_int(p, key, value, 1, MAX_ERRNO, &v, errp)) {
            return false;
        }
        in->error = v;
    } else if (!strcmp(key, "sector")) {
        if (!parse_int(p, key, value, -1, INT64_MAX, &v, errp)) {
            return false;
        }
        in->sector = v;
    } else if (!strcmp(key, "delay-ns")) {
        if (!parse_int(p, key, value, 0, INT64_MAX / 2, &v, errp)) {
            return false;
        }
        in->delay_ns = v;
    } else if (!strcmp(key, "once")) {
        return parse_onoff(p, key, value, &in->once, errp);
    } else if (!strcmp(key, "immediately")) {
        return parse_onoff(p, key, value, &in->immediately, errp);
    } else {
        *known = false;
    }
    return true;
}

static bool set_state_key(RuleParser *p, const char *key, const char *value,
                          bool *known, Error **errp)
{
    int64_t v;

    *known = !strcmp(key, "new_state");
    if (!*known) {
        return true;
    }
    if (!parse_int(p, key, value, 1, INT_MAX, &v, errp)) {
        return false;
    }
    p->cur->new_state = v;
    return true;
}

static const char *section_name(const BlkdebugRule *r)
{
    return r->kind == RULE_INJECT_ERROR ? "[inject-error]" : "[set-state]";
}

static bool set_key(RuleParser *p, const char *key, const char *value,
                    Error **errp)
{
    bool known;
    bool ok;

    if (!p->cur) {
        parse_error(p, p->line, errp, "'%s' outside of any section", key);
        return false;
    }
    if (g_hash_table_contains(p->seen, key)) {
        parse_error(p, p->line, errp, "'%s' given twice in %s", key,
                    section_name(p->cur));
        return false;
    }
    g_hash_table_add(p->seen, g_strdup(key));
    ok = set_common_key(p, key, value, &known, errp);
    if (ok && !known) {
        ok = p->cur->kind == RULE_INJECT_ERROR
             ? set_inject_key(p, key, value, &known, errp)
             : set_state_key(p, key, value, &known, errp);
    }
    if (ok && !known) {
        parse_error(p, p->line, errp, "unknown key '%s' in %s", key,
                    section_name(p->cur));
        return false;
    }
    return ok;
}

/* Check the section being filled and move it to the finished rules. */
static bool finish_section(RuleParser *p, Error **errp)
{
    BlkdebugRule *r = p->cur;

    if (!r) {
        return true;
    }
    p->cur = NULL;
    QTAILQ_INSERT_TAIL(&p->rules, r, next);
    if (!g_hash_table_contains(p->seen, "event")) {
        parse_error(p, p->cur_line, errp, "%s without an event",
                    section_name(r));
        return false;
    }
    if (r->kind == RULE_SET_STATE &&
        !g_hash_table_contains(p->seen, "new_state")) {
        parse_error(p, p->cur_line, errp, "[set-state] without a new_state");
        return false;
    }
    return true;
}

static bool start_section(RuleParser *p, const char *line, Error **errp)
{
    size_t len = strlen(line);
    g_autofree char *name = NULL;

    if (!finish_section(p, errp)) {
        return false;
    }
    if (line[len - 1] != ']') {
        parse_error(p, p->line, errp, "section header without a ']'");
        return false;
    }
    name = g_strstrip(g_strndup(line + 1, len - 2));
    if (strcmp(name, "inject-error") && strcmp(name, "set-state")) {
        parse_error(p, p->line, errp, "unknown section [%s] (expected "
                    "[inject-error] or [set-state])", name);
        return false;
    }
    if (!strcmp(name, "inject-error")) {
        p->cur = inject_rule_new(&BLKDEBUG_INJECT_ERROR_INIT(0));
    } else {
        p->cur = g_new0(BlkdebugRule, 1);
        p->cur->kind = RULE_SET_STATE;
    }
    p->cur_line = p->line;
    g_hash_table_remove_all(p->seen);
    return true;
}

/* A value without the double quotes around it, if it has them. */
static char *unquote(char *value)
{
    size_t len = strlen(value);

    if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        value[len - 1] = '\0';
        return value + 1;
    }
    return value;
}

static bool parse_line(RuleParser *p, char *line, Error **errp)
{
    char *eq;

    g_strstrip(line);
    if (!line[0] || line[0] == '#' || line[0] == ';') {
        return true;
    }
    if (line[0] == '[') {
        return start_section(p, line, errp);
    }
    eq = strchr(line, '=');
    if (!eq) {
        parse_error(p, p->line, errp, "expected 'key = value' or "
                    "'[section]', got '%s'", line);
        return false;
    }
    *eq = '\0';
    g_strstrip(line);
    if (!line[0]) {
        parse_error(p, p->line, errp, "a value without a key");
        return false;
    }
    return set_key(p, line, unquote(g_strstrip(eq + 1)), errp);
}

/* Parse @text into @rules (empty on entry, empty again on failure). */
static bool parse_rules(const char *text, const char *name, RuleList *rules,
                        Error **errp)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    RuleParser p = { .name = name };
    BlkdebugRule *r;
    bool ok = true;

    QTAILQ_INIT(&p.rules);
    p.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; ok && lines[i]; i++) {
        p.line = i + 1;
        ok = parse_line(&p, lines[i], errp);
    }
    if (ok) {
        ok = finish_section(&p, errp);
    }
    g_free(p.cur);
    g_hash_table_unref(p.seen);
    if (!ok) {
        rules_free(&p.rules);
        return false;
    }
    while ((r = QTAILQ_FIRST(&p.rules))) {
        QTAILQ_REMOVE(&p.rules, r, next);
        QTAILQ_INSERT_TAIL(rules, r, next);
    }
    return true;
}

static bool load_rules_file(const char *path, RuleList *rules, Error **errp)
{
    g_autoptr(GString) text = g_string_new(NULL);
    char chunk[4096];
    FILE *f = fopen(path, "r");
    size_t n;
    bool failed;

    if (!f) {
        error_setg_errno(errp, errno, "could not read rules file '%s'", path);
        return false;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        g_string_append_len(text, chunk, n);
    }
    failed = ferror(f);
    fclose(f);
    if (failed) {
        error_setg(errp, "could not read rules file '%s'", path);
        return false;
    }
    return parse_rules(text->str, path, rules, errp);
}

/* ---- events and failing requests ------------------------------------- */

static void blkdebug_debug_event(BlockDriverState *bs, BlkDebugEvent event)
{
    BDRVBlkdebugState *s = bs->opaque;
    int new_state = s->state;
    BlkdebugRule *r;

    QTAILQ_FOREACH(r, &s->rules, next) {
        if (r->event != event || (r->state && r->state != s->state)) {
            continue;
        }
        if (r->kind == RULE_INJECT_ERROR) {
            r->armed = true;
        } else {
            new_state = r->new_state;
        }
    }
    s->state = new_state;
}

static bool rule_matches(const BlkdebugRule *r, int64_t sector, int nb)
{
    int64_t want = r->inject.sector;

    return want < 0 || (want >= sector && want - sector < nb);
}

/*
 * Disarm every armed rule; copy the first that matches the request into
 * *@hit (removing it if it fires once).  false when none matches.
 */
static bool take_armed_rule(BDRVBlkdebugState *s, int64_t sector, int nb,
                            BlkdebugInjectError *hit)
{
    BlkdebugRule *r, *found = NULL;

    QTAILQ_FOREACH(r, &s->rules, next) {
        if (r->armed) {
            r->armed = false;
            if (!found && rule_matches(r, sector, nb)) {
                found = r;
            }
        }
    }
    if (!found) {
        return false;
    }
    *hit = found->inject;
    if (found->inject.once) {
        QTAILQ_REMOVE(&s->rules, found, next);
        g_free(found);
    }
    return true;
}

/* 0, or the -errno the request fails with after the rule's delay. */
static int coroutine_fn injected_error(BlockDriverState *bs, int64_t sector,
                                       int nb)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugInjectError hit;

    if (!take_armed_rule(s, sector, nb, &hit)) {
        return 0;
    }
    s->injected++;
    if (hit.delay_ns > 0) {
        qemu_co_sleep_ns(s->clock, hit.delay_ns);
    } else if (!hit.immediately) {
        aio_co_schedule(bdrv_get_aio_context(bs), qemu_coroutine_self());
        qemu_coroutine_yield();
    }
    return -hit.error;
}

/* ---- I/O, forwarded to the image ------------------------------------- */

static int coroutine_fn blkdebug_co_readv(BlockDriverState *bs,
                                          int64_t sector_num, int nb_sectors,
                                          QEMUIOVector *qiov)
{
    int ret = injected_error(bs, sector_num, nb_sectors);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_preadv(bs->file, sector_num << BDRV_SECTOR_BITS,
                          (int64_t)nb_sectors << BDRV_SECTOR_BITS, qiov, 0);
}

static int coroutine_fn blkdebug_co_writev(BlockDriverState *bs,
                                           int64_t sector_num,
                                           int nb_sectors, QEMUIOVector *qiov)
{
    int ret = injected_error(bs, sector_num, nb_sectors);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwritev(bs->file, sector_num << BDRV_SECTOR_BITS,
                           (int64_t)nb_sectors << BDRV_SECTOR_BITS, qiov, 0);
}

static int coroutine_fn blkdebug_co_write_zeroes(BlockDriverState *bs,
                                                 int64_t sector_num,
                                                 int nb_sectors)
{
    int ret = injected_error(bs, sector_num, nb_sectors);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(bs->file, sector_num << BDRV_SECTOR_BITS,
                                 (int64_t)nb_sectors << BDRV_SECTOR_BITS, 0);
}

static int coroutine_fn blkdebug_co_discard(BlockDriverState *bs,
                                            int64_t sector_num,
                                            int nb_sectors)
{
    int ret = injected_error(bs, sector_num, nb_sectors);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pdiscard(bs->file, sector_num << BDRV_SECTOR_BITS,
                            (int64_t)nb_sectors << BDRV_SECTOR_BITS);
}

/*
 * A flush reaches blkdebug here, as flush_to_os, because that member runs
 * under cache=unsafe too: rules fail every flush, as in QEMU, instead of
 * staying armed for the next request.  The generic layer flushes
 * bs->file after this succeeds.
 */
static int coroutine_fn blkdebug_co_flush(BlockDriverState *bs)
{
    return injected_error(bs, 0, 0);
}

static int coroutine_fn blkdebug_co_is_allocated(BlockDriverState *bs,
                                                 int64_t sector_num,
                                                 int nb_sectors, int *pnum)
{
    return bdrv_co_is_allocated(bs->file, sector_num, nb_sectors, pnum);
}

/* ---- the rest, forwarded --------------------------------------------- */

static int64_t blkdebug_getlength(BlockDriverState *bs)
{
    return bdrv_getlength(bs->file);
}

static int blkdebug_truncate(BlockDriverState *bs, int64_t offset)
{
    return bdrv_truncate(bs->file, offset);
}

static int blkdebug_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return bdrv_get_info(bs->file, bdi);
}

static int blkdebug_has_zero_init(BlockDriverState *bs)
{
    return bdrv_has_zero_init(bs->file);
}

static int blkdebug_is_inserted(BlockDriverState *bs)
{
    return bdrv_is_inserted(bs->file);
}

/* ---- open and close -------------------------------------------------- */

/* Split "blkdebug:RULES:IMAGE" into its parts (NULL when empty). */
static bool parse_filename(const char *filename, char **config,
                           char **image)
{
    const char *rest, *colon;

    *config = *image = NULL;
    if (!g_str_has_prefix(filename, PROTOCOL_PREFIX)) {
        *image = filename[0] ? g_strdup(filename) : NULL;
        return true;
    }
    rest = filename + strlen(PROTOCOL_PREFIX);
    colon = strchr(rest, ':');
    if (!colon) {
        return rest[0] == '\0';
    }
    *config = colon > rest ? g_strndup(rest, colon - rest) : NULL;
    *image = colon[1] ? g_strdup(colon + 1) : NULL;
    return true;
}

/* *@from_name, unless the option @key says otherwise. */
static bool merge_option(BlockDriverState *bs, const char *key,
                         char **from_name)
{
    g_autofree char *opt = bdrv_opt_take(bs, key);

    if (!opt) {
        return true;
    }
    if (*from_name && strcmp(*from_name, opt)) {
        error_setg(bdrv_driver_errp(), "%s given both in the filename "
                   "('%s') and as an option ('%s')", key, *from_name, opt);
        return false;
    }
    g_free(*from_name);
    *from_name = g_steal_pointer(&opt);
    return true;
}

static bool take_clock_option(BlockDriverState *bs, QEMUClockType *clock)
{
    g_autofree char *name = bdrv_opt_take(bs, "clock");

    *clock = QEMU_CLOCK_REALTIME;
    if (!name || !strcmp(name, "realtime")) {
        return true;
    }
    if (!strcmp(name, "virtual")) {
        *clock = QEMU_CLOCK_VIRTUAL;
        return true;
    }
    error_setg(bdrv_driver_errp(), "clock: '%s' is neither realtime nor "
               "virtual", name);
    return false;
}

static int open_image(BlockDriverState *bs, const char *image, int flags)
{
    g_autoptr(GHashTable) opts =
        bdrv_options_take_prefixed(bs->options, "image.");
    BlockDriverState *child = bdrv_new("");
    Error *err = NULL;
    int ret;

    bdrv_set_aio_context(child, bdrv_get_aio_context(bs));
    ret = bdrv_open_options(child, image, opts,
                            flags & ~(BDRV_O_PROTOCOL | BDRV_O_SNAPSHOT),
                            NULL, &err);
    if (ret < 0) {
        error_propagate(bdrv_driver_errp(), err);
        bdrv_unref(child);
        return ret;
    }
    bs->file = child;
    bs->request_alignment = MAX(bs->request_alignment,
                                child->request_alignment);
    bs->buffer_alignment = MAX(bs->buffer_alignment,
                               child->buffer_alignment);
    return 0;
}

static int blkdebug_file_open(BlockDriverState *bs, const char *filename,
                              int flags)
{
    BDRVBlkdebugState *s = bs->opaque;
    g_autofree char *config = NULL;
    g_autofree char *image = NULL;
    int ret;

    QTAILQ_INIT(&s->rules);
    s->state = 1;
    if (!parse_filename(filename, &config, &image)) {
        error_setg(bdrv_driver_errp(), "expected blkdebug:RULES_FILE:IMAGE");
        return -EINVAL;
    }
    if (!merge_option(bs, "config", &config) ||
        !merge_option(bs, "image", &image) ||
        !take_clock_option(bs, &s->clock)) {
        return -EINVAL;
    }
    if (!image) {
        error_setg(bdrv_driver_errp(), "no image given (expected "
                   "blkdebug:RULES_FILE:IMAGE or the image option)");
        return -EINVAL;
    }
    if (config && !load_rules_file(config, &s->rules, bdrv_driver_errp())) {
        return -EINVAL;
    }
    ret = open_image(bs, image, flags);
    if (ret < 0) {
        rules_free(&s->rules);
    }
    return ret;
}

/* Also reached when the generic layer refuses a leftover option after a
 * successful open, which is why the image is released here. */
static void blkdebug_close(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;

    rules_free(&s->rules);
    bdrv_unref(bs->file);
    bs->file = NULL;
}

BlockDriver bdrv_blkdebug = {
    .format_name = "blkdebug",
    .protocol_name = "blkdebug",
    .instance_size = sizeof(BDRVBlkdebugState),
    .bdrv_file_open = blkdebug_file_open,
    .bdrv_close = blkdebug_close,
    .bdrv_debug_event = blkdebug_debug_event,
    .bdrv_co_readv = blkdebug_co_readv,
    .bdrv_co_writev = blkdebug_co_writev,
    .bdrv_co_write_zeroes = blkdebug_co_write_zeroes,
    .bdrv_co_discard = blkdebug_co_discard,
    .bdrv_co_flush_to_os = blkdebug_co_flush,
    .bdrv_co_is_allocated = blkdebug_co_is_allocated,
    .bdrv_getlength = blkdebug_getlength,
    .bdrv_truncate = blkdebug_truncate,
    .bdrv_get_info = blkdebug_get_info,
    .bdrv_has_zero_init = blkdebug_has_zero_init,
    .bdrv_is_inserted = blkdebug_is_inserted,
};

/* ---- the test API (block/blkdebug.h) ---------------------------------- */

BlockDriverState *blkdebug_find(BlockDriverState *bs)
{
    for (; bs; bs = bs->file) {
        if (bs->drv == &bdrv_blkdebug) {
            return bs;
        }
    }
    return NULL;
}

static BDRVBlkdebugState *find_state(BlockDriverState *bs, Error **errp)
{
    BlockDriverState *node = blkdebug_find(bs);

    if (!node) {
        error_setg(errp, "no blkdebug node at or below '%s'", bs->filename);
        return NULL;
    }
    return node->opaque;
}

bool blkdebug_add_rules(BlockDriverState *bs, const char *text,
                        const char *name, Error **errp)
{
    BDRVBlkdebugState *s = find_state(bs, errp);

    return s && parse_rules(text, name, &s->rules, errp);
}

bool blkdebug_inject_error(BlockDriverState *bs,
                           const BlkdebugInjectError *rule, Error **errp)
{
    BDRVBlkdebugState *s = find_state(bs, errp);
    BlkdebugRule *r;
    const char *why;

    if (!s) {
        return false;
    }
    why = inject_invalid(rule);
    if (why) {
        error_setg(errp, "invalid blkdebug rule: %s", why);
        return false;
    }
    r = inject_rule_new(rule);
    QTAILQ_INSERT_TAIL(&s->rules, r, next);
    return true;
}

int blkdebug_remove_rules(BlockDriverState *bs, BlkDebugEvent event)
{
    BDRVBlkdebugState *s = find_state(bs, NULL);
    BlkdebugRule *r, *next;
    int n = 0;

    if (!s) {
        return 0;
    }
    QTAILQ_FOREACH_SAFE(r, &s->rules, next, next) {
        if (event == BLKDBG_EVENT_MAX || r->event == event) {
            QTAILQ_REMOVE(&s->rules, r, next);
            g_free(r);
            n++;
        }
    }
    return n;
}

int blkdebug_get_state(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = find_state(bs, NULL);

    return s ? s->state : 0;
}

uint64_t blkdebug_injected_count(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = find_state(bs, NULL);

    return s ? s->injected : 0;
}
