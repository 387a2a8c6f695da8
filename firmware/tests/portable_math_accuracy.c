/*
 * portable_math_accuracy.c - host-only accuracy check of the kernel library's portable tte_expf /
 * tte_logf (src/kernels/tte_math.c) against the C library's double exp/log.
 *
 * Walks the float bit patterns of the whole domain with a fixed odd stride (about 40 M inputs),
 * measures the error in ulps of the float result (ulp of a subnormal result = 2^-149) and
 * fails if it exceeds the stated bounds. Prints one parseable line per function:
 *   accuracy tte_expf n=... max_ulp=0.62 at=0x... not_nearest=... (of n)
 * Usage: portable_math_accuracy [stride]   (default 97; 1 = every float, takes minutes)
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "kernels/tte_kernels.h"

static float pm_float(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

typedef struct {
    const char *name;
    double max_ulp;
    uint32_t max_at;
    unsigned long n, not_nearest;
} acc_t;

/* ulp of the float nearest to v (v finite, >= 0) */
static double ulp_of(double v)
{
    if (v < FLT_MIN) return ldexp(1.0, -149);
    int e;
    frexp(v, &e); /* v = m 2^e, m in [0.5, 1) */
    return ldexp(1.0, e - 24);
}

static void measure(acc_t *a, uint32_t u, float y, double ref)
{
    a->n++;
    if ((float)ref != y) a->not_nearest++;
    if (isinf(ref) || isinf(y)) {
        if (y != (float)ref) { a->max_ulp = INFINITY; a->max_at = u; }
        return;
    }
    double err = fabs((double)y - ref) / ulp_of(fabs(ref));
    if (err > a->max_ulp) { a->max_ulp = err; a->max_at = u; }
}

static int report(const acc_t *a, double bound)
{
    int ok = a->max_ulp <= bound;
    printf("accuracy %s n=%lu max_ulp=%.3f at=0x%08lx (x=%.9g) not_nearest=%lu bound=%.2f %s\n", a->name, a->n,
           a->max_ulp, (unsigned long)a->max_at, (double)pm_float(a->max_at), a->not_nearest, bound,
           ok ? "ok" : "EXCEEDED");
    return ok;
}

int main(int argc, char **argv)
{
    uint32_t stride = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 97u;
    if (stride == 0) stride = 1;
    acc_t ex = {"tte_expf", 0, 0, 0, 0}, lg = {"tte_logf", 0, 0, 0, 0};

    /* expf: every float in [-104, 88.8] (both signs of the bit patterns) */
    for (uint64_t u = 0; u < 0x100000000ull; u += stride) {
        float x = pm_float((uint32_t)u);
        if (!(x >= -104.0f && x <= 88.8f)) continue;
        measure(&ex, (uint32_t)u, tte_expf(x), exp((double)x));
    }
    /* logf: every positive finite float, subnormals included */
    for (uint64_t u = 1; u < 0x7f800000ull; u += stride) {
        float x = pm_float((uint32_t)u);
        measure(&lg, (uint32_t)u, tte_logf(x), log((double)x));
    }
    /* special values */
    int special_ok = tte_expf(-INFINITY) == 0.0f && tte_expf(INFINITY) == INFINITY &&
                     tte_expf(0.0f) == 1.0f && tte_logf(1.0f) == 0.0f &&
                     tte_logf(0.0f) == -INFINITY && tte_logf(INFINITY) == INFINITY &&
                     isnan(tte_logf(-1.0f)) && isnan(tte_expf(NAN)) &&
                     tte_expf(89.0f) == INFINITY && tte_expf(-105.0f) == 0.0f;
    printf("accuracy special_values %s\n", special_ok ? "ok" : "WRONG");
    int ok = report(&ex, 1.5) & report(&lg, 1.0) & special_ok;
    return ok ? 0 : 1;
}
