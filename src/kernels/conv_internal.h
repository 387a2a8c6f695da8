/*
 * conv_internal.h - internals shared by the kernel files (not part of the kernel API): the
 * requantization of one int32 accumulator in both modes (TTE_REQUANT_FP32 / TTE_REQUANT_TFLITE),
 * TFLite's MultiplyByQuantizedMultiplier inline, mask bits, the Cortex-M DSP instructions of the fast
 * paths (with their C emulation for the host tests), and the entry of the pointwise forward fast path
 * (conv_fwd_pw.c) that conv_fwd.c dispatches to.
 *
 * Every forward path of every kernel requantizes through tte_rq_fp32 / tte_rq_tflite, or on DSP cores
 * through tte_rq_fp32_fast / conv_fwd_pw.c's pw_rq, which are proven equal to tte_rq_fp32 where they are
 * used (finite bias and scale) and tested against it. The fast paths take the mode as a compile-time constant
 * (TTE_SPECIALIZE bodies instantiated per mode), so no per-pixel branch on the mode remains.
 */
#ifndef TTE_CONV_INTERNAL_H_
#define TTE_CONV_INTERNAL_H_

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/tte_kernels.h"

/* ARITHMETIC.md section 2 (gemmlowp SaturatingRoundingDoublingHighMul + RoundingDivideByPOT, TFLite's
 * default double rounding). x * 2^left wraps in int32 (TFLite multiplies in int32); shift in [-31, 31). */
static inline int32_t tte_mbqm_inline(int32_t x, int32_t mult, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const int32_t a = (int32_t)((uint32_t)x << left);
  int32_t h;
  if (a == INT32_MIN && mult == INT32_MIN) {
    h = INT32_MAX;
  } else {
    const int64_t prod = (int64_t)a * (int64_t)mult;
    const int64_t nudge = prod >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    h = (int32_t)((prod + nudge) / ((int64_t)1 << 31)); /* C division: truncation toward zero */
  }
  {
    const int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
    const int32_t rem = h & mask;
    const int32_t threshold = (mask >> 1) + (h < 0 ? 1 : 0);
    return (h >> right) + (rem > threshold ? 1 : 0); /* arithmetic shift */
  }
}

/* Everything the requantization of one output channel needs, for both modes. */
typedef struct {
  float bias, eff, yz, lo, hi;                           /* FP32 */
  int32_t bias_i, mult, shift, y_zero, act_min, act_max; /* TFLITE (act_* for both) */
} tte_rq;

static inline void tte_rq_init(const tte_conv_params* p, int32_t o, tte_rq* r) {
  r->yz = (float)p->y_zero;
  r->lo = (float)p->act_min;
  r->hi = (float)p->act_max;
  r->y_zero = p->y_zero;
  r->act_min = p->act_min;
  r->act_max = p->act_max;
  if (p->requant == TTE_REQUANT_TFLITE) {
    r->bias = 0.0f;
    r->eff = 0.0f;
    r->bias_i = p->bias_i32 ? p->bias_i32[o] : 0;
    r->mult = p->mult[o];
    r->shift = p->shift[o];
  } else {
    r->bias = p->bias_f32 ? p->bias_f32[o] : (float)p->bias_i32[o];
    r->eff = p->eff[o];
    r->bias_i = 0;
    r->mult = 0;
    r->shift = 0;
  }
}

/* FP32: v = rintf(((float)acc + bias) * eff) + y_zero in fp32; the in-range case is tested first so that it
 * costs two comparisons; every input (NaN included) gives the result of
 *   in_range = lo <= v <= hi; v < lo ? act_min : v > hi ? act_max : (int8_t)(int32_t)v. */
static inline int8_t tte_rq_fp32(int32_t acc, const tte_rq* r, int* in_range) {
  const float t = (float)acc + r->bias;
  const float v = rintf(t * r->eff) + r->yz;
  if (v >= r->lo && v <= r->hi) {
    *in_range = 1;
    return (int8_t)(int32_t)v;
  }
  *in_range = 0;
  if (v < r->lo) return (int8_t)r->act_min;
  if (v > r->hi) return (int8_t)r->act_max;
  return (int8_t)(int32_t)v;
}

