// Limits of the zip and .npy readers (issue 17): offsets that would wrap around, declared sizes checked
// against the file and the caps before anything is allocated, shapes whose product would overflow.
// Every input is built here.
#include <gtest/gtest.h>

#include "core/limits.h"
#include "core/npy.h"
#include "core/zip.h"
#include "support/sample_files.h"

namespace tte {
namespace {

using Bytes = std::vector<uint8_t>;

void Le(Bytes* b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::string OpenError(const Bytes& b) {
  auto z = ZipReader::Open(b, "t.zip");
  return z.ok() ? "" : z.status().message();
}

std::string ReadError(const Bytes& b) {
  auto z = ZipReader::Open(b, "t.zip");
  if (!z.ok()) return "open: " + z.status().message();
  auto r = z->Read(z->entries().at(0));
  return r.ok() ? "" : r.status().message();
}

// End of central directory pointing at a zip64 record at `z64` (through a zip64 locator), preceded by
// `pad` zero bytes.
Bytes Zip64Pointing(uint64_t z64, size_t pad) {
  Bytes b(pad, 0);
  Le(&b, 0x07064b50, 4);
  Le(&b, 0, 4);
  Le(&b, z64, 8);
  Le(&b, 1, 4);
  Le(&b, 0x06054b50, 4);
  Le(&b, 0, 4);
  Le(&b, 0xffff, 2);
  Le(&b, 0xffff, 2);
  Le(&b, 0xffffffff, 4);
  Le(&b, 0xffffffff, 4);
  Le(&b, 0, 2);
  return b;
}

TEST(ZipLimits, Zip64RecordOffsetsThatWrapAreRefused) {
  for (size_t pad : {size_t{0}, size_t{100}})
    for (uint64_t z64 : {~uint64_t{0} - 15, ~uint64_t{0} - 55, uint64_t{1} << 40})
      EXPECT_EQ(OpenError(Zip64Pointing(z64, pad)), "t.zip: zip64 end record out of range") << pad << " " << z64;
}

TEST(ZipLimits, LocalHeaderOffsetsThatWrapAreRefused) {
  // A central directory entry whose local header offset comes from a zip64 extra field: 2^64 - 8.
  const std::string name = "a";
  Bytes b;
  const size_t cd = b.size();
  Le(&b, 0x02014b50, 4);
  Le(&b, 20, 2), Le(&b, 20, 2), Le(&b, 0, 2), Le(&b, 0, 2), Le(&b, 0, 2), Le(&b, 0, 2);
  Le(&b, 0, 4), Le(&b, 0, 4), Le(&b, 0, 4);  // crc, sizes
  Le(&b, name.size(), 2), Le(&b, 12, 2), Le(&b, 0, 2), Le(&b, 0, 2), Le(&b, 0, 2), Le(&b, 0, 4);
  Le(&b, 0xffffffff, 4);  // local header offset: in the extra field
  b.insert(b.end(), name.begin(), name.end());
  Le(&b, 1, 2), Le(&b, 8, 2), Le(&b, ~uint64_t{0} - 7, 8);
  const size_t cd_size = b.size() - cd;
  Le(&b, 0x06054b50, 4), Le(&b, 0, 4), Le(&b, 1, 2), Le(&b, 1, 2), Le(&b, cd_size, 4), Le(&b, cd, 4), Le(&b, 0, 2);
  EXPECT_EQ(ReadError(b), "t.zip: entry 'a': local header at byte 18446744073709551608 is corrupt");
}

TEST(ZipLimits, DeclaredSizesAreCheckedBeforeAllocating) {
  const Bytes x = {'x'};
  const Bytes deflated = testing::Deflate(x);
  EXPECT_EQ(ReadError(testing::OneEntryZip("e", 8, deflated, 0, 3000000000u)),
            "t.zip: entry 'e': size 3000000000 bytes exceeds the limit of 2147483648");
  EXPECT_EQ(ReadError(testing::OneEntryZip("e", 8, deflated, 0, 1u << 30)),
            "t.zip: entry 'e': uncompressed size 1073741824 bytes is impossible for " + std::to_string(deflated.size()) +
                " bytes of deflate data");
  // A declared size the deflate stream does not produce, within the ratio.
  EXPECT_EQ(ReadError(testing::OneEntryZip("e", 8, deflated, Crc32(x.data(), 1), 2)), "t.zip: entry 'e': deflate stream is corrupt");
  EXPECT_EQ(ReadError(testing::OneEntryZip("e", 0, x, Crc32(x.data(), 1), 2)), "t.zip: entry 'e': stored sizes disagree");
  EXPECT_EQ(ReadError(testing::OneEntryZip("e", 0, x, 0, 1)), "t.zip: entry 'e': CRC-32 mismatch (corrupt file)");
  auto ok = ZipReader::Open(testing::OneEntryZip("e", 8, deflated, Crc32(x.data(), 1), 1), "t.zip");
  ASSERT_TRUE(ok.ok());
  auto r = ok->Read(ok->entries()[0]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, x);
}

Bytes Npy(const std::string& dict, size_t data_bytes, uint8_t version = 1) {
  std::string h = dict;
  const size_t prefix = version == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64) h += ' ';
  h += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', version, 0};
  Le(&b, h.size(), version == 1 ? 2 : 4);
  b.insert(b.end(), h.begin(), h.end());
  b.resize(b.size() + data_bytes, 0);
  return b;
}

std::string NpyError(const Bytes& b) {
  auto t = ParseNpy(b, "t.npy");
  return t.ok() ? "" : t.status().message();
}

TEST(NpyLimits, ShapesAreBoundedByTheData) {
  EXPECT_EQ(NpyError(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999, 999999999999), }", 64)),
            "t.npy: 'shape' 999999999999... needs more than the 64 data bytes the file holds (truncated?)");
  EXPECT_EQ(NpyError(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 999999999999), }", 64)),
            "t.npy: 'shape' 4, 999999999999... needs more than the 64 data bytes the file holds (truncated?)");
  std::string dims;
  for (int i = 0; i < 33; ++i) dims += "1, ";
  EXPECT_EQ(NpyError(Npy("{'descr': '|i1', 'fortran_order': False, 'shape': (" + dims + "), }", 1)),
            "t.npy: 'shape' has more than 32 dimensions");
  // Zero-sized arrays stay valid: (0, 999999999999, 999999999999) holds no data (and its product is 0).
  auto empty = ParseNpy(Npy("{'descr': '|i1', 'fortran_order': False, 'shape': (0, 999999999999, 999999999999), }", 0), "t.npy");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->numel(), 0);
}

