// IDX reader tests: valid raw and gzip files, and every kind of bad input (bad magic, short header,
// truncated or extra payload, truncated and corrupt gzip, missing file); the streamed reader
// (StreamIdxImages) gives the whole reader's pixels and, for every bad input, its message. Fixtures
// are written to a temp dir at test time.
#include "data/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "core/file_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

void Put32(std::vector<uint8_t>* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(uint8_t(v >> s));
}

std::vector<uint8_t> ImagesBytes(uint32_t n, uint32_t rows, uint32_t cols, size_t payload) {
  std::vector<uint8_t> b;
  Put32(&b, 0x803);
  Put32(&b, n);
  Put32(&b, rows);
  Put32(&b, cols);
  for (size_t i = 0; i < payload; ++i) b.push_back(uint8_t(i * 7 + 3));
  return b;
}

std::vector<uint8_t> LabelsBytes(uint32_t n, size_t payload) {
  std::vector<uint8_t> b;
  Put32(&b, 0x801);
  Put32(&b, n);
  for (size_t i = 0; i < payload; ++i) b.push_back(uint8_t(i % 10));
  return b;
}

void WriteRaw(const std::string& path, const std::vector<uint8_t>& b) {
  ASSERT_TRUE(WriteFileAtomic(path, b).ok());
}

void WriteGz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, b.data(), unsigned(b.size())), int(b.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

TEST(Idx, ReadsRawAndGzipImagesAndLabels) {
  const std::string dir = testing::TempDir("idx_valid");
  const auto img = ImagesBytes(3, 2, 5, 30);
  WriteRaw(dir + "/img", img);
  WriteGz(dir + "/img.gz", img);
  WriteGz(dir + "/lbl.gz", LabelsBytes(3, 3));
  for (const char* name : {"/img", "/img.gz"}) {
    auto r = ReadIdxImages(dir + name);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->count, 3);
    EXPECT_EQ(r->rows, 2);
    EXPECT_EQ(r->cols, 5);
    ASSERT_EQ(r->pixels.size(), 30u);
    EXPECT_EQ(r->pixels[0], 3);
    EXPECT_EQ(r->pixels[29], uint8_t(29 * 7 + 3));
  }
  auto l = ReadIdxLabels(dir + "/lbl.gz");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*l, (std::vector<uint8_t>{0, 1, 2}));
}

TEST(Idx, CountMismatchNamesFileAndField) {
  const std::string dir = testing::TempDir("idx_count");
  const std::string path = dir + "/train-images-idx3-ubyte.gz";
  WriteGz(path, ImagesBytes(4, 2, 2, 12));  // 4 images declared, 3 present
  auto r = ReadIdxImages(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ": header: 4 images but the file holds 3");

  WriteGz(path, ImagesBytes(2, 2, 2, 9));  // one extra byte
  r = ReadIdxImages(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2 images but the file holds 2 and 1 extra bytes"),
            std::string::npos)
      << r.status().message();

  auto l = ParseIdxLabels(LabelsBytes(5, 4), "lbl");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "lbl: header: 5 labels but the file holds 4");
}

TEST(Idx, RejectsBadMagicAndDims) {
  auto b = ImagesBytes(1, 2, 2, 4);
  b[3] = 0x01;  // a labels magic in an images file
  auto r = ParseIdxImages(b, "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("x: header: magic 0x00000801, expected 0x00000803"),
            std::string::npos)
      << r.status().message();
  b = ImagesBytes(1, 2, 2, 4);
  b[2] = 0x0D;  // float data
  EXPECT_FALSE(ParseIdxImages(b, "x").ok());
  EXPECT_FALSE(ParseIdxImages(ImagesBytes(1, 0, 2, 0), "x").ok());  // zero rows
  auto l = ParseIdxLabels(ImagesBytes(1, 1, 1, 1), "y");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("y: header: magic"), std::string::npos);
}