/* TFLITE: v = MBQM(acc + bias, mult, shift) + y_zero, int32 additions wrapping as TFLite's do. */
static inline int8_t tte_rq_tflite(int32_t acc, const tte_rq* r, int* in_range) {
  const int32_t a = (int32_t)((uint32_t)acc + (uint32_t)r->bias_i);
  const int32_t v = (int32_t)((uint32_t)tte_mbqm_inline(a, r->mult, r->shift) + (uint32_t)r->y_zero);
  if (v >= r->act_min && v <= r->act_max) {
    *in_range = 1;
    return (int8_t)v;
  }
  *in_range = 0;
  return (int8_t)(v < r->act_min ? r->act_min : r->act_max);
}

/* MODE is a constant in the specialized fast paths: the branch folds away. */
static inline int8_t tte_rq_apply(int mode, int32_t acc, const tte_rq* r, int* in_range) {
  return mode == TTE_REQUANT_TFLITE ? tte_rq_tflite(acc, r, in_range) : tte_rq_fp32(acc, r, in_range);
}

static inline void tte_set_mask(uint8_t* mask, size_t n, int bit) {
  if (bit)
    mask[n >> 3] = (uint8_t)(mask[n >> 3] | (1u << (n & 7)));
  else
    mask[n >> 3] = (uint8_t)(mask[n >> 3] & ~(1u << (n & 7)));
}

/* ---- Cortex-M DSP extension (ARMv7E-M) instructions used by the fast paths (conv_fwd_pw.c, conv_fwd.c):
 * PKHBT / PKHTB, SXTB16, SMLAD, SSUB16, QADD, SSAT, LDRD, VCVTR. TTE_PW_DSP_EMULATE (tests only:
 * tests/kernels/conv_fwd_dsp_emulated.c) compiles the same loops with C versions of the instructions, so that the
 * host tests check them. Other targets use the portable loops (TTE_PW_DSP 0). */
