// The TFLite arithmetic helpers and the non-conv ops of the kernel library on data made here:
//   - tte_quantize_multiplier / tte_mbqm on hand-computed values (ties, saturation, left shifts, flushing)
//     and tte_mbqm against the independent formulation of conv_reference.cc on random values;
//   - add (TFLITE against its formula, FP32 unchanged, activation ranges and mask), average pool 2D (TFLite's
//     rounding and in-image counts, FP32 global window == tte_avgpool_s8), mean (TFLite Micro's two paths on
//     hand-computed cases), pad, reshape in NHWC order, softmax constants;
//   - the backward of pool, mean, pad and reshape by adjointness (<A x, g> == <x, A^T g>) and, for the pool,
//     its documented summation order bit for bit.
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/conv_case.h"
#include "kernels/conv_reference.h"
#include "kernels/tte_kernels.h"

namespace tte::testing {
namespace {

int32_t Uniform(std::mt19937& rng, int32_t lo, int32_t hi) { return std::uniform_int_distribution<int32_t>(lo, hi)(rng); }

std::vector<int8_t> RandomInt8(std::mt19937& rng, size_t n) {
  std::vector<int8_t> v(n);
  for (int8_t& e : v) e = static_cast<int8_t>(Uniform(rng, -128, 127));
  return v;
}

bool Bit(const std::vector<uint8_t>& m, size_t n) { return (m[n >> 3] >> (n & 7)) & 1; }

// ------------------------------------------------------------------------------ TFLite arithmetic

TEST(QuantizeMultiplier, HandComputedValues) {
  int32_t m, s;
  tte_quantize_multiplier(0.0, &m, &s);
  EXPECT_EQ(m, 0);
  EXPECT_EQ(s, 0);
  tte_quantize_multiplier(1.0, &m, &s);  // 0.5 * 2^1
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 1);
  tte_quantize_multiplier(0.5, &m, &s);
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 0);
  tte_quantize_multiplier(0.75, &m, &s);  // 0.75 * 2^31 exactly
  EXPECT_EQ(m, 1610612736);
  EXPECT_EQ(s, 0);
  tte_quantize_multiplier(3.0 / 1024.0, &m, &s);  // 0.75 * 2^-8
  EXPECT_EQ(m, 1610612736);
  EXPECT_EQ(s, -8);
  // q = 1 - 2^-40 rounds to 2^31: halved, exponent + 1.
  tte_quantize_multiplier(1.0 - std::ldexp(1.0, -40), &m, &s);
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 1);
  // Half away from zero: q * 2^31 = 2^30 + 0.5 rounds up.
  tte_quantize_multiplier(0.5 + std::ldexp(1.0, -32), &m, &s);
  EXPECT_EQ(m, (1 << 30) + 1);
  EXPECT_EQ(s, 0);
  // Below 2^-32 every bit would be shifted out: flushed to (0, 0).
  tte_quantize_multiplier(std::ldexp(0.75, -32), &m, &s);
  EXPECT_EQ(m, 0);
  EXPECT_EQ(s, 0);
  tte_quantize_multiplier(std::ldexp(0.75, -31), &m, &s);
  EXPECT_EQ(m, 1610612736);
  EXPECT_EQ(s, -31);
}

TEST(Mbqm, HandComputedValues) {
  const int32_t half = 1 << 30;  // 0.5 in Q31
  EXPECT_EQ(tte_mbqm(100, half, 0), 50);
  EXPECT_EQ(tte_mbqm(1, half, 0), 1);     // SRDHM: 0.5 rounds up
  EXPECT_EQ(tte_mbqm(-1, half, 0), 0);    // -0.5 rounds up too (toward +inf)
  EXPECT_EQ(tte_mbqm(-3, half, 0), -1);   // -1.5 -> -1
  EXPECT_EQ(tte_mbqm(5, INT32_MAX, -1), 3);   // SRDHM(5, ~1) = 5, 5/2 = 2.5 -> 3 (away from zero)
  EXPECT_EQ(tte_mbqm(-5, INT32_MAX, -1), -3);
  EXPECT_EQ(tte_mbqm(7, INT32_MAX, -2), 2);   // 1.75 -> 2
  EXPECT_EQ(tte_mbqm(-6, INT32_MAX, -2), -2); // -1.5 -> -2
  EXPECT_EQ(tte_mbqm(3, half, 2), 6);         // left shift first: SRDHM(12, 0.5)
  EXPECT_EQ(tte_mbqm(INT32_MIN, INT32_MIN, 0), INT32_MAX);  // the one saturating case
  EXPECT_EQ(tte_mbqm(12345, 0, 0), 0);
  EXPECT_EQ(tte_mbqm(-1000000, 1610612736, -31), 0);
}

