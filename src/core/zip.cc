// ZIP reader/writer (see zip.h).
#include "core/zip.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "core/limits.h"

namespace tte {
namespace {

uint16_t Le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t Le64(const uint8_t* p) { return Le32(p) | (static_cast<uint64_t>(Le32(p + 4)) << 32); }

void Put16(std::vector<uint8_t>& o, uint16_t v) {
  o.push_back(v & 0xff);
  o.push_back(v >> 8);
}
void Put32(std::vector<uint8_t>& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back((v >> (8 * i)) & 0xff);
}

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;

}  // namespace

uint32_t Crc32(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    uInt chunk = size > (1u << 30) ? (1u << 30) : static_cast<uInt>(size);
    crc = crc32(crc, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

Result<ZipReader> ZipReader::Open(std::vector<uint8_t> archive, std::string label) {
  ZipReader z;
  z.data_ = std::move(archive);
  z.label_ = std::move(label);
  const auto& d = z.data_;
  const std::string& L = z.label_;
  if (d.size() < 22) return DataLoss(L + ": not a zip archive (file is " + std::to_string(d.size()) + " bytes)");
  // Find the end-of-central-directory record (it may be followed by a comment of up to 64 KiB).
  size_t eocd = std::string::npos;
  size_t lowest = d.size() > 22 + 65535 ? d.size() - 22 - 65535 : 0;
  for (size_t i = d.size() - 22 + 1; i-- > lowest;) {
    if (Le32(&d[i]) == kEndSig) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos)
    return DataLoss(L + ": not a zip archive or truncated (no end-of-central-directory record)");
  uint64_t n_entries = Le16(&d[eocd + 10]);
  uint64_t cd_size = Le32(&d[eocd + 12]);
  uint64_t cd_offset = Le32(&d[eocd + 16]);
  if (cd_offset == 0xffffffffu || n_entries == 0xffff) {  // zip64
    if (eocd < 20 || Le32(&d[eocd - 20]) != kZip64LocatorSig)
      return DataLoss(L + ": zip64 locator missing");
    uint64_t z64 = Le64(&d[eocd - 20 + 8]);
    if (d.size() < 56 || z64 > d.size() - 56 || Le32(&d[z64]) != kZip64EndSig)
      return DataLoss(L + ": zip64 end record out of range");
    n_entries = Le64(&d[z64 + 32]);
    cd_size = Le64(&d[z64 + 40]);
    cd_offset = Le64(&d[z64 + 48]);
  }
  if (cd_offset > d.size() || cd_size > d.size() - cd_offset)
    return DataLoss(L + ": central directory lies outside the file (truncated?)");
  size_t p = cd_offset;
  for (uint64_t i = 0; i < n_entries; ++i) {
    if (p + 46 > cd_offset + cd_size || Le32(&d[p]) != kCentralSig)
      return DataLoss(L + ": central directory entry " + std::to_string(i) + " is corrupt");
    ZipEntry e;
    uint16_t flags = Le16(&d[p + 8]);
    e.method = Le16(&d[p + 10]);
    e.crc32 = Le32(&d[p + 16]);
    e.compressed_size = Le32(&d[p + 20]);
    e.uncompressed_size = Le32(&d[p + 24]);
    uint16_t name_len = Le16(&d[p + 28]), extra_len = Le16(&d[p + 30]), comment_len = Le16(&d[p + 32]);
    e.local_header_offset = Le32(&d[p + 42]);
    if (p + 46 + name_len + extra_len + comment_len > d.size())
      return DataLoss(L + ": central directory entry " + std::to_string(i) + " is truncated");
    e.name.assign(reinterpret_cast<const char*>(&d[p + 46]), name_len);
    if (flags & 1) return Unsupported(L + ": entry '" + e.name + "' is encrypted");
    // zip64 extra field
    size_t x = p + 46 + name_len, xend = x + extra_len;
    while (x + 4 <= xend) {
      uint16_t id = Le16(&d[x]), sz = Le16(&d[x + 2]);
      if (x + 4 + sz > xend) break;
      if (id == 1) {
        size_t q = x + 4;
        if (e.uncompressed_size == 0xffffffffu && q + 8 <= x + 4 + sz) { e.uncompressed_size = Le64(&d[q]); q += 8; }
        if (e.compressed_size == 0xffffffffu && q + 8 <= x + 4 + sz) { e.compressed_size = Le64(&d[q]); q += 8; }
        if (e.local_header_offset == 0xffffffffu && q + 8 <= x + 4 + sz) { e.local_header_offset = Le64(&d[q]); }
      }
      x += 4 + sz;
    }
    z.entries_.push_back(std::move(e));
    p += 46 + name_len + extra_len + comment_len;
  }
  return z;
}

const ZipEntry* ZipReader::Find(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e.name == name) return &e;
    if (e.name.size() > name.size() && e.name.compare(e.name.size() - name.size(), name.size(), name) == 0 &&
        e.name[e.name.size() - name.size() - 1] == '/')
      return &e;
  }
  return nullptr;
}

Result<std::vector<uint8_t>> ZipReader::Read(const ZipEntry& e) const {
  const auto& d = data_;
  const std::string where = label_ + ": entry '" + e.name + "'";
  uint64_t h = e.local_header_offset;
  if (d.size() < 30 || h > d.size() - 30 || Le32(&d[h]) != kLocalSig)
    return DataLoss(where + ": local header at byte " + std::to_string(h) + " is corrupt");
  uint64_t start = h + 30 + Le16(&d[h + 26]) + Le16(&d[h + 28]);
  if (start > d.size() || e.compressed_size > d.size() - start)
    return DataLoss(where + ": data runs past the end of the file (truncated?)");
  // Sizes are checked before anything is allocated: a declared size is only a claim.
  if (e.uncompressed_size > limits::kMaxZipEntryBytes || e.compressed_size > limits::kMaxZipEntryBytes)
    return DataLoss(where + ": size " + std::to_string(std::max(e.uncompressed_size, e.compressed_size)) +
                    " bytes exceeds the limit of " + std::to_string(limits::kMaxZipEntryBytes));
  if (e.method == 8 && e.uncompressed_size / limits::kMaxDeflateRatio > e.compressed_size)
    return DataLoss(where + ": uncompressed size " + std::to_string(e.uncompressed_size) + " bytes is impossible for " +
                    std::to_string(e.compressed_size) + " bytes of deflate data");
  std::vector<uint8_t> out;
  if (e.method == 0) {
    if (e.compressed_size != e.uncompressed_size) return DataLoss(where + ": stored sizes disagree");
    out.assign(d.begin() + start, d.begin() + start + e.compressed_size);
  } else if (e.method == 8) {
    out.resize(e.uncompressed_size);
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return Internal(where + ": inflateInit failed");
    zs.next_in = const_cast<Bytef*>(&d[start]);
    zs.avail_in = static_cast<uInt>(e.compressed_size);
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&zs, Z_FINISH);
    uint64_t produced = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != e.uncompressed_size)
      return DataLoss(where + ": deflate stream is corrupt");
  } else {
    return Unsupported(where + ": compression method " + std::to_string(e.method) + " (only stored and deflate)");
  }
  if (Crc32(out.data(), out.size()) != e.crc32) return DataLoss(where + ": CRC-32 mismatch (corrupt file)");
  return out;
}

