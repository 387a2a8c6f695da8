// Spec tests of the portable conv kernels (src/kernels/conv_*.c), independent of any optimized variant:
//   - adjoint identities of the linear part acc = conv(x - x_zero, W), in double precision:
//       <conv(x), g> == <x - x_zero, conv_backward_input(g)>     (input gradient is the transpose)
//       <conv_W(x), g> == <W, conv_weight_grad(g)>                 (weight gradient, trainable slice)
//     for pointwise, depthwise (strides 1/2, k 1..7, padding), dense and grouped convs, and for any geometry
//     (rectangular kernels, per-axis strides, dilation, asymmetric pads, depthwise multipliers; FP32 or
//     TFLITE forward), with plain and split
//     weights (random slot maps, random row order, the selection list of the trainable rows). With small
//     integer data every fp32 sum is exact, so the identities hold exactly; with real-valued gradients
//     they hold to fp32 rounding.
//   - bias gradient = channel sums; the requantization's rounding (half to even) and clamp-mask bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/conv_case.h"
#include "kernels/tte_kernels.h"

namespace tte::testing {
namespace {

// Forward of a small-valued case; returns false if any output was clamped (then conv is not linear).
bool LinearForward(ConvCase& c, std::vector<int8_t>* y) {
  y->assign(c.out_elems(), 0);
  std::vector<uint8_t> mask((c.out_elems() + 7) / 8, 0);
  tte_conv_s8(&c.params, c.x.data(), y->data(), mask.data());
  for (size_t n = 0; n < c.out_elems(); ++n)
    if (!((mask[n >> 3] >> (n & 7)) & 1)) return false;
  return true;
}

void FillGrad(std::mt19937& rng, bool integer, std::vector<float>* g) {
  if (integer) {
    for (float& v : *g) v = static_cast<float>(std::uniform_int_distribution<int>(-8, 8)(rng));
  } else {
    FillGradient(rng, g);
  }
}

double Dot(const std::vector<int8_t>& y, const std::vector<float>& g) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * g[i];
  return s;
}

double SumAbs(const std::vector<int8_t>& y, const std::vector<float>& g) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += std::fabs(static_cast<double>(y[i]) * g[i]);
  return s;
}

// Checks both adjoint identities on one random small-valued case of `spec`. Returns false if skipped.
bool CheckAdjoint(ConvSpec spec, std::mt19937& rng, bool integer_grad, bool weights_too) {
  spec.small = true;
  spec.zero_frozen = weights_too && spec.split;
  ConvCase c(spec, rng);
  std::vector<int8_t> y;
  if (!LinearForward(c, &y)) return false;
  std::vector<float> g(c.out_elems());
  FillGrad(rng, integer_grad, &g);
  const double lhs = Dot(y, g), scale = SumAbs(y, g) + 1.0;
  const double tol = integer_grad ? 0.0 : 1e-5 * scale;

  // Input gradient (accumulating onto a random buffer: the kernel adds its sum last).
  std::vector<float> dx0(c.in_elems());
  FillGrad(rng, true, &dx0);
  std::vector<float> dx = dx0;
  tte_conv_backward_input_f32(&c.params, g.data(), dx.data(), 1);
  double rhs = 0;
  for (size_t i = 0; i < dx.size(); ++i)
    rhs += static_cast<double>(c.x[i] - spec.x_zero) * (static_cast<double>(dx[i]) - dx0[i]);
  EXPECT_NEAR(lhs, rhs, integer_grad ? 0.0 : 1e-5 * scale + 1e-3) << "input adjoint, " << spec.ToString();

  if (!weights_too) return true;
  // Weight gradient of the trainable slice: the train rows in row order (split), else every channel.
  const int32_t kk = spec.kk(), S = spec.selection_channels();
  std::vector<uint16_t> sel = c.train_sel;
  const std::vector<int8_t>* slice = &c.train;
  if (!spec.split) {
    sel.resize(static_cast<size_t>(S));
    std::iota(sel.begin(), sel.end(), 0);
    slice = &c.frozen;  // plain OIHW == the slice layout with every channel selected in order
  }
  const int32_t n = static_cast<int32_t>(sel.size());
  const size_t plane = static_cast<size_t>(spec.h) * spec.w;
  // Saved planes: the selected input channels (depthwise: the input channel of each selected output channel).
  std::vector<uint16_t> in_ch = sel;
  if (spec.depthwise())
    for (uint16_t& ch : in_ch) ch = static_cast<uint16_t>(ch / spec.multiplier());
  std::vector<int8_t> xs(static_cast<size_t>(n) * plane);
  tte_gather_channels_s8(n, in_ch.data(), static_cast<int32_t>(plane), c.x.data(), xs.data());
  std::vector<float> dw(slice->size(), 0.0f);
  if (n > 0) tte_conv_weight_grad_f32(&c.params, n, sel.data(), xs.data(), g.data(), dw.data(), nullptr, nullptr);
  double wrhs = 0;
  for (size_t e = 0; e < dw.size(); ++e) wrhs += static_cast<double>((*slice)[e]) * dw[e];
  EXPECT_NEAR(lhs, wrhs, tol + (integer_grad ? 0.0 : 1e-3)) << "weight adjoint (n=" << n << ", kk=" << kk << "), "
                                                          << spec.ToString();
  return true;
}

