// Records read on demand from a file (see sample_store.h).
#include "data/sample_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tte {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 16;

// An unlinked read-write file in `dir`, or -1.
int OpenUnlinkedTemp(const std::string& dir) {
  int fd = -1;
#ifdef O_TMPFILE
  fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  std::string name = dir + "/tte-samples-XXXXXX";
  fd = ::mkstemp(name.data());
  if (fd < 0) return -1;
  ::unlink(name.c_str());
  return fd;
}

// Reads exactly n bytes at `at`; false when the file ends first or on an I/O error.
bool PreadAll(int fd, uint8_t* out, size_t n, uint64_t at) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, out, n, static_cast<off_t>(at));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
    at += static_cast<uint64_t>(got);
  }
  return true;
}

bool WriteAll(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t put = ::write(fd, data, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    data += put;
    n -= static_cast<size_t>(put);
  }
  return true;
}

}  // namespace

Result<SampleStore> SampleStore::File(const std::string& path, uint64_t offset, size_t record, uint64_t rows) {
  if (record == 0) return InvalidArgument(path + ": sample store: records of 0 bytes");
  SampleStore s(path, record);
  s.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (s.fd_ < 0) return NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(s.fd_, &st) != 0 || !S_ISREG(st.st_mode)) return InvalidArgument(path + ": not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || (size - offset) / record < rows)
    return DataLoss(path + ": " + std::to_string(size) + " bytes, too short for " + std::to_string(rows) +
                    " samples of " + std::to_string(record) + " bytes after byte " + std::to_string(offset));
  s.offset_ = offset;
  s.rows_ = rows;
  return s;
}

Result<SampleStore> SampleStore::Temporary(std::string label, size_t record) {
  if (record == 0) return InvalidArgument(label + ": sample store: records of 0 bytes");
  SampleStore s(std::move(label), record);
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env && *env ? env : "/tmp";
  s.fd_ = OpenUnlinkedTemp(dir);
  if (s.fd_ < 0 && dir != "/tmp") s.fd_ = OpenUnlinkedTemp("/tmp");
  return s;  // fd_ < 0: in memory (see sample_store.h)
}

SampleStore::SampleStore(SampleStore&& o) noexcept { *this = std::move(o); }

SampleStore& SampleStore::operator=(SampleStore&& o) noexcept {
  if (this == &o) return *this;
  if (fd_ >= 0) ::close(fd_);
  label_ = std::move(o.label_);
  record_ = o.record_;
  offset_ = o.offset_;
  rows_ = o.rows_;
  written_ = o.written_;
  fd_ = o.fd_;
  pending_ = std::move(o.pending_);
  memory_ = std::move(o.memory_);
  o.fd_ = -1;
  return *this;
}

SampleStore::~SampleStore() {
  if (fd_ >= 0) ::close(fd_);
}

Status SampleStore::Flush() {
  if (pending_.empty()) return Status::Ok();
  if (!WriteAll(fd_, pending_.data(), pending_.size()))
    return DataLoss(label_ + ": cannot write the temporary sample file (" + std::strerror(errno) + "; disk full?)");
  pending_.clear();
  return Status::Ok();
}

Status SampleStore::Append(const uint8_t* data, size_t n) {
  if (n == 0) return Status::Ok();
  written_ += n;
  if (fd_ < 0) {
    memory_.insert(memory_.end(), data, data + n);
    return Status::Ok();
  }
  pending_.insert(pending_.end(), data, data + n);
  return pending_.size() >= kFlushBytes ? Flush() : Status::Ok();
}

Status SampleStore::Finish() {
  if (written_ % record_ != 0)
    return Internal(label_ + ": " + std::to_string(written_) + " bytes stored, not a whole number of " +
                    std::to_string(record_) + "-byte samples");
  if (fd_ >= 0) TTE_RETURN_IF_ERROR(Flush());
  pending_.shrink_to_fit();
  memory_.shrink_to_fit();
  rows_ = written_ / record_;
  return Status::Ok();
}

Status SampleStore::Read(uint64_t row, uint8_t* out) const {
  if (row >= rows_)
    return InvalidArgument(label_ + ": sample " + std::to_string(row) + " out of range (" + std::to_string(rows_) +
                           " stored)");
  if (fd_ < 0) {
    std::memcpy(out, memory_.data() + row * record_, record_);
    return Status::Ok();
  }
  if (!PreadAll(fd_, out, record_, offset_ + row * record_))
    return DataLoss(label_ + ": sample " + std::to_string(row) + ": cannot read " + std::to_string(record_) +
                    " bytes at byte " + std::to_string(offset_ + row * record_) + " (the file changed or shrank?)");
  return Status::Ok();
}

}  // namespace tte
