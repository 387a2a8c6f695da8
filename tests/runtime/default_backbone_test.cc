// The project's default backbone (models/default-backbone.pkl, made by tools/backbone): tte's int8 logits
// on the 5000 Fashion-MNIST test images of classes 0-4 equal, bit for bit, the PyTorch simulation's
// (models/default-backbone.sim_logits.npy), so `tte eval` and the simulator report the same top-1.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/npy.h"
#include "data/dataset.h"
#include "model/pkl_io.h"
#include "runtime/inference.h"
#include "support/test_support.h"

namespace tte {
namespace {

TEST(DefaultBackbone, Int8LogitsEqualThePyTorchSimulationOnAllTestImages) {
  auto m = testing::LoadGraph(testing::SourcePath("models/default-backbone.pkl"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto want = ReadNpy(testing::SourcePath("models/default-backbone.sim_logits.npy"));
  auto labels = ReadNpy(testing::SourcePath("models/default-backbone.sim_labels.npy"));
  ASSERT_TRUE(want.ok() && labels.ok());
  DatasetSpec spec;
  spec.kind = "fmnist";
  spec.split = "test";
  spec.classes = "0-4";
  auto ds = OpenDataset(spec);
  if (!ds.ok()) GTEST_SKIP() << "SKIPPED: Fashion-MNIST not installed: " << ds.status().message();
  ASSERT_EQ((*ds)->size(), 5000u);
  auto s = InferenceSession::Create(*m);
  ASSERT_TRUE(s.ok());
  const int R = (*s)->resolution(), K = (*s)->num_classes();
  ASSERT_EQ(K, 5);
  std::vector<int8_t> img(static_cast<size_t>(3 * R * R));
  int64_t mismatched = 0, correct = 0, sim_correct = 0;
  for (size_t i = 0; i < (*ds)->size(); ++i) {
    ASSERT_TRUE((*ds)->Load(i, SampleFormat::Rgb(R), nullptr, 0, img.data()).ok());
    ASSERT_EQ((*ds)->label(i), labels->data<int64_t>()[i]) << "sample " << i;
    (*s)->Run(img.data());
    const int8_t* w = want->data<int8_t>() + i * K;
    mismatched += std::memcmp((*s)->logits(), w, K) != 0;
    correct += (*s)->Predict() == (*ds)->label(i);
    int best = 0;
    for (int k = 1; k < K; ++k)
      if (w[k] > w[best]) best = k;
    sim_correct += best == (*ds)->label(i);
  }
  EXPECT_EQ(mismatched, 0) << "images whose int8 logits differ from the simulation";
  EXPECT_EQ(correct, sim_correct);
  EXPECT_EQ(correct, 4676) << "93.52 % as recorded in models/default-backbone.md";
}

}  // namespace
}  // namespace tte
