// Image decoding and gzip under hostile input (issue 17): every sample format decodes to its pixels, a
// PNG whose data inflates far beyond its header's size fails within the decode budget, formats tte does
// not compile in are refused, gzip members and truncation behave as gunzip's do. Inputs made here.
#include <gtest/gtest.h>
#include <zlib.h>

#include "core/file_io.h"
#include "data/idx.h"
#include "data/image.h"
#include "support/sample_files.h"

namespace tte {
namespace {

using Bytes = std::vector<uint8_t>;

void Be32(Bytes* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}

void Chunk(Bytes* png, const char* type, const Bytes& data) {
  Be32(png, static_cast<uint32_t>(data.size()));
  Bytes td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  png->insert(png->end(), td.begin(), td.end());
  Be32(png, static_cast<uint32_t>(crc32(0, td.data(), static_cast<uInt>(td.size()))));
}

// A 1 x 1 grey PNG whose IDAT holds `inflated` bytes of zlib data (a valid image has 2).
Bytes PngBomb(size_t inflated) {
  Bytes raw(inflated, 0);
  uLongf n = compressBound(raw.size());
  Bytes z(n);
  compress2(z.data(), &n, raw.data(), raw.size(), 9);
  z.resize(n);
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Bytes ihdr;
  Be32(&ihdr, 1);
  Be32(&ihdr, 1);
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
  Chunk(&png, "IHDR", ihdr);
  Chunk(&png, "IDAT", z);
  Chunk(&png, "IEND", {});
  return png;
}

TEST(ImageDecode, EverySampleFormatDecodesToItsPixels) {
  const int w = 13, h = 7;
  const Bytes grey = testing::TestPixels(w, h, 1), rgb = testing::TestPixels(w, h, 3), rgba = testing::TestPixels(w, h, 4);
  auto rgb_of = [&](const Bytes& px, int c) {
    Bytes out;
    for (size_t i = 0; i < px.size(); i += c)
      for (int k = 0; k < 3; ++k) out.push_back(px[i + (c == 1 ? 0 : k)]);
    return out;
  };
  const std::pair<const char*, std::pair<Bytes, Bytes>> exact[] = {
      {"grey.png", {testing::EncodePng(w, h, 1, grey), rgb_of(grey, 1)}},
      {"rgb.png", {testing::EncodePng(w, h, 3, rgb), rgb}},
      {"rgba.png", {testing::EncodePng(w, h, 4, rgba), rgb_of(rgba, 4)}},
      {"rgb.bmp", {testing::EncodeBmp(w, h, 3, rgb), rgb}},
      {"rle.tga", {testing::EncodeTga(w, h, 3, rgb, true), rgb}},
      {"raw.tga", {testing::EncodeTga(w, h, 1, grey, false), rgb_of(grey, 1)}},
      {"grey.pgm", {testing::EncodePnm(w, h, 1, grey), rgb_of(grey, 1)}},
      {"rgb.ppm", {testing::EncodePnm(w, h, 3, rgb), rgb}},
      {"grey.gif", {testing::EncodeGif(w, h, grey), rgb_of(grey, 1)}}};
  for (const auto& [name, file_and_pixels] : exact) {
    auto img = DecodeImage(file_and_pixels.first.data(), file_and_pixels.first.size(), name);
    ASSERT_TRUE(img.ok()) << name << ": " << img.status().ToString();
    EXPECT_EQ(img->width, w) << name;
    EXPECT_EQ(img->height, h) << name;
    EXPECT_EQ(img->pixels, file_and_pixels.second) << name;
  }
  const Bytes jpg = testing::EncodeJpeg(w, h, 3, rgb, 95);
  auto img = DecodeImage(jpg.data(), jpg.size(), "rgb.jpg");
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->width, w);
}

// Defects of stb_image 2.27 found by fuzzing (src/data/stb_decoder.h), refused before it sees the data.
TEST(ImageDecode, DefectsOfTheDecoderAreAvoided) {
  // The DHT of a valid JPEG with its first table's counts raised to 16 x 255 codes.
  Bytes jpg = testing::EncodeJpeg(13, 7, 3, testing::TestPixels(13, 7, 3));
  size_t dht = 2;
  while (dht + 1 < jpg.size() && !(jpg[dht] == 0xFF && jpg[dht + 1] == 0xC4)) ++dht;
  ASSERT_LT(dht + 21, jpg.size());
  for (size_t i = 0; i < 16; ++i) jpg[dht + 5 + i] = 0xFF;
  auto img = DecodeImage(jpg.data(), jpg.size(), "dht.jpg");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().message(), "dht.jpg: cannot decode image: JPEG Huffman table at byte " + std::to_string(dht + 4) +
                                        " declares 4080 codes (at most 256)");
  // Fill bytes before the SOI still make a JPEG for stb_image.
  jpg.insert(jpg.begin(), 0xFF);
  EXPECT_FALSE(DecodeImage(jpg.data(), jpg.size(), "dht.jpg").ok());
  // PGM/PPM: 16-bit samples (stb_image 2.27 takes their low bytes, and overran its buffer converting the
  // one the fuzzer found), data shorter than the header, numbers that overflow an int.
  auto pgm = [](const std::string& head, size_t data) {
    Bytes b(head.begin(), head.end());
    b.resize(b.size() + data, 0x25);
    return b;
  };
  const std::pair<Bytes, std::string> refused[] = {
      {pgm("P5\n3 1\n65535\n", 6), "16-bit PGM/PPM (maximum value 65535); only 8-bit ones are supported"},
      {pgm("P5\n13 7\n2955\n", 49), "16-bit PGM/PPM (maximum value 2955); only 8-bit ones are supported"},
      {pgm("P6 # comment\n13 7\n255\n", 272), "PGM/PPM data of 272 bytes, the header needs 273 (truncated?)"},
      {pgm("P5\n99999999999 1\n255\n", 1), "PGM/PPM width of more than 9 digits"}};
  for (const auto& [file, why] : refused) {
    auto r = DecodeImage(file.data(), file.size(), "x.pgm");
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().message(), "x.pgm: cannot decode image: " + why);
  }
  // An empty IDAT chunk before the image data (valid PNG, but stb_image 2.27 copies it through a null pointer).
  Bytes png = testing::EncodePng(13, 7, 1, testing::TestPixels(13, 7, 1));
  Bytes empty_idat;
  Chunk(&empty_idat, "IDAT", {});
  png.insert(png.begin() + 33, empty_idat.begin(), empty_idat.end());  // after the signature and IHDR
  auto r0 = DecodeImage(png.data(), png.size(), "x.png");
  ASSERT_FALSE(r0.ok());
  EXPECT_EQ(r0.status().message(), "x.png: cannot decode image: PNG whose first IDAT chunk is empty");
  const Bytes ok = pgm("P6 # comment\n13 7\n255\n", 273);
  auto r = DecodeImage(ok.data(), ok.size(), "x.ppm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pixels, Bytes(273, 0x25));
}

