// The stb_image decoder as tte compiles it (stb_decoder.cc): Debian's stb_image.h (libstb-dev) built
// into tte with only the formats tte documents (PNG, JPEG, BMP, GIF, TGA, PGM/PPM; no PSD, HDR or
// PIC) and a per-thread limit on the memory it may hold while decoding. stb_image sizes its buffers
// from the header, but its zlib output buffer grows with whatever the data inflates to, so without a
// limit a small PNG could make it allocate gigabytes; with one, the decode fails cleanly instead.
#pragma once

#include <cstddef>
#include <string>

namespace tte::stb {

// Inputs the stb_image of Debian 12 (v2.27) mishandles, found by fuzzing (tests/fuzz/image_fuzzer.cc); they
// are refused before stb_image sees them. Returns "" when `data` is fine for it, else the reason:
//   - a JPEG DHT segment declaring more than 256 Huffman codes (stb writes past its tables);
//   - PGM/PPM headers with numbers of more than 9 digits (int overflow), 16-bit samples (wrong byte
//     order, a buffer overrun converting them), data shorter than the header says (uninitialized pixels);
//   - a PNG whose first IDAT chunk is empty (a copy through a null pointer).
// Two more are handled inside the decoder (stb_decoder.cc): its allocations are zeroed (a JPEG scan naming an
// undefined Huffman table decoded with uninitialised tables, reading out of bounds), and its assertions are
// recorded instead of aborting (AllocationLimit::internal_check_failed; the image is then refused).
std::string KnownDefect(const unsigned char* data, size_t size);

// stb_image's assertions call this instead of assert(): it records the failure for AllocationLimit.
void CheckFailed();

// While alive, stb_image on this thread may hold at most `bytes` bytes at once, and its failed internal
// assertions are recorded. Not nestable.
class AllocationLimit {
 public:
  explicit AllocationLimit(size_t bytes);
  ~AllocationLimit();
  AllocationLimit(const AllocationLimit&) = delete;
  AllocationLimit& operator=(const AllocationLimit&) = delete;
  // True if an allocation was refused because of the limit.
  bool exceeded() const;
  // True if one of stb_image's own assertions failed: corrupt data it does not otherwise reject (stb_image
  // 2.27 asserts on some corrupt JPEG Huffman codes, stb_image.h:2115, found by fuzzing); the pixels are garbage.
  bool internal_check_failed() const;
};

}  // namespace tte::stb
