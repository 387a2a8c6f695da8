// Every gradient `tte grad` returns (ComputeGradients: conv{i}.weight/.bias, head.*) against an
// independent double-precision simulation (tests/support/grad_simulation.h), on small graphs built
// here that cover each IR op kind in its general form, in both requant modes: conv2d with
// rectangular kernels, per-axis strides and dilations and asymmetric pads; grouped convs (weights
// too); depthwise with multiplier 2; fully connected over [C,H,W] and over vectors; adds fed by
// shortcut convs and by values with several consumers; windowed average pools (in-image counts)
// with and without a clamp; TFLite MEAN (both of its arithmetics); pad; CHW and NHWC reshapes;
// clamp ranges of every kind. And, with ../shared, the simulation against the reference's own
// gradient goldens of a .pkl model (the simulation's definitions are the reference's).
//
// Tolerance: max |tte - sim| / max |sim| <= 2e-5 per tensor. tte sums in fp32 in its kernels' fixed
// orders, the simulation in double: each fp32 sum of n terms carries ~n * 2^-24 relative to its
// largest term at worst and errors compound through the layers; measured figures are ~1e-7 .. 7e-6
// (docs/gradients.md). A wrong rule (a missing mask, a wrong scale, a tap off by one) gives errors
// of order 1.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "core/npy.h"
#include "support/grad_simulation.h"
#include "support/op_kind_graphs.h"
#include "support/test_support.h"

namespace tte {
namespace {

constexpr double kTol = 2e-5;

using testing::kOpKindGraphs;
constexpr int kClasses = testing::kOpKindClasses;
const auto& kCases = kOpKindGraphs;

class GradientSimulation : public ::testing::TestWithParam<std::tuple<int, ir::Requant>> {};

TEST_P(GradientSimulation, EveryGradientMatches) {
  const testing::OpKindGraph& c = kCases[std::get<0>(GetParam())];
  const ir::Requant mode = std::get<1>(GetParam());
  const ir::Graph g = c.make(mode);
  ASSERT_FALSE(g.nodes.empty());
  int clamped_total = 0;
  for (int trial = 0; trial < 3; ++trial) {
    std::mt19937 rng(100 + static_cast<unsigned>(trial));
    std::vector<int8_t> input(static_cast<size_t>(g.value(g.input).numel()));
    for (int8_t& v : input) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    const int label = trial % kClasses;
    const testing::GradCheck r =
        testing::CheckAgainstSimulation(g, input.data(), kClasses, label, kTol, 7 + trial);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_TRUE(r.cmp.failures.empty())
        << c.name << " (" << ir::RequantName(mode) << ", trial " << trial << "):\n"
        << r.cmp.failures;
    // Every layer's bias and weights, plus the head's two.
    int layers = 0;
    for (const auto& [key, op] : r.sim.op_of_key)
      layers += key.rfind(".bias") == key.size() - 5 && op != "head";
    EXPECT_EQ(r.cmp.compared, 2 * layers + 2) << c.name;
    clamped_total += static_cast<int>(r.sim.clamped);
    std::string ops;
    for (const auto& [op, e] : r.cmp.worst_by_op) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s %.1e", op.c_str(), e);
      ops += buf;
    }
    std::printf("[grad-sim] %-16s %-14s trial %d: %2d tensors, worst %.2e (%s), clamped %lld;%s\n",
                c.name, ir::RequantName(mode), trial, r.cmp.compared, r.cmp.worst,
                r.cmp.worst_key.c_str(), static_cast<long long>(r.sim.clamped), ops.c_str());
  }
  if (c.clamps) {
    EXPECT_GT(clamped_total, 0) << c.name
                                << ": no clamp stopped a gradient; the masks are untested";
  }
}

INSTANTIATE_TEST_SUITE_P(
    OpKinds, GradientSimulation,
    ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kCases))),
                       ::testing::Values(ir::Requant::kReferenceFp32, ir::Requant::kTfliteInteger)),
    [](const auto& info) {
      return std::string(kCases[std::get<0>(info.param)].name) +
             (std::get<1>(info.param) == ir::Requant::kTfliteInteger ? "_tflite" : "_fp32");
    });