// JPEGs the image fuzzer made from tte's own seeds (tests/fuzz/regressions/README.md): Huffman-coded data that fails
// one of stb_image's own assertions (which aborted the fuzzer: a build without NDEBUG), and a scan naming Huffman
// tables no DHT defines (stb_image decoded with uninitialised tables: an out-of-bounds read). Each is refused with
// a message or decodes to an image within the limits, deterministically. `ctest -L fuzz` runs the same files
// through the fuzzer under ASan/UBSan, which fails without the fixes.
TEST(ImageDecode, CorruptJpegHuffmanDataStaysInBounds) {
  for (const char* name : {"image-jpeg-huffman-assert", "image-jpeg-undefined-huffman-table"}) {
    auto bytes = ReadFile(std::string(TTE_SOURCE_DIR) + "/tests/fuzz/regressions/" + name);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto a = DecodeImage(bytes->data(), bytes->size(), "x.jpg");
    auto b = DecodeImage(bytes->data(), bytes->size(), "x.jpg");
    ASSERT_EQ(a.ok(), b.ok()) << name;
    if (!a.ok()) {
      EXPECT_EQ(a.status().message().rfind("x.jpg: cannot decode image", 0), 0u) << a.status().message();
      continue;
    }
    EXPECT_LE(int64_t{a->width} * a->height, kMaxImagePixels) << name;
    EXPECT_EQ(a->pixels, b->pixels) << name << ": decoding is not deterministic";
  }
  const Bytes jpg = testing::EncodeJpeg(13, 7, 3, testing::TestPixels(13, 7, 3), 95);  // a valid JPEG still decodes
  EXPECT_TRUE(DecodeImage(jpg.data(), jpg.size(), "ok.jpg").ok());
}

