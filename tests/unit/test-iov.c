/*
 * Tests for qemu/iov.h: iovec helpers, QEMUIOVector and buffer_is_zero.
 *
 * Most tests build a vector whose elements are separate heap blocks of
 * awkward sizes (including empty ones), so that ASan catches any access
 * outside an element, and compare every result with a flat reference copy.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qemu/iov.h"

/* Element sizes used by most tests: empties, odd sizes, one large. */
static const size_t lens[] = { 0, 1, 7, 0, 16, 3, 64, 1, 0, 33 };
#define NLENS ARRAY_SIZE(lens)
#define TOTAL (1 + 7 + 16 + 3 + 64 + 1 + 33)

/* A vector of separately allocated elements plus its flat contents. */
typedef struct TestVec {
    struct iovec iov[NLENS];
    unsigned int cnt;
    unsigned char flat[TOTAL];
} TestVec;

/* Fill every element with a distinct byte pattern, mirrored in flat[]. */
static void testvec_init(TestVec *v)
{
    size_t pos = 0;
    unsigned int i;

    v->cnt = NLENS;
    for (i = 0; i < NLENS; i++) {
        v->iov[i].iov_base = lens[i] ? g_malloc(lens[i]) : NULL;
        v->iov[i].iov_len = lens[i];
    }
    for (pos = 0; pos < TOTAL; pos++) {
        v->flat[pos] = (unsigned char)(pos * 7 + 1);
    }
    g_assert_cmpuint(iov_from_buf(v->iov, v->cnt, 0, v->flat, TOTAL),
                     ==, TOTAL);
}

static void testvec_destroy(TestVec *v)
{
    unsigned int i;

    for (i = 0; i < NLENS; i++) {
        g_free(v->iov[i].iov_base);
    }
}

/* Read the whole vector back into a flat buffer. */
static void testvec_read(TestVec *v, unsigned char *out)
{
    g_assert_cmpuint(iov_to_buf(v->iov, v->cnt, 0, out, TOTAL), ==, TOTAL);
}

/* ---- buffer_is_zero ----------------------------------------------------- */

static void test_buffer_is_zero_all_shapes(void)
{
    enum { MAXLEN = 200, MAXALIGN = 9 };
    unsigned char *buf = g_malloc0(MAXLEN + MAXALIGN);
    size_t len, align, pos;

    for (align = 0; align < MAXALIGN; align++) {
        for (len = 0; len <= MAXLEN; len++) {
            unsigned char *p = buf + align;

            g_assert_true(buffer_is_zero(p, len));
            for (pos = 0; pos < len; pos++) {
                p[pos] = 0x10;
                g_assert_false(buffer_is_zero(p, len));
                p[pos] = 0;
            }
        }
    }
    g_free(buf);
}

static void test_buffer_is_zero_outside_ignored(void)
{
    unsigned char buf[80];

    /* Non-zero bytes just outside the range do not count. */
    memset(buf, 0xff, sizeof(buf));
    memset(buf + 3, 0, 70);
    g_assert_true(buffer_is_zero(buf + 3, 70));
    g_assert_false(buffer_is_zero(buf + 2, 71));
    g_assert_false(buffer_is_zero(buf + 3, 71));
}

static void test_buffer_is_zero_large(void)
{
    size_t len = 1024 * 1024 + 5;
    unsigned char *buf = g_malloc0(len);

    g_assert_true(buffer_is_zero(buf, len));
    buf[len / 2 + 3] = 1;
    g_assert_false(buffer_is_zero(buf, len));
    buf[len / 2 + 3] = 0;
    buf[len - 1] = 0x80;
    g_assert_false(buffer_is_zero(buf, len));
    g_free(buf);
}

/* ---- plain iovec helpers ------------------------------------------------ */

static void test_iov_size(void)
{
    TestVec v;

    testvec_init(&v);
    g_assert_cmpuint(iov_size(v.iov, v.cnt), ==, TOTAL);
    g_assert_cmpuint(iov_size(v.iov, 0), ==, 0);
    g_assert_cmpuint(iov_size(v.iov, 1), ==, 0);
    g_assert_cmpuint(iov_size(v.iov, 3), ==, 8);
    testvec_destroy(&v);
}

