/*
 * Tests for the block encryption primitives: named secrets, sector
 * ciphers (IEEE 1619 XTS vectors, CBC with plain64 IVs), PBKDF2 (RFC 6070
 * vectors), the AF splitter, and LUKS1 headers (encode/decode, format,
 * unlock, wrong passwords, damaged headers).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/luks.h"
#include "crypto/secret.h"

static uint8_t *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    uint8_t *buf = g_malloc(n ? n : 1);

    for (size_t i = 0; i < n; i++) {
        buf[i] = g_ascii_xdigit_value(hex[2 * i]) << 4 |
                 g_ascii_xdigit_value(hex[2 * i + 1]);
    }
    *len = n;
    return buf;
}

static void assert_hex(const uint8_t *buf, const char *hex)
{
    size_t len;
    g_autofree uint8_t *want = unhex(hex, &len);

    g_assert_cmpmem(buf, len, want, len);
}

/* ---- secrets ----------------------------------------------------------- */

static void test_secret_add_lookup(void)
{
    Error *err = NULL;
    char *s;

    g_assert_true(spindle_secret_add("t-a", "hunter2", &error_abort));
    g_assert_false(spindle_secret_add("t-a", "other", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "already exists"));
    error_free(err);
    err = NULL;

    s = spindle_secret_lookup_string("t-a", &error_abort);
    g_assert_cmpstr(s, ==, "hunter2");
    spindle_secret_free(s);

    g_assert_true(spindle_secret_remove("t-a"));
    g_assert_null(spindle_secret_lookup_string("t-a", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "No secret with id 't-a'");
    error_free(err);
}

static void test_secret_object(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-luks-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "pw", NULL);
    g_autofree char *spec = g_strdup_printf("secret,id=t-f,file=%s", path);
    char *s;

    g_assert_true(g_file_set_contents(path, "from file", -1, NULL));
    g_assert_true(spindle_secret_add_object("secret,id=t-d,data=a,,b",
                                            &error_abort));
    g_assert_true(spindle_secret_add_object(spec, &error_abort));
    g_assert_true(spindle_secret_add_object(
        "qom-type=secret,id=t-b,data=cGFzcw==,format=base64", &error_abort));

    s = spindle_secret_lookup_string("t-d", &error_abort);
    g_assert_cmpstr(s, ==, "a,b");
    spindle_secret_free(s);
    s = spindle_secret_lookup_string("t-f", &error_abort);
    g_assert_cmpstr(s, ==, "from file");
    spindle_secret_free(s);
    s = spindle_secret_lookup_string("t-b", &error_abort);
    g_assert_cmpstr(s, ==, "pass");
    spindle_secret_free(s);
    unlink(path);
    rmdir(dir);
}

static void test_secret_object_bad(void)
{
    static const char *const bad[] = {
        "tls-creds-x509,id=x,dir=/tmp",
        "secret,data=nope",
        "secret,id=t-x",
        "secret,id=t-x,data=a,file=/b",
        "secret,id=t-x,data=a,format=hex",
        "secret,id=t-x,colour=red",
        "secret,id=t-x,file=/nonexistent/secret",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        Error *err = NULL;

        g_assert_false(spindle_secret_add_object(bad[i], &err));
        g_assert_nonnull(err);
        error_free(err);
    }
    g_assert_false(spindle_secret_remove("t-x"));
}

/* ---- PBKDF2 ------------------------------------------------------------- */

