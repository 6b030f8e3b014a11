/*
 * LUKS1 volume headers (include/crypto/luks.h), after the public LUKS1
 * on-disk format specification.
 *
 * What it does: decodes and validates headers, describes them under
 * QEMU's names (for "qemu-img info"; no password needed), unlocks a
 * volume by trying the password on every active key slot (PBKDF2 of the
 * password decrypts the slot's AF-split material, which merges into a
 * candidate master key, accepted when its PBKDF2 digest matches the
 * header's), and formats new volumes with QEMU's defaults and layout, so
 * that images move both ways.
 *
 * What it deliberately does not: add, remove or change key slots after
 * formatting (QEMU's amend), ciphers other than AES, IV generators other
 * than plain/plain64, LUKS2.  Detached headers are the caller's concern:
 * this file sees only the bytes of the header area.
 *
 * Invariant: master keys and derived keys live only in buffers this
 * file wipes before freeing, apart from the sector cipher it returns.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "qapi/error.h"
#include "crypto/luks.h"

#define SLOT_ALIGN_SECTORS      8        /* key material 4 KiB aligned */
#define HEADER_SECTORS          8        /* first slot after 4 KiB */
#define DEFAULT_ITER_TIME_MS    2000
#define MAX_KEY_BYTES           64

/* Byte offsets of the fields in the on-disk header. */
enum {
    OFF_VERSION = 6,
    OFF_CIPHER_NAME = 8,
    OFF_CIPHER_MODE = 40,
    OFF_HASH_SPEC = 72,
    OFF_PAYLOAD = 104,
    OFF_KEY_BYTES = 108,
    OFF_MK_DIGEST = 112,
    OFF_MK_SALT = 132,
    OFF_MK_ITERS = 164,
    OFF_UUID = 168,
    OFF_SLOTS = 208,
    SLOT_SIZE = 48,
};

/* The cipher modes we implement, as LUKS spells them. */
static const struct {
    const char *name;
    QCryptoCipherMode mode;
    QCryptoIVGen ivgen;
} modes[] = {
    { "xts-plain64", QCRYPTO_CIPHER_MODE_XTS, QCRYPTO_IVGEN_PLAIN64 },
    { "cbc-plain64", QCRYPTO_CIPHER_MODE_CBC, QCRYPTO_IVGEN_PLAIN64 },
    { "cbc-plain", QCRYPTO_CIPHER_MODE_CBC, QCRYPTO_IVGEN_PLAIN },
};

/* A volume's parameters, decoded from its names. */
typedef struct Params {
    QCryptoCipherMode mode;
    QCryptoIVGen ivgen;
    QCryptoHashAlg hash;
} Params;

