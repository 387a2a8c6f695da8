// Augmentation and eval transforms (see augment.h for the exact definitions).
#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace tte {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // fdlibm's split of ln 2
constexpr double kLn2Lo = 1.90821492927058770002e-10;

// Python's round() for the crop sizes: half to even (default FP rounding mode). Out-of-range values
// (possible only with absurd configs) saturate instead of overflowing the int conversion.
inline int RoundHalfEven(double x) {
  if (!(x < 2e9)) return 2000000000;
  if (x < -2e9) return -2000000000;
  return static_cast<int>(std::nearbyint(x));
}

// Largest output resolution the transforms accept.
constexpr int kMaxResolution = 1 << 16;

Status CheckTransformArgs(const Image& src, int r, const char* what) {
  if (r <= 0 || r > kMaxResolution)
    return InvalidArgument(std::string(what) + ": resolution " + std::to_string(r) +
                           " is out of range (1.." + std::to_string(kMaxResolution) + ")");
  if (src.width <= 0 || src.height <= 0 || (src.channels != 1 && src.channels != 3) ||
      src.pixels.size() != size_t(src.width) * src.height * src.channels)
    return InvalidArgument(std::string(what) + ": malformed or empty source image " +
                           std::to_string(src.width) + "x" + std::to_string(src.height) + "x" +
                           std::to_string(src.channels));
  return Status::Ok();
}

// L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16 (Pillow's rgb2l); grey images are their own L.
inline uint8_t Luma(const uint8_t* px, int channels) {
  if (channels == 1) return px[0];
  return static_cast<uint8_t>((px[0] * 19595 + px[1] * 38470 + px[2] * 7471 + 0x8000) >> 16);
}

// Pillow's ImagingBlend for one sample: in1 + alpha * (in2 - in1) in float.
inline uint8_t Blend(uint8_t in1, uint8_t in2, float alpha) {
  const float v = static_cast<float>(int(in1)) + alpha * static_cast<float>(int(in2) - int(in1));
  if (alpha >= 0.0f && alpha <= 1.0f) return static_cast<uint8_t>(v);
  if (v <= 0.0f) return 0;
  if (v >= 255.0f) return 255;
  return static_cast<uint8_t>(v);
}

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t st = seed;
  for (uint64_t& s : s_) s = SplitMix64(&st);
}

uint64_t Rng::Next() {  // xoshiro256**
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

int64_t Rng::UniformInt(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (range == 0) return static_cast<int64_t>(Next());  // the full 64-bit range
  const uint64_t threshold = (0 - range) % range;       // 2^64 mod range
  uint64_t x;
  do x = Next();
  while (x < threshold);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % range);
}

uint64_t SampleSeed(uint64_t run_seed, uint64_t epoch, uint64_t index) {
  uint64_t st = run_seed;
  uint64_t h = SplitMix64(&st);
  st = h ^ (epoch * 0xD1B54A32D192ED03ull);
  h = SplitMix64(&st);
  st = h ^ (index * 0xAEF17502108EF2D9ull);
  return SplitMix64(&st);
}

double DetExp(double x) {
  if (x != x) return x;
  if (x > 709.0) return HUGE_VAL;
  if (x < -745.0) return 0.0;
  const double k = std::nearbyint(x * 1.44269504088896338700);  // x / ln 2
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;               // |r| <= 0.35
  double sum = 1.0;                                             // Taylor series, Horner form
  for (int n = 22; n >= 1; --n) sum = 1.0 + sum * r / n;
  return std::ldexp(sum, static_cast<int>(k));
}

double DetLog(double x) {
  if (!(x > 0.0)) return x == 0.0 ? -HUGE_VAL : NAN;
  if (std::isinf(x)) return x;
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    --e;
  }
  const double s = (m - 1.0) / (m + 1.0);  // |s| <= 0.1716
  const double s2 = s * s;
  double sum = 0.0;  // atanh series: log(m) = 2 (s + s^3/3 + s^5/5 + ...)
  for (int n = 31; n >= 1; n -= 2) sum = 1.0 / n + sum * s2;
  const double lm = 2.0 * s * sum;
  return (e * kLn2Hi + lm) + e * kLn2Lo;
}