static void test_pbkdf2_rfc6070(void)
{
    static const struct {
        const char *pw;
        size_t pwlen;
        const char *salt;
        size_t saltlen;
        uint64_t iters;
        const char *hex;
    } v[] = {
        { "password", 8, "salt", 4, 1,
          "0c60c80f961f0e71f3a9b524af6012062fe037a6" },
        { "password", 8, "salt", 4, 2,
          "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957" },
        { "password", 8, "salt", 4, 4096,
          "4b007901b765489abead49d926f721d065a429c1" },
        { "passwordPASSWORDpassword", 24,
          "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096,
          "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038" },
        { "pass\0word", 9, "sa\0lt", 5, 4096,
          "56fa6aa75548099dcc37d7f03425e0c3" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        uint8_t out[32];

        g_assert_true(qcrypto_pbkdf2(QCRYPTO_HASH_SHA1,
                                     (const uint8_t *)v[i].pw, v[i].pwlen,
                                     (const uint8_t *)v[i].salt,
                                     v[i].saltlen, v[i].iters, out,
                                     strlen(v[i].hex) / 2, &error_abort));
        assert_hex(out, v[i].hex);
    }
}

static void test_pbkdf2_bad(void)
{
    Error *err = NULL;
    uint8_t out[20];

    g_assert_false(qcrypto_pbkdf2(QCRYPTO_HASH_SHA256, (const uint8_t *)"a",
                                  1, (const uint8_t *)"b", 1, 0, out,
                                  sizeof(out), &err));
    error_free(err);
}

static void test_pbkdf2_count(void)
{
    QCryptoHashAlg alg;
    uint64_t iters;

    g_assert_true(qcrypto_hash_from_name("SHA256", &alg));
    g_assert_cmpint(alg, ==, QCRYPTO_HASH_SHA256);
    g_assert_false(qcrypto_hash_from_name("md5", &alg));
    iters = qcrypto_pbkdf2_count_iters(alg, 64, 10, &error_abort);
    g_assert_cmpuint(iters, >=, 1);
}

/* ---- sector ciphers ------------------------------------------------------ */

/* IEEE 1619-2007 vectors 4 (AES-128, sector 0) and 10 (AES-256, 0xff). */
static void test_xts_vectors(void)
{
    static const struct {
        const char *key;
        uint64_t sector;
        const char *head, *tail;
    } v[] = {
        { "27182818284590452353602874713526"
          "31415926535897932384626433832795", 0,
          "27a7479befa1d476489f308cd4cfa6e2a96e4bbe3208ff25287dd3819616e89c",
          "0a282df920147beabe421ee5319d0568" },
        { "2718281828459045235360287471352662497757247093699959574966967627"
          "3141592653589793238462643383279502884197169399375105820974944592",
          0xff,
          "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b",
          "c4f36ffda9fcea70b9c6e693e148c151" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        uint8_t buf[512];
        size_t keylen;
        g_autofree uint8_t *key = unhex(v[i].key, &keylen);
        g_autoptr(QCryptoSectorCipher) c = qcrypto_sector_cipher_new(
            QCRYPTO_CIPHER_MODE_XTS, QCRYPTO_IVGEN_PLAIN64, key, keylen,
            &error_abort);

        for (int j = 0; j < 512; j++) {
            buf[j] = j;
        }
        g_assert_cmpint(qcrypto_sector_cipher_encrypt(c, v[i].sector, buf,
                                                      512), ==, 0);
        assert_hex(buf, v[i].head);
        assert_hex(buf + 512 - 16, v[i].tail);
        g_assert_cmpint(qcrypto_sector_cipher_decrypt(c, v[i].sector, buf,
                                                      512), ==, 0);
        for (int j = 0; j < 512; j++) {
            g_assert_cmpint(buf[j], ==, j & 0xff);
        }
    }
}

/* SP 800-38A's AES-128 key and plaintext, IV plain64(0x0706050403020100). */
static void test_cbc_plain64(void)
{
    size_t keylen, len;
    g_autofree uint8_t *key = unhex("2b7e151628aed2a6abf7158809cf4f3c",
                                    &keylen);
    g_autofree uint8_t *buf = unhex(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
        &len);
    g_autoptr(QCryptoSectorCipher) c = qcrypto_sector_cipher_new(
        QCRYPTO_CIPHER_MODE_CBC, QCRYPTO_IVGEN_PLAIN64, key, keylen,
        &error_abort);

    g_assert_cmpint(qcrypto_sector_cipher_encrypt(c, 0x0706050403020100ULL,
                                                  buf, len), ==, 0);
    assert_hex(buf, "d85382de04a76fe6e606fa5ee0c739f0"
                    "87e24ec76769704c77d481d7932fc2c8");
}

/* Several sectors at once equal one sector at a time. */
static void test_xts_multi_sector(void)
{
    uint8_t key[64], all[3 * 512], one[3 * 512];
    g_autoptr(QCryptoSectorCipher) c = NULL;

    for (int i = 0; i < 64; i++) {
        key[i] = i * 7 + 1;
    }
    for (size_t i = 0; i < sizeof(all); i++) {
        all[i] = one[i] = i * 13;
    }
    c = qcrypto_sector_cipher_new(QCRYPTO_CIPHER_MODE_XTS,
                                  QCRYPTO_IVGEN_PLAIN64, key, 64,
                                  &error_abort);
    g_assert_cmpint(qcrypto_sector_cipher_encrypt(c, 5, all, sizeof(all)),
                    ==, 0);
    for (int s = 0; s < 3; s++) {
        g_assert_cmpint(qcrypto_sector_cipher_encrypt(c, 5 + s,
                                                      one + s * 512, 512),
                        ==, 0);
    }
    g_assert_cmpmem(all, sizeof(all), one, sizeof(one));
    g_assert_cmpint(qcrypto_sector_cipher_encrypt(c, 0, all, 100), ==,
                    -EINVAL);
}

static void test_cipher_bad_keys(void)
{
    uint8_t key[64] = { 0 };
    Error *err = NULL;

    g_assert_null(qcrypto_sector_cipher_new(QCRYPTO_CIPHER_MODE_XTS,
                                            QCRYPTO_IVGEN_PLAIN64, key, 48,
                                            &err));
    error_free(err);
    err = NULL;
    g_assert_null(qcrypto_sector_cipher_new(QCRYPTO_CIPHER_MODE_CBC,
                                            QCRYPTO_IVGEN_PLAIN64, key, 20,
                                            &err));
    error_free(err);
}

/* ---- AF splitter ------------------------------------------------------------ */

static void test_afsplit_roundtrip(void)
{
    static const struct {
        QCryptoHashAlg alg;
        size_t blocklen;
        uint32_t stripes;
    } v[] = {
        { QCRYPTO_HASH_SHA256, 64, 4000 },
        { QCRYPTO_HASH_SHA256, 32, 4000 },
        { QCRYPTO_HASH_SHA1, 32, 3 },       /* last piece shorter */
        { QCRYPTO_HASH_SHA512, 16, 1 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        size_t n = v[i].blocklen * v[i].stripes;
        g_autofree uint8_t *split = g_malloc(n);
        uint8_t key[64], out[64];

        for (size_t j = 0; j < v[i].blocklen; j++) {
            key[j] = 0xa0 + j;
        }
        g_assert_true(qcrypto_afsplit_encode(v[i].alg, v[i].blocklen,
                                             v[i].stripes, key, split,
                                             &error_abort));
        g_assert_true(qcrypto_afsplit_decode(v[i].alg, v[i].blocklen,
                                             v[i].stripes, split, out,
                                             &error_abort));
        g_assert_cmpmem(out, v[i].blocklen, key, v[i].blocklen);
        if (v[i].stripes > 1) {
            split[0] ^= 1;       /* any damage loses the key */
            g_assert_true(qcrypto_afsplit_decode(v[i].alg, v[i].blocklen,
                                                 v[i].stripes, split, out,
                                                 &error_abort));
            g_assert_true(memcmp(out, key, v[i].blocklen) != 0);
        }
    }
}

/* ---- LUKS headers and volumes -------------------------------------------- */

static const QCryptoLUKSCreateOpts fast = { .iter_time_ms = 10 };

static uint8_t *format_fast(const QCryptoLUKSCreateOpts *o, const char *pw,
                            size_t *len, QCryptoSectorCipher **cipher)
{
    uint8_t *area = NULL;

    *cipher = qcrypto_luks_format(o, pw, &area, len, &error_abort);
    g_assert_nonnull(*cipher);
    return area;
}

static void test_luks_header_codec(void)
{
    QCryptoLUKSHeader h, back;
    uint8_t buf[4096 * 2] = { 0 };

    memset(&h, 0, sizeof(h));           /* padding too: compared below */
    h.version = 1;
    strcpy(h.cipher_name, "aes");
    strcpy(h.cipher_mode, "xts-plain64");
    strcpy(h.hash_spec, "sha256");
    h.payload_offset = 4040;
    h.key_bytes = 64;
    h.mk_digest_iterations = 1234;
    strcpy(h.uuid, "12345678-1234-1234-1234-123456789abc");
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        h.slots[i].active = QCRYPTO_LUKS_SLOT_INACTIVE;
        h.slots[i].key_offset = 8 + i;
        h.slots[i].stripes = QCRYPTO_LUKS_STRIPES;
    }
    h.mk_digest[3] = 0x33;
    h.mk_digest_salt[31] = 0x44;
    qcrypto_luks_header_encode(&h, buf);
    g_assert_cmpmem(buf, 6, "LUKS\xba\xbe", 6);
    g_assert_cmpint(buf[108], ==, 0);     /* key_bytes, big-endian */
    g_assert_cmpint(buf[111], ==, 64);
    g_assert_true(qcrypto_luks_header_decode(buf, sizeof(buf), &back,
                                             &error_abort));
    g_assert_cmpmem(&h, sizeof(h), &back, sizeof(back));
}

static void test_luks_format_unlock(void)
{
    QCryptoSectorCipher *made, *opened;
    QCryptoLUKSHeader h;
    uint8_t a[1024], b[1024];
    size_t len;
    g_autofree uint8_t *area = format_fast(&fast, "s3cret", &len, &made);

    /* QEMU's layout for a 512-bit key: slots 504 sectors apart. */
    g_assert_cmpuint(len, ==, 4040 * 512);
    g_assert_true(qcrypto_luks_header_decode(area, len, &h, &error_abort));
    g_assert_cmpstr(h.cipher_name, ==, "aes");
    g_assert_cmpstr(h.cipher_mode, ==, "xts-plain64");
    g_assert_cmpstr(h.hash_spec, ==, "sha256");
    g_assert_cmpuint(h.key_bytes, ==, 64);
    g_assert_cmpuint(h.payload_offset, ==, 4040);
    g_assert_cmpuint(h.mk_digest_iterations, >=, QCRYPTO_LUKS_MIN_ITERS);
    g_assert_cmpuint(strlen(h.uuid), ==, 36);
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        g_assert_cmpuint(h.slots[i].active, ==,
                         i ? QCRYPTO_LUKS_SLOT_INACTIVE
                           : QCRYPTO_LUKS_SLOT_ACTIVE);
        g_assert_cmpuint(h.slots[i].key_offset, ==, 8 + i * 504);
    }
    g_assert_cmpuint(h.slots[0].iterations, >=, QCRYPTO_LUKS_MIN_ITERS);

    opened = qcrypto_luks_unlock(area, len, "s3cret", &error_abort);
    g_assert_nonnull(opened);
    memset(a, 0x5c, sizeof(a));
    memcpy(b, a, sizeof(b));
    g_assert_cmpint(qcrypto_sector_cipher_encrypt(made, 77, a, sizeof(a)),
                    ==, 0);
    g_assert_cmpint(qcrypto_sector_cipher_decrypt(opened, 77, a, sizeof(a)),
                    ==, 0);
    g_assert_cmpmem(a, sizeof(a), b, sizeof(b));
    qcrypto_sector_cipher_free(made);
    qcrypto_sector_cipher_free(opened);
}

static void test_luks_wrong_password(void)
{
    QCryptoSectorCipher *made;
    Error *err = NULL;
    size_t len;
    g_autofree uint8_t *area = format_fast(&fast, "right", &len, &made);

    qcrypto_sector_cipher_free(made);
    g_assert_null(qcrypto_luks_unlock(area, len, "wrong", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Invalid password, cannot unlock any keyslot");
    error_free(err);
}

static void test_luks_variants(void)
{
    static const QCryptoLUKSCreateOpts v[] = {
        { .cipher_alg = "aes-128", .iter_time_ms = 10 },
        { .cipher_mode = "cbc", .hash_alg = "sha1", .iter_time_ms = 10 },
        { .hash_alg = "sha512", .iter_time_ms = 10 },
    };
    static const uint32_t key_bytes[] = { 32, 32, 64 };

    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        QCryptoSectorCipher *made, *opened;
        QCryptoLUKSHeader h;
        size_t len;
        g_autofree uint8_t *area = format_fast(&v[i], "pw", &len, &made);

        g_assert_true(qcrypto_luks_header_decode(area, len, &h,
                                                 &error_abort));
        g_assert_cmpuint(h.key_bytes, ==, key_bytes[i]);
        opened = qcrypto_luks_unlock(area, len, "pw", &error_abort);
        g_assert_nonnull(opened);
        qcrypto_sector_cipher_free(made);
        qcrypto_sector_cipher_free(opened);
    }
}

static void test_luks_bad_opts(void)
{
    static const QCryptoLUKSCreateOpts v[] = {
        { .cipher_alg = "twofish-256" },
        { .cipher_mode = "ecb" },
        { .hash_alg = "md5" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        uint8_t *area = NULL;
        size_t len = 0;
        Error *err = NULL;

        g_assert_null(qcrypto_luks_format(&v[i], "pw", &area, &len, &err));
        g_assert_nonnull(err);
        g_assert_null(area);
        error_free(err);
    }
}

static void test_luks_bad_headers(void)
{
    static const struct {
        size_t off;
        const char *bytes;
        size_t n;
        const char *msg;
    } v[] = {
        { 0, "XUKS", 4, "bad magic" },
        { 6, "\0\2", 2, "version 2" },
        { 8, "serpent", 8, "cipher 'serpent'" },
        { 40, "ecb\0", 4, "mode 'ecb'" },
        { 40, "xts-plain64:md5\0", 16, "mode 'xts-plain64:md5'" },
        { 40, "xts-plain64sha256", 18, "mode 'xts-plain64sha256'" },
        { 72, "md5\0\0\0", 6, "hash 'md5'" },
        { 108, "\0\0\0\x30", 4, "key length 48" },
        { 208, "\0\0\0\x01", 4, "invalid state" },
        { 208 + 40, "\0\x10\0\0", 4, "outside the header area" },
    };
    QCryptoSectorCipher *made;
    size_t len;
    g_autofree uint8_t *area = format_fast(&fast, "pw", &len, &made);

    qcrypto_sector_cipher_free(made);
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        g_autofree uint8_t *copy = g_memdup2(area, len);
        QCryptoLUKSHeader h;
        Error *err = NULL;

        memcpy(copy + v[i].off, v[i].bytes, v[i].n);
        g_assert_false(qcrypto_luks_header_decode(copy, len, &h, &err));
        g_assert_nonnull(strstr(error_get_pretty(err), v[i].msg));
        error_free(err);
        err = NULL;
        g_assert_null(qcrypto_luks_unlock(copy, len, "pw", &err));
        error_free(err);
    }
}

/*
 * A mode naming an IV hash ("xts-plain64:sha256", as qemu writes it for
 * encrypt.ivgen-hash-alg) unlocks as the plain mode: plain64 IVs use no
 * hash.
 */
static void test_luks_ivgen_hash(void)
{
    QCryptoSectorCipher *made, *got;
    size_t len;
    g_autofree uint8_t *area = format_fast(&fast, "pw", &len, &made);
    QCryptoLUKSHeader h;

    memcpy(area + 40, "xts-plain64:sha256", 19);
    g_assert_true(qcrypto_luks_header_decode(area, len, &h, &error_abort));
    g_assert_cmpstr(h.cipher_mode, ==, "xts-plain64:sha256");
    got = qcrypto_luks_unlock(area, len, "pw", &error_abort);
    g_assert_nonnull(got);
    qcrypto_sector_cipher_free(got);
    qcrypto_sector_cipher_free(made);
}

/* The info of a fresh default volume: QEMU's names, offsets in bytes. */
static void test_luks_info_default(void)
{
    QCryptoSectorCipher *made;
    QCryptoLUKSHeader h;
    QCryptoLUKSInfo info;
    size_t len;
    g_autofree uint8_t *area = format_fast(&fast, "pw", &len, &made);

    qcrypto_sector_cipher_free(made);
    g_assert_true(qcrypto_luks_header_decode(area, len, &h, &error_abort));
    g_assert_true(qcrypto_luks_get_info(area, len, &info, &error_abort));
    g_assert_cmpstr(info.cipher_alg, ==, "aes-256");
    g_assert_cmpstr(info.cipher_mode, ==, "xts");
    g_assert_cmpstr(info.ivgen_alg, ==, "plain64");
    g_assert_cmpstr(info.hash_alg, ==, "sha256");
    g_assert_cmpstr(info.uuid, ==, h.uuid);
    g_assert_cmpuint(info.payload_offset, ==, 4040 * 512);
    g_assert_cmpuint(info.master_key_iters, ==, h.mk_digest_iterations);
    g_assert_true(info.slots[0].active);
    g_assert_cmpuint(info.slots[0].iters, ==, h.slots[0].iterations);
    g_assert_cmpuint(info.slots[0].stripes, ==, QCRYPTO_LUKS_STRIPES);
    for (int i = 0; i < QCRYPTO_LUKS_NUM_SLOTS; i++) {
        g_assert_cmpuint(info.slots[i].key_offset, ==, (8 + i * 504) * 512);
    }
    /* Inactive slots report neither iterations nor stripes. */
    g_assert_false(info.slots[1].active);
    g_assert_cmpuint(info.slots[1].iters, ==, 0);
    g_assert_cmpuint(info.slots[1].stripes, ==, 0);
}

/* Key sizes, modes and IV generators under QEMU's names; bad headers fail. */
static void test_luks_info_variants(void)
{
    static const QCryptoLUKSCreateOpts opts = {
        .cipher_alg = "aes-128", .cipher_mode = "cbc", .hash_alg = "sha512",
        .iter_time_ms = 10,
    };
    QCryptoSectorCipher *made;
    QCryptoLUKSInfo info;
    Error *err = NULL;
    size_t len;
    g_autofree uint8_t *area = format_fast(&opts, "pw", &len, &made);

    qcrypto_sector_cipher_free(made);
    g_assert_true(qcrypto_luks_get_info(area, len, &info, &error_abort));
    g_assert_cmpstr(info.cipher_alg, ==, "aes-128");
    g_assert_cmpstr(info.cipher_mode, ==, "cbc");
    g_assert_cmpstr(info.hash_alg, ==, "sha512");

    memcpy(area + 40, "cbc-plain\0", 10);
    g_assert_true(qcrypto_luks_get_info(area, len, &info, &error_abort));
    g_assert_cmpstr(info.ivgen_alg, ==, "plain");

    memcpy(area, "XUKS", 4);
    g_assert_false(qcrypto_luks_get_info(area, len, &info, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "bad magic"));
    error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/crypto/secret/add-lookup", test_secret_add_lookup);
    g_test_add_func("/crypto/secret/object", test_secret_object);
    g_test_add_func("/crypto/secret/object-bad", test_secret_object_bad);
    g_test_add_func("/crypto/pbkdf2/rfc6070", test_pbkdf2_rfc6070);
    g_test_add_func("/crypto/pbkdf2/bad", test_pbkdf2_bad);
    g_test_add_func("/crypto/pbkdf2/count-iters", test_pbkdf2_count);
    g_test_add_func("/crypto/cipher/xts-ieee1619", test_xts_vectors);
    g_test_add_func("/crypto/cipher/cbc-plain64", test_cbc_plain64);
    g_test_add_func("/crypto/cipher/xts-multi-sector",
                    test_xts_multi_sector);
    g_test_add_func("/crypto/cipher/bad-keys", test_cipher_bad_keys);
    g_test_add_func("/crypto/afsplit/roundtrip", test_afsplit_roundtrip);
    g_test_add_func("/crypto/luks/header-codec", test_luks_header_codec);
    g_test_add_func("/crypto/luks/format-unlock", test_luks_format_unlock);
    g_test_add_func("/crypto/luks/wrong-password", test_luks_wrong_password);
    g_test_add_func("/crypto/luks/variants", test_luks_variants);
    g_test_add_func("/crypto/luks/bad-options", test_luks_bad_opts);
    g_test_add_func("/crypto/luks/bad-headers", test_luks_bad_headers);
    g_test_add_func("/crypto/luks/ivgen-hash", test_luks_ivgen_hash);
    g_test_add_func("/crypto/luks/info/default", test_luks_info_default);
    g_test_add_func("/crypto/luks/info/variants", test_luks_info_variants);
    return g_test_run();
}
