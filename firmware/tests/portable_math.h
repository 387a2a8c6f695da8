/*
 * portable_math.h - expf/logf in plain C99 single precision that give the same bits on every
 * IEEE-754 target built with -ffp-contract=off (x86-64 host and Cortex-M7 FPv5-SP here).
 *
 * Why: glibc's expf/logf (double-precision internals, FMA variant picked at run time by CPU) and
 * newlib's (fdlibm single precision, built with FMA contraction) return different bits for the
 * same input (see firmware/README.md, "Numerics parity"). Kernels that need exp/log (softmax,
 * cross-entropy) must use their own implementation. These are that implementation: only
 * fp32 +, -, *, /, rintf (round half even) and exact power-of-two scaling built from bits,
 * each of which IEEE-754 defines to the last bit. Candidates to move into src/kernels.
 *
 * Accuracy (measured by firmware/tests/portable_math_accuracy.c against double exp/log over
 * all normal and subnormal inputs): see that test's output; both stay within about 1 ulp
 * (subnormal results of portable_expf may be off by one more unit of the subnormal).
 *
 * Special values: NaN in -> NaN out (input returned), portable_expf(+inf) = +inf,
 * portable_expf(-inf) = 0, portable_logf(0) = -inf, portable_logf(x<0) = canonical NaN 0x7fc00000.
 */
#ifndef TTE_FIRMWARE_PORTABLE_MATH_H_
#define TTE_FIRMWARE_PORTABLE_MATH_H_

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t pm_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline float pm_float(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
/* 2^k for -126 <= k <= 127, exact. */
static inline float pm_pow2(int k) { return pm_float((uint32_t)(k + 127) << 23); }

/* ln 2 split: PM_LN2_HI has 16 significant bits, so e*PM_LN2_HI is exact for |e| < 2^8. */
#define PM_LN2_HI 0.693145751953125f       /* 0x3f317200 */
#define PM_LN2_LO 1.42860676533018e-06f    /* ln2 - PM_LN2_HI, rounded */
#define PM_LOG2E  1.44269504088896341f

/*
 * exp(x) = 2^k * exp(r), k = rint(x / ln2), r = x - k ln2 (Cody-Waite, |r| <= ~0.35),
 * exp(r) = 1 + (r + r^2 (1/2 + r/6 + ... + r^5/5040)): Taylor to degree 7, truncation < 0.07 ulp.
 */
static inline float portable_expf(float x)
{
    if (x != x) return x;
    if (x > 88.8f) return HUGE_VALF;    /* exp(88.7228...) already exceeds FLT_MAX */
    if (x < -104.0f) return 0.0f;       /* below 2^-150: rounds to zero */
    float k = rintf(x * PM_LOG2E);      /* -150 <= k <= 128 */
    float r = (x - k * PM_LN2_HI) - k * PM_LN2_LO;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    float y = 1.0f + (r + (r * r) * p);
    int ki = (int)k;
    if (ki > 127) { y *= 2.0f; ki -= 1; }                 /* may overflow to +inf: correct */
    if (ki < -126) return (y * pm_pow2(ki + 100)) * pm_pow2(-100); /* one rounding, subnormal */
    return y * pm_pow2(ki);
}

/*
 * log(x) = e ln2 + log(1+f), 1+f in [sqrt(2)/2, sqrt(2)), s = f/(2+f),
 * log(1+f) = f - f^2/2 + s (f^2/2 + R), R = 2/3 z + 2/5 z^2 + ... + 2/11 z^5, z = s^2
 * (the fdlibm arrangement of the atanh series, with Taylor coefficients).
 */
static inline float portable_logf(float x)
{
    if (x != x) return x;
    if (x < 0.0f) return pm_float(0x7fc00000u);
    if (x == 0.0f) return -HUGE_VALF;
    if (x == HUGE_VALF) return x;
    uint32_t u = pm_bits(x);
    int e = 0;
    if (u < 0x00800000u) { u = pm_bits(x * 33554432.0f); e = -25; } /* subnormal: * 2^25, exact */
    e += (int)(u >> 23) - 127;
    float m = pm_float((u & 0x007fffffu) | 0x3f800000u);             /* [1, 2) */
    if (m > 1.41421356f) { m *= 0.5f; e += 1; }
    float f = m - 1.0f;                                               /* exact */
    float s = f / (2.0f + f);
    float z = s * s;
    float R = 2.0f / 11.0f;
    R = R * z + 2.0f / 9.0f;
    R = R * z + 2.0f / 7.0f;
    R = R * z + 2.0f / 5.0f;
    R = R * z + 2.0f / 3.0f;
    R = R * z;
    float hfsq = 0.5f * f * f;
    float fe = (float)e;
    return fe * PM_LN2_HI - ((hfsq - (s * (hfsq + R) + fe * PM_LN2_LO)) - f);
}

#endif /* TTE_FIRMWARE_PORTABLE_MATH_H_ */