CropBox SampleRandomResizedCrop(int width, int height, const AugmentConfig& cfg, Rng& rng) {
  const double area = static_cast<double>(width) * height;
  const double log_r0 = DetLog(cfg.ratio_min), log_r1 = DetLog(cfg.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.Uniform(cfg.scale_min, cfg.scale_max);
    const double aspect = DetExp(rng.Uniform(log_r0, log_r1));
    const int w = RoundHalfEven(std::sqrt(target_area * aspect));
    const int h = RoundHalfEven(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      CropBox b;
      b.top = static_cast<int>(rng.UniformInt(0, height - h));
      b.left = static_cast<int>(rng.UniformInt(0, width - w));
      b.width = w;
      b.height = h;
      return b;
    }
  }
  // Fallback to a central crop (torchvision).
  const double in_ratio = static_cast<double>(width) / height;
  CropBox b;
  if (in_ratio < cfg.ratio_min) {
    b.width = width;
    b.height = std::clamp(RoundHalfEven(b.width / cfg.ratio_min), 1, height);
  } else if (in_ratio > cfg.ratio_max) {
    b.height = height;
    b.width = std::clamp(RoundHalfEven(b.height * cfg.ratio_max), 1, width);
  } else {
    b.width = width;
    b.height = height;
  }
  b.top = (height - b.height) / 2;
  b.left = (width - b.width) / 2;
  return b;
}

void AdjustBrightness(Image* img, float factor) {
  for (uint8_t& p : img->pixels) p = Blend(0, p, factor);
}

void AdjustContrast(Image* img, float factor) {
  const int c = img->channels;
  const size_t n = size_t(img->width) * img->height;
  if (n == 0) return;
  int64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += Luma(&img->pixels[i * c], c);
  const double mean = static_cast<double>(sum) / static_cast<double>(n);
  const uint8_t degenerate = static_cast<uint8_t>(static_cast<int>(mean + 0.5));
  for (uint8_t& p : img->pixels) p = Blend(degenerate, p, factor);
}

void AdjustSaturation(Image* img, float factor) {
  const int c = img->channels;
  const size_t n = size_t(img->width) * img->height;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* px = &img->pixels[i * c];
    const uint8_t l = Luma(px, c);
    for (int b = 0; b < c; ++b) px[b] = Blend(l, px[b], factor);
  }
}

void FlipHorizontal(Image* img) {
  const int c = img->channels;
  for (int y = 0; y < img->height; ++y) {
    uint8_t* row = img->row(y);
    for (int l = 0, r = img->width - 1; l < r; ++l, --r)
      for (int b = 0; b < c; ++b) std::swap(row[size_t(l) * c + b], row[size_t(r) * c + b]);
  }
}

Result<Augmenter> Augmenter::Create(const AugmentConfig& cfg) {
  if (!(cfg.scale_min > 0 && cfg.scale_min <= cfg.scale_max))
    return InvalidArgument("augment: scale range (" + std::to_string(cfg.scale_min) + ", " +
                           std::to_string(cfg.scale_max) + ") must satisfy 0 < min <= max");
  if (!(cfg.ratio_min > 0 && cfg.ratio_min <= cfg.ratio_max))
    return InvalidArgument("augment: ratio range (" + std::to_string(cfg.ratio_min) + ", " +
                           std::to_string(cfg.ratio_max) + ") must satisfy 0 < min <= max");
  if (!(cfg.hflip_p >= 0 && cfg.hflip_p <= 1))
    return InvalidArgument("augment: hflip probability " + std::to_string(cfg.hflip_p) +
                           " is outside [0, 1]");
  if (!(cfg.brightness >= 0 && cfg.contrast >= 0 && cfg.saturation >= 0))
    return InvalidArgument("augment: colour jitter strengths must be >= 0");
  return Augmenter(cfg);
}