/* ---- byte order --------------------------------------------------------- */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void get_str(char *dst, const uint8_t *src, size_t len)
{
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void put_str(uint8_t *dst, const char *src, size_t len)
{
    memset(dst, 0, len);
    memcpy(dst, src, MIN(strlen(src), len));
}

/* ---- header ------------------------------------------------------------- */

static bool key_fits_mode(QCryptoCipherMode mode, uint32_t key_bytes)
{
    if (mode == QCRYPTO_CIPHER_MODE_XTS) {
        return key_bytes == 32 || key_bytes == 64;
    }
    return key_bytes == 16 || key_bytes == 24 || key_bytes == 32;
}

/*
 * The mode may name a hash for the IV generator after a colon
 * ("cbc-plain64:sha256", as qemu writes it when asked for an ivgen hash):
 * plain and plain64 IVs use none, so a known hash there changes nothing.
 */
static bool ivgen_hash_ok(const char *suffix)
{
    QCryptoHashAlg unused;

    return !*suffix || (suffix[0] == ':' &&
                        qcrypto_hash_from_name(suffix + 1, &unused));
}

static bool params_of(const QCryptoLUKSHeader *h, Params *p, Error **errp)
{
    size_t len = strcspn(h->cipher_mode, ":");
    size_t i;

    if (g_ascii_strcasecmp(h->cipher_name, "aes")) {
        error_setg(errp, "LUKS cipher '%s' is not supported (only aes)",
                   h->cipher_name);
        return false;
    }
    for (i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (strlen(modes[i].name) == len &&
            !g_ascii_strncasecmp(h->cipher_mode, modes[i].name, len) &&
            ivgen_hash_ok(h->cipher_mode + len)) {
            break;
        }
    }
    if (i == G_N_ELEMENTS(modes)) {
        error_setg(errp, "LUKS cipher mode '%s' is not supported "
                   "(xts-plain64, cbc-plain64, cbc-plain)", h->cipher_mode);
        return false;
    }
    p->mode = modes[i].mode;
    p->ivgen = modes[i].ivgen;
    if (!qcrypto_hash_from_name(h->hash_spec, &p->hash)) {
        error_setg(errp, "LUKS hash '%s' is not supported (sha1, sha256, "
                   "sha512)", h->hash_spec);
        return false;
    }
    if (!key_fits_mode(p->mode, h->key_bytes)) {
        error_setg(errp, "LUKS key length %u does not suit aes-%s",
                   h->key_bytes, h->cipher_mode);
        return false;
    }
    return true;
}

static bool check_slot(const QCryptoLUKSHeader *h, int i, size_t len,
                       Error **errp)
{
    const QCryptoLUKSKeySlot *s = &h->slots[i];
    uint64_t start = (uint64_t)s->key_offset << QCRYPTO_SECTOR_BITS;
    uint64_t bytes = (uint64_t)s->stripes * h->key_bytes;

    if (s->active == QCRYPTO_LUKS_SLOT_INACTIVE) {
        return true;
    }
    if (s->active != QCRYPTO_LUKS_SLOT_ACTIVE) {
        error_setg(errp, "LUKS key slot %d has an invalid state 0x%x", i,
                   s->active);
        return false;
    }
    if (s->stripes != QCRYPTO_LUKS_STRIPES || s->iterations == 0) {
        error_setg(errp, "LUKS key slot %d has %u stripes and %u "
                   "iterations (want %u stripes and some iterations)", i,
                   s->stripes, s->iterations, QCRYPTO_LUKS_STRIPES);
        return false;
    }
    if (start < QCRYPTO_LUKS_HEADER_LEN || start > len ||
        bytes > len - start) {
        error_setg(errp, "LUKS key slot %d material (sector %u, %" PRIu64
                   " bytes) lies outside the header area of %zu bytes",
                   i, s->key_offset, bytes, len);
        return false;
    }
    return true;
}

bool qcrypto_luks_header_decode(const uint8_t *buf, size_t len,
                                QCryptoLUKSHeader *h, Error **errp)
{
    Params p;

    memset(h, 0, sizeof(*h));
    if (len < QCRYPTO_LUKS_HEADER_LEN ||
        memcmp(buf, QCRYPTO_LUKS_MAGIC, QCRYPTO_LUKS_MAGIC_LEN)) {
        error_setg(errp, "no LUKS header (bad magic or too short)");
        return false;
    }
    h->version = buf[OFF_VERSION] << 8 | buf[OFF_VERSION + 1];
    if (h->version != QCRYPTO_LUKS_VERSION) {
        error_setg(errp, "LUKS version %u is not supported (only 1)",
                   h->version);
        return false;
    }
    get_str(h->cipher_name, buf + OFF_CIPHER_NAME, QCRYPTO_LUKS_NAME_LEN);
    get_str(h->cipher_mode, buf + OFF_CIPHER_MODE, QCRYPTO_LUKS_NAME_LEN);
    get_str(h->hash_spec, buf + OFF_HASH_SPEC, QCRYPTO_LUKS_NAME_LEN);
    h->payload_offset = get32(buf + OFF_PAYLOAD);
    h->key_bytes = get32(buf + OFF_KEY_BYTES);
    memcpy(h->mk_digest, buf + OFF_MK_DIGEST, QCRYPTO_LUKS_DIGEST_LEN);
    memcpy(h->mk_digest_salt, buf + OFF_MK_SALT, QCRYPTO_LUKS_SALT_LEN);
    h->mk_digest_iterations = get32(buf + OFF_MK_ITERS);
    get_str(h->uuid, buf + OFF_UUID, QCRYPTO_LUKS_UUID_LEN);
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        const uint8_t *s = buf + OFF_SLOTS + i * SLOT_SIZE;

        h->slots[i].active = get32(s);
        h->slots[i].iterations = get32(s + 4);
        memcpy(h->slots[i].salt, s + 8, QCRYPTO_LUKS_SALT_LEN);
        h->slots[i].key_offset = get32(s + 40);
        h->slots[i].stripes = get32(s + 44);
    }
    if (!params_of(h, &p, errp)) {
        return false;
    }
    if (h->mk_digest_iterations == 0) {
        error_setg(errp, "LUKS master key digest has no iterations");
        return false;
    }
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        if (!check_slot(h, i, len, errp)) {
            return false;
        }
    }
    return true;
}

