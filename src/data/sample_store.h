// SampleStore: fixed-size dataset records kept out of the process's memory and read back on demand.
//
// A dataset that holds its samples whole (Fashion-MNIST's 60,000 images, an .npy array) would make the
// training process as large as the data; a store keeps them in a file and reads one record per Load
// with pread(), so the process holds a record at a time and the kernel's page cache does the caching.
// Two kinds:
//   File(path, offset, record, rows)  records at `offset + row * record` of an existing file (an .npy's
//                                     data); the file's size is checked once when it is opened.
//   Temporary(record)                 an empty, already unlinked temporary file in $TMPDIR (or /tmp),
//                                     filled once with Append (the images of a gzip-compressed IDX file
//                                     as they are decompressed) and read back after Finish. When no
//                                     temporary file can be made (no writable directory), the records
//                                     are kept in memory instead: slower to start, same results.
// Read is const and thread-safe (pread has no shared file position). Errors name the store's label
// (the dataset file) and the record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tte {

class SampleStore {
 public:
  // Records of `record` bytes at `offset + row * record`, rows [0, rows), of `path`.
  static Result<SampleStore> File(const std::string& path, uint64_t offset, size_t record, uint64_t rows);
  // An empty store filled by Append (see the file comment); `label` names the data in messages.
  static Result<SampleStore> Temporary(std::string label, size_t record);

  SampleStore(SampleStore&& other) noexcept;
  SampleStore& operator=(SampleStore&& other) noexcept;
  SampleStore(const SampleStore&) = delete;
  SampleStore& operator=(const SampleStore&) = delete;
  ~SampleStore();

  // Temporary stores: appends bytes (records may arrive in pieces); Finish flushes and requires whole records.
  Status Append(const uint8_t* data, size_t n);
  Status Finish();

  // Copies record `row` (record() bytes) to out.
  Status Read(uint64_t row, uint8_t* out) const;
  uint64_t rows() const { return rows_; }
  size_t record() const { return record_; }
  bool in_memory() const { return fd_ < 0; }

 private:
  SampleStore(std::string label, size_t record) : label_(std::move(label)), record_(record) {}
  Status Flush();

  std::string label_;
  size_t record_ = 0;
  uint64_t offset_ = 0;
  uint64_t rows_ = 0;
  uint64_t written_ = 0;          // bytes appended so far (temporary stores)
  int fd_ = -1;
  std::vector<uint8_t> pending_;  // appended bytes not yet written to the file
  std::vector<uint8_t> memory_;   // the records, when no temporary file could be made
};

}  // namespace tte
