/*
 * tte_math.c - exp, log and fused multiply-add that give the same bits on every target.
 *
 * glibc's and newlib's expf/logf differ in the last bit on 2-8% of inputs, and newlib's out-of-line
 * fmaf rounds twice (through double); see firmware/README.md "Numerics parity". So the kernels use:
 *   tte_expf / tte_logf: only fp32 +, -, *, /, rintf and exact power-of-two scaling, each defined to
 *     the last bit by IEEE 754 (measured against double exp/log over every float by
 *     firmware/tests/portable_math_accuracy.c: within about 1 ulp);
 *   tte_fmaf: one rounding always: the VFMA instruction on Arm cores that have it (Cortex-M4F/M7), the C
 *     library's fmaf on the host (glibc's is correctly rounded), and an exact software version otherwise.
 */
#include <math.h>
#include <string.h>

#include "kernels/tte_kernels.h"

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
/* 2^k for -126 <= k <= 127, exact. */
static float pow2i(int k) { return bits_float((uint32_t)(k + 127) << 23); }

#define TTE_LN2_HI 0.693145751953125f    /* 16 significant bits: e * LN2_HI is exact for |e| < 2^8 */
#define TTE_LN2_LO 1.42860676533018e-06f /* ln2 - LN2_HI */
#define TTE_LOG2E 1.44269504088896341f

/* exp(x) = 2^k exp(r), k = rint(x / ln2), r = x - k ln2 (Cody-Waite), exp(r) by Taylor to degree 7. */
float tte_expf(float x) {
  if (x != x) return x;
  if (x > 88.8f) return HUGE_VALF;
  if (x < -104.0f) return 0.0f;
  const float k = rintf(x * TTE_LOG2E); /* -150 <= k <= 128 */
  const float r = (x - k * TTE_LN2_HI) - k * TTE_LN2_LO;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  float y = 1.0f + (r + (r * r) * p);
  int ki = (int)k;
  if (ki > 127) {
    y *= 2.0f;
    ki -= 1;
  }
  if (ki < -126) return (y * pow2i(ki + 100)) * pow2i(-100); /* subnormal result, one rounding */
  return y * pow2i(ki);
}

/* log(x) = e ln2 + log(1+f), 1+f in [sqrt(2)/2, sqrt(2)), s = f/(2+f), the fdlibm arrangement. */
float tte_logf(float x) {
  if (x != x) return x;
  if (x < 0.0f) return bits_float(0x7fc00000u);
  if (x == 0.0f) return -HUGE_VALF;
  if (x == HUGE_VALF) return x;
  uint32_t u = float_bits(x);
  int e = 0;
  if (u < 0x00800000u) { /* subnormal: * 2^25, exact */
    u = float_bits(x * 33554432.0f);
    e = -25;
  }
  e += (int)(u >> 23) - 127;
  float m = bits_float((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
  if (m > 1.41421356f) {
    m *= 0.5f;
    e += 1;
  }
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float z = s * s;
  float R = 2.0f / 11.0f;
  R = R * z + 2.0f / 9.0f;
  R = R * z + 2.0f / 7.0f;
  R = R * z + 2.0f / 5.0f;
  R = R * z + 2.0f / 3.0f;
  R = R * z;
  const float hfsq = 0.5f * f * f;
  const float fe = (float)e;
  return fe * TTE_LN2_HI - ((hfsq - (s * (hfsq + R) + fe * TTE_LN2_LO)) - f);
}

float tte_fmaf(float a, float b, float c) {
#if defined(__ARM_ARCH) && defined(__ARM_FEATURE_FMA) && defined(__ARM_FP) && !defined(__SOFTFP__)
  float r = c;
  __asm__("vfma.f32 %0, %1, %2" : "+t"(r) : "t"(a), "t"(b));
  return r;
#elif defined(__x86_64__) || defined(__aarch64__)
  return fmaf(a, b, c); /* glibc: correctly rounded */
#else
  /* a*b is exact in double; p + c = s + err exactly (TwoSum). Rounding s to float differs from rounding
   * p + c only when s is exactly halfway between two floats and err != 0: then err decides. */
  const double p = (double)a * (double)b, dc = (double)c;
  const double s = p + dc, t = s - p, err = (p - (s - t)) + (dc - t);
  float r = (float)s;
  if (err != 0.0 && (double)r != s) {
    const float other = (double)r < s ? nextafterf(r, HUGE_VALF) : nextafterf(r, -HUGE_VALF);
    if (fabs((double)other - s) == fabs(s - (double)r) && ((err > 0.0) == ((double)other > s))) r = other;
  }
  return r;
#endif
}

/* The build check of the generated library (PREFIX_init): 1 if this file was compiled with floating-point
 * contraction (a*b+c fused into one rounding), which breaks bit parity with the host. (1+2^-12)^2 rounds to
 * 1+2^-11 before the addition of -(1+2^-11): exactly 0 unfused, 2^-24 fused. */
static volatile float tte_probe_in[3] = {1.000244140625f, 1.000244140625f, -1.00048828125f};
int tte_fp_contracted(void) {
  const float a = tte_probe_in[0], b = tte_probe_in[1], c = tte_probe_in[2];
  return a * b + c != 0.0f;
}
