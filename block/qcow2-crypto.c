/*
 * qcow2 encryption: LUKS (crypt_method 2) and, read-only, the legacy AES
 * method (crypt_method 1), as QEMU lays them out.
 *
 * What it does:
 *   - LUKS: the LUKS1 header area (header and key slot material) lives in
 *     clusters of the image that the full disk encryption header
 *     extension points to (offset and length); data clusters hold the
 *     payload, each 512-byte sector encrypted with the master key and an
 *     IV from the sector's *host* offset / 512 (QEMU's choice for every
 *     method but AES, which it calls "physical offsets").
 *   - AES: AES-128-CBC, key = the password's first 16 bytes (zero
 *     padded), IV from the *guest* offset / 512.  Insecure, so images
 *     open read-only with a warning and are never created.
 *   - the key: from the open option encrypt.key-secret=ID (a secret
 *     registered with spindle_secret_add, crypto/secret.h) or later from
 *     bdrv_set_key(password); until then the node is encrypted with
 *     valid_key == 0 and data requests fail with -ENOKEY.
 *   - the data hooks qcow2-io.c calls for NORMAL clusters: bounce buffers
 *     encrypted or decrypted in chunks.  Zero and unallocated clusters
 *     never reach them (they read as zeroes, or from the backing node).
 *   - creation with encrypt.format=luks: formats a LUKS volume, stores
 *     its header area in newly allocated clusters, and records the
 *     extension and crypt_method in the header.
 *   - "qemu-img info"'s encrypt section: the method, and for LUKS the
 *     header's parameters, read without the key.
 *
 * What it deliberately does not: change passwords or key slots (QEMU's
 * amend), preallocate encrypted images, write legacy AES images.
 *
 * Key invariant: s->crypto is set exactly when crypt_method != 0;
 * s->crypto->cipher is set exactly when bs->valid_key.  The extension is
 * kept on s->unknown_exts so that every header rewrite preserves it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "block/internal.h"
#include "crypto/luks.h"
#include "crypto/secret.h"
#include "qcow2.h"

#define CRYPT_CHUNK             (1024 * 1024)
#define MAX_LUKS_AREA           (64 * 1024 * 1024)
#define AES_KEY_LEN             16

struct Qcow2Crypto {
    /* immutable after open */
    bool physical;               /* IV from host (LUKS) or guest offset */
    uint64_t area_offset;        /* LUKS header area in the file */
    uint64_t area_length;

    /* home thread; swapped only by set_key with the node drained */
    QCryptoSectorCipher *cipher; /* NULL until the key is known */
};

static const char *method_name(int method)
{
    return method == QCOW2_CRYPT_AES ? "aes" : "luks";
}

/* ---- the header area ------------------------------------------------- */

static Qcow2UnknownExt *find_crypto_ext(BDRVQcow2State *s)
{
    Qcow2UnknownExt *e;

    QLIST_FOREACH(e, &s->unknown_exts, next) {
        if (e->magic == QCOW2_EXT_CRYPTO_HEADER) {
            return e;
        }
    }
    return NULL;
}

bool qcow2_crypto_area(BDRVQcow2State *s, uint64_t *offset,
                       uint64_t *length)
{
    Qcow2UnknownExt *e = find_crypto_ext(s);

    if (!e || e->len < 16) {
        return false;
    }
    *offset = be64_load(e->data);
    *length = be64_load(e->data + 8);
    return true;
}

/* Where the LUKS area is, from the extension, checked against the file. */
static int locate_area(BlockDriverState *bs, Qcow2Crypto *c)
{
    BDRVQcow2State *s = bs->opaque;
    Error **errp = bdrv_driver_errp();

    if (!qcow2_crypto_area(s, &c->area_offset, &c->area_length)) {
        error_setg(errp, "encrypted image (LUKS) lacks a valid full disk "
                   "encryption header extension");
        return -EINVAL;
    }
    if (offset_into_cluster(s, c->area_offset) ||
        c->area_offset < (uint64_t)s->cluster_size ||
        c->area_length < QCRYPTO_LUKS_HEADER_LEN ||
        c->area_length > MAX_LUKS_AREA ||
        c->area_offset > (uint64_t)s->file_length_hint ||
        c->area_length > (uint64_t)s->file_length_hint - c->area_offset) {
        error_setg(errp, "encrypted image: LUKS header area (0x%" PRIx64
                   ", %" PRIu64 " bytes) is misaligned, too small or "
                   "outside the file", c->area_offset, c->area_length);
        return -EINVAL;
    }
    return 0;
}

