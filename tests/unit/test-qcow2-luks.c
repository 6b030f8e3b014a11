/*
 * Tests for encrypted qcow2 images through the whole block layer (qcow2
 * over file): LUKS creation, writes and reads (unaligned, crossing
 * clusters, copy-on-write over a backing file, zero clusters), reopening
 * with encrypt.key-secret, a chain's keys as backing.encrypt.key-secret,
 * the key-less state and bdrv_set_key, wrong passwords, bad creation
 * options and damaged headers, and reading a legacy AES image read-only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include "block/block.h"
#include "block/block_int.h"
#include "crypto/secret.h"
#include "crypto/sector-cipher.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "image-test-helpers.h"

#define KiB 1024
#define MiB (1024 * 1024)
#define LUKS_OPTS "encrypt.format=luks,encrypt.key-secret=sec0," \
                  "encrypt.iter-time=10"


/* ---- helpers ---------------------------------------------------------- */

/* Open with the driver option encrypt.key-secret=@secret (NULL: none). */
static BlockDriverState *open_secret(const char *path, int flags,
                                     const char *secret, Error **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs = bdrv_new("");

    if (secret) {
        g_hash_table_insert(opts, g_strdup("encrypt.key-secret"),
                            g_strdup(secret));
    }
    if (bdrv_open_options(bs, path, opts, flags, bdrv_find_format("qcow2"),
                          errp) < 0) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static char *make_luks(const char *name, int64_t size, const char *extra)
{
    char *path = image_path(name);
    g_autofree char *opts = g_strdup_printf("%s%s%s", LUKS_OPTS,
                                            extra ? "," : "",
                                            extra ? extra : "");

    g_assert_cmpint(create_qcow2(path, size, opts, &error_abort), ==, 0);
    return path;
}

static void write_pattern(BlockDriverState *bs, int64_t off, size_t len,
                          uint8_t value)
{
    g_autofree uint8_t *buf = g_malloc(len);

    memset(buf, value, len);
    g_assert_cmpint(bdrv_pwrite(bs, off, buf, len), ==, len);
}

static void check_pattern(BlockDriverState *bs, int64_t off, size_t len,
                          uint8_t value)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpint(bdrv_pread(bs, off, buf, len), ==, len);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != value) {
            g_error("byte %" PRId64 " is 0x%02x, expected 0x%02x",
                    off + (int64_t)i, buf[i], value);
        }
    }
}

/* Does the raw file hold @len bytes of @value anywhere (plaintext)? */
static bool file_has_run(const char *path, uint8_t value, size_t len)
{
    g_autofree char *data = NULL;
    gsize size, run = 0;

    g_assert_true(g_file_get_contents(path, &data, &size, NULL));
    for (gsize i = 0; i < size; i++) {
        run = (uint8_t)data[i] == value ? run + 1 : 0;
        if (run >= len) {
            return true;
        }
    }
    return false;
}

static void patch_file(const char *path, off_t off, const void *data,
                       size_t len)
{
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, data, len, off), ==, len);
    close(fd);
}

static void assert_error(Error *err, const char *contains)
{
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), contains)) {
        g_error("message '%s' lacks '%s'", error_get_pretty(err), contains);
    }
    error_free(err);
}

/* ---- LUKS ------------------------------------------------------------- */

