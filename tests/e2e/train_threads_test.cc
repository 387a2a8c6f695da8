// `tte train --threads N` with batches > 1 (runtime/batch_workers.h): the trained model and the per-epoch metrics
// are bit-identical whatever N is, in device mode (stochastic rounding) and in master mode with momentum, for a
// .pkl model and for a TFLite model (the repository's default backbone, exported).
#include <gtest/gtest.h>


#include "core/file_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

using testing::RunCommand;
using testing::SourcePath;
using testing::TempDir;
using testing::TteBinary;

std::string Bytes(const std::string& path) {
  auto b = ReadTextFile(path);
  return b.ok() ? *b : "<missing " + path + ">";
}
// The metrics without the timing fields.
std::string Metrics(const std::string& path) {
  std::string m = Bytes(path);
  for (const std::string key : {"\"seconds\":", "\"ms_per_sample\":"})
    for (size_t at = m.find(key); at != std::string::npos; at = m.find(key, at)) {
      size_t end = m.find_first_of(",}", at);
      if (end != std::string::npos && m[end] == ',') ++end;
      m.erase(at, end == std::string::npos ? std::string::npos : end - at);
    }
  return m;
}

void ExpectSameForAnyThreadCount(const std::string& model, const std::string& out_ext, const std::string& extra,
                                 const std::string& name) {
  const std::string dir = TempDir("train_threads_" + name);
  std::string first_model, first_metrics;
  for (int threads : {1, 2, 3}) {
    const std::string out = dir + "/t" + std::to_string(threads);
    auto r = RunCommand(TteBinary() + " train --model '" + model + "' --scheme '" +
                        SourcePath("models/default-backbone.scheme.json") +
                        "' --data fmnist --classes 5-9 --train-samples 48 --eval-samples 20 --epochs 2 --batch 8 "
                        "--lr 0.05 --quiet --threads " + std::to_string(threads) + " " + extra + " --out '" + out +
                        out_ext + "' --metrics '" + out + ".jsonl'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    if (threads == 1) {
      first_model = Bytes(out + out_ext);
      first_metrics = Metrics(out + ".jsonl");
      ASSERT_GT(first_model.size(), 1000u);
      ASSERT_NE(first_metrics.find("train_loss"), std::string::npos) << first_metrics;
    } else {
      EXPECT_TRUE(Bytes(out + out_ext) == first_model) << name << ": the model trained on " << threads
                                                        << " threads differs from one thread's";
      EXPECT_EQ(Metrics(out + ".jsonl"), first_metrics) << name << ", " << threads << " threads";
    }
  }
}

TEST(TrainThreads, DeviceModeIsBitIdenticalForAnyThreadCount) {
  ExpectSameForAnyThreadCount(SourcePath("models/default-backbone.pkl"), ".pkl", "", "device");
}

TEST(TrainThreads, MasterModeWithMomentumIsBitIdenticalForAnyThreadCount) {
  ExpectSameForAnyThreadCount(SourcePath("models/default-backbone.pkl"), ".pkl", "--store master --momentum 0.9",
                              "master");
}

TEST(TrainThreads, TfliteModelIsBitIdenticalForAnyThreadCount) {
  const std::string dir = TempDir("train_threads_tflite_model");
  auto e = RunCommand(TteBinary() + " export --model '" + SourcePath("models/default-backbone.pkl") + "' --out '" + dir +
                      "/backbone.tflite'");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  ExpectSameForAnyThreadCount(dir + "/backbone.tflite", ".tflite", "", "tflite");
}

}  // namespace
}  // namespace tte