static int read_area(BlockDriverState *bs, Qcow2Crypto *c, uint8_t **area)
{
    int ret;

    *area = g_malloc(c->area_length);
    ret = bdrv_pread(bs->file, c->area_offset, *area, c->area_length);
    if (ret < 0) {
        g_free(*area);
        *area = NULL;
        return ret;
    }
    return 0;
}

/* ---- keys -------------------------------------------------------------- */

/* The cipher for @password, or NULL with @errp set. */
static QCryptoSectorCipher *cipher_for(BlockDriverState *bs, Qcow2Crypto *c,
                                       const char *password, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *area = NULL;
    uint8_t key[AES_KEY_LEN] = { 0 };
    QCryptoSectorCipher *cipher;
    int ret;

    if (s->crypt_method_header == QCOW2_CRYPT_AES) {
        memcpy(key, password, MIN(strlen(password), sizeof(key)));
        cipher = qcrypto_sector_cipher_new(QCRYPTO_CIPHER_MODE_CBC,
                                           QCRYPTO_IVGEN_PLAIN64, key,
                                           sizeof(key), errp);
        explicit_bzero(key, sizeof(key));
        return cipher;
    }
    ret = read_area(bs, c, &area);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "could not read the LUKS header");
        return NULL;
    }
    cipher = qcrypto_luks_unlock(area, c->area_length, password, errp);
    explicit_bzero(area, c->area_length);
    return cipher;
}

static int unlock_with_secret(BlockDriverState *bs, Qcow2Crypto *c,
                              const char *secret_id)
{
    Error *err = NULL;
    char *password = spindle_secret_lookup_string(secret_id, &err);

    if (password) {
        c->cipher = cipher_for(bs, c, password, &err);
        spindle_secret_free(password);
    }
    if (!c->cipher) {
        error_propagate(bdrv_driver_errp(), err);
        return -EPERM;
    }
    bs->valid_key = 1;
    return 0;
}

int qcow2_set_key(BlockDriverState *bs, const char *key)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Crypto *c = s->crypto;
    QCryptoSectorCipher *cipher;
    Error *err = NULL;

    if (!c) {
        return -EINVAL;
    }
    cipher = cipher_for(bs, c, key, &err);
    bdrv_drain(bs);
    qcrypto_sector_cipher_free(c->cipher);
    c->cipher = cipher;
    if (!cipher) {
        /* Keep the message for a caller that asks for it. */
        error_propagate(bdrv_driver_errp(), err);
        return -EINVAL;
    }
    return 0;
}

/* ---- information ------------------------------------------------------- */

/* The LUKS header's facts, or NULL when it cannot be read or decoded. */
static QCryptoLUKSInfo *luks_info(BlockDriverState *bs, Qcow2Crypto *c)
{
    g_autofree uint8_t *area = NULL;
    QCryptoLUKSInfo *info;

    if (read_area(bs, c, &area) < 0) {
        return NULL;
    }
    info = g_new(QCryptoLUKSInfo, 1);
    if (!qcrypto_luks_get_info(area, c->area_length, info, NULL)) {
        g_clear_pointer(&info, g_free);
    }
    return info;
}

void qcow2_crypto_get_info(BlockDriverState *bs, BdrvSpecificInfoQcow2 *q)
{
    BDRVQcow2State *s = bs->opaque;

    if (!s->crypto) {
        return;
    }
    q->encrypt_format = method_name(s->crypt_method_header);
    if (s->crypt_method_header == QCOW2_CRYPT_LUKS) {
        q->luks = luks_info(bs, s->crypto);
    }
}

/* ---- open and close ---------------------------------------------------- */

/* encrypt.format, if given, must name the image's method. */
static int check_format_opt(BDRVQcow2State *s, const char *fmt,
                            const char *secret_id)
{
    Error **errp = bdrv_driver_errp();

    if (s->crypt_method_header == QCOW2_CRYPT_NONE) {
        if (fmt || secret_id) {
            error_setg(errp, "image is not encrypted, but encryption "
                       "options (encrypt.*) were given");
            return -EINVAL;
        }
        return 0;
    }
    if (s->crypt_method_header > QCOW2_CRYPT_LUKS) {
        error_setg(errp, "image is encrypted with an unknown method (%d)",
                   s->crypt_method_header);
        return -ENOTSUP;
    }
    if (fmt && strcmp(fmt, method_name(s->crypt_method_header))) {
        error_setg(errp, "image is encrypted with '%s', not "
                   "encrypt.format=%s", method_name(s->crypt_method_header),
                   fmt);
        return -EINVAL;
    }
    return 0;
}

