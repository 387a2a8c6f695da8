// Finite-difference checks of the fp32 backward kernels of conv2d (dense, grouped, rectangular kernels, per-axis
// strides and dilations, asymmetric pads), depthwise (channel multipliers 1..3) and fully connected layers (a
// kernel covering its [C,H,W] input, and a vector input): the chain tte runs for one layer,
//   ga = tte_mask_scale_f32(g, mask, eff)          (the clamp mask of tte_conv_s8's forward, eff = the requant scale)
//   dx = tte_conv_backward_input_f32(ga),  dW = tte_conv_weight_grad_f32(ga),  db = tte_conv_bias_grad_f32(ga)
// against central differences (up to 64 elements of each tensor: the first, the last, random others) of the straight-through fp32 forward of the same layer,
//   phi(x, W, b) = sum_{o,p} g[o,p] mask[o,p] eff[o] (sum_taps (x - x_zero) W + b[o]),
// written here in double precision in plain loops (taps outside the image contribute nothing). phi is linear in each
// argument, so a step of 1 in the integer domain gives the exact derivative up to double rounding; the kernels sum in
// fp32, hence the relative tolerance 1e-5 of the largest derivative. (conv_adjoint_test.cc checks the same kernels
// as exact transposes of tte's int8 forward on unclamped small-valued cases; this adds the mask, eff and real
// gradients, and the fully connected geometry.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv_case.h"
#include "kernels/tte_kernels.h"

namespace tte::testing {
namespace {

struct Layer {  // the double-precision straight-through layer of a ConvCase
  ConvSpec s;
  std::vector<double> x, w, b, coef;  // x [cin][h][w] (x - x_zero), w OIHW, b [cout], coef = g mask eff [cout][oh][ow]

