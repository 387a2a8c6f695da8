// .npy/.npz I/O (see npy.h). The header is a Python dict literal; we parse the three keys we need.
#include "core/npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/file_io.h"
#include "core/limits.h"
#include "core/zip.h"

namespace tte {
namespace {

const char* Descr(DType t) {
  switch (t) {
    case DType::kInt8: return "|i1";
    case DType::kUInt8: return "|u1";
    case DType::kInt16: return "<i2";
    case DType::kUInt16: return "<u2";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
    case DType::kFloat32: return "<f4";
    case DType::kFloat64: return "<f8";
    case DType::kBool: return "|b1";
  }
  return "";
}

bool ParseDescr(const std::string& s, DType* t) {
  static const std::pair<const char*, DType> kTable[] = {
      {"|i1", DType::kInt8}, {"i1", DType::kInt8}, {"|u1", DType::kUInt8}, {"u1", DType::kUInt8},
      {"<i2", DType::kInt16}, {"<u2", DType::kUInt16}, {"<i4", DType::kInt32}, {"<i8", DType::kInt64},
      {"<f4", DType::kFloat32}, {"<f8", DType::kFloat64}, {"|b1", DType::kBool}};
  for (const auto& [name, dt] : kTable)
    if (s == name) {
      *t = dt;
      return true;
    }
  return false;
}

// Finds the value text after 'key': in a header dict literal.
bool FindValue(const std::string& h, const std::string& key, size_t* pos) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return false;
  k = h.find(':', k);
  if (k == std::string::npos) return false;
  ++k;
  while (k < h.size() && h[k] == ' ') ++k;
  *pos = k;
  return true;
}

// The header in the first n bytes b of an .npy file of file_size bytes (n == file_size, or n covers the
// largest header).
Result<NpyHeader> ParseHeader(const uint8_t* b, size_t n, uint64_t file_size, const std::string& label) {
  if (n < 10 || std::memcmp(b, "\x93NUMPY", 6) != 0)
    return DataLoss(label + ": not a .npy file (bad magic)");
  uint8_t major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = b[8] | (b[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) return DataLoss(label + ": truncated .npy header");
    hlen = b[8] | (b[9] << 8) | (b[10] << 16) | (static_cast<size_t>(b[11]) << 24);
    hstart = 12;
  } else {
    return Unsupported(label + ": .npy version " + std::to_string(major));
  }
  if (hlen > limits::kMaxNpyHeaderBytes)
    return DataLoss(label + ": .npy header of " + std::to_string(hlen) + " bytes exceeds the limit of " +
                    std::to_string(limits::kMaxNpyHeaderBytes));
  if (hstart + hlen > n) return DataLoss(label + ": truncated .npy header");
  std::string h(reinterpret_cast<const char*>(&b[hstart]), hlen);
  size_t p;
  if (!FindValue(h, "descr", &p) || h[p] != '\'') return DataLoss(label + ": .npy header has no 'descr'");
  size_t q = h.find('\'', p + 1);
  if (q == std::string::npos) return DataLoss(label + ": bad 'descr' in .npy header");
  std::string descr = h.substr(p + 1, q - p - 1);
  NpyHeader t;
  if (!ParseDescr(descr, &t.dtype))
    return Unsupported(label + ": dtype '" + descr + "' (supported: int8, uint8, int16, int32, int64, float32, float64, bool)");
  if (!FindValue(h, "fortran_order", &p)) return DataLoss(label + ": .npy header has no 'fortran_order'");
  if (h.compare(p, 4, "True") == 0) return Unsupported(label + ": Fortran-order arrays");
  if (!FindValue(h, "shape", &p) || h[p] != '(') return DataLoss(label + ": .npy header has no 'shape'");
  q = h.find(')', p);
  if (q == std::string::npos) return DataLoss(label + ": bad 'shape' in .npy header");
  std::string dims = h.substr(p + 1, q - p - 1);
  // Every dimension and their product is bounded by the data the file holds (checked as it grows, so
  // nothing overflows).
  const size_t data_start = hstart + hlen;
  const uint64_t data_bytes = file_size - data_start;
  uint64_t need = DTypeSize(t.dtype);
  size_t i = 0;
  while (i < dims.size()) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims.size()) break;
    size_t j = i;
    while (j < dims.size() && dims[j] >= '0' && dims[j] <= '9') ++j;
    if (j == i || j - i > 12) return DataLoss(label + ": bad 'shape' in .npy header");
    if (t.shape.size() >= static_cast<size_t>(limits::kMaxNpyDims))
      return DataLoss(label + ": 'shape' has more than " + std::to_string(limits::kMaxNpyDims) + " dimensions");
    const int64_t d = std::stoll(dims.substr(i, j - i));
    t.shape.push_back(d);
    if (need != 0 && static_cast<uint64_t>(d) > data_bytes / need)
      return DataLoss(label + ": 'shape' " + dims.substr(0, j) + "... needs more than the " + std::to_string(data_bytes) +
                      " data bytes the file holds (truncated?)");
    need *= static_cast<uint64_t>(d);
    i = j;
  }
  if (need != data_bytes)
    return DataLoss(label + ": data size " + std::to_string(data_bytes) + " bytes does not match shape " +
                    ShapeString(t.shape) + " of " + DTypeName(t.dtype) + " (truncated?)");
  t.data_offset = data_start;
  return t;
}

}  // namespace

