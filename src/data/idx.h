// IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
//
// Layout (big-endian): magic = 0x00 0x00 <type> <ndims>, then ndims uint32 sizes, then the data.
// tte reads unsigned-byte (type 0x08) files: images are 3-D (count, rows, cols), magic 0x00000803;
// labels are 1-D (count), magic 0x00000801. Every field is validated and errors name the file and
// the field, e.g. ".../t10k-images-idx3-ubyte.gz: header: 10000 images but the file holds 9999".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/status.h"

namespace tte {

struct IdxImages {
  int64_t count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major per image
};

// Largest decompressed IDX file tte accepts (guards against decompression bombs).
using limits::kMaxIdxBytes;

// Bytes that start with the gzip magic (1f 8b) are decompressed (concatenated members too), others
// are returned as they are. Truncated or corrupt gzip data, or more than max_bytes of output, is an
// error naming `label`; the output is never allowed to grow past max_bytes.
Result<std::vector<uint8_t>> GunzipIfCompressed(std::vector<uint8_t> bytes, const std::string& label,
                                                size_t max_bytes = kMaxIdxBytes);
// Reads a whole file, gzip-compressed or raw (GunzipIfCompressed).
Result<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path,
                                           size_t max_bytes = kMaxIdxBytes);

// Streams a file to `sink`, gzip-decompressed when it starts with the gzip magic, in pieces of at most
// 64 KiB, with GunzipIfCompressed's checks and messages (`path` names the file), holding only 64 KiB
// buffers. A sink error stops the read and is returned.
using ByteSink = std::function<Status(const uint8_t* data, size_t n)>;
Status StreamMaybeGzip(const std::string& path, const ByteSink& sink, size_t max_bytes = kMaxIdxBytes);

// Parse already-decompressed bytes; `label` names the source in messages.
Result<IdxImages> ParseIdxImages(const std::vector<uint8_t>& bytes, const std::string& label);
Result<std::vector<uint8_t>> ParseIdxLabels(const std::vector<uint8_t>& bytes,
                                            const std::string& label);

Result<IdxImages> ReadIdxImages(const std::string& path);
// ReadIdxImages in one pass without holding the file: the same checks and messages (a bad header is
// reported after the whole file's gzip checks, as ReadIdxImages does). on_header gets count, rows
// and cols (no pixels) once the header is valid; then on_pixels(image, bytes, n) gets the bytes of
// images 0..count-1 in file order, each image in one or more pieces. An error of either callback
// stops the read and is returned.
Status StreamIdxImages(const std::string& path, const std::function<Status(const IdxImages& header)>& on_header,
                       const std::function<Status(int64_t image, const uint8_t* data, size_t n)>& on_pixels);
Result<std::vector<uint8_t>> ReadIdxLabels(const std::string& path);

}  // namespace tte
