// SampleFormat: what a model takes as one input sample, as the data pipeline needs it — the int8
// tensor [c, h, w] that tte feeds (CHW), the layout of the model's own files (NHWC for TFLite, CHW for
// the .pkl models), and how an 8-bit pixel p becomes int8:
//   kMinus128   q = p - 128  (the .pkl models; MLPerf Tiny's 8-bit image samples; TFLite inputs of scale 1)
//   kScaleZero  q = clamp(round_half_even(p / 255 / scale) + zero, -128, 127)  (the input's own quantization)
// Images of 1 or 3 channels become c = 3 (grey copied to the three planes) or c = 1 (RGB to grey by
// Pillow's convert("L"): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "data/image.h"
#include "ir/graph.h"

namespace tte {

enum class PixelQuant : uint8_t { kMinus128, kScaleZero };

struct SampleFormat {
  int c = 3, h = 0, w = 0;
  PixelQuant pixels = PixelQuant::kMinus128;
  double scale = 1.0;   // kScaleZero only
  int zero = 0;         // kScaleZero only
  bool file_nhwc = false;  // the model's own layout of raw / .npy samples (TFLite: NHWC)

  // The .pkl models' input: 3 x r x r, q = p - 128, CHW files.
  static SampleFormat Rgb(int r) {
    SampleFormat f;
    f.h = f.w = r;
    return f;
  }
  size_t bytes() const { return size_t(c) * size_t(h) * size_t(w); }
  bool square() const { return h == w; }
  bool is_image() const { return c == 1 || c == 3; }
  // "3x96x96 (q = p - 128)" / "1x49x10 (scale 0.5847, zero 83)"; layout = the file layout's shape "[N,49,10,1]".
  std::string Describe() const;
  std::string FileShape() const;  // "[N,H,W,C]" or "[N,C,H,W]" with numbers
  Status Check() const;           // sizes in range, c >= 1, scale finite and > 0
};

// The sample format of a model's input as its importer described it.
SampleFormat SampleFormatOf(const ir::InputSpec& in);

// One 8-bit pixel value to int8 by the format's rule.
int8_t QuantizePixel(uint8_t p, const SampleFormat& f);

// A decoded image of exactly f.w x f.h (1 or 3 channels) -> int8 CHW [f.c, f.h, f.w]. Images whose
// channels cannot become f.c (f.c other than 1 or 3) are refused.
Status ImageToSample(const Image& img, const SampleFormat& f, int8_t* out);

// int8 samples stored in the model's file layout -> CHW (a transpose for NHWC, a copy otherwise).
void FileLayoutToChw(const int8_t* in, const SampleFormat& f, int8_t* out);
// The inverse, for writing samples or outputs back in the model's layout.
void ChwToFileLayout(const int8_t* in, const SampleFormat& f, int8_t* out);

}  // namespace tte
