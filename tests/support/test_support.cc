// Shared test helpers (see test_support.h).
#include "support/test_support.h"

#include "import/model_file.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace tte::testing {

Result<ir::Graph> LoadGraph(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(ImportedModel m, ImportModel(path));
  return std::move(m.graph);
}

namespace fs = std::filesystem;

std::string SharedPath(const std::string& rel) {
  const char* env = std::getenv("TTE_SHARED_DIR");
  fs::path base = env ? fs::path(env) : fs::path(TTE_SHARED_DIR);
  fs::path p = base / rel;
  std::error_code ec;
  if (!fs::exists(p, ec)) return "";
  return fs::weakly_canonical(p, ec).string();
}

std::string SourcePath(const std::string& rel) { return (fs::path(TTE_SOURCE_DIR) / rel).string(); }

std::string TteBinary() { return (fs::path(TTE_BINARY_DIR) / "tte").string(); }

std::string TempDir(const std::string& name) {
  fs::path p = fs::path(TTE_BINARY_DIR) / "test_tmp" / name;
  std::error_code ec;
  fs::remove_all(p, ec);
  fs::create_directories(p, ec);
  return p.string();
}

CommandResult RunCommand(const std::string& cmd) {
  CommandResult r;
  std::string full = cmd + " 2>&1";
  FILE* f = popen(full.c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.output.append(buf, n);
  int status = pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace tte::testing