  int32_t InChannel(int32_t o, int32_t ii) const {
    if (s.depthwise()) return o / s.multiplier();
    return (o / (s.cout / s.groups)) * (s.cin / s.groups) + ii;
  }
  double Phi() const {
    const int32_t ipg = s.depthwise() ? 1 : s.cin / s.groups, OH = s.out_h(), OW = s.out_w();
    double phi = 0;
    for (int32_t o = 0; o < s.cout; ++o)
      for (int32_t oy = 0; oy < OH; ++oy)
        for (int32_t ox = 0; ox < OW; ++ox) {
          double acc = b[static_cast<size_t>(o)];
          for (int32_t ii = 0; ii < ipg; ++ii)
            for (int32_t ky = 0; ky < s.kh; ++ky)
              for (int32_t kx = 0; kx < s.kw; ++kx) {
                const int32_t iy = oy * s.sh - s.pad_t + ky * s.dh, ix = ox * s.sw - s.pad_l + kx * s.dw;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                acc += x[static_cast<size_t>((InChannel(o, ii) * s.h + iy) * s.w + ix)] *
                       w[static_cast<size_t>(((o * ipg + ii) * s.kh + ky) * s.kw + kx)];
              }
          phi += coef[static_cast<size_t>((o * OH + oy) * OW + ox)] * acc;
        }
    return phi;
  }
};

// Central differences of phi (step 1) in up to 64 elements of v: the first, the last and random others.
std::vector<std::pair<size_t, double>> CentralDifferences(Layer* L, std::vector<double>* v, std::mt19937& rng) {
  std::vector<size_t> idx(v->size());
  std::iota(idx.begin(), idx.end(), 0);
  if (idx.size() > 64) {
    std::shuffle(idx.begin() + 1, idx.end() - 1, rng);
    idx.erase(idx.begin() + 63, idx.end() - 1);
  }
  std::vector<std::pair<size_t, double>> d;
  for (size_t i : idx) {
    const double keep = (*v)[i];
    (*v)[i] = keep + 1;
    const double up = L->Phi();
    (*v)[i] = keep - 1;
    const double down = L->Phi();
    (*v)[i] = keep;
    d.emplace_back(i, (up - down) / 2);
  }
  return d;
}

// max |kernel - fd| / max |fd| over the differenced elements (absolute if every such derivative is 0).
double RelErr(const std::vector<float>& kernel, const std::vector<std::pair<size_t, double>>& fd) {
  double err = 0, scale = 0;
  for (const auto& [i, d] : fd) {
    err = std::max(err, std::fabs(kernel[i] - d));
    scale = std::max(scale, std::fabs(d));
  }
  return scale > 0 ? err / scale : err;
}

// One case: returns the number of clamped outputs (mask bits 0), or -1 if every output was clamped (skipped: the
// derivatives are all zero).
int CheckCase(ConvSpec s, std::mt19937& rng, double* worst) {
  s.requant = TTE_REQUANT_FP32;  // the mask and eff are the same arithmetic-independent inputs of the backward
  s.split = false;
  s.bias = BiasKind::kI32;
  ConvCase c(s, rng);
  const size_t n_out = c.out_elems(), hw = static_cast<size_t>(s.out_h()) * s.out_w();
  std::vector<int8_t> y(n_out);
  std::vector<uint8_t> mask((n_out + 7) / 8, 0);
  // A clamp range between the outputs' quartiles, so that the mask stops about half of the gradient.
  c.params.act_min = -128, c.params.act_max = 127;
  tte_conv_s8(&c.params, c.x.data(), y.data(), mask.data());
  std::vector<int8_t> sorted = y;
  std::sort(sorted.begin(), sorted.end());
  c.params.act_min = std::min<int32_t>(sorted[n_out / 4], 126);
  c.params.act_max = std::max<int32_t>(sorted[3 * n_out / 4], c.params.act_min + 1);
  tte_conv_s8(&c.params, c.x.data(), y.data(), mask.data());
  std::vector<float> g(n_out);
  FillGradient(rng, &g);
  Layer L{s, {}, {}, std::vector<double>(static_cast<size_t>(s.cout), 0.0), {}};
  for (int8_t v : c.x) L.x.push_back(v - s.x_zero);
  const int32_t ipg = s.depthwise() ? 1 : s.cin / s.groups;
  for (int32_t o = 0; o < s.cout; ++o)
    for (int32_t ii = 0; ii < ipg; ++ii)
      for (int32_t ky = 0; ky < s.kh; ++ky)
        for (int32_t kx = 0; kx < s.kw; ++kx) L.w.push_back(c.Weight(o, ii, ky, kx));
  int clamped = 0;
  for (size_t n = 0; n < n_out; ++n) {
    const bool in = (mask[n >> 3] >> (n & 7)) & 1;
    clamped += !in;
    L.coef.push_back(in ? static_cast<double>(g[n]) * c.params.eff[n / hw] : 0.0);
  }
  if (clamped == static_cast<int>(n_out)) return -1;
  // The kernels, as the backward program runs them.
  std::vector<float> ga = g;
  tte_mask_scale_f32(s.cout, static_cast<int32_t>(hw), ga.data(), mask.data(), c.params.eff);
  std::vector<float> dx(c.in_elems(), 0.0f);
  tte_conv_backward_input_f32(&c.params, ga.data(), dx.data(), 0);
  std::vector<float> db(static_cast<size_t>(s.cout), 0.0f);
  tte_conv_bias_grad_f32(s.cout, static_cast<int32_t>(hw), ga.data(), db.data(), nullptr, nullptr);
  // Weight gradient of every channel: plain OIHW is the slice layout with every channel selected in order.
  const size_t plane = static_cast<size_t>(s.h) * s.w;
  int32_t n;
  std::vector<uint16_t> sel;
  std::vector<int8_t> xs;
  if (s.groups > 1 && !s.depthwise()) {  // grouped: every input channel, sel ignored
    n = s.cin / s.groups;
    sel.assign(static_cast<size_t>(n), 0);
    std::iota(sel.begin(), sel.end(), 0);
    xs = c.x;
  } else {
    n = s.selection_channels();
    sel.resize(static_cast<size_t>(n));
    std::iota(sel.begin(), sel.end(), 0);
    std::vector<uint16_t> in_ch = sel;
    if (s.depthwise())
      for (uint16_t& ch : in_ch) ch = static_cast<uint16_t>(ch / s.multiplier());
    xs.resize(static_cast<size_t>(n) * plane);
    tte_gather_channels_s8(n, in_ch.data(), static_cast<int32_t>(plane), c.x.data(), xs.data());
  }
  std::vector<float> dw(L.w.size(), 0.0f);
  tte_conv_weight_grad_f32(&c.params, n, sel.data(), xs.data(), ga.data(), dw.data(), nullptr, nullptr);

  const double ex = RelErr(dx, CentralDifferences(&L, &L.x, rng));
  const double ew = RelErr(dw, CentralDifferences(&L, &L.w, rng));
  const double eb = RelErr(db, CentralDifferences(&L, &L.b, rng));
  const std::string where = s.ToString() + ", clamp used [" + std::to_string(c.params.act_min) + ", " +
                            std::to_string(c.params.act_max) + "]";
  EXPECT_LE(ex, 1e-5) << "input gradient, " << where;
  EXPECT_LE(ew, 1e-5) << "weight gradient, " << where;
  EXPECT_LE(eb, 1e-5) << "bias gradient, " << where;
  *worst = std::max({*worst, ex, ew, eb});
  return clamped;
}

void Sweep(const char* what, ConvSpec (*random)(std::mt19937&), int iterations) {
  const uint32_t seed = TestSeed();
  double worst = 0;
  int clamped = 0, checked = 0;
  for (int it = 0; it < iterations; ++it) {
    std::mt19937 rng(seed * 17u + static_cast<uint32_t>(it));
    SCOPED_TRACE("case " + std::to_string(it) + "; " + ReplayHint(seed));
    const int c = CheckCase(random(rng), rng, &worst);
    if (::testing::Test::HasFailure()) return;
    if (c < 0) continue;
    clamped += c;
    ++checked;
  }
  EXPECT_GT(clamped, 0) << "no output was clamped: the masks were not exercised";
  EXPECT_GE(2 * checked, iterations) << "too many cases had every output clamped";
  std::printf("[conv-fd] %-12s %d of %d cases: worst relative error %.2e, %d clamped outputs\n", what, checked,
              iterations, worst, clamped);
}

// A fully connected layer as tte runs it: a conv whose kernel covers its [C, H, W] input (or a vector).
ConvSpec RandomFullyConnected(std::mt19937& rng) {
  ConvSpec s;
  const bool vector = std::bernoulli_distribution(0.5)(rng);
  s.cin = std::uniform_int_distribution<int>(vector ? 8 : 2, vector ? 40 : 5)(rng);
  s.cout = std::uniform_int_distribution<int>(2, 9)(rng);
  s.h = s.kh = vector ? 1 : std::uniform_int_distribution<int>(2, 4)(rng);
  s.w = s.kw = vector ? 1 : std::uniform_int_distribution<int>(1, 4)(rng);
  s.x_zero = std::uniform_int_distribution<int>(-20, 20)(rng);
  return s;
}

TEST(ConvFiniteDifferences, DenseAnyGeometry) { Sweep("dense", RandomGeneralDense, 12); }
TEST(ConvFiniteDifferences, Grouped) { Sweep("grouped", RandomGeneralGrouped, 12); }
TEST(ConvFiniteDifferences, DepthwiseWithMultiplier) { Sweep("depthwise", RandomGeneralDepthwise, 12); }
TEST(ConvFiniteDifferences, Pointwise) { Sweep("pointwise", RandomGeneralPointwise, 8); }
TEST(ConvFiniteDifferences, FullyConnected) { Sweep("fc", RandomFullyConnected, 12); }

}  // namespace
}  // namespace tte::testing
