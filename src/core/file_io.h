// Whole-file reads and crash-safe writes (temp file + rename, so a failed run never leaves a partial
// output behind).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace tte {

Result<std::vector<uint8_t>> ReadFile(const std::string& path);
Result<std::string> ReadTextFile(const std::string& path);

// Writes `data` to `path` atomically: to `path.tmp.<pid>` first, then rename().
Status WriteFileAtomic(const std::string& path, const void* data, size_t size);
inline Status WriteFileAtomic(const std::string& path, const std::vector<uint8_t>& data) {
  return WriteFileAtomic(path, data.data(), data.size());
}
inline Status WriteFileAtomic(const std::string& path, const std::string& text) {
  return WriteFileAtomic(path, text.data(), text.size());
}

// A directory filled under a temporary name and moved into place by Commit(). If the object is
// destroyed without Commit(), the temporary directory is removed. Commit() replaces an existing
// directory at `final_path` only if it is empty or was made by tte (has no files besides ours).
class StagedDirectory {
 public:
  static Result<StagedDirectory> Create(const std::string& final_path);
  StagedDirectory(StagedDirectory&& other) noexcept;
  StagedDirectory& operator=(StagedDirectory&&) = delete;
  ~StagedDirectory();

  // Path of a file inside the staging directory.
  std::string Path(const std::string& name) const { return staging_ + "/" + name; }
  Status Commit();

 private:
  StagedDirectory(std::string final_path, std::string staging)
      : final_(std::move(final_path)), staging_(std::move(staging)) {}
  std::string final_;
  std::string staging_;
  bool committed_ = false;
};

bool FileExists(const std::string& path);
bool IsDirectory(const std::string& path);

}  // namespace tte
