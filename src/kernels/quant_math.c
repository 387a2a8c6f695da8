/*
 * quant_math.c - TFLite's integer requantization arithmetic as tte's kernels use it
 * (../shared/tflite/reference/ARITHMETIC.md sections 1, 2 and 4; tflite-micro 90b983c2):
 *   tte_quantize_multiplier   real multiplier -> (Q31 multiplier, exponent), QuantizeMultiplier;
 *   tte_mbqm                  MultiplyByQuantizedMultiplier with gemmlowp's double rounding;
 *   tte_add_tflite_constants  the constants of TFLite's int8 ADD from the three scales;
 *   tte_mean_tflite_init      the constants of TFLite Micro's int8 MEAN (see tte_mean_s8).
 * The constants are computed by the host when it prepares a model; the kernels only apply them.
 */
#include <math.h>

#include "kernels/conv_internal.h"

void tte_quantize_multiplier(double real, int32_t* mult, int32_t* shift) {
  int e = 0;
  double q;
  int64_t q_fixed;
  if (real == 0.0) {
    *mult = 0;
    *shift = 0;
    return;
  }
  q = frexp(real, &e);                                 /* real = q * 2^e, |q| in [0.5, 1) */
  q_fixed = (int64_t)round(q * 2147483648.0);          /* round half away from zero (std::round) */
  if (q_fixed == ((int64_t)1 << 31)) { /* q rounded up to 1 */
    q_fixed /= 2;
    ++e;
  }
  if (e < -31) { /* every bit would be shifted out: TFLite flushes to zero */
    e = 0;
    q_fixed = 0;
  }
  *mult = (int32_t)q_fixed;
  *shift = (int32_t)e;
}

int32_t tte_mbqm(int32_t x, int32_t mult, int32_t shift) { return tte_mbqm_inline(x, mult, shift); }

void tte_add_tflite_constants(double s1, double s2, double sy, tte_add_params* p) {
  const double twice_max = 2.0 * (s1 > s2 ? s1 : s2);
  p->left_shift = 20;
  tte_quantize_multiplier(s1 / twice_max, &p->mult1, &p->shift1);
  tte_quantize_multiplier(s2 / twice_max, &p->mult2, &p->shift2);
  tte_quantize_multiplier(twice_max / (1048576.0 * sy), &p->mult_out, &p->shift_out);
}

void tte_mean_tflite_init(tte_mean_params* p, int32_t c, int32_t hw, float s_x, int32_t x_zero, float s_y,
                          int32_t y_zero) {
  p->c = c;
  p->hw = hw;
  p->x_zero = x_zero;
  p->y_zero = y_zero;
  p->same_quant = s_x == s_y && x_zero == y_zero;
  tte_quantize_multiplier((double)s_x / (double)s_y, &p->mult, &p->shift);
  p->s_x = s_x;
  p->s_y = s_y;
}
