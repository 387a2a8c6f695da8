// Spec tests of tte_math.c (tte_expf, tte_logf, tte_fmaf) and of the optimizer element functions
// (optim.c): master mode (one fused rounding, round-half-even int8 copy with clamp), device mode (round
// half to even, stochastic rounding that is unbiased on average, int8 and int32 saturation), QAS
// division, grad_scale, momentum; and the fused weight-gradient updates vs gradient buffers + apply.
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/conv_case.h"
#include "kernels/tte_kernels.h"

namespace tte::testing {
namespace {

// Distance in units in the last place of `got` from the exact value.
double UlpError(float got, double exact) {
  const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(exact)) - 23);
  return std::fabs(static_cast<double>(got) - exact) / std::max(ulp, std::ldexp(1.0, -149));
}

TEST(TteMath, ExpfIsWithinAboutOneUlpAndHandlesSpecialValues) {
  std::mt19937 rng(TestSeed());
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const float x = std::uniform_real_distribution<float>(-87.0f, 88.5f)(rng);
    worst = std::max(worst, UlpError(tte_expf(x), std::exp(static_cast<double>(x))));
  }
  EXPECT_LE(worst, 1.5) << "max error " << worst << " ulp";  // measured: 1.004
  EXPECT_EQ(tte_expf(0.0f), 1.0f);
  EXPECT_EQ(tte_expf(100.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(tte_expf(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(tte_expf(-200.0f), 0.0f);
  EXPECT_EQ(tte_expf(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_TRUE(std::isnan(tte_expf(std::numeric_limits<float>::quiet_NaN())));
  // Subnormal results (one rounding): close to the exact value in absolute terms.
  EXPECT_NEAR(tte_expf(-100.0f), std::exp(-100.0), std::ldexp(1.0, -149));
  EXPECT_GT(tte_expf(-103.0f), 0.0f);
}

TEST(TteMath, LogfIsWithinOneUlpAndHandlesSpecialValues) {
  std::mt19937 rng(TestSeed());
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = static_cast<uint32_t>(rng()) & 0x7f7fffffu;  // positive finite, subnormals included
    if (bits == 0) bits = 1;
    float x;
    std::memcpy(&x, &bits, sizeof x);
    const double exact = std::log(static_cast<double>(x));
    if (std::fabs(exact) < 1e-3) continue;  // near 1 the absolute error matters; checked below
    worst = std::max(worst, UlpError(tte_logf(x), exact));
  }
  EXPECT_LE(worst, 1.0) << "max error " << worst << " ulp";  // measured: 0.78
  for (float x : {0.999f, 1.0001f, 1.0f + 1e-6f})
    EXPECT_NEAR(tte_logf(x), std::log(static_cast<double>(x)), 1e-7 * std::fabs(std::log(static_cast<double>(x))) + 1e-12);
  EXPECT_EQ(tte_logf(1.0f), 0.0f);
  EXPECT_EQ(tte_logf(0.0f), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(tte_logf(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(tte_logf(-1.0f)));
  EXPECT_TRUE(std::isnan(tte_logf(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_NEAR(tte_logf(std::numeric_limits<float>::denorm_min()), std::log(std::ldexp(1.0, -149)), 1e-5);
  EXPECT_NEAR(tte_expf(tte_logf(123.456f)), 123.456f, 123.456f * 3e-7f);
}

TEST(TteMath, FmafRoundsOnce) {
  // a*b = 1 + 2^-11 + 2^-24 exactly: mul then add loses the 2^-24, fma keeps it.
  const float a = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
  EXPECT_EQ(tte_fmaf(a, a, c), 0x1p-24f);
  volatile float prod = a * a;
  EXPECT_EQ(prod + c, 0.0f);
  std::mt19937 rng(TestSeed());
  std::normal_distribution<float> normal(0.0f, 10.0f);
  for (int i = 0; i < 10000; ++i) {
    const float x = normal(rng), y = normal(rng), z = normal(rng);
    ASSERT_EQ(tte_fmaf(x, y, z), std::fma(x, y, z));
  }
}

// One trainable weight element (and bias channel) with every optimizer buffer.
struct Elem {
  int8_t w = 0;
  float w_master = 0, w_mom = 0, b_master = 0, b_mom = 0, qas_w = 1, qas_b = 1;
  int32_t b = 0;
  uint32_t rng = 1;
  uint16_t sel = 0;
  tte_sgd opt{};
  tte_conv_train t{};
  Elem(int32_t store, int32_t rounding, float lr, bool momentum) {
    opt.lr = lr;
    opt.momentum = momentum ? 0.5f : 0.0f;
    opt.store = store;
    opt.rounding = rounding;
    opt.rng = &rng;
    opt.grad_scale = 1.0f;
    t.cout = 1;
    t.n_train = 1;
    t.kk = 1;
    t.sel = &sel;
    t.qas_w = &qas_w;
    t.qas_b = &qas_b;
    t.w = &w;
    t.w_master = &w_master;
    t.w_mom = momentum ? &w_mom : nullptr;
    t.b = &b;
    t.b_master = &b_master;
    t.b_mom = momentum ? &b_mom : nullptr;
  }
};

TEST(SgdMaster, UpdatesTheMasterWithOneRoundingAndRoundsTheInt8CopyHalfToEven) {
  Elem e(TTE_STORE_MASTER, TTE_ROUND_NEAREST, 0, false);
  // master = fmaf(-lr, step, master) with step = (g * grad_scale) / qas: the case where fma differs.
  const float a = 1.0f + 0x1p-12f;
  e.opt.lr = -a;  // -lr = a
  e.qas_w = 1.0f;
  e.w_master = -(1.0f + 0x1p-11f);
  tte_sgd_weight(&e.opt, &e.t, 0, 0, a);
  EXPECT_EQ(e.w_master, 0x1p-24f);
  EXPECT_EQ(e.w, 0);
  // The int8 copy: rint (ties to even) and clamp.
  e.opt.lr = 1.0f;
  const struct {
    float master, want_master;
    int8_t want;
  } cases[] = {{3.0f, 2.5f, 2}, {4.0f, 3.5f, 4}, {-2.0f, -2.5f, -2}, {-3.0f, -3.5f, -4}, {200.5f, 200.0f, 127},
               {-299.5f, -300.0f, -128}};
  for (const auto& c : cases) {
    e.w_master = c.master;
    tte_sgd_weight(&e.opt, &e.t, 0, 0, 0.5f);  // master - 0.5
    EXPECT_EQ(e.w_master, c.want_master);
    EXPECT_EQ(e.w, c.want) << c.want_master;
  }
  // QAS divisor and grad_scale: step = (g * grad_scale) / qas.
  e.w_master = 10.0f;
  e.qas_w = 4.0f;
  e.opt.grad_scale = 0.5f;
  e.opt.lr = 2.0f;
  tte_sgd_weight(&e.opt, &e.t, 0, 0, 8.0f);  // step = 4 / 4 = 1, master = 10 - 2
  EXPECT_EQ(e.w_master, 8.0f);
  // Bias: fmaf on the fp32 master.
  e.qas_b = 2.0f;
  e.b_master = 1.0f;
  tte_sgd_bias(&e.opt, &e.t, 0, 3.0f);  // step = 1.5 / 2 = 0.75, master = 1 - 1.5
  EXPECT_EQ(e.b_master, -0.5f);
}

TEST(SgdDevice, RoundsHalfToEvenAndSaturates) {
  Elem e(TTE_STORE_DEVICE, TTE_ROUND_NEAREST, 1.0f, false);
  const struct {
    int8_t w;
    float g;  // update d = rint(-g)
    int8_t want;
  } cases[] = {{0, -0.5f, 0}, {0, -1.5f, 2}, {0, -2.5f, 2}, {0, 0.5f, 0}, {0, 1.5f, -2}, {10, -0.49f, 10},
               {120, -20.0f, 127}, {-120, 20.0f, -128}, {5, -1e30f, 127}, {5, 1e30f, -128}};
  for (const auto& c : cases) {
    e.w = c.w;
    tte_sgd_weight(&e.opt, &e.t, 0, 0, c.g);
    EXPECT_EQ(e.w, c.want) << "w " << int{c.w} << " g " << c.g;
  }
  EXPECT_EQ(e.rng, 1u) << "round-to-nearest consumes no random numbers";
  // int32 bias saturation, also for updates beyond +-2^32.
  const struct {
    int32_t b;
    float g;
    int32_t want;
  } bias_cases[] = {{INT32_MAX - 5, -10.0f, INT32_MAX}, {INT32_MIN + 3, 10.0f, INT32_MIN}, {0, -1e12f, INT32_MAX},
                    {0, 1e12f, INT32_MIN},          {100, -2.5f, 102},                {INT32_MIN, -5e9f, INT32_MAX}};
  for (const auto& c : bias_cases) {
    e.b = c.b;
    tte_sgd_bias(&e.opt, &e.t, 0, c.g);
    EXPECT_EQ(e.b, c.want) << "b " << c.b << " g " << c.g;
  }
}

TEST(SgdDevice, StochasticRoundingIsUnbiasedAndAdvancesTheStreamOncePerElement) {
  for (float v : {0.3f, -0.3f, 2.75f, -7.125f}) {
    Elem e(TTE_STORE_DEVICE, TTE_ROUND_STOCHASTIC, 1.0f, false);
    e.rng = 12345;
    const int n = 200000;
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      e.w = 0;
      const uint32_t before = e.rng;
      tte_sgd_weight(&e.opt, &e.t, 0, 0, -v);  // update -lr * step = v
      ASSERT_EQ(e.rng, tte_xorshift32(before));
      ASSERT_TRUE(e.w == static_cast<int8_t>(std::floor(v)) || e.w == static_cast<int8_t>(std::floor(v) + 1));
      sum += e.w;
    }
    const double frac = v - std::floor(v), sigma = std::sqrt(frac * (1 - frac) / n);
    EXPECT_NEAR(sum / n, v, 5 * sigma + 1e-6) << "mean of stochastic roundings of " << v;
  }
}

TEST(SgdMomentum, FirstStepIsTheGradientThenAccumulates) {
  for (int32_t store : {TTE_STORE_MASTER, TTE_STORE_DEVICE}) {
    Elem e(store, TTE_ROUND_NEAREST, 1.0f, true);
    e.w_master = 0.0f;
    tte_sgd_weight(&e.opt, &e.t, 0, 0, 3.0f);
    EXPECT_EQ(e.w_mom, 3.0f);
    tte_sgd_weight(&e.opt, &e.t, 0, 0, 1.0f);
    EXPECT_EQ(e.w_mom, 0.5f * 3.0f + 1.0f);
    if (store == TTE_STORE_MASTER) {
      EXPECT_EQ(e.w_master, -3.0f - 2.5f);
    } else {
      EXPECT_EQ(e.w, -3 - 2);  // rint(-2.5) = -2
    }
  }
  // tte_sgd_f32 (the head): p = fmaf(-lr, m * mom + g * grad_scale, p).
  tte_sgd opt{};
  opt.lr = 0.5f;
  opt.momentum = 0.9f;
  opt.grad_scale = 0.25f;
  float p = 1.0f, mom = 2.0f;
  tte_sgd_f32(&opt, &p, &mom, 4.0f);
  EXPECT_EQ(mom, 0.9f * 2.0f + 1.0f);
  EXPECT_EQ(p, tte_fmaf(-0.5f, 0.9f * 2.0f + 1.0f, 1.0f));
}

// Fused updates (element by element in the backward) equal gradient buffers + tte_conv_apply_update,
// including the stochastic-rounding stream, when the bias is updated first in both.
TEST(SgdFused, FusedWeightAndBiasUpdatesEqualBuffersThenApply) {
  const uint32_t seed = TestSeed();
  std::mt19937 rng(seed);
  for (int it = 0; it < 40; ++it) {
    ConvSpec s = it % 2 ? RandomDepthwise(rng) : RandomPointwise(rng);
    s.split = false;
    ConvCase c(s, rng);
    const int32_t kk = s.kk(), S = s.selection_channels(), n = S;
    std::vector<uint16_t> sel(static_cast<size_t>(n));
    for (int32_t j = 0; j < n; ++j) sel[j] = static_cast<uint16_t>(j);
    std::vector<float> g(c.out_elems());
    FillGradient(rng, &g);
    const size_t slice = s.depthwise() ? static_cast<size_t>(n) * kk : static_cast<size_t>(s.cout) * n * kk;
    std::vector<float> qas(static_cast<size_t>(s.cout), 50.0f);
    const int32_t hw = s.out_h() * s.out_w();
    struct State {
      std::vector<int8_t> w;
      std::vector<int32_t> b;
      uint32_t rng = 99;
    } init;
    init.w.resize(slice);
    for (int8_t& v : init.w) v = static_cast<int8_t>(std::uniform_int_distribution<int>(-100, 100)(rng));
    init.b.resize(static_cast<size_t>(s.cout));
    for (int32_t& v : init.b) v = std::uniform_int_distribution<int32_t>(-1000, 1000)(rng);
    auto run = [&](bool fused, State* st) {
      tte_sgd opt{};
      opt.lr = 0.7f;
      opt.store = TTE_STORE_DEVICE;
      opt.rounding = TTE_ROUND_STOCHASTIC;
      opt.rng = &st->rng;
      opt.grad_scale = 1.0f;
      tte_conv_train t{};
      t.cout = s.cout;
      t.n_train = n;
      t.kk = kk;
      t.depthwise = s.depthwise();
      t.sel = sel.data();
      t.qas_w = qas.data();
      t.qas_b = qas.data();
      t.w = st->w.data();
      t.b = st->b.data();
      std::vector<float> dw(slice, 0.0f), db(static_cast<size_t>(s.cout), 0.0f);
      tte_conv_bias_grad_f32(s.cout, hw, g.data(), db.data(), fused ? &opt : nullptr, fused ? &t : nullptr);
      tte_conv_weight_grad_f32(&c.params, n, sel.data(), c.x.data(), g.data(), dw.data(), fused ? &opt : nullptr,
                               fused ? &t : nullptr);
      if (!fused) tte_conv_apply_update(&opt, &t, dw.data(), db.data());
    };
    State a = init, b = init;
    run(true, &a);
    run(false, &b);
    ASSERT_EQ(a.w, b.w) << s.ToString() << "\n" << ReplayHint(seed);
    ASSERT_EQ(a.b, b.b) << s.ToString();
    ASSERT_EQ(a.rng, b.rng) << s.ToString();
  }
}

}  // namespace
}  // namespace tte::testing
