// stb_image compiled into tte with a per-thread allocation limit and its assertions recorded (see stb_decoder.h). The header is
// third-party code: this file is compiled without warnings (src/data/CMakeLists.txt).
#include "data/stb_decoder.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tte::stb {
namespace {

// Bytes stb_image holds on this thread, and the most it may hold (no limit outside an AllocationLimit).
thread_local size_t t_used = 0;
thread_local size_t t_limit = SIZE_MAX;
thread_local bool t_exceeded = false;
thread_local bool t_check_failed = false;  // one of stb_image's own assertions failed (STBI_ASSERT below)

// Each block carries its size in a 16-byte prefix (keeps malloc's alignment).
constexpr size_t kPrefix = 16;

bool Allow(size_t more) {
  if (more > t_limit || t_used > t_limit - more || more > SIZE_MAX - kPrefix) {
    t_exceeded = true;
    return false;
  }
  return true;
}

size_t SizeOf(void* p) {
  size_t n;
  std::memcpy(&n, static_cast<unsigned char*>(p) - kPrefix, sizeof n);
  return n;
}

}  // namespace

void* Malloc(size_t n) {
  if (!Allow(n)) return nullptr;
  auto* base = static_cast<unsigned char*>(std::malloc(n + kPrefix));
  if (!base) return nullptr;
  std::memcpy(base, &n, sizeof n);
  // Zeroed: stb_image 2.27 allocates its JPEG decoder state uninitialised, and a scan that names a Huffman table
  // no DHT segment defined decodes with whatever the memory held (found by fuzzing: a symbol index of 10^9 read
  // out of bounds, stb_image.h:2115). With zeroed memory an undefined table is all zeros, whose lookups take
  // stb's fast path (fast[] = 0: symbol 0, no bits), so such a file decodes to deterministic garbage, in bounds.
  std::memset(base + kPrefix, 0, n);
  t_used += n;
  return base + kPrefix;
}

void Free(void* p) {
  if (!p) return;
  t_used -= SizeOf(p);
  std::free(static_cast<unsigned char*>(p) - kPrefix);
}

void* Realloc(void* p, size_t n) {
  if (!p) return Malloc(n);
  const size_t old = SizeOf(p);
  if (n > old && !Allow(n - old)) return nullptr;
  auto* base = static_cast<unsigned char*>(std::realloc(static_cast<unsigned char*>(p) - kPrefix, n + kPrefix));
  if (!base) return nullptr;
  std::memcpy(base, &n, sizeof n);
  t_used = t_used - old + n;
  return base + kPrefix;
}