static void test_rw_reopen(const void *opaque)
{
    const char *cluster_opt = opaque;
    g_autofree char *path = make_luks("rw.qcow2", 8 * MiB, cluster_opt);
    BlockDriverState *bs = open_secret(path, BDRV_O_RDWR, "sec0",
                                       &error_abort);

    g_assert_true(bdrv_is_encrypted(bs));
    g_assert_false(bdrv_key_required(bs));
    write_pattern(bs, 0, 64 * KiB, 0x5a);
    write_pattern(bs, 100 * KiB, 3 * KiB, 0x33);       /* partial cluster */
    write_pattern(bs, 250 * KiB, 20 * KiB, 0x44);      /* crosses clusters */
    write_pattern(bs, 101 * KiB, 512, 0x66);           /* in place */
    check_pattern(bs, 0, 64 * KiB, 0x5a);
    check_pattern(bs, 100 * KiB, 1 * KiB, 0x33);
    check_pattern(bs, 101 * KiB, 512, 0x66);
    check_pattern(bs, 101 * KiB + 512, 1536, 0x33);
    check_pattern(bs, 99 * KiB, 1 * KiB, 0);            /* COW head */
    check_pattern(bs, 103 * KiB, 1 * KiB, 0);           /* COW tail */
    check_pattern(bs, 250 * KiB, 20 * KiB, 0x44);
    check_pattern(bs, 4 * MiB, 64 * KiB, 0);            /* unallocated */
    bdrv_unref(bs);

    g_assert_false(file_has_run(path, 0x5a, 4 * KiB));
    g_assert_false(file_has_run(path, 0x44, 4 * KiB));

    bs = open_secret(path, 0, "sec0", &error_abort);
    check_pattern(bs, 0, 64 * KiB, 0x5a);
    check_pattern(bs, 100 * KiB, 1 * KiB, 0x33);
    check_pattern(bs, 101 * KiB, 512, 0x66);
    check_pattern(bs, 250 * KiB, 20 * KiB, 0x44);
    bdrv_unref(bs);
}

static void test_no_key_set_key(void)
{
    g_autofree char *path = make_luks("nokey.qcow2", 4 * MiB, NULL);
    BlockDriverState *bs = open_secret(path, BDRV_O_RDWR, "sec0",
                                       &error_abort);
    uint8_t buf[512];

    write_pattern(bs, 8 * KiB, 4 * KiB, 0x77);
    bdrv_unref(bs);

    bs = open_secret(path, BDRV_O_RDWR, NULL, &error_abort);
    g_assert_true(bdrv_is_encrypted(bs));
    g_assert_true(bdrv_key_required(bs));
    g_assert_cmpint(bdrv_pread(bs, 8 * KiB, buf, sizeof(buf)), ==, -ENOKEY);
    g_assert_cmpint(bdrv_pread(bs, 1 * MiB, buf, sizeof(buf)), ==, -ENOKEY);
    g_assert_cmpint(bdrv_pwrite(bs, 0, buf, sizeof(buf)), ==, -ENOKEY);

    g_assert_cmpint(bdrv_set_key(bs, "not it"), ==, -EINVAL);
    g_assert_true(bdrv_key_required(bs));
    g_assert_cmpint(bdrv_set_key(bs, "password0"), ==, 0);
    g_assert_false(bdrv_key_required(bs));
    check_pattern(bs, 8 * KiB, 4 * KiB, 0x77);
    write_pattern(bs, 16 * KiB, 4 * KiB, 0x78);
    check_pattern(bs, 16 * KiB, 4 * KiB, 0x78);

    /* A wrong key later drops the key again. */
    g_assert_cmpint(bdrv_set_key(bs, "wrong"), ==, -EINVAL);
    g_assert_true(bdrv_key_required(bs));
    g_assert_cmpint(bdrv_pread(bs, 8 * KiB, buf, sizeof(buf)), ==, -ENOKEY);
    bdrv_unref(bs);
}

static void test_wrong_password(void)
{
    g_autofree char *path = make_luks("wrong.qcow2", 4 * MiB, NULL);
    Error *err = NULL;

    g_assert_null(open_secret(path, 0, "sec1", &err));
    assert_error(err, "Invalid password, cannot unlock any keyslot");
    err = NULL;
    g_assert_null(open_secret(path, 0, "nosuch", &err));
    assert_error(err, "No secret with id 'nosuch'");
}

