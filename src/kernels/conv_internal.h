/*
 * conv_internal.h - internals shared by the kernel files (not part of the kernel API): the
 * requantization of one int32 accumulator in both modes (TTE_REQUANT_FP32 / TTE_REQUANT_TFLITE),
 * TFLite's MultiplyByQuantizedMultiplier inline, mask bits, and the entry of the pointwise forward fast
 * path (conv_fwd_pw.c) that conv_fwd.c dispatches to.
 *
 * Every forward path of every kernel requantizes through tte_rq_fp32 / tte_rq_tflite, so all paths
 * share one definition of the arithmetic. The fast paths take the mode as a compile-time constant
 * (TTE_SPECIALIZE bodies instantiated per mode), so no per-pixel branch on the mode remains.
 */
#ifndef TTE_CONV_INTERNAL_H_
#define TTE_CONV_INTERNAL_H_

#include <math.h>
#include <stdint.h>

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

/* The pointwise forward fast path (conv_fwd_pw.c) for p's windows, or 0 if it does not apply. */
int tte_internal_conv_pointwise(const tte_conv_params* p, const int8_t* x, int8_t* y, uint8_t* mask);

#endif /* TTE_CONV_INTERNAL_H_ */