namespace {

// Byte i of the input, 0 past its end (as stb_image's reader).
unsigned Byte(const unsigned char* d, size_t n, size_t i) { return i < n ? d[i] : 0; }

// Walks a JPEG's markers as stb_image does (segments skipped by their length, entropy-coded data by
// looking for the next marker) and checks each DHT table as stb reads it: 1 + 16 count bytes, then that
// many symbols, while the segment has bytes left.
std::string JpegDefect(const unsigned char* d, size_t n, size_t p) {
  while (p + 1 < n) {
    if (d[p] != 0xFF) {  // entropy-coded data (or garbage) up to the next marker
      ++p;
      continue;
    }
    const unsigned m = d[p + 1];
    if (m == 0xFF) {  // fill byte
      ++p;
      continue;
    }
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {  // stuffed 0xFF, TEM, RSTn, SOI
      p += 2;
      continue;
    }
    if (m == 0xD9) break;  // EOI
    const size_t len = (Byte(d, n, p + 2) << 8) | Byte(d, n, p + 3);
    if (m == 0xC4) {
      const size_t end = p + 2 + len;
      for (size_t q = p + 4; q < end;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += Byte(d, n, q + i);
        if (codes > 256)
          return "JPEG Huffman table at byte " + std::to_string(q) + " declares " + std::to_string(codes) +
                 " codes (at most 256)";
        q += 17 + codes;
      }
    }
    p += 2 + len;
  }
  return "";
}

// Reads a PGM/PPM header as stb_image does (P5 or P6, whitespace and # comments, width, height, maxval,
// one separator byte, then the samples), and refuses what stb_image 2.27 mishandles: numbers long enough
// to overflow its int arithmetic, 16-bit samples (it reads them with the wrong byte order, and its
// conversion to 3 channels overruns its buffer), and data shorter than the header says (it does not check
// the read and returns uninitialized memory as pixels).
std::string PnmDefect(const unsigned char* d, size_t n) {
  size_t pos = 2;
  auto get8 = [&]() -> char { return pos < n ? static_cast<char>(d[pos++]) : 0; };
  auto eof = [&] { return pos >= n; };
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  char c = get8();
  auto skip = [&] {
    for (;;) {
      while (!eof() && space(c)) c = get8();
      if (eof() || c != '#') break;
      while (!eof() && c != '\n' && c != '\r') c = get8();
    }
  };
  auto number = [&](uint64_t* v) {
    *v = 0;
    int digits = 0;
    while (!eof() && c >= '0' && c <= '9') {
      if (++digits > 9) return false;
      *v = *v * 10 + static_cast<uint64_t>(c - '0');
      c = get8();
    }
    return true;
  };
  uint64_t w, h, maxval;
  skip();
  if (!number(&w)) return "PGM/PPM width of more than 9 digits";
  skip();
  if (!number(&h)) return "PGM/PPM height of more than 9 digits";
  skip();
  if (!number(&maxval)) return "PGM/PPM maximum value of more than 9 digits";
  if (maxval > 255) return "16-bit PGM/PPM (maximum value " + std::to_string(maxval) + "); only 8-bit ones are supported";
  const uint64_t need = w * h * (d[1] == '6' ? 3 : 1);
  if (n - pos < need)
    return "PGM/PPM data of " + std::to_string(n - pos) + " bytes, the header needs " + std::to_string(need) + " (truncated?)";
  return "";
}

// A PNG whose first IDAT chunk is empty: stb_image 2.27 copies its 0 bytes into a buffer it has not
// allocated yet (memcpy from a null pointer, undefined behaviour). Encoders do not write such files.
std::string PngDefect(const unsigned char* d, size_t n) {
  for (size_t p = 8; p + 8 <= n;) {
    const uint64_t len = (uint64_t{d[p]} << 24) | (uint64_t{d[p + 1]} << 16) | (uint64_t{d[p + 2]} << 8) | d[p + 3];
    if (std::memcmp(d + p + 4, "IDAT", 4) == 0) return len == 0 ? "PNG whose first IDAT chunk is empty" : "";
    if (std::memcmp(d + p + 4, "IEND", 4) == 0) break;
    p += 12 + len;
  }
  return "";
}

}  // namespace

std::string KnownDefect(const unsigned char* data, size_t size) {
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) return PngDefect(data, size);
  if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6')) return PnmDefect(data, size);
  // stb_image takes a file for a JPEG when it starts with 0xFF, any more 0xFF fill bytes, then SOI (0xD8).
  if (size == 0 || data[0] != 0xFF) return "";
  size_t p = 1;
  while (p < size && data[p] == 0xFF) ++p;
  if (p < size && data[p] == 0xD8) return JpegDefect(data, size, p + 1);
  return "";
}

void CheckFailed() { t_check_failed = true; }

AllocationLimit::AllocationLimit(size_t bytes) {
  t_limit = bytes;
  t_exceeded = false;
  t_check_failed = false;
}
AllocationLimit::~AllocationLimit() { t_limit = SIZE_MAX; }
bool AllocationLimit::exceeded() const { return t_exceeded; }
bool AllocationLimit::internal_check_failed() const { return t_check_failed; }

}  // namespace tte::stb

#define STBI_MALLOC(n) ::tte::stb::Malloc(n)
#define STBI_REALLOC(p, n) ::tte::stb::Realloc(p, n)
#define STBI_FREE(p) ::tte::stb::Free(p)
// stb_image's assertions are recorded, not fatal: the decoder runs on exactly as in a release build (where
// assert() is compiled out) and DecodeImage refuses the result (the sanitizers check that running on is safe).
#define STBI_ASSERT(x) ((x) ? (void)0 : ::tte::stb::CheckFailed())
#define STBI_NO_PSD
#define STBI_NO_HDR
#define STBI_NO_PIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
