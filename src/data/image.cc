// Image decoding (stb_image), Pillow-exact bilinear resampling and layout conversions (see
// image.h). The resampler follows Pillow 9.4 libImaging/Resample.c step by step: precompute_coeffs,
// normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc / Vertical_8bpc and ImagingResampleInner.
#include "data/image.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/file_io.h"
#include "data/stb_decoder.h"

namespace tte {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

// Pillow's bilinear_filter (support 1.0).
double Triangle(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

// Pillow's clip8: the accumulator shifted down by PRECISION_BITS, clamped to [0, 255].
inline uint8_t Clip8(int64_t acc) {
  int64_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// One axis of the resampling: per output pixel, the first input index, the window length and the
// fixed-point weights (ksize slots per output pixel).
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // (xmin, xmax) pairs; xmax is the window length
  std::vector<int32_t> k;
};

// precompute_coeffs + normalize_coeffs_8bpc from Pillow's Resample.c.
Coeffs PrecomputeCoeffs(int in_size, float in0, float in1, int out_size) {
  Coeffs c;
  // Pillow: scale = (double)(in1 - in0) / outSize, the subtraction happening in float.
  const float span = in1 - in0;
  double scale = static_cast<double>(span) / out_size;
  double filterscale = scale;
  if (filterscale < 1.0) filterscale = 1.0;
  const double support = 1.0 * filterscale;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  std::vector<double> kk(size_t(out_size) * c.ksize, 0.0);
  c.bounds.assign(size_t(out_size) * 2, 0);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = static_cast<double>(in0) + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    if (xmax < 0) xmax = 0;
    if (xmax > c.ksize) xmax = c.ksize;  // cannot happen for valid boxes; keeps indexing in range
    double* k = &kk[size_t(xx) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      double w = Triangle((static_cast<double>(x + xmin) - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
    }
    c.bounds[size_t(xx) * 2] = xmin;
    c.bounds[size_t(xx) * 2 + 1] = xmax;
  }
  c.k.resize(kk.size());
  for (size_t i = 0; i < kk.size(); ++i) {
    const double v = kk[i] * (1 << kPrecisionBits);
    c.k[i] = kk[i] < 0 ? static_cast<int32_t>(-0.5 + v) : static_cast<int32_t>(0.5 + v);
  }
  return c;
}

// ImagingResampleHorizontal_8bpc: output rows y = 0..out.height-1 read input row y + offset.
void ResampleHorizontal(const Image& in, int offset, const Coeffs& c, Image* out) {
  const int ch = in.channels;
  for (int yy = 0; yy < out->height; ++yy) {
    const uint8_t* src = in.row(yy + offset);
    uint8_t* dst = out->row(yy);
    for (int xx = 0; xx < out->width; ++xx) {
      const int xmin = c.bounds[size_t(xx) * 2];
      const int xmax = c.bounds[size_t(xx) * 2 + 1];
      const int32_t* k = &c.k[size_t(xx) * c.ksize];
      for (int b = 0; b < ch; ++b) {
        int64_t ss = int64_t(1) << (kPrecisionBits - 1);
        for (int x = 0; x < xmax; ++x) ss += int64_t(src[size_t(x + xmin) * ch + b]) * k[x];
        dst[size_t(xx) * ch + b] = Clip8(ss);
      }
    }
  }
}

// ImagingResampleVertical_8bpc.
void ResampleVertical(const Image& in, const Coeffs& c, Image* out) {
  const size_t row_len = size_t(in.width) * in.channels;
  for (int yy = 0; yy < out->height; ++yy) {
    const int ymin = c.bounds[size_t(yy) * 2];
    const int ymax = c.bounds[size_t(yy) * 2 + 1];
    const int32_t* k = &c.k[size_t(yy) * c.ksize];
    uint8_t* dst = out->row(yy);
    for (size_t i = 0; i < row_len; ++i) {
      int64_t ss = int64_t(1) << (kPrecisionBits - 1);
      for (int y = 0; y < ymax; ++y) ss += int64_t(in.row(y + ymin)[i]) * k[y];
      dst[i] = Clip8(ss);
    }
  }
}

Status CheckImage(const Image& in, const char* what) {
  if (in.width <= 0 || in.height <= 0 || in.channels <= 0 ||
      in.pixels.size() != size_t(in.width) * in.height * in.channels)
    return InvalidArgument(std::string(what) + ": malformed image " + std::to_string(in.width) +
                           "x" + std::to_string(in.height) + "x" + std::to_string(in.channels) +
                           " holding " + std::to_string(in.pixels.size()) + " bytes");
  return Status::Ok();
}

}  // namespace

bool LooksLikeImage(const std::vector<uint8_t>& b) {
  const size_t n = b.size();
  auto starts = [&](const char* magic, size_t len) { return n >= len && std::memcmp(b.data(), magic, len) == 0; };
  if (starts("\x89PNG\r\n\x1a\n", 8) || starts("\xff\xd8\xff", 3) || starts("GIF87a", 6) || starts("GIF89a", 6))
    return true;
  if (starts("BM", 2) && n >= 6) {
    const uint32_t size = uint32_t(b[2]) | uint32_t(b[3]) << 8 | uint32_t(b[4]) << 16 | uint32_t(b[5]) << 24;
    return size == n;
  }
  return false;
}

Result<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& label) {
  if (size == 0) return DataLoss(label + ": empty file, not an image");
  if (size > size_t(INT32_MAX)) return DataLoss(label + ": file too large to decode");
  if (std::string defect = stb::KnownDefect(data, size); !defect.empty())
    return DataLoss(label + ": cannot decode image: " + defect);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, static_cast<int>(size), &w, &h, &comp)) {
    const char* why = stbi_failure_reason();
    return DataLoss(label + ": cannot decode image (" + (why ? why : "unknown format") +
                    "); expected PNG, JPEG or BMP");
  }
  if (w <= 0 || h <= 0 || int64_t(w) * h > kMaxImagePixels)
    return DataLoss(label + ": image size " + std::to_string(w) + "x" + std::to_string(h) +
                    " is out of range (at most " + std::to_string(kMaxImagePixels) + " pixels)");
  stb::AllocationLimit limit(static_cast<size_t>(kDecodeBytesPerPixel * w * h + 2 * static_cast<int64_t>(size) +
                                                 kDecodeSlackBytes));
  // The file's own channels (1-4), made RGB below exactly as stb_image's conversion would, which keeps
  // its conversion paths out of the way (one overran its buffer for a 16-bit PGM in v2.27, found by fuzzing).
  uint8_t* px = stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &comp, 0);
  if (!px) {
    if (limit.exceeded())
      return DataLoss(label + ": cannot decode image: its data needs more memory than a " + std::to_string(w) + "x" +
                      std::to_string(h) + " image can (corrupt or hostile file)");
    const char* why = stbi_failure_reason();
    return DataLoss(label + ": cannot decode image (" + (why ? why : "corrupt data") + ")");
  }
  if (limit.internal_check_failed()) {
    stbi_image_free(px);
    return DataLoss(label + ": cannot decode image: corrupt data (a consistency check of the decoder failed; "
                            "for a JPEG, its Huffman-coded data)");
  }
  if (comp < 1 || comp > 4) {
    stbi_image_free(px);
    return DataLoss(label + ": cannot decode image (" + std::to_string(comp) + " channels)");
  }
  // Grey and grey + alpha: the grey copied to R, G and B; RGB and RGBA: R, G, B (alpha dropped).
  Image img(w, h, 3);
  const size_t n = size_t(w) * h;
  for (size_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) img.pixels[3 * i + c] = px[i * comp + (comp < 3 ? 0 : c)];
  stbi_image_free(px);
  return img;
}