Result<Tensor> ParseNpy(const std::vector<uint8_t>& b, const std::string& label) {
  TTE_ASSIGN_OR_RETURN(NpyHeader h, ParseHeader(b.data(), b.size(), b.size(), label));
  Tensor t;
  t.dtype = h.dtype;
  t.shape = std::move(h.shape);
  t.bytes.assign(b.begin() + static_cast<std::ptrdiff_t>(h.data_offset), b.end());
  return t;
}

Result<NpyHeader> ReadNpyHeader(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return InvalidArgument(path + ": is a directory, expected a file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> head(12 + limits::kMaxNpyHeaderBytes);
  const size_t n = std::fread(head.data(), 1, head.size(), f);
  bool ok = !std::ferror(f) && std::fseek(f, 0, SEEK_END) == 0;
  const long size = ok ? std::ftell(f) : -1;
  std::fclose(f);
  if (!ok || size < 0 || static_cast<uint64_t>(size) < n) return DataLoss(path + ": read error");
  return ParseHeader(head.data(), n, static_cast<uint64_t>(size), path);
}


std::vector<uint8_t> SerializeNpy(const Tensor& t) {
  std::string dims;
  for (size_t i = 0; i < t.shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(t.shape[i]);
  if (t.shape.size() == 1) dims += ",";
  std::string h = "{'descr': '" + std::string(Descr(t.dtype)) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  size_t total = 10 + h.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  h.append(pad, ' ');
  h += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(h.size() & 0xff);
  out.push_back((h.size() >> 8) & 0xff);
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

Result<Tensor> ReadNpy(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(auto bytes, ReadFile(path));
  return ParseNpy(bytes, path);
}

Status WriteNpy(const std::string& path, const Tensor& t) { return WriteFileAtomic(path, SerializeNpy(t)); }

Result<std::map<std::string, Tensor>> ReadNpz(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(auto bytes, ReadFile(path));
  TTE_ASSIGN_OR_RETURN(auto zip, ZipReader::Open(std::move(bytes), path));
  std::map<std::string, Tensor> out;
  for (const auto& e : zip.entries()) {
    TTE_ASSIGN_OR_RETURN(auto data, zip.Read(e));
    std::string key = e.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    TTE_ASSIGN_OR_RETURN(out[key], ParseNpy(data, path + ":" + e.name));
  }
  return out;
}

Status WriteNpz(const std::string& path, const std::map<std::string, Tensor>& tensors) {
  ZipWriter w;
  for (const auto& [k, t] : tensors) w.Add(k + ".npy", SerializeNpy(t));
  return WriteFileAtomic(path, w.Finish());
}

}  // namespace tte
