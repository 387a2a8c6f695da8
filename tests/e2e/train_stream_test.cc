// `tte train` on Fashion-MNIST read on demand (data/sample_store.h) trains exactly as it did when the
// dataset was decoded whole: the trained models and metrics of a few steps (batch 1 with fused updates;
// batch 8 on two threads; augmentation on, an evaluation split carved from the training images with
// --eval-skip) have the CRC-32 and losses recorded with tte 8dee14b, which held the whole training set in
// memory. Needs Debian's dataset-fashion-mnist (skips visibly without it).
#include <gtest/gtest.h>
#include <zlib.h>

#include "core/file_io.h"
#include "data/fashion_mnist.h"
#include "support/test_support.h"

namespace tte {
namespace {

using testing::RunCommand;
using testing::SourcePath;
using testing::TempDir;
using testing::TteBinary;

struct Golden {
  int batch;
  uint32_t model_crc;
  const char* metrics;  // the JSONL fields that do not depend on timing
};

TEST(TrainStreamed, FashionMnistStepsAreUnchanged) {
  if (!FileExists(std::string(kFashionMnistDefaultDir) + "/train-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "SKIPPED: Debian's dataset-fashion-mnist is not installed";
  const std::string dir = TempDir("train_streamed");
  const Golden goldens[] = {
      {1, 0x0a9a4359u,
       "\"eval_top1\":37.5,\"loss_limit\":16.094379124341003,\"lr\":0.0489235091223223,"
       "\"max_window_loss\":1.4855321447054546"},
      {8, 0x33fa3292u,
       "\"eval_top1\":31.25,\"loss_limit\":16.094379124341003,\"lr\":0.0073223305794475405,"
       "\"max_window_loss\":1.6161172091960907"},
  };
  for (const Golden& g : goldens) {
    const std::string out = dir + "/b" + std::to_string(g.batch);
    auto r = RunCommand(TteBinary() + " train --model '" + SourcePath("models/default-backbone.pkl") + "' --scheme '" +
                        SourcePath("models/default-backbone.scheme.json") +
                        "' --data fmnist --classes 5-9 --train-samples 64 --eval-samples 32 --eval-split train "
                        "--eval-skip 64 --steps 6 --lr 0.05 --quiet --threads 2 --batch " +
                        std::to_string(g.batch) + " --out '" + out + ".pkl' --metrics '" + out + ".jsonl'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto model = ReadFile(out + ".pkl");
    ASSERT_TRUE(model.ok());
    const uint32_t crc = static_cast<uint32_t>(crc32(0, model->data(), static_cast<uInt>(model->size())));
    EXPECT_EQ(crc, g.model_crc) << "batch " << g.batch << ": the trained model changed";
    auto metrics = ReadTextFile(out + ".jsonl");
    ASSERT_TRUE(metrics.ok());
    EXPECT_NE(metrics->find(g.metrics), std::string::npos) << *metrics;
  }
}

}  // namespace
}  // namespace tte
