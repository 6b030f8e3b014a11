/*
 * LUKS1 volume headers: the format cryptsetup defines and QEMU writes
 * inside qcow2 images (encrypt.format=luks).  Independent of any image
 * format: the caller hands over the bytes of the header area (the header
 * proper and the key material of the slots, i.e. everything before the
 * payload) and gets back the cipher of the payload.
 *
 * Also here, because LUKS is their one user: PBKDF2 with iteration
 * calibration, and the anti-forensic (AF) splitter.
 *
 * On disk, every integer of the header is big-endian; sizes and offsets
 * of key material and payload count 512-byte sectors.  The payload is
 * encrypted sector by sector with the master key, the IV from the sector
 * number (sector-cipher.h); what a sector's number is (relative to the
 * payload, or a host offset / 512 as qcow2 does) is the caller's choice.
 *
 * Every function may be called from any thread; all of them compute for
 * a while (PBKDF2 runs for about the configured iteration time) and so
 * do not belong in a coroutine that must stay responsive.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QCRYPTO_LUKS_H
#define QCRYPTO_LUKS_H

#include "qemu/osdep.h"
#include "crypto/sector-cipher.h"

/* ---- hashes and PBKDF2 ------------------------------------------------ */

typedef enum QCryptoHashAlg {
    QCRYPTO_HASH_SHA1,
    QCRYPTO_HASH_SHA256,
    QCRYPTO_HASH_SHA512,
} QCryptoHashAlg;

/* "sha1", "sha256", "sha512" <-> the enum; false for unknown names. */
bool qcrypto_hash_from_name(const char *name, QCryptoHashAlg *alg);
const char *qcrypto_hash_name(QCryptoHashAlg alg);
/* Digest length in bytes. */
size_t qcrypto_hash_len(QCryptoHashAlg alg);

/*
 * PBKDF2 with HMAC-@alg (RFC 8018): @outlen bytes into @out.  Returns
 * true, or false with @errp set.
 */
bool qcrypto_pbkdf2(QCryptoHashAlg alg, const uint8_t *key, size_t keylen,
                    const uint8_t *salt, size_t saltlen, uint64_t iterations,
                    uint8_t *out, size_t outlen, Error **errp);

/*
 * How many PBKDF2 iterations (deriving @outlen bytes) this machine runs
 * in @ms milliseconds, measured now on a throw-away key.  At least 1;
 * 0 with @errp set on failure.
 */
uint64_t qcrypto_pbkdf2_count_iters(QCryptoHashAlg alg, size_t outlen,
                                    uint64_t ms, Error **errp);

/* ---- anti-forensic splitter ------------------------------------------- */

/*
 * Split @blocklen bytes of @in into @stripes * @blocklen bytes of @out:
 * random stripes whose diffusion chain (with @alg) XORs back to @in.
 * Returns true, or false with @errp set.
 */
bool qcrypto_afsplit_encode(QCryptoHashAlg alg, size_t blocklen,
                            uint32_t stripes, const uint8_t *in,
                            uint8_t *out, Error **errp);
/* The inverse: @stripes * @blocklen bytes of @in to @blocklen of @out. */
bool qcrypto_afsplit_decode(QCryptoHashAlg alg, size_t blocklen,
                            uint32_t stripes, const uint8_t *in,
                            uint8_t *out, Error **errp);

/* ---- the header -------------------------------------------------------- */

#define QCRYPTO_LUKS_MAGIC          "LUKS\xba\xbe"
#define QCRYPTO_LUKS_MAGIC_LEN      6
#define QCRYPTO_LUKS_VERSION        1
#define QCRYPTO_LUKS_NAME_LEN       32   /* cipher name, mode, hash spec */
#define QCRYPTO_LUKS_DIGEST_LEN     20
#define QCRYPTO_LUKS_SALT_LEN       32
#define QCRYPTO_LUKS_UUID_LEN       40
#define QCRYPTO_LUKS_NUM_SLOTS      8
#define QCRYPTO_LUKS_STRIPES        4000
#define QCRYPTO_LUKS_SLOT_ACTIVE    0x00AC71F3U
#define QCRYPTO_LUKS_SLOT_INACTIVE  0x0000DEADU
#define QCRYPTO_LUKS_HEADER_LEN     592  /* the fixed part, with 8 slots */
#define QCRYPTO_LUKS_MIN_ITERS      1000 /* floor for calibrated counts */

typedef struct QCryptoLUKSKeySlot {
    uint32_t active;             /* QCRYPTO_LUKS_SLOT_(IN)ACTIVE */
    uint32_t iterations;         /* PBKDF2 of the password */
    uint8_t salt[QCRYPTO_LUKS_SALT_LEN];
    uint32_t key_offset;         /* key material, in sectors */
    uint32_t stripes;            /* AF stripes of the master key */
} QCryptoLUKSKeySlot;

