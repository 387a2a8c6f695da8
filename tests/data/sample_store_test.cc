// SampleStore tests: records appended in pieces to a temporary store read back exactly, records of an
// existing file at an offset, and the errors (out of range, a file too short, one that shrinks).
#include "data/sample_store.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "core/file_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

TEST(SampleStore, TemporaryReadsBackWhatWasAppendedInPieces) {
  auto s = SampleStore::Temporary("fake.gz", 7);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->in_memory());  // /tmp is writable here
  std::vector<uint8_t> all(7 * 20000);  // more than one 64 KiB flush
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint8_t(i * 13 + i / 7);
  for (size_t at = 0, piece = 1; at < all.size(); at += piece, piece = piece % 11 + 1)
    ASSERT_TRUE(s->Append(all.data() + at, std::min(piece, all.size() - at)).ok());
  ASSERT_TRUE(s->Finish().ok());
  EXPECT_EQ(s->rows(), 20000u);
  SampleStore moved = std::move(*s);
  uint8_t rec[7];
  for (uint64_t r : {uint64_t{0}, uint64_t{1}, uint64_t{9362}, uint64_t{19999}}) {
    ASSERT_TRUE(moved.Read(r, rec).ok());
    EXPECT_TRUE(std::equal(rec, rec + 7, all.begin() + static_cast<std::ptrdiff_t>(r * 7))) << r;
  }
  Status st = moved.Read(20000, rec);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "fake.gz: sample 20000 out of range (20000 stored)");
}

TEST(SampleStore, PartialRecordIsAnError) {
  auto s = SampleStore::Temporary("x", 4);
  ASSERT_TRUE(s.ok());
  const uint8_t b[6] = {};
  ASSERT_TRUE(s->Append(b, 6).ok());
  EXPECT_FALSE(s->Finish().ok());
}

TEST(SampleStore, FileRecordsAtAnOffset) {
  const std::string dir = testing::TempDir("sample_store_file");
  std::vector<uint8_t> b(5 + 3 * 4);
  for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(i);
  ASSERT_TRUE(WriteFileAtomic(dir + "/f", b).ok());
  auto s = SampleStore::File(dir + "/f", 5, 4, 3);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  uint8_t rec[4];
  ASSERT_TRUE(s->Read(2, rec).ok());
  EXPECT_EQ(rec[0], 13);
  EXPECT_EQ(rec[3], 16);
  auto too_many = SampleStore::File(dir + "/f", 5, 4, 4);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().message(), dir + "/f: 17 bytes, too short for 4 samples of 4 bytes after byte 5");
  EXPECT_EQ(SampleStore::File(dir + "/absent", 0, 4, 1).status().code(), StatusCode::kNotFound);
  // The file shrinks after it was opened: an error naming the sample, never a crash.
  ASSERT_TRUE(WriteFileAtomic(dir + "/f", std::vector<uint8_t>(6)).ok());  // a new inode: still readable
  ASSERT_TRUE(s->Read(2, rec).ok());
  FILE* f = std::fopen((dir + "/g").c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
  auto g = SampleStore::File(dir + "/g", 5, 4, 3);
  ASSERT_TRUE(g.ok());
  f = std::fopen((dir + "/g").c_str(), "wb");  // truncates the same inode
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  Status st = g->Read(1, rec);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(dir + "/g: sample 1: cannot read 4 bytes at byte 9"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tte
