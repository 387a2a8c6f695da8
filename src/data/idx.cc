// IDX reader (see idx.h): gzip/raw file reading through zlib and strict header validation.
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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

// The images header (the first 16 bytes of b, or all of b when shorter) -> count, rows, cols.
Status ParseImagesHeader(const std::vector<uint8_t>& b, const std::string& label, IdxImages* im) {
  std::vector<uint32_t> dims;
  TTE_RETURN_IF_ERROR(ParseHeader(b, label, 3, "images", &dims));
  if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65536 || dims[2] > 65536)
    return DataLoss(label + ": header: image size " + std::to_string(dims[1]) + "x" +
                    std::to_string(dims[2]) + " is out of range (1..65536)");
  im->count = dims[0];
  im->rows = static_cast<int>(dims[1]);
  im->cols = static_cast<int>(dims[2]);
  return Status::Ok();
}

// The input of the gzip stream, read in chunks from memory or from a file.
class Input {
 public:
  explicit Input(const std::vector<uint8_t>* mem) : mem_(mem) {}
  explicit Input(std::FILE* f) : file_(f), buf_(size_t{1} << 16) {}
  // Makes at least n bytes available unless the input ends first; returns how many are.
  size_t Ensure(size_t n) {
    if (mem_ || avail() >= n || eof_) return avail();
    std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
    while (len_ < n && !eof_) {
      const size_t got = std::fread(buf_.data() + len_, 1, buf_.size() - len_, file_);
      len_ += got;
      if (got == 0) eof_ = true;
    }
    return avail();
  }
  const uint8_t* data() const { return mem_ ? mem_->data() + pos_ : buf_.data() + pos_; }
  size_t avail() const { return (mem_ ? mem_->size() : len_) - pos_; }
  void Consume(size_t n) { pos_ += n; }
  bool read_error() const { return file_ && std::ferror(file_); }

 private:
  const std::vector<uint8_t>* mem_ = nullptr;
  std::FILE* file_ = nullptr;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

bool AtGzipMagic(Input& in) { return in.Ensure(2) >= 2 && in.data()[0] == 0x1f && in.data()[1] == 0x8b; }

// Gzip members one after another, as gunzip reads them, each checked to its end (CRC and length);
// anything after the last member that is not another member is ignored, as zlib's gzread does. The
// output goes to `sink` in pieces of at most 64 KiB.
Status InflateMembers(Input& in, const std::string& label, size_t max_bytes, const ByteSink& sink) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Internal(label + ": inflateInit failed");
  std::vector<uint8_t> chunk(size_t{1} << 16);
  std::string error;
  Status sink_status;
  size_t total = 0;
  while (error.empty() && sink_status.ok() && AtGzipMagic(in)) {
    inflateReset(&zs);
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      in.Ensure(1);
      const size_t avail = std::min<size_t>(in.avail(), size_t{1} << 30);
      zs.next_in = const_cast<uint8_t*>(in.data());
      zs.avail_in = static_cast<uInt>(avail);
      zs.next_out = chunk.data();
      zs.avail_out = static_cast<uInt>(chunk.size());
      rc = inflate(&zs, Z_NO_FLUSH);
      in.Consume(avail - zs.avail_in);
      const size_t produced = chunk.size() - zs.avail_out;
      if (rc == Z_BUF_ERROR) {  // no progress possible with a free output buffer: the input ended
        error = "truncated or corrupt gzip data (unexpected end of file)";
        break;
      }
      if (rc != Z_OK && rc != Z_STREAM_END) {
        error = std::string("corrupt gzip data (") + (zs.msg ? zs.msg : "inflate error") + ")";
        break;
      }
      if (produced > max_bytes - total) {
        error = "decompressed size exceeds " + std::to_string(max_bytes) + " bytes";
        break;
      }
      total += produced;
      sink_status = sink(chunk.data(), produced);
      if (!sink_status.ok()) break;
    }
  }
  inflateEnd(&zs);
  if (in.read_error()) return DataLoss(label + ": read error");
  if (!sink_status.ok()) return sink_status;
  if (!error.empty()) return DataLoss(label + ": " + error);
  return Status::Ok();
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
  Input input(&in);
  TTE_RETURN_IF_ERROR(InflateMembers(input, label, max_bytes, [&](const uint8_t* p, size_t n) {
    out.insert(out.end(), p, p + n);
    return Status::Ok();
  }));
  return out;
}

Status StreamMaybeGzip(const std::string& path, const ByteSink& sink, size_t max_bytes) {
  if (!FileExists(path)) return NotFound(path + ": no such file");
  if (IsDirectory(path)) return InvalidArgument(path + ": is a directory, expected a file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  Input in(f);
  Status st;
  if (AtGzipMagic(in)) {
    st = InflateMembers(in, path, max_bytes, sink);
  } else {  // raw: passed through as it is read
    size_t total = 0;
    while (st.ok() && in.Ensure(1) > 0) {
      const size_t n = in.avail();
      if (n > max_bytes - total) {
        st = DataLoss(path + ": size exceeds " + std::to_string(max_bytes) + " bytes");
        break;
      }
      total += n;
      st = sink(in.data(), n);
      in.Consume(n);
    }
    if (in.read_error()) st = DataLoss(path + ": read error");
  }
  std::fclose(f);
  return st;
}

Result<std::vector<uint8_t>> ReadMaybeGzip(const std::string& path, size_t max_bytes) {
  if (!FileExists(path)) return NotFound(path + ": no such file");
  TTE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFile(path));
  return GunzipIfCompressed(std::move(bytes), path, max_bytes);
}

Result<IdxImages> ParseIdxImages(const std::vector<uint8_t>& b, const std::string& label) {
  IdxImages im;
  TTE_RETURN_IF_ERROR(ParseImagesHeader(b, label, &im));
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

Status StreamIdxImages(const std::string& path, const std::function<Status(const IdxImages&)>& on_header,
                       const std::function<Status(int64_t, const uint8_t*, size_t)>& on_pixels) {
  std::vector<uint8_t> head;  // the first 16 bytes
  bool parsed = false;
  Status header;
  IdxImages im;
  size_t item = 0;
  uint64_t payload = 0;
  TTE_RETURN_IF_ERROR(StreamMaybeGzip(path, [&](const uint8_t* p, size_t n) -> Status {
    if (!parsed) {
      const size_t take = std::min(n, 16 - head.size());
      head.insert(head.end(), p, p + take);
      p += take;
      n -= take;
      if (head.size() < 16) return Status::Ok();
      parsed = true;
      header = ParseImagesHeader(head, path, &im);
      if (!header.ok()) return Status::Ok();  // reported after the gzip checks, as ReadIdxImages does
      item = size_t(im.rows) * size_t(im.cols);
      TTE_RETURN_IF_ERROR(on_header(im));
    }
    if (!header.ok()) return Status::Ok();
    while (n > 0) {
      const uint64_t image = payload / item;
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, item - payload % item));
      if (image < uint64_t(im.count)) TTE_RETURN_IF_ERROR(on_pixels(static_cast<int64_t>(image), p, take));
      payload += take;
      p += take;
      n -= take;
    }
    return Status::Ok();
  }));
  if (!parsed) return ParseImagesHeader(head, path, &im);  // shorter than a header: its message
  if (!header.ok()) return header;
  if (uint64_t(im.count) * item != payload) return CountMismatch(path, im.count, payload, item, "images");
  return Status::Ok();
}

}  // namespace tte
