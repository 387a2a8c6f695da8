// Minimal ZIP archive reader and writer.
//
// Reader: parses the central directory, supports STORED and DEFLATE entries (torch.save writes
// STORED, numpy's savez_compressed writes DEFLATE), checks every offset and the CRC-32. All
// failures are reported as Status naming the archive and the entry; nothing here trusts the input.
// Writer: STORED entries only (what torch.save writes), with correct CRCs and sizes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tte {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 = stored, 8 = deflate
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // `label` names the archive in error messages (usually its path).
  static Result<ZipReader> Open(std::vector<uint8_t> archive, std::string label);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // Finds an entry whose name equals `name` or ends with "/" + name.
  const ZipEntry* Find(const std::string& name) const;
  Result<std::vector<uint8_t>> Read(const ZipEntry& entry) const;

 private:
  std::vector<uint8_t> data_;
  std::string label_;
  std::vector<ZipEntry> entries_;
};

class ZipWriter {
 public:
  void Add(const std::string& name, const std::vector<uint8_t>& data);
  std::vector<uint8_t> Finish();

 private:
  std::vector<uint8_t> out_;
  std::vector<ZipEntry> entries_;
};

uint32_t Crc32(const uint8_t* data, size_t size);

}  // namespace tte
