// Small valid files of every format tte reads (see sample_files.h).
#include "support/sample_files.h"

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/file_io.h"
#include "core/splitmix.h"
#include "model/pkl_io.h"

namespace tte::testing {
namespace {

// Deterministic values for the tiny model.
class Values {
 public:
  explicit Values(uint32_t seed) : rng_{seed} {}
  int Int(int lo, int hi) { return lo + static_cast<int>(rng_.Below(static_cast<size_t>(hi - lo + 1))); }
  double Uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(rng_.Next() >> 11) / 9007199254740992.0;
  }

 private:
  SplitMix64 rng_;
};

// A conv with random int8 weights; x_* continue the previous layer's output quantization.
ConvLayer Conv(Values& v, int cin, int cout, int k, int stride, bool depthwise, int in_hw, double x_scale, int x_zero) {
  ConvLayer c;
  c.in_channels = cin;
  c.out_channels = cout;
  c.kernel = k;
  c.stride = stride;
  c.groups = depthwise ? cin : 1;
  c.depthwise = depthwise;
  c.in_hw = in_hw;
  c.out_hw = in_hw > 0 ? c.OutSize(in_hw) : 0;
  c.weight.resize(static_cast<size_t>(cout) * (cin / c.groups) * k * k);
  for (auto& w : c.weight) w = static_cast<int8_t>(v.Int(-60, 60));
  for (int o = 0; o < cout; ++o) {
    c.bias.push_back(v.Int(-400, 400));
    c.w_scales.push_back(static_cast<float>(v.Uniform(0.004, 0.02)));
  }
  c.x_scale = x_scale;
  c.x_zero = x_zero;
  c.y_scale = v.Uniform(0.02, 0.06);
  c.y_zero = v.Int(-20, 20);
  return c;
}

void Append(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

void Be32(std::vector<uint8_t>* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}

}  // namespace

Model TinyModel(uint32_t seed) {
  Values v(seed);
  Model m;
  m.first_conv = Conv(v, 3, 4, 3, 2, false, 8, 1.0 / 128, 0);
  const ConvLayer& fc = m.first_conv;
  Block b;
  b.pointwise1 = Conv(v, 4, 8, 1, 1, false, 4, fc.y_scale, fc.y_zero);
  b.depthwise = Conv(v, 8, 8, 3, 1, true, 4, b.pointwise1->y_scale, b.pointwise1->y_zero);
  b.pointwise2 = Conv(v, 8, 4, 1, 1, false, 4, b.depthwise.y_scale, b.depthwise.y_zero);
  ResidualAdd add;
  add.in_channels = 4;
  add.in_hw = 4;
  add.x_scale = fc.y_scale;
  add.x_zero = fc.y_zero;
  add.y_scale = v.Uniform(0.03, 0.08);
  add.y_zero = v.Int(-10, 10);
  b.residual = add;
  m.blocks.push_back(std::move(b));
  m.feature_mix = Conv(v, 4, 8, 1, 1, false, 4, add.y_scale, add.y_zero);
  m.classifier = Conv(v, 8, 3, 1, 1, false, 0, m.feature_mix->y_scale, m.feature_mix->y_zero);
  return m;
}

std::vector<uint8_t> TinyModelFile(uint32_t seed) { return SerializeModelFile(TinyModel(seed)); }

std::vector<uint8_t> TestPixels(int w, int h, int channels) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        px[(static_cast<size_t>(y) * w + x) * channels + c] = static_cast<uint8_t>((x * 37 + y * 11 + c * 71) & 0xff);
  return px;
}

std::vector<uint8_t> EncodePng(int w, int h, int channels, const std::vector<uint8_t>& px) {
  std::vector<uint8_t> out;
  stbi_write_png_to_func(Append, &out, w, h, channels, px.data(), w * channels);
  return out;
}

std::vector<uint8_t> EncodeJpeg(int w, int h, int channels, const std::vector<uint8_t>& px, int quality) {
  std::vector<uint8_t> out;
  stbi_write_jpg_to_func(Append, &out, w, h, channels, px.data(), quality);
  return out;
}

std::vector<uint8_t> EncodeBmp(int w, int h, int channels, const std::vector<uint8_t>& px) {
  std::vector<uint8_t> out;
  stbi_write_bmp_to_func(Append, &out, w, h, channels, px.data());
  return out;
}

std::vector<uint8_t> EncodeTga(int w, int h, int channels, const std::vector<uint8_t>& px, bool rle) {
  std::vector<uint8_t> out;
  stbi_write_tga_with_rle = rle ? 1 : 0;
  stbi_write_tga_to_func(Append, &out, w, h, channels, px.data());
  stbi_write_tga_with_rle = 1;
  return out;
}

std::vector<uint8_t> EncodePnm(int w, int h, int channels, const std::vector<uint8_t>& px) {
  char head[64];
  std::snprintf(head, sizeof head, "P%d\n%d %d\n255\n", channels == 1 ? 5 : 6, w, h);
  std::vector<uint8_t> out(head, head + std::strlen(head));
  out.insert(out.end(), px.begin(), px.end());
  return out;
}

