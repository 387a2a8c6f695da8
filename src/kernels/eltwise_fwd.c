/*
 * eltwise_fwd.c - int8 residual add (both requant modes), average pools (the .pkl models' global pool and
 * windowed 2D pools), TFLite's MEAN over H and W, and the channel gather that saves the selected input
 * channels of a trainable conv for its weight gradient.
 */
#include <math.h>
#include <string.h>

#include "kernels/conv_internal.h"

/* Clamp of an int32 value to [lo, hi] with its mask bit. */
static inline int8_t clamp_bit(int32_t v, int32_t lo, int32_t hi, int* in_range) {
  *in_range = v >= lo && v <= hi;
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

void tte_add_s8(const tte_add_params* p, const int8_t* x1, const int8_t* x2, int8_t* y, uint8_t* mask) {
  if (p->requant == TTE_REQUANT_TFLITE) {
    for (int32_t n = 0; n < p->n; ++n) {
      const int32_t a0 = (int32_t)((uint32_t)((int32_t)x1[n] - p->z1) << p->left_shift);
      const int32_t b0 = (int32_t)((uint32_t)((int32_t)x2[n] - p->z2) << p->left_shift);
      const int32_t a = tte_mbqm_inline(a0, p->mult1, p->shift1);
      const int32_t b = tte_mbqm_inline(b0, p->mult2, p->shift2);
      const int32_t s = (int32_t)((uint32_t)a + (uint32_t)b);
      const int32_t v = (int32_t)((uint32_t)tte_mbqm_inline(s, p->mult_out, p->shift_out) + (uint32_t)p->zy);
      int in_range;
      y[n] = clamp_bit(v, p->act_min, p->act_max, &in_range);
      if (mask) tte_set_mask(mask, (size_t)n, in_range);
    }
    return;
  }
  {
    const float zy = (float)p->zy, lo = (float)p->act_min, hi = (float)p->act_max;
    for (int32_t n = 0; n < p->n; ++n) {
      const float a = (float)((int32_t)x1[n] - p->z1) * p->s1;
      const float b = (float)((int32_t)x2[n] - p->z2) * p->s2;
      const float v = rintf((a + b) / p->sy) + zy;
      const int in_range = (v >= lo) && (v <= hi);
      y[n] = v < lo ? (int8_t)p->act_min : v > hi ? (int8_t)p->act_max : (int8_t)(int32_t)v;
      if (mask) tte_set_mask(mask, (size_t)n, in_range);
    }
  }
}

void tte_avgpool_s8(int32_t c, int32_t hw, const int8_t* x, int8_t* y) {
  for (int32_t ch = 0; ch < c; ++ch) {
    int32_t sum = 0;
    const int8_t* xc = x + (size_t)ch * (size_t)hw;
    for (int32_t p = 0; p < hw; ++p) sum += xc[p];
    y[ch] = (int8_t)(int32_t)rintf((float)sum / (float)hw);
  }
}

void tte_avgpool2d_s8(const tte_pool_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  const size_t in_plane = (size_t)p->in_h * (size_t)p->in_w, out_plane = (size_t)p->out_h * (size_t)p->out_w;
  const float lo = (float)p->act_min, hi = (float)p->act_max;
  for (int32_t ch = 0; ch < p->c; ++ch) {
    const int8_t* xc = x + (size_t)ch * in_plane;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->sh - p->pad_t;
      const int32_t r0 = y0 < 0 ? 0 : y0, r1 = y0 + p->kh > p->in_h ? p->in_h : y0 + p->kh;
      for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->sw - p->pad_l;
        const int32_t c0 = x0 < 0 ? 0 : x0, c1 = x0 + p->kw > p->in_w ? p->in_w : x0 + p->kw;
        const size_t n = (size_t)ch * out_plane + (size_t)oy * (size_t)p->out_w + (size_t)ox;
        int32_t sum = 0, count = 0;
        int in_range;
        for (int32_t r = r0; r < r1; ++r)
          for (int32_t c = c0; c < c1; ++c) {
            sum += xc[(size_t)r * (size_t)p->in_w + (size_t)c];
            ++count;
          }
        if (p->requant == TTE_REQUANT_TFLITE) {
          const int32_t v = count == 0 ? 0 : sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
          y[n] = clamp_bit(v, p->act_min, p->act_max, &in_range);
        } else {
          const float v = count == 0 ? 0.0f : rintf((float)sum / (float)count);
          in_range = v >= lo && v <= hi;
          y[n] = v < lo ? (int8_t)p->act_min : v > hi ? (int8_t)p->act_max : (int8_t)(int32_t)v;
        }
        if (mask) tte_set_mask(mask, n, in_range);
      }
    }
  }
}