static void test_backing_cow(void)
{
    g_autofree char *base = image_path("base.qcow2");
    g_autofree char *top = NULL;
    g_autofree char *extra = NULL;
    BlockDriverState *bs;

    g_assert_cmpint(create_qcow2(base, 4 * MiB, "", &error_abort), ==, 0);
    bs = open_secret(base, BDRV_O_RDWR, NULL, &error_abort);
    write_pattern(bs, 0, 256 * KiB, 0x11);
    bdrv_unref(bs);

    extra = g_strdup_printf("backing_file=%s,backing_fmt=qcow2", base);
    top = make_luks("top.qcow2", 4 * MiB, extra);
    bs = open_secret(top, BDRV_O_RDWR, "sec0", &error_abort);
    write_pattern(bs, 70 * KiB, 2 * KiB, 0x22);
    check_pattern(bs, 64 * KiB, 6 * KiB, 0x11);
    check_pattern(bs, 70 * KiB, 2 * KiB, 0x22);
    check_pattern(bs, 72 * KiB, 56 * KiB, 0x11);
    bdrv_unref(bs);

    bs = open_secret(top, 0, "sec0", &error_abort);
    check_pattern(bs, 0, 70 * KiB, 0x11);
    check_pattern(bs, 70 * KiB, 2 * KiB, 0x22);
    check_pattern(bs, 72 * KiB, 184 * KiB, 0x11);
    bdrv_unref(bs);
}

/* Open with driver options given as "key", "value", ..., NULL. */
static BlockDriverState *open_with(const char *path, Error **errp, ...)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    BlockDriverState *bs = bdrv_new("");
    const char *key;
    va_list ap;

    va_start(ap, errp);
    while ((key = va_arg(ap, const char *))) {
        g_hash_table_insert(opts, g_strdup(key),
                            g_strdup(va_arg(ap, const char *)));
    }
    va_end(ap);
    if (bdrv_open_options(bs, path, opts, 0, bdrv_find_format("qcow2"),
                          errp) < 0) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

/* Each layer of an encrypted chain gets its key from "backing.*". */
static void test_backing_keys(void)
{
    g_autofree char *base = make_luks("kbase.qcow2", 4 * MiB,
                                      "encrypt.key-secret=sec1");
    g_autofree char *extra = g_strdup_printf("backing_file=%s,"
                                             "backing_fmt=qcow2", base);
    g_autofree char *top = make_luks("ktop.qcow2", 4 * MiB, extra);
    BlockDriverState *bs = open_secret(base, BDRV_O_RDWR, "sec1",
                                       &error_abort);
    uint8_t buf[512];
    Error *err = NULL;

    write_pattern(bs, 0, 128 * KiB, 0x41);
    bdrv_unref(bs);

    bs = open_with(top, &error_abort, "encrypt.key-secret", "sec0",
                   "backing.encrypt.key-secret", "sec1", NULL);
    g_assert_false(bdrv_key_required(bs->backing_hd));
    check_pattern(bs, 0, 128 * KiB, 0x41);
    bdrv_unref(bs);

    /* Without it the backing layer stays locked. */
    bs = open_secret(top, 0, "sec0", &error_abort);
    g_assert_true(bdrv_key_required(bs->backing_hd));
    g_assert_cmpint(bdrv_pread(bs, 0, buf, sizeof(buf)), ==, -ENOKEY);
    bdrv_unref(bs);

    g_assert_null(open_with(top, &err, "encrypt.key-secret", "sec0",
                            "backing.encrypt.key-secret", "sec0", NULL));
    assert_error(err, "Invalid password, cannot unlock any keyslot");
    err = NULL;
    g_assert_null(open_with(top, &err, "backing.nosuch", "1", NULL));
    assert_error(err, "does not support the option 'nosuch'");
    err = NULL;
    g_assert_null(open_with(base, &err, "encrypt.key-secret", "sec1",
                            "backing.encrypt.key-secret", "sec1", NULL));
    assert_error(err, "has no backing file");
}