void qcrypto_luks_header_encode(const QCryptoLUKSHeader *h, uint8_t *buf)
{
    memset(buf, 0, QCRYPTO_LUKS_HEADER_LEN);
    memcpy(buf, QCRYPTO_LUKS_MAGIC, QCRYPTO_LUKS_MAGIC_LEN);
    buf[OFF_VERSION] = h->version >> 8;
    buf[OFF_VERSION + 1] = h->version;
    put_str(buf + OFF_CIPHER_NAME, h->cipher_name, QCRYPTO_LUKS_NAME_LEN);
    put_str(buf + OFF_CIPHER_MODE, h->cipher_mode, QCRYPTO_LUKS_NAME_LEN);
    put_str(buf + OFF_HASH_SPEC, h->hash_spec, QCRYPTO_LUKS_NAME_LEN);
    put32(buf + OFF_PAYLOAD, h->payload_offset);
    put32(buf + OFF_KEY_BYTES, h->key_bytes);
    memcpy(buf + OFF_MK_DIGEST, h->mk_digest, QCRYPTO_LUKS_DIGEST_LEN);
    memcpy(buf + OFF_MK_SALT, h->mk_digest_salt, QCRYPTO_LUKS_SALT_LEN);
    put32(buf + OFF_MK_ITERS, h->mk_digest_iterations);
    put_str(buf + OFF_UUID, h->uuid, QCRYPTO_LUKS_UUID_LEN);
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        uint8_t *s = buf + OFF_SLOTS + i * SLOT_SIZE;

        put32(s, h->slots[i].active);
        put32(s + 4, h->slots[i].iterations);
        memcpy(s + 8, h->slots[i].salt, QCRYPTO_LUKS_SALT_LEN);
        put32(s + 40, h->slots[i].key_offset);
        put32(s + 44, h->slots[i].stripes);
    }
}

/* ---- key slots ------------------------------------------------------------ */

/* Does @mk match the header's master key digest? */
static bool mk_matches(const QCryptoLUKSHeader *h, const Params *p,
                       const uint8_t *mk, bool *match, Error **errp)
{
    uint8_t digest[QCRYPTO_LUKS_DIGEST_LEN];

    if (!qcrypto_pbkdf2(p->hash, mk, h->key_bytes, h->mk_digest_salt,
                        QCRYPTO_LUKS_SALT_LEN, h->mk_digest_iterations,
                        digest, sizeof(digest), errp)) {
        return false;
    }
    *match = !memcmp(digest, h->mk_digest, sizeof(digest));
    return true;
}

/*
 * Encrypt (@encrypt) or decrypt in place the @len bytes of slot material
 * @buf with the key derived from @password for slot @s.
 */