#if defined(__ARM_FEATURE_DSP) && !defined(TTE_PW_DSP_EMULATE)
#include <arm_acle.h>
#define TTE_PW_DSP 1
/* bytes 0, 1 of a and bytes 2, 3 of b << 16 | bytes 2, 3 of a >> 16 and bytes 2, 3 of b */
static inline uint32_t tte_pkhbt16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline uint32_t tte_pkhtb16(uint32_t b, uint32_t a) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
  return r;
}
static inline int32_t tte_sxtb16(uint32_t a) { return (int32_t)__sxtb16((int8x4_t)a); }
static inline int32_t tte_sxtb16_ror8(uint32_t a) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(a));
  return (int32_t)r;
}
#define tte_smlad(x, w, acc) __smlad((int16x2_t)(x), (int16x2_t)(w), (acc))
#define tte_ssub16(a, b) ((uint32_t)__ssub16((int16x2_t)(a), (int16x2_t)(b)))
#define tte_qadd(a, b) __qadd((a), (b))
/* the two words of *p (one LDRD: GCC splits 64-bit loads into two LDR for the Cortex-M7) */
static inline void tte_ldrd(const uint64_t* p, uint32_t* lo, uint32_t* hi) {
  __asm__("ldrd %0, %1, %2" : "=r"(*lo), "=r"(*hi) : "m"(*p));
}
static inline int32_t tte_ssat8(int32_t a) {
  int32_t r;
  __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(a));
  return r;
}
#if defined(__ARM_FP) && (__ARM_FP & 4)
/* VCVTR: float to int32, rounding as FPSCR says (to nearest even: rintf's), saturating (NaN: 0) */
static inline int32_t tte_cvtr(float f) {
  int32_t r;
  __asm__("vcvtr.s32.f32 %0, %1" : "=t"(r) : "t"(f));
  return r;
}
#else
static inline int32_t tte_cvtr(float f) {
  return f >= 2147483648.0f ? INT32_MAX : f < -2147483648.0f ? INT32_MIN : (int32_t)rintf(f);
}
#endif
#define tte_smlabb(x, w, acc) __smlabb((x), (w), (acc))
#define tte_smlabt(x, w, acc) __smlabt((x), (w), (acc))
#elif defined(TTE_PW_DSP_EMULATE)
#define TTE_PW_DSP 1
static inline uint32_t tte_pkhbt16(uint32_t a, uint32_t b) { return (a & 0xffffu) | (b << 16); }
static inline uint32_t tte_pkhtb16(uint32_t b, uint32_t a) { return (b & 0xffff0000u) | (a >> 16); }
static inline int32_t tte_half(int32_t lo, int32_t hi) { return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | ((uint32_t)(uint16_t)(int16_t)hi << 16)); }
static inline int32_t tte_sxtb16(uint32_t a) { return tte_half((int8_t)(a & 0xff), (int8_t)((a >> 16) & 0xff)); }
static inline int32_t tte_sxtb16_ror8(uint32_t a) { return tte_sxtb16((a >> 8) | (a << 24)); }
static inline int32_t tte_lo16(int32_t v) { return (int16_t)((uint32_t)v & 0xffffu); }
static inline int32_t tte_hi16(int32_t v) { return (int16_t)((uint32_t)v >> 16); }
static inline int32_t tte_smlad(int32_t x, int32_t w, int32_t acc) {
  return (int32_t)((uint32_t)acc + (uint32_t)(tte_lo16(x) * tte_lo16(w)) + (uint32_t)(tte_hi16(x) * tte_hi16(w)));
}
static inline uint32_t tte_ssub16(uint32_t a, uint32_t b) {
  return (uint32_t)(uint16_t)(int16_t)(tte_lo16((int32_t)a) - tte_lo16((int32_t)b)) |
         ((uint32_t)(uint16_t)(int16_t)(tte_hi16((int32_t)a) - tte_hi16((int32_t)b)) << 16);
}
static inline int32_t tte_qadd(int32_t a, int32_t b) {
  const int64_t v = (int64_t)a + b;
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}
static inline int32_t tte_ssat8(int32_t a) { return a < -128 ? -128 : a > 127 ? 127 : a; }
static inline void tte_ldrd(const uint64_t* p, uint32_t* lo, uint32_t* hi) {
  *lo = (uint32_t)*p;
  *hi = (uint32_t)(*p >> 32);
}
/* VCVTR on finite inputs (the only ones it gets): round to nearest even, saturate */
static inline int32_t tte_cvtr(float f) {
  return f >= 2147483648.0f ? INT32_MAX : f < -2147483648.0f ? INT32_MIN : (int32_t)rintf(f);
}
static inline int32_t tte_smlabb(int32_t x, int32_t w, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(tte_lo16(x) * tte_lo16(w))); }
static inline int32_t tte_smlabt(int32_t x, int32_t w, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)(tte_lo16(x) * tte_hi16(w))); }
#else
#define TTE_PW_DSP 0
#endif
#if TTE_PW_DSP
/* Four consecutive int8 (any alignment: Cortex-M7 and the host allow unaligned word loads). */
static inline uint32_t tte_load4(const int8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
#endif


#if TTE_PW_DSP
/* tte_rq_fp32 in fewer instructions, for the full range [-128, 127] and finite bias and eff (tte_rq_fast_ok;
 * then f below is never NaN): f = ((float)acc + bias) * eff as there, v = sat32(rint(f)) +sat y_zero (VCVTR
 * rounds to nearest even like rintf and saturates, QADD saturates), y = SSAT(v, 8), in range iff y == v. While
 * |rint(f)| < 2^23 the reference's float addition rint(f) + y_zero is exact, so both see the same integer;
 * beyond, both are out of range on the same side. */
static inline int tte_rq_fast_ok(const tte_rq* r) {
  return r->act_min == -128 && r->act_max == 127 && r->bias - r->bias == 0.0f &&
         r->eff - r->eff == 0.0f; /* inf - inf and NaN - NaN are NaN */
}
static inline int8_t tte_rq_fp32_fast(int32_t acc, const tte_rq* r, int* in_range) {
  const int32_t v = tte_qadd(tte_cvtr(((float)acc + r->bias) * r->eff), r->y_zero);
  const int32_t c = tte_ssat8(v);
  *in_range = c == v;
  return (int8_t)c;
}
#endif

/* The pointwise forward fast path (conv_fwd_pw.c) for p's windows, or 0 if it does not apply. */
int tte_internal_conv_pointwise(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask);

#endif /* TTE_CONV_INTERNAL_H_ */
