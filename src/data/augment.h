// Data augmentation and eval transforms: uint8 image -> R x R image, deterministic given a seed.
//
// Train transform (Augmenter::Apply), timm's `create_transform(R, is_training=True,
// color_jitter=0.4)` as the reference trains, in this order:
//   1. RandomResizedCrop (torchvision / timm get_params), source image W x H, area A = W * H:
//        up to 10 attempts: target_area = A * U(scale_min, scale_max);
//          aspect = exp(U(log(ratio_min), log(ratio_max)));
//          w = round(sqrt(target_area * aspect)), h = round(sqrt(target_area / aspect)) (half to
//          even); if 0 < w <= W and 0 < h <= H: top = randint(0, H - h), left = randint(0, W - w);
//          done.
//        fallback (torchvision): in_ratio = W / H; if in_ratio < ratio_min: w = W, h = round(w /
//        ratio_min);
//          elif in_ratio > ratio_max: h = H, w = round(h * ratio_max); else w = W, h = H;
//          top = (H - h) / 2, left = (W - w) / 2 (floor).
//      The crop is cut out (integer box, like PIL's Image.crop) and resized to R x R with the
//      Pillow-exact bilinear resampler (image.h). With random_resized_crop = false the whole image
//      is resized to R x R instead (the reference's VWW train transform).
//   2. Horizontal flip with probability hflip_p (U(0,1) < hflip_p).
//   3. ColorJitter(brightness, contrast, saturation), no hue, as torchvision on PIL images: a
//   random
//      order of the enabled ops (Fisher-Yates), then one factor per op, f = U(max(0, 1 - s), 1 + s)
//      rounded to float; each op is Pillow's ImageEnhance: out = blend(degenerate, img, f) with
//      blend(a, b, f) = a + f * (b - a) in float, truncated to uint8 (clamped to [0, 255] when f >
//      1):
//        brightness: degenerate = 0;
//        contrast:   degenerate = int(mean(L) + 0.5), L = (19595 R + 38470 G + 7471 B + 0x8000) >>
//        16; saturation: degenerate = L of the pixel.
// Randomness: one Rng (xoshiro256** seeded through splitmix64) per call, seeded by `seed`; the
// draws use only integer ops and IEEE +,-,*,/,sqrt and tte's own exp/log (DetExp/DetLog), so the
// same seed gives the same bytes on every machine. Use SampleSeed(run_seed, epoch, index) for
// per-sample seeds.
//
// Eval transforms (ApplyEvalTransform), deterministic:
//   kResize           resize to R x R (tte's default; what the golden inputs use).
//   kResizeCenterCrop the reference's val transform: Resize(S = ceil(R / 0.875)) of the shorter
//   side
//                     (long side = int(S * long / short)), then CenterCrop(R) with
//                     top = round((h - R) / 2), left = round((w - R) / 2) (half to even).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "data/image.h"
#include "data/sample_format.h"

namespace tte {

// splitmix64-seeded xoshiro256**. Same sequence on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  double Uniform();                                                       // [0, 1), 53 random bits
  double Uniform(double a, double b) { return a + (b - a) * Uniform(); }  // Python random.uniform
  int64_t UniformInt(int64_t lo, int64_t hi);  // [lo, hi] inclusive, unbiased

 private:
  uint64_t s_[4];
};

// A well-mixed seed for (run seed, epoch, sample index).
uint64_t SampleSeed(uint64_t run_seed, uint64_t epoch, uint64_t index);

// exp and natural log from IEEE +,-,*,/ only (bit-identical everywhere); |error| < 2 ulp.
double DetExp(double x);
double DetLog(double x);  // x > 0

struct AugmentConfig {
  bool random_resized_crop = true;  // false: resize the whole image to R x R
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  double hflip_p = 0.5;
  // ColorJitter strengths; 0 disables an op, all 0 disables the jitter.
  double brightness = 0.4, contrast = 0.4, saturation = 0.4;
};

struct CropBox {
  int left = 0, top = 0, width = 0, height = 0;
};

// Step 1's parameters (see the file comment). Exposed for tests.
CropBox SampleRandomResizedCrop(int width, int height, const AugmentConfig& cfg, Rng& rng);

// Pillow ImageEnhance equivalents on 1- or 3-channel images, in place (see the file comment).
void AdjustBrightness(Image* img, float factor);
void AdjustContrast(Image* img, float factor);
void AdjustSaturation(Image* img, float factor);
void FlipHorizontal(Image* img);

class Augmenter {
 public:
  // Checks the config: 0 < scale_min <= scale_max, 0 < ratio_min <= ratio_max, 0 <= hflip_p <= 1,
  // jitter strengths >= 0.
  static Result<Augmenter> Create(const AugmentConfig& cfg);
  const AugmentConfig& config() const { return cfg_; }
  // The train transform of `src` (1 or 3 channels) to an r x r image of the same channel count.
  // Thread-safe: const and stateless apart from `seed`.
  Result<Image> Apply(const Image& src, int r, uint64_t seed) const;

 private:
  explicit Augmenter(const AugmentConfig& cfg) : cfg_(cfg) {}
  AugmentConfig cfg_;
};

enum class EvalTransform { kResize, kResizeCenterCrop };
// "resize" | "center-crop" (also accepted: "resize-center-crop").
Result<EvalTransform> ParseEvalTransform(const std::string& name);
const char* EvalTransformName(EvalTransform t);

Result<Image> ApplyEvalTransform(const Image& src, int r, EvalTransform t);

// The whole preprocessing of one sample: `aug` (train transform with `seed`) or, when aug is null,
// the eval transform `eval`; then the model's int8 CHW sample (ImageToSample) into `out`
// (f.bytes() bytes). Augmentation and center-crop need a square input; "resize" resizes to f.w x f.h.
Status TransformToInt8(const Image& src, const SampleFormat& f, const Augmenter* aug, uint64_t seed,
                       EvalTransform eval, int8_t* out);

}  // namespace tte