static bool slot_crypt(const QCryptoLUKSHeader *h, const Params *p,
                       const QCryptoLUKSKeySlot *s, const char *password,
                       uint8_t *buf, size_t len, bool encrypt, Error **errp)
{
    uint8_t key[MAX_KEY_BYTES];
    QCryptoSectorCipher *c = NULL;
    bool ok = false;

    if (qcrypto_pbkdf2(p->hash, (const uint8_t *)password, strlen(password),
                       s->salt, QCRYPTO_LUKS_SALT_LEN, s->iterations, key,
                       h->key_bytes, errp)) {
        c = qcrypto_sector_cipher_new(p->mode, p->ivgen, key, h->key_bytes,
                                      errp);
    }
    if (c) {
        ok = (encrypt ? qcrypto_sector_cipher_encrypt(c, 0, buf, len)
                      : qcrypto_sector_cipher_decrypt(c, 0, buf, len)) == 0;
        if (!ok) {
            error_setg(errp, "could not %scrypt LUKS key material",
                       encrypt ? "en" : "de");
        }
    }
    qcrypto_sector_cipher_free(c);
    explicit_bzero(key, sizeof(key));
    return ok;
}

/* Try @password on slot @i: *@match and @mk (the master key) on success. */
static bool try_slot(const QCryptoLUKSHeader *h, const Params *p, int i,
                     const uint8_t *area, const char *password, uint8_t *mk,
                     bool *match, Error **errp)
{
    const QCryptoLUKSKeySlot *s = &h->slots[i];
    size_t len = (size_t)s->stripes * h->key_bytes;
    uint8_t *split = g_malloc(len);
    bool ok;

    memcpy(split, area + ((size_t)s->key_offset << QCRYPTO_SECTOR_BITS),
           len);
    ok = slot_crypt(h, p, s, password, split, len, false, errp) &&
         qcrypto_afsplit_decode(p->hash, h->key_bytes, s->stripes, split,
                                mk, errp) &&
         mk_matches(h, p, mk, match, errp);
    explicit_bzero(split, len);
    g_free(split);
    return ok;
}

QCryptoSectorCipher *qcrypto_luks_unlock(const uint8_t *area, size_t len,
                                         const char *password, Error **errp)
{
    QCryptoLUKSHeader h;
    uint8_t mk[MAX_KEY_BYTES];
    QCryptoSectorCipher *c = NULL;
    bool match = false;
    Params p;

    if (!qcrypto_luks_header_decode(area, len, &h, errp) ||
        !params_of(&h, &p, errp)) {
        return NULL;
    }
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS && !match; i++) {
        if (h.slots[i].active == QCRYPTO_LUKS_SLOT_ACTIVE &&
            !try_slot(&h, &p, i, area, password, mk, &match, errp)) {
            return NULL;
        }
    }
    if (!match) {
        error_setg(errp, "Invalid password, cannot unlock any keyslot");
        return NULL;
    }
    c = qcrypto_sector_cipher_new(p.mode, p.ivgen, mk, h.key_bytes, errp);
    explicit_bzero(mk, sizeof(mk));
    return c;
}

/* ---- information ----------------------------------------------------------- */

static const char *mode_name(QCryptoCipherMode mode)
{
    return mode == QCRYPTO_CIPHER_MODE_XTS ? "xts" : "cbc";
}

static const char *ivgen_name(QCryptoIVGen ivgen)
{
    return ivgen == QCRYPTO_IVGEN_PLAIN64 ? "plain64" : "plain";
}

/* The cipher's key size: an XTS key is two AES keys of half its length. */
static unsigned aes_bits(const QCryptoLUKSHeader *h, const Params *p)
{
    return h->key_bytes * 8 / (p->mode == QCRYPTO_CIPHER_MODE_XTS ? 2 : 1);
}