/* The fixed header in host order, strings NUL terminated. */
typedef struct QCryptoLUKSHeader {
    uint16_t version;
    char cipher_name[QCRYPTO_LUKS_NAME_LEN + 1];
    char cipher_mode[QCRYPTO_LUKS_NAME_LEN + 1];
    char hash_spec[QCRYPTO_LUKS_NAME_LEN + 1];
    uint32_t payload_offset;     /* sectors */
    uint32_t key_bytes;          /* master key length */
    uint8_t mk_digest[QCRYPTO_LUKS_DIGEST_LEN];
    uint8_t mk_digest_salt[QCRYPTO_LUKS_SALT_LEN];
    uint32_t mk_digest_iterations;
    char uuid[QCRYPTO_LUKS_UUID_LEN + 1];
    QCryptoLUKSKeySlot slots[QCRYPTO_LUKS_NUM_SLOTS];
} QCryptoLUKSHeader;

/*
 * Decode and validate the header at the start of @buf (@len bytes of
 * header area): magic, version, a cipher/mode/hash we implement, a key
 * length that suits them, slots whose key material lies inside @len.
 * Returns true, or false with @errp set.
 */
bool qcrypto_luks_header_decode(const uint8_t *buf, size_t len,
                                QCryptoLUKSHeader *h, Error **errp);
/* Encode @h into the first QCRYPTO_LUKS_HEADER_LEN bytes of @buf. */
void qcrypto_luks_header_encode(const QCryptoLUKSHeader *h, uint8_t *buf);

/* ---- information ------------------------------------------------------- */

/* One key slot as QEMU reports it; offsets in bytes. */
typedef struct QCryptoLUKSSlotInfo {
    bool active;
    uint32_t iters;              /* active slots only */
    uint32_t stripes;            /* active slots only */
    uint64_t key_offset;         /* from the start of the header */
} QCryptoLUKSSlotInfo;

/*
 * A volume's parameters under QEMU's names (what "qemu-img info" lists
 * under "encrypt"); offsets in bytes from the start of the header.
 */
typedef struct QCryptoLUKSInfo {
    char cipher_alg[16];         /* "aes-256", "aes-128", ... */
    const char *cipher_mode;     /* "xts" or "cbc" */
    const char *ivgen_alg;       /* "plain64" or "plain" */
    const char *hash_alg;        /* "sha256", "sha1" or "sha512" */
    char uuid[QCRYPTO_LUKS_UUID_LEN + 1];
    uint64_t payload_offset;
    uint32_t master_key_iters;
    QCryptoLUKSSlotInfo slots[QCRYPTO_LUKS_NUM_SLOTS];
} QCryptoLUKSInfo;

/*
 * Describe the volume whose header area is @area (@len bytes) into
 * @info; no password needed.  Returns true, or false with @errp set when
 * the header does not decode (qcrypto_luks_header_decode).
 */
bool qcrypto_luks_get_info(const uint8_t *area, size_t len,
                           QCryptoLUKSInfo *info, Error **errp);

/* ---- volumes ----------------------------------------------------------- */

typedef struct QCryptoLUKSCreateOpts {
    const char *cipher_alg;      /* "aes-128" or "aes-256" (default) */
    const char *cipher_mode;     /* "xts" (default) or "cbc" */
    const char *hash_alg;        /* "sha256" (default), "sha1", "sha512" */
    uint64_t iter_time_ms;       /* PBKDF2 time per slot; 0: 2000 ms */
} QCryptoLUKSCreateOpts;

/*
 * Format a new volume: random master key, key slot 0 opened by
 * @password, the other slots inactive, with QEMU's layout (slot
 * material 4 KiB aligned after the header, payload after the last
 * slot).  On success returns the payload cipher and sets *@area
 * (g_free it) to the *@area_len bytes of header area to store; NULL
 * with @errp set otherwise.
 */
QCryptoSectorCipher *qcrypto_luks_format(const QCryptoLUKSCreateOpts *opts,
                                         const char *password,
                                         uint8_t **area, size_t *area_len,
                                         Error **errp);

/*
 * Unlock the volume whose header area is @area (@len bytes) with
 * @password: the payload cipher, or NULL with @errp set ("Invalid
 * password, cannot unlock any keyslot" when no slot takes it).
 */
QCryptoSectorCipher *qcrypto_luks_unlock(const uint8_t *area, size_t len,
                                         const char *password, Error **errp);

#endif /* QCRYPTO_LUKS_H */
