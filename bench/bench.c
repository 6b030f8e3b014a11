/*
 * Benchmark harness: batch sizing, rotated rounds, medians, one row format.
 *
 * Key invariant: every contender of a row is measured in the same rounds,
 * interleaved, so that noise from the shared machine lands on all of them
 * rather than on whichever happened to run during a burst.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "bench.h"

#define MAX_ROUNDS 64
#define MAX_IMPLS  8

static int env_int(const char *name, int def, int lo, int hi)
{
    const char *s = getenv(name);
    int v;

    if (!s || !*s) {
        return def;
    }
    v = atoi(s);
    return v < lo ? lo : v > hi ? hi : v;
}

static int rounds(void)
{
    return env_int("BENCH_ROUNDS", 11, 1, MAX_ROUNDS);
}

static uint64_t batch_ns(void)
{
    return (uint64_t)env_int("BENCH_MS", 30, 1, 10000) * 1000000u;
}

void bench_header(const char *binary)
{
    printf("# %s: %ld online CPUs, median of %d rounds, "
           ">= %d ms per batch\n", binary, sysconf(_SC_NPROCESSORS_ONLN),
           rounds(), (int)(batch_ns() / 1000000u));
    fflush(stdout);
}

/* Time one call of @impl asking for @n ops; returns ns, stores ops done. */
static uint64_t run_batch(BenchImpl *impl, uint64_t n, uint64_t *done)
{
    uint64_t t0 = bench_now_ns();

    *done = impl->fn(impl->opaque, n);
    return bench_now_ns() - t0;
}

/*
 * Find an op count whose batch takes about batch_ns(): double until a
 * batch takes a tenth of it, then scale.  This also warms the contender
 * up (pools filled, caches and branch predictors trained).
 */
static uint64_t calibrate(BenchImpl *impl)
{
    uint64_t target = batch_ns();
    uint64_t n = 1, done, ns;

    for (;;) {
        ns = run_batch(impl, n, &done);
        if (done > n) {
            n = done;
        }
        if (ns >= target / 10 || n >= (UINT64_C(1) << 40)) {
            break;
        }
        n *= 2;
    }
    if (ns == 0) {
        ns = 1;
    }
    n = (uint64_t)((double)n * (double)target / (double)ns) + 1;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void measure(BenchImpl *impls, int n)
{
    static double samples[MAX_IMPLS][MAX_ROUNDS];
    uint64_t batch[MAX_IMPLS];
    int r, i, nr = rounds();

    for (i = 0; i < n; i++) {
        batch[i] = impls[i].fn ? calibrate(&impls[i]) : 0;
    }
    for (r = 0; r < nr; r++) {
        for (int k = 0; k < n; k++) {
            uint64_t done, ns;

            i = (k + r) % n;
            if (!impls[i].fn) {
                continue;
            }
            ns = run_batch(&impls[i], batch[i], &done);
            samples[i][r] = (double)ns / (double)done;
        }
    }
    for (i = 0; i < n; i++) {
        impls[i].ns_op = impls[i].fn ? median(samples[i], nr) : 0;
    }
}

static void print_row(const char *name, const BenchImpl *impls, int n)
{
    printf("%-30s", name);
    for (int i = 0; i < n; i++) {
        printf("%s%s ", i ? " | " : " ", impls[i].label);
        if (!impls[i].fn) {
            printf("n/a");
            continue;
        }
        printf("%.1f ns/op", impls[i].ns_op);
        if (i > 0 && impls[0].fn && impls[0].ns_op > 0) {
            printf(" (%.2fx)", impls[i].ns_op / impls[0].ns_op);
        }
    }
    printf("\n");
    fflush(stdout);
}

void bench_expect(const char *what, uint64_t got, uint64_t want)
{
    if (got != want) {
        fprintf(stderr, "benchmark broken: %s: %" PRIu64 " callbacks, "
                "expected %" PRIu64 "\n", what, got, want);
        exit(1);
    }
}

void bench_compare(const char *name, BenchImpl *impls, int n)
{
    assert(n >= 1 && n <= MAX_IMPLS);
    measure(impls, n);
    print_row(name, impls, n);
}
