/*
 * Sector ciphers: AES in XTS or CBC mode over 512-byte sectors, each
 * sector with its own IV made from its number ("plain64": the number as
 * a 64-bit little-endian value, zero padded to the block size; "plain":
 * the same, truncated to 32 bits).  This is the data transform of
 * LUKS1 volumes and of QEMU's legacy qcow/qcow2 AES encryption.
 *
 * A cipher object is immutable after creation apart from an internal
 * lock around the GnuTLS handle, so it may be used from any thread.
 * Calls never yield and never sleep apart from that lock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QCRYPTO_SECTOR_CIPHER_H
#define QCRYPTO_SECTOR_CIPHER_H

#include "qemu/osdep.h"

#define QCRYPTO_SECTOR_SIZE     512
#define QCRYPTO_SECTOR_BITS     9

typedef enum QCryptoCipherMode {
    QCRYPTO_CIPHER_MODE_XTS,     /* key of 32 (AES-128) or 64 bytes */
    QCRYPTO_CIPHER_MODE_CBC,     /* key of 16, 24 or 32 bytes */
} QCryptoCipherMode;

typedef enum QCryptoIVGen {
    QCRYPTO_IVGEN_PLAIN64,
    QCRYPTO_IVGEN_PLAIN,
} QCryptoIVGen;

typedef struct QCryptoSectorCipher QCryptoSectorCipher;

/*
 * A cipher with @key (copied).  NULL with @errp set when the key length
 * does not suit @mode or GnuTLS refuses the key (XTS keys whose halves
 * are equal, for one).
 */
QCryptoSectorCipher *qcrypto_sector_cipher_new(QCryptoCipherMode mode,
                                               QCryptoIVGen ivgen,
                                               const uint8_t *key,
                                               size_t keylen, Error **errp);

/* Free @c (NULL is fine) and wipe its key. */
void qcrypto_sector_cipher_free(QCryptoSectorCipher *c);

/*
 * Encrypt (decrypt) @len bytes of @buf in place, the first 512 bytes as
 * sector @sector, the next as @sector + 1 and so on.  @len must be a
 * multiple of 16; a shorter last sector is allowed.  0 or -EIO.
 */
int qcrypto_sector_cipher_encrypt(QCryptoSectorCipher *c, uint64_t sector,
                                  uint8_t *buf, size_t len);
int qcrypto_sector_cipher_decrypt(QCryptoSectorCipher *c, uint64_t sector,
                                  uint8_t *buf, size_t len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QCryptoSectorCipher, qcrypto_sector_cipher_free)

#endif /* QCRYPTO_SECTOR_CIPHER_H */
