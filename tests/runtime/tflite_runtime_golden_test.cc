// tte's own runtime computes what TFLite computes: every MLPerf Tiny model of ../shared/tflite runs
// through InferenceSession (the compiled Program, the planned arena, the C kernels in TFLite
// arithmetic) on every golden input, and every op's output, the final softmax included, must equal
// the TFLite reference interpreter's dump bit for bit. The input is loaded as `tte infer` loads it
// (input.npy in the model's NHWC layout). Skips visibly without ../shared.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/npy.h"
#include "data/dataset.h"
#include "data/sample_format.h"
#include "runtime/inference.h"
#include "support/test_support.h"

namespace tte {
namespace {

TEST(TfliteRuntimeGolden, EveryOpOfEveryModelEqualsTflite) {
  TTE_REQUIRE_SHARED("tflite/golden");
  int ops_checked = 0, inputs = 0;
  for (const char* model : {"vww_96_int8", "pretrainedResnet_quant", "kws_ref_model", "ad01_int8"}) {
    auto g = testing::LoadGraph(testing::SharedPath("tflite/models/" + std::string(model) + ".tflite"));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    auto session = InferenceSession::Create(*g, /*use_fp_head=*/false, /*softmax=*/true);
    ASSERT_TRUE(session.ok()) << model << ": " << session.status().ToString();
    InferenceSession& s = **session;
    const SampleFormat format = SampleFormatOf(g->input_spec);
    for (const auto& dir : std::filesystem::directory_iterator(testing::SharedPath("tflite/golden/" + std::string(model)))) {
      const std::string where = std::string(model) + "/" + dir.path().filename().string();
      const auto ops = nlohmann::json::parse(*ReadTextFile((dir.path() / "ops.json").string()))["ops"];
      auto x = LoadInferenceInputs({(dir.path() / "input.npy").string()}, format);
      ASSERT_TRUE(x.ok()) << where << ": " << x.status().ToString();
      ASSERT_EQ(x->shape[0], 1);
      s.Run(x->data<int8_t>());
      ++inputs;
      // One stage per op of the file, in execution order ("NN_<op>").
      ASSERT_EQ(s.stages().size(), ops.size()) << where;
      for (size_t i = 0; i < ops.size(); ++i) {
        const auto& [name, id] = s.stages()[i];
        const TensorInfo& t = s.tensor(id);
        auto golden = ReadNpy((dir.path() / ops[i]["files"][0].get<std::string>()).string());
        ASSERT_TRUE(golden.ok()) << golden.status().ToString();
        ASSERT_EQ(golden->dtype, DType::kInt8) << where << " " << name;
        ASSERT_EQ(golden->numel(), t.numel()) << where << " " << name;
        // the golden is NHWC; tte keeps [C, H, W]
        SampleFormat layout;
        layout.c = static_cast<int>(t.shape[0]);
        layout.h = t.shape.size() > 1 ? static_cast<int>(t.shape[1]) : 1;
        layout.w = t.shape.size() > 2 ? static_cast<int>(t.shape[2]) : 1;
        layout.file_nhwc = true;
        std::vector<int8_t> want(static_cast<size_t>(t.numel()));
        FileLayoutToChw(golden->data<int8_t>(), layout, want.data());
        const int8_t* got = reinterpret_cast<const int8_t*>(s.data(id));
        size_t bad = 0;
        for (size_t k = 0; k < want.size(); ++k) bad += got[k] != want[k];
        EXPECT_EQ(bad, 0u) << where << " op " << i << " " << name << ": " << bad << " of " << want.size()
                           << " values differ from TFLite";
        ++ops_checked;
      }
    }
  }
  std::printf("checked %d op outputs of %d inputs against TFLite's reference interpreter\n", ops_checked, inputs);
  EXPECT_GE(inputs, 16);
}

// The data pipeline feeds TFLite models what the goldens were made from: Fashion-MNIST test images 0 and 1
// resized to the model's H x W (Pillow bilinear), grey copied to 3 channels, quantized with the input's
// scale and zero point (VWW) or as p - 128 (the ResNet, whose input scale is 1).
TEST(TfliteRuntimeGolden, FashionMnistSamplesAreTheGoldenInputs) {
  TTE_REQUIRE_SHARED("tflite/golden");
  DatasetSpec spec;
  spec.kind = "fmnist";
  spec.split = "test";
  spec.max_samples = 2;
  auto ds = OpenDataset(spec);
  if (!ds.ok()) GTEST_SKIP() << "SKIPPED: Fashion-MNIST not installed: " << ds.status().ToString();
  for (auto [model, golden] : {std::pair{"vww_96_int8", "fmnist"}, std::pair{"pretrainedResnet_quant", "fmnist"}}) {
    auto g = testing::LoadGraph(testing::SharedPath("tflite/models/" + std::string(model) + ".tflite"));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    const SampleFormat f = SampleFormatOf(g->input_spec);
    const std::string suffix = f.pixels == PixelQuant::kMinus128 ? "_pm128" : "";
    for (int i = 0; i < 2; ++i) {
      const std::string dir = "tflite/golden/" + std::string(model) + "/" + golden + std::to_string(i) + suffix;
      auto want = ReadNpy(testing::SharedPath(dir + "/input.npy"));
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      std::vector<int8_t> chw(f.bytes()), got(f.bytes());
      ASSERT_TRUE((*ds)->Load(static_cast<size_t>(i), f, nullptr, 0, chw.data()).ok());
      ChwToFileLayout(chw.data(), f, got.data());
      ASSERT_EQ(want->numel(), static_cast<int64_t>(got.size())) << dir;
      EXPECT_EQ(0, std::memcmp(want->bytes.data(), got.data(), got.size())) << dir << ": the sample differs";
    }
  }
}

}  // namespace
}  // namespace tte
