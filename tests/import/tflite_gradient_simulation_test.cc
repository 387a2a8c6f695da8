// Gradients of imported TFLite graphs: every gradient `tte grad` returns (ComputeGradients, scheme
// `full`) against the independent double-precision simulation of tests/support/grad_simulation.h,
// on the in-memory models of tflite_builder.h (RELU6 conv, depthwise, add, windowed pool, NHWC
// reshape; pad, depthwise multiplier 2 with dilation, grouped conv, FC over [C,H,W]; RELU_N1_TO_1,
// MEAN, squeeze) and, with
// ../shared, the four MLPerf Tiny models on their golden inputs (NHWC -> CHW), their int8
// classifier dequantized as the head. Tolerance: see tests/runtime/gradient_simulation_test.cc and
// docs/gradients.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "core/npy.h"
#include "import/tflite/importer.h"
#include "runtime/export.h"
#include "support/grad_simulation.h"
#include "support/test_support.h"
#include "tflite_builder.h"

namespace tte {
namespace {

void Report(const std::string& what, const testing::GradCheck& r) {
  std::string ops;
  for (const auto& [op, e] : r.cmp.worst_by_op) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.1e", op.c_str(), e);
    ops += buf;
  }
  std::printf("[grad-sim] %-44s %3d tensors, worst %.2e (%s), clamped %lld;%s\n", what.c_str(),
              r.cmp.compared, r.cmp.worst, r.cmp.worst_key.c_str(),
              static_cast<long long>(r.sim.clamped), ops.c_str());
}

int Classes(const ir::Graph& g) {
  const int head = testing::HeadNode(g);
  return head < 0
             ? 0
             : static_cast<int>(g.value(g.nodes[static_cast<size_t>(head)].outputs[0]).shape[0]);
}

TEST(TfliteGradientSimulation, BuilderModels) {
  const std::pair<const char*, testing::ModelBuilder (*)()> models[] = {
      {"TinyModel", testing::TinyModel},
      {"FeatureModel", testing::FeatureModel},
      {"HeadModel", testing::HeadModel}};
  for (const auto& [name, make] : models) {
    auto g = tflite::ImportModelFile(make().Parsed());
    ASSERT_TRUE(g.ok()) << name << ": " << g.status().ToString();
    const int classes = Classes(*g);
    ASSERT_GT(classes, 1) << name;
    for (int trial = 0; trial < 4; ++trial) {
      std::mt19937 rng(31 + static_cast<unsigned>(trial));
      std::vector<int8_t> input(static_cast<size_t>(g->value(g->input).numel()));
      for (int8_t& v : input) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
      const testing::GradCheck r = testing::CheckAgainstSimulation(
          *g, input.data(), classes, trial % classes, 2e-5, 5 + trial);
      ASSERT_TRUE(r.status.ok()) << name << ": " << r.status.ToString();
      EXPECT_TRUE(r.cmp.failures.empty()) << name << " trial " << trial << ":\n" << r.cmp.failures;
      EXPECT_GT(r.cmp.compared, 2) << name;
      Report(std::string(name) + " trial " + std::to_string(trial), r);
    }
  }
}

// NHWC int8 [1, H, W, C] (or any layout with the channels last) -> tte's [C, H, W].
std::vector<int8_t> ToChw(const Tensor& t, const std::vector<int64_t>& chw) {
  std::vector<int8_t> y(static_cast<size_t>(t.numel()));
  const int8_t* x = t.data<int8_t>();
  const int64_t C = chw[0], H = chw[1], W = chw[2];
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        y[static_cast<size_t>((c * H + h) * W + w)] = x[(h * W + w) * C + c];
  return y;
}

TEST(TfliteGradientSimulation, MlperfTinyModels) {
  TTE_REQUIRE_SHARED("tflite/golden");
  for (const char* model :
       {"vww_96_int8", "pretrainedResnet_quant", "kws_ref_model", "ad01_int8"}) {
    auto g = tflite::ImportTflite(
        testing::SharedPath("tflite/models/" + std::string(model) + ".tflite"));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    const int classes = Classes(*g);
    std::vector<float> hw, hb;
    HeadFromGraph(*g, classes, &hw, &hb, /*from_int8_classifier=*/true);
    std::vector<std::filesystem::path> dirs;
    for (const auto& d : std::filesystem::directory_iterator(
             testing::SharedPath("tflite/golden/" + std::string(model))))
      dirs.push_back(d.path());
    std::sort(dirs.begin(), dirs.end());
    int runs = 0;
    for (const std::filesystem::path& dir : dirs) {
      if (runs == 2) break;  // two inputs per model keep the test short
      auto in = ReadNpy((dir / "input.npy").string());
      ASSERT_TRUE(in.ok()) << in.status().ToString();
      ASSERT_EQ(in->dtype, DType::kInt8);
      const std::vector<int8_t> x = ToChw(*in, g->value(g->input).shape);
      const int label = (runs * 3 + 1) % classes;
      const testing::GradCheck r =
          testing::CheckAgainstSimulation(*g, x.data(), classes, label, 2e-5, 3, hw, hb);
      ASSERT_TRUE(r.status.ok()) << model << ": " << r.status.ToString();
      const std::string where = std::string(model) + "/" + dir.filename().string();
      EXPECT_TRUE(r.cmp.failures.empty()) << where << ":\n" << r.cmp.failures;
      Report(where, r);
      ++runs;
    }
  }
}

}  // namespace
}  // namespace tte