void Sweep(ConvSpec (*random)(std::mt19937&), bool weights_too, int iterations) {
  const uint32_t seed = TestSeed();
  int checked = 0;
  for (int it = 0; it < iterations; ++it) {
    std::mt19937 rng(seed * 31u + static_cast<uint32_t>(it));
    const ConvSpec s = random(rng);
    SCOPED_TRACE("case " + std::to_string(it) + "; " + ReplayHint(seed));
    checked += CheckAdjoint(s, rng, /*integer_grad=*/true, weights_too);
    checked += CheckAdjoint(s, rng, /*integer_grad=*/false, weights_too);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(checked, iterations) << "too many cases clamped: the identities were hardly checked";
}

TEST(ConvAdjoint, PointwiseBackwardKernelsAreTransposes) { Sweep(RandomPointwise, true, TestIterations(150)); }

// Any geometry (rectangular kernels, per-axis strides and dilations, asymmetric pads, depthwise multipliers),
// the forward in either requant mode (with small values both are the identity on the accumulator).
template <ConvSpec (*kRandom)(std::mt19937&)>
ConvSpec EitherMode(std::mt19937& rng) {
  ConvSpec s = kRandom(rng);
  s.requant = std::bernoulli_distribution(0.5)(rng) ? TTE_REQUANT_TFLITE : TTE_REQUANT_FP32;
  return s;
}
TEST(ConvAdjoint, GeneralDepthwiseBackwardKernelsAreTransposes) {
  Sweep(EitherMode<RandomGeneralDepthwise>, true, TestIterations(150));
}
TEST(ConvAdjoint, GeneralDenseBackwardKernelsAreTransposes) { Sweep(EitherMode<RandomGeneralDense>, true, TestIterations(150)); }
TEST(ConvAdjoint, GeneralPointwiseBackwardKernelsAreTransposes) {
  Sweep(EitherMode<RandomGeneralPointwise>, true, TestIterations(100));
}
TEST(ConvAdjoint, GeneralGroupedInputGradientIsTranspose) {
  Sweep(EitherMode<RandomGeneralGrouped>, false, TestIterations(100));
}
TEST(ConvAdjoint, DepthwiseBackwardKernelsAreTransposes) { Sweep(RandomDepthwise, true, TestIterations(150)); }
TEST(ConvAdjoint, DenseBackwardKernelsAreTransposes) { Sweep(RandomDense, true, TestIterations(100)); }
TEST(ConvAdjoint, GroupedInputGradientIsTranspose) { Sweep(RandomGrouped, false, TestIterations(100)); }

// Weight gradient of grouped convs with 1 < groups < cin (not depthwise). Contract: n = cin / groups,
// xs = every input channel in order, and dW(o, j) correlates g[o] with input channel
// (o / (cout/groups)) * (cin/groups) + j, in the [cout][cin/groups][kk] layout of the weight. (The kernel
// once paired every output channel with saved plane j whatever o's group, so outputs of groups > 0 got
// the gradient against group 0's inputs; this test failed then.) Also groups == cin with cout = 2 cin.
TEST(ConvAdjoint, GroupedWeightGradientIsTranspose) {
  const uint32_t seed = TestSeed();
  int checked = 0;
  for (int it = 0; it < 30; ++it) {
    std::mt19937 rng(seed + static_cast<uint32_t>(it));
    ConvSpec s = RandomGrouped(rng);
    if (it >= 20) {  // groups == cin with a channel multiplier (cout = 2 cin): one input channel per group
      s.groups = s.cin;
      s.cout = 2 * s.cin;
    }
    s.small = true;
    ConvCase c(s, rng);
    std::vector<int8_t> y;
    if (!LinearForward(c, &y)) continue;
    std::vector<float> g(c.out_elems());
    FillGrad(rng, true, &g);
    const int32_t n = s.cin / s.groups;
    std::vector<uint16_t> sel(static_cast<size_t>(n));
    std::iota(sel.begin(), sel.end(), 0);
    std::vector<float> dw(c.frozen.size(), 0.0f);
    tte_conv_weight_grad_f32(&c.params, n, sel.data(), c.x.data(), g.data(), dw.data(), nullptr, nullptr);
    double rhs = 0;
    for (size_t e = 0; e < dw.size(); ++e) rhs += static_cast<double>(c.frozen[e]) * dw[e];
    ASSERT_EQ(Dot(y, g), rhs) << s.ToString() << "\n" << ReplayHint(seed);
    ++checked;
  }
  EXPECT_GT(checked, 5) << "too many cases clamped: the identity was hardly checked";
}

TEST(ConvSpec, BiasGradientIsTheChannelSumInOrder) {
  std::mt19937 rng(TestSeed());
  const int32_t c = 5, hw = 37;
  std::vector<float> g(static_cast<size_t>(c) * hw), db(c);
  FillGradient(rng, &g);
  FillGradient(rng, &db);
  std::vector<float> want = db;
  for (int32_t ch = 0; ch < c; ++ch) {
    float s = 0.0f;
    for (int32_t p = 0; p < hw; ++p) s += g[static_cast<size_t>(ch) * hw + p];
    want[ch] += s;
  }
  tte_conv_bias_grad_f32(c, hw, g.data(), db.data(), nullptr, nullptr);
  EXPECT_EQ(0, std::memcmp(want.data(), db.data(), db.size() * sizeof(float)));
}

// y = clamp(rint((acc + bias) * eff) + y_zero): ties to even, and the mask bit is set exactly for
// -128 <= v <= 127. A 1x1 conv of one channel with weight 1 makes acc = x - x_zero.
TEST(ConvSpec, RequantRoundsHalfToEvenAndMasksExactlyTheClampedOutputs) {
  const int8_t w = 1;
  const int32_t bias = 0;
  const float eff = 0.5f;
  tte_conv_params p{};
  p.cin = p.cout = p.groups = 1;
  p.kh = p.kw = p.sh = p.sw = p.dh = p.dw = 1;
  p.act_min = -128;
  p.act_max = 127;
  std::vector<int8_t> x = {5, 7, -5, -7, 1, -1, 127, -128};
  tte_conv_whole(&p, 1, static_cast<int32_t>(x.size()));
  p.w.frozen = &w;
  p.w.n_frozen = 1;
  p.bias_i32 = &bias;
  p.eff = &eff;
  std::vector<int8_t> y(x.size());
  uint8_t mask = 0;
  tte_conv_s8(&p, x.data(), y.data(), &mask);
  // 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -3.5 -> -4, 0.5 -> 0, -0.5 -> -0, 63.5 -> 64, -64 -> -64.
  EXPECT_EQ(y, (std::vector<int8_t>{2, 4, -2, -4, 0, 0, 64, -64}));
  EXPECT_EQ(mask, 0xff);
  // Shift by y_zero = 64: 64 + 64 = 128 clamps to 127 (bit clear); 4 + 64 = 68 passes.
  p.y_zero = 64;
  tte_conv_s8(&p, x.data(), y.data(), &mask);
  EXPECT_EQ(y[6], 127);
  EXPECT_EQ((mask >> 6) & 1, 0);
  EXPECT_EQ(y[1], 68);
  EXPECT_EQ((mask >> 1) & 1, 1);
  // v exactly 127 passes (63 + 64), v exactly -128 passes (-64 - 64), -129 does not.
  x = {126, -128, -1};  // 63, -64, -0.5 -> -0
  y.resize(x.size());
  p.y_zero = 64;
  tte_conv_whole(&p, 1, 3);
  tte_conv_s8(&p, x.data(), y.data(), &mask);
  EXPECT_EQ(y[0], 127);
  EXPECT_EQ(mask & 1, 1);
  p.y_zero = -64;
  tte_conv_s8(&p, x.data(), y.data(), &mask);
  EXPECT_EQ(y[1], -128);
  EXPECT_EQ((mask >> 1) & 1, 1);
  p.y_zero = -65;
  tte_conv_s8(&p, x.data(), y.data(), &mask);
  EXPECT_EQ(y[1], -128);
  EXPECT_EQ((mask >> 1) & 1, 0);
}

}  // namespace
}  // namespace tte::testing