Result<Image> ReadImage(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
  return DecodeImage(bytes.data(), bytes.size(), path);
}

Status CheckImageHeader(const std::string& path) {
  if (IsDirectory(path)) return InvalidArgument(path + ": is a directory, expected an image file");
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
  if (bytes.empty()) return DataLoss(path + ": empty file, not an image");
  if (bytes.size() > size_t(INT32_MAX)) return DataLoss(path + ": file too large to decode");
  if (std::string defect = stb::KnownDefect(bytes.data(), bytes.size()); !defect.empty())
    return DataLoss(path + ": not a decodable image: " + defect);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp)) {
    const char* why = stbi_failure_reason();
    return DataLoss(path + ": not a decodable image (" + (why ? why : "unknown format") +
                    "); expected PNG, JPEG or BMP");
  }
  if (w <= 0 || h <= 0 || int64_t(w) * h > kMaxImagePixels)
    return DataLoss(path + ": image size " + std::to_string(w) + "x" + std::to_string(h) +
                    " is out of range");
  return Status::Ok();
}

Result<Image> ResizeBilinear(const Image& in, int out_width, int out_height) {
  return ResizeBilinear(in, out_width, out_height,
                        ResizeBox{0.f, 0.f, float(in.width), float(in.height)});
}

Result<Image> ResizeBilinear(const Image& in, int out_width, int out_height, const ResizeBox& box) {
  TTE_RETURN_IF_ERROR(CheckImage(in, "resize"));
  if (out_width <= 0 || out_height <= 0 || int64_t(out_width) * out_height > kMaxImagePixels)
    return InvalidArgument("resize: output size " + std::to_string(out_width) + "x" +
                           std::to_string(out_height) + " is out of range");
  if (!(box.x0 >= 0 && box.y0 >= 0 && box.x1 <= in.width && box.y1 <= in.height &&
        box.x1 - box.x0 > 0 && box.y1 - box.y0 > 0))
    return InvalidArgument("resize: box (" + std::to_string(box.x0) + "," + std::to_string(box.y0) +
                           "," + std::to_string(box.x1) + "," + std::to_string(box.y1) +
                           ") is empty or outside the " + std::to_string(in.width) + "x" +
                           std::to_string(in.height) + " image");
  // Pillow's Image.resize returns a copy when nothing changes; its C _resize crops when the box has
  // integer corners and the box size equals the output size. Both give the same bytes as below.
  const bool need_h = out_width != in.width || box.x0 != 0 || box.x1 != out_width;
  const bool need_v = out_height != in.height || box.y0 != 0 || box.y1 != out_height;
  Coeffs ch = PrecomputeCoeffs(in.width, box.x0, box.x1, out_width);
  Coeffs cv = PrecomputeCoeffs(in.height, box.y0, box.y1, out_height);
  const int ybox_first = cv.bounds[0];
  const int ybox_last =
      cv.bounds[size_t(out_height) * 2 - 2] + cv.bounds[size_t(out_height) * 2 - 1];

  Image tmp;
  const Image* cur = &in;
  if (need_h) {
    for (int i = 0; i < out_height; ++i) cv.bounds[size_t(i) * 2] -= ybox_first;
    tmp = Image(out_width, ybox_last - ybox_first, in.channels);
    ResampleHorizontal(in, ybox_first, ch, &tmp);
    cur = &tmp;
  }
  if (need_v) {
    Image out(cur->width, out_height, in.channels);
    ResampleVertical(*cur, cv, &out);
    return out;
  }
  if (cur == &tmp) return tmp;
  return in;
}

