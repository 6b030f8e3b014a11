/*
 * Hashes and PBKDF2 for LUKS (include/crypto/luks.h), on GnuTLS.
 *
 * What it does: maps our hash names to GnuTLS's, derives keys, and
 * measures this machine's PBKDF2 speed so that iteration counts can be
 * chosen by time.  What it deliberately does not: any hash beyond the
 * three LUKS1 volumes commonly name.  The calibration runs for a short
 * window and extrapolates, so a 2 s iteration time costs ~0.1 s to set.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "qapi/error.h"
#include "crypto/luks.h"

#define CALIBRATE_MIN_MS    10
#define CALIBRATE_MAX_MS    100

static const struct {
    const char *name;
    gnutls_mac_algorithm_t mac;
    size_t len;
} hashes[] = {
    [QCRYPTO_HASH_SHA1] = { "sha1", GNUTLS_MAC_SHA1, 20 },
    [QCRYPTO_HASH_SHA256] = { "sha256", GNUTLS_MAC_SHA256, 32 },
    [QCRYPTO_HASH_SHA512] = { "sha512", GNUTLS_MAC_SHA512, 64 },
};

bool qcrypto_hash_from_name(const char *name, QCryptoHashAlg *alg)
{
    for (size_t i = 0; i < G_N_ELEMENTS(hashes); i++) {
        if (!g_ascii_strcasecmp(name, hashes[i].name)) {
            *alg = i;
            return true;
        }
    }
    return false;
}

const char *qcrypto_hash_name(QCryptoHashAlg alg)
{
    return hashes[alg].name;
}

size_t qcrypto_hash_len(QCryptoHashAlg alg)
{
    return hashes[alg].len;
}

bool qcrypto_pbkdf2(QCryptoHashAlg alg, const uint8_t *key, size_t keylen,
                    const uint8_t *salt, size_t saltlen, uint64_t iterations,
                    uint8_t *out, size_t outlen, Error **errp)
{
    gnutls_datum_t k = { .data = (unsigned char *)key, .size = keylen };
    gnutls_datum_t s = { .data = (unsigned char *)salt, .size = saltlen };
    int ret;

    if (iterations == 0 || iterations > UINT32_MAX) {
        error_setg(errp, "PBKDF2 iteration count %" PRIu64 " is out of "
                   "range", iterations);
        return false;
    }
    ret = gnutls_pbkdf2(hashes[alg].mac, &k, &s, iterations, out, outlen);
    if (ret < 0) {
        error_setg(errp, "PBKDF2-%s failed: %s", hashes[alg].name,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}

uint64_t qcrypto_pbkdf2_count_iters(QCryptoHashAlg alg, size_t outlen,
                                    uint64_t ms, Error **errp)
{
    static const uint8_t key[16] = "calibration key";
    static const uint8_t salt[QCRYPTO_LUKS_SALT_LEN] = { 0 };
    g_autofree uint8_t *out = g_malloc(outlen);
    uint64_t window_us = CLAMP(ms / 4, CALIBRATE_MIN_MS, CALIBRATE_MAX_MS) *
                         1000;
    uint64_t n = 256, elapsed;

    for (;;) {
        int64_t start = g_get_monotonic_time();

        if (!qcrypto_pbkdf2(alg, key, sizeof(key), salt, sizeof(salt), n,
                            out, outlen, errp)) {
            return 0;
        }
        elapsed = g_get_monotonic_time() - start;
        if (elapsed >= window_us || n >= (UINT32_MAX >> 1)) {
            break;
        }
        n *= 2;
    }
    elapsed = MAX(elapsed, 1);
    /* n iterations took elapsed us: scale to ms milliseconds. */
    return MAX(1, (uint64_t)((double)n * ms * 1000 / elapsed));
}