static void test_zero_discard(void)
{
    g_autofree char *path = make_luks("zero.qcow2", 4 * MiB, NULL);
    BlockDriverState *bs = open_secret(path, BDRV_O_RDWR, "sec0",
                                       &error_abort);

    write_pattern(bs, 0, 512 * KiB, 0x99);
    g_assert_cmpint(bdrv_write_zeroes(bs, 64 * KiB / 512, 128 * KiB / 512),
                    ==, 0);
    g_assert_cmpint(bdrv_write_zeroes(bs, 300 * KiB / 512, 1), ==, 0);
    g_assert_cmpint(bdrv_discard(bs, 384 * KiB / 512, 128 * KiB / 512), ==,
                    0);
    check_pattern(bs, 0, 64 * KiB, 0x99);
    check_pattern(bs, 64 * KiB, 128 * KiB, 0);
    check_pattern(bs, 192 * KiB, 108 * KiB, 0x99);
    check_pattern(bs, 300 * KiB, 512, 0);
    check_pattern(bs, 300 * KiB + 512, 84 * KiB - 512, 0x99);
    check_pattern(bs, 384 * KiB, 128 * KiB, 0);
    bdrv_unref(bs);
}

static void test_create_bad(void)
{
    static const struct {
        const char *opts;
        const char *msg;
    } v[] = {
        { "encryption=on", "legacy AES" },
        { "encrypt.format=aes,encrypt.key-secret=sec0", "legacy AES" },
        { "encrypt.format=luks", "needs encrypt.key-secret" },
        { "encrypt.key-secret=sec0", "needs encrypt.format=luks" },
        { "encrypt.format=luks,encrypt.key-secret=nosuch", "No secret" },
        { "encrypt.format=rot13,encrypt.key-secret=sec0", "'rot13'" },
        { LUKS_OPTS ",preallocation=metadata", "preallocated" },
        { LUKS_OPTS ",encrypt.cipher-alg=des", "'des'" },
        { LUKS_OPTS ",encrypt.hash-alg=md5", "'md5'" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        g_autofree char *path = image_path("bad.qcow2");
        Error *err = NULL;

        g_assert_cmpint(create_qcow2(path, MiB, v[i].opts, &err), <, 0);
        assert_error(err, v[i].msg);
    }
}

static void test_options_on_plain_image(void)
{
    g_autofree char *path = image_path("plain.qcow2");
    Error *err = NULL;

    g_assert_cmpint(create_qcow2(path, MiB, "", &error_abort), ==, 0);
    g_assert_null(open_secret(path, 0, "sec0", &err));
    assert_error(err, "not encrypted");
}

static void test_bad_header_extension(void)
{
    g_autofree char *path = make_luks("ext.qcow2", MiB, NULL);
    uint8_t ext[8];
    uint64_t misaligned = GUINT64_TO_BE(65536 + 512);
    Error *err = NULL;
    int fd = open(path, O_RDONLY);

    /* Ours is the first extension after the 112-byte header. */
    g_assert_cmpint(pread(fd, ext, sizeof(ext), 112), ==, sizeof(ext));
    close(fd);
    g_assert_cmpint(ext[0], ==, 0x05);
    g_assert_cmpint(ext[3], ==, 0x77);
    patch_file(path, 120, &misaligned, 8);
    g_assert_null(open_secret(path, 0, "sec0", &err));
    assert_error(err, "LUKS header area");
}

/* ---- legacy AES ------------------------------------------------------- */

/*
 * An AES image made by hand: a plain image whose data we know, with the
 * header switched to crypt_method 1; what we read back must be that data
 * decrypted as QEMU's AES method would (key "password0" zero padded to
 * 16 bytes, AES-128-CBC, IV from the guest sector).
 */
static void test_legacy_aes(void)
{
    g_autofree char *path = image_path("aes.qcow2");
    g_autofree uint8_t *data = g_malloc(64 * KiB);
    g_autofree uint8_t *got = g_malloc(64 * KiB);
    uint8_t key[16] = "password0";
    uint32_t aes = GUINT32_TO_BE(1);
    g_autoptr(QCryptoSectorCipher) c = NULL;
    BlockDriverState *bs;

    for (size_t i = 0; i < 64 * KiB; i++) {
        data[i] = i * 31 + (i >> 9);
    }
    g_assert_cmpint(create_qcow2(path, MiB, "", &error_abort), ==, 0);
    bs = open_secret(path, BDRV_O_RDWR, NULL, &error_abort);
    g_assert_cmpint(bdrv_pwrite(bs, 128 * KiB, data, 64 * KiB), ==,
                    64 * KiB);
    bdrv_unref(bs);
    patch_file(path, 32, &aes, 4);

    bs = open_secret(path, BDRV_O_RDWR, NULL, &error_abort);
    g_assert_true(bdrv_is_read_only(bs));
    g_assert_true(bdrv_key_required(bs));
    g_assert_cmpint(bdrv_pread(bs, 128 * KiB, got, 512), ==, -ENOKEY);
    g_assert_cmpint(bdrv_set_key(bs, "password0"), ==, 0);
    g_assert_cmpint(bdrv_pread(bs, 128 * KiB, got, 64 * KiB), ==, 64 * KiB);
    g_assert_cmpint(bdrv_pwrite(bs, 0, got, 512), <, 0);
    bdrv_unref(bs);

    c = qcrypto_sector_cipher_new(QCRYPTO_CIPHER_MODE_CBC,
                                  QCRYPTO_IVGEN_PLAIN64, key, sizeof(key),
                                  &error_abort);
    g_assert_cmpint(qcrypto_sector_cipher_decrypt(c, 128 * KiB / 512, data,
                                                  64 * KiB), ==, 0);
    g_assert_cmpmem(got, 64 * KiB, data, 64 * KiB);

    /* The secret option works the same way. */
    bs = open_secret(path, 0, "sec0", &error_abort);
    g_assert_cmpint(bdrv_pread(bs, 128 * KiB, got, 64 * KiB), ==, 64 * KiB);
    g_assert_cmpmem(got, 64 * KiB, data, 64 * KiB);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    g_autofree char *templ = g_build_filename(g_get_tmp_dir(),
                                              "spindle-q2luks-XXXXXX", NULL);
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    test_dir = g_mkdtemp(templ);
    g_assert_nonnull(test_dir);
    g_assert_true(spindle_secret_add("sec0", "password0", &error_abort));
    g_assert_true(spindle_secret_add("sec1", "password1", &error_abort));

    g_test_add_data_func("/qcow2/luks/rw/64k", "cluster_size=64k",
                         test_rw_reopen);
    g_test_add_data_func("/qcow2/luks/rw/4k", "cluster_size=4k",
                         test_rw_reopen);
    g_test_add_data_func("/qcow2/luks/rw/aes-128-v2",
                         "encrypt.cipher-alg=aes-128,compat=0.10",
                         test_rw_reopen);
    g_test_add_func("/qcow2/luks/set-key", test_no_key_set_key);
    g_test_add_func("/qcow2/luks/wrong-password", test_wrong_password);
    g_test_add_func("/qcow2/luks/backing-cow", test_backing_cow);
    g_test_add_func("/qcow2/luks/backing-keys", test_backing_keys);
    g_test_add_func("/qcow2/luks/zero-discard", test_zero_discard);
    g_test_add_func("/qcow2/luks/create-bad", test_create_bad);
    g_test_add_func("/qcow2/luks/options-on-plain",
                    test_options_on_plain_image);
    g_test_add_func("/qcow2/luks/bad-extension", test_bad_header_extension);
    g_test_add_func("/qcow2/aes/read-only", test_legacy_aes);

    ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", test_dir);
    if (system(cmd) != 0) {
        g_printerr("could not remove %s\n", test_dir);
    }
    return ret;
}
