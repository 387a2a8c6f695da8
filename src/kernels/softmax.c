/*
 * softmax.c - TFLite's int8 SOFTMAX (int8 in, int8 out with scale 1/256 and zero point -128), bit for bit
 * as tflite-micro's reference kernel computes it (kernels/internal/reference/softmax.h, Softmax<int8_t,
 * int8_t>; the fixed-point exp and reciprocal of gemmlowp's fixedpoint/fixedpoint.h; the constants of
 * micro/kernels/softmax_common.cc, PreprocessSoftmaxScaling and CalculateInputRadius of
 * kernels/internal/quantization_util.cc). Used to reproduce a TFLite model's final SOFTMAX; training
 * replaces it by the fp32 head and its loss.
 *
 * Fixed-point formats are named Qm (m integer bits, 31 - m fractional bits, int32 raw values); a product
 * of Qa and Qb is SRDHM of the raws and has a + b integer bits.
 */
#include <math.h>

#include "kernels/conv_internal.h"

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static int32_t srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  {
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
  }
}

/* gemmlowp RoundingDivideByPOT (round to nearest, ties away from zero), 0 <= e <= 31. */
static int32_t rdbpot(int32_t x, int32_t e) {
  const int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<e> for e > 0: a saturating left shift. */
static int32_t sat_shl(int32_t x, int32_t e) {
  const int32_t threshold = (int32_t)(((int64_t)1 << (31 - e)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << e);
}

static int32_t add_wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* exp(a) for a in [-1/4, 0), Q0 in and out: Taylor expansion around -1/8. */
static int32_t exp_quarter(int32_t a) {
  const int32_t constant_term = 1895147668; /* exp(-1/8) */
  const int32_t one_third = 715827883;
  const int32_t x = add_wrap(a, (int32_t)1 << 28); /* a + 1/8 */
  const int32_t x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
  const int32_t x4_over_4 = rdbpot(x4, 2);
  const int32_t poly = rdbpot(add_wrap(srdhm(add_wrap(x4_over_4, x3), one_third), x2), 1);
  return add_wrap(constant_term, srdhm(constant_term, add_wrap(x, poly)));
}

/* exp(a) for a <= 0, a in Q5 (26 fractional bits), result Q0 (gemmlowp exp_on_negative_values<5>). */
static int32_t exp_negative_q5(int32_t a) {
  static const int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  const int32_t quarter = (int32_t)1 << 24, mask = quarter - 1;
  const int32_t a_mod = (a & mask) - quarter; /* in [-1/4, 0) */
  const int32_t remainder = (int32_t)((uint32_t)a_mod - (uint32_t)a);
  int32_t result = exp_quarter(sat_shl(a_mod, 5)); /* Rescale<0> of a Q5 value */
  for (int32_t k = 0; k < 7; ++k) /* exponents -2 .. 4: bit 26 + exponent of the remainder */
    if (remainder & ((int32_t)1 << (24 + k))) result = srdhm(result, kMultipliers[k]);
  return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0 (gemmlowp one_over_one_plus_x_for_x_in_0_1, Newton-Raphson in Q2). */
static int32_t one_over_one_plus(int32_t a) {
  const int64_t sum = (int64_t)a + INT32_MAX;
  const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2); /* RoundingHalfSum(a, One) */
  int32_t x = add_wrap(1515870810, srdhm(half_denominator, -1010580540)); /* 48/17 - 32/17 d */
  for (int i = 0; i < 3; ++i) {
    const int32_t one_minus = (int32_t)((uint32_t)((int32_t)1 << 29) - (uint32_t)srdhm(half_denominator, x));
    x = add_wrap(x, sat_shl(srdhm(x, one_minus), 2));
  }
  return sat_shl(x, 1); /* Rescale<0>(ExactMulByPot<-1>(x)) */
}

static int32_t count_leading_zeros(uint32_t v) {
  int32_t n = 0;
  if (v == 0) return 32;
  while (!(v & 0x80000000u)) {
    v <<= 1;
    ++n;
  }
  return n;
}

void tte_softmax_s8(const tte_softmax_params* p, const int8_t* x, int8_t* y) {
  int32_t max_in_row = -128, sum_of_exps = 0; /* sum in Q12 */
  for (int32_t c = 0; c < p->n; ++c)
    if (x[c] > max_in_row) max_in_row = x[c];
  for (int32_t c = 0; c < p->n; ++c) {
    const int32_t diff = (int32_t)x[c] - max_in_row;
    if (diff >= p->diff_min) {
      const int32_t scaled = srdhm((int32_t)((uint32_t)diff << p->input_shift), p->input_mult);
      sum_of_exps = add_wrap(sum_of_exps, rdbpot(exp_negative_q5(scaled), 12)); /* Rescale<12> */
    }
  }
  {
    /* GetReciprocal(sum, 12): 1 / sum as a Q0 scale and a power of two */
    const int32_t headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
    const int32_t num_bits_over_unit = 12 - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
    const int32_t shifted_scale = one_over_one_plus(shifted_sum_minus_one);
    const int32_t exponent = num_bits_over_unit + 31 - 8;
    for (int32_t c = 0; c < p->n; ++c) {
      const int32_t diff = (int32_t)x[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled = srdhm((int32_t)((uint32_t)diff << p->input_shift), p->input_mult);
        const int32_t unsat = rdbpot(srdhm(shifted_scale, exp_negative_q5(scaled)), exponent);
        const int32_t v = unsat - 128;
        y[c] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
      } else {
        y[c] = -128;
      }
    }
  }
}

void tte_softmax_tflite_init(tte_softmax_params* p, int32_t n, double beta, double x_scale) {
  const int32_t integer_bits = 5; /* kScaledDiffIntegerBits */
  double real = beta * x_scale * (double)((int64_t)1 << (31 - integer_bits));
  const double max_real = (double)(((int64_t)1 << 31) - 1);
  if (real > max_real) real = max_real;
  p->n = n;
  tte_quantize_multiplier(real, &p->input_mult, &p->input_shift); /* QuantizeMultiplierGreaterThanOne */
  {
    /* CalculateInputRadius(5, input_shift): floor(((1 << 5) - 1) * 2^(31 - 5) / 2^input_shift) */
    const double radius = 31.0 * (double)((int64_t)1 << (31 - integer_bits)) / (double)((int64_t)1 << p->input_shift);
    p->diff_min = -(int32_t)floor(radius);
  }
}