TEST(Mbqm, EqualsTheIndependentFormulation) {
  std::mt19937 rng(TestSeed());
  for (int i = 0; i < 200000; ++i) {
    const int32_t x = i % 3 == 0 ? Uniform(rng, -100000, 100000) : static_cast<int32_t>(rng());
    const int32_t m = i % 5 == 0 ? static_cast<int32_t>(rng()) : Uniform(rng, 1 << 30, INT32_MAX);
    const int32_t s = Uniform(rng, -31, i % 7 == 0 ? 8 : 0);
    ASSERT_EQ(tte_mbqm(x, m, s), RefMbqm(x, m, s)) << "x=" << x << " m=" << m << " shift=" << s;
  }
}

// ------------------------------------------------------------------------------------------------ add

TEST(AddS8, TfliteConstantsAndFormula) {
  tte_add_params p{};
  tte_add_tflite_constants(0.02, 0.02, 0.04, &p);  // equal scales: both inputs 0.5
  EXPECT_EQ(p.left_shift, 20);
  EXPECT_EQ(p.mult1, 1 << 30);
  EXPECT_EQ(p.shift1, 0);
  EXPECT_EQ(p.mult2, 1 << 30);
  EXPECT_EQ(p.shift2, 0);
  EXPECT_EQ(p.mult_out, 1 << 30);  // 0.04 / (2^20 0.04) = 2^-20 = 0.5 * 2^-19
  EXPECT_EQ(p.shift_out, -19);
  std::mt19937 rng(TestSeed());
  for (int it = 0; it < 50; ++it) {
    const double s1 = std::ldexp(1.0 + Uniform(rng, 0, 1000) / 1000.0, -Uniform(rng, 3, 9));
    const double s2 = std::ldexp(1.0 + Uniform(rng, 0, 1000) / 1000.0, -Uniform(rng, 3, 9));
    const double sy = std::ldexp(1.0 + Uniform(rng, 0, 1000) / 1000.0, -Uniform(rng, 3, 8));
    tte_add_params q{};
    tte_add_tflite_constants(s1, s2, sy, &q);
    q.n = 300;
    q.z1 = Uniform(rng, -128, 127);
    q.z2 = Uniform(rng, -128, 127);
    q.zy = Uniform(rng, -128, 127);
    q.act_min = Uniform(rng, -128, 0);
    q.act_max = Uniform(rng, q.act_min, 127);
    q.requant = TTE_REQUANT_TFLITE;
    const std::vector<int8_t> x1 = RandomInt8(rng, 300), x2 = RandomInt8(rng, 300);
    std::vector<int8_t> y(300);
    std::vector<uint8_t> mask(38);
    tte_add_s8(&q, x1.data(), x2.data(), y.data(), mask.data());
    for (int32_t n = 0; n < q.n; ++n) {
      const int32_t a = RefMbqm((x1[n] - q.z1) * (1 << 20), q.mult1, q.shift1);
      const int32_t b = RefMbqm((x2[n] - q.z2) * (1 << 20), q.mult2, q.shift2);
      const int32_t v = RefMbqm(a + b, q.mult_out, q.shift_out) + q.zy;
      ASSERT_EQ(y[n], std::clamp(v, q.act_min, q.act_max)) << n;
      ASSERT_EQ(Bit(mask, n), v >= q.act_min && v <= q.act_max) << n;
      // Close to the real sum (TFLite's rounding is within one step of it).
      const double real = ((x1[n] - q.z1) * s1 + (x2[n] - q.z2) * s2) / sy + q.zy;
      ASSERT_NEAR(v, real, 1.01) << n;
    }
  }
}

