// Bit-exactness of the int8 forward against the reference implementation's own outputs
// (../shared/golden: every stage output and the logits of the diff ops, for two models x two inputs).
#include <gtest/gtest.h>

#include <cstring>

#include "core/npy.h"
#include "model/pkl_io.h"
#include "runtime/inference.h"
#include "support/test_support.h"

namespace tte {
namespace {

struct Case {
  const char* net;
  const char* input;
};

class ForwardGolden : public ::testing::TestWithParam<Case> {};

TEST_P(ForwardGolden, EveryStageAndLogitsEqualReference) {
  const Case c = GetParam();
  const std::string model_rel = std::string("models/") + c.net + ".pkl";
  const std::string in_rel = std::string("golden/input_") + c.input + "_int8.npy";
  const std::string acts_rel = std::string("golden/") + c.net + "__" + c.input + "__acts.npz";
  const std::string logits_rel = std::string("golden/") + c.net + "__" + c.input + "__logits.npy";
  TTE_REQUIRE_SHARED(model_rel);
  TTE_REQUIRE_SHARED(acts_rel);
  auto model = testing::LoadGraph(testing::SharedPath(model_rel));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto input = ReadNpy(testing::SharedPath(in_rel));
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  auto acts = ReadNpz(testing::SharedPath(acts_rel));
  ASSERT_TRUE(acts.ok()) << acts.status().ToString();
  auto logits = ReadNpy(testing::SharedPath(logits_rel));
  ASSERT_TRUE(logits.ok());

  auto session = InferenceSession::Create(*model);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  ASSERT_EQ(input->numel(), (*session)->input_bytes());
  (*session)->Run(input->data<int8_t>());

  int checked = 0;
  for (const auto& [name, id] : (*session)->stages()) {
    auto it = acts->find(name);
    ASSERT_NE(it, acts->end()) << "golden has no stage " << name;
    const Tensor& want = it->second;
    const TensorInfo& t = (*session)->tensor(id);
    ASSERT_EQ(want.numel(), t.numel()) << name;
    const int8_t* got = reinterpret_cast<const int8_t*>((*session)->data(id));
    int64_t diffs = 0, first = -1;
    for (int64_t i = 0; i < want.numel(); ++i)
      if (got[i] != want.data<int8_t>()[i]) {
        if (first < 0) first = i;
        ++diffs;
      }
    EXPECT_EQ(diffs, 0) << c.net << "/" << c.input << " stage " << name << ": " << diffs << " of " << want.numel()
                        << " values differ, first at " << first;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(acts->size())) << "every golden stage must be compared";
  ASSERT_EQ(logits->numel(), (*session)->num_classes());
  EXPECT_EQ(0, std::memcmp(logits->bytes.data(), (*session)->logits(), logits->bytes.size()));
}

INSTANTIATE_TEST_SUITE_P(AllModelsAndInputs, ForwardGolden,
                         ::testing::Values(Case{"mcunet-5fps", "fmnist0"}, Case{"mcunet-5fps", "rand"},
                                           Case{"mbv2-w0.35", "fmnist0"}, Case{"mbv2-w0.35", "rand"}),
                         [](const auto& info) {
                           std::string n = std::string(info.param.net) + "_" + info.param.input;
                           for (char& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace tte
