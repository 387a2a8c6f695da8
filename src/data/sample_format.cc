// SampleFormat: pixel quantization, image -> int8 sample, NHWC <-> CHW (see sample_format.h).
#include "data/sample_format.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace tte {

std::string SampleFormat::Describe() const {
  std::string s = std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
  if (pixels == PixelQuant::kMinus128) return s + " (8-bit pixels as q = p - 128)";
  char buf[96];
  std::snprintf(buf, sizeof buf, " (scale %.6g, zero point %d)", scale, zero);
  return s + buf;
}

std::string SampleFormat::FileShape() const {
  const std::string C = std::to_string(c), H = std::to_string(h), W = std::to_string(w);
  return file_nhwc ? "[N," + H + "," + W + "," + C + "]" : "[N," + C + "," + H + "," + W + "]";
}

Status SampleFormat::Check() const {
  if (c < 1 || h < 1 || w < 1 || c > 4096 || h > 4096 || w > 4096)
    return InvalidArgument("sample format " + std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) +
                           ": every dimension must be 1..4096");
  if (pixels == PixelQuant::kScaleZero && !(std::isfinite(scale) && scale > 0))
    return InvalidArgument("sample format: input scale must be finite and > 0");
  return Status::Ok();
}

SampleFormat SampleFormatOf(const ir::InputSpec& in) {
  SampleFormat f;
  f.c = in.c, f.h = in.h, f.w = in.w;
  f.pixels = in.pixels == ir::PixelRule::kMinus128 ? PixelQuant::kMinus128 : PixelQuant::kScaleZero;
  f.scale = in.scale;
  f.zero = in.zero;
  f.file_nhwc = in.source_nhwc;
  return f;
}

int8_t QuantizePixel(uint8_t p, const SampleFormat& f) {
  if (f.pixels == PixelQuant::kMinus128) return static_cast<int8_t>(int(p) - 128);
  // round half to even, as numpy.round (the default floating-point rounding mode)
  const double q = std::nearbyint(double(p) / 255.0 / f.scale) + f.zero;
  return static_cast<int8_t>(q < -128 ? -128 : q > 127 ? 127 : q);
}

Status ImageToSample(const Image& img, const SampleFormat& f, int8_t* out) {
  if (img.width != f.w || img.height != f.h)
    return InvalidArgument("image " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                           " does not match the model input " + f.Describe());
  if (img.channels != 1 && img.channels != 3)
    return InvalidArgument("image: expected 1 or 3 channels, got " + std::to_string(img.channels));
  if (f.c != 1 && f.c != 3)
    return InvalidArgument("the model takes " + std::to_string(f.c) +
                           "-channel inputs: images give 1 or 3 channels (use .npy or raw samples)");
  int8_t lut[256];
  for (int p = 0; p < 256; ++p) lut[p] = QuantizePixel(static_cast<uint8_t>(p), f);
  const size_t plane = size_t(f.w) * f.h;
  const int ic = img.channels;
  for (int c = 0; c < f.c; ++c) {
    int8_t* dst = out + c * plane;
    for (size_t i = 0; i < plane; ++i) {
      const uint8_t* px = &img.pixels[i * ic];
      uint8_t v;
      if (ic == 1) {
        v = px[0];
      } else if (f.c == 3) {
        v = px[c];
      } else {  // RGB -> grey as Pillow's convert("L")
        v = static_cast<uint8_t>((19595u * px[0] + 38470u * px[1] + 7471u * px[2] + 0x8000u) >> 16);
      }
      dst[i] = lut[v];
    }
  }
  return Status::Ok();
}

void FileLayoutToChw(const int8_t* in, const SampleFormat& f, int8_t* out) {
  if (!f.file_nhwc || f.c == 1) {
    std::memcpy(out, in, f.bytes());
    return;
  }
  const size_t plane = size_t(f.h) * f.w;
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < f.c; ++c) out[c * plane + i] = in[i * f.c + c];
}

void ChwToFileLayout(const int8_t* in, const SampleFormat& f, int8_t* out) {
  if (!f.file_nhwc || f.c == 1) {
    std::memcpy(out, in, f.bytes());
    return;
  }
  const size_t plane = size_t(f.h) * f.w;
  for (size_t i = 0; i < plane; ++i)
    for (int c = 0; c < f.c; ++c) out[i * f.c + c] = in[c * plane + i];
}

}  // namespace tte
