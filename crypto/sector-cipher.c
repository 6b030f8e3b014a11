/*
 * Sector ciphers on GnuTLS (include/crypto/sector-cipher.h).
 *
 * What it does: one GnuTLS cipher handle per object, re-keyed with the
 * sector's IV before each sector.  What it deliberately does not: ESSIV
 * or other IV generators, ciphers other than AES.  Invariant: the
 * handle's IV state is only touched under c->lock, one sector at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "qapi/error.h"
#include "crypto/sector-cipher.h"

#define IV_LEN 16

struct QCryptoSectorCipher {
    /* immutable after creation */
    QCryptoCipherMode mode;
    QCryptoIVGen ivgen;

    GMutex lock;                     /* protects handle */
    gnutls_cipher_hd_t handle;
};

static gnutls_cipher_algorithm_t pick_alg(QCryptoCipherMode mode,
                                          size_t keylen)
{
    if (mode == QCRYPTO_CIPHER_MODE_XTS) {
        return keylen == 32 ? GNUTLS_CIPHER_AES_128_XTS :
               keylen == 64 ? GNUTLS_CIPHER_AES_256_XTS :
               GNUTLS_CIPHER_UNKNOWN;
    }
    return keylen == 16 ? GNUTLS_CIPHER_AES_128_CBC :
           keylen == 24 ? GNUTLS_CIPHER_AES_192_CBC :
           keylen == 32 ? GNUTLS_CIPHER_AES_256_CBC :
           GNUTLS_CIPHER_UNKNOWN;
}

QCryptoSectorCipher *qcrypto_sector_cipher_new(QCryptoCipherMode mode,
                                               QCryptoIVGen ivgen,
                                               const uint8_t *key,
                                               size_t keylen, Error **errp)
{
    gnutls_cipher_algorithm_t alg = pick_alg(mode, keylen);
    uint8_t iv[IV_LEN] = { 0 };
    gnutls_datum_t k = { .data = (unsigned char *)key, .size = keylen };
    gnutls_datum_t i = { .data = iv, .size = IV_LEN };
    QCryptoSectorCipher *c;
    int ret;

    if (alg == GNUTLS_CIPHER_UNKNOWN) {
        error_setg(errp, "AES-%s takes no %zu-byte key",
                   mode == QCRYPTO_CIPHER_MODE_XTS ? "XTS" : "CBC", keylen);
        return NULL;
    }
    c = g_new0(QCryptoSectorCipher, 1);
    c->mode = mode;
    c->ivgen = ivgen;
    g_mutex_init(&c->lock);
    ret = gnutls_cipher_init(&c->handle, alg, &k, &i);
    if (ret < 0) {
        error_setg(errp, "cannot set up %s: %s", gnutls_cipher_get_name(alg),
                   gnutls_strerror(ret));
        g_mutex_clear(&c->lock);
        g_free(c);
        return NULL;
    }
    return c;
}

void qcrypto_sector_cipher_free(QCryptoSectorCipher *c)
{
    if (c) {
        gnutls_cipher_deinit(c->handle);    /* wipes the key schedule */
        g_mutex_clear(&c->lock);
        g_free(c);
    }
}

static void make_iv(QCryptoSectorCipher *c, uint64_t sector,
                    uint8_t iv[IV_LEN])
{
    uint64_t le = GUINT64_TO_LE(c->ivgen == QCRYPTO_IVGEN_PLAIN
                                ? (sector & 0xffffffffULL) : sector);

    memset(iv, 0, IV_LEN);
    memcpy(iv, &le, sizeof(le));
}

static int transform(QCryptoSectorCipher *c, uint64_t sector, uint8_t *buf,
                     size_t len, bool encrypt)
{
    uint8_t iv[IV_LEN];
    int ret = 0;

    if (len % 16) {
        return -EINVAL;
    }
    g_mutex_lock(&c->lock);
    for (size_t off = 0; off < len && ret == 0; off += QCRYPTO_SECTOR_SIZE) {
        size_t n = MIN(len - off, QCRYPTO_SECTOR_SIZE);

        make_iv(c, sector++, iv);
        gnutls_cipher_set_iv(c->handle, iv, IV_LEN);
        ret = encrypt
              ? gnutls_cipher_encrypt2(c->handle, buf + off, n, buf + off, n)
              : gnutls_cipher_decrypt2(c->handle, buf + off, n, buf + off, n);
    }
    g_mutex_unlock(&c->lock);
    return ret < 0 ? -EIO : 0;
}

int qcrypto_sector_cipher_encrypt(QCryptoSectorCipher *c, uint64_t sector,
                                  uint8_t *buf, size_t len)
{
    return transform(c, sector, buf, len, true);
}

int qcrypto_sector_cipher_decrypt(QCryptoSectorCipher *c, uint64_t sector,
                                  uint8_t *buf, size_t len)
{
    return transform(c, sector, buf, len, false);
}