// GIF89a with a 256-grey global palette; the LZW stream holds one literal code per pixel and a clear
// code every 200 pixels, so the code width stays 9 bits.
std::vector<uint8_t> EncodeGif(int w, int h, const std::vector<uint8_t>& grey) {
  std::vector<uint8_t> out = {'G', 'I', 'F', '8', '9', 'a'};
  auto le16 = [&](int v) {
    out.push_back(static_cast<uint8_t>(v & 0xff));
    out.push_back(static_cast<uint8_t>(v >> 8));
  };
  le16(w);
  le16(h);
  out.insert(out.end(), {0xF7, 0, 0});  // global colour table of 256 entries
  for (int i = 0; i < 256; ++i) out.insert(out.end(), {uint8_t(i), uint8_t(i), uint8_t(i)});
  out.push_back(0x2C);
  le16(0);
  le16(0);
  le16(w);
  le16(h);
  out.push_back(0);
  out.push_back(8);  // LZW minimum code size
  std::vector<uint8_t> lzw;
  uint32_t acc = 0;
  int bits = 0;
  auto code = [&](uint32_t c) {
    acc |= c << bits;
    bits += 9;
    while (bits >= 8) {
      lzw.push_back(static_cast<uint8_t>(acc & 0xff));
      acc >>= 8;
      bits -= 8;
    }
  };
  for (size_t i = 0; i < grey.size(); ++i) {
    if (i % 200 == 0) code(256);
    code(grey[i]);
  }
  code(257);
  if (bits > 0) lzw.push_back(static_cast<uint8_t>(acc & 0xff));
  for (size_t i = 0; i < lzw.size(); i += 255) {
    const size_t n = std::min<size_t>(255, lzw.size() - i);
    out.push_back(static_cast<uint8_t>(n));
    out.insert(out.end(), lzw.begin() + static_cast<std::ptrdiff_t>(i), lzw.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  out.push_back(0);
  out.push_back(0x3B);
  return out;
}

std::vector<uint8_t> IdxImages(uint32_t count, uint32_t rows, uint32_t cols) {
  std::vector<uint8_t> b;
  Be32(&b, 0x803);
  Be32(&b, count);
  Be32(&b, rows);
  Be32(&b, cols);
  for (size_t i = 0; i < size_t{count} * rows * cols; ++i) b.push_back(static_cast<uint8_t>(i * 7 + 3));
  return b;
}

std::vector<uint8_t> IdxLabels(uint32_t count, int classes) {
  std::vector<uint8_t> b;
  Be32(&b, 0x801);
  Be32(&b, count);
  for (uint32_t i = 0; i < count; ++i) b.push_back(static_cast<uint8_t>(i % static_cast<uint32_t>(classes)));
  return b;
}

std::vector<uint8_t> Gzip(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 32);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::vector<uint8_t> OneEntryZip(const std::string& name, uint16_t method, const std::vector<uint8_t>& payload,
                                 uint32_t crc, uint32_t declared_size) {
  std::vector<uint8_t> z;
  auto le = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) z.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto header = [&](uint32_t signature, bool central) {
    le(signature, 4);
    if (central) le(20, 2);  // version made by
    le(20, 2);               // version needed
    le(0, 2);                // flags
    le(method, 2);
    le(0, 2);                // time
    le(0x21, 2);             // date
    le(crc, 4);
    le(payload.size(), 4);
    le(declared_size, 4);
    le(name.size(), 2);
    le(0, 2);  // extra
    if (central) {
      le(0, 2);  // comment
      le(0, 2);  // disk
      le(0, 2);  // internal attributes
      le(0, 4);  // external attributes
      le(0, 4);  // local header offset
    }
    z.insert(z.end(), name.begin(), name.end());
  };
  header(0x04034b50, false);
  z.insert(z.end(), payload.begin(), payload.end());
  const size_t cd = z.size();
  header(0x02014b50, true);
  const size_t cd_size = z.size() - cd;
  le(0x06054b50, 4);
  le(0, 2);
  le(0, 2);
  le(1, 2);
  le(1, 2);
  le(cd_size, 4);
  le(cd, 4);
  le(0, 2);
  return z;
}

std::vector<uint8_t> Deflate(const std::vector<uint8_t>& raw) {
  const std::vector<uint8_t> gz = Gzip(raw);
  return std::vector<uint8_t>(gz.begin() + 10, gz.end() - 8);  // the deflate stream inside the gzip member
}

Tensor RampTensor(DType dtype, std::vector<int64_t> shape) {
  Tensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::kInt8) t.data<int8_t>()[i] = static_cast<int8_t>((i * 7) % 256 - 128);
    else if (dtype == DType::kFloat32) t.data<float>()[i] = static_cast<float>(i) * 0.01f;
    else if (dtype == DType::kInt64) t.data<int64_t>()[i] = i % 3;
  }
  return t;
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  Status s = WriteFileAtomic(path, bytes);
  if (!s.ok()) ADD_FAILURE() << s.ToString();
}

}  // namespace tte::testing