TEST(ImageDecode, InflationBeyondTheHeaderFailsWithinTheBudget) {
  // 64 MB of zeros in the IDAT of a 1 x 1 image: stb_image's zlib buffer would grow to hold it all; the
  // budget (32 bytes per pixel + twice the file + 16 MB) stops it.
  const Bytes bomb = PngBomb(size_t{64} << 20);
  ASSERT_LT(bomb.size(), size_t{200} << 10);
  auto img = DecodeImage(bomb.data(), bomb.size(), "bomb.png");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().message(),
            "bomb.png: cannot decode image: its data needs more memory than a 1x1 image can (corrupt or hostile file)");
  // stb_image ignores data beyond what the image needs: within the budget, the same construction decodes.
  const Bytes small = PngBomb(4096);
  auto img2 = DecodeImage(small.data(), small.size(), "small.png");
  ASSERT_TRUE(img2.ok()) << img2.status().ToString();
  EXPECT_EQ(img2->pixels, Bytes(3, 0));
}

TEST(ImageDecode, FormatsNotCompiledInAreRefused) {
  const std::pair<const char*, std::string> others[] = {
      {"x.hdr", "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n\x02\x02\x02\x02\x02\x02\x02\x02"},
      {"x.psd", std::string("8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x08\x00\x03", 26)},
      {"x.pic", std::string("\x53\x80\xF6\x34", 4) + std::string(100, 'P')}};
  for (const auto& [name, bytes] : others) {
    auto img = DecodeImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
    ASSERT_FALSE(img.ok()) << name;
    EXPECT_NE(img.status().message().find(std::string(name) + ": cannot decode image"), std::string::npos)
        << img.status().message();
  }
}

TEST(Gunzip, MembersTruncationAndTheLimit) {
  const Bytes a = testing::IdxLabels(5, 3), b = testing::IdxImages(1, 2, 2);
  Bytes two = testing::Gzip(a);
  const Bytes gb = testing::Gzip(b);
  two.insert(two.end(), gb.begin(), gb.end());
  auto both = GunzipIfCompressed(two, "two.gz");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  Bytes ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(*both, ab);
  Bytes trailing = testing::Gzip(a);
  trailing.insert(trailing.end(), {0, 0, 0, 'x'});
  auto t = GunzipIfCompressed(trailing, "trailing.gz");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, a);  // as gzread: what follows the last member is ignored
  const Bytes gz = testing::Gzip(a);
  for (size_t keep : {size_t{2}, size_t{10}, gz.size() / 2, gz.size() - 1}) {
    auto cut = GunzipIfCompressed(Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(keep)), "cut.gz");
    ASSERT_FALSE(cut.ok()) << keep;
    EXPECT_EQ(cut.status().message().rfind("cut.gz: ", 0), 0u) << cut.status().message();
  }
  auto limited = GunzipIfCompressed(testing::Gzip(Bytes(100000, 7)), "big.gz", 99999);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.status().message(), "big.gz: decompressed size exceeds 99999 bytes");
  auto raw = GunzipIfCompressed(a, "raw");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, a);
}

}  // namespace
}  // namespace tte