TEST(AddS8, Fp32ModeIsTheReferenceFormulaWithItsRange) {
  std::mt19937 rng(TestSeed());
  tte_add_params p{};
  p.n = 500;
  p.z1 = 5;
  p.z2 = -9;
  p.zy = 3;
  p.s1 = 0.031f;
  p.s2 = 0.047f;
  p.sy = 0.059f;
  p.requant = TTE_REQUANT_FP32;
  const std::vector<int8_t> x1 = RandomInt8(rng, 500), x2 = RandomInt8(rng, 500);
  for (int range = 0; range < 2; ++range) {
    p.act_min = range ? -20 : -128;
    p.act_max = range ? 40 : 127;
    std::vector<int8_t> y(500);
    std::vector<uint8_t> mask(63);
    tte_add_s8(&p, x1.data(), x2.data(), y.data(), mask.data());
    for (int32_t n = 0; n < p.n; ++n) {
      const float v = std::nearbyint(((x1[n] - p.z1) * p.s1 + (x2[n] - p.z2) * p.s2) / p.sy) + static_cast<float>(p.zy);
      ASSERT_EQ(y[n], static_cast<int8_t>(std::clamp(v, static_cast<float>(p.act_min), static_cast<float>(p.act_max))));
      ASSERT_EQ(Bit(mask, n), v >= p.act_min && v <= p.act_max);
    }
  }
}

// ------------------------------------------------------------------------------------- average pool

TEST(AvgPool2d, TfliteRoundsHalfAwayAndCountsInImageTaps) {
  // One channel 2x3, window 2x2, stride 1, pad top/left 1: window (0,0) holds x[0][0] only.
  const std::vector<int8_t> x = {-3, 1, 4, 2, -1, -6};
  tte_pool_params p{1, 2, 3, 2, 3, 2, 2, 1, 1, 1, 1, -128, 127, TTE_REQUANT_TFLITE};
  std::vector<int8_t> y(6);
  tte_avgpool2d_s8(&p, x.data(), y.data(), nullptr);
  // sums / counts: (-3)/1, (-3+1)/2, (1+4)/2, (-3+2)/2, (-3+1+2-1)/4, (1+4-1-6)/4
  // -> -3, -1 (-1 exactly), 2.5 -> 3, -0.5 -> -1, -0.25 -> 0, -0.5 -> -1.
  EXPECT_EQ(y, (std::vector<int8_t>{-3, -1, 3, -1, 0, -1}));
  // FP32 mode rounds half to even: 2.5 -> 2, -0.5 -> -0.
  p.requant = TTE_REQUANT_FP32;
  tte_avgpool2d_s8(&p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{-3, -1, 2, 0, 0, 0}));
  // A narrow activation range clamps and clears the mask bit.
  p.requant = TTE_REQUANT_TFLITE;
  p.act_min = -1;
  p.act_max = 2;
  std::vector<uint8_t> mask(1, 0);
  tte_avgpool2d_s8(&p, x.data(), y.data(), mask.data());
  EXPECT_EQ(y, (std::vector<int8_t>{-1, -1, 2, -1, 0, -1}));
  EXPECT_EQ(mask[0], 0x3a);  // outputs 0 (-3) and 2 (3) clamped, the others inside
}

TEST(AvgPool2d, Fp32GlobalWindowEqualsTheGlobalPool) {
  std::mt19937 rng(TestSeed());
  for (int it = 0; it < 50; ++it) {
    const int32_t c = Uniform(rng, 1, 20), h = Uniform(rng, 1, 12), w = Uniform(rng, 1, 12);
    const std::vector<int8_t> x = RandomInt8(rng, static_cast<size_t>(c) * h * w);
    tte_pool_params p{c, h, w, 1, 1, h, w, 1, 1, 0, 0, -128, 127, TTE_REQUANT_FP32};
    std::vector<int8_t> a(c), b(c);
    tte_avgpool_s8(c, h * w, x.data(), a.data());
    tte_avgpool2d_s8(&p, x.data(), b.data(), nullptr);
    ASSERT_EQ(a, b);
    // The backward of the global window is the global pool's backward, bit for bit.
    std::vector<float> g(c), ga(static_cast<size_t>(c) * h * w), gb(ga.size());
    FillGradient(rng, &g);
    g[0] = -0.0f;
    tte_avgpool_backward_f32(c, h * w, g.data(), ga.data());
    tte_avgpool2d_backward_f32(&p, g.data(), gb.data());
    ASSERT_EQ(0, std::memcmp(ga.data(), gb.data(), ga.size() * sizeof(float)));
  }
}