bool qcrypto_luks_get_info(const uint8_t *area, size_t len,
                           QCryptoLUKSInfo *info, Error **errp)
{
    QCryptoLUKSHeader h;
    Params p;

    if (!qcrypto_luks_header_decode(area, len, &h, errp) ||
        !params_of(&h, &p, errp)) {
        return false;
    }
    memset(info, 0, sizeof(*info));
    g_snprintf(info->cipher_alg, sizeof(info->cipher_alg), "aes-%u",
               aes_bits(&h, &p));
    info->cipher_mode = mode_name(p.mode);
    info->ivgen_alg = ivgen_name(p.ivgen);
    info->hash_alg = qcrypto_hash_name(p.hash);
    memcpy(info->uuid, h.uuid, sizeof(info->uuid));
    info->payload_offset = (uint64_t)h.payload_offset << QCRYPTO_SECTOR_BITS;
    info->master_key_iters = h.mk_digest_iterations;
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        const QCryptoLUKSKeySlot *s = &h.slots[i];
        QCryptoLUKSSlotInfo *si = &info->slots[i];

        si->active = s->active == QCRYPTO_LUKS_SLOT_ACTIVE;
        si->key_offset = (uint64_t)s->key_offset << QCRYPTO_SECTOR_BITS;
        if (si->active) {
            si->iters = s->iterations;
            si->stripes = s->stripes;
        }
    }
    return true;
}

/* ---- formatting ------------------------------------------------------------ */

typedef struct NewVolume {
    QCryptoLUKSHeader h;
    Params p;
    uint8_t mk[MAX_KEY_BYTES];
    uint64_t slot_iters;
} NewVolume;

static bool parse_create_opts(const QCryptoLUKSCreateOpts *o, NewVolume *v,
                              Error **errp)
{
    const char *alg = o->cipher_alg ? o->cipher_alg : "aes-256";
    const char *mode = o->cipher_mode ? o->cipher_mode : "xts";
    const char *hash = o->hash_alg ? o->hash_alg : "sha256";
    int aes_bits;

    if (!strcmp(alg, "aes-128")) {
        aes_bits = 128;
    } else if (!strcmp(alg, "aes-256")) {
        aes_bits = 256;
    } else {
        error_setg(errp, "cipher algorithm '%s' is not supported (aes-128 "
                   "or aes-256)", alg);
        return false;
    }
    if (strcmp(mode, "xts") && strcmp(mode, "cbc")) {
        error_setg(errp, "cipher mode '%s' is not supported (xts or cbc)",
                   mode);
        return false;
    }
    if (!qcrypto_hash_from_name(hash, &v->p.hash)) {
        error_setg(errp, "hash algorithm '%s' is not supported (sha1, "
                   "sha256, sha512)", hash);
        return false;
    }
    v->h.version = QCRYPTO_LUKS_VERSION;
    strcpy(v->h.cipher_name, "aes");
    g_snprintf(v->h.cipher_mode, sizeof(v->h.cipher_mode), "%s-plain64",
               mode);
    strcpy(v->h.hash_spec, qcrypto_hash_name(v->p.hash));
    v->p.mode = strcmp(mode, "xts") ? QCRYPTO_CIPHER_MODE_CBC
                                    : QCRYPTO_CIPHER_MODE_XTS;
    v->p.ivgen = QCRYPTO_IVGEN_PLAIN64;
    /* XTS keys are two AES keys: aes-256-xts takes 512 bits. */
    v->h.key_bytes = aes_bits / 8 * (v->p.mode == QCRYPTO_CIPHER_MODE_XTS
                                     ? 2 : 1);
    return true;
}

/* Random master key (with distinct XTS halves), salts, uuid. */
static bool make_randomness(NewVolume *v, Error **errp)
{
    size_t half = v->h.key_bytes / 2;
    int ret;

    do {
        ret = gnutls_rnd(GNUTLS_RND_KEY, v->mk, v->h.key_bytes);
    } while (ret == 0 && v->p.mode == QCRYPTO_CIPHER_MODE_XTS &&
             !memcmp(v->mk, v->mk + half, half));
    if (ret == 0) {
        ret = gnutls_rnd(GNUTLS_RND_NONCE, v->h.mk_digest_salt,
                         QCRYPTO_LUKS_SALT_LEN);
    }
    if (ret == 0) {
        ret = gnutls_rnd(GNUTLS_RND_NONCE, v->h.slots[0].salt,
                         QCRYPTO_LUKS_SALT_LEN);
    }
    if (ret < 0) {
        error_setg(errp, "no random bytes: %s", gnutls_strerror(ret));
        return false;
    }
    g_autofree char *uuid = g_uuid_string_random();
    g_strlcpy(v->h.uuid, uuid, sizeof(v->h.uuid));
    return true;
}