Result<Image> Crop(const Image& in, int left, int top, int width, int height) {
  TTE_RETURN_IF_ERROR(CheckImage(in, "crop"));
  if (left < 0 || top < 0 || width <= 0 || height <= 0 || int64_t(left) + width > in.width ||
      int64_t(top) + height > in.height)
    return InvalidArgument("crop: rectangle (left " + std::to_string(left) + ", top " +
                           std::to_string(top) + ", " + std::to_string(width) + "x" +
                           std::to_string(height) + ") is outside the " + std::to_string(in.width) +
                           "x" + std::to_string(in.height) + " image");
  Image out(width, height, in.channels);
  const size_t n = size_t(width) * in.channels;
  for (int y = 0; y < height; ++y)
    std::memcpy(out.row(y), in.row(top + y) + size_t(left) * in.channels, n);
  return out;
}

Image ToRgb(const Image& in) {
  if (in.channels != 1) return in;
  Image out(in.width, in.height, 3);
  for (size_t i = 0; i < in.pixels.size(); ++i)
    out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = in.pixels[i];
  return out;
}

Status ImageToInt8Chw(const Image& img, int8_t* out) {
  TTE_RETURN_IF_ERROR(CheckImage(img, "image to int8"));
  if (img.channels != 1 && img.channels != 3)
    return InvalidArgument("image to int8: expected 1 or 3 channels, got " +
                           std::to_string(img.channels));
  const size_t plane = size_t(img.width) * img.height;
  for (int c = 0; c < 3; ++c) {
    const int src_c = img.channels == 1 ? 0 : c;
    int8_t* dst = out + c * plane;
    for (size_t i = 0; i < plane; ++i)
      dst[i] = static_cast<int8_t>(int(img.pixels[i * img.channels + src_c]) - 128);
  }
  return Status::Ok();
}

Image Int8ChwToImage(const int8_t* data, int width, int height) {
  Image img(width, height, 3);
  const size_t plane = size_t(width) * height;
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i)
      img.pixels[i * 3 + c] = static_cast<uint8_t>(int(data[c * plane + i]) + 128);
  return img;
}

}  // namespace tte