static void test_iov_to_buf_every_range(void)
{
    TestVec v;
    unsigned char out[TOTAL + 8];
    size_t off, n, want;

    testvec_init(&v);
    for (off = 0; off <= TOTAL; off++) {
        for (n = 0; n <= TOTAL + 2 - off; n++) {
            memset(out, 0xee, sizeof(out));
            want = MIN(n, TOTAL - off);
            g_assert_cmpuint(iov_to_buf(v.iov, v.cnt, off, out, n),
                             ==, want);
            g_assert_cmpmem(out, want, v.flat + off, want);
            g_assert_cmpint(out[want], ==, 0xee);   /* no overrun */
        }
    }
    testvec_destroy(&v);
}

static void test_iov_from_buf_every_range(void)
{
    TestVec v;
    unsigned char src[TOTAL], expect[TOTAL], got[TOTAL];
    size_t off, n, want;

    memset(src, 0xa5, sizeof(src));
    testvec_init(&v);
    for (off = 0; off <= TOTAL; off++) {
        for (n = 0; n <= TOTAL + 2 - off; n++) {
            iov_from_buf(v.iov, v.cnt, 0, v.flat, TOTAL);   /* restore */
            want = MIN(n, TOTAL - off);
            memcpy(expect, v.flat, TOTAL);
            memcpy(expect + off, src, want);
            g_assert_cmpuint(iov_from_buf(v.iov, v.cnt, off, src, n),
                             ==, want);
            testvec_read(&v, got);
            g_assert_cmpmem(got, TOTAL, expect, TOTAL);
        }
    }
    testvec_destroy(&v);
}

static void test_iov_memset(void)
{
    TestVec v;
    unsigned char expect[TOTAL], got[TOTAL];

    testvec_init(&v);
    memcpy(expect, v.flat, TOTAL);
    memset(expect + 5, 0x3c, 50);
    g_assert_cmpuint(iov_memset(v.iov, v.cnt, 5, 0x3c, 50), ==, 50);
    testvec_read(&v, got);
    g_assert_cmpmem(got, TOTAL, expect, TOTAL);

    /* Past the end is cut short; at the very end nothing happens. */
    memset(expect + TOTAL - 4, 0, 4);
    g_assert_cmpuint(iov_memset(v.iov, v.cnt, TOTAL - 4, 0, 100), ==, 4);
    g_assert_cmpuint(iov_memset(v.iov, v.cnt, TOTAL, 0, 100), ==, 0);
    testvec_read(&v, got);
    g_assert_cmpmem(got, TOTAL, expect, TOTAL);
    testvec_destroy(&v);
}