void ZipWriter::Add(const std::string& name, const std::vector<uint8_t>& data) {
  ZipEntry e;
  e.name = name;
  e.method = 0;
  e.crc32 = Crc32(data.data(), data.size());
  e.compressed_size = e.uncompressed_size = data.size();
  e.local_header_offset = out_.size();
  Put32(out_, kLocalSig);
  Put16(out_, 20);  // version needed
  Put16(out_, 0);   // flags
  Put16(out_, 0);   // method: stored
  Put16(out_, 0);   // time
  Put16(out_, 0x21);  // date: 1980-01-01
  Put32(out_, e.crc32);
  Put32(out_, static_cast<uint32_t>(data.size()));
  Put32(out_, static_cast<uint32_t>(data.size()));
  Put16(out_, static_cast<uint16_t>(name.size()));
  Put16(out_, 0);
  out_.insert(out_.end(), name.begin(), name.end());
  out_.insert(out_.end(), data.begin(), data.end());
  entries_.push_back(e);
}

std::vector<uint8_t> ZipWriter::Finish() {
  uint32_t cd_offset = static_cast<uint32_t>(out_.size());
  for (const auto& e : entries_) {
    Put32(out_, kCentralSig);
    Put16(out_, 20);  // version made by
    Put16(out_, 20);  // version needed
    Put16(out_, 0);
    Put16(out_, 0);
    Put16(out_, 0);
    Put16(out_, 0x21);
    Put32(out_, e.crc32);
    Put32(out_, static_cast<uint32_t>(e.compressed_size));
    Put32(out_, static_cast<uint32_t>(e.uncompressed_size));
    Put16(out_, static_cast<uint16_t>(e.name.size()));
    Put16(out_, 0);  // extra
    Put16(out_, 0);  // comment
    Put16(out_, 0);  // disk
    Put16(out_, 0);  // internal attrs
    Put32(out_, 0);  // external attrs
    Put32(out_, static_cast<uint32_t>(e.local_header_offset));
    out_.insert(out_.end(), e.name.begin(), e.name.end());
  }
  uint32_t cd_size = static_cast<uint32_t>(out_.size()) - cd_offset;
  Put32(out_, kEndSig);
  Put16(out_, 0);
  Put16(out_, 0);
  Put16(out_, static_cast<uint16_t>(entries_.size()));
  Put16(out_, static_cast<uint16_t>(entries_.size()));
  Put32(out_, cd_size);
  Put32(out_, cd_offset);
  Put16(out_, 0);
  return std::move(out_);
}

}  // namespace tte
