// Augmentation tests: the PRNG stream, deterministic exp/log, RandomResizedCrop parameters and its
// fallback, determinism of the whole train transform, and the eval transforms.
#include "data/augment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/image.h"

namespace tte {
namespace {

Image Gradient(int w, int h, int c) {
  Image img(w, h, c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int b = 0; b < c; ++b)
        img.row(y)[(x * c) + b] = uint8_t((x * 37 + y * 11 + b * 91 + (x * y) % 13) & 255);
  return img;
}

TEST(Rng, StreamIsSplitMixSeededXoshiro256StarStar) {
  // Values from an independent Python implementation; pins the stream across machines.
  Rng a(0);
  EXPECT_EQ(a.Next(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(a.Next(), 0xbf6e1f784956452aull);
  EXPECT_EQ(a.Next(), 0x1a5f849d4933e6e0ull);
  Rng b(12345);
  EXPECT_EQ(b.Next(), 0xbe6a36374160d49bull);
}

TEST(Rng, UniformIntCoversRangeInclusive) {
  Rng r(7);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    int64_t v = r.UniformInt(-2, 3);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(r.UniformInt(5, 5), 5);
  for (int i = 0; i < 1000; ++i) {
    double u = r.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(Rng, SampleSeedDependsOnEveryPart) {
  const uint64_t s = SampleSeed(1, 2, 3);
  EXPECT_EQ(s, SampleSeed(1, 2, 3));
  EXPECT_NE(s, SampleSeed(0, 2, 3));
  EXPECT_NE(s, SampleSeed(1, 3, 3));
  EXPECT_NE(s, SampleSeed(1, 2, 4));
  EXPECT_NE(SampleSeed(0, 0, 1), SampleSeed(0, 1, 0));
}

TEST(DetMath, ExpAndLogAgreeWithLibmToAFewUlp) {
  for (double x = -3.0; x <= 3.0; x += 0.0137) {
    EXPECT_NEAR(DetExp(x), std::exp(x), 4e-16 * std::exp(x)) << x;
    const double y = std::exp(x);
    EXPECT_NEAR(DetLog(y), std::log(y), 4e-16 * std::max(1.0, std::fabs(std::log(y)))) << y;
  }
  EXPECT_DOUBLE_EQ(DetLog(1.0), 0.0);
  EXPECT_DOUBLE_EQ(DetExp(0.0), 1.0);
  EXPECT_NEAR(DetLog(4.0 / 3.0), 0.28768207245178090, 1e-16);
}

TEST(RandomResizedCrop, BoxesRespectScaleRatioAndBounds) {
  AugmentConfig cfg;
  int in_range = 0;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    Rng rng(seed);
    const CropBox b = SampleRandomResizedCrop(120, 90, cfg, rng);
    ASSERT_GT(b.width, 0);
    ASSERT_GT(b.height, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_GE(b.top, 0);
    ASSERT_LE(b.left + b.width, 120);
    ASSERT_LE(b.top + b.height, 90);
    const double frac = double(b.width) * b.height / (120.0 * 90.0);
    const double ratio = double(b.width) / b.height;
    // Rounding w and h to integers moves area and ratio a little.
    if (frac >= 0.07 && frac <= 1.0 && ratio >= 0.7 && ratio <= 1.42) ++in_range;
  }
  EXPECT_EQ(in_range, 500);
  Rng r1(42), r2(42), r3(43);
  const CropBox a = SampleRandomResizedCrop(120, 90, cfg, r1);
  const CropBox b = SampleRandomResizedCrop(120, 90, cfg, r2);
  const CropBox c = SampleRandomResizedCrop(120, 90, cfg, r3);
  EXPECT_TRUE(a.left == b.left && a.top == b.top && a.width == b.width && a.height == b.height);
  EXPECT_FALSE(a.left == c.left && a.top == c.top && a.width == c.width && a.height == c.height);
}

TEST(RandomResizedCrop, FallbackIsTorchvisionCentralCrop) {
  AugmentConfig cfg;
  cfg.scale_min = 2.0;  // never fits: all 10 attempts fail
  cfg.scale_max = 3.0;
  Rng rng(1);
  CropBox b = SampleRandomResizedCrop(100, 10, cfg, rng);  // wide: h = H, w = round(H * 4/3)
  EXPECT_EQ(b.width, 13);
  EXPECT_EQ(b.height, 10);
  EXPECT_EQ(b.left, 43);
  EXPECT_EQ(b.top, 0);
  b = SampleRandomResizedCrop(10, 100, cfg, rng);  // tall: w = W, h = round(W / (3/4))
  EXPECT_EQ(b.width, 10);
  EXPECT_EQ(b.height, 13);
  EXPECT_EQ(b.top, 43);
  b = SampleRandomResizedCrop(50, 40, cfg, rng);  // ratio inside the range: whole image
  EXPECT_EQ(b.width, 50);
  EXPECT_EQ(b.height, 40);
  EXPECT_EQ(b.left, 0);
}

TEST(Augmenter, SameSeedSameBytesDifferentSeedDifferent) {
  auto aug = Augmenter::Create(AugmentConfig());
  ASSERT_TRUE(aug.ok());
  const Image src = Gradient(64, 48, 3);
  auto a = aug->Apply(src, 32, 1234);
  auto b = aug->Apply(src, 32, 1234);
  auto c = aug->Apply(src, 32, 1235);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->width, 32);
  EXPECT_EQ(a->height, 32);
  EXPECT_EQ(a->channels, 3);
  EXPECT_EQ(a->pixels, b->pixels);
  EXPECT_NE(a->pixels, c->pixels);
  int distinct = 0;
  for (uint64_t s = 0; s < 8; ++s) distinct += aug->Apply(src, 32, s)->pixels != a->pixels;
  EXPECT_EQ(distinct, 8);
}

TEST(Augmenter, GreyPipelineEqualsRgbPipeline) {
  auto aug = Augmenter::Create(AugmentConfig());
  ASSERT_TRUE(aug.ok());
  const Image grey = Gradient(28, 28, 1);
  for (uint64_t s = 0; s < 20; ++s) {
    auto g = aug->Apply(grey, 40, s);
    auto c = aug->Apply(ToRgb(grey), 40, s);
    ASSERT_TRUE(g.ok() && c.ok());
    EXPECT_EQ(ToRgb(*g).pixels, c->pixels) << "seed " << s;
  }
}

TEST(Augmenter, ComponentsCanBeIsolated) {
  AugmentConfig cfg;
  cfg.random_resized_crop = false;
  cfg.brightness = cfg.contrast = cfg.saturation = 0;
  cfg.hflip_p = 1.0;
  auto flip_only = Augmenter::Create(cfg);
  ASSERT_TRUE(flip_only.ok());
  const Image src = Gradient(30, 20, 3);
  auto resized = ResizeBilinear(src, 16, 16);
  ASSERT_TRUE(resized.ok());
  Image flipped = *resized;
  FlipHorizontal(&flipped);
  EXPECT_NE(flipped.pixels, resized->pixels);
  EXPECT_EQ(flip_only->Apply(src, 16, 99)->pixels, flipped.pixels);
  cfg.hflip_p = 0.0;
  auto none = Augmenter::Create(cfg);
  EXPECT_EQ(none->Apply(src, 16, 99)->pixels, resized->pixels);
  FlipHorizontal(&flipped);
  EXPECT_EQ(flipped.pixels, resized->pixels);

  // With p = 0.5 both outcomes occur over seeds.
  cfg.hflip_p = 0.5;
  auto half = Augmenter::Create(cfg);
  int flips = 0;
  for (uint64_t s = 0; s < 200; ++s) flips += half->Apply(src, 16, s)->pixels != resized->pixels;
  EXPECT_GT(flips, 60);
  EXPECT_LT(flips, 140);
}

TEST(Augmenter, JitterChangesColoursAndStaysInRange) {
  AugmentConfig cfg;
  cfg.random_resized_crop = false;
  cfg.hflip_p = 0;
  auto aug = Augmenter::Create(cfg);
  const Image src = Gradient(16, 16, 3);
  auto plain = ResizeBilinear(src, 16, 16);
  int changed = 0;
  for (uint64_t s = 0; s < 10; ++s) changed += aug->Apply(src, 16, s)->pixels != plain->pixels;
  EXPECT_GE(changed, 9);
}

TEST(Augmenter, RejectsBadConfig) {
  AugmentConfig c;
  c.scale_min = 0;
  EXPECT_FALSE(Augmenter::Create(c).ok());
  c = AugmentConfig();
  c.ratio_min = 2, c.ratio_max = 1;
  EXPECT_FALSE(Augmenter::Create(c).ok());
  c = AugmentConfig();
  c.hflip_p = 1.5;
  EXPECT_FALSE(Augmenter::Create(c).ok());
  c = AugmentConfig();
  c.contrast = -0.1;
  EXPECT_FALSE(Augmenter::Create(c).ok());
  EXPECT_FALSE(Augmenter::Create(AugmentConfig())->Apply(Gradient(4, 4, 3), 0, 1).ok());
  EXPECT_FALSE(Augmenter::Create(AugmentConfig())->Apply(Image(), 8, 1).ok());
  EXPECT_FALSE(ApplyEvalTransform(Image(), 8, EvalTransform::kResizeCenterCrop).ok());
  EXPECT_FALSE(
      ApplyEvalTransform(Gradient(1, 60000, 1), 60000, EvalTransform::kResizeCenterCrop).ok());
}

TEST(EvalTransform, ResizeAndCenterCrop) {
  const Image src = Gradient(40, 30, 3);
  auto r = ApplyEvalTransform(src, 24, EvalTransform::kResize);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pixels, ResizeBilinear(src, 24, 24)->pixels);
  auto c = ApplyEvalTransform(src, 24, EvalTransform::kResizeCenterCrop);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->width, 24);
  EXPECT_EQ(c->height, 24);
  // S = ceil(24 / 0.875) = 28: 40x30 -> 37x28, crop left round(6.5) = 6 (half to even), top 2.
  auto big = ResizeBilinear(src, 37, 28);
  auto want = Crop(*big, 6, 2, 24, 24);
  EXPECT_EQ(c->pixels, want->pixels);
  EXPECT_NE(c->pixels, r->pixels);

  EXPECT_EQ(*ParseEvalTransform("resize"), EvalTransform::kResize);
  EXPECT_EQ(*ParseEvalTransform("center-crop"), EvalTransform::kResizeCenterCrop);
  EXPECT_FALSE(ParseEvalTransform("crop").ok());

  std::vector<int8_t> q(3 * 24 * 24);
  ASSERT_TRUE(TransformToInt8(src, SampleFormat::Rgb(24), nullptr, 0, EvalTransform::kResize, q.data()).ok());
  EXPECT_EQ(q[0], int8_t(int(r->pixels[0]) - 128));
  EXPECT_EQ(q[24 * 24 + 5], int8_t(int(r->pixels[5 * 3 + 1]) - 128));
}

}  // namespace
}  // namespace tte
