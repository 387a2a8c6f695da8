// The tte tool on TFLite models, as a user runs it: `tte infer` on a model the repository makes
// (tests/import/tflite_builder.h) with NHWC .npy and raw inputs and --dump in the model's layout, and,
// with ../shared, `tte eval` reproducing TFLite's published top-1 on the MLPerf Tiny keyword-spotting data.
#include <gtest/gtest.h>

#include <cstring>

#include "core/file_io.h"
#include "core/npy.h"
#include "import/tflite_builder.h"
#include "support/test_support.h"

namespace tte {
namespace {

using testing::RunCommand;
using testing::SharedPath;
using testing::TteBinary;

std::string Tte(const std::string& args) { return TteBinary() + " " + args; }

TEST(CliTflite, InferTakesNhwcAndRawInputsAndDumpsEveryOpInTheModelsLayout) {
  const std::string dir = testing::TempDir("cli_tflite_infer");
  ASSERT_TRUE(WriteFileAtomic(dir + "/tiny.tflite", testing::TinyModel().Bytes()).ok());
  Tensor x(DType::kInt8, {2, 8, 8, 3});  // the model's input [1,8,8,3], NHWC
  for (size_t k = 0; k < x.bytes.size(); ++k) x.bytes[k] = static_cast<uint8_t>(k * 37 + 11);
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", x).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/x1.bin", x.bytes.data() + 192, 192).ok());
  auto r = RunCommand(Tte("infer --model " + dir + "/tiny.tflite --input " + dir + "/x.npy " + dir + "/x1.bin --output " +
                          dir + "/y.npy --dump " + dir + "/dump"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto y = ReadNpy(dir + "/y.npy");
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(y->shape, (std::vector<int64_t>{3, 4}));  // the softmax output of 4 classes
  EXPECT_EQ(0, std::memcmp(y->bytes.data() + 4, y->bytes.data() + 8, 4)) << "x1.bin is sample 1 of x.npy";
  auto conv = ReadNpy(dir + "/dump/00_conv2d.npy");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  EXPECT_EQ(conv->shape, (std::vector<int64_t>{3, 4, 4, 8}));  // NHWC, as TFLite's tensor
  auto last = ReadNpy(dir + "/dump/06_softmax.npy");
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(0, std::memcmp(last->bytes.data(), y->bytes.data(), 12));
  // a sample of the wrong layout is refused, naming the expected one, and nothing is written
  Tensor nchw(DType::kInt8, {1, 3, 8, 8});
  ASSERT_TRUE(WriteNpy(dir + "/nchw.npy", nchw).ok());
  r = RunCommand(Tte("infer --model " + dir + "/tiny.tflite --input " + dir + "/nchw.npy --output " + dir + "/z.npy"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("expected int8 [N,8,8,3]"), std::string::npos) << r.output;
  EXPECT_FALSE(FileExists(dir + "/z.npy"));
}

TEST(CliTflite, EvalReproducesTflitesKeywordSpottingTop1) {
  TTE_REQUIRE_SHARED("tflite/data/kws01/y_labels.csv");
  auto r = RunCommand(Tte("eval --json --model '" + SharedPath("tflite/models/kws_ref_model.tflite") + "' --data 'mlperf:" +
                          SharedPath("tflite/data/kws01") + "'"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // ../shared/tflite/README.md: TFLite's reference interpreter gets 901 of 1000
  EXPECT_NE(r.output.find("\"correct\":901"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"samples\":1000"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tte