/* TFLite Micro's int8 MEAN over the reduced axes H, W (tflite-micro 90b983c2):
 *   micro/kernels/reduce_common.cc, EvalIntegerMean: when the input's zero point and (float32) scale equal
 *     the output's, reference_ops::Mean; otherwise reference_ops::QuantizedMeanOrSum (compute_sum = false).
 *     The multiplier is QuantizeMultiplier((double)s_in / (double)s_out), from PrepareMeanOrSum.
 *   kernels/internal/reference/reduce.h, Mean<int8_t, int32_t>: temp_sum = int32 sum of the raw int8 values;
 *     output = (int8_t)(temp_sum / (int32_t)num_elements_in_axis), C division (truncation toward zero).
 *   reduce.h, QuantizedMeanOrSum: temp_sum as above; shift = 63 - CountLeadingZeros(n) (= floor(log2 n)),
 *     then min(shift, 32) and min(shift, 31 + output_shift); output_multiplier = (int64(output_multiplier)
 *     << shift) / n (int64 C division); output_shift -= shift; per output
 *     MultiplyByQuantizedMultiplier(temp_sum - input_zero_point * n, output_multiplier, output_shift)
 *     + output_zero_point, clamped to [-128, 127]. No fused activation. */
void tte_mean_s8(const tte_mean_params* p, const int8_t* x, int8_t* y, uint8_t* mask) {
  const int32_t n = p->hw;
  int32_t k = 0, mult = p->mult, shift = p->shift;
  if (!p->same_quant && n > 0) {
    while (k < 62 && ((int64_t)2 << k) <= (int64_t)n) ++k; /* floor(log2 n) */
    if (k > 32) k = 32;
    if (k > 31 + p->shift) k = 31 + p->shift;
    if (k < 0) k = 0; /* unreachable for TFLite's shifts (>= -31); keeps the shift below defined */
    mult = (int32_t)(((int64_t)p->mult * ((int64_t)1 << k)) / (int64_t)n);
    shift = p->shift - k;
  }
  for (int32_t ch = 0; ch < p->c; ++ch) {
    const int8_t* xc = x + (size_t)ch * (size_t)n;
    int32_t sum = 0;
    int in_range = 1;
    for (int32_t i = 0; i < n; ++i) sum += xc[i];
    if (n == 0) {
      y[ch] = 0;
    } else if (p->same_quant) {
      y[ch] = (int8_t)(sum / n);
    } else {
      const int32_t shifted = (int32_t)((int64_t)sum - (int64_t)p->x_zero * (int64_t)n);
      const int32_t v = (int32_t)((uint32_t)tte_mbqm_inline(shifted, mult, shift) + (uint32_t)p->y_zero);
      y[ch] = clamp_bit(v, -128, 127, &in_range);
    }
    if (mask) tte_set_mask(mask, (size_t)ch, in_range);
  }
}

void tte_gather_channels_s8(int32_t n, const uint16_t* sel, int32_t hw, const int8_t* x, int8_t* y) {
  for (int32_t j = 0; j < n; ++j) memcpy(y + (size_t)j * (size_t)hw, x + (size_t)sel[j] * (size_t)hw, (size_t)hw);
}