static void test_iov_offset_past_end_aborts(void)
{
    if (g_test_subprocess()) {
        TestVec v;
        unsigned char out[4];

        testvec_init(&v);
        iov_to_buf(v.iov, v.cnt, TOTAL + 1, out, 1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*offset == 0 || i < iov_cnt*");
}

static void test_iov_copy(void)
{
    TestVec v;
    struct iovec dst[NLENS];
    unsigned char got[TOTAL];
    unsigned int n;
    size_t off, bytes;

    testvec_init(&v);
    for (off = 0; off <= TOTAL; off += 3) {
        for (bytes = 0; bytes <= TOTAL - off + 1; bytes += 5) {
            size_t want = MIN(bytes, TOTAL - off);

            n = iov_copy(dst, NLENS, v.iov, v.cnt, off, bytes);
            g_assert_cmpuint(iov_size(dst, n), ==, want);
            g_assert_cmpuint(iov_to_buf(dst, n, 0, got, want), ==, want);
            g_assert_cmpmem(got, want, v.flat + off, want);
        }
    }
    /* Descriptors share the data, and empty elements are skipped. */
    n = iov_copy(dst, NLENS, v.iov, v.cnt, 0, TOTAL);
    g_assert_cmpuint(n, ==, 7);
    g_assert_true(dst[0].iov_base == v.iov[1].iov_base);
    /* A full destination stops the copy early. */
    n = iov_copy(dst, 2, v.iov, v.cnt, 1, TOTAL);
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpuint(dst[0].iov_len, ==, 7);
    g_assert_cmpuint(dst[1].iov_len, ==, 16);
    testvec_destroy(&v);
}

static void test_iov_discard_front(void)
{
    TestVec v;
    struct iovec *iov;
    unsigned int cnt;
    size_t n;
    unsigned char got[TOTAL];

    testvec_init(&v);
    for (n = 0; n <= TOTAL + 3; n++) {
        struct iovec copy[NLENS];
        size_t want = MIN(n, TOTAL);

        memcpy(copy, v.iov, sizeof(copy));
        iov = copy;
        cnt = NLENS;
        g_assert_cmpuint(iov_discard_front(&iov, &cnt, n), ==, want);
        g_assert_cmpuint(iov_size(iov, cnt), ==, TOTAL - want);
        iov_to_buf(iov, cnt, 0, got, TOTAL - want);
        g_assert_cmpmem(got, TOTAL - want, v.flat + want, TOTAL - want);
    }
    /* An exact element boundary consumes the element entirely. */
    iov = v.iov;
    cnt = v.cnt;
    iov_discard_front(&iov, &cnt, 8);
    g_assert_true(iov == &v.iov[4]);
    g_assert_cmpuint(cnt, ==, NLENS - 4);
    testvec_destroy(&v);
}

static void test_iov_discard_back(void)
{
    TestVec v;
    unsigned int cnt;
    size_t n;
    unsigned char got[TOTAL];

    testvec_init(&v);
    for (n = 0; n <= TOTAL + 3; n++) {
        struct iovec copy[NLENS];
        size_t want = MIN(n, TOTAL);

        memcpy(copy, v.iov, sizeof(copy));
        cnt = NLENS;
        g_assert_cmpuint(iov_discard_back(copy, &cnt, n), ==, want);
        g_assert_cmpuint(iov_size(copy, cnt), ==, TOTAL - want);
        iov_to_buf(copy, cnt, 0, got, TOTAL - want);
        g_assert_cmpmem(got, TOTAL - want, v.flat, TOTAL - want);
    }
    cnt = v.cnt;
    iov_discard_back(v.iov, &cnt, 33);
    g_assert_cmpuint(cnt, ==, 8);   /* empty trailing elements go too */
    testvec_destroy(&v);
}

static void test_iov_hexdump(void)
{
    char data[] = "Hello, iov!\x01\x02" "0123456789abcdef";
    struct iovec iov[2] = {
        { .iov_base = data, .iov_len = 5 },
        { .iov_base = data + 5, .iov_len = sizeof(data) - 6 },
    };
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp = open_memstream(&out, &outlen);

    iov_hexdump(iov, 2, fp, "pfx", 20);
    fclose(fp);
    g_assert_cmpstr(out, ==,
        "pfx: 0000: 48 65 6c 6c 6f 2c 20 69 6f 76 21 01 02 30 31 32"
        "  Hello, iov!..012\n"
        "pfx: 0010: 33 34 35 36"
        "                                      3456\n");
    free(out);
}

/* ---- QEMUIOVector: construction ----------------------------------------- */

static void test_qiov_init_add_many(void)
{
    QEMUIOVector qiov;
    unsigned char buf[1000];
    unsigned char got[1000];
    int i;

    for (i = 0; i < 1000; i++) {
        buf[i] = i % 251;
    }
    qemu_iovec_init(&qiov, 0);
    g_assert_cmpint(qiov.niov, ==, 0);
    g_assert_cmpuint(qiov.size, ==, 0);
    for (i = 0; i < 1000; i++) {
        qemu_iovec_add(&qiov, buf + i, 1);      /* 1000 one-byte elements */
    }
    g_assert_cmpint(qiov.niov, ==, 1000);
    g_assert_cmpint(qiov.nalloc, >=, 1000);
    g_assert_cmpuint(qiov.size, ==, 1000);
    g_assert_cmpuint(qemu_iovec_to_buf(&qiov, 0, got, 1000), ==, 1000);
    g_assert_cmpmem(got, 1000, buf, 1000);
    qemu_iovec_destroy(&qiov);
    g_assert_null(qiov.iov);
    g_assert_cmpint(qiov.niov, ==, 0);
    qemu_iovec_destroy(&qiov);      /* destroying twice is harmless */
}

static void test_qiov_init_external(void)
{
    TestVec v;
    QEMUIOVector qiov;

    testvec_init(&v);
    qemu_iovec_init_external(&qiov, v.iov, v.cnt);
    g_assert_true(qiov.iov == v.iov);
    g_assert_cmpint(qiov.niov, ==, NLENS);
    g_assert_cmpint(qiov.nalloc, ==, -1);
    g_assert_cmpuint(qiov.size, ==, TOTAL);
    qemu_iovec_destroy(&qiov);      /* must not free the caller's array */
    g_assert_cmpuint(v.iov[4].iov_len, ==, 16);
    testvec_destroy(&v);
}

static void test_qiov_init_buf(void)
{
    char buf[10] = "abcdefghi";
    QEMUIOVector a = QEMU_IOVEC_INIT_BUF(a, buf, 9);
    QEMUIOVector b;

    qemu_iovec_init_buf(&b, buf + 1, 4);
    g_assert_cmpint(a.niov, ==, 1);
    g_assert_true(a.iov == &a.local_iov);
    g_assert_cmpuint(a.size, ==, 9);
    g_assert_true(qemu_iovec_buf(&a) == buf);
    g_assert_true(b.iov == &b.local_iov);
    g_assert_cmpuint(b.size, ==, 4);
    g_assert_true(qemu_iovec_buf(&b) == buf + 1);
    g_assert_cmpint(qemu_iovec_compare(&b, &b), ==, -1);
}

static void test_qiov_add_external_aborts(void)
{
    if (g_test_subprocess()) {
        char c;
        QEMUIOVector qiov = QEMU_IOVEC_INIT_BUF(qiov, &c, 1);

        qemu_iovec_add(&qiov, &c, 1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*nalloc != -1*");
}

static void test_qiov_reset(void)
{
    QEMUIOVector qiov;
    char buf[8];
    struct iovec *array;

    qemu_iovec_init(&qiov, 2);
    qemu_iovec_add(&qiov, buf, 4);
    qemu_iovec_add(&qiov, buf + 4, 4);
    array = qiov.iov;
    qemu_iovec_reset(&qiov);
    g_assert_cmpint(qiov.niov, ==, 0);
    g_assert_cmpuint(qiov.size, ==, 0);
    qemu_iovec_add(&qiov, buf, 3);
    g_assert_true(qiov.iov == array);   /* the array was kept */
    g_assert_cmpuint(qiov.size, ==, 3);
    qemu_iovec_destroy(&qiov);
}

static void test_qiov_concat(void)
{
    TestVec v;
    QEMUIOVector src, dst;
    unsigned char got[TOTAL];
    char head[3] = "xyz";

    testvec_init(&v);
    qemu_iovec_init_external(&src, v.iov, v.cnt);
    qemu_iovec_init(&dst, 1);
    qemu_iovec_add(&dst, head, 3);
    qemu_iovec_concat(&dst, &src, 10, 50);
    g_assert_cmpuint(dst.size, ==, 53);
    /* 10..59 spans elements of 16 (from 2), 3, 64 (first 33). */
    g_assert_cmpint(dst.niov, ==, 4);
    qemu_iovec_to_buf(&dst, 0, got, 53);
    g_assert_cmpmem(got, 3, head, 3);
    g_assert_cmpmem(got + 3, 50, v.flat + 10, 50);

    /* concat_iov reports a short count at the source's end. */
    qemu_iovec_reset(&dst);
    g_assert_cmpuint(qemu_iovec_concat_iov(&dst, v.iov, v.cnt, TOTAL - 5,
                                           100), ==, 5);
    g_assert_cmpuint(dst.size, ==, 5);
    g_assert_cmpuint(qemu_iovec_concat_iov(&dst, v.iov, v.cnt, TOTAL, 1),
                     ==, 0);
    g_assert_cmpuint(qemu_iovec_concat_iov(&dst, v.iov, v.cnt, 0, 0),
                     ==, 0);
    g_assert_cmpint(dst.niov, ==, 1);
    qemu_iovec_destroy(&dst);
    testvec_destroy(&v);
}

static void test_qiov_clone(void)
{
    TestVec v;
    QEMUIOVector src, dest;
    unsigned char *buf = g_malloc(TOTAL);
    int i;

    testvec_init(&v);
    qemu_iovec_init_external(&src, v.iov, v.cnt);
    qemu_iovec_init(&dest, 0);
    qemu_iovec_clone(&dest, &src, buf);
    g_assert_cmpint(dest.niov, ==, src.niov);
    g_assert_cmpuint(dest.size, ==, TOTAL);
    for (i = 0; i < src.niov; i++) {
        g_assert_cmpuint(dest.iov[i].iov_len, ==, src.iov[i].iov_len);
    }
    /* Same layout over one buffer: copying in fills buf in order. */
    qemu_iovec_from_buf(&dest, 0, v.flat, TOTAL);
    g_assert_cmpmem(buf, TOTAL, v.flat, TOTAL);
    g_assert_cmpint(qemu_iovec_compare(&src, &dest), ==, -1);
    qemu_iovec_destroy(&dest);
    g_free(buf);
    testvec_destroy(&v);
}

/* ---- QEMUIOVector: data ------------------------------------------------- */

static void test_qiov_data_ops(void)
{
    TestVec v;
    QEMUIOVector qiov;
    unsigned char got[TOTAL], expect[TOTAL];
    unsigned char ones[20];

    testvec_init(&v);
    qemu_iovec_init_external(&qiov, v.iov, v.cnt);
    memcpy(expect, v.flat, TOTAL);

    memset(ones, 1, sizeof(ones));
    g_assert_cmpuint(qemu_iovec_from_buf(&qiov, 20, ones, 20), ==, 20);
    memset(expect + 20, 1, 20);
    g_assert_cmpuint(qemu_iovec_memset(&qiov, 60, 0, 40), ==, 40);
    memset(expect + 60, 0, 40);
    g_assert_cmpuint(qemu_iovec_memset(&qiov, TOTAL - 2, 9, 5), ==, 2);
    memset(expect + TOTAL - 2, 9, 2);
    g_assert_cmpuint(qemu_iovec_to_buf(&qiov, 0, got, TOTAL + 9), ==, TOTAL);
    g_assert_cmpmem(got, TOTAL, expect, TOTAL);
    g_assert_cmpuint(qemu_iovec_to_buf(&qiov, 30, got, 4), ==, 4);
    g_assert_cmpmem(got, 4, expect + 30, 4);
    testvec_destroy(&v);
}

static void test_qiov_is_zero(void)
{
    TestVec v;
    QEMUIOVector qiov;

    testvec_init(&v);
    qemu_iovec_init_external(&qiov, v.iov, v.cnt);
    qemu_iovec_memset(&qiov, 5, 0, 80);
    g_assert_true(qemu_iovec_is_zero(&qiov, 5, 80));
    g_assert_true(qemu_iovec_is_zero(&qiov, 40, 10));
    g_assert_true(qemu_iovec_is_zero(&qiov, 0, 0));
    g_assert_true(qemu_iovec_is_zero(&qiov, TOTAL, 0));
    g_assert_false(qemu_iovec_is_zero(&qiov, 4, 80));
    g_assert_false(qemu_iovec_is_zero(&qiov, 5, 81));
    g_assert_false(qemu_iovec_is_zero(&qiov, 0, TOTAL));
    qemu_iovec_memset(&qiov, 0, 0, TOTAL);
    g_assert_true(qemu_iovec_is_zero(&qiov, 0, TOTAL));
    testvec_destroy(&v);
}

static void test_qiov_is_zero_out_of_range_aborts(void)
{
    if (g_test_subprocess()) {
        char buf[4] = { 0 };
        QEMUIOVector qiov = QEMU_IOVEC_INIT_BUF(qiov, buf, 4);

        qemu_iovec_is_zero(&qiov, 2, 3);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*bytes <= qiov->size - offset*");
}

static void test_qiov_compare(void)
{
    TestVec v;
    QEMUIOVector a, b;
    unsigned char *flat = g_malloc(TOTAL);
    size_t pos;

    testvec_init(&v);
    memcpy(flat, v.flat, TOTAL);
    qemu_iovec_init_external(&a, v.iov, v.cnt);
    qemu_iovec_init_buf(&b, flat, TOTAL);
    g_assert_cmpint(qemu_iovec_compare(&a, &b), ==, -1);
    /* Layouts differ; every differing position is found exactly. */
    for (pos = 0; pos < TOTAL; pos++) {
        flat[pos] ^= 0x40;
        g_assert_cmpint(qemu_iovec_compare(&a, &b), ==, pos);
        g_assert_cmpint(qemu_iovec_compare(&b, &a), ==, pos);
        flat[pos] ^= 0x40;
    }
    /* The first of several differences wins. */
    flat[90] = ~flat[90];
    flat[17] = ~flat[17];
    g_assert_cmpint(qemu_iovec_compare(&a, &b), ==, 17);
    g_free(flat);
    testvec_destroy(&v);
}

static void test_qiov_compare_sizes_differ_aborts(void)
{
    if (g_test_subprocess()) {
        char buf[4] = { 0 };
        QEMUIOVector a = QEMU_IOVEC_INIT_BUF(a, buf, 4);
        QEMUIOVector b = QEMU_IOVEC_INIT_BUF(b, buf, 3);

        qemu_iovec_compare(&a, &b);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*a->size == b->size*");
}

static void test_qiov_compare_empty(void)
{
    QEMUIOVector a, b;

    qemu_iovec_init(&a, 0);
    qemu_iovec_init(&b, 0);
    g_assert_cmpint(qemu_iovec_compare(&a, &b), ==, -1);
    qemu_iovec_destroy(&a);
    qemu_iovec_destroy(&b);
}

/* ---- QEMUIOVector: trimming and slicing --------------------------------- */

static void test_qiov_discard_back_owned(void)
{
    TestVec v;
    QEMUIOVector qiov;
    unsigned char got[TOTAL];

    testvec_init(&v);
    qemu_iovec_init(&qiov, 0);
    qemu_iovec_concat_iov(&qiov, v.iov, v.cnt, 0, TOTAL);
    qemu_iovec_discard_back(&qiov, 40);         /* all of 33, 1, 6 of 64 */
    g_assert_cmpuint(qiov.size, ==, TOTAL - 40);
    g_assert_cmpint(qiov.niov, ==, 5);
    g_assert_cmpuint(iov_size(qiov.iov, qiov.niov), ==, TOTAL - 40);
    qemu_iovec_to_buf(&qiov, 0, got, TOTAL);
    g_assert_cmpmem(got, TOTAL - 40, v.flat, TOTAL - 40);
    qemu_iovec_discard_back(&qiov, TOTAL - 40);
    g_assert_cmpuint(qiov.size, ==, 0);
    g_assert_cmpint(qiov.niov, ==, 0);
    qemu_iovec_destroy(&qiov);
    testvec_destroy(&v);
}

static void test_qiov_discard_back_buf(void)
{
    char buf[10];
    QEMUIOVector qiov = QEMU_IOVEC_INIT_BUF(qiov, buf, 10);

    /* size shares storage with the element's length: no double count. */
    qemu_iovec_discard_back(&qiov, 3);
    g_assert_cmpuint(qiov.size, ==, 7);
    g_assert_cmpuint(qiov.iov[0].iov_len, ==, 7);
    g_assert_cmpint(qiov.niov, ==, 1);
    qemu_iovec_discard_back(&qiov, 7);
    g_assert_cmpuint(qiov.size, ==, 0);
    g_assert_cmpint(qiov.niov, ==, 0);
}

static void test_qiov_discard_back_too_much_aborts(void)
{
    if (g_test_subprocess()) {
        char buf[4];
        QEMUIOVector qiov = QEMU_IOVEC_INIT_BUF(qiov, buf, 4);

        qemu_iovec_discard_back(&qiov, 5);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*bytes <= qiov->size*");
}

static void test_qiov_slice(void)
{
    TestVec v;
    QEMUIOVector qiov;
    struct iovec *iov;
    size_t head, tail;
    int niov;

    testvec_init(&v);
    qemu_iovec_init_external(&qiov, v.iov, v.cnt);
    /* Bytes 10..29: element 4 (16 bytes at 8) from 2, elements 5, 6. */
    iov = qemu_iovec_slice(&qiov, 10, 20, &head, &tail, &niov);
    g_assert_true(iov == &v.iov[4]);
    g_assert_cmpuint(head, ==, 2);
    g_assert_cmpint(niov, ==, 3);
    g_assert_cmpuint(tail, ==, 64 - 3);     /* 30 - 27 = 3 bytes of 64 */
    g_assert_cmpint(qemu_iovec_subvec_niov(&qiov, 10, 20), ==, 3);
    /* Exactly one whole element. */
    iov = qemu_iovec_slice(&qiov, 8, 16, &head, &tail, &niov);
    g_assert_true(iov == &v.iov[4]);
    g_assert_cmpuint(head + tail, ==, 0);
    g_assert_cmpint(niov, ==, 1);
    /* Whole vector, and an empty range. */
    /* Empty elements between the ends count, leading ones do not. */
    g_assert_cmpint(qemu_iovec_subvec_niov(&qiov, 0, TOTAL), ==, 9);
    g_assert_cmpint(qemu_iovec_subvec_niov(&qiov, 5, 0), ==, 0);
    testvec_destroy(&v);
}

static void test_qiov_init_slice(void)
{
    TestVec v;
    QEMUIOVector src, slice;
    unsigned char got[TOTAL];
    size_t off, len;

    testvec_init(&v);
    qemu_iovec_init_external(&src, v.iov, v.cnt);
    for (off = 0; off <= TOTAL; off += 7) {
        for (len = 0; len <= TOTAL - off; len += 5) {
            qemu_iovec_init_slice(&slice, &src, off, len);
            g_assert_cmpuint(slice.size, ==, len);
            g_assert_cmpuint(iov_size(slice.iov, slice.niov), ==, len);
            g_assert_cmpuint(qemu_iovec_to_buf(&slice, 0, got, len),
                             ==, len);
            g_assert_cmpmem(got, len, v.flat + off, len);
            qemu_iovec_destroy(&slice);
        }
    }
    /* A range inside one element becomes a single-buffer vector. */
    qemu_iovec_init_slice(&slice, &src, 30, 10);
    g_assert_true(slice.iov == &slice.local_iov);
    g_assert_true(qemu_iovec_buf(&slice) ==
                  (char *)v.iov[6].iov_base + 3);
    qemu_iovec_destroy(&slice);
    testvec_destroy(&v);
}

static void test_qiov_init_extended(void)
{
    TestVec v;
    QEMUIOVector src, ext;
    char head[4] = "HHHH", tail[2] = "TT";
    unsigned char got[64];

    testvec_init(&v);
    qemu_iovec_init_external(&src, v.iov, v.cnt);
    g_assert_cmpint(qemu_iovec_init_extended(&ext, head, 4, &src, 6, 20,
                                             tail, 2), ==, 0);
    g_assert_cmpuint(ext.size, ==, 26);
    g_assert_cmpint(ext.niov, ==, 1 + 4 + 1);   /* one empty in mid */
    qemu_iovec_to_buf(&ext, 0, got, 26);
    g_assert_cmpmem(got, 4, head, 4);
    g_assert_cmpmem(got + 4, 20, v.flat + 6, 20);
    g_assert_cmpmem(got + 24, 2, tail, 2);
    qemu_iovec_destroy(&ext);

    /* No middle at all. */
    g_assert_cmpint(qemu_iovec_init_extended(&ext, head, 4, NULL, 0, 0,
                                             tail, 2), ==, 0);
    g_assert_cmpint(ext.niov, ==, 2);
    g_assert_cmpuint(ext.size, ==, 6);
    qemu_iovec_destroy(&ext);
    testvec_destroy(&v);
}

static void test_qiov_init_extended_too_many(void)
{
    QEMUIOVector src, ext;
    char byte = 0, head = 1;
    int i;

    qemu_iovec_init(&src, IOV_MAX);
    for (i = 0; i < IOV_MAX; i++) {
        qemu_iovec_add(&src, &byte, 1);
    }
    /* IOV_MAX elements fit; one more for a head does not. */
    g_assert_cmpint(qemu_iovec_init_extended(&ext, NULL, 0, &src, 0,
                                             IOV_MAX, NULL, 0), ==, 0);
    g_assert_cmpint(ext.niov, ==, IOV_MAX);
    qemu_iovec_destroy(&ext);
    memset(&ext, 0x5a, sizeof(ext));
    g_assert_cmpint(qemu_iovec_init_extended(&ext, &head, 1, &src, 0,
                                             IOV_MAX, NULL, 0), ==, -EINVAL);
    g_assert_cmpint(ext.niov, ==, 0x5a5a5a5a);      /* left untouched */
    qemu_iovec_destroy(&src);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iov/buffer-is-zero/all-shapes",
                    test_buffer_is_zero_all_shapes);
    g_test_add_func("/iov/buffer-is-zero/outside-ignored",
                    test_buffer_is_zero_outside_ignored);
    g_test_add_func("/iov/buffer-is-zero/large", test_buffer_is_zero_large);
    g_test_add_func("/iov/size", test_iov_size);
    g_test_add_func("/iov/to-buf", test_iov_to_buf_every_range);
    g_test_add_func("/iov/from-buf", test_iov_from_buf_every_range);
    g_test_add_func("/iov/memset", test_iov_memset);
    g_test_add_func("/iov/offset-past-end-aborts",
                    test_iov_offset_past_end_aborts);
    g_test_add_func("/iov/copy", test_iov_copy);
    g_test_add_func("/iov/discard-front", test_iov_discard_front);
    g_test_add_func("/iov/discard-back", test_iov_discard_back);
    g_test_add_func("/iov/hexdump", test_iov_hexdump);
    g_test_add_func("/iov/qiov/init-add-many", test_qiov_init_add_many);
    g_test_add_func("/iov/qiov/init-external", test_qiov_init_external);
    g_test_add_func("/iov/qiov/init-buf", test_qiov_init_buf);
    g_test_add_func("/iov/qiov/add-external-aborts",
                    test_qiov_add_external_aborts);
    g_test_add_func("/iov/qiov/reset", test_qiov_reset);
    g_test_add_func("/iov/qiov/concat", test_qiov_concat);
    g_test_add_func("/iov/qiov/clone", test_qiov_clone);
    g_test_add_func("/iov/qiov/data-ops", test_qiov_data_ops);
    g_test_add_func("/iov/qiov/is-zero", test_qiov_is_zero);
    g_test_add_func("/iov/qiov/is-zero-out-of-range",
                    test_qiov_is_zero_out_of_range_aborts);
    g_test_add_func("/iov/qiov/compare", test_qiov_compare);
    g_test_add_func("/iov/qiov/compare-empty", test_qiov_compare_empty);
    g_test_add_func("/iov/qiov/compare-sizes-differ",
                    test_qiov_compare_sizes_differ_aborts);
    g_test_add_func("/iov/qiov/discard-back-owned",
                    test_qiov_discard_back_owned);
    g_test_add_func("/iov/qiov/discard-back-buf",
                    test_qiov_discard_back_buf);
    g_test_add_func("/iov/qiov/discard-back-too-much",
                    test_qiov_discard_back_too_much_aborts);
    g_test_add_func("/iov/qiov/slice", test_qiov_slice);
    g_test_add_func("/iov/qiov/init-slice", test_qiov_init_slice);
    g_test_add_func("/iov/qiov/init-extended", test_qiov_init_extended);
    g_test_add_func("/iov/qiov/init-extended-too-many",
                    test_qiov_init_extended_too_many);
    return g_test_run();
}
