// Pillow-exactness of the image code: bilinear resize (with and without box), colour-jitter
// enhancers and the reference's val transform, against outputs of Pillow 9.4 stored in
// fixtures/pil_fixtures.npz (made by gen_resize_fixtures.py from our own random images). Also the
// golden check: Fashion-MNIST test image #0 through tte's eval pipeline equals the reference input.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/npy.h"
#include "data/augment.h"
#include "data/fashion_mnist.h"
#include "data/image.h"
#include "support/test_support.h"

namespace tte {
namespace {

const std::map<std::string, Tensor>& Fixtures() {
  static const std::map<std::string, Tensor>* fx = [] {
    auto r = ReadNpz(testing::SourcePath("tests/data/fixtures/pil_fixtures.npz"));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return new std::map<std::string, Tensor>(r.ok() ? std::move(r).value()
                                                    : std::map<std::string, Tensor>());
  }();
  return *fx;
}

Image ToImage(const Tensor& t) {
  EXPECT_EQ(t.dtype, DType::kUInt8);
  EXPECT_EQ(t.shape.size(), 3u);
  Image img(int(t.shape[1]), int(t.shape[0]), int(t.shape[2]));
  img.pixels = t.bytes;
  return img;
}

// Number of differing bytes (and the first one) for a readable failure.
::testing::AssertionResult SameImage(const Image& got, const Image& want) {
  if (got.width != want.width || got.height != want.height || got.channels != want.channels)
    return ::testing::AssertionFailure()
           << "size " << got.width << "x" << got.height << "x" << got.channels << " vs "
           << want.width << "x" << want.height << "x" << want.channels;
  size_t diff = 0, first = 0;
  for (size_t i = 0; i < got.pixels.size(); ++i)
    if (got.pixels[i] != want.pixels[i] && diff++ == 0) first = i;
  if (diff == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << diff << " bytes differ; first at " << first << ": " << int(got.pixels[first]) << " vs "
         << int(want.pixels[first]);
}

// "<kind><i>_" (built by appending: GCC 12 warns falsely on `"r" + std::to_string(i)`).
std::string Prefix(const char* kind, int i) {
  std::string p(kind);
  p.append(std::to_string(i)).append("_");
  return p;
}

int CountCases(const char* kind) {
  int n = 0;
  while (Fixtures().count(Prefix(kind, n) + "in")) ++n;
  return n;
}

TEST(PilResize, MatchesPillowByteForByte) {
  const int n = CountCases("r");
  ASSERT_GE(n, 15) << "fixtures missing";
  for (int i = 0; i < n; ++i) {
    const std::string p = Prefix("r", i);
    Image in = ToImage(Fixtures().at(p + "in"));
    Image want = ToImage(Fixtures().at(p + "out"));
    const float* b = Fixtures().at(p + "box").data<float>();
    auto got = ResizeBilinear(in, want.width, want.height, ResizeBox{b[0], b[1], b[2], b[3]});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(SameImage(*got, want))
        << "case " << i << ": " << in.width << "x" << in.height << "x" << in.channels << " -> "
        << want.width << "x" << want.height;
  }
}

TEST(PilResize, GreyAndRgbPlanesAgree) {
  Image in = ToImage(Fixtures().at("r2_in"));  // 300x200 grey
  auto grey = ResizeBilinear(in, 61, 47);
  auto rgb = ResizeBilinear(ToRgb(in), 61, 47);
  ASSERT_TRUE(grey.ok() && rgb.ok());
  EXPECT_TRUE(SameImage(ToRgb(*grey), *rgb));
}

TEST(PilResize, RejectsBadArguments) {
  Image in(4, 4, 3);
  EXPECT_FALSE(ResizeBilinear(in, 0, 4).ok());
  EXPECT_FALSE(ResizeBilinear(in, 4, 4, ResizeBox{0, 0, 5, 4}).ok());
  EXPECT_FALSE(ResizeBilinear(in, 4, 4, ResizeBox{2, 0, 2, 4}).ok());
  EXPECT_FALSE(ResizeBilinear(Image(), 4, 4).ok());
  EXPECT_FALSE(Crop(in, 1, 1, 4, 2).ok());
  auto c = Crop(in, 1, 1, 3, 3);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->width, 3);
}

TEST(PilEnhance, MatchesImageEnhance) {
  const int n = CountCases("j");
  ASSERT_GE(n, 30) << "fixtures missing";
  for (int i = 0; i < n; ++i) {
    const std::string p = Prefix("j", i);
    Image img = ToImage(Fixtures().at(p + "in"));
    Image want = ToImage(Fixtures().at(p + "out"));
    const int op = Fixtures().at(p + "op").data<int32_t>()[0];
    const float f = Fixtures().at(p + "factor").data<float>()[0];
    if (op == 0) AdjustBrightness(&img, f);
    if (op == 1) AdjustContrast(&img, f);
    if (op == 2) AdjustSaturation(&img, f);
    EXPECT_TRUE(SameImage(img, want))
        << "case " << i << " op " << op << " factor " << f << " channels " << img.channels;
  }
}

TEST(PilValTransform, ResizeShorterSideAndCenterCrop) {
  const int n = CountCases("v");
  ASSERT_GE(n, 4) << "fixtures missing";
  for (int i = 0; i < n; ++i) {
    const std::string p = Prefix("v", i);
    Image in = ToImage(Fixtures().at(p + "in"));
    Image want = ToImage(Fixtures().at(p + "out"));
    const int r = Fixtures().at(p + "r").data<int32_t>()[0];
    auto got = ApplyEvalTransform(in, r, EvalTransform::kResizeCenterCrop);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(SameImage(*got, want)) << "case " << i;
  }
}

// The reference's Fashion-MNIST input: t10k image #0, PIL bilinear 28 -> 128, grey to 3 planes,
// q = p - 128. Needs the Debian dataset package and ../shared.
TEST(Golden, FashionMnistTestImage0) {
  TTE_REQUIRE_SHARED("golden/input_fmnist0_int8.npy");
  FashionMnistOptions opt;
  opt.split = "test";
  opt.max_samples = 1;
  auto ds = OpenFashionMnist(opt);
  if (!ds.ok() && ds.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "SKIPPED: " << ds.status().message();
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ((*ds)->size(), 1u);
  auto golden = ReadNpy(testing::SharedPath("golden/input_fmnist0_int8.npy"));
  ASSERT_TRUE(golden.ok()) << golden.status().ToString();
  ASSERT_EQ(golden->dtype, DType::kInt8);
  ASSERT_EQ(golden->bytes.size(), 3u * 128 * 128);
  std::vector<int8_t> got(3 * 128 * 128);
  ASSERT_TRUE((*ds)->Load(0, SampleFormat::Rgb(128), nullptr, 0, got.data()).ok());
  const int8_t* want = golden->data<int8_t>();
  int diff = 0;
  for (size_t i = 0; i < got.size(); ++i) diff += got[i] != want[i];
  EXPECT_EQ(diff, 0) << "bytes differing from golden/input_fmnist0_int8.npy";
  EXPECT_EQ((*ds)->label(0), 9);  // Ankle boot
}

}  // namespace
}  // namespace tte