// Random pool geometry (windows overlapping or not, padding, strides).
tte_pool_params RandomPool(std::mt19937& rng) {
  tte_pool_params p{};
  p.c = Uniform(rng, 1, 4);
  p.kh = Uniform(rng, 1, 4);
  p.kw = Uniform(rng, 1, 4);
  p.sh = Uniform(rng, 1, 3);
  p.sw = Uniform(rng, 1, 3);
  p.pad_t = Uniform(rng, 0, p.kh - 1);
  p.pad_l = Uniform(rng, 0, p.kw - 1);
  p.in_h = Uniform(rng, 1, 10);
  p.in_w = Uniform(rng, 1, 10);
  // SAME-like or VALID-like output sizes whose windows all touch the input.
  p.out_h = std::max(1, (p.in_h + p.pad_t - 1) / p.sh + 1 - Uniform(rng, 0, 1));
  p.out_w = std::max(1, (p.in_w + p.pad_l - 1) / p.sw + 1 - Uniform(rng, 0, 1));
  p.act_min = -128;
  p.act_max = 127;
  p.requant = Uniform(rng, 0, 1) ? TTE_REQUANT_TFLITE : TTE_REQUANT_FP32;
  return p;
}

TEST(AvgPool2d, BackwardIsTheAdjointInItsDocumentedOrder) {
  std::mt19937 rng(TestSeed());
  for (int it = 0; it < 200; ++it) {
    const tte_pool_params p = RandomPool(rng);
    const size_t in_n = static_cast<size_t>(p.c) * p.in_h * p.in_w, out_n = static_cast<size_t>(p.c) * p.out_h * p.out_w;
    std::vector<float> g(out_n), gx(in_n, 123.0f);
    FillGradient(rng, &g);
    tte_avgpool2d_backward_f32(&p, g.data(), gx.data());
    // Definition: the windows containing each position, oy then ox ascending, from -0.0f (+0 if none).
    std::vector<double> x(in_n);
    for (double& v : x) v = Uniform(rng, -100, 100);
    double lhs = 0, rhs = 0, scale = 1;
    std::vector<float> want(in_n, 0.0f);
    std::vector<int> terms(in_n, 0);
    std::vector<float> acc(in_n, -0.0f);
    for (int32_t ch = 0; ch < p.c; ++ch)
      for (int32_t oy = 0; oy < p.out_h; ++oy)
        for (int32_t ox = 0; ox < p.out_w; ++ox) {
          std::vector<size_t> taps;
          for (int32_t r = oy * p.sh - p.pad_t; r < oy * p.sh - p.pad_t + p.kh; ++r)
            for (int32_t q = ox * p.sw - p.pad_l; q < ox * p.sw - p.pad_l + p.kw; ++q)
              if (r >= 0 && r < p.in_h && q >= 0 && q < p.in_w) taps.push_back((static_cast<size_t>(ch) * p.in_h + r) * p.in_w + q);
          const float gv = g[(static_cast<size_t>(ch) * p.out_h + oy) * p.out_w + ox];
          double ax = 0;
          for (size_t t : taps) ax += x[t];
          if (!taps.empty()) lhs += ax / static_cast<double>(taps.size()) * gv;
          scale += std::fabs(gv) * 100;
          for (size_t t : taps) {
            acc[t] += gv / static_cast<float>(taps.size());
            ++terms[t];
          }
        }
    for (size_t i = 0; i < in_n; ++i) want[i] = terms[i] ? acc[i] : 0.0f;
    ASSERT_EQ(0, std::memcmp(want.data(), gx.data(), in_n * sizeof(float))) << "order, case " << it;
    for (size_t i = 0; i < in_n; ++i) rhs += x[i] * gx[i];
    ASSERT_NEAR(lhs, rhs, 1e-5 * scale) << "adjoint, case " << it;
  }
}

