// `tte export` and `tte train --out x.tflite` run as a user would (docs/export.md): the written file
// imports and runs, bad output paths and unsupported combinations fail with a message naming the file,
// exit non-zero and leave no output behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/file_io.h"
#include "import/model_file.h"
#include "import/tflite_builder.h"
#include "support/test_support.h"

namespace tte {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;

std::string Tte(const std::string& args) { return testing::TteBinary() + " " + args; }
std::string Q(const std::string& p) { return "'" + p + "'"; }
std::string Backbone() { return testing::SourcePath("models/default-backbone.pkl"); }

TEST(ExportCli, PklToTfliteAndBack) {
  const std::string dir = testing::TempDir("export_cli_pkl");
  auto r = RunCommand(Tte("export --model " + Q(Backbone()) + " --out " + dir + "/b.tflite"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("a new TFLite model"), std::string::npos) << r.output;
  auto m = ImportModel(dir + "/b.tflite");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->graph.format, "tflite");
  r = RunCommand(Tte("info " + dir + "/b.tflite"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // .pkl -> .pkl re-saves the model.
  r = RunCommand(Tte("export --model " + Q(Backbone()) + " --out " + dir + "/b.pkl"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(ImportModel(dir + "/b.pkl").ok());
}

TEST(ExportCli, TrainATfliteModelAndExportIt) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "SKIPPED: Debian's Fashion-MNIST (dataset-fashion-mnist) is not installed";
  const std::string dir = testing::TempDir("export_cli_train");
  auto r = RunCommand(Tte("export --model " + Q(Backbone()) + " --out " + dir + "/b.tflite"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(Tte("train --model " + dir + "/b.tflite --classes 5-7 --train-samples 8 --eval-samples 8 --steps 8 --quiet " +
                     "--no-augment --out " + dir + "/t.tflite"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("every other buffer byte-identical"), std::string::npos) << r.output;
  auto m = ImportModel(dir + "/t.tflite");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->graph.value(m->graph.output).numel(), 3);
  EXPECT_EQ(m->graph.class_names, (std::vector<std::string>{"Sandal", "Shirt", "Sneaker"}));
  EXPECT_EQ(m->graph.input_spec.pixels, ir::PixelRule::kMinus128);
}

TEST(ExportCli, TfliteRoundTripIsByteIdentical) {
  const std::string dir = testing::TempDir("export_cli_tflite");
  const std::vector<uint8_t> bytes = testing::TinyModel().Bytes();
  ASSERT_TRUE(WriteFileAtomic(dir + "/tiny.tflite", bytes).ok());
  auto r = RunCommand(Tte("export --model " + dir + "/tiny.tflite --out " + dir + "/copy.tflite"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto copy = ReadFile(dir + "/copy.tflite");
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(*copy, bytes);
}

TEST(ExportCli, BadOutputsFailWithoutPartialFiles) {
  const std::string dir = testing::TempDir("export_cli_bad");
  const std::vector<uint8_t> bytes = testing::TinyModel().Bytes();
  ASSERT_TRUE(WriteFileAtomic(dir + "/tiny.tflite", bytes).ok());
  // Unwritable path.
  auto r = RunCommand(Tte("export --model " + Q(Backbone()) + " --out " + dir + "/no/such/dir/b.tflite"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/no/such/dir/b.tflite"), std::string::npos) << r.output;
  // A TFLite model cannot become a .pkl.
  r = RunCommand(Tte("export --model " + dir + "/tiny.tflite --out " + dir + "/t.pkl"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/t.pkl"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/t.pkl"));
  // Unknown output format.
  r = RunCommand(Tte("export --model " + Q(Backbone()) + " --out " + dir + "/b.onnx"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/b.onnx: unknown output format"), std::string::npos) << r.output;
  // tte train of a .tflite model with a .pkl output is refused before training.
  r = RunCommand(Tte("train --model " + dir + "/tiny.tflite --out " + dir + "/t2.pkl --quiet"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir + "/t2.pkl: a model imported from tflite is exported as .tflite only"), std::string::npos)
      << r.output;
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename(), "tiny.tflite") << e.path();
}

}  // namespace
}  // namespace tte
