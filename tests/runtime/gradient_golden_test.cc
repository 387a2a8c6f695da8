// Gradient parity with the reference's autograd (../shared/golden_grad): full-network gradients for
// two models x two inputs. Bias and head gradients within 1e-4 relative, weight gradients within 1e-3
// relative per tensor (relative to the tensor's largest magnitude; summation order differs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/npy.h"
#include "model/pkl_io.h"
#include "runtime/gradients.h"
#include "support/test_support.h"

namespace tte {
namespace {

struct Case {
  const char* net;
  const char* input;
  int label;
};

double MaxAbs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(t.data<float>()[i])));
  return m;
}

double MaxAbsDiff(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
  return m;
}

class GradientGolden : public ::testing::TestWithParam<Case> {};

TEST_P(GradientGolden, EveryGradientMatchesReferenceAutograd) {
  const Case c = GetParam();
  const std::string net = c.net;
  TTE_REQUIRE_SHARED("models/" + net + ".pkl");
  TTE_REQUIRE_SHARED("golden_grad/" + net + "__" + c.input + "__grad.npz");
  auto model = testing::LoadGraph(testing::SharedPath("models/" + net + ".pkl"));
  ASSERT_TRUE(model.ok());
  auto input = ReadNpy(testing::SharedPath(std::string("golden/input_") + c.input + "_int8.npy"));
  auto hw = ReadNpy(testing::SharedPath("golden_grad/" + net + "__head_weight.npy"));
  auto hb = ReadNpy(testing::SharedPath("golden_grad/" + net + "__head_bias.npy"));
  auto golden = ReadNpz(testing::SharedPath("golden_grad/" + net + "__" + c.input + "__grad.npz"));
  ASSERT_TRUE(input.ok() && hw.ok() && hb.ok() && golden.ok());

  GradientRequest req;
  req.model = &*model;
  req.scheme.full_update = true;
  req.head_weight.assign(hw->data<float>(), hw->data<float>() + hw->numel());
  req.head_bias.assign(hb->data<float>(), hb->data<float>() + hb->numel());
  req.input = input->data<int8_t>();
  req.label = c.label;
  auto grads = ComputeGradients(req);
  ASSERT_TRUE(grads.ok()) << grads.status().ToString();

  EXPECT_NEAR((*grads)["loss"].data<float>()[0], (*golden)["loss"].data<float>()[0], 1e-4);
  int compared = 0;
  double worst_weight = 0, worst_other = 0;  // max |diff| / max |grad| per tensor, printed for the record
  for (const auto& [key, want] : *golden) {
    if (key == "loss" || key == "logits") continue;
    auto it = grads->find(key);
    ASSERT_NE(it, grads->end()) << "tte computed no " << key;
    ASSERT_EQ(it->second.shape, want.shape) << key;
    const bool is_weight = key.find(".weight") != std::string::npos && key.rfind("head", 0) != 0;
    const double tol = is_weight ? 1e-3 : 1e-4;
    const double scale = MaxAbs(want);
    const double err = MaxAbsDiff(it->second, want);
    EXPECT_LE(err, tol * scale + 1e-12) << net << "/" << c.input << " " << key << ": max |diff| " << err
                                        << " vs max |grad| " << scale;
    double& worst = is_weight ? worst_weight : worst_other;
    if (scale > 0) worst = std::max(worst, err / scale);
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(golden->size()) - 2);
  std::printf("%s/%s: %d gradients, worst relative error: weights %.2e (limit 1e-3), biases and head %.2e (limit 1e-4)\n",
              net.c_str(), c.input, compared, worst_weight, worst_other);
}

// The reference compiler overwrote fan-out gradients instead of summing them (ENGINE.md 2.3). With that
// defect switched on, convs below residual blocks must no longer match: proof that the parity test
// above would catch it.
TEST(GradientGoldenSensitivity, OverwritingResidualGradientsIsDetected) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  TTE_REQUIRE_SHARED("golden_grad/mcunet-5fps__fmnist0__grad.npz");
  auto model = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  auto input = ReadNpy(testing::SharedPath("golden/input_fmnist0_int8.npy"));
  auto hw = ReadNpy(testing::SharedPath("golden_grad/mcunet-5fps__head_weight.npy"));
  auto hb = ReadNpy(testing::SharedPath("golden_grad/mcunet-5fps__head_bias.npy"));
  auto golden = ReadNpz(testing::SharedPath("golden_grad/mcunet-5fps__fmnist0__grad.npz"));
  ASSERT_TRUE(model.ok() && input.ok() && hw.ok() && hb.ok() && golden.ok());
  GradientRequest req;
  req.model = &*model;
  req.scheme.full_update = true;
  req.head_weight.assign(hw->data<float>(), hw->data<float>() + hw->numel());
  req.head_bias.assign(hb->data<float>(), hb->data<float>() + hb->numel());
  req.input = input->data<int8_t>();
  req.label = 0;
  req.debug_overwrite_fanout = true;
  auto grads = ComputeGradients(req);
  ASSERT_TRUE(grads.ok());
  // Block 13 is the last residual-free block; block 12 has a residual: conv 36 (b12.pw1) input is a fan-out.
  // Every conv before the last residual block's input must now disagree.
  int mismatched = 0;
  for (int i = 0; i < 36; ++i) {
    const std::string key = "conv" + std::to_string(i) + ".bias";
    const Tensor& want = (*golden)[key];
    if (MaxAbsDiff((*grads)[key], want) > 1e-4 * MaxAbs(want)) ++mismatched;
  }
  EXPECT_GT(mismatched, 30) << "overwriting fan-out gradients should corrupt nearly every earlier bias gradient";
  // The last block (no residual) is unaffected.
  EXPECT_LE(MaxAbsDiff((*grads)["conv41.bias"], (*golden)["conv41.bias"]), 1e-4 * MaxAbs((*golden)["conv41.bias"]));
}

INSTANTIATE_TEST_SUITE_P(AllModelsAndInputs, GradientGolden,
                         ::testing::Values(Case{"mcunet-5fps", "fmnist0", 0}, Case{"mcunet-5fps", "rand", 3},
                                           Case{"mbv2-w0.35", "fmnist0", 0}, Case{"mbv2-w0.35", "rand", 3}),
                         [](const auto& info) {
                           std::string n = std::string(info.param.net) + "_" + info.param.input;
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace tte
