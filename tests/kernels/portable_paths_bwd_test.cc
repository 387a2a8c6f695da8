// The backward kernels of src/kernels/conv_bwd.c (register-blocked pointwise and depthwise band fast paths,
// in-place depthwise) against the reference loops of conv_reference.cc, bit for bit: the input gradient
// (per element o, kh, kw ascending) and the weight gradient of the trainable slice (per element ho, wo
// ascending), on the .pkl models' square shapes and on any geometry (rectangular kernels, per-axis strides,
// dilation, asymmetric pads, depthwise multipliers, groups), with split weights, random selections and
// accumulation. Gradients are fp32 with varied magnitudes and exact zeros (so order differences show).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv_case.h"
#include "kernels/conv_reference.h"

namespace tte::testing {
namespace {

int32_t Uniform(std::mt19937& rng, int32_t lo, int32_t hi) { return std::uniform_int_distribution<int32_t>(lo, hi)(rng); }
bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

void Sweep(int iterations, const std::function<std::string(std::mt19937&)>& fn) {
  const uint32_t seed = TestSeed();
  for (int it = 0; it < iterations; ++it) {
    std::mt19937 rng(seed * 1000033u + static_cast<uint32_t>(it));
    const std::string err = fn(rng);
    ASSERT_EQ(err, "") << "case " << it << "\n" << ReplayHint(seed);
  }
}

ConvSpec SquareSpec(std::mt19937& rng) {
  switch (Uniform(rng, 0, 4)) {
    case 0:
    case 1: return RandomPointwise(rng);
    case 2: return RandomDepthwise(rng);
    case 3: return RandomDense(rng);
    default: return RandomGrouped(rng);
  }
}

std::string InputGradientOf(const ConvSpec& s, std::mt19937& rng) {
  if (s.out_h() < 1 || s.out_w() < 1) return "";
  ConvCase c(s, rng);
  const bool accumulate = Chance(rng, 0.5);
  std::vector<float> g(c.out_elems());
  FillGradient(rng, &g);
  std::vector<float> dx_ref(c.in_elems());
  FillGradient(rng, &dx_ref);
  std::vector<float> dx = dx_ref;
  RefBackwardInput(&c.params, g.data(), dx_ref.data(), accumulate);
  tte_conv_backward_input_f32(&c.params, g.data(), dx.data(), accumulate);
  const int64_t d = FirstBitDifference(dx_ref.data(), dx.data(), sizeof(float), dx.size());
  if (d >= 0) return "dx differs at " + std::to_string(d) + ": " + s.ToString() + " accumulate=" + std::to_string(accumulate);
  return "";
}

TEST(PortablePaths, BackwardInput) {
  Sweep(TestIterations(400), [](std::mt19937& rng) { return InputGradientOf(SquareSpec(rng), rng); });
}

TEST(PortablePaths, BackwardInputGeneral) {
  Sweep(TestIterations(500), [](std::mt19937& rng) { return InputGradientOf(RandomGeneral(rng), rng); });
}

// More output channels than one chunk of the pointwise path's weights, planes larger than its pixel tile,
// and the wide depthwise / dense shapes of the models.
TEST(PortablePaths, BackwardInputWide) {
  Sweep(TestIterations(40), [](std::mt19937& rng) -> std::string {
    ConvSpec s;
    switch (Uniform(rng, 0, 2)) {
      case 0:
        s = RandomPointwise(rng);
        s.cout = Uniform(rng, 60, 200);
        s.h = Uniform(rng, 1, 12);
        s.w = Uniform(rng, 1, 12);
        break;
      case 1: s = RandomDepthwise(rng); s.h = Uniform(rng, 20, 40); break;
      default: s = RandomDense(rng); break;
    }
    return InputGradientOf(s, rng);
  });
}

TEST(PortablePaths, DepthwiseBackwardInputInPlace) {
  Sweep(TestIterations(300), [](std::mt19937& rng) -> std::string {
    // Multiplier 1 and output planes of the input's size: stride 1 and pads that add up to the dilated
    // kernel's extent minus one on each axis (any split, SAME's odd pixel after or not).
    ConvSpec s = Chance(rng, 0.5) ? RandomDepthwise(rng) : RandomGeneralDepthwise(rng);
    s.cout = s.cin;
    s.sh = s.sw = 1;
    const int32_t eh = (s.kh - 1) * s.dh, ew = (s.kw - 1) * s.dw;
    s.pad_t = Uniform(rng, 0, eh);
    s.pad_b = eh - s.pad_t;
    s.pad_l = Uniform(rng, 0, ew);
    s.pad_r = ew - s.pad_l;
    ConvCase c(s, rng);
    const tte_conv_params& p = c.params;
    std::vector<float> g(c.out_elems());
    FillGradient(rng, &g);
    std::vector<float> dx_ref(c.in_elems());
    RefBackwardInput(&p, g.data(), dx_ref.data(), 0);
    std::vector<float> buf = g, scratch(static_cast<size_t>(s.h) * s.w);
    FillGradient(rng, &scratch);
    tte_conv_dw_backward_input_inplace_f32(&p, buf.data(), scratch.data());
    const int64_t d = FirstBitDifference(dx_ref.data(), buf.data(), sizeof(float), buf.size());
    if (d >= 0) return "dx differs at " + std::to_string(d) + ": " + s.ToString();
    return "";
  });
}

// Weight gradient of a random selection (groups == 1, depthwise: random subset in random order; grouped:
// every channel) against RefWeightGrad, added onto a random buffer.
std::string WeightGradientOf(const ConvSpec& s, std::mt19937& rng) {
  if (s.out_h() < 1 || s.out_w() < 1) return "";
  ConvCase c(s, rng);
  const bool grouped = s.groups > 1 && !s.depthwise();
  const int32_t S = grouped ? s.cin / s.groups : s.selection_channels();
  std::vector<uint16_t> sel(static_cast<size_t>(S));
  std::iota(sel.begin(), sel.end(), 0);
  if (!grouped) {
    std::shuffle(sel.begin(), sel.end(), rng);
    sel.resize(static_cast<size_t>(Uniform(rng, 1, S)));
  }
  const int32_t n = static_cast<int32_t>(sel.size());
  const size_t plane = static_cast<size_t>(s.h) * s.w;
  // Saved planes: groups == 1 the selected input channels, depthwise the input channel of each selected
  // output channel, grouped every input channel.
  std::vector<int8_t> xs;
  if (grouped) {
    xs = c.x;
  } else {
    std::vector<uint16_t> in_ch(sel);
    if (s.depthwise())
      for (uint16_t& ch : in_ch) ch = static_cast<uint16_t>(ch / s.multiplier());
    xs.resize(static_cast<size_t>(n) * plane);
    tte_gather_channels_s8(n, in_ch.data(), static_cast<int32_t>(plane), c.x.data(), xs.data());
  }
  std::vector<float> g(c.out_elems());
  FillGradient(rng, &g);
  const size_t slice = static_cast<size_t>(s.depthwise() ? n : s.cout * n) * s.kk();
  std::vector<float> dw_ref(slice);
  FillGradient(rng, &dw_ref);
  std::vector<float> dw = dw_ref;
  RefWeightGrad(&c.params, n, sel.data(), xs.data(), g.data(), dw_ref.data());
  tte_conv_weight_grad_f32(&c.params, n, sel.data(), xs.data(), g.data(), dw.data(), nullptr, nullptr);
  const int64_t d = FirstBitDifference(dw_ref.data(), dw.data(), sizeof(float), dw.size());
  if (d >= 0) return "dw differs at " + std::to_string(d) + " (n=" + std::to_string(n) + "): " + s.ToString();
  return "";
}

TEST(PortablePaths, WeightGradient) {
  Sweep(TestIterations(300), [](std::mt19937& rng) { return WeightGradientOf(SquareSpec(rng), rng); });
}

TEST(PortablePaths, WeightGradientGeneral) {
  Sweep(TestIterations(400), [](std::mt19937& rng) { return WeightGradientOf(RandomGeneral(rng), rng); });
}

}  // namespace
}  // namespace tte::testing