// Finite differences where the loss is smooth: in the fp32 head (the int8 network below it is
// piecewise constant). Central differences of the simulation's double loss in each head parameter
// against tte's head gradients.
TEST(GradientSimulationFiniteDifferences, HeadGradientsMatchCentralDifferences) {
  for (ir::Requant mode : {ir::Requant::kReferenceFp32, ir::Requant::kTfliteInteger}) {
    const ir::Graph g = kOpKindGraphs[4].make(mode);  // add_fanout
    std::mt19937 rng(5);
    std::vector<int8_t> input(static_cast<size_t>(g.value(g.input).numel()));
    for (int8_t& v : input) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    const int label = 2;
    const testing::GradCheck r =
        testing::CheckAgainstSimulation(g, input.data(), kClasses, label, kTol, 9);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    const Tensor& gw = r.tte.at("head.weight");
    const Tensor& gb = r.tte.at("head.bias");
    const std::vector<float>&W = r.head_w, &B = r.head_b;
    auto loss = [&](const std::vector<float>& w, const std::vector<float>& b) {
      return testing::SimulateGradients(g, input.data(), w, b, label).loss;
    };
    // h: a power of two, exact in float32 around the weights' magnitudes; error O(h^2) of a smooth
    // loss.
    const float h = 1.0f / 1024;
    double worst = 0, scale = 0;
    for (size_t e = 0; e < W.size() + B.size(); e += 7) {
      std::vector<float> Wp = W, Wm = W, Bp = B, Bm = B;
      float& p = e < W.size() ? Wp[e] : Bp[e - W.size()];
      float& m = e < W.size() ? Wm[e] : Bm[e - W.size()];
      const double dp = static_cast<double>(p + h) - p,
                   dm = static_cast<double>(m) - (m - h);  // the steps actually taken
      p += h, m -= h;
      const double fd = (loss(Wp, Bp) - loss(Wm, Bm)) / (dp + dm);
      const double got = e < W.size() ? gw.data<float>()[e] : gb.data<float>()[e - W.size()];
      worst = std::max(worst, std::fabs(fd - got));
      scale = std::max(scale, std::fabs(got));
    }
    EXPECT_LE(worst, 1e-4 * scale) << ir::RequantName(mode);
    std::printf("[grad-sim] head finite differences (%s): max |fd - tte| %.2e, max |grad| %.2e\n",
                ir::RequantName(mode), worst, scale);
  }
}

// The simulation's definitions are the reference's: on a .pkl model it must reproduce the
// reference's autograd gradients (../shared/golden_grad) to their own limits, and tte to kTol-level
// agreement.
TEST(GradientSimulationPkl, SimulationAgreesWithReferenceGoldensAndTte) {
  const std::string net = "mcunet-5fps";
  TTE_REQUIRE_SHARED("models/" + net + ".pkl");
  TTE_REQUIRE_SHARED("golden_grad/" + net + "__fmnist0__grad.npz");
  auto model = testing::LoadGraph(testing::SharedPath("models/" + net + ".pkl"));
  auto input = ReadNpy(testing::SharedPath("golden/input_fmnist0_int8.npy"));
  auto hw = ReadNpy(testing::SharedPath("golden_grad/" + net + "__head_weight.npy"));
  auto hb = ReadNpy(testing::SharedPath("golden_grad/" + net + "__head_bias.npy"));
  auto golden = ReadNpz(testing::SharedPath("golden_grad/" + net + "__fmnist0__grad.npz"));
  ASSERT_TRUE(model.ok() && input.ok() && hw.ok() && hb.ok() && golden.ok());
  std::vector<float> W(hw->data<float>(), hw->data<float>() + hw->numel()),
      B(hb->data<float>(), hb->data<float>() + hb->numel());
  const testing::GradCheck r =
      testing::CheckAgainstSimulation(*model, input->data<int8_t>(), 10, 0, kTol, 0, W, B);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.cmp.failures.empty()) << r.cmp.failures;
  std::printf("[grad-sim] %s fmnist0: tte vs simulation: %d tensors, worst %.2e (%s)\n",
              net.c_str(), r.cmp.compared, r.cmp.worst, r.cmp.worst_key.c_str());
  // The simulation against the reference's goldens, with the golden test's limits (1e-3 weights,
  // 1e-4 others).
  std::map<std::string, Tensor> gold;
  for (const auto& [k, t] : *golden) gold[k] = t;
  const testing::GradComparison vs_ref = testing::CompareGradients(gold, r.sim, 1e-3);
  EXPECT_TRUE(vs_ref.failures.empty()) << vs_ref.failures;
  EXPECT_EQ(vs_ref.compared, r.cmp.compared);
  std::printf(
      "[grad-sim] %s fmnist0: reference goldens vs simulation: %d tensors, worst %.2e (%s)\n",
      net.c_str(), vs_ref.compared, vs_ref.worst, vs_ref.worst_key.c_str());
}

}  // namespace
}  // namespace tte
