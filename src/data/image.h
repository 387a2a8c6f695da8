// 8-bit images: decoding (stb_image), Pillow-exact bilinear resampling, crops, and the conversion
// to the model's input layout (int8 CHW, q = pixel - 128).
//
// The resampler reproduces Pillow 9.4's `Image.resize((W, H), Image.BILINEAR, box)` byte for byte
// (libImaging/Resample.c, 8 bits per channel):
//   * For each axis, every output pixel xx gets a window of input pixels and weights:
//       scale = (double)(float)(box1 - box0) / out_size;  filterscale = max(scale, 1);
//       support = 1 * filterscale;  center = box0 + (xx + 0.5) * scale;
//       xmin = max(0, (int)(center - support + 0.5));  xmax = min(in_size, (int)(center + support +
//       0.5)); w[x] = tri(((xmin + x) - center + 0.5) / filterscale),  tri(t) = max(0, 1 - |t|);
//     the weights are divided by their sum, then converted to fixed point with 22 fractional bits
//     (PRECISION_BITS = 32 - 8 - 2): k = (int)(w * 2^22 + 0.5) (or - 0.5 for negative w).
//   * The horizontal pass runs first (only over the input rows the vertical pass needs), then the
//     vertical pass. Each pass is skipped when its axis keeps its size and the box covers that axis
//     exactly. Per output sample: acc = 2^21 + sum(pixel * k); out = clamp(acc >> 22, 0, 255).
// Channels are independent, so 1-channel ("L") and 3-channel ("RGB") images give the same planes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace tte {

// A dense 8-bit image, row-major, channels interleaved (HWC). tte uses channels 1 (grey) or 3
// (RGB).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels bytes

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(size_t(w) * h * c, 0) {}
  uint8_t* row(int y) { return pixels.data() + size_t(y) * width * channels; }
  const uint8_t* row(int y) const { return pixels.data() + size_t(y) * width * channels; }
};

// Largest image tte decodes (width * height), to bound memory on hostile files.
using limits::kMaxImagePixels;
// While decoding an image of W x H pixels from N bytes, the decoder may hold at most
// kDecodeBytesPerPixel * W * H + 2 * N + kDecodeSlackBytes bytes (stb_decoder.h): several times what any
// valid file needs, and far below what a decompression bomb would take.
inline constexpr int64_t kDecodeBytesPerPixel = 32;
inline constexpr int64_t kDecodeSlackBytes = int64_t{16} << 20;

// Decodes PNG / JPEG / BMP (and the other formats tte compiles into stb_image: PGM/PPM, TGA, GIF first
// frame) into 3-channel RGB: grey is copied to the three channels, alpha is dropped (not composited),
// 16-bit samples are reduced to 8 bits. `label` names the source in error messages. The size in the
// header is checked before anything is decoded.
// Note: JPEG decoding uses stb_image's IDCT and chroma upsampling, which can differ by a few
// levels from libjpeg (what PIL uses); PNG and BMP decode exactly.
Result<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& label);
// True when the bytes start like a PNG, JPEG, GIF or BMP file (a BMP's header must also state the
// file's size), so that raw sample bytes are not mistaken for an image.
bool LooksLikeImage(const std::vector<uint8_t>& bytes);
Result<Image> ReadImage(const std::string& path);
// Checks that `path` holds a decodable image by reading its header only (cheap). Names the file.
Status CheckImageHeader(const std::string& path);

// A resampling box in input pixel coordinates, like Pillow's `box=(x0, y0, x1, y1)` (floats).
struct ResizeBox {
  float x0, y0, x1, y1;
};

// Pillow-exact bilinear resize of the whole image (box = (0, 0, width, height)).
Result<Image> ResizeBilinear(const Image& in, int out_width, int out_height);
// Pillow-exact bilinear resize of `box` (0 <= x0 <= x1 <= width, same for y) to the output size.
Result<Image> ResizeBilinear(const Image& in, int out_width, int out_height, const ResizeBox& box);

// Copies the rectangle [left, left + width) x [top, top + height), which must lie inside `in`.
Result<Image> Crop(const Image& in, int left, int top, int width, int height);

// Grey (1 channel) -> RGB by copying; RGB is returned unchanged.
Image ToRgb(const Image& in);

// Writes the image as int8 CHW, 3 planes, q = pixel - 128 (grey is copied to the three planes).
// `out` holds 3 * width * height bytes. Images with other than 1 or 3 channels are rejected.
Status ImageToInt8Chw(const Image& img, int8_t* out);
// The inverse: an int8 CHW 3-plane buffer (q = pixel - 128) back to an RGB image.
Image Int8ChwToImage(const int8_t* data, int width, int height);

}  // namespace tte
