// `tte grad` as a user runs it on TFLite models the repository makes
// (tests/import/tflite_builder.h; input NHWC .npy; scheme `full`, and a native scheme that trains a
// grouped conv's bias only): every .npy it writes matches the independent double-precision gradient
// simulation (tests/support/grad_simulation.h) to 2e-5 of each tensor's largest magnitude, and
// nothing is missing.
#include <gtest/gtest.h>

#include <random>

#include "core/file_io.h"
#include "core/npy.h"
#include "import/tflite/importer.h"
#include "import/tflite_builder.h"
#include "support/grad_simulation.h"
#include "support/test_support.h"

namespace tte {
namespace {

TEST(CliGradSimulation, TteGradOnTfliteModelsMatchesTheSimulation) {
  struct Case {
    const char* name;
    testing::ModelBuilder (*make)();
    const char* scheme;  // a built-in name or the text of a native scheme
  };
  const Case cases[] = {
      {"tiny", testing::TinyModel, "full"},
      {"head", testing::HeadModel, "full"},
      {"feature", testing::FeatureModel, "full"},
      {"feature_native", testing::FeatureModel,
       R"({"tte_scheme": 1, "bias": "all", "weights": [{"conv": 0, "ratio": 1.0}]})"},
  };
  const std::string dir = testing::TempDir("cli_grad_simulation");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string base = dir + "/" + c.name;
    const testing::ModelBuilder mb = c.make();
    ASSERT_TRUE(WriteFileAtomic(base + ".tflite", mb.Bytes()).ok());
    auto g = tflite::ImportModelFile(mb.Parsed());
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    const int head = testing::HeadNode(*g);
    ASSERT_GE(head, 0);
    const int classes =
        static_cast<int>(g->value(g->nodes[static_cast<size_t>(head)].outputs[0]).shape[0]);
    const int64_t features = g->value(g->nodes[static_cast<size_t>(head)].inputs[0]).numel();
    const std::vector<int64_t>& chw = g->value(g->input).shape;
    std::mt19937 rng(11);
    Tensor x(DType::kInt8, {1, chw[1], chw[2], chw[0]});  // the model's own layout: NHWC
    for (auto& b : x.bytes) b = static_cast<uint8_t>(rng());
    std::vector<int8_t> x_chw(x.bytes.size());
    for (int64_t k = 0; k < chw[0]; ++k)
      for (int64_t h = 0; h < chw[1]; ++h)
        for (int64_t w = 0; w < chw[2]; ++w)
          x_chw[static_cast<size_t>((k * chw[1] + h) * chw[2] + w)] =
              x.data<int8_t>()[(h * chw[2] + w) * chw[0] + k];
    Tensor hw(DType::kFloat32, {classes, features}), hb(DType::kFloat32, {classes});
    std::uniform_real_distribution<float> u(-0.3f, 0.3f);
    for (int64_t i = 0; i < hw.numel(); ++i) hw.data<float>()[i] = u(rng);
    for (int64_t i = 0; i < hb.numel(); ++i) hb.data<float>()[i] = u(rng);
    ASSERT_TRUE(WriteNpy(base + "_x.npy", x).ok() && WriteNpy(base + "_hw.npy", hw).ok() &&
                WriteNpy(base + "_hb.npy", hb).ok());
    std::string scheme = c.scheme;
    if (scheme[0] == '{') {
      ASSERT_TRUE(WriteFileAtomic(base + "_scheme.json", scheme).ok());
      scheme = base + "_scheme.json";
    }
    const int label = 1;
    auto r =
        testing::RunCommand(testing::TteBinary() + " grad --model " + base + ".tflite --input " +
                            base + "_x.npy --label " + std::to_string(label) + " --head-weight " +
                            base + "_hw.npy --head-bias " + base + "_hb.npy --scheme " + scheme +
                            " --output-dir " + base + "_grads");
    ASSERT_EQ(r.exit_code, 0) << r.output;

    const std::vector<float> W(hw.data<float>(), hw.data<float>() + hw.numel()),
        B(hb.data<float>(), hb.data<float>() + hb.numel());
    const testing::GradSimulation sim = testing::SimulateGradients(*g, x_chw.data(), W, B, label);
    std::map<std::string, Tensor> written;
    for (const auto& [key, want] : sim.grads) {
      if (c.name == std::string("feature_native") && key == "conv1.weight")
        continue;  // the grouped conv's bias only
      auto t = ReadNpy(base + "_grads/" + key + ".npy");
      ASSERT_TRUE(t.ok()) << key << ": " << t.status().ToString();
      written[key] = *t;
    }
    auto loss = ReadTextFile(base + "_grads/loss.txt");
    ASSERT_TRUE(loss.ok());
    written["loss"] = Tensor(DType::kFloat32, {});
    written["loss"].data<float>()[0] = std::stof(*loss);
    const testing::GradComparison cmp = testing::CompareGradients(written, sim, 2e-5);
    EXPECT_TRUE(cmp.failures.empty()) << cmp.failures;
    EXPECT_GE(cmp.compared, 4);
    std::printf("[grad-sim] tte grad %s.tflite: %d tensors, worst %.2e (%s)\n", c.name,
                cmp.compared, cmp.worst, cmp.worst_key.c_str());
  }
}

}  // namespace
}  // namespace tte