// ---------------------------------------------------------------------------------------------- mean

TEST(Mean, SameQuantizationTruncatesTheIntegerMean) {
  tte_mean_params p{};
  tte_mean_tflite_init(&p, 2, 3, 0.1f, 4, 0.1f, 4);
  EXPECT_EQ(p.same_quant, 1);
  const std::vector<int8_t> x = {1, 2, 2, -1, -2, -2};
  std::vector<int8_t> y(2);
  tte_mean_s8(&p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{1, -1}));  // 5/3 -> 1, -5/3 -> -1 (toward zero)
}

TEST(Mean, RescaledPathMatchesHandComputedValues) {
  tte_mean_params p{};
  // s_x / s_y = 2: (2^30, 2); n = 4: k = 2, multiplier (2^30 * 4) / 4 = 2^30, shift 0.
  tte_mean_tflite_init(&p, 1, 4, 0.5f, 1, 0.25f, -3);
  EXPECT_EQ(p.same_quant, 0);
  EXPECT_EQ(p.mult, 1 << 30);
  EXPECT_EQ(p.shift, 2);
  std::vector<int8_t> x = {10, 11, 12, 14}, y(1);
  tte_mean_s8(&p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y[0], 19);  // sum 47 - 1*4 = 43; SRDHM(43, 2^30) = 21.5 -> 22; + (-3)
  // Equal scales, different zero points; n = 3: k = 1, multiplier 2^31 / 3 truncated = 715827882, shift 0.
  tte_mean_tflite_init(&p, 1, 3, 0.1f, 0, 0.1f, 2);
  EXPECT_EQ(p.same_quant, 0);
  x = {5, 6, 9};
  tte_mean_s8(&p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y[0], 9);  // floor(20 * 715827882 / 2^31 + 1/2) = 7; + 2
  // Clamped: 8 x the mean of 255s; the mask bit says so.
  tte_mean_tflite_init(&p, 2, 5, 0.8f, -128, 0.1f, 0);
  x = {127, 127, 127, 127, 127, -128, -128, -128, -128, -128};
  y.resize(2);
  std::vector<uint8_t> mask(1, 0);
  tte_mean_s8(&p, x.data(), y.data(), mask.data());
  EXPECT_EQ(y[0], 127);
  EXPECT_EQ(y[1], 0);
  EXPECT_EQ(mask[0] & 3, 2);
}

TEST(Mean, BackwardIsTheAdjointOfTheRealMean) {
  std::mt19937 rng(TestSeed());
  for (int it = 0; it < 50; ++it) {
    tte_mean_params p{};
    const int32_t c = Uniform(rng, 1, 8), hw = Uniform(rng, 1, 60);
    tte_mean_tflite_init(&p, c, hw, 0.01f * Uniform(rng, 1, 50), 0, 0.01f * Uniform(rng, 1, 50), 0);
    std::vector<float> g(c), gx(static_cast<size_t>(c) * hw);
    FillGradient(rng, &g);
    tte_mean_backward_f32(&p, g.data(), gx.data());
    std::vector<double> x(gx.size());
    for (double& v : x) v = Uniform(rng, -128, 127);
    double lhs = 0, rhs = 0, scale = 0;
    for (int32_t ch = 0; ch < c; ++ch) {
      double s = 0;
      for (int32_t i = 0; i < hw; ++i) s += x[static_cast<size_t>(ch) * hw + i];
      lhs += s / hw * p.s_x / p.s_y * g[ch];  // y (in the integer domain) = s_x / s_y * mean(x)
      scale += std::fabs(s / hw * p.s_x / p.s_y * g[ch]);
    }
    for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * gx[i];
    ASSERT_NEAR(lhs, rhs, 1e-5 * (scale + 1));
  }
}

// ------------------------------------------------------------------------------------ pad, reshape