Result<Image> Augmenter::Apply(const Image& src, int r, uint64_t seed) const {
  TTE_RETURN_IF_ERROR(CheckTransformArgs(src, r, "augment"));
  Rng rng(seed);
  Image img;
  if (cfg_.random_resized_crop) {
    const CropBox b = SampleRandomResizedCrop(src.width, src.height, cfg_, rng);
    TTE_ASSIGN_OR_RETURN(Image crop, Crop(src, b.left, b.top, b.width, b.height));
    TTE_ASSIGN_OR_RETURN(img, ResizeBilinear(crop, r, r));
  } else {
    TTE_ASSIGN_OR_RETURN(img, ResizeBilinear(src, r, r));
  }
  if (rng.Uniform() < cfg_.hflip_p) FlipHorizontal(&img);

  // ColorJitter: a random order of the enabled ops, then the factors in op order.
  const double strength[3] = {cfg_.brightness, cfg_.contrast, cfg_.saturation};
  int order[3];
  int n_ops = 0;
  for (int op = 0; op < 3; ++op)
    if (strength[op] > 0) order[n_ops++] = op;
  if (n_ops == 0) return img;
  for (int i = n_ops - 1; i > 0; --i) std::swap(order[i], order[rng.UniformInt(0, i)]);
  float factor[3] = {1.f, 1.f, 1.f};
  for (int op = 0; op < 3; ++op)
    if (strength[op] > 0)
      factor[op] =
          static_cast<float>(rng.Uniform(std::max(0.0, 1.0 - strength[op]), 1.0 + strength[op]));
  for (int i = 0; i < n_ops; ++i) {
    switch (order[i]) {
      case 0:
        AdjustBrightness(&img, factor[0]);
        break;
      case 1:
        AdjustContrast(&img, factor[1]);
        break;
      default:
        AdjustSaturation(&img, factor[2]);
        break;
    }
  }
  return img;
}

Result<EvalTransform> ParseEvalTransform(const std::string& name) {
  if (name == "resize" || name.empty()) return EvalTransform::kResize;
  if (name == "center-crop" || name == "resize-center-crop")
    return EvalTransform::kResizeCenterCrop;
  return InvalidArgument("eval transform '" + name + "': expected 'resize' or 'center-crop'");
}

const char* EvalTransformName(EvalTransform t) {
  return t == EvalTransform::kResize ? "resize" : "center-crop";
}

Result<Image> ApplyEvalTransform(const Image& src, int r, EvalTransform t) {
  TTE_RETURN_IF_ERROR(CheckTransformArgs(src, r, "eval transform"));
  if (t == EvalTransform::kResize) return ResizeBilinear(src, r, r);
  // Resize(S) of the shorter side, then CenterCrop(r).
  const int s = static_cast<int>(std::ceil(r / 0.875));
  const int w = src.width, h = src.height;
  const int64_t shorter = std::min(w, h), longer = std::max(w, h);
  const double long_side = static_cast<double>(int64_t(s) * longer) / shorter;
  if (long_side > double(kMaxImagePixels))
    return InvalidArgument("eval transform: resizing " + std::to_string(w) + "x" +
                           std::to_string(h) + " to shorter side " + std::to_string(s) +
                           " is too large");
  const int new_long = static_cast<int>(long_side);
  const int nw = w <= h ? s : new_long;
  const int nh = w <= h ? new_long : s;
  TTE_ASSIGN_OR_RETURN(Image resized, ResizeBilinear(src, nw, nh));
  const int top = RoundHalfEven((nh - r) / 2.0);
  const int left = RoundHalfEven((nw - r) / 2.0);
  return Crop(resized, left, top, r, r);
}

Status TransformToInt8(const Image& src, const SampleFormat& f, const Augmenter* aug, uint64_t seed,
                       EvalTransform eval, int8_t* out) {
  if (!f.square() && (aug || eval != EvalTransform::kResize))
    return InvalidArgument(std::string(aug ? "augmentation" : "the center-crop eval transform") +
                           " needs a square model input; this model takes " + f.Describe() +
                           (aug ? " (train with --no-augment)" : " (use --eval-transform resize)"));
  Result<Image> img = aug ? aug->Apply(src, f.h, seed)
                          : (f.square() ? ApplyEvalTransform(src, f.h, eval) : ResizeBilinear(src, f.w, f.h));
  if (!img.ok()) return img.status();
  return ImageToSample(*img, f, out);
}

}  // namespace tte
