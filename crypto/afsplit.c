/*
 * The LUKS anti-forensic splitter (include/crypto/luks.h).
 *
 * What it does: spreads a key over many random stripes linked by a hash
 * diffusion, so that destroying any part of the stored stripes destroys
 * the key.  Invariant: decode(encode(k)) == k for any stripes >= 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include "qapi/error.h"
#include "crypto/luks.h"

static const gnutls_digest_algorithm_t digests[] = {
    [QCRYPTO_HASH_SHA1] = GNUTLS_DIG_SHA1,
    [QCRYPTO_HASH_SHA256] = GNUTLS_DIG_SHA256,
    [QCRYPTO_HASH_SHA512] = GNUTLS_DIG_SHA512,
};

static void xor_into(uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        dst[i] ^= src[i];
    }
}

/*
 * Diffuse @buf in place: each digest-sized piece i (the last one may be
 * shorter) becomes the hash of its big-endian index followed by itself,
 * cut to the piece's length.
 */
static bool diffuse(QCryptoHashAlg alg, uint8_t *buf, size_t len,
                    Error **errp)
{
    size_t dlen = qcrypto_hash_len(alg);
    uint8_t in[4 + 64], out[64];

    for (size_t off = 0, i = 0; off < len; off += dlen, i++) {
        size_t n = MIN(dlen, len - off);
        int ret;

        in[0] = i >> 24;
        in[1] = i >> 16;
        in[2] = i >> 8;
        in[3] = i;
        memcpy(in + 4, buf + off, n);
        ret = gnutls_hash_fast(digests[alg], in, 4 + n, out);
        if (ret < 0) {
            error_setg(errp, "hashing failed: %s", gnutls_strerror(ret));
            return false;
        }
        memcpy(buf + off, out, n);
    }
    explicit_bzero(in, sizeof(in));
    explicit_bzero(out, sizeof(out));
    return true;
}

/* XOR and diffuse the first @stripes - 1 stripes of @split into @acc. */
static bool chain(QCryptoHashAlg alg, size_t blocklen, uint32_t stripes,
                  const uint8_t *split, uint8_t *acc, Error **errp)
{
    memset(acc, 0, blocklen);
    for (uint32_t i = 0; i + 1 < stripes; i++) {
        xor_into(acc, split + (size_t)i * blocklen, blocklen);
        if (!diffuse(alg, acc, blocklen, errp)) {
            return false;
        }
    }
    return true;
}

bool qcrypto_afsplit_encode(QCryptoHashAlg alg, size_t blocklen,
                            uint32_t stripes, const uint8_t *in,
                            uint8_t *out, Error **errp)
{
    g_autofree uint8_t *acc = g_malloc(blocklen);
    size_t last = (size_t)(stripes - 1) * blocklen;
    int ret;

    if (stripes == 0) {
        error_setg(errp, "the AF splitter needs at least one stripe");
        return false;
    }
    ret = gnutls_rnd(GNUTLS_RND_RANDOM, out, last);
    if (ret < 0) {
        error_setg(errp, "no random bytes: %s", gnutls_strerror(ret));
        return false;
    }
    if (!chain(alg, blocklen, stripes, out, acc, errp)) {
        return false;
    }
    memcpy(out + last, in, blocklen);
    xor_into(out + last, acc, blocklen);
    explicit_bzero(acc, blocklen);
    return true;
}

bool qcrypto_afsplit_decode(QCryptoHashAlg alg, size_t blocklen,
                            uint32_t stripes, const uint8_t *in,
                            uint8_t *out, Error **errp)
{
    if (stripes == 0) {
        error_setg(errp, "the AF splitter needs at least one stripe");
        return false;
    }
    if (!chain(alg, blocklen, stripes, in, out, errp)) {
        return false;
    }
    xor_into(out, in + (size_t)(stripes - 1) * blocklen, blocklen);
    return true;
}