int qcow2_crypto_open(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree char *fmt = bdrv_opt_take(bs, "encrypt.format");
    g_autofree char *secret_id = bdrv_opt_take(bs, "encrypt.key-secret");
    Qcow2Crypto *c;
    int ret = check_format_opt(s, fmt, secret_id);

    if (ret < 0 || s->crypt_method_header == QCOW2_CRYPT_NONE) {
        return ret;
    }
    c = g_new0(Qcow2Crypto, 1);
    s->crypto = c;
    c->physical = s->crypt_method_header != QCOW2_CRYPT_AES;
    if (s->crypt_method_header == QCOW2_CRYPT_LUKS) {
        ret = locate_area(bs, c);
        if (ret < 0) {
            return ret;
        }
    } else if (!bs->read_only) {
        warn_report("qcow2: '%s' uses the legacy AES encryption, which is "
                    "insecure: opening it read-only (convert it to LUKS)",
                    bs->filename);
        bs->read_only = 1;
    }
    bs->encrypted = 1;
    return secret_id ? unlock_with_secret(bs, c, secret_id) : 0;
}

void qcow2_crypto_close(BDRVQcow2State *s)
{
    if (s->crypto) {
        qcrypto_sector_cipher_free(s->crypto->cipher);
        g_free(s->crypto);
        s->crypto = NULL;
    }
}

/* ---- the data path ----------------------------------------------------- */

int qcow2_crypto_check_key(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->crypto && !s->crypto->cipher ? -ENOKEY : 0;
}

static uint64_t iv_sector(Qcow2Crypto *c, uint64_t guest, uint64_t host)
{
    return (c->physical ? host : guest) >> QCRYPTO_SECTOR_BITS;
}

int coroutine_fn qcow2_crypto_co_preadv(BlockDriverState *bs,
                                        uint64_t guest, uint64_t host,
                                        uint64_t bytes, QEMUIOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *buf = qemu_blockalign(bs->file, MIN(bytes, CRYPT_CHUNK));
    int ret = 0;

    for (uint64_t off = 0; off < bytes && ret == 0; off += CRYPT_CHUNK) {
        uint64_t n = MIN(bytes - off, CRYPT_CHUNK);

        ret = bdrv_co_pread(s->data_file, host + off, n, buf);
        if (ret >= 0 && !s->crypto->cipher) {
            ret = -ENOKEY;
        } else if (ret >= 0) {
            ret = qcrypto_sector_cipher_decrypt(
                s->crypto->cipher, iv_sector(s->crypto, guest + off,
                                             host + off), buf, n);
        }
        if (ret == 0) {
            qemu_iovec_from_buf(qiov, off, buf, n);
        }
    }
    qemu_vfree(buf);
    return ret < 0 ? ret : 0;
}

int coroutine_fn qcow2_crypto_co_pwritev(BlockDriverState *bs,
                                         uint64_t guest, uint64_t host,
                                         uint64_t bytes, QEMUIOVector *qiov,
                                         size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *buf = qemu_blockalign(bs->file, MIN(bytes, CRYPT_CHUNK));
    int ret = 0;

    for (uint64_t off = 0; off < bytes && ret == 0; off += CRYPT_CHUNK) {
        uint64_t n = MIN(bytes - off, CRYPT_CHUNK);

        qemu_iovec_to_buf(qiov, qiov_offset + off, buf, n);
        ret = s->crypto->cipher
              ? qcrypto_sector_cipher_encrypt(
                    s->crypto->cipher, iv_sector(s->crypto, guest + off,
                                                 host + off), buf, n)
              : -ENOKEY;
        if (ret == 0) {
            ret = bdrv_co_pwrite(s->data_file, host + off, n, buf);
        }
    }
    qemu_vfree(buf);
    return ret < 0 ? ret : 0;
}

/* ---- creation ---------------------------------------------------------- */

static const char *str_opt(QEMUOptionParameter *options, const char *name)
{
    QEMUOptionParameter *p = get_option_parameter(options, name);

    return p && p->assigned ? p->value.s : NULL;
}

static bool flag_opt(QEMUOptionParameter *options, const char *name)
{
    QEMUOptionParameter *p = get_option_parameter(options, name);

    return p && p->assigned && p->value.n;
}

