// IDX reader (see idx.h): gzip/raw file reading through zlib and strict header validation.
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "core/file_io.h"

namespace tte {
namespace {

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Checks the 4-byte magic and reads the dims. `ndims` and the names are what the caller expects.
Status ParseHeader(const std::vector<uint8_t>& b, const std::string& label, int ndims,
                   const char* kind, std::vector<uint32_t>* dims) {
  if (b.size() < 4)
    return DataLoss(label + ": header: file is " + std::to_string(b.size()) +
                    " bytes, too short for the 4-byte IDX magic");
  const uint32_t magic = BigEndian32(b.data());
  const uint32_t want = 0x0800u | uint32_t(ndims);
  if (magic != want) {
    char buf[128];
    std::snprintf(buf, sizeof buf,
                  ": header: magic 0x%08x, expected 0x%08x (IDX %s, unsigned bytes, %d-D)", magic,
                  want, kind, ndims);
    std::string msg = label + buf;
    if ((magic >> 16) == 0x1f8b) msg += "; the data looks gzip-compressed twice";
    return DataLoss(msg);
  }
  const size_t header = 4 + 4 * size_t(ndims);
  if (b.size() < header)
    return DataLoss(label + ": header: file is " + std::to_string(b.size()) + " bytes, the " +
                    std::to_string(ndims) + "-D header needs " + std::to_string(header));
  dims->clear();
  for (int i = 0; i < ndims; ++i) dims->push_back(BigEndian32(b.data() + 4 + 4 * i));
  return Status::Ok();
}

// "N <what> but the file holds M" (with the leftover bytes when the payload is ragged).
Status CountMismatch(const std::string& label, uint64_t declared, size_t payload, size_t item,
                     const char* what) {
  const uint64_t held = payload / item;
  std::string msg = label + ": header: " + std::to_string(declared) + " " + what +
                    " but the file holds " + std::to_string(held);
  if (payload % item) msg += " and " + std::to_string(payload % item) + " extra bytes";
  return DataLoss(msg);
}

}  // namespace

Result<std::vector<uint8_t>> GunzipIfCompressed(std::vector<uint8_t> in, const std::string& label,
                                                size_t max_bytes) {
  if (in.size() < 2 || in[0] != 0x1f || in[1] != 0x8b) {
    if (in.size() > max_bytes)
      return DataLoss(label + ": size exceeds " + std::to_string(max_bytes) + " bytes");
    return in;
  }
  std::vector<uint8_t> out;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Internal(label + ": inflateInit failed");
  std::vector<uint8_t> chunk(size_t{1} << 16);
  std::string error;
  size_t pos = 0;
  // Gzip members one after another, as gunzip reads them, each checked to its end (CRC and length);
  // anything after the last member that is not another member is ignored, as zlib's gzread does.
  while (error.empty() && in.size() - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
    inflateReset(&zs);
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      const size_t avail = std::min<size_t>(in.size() - pos, size_t{1} << 30);
      zs.next_in = in.data() + pos;
      zs.avail_in = static_cast<uInt>(avail);
      zs.next_out = chunk.data();
      zs.avail_out = static_cast<uInt>(chunk.size());
      rc = inflate(&zs, Z_NO_FLUSH);
      pos += avail - zs.avail_in;
      const size_t produced = chunk.size() - zs.avail_out;
      if (rc == Z_BUF_ERROR) {  // no progress possible with a free output buffer: the input ended
        error = "truncated or corrupt gzip data (unexpected end of file)";
        break;
      }
      if (rc != Z_OK && rc != Z_STREAM_END) {
        error = std::string("corrupt gzip data (") + (zs.msg ? zs.msg : "inflate error") + ")";
        break;
      }
      if (produced > max_bytes - out.size()) {
        error = "decompressed size exceeds " + std::to_string(max_bytes) + " bytes";
        break;
      }
      out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(produced));
    }
  }
  inflateEnd(&zs);
  if (!error.empty()) return DataLoss(label + ": " + error);
  return out;
}

Result<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path, size_t max_bytes) {
  if (!FileExists(path)) return NotFound(path + ": no such file");
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
  return GunzipIfCompressed(std::move(bytes), path, max_bytes);
}

Result<IdxImages> ParseIdxImages(const std::vector<uint8_t>& b, const std::string& label) {
  std::vector<uint32_t> dims;
  TTE_RETURN_IF_ERROR(ParseHeader(b, label, 3, "images", &dims));
  IdxImages im;
  if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65536 || dims[2] > 65536)
    return DataLoss(label + ": header: image size " + std::to_string(dims[1]) + "x" +
                    std::to_string(dims[2]) + " is out of range (1..65536)");
  im.count = dims[0];
  im.rows = static_cast<int>(dims[1]);
  im.cols = static_cast<int>(dims[2]);
  const size_t item = size_t(im.rows) * im.cols;
  const size_t payload = b.size() - 16;
  if (uint64_t(im.count) * item != payload)
    return CountMismatch(label, im.count, payload, item, "images");
  im.pixels.assign(b.begin() + 16, b.end());
  return im;
}

Result<std::vector<uint8_t>> ParseIdxLabels(const std::vector<uint8_t>& b,
                                            const std::string& label) {
  std::vector<uint32_t> dims;
  TTE_RETURN_IF_ERROR(ParseHeader(b, label, 1, "labels", &dims));
  const size_t payload = b.size() - 8;
  if (dims[0] != payload) return CountMismatch(label, dims[0], payload, 1, "labels");
  return std::vector<uint8_t>(b.begin() + 8, b.end());
}

Result<IdxImages> ReadIdxImages(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadMaybeGzip(path));
  return ParseIdxImages(bytes, path);
}

Result<std::vector<uint8_t>> ReadIdxLabels(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadMaybeGzip(path));
  return ParseIdxLabels(bytes, path);
}

}  // namespace tte
