// Small valid files of every format tte reads, made in code: a tiny model (.pkl), images (PNG, JPEG,
// BMP, TGA, GIF, PGM/PPM), IDX (raw and gzip), .npy. The bad-input catalogue starts from them and the
// fuzz targets' seed corpora are written from them (tests/fuzz/make_seeds.cc), so neither depends on
// ../shared nor commits third-party data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/model.h"

namespace tte::testing {

// A valid MCUNetV3-format model: 3x8x8 input, first conv 3->4 (stride 2), one inverted-residual block
// 4->8->4 with an identity shortcut, feature mix 4->8, classifier 8->3. Weights from `seed`.
Model TinyModel(uint32_t seed = 1);
// TinyModel serialized as a .pkl (a stored zip holding archive/data.pkl), about 6 KB.
std::vector<uint8_t> TinyModelFile(uint32_t seed = 1);

// An image of w x h pixels with `channels` (1 grey, 3 RGB, 4 RGBA) interleaved channels, a gradient.
std::vector<uint8_t> TestPixels(int w, int h, int channels);
// Encoders (stb_image_write for PNG, JPEG, BMP, TGA; written here for PNM and GIF).
std::vector<uint8_t> EncodePng(int w, int h, int channels, const std::vector<uint8_t>& px);
std::vector<uint8_t> EncodeJpeg(int w, int h, int channels, const std::vector<uint8_t>& px, int quality = 90);
std::vector<uint8_t> EncodeBmp(int w, int h, int channels, const std::vector<uint8_t>& px);
std::vector<uint8_t> EncodeTga(int w, int h, int channels, const std::vector<uint8_t>& px, bool rle);
std::vector<uint8_t> EncodePnm(int w, int h, int channels, const std::vector<uint8_t>& px);  // P5 or P6
std::vector<uint8_t> EncodeGif(int w, int h, const std::vector<uint8_t>& grey);               // 1 channel

// IDX files (big-endian header, unsigned bytes) and gzip.
std::vector<uint8_t> IdxImages(uint32_t count, uint32_t rows, uint32_t cols);
std::vector<uint8_t> IdxLabels(uint32_t count, int classes);
std::vector<uint8_t> Gzip(const std::vector<uint8_t>& raw);

// A one-entry zip written field by field: `method` 0 (stored) or 8 (deflate), `payload` as stored in the
// archive, the CRC-32 and uncompressed size as declared (true or not). Deflate(raw) gives the payload
// for method 8.
std::vector<uint8_t> OneEntryZip(const std::string& name, uint16_t method, const std::vector<uint8_t>& payload,
                                 uint32_t crc, uint32_t declared_size);
std::vector<uint8_t> Deflate(const std::vector<uint8_t>& raw);

// A little-endian int8 / float32 tensor with a ramp of values.
Tensor RampTensor(DType dtype, std::vector<int64_t> shape);

// Writes bytes to a file (test helper; fails the current test on error).
void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace tte::testing