int qcow2_crypto_check_create(QEMUOptionParameter *options, bool prealloc,
                              bool *encrypt)
{
    Error **errp = bdrv_driver_errp();
    const char *fmt = str_opt(options, "encrypt.format");
    const char *secret_id = str_opt(options, "encrypt.key-secret");
    Error *err = NULL;
    char *password;

    *encrypt = false;
    if ((fmt && !strcmp(fmt, "aes")) ||
        (!fmt && flag_opt(options, BLOCK_OPT_ENCRYPT))) {
        error_setg(errp, "creating images with the legacy AES encryption "
                   "is not supported (insecure): use encrypt.format=luks");
        return -ENOTSUP;
    }
    if (!fmt) {
        if (secret_id) {
            error_setg(errp, "encrypt.key-secret needs encrypt.format=luks");
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(fmt, "luks")) {
        error_setg(errp, "unknown encryption format '%s' (luks)", fmt);
        return -EINVAL;
    }
    if (prealloc) {
        error_setg(errp, "encrypted images cannot be preallocated");
        return -ENOTSUP;
    }
    if (!secret_id) {
        error_setg(errp, "encrypt.format=luks needs encrypt.key-secret");
        return -EINVAL;
    }
    password = spindle_secret_lookup_string(secret_id, &err);
    if (!password) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    spindle_secret_free(password);
    *encrypt = true;
    return 0;
}

typedef struct StoreAreaCo {
    BlockDriverState *bs;
    const uint8_t *area;
    size_t len;
    int64_t offset;              /* out */
} StoreAreaCo;

/* Allocate clusters for the area, write it (zero padded), flush refcounts. */
static int coroutine_fn store_area_co(void *opaque)
{
    StoreAreaCo *a = opaque;
    BDRVQcow2State *s = a->bs->opaque;
    uint64_t alloc = ROUND_UP(a->len, (uint64_t)s->cluster_size);
    g_autofree uint8_t *buf = g_malloc0(alloc);
    int64_t ret;

    memcpy(buf, a->area, a->len);
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_alloc_clusters(a->bs, alloc);
    if (ret >= 0) {
        a->offset = ret;
        ret = qcow2_cache_flush(a->bs, s->refcount_block_cache);
    }
    qemu_co_mutex_unlock(&s->lock);
    if (ret >= 0) {
        ret = bdrv_co_pwrite(a->bs->file, a->offset, alloc, buf);
    }
    if (ret >= 0) {
        ret = bdrv_co_flush(a->bs->file);
    }
    return ret < 0 ? ret : 0;
}

/* Record crypt_method and the extension (offset, length) in the header. */
static int record_area(BlockDriverState *bs, uint64_t offset, uint64_t len)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2UnknownExt *e = g_malloc0(sizeof(*e) + 16);
    int ret;

    e->magic = QCOW2_EXT_CRYPTO_HEADER;
    e->len = 16;
    be64_store(e->data, offset);
    be64_store(e->data + 8, len);
    QLIST_INSERT_HEAD(&s->unknown_exts, e, next);
    s->crypt_method_header = QCOW2_CRYPT_LUKS;
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        QLIST_REMOVE(e, next);
        g_free(e);
        s->crypt_method_header = QCOW2_CRYPT_NONE;
    }
    return ret;
}

static QCryptoSectorCipher *format_volume(QEMUOptionParameter *options,
                                          uint8_t **area, size_t *len,
                                          Error **errp)
{
    QEMUOptionParameter *p = get_option_parameter(options,
                                                  "encrypt.iter-time");
    QCryptoLUKSCreateOpts o = {
        .cipher_alg = str_opt(options, "encrypt.cipher-alg"),
        .cipher_mode = str_opt(options, "encrypt.cipher-mode"),
        .hash_alg = str_opt(options, "encrypt.hash-alg"),
        .iter_time_ms = p && p->assigned ? p->value.n : 0,
    };
    char *password = spindle_secret_lookup_string(
        str_opt(options, "encrypt.key-secret"), errp);
    QCryptoSectorCipher *cipher;

    if (!password) {
        return NULL;
    }
    cipher = qcrypto_luks_format(&o, password, area, len, errp);
    spindle_secret_free(password);
    return cipher;
}

int qcow2_crypto_create(BlockDriverState *bs, QEMUOptionParameter *options)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *area = NULL;
    QCryptoSectorCipher *cipher;
    StoreAreaCo a = { .bs = bs };
    Error *err = NULL;
    int ret;

    cipher = format_volume(options, &area, &a.len, &err);
    if (!cipher) {
        error_propagate(bdrv_driver_errp(), err);
        return -EINVAL;
    }
    a.area = area;
    ret = qcow2_run_co(bs, store_area_co, &a);
    if (ret == 0) {
        ret = record_area(bs, a.offset, a.len);
    }
    if (ret < 0) {
        qcrypto_sector_cipher_free(cipher);
        error_setg_errno(bdrv_driver_errp(), -ret, "could not store the "
                         "LUKS header");
        return ret;
    }
    s->crypto = g_new0(Qcow2Crypto, 1);
    s->crypto->physical = true;
    s->crypto->area_offset = a.offset;
    s->crypto->area_length = a.len;
    s->crypto->cipher = cipher;
    bs->encrypted = bs->valid_key = 1;
    return 0;
}
