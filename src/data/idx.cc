// IDX reader (see idx.h): gzip/raw file reading through zlib and strict header validation.
#include "data/idx.h"

#include <zlib.h>

#include <cerrno>
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

Result<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path, size_t max_bytes) {
  if (!FileExists(path)) return NotFound(path + ": no such file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  gzbuffer(f, 1 << 17);
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  while (true) {
    const int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      std::string why = msg && *msg ? msg : "read error";
      gzclose(f);
      return DataLoss(path + ": corrupt gzip data (" + why + ")");
    }
    if (n == 0) break;
    if (out.size() + size_t(n) > max_bytes) {
      gzclose(f);
      return DataLoss(path + ": decompressed size exceeds " + std::to_string(max_bytes) + " bytes");
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  // A gzip stream cut short reads as a short file with a pending Z_BUF_ERROR.
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  if (err != Z_OK && err != Z_STREAM_END) {
    std::string why = msg && *msg ? msg : "error";
    gzclose(f);
    return DataLoss(path + ": truncated or corrupt gzip data (" + why + ")");
  }
  const int rc = gzclose(f);
  if (rc != Z_OK) return DataLoss(path + ": truncated or corrupt gzip data (close failed)");
  return out;
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