TEST(Idx, EveryTruncationIsAnErrorNotACrash) {
  const auto img = ImagesBytes(2, 3, 3, 18);
  for (size_t len = 0; len < img.size(); ++len) {
    std::vector<uint8_t> cut(img.begin(), img.begin() + len);
    auto r = ParseIdxImages(cut, "t");
    EXPECT_FALSE(r.ok()) << "length " << len;
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("t: header: ", 0), 0u) << r.status().message();
    }
  }
  const auto lbl = LabelsBytes(3, 3);
  for (size_t len = 0; len < lbl.size(); ++len)
    EXPECT_FALSE(ParseIdxLabels(std::vector<uint8_t>(lbl.begin(), lbl.begin() + len), "t").ok());
}

TEST(Idx, TruncatedAndCorruptGzipAreErrors) {
  const std::string dir = testing::TempDir("idx_gzip");
  const auto img = ImagesBytes(20, 8, 8, 20 * 64);
  WriteGz(dir + "/ok.gz", img);
  auto gz = ReadFile(dir + "/ok.gz");
  ASSERT_TRUE(gz.ok());
  ASSERT_GT(gz->size(), 40u);

  std::vector<uint8_t> cut(gz->begin(), gz->begin() + gz->size() / 2);
  WriteRaw(dir + "/cut.gz", cut);
  auto r = ReadIdxImages(dir + "/cut.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir + "/cut.gz: "), std::string::npos);
  EXPECT_NE(r.status().message().find("gzip"), std::string::npos) << r.status().message();

  std::vector<uint8_t> tail_cut(gz->begin(), gz->end() - 4);  // inside the trailer
  WriteRaw(dir + "/tail.gz", tail_cut);
  EXPECT_FALSE(ReadIdxImages(dir + "/tail.gz").ok());

  std::vector<uint8_t> bad = *gz;
  for (size_t i = 12; i < bad.size() - 8; i += 3) bad[i] ^= 0x5A;
  WriteRaw(dir + "/bad.gz", bad);
  r = ReadIdxImages(dir + "/bad.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir + "/bad.gz: "), std::string::npos);

  std::vector<uint8_t> crc = *gz;
  crc[crc.size() - 6] ^= 0xFF;  // CRC32 in the trailer
  WriteRaw(dir + "/crc.gz", crc);
  EXPECT_FALSE(ReadIdxImages(dir + "/crc.gz").ok());
}

TEST(Idx, MissingFileIsNotFound) {
  auto r = ReadIdxLabels("/nonexistent/dir/t10k-labels-idx1-ubyte.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("t10k-labels-idx1-ubyte.gz"), std::string::npos);
}

TEST(Idx, DecompressionLimitIsEnforced) {
  const std::string dir = testing::TempDir("idx_limit");
  WriteGz(dir + "/big.gz", std::vector<uint8_t>(5000, 0));
  EXPECT_TRUE(ReadMaybeGzip(dir + "/big.gz", 5000).ok());
  auto r = ReadMaybeGzip(dir + "/big.gz", 4999);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds"), std::string::npos);
}

// StreamIdxImages's result as ReadIdxImages's: the pixels concatenated (pieces checked to arrive in order).
Result<IdxImages> StreamWhole(const std::string& path) {
  IdxImages im;
  int64_t last = -1;
  size_t in_image = 0;
  Status order;
  Status st = StreamIdxImages(
      path,
      [&](const IdxImages& h) {
        im = h;
        return Status::Ok();
      },
      [&](int64_t image, const uint8_t* p, size_t n) {
        const size_t item = size_t(im.rows) * im.cols;
        if (image != last) {
          if (image != last + 1 || (last >= 0 && in_image != item)) order = Internal("pieces out of order");
          last = image;
          in_image = 0;
        }
        in_image += n;
        im.pixels.insert(im.pixels.end(), p, p + n);
        return Status::Ok();
      });
  if (!st.ok()) return st;
  if (!order.ok()) return order;
  return im;
}

void ExpectStreamMatchesWhole(const std::string& path) {
  auto whole = ReadIdxImages(path);
  auto streamed = StreamWhole(path);
  ASSERT_EQ(whole.ok(), streamed.ok()) << path << ": " << whole.status().ToString() << " vs "
                                       << streamed.status().ToString();
  if (!whole.ok()) {
    EXPECT_EQ(streamed.status().message(), whole.status().message()) << path;
    EXPECT_EQ(streamed.status().code(), whole.status().code()) << path;
    return;
  }
  EXPECT_EQ(streamed->count, whole->count);
  EXPECT_EQ(streamed->rows, whole->rows);
  EXPECT_EQ(streamed->cols, whole->cols);
  EXPECT_TRUE(streamed->pixels == whole->pixels) << path;
}

TEST(IdxStream, SamePixelsAndMessagesAsTheWholeReader) {
  const std::string dir = testing::TempDir("idx_stream");
  // Larger than the 64 KiB pieces, so images straddle them (images of 300 x 301 bytes).
  const auto big = ImagesBytes(3, 300, 301, 3 * 300 * 301);
  WriteRaw(dir + "/big", big);
  WriteGz(dir + "/big.gz", big);
  std::vector<std::string> files = {dir + "/big", dir + "/big.gz"};
  // Every bad input of the tests above, raw and compressed.
  auto add = [&](const std::string& name, const std::vector<uint8_t>& b) {
    WriteRaw(dir + "/" + name, b);
    WriteGz(dir + "/" + name + ".gz", b);
    files.push_back(dir + "/" + name);
    files.push_back(dir + "/" + name + ".gz");
  };
  add("count", ImagesBytes(4, 2, 2, 12));
  add("extra", ImagesBytes(2, 2, 2, 9));
  auto magic = ImagesBytes(1, 2, 2, 4);
  magic[3] = 0x01;
  add("magic", magic);
  add("rows0", ImagesBytes(1, 0, 2, 0));
  add("labels", LabelsBytes(3, 3));
  const auto img = ImagesBytes(2, 3, 3, 18);
  for (size_t len = 0; len < img.size(); len += 3)
    add("cut" + std::to_string(len), std::vector<uint8_t>(img.begin(), img.begin() + static_cast<std::ptrdiff_t>(len)));
  auto gz = ReadFile(dir + "/big.gz");
  ASSERT_TRUE(gz.ok());
  WriteRaw(dir + "/halfgz", std::vector<uint8_t>(gz->begin(), gz->begin() + static_cast<std::ptrdiff_t>(gz->size() / 2)));
  WriteRaw(dir + "/tailgz", std::vector<uint8_t>(gz->begin(), gz->end() - 4));
  std::vector<uint8_t> crc = *gz;
  crc[crc.size() - 6] ^= 0xFF;
  WriteRaw(dir + "/crcgz", crc);
  std::vector<uint8_t> two = *gz;  // two members and trailing junk: one stream, as gunzip reads it
  two.insert(two.end(), gz->begin(), gz->end());
  two.push_back(0);
  WriteRaw(dir + "/twogz", two);
  for (const char* name : {"/halfgz", "/tailgz", "/crcgz", "/twogz", "/absent.gz"}) files.push_back(dir + name);
  files.push_back(dir);  // a directory
  for (const std::string& f : files) ExpectStreamMatchesWhole(f);
}

TEST(IdxStream, DecompressionLimitAndSinkErrors) {
  const std::string dir = testing::TempDir("idx_stream_limit");
  WriteGz(dir + "/big.gz", std::vector<uint8_t>(100000, 0));
  WriteRaw(dir + "/big", std::vector<uint8_t>(100000, 0));
  for (const char* name : {"/big.gz", "/big"}) {
    size_t total = 0;
    auto count = [&](const uint8_t*, size_t n) {
      total += n;
      return Status::Ok();
    };
    EXPECT_TRUE(StreamMaybeGzip(dir + name, count, 100000).ok());
    EXPECT_EQ(total, 100000u);
    Status st = StreamMaybeGzip(dir + name, count, 99999);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.message(), ReadMaybeGzip(dir + name, 99999).status().message());
    st = StreamMaybeGzip(dir + name, [](const uint8_t*, size_t) { return DataLoss("sink full"); });
    EXPECT_EQ(st.message(), "sink full");
  }
}

}  // namespace
}  // namespace tte
