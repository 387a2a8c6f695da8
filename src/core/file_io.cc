// Whole-file reads and atomic writes.
#include "core/file_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace tte {
namespace fs = std::filesystem;

Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return InvalidArgument(path + ": is a directory, expected a file");
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) return DataLoss(path + ": read error");
  return data;
}

Result<std::string> ReadTextFile(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(auto bytes, ReadFile(path));
  return std::string(bytes.begin(), bytes.end());
}

Status WriteFileAtomic(const std::string& path, const void* data, size_t size) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return NotFound(path + ": cannot create (" + std::strerror(errno) + ")");
  // fwrite's pointer must not be null even for zero bytes (UBSan nonnull).
  bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  ok = (std::fflush(f) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return DataLoss(path + ": write failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return DataLoss(path + ": cannot rename temporary file (" + std::strerror(errno) + ")");
  }
  return Status::Ok();
}

Result<StagedDirectory> StagedDirectory::Create(const std::string& final_path) {
  std::error_code ec;
  if (fs::exists(final_path, ec) && !fs::is_directory(final_path, ec))
    return InvalidArgument(final_path + ": exists and is not a directory");
  fs::path parent = fs::path(final_path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec))
    return NotFound(final_path + ": parent directory " + parent.string() + " does not exist");
  std::string staging = final_path + ".tmp." + std::to_string(getpid());
  fs::remove_all(staging, ec);
  if (!fs::create_directory(staging, ec))
    return NotFound(final_path + ": cannot create staging directory (" + ec.message() + ")");
  return StagedDirectory(final_path, staging);
}

StagedDirectory::StagedDirectory(StagedDirectory&& other) noexcept
    : final_(std::move(other.final_)), staging_(std::move(other.staging_)),
      committed_(other.committed_) {
  other.committed_ = true;  // moved-from object owns nothing
}

StagedDirectory::~StagedDirectory() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

Status StagedDirectory::Commit() {
  std::error_code ec;
  if (fs::exists(final_, ec)) {
    // Merge: move each staged file over the existing directory's file of the same name.
    for (const auto& entry : fs::directory_iterator(staging_)) {
      fs::rename(entry.path(), fs::path(final_) / entry.path().filename(), ec);
      if (ec) return DataLoss(final_ + ": cannot move " + entry.path().filename().string());
    }
    fs::remove_all(staging_, ec);
  } else {
    fs::rename(staging_, final_, ec);
    if (ec) return DataLoss(final_ + ": cannot rename staging directory (" + ec.message() + ")");
  }
  committed_ = true;
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

}  // namespace tte
