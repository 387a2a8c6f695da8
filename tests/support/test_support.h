// Shared test helpers: locating ../shared and the built tte binary, running commands, temp dirs.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace tte::testing {

// Absolute path of a file under ../shared (reference material), or "" if ../shared is absent.
std::string SharedPath(const std::string& rel);
// Skips the current test visibly when ../shared/<rel> does not exist.
#define TTE_REQUIRE_SHARED(rel)                                                             \
  do {                                                                                      \
    if (::tte::testing::SharedPath(rel).empty())                                            \
      GTEST_SKIP() << "SKIPPED: reference file ../shared/" << (rel) << " not found (set "   \
                   << "TTE_SHARED_DIR); this test needs the reference material";            \
  } while (0)

std::string SourcePath(const std::string& rel);   // file in the source tree
std::string TteBinary();                           // path of the built `tte` tool
std::string TempDir(const std::string& name);     // fresh, empty directory under the build tree

// The graph of a model file, as every command imports it (import/model_file.h).
Result<ir::Graph> LoadGraph(const std::string& path);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};
CommandResult RunCommand(const std::string& cmd);

}  // namespace tte::testing