TEST(NpyLimits, HeaderLengthIsCapped) {
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0};
  Le(&b, limits::kMaxNpyHeaderBytes + 1, 4);
  b.resize(b.size() + limits::kMaxNpyHeaderBytes + 1, ' ');
  EXPECT_EQ(NpyError(b), "t.npy: .npy header of 65537 bytes exceeds the limit of 65536");
  auto v2 = ParseNpy(Npy("{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", 6, 2), "t.npy");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->shape, (std::vector<int64_t>{3}));
}

TEST(NpyLimits, EveryDtypeRoundTrips) {
  for (DType t : {DType::kInt8, DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kInt32, DType::kInt64, DType::kFloat32,
                  DType::kFloat64, DType::kBool}) {
    Tensor x(t, {2, 3});
    for (size_t i = 0; i < x.bytes.size(); ++i) x.bytes[i] = static_cast<uint8_t>(t == DType::kBool ? i % 2 : i * 13);
    auto back = ParseNpy(SerializeNpy(x), "t.npy");
    ASSERT_TRUE(back.ok()) << DTypeName(t) << ": " << back.status().ToString();
    EXPECT_EQ(back->dtype, t);
    EXPECT_EQ(back->shape, x.shape);
    EXPECT_EQ(back->bytes, x.bytes);
  }
}

}  // namespace
}  // namespace tte