/*
 * Iteration counts from the time budget: the slot takes the whole of it,
 * the master key digest an eighth (as cryptsetup and QEMU do), each at
 * least QCRYPTO_LUKS_MIN_ITERS.
 */
static bool choose_iterations(NewVolume *v, uint64_t ms, Error **errp)
{
    uint64_t iters = qcrypto_pbkdf2_count_iters(v->p.hash, v->h.key_bytes,
                                                ms, errp);

    if (!iters) {
        return false;
    }
    iters = MIN(iters, UINT32_MAX);
    v->slot_iters = MAX(iters, QCRYPTO_LUKS_MIN_ITERS);
    v->h.mk_digest_iterations = MAX(iters / 8, QCRYPTO_LUKS_MIN_ITERS);
    return qcrypto_pbkdf2(v->p.hash, v->mk, v->h.key_bytes,
                          v->h.mk_digest_salt, QCRYPTO_LUKS_SALT_LEN,
                          v->h.mk_digest_iterations, v->h.mk_digest,
                          QCRYPTO_LUKS_DIGEST_LEN, errp);
}

/* Slot offsets and payload offset; returns the area length in bytes. */
static size_t lay_out(NewVolume *v)
{
    size_t material = (size_t)v->h.key_bytes * QCRYPTO_LUKS_STRIPES;
    uint32_t stride = ROUND_UP(DIV_ROUND_UP(material, QCRYPTO_SECTOR_SIZE),
                               SLOT_ALIGN_SECTORS);

    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        v->h.slots[i].active = QCRYPTO_LUKS_SLOT_INACTIVE;
        v->h.slots[i].key_offset = HEADER_SECTORS + i * stride;
        v->h.slots[i].stripes = QCRYPTO_LUKS_STRIPES;
    }
    v->h.payload_offset = HEADER_SECTORS + QCRYPTO_LUKS_NUM_SLOTS * stride;
    return (size_t)v->h.payload_offset << QCRYPTO_SECTOR_BITS;
}

/* Split the master key into slot 0's material at its place in @area. */
static bool fill_slot0(NewVolume *v, const char *password, uint8_t *area,
                       Error **errp)
{
    QCryptoLUKSKeySlot *s = &v->h.slots[0];
    size_t len = (size_t)s->stripes * v->h.key_bytes;
    uint8_t *split = area + ((size_t)s->key_offset << QCRYPTO_SECTOR_BITS);

    s->iterations = v->slot_iters;
    if (!qcrypto_afsplit_encode(v->p.hash, v->h.key_bytes, s->stripes,
                                v->mk, split, errp) ||
        !slot_crypt(&v->h, &v->p, s, password, split, len, true, errp)) {
        return false;
    }
    s->active = QCRYPTO_LUKS_SLOT_ACTIVE;
    return true;
}

QCryptoSectorCipher *qcrypto_luks_format(const QCryptoLUKSCreateOpts *opts,
                                         const char *password,
                                         uint8_t **area, size_t *area_len,
                                         Error **errp)
{
    NewVolume *v = g_new0(NewVolume, 1);
    QCryptoSectorCipher *c = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;

    if (parse_create_opts(opts, v, errp) && make_randomness(v, errp) &&
        choose_iterations(v, opts->iter_time_ms ? opts->iter_time_ms
                                                : DEFAULT_ITER_TIME_MS,
                          errp)) {
        len = lay_out(v);
        buf = g_malloc0(len);
        if (fill_slot0(v, password, buf, errp)) {
            qcrypto_luks_header_encode(&v->h, buf);
            c = qcrypto_sector_cipher_new(v->p.mode, v->p.ivgen, v->mk,
                                          v->h.key_bytes, errp);
        }
    }
    explicit_bzero(v, sizeof(*v));
    g_free(v);
    if (!c) {
        g_free(buf);
        return NULL;
    }
    *area = buf;
    *area_len = len;
    return c;
}
