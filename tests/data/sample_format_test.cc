// SampleFormat and the tensor dataset kinds on data made here: pixel quantization (scale/zero with
// round-half-even, p - 128), RGB -> grey as Pillow, NHWC <-> CHW, the "mlperf" kind (raw int8 and uint8
// samples, y_labels.csv and its errors), .npy samples in the model's layout, and raw inference inputs.
#include <gtest/gtest.h>

#include <cstring>

#include "core/file_io.h"
#include "core/npy.h"
#include "data/dataset.h"
#include "data/sample_format.h"
#include "support/test_support.h"

namespace tte {
namespace {

SampleFormat Nhwc(int c, int h, int w, double scale = 1.0, int zero = 0) {
  SampleFormat f;
  f.c = c, f.h = h, f.w = w;
  f.pixels = scale == 1.0 ? PixelQuant::kMinus128 : PixelQuant::kScaleZero;
  f.scale = scale, f.zero = zero;
  f.file_nhwc = true;
  return f;
}

TEST(SampleFormat, PixelRules) {
  SampleFormat f = Nhwc(3, 2, 2, 2.0 / 255, -3);  // q = round(p / 2) - 3, halves to even
  EXPECT_EQ(QuantizePixel(0, f), -3);
  EXPECT_EQ(QuantizePixel(1, f), -3);   // 0.5 -> 0
  EXPECT_EQ(QuantizePixel(3, f), -1);   // 1.5 -> 2
  EXPECT_EQ(QuantizePixel(5, f), -1);   // 2.5 -> 2
  EXPECT_EQ(QuantizePixel(255, f), 125);  // 127.5 -> 128, - 3
  SampleFormat tiny = Nhwc(1, 1, 1, 0.5 / 255, 0);  // q = 2p, clamped
  EXPECT_EQ(QuantizePixel(200, tiny), 127);
  SampleFormat neg = Nhwc(1, 1, 1, 1.0 / 255, -200);
  EXPECT_EQ(QuantizePixel(10, neg), -128);
  EXPECT_EQ(QuantizePixel(0, SampleFormat::Rgb(4)), -128);
  EXPECT_EQ(QuantizePixel(255, SampleFormat::Rgb(4)), 127);
}

TEST(SampleFormat, ImagesBecomeTheModelsChannels) {
  Image rgb(2, 1, 3);
  const uint8_t px[] = {255, 0, 0, 10, 20, 30};
  std::memcpy(rgb.pixels.data(), px, 6);
  SampleFormat grey = Nhwc(1, 1, 2);
  std::vector<int8_t> out(2);
  ASSERT_TRUE(ImageToSample(rgb, grey, out.data()).ok());
  // Pillow's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16: 76 and 18
  EXPECT_EQ(out[0], 76 - 128);
  EXPECT_EQ(out[1], 18 - 128);
  std::vector<int8_t> three(6);
  ASSERT_TRUE(ImageToSample(rgb, Nhwc(3, 1, 2), three.data()).ok());
  EXPECT_EQ(std::vector<int8_t>(three.begin(), three.end()), (std::vector<int8_t>{127, -118, -128, -108, -128, -98}));
  EXPECT_FALSE(ImageToSample(rgb, Nhwc(4, 1, 2), three.data()).ok());
  EXPECT_FALSE(ImageToSample(rgb, Nhwc(3, 2, 2), three.data()).ok());  // size mismatch
}

TEST(SampleFormat, NhwcRoundTrip) {
  SampleFormat f = Nhwc(3, 2, 2);
  std::vector<int8_t> hwc(12), chw(12), back(12);
  for (int i = 0; i < 12; ++i) hwc[i] = static_cast<int8_t>(i);
  FileLayoutToChw(hwc.data(), f, chw.data());
  EXPECT_EQ(chw[0], 0);
  EXPECT_EQ(chw[1], 3);   // channel 0 of pixel 1
  EXPECT_EQ(chw[4], 1);   // channel 1 of pixel 0
  ChwToFileLayout(chw.data(), f, back.data());
  EXPECT_EQ(back, hwc);
}

// A folder of raw samples and its y_labels.csv.
std::string MlperfFolder(const std::string& name, int n, size_t bytes, const std::string& csv_extra = "") {
  const std::string dir = testing::TempDir(name);
  std::string csv;
  for (int i = 0; i < n; ++i) {
    std::vector<uint8_t> b(bytes);
    for (size_t k = 0; k < bytes; ++k) b[k] = static_cast<uint8_t>(i * 31 + k);
    const std::string file = "s_" + std::to_string(i) + ".bin";
    EXPECT_TRUE(WriteFileAtomic(dir + "/" + file, b).ok());
    csv += file + ",3," + std::to_string(i % 3) + "\r\n";
  }
  EXPECT_TRUE(WriteFileAtomic(dir + "/y_labels.csv", csv + csv_extra).ok());
  return dir;
}

TEST(MlperfDataset, Int8SamplesAreFedAsStoredInChw) {
  DatasetSpec spec;
  spec.kind = "mlperf";
  spec.path = MlperfFolder("mlperf_int8", 5, 2 * 3 * 2);
  spec.classes = "2,0";
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ((*ds)->size(), 3u);  // labels 0,1,2,0,1: samples 0, 2 and 3 are of classes 0 or 2
  EXPECT_EQ((*ds)->num_classes(), 2);
  EXPECT_EQ((*ds)->label(0), 1);  // sample 0 is class 0 -> label 1 (list order "2,0")
  EXPECT_EQ((*ds)->label(1), 0);  // sample 2 is class 2
  SampleFormat f = Nhwc(2, 3, 2, 0.1, 4);  // not 3 channels: int8 as stored
  std::vector<int8_t> got(f.bytes()), want(f.bytes()), raw(f.bytes());
  ASSERT_TRUE((*ds)->Load(1, f, nullptr, 0, got.data()).ok());
  for (size_t k = 0; k < raw.size(); ++k) raw[k] = static_cast<int8_t>(2 * 31 + k);
  FileLayoutToChw(raw.data(), f, want.data());
  EXPECT_EQ(got, want);
  // the wrong model input size is named
  Status st = (*ds)->Load(0, Nhwc(1, 3, 3), nullptr, 0, got.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("12 bytes per sample, the model input [N,3,3,1] takes 9"), std::string::npos)
      << st.message();
}

TEST(MlperfDataset, Uint8ImagesAreMinus128AndCanBeAugmented) {
  DatasetSpec spec;
  spec.kind = "mlperf";
  spec.path = MlperfFolder("mlperf_uint8", 3, 4 * 4 * 3);
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  SampleFormat f = Nhwc(3, 4, 4, 1.0 / 100, 7);  // the model's own rule is not used: MLPerf's p - 128 is
  std::vector<int8_t> got(f.bytes()), want(f.bytes()), q(f.bytes());
  ASSERT_TRUE((*ds)->Load(2, f, nullptr, 0, got.data()).ok());
  for (size_t k = 0; k < q.size(); ++k) q[k] = static_cast<int8_t>(int(static_cast<uint8_t>(2 * 31 + k)) - 128);
  FileLayoutToChw(q.data(), f, want.data());
  EXPECT_EQ(got, want);
  auto aug = Augmenter::Create(AugmentConfig{});
  ASSERT_TRUE(aug.ok());
  EXPECT_TRUE((*ds)->Load(2, f, &*aug, 7, got.data()).ok());
  spec.raw = "int8";
  auto as_int8 = OpenDataset(spec);
  ASSERT_TRUE(as_int8.ok());
  Status st = (*as_int8)->Load(0, f, &*aug, 7, got.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--no-augment"), std::string::npos) << st.message();
}

TEST(MlperfDataset, BadFoldersAreNamed) {
  DatasetSpec spec;
  spec.kind = "mlperf";
  spec.path = testing::TempDir("mlperf_empty");
  auto r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("y_labels.csv: not found"), std::string::npos) << r.status().message();
  for (auto [extra, says] : {std::pair{"x.bin,3\n", "line 4: expected 'file,n_classes,label'"},
                             std::pair{"s_0.bin,3,3\n", "line 4: n_classes '3' and label '3'"},
                             std::pair{"s_0.bin,4,1\n", "line 4: n_classes 4 differs"},
                             std::pair{"../s_0.bin,3,1\n", "must be a plain file name"},
                             std::pair{"gone.bin,3,1\n", "gone.bin: not found (listed at"}}) {
    spec.path = MlperfFolder("mlperf_bad", 3, 8, extra);
    r = OpenDataset(spec);
    ASSERT_FALSE(r.ok()) << extra;
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
  }
  spec.path = MlperfFolder("mlperf_sizes", 2, 8);
  ASSERT_TRUE(WriteFileAtomic(spec.path + "/s_1.bin", std::string("abc")).ok());
  r = OpenDataset(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("s_1.bin: 3 bytes, the first sample has 8"), std::string::npos);
  spec.raw = "int16";
  EXPECT_FALSE(OpenDataset(spec).ok());
}

TEST(NpyDataset, SamplesInTheModelsLayoutAreFedAsStored) {
  const std::string dir = testing::TempDir("npy_nhwc");
  Tensor x(DType::kInt8, {2, 640});
  for (size_t k = 0; k < x.bytes.size(); ++k) x.bytes[k] = static_cast<uint8_t>(k * 7);
  Tensor y(DType::kInt64, {2});
  y.data<int64_t>()[0] = 1;
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", x).ok());
  ASSERT_TRUE(WriteNpy(dir + "/y.npy", y).ok());
  DatasetSpec spec;
  spec.kind = "npy";
  spec.path = dir + "/x.npy";
  spec.labels_path = dir + "/y.npy";
  auto ds = OpenDataset(spec);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  SampleFormat f = Nhwc(640, 1, 1, 0.5, 3);  // a fully connected model's input [1, 640]
  std::vector<int8_t> got(640);
  ASSERT_TRUE((*ds)->Load(1, f, nullptr, 0, got.data()).ok());
  EXPECT_EQ(0, std::memcmp(got.data(), x.bytes.data() + 640, 640));
  Status st = (*ds)->Load(0, Nhwc(3, 8, 8), nullptr, 0, got.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("are not the model's input [N,8,8,3]"), std::string::npos) << st.message();
}

TEST(InferenceInputs, RawSamplesAndNhwcNpy) {
  const std::string dir = testing::TempDir("infer_raw");
  SampleFormat f = Nhwc(2, 1, 3, 0.25, 0);
  std::vector<uint8_t> raw = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // two NHWC samples
  ASSERT_TRUE(WriteFileAtomic(dir + "/two.bin", raw).ok());
  auto r = LoadInferenceInputs({dir + "/two.bin"}, f);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shape, (std::vector<int64_t>{2, 2, 1, 3}));
  EXPECT_EQ(std::vector<uint8_t>(r->bytes.begin(), r->bytes.begin() + 6), (std::vector<uint8_t>{1, 3, 5, 2, 4, 6}));
  Tensor t(DType::kInt8, {1, 1, 3, 2});
  std::memcpy(t.bytes.data(), raw.data(), 6);
  ASSERT_TRUE(WriteNpy(dir + "/one.npy", t).ok());
  r = LoadInferenceInputs({dir + "/one.npy", dir + "/two.bin"}, f);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->shape[0], 3);
  ASSERT_TRUE(WriteFileAtomic(dir + "/odd.bin", std::string("12345")).ok());
  r = LoadInferenceInputs({dir + "/odd.bin"}, f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("5 bytes is not a whole number of raw int8 samples of [N,1,3,2] (6 bytes each)"),
            std::string::npos)
      << r.status().message();
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad.png", std::string("123456")).ok());  // named an image: decoded as one
  r = LoadInferenceInputs({dir + "/bad.png"}, f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot decode image"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tte