TEST(Pad, PlacesTheInputAndCropsTheGradient) {
  tte_pad_params p{2, 1, 2, {1, 0}, {0, 1}, {2, 1}, -7};
  const std::vector<int8_t> x = {1, 2, 3, 4};  // [2][1][2]
  std::vector<int8_t> y(3 * 2 * 5);
  tte_pad_s8(&p, x.data(), y.data());
  std::vector<int8_t> want(30, -7);
  want[(1 * 2 + 0) * 5 + 2] = 1;
  want[(1 * 2 + 0) * 5 + 3] = 2;
  want[(2 * 2 + 0) * 5 + 2] = 3;
  want[(2 * 2 + 0) * 5 + 3] = 4;
  EXPECT_EQ(y, want);
  std::mt19937 rng(TestSeed());
  std::vector<float> g(30), gx(4);
  FillGradient(rng, &g);
  tte_pad_backward_f32(&p, g.data(), gx.data());
  EXPECT_EQ(gx, (std::vector<float>{g[12], g[13], g[22], g[23]}));
}

TEST(ReshapeHwc, MovesElementsInNhwcOrderAndBack) {
  // x [2][1][3] CHW: channel 0 = 0 1 2, channel 1 = 10 11 12; NHWC order 0 10 1 11 2 12.
  const std::vector<int8_t> x = {0, 1, 2, 10, 11, 12};
  std::vector<int8_t> y(6);
  tte_reshape_hwc_s8(2, 1, 3, 6, 1, 1, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{0, 10, 1, 11, 2, 12}));
  // To [3][1][2]: NHWC [1][2][3] = pixels (0 10 1), (11 2 12) -> CHW channel c = (pixel0[c], pixel1[c]).
  tte_reshape_hwc_s8(2, 1, 3, 3, 1, 2, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{0, 11, 10, 2, 1, 12}));
  // H = W = 1 on both sides: the identity.
  tte_reshape_hwc_s8(6, 1, 1, 6, 1, 1, x.data(), y.data());
  EXPECT_EQ(y, x);
  // The backward is the inverse permutation (the adjoint of a permutation), on random shapes.
  std::mt19937 rng(TestSeed());
  for (int it = 0; it < 50; ++it) {
    const int32_t c = Uniform(rng, 1, 5), h = Uniform(rng, 1, 5), w = Uniform(rng, 1, 5);
    const int32_t n = c * h * w;
    int32_t oc = n, oh = 1, ow = 1;
    for (int32_t d = 2; d <= n; ++d)
      if (n % d == 0 && Uniform(rng, 0, 1)) {
        oc = n / d;
        oh = d;
        break;
      }
    std::vector<int8_t> xi(static_cast<size_t>(n)), yi(xi.size());
    std::iota(xi.begin(), xi.end(), 0);
    tte_reshape_hwc_s8(c, h, w, oc, oh, ow, xi.data(), yi.data());
    std::vector<float> g(yi.size()), gx(xi.size());
    for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(yi[i]);
    tte_reshape_hwc_backward_f32(c, h, w, oc, oh, ow, g.data(), gx.data());
    for (size_t i = 0; i < gx.size(); ++i) ASSERT_EQ(gx[i], static_cast<float>(xi[i]));
  }
}

// ------------------------------------------------------------------------------------------ softmax

TEST(Softmax, ConstantsAndProperties) {
  tte_softmax_params p{};
  tte_softmax_tflite_init(&p, 5, 1.0, static_cast<double>(1.0f / 255.0f));
  EXPECT_EQ(p.input_mult, 1077952640);  // QuantizeMultiplier(2^26 / 255) = (0.50196 * 2^31, 19)
  EXPECT_EQ(p.input_shift, 19);
  EXPECT_EQ(p.diff_min, -3968);          // floor(31 * 2^26 / 2^19)
  // Equal inputs share the probability; larger inputs never get less; outputs sum to about 1 (256 steps).
  std::vector<int8_t> x = {7, 7, 7, 7, 7}, y(5);
  tte_softmax_s8(&p, x.data(), y.data());
  for (int8_t v : y) EXPECT_EQ(v, y[0]);
  EXPECT_NEAR(y[0], 256 / 5 - 128, 1);
  x = {-128, -50, 0, 60, 127};
  tte_softmax_s8(&p, x.data(), y.data());
  int sum = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (i) {
      EXPECT_LE(y[i - 1], y[i]);
    }
    sum += y[i] + 128;
  }
  EXPECT_NEAR(sum, 256, 3);
}

}  // namespace
}  // namespace tte::testing
